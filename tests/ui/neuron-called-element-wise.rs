//! A call without a written result type is element-wise, of a function with
//! a declared derivative; another #[neuron] function is called with its type.
use neuron_core::prelude::*;

#[neuron]
pub fn inner(x: f64, w: f64) -> f64 {
    tanh(w * x)
}

#[neuron]
pub fn net(x: f64, #[param] w: f64) -> f64 {
    let h = inner(x, w);
    h * h
}

fn main() {}
