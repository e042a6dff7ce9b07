//! A method outside the library is reported at its name, with the accepted methods listed.
use neuron_core::prelude::*;

#[neuron]
pub fn odd(x: f64) -> f64 {
    x.frobnicate()
}

fn main() {}
