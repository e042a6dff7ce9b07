//! Optimizers: the update rules of "Neural Networks from Scratch" (nnfs),
//! applied to any generated `Params` through [`Parameters::zip_runs_mut`].
//!
//! Every optimizer keeps its per-scalar state (momentums, caches) in flat
//! vectors of length [`Parameters::LEN`], created on the first step, and
//! counts its steps so that the learning-rate [`Schedule`] and Adam's bias
//! correction follow nnfs exactly:
//!
//! ```text
//! current_lr = schedule(lr, iterations)   before each step; nnfs's decay is
//!                                         lr / (1 + decay * iterations)
//! iterations += 1                         after each step
//! ```
//!
//! The base rate can be read and changed between steps
//! ([`Optimizer::learning_rate`], [`Optimizer::set_learning_rate`]) without
//! losing the state. Constructors and `with_*` setters take any value;
//! [`Optimizer::validate`] checks them all at once, and
//! [`crate::Trainer::fit`] calls it before training, so that a bad
//! hyperparameter is a [`HyperparameterError`] naming it rather than a
//! divergence later. [`Optimizer::first_non_finite_state`] lets the
//! training loop see state that overflowed even where the parameters did
//! not. `clone_from` reuses the state's allocations, so that the training
//! loop can keep a snapshot to go back to.

use crate::model::Parameters;
use crate::real::Real;
use alloc::vec::Vec;

/// Something that updates parameters from their gradients.
pub trait Optimizer<T: Real> {
    /// Applies one update to `params`, given `grads` of the loss with
    /// respect to them (same type, same flat order).
    ///
    /// The hyperparameters are not checked here; [`Optimizer::validate`]
    /// does that.
    fn step<P: Parameters<T>>(&mut self, params: &mut P, grads: &P);

    /// The learning rate the next step will use: the base rate through
    /// the schedule at the current step count.
    fn current_learning_rate(&self) -> T;

    /// The base learning rate, the one given to the constructor unless
    /// [`Optimizer::set_learning_rate`] changed it.
    fn learning_rate(&self) -> T;

    /// Changes the base learning rate, keeping the state (momentums,
    /// caches, the step count), so that a schedule of one's own, or a
    /// callback between epochs, can steer training without losing it.
    /// The value is checked by [`Optimizer::validate`].
    fn set_learning_rate(&mut self, lr: T);

    /// How many steps have been taken.
    fn iterations(&self) -> u64;

    /// Forgets all state: steps taken, momentums and caches.
    fn reset(&mut self);

    /// Checks every hyperparameter against the values that make sense for
    /// it. The default, for an optimizer without any, accepts.
    ///
    /// # Errors
    ///
    /// A [`HyperparameterError`] naming the first bad one.
    fn validate(&self) -> Result<(), HyperparameterError> {
        Ok(())
    }

    /// The first value of the optimizer's state that is NaN or infinite,
    /// as the state's name (`"momentum"`, `"cache"`, ...) and the flat
    /// index of the parameter it belongs to; `None` when every value is
    /// finite. The default, for an optimizer without state, is `None`.
    fn first_non_finite_state(&self) -> Option<(&'static str, usize)> {
        None
    }
}

/// A hyperparameter outside the values that make sense for it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{optimizer}: {name} is {value}, but it must be {expected}")]
pub struct HyperparameterError {
    /// The optimizer, or the part of training the hyperparameter belongs
    /// to: `"Adam"`, `"Trainer"`, `"EarlyStopping"`, `"Regularizer"`.
    pub optimizer: &'static str,
    /// The hyperparameter, e.g. `"beta1"` or `"the learning rate"`.
    pub name: &'static str,
    /// Its value.
    pub value: f64,
    /// What it must be, e.g. `"in [0, 1)"`.
    pub expected: &'static str,
}

/// The ranges hyperparameters live in.
#[derive(Clone, Copy)]
pub(crate) enum Range {
    /// Finite and `>= 0`: learning rates, decays.
    NonNegative,
    /// Finite and `> 0`: the epsilon that keeps a denominator away from 0.
    Positive,
    /// In `[0, 1)`: the decay rates of moving averages and momentum.
    Fraction,
}

/// Checks that `value` lies in `range`.
pub(crate) fn check<T: Real>(
    optimizer: &'static str,
    name: &'static str,
    value: T,
    range: Range,
) -> Result<(), HyperparameterError> {
    let (fits, expected) = match range {
        Range::NonNegative => (
            value.is_finite() && value >= T::zero(),
            "a finite number >= 0",
        ),
        Range::Positive => (
            value.is_finite() && value > T::zero(),
            "a finite number > 0",
        ),
        Range::Fraction => (value >= T::zero() && value < T::one(), "in [0, 1)"),
    };
    if fits {
        Ok(())
    } else {
        Err(HyperparameterError {
            optimizer,
            name,
            value: value.to_f64_lossy(),
            expected,
        })
    }
}

/// How the learning rate changes with `t`, the number of steps the
/// optimizer has taken before the step (`0` for the first step). Each
/// optimizer multiplies its base learning rate `lr` (see
/// [`Optimizer::learning_rate`]) by the schedule's factor at `t`:
///
/// ```text
/// Constant                         lr
/// InverseTime { decay }            lr / (1 + decay * t)                  nnfs's decay
/// Step { every, factor }           lr * factor^floor(t / every)
/// Exponential { rate }             lr * rate^t
/// Cosine { warmup, total, min }    lr * (t + 1) / warmup                 while t < warmup
///                                  min + (lr - min) * (1 + cos(pi * (t - warmup) / (total - warmup))) / 2
///                                                                        while t < total
///                                  min                                   from t = total on
/// ```
///
/// `t` counts optimizer steps, that is mini-batches: with `n` batches per
/// epoch, epoch `e` (from 1) starts at `t = (e - 1) * n`. The count goes
/// on across [`crate::Trainer::fit`] calls and back to 0 on
/// [`Optimizer::reset`]. Parameters outside their range are reported by
/// [`Optimizer::validate`], never a panic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule<T> {
    /// The base learning rate at every step.
    Constant,
    /// `lr / (1 + decay * t)`, the decay of "Neural Networks from
    /// Scratch"; `decay` is a finite number `>= 0`.
    InverseTime {
        /// How fast the rate falls.
        decay: T,
    },
    /// `lr * factor^floor(t / every)`: the rate is multiplied by `factor`
    /// (finite, `> 0`) every `every` (at least 1) steps.
    Step {
        /// Steps between two changes.
        every: u64,
        /// What each change multiplies the rate by.
        factor: T,
    },
    /// `lr * rate^t`; `rate` is a finite number `> 0`.
    Exponential {
        /// The factor per step.
        rate: T,
    },
    /// A linear warm-up over `warmup` steps to `lr`, then half a cosine
    /// down to `min` at step `total`, then `min`; `total >= warmup` and
    /// `0 <= min <= lr`.
    Cosine {
        /// Steps of linear warm-up (0 for none).
        warmup: u64,
        /// The step at which the rate reaches `min`.
        total: u64,
        /// The rate at the end.
        min: T,
    },
}

impl<T: Real> Schedule<T> {
    /// The learning rate at step `t` for the base rate `lr`.
    pub fn at(&self, lr: T, t: u64) -> T {
        let t_real = || T::lit(t as f64);
        match *self {
            Schedule::Constant => lr,
            // Exactly `lr` without decay, as nnfs.
            Schedule::InverseTime { decay } if decay == T::zero() => lr,
            Schedule::InverseTime { decay } => lr / (T::one() + decay * t_real()),
            Schedule::Step { every, factor } => {
                let changes = t.checked_div(every).unwrap_or(0);
                lr * factor.powf(T::lit(changes as f64))
            }
            Schedule::Exponential { rate } => lr * rate.powf(t_real()),
            Schedule::Cosine { warmup, total, min } => {
                if t < warmup {
                    lr * T::lit((t + 1) as f64 / warmup as f64)
                } else if t < total {
                    let progress = (t - warmup) as f64 / (total - warmup) as f64;
                    // `Float::cos`: `libm`'s without `std`.
                    let half_cosine =
                        (1.0 + num_traits::Float::cos(core::f64::consts::PI * progress)) / 2.0;
                    min + (lr - min) * T::lit(half_cosine)
                } else {
                    min
                }
            }
        }
    }

    /// Checks the schedule's parameters against the base rate `lr`.
    fn validate(&self, optimizer: &'static str, lr: T) -> Result<(), HyperparameterError> {
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::InverseTime { decay } => {
                check(optimizer, "the decay", decay, Range::NonNegative)
            }
            Schedule::Step { every, factor } => {
                if every == 0 {
                    return Err(HyperparameterError {
                        optimizer,
                        name: "the step schedule's interval",
                        value: 0.0,
                        expected: "at least 1 step",
                    });
                }
                check(
                    optimizer,
                    "the step schedule's factor",
                    factor,
                    Range::Positive,
                )
            }
            Schedule::Exponential { rate } => check(
                optimizer,
                "the exponential schedule's rate",
                rate,
                Range::Positive,
            ),
            Schedule::Cosine { warmup, total, min } => {
                if total < warmup {
                    return Err(HyperparameterError {
                        optimizer,
                        name: "the cosine schedule's total",
                        value: total as f64,
                        expected: "at least its warm-up",
                    });
                }
                check(
                    optimizer,
                    "the cosine schedule's minimum",
                    min,
                    Range::NonNegative,
                )?;
                if min > lr {
                    return Err(HyperparameterError {
                        optimizer,
                        name: "the cosine schedule's minimum",
                        value: min.to_f64_lossy(),
                        expected: "at most the learning rate",
                    });
                }
                Ok(())
            }
        }
    }
}

/// An optimizer's base learning rate and its schedule: the one place that
/// says what rate each step uses and which rates are valid.
#[derive(Clone, Copy, Debug, PartialEq)]
struct LearningRate<T> {
    base: T,
    schedule: Schedule<T>,
}

impl<T: Real> LearningRate<T> {
    fn new(base: T) -> Self {
        LearningRate {
            base,
            schedule: Schedule::Constant,
        }
    }

    /// The rate of the step taken after `iterations` steps.
    fn at(&self, iterations: u64) -> T {
        self.schedule.at(self.base, iterations)
    }

    fn validate(&self, optimizer: &'static str) -> Result<(), HyperparameterError> {
        check(
            optimizer,
            "the learning rate",
            self.base,
            Range::NonNegative,
        )?;
        self.schedule.validate(optimizer, self.base)
    }
}

/// The builder methods and accessors of the learning rate, the same for
/// every optimizer.
macro_rules! learning_rate_methods {
    ($optimizer:ident) => {
        impl<T: Real> $optimizer<T> {
            /// Sets nnfs's learning-rate decay: step `t` uses
            /// `lr / (1 + decay * t)` (the same as
            /// [`Schedule::InverseTime`]).
            pub fn with_decay(mut self, decay: T) -> Self {
                self.learning_rate.schedule = Schedule::InverseTime { decay };
                self
            }

            /// Sets the learning-rate schedule, replacing any decay.
            pub fn with_schedule(mut self, schedule: Schedule<T>) -> Self {
                self.learning_rate.schedule = schedule;
                self
            }

            /// The schedule.
            pub fn schedule(&self) -> Schedule<T> {
                self.learning_rate.schedule
            }

            /// Replaces the schedule, keeping the state and the step count,
            /// so the new schedule starts where the step count is.
            pub fn set_schedule(&mut self, schedule: Schedule<T>) {
                self.learning_rate.schedule = schedule;
            }
        }
    };
}

learning_rate_methods!(Sgd);
learning_rate_methods!(Adagrad);
learning_rate_methods!(RmsProp);
learning_rate_methods!(Adam);

/// Makes `state` hold `len` zeros unless it already has that length.
fn ensure_len<T: Real>(state: &mut Vec<T>, len: usize) {
    if state.len() != len {
        state.clear();
        state.resize(len, T::zero());
    }
}

/// The state of the run of `len` scalars from `k` (see
/// [`Parameters::zip_runs_mut`]). A hand-written [`Parameters`] whose
/// indices run past `LEN` gets its state grown rather than a panic; `None`
/// only when that cannot be allocated.
#[inline]
fn run<T: Real>(state: &mut Vec<T>, k: usize, len: usize) -> Option<&mut [T]> {
    let end = k.checked_add(len)?;
    if end > state.len() {
        grown(state, end.checked_sub(1)?)?;
    }
    state.get_mut(k..end)
}

/// `state` grown to hold index `k`, past its end, which consistent
/// parameters never reach.
#[cold]
#[inline(never)]
fn grown<T: Real>(state: &mut Vec<T>, k: usize) -> Option<&mut T> {
    let missing = (k - state.len()).checked_add(1)?;
    state.try_reserve(missing).ok()?;
    state.resize(k + 1, T::zero());
    state.get_mut(k)
}

/// The index of the first value of `state` that is NaN or infinite.
fn first_non_finite<T: Real>(state: &[T]) -> Option<usize> {
    state.iter().position(|v| !v.is_finite())
}

/// Stochastic gradient descent with optional learning-rate decay and
/// momentum:
///
/// ```text
/// without momentum: w += -current_lr * g
/// with momentum:    u = momentum * u - current_lr * g;  w += u
/// ```
#[derive(Debug, PartialEq)]
pub struct Sgd<T> {
    learning_rate: LearningRate<T>,
    momentum: T,
    iterations: u64,
    /// Whether every value of the state was finite after the last step.
    state_finite: bool,
    velocity: Vec<T>,
}

impl<T: Real> Sgd<T> {
    /// Plain SGD with learning rate `lr`: `w -= lr * g`.
    pub fn new(lr: T) -> Self {
        Sgd {
            learning_rate: LearningRate::new(lr),
            momentum: T::zero(),
            iterations: 0,
            state_finite: true,
            velocity: Vec::new(),
        }
    }

    /// Sets the momentum factor, in `[0, 1)` (0 disables momentum).
    pub fn with_momentum(mut self, momentum: T) -> Self {
        self.momentum = momentum;
        self
    }
}

impl<T: Real> Clone for Sgd<T> {
    fn clone(&self) -> Self {
        Sgd {
            velocity: self.velocity.clone(),
            ..*self
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.learning_rate = source.learning_rate;
        self.momentum = source.momentum;
        self.iterations = source.iterations;
        self.state_finite = source.state_finite;
        self.velocity.clone_from(&source.velocity);
    }
}

impl<T: Real> Default for Sgd<T> {
    /// nnfs's defaults: learning rate 1, no decay, no momentum.
    fn default() -> Self {
        Sgd::new(T::one())
    }
}

/// SGD's rule with momentum over one run of scalars, its constants
/// `[lr, momentum]` passed by value and every slice its own argument, so
/// that the loop vectorizes; whether the velocity stayed finite.
#[inline]
fn momentum_run<T: Real>(ws: &mut [T], gs: &[T], us: &mut [T], constants: [T; 2]) -> bool {
    let [lr, momentum] = constants;
    let mut finite = true;
    for ((w, &g), u) in ws.iter_mut().zip(gs).zip(us) {
        *u = momentum * *u - lr * g;
        *w += *u;
        finite &= u.is_finite();
    }
    finite
}

impl<T: Real> Optimizer<T> for Sgd<T> {
    fn step<P: Parameters<T>>(&mut self, params: &mut P, grads: &P) {
        let lr = self.current_learning_rate();
        if self.momentum == T::zero() {
            params.zip_runs_mut(grads, |_, ws, gs| {
                let step = -lr;
                for (w, &g) in ws.iter_mut().zip(gs) {
                    *w += step * g;
                }
            });
        } else {
            ensure_len(&mut self.velocity, P::LEN);
            let (momentum, velocity) = (self.momentum, &mut self.velocity);
            let mut finite = true;
            params.zip_runs_mut(grads, |k, ws, gs| {
                if let Some(us) = run(velocity, k, ws.len()) {
                    finite &= momentum_run(ws, gs, us, [lr, momentum]);
                }
            });
            self.state_finite = finite;
        }
        self.iterations += 1;
    }

    fn current_learning_rate(&self) -> T {
        self.learning_rate.at(self.iterations)
    }

    fn learning_rate(&self) -> T {
        self.learning_rate.base
    }

    fn set_learning_rate(&mut self, lr: T) {
        self.learning_rate.base = lr;
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn reset(&mut self) {
        self.iterations = 0;
        self.state_finite = true;
        self.velocity.clear();
    }

    fn validate(&self) -> Result<(), HyperparameterError> {
        self.learning_rate.validate("Sgd")?;
        check("Sgd", "the momentum", self.momentum, Range::Fraction)
    }

    fn first_non_finite_state(&self) -> Option<(&'static str, usize)> {
        if self.state_finite {
            return None;
        }
        first_non_finite(&self.velocity).map(|k| ("velocity", k))
    }
}

/// Adagrad: each scalar's step shrinks with the sum of its squared
/// gradients.
///
/// ```text
/// cache += g²;  w += -current_lr * g / (sqrt(cache) + epsilon)
/// ```
#[derive(Debug, PartialEq)]
pub struct Adagrad<T> {
    learning_rate: LearningRate<T>,
    epsilon: T,
    iterations: u64,
    /// Whether every value of the state was finite after the last step.
    state_finite: bool,
    cache: Vec<T>,
}

impl<T: Real> Adagrad<T> {
    /// Adagrad with learning rate `lr`, no decay and epsilon `1e-7`.
    pub fn new(lr: T) -> Self {
        Adagrad {
            learning_rate: LearningRate::new(lr),
            epsilon: T::lit(1e-7),
            iterations: 0,
            state_finite: true,
            cache: Vec::new(),
        }
    }

    /// Sets the term, `> 0`, added to the denominator to avoid dividing by
    /// zero.
    pub fn with_epsilon(mut self, epsilon: T) -> Self {
        self.epsilon = epsilon;
        self
    }
}

impl<T: Real> Clone for Adagrad<T> {
    fn clone(&self) -> Self {
        Adagrad {
            cache: self.cache.clone(),
            ..*self
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.learning_rate = source.learning_rate;
        self.epsilon = source.epsilon;
        self.iterations = source.iterations;
        self.state_finite = source.state_finite;
        self.cache.clone_from(&source.cache);
    }
}

impl<T: Real> Default for Adagrad<T> {
    /// nnfs's defaults: learning rate 1, no decay, epsilon `1e-7`.
    fn default() -> Self {
        Adagrad::new(T::one())
    }
}

/// Adagrad's rule over one run of scalars, its constants `[lr, epsilon]`
/// passed by value and every slice its own argument, so that the loop
/// vectorizes; whether the cache stayed finite.
#[inline]
fn adagrad_run<T: Real>(ws: &mut [T], gs: &[T], cs: &mut [T], constants: [T; 2]) -> bool {
    let [lr, epsilon] = constants;
    let mut finite = true;
    for ((w, &g), c) in ws.iter_mut().zip(gs).zip(cs) {
        *c += g * g;
        *w += -lr * g / (c.sqrt() + epsilon);
        finite &= c.is_finite();
    }
    finite
}

impl<T: Real> Optimizer<T> for Adagrad<T> {
    fn step<P: Parameters<T>>(&mut self, params: &mut P, grads: &P) {
        let lr = self.current_learning_rate();
        ensure_len(&mut self.cache, P::LEN);
        let (epsilon, cache) = (self.epsilon, &mut self.cache);
        let mut finite = true;
        params.zip_runs_mut(grads, |k, ws, gs| {
            if let Some(cs) = run(cache, k, ws.len()) {
                finite &= adagrad_run(ws, gs, cs, [lr, epsilon]);
            }
        });
        self.state_finite = finite;
        self.iterations += 1;
    }

    fn current_learning_rate(&self) -> T {
        self.learning_rate.at(self.iterations)
    }

    fn learning_rate(&self) -> T {
        self.learning_rate.base
    }

    fn set_learning_rate(&mut self, lr: T) {
        self.learning_rate.base = lr;
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn reset(&mut self) {
        self.iterations = 0;
        self.state_finite = true;
        self.cache.clear();
    }

    fn validate(&self) -> Result<(), HyperparameterError> {
        self.learning_rate.validate("Adagrad")?;
        check("Adagrad", "epsilon", self.epsilon, Range::Positive)
    }

    fn first_non_finite_state(&self) -> Option<(&'static str, usize)> {
        if self.state_finite {
            return None;
        }
        first_non_finite(&self.cache).map(|k| ("cache", k))
    }
}

/// RMSprop: like Adagrad, but the cache is a moving average of squared
/// gradients.
///
/// ```text
/// cache = rho * cache + (1 - rho) * g²;  w += -current_lr * g / (sqrt(cache) + epsilon)
/// ```
#[derive(Debug, PartialEq)]
pub struct RmsProp<T> {
    learning_rate: LearningRate<T>,
    epsilon: T,
    rho: T,
    iterations: u64,
    /// Whether every value of the state was finite after the last step.
    state_finite: bool,
    cache: Vec<T>,
}

impl<T: Real> RmsProp<T> {
    /// RMSprop with learning rate `lr`, no decay, epsilon `1e-7`, rho `0.9`.
    pub fn new(lr: T) -> Self {
        RmsProp {
            learning_rate: LearningRate::new(lr),
            epsilon: T::lit(1e-7),
            rho: T::lit(0.9),
            iterations: 0,
            state_finite: true,
            cache: Vec::new(),
        }
    }

    /// Sets the term, `> 0`, added to the denominator to avoid dividing by
    /// zero.
    pub fn with_epsilon(mut self, epsilon: T) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Sets the cache's decay rate `rho`, in `[0, 1)`.
    pub fn with_rho(mut self, rho: T) -> Self {
        self.rho = rho;
        self
    }
}

impl<T: Real> Clone for RmsProp<T> {
    fn clone(&self) -> Self {
        RmsProp {
            cache: self.cache.clone(),
            ..*self
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.learning_rate = source.learning_rate;
        self.epsilon = source.epsilon;
        self.rho = source.rho;
        self.iterations = source.iterations;
        self.state_finite = source.state_finite;
        self.cache.clone_from(&source.cache);
    }
}

impl<T: Real> Default for RmsProp<T> {
    /// nnfs's defaults: learning rate 0.001, no decay, epsilon `1e-7`,
    /// rho 0.9.
    fn default() -> Self {
        RmsProp::new(T::lit(0.001))
    }
}

/// RMSprop's rule over one run of scalars, its constants
/// `[lr, rho, epsilon]` passed by value and every slice its own argument,
/// so that the loop vectorizes; whether the cache stayed finite.
#[inline]
fn rmsprop_run<T: Real>(ws: &mut [T], gs: &[T], cs: &mut [T], constants: [T; 3]) -> bool {
    let [lr, rho, epsilon] = constants;
    let mut finite = true;
    for ((w, &g), c) in ws.iter_mut().zip(gs).zip(cs) {
        *c = rho * *c + (T::one() - rho) * g * g;
        *w += -lr * g / (c.sqrt() + epsilon);
        finite &= c.is_finite();
    }
    finite
}

impl<T: Real> Optimizer<T> for RmsProp<T> {
    fn step<P: Parameters<T>>(&mut self, params: &mut P, grads: &P) {
        let lr = self.current_learning_rate();
        ensure_len(&mut self.cache, P::LEN);
        let (epsilon, rho, cache) = (self.epsilon, self.rho, &mut self.cache);
        let mut finite = true;
        params.zip_runs_mut(grads, |k, ws, gs| {
            if let Some(cs) = run(cache, k, ws.len()) {
                finite &= rmsprop_run(ws, gs, cs, [lr, rho, epsilon]);
            }
        });
        self.state_finite = finite;
        self.iterations += 1;
    }

    fn current_learning_rate(&self) -> T {
        self.learning_rate.at(self.iterations)
    }

    fn learning_rate(&self) -> T {
        self.learning_rate.base
    }

    fn set_learning_rate(&mut self, lr: T) {
        self.learning_rate.base = lr;
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn reset(&mut self) {
        self.iterations = 0;
        self.state_finite = true;
        self.cache.clear();
    }

    fn validate(&self) -> Result<(), HyperparameterError> {
        self.learning_rate.validate("RmsProp")?;
        check("RmsProp", "epsilon", self.epsilon, Range::Positive)?;
        check("RmsProp", "rho", self.rho, Range::Fraction)
    }

    fn first_non_finite_state(&self) -> Option<(&'static str, usize)> {
        if self.state_finite {
            return None;
        }
        first_non_finite(&self.cache).map(|k| ("cache", k))
    }
}

/// Adam: momentum and an RMSprop cache, both bias-corrected.
///
/// ```text
/// m = beta1 * m + (1 - beta1) * g;   m_hat = m / (1 - beta1^(t + 1))
/// v = beta2 * v + (1 - beta2) * g²;  v_hat = v / (1 - beta2^(t + 1))
/// w += -current_lr * m_hat / (sqrt(v_hat) + epsilon)
/// ```
#[derive(Debug, PartialEq)]
pub struct Adam<T> {
    learning_rate: LearningRate<T>,
    epsilon: T,
    beta1: T,
    beta2: T,
    iterations: u64,
    /// Whether every value of the state was finite after the last step.
    state_finite: bool,
    momentum: Vec<T>,
    cache: Vec<T>,
}

impl<T: Real> Adam<T> {
    /// Adam with learning rate `lr`, no decay, epsilon `1e-7`, beta1 `0.9`
    /// and beta2 `0.999`.
    pub fn new(lr: T) -> Self {
        Adam {
            learning_rate: LearningRate::new(lr),
            epsilon: T::lit(1e-7),
            beta1: T::lit(0.9),
            beta2: T::lit(0.999),
            iterations: 0,
            state_finite: true,
            momentum: Vec::new(),
            cache: Vec::new(),
        }
    }

    /// Sets the term, `> 0`, added to the denominator to avoid dividing by
    /// zero.
    pub fn with_epsilon(mut self, epsilon: T) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Sets the momentum's decay rate `beta1`, in `[0, 1)`.
    pub fn with_beta1(mut self, beta1: T) -> Self {
        self.beta1 = beta1;
        self
    }

    /// Sets the cache's decay rate `beta2`, in `[0, 1)`.
    pub fn with_beta2(mut self, beta2: T) -> Self {
        self.beta2 = beta2;
        self
    }
}

impl<T: Real> Clone for Adam<T> {
    fn clone(&self) -> Self {
        Adam {
            momentum: self.momentum.clone(),
            cache: self.cache.clone(),
            ..*self
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.learning_rate = source.learning_rate;
        self.epsilon = source.epsilon;
        self.beta1 = source.beta1;
        self.beta2 = source.beta2;
        self.iterations = source.iterations;
        self.state_finite = source.state_finite;
        self.momentum.clone_from(&source.momentum);
        self.cache.clone_from(&source.cache);
    }
}

impl<T: Real> Default for Adam<T> {
    /// nnfs's defaults: learning rate 0.001, no decay, epsilon `1e-7`,
    /// beta1 0.9, beta2 0.999.
    fn default() -> Self {
        Adam::new(T::lit(0.001))
    }
}

/// Adam's rule over one run of scalars, its constants
/// `[lr, beta1, beta2, epsilon, correction1, correction2]` passed by value
/// and every slice its own argument, so that the loop vectorizes; whether
/// the run's momentum and cache stayed finite.
#[inline]
fn adam_run<T: Real>(
    ws: &mut [T],
    gs: &[T],
    ms: &mut [T],
    vs: &mut [T],
    constants: [T; 6],
) -> bool {
    let [lr, beta1, beta2, epsilon, correction1, correction2] = constants;
    let mut finite = true;
    for (((w, &g), m), v) in ws.iter_mut().zip(gs).zip(ms).zip(vs) {
        *m = beta1 * *m + (T::one() - beta1) * g;
        *v = beta2 * *v + (T::one() - beta2) * g * g;
        let m_hat = *m / correction1;
        let v_hat = *v / correction2;
        *w += -lr * m_hat / (v_hat.sqrt() + epsilon);
        finite &= m.is_finite() & v.is_finite();
    }
    finite
}

impl<T: Real> Optimizer<T> for Adam<T> {
    fn step<P: Parameters<T>>(&mut self, params: &mut P, grads: &P) {
        let lr = self.current_learning_rate();
        ensure_len(&mut self.momentum, P::LEN);
        ensure_len(&mut self.cache, P::LEN);
        let t = T::lit((self.iterations + 1) as f64);
        let (beta1, beta2, epsilon) = (self.beta1, self.beta2, self.epsilon);
        let correction1 = T::one() - beta1.powf(t);
        let correction2 = T::one() - beta2.powf(t);
        let (momentum, cache) = (&mut self.momentum, &mut self.cache);
        let mut finite = true;
        params.zip_runs_mut(grads, |k, ws, gs| {
            let (Some(ms), Some(vs)) = (run(momentum, k, ws.len()), run(cache, k, ws.len())) else {
                return;
            };
            let constants = [lr, beta1, beta2, epsilon, correction1, correction2];
            finite &= adam_run(ws, gs, ms, vs, constants);
        });
        self.state_finite = finite;
        self.iterations += 1;
    }

    fn current_learning_rate(&self) -> T {
        self.learning_rate.at(self.iterations)
    }

    fn learning_rate(&self) -> T {
        self.learning_rate.base
    }

    fn set_learning_rate(&mut self, lr: T) {
        self.learning_rate.base = lr;
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn reset(&mut self) {
        self.iterations = 0;
        self.state_finite = true;
        self.momentum.clear();
        self.cache.clear();
    }

    fn validate(&self) -> Result<(), HyperparameterError> {
        self.learning_rate.validate("Adam")?;
        check("Adam", "epsilon", self.epsilon, Range::Positive)?;
        check("Adam", "beta1", self.beta1, Range::Fraction)?;
        check("Adam", "beta2", self.beta2, Range::Fraction)
    }

    fn first_non_finite_state(&self) -> Option<(&'static str, usize)> {
        if self.state_finite {
            return None;
        }
        let momentum = first_non_finite(&self.momentum).map(|k| ("momentum", k));
        momentum.or_else(|| first_non_finite(&self.cache).map(|k| ("cache", k)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::LinearParams;

    /// Parameters `w = [x, 0], b = 0` and gradient `w = [g, 0], b = 0`, so a
    /// test follows one scalar through the update rule.
    fn one(x: f64) -> LinearParams {
        LinearParams {
            w: [x, 0.0],
            b: 0.0,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// Runs `opt` on one scalar starting at 0 with the given gradients and
    /// returns the value after each step.
    fn trajectory<O: Optimizer<f64>>(opt: &mut O, grads: &[f64]) -> Vec<f64> {
        let mut p = one(0.0);
        grads
            .iter()
            .map(|&g| {
                opt.step(&mut p, &one(g));
                p.w[0]
            })
            .collect()
    }

    #[test]
    fn plain_sgd_is_exactly_w_minus_lr_g() {
        let mut p = LinearParams {
            w: [-3.0, -1.0],
            b: 1.0,
        };
        let g = LinearParams {
            w: [1.0, -2.0],
            b: 1.0,
        };
        let mut sgd = Sgd::new(0.001);
        sgd.step(&mut p, &g);
        // The design notes' running example: w = [-3.001, -0.998], b = 0.999.
        assert_eq!(p.w, [-3.0 - 0.001 * 1.0, -1.0 - 0.001 * -2.0]);
        assert_eq!(p.b, 1.0 - 0.001 * 1.0);
        assert_eq!(sgd.iterations(), 1);
        assert_eq!(sgd.current_learning_rate(), 0.001);
    }

    #[test]
    fn sgd_decay_follows_nnfs() {
        // lr 1, decay 0.1, gradient 1 each step:
        // step 0 uses 1/(1+0) = 1         -> w = -1
        // step 1 uses 1/(1+0.1) = 0.90909 -> w = -1.90909...
        // step 2 uses 1/(1+0.2) = 0.83333 -> w = -2.74242...
        let mut sgd = Sgd::new(1.0).with_decay(0.1);
        let w = trajectory(&mut sgd, &[1.0, 1.0, 1.0]);
        assert!(close(w[0], -1.0));
        assert!(close(w[1], -1.0 - 1.0 / 1.1));
        assert!(close(w[2], -1.0 - 1.0 / 1.1 - 1.0 / 1.2));
        assert!(close(sgd.current_learning_rate(), 1.0 / 1.3));
    }

    #[test]
    fn sgd_momentum_follows_nnfs() {
        // lr 0.1, momentum 0.9, gradient 1 each step:
        // u1 = -0.1                   w = -0.1
        // u2 = 0.9 * -0.1 - 0.1 = -0.19   w = -0.29
        // u3 = 0.9 * -0.19 - 0.1 = -0.271 w = -0.561
        let mut sgd = Sgd::new(0.1).with_momentum(0.9);
        let w = trajectory(&mut sgd, &[1.0, 1.0, 1.0]);
        assert!(close(w[0], -0.1));
        assert!(close(w[1], -0.29));
        assert!(close(w[2], -0.561));
    }

    #[test]
    fn adagrad_follows_nnfs() {
        // lr 1, epsilon 0, gradients 2, 1, -2:
        // cache 4 -> w = -2/2 = -1
        // cache 5 -> w = -1 - 1/sqrt(5) = -1.4472135955
        // cache 9 -> w = -1.4472135955 + 2/3 = -0.7805469288
        let mut opt = Adagrad::new(1.0).with_epsilon(0.0);
        let w = trajectory(&mut opt, &[2.0, 1.0, -2.0]);
        assert!(close(w[0], -1.0));
        assert!(close(w[1], -1.0 - 1.0 / 5f64.sqrt()));
        assert!(close(w[2], -1.0 - 1.0 / 5f64.sqrt() + 2.0 / 3.0));
        assert!((w[2] - -0.780_546_928_8).abs() < 1e-9);
    }

    #[test]
    fn rmsprop_follows_nnfs() {
        // lr 0.01, rho 0.9, epsilon 0, gradient 1 twice:
        // cache 0.1              -> w = -0.01/sqrt(0.1)  = -0.0316227766
        // cache 0.09 + 0.1 = 0.19 -> w -= 0.01/sqrt(0.19) -> -0.0545643499
        let mut opt = RmsProp::new(0.01).with_epsilon(0.0);
        let w = trajectory(&mut opt, &[1.0, 1.0]);
        assert!(close(w[0], -0.01 / 0.1f64.sqrt()));
        assert!(close(w[1], -0.01 / 0.1f64.sqrt() - 0.01 / 0.19f64.sqrt()));
        assert!((w[1] - -0.054_564_349_9).abs() < 1e-9);
    }

    #[test]
    fn adam_follows_nnfs() {
        // lr 0.1, beta1 0.9, beta2 0.999, epsilon 0, gradients 1, -1:
        // step 1: m = 0.1, m_hat = 0.1/0.1 = 1; v = 0.001, v_hat = 1
        //         w = -0.1 * 1 / 1 = -0.1
        // step 2: m = 0.09 - 0.1 = -0.01, m_hat = -0.01/0.19 = -0.0526315789
        //         v = 0.000999 + 0.001 = 0.001999, v_hat = 0.001999/0.001999 = 1
        //         w = -0.1 + 0.1 * 0.0526315789 = -0.0947368421
        let mut opt = Adam::new(0.1).with_epsilon(0.0);
        let w = trajectory(&mut opt, &[1.0, -1.0]);
        assert!(close(w[0], -0.1));
        assert!(close(w[1], -0.1 + 0.1 / 19.0));
        assert!((w[1] - -0.094_736_842_1).abs() < 1e-9);
    }

    #[test]
    fn adam_default_epsilon_barely_moves_the_result() {
        let mut opt = Adam::new(0.1);
        let w = trajectory(&mut opt, &[1.0]);
        // -0.1 * 1 / (1 + 1e-7)
        assert!(close(w[0], -0.1 / (1.0 + 1e-7)));
    }

    #[test]
    fn reset_forgets_state() {
        let mut opt = Sgd::new(0.1).with_momentum(0.9).with_decay(1.0);
        let first = trajectory(&mut opt, &[1.0, 1.0]);
        opt.reset();
        assert_eq!(opt.iterations(), 0);
        assert_eq!(trajectory(&mut opt, &[1.0, 1.0]), first);
    }

    /// The message of `opt.validate()`, or "ok".
    fn verdict<O: Optimizer<f64>>(opt: O) -> String {
        match opt.validate() {
            Ok(()) => "ok".to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn invalid_hyperparameters_are_typed_errors() {
        assert_eq!(
            verdict(Sgd::new(f64::NAN)),
            "Sgd: the learning rate is NaN, but it must be a finite number >= 0"
        );
        assert_eq!(
            verdict(Sgd::new(f64::INFINITY)),
            "Sgd: the learning rate is inf, but it must be a finite number >= 0"
        );
        assert_eq!(
            verdict(Adam::new(-0.01)),
            "Adam: the learning rate is -0.01, but it must be a finite number >= 0"
        );
        assert_eq!(
            verdict(Adam::new(0.01).with_beta1(1.0)),
            "Adam: beta1 is 1, but it must be in [0, 1)"
        );
        assert_eq!(
            verdict(Adam::new(0.01).with_beta2(1.5)),
            "Adam: beta2 is 1.5, but it must be in [0, 1)"
        );
        assert_eq!(
            verdict(Adam::new(0.01).with_epsilon(0.0)),
            "Adam: epsilon is 0, but it must be a finite number > 0"
        );
        assert_eq!(
            verdict(RmsProp::new(0.01).with_epsilon(0.0)),
            "RmsProp: epsilon is 0, but it must be a finite number > 0"
        );
        assert_eq!(
            verdict(RmsProp::new(0.01).with_rho(1.0)),
            "RmsProp: rho is 1, but it must be in [0, 1)"
        );
        assert_eq!(
            verdict(Adagrad::new(0.1).with_decay(-1e-3)),
            "Adagrad: the decay is -0.001, but it must be a finite number >= 0"
        );
        assert_eq!(
            verdict(Adagrad::new(0.1).with_epsilon(f64::NAN)),
            "Adagrad: epsilon is NaN, but it must be a finite number > 0"
        );
        assert_eq!(
            verdict(Sgd::new(0.1).with_momentum(1.0)),
            "Sgd: the momentum is 1, but it must be in [0, 1)"
        );
        assert_eq!(
            verdict(Sgd::new(0.1).with_momentum(-0.5)),
            "Sgd: the momentum is -0.5, but it must be in [0, 1)"
        );
        let err = Adam::new(0.01).with_beta1(1.0).validate().unwrap_err();
        assert_eq!(
            err,
            HyperparameterError {
                optimizer: "Adam",
                name: "beta1",
                value: 1.0,
                expected: "in [0, 1)",
            }
        );
        // Defaults and the usual settings are valid, a rate of zero too.
        assert_eq!(verdict(Sgd::default()), "ok");
        assert_eq!(
            verdict(Sgd::new(0.0).with_momentum(0.9).with_decay(1e-3)),
            "ok"
        );
        assert_eq!(verdict(Adagrad::default()), "ok");
        assert_eq!(verdict(RmsProp::default().with_rho(0.0)), "ok");
        assert_eq!(verdict(Adam::default().with_beta1(0.0)), "ok");
        assert_eq!(
            Adam::<f32>::new(f32::NAN)
                .validate()
                .unwrap_err()
                .value
                .to_string(),
            "NaN"
        );
    }

    #[test]
    fn non_finite_state_is_found() {
        // One outlier gradient overflows the squared-gradient caches while
        // the parameters stay finite (the step is m / sqrt(inf) = 0).
        let huge = one(1e200);
        let mut adam = Adam::new(0.01);
        let mut p = one(0.5);
        adam.step(&mut p, &huge);
        assert!(p.w[0].is_finite());
        assert_eq!(adam.first_non_finite_state(), Some(("cache", 0)));
        let mut rmsprop = RmsProp::new(0.01);
        rmsprop.step(&mut one(0.5), &huge);
        assert_eq!(rmsprop.first_non_finite_state(), Some(("cache", 0)));
        let mut adagrad = Adagrad::new(0.01);
        adagrad.step(&mut one(0.5), &huge);
        assert_eq!(adagrad.first_non_finite_state(), Some(("cache", 0)));
        let mut sgd = Sgd::new(1e200).with_momentum(0.5);
        sgd.step(&mut one(0.5), &huge);
        assert_eq!(sgd.first_non_finite_state(), Some(("velocity", 0)));
        // Finite state, and no state at all, are fine.
        let mut adam = Adam::new(0.01);
        adam.step(&mut one(0.5), &one(3.0));
        assert_eq!(adam.first_non_finite_state(), None);
        assert_eq!(Sgd::<f64>::new(0.1).first_non_finite_state(), None);
    }

    #[test]
    fn inconsistent_parameters_do_not_panic_a_step() {
        use crate::testing::Mismatched;
        let grads = Mismatched { v: [1.0, 1.0, 1.0] };
        let mut adam = Adam::new(0.1);
        let mut rmsprop = RmsProp::new(0.1);
        let mut adagrad = Adagrad::new(0.1);
        let mut sgd = Sgd::new(0.1).with_momentum(0.9);
        let mut p = Mismatched { v: [0.0; 3] };
        adam.step(&mut p, &grads);
        rmsprop.step(&mut p, &grads);
        adagrad.step(&mut p, &grads);
        sgd.step(&mut p, &grads);
        // Every scalar the implementation visits moves, the third too.
        assert!(p.v.iter().all(|&v| v < -0.1), "{p:?}");
        assert_eq!(p.v[0], p.v[2]);
    }

    #[test]
    fn clone_from_restores_a_snapshot() {
        let mut adam = Adam::new(0.1).with_decay(0.5);
        let mut snapshot = Adam::new(1.0);
        trajectory(&mut adam, &[1.0, -2.0]);
        snapshot.clone_from(&adam);
        assert_eq!(snapshot, adam);
        let ahead = trajectory(&mut adam, &[0.5]);
        adam.clone_from(&snapshot);
        assert_eq!(trajectory(&mut adam, &[0.5]), ahead);
    }

    /// The learning rate of steps `0..n` under `schedule` from base rate 1.
    fn rates(schedule: Schedule<f64>, n: u64) -> Vec<f64> {
        (0..n).map(|t| schedule.at(1.0, t)).collect()
    }

    #[test]
    fn schedules_follow_their_formulas() {
        assert_eq!(rates(Schedule::Constant, 3), [1.0, 1.0, 1.0]);
        assert_eq!(
            rates(Schedule::InverseTime { decay: 0.5 }, 3),
            [1.0, 1.0 / 1.5, 0.5]
        );
        assert_eq!(
            rates(
                Schedule::Step {
                    every: 2,
                    factor: 0.5
                },
                5
            ),
            [1.0, 1.0, 0.5, 0.5, 0.25]
        );
        assert_eq!(
            rates(Schedule::Exponential { rate: 0.5 }, 3),
            [1.0, 0.5, 0.25]
        );
        // Warm-up over 2 steps, then a half cosine from 1 to 0.1 over
        // steps 2..6, then 0.1.
        let cosine = rates(
            Schedule::Cosine {
                warmup: 2,
                total: 6,
                min: 0.1,
            },
            8,
        );
        let expected = [0.5, 1.0, 1.0, 0.1 + 0.9 * (1.0 + 0.5f64.sqrt()) / 2.0, 0.55];
        for (t, (got, want)) in cosine.iter().zip(expected).enumerate() {
            assert!(close(*got, want), "step {t}: {got} != {want}");
        }
        assert!(close(cosine[5], 0.1 + 0.9 * (1.0 - 0.5f64.sqrt()) / 2.0));
        assert_eq!(&cosine[6..], [0.1, 0.1]);
        // No warm-up starts at the base rate.
        let no_warmup = Schedule::Cosine {
            warmup: 0,
            total: 4,
            min: 0.0,
        };
        assert_eq!(no_warmup.at(2.0, 0), 2.0);
        assert_eq!(no_warmup.at(2.0, 4), 0.0);
    }

    #[test]
    fn every_optimizer_follows_its_schedule_and_keeps_state_when_the_rate_changes() {
        fn check<O: Optimizer<f64> + Clone>(mut opt: O) {
            assert_eq!(opt.learning_rate(), 0.1);
            let mut p = one(0.0);
            opt.step(&mut p, &one(1.0));
            // The schedule applies to the base rate at the step count.
            assert!(close(opt.current_learning_rate(), 0.05));
            // A new base rate keeps the state: it is as if the optimizer
            // had been built with it, the first step aside.
            let mut changed = opt.clone();
            changed.set_learning_rate(0.2);
            assert_eq!(changed.learning_rate(), 0.2);
            assert_eq!(changed.iterations(), 1);
            assert!(close(changed.current_learning_rate(), 0.1));
            let (mut a, mut b) = (p.clone(), p.clone());
            opt.step(&mut a, &one(1.0));
            changed.step(&mut b, &one(1.0));
            // Every update rule is linear in the rate.
            assert!(
                close(b.w[0] - p.w[0], 2.0 * (a.w[0] - p.w[0])),
                "{a:?} {b:?}"
            );
        }
        let step = Schedule::Step {
            every: 1,
            factor: 0.5,
        };
        check(Sgd::new(0.1).with_schedule(step));
        check(Adagrad::new(0.1).with_schedule(step));
        check(RmsProp::new(0.1).with_schedule(step));
        check(Adam::new(0.1).with_schedule(step));
        // A schedule can be replaced mid-way, from the current step.
        let mut adam = Adam::new(1.0);
        trajectory(&mut adam, &[1.0, 1.0]);
        adam.set_schedule(Schedule::Exponential { rate: 0.5 });
        assert_eq!(adam.schedule(), Schedule::Exponential { rate: 0.5 });
        assert_eq!(adam.current_learning_rate(), 0.25);
        // `with_decay` is the inverse-time schedule.
        assert_eq!(
            Sgd::new(1.0).with_decay(0.1).schedule(),
            Schedule::InverseTime { decay: 0.1 }
        );
    }

    #[test]
    fn invalid_schedules_are_typed_errors() {
        assert_eq!(
            verdict(Adam::new(0.1).with_schedule(Schedule::Step {
                every: 0,
                factor: 0.5
            })),
            "Adam: the step schedule's interval is 0, but it must be at least 1 step"
        );
        assert_eq!(
            verdict(Sgd::new(0.1).with_schedule(Schedule::Step {
                every: 3,
                factor: -0.5
            })),
            "Sgd: the step schedule's factor is -0.5, but it must be a finite number > 0"
        );
        assert_eq!(
            verdict(RmsProp::new(0.1).with_schedule(Schedule::Exponential { rate: f64::NAN })),
            "RmsProp: the exponential schedule's rate is NaN, but it must be a finite number > 0"
        );
        assert_eq!(
            verdict(Adagrad::new(0.1).with_schedule(Schedule::Cosine {
                warmup: 10,
                total: 5,
                min: 0.0
            })),
            "Adagrad: the cosine schedule's total is 5, but it must be at least its warm-up"
        );
        assert_eq!(
            verdict(Adam::new(0.1).with_schedule(Schedule::Cosine {
                warmup: 0,
                total: 5,
                min: 0.2
            })),
            "Adam: the cosine schedule's minimum is 0.2, but it must be at most the learning rate"
        );
        let mut adam = Adam::new(0.1);
        adam.set_learning_rate(f64::INFINITY);
        assert_eq!(
            verdict(adam),
            "Adam: the learning rate is inf, but it must be a finite number >= 0"
        );
        assert_eq!(
            verdict(Adam::new(0.1).with_schedule(Schedule::Cosine {
                warmup: 5,
                total: 5,
                min: 0.1
            })),
            "ok"
        );
    }

    #[test]
    fn defaults_match_nnfs() {
        assert_eq!(Sgd::<f64>::default().current_learning_rate(), 1.0);
        assert_eq!(Adagrad::<f64>::default().current_learning_rate(), 1.0);
        assert_eq!(RmsProp::<f64>::default().current_learning_rate(), 0.001);
        assert_eq!(Adam::<f32>::default().current_learning_rate(), 0.001);
    }
}
