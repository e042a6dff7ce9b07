//! `x.max()` of a real is the reduction of an array; the help points to `max(a, b)`.
use neuron_core::prelude::*;

#[neuron]
pub fn larger(x: f64) -> f64 {
    x.max()
}

fn main() {}
