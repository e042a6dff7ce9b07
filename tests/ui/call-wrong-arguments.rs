//! Arguments of another #[neuron] function in the wrong order, or one
//! missing: one error each, rustc's, at the call, naming the function and
//! suggesting the order or the missing argument.
use neuron_core::prelude::*;

#[neuron]
pub fn layer(w: [[f64; 2]; 3], x: [f64; 2], b: [f64; 3]) -> [f64; 3] {
    tanh(matvec(w, x) + b)
}

#[neuron]
pub fn net(x: [f64; 2], #[param] w: [[f64; 2]; 3], #[param] b: [f64; 3]) -> f64 {
    let h: [f64; 3] = layer(w, b, x);
    sum(h)
}

#[neuron]
pub fn tail(x: [f64; 2], #[param] w: [[f64; 2]; 3]) -> [f64; 3] {
    layer(w, x)
}

fn main() {}
