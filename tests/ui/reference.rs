//! Taking a reference is reported at the `&`.
use neuron_core::prelude::*;

#[neuron]
pub fn total(x: [f64; 3]) -> f64 {
    sum(&x)
}

fn main() {}
