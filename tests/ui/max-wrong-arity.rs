//! `max` of three is neither the reduction `max(v)` nor `max(a, b)`: both arities are named.
use neuron_core::prelude::*;

#[neuron]
pub fn largest(a: f64, b: f64, c: f64) -> f64 {
    max(a, b, c)
}

fn main() {}
