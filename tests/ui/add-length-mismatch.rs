//! Adding arrays of different lengths is reported on the whole sum.
use neuron_core::prelude::*;

#[neuron]
pub fn layer(x: [f64; 3], #[param] b: [f64; 2]) -> [f64; 3] {
    relu(x + b)
}

fn main() {}
