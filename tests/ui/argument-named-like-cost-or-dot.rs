//! `COST` and `DOT` are constants of the generated module, which an
//! argument cannot shadow.
use neuron_core::prelude::*;

#[neuron]
pub fn f(COST: f64, DOT: f64) -> f64 {
    COST * DOT
}

fn main() {}
