//! A name that `f64::consts` does not have is reported at the name, with the nearest one.
use neuron_core::prelude::*;

#[neuron]
pub fn circle(r: f64) -> f64 {
    std::f64::consts::PIE * r * r
}

fn main() {}
