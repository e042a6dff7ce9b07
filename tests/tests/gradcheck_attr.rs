//! `#[neuron(gradcheck)]`: each annotated neuron gets a `#[test]`,
//! `<name>::gradient_matches_finite_differences`, that checks its gradient
//! against finite differences at random points. The tests below are those
//! generated tests; this file only declares the neurons (and checks that
//! the generated test exists).

use neuron_core::prelude::*;

/// A logistic unit; `ln` makes part of the random domain invalid, which the
/// check skips.
#[neuron(gradcheck)]
pub fn logistic(x: [f64; 2], #[param] w: [f64; 2], #[param] b: f64) -> f64 {
    let z = dot(w, x) + b;
    sigmoid(z) + ln(1 + square(z))
}

/// A small layer with a vector output, in f32.
#[neuron(gradcheck)]
pub fn layer(x: [f32; 3], #[param] w: [[f32; 3]; 2], #[param] b: [f32; 2]) -> [f32; 2] {
    tanh(matvec(w, x) + b)
}

/// A generic neuron, checked in f64.
#[neuron(gradcheck)]
pub fn generic<T: Real>(x: T, #[param] a: T, #[param] c: T) -> T {
    softplus(a * x - c) * exp(-square(x))
}

/// Options: points, a range where `ln` and `sqrt` are defined, a
/// tolerance.
#[neuron(gradcheck(points = 100, range = 0.1..=3.0, tolerance = 1e-5))]
pub fn positive(x: [f64; 2], #[param] w: [f64; 2]) -> f64 {
    ln(x[0] * w[0]) + sqrt(x[1] / w[1])
}

/// A symmetric range given as one number, in f32.
#[neuron(gradcheck(range = 0.5))]
pub fn narrow(x: f32, #[param] a: f32) -> f32 {
    powf(1.0 + square(x), a)
}

/// Outputs about -1.7e5: the tolerance widens by the rounding that
/// magnitude brings to finite differences.
#[neuron(gradcheck)]
pub fn large(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    let z = dot(w, x) + b;
    tanh(z) + square(z) * 0.01 - 1.7e5
}

#[test]
fn the_generated_tests_are_plain_functions_too() {
    positive::gradient_matches_finite_differences();
    narrow::gradient_matches_finite_differences();
    large::gradient_matches_finite_differences();
    // Calling them directly shows they exist and pass.
    logistic::gradient_matches_finite_differences();
    layer::gradient_matches_finite_differences();
    generic::gradient_matches_finite_differences();
}
