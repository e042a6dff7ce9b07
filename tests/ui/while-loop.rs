//! `while` and `loop` are reported at their keywords.
use neuron_core::prelude::*;

#[neuron]
pub fn halve(x: f64) -> f64 {
    let y = x;
    while y > 1.0 {
        y = y / 2.0;
    }
    loop {
        break;
    }
    y
}

fn main() {}
