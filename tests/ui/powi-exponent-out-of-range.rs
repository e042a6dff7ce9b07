//! `powi` takes an `i32` exponent.
use neuron_core::prelude::*;

#[neuron]
pub fn f(x: f64) -> f64 {
    powi(x, 3000000000)
}

fn main() {}
