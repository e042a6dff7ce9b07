//! The spiral classifier trained by a plain hand-written loop, the baseline
//! that the `training` bench measures `neuron_core`'s `Trainer` against:
//! the 2-64-3 network of `spiral_net` (ReLU hidden layer, logits) in plain
//! `f64` arrays, a forward and a backward pass written out by hand for one
//! sample at a time, gradients accumulated over the mini-batch, and Adam
//! written out with the rules of `neuron_core::Adam` (nnfs's: decay
//! `lr / (1 + decay * t)`, bias-corrected momentum and cache, epsilon
//! added to the cache's square root).
//!
//! It is what a person writes without a library: no allocation per
//! sample, no checks, no history beyond the loss. `tests.rs` checks that
//! it follows the `Trainer`'s loss trajectory, so that the bench compares
//! the same work.

// Index loops, as a person transcribing the formulas writes them.
#![allow(clippy::needless_range_loop)]

/// Inputs of the network.
pub const INPUTS: usize = 2;
/// Units of the hidden layer.
pub const HIDDEN: usize = 64;
/// Classes, the logits of the output layer.
pub const CLASSES: usize = 3;

/// The network's parameters, or a gradient or an optimizer state of the
/// same shape: `h = relu(w1 · x + b1)`, `logits = w2 · h + b2`.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// Hidden layer weights, one row per unit.
    pub w1: [[f64; INPUTS]; HIDDEN],
    /// Hidden layer biases.
    pub b1: [f64; HIDDEN],
    /// Output layer weights, one row per class.
    pub w2: [[f64; HIDDEN]; CLASSES],
    /// Output layer biases.
    pub b2: [f64; CLASSES],
}

impl Params {
    /// Every parameter zero.
    pub fn zeros() -> Self {
        Params {
            w1: [[0.0; INPUTS]; HIDDEN],
            b1: [0.0; HIDDEN],
            w2: [[0.0; HIDDEN]; CLASSES],
            b2: [0.0; CLASSES],
        }
    }
}

/// Adam as `neuron_core::Adam` computes it, for one [`Params`]:
///
/// ```text
/// lr_t = lr / (1 + decay * t)          t = steps taken before this one
/// m = beta1 * m + (1 - beta1) * g;     m_hat = m / (1 - beta1^(t + 1))
/// v = beta2 * v + (1 - beta2) * g²;    v_hat = v / (1 - beta2^(t + 1))
/// w += -lr_t * m_hat / (sqrt(v_hat) + epsilon)
/// ```
#[derive(Clone, Debug)]
pub struct Adam {
    lr: f64,
    decay: f64,
    epsilon: f64,
    beta1: f64,
    beta2: f64,
    iterations: u64,
    momentum: Params,
    cache: Params,
}

impl Adam {
    /// Adam with learning rate `lr` and nnfs's `decay`, epsilon `1e-7`,
    /// beta1 0.9 and beta2 0.999 (`neuron_core::Adam`'s defaults).
    pub fn new(lr: f64, decay: f64) -> Self {
        Adam {
            lr,
            decay,
            epsilon: 1e-7,
            beta1: 0.9,
            beta2: 0.999,
            iterations: 0,
            momentum: Params::zeros(),
            cache: Params::zeros(),
        }
    }

    /// One step of every parameter against its gradient.
    pub fn step(&mut self, params: &mut Params, grads: &Params) {
        let lr = if self.decay == 0.0 {
            self.lr
        } else {
            self.lr / (1.0 + self.decay * self.iterations as f64)
        };
        let t = (self.iterations + 1) as f64;
        let rule = Rule {
            lr,
            beta1: self.beta1,
            beta2: self.beta2,
            epsilon: self.epsilon,
            correction1: 1.0 - self.beta1.powf(t),
            correction2: 1.0 - self.beta2.powf(t),
        };
        let (m, v) = (&mut self.momentum, &mut self.cache);
        for i in 0..HIDDEN {
            for j in 0..INPUTS {
                rule.apply(
                    &mut params.w1[i][j],
                    grads.w1[i][j],
                    &mut m.w1[i][j],
                    &mut v.w1[i][j],
                );
            }
            rule.apply(&mut params.b1[i], grads.b1[i], &mut m.b1[i], &mut v.b1[i]);
        }
        for k in 0..CLASSES {
            for i in 0..HIDDEN {
                rule.apply(
                    &mut params.w2[k][i],
                    grads.w2[k][i],
                    &mut m.w2[k][i],
                    &mut v.w2[k][i],
                );
            }
            rule.apply(&mut params.b2[k], grads.b2[k], &mut m.b2[k], &mut v.b2[k]);
        }
        self.iterations += 1;
    }
}

/// The constants of one Adam step.
struct Rule {
    lr: f64,
    beta1: f64,
    beta2: f64,
    epsilon: f64,
    correction1: f64,
    correction2: f64,
}

impl Rule {
    #[inline]
    fn apply(&self, w: &mut f64, g: f64, m: &mut f64, v: &mut f64) {
        *m = self.beta1 * *m + (1.0 - self.beta1) * g;
        *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
        let m_hat = *m / self.correction1;
        let v_hat = *v / self.correction2;
        *w += -self.lr * m_hat / (v_hat.sqrt() + self.epsilon);
    }
}

/// Adds one sample's gradient of the softmax cross-entropy loss, times
/// `scale`, to `grads`, and returns the sample's loss.
pub fn accumulate(
    params: &Params,
    x: &[f64; INPUTS],
    class: usize,
    scale: f64,
    grads: &mut Params,
) -> f64 {
    // Forward: h = relu(w1 · x + b1), z = w2 · h + b2.
    let mut h = [0.0; HIDDEN];
    for i in 0..HIDDEN {
        let mut s = 0.0;
        for j in 0..INPUTS {
            s += params.w1[i][j] * x[j];
        }
        let s = s + params.b1[i];
        h[i] = if s > 0.0 { s } else { 0.0 };
    }
    let mut z = [0.0; CLASSES];
    for k in 0..CLASSES {
        let mut s = 0.0;
        for i in 0..HIDDEN {
            s += params.w2[k][i] * h[i];
        }
        z[k] = s + params.b2[k];
    }
    let (loss, dz) = softmax_cross_entropy(&z, class, scale);
    // Backward: the output layer, then the hidden layer through the ReLU's
    // mask (derivative 0 at 0).
    let mut dh = [0.0; HIDDEN];
    for k in 0..CLASSES {
        grads.b2[k] += dz[k];
        for i in 0..HIDDEN {
            grads.w2[k][i] += dz[k] * h[i];
            dh[i] += params.w2[k][i] * dz[k];
        }
    }
    for i in 0..HIDDEN {
        if h[i] > 0.0 {
            grads.b1[i] += dh[i];
            for j in 0..INPUTS {
                grads.w1[i][j] += dh[i] * x[j];
            }
        }
    }
    loss
}

/// The softmax cross-entropy loss of `logits` for `class`, and its
/// derivative by the logits times `scale`, shifted by the largest logit:
/// loss = ln Σ e^(z - max) - (z_class - max), dz = softmax(z) - onehot.
pub fn softmax_cross_entropy(
    z: &[f64; CLASSES],
    class: usize,
    scale: f64,
) -> (f64, [f64; CLASSES]) {
    let mut max = z[0];
    for k in 1..CLASSES {
        if z[k] > max {
            max = z[k];
        }
    }
    let mut e = [0.0; CLASSES];
    let mut sum = 0.0;
    for k in 0..CLASSES {
        e[k] = (z[k] - max).exp();
        sum += e[k];
    }
    let loss = sum.ln() - (z[class] - max);
    let mut dz = [0.0; CLASSES];
    for k in 0..CLASSES {
        let onehot = if k == class { 1.0 } else { 0.0 };
        dz[k] = (e[k] / sum - onehot) * scale;
    }
    (loss, dz)
}

/// Trains `params` for `epochs` passes over `data` in its order, in
/// mini-batches of `batch_size` samples (the last one may be smaller),
/// one Adam step per batch on the batch's mean gradient. Returns each
/// epoch's mean loss, every sample scored just before its batch's step,
/// as `neuron_core::History::losses` reports it.
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
    train_by(
        params,
        adam,
        data,
        epochs,
        batch_size,
        |params, batch, scale, grads, total| {
            for (x, class) in batch {
                *total += accumulate(params, x, *class, scale, grads);
            }
        },
    )
}

/// The loop of [`train`] around `batch_step`, which adds a batch's
/// gradient, each sample's times `scale`, into `grads` (zero at first) and
/// its samples' losses into `total`, in the batch's order.
///
/// # Panics
///
/// When `batch_size` is 0.
pub fn train_by(
    params: &mut Params,
    adam: &mut Adam,
    data: &[([f64; INPUTS], usize)],
    epochs: usize,
    batch_size: usize,
    mut batch_step: impl FnMut(&Params, &[([f64; INPUTS], usize)], f64, &mut Params, &mut f64),
) -> Vec<f64> {
    assert!(batch_size > 0, "the batch size must be at least 1");
    let mut losses = Vec::with_capacity(epochs);
    for _ in 0..epochs {
        let mut total = 0.0;
        for batch in data.chunks(batch_size) {
            let mut grads = Params::zeros();
            let scale = 1.0 / batch.len() as f64;
            batch_step(params, batch, scale, &mut grads, &mut total);
            adam.step(params, &grads);
        }
        losses.push(total / data.len() as f64);
    }
    losses
}
