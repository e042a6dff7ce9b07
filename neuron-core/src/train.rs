//! The training loop: epochs of seeded, shuffled mini-batches, each one a
//! gradient accumulated sample by sample through [`Model::backward`] and
//! applied by an [`Optimizer`].
//!
//! ```text
//! check the optimizer's hyperparameters, the parameters' layout,
//!       every input (finite) and every target (one the loss accepts)
//! for each epoch:
//!     shuffle the sample order (ChaCha8, seeded)
//!     for each mini-batch:
//!         grads = 0
//!         for each (input, target):
//!             output = model.forward(input)
//!             model.backward(input, loss.grad(output, target) / batch_len, &mut grads)
//!         keep the parameters and optimizer state: their losses were finite
//!         optimizer.step(params, grads)
//! ```
//!
//! An output, loss, parameter or optimizer state (momentum, cache) that
//! turns NaN or infinite stops training with [`TrainError::Diverged`]; the
//! parameters and the optimizer's state are then restored to the last ones
//! whose loss was finite (those the failing batch, or the batch before it,
//! started from), so the model is never left holding NaN or a state that
//! can no longer move, and the error carries the [`History`] of the epochs
//! that completed.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::loss::{Loss, TargetError};
use crate::model::{LayoutError, Model, Parameters, check_layout};
use crate::optim::{HyperparameterError, Optimizer};
use crate::params_io::parameter_name;
use crate::real::{Real, Scalars, Tensor};
use num_traits::{Float, One};

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
    /// terminal, whatever this says. When training ends the bar is
    /// replaced by one line saying how it went, so that what is printed
    /// next starts on a line of its own.
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
    /// Before anything changes: [`TrainError::EmptyDataset`],
    /// [`TrainError::ZeroBatchSize`],
    /// [`TrainError::InvalidHyperparameter`], [`TrainError::Layout`],
    /// [`TrainError::NonFiniteInput`] and [`TrainError::InvalidTarget`].
    /// [`TrainError::Diverged`] when an output, loss, parameter or
    /// optimizer state becomes NaN or infinite, after restoring the
    /// parameters and the optimizer to the last ones whose loss was
    /// finite.
    pub fn fit<M>(
        &mut self,
        model: &mut M,
        data: &[(M::Input, L::Target)],
    ) -> Result<History, TrainError>
    where
        M: Model,
        M::Input: Scalars<M::Real>,
        O: Optimizer<M::Real> + Clone,
        L: Loss<M::Real, M::Output>,
    {
        let (wanted, epochs) = (self.progress, self.epochs);
        self.fit_with(model, data, || Progress::new(wanted, epochs))
    }

    /// [`Trainer::fit`], showing progress on what `progress` makes once
    /// the checks have passed.
    fn fit_with<M>(
        &mut self,
        model: &mut M,
        data: &[(M::Input, L::Target)],
        progress: impl FnOnce() -> Progress,
    ) -> Result<History, TrainError>
    where
        M: Model,
        M::Input: Scalars<M::Real>,
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
        self.optimizer.validate()?;
        let mut grads = M::Params::zeros();
        check_layout(model.params_mut(), &grads)?;
        check_samples(&self.loss, data)?;

        let progress = progress();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut history = History::default();
        let mut last_good = LastGood::new(model.params(), &self.optimizer);

        for epoch in 1..=self.epochs {
            if self.shuffle {
                order.shuffle(&mut rng);
            }
            let learning_rate = self.optimizer.current_learning_rate().to_f64_lossy();
            let result = self.epoch(model, data, &order, batch_size, &mut grads, &mut last_good);
            match result {
                Ok((loss, accuracy)) => {
                    let stats = EpochStats {
                        epoch,
                        loss,
                        accuracy,
                        learning_rate,
                    };
                    progress.epoch_done(&stats);
                    history.epochs.push(stats);
                }
                Err((batch, cause)) => {
                    last_good.restore(model.params_mut(), &mut self.optimizer);
                    progress.close(&format!(
                        "training diverged in epoch {epoch} of {}",
                        self.epochs
                    ));
                    return Err(TrainError::Diverged {
                        epoch,
                        batch,
                        cause,
                        history,
                    });
                }
            }
        }
        let summary = history
            .last()
            .map_or_else(String::new, |last| format!(": {}", last.summary()));
        progress.close(&format!(
            "{} epochs in {:.1?}{summary}",
            self.epochs,
            progress.started.elapsed()
        ));
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
        last_good: &mut LastGood<M::Real, O>,
    ) -> Result<(f64, Option<f64>), (usize, Divergence)>
    where
        M: Model,
        O: Optimizer<M::Real> + Clone,
        L: Loss<M::Real, M::Output>,
    {
        let mut loss_mean = Mean::new(data.len());
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
                if let Some((index, value)) = first_non_finite(output.as_slice()) {
                    return Err((
                        batch,
                        Divergence::Output {
                            sample,
                            index,
                            value,
                        },
                    ));
                }
                if !loss.is_finite() {
                    let value = loss.to_f64_lossy();
                    return Err((batch, Divergence::Loss { sample, value }));
                }
                loss_mean.add(loss.to_f64_lossy());
                total_accuracy = match (total_accuracy, self.loss.accuracy(&output, target)) {
                    (Some(sum), Some(a)) => Some(sum + a.to_f64_lossy()),
                    _ => None,
                };
            }
            // Every loss of this batch was finite at these parameters.
            last_good.keep(model.params(), &self.optimizer);
            self.optimizer.step(model.params_mut(), grads);
            let fields = <M::Params as Parameters<M::Real>>::FIELDS;
            if let Some(index) = first_non_finite_param(model.params()) {
                let parameter = parameter_name(fields, index);
                return Err((batch, Divergence::Parameter { index, parameter }));
            }
            if let Some((state, index)) = self.optimizer.first_non_finite_state() {
                let parameter = parameter_name(fields, index);
                let cause = Divergence::OptimizerState {
                    state,
                    index,
                    parameter,
                };
                return Err((batch, cause));
            }
        }
        let n = data.len() as f64;
        Ok((loss_mean.get(), total_accuracy.map(|a| a / n)))
    }
}

/// The last parameters (flat) and optimizer state whose loss was finite:
/// what a divergence goes back to. Kept before every step, reusing its
/// buffers, so that keeping costs a copy and no allocation.
struct LastGood<T, O> {
    params: Vec<T>,
    optimizer: O,
}

impl<T: Real, O: Optimizer<T> + Clone> LastGood<T, O> {
    fn new<P: Parameters<T>>(params: &P, optimizer: &O) -> Self {
        LastGood {
            params: params.to_vec(),
            optimizer: optimizer.clone(),
        }
    }

    fn keep<P: Parameters<T>>(&mut self, params: &P, optimizer: &O) {
        // `params` visits `0..LEN` in order (checked before training), the
        // length `new` gave the buffer.
        params.for_each(|k, v| {
            if let Some(kept) = self.params.get_mut(k) {
                *kept = v;
            }
        });
        self.optimizer.clone_from(optimizer);
    }

    fn restore<P: Parameters<T>>(&self, params: &mut P, optimizer: &mut O) {
        params.for_each_mut(|k, v| {
            if let Some(&kept) = self.params.get(k) {
                *v = kept;
            }
        });
        optimizer.clone_from(&self.optimizer);
    }
}

/// The mean of `n` finite values: their sum over `n`, or, when the sum
/// overflows although every value is finite, the sum of each times `1/n`.
struct Mean {
    n: f64,
    recip: f64,
    sum: f64,
    scaled_sum: f64,
}

impl Mean {
    fn new(n: usize) -> Self {
        Mean {
            n: n as f64,
            recip: (n as f64).recip(),
            sum: 0.0,
            scaled_sum: 0.0,
        }
    }

    fn add(&mut self, value: f64) {
        self.sum += value;
        self.scaled_sum += value * self.recip;
    }

    fn get(&self) -> f64 {
        if self.sum.is_finite() {
            self.sum / self.n
        } else {
            self.scaled_sum
        }
    }
}

/// The position and value of the first element that is NaN or infinite.
fn first_non_finite<T: Real>(values: &[T]) -> Option<(usize, f64)> {
    let index = values.iter().position(|v| !v.is_finite())?;
    Some((index, values[index].to_f64_lossy()))
}

/// The flat index of the first parameter that is NaN or infinite.
fn first_non_finite_param<T: Real, P: Parameters<T>>(params: &P) -> Option<usize> {
    let mut found = None;
    params.for_each(|k, v| {
        if found.is_none() && !v.is_finite() {
            found = Some(k);
        }
    });
    found
}

/// Checks every sample before anything runs: finite inputs, and targets
/// the loss accepts.
fn check_samples<T, I, O, L>(loss: &L, data: &[(I, L::Target)]) -> Result<(), TrainError>
where
    T: Real,
    I: Scalars<T>,
    O: Tensor<T>,
    L: Loss<T, O>,
{
    for (sample, (input, target)) in data.iter().enumerate() {
        let mut finite = true;
        input.each_scalar(&mut |v| finite &= v.is_finite());
        if !finite {
            let mut values = Vec::new();
            input.each_scalar(&mut |v| values.push(v));
            if let Some((index, value)) = first_non_finite(&values) {
                return Err(TrainError::NonFiniteInput {
                    sample,
                    index,
                    value,
                });
            }
        }
        if let Err(error) = loss.check_target(target) {
            return Err(TrainError::InvalidTarget { sample, error });
        }
    }
    Ok(())
}

/// A bar over the epochs, drawn on a terminal, which gives way to one
/// closing line when training ends.
struct Progress {
    bar: ProgressBar,
    /// Where the bar is drawn; `None` when it is hidden.
    term: Option<Box<dyn TermLike>>,
    started: Instant,
}

impl Progress {
    /// A bar on stderr, or a hidden one when `wanted` is false or stderr
    /// is not a terminal (a pipe, a file, a test harness).
    fn new(wanted: bool, epochs: usize) -> Self {
        if wanted && std::io::stderr().is_terminal() {
            Progress::on(console::Term::stderr(), epochs)
        } else {
            Progress {
                bar: ProgressBar::hidden(),
                term: None,
                started: Instant::now(),
            }
        }
    }

    /// A bar drawn on `term`.
    fn on<T: TermLike + Clone + 'static>(term: T, epochs: usize) -> Self {
        let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
        let bar = ProgressBar::with_draw_target(Some(epochs as u64), target);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} epochs {elapsed} {msg}")
        {
            bar.set_style(style);
        }
        Progress {
            bar,
            term: Some(Box::new(term)),
            started: Instant::now(),
        }
    }

    fn epoch_done(&self, stats: &EpochStats) {
        self.bar.set_message(stats.summary());
        self.bar.inc(1);
    }

    /// Clears the bar and writes `line` in its place, ending with a line
    /// break: the bar pads its line to the terminal's width, which leaves
    /// the cursor at the right edge, where terminals disagree about what
    /// the next character does.
    fn close(&self, line: &str) {
        self.bar.finish_and_clear();
        if let Some(term) = &self.term {
            // A progress line that cannot be written is no reason to fail
            // training.
            let _ = term.write_line(line);
            let _ = term.flush();
        }
    }
}

/// Scores `model` on `data` without changing it: the mean loss and, when
/// the loss has one, the mean accuracy.
///
/// # Errors
///
/// [`TrainError::EmptyDataset`] when `data` is empty,
/// [`TrainError::NonFiniteInput`] and [`TrainError::InvalidTarget`] for a
/// sample the loss cannot score (checked for every sample first), and
/// [`TrainError::NonFiniteOutput`] when the model's output is NaN or
/// infinite.
pub fn evaluate<M, L>(
    model: &M,
    loss: &L,
    data: &[(M::Input, L::Target)],
) -> Result<Evaluation, TrainError>
where
    M: Model,
    M::Input: Scalars<M::Real>,
    L: Loss<M::Real, M::Output>,
{
    if data.is_empty() {
        return Err(TrainError::EmptyDataset);
    }
    check_samples(loss, data)?;
    let mut loss_mean = Mean::new(data.len());
    let mut total_accuracy = Some(0.0);
    for (sample, (input, target)) in data.iter().enumerate() {
        let output = model.forward(input);
        if let Some((index, value)) = first_non_finite(output.as_slice()) {
            return Err(TrainError::NonFiniteOutput {
                sample,
                index,
                value,
            });
        }
        loss_mean.add(loss.loss(&output, target).to_f64_lossy());
        total_accuracy = match (total_accuracy, loss.accuracy(&output, target)) {
            (Some(sum), Some(a)) => Some(sum + a.to_f64_lossy()),
            _ => None,
        };
    }
    let n = data.len() as f64;
    Ok(Evaluation {
        loss: loss_mean.get(),
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
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Divergence {
    /// The model's output for one sample was NaN or infinite.
    #[error("output value {index} of sample {sample} is {value}")]
    Output {
        /// The sample's index in the dataset.
        sample: usize,
        /// The position in the flattened output.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// The loss of one sample was NaN or infinite.
    #[error("the loss of sample {sample} is {value}")]
    Loss {
        /// The sample's index in the dataset.
        sample: usize,
        /// The loss found.
        value: f64,
    },
    /// An optimizer step left a parameter NaN or infinite.
    #[error("parameter {parameter} became NaN or infinite")]
    Parameter {
        /// The parameter's flat index (see [`Parameters`]).
        index: usize,
        /// The parameter element, e.g. `w1[3][0]`.
        parameter: String,
    },
    /// An optimizer step left a value of the optimizer's state NaN or
    /// infinite, e.g. a squared-gradient cache that overflowed, after
    /// which the parameter it belongs to could never move again.
    #[error("the optimizer's {state} for {parameter} became NaN or infinite")]
    OptimizerState {
        /// The state, e.g. `"cache"` or `"momentum"`.
        state: &'static str,
        /// The flat index of the parameter it belongs to.
        index: usize,
        /// That parameter element, e.g. `w1[3][0]`.
        parameter: String,
    },
}

/// Why [`Trainer::fit`] or [`evaluate`] failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TrainError {
    /// The dataset holds no sample.
    #[error("cannot train on an empty dataset")]
    EmptyDataset,
    /// The batch size was set to zero.
    #[error("the batch size is 0; it must be at least 1")]
    ZeroBatchSize,
    /// An optimizer hyperparameter outside its valid range.
    #[error("invalid hyperparameter: {0}")]
    InvalidHyperparameter(#[from] HyperparameterError),
    /// A hand-written [`Parameters`] implementation contradicts itself.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// An input value that is NaN or infinite.
    #[error("input value {index} of sample {sample} is {value}")]
    NonFiniteInput {
        /// The sample's index in the dataset.
        sample: usize,
        /// The value's position among the input's scalars (arguments in
        /// order, each flattened).
        index: usize,
        /// The value found.
        value: f64,
    },
    /// A target the loss cannot handle, e.g. a class index beyond the
    /// model's outputs.
    #[error("invalid target in sample {sample}: {error}")]
    InvalidTarget {
        /// The sample's index in the dataset.
        sample: usize,
        /// What is wrong with it.
        #[source]
        error: TargetError,
    },
    /// [`evaluate`] found an output value that is NaN or infinite.
    #[error("output value {index} of sample {sample} is {value}")]
    NonFiniteOutput {
        /// The sample's index in the dataset.
        sample: usize,
        /// The position in the flattened output.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// An output, loss, parameter or optimizer state became NaN or
    /// infinite. The parameters and the optimizer's state were restored to
    /// the last ones whose loss was finite: those the failing batch
    /// started from when a step failed, those the batch before it started
    /// from when a loss or output failed (or those training started from,
    /// in the first batch).
    #[error(
        "training diverged in epoch {epoch}, batch {batch}: {cause}; the parameters and the \
         optimizer's state are back to the last ones whose loss was finite (try a smaller \
         learning rate)"
    )]
    Diverged {
        /// The failing epoch, starting at 1.
        epoch: usize,
        /// The failing mini-batch within the epoch, starting at 0.
        batch: usize,
        /// What went non-finite.
        cause: Divergence,
        /// The epochs that completed before it.
        history: History,
    },
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
    fn a_loss_that_overflows_restores_the_parameters_before_the_last_step() {
        // Full batches: one step per epoch. The loss turns infinite at the
        // start of epoch `e`, at the parameters the step of epoch `e - 1`
        // made; the last parameters whose loss was finite are those epoch
        // `e - 1` started from, after `e - 2` epochs.
        let trainer = || {
            Trainer::new(Sgd::new(2.0), MeanSquaredError)
                .epochs(1000)
                .seed(1)
                .progress(false)
        };
        let mut model = Linear::new([0.0, 0.0], 0.0);
        let mut diverging = trainer();
        let err = diverging.fit(&mut model, &line()).unwrap_err();
        let TrainError::Diverged {
            epoch,
            batch: 0,
            cause: Divergence::Loss { .. },
            history,
        } = &err
        else {
            panic!("expected the loss to diverge, got {err:?}");
        };
        let epoch = *epoch;
        assert!(epoch > 3, "diverged in epoch {epoch}");
        let mut reference = Linear::new([0.0, 0.0], 0.0);
        let mut before = trainer().epochs(epoch - 2);
        before.fit(&mut reference, &line()).unwrap();
        assert_eq!(model.params, reference.params);
        assert_eq!(diverging.optimizer(), before.optimizer());
        let score = evaluate(&model, &MeanSquaredError, &line()).unwrap();
        assert!(score.loss.is_finite(), "{score:?}");
        // The error holds the history of the epochs that completed.
        let completed = trainer()
            .epochs(epoch - 1)
            .fit(&mut Linear::new([0.0, 0.0], 0.0), &line())
            .unwrap();
        assert_eq!(*history, completed);
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("training diverged in epoch {epoch}, batch 0: ")),
            "{message}"
        );
        assert!(message.contains("try a smaller learning rate"), "{message}");
    }

    /// Sample 0 trains `w[1]` and `b` normally; sample 1 has an outlier
    /// input whose squared gradient overflows while its loss is finite.
    fn outlier() -> [([f64; 2], f64); 2] {
        [([0.0, 1.0], 1.0), ([1e200, 0.0], 1.0)]
    }

    #[test]
    fn optimizer_state_that_overflows_is_divergence_restored_per_batch() {
        fn trainer<O>(opt: O) -> Trainer<O, MeanSquaredError> {
            Trainer::new(opt, MeanSquaredError)
                .batch_size(1)
                .shuffle(false)
                .progress(false)
        }
        for opt in [Adam::new(0.01), Adam::new(0.01).with_beta1(0.0)] {
            let mut model = Linear::new([0.0, 0.0], 0.0);
            let mut diverging = trainer(opt.clone()).epochs(3000);
            let err = diverging.fit(&mut model, &outlier()).unwrap_err();
            assert!(
                matches!(
                    &err,
                    TrainError::Diverged {
                        epoch: 1,
                        batch: 1,
                        cause: Divergence::OptimizerState { state: "cache", index: 0, parameter },
                        ..
                    } if parameter == "w[0]"
                ),
                "{err:?}"
            );
            assert_eq!(
                err.to_string(),
                "training diverged in epoch 1, batch 1: the optimizer's cache for w[0] \
                 became NaN or infinite; the parameters and the optimizer's state are back \
                 to the last ones whose loss was finite (try a smaller learning rate)"
            );
            // Restored to the start of batch 1: after the step of batch 0.
            let mut reference = Linear::new([0.0, 0.0], 0.0);
            let mut first = trainer(opt);
            first.fit(&mut reference, &outlier()[..1]).unwrap();
            assert_eq!(model.params, reference.params);
            assert_eq!(diverging.optimizer(), first.optimizer());
            assert_eq!(diverging.optimizer().first_non_finite_state(), None);
        }
        // RMSprop and Adagrad caches overflow the same way.
        let mut model = Linear::new([0.0, 0.0], 0.0);
        let err = trainer(RmsProp::new(0.01))
            .fit(&mut model, &outlier())
            .unwrap_err();
        assert!(
            matches!(
                err,
                TrainError::Diverged {
                    cause: Divergence::OptimizerState { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        let mut model = Linear::new([0.0, 0.0], 0.0);
        let err = trainer(Adagrad::new(0.01))
            .fit(&mut model, &outlier())
            .unwrap_err();
        assert!(
            matches!(
                err,
                TrainError::Diverged {
                    cause: Divergence::OptimizerState { .. },
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_parameter_that_overflows_names_it() {
        let mut model = Linear::new([1e150, 0.0], 0.0);
        let mut trainer = Trainer::new(Sgd::new(1e160), MeanSquaredError).progress(false);
        let err = trainer.fit(&mut model, &[([1.0, 0.0], 0.0)]).unwrap_err();
        assert!(
            matches!(
                &err,
                TrainError::Diverged { epoch: 1, batch: 0, cause: Divergence::Parameter { index: 0, parameter }, .. }
                    if parameter == "w[0]"
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains(": parameter w[0] became NaN or infinite; "),
            "{err}"
        );
        assert_eq!(model.params.w, [1e150, 0.0]);
    }

    #[test]
    fn a_non_finite_output_is_divergence_even_where_the_loss_is_finite() {
        // Binary cross-entropy clips an infinite "probability" to a finite
        // loss; the output itself is checked.
        let mut linear = Linear::new([1e200, 0.0], 3.0);
        let data = [([1.0, 1.0], 0.0), ([1e200, 0.0], 1.0)];
        let mut trainer = Trainer::new(Sgd::new(0.1), BinaryCrossEntropy)
            .batch_size(1)
            .shuffle(false)
            .progress(false);
        let err = trainer.fit(&mut linear, &data).unwrap_err();
        assert!(
            matches!(
                err,
                TrainError::Diverged {
                    epoch: 1,
                    batch: 1,
                    cause: Divergence::Output { sample: 1, index: 0, value },
                    ..
                } if value == f64::INFINITY
            ),
            "{err:?}"
        );
        assert_eq!(linear.params.w, [1e200, 0.0]);
        assert_eq!(linear.params.b, 3.0);
        // Restored to before the step of batch 0, the last whose loss was
        // finite.
        assert_eq!(trainer.optimizer().iterations(), 0);
    }

    #[test]
    fn non_finite_inputs_are_refused_up_front_naming_the_sample() {
        let mut data: Vec<([f64; 2], f64)> = (0..8).map(|i| ([i as f64, 1.0], 1.0)).collect();
        data[5].0[1] = f64::NAN;
        let mut model = Logistic {
            params: crate::testing::LinearParams {
                w: [1.0, 2.0],
                b: 3.0,
            },
        };
        let mut trainer = Trainer::new(Sgd::new(0.1), BinaryCrossEntropy).progress(false);
        let err = trainer.fit(&mut model, &data).unwrap_err();
        assert!(
            matches!(err, TrainError::NonFiniteInput { sample: 5, index: 1, value } if value.is_nan()),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "input value 1 of sample 5 is NaN");
        assert_eq!(model.params.w, [1.0, 2.0]);
        assert_eq!(trainer.optimizer().iterations(), 0);
        let err = evaluate(&model, &BinaryCrossEntropy, &data).unwrap_err();
        assert!(
            matches!(err, TrainError::NonFiniteInput { sample: 5, .. }),
            "{err:?}"
        );
        // Softmax classifiers, and infinities, alike.
        let dense = Dense {
            params: DenseParams::zeros(),
        };
        let classes = [([0.0, 0.0], 0), ([f64::NEG_INFINITY, 0.0], 1)];
        let err = evaluate(&dense, &SoftmaxCrossEntropy, &classes).unwrap_err();
        assert_eq!(err.to_string(), "input value 0 of sample 1 is -inf");
    }

    #[test]
    fn evaluate_refuses_non_finite_outputs() {
        // NaN parameters give NaN outputs, which binary cross-entropy's
        // clipping and the accuracy's comparison would otherwise hide.
        let model = Logistic {
            params: crate::testing::LinearParams {
                w: [f64::NAN, 0.0],
                b: 0.0,
            },
        };
        let data = [([1.0, 0.0], 0.0), ([0.0, 1.0], 0.0)];
        let err = evaluate(&model, &BinaryCrossEntropy, &data).unwrap_err();
        assert!(
            matches!(err, TrainError::NonFiniteOutput { sample: 0, index: 0, value } if value.is_nan()),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "output value 0 of sample 0 is NaN");
    }

    #[test]
    fn invalid_hyperparameters_are_refused_before_training() {
        let mut model = Linear::new([0.0, 0.0], 0.0);
        let err = Trainer::new(Sgd::new(-0.1), MeanSquaredError)
            .epochs(100)
            .fit(&mut model, &line())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid hyperparameter: Sgd: the learning rate is -0.1, but it must be a finite number >= 0"
        );
        assert!(matches!(err, TrainError::InvalidHyperparameter(_)));
        let err = Trainer::new(Adam::new(0.01).with_beta1(1.0), MeanSquaredError)
            .fit(&mut model, &line())
            .unwrap_err();
        assert!(
            matches!(err, TrainError::InvalidHyperparameter(ref e) if e.name == "beta1"),
            "{err:?}"
        );
        assert_eq!(model.params, Linear::new([0.0, 0.0], 0.0).params);
    }

    #[test]
    fn inconsistent_parameters_are_refused_before_training() {
        let mut model = crate::testing::MismatchedModel {
            params: crate::testing::Mismatched { v: [0.0; 3] },
        };
        let err = Trainer::new(Adam::new(0.01), MeanSquaredError)
            .fit(&mut model, &[(1.0, 2.0)])
            .unwrap_err();
        assert!(matches!(err, TrainError::Layout(_)), "{err:?}");
        assert_eq!(model.params.v, [0.0; 3]);
    }

    /// A terminal for the progress bar that keeps a transcript and the
    /// cursor's column; clones share them.
    #[derive(Clone, Debug, Default)]
    struct Screen(std::sync::Arc<std::sync::Mutex<(String, usize)>>);

    impl indicatif::TermLike for Screen {
        fn width(&self) -> u16 {
            60
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
            self.0.lock().unwrap().1 += n;
            Ok(())
        }
        fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
            let column = &mut self.0.lock().unwrap().1;
            *column = column.saturating_sub(n);
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(s)?;
            self.write_str("\n")
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            let (text, column) = &mut *self.0.lock().unwrap();
            text.push_str(s);
            for c in s.chars() {
                match c {
                    '\n' | '\r' => *column = 0,
                    _ => *column += 1,
                }
            }
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            self.write_str("\r")
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_progress_bar_leaves_the_cursor_at_the_start_of_a_fresh_line() {
        let screen = Screen::default();
        let mut model = Linear::new([0.0, 0.0], 0.0);
        let mut trainer = Trainer::new(Sgd::new(0.1), MeanSquaredError).epochs(5);
        let progress = || Progress::on(screen.clone(), 5);
        trainer.fit_with(&mut model, &line(), progress).unwrap();
        let (text, column) = &*screen.0.lock().unwrap();
        assert_eq!(*column, 0, "the cursor is left mid-line: {text:?}");
        let last = text
            .trim_end_matches('\n')
            .rsplit(['\n', '\r'])
            .next()
            .unwrap();
        assert!(last.starts_with("5 epochs in "), "{text:?}");
        assert!(last.contains(": loss "), "{text:?}");
        assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{text:?}");
        // A divergence closes the bar the same way.
        let screen = Screen::default();
        let mut model = Linear::new([0.0, 0.0], 0.0);
        let mut trainer = Trainer::new(Sgd::new(1e3), MeanSquaredError).epochs(500);
        let progress = || Progress::on(screen.clone(), 500);
        trainer.fit_with(&mut model, &line(), progress).unwrap_err();
        let (text, column) = &*screen.0.lock().unwrap();
        assert_eq!(*column, 0, "the cursor is left mid-line: {text:?}");
        assert!(text.contains("training diverged in epoch "), "{text:?}");
        // Training refused up front shows no bar at all.
        let screen = Screen::default();
        let mut trainer = Trainer::new(Sgd::new(-1.0), MeanSquaredError).epochs(5);
        let progress = || Progress::on(screen.clone(), 5);
        trainer.fit_with(&mut model, &line(), progress).unwrap_err();
        assert_eq!(screen.0.lock().unwrap().0, "");
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
