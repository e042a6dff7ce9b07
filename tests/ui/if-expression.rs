//! `if` is reported at the keyword, with the kinked functions suggested instead.
use neuron_core::prelude::*;

#[neuron]
pub fn hinge(z: f64) -> f64 {
    if z > 0.0 { z } else { 0.0 }
}

fn main() {}
