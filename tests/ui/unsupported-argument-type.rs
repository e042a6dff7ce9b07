//! Argument types outside `f32`, `f64`, `T: Real` and arrays of them are reported at the type.
use neuron_core::prelude::*;

#[neuron]
pub fn total(x: &[f64], v: Vec<f64>, n: i32) -> f64 {
    sum(x)
}

fn main() {}
