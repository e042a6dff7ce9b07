//! A neuron named like a library function would be shadowed by it inside
//! other neurons, so the name is refused where it is defined.
use neuron_core::prelude::*;

#[neuron]
pub fn softplus(x: f64) -> f64 {
    2.0 * x
}

fn main() {}
