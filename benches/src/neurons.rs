//! The `#[neuron]` functions under test: the running example of DESIGN.md,
//! `relu(dot(w, x) + b)` at three sizes, `sum` of 1024, the 2-64-3 spiral classifier
//! (with `log_softmax` on its output, and, from the `spiral` example, as
//! logits for training with `SoftmaxCrossEntropy`), a 784 → 128 layer, a
//! 784-128-10 classifier and the f32 64-32-10 digits classifier that the
//! `digits` bench trains.

use neuron_core::prelude::*;

/// The running example: one ReLU neuron with three inputs, written out.
#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
}

/// A dot neuron with 3 inputs.
#[neuron]
pub fn dot3(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    relu(dot(w, x) + b)
}

/// A dot neuron with 64 inputs.
#[neuron]
pub fn dot64(x: [f64; 64], #[param] w: [f64; 64], #[param] b: f64) -> f64 {
    relu(dot(w, x) + b)
}

/// A dot neuron with 1024 inputs.
#[neuron]
pub fn dot1024(x: [f64; 1024], #[param] w: [f64; 1024], #[param] b: f64) -> f64 {
    relu(dot(w, x) + b)
}

/// The sum of 1024 inputs, which keeps partial sums.
#[neuron]
pub fn sum1024(v: [f64; 1024]) -> f64 {
    sum(v)
}

/// The 2-64-3 spiral classifier with log-probabilities as output.
#[neuron]
pub fn net(
    x: [f64; 2],
    #[param] w1: [[f64; 2]; 64],
    #[param] b1: [f64; 64],
    #[param] w2: [[f64; 64]; 3],
    #[param] b2: [f64; 3],
) -> [f64; 3] {
    let h = relu(matvec(w1, x) + b1);
    log_softmax(matvec(w2, h) + b2)
}

/// The 2-64-3 spiral classifier with logits as output, the shape that
/// `SoftmaxCrossEntropy` trains: the very network of the `spiral` example.
pub use neuron_examples::spiral_net;

/// A 784 → 128 layer (the first layer of an MNIST-sized network), generic
/// in its float type: rows long enough for partial sums.
#[neuron]
pub fn wide<T: Real>(x: [T; 784], #[param] w: [[T; 784]; 128]) -> [T; 128] {
    matvec(w, x)
}

/// The 64-32-10 classifier of 8×8 digit images in f32: one ReLU layer of
/// 32 units, then logits for the ten digits (the loss applies the
/// softmax). The `digits` bench trains it; `benches/torch/digits_torch.py`
/// is the same network in PyTorch.
#[neuron]
pub fn digits32(
    x: [f32; 64],
    #[param] w1: [[f32; 64]; 32],
    #[param] b1: [f32; 32],
    #[param] w2: [[f32; 32]; 10],
    #[param] b2: [f32; 10],
) -> [f32; 10] {
    let h = relu(matvec(w1, x) + b1);
    matvec(w2, h) + b2
}

/// A 784-128-10 classifier, the shape of an MNIST network: a ReLU hidden
/// layer and logits, trained with `SoftmaxCrossEntropy`; f64.
#[neuron]
pub fn mnist_net(
    x: [f64; 784],
    #[param] w1: [[f64; 784]; 128],
    #[param] b1: [f64; 128],
    #[param] w2: [[f64; 128]; 10],
    #[param] b2: [f64; 10],
) -> [f64; 10] {
    let h = relu(matvec(w1, x) + b1);
    matvec(w2, h) + b2
}
