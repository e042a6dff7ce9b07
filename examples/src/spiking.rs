//! The network of the spiking example: a hidden layer of threshold units
//! that fire (1) or stay silent (0), trained through a surrogate gradient.
//!
//! A step has derivative zero wherever it is defined, so gradient descent
//! through it learns nothing. `#[neuron::surrogate]` keeps the step in the
//! forward pass and trains through a smooth stand-in for its slope, the
//! derivative of a fast sigmoid, as spiking networks are trained.

use neuron_core::prelude::*;

/// How sharply the surrogate slope falls off around the threshold.
pub const SHARPNESS: f64 = 4.0;

/// Fires where the membrane potential `v` is above the threshold 0.
#[neuron::surrogate(fast_sigmoid_slope)]
pub fn heaviside(v: f64) -> f64 {
    if v > 0.0 { 1.0 } else { 0.0 }
}

/// The surrogate for the step's derivative: the slope of the fast sigmoid
/// `v / (1 + k |v|)`, `1 / (1 + k |v|)²`, largest at the threshold.
pub fn fast_sigmoid_slope(v: f64) -> f64 {
    1.0 / (1.0 + SHARPNESS * v.abs()).powi(2)
}

/// 2 inputs, 64 threshold units, logits for 2 classes (the loss applies
/// the softmax).
#[neuron]
pub fn spiking_net(
    x: [f64; 2],
    #[param] w1: [[f64; 2]; 64],
    #[param] b1: [f64; 64],
    #[param] w2: [[f64; 64]; 2],
    #[param] b2: [f64; 2],
) -> [f64; 2] {
    let spikes = heaviside(matvec(w1, x) + b1);
    matvec(w2, spikes) + b2
}

/// The two-class spiral the example trains on.
pub fn spiking_data() -> Vec<([f64; 2], usize)> {
    spiral(100, 2, 0)
}

/// Trains the network as the spiking example does: Adam on softmax
/// cross-entropy, mini-batches of 20, for `epochs` epochs.
///
/// # Errors
///
/// A [`TrainError`] if training diverges.
pub fn train_spiking(
    epochs: usize,
    progress: bool,
) -> Result<(spiking_net::Model, History), TrainError> {
    let data = spiking_data();
    let mut model = spiking_net::Model::new(spiking_net::Params::random(1.0, 3));
    let mut trainer = Trainer::new(Adam::new(0.01), SoftmaxCrossEntropy)
        .epochs(epochs)
        .batch_size(20)
        .seed(5)
        .progress(progress);
    let history = trainer.fit(&mut model, &data)?;
    Ok((model, history))
}
