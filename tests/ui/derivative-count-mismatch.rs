//! A function of two arguments declares two derivatives, one per argument.
use neuron_core::prelude::*;

#[neuron::derivative(d_hypot_x)]
pub fn hypot(x: f64, y: f64) -> f64 {
    (x * x + y * y).sqrt()
}

pub fn d_hypot_x(x: f64, y: f64) -> f64 {
    x / hypot(x, y)
}

fn main() {}
