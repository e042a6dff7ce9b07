//! Mixing `f32` and `f64` is reported at the type that differs from the first one.
use neuron_core::prelude::*;

#[neuron]
pub fn unit(x: [f32; 3], #[param] w: [f64; 3]) -> f64 {
    dot(w, x)
}

fn main() {}
