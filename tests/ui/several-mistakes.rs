//! Several mistakes in one function are all reported in one compile.
use neuron_core::prelude::*;

#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    let z = dot(w, x) + b;
    let y = if z > 0.0 { z } else { 0.0 };
    let k = |t: f64| t;
    z.relux() + x[3] + wieght
}

fn main() {}
