//! `matmul` of a matrix and a vector is reported at the vector, pointing to `matvec`.
use neuron_core::prelude::*;

#[neuron]
pub fn layer(w: [[f64; 3]; 2], x: [f64; 3]) -> f64 {
    sum(matmul(w, x))
}

fn main() {}
