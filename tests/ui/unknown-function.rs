//! A function that is not the library's, called without a result type, has
//! a declared derivative; rustc reports that `relux` has none, at its name,
//! with the nearest library function suggested.
use neuron_core::prelude::*;

#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    relux(dot(w, x) + b)
}

fn main() {}
