//! Networks written as calls of generic layers, so that the cost of
//! calling annotated layers can be measured against the same networks
//! written as one function in [`crate::neurons`] (`--bench chaining`).

use neuron_core::{Real, neuron};

/// A fully connected layer with a ReLU, generic in its float type and
/// lengths.
#[neuron]
pub fn dense_relu<T: Real, const I: usize, const O: usize>(
    x: [T; I],
    #[param] w: [[T; I]; O],
    #[param] b: [T; O],
) -> [T; O] {
    relu(matvec(w, x) + b)
}

/// A fully connected layer without activation (logits).
#[neuron]
pub fn dense<T: Real, const I: usize, const O: usize>(
    x: [T; I],
    #[param] w: [[T; I]; O],
    #[param] b: [T; O],
) -> [T; O] {
    matvec(w, x) + b
}

/// The spiral example's 2-64-3 network as two calls of layers.
#[neuron]
pub fn spiral_chained(
    x: [f64; 2],
    #[param] w1: [[f64; 2]; 64],
    #[param] b1: [f64; 64],
    #[param] w2: [[f64; 64]; 3],
    #[param] b2: [f64; 3],
) -> [f64; 3] {
    let h: [f64; 64] = dense_relu(x, w1, b1);
    let y: [f64; 3] = dense(h, w2, b2);
    y
}

/// [`crate::neurons::mnist_net`] as two calls of layers.
#[neuron]
pub fn mnist_chained(
    x: [f64; 784],
    #[param] w1: [[f64; 784]; 128],
    #[param] b1: [f64; 128],
    #[param] w2: [[f64; 128]; 10],
    #[param] b2: [f64; 10],
) -> [f64; 10] {
    let h: [f64; 128] = dense_relu(x, w1, b1);
    let y: [f64; 10] = dense(h, w2, b2);
    y
}
