//! `**` and `^` are not powers in Rust; each is reported with what to
//! write instead, together with the mistakes in its operands.
use neuron_core::prelude::*;

#[neuron]
pub fn f(x: f64, y: f64) -> f64 {
    let a = x ** 2;
    let b = y.relux() ^ 2;
    a + b
}

fn main() {}
