//! The running example: one ReLU neuron with three inputs, its gradient
//! derived at compile time, and one step of gradient descent.
//!
//! Run with `cargo run -p neuron-examples --example single_neuron`.

use neuron_core::prelude::*;

/// One ReLU neuron with three inputs.
#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
}

/// A number as the hand derivation writes it: `0.999`, not
/// `0.9990000000000001`.
fn num(v: f64) -> f64 {
    (v * 1e9).round() / 1e9
}

/// An array of numbers, each as [`num`] writes it.
fn show(values: &[f64]) -> String {
    let parts: Vec<String> = values.iter().map(|&v| num(v).to_string()).collect();
    format!("[{}]", parts.join(", "))
}

fn main() {
    let x = [1.0, -2.0, 3.0];
    let w = [-3.0, -1.0, 2.0];
    let b = 1.0;

    // The value and every partial derivative, from code generated at
    // compile time (print `unit::SOURCE` to read it).
    let (y, g) = unit::gradient(x, w, b);
    println!("unit(x = {}, w = {}, b = {b}) = {y}", show(&x), show(&w));
    println!("∂x = {}", show(&g.x));
    println!("∂w = {}", show(&g.w));
    println!("∂b = {}", g.b);

    // One step of gradient descent on the parameters, minimising the output
    // itself: w += -0.001 * ∂w, b += -0.001 * ∂b.
    let mut model = unit::Model::new(unit::Params::new(w, b));
    let mut grads = unit::Params::default();
    model.backward(&x, &1.0, &mut grads);
    let mut sgd = Sgd::new(0.001);
    sgd.step(&mut model.params, &grads);

    let y = model.forward(&x);
    println!("after one SGD step at learning rate 0.001:");
    println!("w = {}", show(&*model.params.w));
    println!("b = {}", num(model.params.b));
    println!("output = {}", num(y));
}
