//! A neuron's module holds `trace`: the neuron cannot take that name.
use neuron_core::prelude::*;

#[neuron]
pub fn trace(x: f64) -> f64 {
    2.0 * x
}

fn main() {}
