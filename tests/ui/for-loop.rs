//! A `for` loop is reported at the keyword, with `sum`, `dot` and `matvec` suggested.
use neuron_core::prelude::*;

#[neuron]
pub fn total(x: [f64; 4]) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        s = s + x[i];
    }
    s
}

fn main() {}
