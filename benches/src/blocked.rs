//! The spiral classifier trained by a batched step written by hand: the
//! work of [`crate::naive`], but sixteen samples at a time, with the
//! samples in the innermost loops and the hidden units in the outer ones.
//!
//! It is the shape that a generated batched step aims at, and the
//! `training` bench measures it beside the `Trainer` and the per-sample
//! loop. Two things make it fast, and both are needed (BENCHMARKS.md,
//! "a batched step written by hand"):
//!
//! - **Samples innermost.** Each weight is loaded once per block and
//!   multiplies sixteen samples' values in vector registers; each
//!   gradient is read and written once per block, the block's sixteen
//!   products summed first.
//! - **One pass over the hidden units.** The forward pass computes unit
//!   `j`'s pre-activation, its ReLU and its share of the logits in one
//!   iteration; the backward pass computes unit `j`'s derivative and all
//!   its gradients in one iteration. The values of unit `j` stay in
//!   registers instead of going through arrays of all 64 units.
//!
//! The ReLU, the softmax cross-entropy and Adam are [`crate::naive`]'s;
//! only the order of the additions of the gradients' sums differs, so the
//! training agrees with the per-sample loop to rounding (`tests.rs`).

// Index loops over samples and units, as the formulas are written.
#![allow(clippy::needless_range_loop)]

use crate::naive::{self, Adam, CLASSES, HIDDEN, INPUTS, Params};

/// Samples per block: the innermost loops' length.
pub const BLOCK: usize = 16;

/// Adds the softmax cross-entropy loss's gradient of the `BLOCK` samples
/// of `block`, each times `scale`, to `grads`, and returns the sum of
/// their losses.
///
/// # Panics
///
/// When `block` does not hold `BLOCK` samples or a class is `CLASSES` or
/// more.
pub fn accumulate_block(
    params: &Params,
    block: &[([f64; INPUTS], usize)],
    scale: f64,
    grads: &mut Params,
) -> f64 {
    assert_eq!(block.len(), BLOCK, "a block holds {BLOCK} samples");
    // The inputs, one row of samples per input.
    let mut x = [[0.0; BLOCK]; INPUTS];
    for (s, (input, _)) in block.iter().enumerate() {
        for i in 0..INPUTS {
            x[i][s] = input[i];
        }
    }
    // Forward, one hidden unit at a time: its pre-activation (kept for the
    // backward pass), its ReLU, and what it adds to each logit.
    let mut pre = [[0.0; BLOCK]; HIDDEN];
    let mut z = [[0.0; BLOCK]; CLASSES];
    for j in 0..HIDDEN {
        let mut h = [0.0; BLOCK];
        for s in 0..BLOCK {
            let mut v = params.b1[j];
            for i in 0..INPUTS {
                v += params.w1[j][i] * x[i][s];
            }
            pre[j][s] = v;
            h[s] = if v > 0.0 { v } else { 0.0 };
        }
        for k in 0..CLASSES {
            let w = params.w2[k][j];
            for s in 0..BLOCK {
                z[k][s] += w * h[s];
            }
        }
    }
    // The loss of each sample and its derivative by the logits, as the
    // per-sample loop computes them.
    let mut loss = 0.0;
    let mut dz = [[0.0; BLOCK]; CLASSES];
    for (s, (_, class)) in block.iter().enumerate() {
        let logits: [f64; CLASSES] = core::array::from_fn(|k| z[k][s] + params.b2[k]);
        let (value, d) = naive::softmax_cross_entropy(&logits, *class, scale);
        loss += value;
        for k in 0..CLASSES {
            dz[k][s] = d[k];
        }
    }
    for k in 0..CLASSES {
        grads.b2[k] += dz[k].iter().sum::<f64>();
    }
    // Backward, one hidden unit at a time: the derivative of its output
    // from every logit, then all of its gradients.
    for j in 0..HIDDEN {
        let mut h = [0.0; BLOCK];
        for s in 0..BLOCK {
            h[s] = if pre[j][s] > 0.0 { pre[j][s] } else { 0.0 };
        }
        let mut dh = [0.0; BLOCK];
        for k in 0..CLASSES {
            let w = params.w2[k][j];
            let mut g = 0.0;
            for s in 0..BLOCK {
                g += dz[k][s] * h[s];
                dh[s] += w * dz[k][s];
            }
            grads.w2[k][j] += g;
        }
        let mut gw = [0.0; INPUTS];
        let mut gb = 0.0;
        for s in 0..BLOCK {
            let d = if pre[j][s] > 0.0 { dh[s] } else { 0.0 };
            for i in 0..INPUTS {
                gw[i] += d * x[i][s];
            }
            gb += d;
        }
        for i in 0..INPUTS {
            grads.w1[j][i] += gw[i];
        }
        grads.b1[j] += gb;
    }
    loss
}

/// Trains as [`naive::train`] does (its loop, [`naive::train_by`]), each
/// batch's gradient summed over blocks of [`BLOCK`] samples by
/// [`accumulate_block`] and over the rest one sample at a time by
/// [`naive::accumulate`]. Returns each epoch's mean loss.
///
/// # Panics
///
/// When `batch_size` is 0 or a class is `CLASSES` or more.
pub fn train(
    params: &mut Params,
    adam: &mut Adam,
    data: &[([f64; INPUTS], usize)],
    epochs: usize,
    batch_size: usize,
) -> Vec<f64> {
    naive::train_by(
        params,
        adam,
        data,
        epochs,
        batch_size,
        |params, batch, scale, grads, total| {
            let mut blocks = batch.chunks_exact(BLOCK);
            for block in &mut blocks {
                *total += accumulate_block(params, block, scale, grads);
            }
            for (x, class) in blocks.remainder() {
                *total += naive::accumulate(params, x, *class, scale, grads);
            }
        },
    )
}
