//! A plain Rust function called inside a #[neuron] function needs its
//! derivative declared; the error at the call says how.
use neuron_core::prelude::*;

pub fn softclip(x: f64) -> f64 {
    x.tanh()
}

#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    let z = softclip(dot(w, x) + b);
    z * z
}

fn main() {}
