//! An unknown function is reported at its name, with the nearest library function suggested.
use neuron_core::prelude::*;

#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    relux(dot(w, x) + b)
}

fn main() {}
