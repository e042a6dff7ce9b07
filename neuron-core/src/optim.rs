//! Optimizers: the update rules of "Neural Networks from Scratch" (nnfs),
//! applied to any generated `Params` through [`Parameters::zip_mut`].
//!
//! Every optimizer keeps its per-scalar state (momentums, caches) in flat
//! vectors of length [`Parameters::LEN`], created on the first step, and
//! counts its steps so that learning-rate decay and Adam's bias correction
//! follow nnfs exactly:
//!
//! ```text
//! current_lr = lr / (1 + decay * iterations)   before each step
//! iterations += 1                              after each step
//! ```

use crate::model::Parameters;
use crate::real::Real;

/// Something that updates parameters from their gradients.
pub trait Optimizer<T: Real> {
    /// Applies one update to `params`, given `grads` of the loss with
    /// respect to them (same type, same flat order).
    fn step<P: Parameters<T>>(&mut self, params: &mut P, grads: &P);

    /// The learning rate the next step will use, after decay.
    fn current_learning_rate(&self) -> T;

    /// How many steps have been taken.
    fn iterations(&self) -> u64;

    /// Forgets all state: steps taken, momentums and caches.
    fn reset(&mut self);
}

/// `lr / (1 + decay * iterations)`, exactly `lr` when there is no decay.
fn decayed<T: Real>(lr: T, decay: T, iterations: u64) -> T {
    if decay == T::zero() {
        lr
    } else {
        lr / (T::one() + decay * T::lit(iterations as f64))
    }
}

/// Makes `state` hold `len` zeros unless it already has that length.
fn ensure_len<T: Real>(state: &mut Vec<T>, len: usize) {
    if state.len() != len {
        state.clear();
        state.resize(len, T::zero());
    }
}

/// Stochastic gradient descent with optional learning-rate decay and
/// momentum:
///
/// ```text
/// without momentum: w += -current_lr * g
/// with momentum:    u = momentum * u - current_lr * g;  w += u
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd<T> {
    learning_rate: T,
    decay: T,
    momentum: T,
    iterations: u64,
    velocity: Vec<T>,
}

impl<T: Real> Sgd<T> {
    /// Plain SGD with learning rate `lr`: `w -= lr * g`.
    pub fn new(lr: T) -> Self {
        Sgd {
            learning_rate: lr,
            decay: T::zero(),
            momentum: T::zero(),
            iterations: 0,
            velocity: Vec::new(),
        }
    }

    /// Sets the learning-rate decay: step `t` uses `lr / (1 + decay * t)`.
    pub fn with_decay(mut self, decay: T) -> Self {
        self.decay = decay;
        self
    }

    /// Sets the momentum factor (0 disables momentum).
    pub fn with_momentum(mut self, momentum: T) -> Self {
        self.momentum = momentum;
        self
    }
}

impl<T: Real> Default for Sgd<T> {
    /// nnfs's defaults: learning rate 1, no decay, no momentum.
    fn default() -> Self {
        Sgd::new(T::one())
    }
}

impl<T: Real> Optimizer<T> for Sgd<T> {
    fn step<P: Parameters<T>>(&mut self, params: &mut P, grads: &P) {
        let lr = self.current_learning_rate();
        if self.momentum == T::zero() {
            params.zip_mut(grads, |_, w, g| *w += -lr * g);
        } else {
            ensure_len(&mut self.velocity, P::LEN);
            let (momentum, velocity) = (self.momentum, &mut self.velocity);
            params.zip_mut(grads, |k, w, g| {
                let update = momentum * velocity[k] - lr * g;
                velocity[k] = update;
                *w += update;
            });
        }
        self.iterations += 1;
    }

    fn current_learning_rate(&self) -> T {
        decayed(self.learning_rate, self.decay, self.iterations)
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn reset(&mut self) {
        self.iterations = 0;
        self.velocity.clear();
    }
}

/// Adagrad: each scalar's step shrinks with the sum of its squared
/// gradients.
///
/// ```text
/// cache += g²;  w += -current_lr * g / (sqrt(cache) + epsilon)
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Adagrad<T> {
    learning_rate: T,
    decay: T,
    epsilon: T,
    iterations: u64,
    cache: Vec<T>,
}

impl<T: Real> Adagrad<T> {
    /// Adagrad with learning rate `lr`, no decay and epsilon `1e-7`.
    pub fn new(lr: T) -> Self {
        Adagrad {
            learning_rate: lr,
            decay: T::zero(),
            epsilon: T::lit(1e-7),
            iterations: 0,
            cache: Vec::new(),
        }
    }

    /// Sets the learning-rate decay: step `t` uses `lr / (1 + decay * t)`.
    pub fn with_decay(mut self, decay: T) -> Self {
        self.decay = decay;
        self
    }

    /// Sets the term added to the denominator to avoid dividing by zero.
    pub fn with_epsilon(mut self, epsilon: T) -> Self {
        self.epsilon = epsilon;
        self
    }
}

impl<T: Real> Default for Adagrad<T> {
    /// nnfs's defaults: learning rate 1, no decay, epsilon `1e-7`.
    fn default() -> Self {
        Adagrad::new(T::one())
    }
}

impl<T: Real> Optimizer<T> for Adagrad<T> {
    fn step<P: Parameters<T>>(&mut self, params: &mut P, grads: &P) {
        let lr = self.current_learning_rate();
        ensure_len(&mut self.cache, P::LEN);
        let (epsilon, cache) = (self.epsilon, &mut self.cache);
        params.zip_mut(grads, |k, w, g| {
            cache[k] += g * g;
            *w += -lr * g / (cache[k].sqrt() + epsilon);
        });
        self.iterations += 1;
    }

    fn current_learning_rate(&self) -> T {
        decayed(self.learning_rate, self.decay, self.iterations)
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn reset(&mut self) {
        self.iterations = 0;
        self.cache.clear();
    }
}

/// RMSprop: like Adagrad, but the cache is a moving average of squared
/// gradients.
///
/// ```text
/// cache = rho * cache + (1 - rho) * g²;  w += -current_lr * g / (sqrt(cache) + epsilon)
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RmsProp<T> {
    learning_rate: T,
    decay: T,
    epsilon: T,
    rho: T,
    iterations: u64,
    cache: Vec<T>,
}

impl<T: Real> RmsProp<T> {
    /// RMSprop with learning rate `lr`, no decay, epsilon `1e-7`, rho `0.9`.
    pub fn new(lr: T) -> Self {
        RmsProp {
            learning_rate: lr,
            decay: T::zero(),
            epsilon: T::lit(1e-7),
            rho: T::lit(0.9),
            iterations: 0,
            cache: Vec::new(),
        }
    }

    /// Sets the learning-rate decay: step `t` uses `lr / (1 + decay * t)`.
    pub fn with_decay(mut self, decay: T) -> Self {
        self.decay = decay;
        self
    }

    /// Sets the term added to the denominator to avoid dividing by zero.
    pub fn with_epsilon(mut self, epsilon: T) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Sets the cache's decay rate `rho`.
    pub fn with_rho(mut self, rho: T) -> Self {
        self.rho = rho;
        self
    }
}

impl<T: Real> Default for RmsProp<T> {
    /// nnfs's defaults: learning rate 0.001, no decay, epsilon `1e-7`,
    /// rho 0.9.
    fn default() -> Self {
        RmsProp::new(T::lit(0.001))
    }
}

impl<T: Real> Optimizer<T> for RmsProp<T> {
    fn step<P: Parameters<T>>(&mut self, params: &mut P, grads: &P) {
        let lr = self.current_learning_rate();
        ensure_len(&mut self.cache, P::LEN);
        let (epsilon, rho, cache) = (self.epsilon, self.rho, &mut self.cache);
        params.zip_mut(grads, |k, w, g| {
            cache[k] = rho * cache[k] + (T::one() - rho) * g * g;
            *w += -lr * g / (cache[k].sqrt() + epsilon);
        });
        self.iterations += 1;
    }

    fn current_learning_rate(&self) -> T {
        decayed(self.learning_rate, self.decay, self.iterations)
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn reset(&mut self) {
        self.iterations = 0;
        self.cache.clear();
    }
}

/// Adam: momentum and an RMSprop cache, both bias-corrected.
///
/// ```text
/// m = beta1 * m + (1 - beta1) * g;   m_hat = m / (1 - beta1^(t + 1))
/// v = beta2 * v + (1 - beta2) * g²;  v_hat = v / (1 - beta2^(t + 1))
/// w += -current_lr * m_hat / (sqrt(v_hat) + epsilon)
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Adam<T> {
    learning_rate: T,
    decay: T,
    epsilon: T,
    beta1: T,
    beta2: T,
    iterations: u64,
    momentum: Vec<T>,
    cache: Vec<T>,
}

impl<T: Real> Adam<T> {
    /// Adam with learning rate `lr`, no decay, epsilon `1e-7`, beta1 `0.9`
    /// and beta2 `0.999`.
    pub fn new(lr: T) -> Self {
        Adam {
            learning_rate: lr,
            decay: T::zero(),
            epsilon: T::lit(1e-7),
            beta1: T::lit(0.9),
            beta2: T::lit(0.999),
            iterations: 0,
            momentum: Vec::new(),
            cache: Vec::new(),
        }
    }

    /// Sets the learning-rate decay: step `t` uses `lr / (1 + decay * t)`.
    pub fn with_decay(mut self, decay: T) -> Self {
        self.decay = decay;
        self
    }

    /// Sets the term added to the denominator to avoid dividing by zero.
    pub fn with_epsilon(mut self, epsilon: T) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Sets the momentum's decay rate `beta1`.
    pub fn with_beta1(mut self, beta1: T) -> Self {
        self.beta1 = beta1;
        self
    }

    /// Sets the cache's decay rate `beta2`.
    pub fn with_beta2(mut self, beta2: T) -> Self {
        self.beta2 = beta2;
        self
    }
}

impl<T: Real> Default for Adam<T> {
    /// nnfs's defaults: learning rate 0.001, no decay, epsilon `1e-7`,
    /// beta1 0.9, beta2 0.999.
    fn default() -> Self {
        Adam::new(T::lit(0.001))
    }
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
        params.zip_mut(grads, |k, w, g| {
            momentum[k] = beta1 * momentum[k] + (T::one() - beta1) * g;
            cache[k] = beta2 * cache[k] + (T::one() - beta2) * g * g;
            let m_hat = momentum[k] / correction1;
            let v_hat = cache[k] / correction2;
            *w += -lr * m_hat / (v_hat.sqrt() + epsilon);
        });
        self.iterations += 1;
    }

    fn current_learning_rate(&self) -> T {
        decayed(self.learning_rate, self.decay, self.iterations)
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn reset(&mut self) {
        self.iterations = 0;
        self.momentum.clear();
        self.cache.clear();
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

    #[test]
    fn defaults_match_nnfs() {
        assert_eq!(Sgd::<f64>::default().current_learning_rate(), 1.0);
        assert_eq!(Adagrad::<f64>::default().current_learning_rate(), 1.0);
        assert_eq!(RmsProp::<f64>::default().current_learning_rate(), 0.001);
        assert_eq!(Adam::<f32>::default().current_learning_rate(), 0.001);
    }
}
