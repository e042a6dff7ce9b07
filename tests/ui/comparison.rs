//! A comparison is reported at its operator, with the kinked functions suggested.
use neuron_core::prelude::*;

#[neuron]
pub fn step(x: f64) -> f64 {
    let positive = x > 0.0;
    positive * x
}

fn main() {}
