//! Steering the trainer through its public API: fits that continue each
//! other, validation, early stopping, callbacks, learning-rate changes,
//! gradient clipping, regularization, and dropout's training mode, on
//! hand-written models so that no macro is involved.

use std::cell::RefCell;

use neuron_core::dropout::{self, Mask};
use neuron_core::{
    Adam, Control, Divergence, EarlyStopping, Field, MeanSquaredError, Model, Monitor, Optimizer,
    Parameters, Regularizer, Schedule, Sgd, SoftmaxCrossEntropy, StoppedBy, TrainError, Trainer,
    evaluate,
};

/// `{ w: [f64; 2], b: f64 }`.
#[derive(Clone, Debug, PartialEq)]
struct LineParams {
    w: [f64; 2],
    b: f64,
}

impl Parameters<f64> for LineParams {
    const FIELDS: &'static [Field] = &[
        Field {
            name: "w",
            shape: &[2],
        },
        Field {
            name: "b",
            shape: &[],
        },
    ];
    const LEN: usize = 3;

    fn zeros() -> Self {
        LineParams {
            w: [0.0; 2],
            b: 0.0,
        }
    }

    fn for_each(&self, mut f: impl FnMut(usize, f64)) {
        f(0, self.w[0]);
        f(1, self.w[1]);
        f(2, self.b);
    }

    fn for_each_mut(&mut self, mut f: impl FnMut(usize, &mut f64)) {
        f(0, &mut self.w[0]);
        f(1, &mut self.w[1]);
        f(2, &mut self.b);
    }

    fn zip_mut(&mut self, other: &Self, mut f: impl FnMut(usize, &mut f64, f64)) {
        f(0, &mut self.w[0], other.w[0]);
        f(1, &mut self.w[1], other.w[1]);
        f(2, &mut self.b, other.b);
    }
}

/// `y = w·x + b`, which records the dropout state of every call.
#[derive(Debug, Default)]
struct Line {
    params: LineParams,
    seen: RefCell<Vec<Mask>>,
}

impl Line {
    fn new(w: [f64; 2], b: f64) -> Self {
        Line {
            params: LineParams { w, b },
            seen: RefCell::default(),
        }
    }
}

impl Default for LineParams {
    fn default() -> Self {
        LineParams::zeros()
    }
}

impl Model for Line {
    type Real = f64;
    type Input = [f64; 2];
    type Output = f64;
    type Params = LineParams;

    fn params(&self) -> &LineParams {
        &self.params
    }

    fn params_mut(&mut self) -> &mut LineParams {
        &mut self.params
    }

    fn forward(&self, x: &[f64; 2]) -> f64 {
        self.seen.borrow_mut().push(Mask::current());
        let p = &self.params;
        p.w[0] * x[0] + p.w[1] * x[1] + p.b
    }

    fn backward(&self, x: &[f64; 2], dy: &f64, grads: &mut LineParams) -> f64 {
        grads.w[0] += dy * x[0];
        grads.w[1] += dy * x[1];
        grads.b += dy;
        self.forward(x)
    }
}

/// Twelve samples of `y = 2 x0 - x1 + 0.5`.
fn line() -> Vec<([f64; 2], f64)> {
    (0..12)
        .map(|i| {
            let x = [i as f64 / 6.0 - 1.0, ((i * 7) % 12) as f64 / 6.0 - 1.0];
            (x, 2.0 * x[0] - x[1] + 0.5)
        })
        .collect()
}

/// The same inputs with targets of another line, `y = x0`: on the way
/// from `w = 0` to the training line's `w0 = 2`, the validation loss falls
/// and then rises again.
fn other_line() -> Vec<([f64; 2], f64)> {
    line().into_iter().map(|(x, _)| (x, x[0])).collect()
}

fn bits(p: &LineParams) -> Vec<u64> {
    p.to_vec().iter().map(|v| v.to_bits()).collect()
}

fn trainer<O>(optimizer: O) -> Trainer<O, MeanSquaredError> {
    Trainer::new(optimizer, MeanSquaredError)
        .batch_size(5)
        .seed(11)
        .progress(false)
}

#[test]
fn fits_continue_each_other_exactly() {
    let mut once = Line::new([0.1, -0.2], 0.0);
    let mut whole = trainer(Adam::new(0.05)).epochs(4);
    let history = whole.fit(&mut once, &line()).unwrap();
    assert_eq!(
        history.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );

    let mut stepwise = Line::new([0.1, -0.2], 0.0);
    let mut parts = trainer(Adam::new(0.05)).epochs(1);
    let mut numbers = Vec::new();
    for _ in 0..4 {
        let history = parts.fit(&mut stepwise, &line()).unwrap();
        numbers.push(history.last().unwrap().epoch);
    }
    assert_eq!(numbers, [1, 2, 3, 4]);
    assert_eq!(parts.epochs_done(), 4);
    assert_eq!(bits(&stepwise.params), bits(&once.params));
    assert_eq!(parts.optimizer(), whole.optimizer());

    // Re-seeding starts the stream afresh: the next epoch shuffles as the
    // first did, so it differs from what the continued stream does.
    let restart = |reseed: bool| {
        let mut model = Line::new([0.1, -0.2], 0.0);
        let mut t = trainer(Sgd::new(0.1)).epochs(1);
        t.fit(&mut model, &line()).unwrap();
        if reseed {
            t = t.seed(11);
        }
        t.fit(&mut model, &line()).unwrap();
        model.params
    };
    assert_ne!(bits(&restart(true)), bits(&restart(false)));
}

#[test]
fn validation_is_scored_after_every_epoch() {
    let mut model = Line::new([0.0, 0.0], 0.0);
    let mut t = trainer(Sgd::new(0.05)).epochs(5);
    let mut seen = Vec::new();
    let history = t
        .fit_with(&mut model, &line(), &other_line(), |end| {
            let score = evaluate(end.model(), &MeanSquaredError, &other_line())?;
            seen.push(score);
            assert_eq!(end.stats().validation, Some(score));
            assert_eq!(end.history().last(), Some(end.stats()));
            Ok(Control::Continue)
        })
        .unwrap();
    let losses = history.validation_losses().unwrap();
    assert_eq!(losses, seen.iter().map(|s| s.loss).collect::<Vec<_>>());
    assert_eq!(history.validation_accuracies(), None);
    // Without validation data there are no validation scores.
    let history = t.fit(&mut model, &line()).unwrap();
    assert_eq!(history.validation_losses(), None);
    assert_eq!(history.last().unwrap().validation, None);
}

#[test]
fn early_stopping_stops_after_its_patience_and_restores_the_best() {
    let mut model = Line::new([0.0, 0.0], 0.0);
    let mut t = trainer(Sgd::new(0.02))
        .epochs(500)
        .early_stopping(EarlyStopping::new(5));
    let mut params_after = Vec::new();
    let history = t
        .fit_with(&mut model, &line(), &other_line(), |end| {
            params_after.push(end.params().clone());
            Ok(Control::Continue)
        })
        .unwrap();
    let losses = history.validation_losses().unwrap();
    let best = (0..losses.len())
        .min_by(|&a, &b| losses[a].total_cmp(&losses[b]))
        .unwrap();
    assert_eq!(history.stopped, Some(StoppedBy::EarlyStopping));
    assert_eq!(history.best_epoch, Some(best + 1));
    assert!(history.restored_best);
    // Five epochs without improvement after the best, then the stop.
    assert_eq!(losses.len(), best + 1 + 5, "{losses:?}");
    assert!(losses.len() < 500);
    assert_eq!(model.params, params_after[best]);
    // The best is in between the two lines.
    assert!(
        model.params.w[0] > 0.5 && model.params.w[0] < 1.9,
        "{:?}",
        model.params
    );

    // Without restoring, the model keeps the last parameters.
    let mut model = Line::new([0.0, 0.0], 0.0);
    let mut t = trainer(Sgd::new(0.02))
        .epochs(500)
        .early_stopping(EarlyStopping::new(5).restore_best(false));
    let history = t.fit_validated(&mut model, &line(), &other_line()).unwrap();
    assert!(!history.restored_best);
    assert_eq!(model.params, params_after[params_after.len() - 1]);

    // A min_delta larger than any improvement stops after the first
    // `patience` epochs.
    let mut model = Line::new([0.0, 0.0], 0.0);
    let mut t = trainer(Sgd::new(0.02))
        .epochs(500)
        .early_stopping(EarlyStopping::new(3).min_delta(1e3));
    let history = t.fit_validated(&mut model, &line(), &other_line()).unwrap();
    assert_eq!(history.epochs.len(), 4);
    assert_eq!(history.best_epoch, Some(1));

    // Monitoring the training loss needs no validation data, and never
    // stops on a loss that keeps falling.
    let mut model = Line::new([0.0, 0.0], 0.0);
    let mut t = trainer(Sgd::new(0.02))
        .epochs(50)
        .early_stopping(EarlyStopping::new(2).monitor(Monitor::TrainingLoss));
    let history = t.fit(&mut model, &line()).unwrap();
    assert_eq!(history.stopped, None);
    assert_eq!(history.best_epoch, Some(50));
    assert!(!history.restored_best);
}

#[test]
fn the_callback_steers_stops_and_fails() {
    // It changes the learning rate, which the next epoch uses.
    let mut model = Line::new([0.0, 0.0], 0.0);
    let mut t = trainer(Adam::new(0.1)).epochs(4);
    let history = t
        .fit_with(&mut model, &line(), &[], |end| {
            let lr = end.optimizer().learning_rate();
            end.optimizer_mut().set_learning_rate(lr / 2.0);
            Ok(Control::Continue)
        })
        .unwrap();
    let rates: Vec<f64> = history.epochs.iter().map(|e| e.learning_rate).collect();
    assert_eq!(rates, [0.1, 0.05, 0.025, 0.0125]);

    // It stops training.
    let history = t
        .fit_with(&mut model, &line(), &[], |end| {
            Ok(if end.epoch() == 6 {
                Control::Stop
            } else {
                Control::Continue
            })
        })
        .unwrap();
    assert_eq!(history.epochs.len(), 2);
    assert_eq!(history.stopped, Some(StoppedBy::Callback));

    // Its error aborts training, with the history so far.
    let err = t
        .fit_with(&mut model, &line(), &[], |end| {
            if end.epoch() == 8 {
                Err("disk full".into())
            } else {
                Ok(Control::Continue)
            }
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the callback failed after epoch 8: disk full"
    );
    let TrainError::Callback { epoch, history, .. } = &err else {
        panic!("expected a callback error, got {err:?}");
    };
    assert_eq!((*epoch, history.epochs.len()), (8, 2));

    // A learning rate it made invalid is refused.
    let err = t
        .fit_with(&mut model, &line(), &[], |end| {
            end.optimizer_mut().set_learning_rate(f64::NAN);
            Ok(Control::Continue)
        })
        .unwrap_err();
    assert!(
        matches!(err, TrainError::InvalidHyperparameter(ref e) if e.name == "the learning rate"),
        "{err:?}"
    );
}

#[test]
fn is_best_marks_checkpoints() {
    let mut model = Line::new([0.0, 0.0], 0.0);
    let mut t = trainer(Sgd::new(0.02)).epochs(80);
    let mut best = Vec::new();
    let history = t
        .fit_with(&mut model, &line(), &other_line(), |end| {
            if end.is_best() {
                best.push(end.epoch());
            }
            Ok(Control::Continue)
        })
        .unwrap();
    let losses = history.validation_losses().unwrap();
    let mut low = f64::INFINITY;
    let expected: Vec<usize> = (0..losses.len())
        .filter(|&k| {
            let better = losses[k] < low;
            low = low.min(losses[k]);
            better
        })
        .map(|k| k + 1)
        .collect();
    assert_eq!(best, expected);
    assert!(best.len() > 3 && *best.last().unwrap() < 80, "{best:?}");
}

#[test]
fn a_schedule_set_on_the_optimizer_runs_across_fits() {
    let mut model = Line::new([0.0, 0.0], 0.0);
    // Three batches per epoch; the rate halves every three steps.
    let schedule = Schedule::Step {
        every: 3,
        factor: 0.5,
    };
    let mut t = trainer(Sgd::new(0.1).with_schedule(schedule)).epochs(2);
    let first = t.fit(&mut model, &line()).unwrap();
    let second = t.fit(&mut model, &line()).unwrap();
    let rates: Vec<f64> = first
        .epochs
        .iter()
        .chain(&second.epochs)
        .map(|e| e.learning_rate)
        .collect();
    assert_eq!(rates, [0.1, 0.05, 0.025, 0.0125]);
    // Changing the base rate between fits keeps the schedule's place.
    t.optimizer_mut().set_learning_rate(1.0);
    let third = t.fit(&mut model, &line()).unwrap();
    assert_eq!(third.epochs[0].learning_rate, 1.0 / 16.0);
}

#[test]
fn clipping_bounds_the_step_to_the_norm() {
    // One sample, one step of SGD with rate 1: the step is the gradient.
    // MSE at w = 0, b = 0 for x = [3, 4], y = 10: the gradient is
    // -20 * [3, 4, 1], of norm 20 * sqrt(26).
    let data = [([3.0, 4.0], 10.0)];
    let step = |clip: Option<f64>| {
        let mut model = Line::new([0.0, 0.0], 0.0);
        let mut t = Trainer::new(Sgd::new(1.0), MeanSquaredError).progress(false);
        if let Some(max) = clip {
            t = t.clip_grad_norm(max);
        }
        let history = t.fit(&mut model, &data).unwrap();
        (model.params.to_vec(), history.last().unwrap().clipped)
    };
    let (free, clipped) = step(None);
    assert_eq!((free, clipped), (vec![60.0, 80.0, 20.0], 0));
    let (bounded, clipped) = step(Some(2.0));
    assert_eq!(clipped, 1);
    let norm = bounded.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((norm - 2.0).abs() < 1e-12, "{bounded:?}");
    // Same direction.
    assert!((bounded[0] / bounded[1] - 0.75).abs() < 1e-12);
    // A norm above the gradient's changes nothing.
    assert_eq!(step(Some(1e6)), (vec![60.0, 80.0, 20.0], 0));
}

#[test]
fn regularization_adds_its_gradient_and_reports_its_loss_apart() {
    // Full batch, SGD with rate 0.1, from w = [1, -2], b = 3.
    let data = line();
    let reg = Regularizer::new()
        .weight_regularizer_l2(0.5)
        .bias_regularizer_l1(0.25);
    let start = Line::new([1.0, -2.0], 3.0);
    let data_only = {
        let mut model = Line::new([1.0, -2.0], 3.0);
        let mut t = Trainer::new(Sgd::new(0.1), MeanSquaredError).progress(false);
        let history = t.fit(&mut model, &data).unwrap();
        (model.params, history)
    };
    let mut model = Line::new([1.0, -2.0], 3.0);
    let mut t = Trainer::new(Sgd::new(0.1), MeanSquaredError)
        .regularizer(reg.clone())
        .progress(false);
    let history = t.fit(&mut model, &data).unwrap();
    // The data loss is the same; the regularization loss is apart:
    // 0.5 * (1 + 4) + 0.25 * 3.
    assert_eq!(history.losses(), data_only.1.losses());
    assert_eq!(history.regularization_losses(), [2.5 + 0.75]);
    assert_eq!(reg.loss(&start.params).unwrap(), 2.5 + 0.75);
    // The step moved by 0.1 * (2 * 0.5 * w) and 0.1 * 0.25 * sign(b) more.
    let p = &model.params;
    let q = &data_only.0;
    assert!((p.w[0] - (q.w[0] - 0.1 * 1.0)).abs() < 1e-12, "{p:?} {q:?}");
    assert!((p.w[1] - (q.w[1] + 0.1 * 2.0)).abs() < 1e-12, "{p:?} {q:?}");
    assert!((p.b - (q.b - 0.1 * 0.25)).abs() < 1e-12, "{p:?} {q:?}");
}

#[test]
fn training_hyperparameters_are_checked_before_anything_changes() {
    let fresh = || Line::new([1.0, 2.0], 3.0);
    let expect = |result: Result<neuron_core::History, TrainError>, message: &str| {
        let err = result.unwrap_err();
        assert_eq!(err.to_string(), message);
    };
    let mut model = fresh();
    expect(
        trainer(Sgd::new(0.1))
            .clip_grad_norm(0.0)
            .fit(&mut model, &line()),
        "invalid hyperparameter: Trainer: the gradient clipping norm is 0, but it must be a \
         finite number > 0",
    );
    expect(
        trainer(Sgd::new(0.1))
            .early_stopping(EarlyStopping::new(3).min_delta(-1.0))
            .fit_validated(&mut model, &line(), &line()),
        "invalid hyperparameter: EarlyStopping: min_delta is -1, but it must be a finite \
         number >= 0",
    );
    expect(
        trainer(Sgd::new(0.1))
            .regularizer(Regularizer::l2(f64::INFINITY))
            .fit(&mut model, &line()),
        "invalid hyperparameter: Regularizer: weight_regularizer_l2 is inf, but it must be a \
         finite number >= 0",
    );
    expect(
        trainer(Sgd::new(0.1))
            .regularizer(Regularizer::l2(1e-3).bias("bias"))
            .fit(&mut model, &line()),
        "there is no parameter named `bias`; the parameters are `w`, `b`",
    );
    expect(
        trainer(Sgd::new(0.1))
            .early_stopping(EarlyStopping::new(3))
            .fit(&mut model, &line()),
        "early stopping monitors the validation loss, but there is no validation data; use \
         fit_validated, or monitor the training loss",
    );
    expect(
        trainer(Sgd::new(0.1))
            .early_stopping(EarlyStopping::new(3).monitor(Monitor::ValidationAccuracy))
            .fit_validated(&mut model, &line(), &line()),
        "early stopping monitors the validation accuracy, but the loss defines no accuracy",
    );
    let mut bad = line();
    bad[4].0[1] = f64::NAN;
    expect(
        trainer(Sgd::new(0.1)).fit_validated(&mut model, &line(), &bad),
        "in the validation data: input value 1 of sample 4 is NaN",
    );
    expect(
        trainer(Adam::new(0.1).with_schedule(Schedule::Exponential { rate: 0.0 }))
            .fit(&mut model, &line()),
        "invalid hyperparameter: Adam: the exponential schedule's rate is 0, but it must be a \
         finite number > 0",
    );
    assert_eq!(model.params, fresh().params);
}

#[test]
fn a_non_finite_validation_output_is_divergence() {
    // A validation input so large that the output overflows.
    let mut model = Line::new([1.0, 0.0], 0.0);
    let validation = [([1e308, 0.0], 0.0), ([f64::MAX, 0.0], 0.0)];
    let err = trainer(Sgd::new(0.0))
        .epochs(3)
        .fit_validated(&mut model, &line(), &[([1.0, 1.0], 1.0), validation[1]])
        .map(|_| ());
    // Rate 0 keeps w = [1, 0]: w·x = f64::MAX is finite, +0 too.
    assert!(err.is_ok(), "{err:?}");
    model.params.w[0] = 2.0;
    let err = trainer(Sgd::new(0.0))
        .fit_validated(&mut model, &line(), &validation)
        .unwrap_err();
    assert!(
        matches!(
            err,
            TrainError::Diverged {
                epoch: 1,
                cause: Divergence::ValidationOutput {
                    sample: 0,
                    index: 0,
                    ..
                },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn dropout_trains_on_training_samples_only_with_keys_from_seed_epoch_batch_and_sample() {
    let data = line();
    let mut model = Line::new([0.0, 0.0], 0.0);
    let mut t = Trainer::new(Sgd::new(0.01), MeanSquaredError)
        .batch_size(5)
        .seed(3)
        .shuffle(false)
        .progress(false)
        .epochs(2);
    t.fit_validated(&mut model, &data, &other_line()).unwrap();
    let seen = model.seen.take();
    // Per epoch: 12 training samples (forward_backward's default runs
    // forward then backward, which calls forward again), then 12
    // validation samples.
    assert_eq!(seen.len(), 2 * (12 * 2 + 12));
    for epoch in 0..2 {
        let part = &seen[epoch * 36..(epoch + 1) * 36];
        for (k, sample) in (0..12).enumerate() {
            let key = dropout::sample_key(3, epoch as u64 + 1, sample as u64 / 5, sample as u64);
            assert_eq!(part[2 * k], Mask::training(key));
            assert_eq!(part[2 * k + 1], Mask::training(key));
        }
        assert!(part[24..].iter().all(|&m| m == Mask::INFERENCE));
    }
    assert!(!dropout::is_training());
    // evaluate runs in inference even inside training mode.
    dropout::training(1, || {
        evaluate(&model, &MeanSquaredError, &data).unwrap();
    });
    assert!(model.seen.take().iter().all(|&m| m == Mask::INFERENCE));
}

#[test]
fn accuracy_is_monitored_for_classifiers() {
    // A softmax classifier over two inputs and two classes, hand-written.
    #[derive(Clone, Debug, PartialEq)]
    struct P([[f64; 2]; 2]);
    impl Parameters<f64> for P {
        const FIELDS: &'static [Field] = &[Field {
            name: "w",
            shape: &[2, 2],
        }];
        const LEN: usize = 4;
        fn zeros() -> Self {
            P([[0.0; 2]; 2])
        }
        fn for_each(&self, mut f: impl FnMut(usize, f64)) {
            self.0
                .iter()
                .flatten()
                .enumerate()
                .for_each(|(k, v)| f(k, *v));
        }
        fn for_each_mut(&mut self, mut f: impl FnMut(usize, &mut f64)) {
            self.0
                .iter_mut()
                .flatten()
                .enumerate()
                .for_each(|(k, v)| f(k, v));
        }
        fn zip_mut(&mut self, other: &Self, mut f: impl FnMut(usize, &mut f64, f64)) {
            let o = other.to_vec();
            self.for_each_mut(|k, v| f(k, v, o[k]));
        }
    }
    struct Classifier(P);
    impl Model for Classifier {
        type Real = f64;
        type Input = [f64; 2];
        type Output = [f64; 2];
        type Params = P;
        fn params(&self) -> &P {
            &self.0
        }
        fn params_mut(&mut self) -> &mut P {
            &mut self.0
        }
        fn forward(&self, x: &[f64; 2]) -> [f64; 2] {
            let w = &self.0.0;
            [
                w[0][0] * x[0] + w[0][1] * x[1],
                w[1][0] * x[0] + w[1][1] * x[1],
            ]
        }
        fn backward(&self, x: &[f64; 2], dy: &[f64; 2], g: &mut P) -> [f64; 2] {
            for (row, d) in g.0.iter_mut().zip(dy) {
                for (gij, xj) in row.iter_mut().zip(x) {
                    *gij += d * xj;
                }
            }
            self.forward(x)
        }
    }
    let data: Vec<([f64; 2], usize)> = (0..20)
        .map(|i| {
            let x = [(i % 5) as f64 - 2.0, (i % 3) as f64];
            (x, usize::from(x[0] > 0.0))
        })
        .collect();
    let mut model = Classifier(P::zeros());
    let mut t = Trainer::new(Adam::new(0.1), SoftmaxCrossEntropy)
        .epochs(200)
        .progress(false)
        .early_stopping(EarlyStopping::new(30).monitor(Monitor::ValidationAccuracy));
    let history = t.fit_validated(&mut model, &data, &data).unwrap();
    let accuracies = history.validation_accuracies().unwrap();
    // Accuracy reaches 1 and cannot improve on it, so training stops
    // thirty epochs later with the first perfect epoch's parameters.
    let first = accuracies
        .iter()
        .position(|&a| a == 1.0)
        .unwrap_or_else(|| panic!("{accuracies:?}"));
    assert_eq!(history.best_epoch, Some(first + 1));
    assert_eq!(accuracies.len(), first + 1 + 30);
    let score = evaluate(&model, &SoftmaxCrossEntropy, &data).unwrap();
    assert_eq!(score.accuracy, Some(1.0));
}
