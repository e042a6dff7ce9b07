//! Neurons in a `#![no_std]` crate: `neuron-core` without its `std`
//! feature gives `#[neuron]` and everything it generates (`gradient`,
//! `backward`, the `_ref` forms, `Grad`, `Params`, `Model`), `Real`, the
//! losses and the optimizers, on `core` and `alloc` alone.
//!
//! `cargo build -p neuron-nostd --features bare` is the proof: with `bare`
//! this crate defines the panic handler and the global allocator, so a
//! dependency that links `std` makes the build fail with a duplicate
//! `panic_impl` lang item. `neuron-tests` (`tests/tests/nostd.rs`) checks
//! the numbers these functions compute with `std`; `.ci/run` also builds
//! the crate as a static library without it and runs it from a C program
//! (`nostd/run.c`).

#![no_std]

#[cfg(feature = "bare")]
mod bare;

use neuron_core::prelude::*;

/// One tanh neuron of a scalar input: `exp`-family functions that `f64`
/// has as methods only with `std`, and a function with a declared
/// derivative. Its `gradcheck` test is generated under `cfg(test)` only,
/// and a test build needs `neuron-core`'s `std` feature.
#[neuron(gradcheck)]
pub fn scalar(x: f64, #[param] w: f64, #[param] b: f64) -> f64 {
    tanh(w * x + b) + 0.25 * exp(-square(x)) * softclip(1.0 + b * b)
}

/// `x / (1 + |x|)`, used in [`scalar`] through its declared derivative.
#[neuron::derivative(d_softclip)]
pub fn softclip(x: f64) -> f64 {
    x / (1.0 + x.abs())
}

/// `∂softclip/∂x = 1 / (1 + |x|)²`.
pub fn d_softclip(x: f64) -> f64 {
    let s = 1.0 + x.abs();
    1.0 / (s * s)
}

/// The running example: one ReLU neuron with three inputs.
#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
}

/// A layer of four tanh units of two inputs, in `f32`.
#[neuron]
pub fn layer(x: [f32; 2], #[param] w: [[f32; 2]; 4], #[param] b: [f32; 4]) -> [f32; 4] {
    tanh(matvec(w, x) + b)
}

/// Two layers: `layer`, called as a neuron, then a sigmoid unit.
#[neuron]
pub fn net(
    x: [f32; 2],
    #[param] w1: [[f32; 2]; 4],
    #[param] b1: [f32; 4],
    #[param] w2: [f32; 4],
    #[param] b2: f32,
) -> f32 {
    let h: [f32; 4] = layer(x, w1, b1);
    sigmoid(dot(w2, h) + b2)
}

/// A generic neuron: softplus, GELU (`libm`'s `erfc`), `sqrt`, `powf`,
/// `atan` and `softmax` through `T: Real`.
#[neuron]
pub fn generic<T: Real>(x: [T; 2], #[param] w: [T; 2], #[param] b: T) -> T {
    let z = dot(w, x) + b;
    let p = softmax([z, x[0], x[1]]);
    softplus(z) + gelu(z) * p[0] + sqrt(1.0 + square(z)) + powf(1.5, atan(z))
}

/// One epoch of Adam over `data`, the loop `Trainer` would run.
pub fn epoch(model: &mut unit::Model, adam: &mut Adam<f64>, data: &[([f64; 3], f64)]) {
    let mut grads = unit::Params::default();
    for (x, t) in data {
        model.forward_backward(x, |y| MeanSquaredError.grad(y, t), &mut grads);
    }
    adam.step(model.params_mut(), &grads);
}

/// One step of `w += -0.001 * ∂y/∂w`, `b += -0.001 * ∂y/∂b` on the running
/// example at `x = [1, -2, 3]`, `w = [-3, -1, 2]`, `b = 1`, with
/// `unit::gradient`: the new parameters and the output at them.
#[must_use]
pub fn running_example_step() -> ([f64; 3], f64, f64) {
    let x = [1.0, -2.0, 3.0];
    let (mut w, mut b) = ([-3.0, -1.0, 2.0], 1.0);
    let (_, g) = unit::gradient(x, w, b);
    for (w, g) in w.iter_mut().zip(g.w) {
        *w += -0.001 * g;
    }
    b += -0.001 * g.b;
    (w, b, unit(x, w, b))
}

/// The four points of XOR, as inputs and targets of `net`.
pub const XOR: [([f32; 2], f32); 4] = [
    ([0.0, 0.0], 0.0),
    ([0.0, 1.0], 1.0),
    ([1.0, 0.0], 1.0),
    ([1.0, 1.0], 0.0),
];

/// `net` with fixed, asymmetric starting weights (random ones need `std`).
#[must_use]
pub fn start() -> net::Model {
    net::Model::new(net::Params::new(
        [[0.9, -0.7], [-0.6, 0.8], [0.5, 0.4], [-0.3, -0.9]],
        [0.1, -0.2, 0.05, 0.3],
        [0.7, 0.6, -0.5, 0.4],
        0.0,
    ))
}

/// The mean squared error of `model` on [`XOR`].
#[must_use]
pub fn xor_loss(model: &net::Model) -> f32 {
    XOR.iter()
        .map(|(x, t)| MeanSquaredError.loss(&model.forward(x), t))
        .sum::<f32>()
        / 4.0
}

/// Trains `net` on [`XOR`] with Adam for `epochs` full batches, from
/// [`start`]: the training loop a `no_std` user writes, since `Trainer`
/// needs `std`. Returns the model.
#[must_use]
pub fn train_xor(epochs: usize) -> net::Model {
    let mut model = start();
    let mut adam = Adam::new(0.05);
    let mut grads = net::Params::default();
    for _ in 0..epochs {
        grads.set_zero();
        for (x, t) in &XOR {
            // One forward pass, the loss's derivative, the parameters'
            // adjoints added into `grads`.
            model.forward_backward(x, |y| MeanSquaredError.grad(y, t) / 4.0, &mut grads);
        }
        adam.step(model.params_mut(), &grads);
    }
    model
}

/// `backward` of the array-valued `layer` with an upstream derivative,
/// and of the scalar `scalar` (`gradient` times `dy`), borrowing forms
/// included: the values the tests compare with finite differences.
#[must_use]
pub fn backward_parts() -> (layer::Grad, layer::Grad, scalar::Grad) {
    let (x, w, b) = (
        [0.5, -1.5],
        [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2], [0.7, 0.7]],
        [0.0, 0.1, -0.1, 0.2],
    );
    let dy = [1.0, -2.0, 0.5, 3.0];
    let (_, by_value) = layer::backward(x, w, b, dy);
    let (_, by_ref) = layer::backward_ref(&x, &w, &b, dy);
    let (_, s) = scalar::backward(0.7, -1.2, 0.4, 2.0);
    (by_value, by_ref, s)
}
