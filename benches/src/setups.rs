//! The training runs that the training benches measure, in one place so
//! that the tests check the very runs the benches time, and so that
//! `benches/torch/` can state what it mirrors.
//!
//! - Spiral: nnfs's `spiral(100, 3)` (300 points), the 2-64-3 `spiral_net`
//!   (logits) with nnfs's initialization (weights `0.01 * N(0, 1)`, biases
//!   zero), softmax cross-entropy, Adam with lr 0.05, decay 5e-7, epsilon
//!   1e-7, full batch, no shuffling, f64; by `neuron_core`'s `Trainer` and
//!   by the hand-written loop of [`crate::naive`], from the same weights.
//! - Digits: the 1797 8×8 images of `examples/data/digits.csv` (pixels
//!   scaled by 1/16), the f32 64-32-10 [`digits32`] with He-normal weights
//!   and zero biases, softmax cross-entropy, Adam with lr 0.005 and
//!   epsilon 1e-7, mini-batches of 32, shuffled from a fixed seed.

use crate::naive;
use crate::neurons::{digits32, spiral_net};
use neuron_core::{
    Adam, CsvError, NormalSampler, Parameters, SoftmaxCrossEntropy, Trainer, load_csv, spiral,
};
use std::path::Path;

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

/// Adam's learning rate on the digits.
pub const DIGITS_LR: f32 = 0.005;
/// Samples per mini-batch on the digits.
pub const DIGITS_BATCH: usize = 32;

/// The digits of `examples/data/digits.csv` (see the README there for
/// their source and license) as f32, pixels scaled from `0..=16` to
/// `[0, 1]`.
///
/// # Errors
///
/// A [`CsvError`] if the file cannot be read.
pub fn digits_data() -> Result<Vec<([f32; 64], usize)>, CsvError> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/digits.csv");
    let mut data = load_csv::<f32, 64>(path)?;
    for (x, _) in &mut data {
        for v in x.iter_mut() {
            *v /= 16.0;
        }
    }
    Ok(data)
}

/// The digits model with He-normal weights (`N(0, 2 / fan_in)`) from seed
/// 1 and zero biases.
pub fn digits_model() -> digits32::Model {
    digits32::Model::new(<digits32::Params as Parameters<f32>>::he_normal(1))
}

/// The `Trainer` of the digits: `epochs` epochs of mini-batches of 32,
/// shuffled every epoch from seed 0, no progress bar.
pub fn digits_trainer(epochs: usize) -> Trainer<Adam<f32>, SoftmaxCrossEntropy> {
    Trainer::new(Adam::new(DIGITS_LR), SoftmaxCrossEntropy)
        .epochs(epochs)
        .batch_size(DIGITS_BATCH)
        .seed(0)
        .progress(false)
}
