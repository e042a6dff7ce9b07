//! A swap of two letters is one typo: `rleu` suggests `relu`, and `log`,
//! another library's name, suggests `ln`.
use neuron_core::prelude::*;

#[neuron]
pub fn f(x: f64) -> f64 {
    rleu(x) + log(x)
}

fn main() {}
