//! Lengths that are const parameters are compared by name: `[T; I]` and
//! `[T; O]` are different shapes, and the message names both.
use neuron_core::prelude::*;

#[neuron]
pub fn f<T: Real, const I: usize, const O: usize>(x: [T; I], y: [T; O]) -> T {
    dot(x, y)
}

fn main() {}
