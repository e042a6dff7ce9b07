//! A `gradcheck` range that is empty (here `-3.0..=3.0` was meant) is
//! reported at the value, saying what a range may be.
use neuron_core::prelude::*;

#[neuron(gradcheck(range = -3.0, tolerance = 1e-5))]
pub fn unit(x: f64, #[param] w: f64) -> f64 {
    tanh(w * x)
}

fn main() {}
