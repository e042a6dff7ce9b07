//! A name that is neither an argument nor a binding is reported, with the nearest binding suggested.
use neuron_core::prelude::*;

#[neuron]
pub fn unit(x: f64, #[param] weight: f64) -> f64 {
    let z = wieght * x;
    relu(z)
}

fn main() {}
