//! The training runs that the training benches measure, in one place so
//! that the tests check the very runs the benches time, and so that
//! `benches/torch/` can state what it mirrors.
//!
//! - Spiral: nnfs's `spiral(100, 3)` (300 points), the 2-64-3 `spiral_net`
//!   (logits) with nnfs's initialization (weights `0.01 * N(0, 1)`, biases
//!   zero), softmax cross-entropy, Adam with lr 0.05, decay 5e-7, epsilon
//!   1e-7, full batch, no shuffling, f64; by `neuron_core`'s `Trainer` and
//!   by the hand-written loop of [`crate::naive`], from the same weights.

use crate::naive;
use crate::neurons::spiral_net;
use neuron_core::{Adam, NormalSampler, SoftmaxCrossEntropy, Trainer, spiral};

/// Adam's learning rate on the spiral (nnfs chapter 10).
pub const SPIRAL_LR: f64 = 0.05;
/// nnfs's learning-rate decay on the spiral.
pub const SPIRAL_DECAY: f64 = 5e-7;

/// The spiral data set: 100 points of each of 3 classes, seed 0.
pub fn spiral_data() -> Vec<([f64; 2], usize)> {
    spiral(100, 3, 0)
}

/// nnfs's initialization: weights `0.01 * N(0, 1)` drawn row by row, `w1`
/// then `w2`, from seed 0; biases zero.
pub fn spiral_initial_params() -> naive::Params {
    let mut normal = NormalSampler::new(0);
    let mut params = naive::Params::zeros();
    for row in params.w1.iter_mut() {
        row.iter_mut().for_each(|w| *w = 0.01 * normal.sample());
    }
    for row in params.w2.iter_mut() {
        row.iter_mut().for_each(|w| *w = 0.01 * normal.sample());
    }
    params
}

/// The generated model holding `params`.
pub fn spiral_model(params: &naive::Params) -> spiral_net::Model {
    spiral_net::Model::new(spiral_net::Params::new(
        params.w1, params.b1, params.w2, params.b2,
    ))
}

/// The `Trainer` of the spiral: `epochs` epochs, full batch, in the
/// data's order, no progress bar.
pub fn spiral_trainer(epochs: usize) -> Trainer<Adam<f64>, SoftmaxCrossEntropy> {
    Trainer::new(
        Adam::new(SPIRAL_LR).with_decay(SPIRAL_DECAY),
        SoftmaxCrossEntropy,
    )
    .epochs(epochs)
    .shuffle(false)
    .progress(false)
}

/// The hand-written loop's Adam, with the spiral's settings.
pub fn spiral_naive_adam() -> naive::Adam {
    naive::Adam::new(SPIRAL_LR, SPIRAL_DECAY)
}
