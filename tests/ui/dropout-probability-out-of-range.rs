//! A drop probability outside `[0, 1)`, NaN, or an array is reported at
//! the probability; in `f32`, one that rounds to 1 is too.
use neuron_core::prelude::*;

#[neuron]
pub fn net(x: [f64; 4], #[param] v: [f64; 4]) -> f64 {
    let a = dropout(x, 1.0);
    let b = dropout(x, -0.5);
    let c = dropout(x, 0.0 / 0.0);
    let d = dropout(x, [0.5, 0.5, 0.5, 0.5]);
    dot(v, a + b + c + d)
}

#[neuron]
pub fn single(x: [f32; 4], #[param] v: [f32; 4]) -> f32 {
    dot(v, dropout(x, 0.99999999))
}

fn main() {}
