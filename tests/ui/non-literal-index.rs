//! An index that is not an integer literal is reported at the index expression.
use neuron_core::prelude::*;

#[neuron]
pub fn pick(x: [f64; 3], k: f64) -> f64 {
    x[k + 1]
}

fn main() {}
