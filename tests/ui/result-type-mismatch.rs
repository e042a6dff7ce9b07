//! A result whose type differs from the declared return type is reported on the result expression.
use neuron_core::prelude::*;

#[neuron]
pub fn layer(x: [f64; 3], #[param] w: [f64; 3]) -> f64 {
    w * x
}

fn main() {}
