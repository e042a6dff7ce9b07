//! `#[neuron(gradcheck)]` needs concrete lengths; an instantiation is
//! checked in a test instead.
use neuron_core::prelude::*;

#[neuron(gradcheck)]
pub fn f<const N: usize>(x: [f64; N]) -> f64 {
    sum(tanh(x))
}

fn main() {}
