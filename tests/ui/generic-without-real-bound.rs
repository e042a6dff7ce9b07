//! A type parameter must be bounded by `Real`; the bound to write is suggested.
use neuron_core::prelude::*;

#[neuron]
pub fn unit<T: Copy>(x: [T; 3], #[param] w: [T; 3]) -> T {
    dot(w, x)
}

fn main() {}
