//! `clamp` called with one bound is reported at its name, with the number it takes.
use neuron_core::prelude::*;

#[neuron]
pub fn bounded(x: f64) -> f64 {
    clamp(x, 0.0)
}

fn main() {}
