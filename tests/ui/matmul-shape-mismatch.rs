//! A matrix product whose inner sizes differ is reported at the call, naming both types.
use neuron_core::prelude::*;

#[neuron]
pub fn product(a: [[f64; 4]; 3], b: [[f64; 5]; 3]) -> f64 {
    sum(matmul(a, b))
}

fn main() {}
