//! The macro cannot know what another #[neuron] function returns, so a wrong
//! type written on the binding of its call is left to rustc's type check:
//! one error, at the call and the written type.
use neuron_core::prelude::*;

#[neuron]
pub fn layer(w: [[f64; 2]; 3], x: [f64; 2], b: [f64; 3]) -> [f64; 3] {
    tanh(matvec(w, x) + b)
}

#[neuron]
pub fn net(x: [f64; 2], #[param] w: [[f64; 2]; 3], #[param] b: [f64; 3]) -> f64 {
    let h: [f64; 4] = layer(w, x, b);
    sum(h)
}

fn main() {}
