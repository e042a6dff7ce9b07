//! Neurons at the edges of the language: the identity, a constant, an
//! argument returned whole, array literals as results, a parameter used
//! nowhere, and names that collide with generated ones. Each compiles, and
//! its gradient agrees with finite differences.

use neuron_core::prelude::*;

/// The identity.
#[neuron(gradcheck)]
pub fn identity(x: f64) -> f64 {
    x
}

/// A constant: every partial is zero.
#[neuron]
pub fn constant(x: f64) -> f64 {
    2.5 + 0 * x
}

/// A parameter returned whole.
#[neuron(gradcheck)]
pub fn whole(#[param] w: [f64; 3]) -> [f64; 3] {
    w
}

/// An array literal of expressions as the result.
#[neuron(gradcheck)]
pub fn literal(x: [f64; 2], #[param] a: f64) -> [f64; 3] {
    [a * x[0], x[1] - a, square(a)]
}

/// A parameter the result does not depend on.
#[neuron(gradcheck)]
pub fn unused(x: f64, #[param] a: f64, #[param] b: f64) -> f64 {
    a * x
}

/// Bindings named like generated values and loop indices.
#[neuron(gradcheck)]
pub fn shadowing(x: [f64; 3], #[param] w: [f64; 3]) -> f64 {
    let sum = dot(w, x);
    let i = sum * sum;
    let d_sum = tanh(i);
    let j = [d_sum, sum, i];
    dot(j, w)
}

/// A `let` rebinding an argument's name.
#[neuron(gradcheck)]
pub fn rebinding(x: f64, #[param] w: f64) -> f64 {
    let x = x * w;
    let x = sigmoid(x);
    x * x
}

#[test]
fn the_edges_have_the_right_partials() {
    assert_eq!(identity::gradient(3.0), (3.0, identity::Grad { x: 1.0 }));
    assert_eq!(constant::gradient(3.0), (2.5, constant::Grad { x: 0.0 }));
    let (y, g) = whole::backward([1.0, 2.0, 3.0], [0.5, -1.0, 2.0]);
    assert_eq!((y, g.w), ([1.0, 2.0, 3.0], [0.5, -1.0, 2.0]));
    let (y, g) = literal::backward([2.0, 5.0], 3.0, [1.0, 1.0, 1.0]);
    assert_eq!(y, [6.0, 2.0, 9.0]);
    // d/da (a x0 + x1 - a + a²) = x0 - 1 + 2a.
    assert_eq!(g.a, 2.0 - 1.0 + 6.0);
    assert_eq!(g.x, [3.0, 1.0]);
    let (_, g) = unused::gradient(2.0, 3.0, 4.0);
    assert_eq!((g.x, g.a, g.b), (3.0, 2.0, 0.0));
}

#[test]
fn the_edges_train_through_the_generated_step() {
    let model = whole::Model::new(whole::Params::new([1.0, 2.0, 3.0]));
    let mut grads = whole::Params::zeros();
    let y = model.forward_backward(&(), |y| *y, &mut grads);
    assert_eq!(y, [1.0, 2.0, 3.0]);
    assert_eq!(*grads.w, [1.0, 2.0, 3.0]);
    let model = unused::Model::new(unused::Params { a: 3.0, b: 4.0 });
    let mut grads = unused::Params::zeros();
    assert_eq!(model.forward_backward(&2.0, |_| 1.0, &mut grads), 6.0);
    assert_eq!((grads.a, grads.b), (2.0, 0.0));
}
