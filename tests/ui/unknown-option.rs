//! An option other than `gradcheck` in `#[neuron(...)]` is reported at the option.
use neuron_core::prelude::*;

#[neuron(fast)]
pub fn unit(x: f64) -> f64 {
    relu(x)
}

fn main() {}
