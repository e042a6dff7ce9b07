//! `transpose` of a vector is reported at the vector: only matrices transpose.
use neuron_core::prelude::*;

#[neuron]
pub fn flipped(v: [f64; 3]) -> f64 {
    sum(transpose(v))
}

fn main() {}
