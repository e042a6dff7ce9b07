//! A call of another #[neuron] function needs its result type written on a `let`;
//! without it the callee is a function with a declared derivative, applied
//! element-wise, which arguments of different shapes rule out, and the help
//! shows how to bind it.
use neuron_core::prelude::*;

#[neuron]
pub fn layer(w: [[f64; 2]; 3], x: [f64; 2], b: [f64; 3]) -> [f64; 3] {
    tanh(matvec(w, x) + b)
}

#[neuron]
pub fn net(x: [f64; 2], #[param] w: [[f64; 2]; 3], #[param] b: [f64; 3]) -> f64 {
    sum(layer(w, x, b))
}

fn main() {}
