//! A const parameter of a neuron is an array length, a `usize`.
use neuron_core::prelude::*;

#[neuron]
pub fn f<const N: i32>(x: f64) -> f64 {
    x
}

fn main() {}
