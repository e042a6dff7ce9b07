//! A function without a return type is reported, with a return type suggested.
use neuron_core::prelude::*;

#[neuron]
pub fn unit(x: f64) {
    relu(x)
}

fn main() {}
