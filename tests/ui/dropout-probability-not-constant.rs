//! A drop probability that is not a constant (an argument, or computed
//! from one) is reported at the probability.
use neuron_core::prelude::*;

#[neuron]
pub fn net(x: [f64; 4], #[param] v: [f64; 4], p: f64) -> f64 {
    let h = dropout(x, p);
    let rate = sigmoid(p);
    let g = x.dropout(rate * 0.5);
    dot(v, h + g)
}

fn main() {}
