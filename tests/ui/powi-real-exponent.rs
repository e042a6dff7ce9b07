//! The exponent of `powi` must be an integer literal; `powf` is suggested for a real one.
use neuron_core::prelude::*;

#[neuron]
pub fn power(x: f64, n: f64) -> f64 {
    x.powi(n) + powi(x, 2.5)
}

fn main() {}
