//! The training loop: epochs of seeded, shuffled mini-batches, each one a
//! gradient accumulated sample by sample through [`Model::backward`] and
//! applied by an [`Optimizer`], with validation, early stopping, a
//! per-epoch callback, gradient clipping and regularization.
//!
//! ```text
//! check the hyperparameters (optimizer, clipping, λs, early stopping),
//!       the parameters' layout, every input (finite) and every target
//!       (one the loss accepts), of the training and validation data
//! for each epoch:
//!     shuffle the sample order (ChaCha8, seeded once, going on across fits)
//!     for each mini-batch:
//!         grads = 0
//!         for each (input, target), in dropout's training mode:
//!             output = model.forward(input)
//!             model.backward(input, loss.grad(output, target) / batch_len, &mut grads)
//!         grads += the regularization gradient
//!         clip grads to the global norm
//!         keep the parameters and optimizer state: their losses were finite
//!         optimizer.step(params, grads)
//!     score the validation data (inference mode)
//!     early stopping: keep the best parameters; stop when patience runs out
//!     the callback: may read the model, change the optimizer, save, stop
//! give the model the best parameters (early stopping's restore_best)
//! ```
//!
//! An output, loss, parameter or optimizer state (momentum, cache) that
//! turns NaN or infinite stops training with [`TrainError::Diverged`]; the
//! parameters and the optimizer's state are then restored to the last ones
//! whose loss was finite (those the failing batch, or the batch before it,
//! started from), so the model is never left holding NaN or a state that
//! can no longer move, and the error carries the [`History`] of the epochs
//! that completed.
//!
//! Dropout (see [`crate::dropout`]) is in training mode for the forward
//! and backward pass of each training sample, with a key derived from the
//! seed, the epoch, the batch and the sample, and in inference mode for
//! everything else.
//!
//! How a mini-batch's gradient is computed is the trainer's [`Execution`]:
//! [`Serial`], sample by sample on the calling thread, or, with the
//! `parallel` feature, `Parallel` (`Trainer::parallel`, in
//! `train/parallel.rs`): blocks of samples on rayon's thread pool, added
//! by a fixed pairwise tree. Both train each sample through the same
//! code and check and count the samples in the same order.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::dropout;
use crate::loss::{Loss, TargetError};
use crate::model::{LayoutError, Model, Parameters, UnknownParameter, check_layout};
use crate::optim::{HyperparameterError, Optimizer, Range, check};
use crate::params_io::parameter_name;
use crate::real::{Real, Scalars, Tensor};
use crate::regularize::{Prepared, Regularizer};
use num_traits::One;

#[cfg(feature = "parallel")]
mod parallel;
#[cfg(feature = "parallel")]
pub use parallel::Parallel;

/// Trains a [`Model`] with an optimizer and a loss; built step by step:
///
/// ```
/// use neuron_core::{Adam, EarlyStopping, Regularizer, SoftmaxCrossEntropy, Trainer};
///
/// let trainer = Trainer::new(Adam::new(0.02), SoftmaxCrossEntropy)
///     .epochs(100)
///     .batch_size(32)
///     .seed(7)
///     .progress(false)
///     .early_stopping(EarlyStopping::new(10))
///     .regularizer(Regularizer::l2(1e-4))
///     .clip_grad_norm(5.0);
/// # let _: Trainer<Adam<f64>, _> = trainer;
/// ```
///
/// `X` is how each mini-batch's gradient is computed: [`Serial`] unless
/// `Trainer::parallel` (the `parallel` feature) made it `Parallel`.
#[derive(Clone, Debug)]
pub struct Trainer<O, L, X = Serial> {
    optimizer: O,
    loss: L,
    epochs: usize,
    batch_size: Option<usize>,
    seed: u64,
    shuffle: bool,
    progress: bool,
    early_stopping: Option<EarlyStopping>,
    clip_norm: Option<f64>,
    regularizer: Regularizer,
    /// Epochs completed by every `fit` so far.
    epochs_done: usize,
    /// The shuffling stream and the sample order it last made, from the
    /// first `fit` on.
    stream: Option<(ChaCha8Rng, Vec<usize>)>,
    execution: X,
}

/// What a per-epoch callback returns to [`Trainer::fit_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on with the next epoch.
    Continue,
    /// Stop after this epoch (early stopping's restoring still happens).
    Stop,
}

/// The error a per-epoch callback may return: any error, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<O, L> Trainer<O, L> {
    /// A trainer with one epoch, the whole dataset as one batch, seed 0,
    /// shuffling on, a progress bar when stderr is a terminal, and no
    /// early stopping, clipping or regularization.
    pub fn new(optimizer: O, loss: L) -> Self {
        Trainer {
            optimizer,
            loss,
            epochs: 1,
            batch_size: None,
            seed: 0,
            shuffle: true,
            progress: true,
            early_stopping: None,
            clip_norm: None,
            regularizer: Regularizer::new(),
            epochs_done: 0,
            stream: None,
            execution: Serial,
        }
    }
}

impl<O, L, X> Trainer<O, L, X> {
    /// How many passes over the dataset each [`Trainer::fit`] makes (at
    /// most, with early stopping).
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

    /// The seed of the shuffling and of dropout's masks: the same seed,
    /// data and starting parameters give bit-identical trained
    /// parameters. Setting it starts the shuffling stream afresh.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self.stream = None;
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

    /// Stops training when a monitored value (by default the validation
    /// loss) has not improved for `patience` epochs, and gives the model
    /// the best parameters seen; see [`EarlyStopping`].
    pub fn early_stopping(mut self, early_stopping: EarlyStopping) -> Self {
        self.early_stopping = Some(early_stopping);
        self
    }

    /// Scales each mini-batch's gradient (regularization included) down
    /// to the Euclidean norm `max_norm` over all parameters when it is
    /// longer, keeping its direction. `max_norm` must be a finite number
    /// `> 0`.
    pub fn clip_grad_norm(mut self, max_norm: f64) -> Self {
        self.clip_norm = Some(max_norm);
        self
    }

    /// L1 and L2 regularization of the weights and biases; see
    /// [`Regularizer`].
    pub fn regularizer(mut self, regularizer: Regularizer) -> Self {
        self.regularizer = regularizer;
        self
    }

    /// Computes each mini-batch's gradient on rayon's current thread pool
    /// (the `parallel` feature), with a result that does not depend on
    /// the number of threads.
    ///
    /// The batch is split, in order, into blocks of `block` samples (the
    /// last may be shorter). Each block adds its samples' gradients, in
    /// order, into a zeroed gradient of its own, as serial training adds
    /// a whole batch's; the blocks run side by side, and their gradients
    /// are added by a fixed pairwise tree, `((g0 + g1) + (g2 + g3)) + g4`
    /// for five blocks, whose shape depends on the number of blocks only.
    /// The losses, accuracies and non-finite checks are then taken sample
    /// by sample in the batch's order, and every sample has the dropout
    /// key it has in serial training. So the trained parameters, the
    /// [`History`] and any [`TrainError::Diverged`] are bit-identical for
    /// any number of threads, and for any scheduling. They differ from
    /// serial training only by the rounding of adding the samples'
    /// gradients in another order: the parameters after the first step
    /// may differ in their last bits, and so what follows from them. A
    /// batch that fits in one block trains exactly as serially.
    ///
    /// The threads are rayon's: those of the pool `fit` runs in, or of
    /// the global pool (one per core unless `RAYON_NUM_THREADS` says
    /// otherwise). To choose their number:
    ///
    /// ```
    /// use neuron_core::prelude::*;
    ///
    /// #[neuron]
    /// pub fn line(x: [f64; 2], #[param] w: [f64; 2], #[param] b: f64) -> f64 {
    ///     dot(w, x) + b
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let data: Vec<([f64; 2], f64)> = (0..100)
    ///     .map(|i| ([i as f64 / 50.0 - 1.0, 0.5], 2.0 * (i as f64 / 50.0 - 1.0) + 1.0))
    ///     .collect();
    /// let train = |threads| -> Result<line::Params, Box<dyn std::error::Error>> {
    ///     let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    ///     let mut model = line::Model::new(line::Params::zeros());
    ///     let mut trainer = Trainer::new(Sgd::new(0.1), MeanSquaredError)
    ///         .epochs(20)
    ///         .batch_size(32)
    ///         .parallel(8) // blocks of 8 samples: 4 per batch
    ///         .progress(false);
    ///     pool.install(|| trainer.fit(&mut model, &data))?;
    ///     Ok(model.params)
    /// };
    /// assert_eq!(train(1)?, train(2)?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Each block slot has a gradient of its own, allocated once per
    /// `fit`: a batch of `n` samples holds `n.div_ceil(block)` gradients
    /// the size of the parameters at once, so blocks of tens to hundreds
    /// of samples suit large models. A `block` of zero is rejected by
    /// [`Trainer::fit`] ([`TrainError::ZeroBlockSize`]).
    ///
    /// What crosses threads must allow it: `fit` then needs the model,
    /// its inputs, the loss and its targets to be `Sync` and the
    /// parameters `Send`, as generated models, arrays of floats and this
    /// crate's losses are.
    #[cfg(feature = "parallel")]
    pub fn parallel(self, block: usize) -> Trainer<O, L, Parallel> {
        self.with_execution(Parallel::new(block))
    }

    /// This trainer, computing each mini-batch's gradient by `execution`.
    #[cfg(feature = "parallel")]
    fn with_execution<Y>(self, execution: Y) -> Trainer<O, L, Y> {
        Trainer {
            optimizer: self.optimizer,
            loss: self.loss,
            epochs: self.epochs,
            batch_size: self.batch_size,
            seed: self.seed,
            shuffle: self.shuffle,
            progress: self.progress,
            early_stopping: self.early_stopping,
            clip_norm: self.clip_norm,
            regularizer: self.regularizer,
            epochs_done: self.epochs_done,
            stream: self.stream,
            execution,
        }
    }

    /// The optimizer, with its state after the last [`Trainer::fit`].
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The optimizer, e.g. to change its learning rate between two
    /// [`Trainer::fit`] calls; its state is kept.
    pub fn optimizer_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }

    /// The loss.
    pub fn loss(&self) -> &L {
        &self.loss
    }

    /// How many epochs every [`Trainer::fit`] so far has completed; the
    /// next epoch is numbered one more.
    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    /// Trains `model` on `data`, a slice of `(input, target)` pairs, and
    /// returns the loss (and accuracy, when the loss has one) of each
    /// epoch.
    ///
    /// The trainer keeps the optimizer's state, the epoch count and the
    /// shuffling stream between calls, so a second `fit` continues where
    /// the first stopped: two calls of one epoch each train exactly as
    /// one call of two epochs.
    ///
    /// # Errors
    ///
    /// Before anything changes: [`TrainError::EmptyDataset`],
    /// [`TrainError::ZeroBatchSize`], [`TrainError::ZeroBlockSize`],
    /// [`TrainError::InvalidHyperparameter`],
    /// [`TrainError::UnknownParameter`], [`TrainError::Layout`],
    /// [`TrainError::NonFiniteInput`], [`TrainError::InvalidTarget`] and
    /// [`TrainError::NoValidationData`] (early stopping that monitors the
    /// validation data). [`TrainError::Diverged`] when an output, loss,
    /// parameter or optimizer state becomes NaN or infinite, after
    /// restoring the parameters and the optimizer to the last ones whose
    /// loss was finite.
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
        X: Execution<M, L>,
    {
        self.fit_with(model, data, &[], |_| Ok(Control::Continue))
    }

    /// [`Trainer::fit`], scoring the model on `validation` after every
    /// epoch (in inference mode); the scores are in
    /// [`EpochStats::validation`].
    ///
    /// # Errors
    ///
    /// As [`Trainer::fit`], and [`TrainError::InValidation`] for a
    /// validation sample the loss cannot score.
    pub fn fit_validated<M>(
        &mut self,
        model: &mut M,
        data: &[(M::Input, L::Target)],
        validation: &[(M::Input, L::Target)],
    ) -> Result<History, TrainError>
    where
        M: Model,
        M::Input: Scalars<M::Real>,
        O: Optimizer<M::Real> + Clone,
        L: Loss<M::Real, M::Output>,
        X: Execution<M, L>,
    {
        self.fit_with(model, data, validation, |_| Ok(Control::Continue))
    }

    /// [`Trainer::fit_validated`] (with `&[]` for no validation data),
    /// calling `callback` at the end of every epoch, after validation and
    /// early stopping's bookkeeping. The callback sees the epoch's
    /// statistics, the history, the model and the optimizer (whose
    /// learning rate it may change), and returns [`Control::Stop`] to end
    /// training or an error to abort it:
    ///
    /// ```no_run
    /// # use neuron_core::*;
    /// # fn demo<M: Model<Real = f64>>(model: &mut M, train: &[(M::Input, usize)], valid: &[(M::Input, usize)])
    /// # -> Result<(), TrainError>
    /// # where M::Input: Scalars<f64>, SoftmaxCrossEntropy: Loss<f64, M::Output, Target = usize> {
    /// let mut trainer = Trainer::new(Adam::new(0.01), SoftmaxCrossEntropy).epochs(100);
    /// trainer.fit_with(model, train, valid, |end| {
    ///     if end.is_best() {
    ///         save_params("best.json", end.params())?; // a checkpoint
    ///     }
    ///     if end.epoch() == 50 {
    ///         let lr = end.optimizer().learning_rate();
    ///         end.optimizer_mut().set_learning_rate(lr / 10.0);
    ///     }
    ///     Ok(Control::Continue)
    /// })?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Trainer::fit_validated`]; [`TrainError::Callback`] holding the
    /// callback's error (the model keeps the parameters it had then), and
    /// [`TrainError::InvalidHyperparameter`] when the callback left the
    /// optimizer with one.
    pub fn fit_with<M, F>(
        &mut self,
        model: &mut M,
        data: &[(M::Input, L::Target)],
        validation: &[(M::Input, L::Target)],
        callback: F,
    ) -> Result<History, TrainError>
    where
        M: Model,
        M::Input: Scalars<M::Real>,
        O: Optimizer<M::Real> + Clone,
        L: Loss<M::Real, M::Output>,
        X: Execution<M, L>,
        F: FnMut(&mut EpochEnd<'_, M, O>) -> Result<Control, BoxError>,
    {
        let (wanted, epochs) = (self.progress, self.epochs);
        self.run(
            model,
            data,
            validation,
            || Progress::new(wanted, epochs),
            callback,
        )
    }

    /// Checks everything that can be checked before training.
    fn check<M>(
        &self,
        model: &mut M,
        grads: &M::Params,
        data: &[(M::Input, L::Target)],
        validation: &[(M::Input, L::Target)],
    ) -> Result<(usize, Prepared<M::Real>), TrainError>
    where
        M: Model,
        M::Input: Scalars<M::Real>,
        O: Optimizer<M::Real>,
        L: Loss<M::Real, M::Output>,
        X: Execution<M, L>,
    {
        if data.is_empty() {
            return Err(TrainError::EmptyDataset);
        }
        let batch_size = match self.batch_size {
            Some(0) => return Err(TrainError::ZeroBatchSize),
            Some(n) => n,
            None => data.len(),
        };
        self.execution.validate()?;
        self.optimizer.validate()?;
        if let Some(max_norm) = self.clip_norm {
            check(
                "Trainer",
                "the gradient clipping norm",
                max_norm,
                Range::Positive,
            )?;
        }
        self.regularizer.validate()?;
        let prepared = self
            .regularizer
            .prepare(<M::Params as Parameters<M::Real>>::FIELDS)?;
        if let Some(early) = &self.early_stopping {
            early.validate()?;
            if early.monitor != Monitor::TrainingLoss && validation.is_empty() {
                return Err(TrainError::NoValidationData {
                    monitor: early.monitor,
                });
            }
            if early.monitor == Monitor::ValidationAccuracy
                && let Some((_, target)) = validation.first()
                && self.loss.accuracy(&M::Output::zeros(), target).is_none()
            {
                return Err(TrainError::NoAccuracy);
            }
        }
        check_layout(model.params_mut(), grads)?;
        check_samples(&self.loss, data)?;
        check_samples(&self.loss, validation)
            .map_err(|error| TrainError::InValidation(Box::new(error)))?;
        Ok((batch_size, prepared))
    }

    /// [`Trainer::fit_with`], showing progress on what `progress` makes
    /// once the checks have passed.
    fn run<M, F>(
        &mut self,
        model: &mut M,
        data: &[(M::Input, L::Target)],
        validation: &[(M::Input, L::Target)],
        progress: impl FnOnce() -> Progress,
        mut callback: F,
    ) -> Result<History, TrainError>
    where
        M: Model,
        M::Input: Scalars<M::Real>,
        O: Optimizer<M::Real> + Clone,
        L: Loss<M::Real, M::Output>,
        X: Execution<M, L>,
        F: FnMut(&mut EpochEnd<'_, M, O>) -> Result<Control, BoxError>,
    {
        let mut grads = M::Params::zeros();
        let (batch_size, prepared) = self.check(model, &grads, data, validation)?;
        let mut scratch = self.execution.scratch(batch_size);
        let progress = progress();
        // Inference unless on a training sample; the caller's mode comes
        // back when training ends, even by a panic.
        let _mode = dropout::Restore::set(None);
        let (mut rng, mut order) = self
            .stream
            .take()
            .unwrap_or_else(|| (ChaCha8Rng::seed_from_u64(self.seed), Vec::new()));
        if order.len() != data.len() {
            order.clear();
            order.extend(0..data.len());
        }
        let mut history = History::default();
        let mut last_good = LastGood::new(model.params(), &self.optimizer);
        let mut watch = Watch::new(self.early_stopping, validation.is_empty());
        let mut result = Ok(());
        let batches = data.len().div_ceil(batch_size);

        for _ in 0..self.epochs {
            let epoch = self.epochs_done + 1;
            if self.shuffle {
                order.shuffle(&mut rng);
            }
            let learning_rate = self.optimizer.current_learning_rate().to_f64_lossy();
            let step = Step {
                epoch,
                batch_size,
                prepared: &prepared,
                clip_norm: self.clip_norm.map(M::Real::lit),
            };
            let buffers = (&mut grads, &mut scratch);
            let outcome = self.epoch(model, data, &order, &step, buffers, &mut last_good);
            let diverged = |batch, cause, history| TrainError::Diverged {
                epoch,
                batch,
                cause,
                history,
            };
            let outcome = match outcome {
                Ok(outcome) => outcome,
                Err((batch, cause)) => {
                    last_good.restore(model.params_mut(), &mut self.optimizer);
                    result = Err(diverged(batch, cause, std::mem::take(&mut history)));
                    break;
                }
            };
            self.epochs_done = epoch;
            let validation_score = if validation.is_empty() {
                None
            } else {
                match score(model, &self.loss, validation) {
                    Ok(score) => Some(score),
                    Err((sample, index, value)) => {
                        last_good.restore(model.params_mut(), &mut self.optimizer);
                        let cause = Divergence::ValidationOutput {
                            sample,
                            index,
                            value,
                        };
                        let history = std::mem::take(&mut history);
                        result = Err(diverged(batches - 1, cause, history));
                        break;
                    }
                }
            };
            let stats = EpochStats {
                epoch,
                loss: outcome.loss,
                accuracy: outcome.accuracy,
                learning_rate,
                regularization_loss: outcome.regularization_loss,
                clipped: outcome.clipped,
                validation: validation_score,
            };
            progress.epoch_done(&stats);
            let verdict = watch.update(&stats, model.params());
            history.epochs.push(stats);
            let mut end = EpochEnd {
                stats: &stats,
                history: &history,
                model,
                optimizer: &mut self.optimizer,
                is_best: verdict.is_best,
            };
            let control = callback(&mut end);
            let control = match control {
                Ok(control) => control,
                Err(error) => {
                    result = Err(TrainError::Callback {
                        epoch,
                        error: CallbackError(Arc::from(error)),
                        history: std::mem::take(&mut history),
                    });
                    break;
                }
            };
            if let Err(error) = self.optimizer.validate() {
                result = Err(TrainError::InvalidHyperparameter(error));
                break;
            }
            if verdict.stop {
                history.stopped = Some(StoppedBy::EarlyStopping);
                break;
            }
            if control == Control::Stop {
                history.stopped = Some(StoppedBy::Callback);
                break;
            }
        }
        self.stream = Some((rng, order));
        if let Err(error) = result {
            let line = match &error {
                TrainError::Diverged { epoch, .. } => {
                    format!("training diverged in epoch {epoch}")
                }
                other => format!("training stopped: {other}"),
            };
            progress.close(&line);
            return Err(error);
        }
        history.best_epoch = watch.best_epoch();
        history.restored_best = watch.restore(model.params_mut(), history.last().map(|s| s.epoch));
        let summary = history
            .last()
            .map_or_else(String::new, |last| format!(": {}", last.summary()));
        let stopped = match history.stopped {
            Some(StoppedBy::EarlyStopping) => ", stopped early",
            Some(StoppedBy::Callback) => ", stopped by the callback",
            None => "",
        };
        progress.close(&format!(
            "{} epochs in {:.1?}{stopped}{summary}",
            history.epochs.len(),
            progress.started.elapsed()
        ));
        Ok(history)
    }

    /// One pass over `data` in `order`; returns the mean loss, accuracy
    /// and regularization loss and the number of clipped steps, or the
    /// batch index and cause of a divergence. `buffers` are the batch
    /// gradient and what the execution keeps between batches.
    fn epoch<M>(
        &mut self,
        model: &mut M,
        data: &[(M::Input, L::Target)],
        order: &[usize],
        step: &Step<'_, M::Real>,
        buffers: (&mut M::Params, &mut X::Scratch),
        last_good: &mut LastGood<M::Real, O>,
    ) -> Result<EpochOutcome, (usize, Divergence)>
    where
        M: Model,
        O: Optimizer<M::Real> + Clone,
        L: Loss<M::Real, M::Output>,
        X: Execution<M, L>,
    {
        let (grads, scratch) = buffers;
        let mut tally = Tally::new(data.len());
        let mut regularization_mean = Mean::new(data.len());
        let mut clipped = 0;
        for (batch, indices) in order.chunks(step.batch_size).enumerate() {
            let work = Batch {
                model: &*model,
                loss: &self.loss,
                data,
                indices,
                scale: M::Real::one() / M::Real::lit(indices.len() as f64),
                seed: self.seed,
                epoch: step.epoch as u64,
                batch: batch as u64,
            };
            self.execution
                .gradient(scratch, &work, grads, &mut tally)
                .map_err(|cause| (batch, cause))?;
            if !step.prepared.is_off() {
                let value = step
                    .prepared
                    .add_gradient(model.params(), grads)
                    .to_f64_lossy();
                if !value.is_finite() {
                    return Err((batch, Divergence::RegularizationLoss { value }));
                }
                // Each sample of the batch was scored at these parameters.
                regularization_mean.add(value * indices.len() as f64);
            }
            if let Some(max_norm) = step.clip_norm
                && clip_to_norm(grads, max_norm)
            {
                clipped += 1;
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
        Ok(EpochOutcome {
            loss: tally.loss.get(),
            accuracy: tally.accuracy.map(|a| a / n),
            regularization_loss: regularization_mean.get(),
            clipped,
        })
    }
}

/// How a [`Trainer`] computes each mini-batch's gradient: [`Serial`], the
/// default, or, with the `parallel` feature, `Parallel`
/// (`Trainer::parallel`). Sealed: these two are the only ones.
///
/// Both train each sample through the same code (the forward and
/// backward pass in dropout's training mode with the sample's key, the
/// loss's derivative divided by the batch's length) and check and count
/// the samples in the batch's order; they differ only in the order in
/// which the samples' gradients are added. `Serial` trains any model;
/// `Parallel` needs the model, its inputs, the loss and its targets to
/// be `Sync` and the parameters `Send`.
pub trait Execution<M, L>: sealed::Sealed
where
    M: Model,
    L: Loss<M::Real, M::Output>,
{
    /// What is kept from one batch to the next (allocated once per fit).
    #[doc(hidden)]
    type Scratch;

    /// Checks the execution's own settings.
    #[doc(hidden)]
    fn validate(&self) -> Result<(), TrainError>;

    /// The scratch space for batches of at most `batch_size` samples.
    #[doc(hidden)]
    fn scratch(&self, batch_size: usize) -> Self::Scratch;

    /// Sets `grads` to the gradient of `batch`'s mean loss, and adds each
    /// sample's loss and accuracy to `tally` in the batch's order; or the
    /// first sample, in that order, whose output or loss is not finite.
    #[doc(hidden)]
    fn gradient(
        &self,
        scratch: &mut Self::Scratch,
        batch: &Batch<'_, M, L>,
        grads: &mut M::Params,
        tally: &mut Tally,
    ) -> Result<(), Divergence>;
}

/// Serial training, the default: each mini-batch's gradient is added up
/// sample by sample, in order, on the calling thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Serial;

impl<M, L> Execution<M, L> for Serial
where
    M: Model,
    L: Loss<M::Real, M::Output>,
{
    type Scratch = ();

    fn validate(&self) -> Result<(), TrainError> {
        Ok(())
    }

    fn scratch(&self, _: usize) {}

    fn gradient(
        &self,
        _: &mut (),
        batch: &Batch<'_, M, L>,
        grads: &mut M::Params,
        tally: &mut Tally,
    ) -> Result<(), Divergence> {
        grads.set_zero();
        for &sample in batch.indices {
            let trained = batch.train(sample, grads);
            trained.check(sample)?;
            tally.add(&trained);
        }
        Ok(())
    }
}

use sealed::{Batch, Tally};

/// What the [`Execution`]s share, named in its methods but not public.
mod sealed {
    use super::{Divergence, Mean, dropout, first_non_finite};
    use crate::loss::Loss;
    use crate::model::Model;
    use crate::real::{Real, Tensor};
    use num_traits::Float;

    /// Implemented by the executions of this module only.
    pub trait Sealed {}

    impl Sealed for super::Serial {}

    #[cfg(feature = "parallel")]
    impl Sealed for super::Parallel {}

    /// One mini-batch, as an [`super::Execution`] sees it.
    pub struct Batch<'a, M: Model, L: Loss<M::Real, M::Output>> {
        pub(in crate::train) model: &'a M,
        pub(in crate::train) loss: &'a L,
        pub(in crate::train) data: &'a [(M::Input, L::Target)],
        /// The samples' indices in `data`, in training order.
        pub(in crate::train) indices: &'a [usize],
        /// `1 / indices.len()`, which each sample's loss gradient is
        /// multiplied by.
        pub(in crate::train) scale: M::Real,
        pub(in crate::train) seed: u64,
        /// The epoch's number, across `fit` calls.
        pub(in crate::train) epoch: u64,
        /// The batch's number within the epoch, from 0.
        pub(in crate::train) batch: u64,
    }

    impl<M: Model, L: Loss<M::Real, M::Output>> Batch<'_, M, L> {
        /// Trains on `data[sample]`: its forward and backward pass in
        /// dropout's training mode with its key, the loss's derivative
        /// scaled by `scale` and the parameters' gradients added into
        /// `grads`.
        pub(in crate::train) fn train(&self, sample: usize, grads: &mut M::Params) -> Trained {
            let (input, target) = &self.data[sample];
            let (loss_fn, scale) = (self.loss, self.scale);
            let mut loss = M::Real::nan();
            let key = dropout::sample_key(self.seed, self.epoch, self.batch, sample as u64);
            dropout::set_key(Some(key));
            let output = self.model.forward_backward(
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
            dropout::set_key(None);
            Trained {
                non_finite_output: first_non_finite(output.as_slice()),
                loss: loss.to_f64_lossy(),
                accuracy: self.loss.accuracy(&output, target).map(Real::to_f64_lossy),
            }
        }
    }

    /// What training on one sample gave, to be checked and counted in
    /// the batch's order.
    #[derive(Clone, Copy, Debug, Default)]
    pub struct Trained {
        /// The position and value of the first output value that is NaN
        /// or infinite.
        non_finite_output: Option<(usize, f64)>,
        loss: f64,
        accuracy: Option<f64>,
    }

    impl Trained {
        /// The divergence of sample number `sample`, if its output or loss
        /// is not finite.
        pub(in crate::train) fn check(&self, sample: usize) -> Result<(), Divergence> {
            if let Some((index, value)) = self.non_finite_output {
                return Err(Divergence::Output {
                    sample,
                    index,
                    value,
                });
            }
            if !self.loss.is_finite() {
                let value = self.loss;
                return Err(Divergence::Loss { sample, value });
            }
            Ok(())
        }
    }

    /// An epoch's losses and accuracies, added sample by sample.
    pub struct Tally {
        pub(in crate::train) loss: Mean,
        /// The sum of the accuracies, `None` when the loss has none.
        pub(in crate::train) accuracy: Option<f64>,
    }

    impl Tally {
        pub(in crate::train) fn new(samples: usize) -> Self {
            Tally {
                loss: Mean::new(samples),
                accuracy: Some(0.0),
            }
        }

        pub(in crate::train) fn add(&mut self, trained: &Trained) {
            self.loss.add(trained.loss);
            self.accuracy = match (self.accuracy, trained.accuracy) {
                (Some(sum), Some(a)) => Some(sum + a),
                _ => None,
            };
        }
    }
}

/// What every step of an epoch needs to know besides the data.
struct Step<'a, T> {
    /// The epoch's number, across `fit` calls.
    epoch: usize,
    batch_size: usize,
    prepared: &'a Prepared<T>,
    clip_norm: Option<T>,
}

/// The statistics of an epoch that trained without diverging.
struct EpochOutcome {
    loss: f64,
    accuracy: Option<f64>,
    regularization_loss: f64,
    clipped: usize,
}

/// Scales `grads` down to the Euclidean norm `max_norm` if it is longer;
/// whether it did. The norm is taken as `largest * sqrt(Σ (g / largest)²)`
/// so that it neither overflows nor underflows; gradients that are zero,
/// NaN or infinite are left for the divergence checks.
fn clip_to_norm<T: Real, P: Parameters<T>>(grads: &mut P, max_norm: T) -> bool {
    let mut largest = T::zero();
    let mut finite = true;
    grads.for_each_run(|_, run| {
        for &g in run {
            finite &= g.is_finite();
            largest = largest.max(g.abs());
        }
    });
    if !finite || largest == T::zero() {
        return false;
    }
    let mut sum = T::zero();
    grads.for_each_run(|_, run| {
        for &g in run {
            let s = g / largest;
            sum += s * s;
        }
    });
    // norm > max_norm  <=>  sqrt(sum) > max_norm / largest
    let (root, ratio) = (sum.sqrt(), max_norm / largest);
    if root > ratio {
        let scale = ratio / root;
        grads.for_each_mut(|_, g| *g *= scale);
        true
    } else {
        false
    }
}

/// The state of the end of an epoch, handed to the callback of
/// [`Trainer::fit_with`].
pub struct EpochEnd<'a, M: Model, O> {
    stats: &'a EpochStats,
    history: &'a History,
    model: &'a M,
    optimizer: &'a mut O,
    is_best: bool,
}

impl<M: Model, O> EpochEnd<'_, M, O> {
    /// The epoch's number, from 1, counted across `fit` calls.
    pub fn epoch(&self) -> usize {
        self.stats.epoch
    }

    /// The epoch's statistics (also the last of [`EpochEnd::history`]).
    pub fn stats(&self) -> &EpochStats {
        self.stats
    }

    /// The statistics of this `fit`'s epochs so far, this one included.
    pub fn history(&self) -> &History {
        self.history
    }

    /// The model, with the parameters this epoch ended with.
    pub fn model(&self) -> &M {
        self.model
    }

    /// The model's parameters, e.g. to save a checkpoint with
    /// [`crate::save_params`].
    pub fn params(&self) -> &M::Params {
        self.model.params()
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &O {
        self.optimizer
    }

    /// The optimizer, e.g. to change its learning rate
    /// ([`Optimizer::set_learning_rate`]) for the next epoch.
    pub fn optimizer_mut(&mut self) -> &mut O {
        self.optimizer
    }

    /// Whether this epoch is the best so far: by early stopping's monitor
    /// when there is early stopping, else by the validation loss when
    /// there is validation data, else by the training loss (data plus
    /// regularization).
    pub fn is_best(&self) -> bool {
        self.is_best
    }
}

/// Stops training when a monitored value stops improving.
///
/// After each epoch the monitored value is compared with the best so far;
/// it improves when it is better by more than `min_delta`. After
/// `patience` epochs in a row without improvement, training stops
/// ([`History::stopped`]). When training ends, by stopping or by running
/// out of epochs, the model is given the parameters of the best epoch
/// ([`History::best_epoch`]) unless [`EarlyStopping::restore_best`] says
/// not to; the optimizer's state is not rolled back. Each
/// [`Trainer::fit`] starts afresh.
///
/// ```
/// use neuron_core::{EarlyStopping, Monitor};
///
/// let early = EarlyStopping::new(10)
///     .monitor(Monitor::ValidationAccuracy)
///     .min_delta(1e-3);
/// # let _ = early;
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    patience: usize,
    min_delta: f64,
    monitor: Monitor,
    restore_best: bool,
}

/// The value early stopping watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Monitor {
    /// The validation data's mean loss (lower is better); the default.
    ValidationLoss,
    /// The validation data's accuracy (higher is better).
    ValidationAccuracy,
    /// The training data's mean loss plus the regularization loss (lower
    /// is better); needs no validation data.
    TrainingLoss,
}

impl core::fmt::Display for Monitor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Monitor::ValidationLoss => "the validation loss",
            Monitor::ValidationAccuracy => "the validation accuracy",
            Monitor::TrainingLoss => "the training loss",
        })
    }
}

impl Monitor {
    /// The monitored value of an epoch, NaN when it has none.
    fn value(self, stats: &EpochStats) -> f64 {
        match self {
            Monitor::ValidationLoss => stats.validation.map_or(f64::NAN, |v| v.loss),
            Monitor::ValidationAccuracy => stats
                .validation
                .and_then(|v| v.accuracy)
                .unwrap_or(f64::NAN),
            Monitor::TrainingLoss => stats.loss + stats.regularization_loss,
        }
    }

    fn higher_is_better(self) -> bool {
        self == Monitor::ValidationAccuracy
    }
}

impl EarlyStopping {
    /// Stops after `patience` epochs without improvement of the
    /// validation loss, and restores the best parameters.
    pub fn new(patience: usize) -> Self {
        EarlyStopping {
            patience,
            min_delta: 0.0,
            monitor: Monitor::ValidationLoss,
            restore_best: true,
        }
    }

    /// What to watch.
    pub fn monitor(mut self, monitor: Monitor) -> Self {
        self.monitor = monitor;
        self
    }

    /// How much better than the best so far a value must be to count as
    /// an improvement: a finite number `>= 0`, 0 by default.
    pub fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta;
        self
    }

    /// Whether to give the model the best epoch's parameters when
    /// training ends (the default), or leave it with the last ones.
    pub fn restore_best(mut self, restore_best: bool) -> Self {
        self.restore_best = restore_best;
        self
    }

    /// Checks `min_delta`.
    ///
    /// # Errors
    ///
    /// A [`HyperparameterError`] when it is not a finite number `>= 0`.
    pub fn validate(&self) -> Result<(), HyperparameterError> {
        check(
            "EarlyStopping",
            "min_delta",
            self.min_delta,
            Range::NonNegative,
        )
    }
}

/// Early stopping's bookkeeping during one `fit`, and the best value of
/// the default monitor for [`EpochEnd::is_best`] without it.
struct Watch<T> {
    early: Option<EarlyStopping>,
    monitor: Monitor,
    best: Option<(f64, usize)>,
    wait: usize,
    /// The best epoch's parameters, flat, when they are to be restored.
    snapshot: Vec<T>,
}

/// What [`Watch::update`] concluded about an epoch.
struct Verdict {
    is_best: bool,
    stop: bool,
}

impl<T: Real> Watch<T> {
    fn new(early: Option<EarlyStopping>, no_validation: bool) -> Self {
        let monitor = match early {
            Some(early) => early.monitor,
            None if no_validation => Monitor::TrainingLoss,
            None => Monitor::ValidationLoss,
        };
        Watch {
            early,
            monitor,
            best: None,
            wait: 0,
            snapshot: Vec::new(),
        }
    }

    fn update<P: Parameters<T>>(&mut self, stats: &EpochStats, params: &P) -> Verdict {
        let value = self.monitor.value(stats);
        let min_delta = self.early.map_or(0.0, |e| e.min_delta);
        let improved = !value.is_nan()
            && self.best.is_none_or(|(best, _)| {
                if self.monitor.higher_is_better() {
                    value > best + min_delta
                } else {
                    value < best - min_delta
                }
            });
        if improved {
            self.best = Some((value, stats.epoch));
            self.wait = 0;
            if self.early.is_some_and(|e| e.restore_best) {
                self.snapshot.clear();
                params.for_each_run(|_, run| self.snapshot.extend_from_slice(run));
            }
        } else {
            self.wait += 1;
        }
        Verdict {
            is_best: improved,
            stop: self
                .early
                .is_some_and(|e| !improved && self.wait >= e.patience),
        }
    }

    /// The best epoch, with early stopping.
    fn best_epoch(&self) -> Option<usize> {
        self.early.and(self.best.map(|(_, epoch)| epoch))
    }

    /// Gives `params` the best epoch's values when early stopping says to
    /// and the last epoch was not the best; whether it did.
    fn restore<P: Parameters<T>>(&self, params: &mut P, last: Option<usize>) -> bool {
        let restore = self.early.is_some_and(|e| e.restore_best)
            && self.best.is_some_and(|(_, epoch)| Some(epoch) != last)
            && self.snapshot.len() == P::LEN;
        if restore {
            params.for_each_mut(|k, v| {
                if let Some(&kept) = self.snapshot.get(k) {
                    *v = kept;
                }
            });
        }
        restore
    }
}

/// An error returned by the callback of [`Trainer::fit_with`], shared so
/// that [`TrainError`] stays `Clone`; two are equal when they are the
/// same error.
#[derive(Clone)]
pub struct CallbackError(Arc<dyn std::error::Error + Send + Sync>);

impl CallbackError {
    /// The callback's error, e.g. to downcast it.
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl PartialEq for CallbackError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl core::fmt::Debug for CallbackError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&*self.0, f)
    }
}

impl core::fmt::Display for CallbackError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&*self.0, f)
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
        params.for_each_run(|k, run| {
            if let Some(kept) = k
                .checked_add(run.len())
                .and_then(|end| self.params.get_mut(k..end))
            {
                kept.copy_from_slice(run);
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
    params.for_each_run(|k, run| {
        // A pass without an early exit, which vectorizes; the position
        // only where there is one to find.
        let finite = run.iter().fold(true, |all, v| all & v.is_finite());
        if found.is_none()
            && !finite
            && let Some(i) = run.iter().position(|v| !v.is_finite())
        {
            found = k.checked_add(i);
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
/// the loss has one, the mean accuracy. Dropout is in inference mode.
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
    dropout::inference(|| score(model, loss, data)).map_err(|(sample, index, value)| {
        TrainError::NonFiniteOutput {
            sample,
            index,
            value,
        }
    })
}

/// The mean loss and accuracy of `model` on `data` (not empty, checked),
/// or the sample, output index and value of the first output that is NaN
/// or infinite.
fn score<M, L>(
    model: &M,
    loss: &L,
    data: &[(M::Input, L::Target)],
) -> Result<Evaluation, (usize, usize, f64)>
where
    M: Model,
    L: Loss<M::Real, M::Output>,
{
    let mut loss_mean = Mean::new(data.len());
    let mut total_accuracy = Some(0.0);
    for (sample, (input, target)) in data.iter().enumerate() {
        let output = model.forward(input);
        if let Some((index, value)) = first_non_finite(output.as_slice()) {
            return Err((sample, index, value));
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
    /// The epoch's number, starting at 1 and counted across
    /// [`Trainer::fit`] calls.
    pub epoch: usize,
    /// The mean data loss per sample, each taken just before its batch's
    /// step (the regularization loss apart).
    pub loss: f64,
    /// The mean accuracy per sample, when the loss defines one.
    pub accuracy: Option<f64>,
    /// The learning rate of the epoch's first step.
    pub learning_rate: f64,
    /// The mean regularization loss per sample, each sample's taken at the
    /// parameters of its batch's step; 0 without a [`Regularizer`].
    pub regularization_loss: f64,
    /// How many of the epoch's steps had their gradient clipped
    /// ([`Trainer::clip_grad_norm`]).
    pub clipped: usize,
    /// The score on the validation data at the end of the epoch, when
    /// there is validation data.
    pub validation: Option<Evaluation>,
}

impl EpochStats {
    fn summary(&self) -> String {
        let mut text = format!("loss {:.4}", self.loss);
        if self.regularization_loss != 0.0 {
            text += &format!(" (+{:.4} regularization)", self.regularization_loss);
        }
        if let Some(a) = self.accuracy {
            text += &format!(", accuracy {a:.3}");
        }
        if let Some(v) = self.validation {
            text += &format!("; validation loss {:.4}", v.loss);
            if let Some(a) = v.accuracy {
                text += &format!(", accuracy {a:.3}");
            }
        }
        text
    }
}

/// Per-epoch statistics of a [`Trainer::fit`] run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One entry per completed epoch, in order.
    pub epochs: Vec<EpochStats>,
    /// What stopped training before its last epoch, if anything did.
    pub stopped: Option<StoppedBy>,
    /// With [`EarlyStopping`]: the epoch whose monitored value was best.
    pub best_epoch: Option<usize>,
    /// Whether the model was given the parameters of
    /// [`History::best_epoch`] when training ended (it was not the last).
    pub restored_best: bool,
}

/// Why training stopped before its last epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoppedBy {
    /// [`EarlyStopping`]'s patience ran out.
    EarlyStopping,
    /// The callback returned [`Control::Stop`].
    Callback,
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

    /// The validation loss of each epoch, or `None` without validation
    /// data.
    pub fn validation_losses(&self) -> Option<Vec<f64>> {
        self.epochs
            .iter()
            .map(|e| e.validation.map(|v| v.loss))
            .collect()
    }

    /// The validation accuracy of each epoch, or `None` without validation
    /// data or when the loss has no accuracy.
    pub fn validation_accuracies(&self) -> Option<Vec<f64>> {
        self.epochs
            .iter()
            .map(|e| e.validation.and_then(|v| v.accuracy))
            .collect()
    }

    /// The regularization loss of each epoch.
    pub fn regularization_losses(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.regularization_loss).collect()
    }

    /// The last epoch's statistics, `None` after zero epochs.
    pub fn last(&self) -> Option<&EpochStats> {
        self.epochs.last()
    }

    /// The statistics of epoch `epoch` (its number, not its position).
    pub fn epoch(&self, epoch: usize) -> Option<&EpochStats> {
        self.epochs.iter().find(|e| e.epoch == epoch)
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
    /// The regularization loss of a batch was NaN or infinite.
    #[error("the regularization loss is {value}")]
    RegularizationLoss {
        /// The loss found.
        value: f64,
    },
    /// The model's output for a validation sample was NaN or infinite
    /// after the epoch.
    #[error("output value {index} of validation sample {sample} is {value}")]
    ValidationOutput {
        /// The sample's index in the validation data.
        sample: usize,
        /// The position in the flattened output.
        index: usize,
        /// The value found.
        value: f64,
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
    /// The block size of parallel training (`Trainer::parallel`, the
    /// `parallel` feature) was set to zero.
    #[error("the block size of parallel training is 0; it must be at least 1")]
    ZeroBlockSize,
    /// An optimizer hyperparameter outside its valid range.
    #[error("invalid hyperparameter: {0}")]
    InvalidHyperparameter(#[from] HyperparameterError),
    /// A hand-written [`Parameters`] implementation contradicts itself.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// A [`Regularizer`] names a field the parameters do not have.
    #[error(transparent)]
    UnknownParameter(#[from] UnknownParameter),
    /// Early stopping monitors the validation data, but none was given.
    #[error(
        "early stopping monitors {monitor}, but there is no validation data; use \
         fit_validated, or monitor the training loss"
    )]
    NoValidationData {
        /// What early stopping monitors.
        monitor: Monitor,
    },
    /// Early stopping monitors the validation accuracy, but the loss
    /// defines no accuracy.
    #[error("early stopping monitors the validation accuracy, but the loss defines no accuracy")]
    NoAccuracy,
    /// A validation sample the loss cannot score.
    #[error("in the validation data: {0}")]
    InValidation(Box<TrainError>),
    /// The callback of [`Trainer::fit_with`] returned an error; the model
    /// keeps the parameters it had then.
    #[error("the callback failed after epoch {epoch}: {error}")]
    Callback {
        /// The epoch after which it failed.
        epoch: usize,
        /// What it returned.
        error: CallbackError,
        /// The epochs that completed, that one included.
        history: History,
    },
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
        /// The failing epoch, starting at 1 and counted across
        /// [`Trainer::fit`] calls.
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

    /// A callback that lets training go on.
    fn continue_always<M: Model, O>(_: &mut EpochEnd<'_, M, O>) -> Result<Control, BoxError> {
        Ok(Control::Continue)
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
        trainer
            .run(&mut model, &line(), &[], progress, continue_always)
            .unwrap();
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
        trainer
            .run(&mut model, &line(), &[], progress, continue_always)
            .unwrap_err();
        let (text, column) = &*screen.0.lock().unwrap();
        assert_eq!(*column, 0, "the cursor is left mid-line: {text:?}");
        assert!(text.contains("training diverged in epoch "), "{text:?}");
        // Training refused up front shows no bar at all.
        let screen = Screen::default();
        let mut trainer = Trainer::new(Sgd::new(-1.0), MeanSquaredError).epochs(5);
        let progress = || Progress::on(screen.clone(), 5);
        trainer
            .run(&mut model, &line(), &[], progress, continue_always)
            .unwrap_err();
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
