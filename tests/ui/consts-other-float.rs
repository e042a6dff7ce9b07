//! An `f32` constant in an `f64` neuron is a mixed float type, reported at `f32`.
use neuron_core::prelude::*;

#[neuron]
pub fn circle(r: f64) -> f64 {
    std::f32::consts::PI * r * r
}

fn main() {}
