//! `dy` is `backward`'s, `neuron_*` the training step's, and `SOURCE` a
//! constant of the generated module, which an argument cannot shadow.
use neuron_core::prelude::*;

#[neuron]
pub fn f(dy: f64, neuron_x: f64, SOURCE: f64) -> f64 {
    dy * neuron_x * SOURCE
}

fn main() {}
