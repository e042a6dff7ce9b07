//! A closure is reported at its opening `|`.
use neuron_core::prelude::*;

#[neuron]
pub fn twice(x: f64) -> f64 {
    let double = |t: f64| 2.0 * t;
    double(x)
}

fn main() {}
