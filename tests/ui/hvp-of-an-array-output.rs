//! `hvp` is for scalar outputs; asked for an array output, the error is
//! at the option.
use neuron_core::prelude::*;

#[neuron(hvp, hessian)]
pub fn layer(x: [f64; 2], #[param] w: [[f64; 2]; 3]) -> [f64; 3] {
    tanh(matvec(w, x))
}

fn main() {}
