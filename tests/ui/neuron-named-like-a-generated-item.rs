//! A neuron's module holds `gradient`, `backward`, `Grad`, ...: the neuron
//! cannot take one of those names.
use neuron_core::prelude::*;

#[neuron]
pub fn gradient(x: f64) -> f64 {
    2.0 * x
}

fn main() {}
