//! A suffixed integer literal is integer arithmetic, reported at the literal.
use neuron_core::prelude::*;

#[neuron]
pub fn double(x: f64) -> f64 {
    x * 2u32
}

fn main() {}
