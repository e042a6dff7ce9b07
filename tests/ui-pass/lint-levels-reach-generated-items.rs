//! Lint levels written on a neuron reach every item it generates: here an
//! upper-case argument is allowed on the function, and the crate denies the
//! lint everywhere else, so a generated `Grad` field or `gradient`
//! parameter that missed the `allow` would fail the build.
#![deny(non_snake_case, warnings)]
use neuron_core::prelude::*;

/// A neuron whose argument is named like a matrix.
#[allow(non_snake_case)]
#[neuron]
pub fn project(W: [[f64; 2]; 2], x: [f64; 2]) -> f64 {
    sum(matvec(W, x))
}

fn main() {
    let (y, g) = project::gradient([[1.0, 2.0], [3.0, 4.0]], [1.0, -1.0]);
    assert_eq!(y, -2.0);
    assert_eq!(g.W, [[1.0, -1.0], [1.0, -1.0]]);
}
