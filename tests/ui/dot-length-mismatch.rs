//! `dot` of vectors of different lengths is reported on the whole call.
use neuron_core::prelude::*;

#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 4]) -> f64 {
    dot(w, x)
}

fn main() {}
