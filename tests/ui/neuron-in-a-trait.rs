//! A trait's function cannot be a neuron.
use neuron_core::prelude::*;

pub trait Activation {
    #[neuron]
    fn f(x: f64) -> f64;
}

fn main() {}
