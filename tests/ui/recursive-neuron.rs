//! A neuron cannot call itself: its gradient is built from a fixed graph.
use neuron_core::prelude::*;

#[neuron]
pub fn f(x: f64) -> f64 {
    let y: f64 = f(x * 0.5);
    tanh(y)
}

fn main() {}
