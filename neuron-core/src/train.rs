//! The training loop: epochs of seeded, shuffled mini-batches, each one a
//! gradient accumulated sample by sample through [`Model::backward`] and
//! applied by an [`Optimizer`].
//!
//! ```text
//! for each epoch:
//!     shuffle the sample order (ChaCha8, seeded)
//!     for each mini-batch:
//!         grads = 0
//!         for each (input, target):
//!             output = model.forward(input)
//!             model.backward(input, loss.grad(output, target) / batch_len, &mut grads)
//!         optimizer.step(params, grads)
//! ```
//!
//! A loss or parameter that turns NaN or infinite stops training with
//! [`TrainError::Diverged`]; the parameters and the optimizer's state are
//! then restored to what they were at the start of the failing epoch, so
//! the model is never left holding NaN.

use core::fmt;
use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::loss::{Loss, TargetError};
use crate::model::{Model, Parameters};
use crate::optim::Optimizer;
use num_traits::{Float, One};

use crate::real::{Real, Tensor};

/// Trains a [`Model`] with an optimizer and a loss; built step by step:
///
/// ```
/// use neuron_core::{Adam, SoftmaxCrossEntropy, Trainer};
///
/// let trainer = Trainer::new(Adam::new(0.02), SoftmaxCrossEntropy)
///     .epochs(100)
///     .batch_size(32)
///     .seed(7)
///     .progress(false);
/// # let _: Trainer<Adam<f64>, _> = trainer;
/// ```
#[derive(Clone, Debug)]
pub struct Trainer<O, L> {
    optimizer: O,
    loss: L,
    epochs: usize,
    batch_size: Option<usize>,
    seed: u64,
    shuffle: bool,
    progress: bool,
}

impl<O, L> Trainer<O, L> {
    /// A trainer with one epoch, the whole dataset as one batch, seed 0,
    /// shuffling on, and a progress bar when stderr is a terminal.
    pub fn new(optimizer: O, loss: L) -> Self {
        Trainer {
            optimizer,
            loss,
            epochs: 1,
            batch_size: None,
            seed: 0,
            shuffle: true,
            progress: true,
        }
    }

    /// How many passes over the dataset to make.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// How many samples each optimizer step averages over; the last batch
    /// of an epoch may be smaller. Zero is rejected by [`Trainer::fit`].
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = Some(batch_size);
        self
    }

    /// The seed of the shuffling: the same seed, data and starting
    /// parameters give bit-identical trained parameters.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether to shuffle the samples at the start of every epoch.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Whether to show a progress bar; it is drawn only when stderr is a
    /// terminal, whatever this says.
    pub fn progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    /// The optimizer, with its state after the last [`Trainer::fit`].
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The loss.
    pub fn loss(&self) -> &L {
        &self.loss
    }

    /// Trains `model` on `data`, a slice of `(input, target)` pairs, and
    /// returns the loss (and accuracy, when the loss has one) of each
    /// epoch.
    ///
    /// The optimizer keeps its state between calls, so a second `fit`
    /// continues where the first stopped.
    ///
    /// # Errors
    ///
    /// [`TrainError::EmptyDataset`], [`TrainError::ZeroBatchSize`] and
    /// [`TrainError::InvalidTarget`] before anything changes;
    /// [`TrainError::Diverged`] when a loss or parameter becomes NaN or
    /// infinite, after restoring the parameters and the optimizer to the
    /// start of that epoch.
    pub fn fit<M>(
        &mut self,
        model: &mut M,
        data: &[(M::Input, L::Target)],
    ) -> Result<History, TrainError>
    where
        M: Model,
        O: Optimizer<M::Real> + Clone,
        L: Loss<M::Real, M::Output>,
    {
        if data.is_empty() {
            return Err(TrainError::EmptyDataset);
        }
        let batch_size = match self.batch_size {
            Some(0) => return Err(TrainError::ZeroBatchSize),
            Some(n) => n,
            None => data.len(),
        };
        for (sample, (_, target)) in data.iter().enumerate() {
            if let Err(error) = self.loss.check_target(target) {
                return Err(TrainError::InvalidTarget { sample, error });
            }
        }

        let bar = progress_bar(self.progress, self.epochs);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut grads = M::Params::zeros();
        let mut history = History::default();

        for epoch in 1..=self.epochs {
            let start_params = model.params().clone();
            let start_optimizer = self.optimizer.clone();
            if self.shuffle {
                order.shuffle(&mut rng);
            }
            let learning_rate = self.optimizer.current_learning_rate().to_f64_lossy();
            let result = self.epoch(model, data, &order, batch_size, &mut grads);
            match result {
                Ok(stats) => {
                    let stats = EpochStats {
                        epoch,
                        loss: stats.0,
                        accuracy: stats.1,
                        learning_rate,
                    };
                    bar.set_message(stats.summary());
                    bar.inc(1);
                    history.epochs.push(stats);
                }
                Err((batch, cause)) => {
                    *model.params_mut() = start_params;
                    self.optimizer = start_optimizer;
                    bar.abandon();
                    return Err(TrainError::Diverged {
                        epoch,
                        batch,
                        cause,
                    });
                }
            }
        }
        bar.finish();
        Ok(history)
    }

    /// One pass over `data` in `order`; returns the mean loss and accuracy,
    /// or the batch index and cause of a divergence.
    fn epoch<M>(
        &mut self,
        model: &mut M,
        data: &[(M::Input, L::Target)],
        order: &[usize],
        batch_size: usize,
        grads: &mut M::Params,
    ) -> Result<(f64, Option<f64>), (usize, Divergence)>
    where
        M: Model,
        O: Optimizer<M::Real>,
        L: Loss<M::Real, M::Output>,
    {
        let mut total_loss = 0.0;
        let mut total_accuracy = Some(0.0);
        for (batch, indices) in order.chunks(batch_size).enumerate() {
            grads.set_zero();
            let scale = M::Real::one() / M::Real::lit(indices.len() as f64);
            for &sample in indices {
                let (input, target) = &data[sample];
                let loss_fn = &self.loss;
                let mut loss = M::Real::nan();
                let output = model.forward_backward(
                    input,
                    |output| {
                        let (value, mut dy) = loss_fn.loss_and_grad(output, target);
                        loss = value;
                        for d in dy.as_mut_slice() {
                            *d *= scale;
                        }
                        dy
                    },
                    grads,
                );
                if !loss.is_finite() {
                    let value = loss.to_f64_lossy();
                    return Err((batch, Divergence::Loss { sample, value }));
                }
                total_loss += loss.to_f64_lossy();
                total_accuracy = match (total_accuracy, self.loss.accuracy(&output, target)) {
                    (Some(sum), Some(a)) => Some(sum + a.to_f64_lossy()),
                    _ => None,
                };
            }
            self.optimizer.step(model.params_mut(), grads);
            if let Some(index) = first_non_finite(model.params()) {
                return Err((batch, Divergence::Parameter { index }));
            }
        }
        let n = data.len() as f64;
        Ok((total_loss / n, total_accuracy.map(|a| a / n)))
    }
}

/// The flat index of the first parameter that is NaN or infinite.
fn first_non_finite<T: Real, P: Parameters<T>>(params: &P) -> Option<usize> {
    let mut found = None;
    params.for_each(|k, v| {
        if found.is_none() && !v.is_finite() {
            found = Some(k);
        }
    });
    found
}

/// A bar over the epochs on stderr, or a hidden one when `wanted` is false
/// or stderr is not a terminal (a pipe, a file, a test harness).
fn progress_bar(wanted: bool, epochs: usize) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(epochs as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} epochs {elapsed} {msg}")
    {
        bar.set_style(style);
    }
    bar
}

/// Scores `model` on `data` without changing it: the mean loss and, when
/// the loss has one, the mean accuracy.
///
/// # Errors
///
/// [`TrainError::EmptyDataset`] when `data` is empty and
/// [`TrainError::InvalidTarget`] for a target the loss cannot handle.
pub fn evaluate<M, L>(
    model: &M,
    loss: &L,
    data: &[(M::Input, L::Target)],
) -> Result<Evaluation, TrainError>
where
    M: Model,
    L: Loss<M::Real, M::Output>,
{
    if data.is_empty() {
        return Err(TrainError::EmptyDataset);
    }
    let mut total_loss = 0.0;
    let mut total_accuracy = Some(0.0);
    for (sample, (input, target)) in data.iter().enumerate() {
        if let Err(error) = loss.check_target(target) {
            return Err(TrainError::InvalidTarget { sample, error });
        }
        let output = model.forward(input);
        total_loss += loss.loss(&output, target).to_f64_lossy();
        total_accuracy = match (total_accuracy, loss.accuracy(&output, target)) {
            (Some(sum), Some(a)) => Some(sum + a.to_f64_lossy()),
            _ => None,
        };
    }
    let n = data.len() as f64;
    Ok(Evaluation {
        loss: total_loss / n,
        accuracy: total_accuracy.map(|a| a / n),
    })
}

/// A model's score on a dataset, from [`evaluate`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// The mean loss per sample.
    pub loss: f64,
    /// The mean accuracy per sample, when the loss defines one.
    pub accuracy: Option<f64>,
}

/// What happened in one epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// The epoch's number, starting at 1.
    pub epoch: usize,
    /// The mean loss per sample, each taken just before its batch's step.
    pub loss: f64,
    /// The mean accuracy per sample, when the loss defines one.
    pub accuracy: Option<f64>,
    /// The learning rate of the epoch's first step.
    pub learning_rate: f64,
}

impl EpochStats {
    fn summary(&self) -> String {
        match self.accuracy {
            Some(a) => format!("loss {:.4}, accuracy {:.3}", self.loss, a),
            None => format!("loss {:.4}", self.loss),
        }
    }
}

/// Per-epoch statistics of a [`Trainer::fit`] run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One entry per completed epoch, in order.
    pub epochs: Vec<EpochStats>,
}

impl History {
    /// The mean loss of each epoch.
    pub fn losses(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.loss).collect()
    }

    /// The mean accuracy of each epoch, or `None` when the loss has no
    /// accuracy.
    pub fn accuracies(&self) -> Option<Vec<f64>> {
        self.epochs.iter().map(|e| e.accuracy).collect()
    }

    /// The last epoch's statistics, `None` after zero epochs.
    pub fn last(&self) -> Option<&EpochStats> {
        self.epochs.last()
    }
}

/// What went non-finite when training diverged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Divergence {
    /// The loss of one sample was NaN or infinite.
    Loss {
        /// The sample's index in the dataset.
        sample: usize,
        /// The loss found.
        value: f64,
    },
    /// An optimizer step left a parameter NaN or infinite.
    Parameter {
        /// The parameter's flat index (see [`Parameters`]).
        index: usize,
    },
}

/// Why [`Trainer::fit`] or [`evaluate`] failed.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainError {
    /// The dataset holds no sample.
    EmptyDataset,
    /// The batch size was set to zero.
    ZeroBatchSize,
    /// A target the loss cannot handle, e.g. a class index beyond the
    /// model's outputs.
    InvalidTarget {
        /// The sample's index in the dataset.
        sample: usize,
        /// What is wrong with it.
        error: TargetError,
    },
    /// A loss or parameter became NaN or infinite. The parameters and the
    /// optimizer's state were restored to the start of `epoch`.
    Diverged {
        /// The failing epoch, starting at 1.
        epoch: usize,
        /// The failing mini-batch within the epoch, starting at 0.
        batch: usize,
        /// What went non-finite.
        cause: Divergence,
    },
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::EmptyDataset => write!(f, "cannot train on an empty dataset"),
            TrainError::ZeroBatchSize => {
                write!(f, "the batch size is 0; it must be at least 1")
            }
            TrainError::InvalidTarget { sample, error } => {
                write!(f, "invalid target in sample {sample}: {error}")
            }
            TrainError::Diverged {
                epoch,
                batch,
                cause,
            } => {
                write!(f, "training diverged in epoch {epoch}, batch {batch}: ")?;
                match cause {
                    Divergence::Loss { sample, value } => {
                        write!(f, "the loss of sample {sample} is {value}")?;
                    }
                    Divergence::Parameter { index } => {
                        write!(f, "parameter {index} became NaN or infinite")?;
                    }
                }
                write!(
                    f,
                    "; the parameters were restored to their values at the start of \
                     epoch {epoch} (try a smaller learning rate)"
                )
            }
        }
    }
}

impl std::error::Error for TrainError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TrainError::InvalidTarget { error, .. } => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::{BinaryCrossEntropy, MeanSquaredError, Output, SoftmaxCrossEntropy};
    use crate::optim::{Adagrad, Adam, RmsProp, Sgd};
    use crate::testing::{Dense, DenseParams, Linear, Logistic};

    /// Twelve samples of `y = 2 x0 - x1 + 0.5`.
    fn line() -> Vec<([f64; 2], f64)> {
        (0..12)
            .map(|i| {
                let x = [i as f64 / 6.0 - 1.0, ((i * 7) % 12) as f64 / 6.0 - 1.0];
                (x, 2.0 * x[0] - x[1] + 0.5)
            })
            .collect()
    }

    fn fit_line<O: Optimizer<f64> + Clone>(optimizer: O, epochs: usize) -> (Linear, History) {
        let mut model = Linear::new([0.0, 0.0], 0.0);
        let mut trainer = Trainer::new(optimizer, MeanSquaredError)
            .epochs(epochs)
            .batch_size(4)
            .seed(3)
            .progress(false);
        let history = trainer.fit(&mut model, &line()).expect("training succeeds");
        (model, history)
    }

    fn assert_reduces(history: &History, factor: f64) {
        let losses = history.losses();
        let (first, last) = (losses[0], losses[losses.len() - 1]);
        assert!(
            last < first * factor,
            "loss went from {first} to {last}, wanted below {}",
            first * factor
        );
    }

    #[test]
    fn every_optimizer_reduces_the_loss() {
        assert_reduces(&fit_line(Sgd::new(0.1), 100).1, 0.01);
        assert_reduces(&fit_line(Sgd::new(0.1).with_momentum(0.5), 100).1, 0.01);
        assert_reduces(&fit_line(Sgd::new(0.1).with_decay(0.01), 100).1, 0.01);
        assert_reduces(&fit_line(Adagrad::new(0.5), 100).1, 0.01);
        assert_reduces(&fit_line(RmsProp::new(0.02), 100).1, 0.01);
        assert_reduces(&fit_line(Adam::new(0.05), 100).1, 0.01);
    }

    #[test]
    fn sgd_recovers_the_line() {
        let (model, history) = fit_line(Sgd::new(0.1).with_momentum(0.9), 300);
        let p = model.params;
        assert!((p.w[0] - 2.0).abs() < 1e-6, "{p:?}");
        assert!((p.w[1] + 1.0).abs() < 1e-6, "{p:?}");
        assert!((p.b - 0.5).abs() < 1e-6, "{p:?}");
        assert_eq!(history.epochs.len(), 300);
        assert_eq!(history.accuracies(), None);
    }

    #[test]
    fn one_full_batch_step_is_the_mean_gradient() {
        // Two samples, w = 0, b = 0, so both outputs are 0.
        // MSE gradient per sample is 2 (y - t): -2 * 1 = -2 and -2 * 3 = -6.
        // Averaged: d/dw0 = (-2 * 1 + -6 * 0) / 2 = -1, d/dw1 = (0 + -6 * 2) / 2 = -6,
        //           d/db = (-2 + -6) / 2 = -4. One step with lr 0.5 gives
        //           w = [0.5, 3], b = 2.
        let data = [([1.0, 0.0], 1.0), ([0.0, 2.0], 3.0)];
        let mut model = Linear::new([0.0, 0.0], 0.0);
        let mut trainer = Trainer::new(Sgd::new(0.5), MeanSquaredError).progress(false);
        let history = trainer.fit(&mut model, &data).unwrap();
        assert_eq!(model.params.w, [0.5, 3.0]);
        assert_eq!(model.params.b, 2.0);
        // Loss before the step: (1 + 9) / 2.
        assert_eq!(history.losses(), vec![5.0]);
        assert_eq!(history.last().unwrap().learning_rate, 0.5);
    }

    #[test]
    fn output_loss_follows_the_design_notes_step() {
        // Minimising y = w·x + b with x = [1, -2] and lr 0.001 moves
        // w by -0.001 * x and b by -0.001.
        let mut model = Linear::new([-3.0, -1.0], 1.0);
        let mut trainer = Trainer::new(Sgd::new(0.001), Output).progress(false);
        trainer.fit(&mut model, &[([1.0, -2.0], ())]).unwrap();
        assert_eq!(model.params.w, [-3.0 - 0.001, -1.0 + 0.001 * 2.0]);
        assert_eq!(model.params.b, 1.0 - 0.001);
    }

    #[test]
    fn same_seed_gives_bit_identical_params() {
        let run = |seed| {
            let mut model = Linear::new([0.1, -0.2], 0.0);
            let mut trainer = Trainer::new(Adam::new(0.01), MeanSquaredError)
                .epochs(7)
                .batch_size(3)
                .seed(seed)
                .progress(false);
            trainer.fit(&mut model, &line()).unwrap();
            model.params
        };
        let bits = |p: &crate::testing::LinearParams| {
            p.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(bits(&run(42)), bits(&run(42)));
        assert_ne!(bits(&run(42)), bits(&run(43)));
    }

    #[test]
    fn logistic_regression_reaches_full_accuracy() {
        let data: Vec<([f64; 2], f64)> = (0..20)
            .map(|i| {
                let x = [i as f64 / 10.0 - 1.0, 0.3];
                (x, if x[0] > 0.05 { 1.0 } else { 0.0 })
            })
            .collect();
        let mut model = Logistic {
            params: crate::testing::LinearParams::zeros(),
        };
        let mut trainer = Trainer::new(Adam::new(0.1), BinaryCrossEntropy)
            .epochs(300)
            .batch_size(5)
            .progress(false);
        let history = trainer.fit(&mut model, &data).unwrap();
        let accuracies = history.accuracies().unwrap();
        assert_eq!(accuracies.last(), Some(&1.0));
        assert_reduces(&history, 0.5);
        let eval = evaluate(&model, &BinaryCrossEntropy, &data).unwrap();
        assert_eq!(eval.accuracy, Some(1.0));
    }

    #[test]
    fn softmax_classifier_learns_separable_classes() {
        let data: Vec<([f64; 2], usize)> = (0..30)
            .map(|i| {
                let class = i % 3;
                ([class as f64 + 0.01 * (i as f64), 0.5], class)
            })
            .collect();
        let mut model = Dense {
            params: DenseParams::zeros(),
        };
        let mut trainer = Trainer::new(Adam::new(0.05), SoftmaxCrossEntropy)
            .epochs(400)
            .batch_size(10)
            .progress(false);
        let history = trainer.fit(&mut model, &data).unwrap();
        assert_reduces(&history, 0.5);
        assert!(history.last().unwrap().accuracy.unwrap() > 0.9);
    }

    #[test]
    fn vertical_data_trains_saves_and_reloads() {
        let data = crate::data::vertical(50, 3, 0);
        let mut model = Dense {
            params: DenseParams::zeros(),
        };
        let mut trainer = Trainer::new(Adam::new(0.05), SoftmaxCrossEntropy)
            .epochs(200)
            .batch_size(16)
            .seed(0)
            .progress(false);
        let history = trainer.fit(&mut model, &data).unwrap();
        assert_reduces(&history, 0.5);
        let trained = evaluate(&model, &SoftmaxCrossEntropy, &data).unwrap();
        assert!(trained.accuracy.unwrap() > 0.9, "{trained:?}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dense.json");
        crate::params_io::save_params(&path, &model.params).unwrap();
        let reloaded = Dense {
            params: crate::params_io::load_params(&path).unwrap(),
        };
        assert_eq!(reloaded.params, model.params);
        assert_eq!(
            evaluate(&reloaded, &SoftmaxCrossEntropy, &data).unwrap(),
            trained
        );
    }

    #[test]
    fn empty_dataset_is_an_error() {
        let mut model = Linear::new([0.0, 0.0], 0.0);
        let mut trainer = Trainer::new(Sgd::new(0.1), MeanSquaredError);
        let err = trainer.fit(&mut model, &[]).unwrap_err();
        assert_eq!(err, TrainError::EmptyDataset);
        assert_eq!(err.to_string(), "cannot train on an empty dataset");
        assert_eq!(
            evaluate(&model, &MeanSquaredError, &[]),
            Err(TrainError::EmptyDataset)
        );
    }

    #[test]
    fn zero_batch_size_is_an_error() {
        let mut model = Linear::new([0.0, 0.0], 0.0);
        let mut trainer = Trainer::new(Sgd::new(0.1), MeanSquaredError).batch_size(0);
        let err = trainer.fit(&mut model, &line()).unwrap_err();
        assert_eq!(err, TrainError::ZeroBatchSize);
        assert_eq!(
            err.to_string(),
            "the batch size is 0; it must be at least 1"
        );
    }

    #[test]
    fn invalid_class_is_an_error_before_training() {
        let mut model = Dense {
            params: DenseParams::zeros(),
        };
        let data = [([0.0, 0.0], 1), ([1.0, 0.0], 5)];
        let mut trainer = Trainer::new(Sgd::new(0.1), SoftmaxCrossEntropy).progress(false);
        let err = trainer.fit(&mut model, &data).unwrap_err();
        assert_eq!(
            err,
            TrainError::InvalidTarget {
                sample: 1,
                error: TargetError::ClassOutOfRange {
                    class: 5,
                    classes: 3
                }
            }
        );
        assert_eq!(
            err.to_string(),
            "invalid target in sample 1: class 5 is out of range: the model outputs 3 classes (0..3)"
        );
        assert!(std::error::Error::source(&err).is_some());
        assert_eq!(model.params, DenseParams::zeros());
    }

    #[test]
    fn divergence_is_an_error_and_restores_the_epoch_start() {
        let trainer = || {
            Trainer::new(Sgd::new(10.0), MeanSquaredError)
                .epochs(1000)
                .batch_size(4)
                .seed(1)
                .progress(false)
        };
        let mut model = Linear::new([0.0, 0.0], 0.0);
        let err = trainer().fit(&mut model, &line()).unwrap_err();
        let TrainError::Diverged { epoch, .. } = err else {
            panic!("expected divergence, got {err:?}");
        };
        assert!(epoch > 1, "diverged in epoch {epoch}");
        assert!(model.params.to_vec().iter().all(|v| v.is_finite()));
        // Training is deterministic, so the restored parameters are those
        // after `epoch - 1` complete epochs.
        let mut reference = Linear::new([0.0, 0.0], 0.0);
        trainer()
            .epochs(epoch - 1)
            .fit(&mut reference, &line())
            .unwrap();
        assert_eq!(model.params, reference.params);
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("training diverged in epoch {epoch}, batch ")),
            "{message}"
        );
        assert!(message.contains("try a smaller learning rate"), "{message}");
    }

    #[test]
    fn nan_loss_in_the_first_epoch_leaves_params_untouched() {
        let mut model = Linear::new([1.0, 2.0], 3.0);
        let data = [([1.0, 1.0], 0.0), ([f64::NAN, 0.0], 0.0)];
        let mut trainer = Trainer::new(Sgd::new(0.1), MeanSquaredError)
            .batch_size(1)
            .shuffle(false)
            .progress(false);
        let err = trainer.fit(&mut model, &data).unwrap_err();
        assert!(
            matches!(
                err,
                TrainError::Diverged {
                    epoch: 1,
                    batch: 1,
                    cause: Divergence::Loss { sample: 1, .. }
                }
            ),
            "{err:?}"
        );
        assert_eq!(model.params.w, [1.0, 2.0]);
        assert_eq!(model.params.b, 3.0);
        assert_eq!(trainer.optimizer().iterations(), 0);
    }

    #[test]
    fn zero_epochs_is_an_empty_history() {
        let mut model = Linear::new([0.0, 0.0], 0.0);
        let mut trainer = Trainer::new(Sgd::new(0.1), MeanSquaredError).epochs(0);
        assert_eq!(
            trainer.fit(&mut model, &line()).unwrap(),
            History::default()
        );
    }
}
