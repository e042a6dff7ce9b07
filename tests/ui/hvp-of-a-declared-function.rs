//! `#[neuron(hvp)]` asks for `hvp`, which a function calling a declared
//! function does not get (only the first derivative is declared): the
//! error is at the option and names the call.
use neuron_core::prelude::*;

#[neuron::derivative(d_softclip)]
pub fn softclip(x: f64) -> f64 {
    x.tanh()
}

pub fn d_softclip(x: f64) -> f64 {
    1.0 - x.tanh() * x.tanh()
}

#[neuron(hvp)]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    let z = softclip(dot(w, x) + b);
    z * z
}

fn main() {}
