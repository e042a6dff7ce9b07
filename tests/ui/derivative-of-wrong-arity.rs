//! A declared derivative is called with the function's arguments: one that
//! takes another number of them is reported at its name in the attribute.
use neuron_core::prelude::*;

#[neuron::derivative(d_softclip)]
pub fn softclip(x: f64) -> f64 {
    x.tanh()
}

pub fn d_softclip(x: f64, scale: f64) -> f64 {
    scale * (1.0 - x.tanh().powi(2))
}

fn main() {}
