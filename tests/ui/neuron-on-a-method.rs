//! A method cannot be a neuron: the macro says to write a free function.
use neuron_core::prelude::*;

pub struct Layer {
    pub w: f64,
}

impl Layer {
    #[neuron]
    pub fn f(&self, x: f64) -> f64 {
        self.w * x
    }
}

fn main() {}
