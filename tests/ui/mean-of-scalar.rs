//! `mean` of a real is reported at the real: reductions take an array.
use neuron_core::prelude::*;

#[neuron]
pub fn average(x: f64, v: [f64; 3]) -> f64 {
    mean(x) + norm(v)
}

fn main() {}
