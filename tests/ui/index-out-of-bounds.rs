//! An index past the end of an array is reported at the index.
use neuron_core::prelude::*;

#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3]) -> f64 {
    w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + w[3] * x[3]
}

fn main() {}
