//! `matvec` with a vector that does not match the matrix's columns is reported on the whole call.
use neuron_core::prelude::*;

#[neuron]
pub fn layer(x: [f64; 4], #[param] w: [[f64; 3]; 2]) -> [f64; 2] {
    matvec(w, x)
}

fn main() {}
