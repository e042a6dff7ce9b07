//! Dropout without its probability, or with one too many, is reported at its name.
use neuron_core::prelude::*;

#[neuron]
pub fn net(x: [f64; 4], #[param] v: [f64; 4]) -> f64 {
    let h = dropout(x);
    let g = x.dropout(0.5, 0.5);
    dot(v, h + g)
}

fn main() {}
