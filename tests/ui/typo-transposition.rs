//! A swap of two letters is one typo: `x.rleu()` suggests `relu`, and
//! `x.log()`, another library's name, suggests `ln`.
use neuron_core::prelude::*;

#[neuron]
pub fn f(x: f64) -> f64 {
    x.rleu() + x.log()
}

fn main() {}
