//! `#[neuron(hessian)]` asks for `hessian`, whose `[[T; N]; N]` needs
//! every length known: a const generic length is an error at the option.
use neuron_core::prelude::*;

#[neuron(hessian)]
pub fn norm2<const N: usize>(x: [f64; N]) -> f64 {
    dot(x, x)
}

fn main() {}
