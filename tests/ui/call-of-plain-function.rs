//! A call bound with its type is taken for a call of another #[neuron] function;
//! when the callee is a plain Rust function, rustc reports that it has no gradient.
use neuron_core::prelude::*;

pub fn layer(w: [[f64; 2]; 3], x: [f64; 2]) -> [f64; 3] {
    [w[0][0] * x[0], w[1][0] * x[0], w[2][0] * x[0]]
}

#[neuron]
pub fn net(x: [f64; 2], #[param] w: [[f64; 2]; 3]) -> f64 {
    let h: [f64; 3] = layer(w, x);
    sum(h)
}

fn main() {}
