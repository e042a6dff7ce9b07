//! `logsumexp` of a matrix is reported at the matrix: it takes a vector.
use neuron_core::prelude::*;

#[neuron]
pub fn pooled(m: [[f64; 3]; 2]) -> f64 {
    logsumexp(m)
}

fn main() {}
