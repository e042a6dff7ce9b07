//! L1 and L2 regularization of weights and biases, with the λ names of
//! "Neural Networks from Scratch":
//!
//! ```text
//! regularization loss = weight_regularizer_l1 * Σ |w| + weight_regularizer_l2 * Σ w²
//!                     + bias_regularizer_l1   * Σ |b| + bias_regularizer_l2   * Σ b²
//! its gradient        = λ_l1 * sign(w) + 2 * λ_l2 * w      for each scalar w
//! ```
//!
//! The sums run over every scalar of the fields of each [`Role`]: a field
//! is a weight or a bias by [`crate::Field::role`]'s rule (matrices are
//! weights; vectors and scalars named `b`, `b1`, `b_…`, `bias…` are
//! biases; any other vector or scalar is a weight), overridden by name
//! with [`Regularizer::weight`] and [`Regularizer::bias`].
//!
//! The [`crate::Trainer`] adds the gradient once per optimizer step, to
//! the mini-batch's mean data gradient, as nnfs's layers do, and reports
//! the regularization loss apart from the data loss
//! ([`crate::EpochStats::regularization_loss`]). `sign(0)` is `0`, the
//! language's kink rule for `abs` (nnfs uses `1` there).

use crate::model::{Field, Parameters, Role, Roles, UnknownParameter};
use crate::optim::{HyperparameterError, Range, check};
use crate::real::Real;
use alloc::vec::Vec;

/// The λs of L1 and L2 regularization of weights and biases, all `0`
/// (off) until set.
///
/// ```
/// use neuron_core::Regularizer;
///
/// // nnfs's chapter 14 model: L2 of 5e-4 on the weights and the biases.
/// let l2 = Regularizer::new()
///     .weight_regularizer_l2(5e-4)
///     .bias_regularizer_l2(5e-4);
/// # let _ = l2;
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Regularizer {
    weight_l1: f64,
    weight_l2: f64,
    bias_l1: f64,
    bias_l2: f64,
    roles: Roles,
}

impl Regularizer {
    /// No regularization.
    pub fn new() -> Self {
        Regularizer::default()
    }

    /// L2 of `lambda` on the weights only, the usual weight decay.
    pub fn l2(lambda: f64) -> Self {
        Regularizer::new().weight_regularizer_l2(lambda)
    }

    /// λ of `Σ |w|` over the weights.
    pub fn weight_regularizer_l1(mut self, lambda: f64) -> Self {
        self.weight_l1 = lambda;
        self
    }

    /// λ of `Σ w²` over the weights.
    pub fn weight_regularizer_l2(mut self, lambda: f64) -> Self {
        self.weight_l2 = lambda;
        self
    }

    /// λ of `Σ |b|` over the biases.
    pub fn bias_regularizer_l1(mut self, lambda: f64) -> Self {
        self.bias_l1 = lambda;
        self
    }

    /// λ of `Σ b²` over the biases.
    pub fn bias_regularizer_l2(mut self, lambda: f64) -> Self {
        self.bias_l2 = lambda;
        self
    }

    /// Treats the field `name` as a weight.
    pub fn weight(mut self, name: &str) -> Self {
        self.roles = self.roles.weight(name);
        self
    }

    /// Treats the field `name` as a bias.
    pub fn bias(mut self, name: &str) -> Self {
        self.roles = self.roles.bias(name);
        self
    }

    /// Whether every λ is zero.
    pub fn is_off(&self) -> bool {
        [self.weight_l1, self.weight_l2, self.bias_l1, self.bias_l2] == [0.0; 4]
    }

    /// Checks that every λ is a finite number `>= 0`.
    ///
    /// # Errors
    ///
    /// A [`HyperparameterError`] naming the first that is not.
    pub fn validate(&self) -> Result<(), HyperparameterError> {
        for (name, value) in [
            ("weight_regularizer_l1", self.weight_l1),
            ("weight_regularizer_l2", self.weight_l2),
            ("bias_regularizer_l1", self.bias_l1),
            ("bias_regularizer_l2", self.bias_l2),
        ] {
            check("Regularizer", name, value, Range::NonNegative)?;
        }
        Ok(())
    }

    /// The regularization loss of `params`.
    ///
    /// # Errors
    ///
    /// [`UnknownParameter`] when [`Regularizer::weight`] or
    /// [`Regularizer::bias`] named a field `P` does not have.
    pub fn loss<T: Real, P: Parameters<T>>(&self, params: &P) -> Result<f64, UnknownParameter> {
        let prepared = self.prepare::<T>(P::FIELDS)?;
        let mut walk = prepared.walk();
        let mut loss = T::zero();
        params.for_each(|k, w| {
            let [l1, l2] = walk.lambdas(k);
            loss += l1 * w.abs() + l2 * w * w;
        });
        Ok(loss.to_f64_lossy())
    }

    /// The λs of each field, for the training loop.
    pub(crate) fn prepare<T: Real>(
        &self,
        fields: &[Field],
    ) -> Result<Prepared<T>, UnknownParameter> {
        self.roles.check(fields)?;
        let lambdas = |role| match role {
            Role::Weight => [T::lit(self.weight_l1), T::lit(self.weight_l2)],
            Role::Bias => [T::lit(self.bias_l1), T::lit(self.bias_l2)],
        };
        Ok(Prepared {
            ranges: self
                .roles
                .ranges(fields)
                .into_iter()
                .map(|(end, role)| (end, lambdas(role)))
                .collect(),
            off: self.is_off(),
        })
    }
}

/// A [`Regularizer`] resolved against a parameter layout: for each field,
/// the index one past its last scalar and its `[λ_l1, λ_l2]`.
// Used by the training loop, which needs `std`.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
#[derive(Clone, Debug)]
pub(crate) struct Prepared<T> {
    ranges: Vec<(usize, [T; 2])>,
    off: bool,
}

// Used by the training loop, which needs `std`.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
impl<T: Real> Prepared<T> {
    /// Whether there is nothing to add.
    pub(crate) fn is_off(&self) -> bool {
        self.off
    }

    fn walk(&self) -> Walk<'_, T> {
        Walk {
            ranges: &self.ranges,
            at: 0,
        }
    }

    /// Adds the regularization gradient at `params` to `grads` and returns
    /// the regularization loss, in one pass.
    pub(crate) fn add_gradient<P: Parameters<T>>(&self, params: &P, grads: &mut P) -> T {
        let mut walk = self.walk();
        let mut loss = T::zero();
        let two = T::lit(2.0);
        grads.zip_mut(params, |k, g, w| {
            let [l1, l2] = walk.lambdas(k);
            loss += l1 * w.abs() + l2 * w * w;
            // sign(0) = 0; a NaN weight stays NaN.
            let sign = if w > T::zero() {
                T::one()
            } else if w < T::zero() {
                -T::one()
            } else {
                w * T::zero()
            };
            *g += l1 * sign + two * l2 * w;
        });
        loss
    }
}

/// Finds each scalar's λs, scalars coming in flat order.
struct Walk<'a, T> {
    ranges: &'a [(usize, [T; 2])],
    at: usize,
}

impl<T: Real> Walk<'_, T> {
    #[inline]
    fn lambdas(&mut self, k: usize) -> [T; 2] {
        while self.ranges.get(self.at).is_some_and(|&(end, _)| k >= end) {
            self.at += 1;
        }
        self.ranges
            .get(self.at)
            .map_or([T::zero(); 2], |&(_, lambdas)| lambdas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{DenseParams, LinearParams};

    #[test]
    fn the_loss_and_gradient_follow_nnfs() {
        // w = [1, -2] (weights by name), b = 3 (a bias).
        let params = LinearParams {
            w: [1.0, -2.0],
            b: 3.0,
        };
        let reg = Regularizer::new()
            .weight_regularizer_l1(0.1)
            .weight_regularizer_l2(0.01)
            .bias_regularizer_l1(0.5)
            .bias_regularizer_l2(0.25);
        // 0.1 * 3 + 0.01 * 5 + 0.5 * 3 + 0.25 * 9
        let loss = reg.loss(&params).unwrap();
        assert!((loss - (0.3 + 0.05 + 1.5 + 2.25)).abs() < 1e-12, "{loss}");
        let mut grads = LinearParams {
            w: [10.0, 10.0],
            b: 10.0,
        };
        let prepared = reg
            .prepare::<f64>(<LinearParams as Parameters<f64>>::FIELDS)
            .unwrap();
        let same = prepared.add_gradient(&params, &mut grads);
        assert_eq!(same, loss);
        assert_eq!(grads.w, [10.0 + (0.1 + 0.02), 10.0 + (-0.1 - 0.04)]);
        assert_eq!(grads.b, 10.0 + (0.5 + 1.5));
    }

    #[test]
    fn roles_follow_the_rule_and_the_overrides() {
        let dense = DenseParams {
            w: [[1.0, 1.0]; 3],
            b: [1.0; 3],
        };
        let weights = Regularizer::l2(1.0);
        assert_eq!(weights.loss(&dense).unwrap(), 6.0);
        assert_eq!(
            Regularizer::new()
                .bias_regularizer_l1(1.0)
                .loss(&dense)
                .unwrap(),
            3.0
        );
        // `b` as a weight: all nine scalars.
        assert_eq!(weights.clone().weight("b").loss(&dense).unwrap(), 9.0);
        assert_eq!(weights.clone().bias("w").loss(&dense).unwrap(), 0.0);
        let err = weights.weight("bias").loss(&dense).unwrap_err();
        assert_eq!(
            err.to_string(),
            "there is no parameter named `bias`; the parameters are `w`, `b`"
        );
    }

    #[test]
    fn sign_of_zero_is_zero_and_lambdas_are_checked() {
        let params = LinearParams {
            w: [0.0, -0.0],
            b: 0.0,
        };
        let mut grads = LinearParams {
            w: [0.0, 0.0],
            b: 0.0,
        };
        let prepared = Regularizer::new()
            .weight_regularizer_l1(1.0)
            .prepare::<f64>(<LinearParams as Parameters<f64>>::FIELDS)
            .unwrap();
        prepared.add_gradient(&params, &mut grads);
        assert_eq!(grads.w, [0.0, 0.0]);
        assert_eq!(
            Regularizer::new()
                .bias_regularizer_l2(-1.0)
                .validate()
                .unwrap_err()
                .to_string(),
            "Regularizer: bias_regularizer_l2 is -1, but it must be a finite number >= 0"
        );
        assert!(Regularizer::l2(f64::NAN).validate().is_err());
        assert!(Regularizer::new().is_off());
        assert!(!Regularizer::l2(1e-4).is_off());
    }
}
