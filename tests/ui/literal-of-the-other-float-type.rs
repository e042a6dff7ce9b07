//! A literal suffixed with the other float type would change its value.
use neuron_core::prelude::*;

#[neuron]
pub fn f(x: f64) -> f64 {
    x * 0.1f32
}

fn main() {}
