//! A length cannot take a name the generated code reserves for itself:
//! it is in scope in every generated body.
use neuron_core::prelude::*;

#[neuron]
pub fn upstream<const dy: usize>(x: [f64; dy]) -> f64 {
    sum(x)
}

#[neuron]
pub fn prefixed<const neuron_n: usize>(x: [f64; neuron_n]) -> f64 {
    sum(x)
}

fn main() {}
