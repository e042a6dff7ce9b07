//! A library function called with the wrong number of arguments is reported at its name.
use neuron_core::prelude::*;

#[neuron]
pub fn unit(x: f64, y: f64) -> f64 {
    relu(x, y)
}

fn main() {}
