//! Losses: how far one output is from its target, and the derivative of
//! that distance with respect to the output, which the training loop feeds
//! to [`crate::Model::backward`] as `dy`.
//!
//! Every loss here is per sample; the training loop averages over a
//! mini-batch by scaling each sample's gradient by `1 / batch_len`.

use crate::real::{Real, Tensor};

/// A loss for models whose output has type `O`.
pub trait Loss<T: Real, O: Tensor<T>> {
    /// What one sample's output is compared with.
    type Target;

    /// The loss of one sample.
    fn loss(&self, output: &O, target: &Self::Target) -> T;

    /// `d loss / d output` for one sample, shaped like the output.
    fn grad(&self, output: &O, target: &Self::Target) -> O;

    /// [`Loss::loss`] and [`Loss::grad`] together, which a loss may compute
    /// in one pass (softmax cross-entropy shares its exponentials). The
    /// training loop calls this once per sample.
    fn loss_and_grad(&self, output: &O, target: &Self::Target) -> (T, O) {
        (self.loss(output, target), self.grad(output, target))
    }

    /// The share of this sample's predictions that are right, in `[0, 1]`,
    /// or `None` when accuracy means nothing for this loss (regression).
    fn accuracy(&self, output: &O, target: &Self::Target) -> Option<T> {
        let _ = (output, target);
        None
    }

    /// Whether `target` is one this loss can handle for outputs of type
    /// `O`, checked by the training loop before it starts.
    fn check_target(&self, target: &Self::Target) -> Result<(), TargetError> {
        let _ = target;
        Ok(())
    }
}

/// Why a target does not fit a loss.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TargetError {
    /// A class index at or beyond the number of classes (the output length).
    #[error("class {class} is out of range: the model outputs {classes} classes (0..{classes})")]
    ClassOutOfRange {
        /// The class index found.
        class: usize,
        /// How many classes the output has.
        classes: usize,
    },
    /// A target value that is NaN or infinite.
    #[error("target value {index} is NaN or infinite")]
    NotFinite {
        /// Its position in the flattened target.
        index: usize,
    },
    /// A binary cross-entropy target outside `[0, 1]`.
    #[error("target value {index} is {value}, but binary cross-entropy needs a value in [0, 1]")]
    NotAProbability {
        /// Its position in the flattened target.
        index: usize,
        /// The value found.
        value: f64,
    },
}

/// Checks that every value of `target` is finite.
fn check_finite<T: Real>(target: &[T]) -> Result<(), TargetError> {
    match target.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(TargetError::NotFinite { index }),
        None => Ok(()),
    }
}

/// The mean of `values`, zero for an empty slice.
fn mean<T: Real>(values: impl ExactSizeIterator<Item = T>) -> T {
    let n = values.len();
    if n == 0 {
        return T::zero();
    }
    values.sum::<T>() / T::lit(n as f64)
}

/// The output itself is the loss (summed over its elements), so training
/// minimises the function: the notes' "push the neuron's output down".
/// The target is `()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Output;

impl<T: Real, O: Tensor<T>> Loss<T, O> for Output {
    type Target = ();

    fn loss(&self, output: &O, _: &()) -> T {
        output.as_slice().iter().copied().sum()
    }

    fn grad(&self, _: &O, _: &()) -> O {
        let mut g = O::zeros();
        g.as_mut_slice().fill(T::one());
        g
    }
}

/// Mean squared error over the output's elements:
/// `mean((output - target)²)`, gradient `2 (output - target) / len`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeanSquaredError;

impl<T: Real, O: Tensor<T>> Loss<T, O> for MeanSquaredError {
    type Target = O;

    fn loss(&self, output: &O, target: &O) -> T {
        let pairs = output.as_slice().iter().zip(target.as_slice());
        mean(pairs.map(|(&y, &t)| (y - t) * (y - t)))
    }

    fn grad(&self, output: &O, target: &O) -> O {
        let mut g = O::zeros();
        let n = T::lit(output.as_slice().len() as f64);
        let pairs = output.as_slice().iter().zip(target.as_slice());
        for (d, (&y, &t)) in g.as_mut_slice().iter_mut().zip(pairs) {
            *d = T::lit(2.0) * (y - t) / n;
        }
        g
    }

    fn check_target(&self, target: &O) -> Result<(), TargetError> {
        check_finite(target.as_slice())
    }
}

/// Binary cross-entropy: each output element is the probability that its
/// target is 1. As in nnfs the probability is clipped to
/// `[1e-7, 1 - 1e-7]` so the loss stays finite, and the loss is averaged
/// over the output's elements. A NaN probability stays NaN (and is never
/// an accurate prediction), so that the training loop sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCrossEntropy;

impl BinaryCrossEntropy {
    fn clip<T: Real>(p: T) -> T {
        let eps = T::lit(1e-7);
        // `max` and `min` return the other operand for a NaN.
        if p.is_nan() {
            p
        } else {
            p.max(eps).min(T::one() - eps)
        }
    }
}

/// Whether the probability `p` is on the same side of 0.5 as the target
/// `y`; never for a NaN `p`.
fn same_side<T: Real>(p: T, y: T) -> bool {
    let half = T::lit(0.5);
    !p.is_nan() && (p > half) == (y > half)
}

impl<T: Real, O: Tensor<T>> Loss<T, O> for BinaryCrossEntropy {
    type Target = O;

    fn loss(&self, output: &O, target: &O) -> T {
        let pairs = output.as_slice().iter().zip(target.as_slice());
        mean(pairs.map(|(&p, &y)| {
            let p = Self::clip(p);
            -(y * p.ln() + (T::one() - y) * (T::one() - p).ln())
        }))
    }

    fn grad(&self, output: &O, target: &O) -> O {
        let mut g = O::zeros();
        let n = T::lit(output.as_slice().len() as f64);
        let pairs = output.as_slice().iter().zip(target.as_slice());
        for (d, (&p, &y)) in g.as_mut_slice().iter_mut().zip(pairs) {
            let p = Self::clip(p);
            *d = -(y / p - (T::one() - y) / (T::one() - p)) / n;
        }
        g
    }

    fn accuracy(&self, output: &O, target: &O) -> Option<T> {
        let pairs = output.as_slice().iter().zip(target.as_slice());
        let hits = pairs.map(
            |(&p, &y)| {
                if same_side(p, y) { T::one() } else { T::zero() }
            },
        );
        Some(mean(hits))
    }

    fn check_target(&self, target: &O) -> Result<(), TargetError> {
        check_finite(target.as_slice())?;
        match target
            .as_slice()
            .iter()
            .position(|&y| y < T::zero() || y > T::one())
        {
            Some(index) => Err(TargetError::NotAProbability {
                index,
                value: target.as_slice()[index].to_f64_lossy(),
            }),
            None => Ok(()),
        }
    }
}

/// Categorical cross-entropy fused with softmax: the output is `K` logits,
/// the target a class index. The loss is `-log_softmax(logits)[target]`
/// and its gradient `softmax(logits) - onehot(target)`, both computed with
/// the largest logit subtracted so that they stay finite for any finite
/// logits.
///
/// A target `>= K` (rejected by [`Loss::check_target`] before training)
/// gives a NaN loss and the softmax as gradient rather than a panic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftmaxCrossEntropy;

impl<T: Real, const K: usize> Loss<T, [T; K]> for SoftmaxCrossEntropy {
    type Target = usize;

    fn loss(&self, logits: &[T; K], &target: &usize) -> T {
        match log_softmax(logits).get(target) {
            Some(&l) => -l,
            None => T::nan(),
        }
    }

    fn grad(&self, logits: &[T; K], &target: &usize) -> [T; K] {
        let mut g = softmax(logits);
        if let Some(g) = g.get_mut(target) {
            *g -= T::one();
        }
        g
    }

    fn loss_and_grad(&self, logits: &[T; K], &target: &usize) -> (T, [T; K]) {
        // One set of exponentials for both: loss = ln Σe - (z_t - max),
        // grad = e / Σe - onehot(t).
        let max = logits.iter().copied().fold(T::neg_infinity(), T::max);
        let mut g = logits.map(|z| (z - max).exp());
        let sum: T = g.iter().copied().sum();
        for v in &mut g {
            *v /= sum;
        }
        let loss = match logits.get(target) {
            Some(&z) => sum.ln() - (z - max),
            None => T::nan(),
        };
        if let Some(g) = g.get_mut(target) {
            *g -= T::one();
        }
        (loss, g)
    }

    fn accuracy(&self, logits: &[T; K], &target: &usize) -> Option<T> {
        let hit = argmax(logits) == Some(target);
        Some(if hit { T::one() } else { T::zero() })
    }

    fn check_target(&self, &class: &usize) -> Result<(), TargetError> {
        if class < K {
            Ok(())
        } else {
            Err(TargetError::ClassOutOfRange { class, classes: K })
        }
    }
}

/// `softmax(logits)`, with the largest logit subtracted first so that no
/// exponential overflows.
pub fn softmax<T: Real, const K: usize>(logits: &[T; K]) -> [T; K] {
    let max = logits.iter().copied().fold(T::neg_infinity(), T::max);
    let mut e = logits.map(|z| (z - max).exp());
    let sum: T = e.iter().copied().sum();
    for v in &mut e {
        *v /= sum;
    }
    e
}

/// `ln(softmax(logits))`, computed as `z - max - ln(sum(exp(z - max)))` so
/// that it is finite for any finite logits.
pub fn log_softmax<T: Real, const K: usize>(logits: &[T; K]) -> [T; K] {
    let max = logits.iter().copied().fold(T::neg_infinity(), T::max);
    let log_sum = logits.iter().map(|&z| (z - max).exp()).sum::<T>().ln();
    logits.map(|z| z - max - log_sum)
}

/// The index of the largest value (the first one on ties), or `None` for
/// an empty slice or one holding NaN.
pub fn argmax<T: Real>(values: &[T]) -> Option<usize> {
    if values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut best = None;
    for (k, &v) in values.iter().enumerate() {
        match best {
            Some((_, b)) if v <= b => {}
            _ => best = Some((k, v)),
        }
    }
    best.map(|(k, _)| k)
}

/// The share of `outputs` whose [`argmax`] equals the class in `targets`;
/// zero for no samples.
pub fn class_accuracy<T: Real, const K: usize>(outputs: &[[T; K]], targets: &[usize]) -> f64 {
    let hits = outputs
        .iter()
        .zip(targets)
        .filter(|(o, t)| argmax(o.as_slice()) == Some(**t))
        .count();
    let n = outputs.len().min(targets.len());
    if n == 0 { 0.0 } else { hits as f64 / n as f64 }
}

/// The share of probabilities in `outputs` that fall on the same side of
/// 0.5 as the matching value in `targets` (a NaN never does); zero for no
/// values.
pub fn binary_accuracy<T: Real>(outputs: &[T], targets: &[T]) -> f64 {
    let hits = outputs
        .iter()
        .zip(targets)
        .filter(|&(&p, &y)| same_side(p, y))
        .count();
    let n = outputs.len().min(targets.len());
    if n == 0 { 0.0 } else { hits as f64 / n as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fused_softmax_cross_entropy_matches_the_separate_parts() {
        let cases: [([f64; 3], usize); 5] = [
            ([0.5, -1.0, 2.0], 0),
            ([0.5, -1.0, 2.0], 2),
            ([1000.0, -1000.0, 0.0], 1),
            ([-1000.0, -1000.0, -1000.0], 2),
            ([3.0, 3.0, -7.5], 0),
        ];
        for (logits, target) in cases {
            let (loss, grad) = SoftmaxCrossEntropy.loss_and_grad(&logits, &target);
            let separate = SoftmaxCrossEntropy.loss(&logits, &target);
            assert!(
                (loss - separate).abs() <= 1e-12 * separate.abs().max(1.0),
                "{logits:?}: {loss} vs {separate}"
            );
            let g = SoftmaxCrossEntropy.grad(&logits, &target);
            for (a, b) in grad.iter().zip(&g) {
                assert!((a - b).abs() <= 1e-15, "{logits:?}: {grad:?} vs {g:?}");
            }
        }
        // Out of range: a NaN loss, which the training loop reports.
        assert!(
            SoftmaxCrossEntropy
                .loss_and_grad(&[0.0f64; 3], &5)
                .0
                .is_nan()
        );
    }

    /// Checks `loss.grad` against central finite differences of
    /// `loss.loss`, element by element.
    fn check_grad<O: Tensor<f64> + core::fmt::Debug, L: Loss<f64, O>>(
        loss: &L,
        output: O,
        target: &L::Target,
        h: f64,
    ) {
        let analytic = loss.grad(&output, target);
        for k in 0..output.as_slice().len() {
            let mut plus = output;
            plus.as_mut_slice()[k] += h;
            let mut minus = output;
            minus.as_mut_slice()[k] -= h;
            let numeric = (loss.loss(&plus, target) - loss.loss(&minus, target)) / (2.0 * h);
            let a = analytic.as_slice()[k];
            let err = (a - numeric).abs() / a.abs().max(numeric.abs()).max(1.0);
            assert!(
                err < 1e-6,
                "element {k} of {output:?}: analytic {a}, numeric {numeric}"
            );
        }
    }

    #[test]
    fn output_loss_is_the_output() {
        assert_eq!(Loss::<f64, f64>::loss(&Output, &6.0, &()), 6.0);
        assert_eq!(Loss::<f64, [f64; 2]>::loss(&Output, &[1.0, 2.0], &()), 3.0);
        check_grad(&Output, 6.0, &(), 1e-5);
        check_grad(&Output, [1.0, -2.0, 3.0], &(), 1e-5);
    }

    #[test]
    fn mean_squared_error_matches_finite_differences() {
        // mean((1-0)², (2-4)²) = (1 + 4) / 2
        assert_eq!(MeanSquaredError.loss(&[1.0, 2.0], &[0.0, 4.0]), 2.5);
        assert_eq!(MeanSquaredError.grad(&[1.0, 2.0], &[0.0, 4.0]), [1.0, -2.0]);
        check_grad(&MeanSquaredError, 0.3, &-1.2, 1e-5);
        check_grad(&MeanSquaredError, [0.3, 4.0, -7.0], &[1.0, 2.0, 3.0], 1e-5);
    }

    #[test]
    fn binary_cross_entropy_matches_finite_differences() {
        let l: f64 = BinaryCrossEntropy.loss(&0.8, &1.0);
        assert!((l - -(0.8f64.ln())).abs() < 1e-15);
        check_grad(&BinaryCrossEntropy, 0.8, &1.0, 1e-6);
        check_grad(&BinaryCrossEntropy, 0.3, &0.0, 1e-6);
        check_grad(
            &BinaryCrossEntropy,
            [0.1, 0.6, 0.99],
            &[0.0, 1.0, 1.0],
            1e-7,
        );
    }

    #[test]
    fn binary_cross_entropy_is_clipped() {
        let l: f64 = BinaryCrossEntropy.loss(&0.0, &1.0);
        assert!((l - -(1e-7f64.ln())).abs() < 1e-9);
        let g: f64 = BinaryCrossEntropy.grad(&1.0, &0.0);
        assert!(g.is_finite());
    }

    #[test]
    fn binary_cross_entropy_keeps_nan_outputs_nan() {
        // Clipping with `max` would turn a NaN probability into 1e-7.
        let loss: f64 = BinaryCrossEntropy.loss(&f64::NAN, &0.0);
        assert!(loss.is_nan(), "{loss}");
        let grad: f64 = BinaryCrossEntropy.grad(&f64::NAN, &1.0);
        assert!(grad.is_nan(), "{grad}");
        let (loss, _) = BinaryCrossEntropy.loss_and_grad(&[0.5, f64::NAN], &[1.0, 0.0]);
        assert!(loss.is_nan(), "{loss}");
        // A NaN prediction is never right.
        assert_eq!(BinaryCrossEntropy.accuracy(&f64::NAN, &0.0), Some(0.0));
        assert_eq!(BinaryCrossEntropy.accuracy(&f64::NAN, &1.0), Some(0.0));
        assert_eq!(binary_accuracy(&[f64::NAN, 0.2], &[0.0, 0.0]), 0.5);
    }

    #[test]
    fn softmax_cross_entropy_matches_finite_differences() {
        check_grad(&SoftmaxCrossEntropy, [0.5, -1.0, 2.0], &0, 1e-5);
        check_grad(&SoftmaxCrossEntropy, [0.5, -1.0, 2.0], &2, 1e-5);
        // Uniform logits: loss ln(3), gradient 1/3 - onehot.
        let l: f64 = SoftmaxCrossEntropy.loss(&[1.0; 3], &1);
        assert!((l - 3f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn softmax_cross_entropy_is_finite_at_huge_logits() {
        let logits = [1000.0, -1000.0, 0.5];
        for target in 0..3 {
            let l: f64 = SoftmaxCrossEntropy.loss(&logits, &target);
            assert!(l.is_finite(), "loss for target {target} is {l}");
            let g = SoftmaxCrossEntropy.grad(&logits, &target);
            assert!(g.iter().all(|v| v.is_finite()));
            check_grad(&SoftmaxCrossEntropy, logits, &target, 1e-4);
        }
        // Class 1 is 2000 below the best logit.
        let l: f64 = SoftmaxCrossEntropy.loss(&logits, &1);
        assert!((l - 2000.0).abs() < 1e-9);
        check_grad(&SoftmaxCrossEntropy, [-1000.0, -1000.0, 1000.0], &0, 1e-4);
    }

    #[test]
    fn out_of_range_class_is_a_typed_error_not_a_panic() {
        let loss = SoftmaxCrossEntropy;
        let check = Loss::<f64, [f64; 3]>::check_target(&loss, &3);
        assert_eq!(
            check,
            Err(TargetError::ClassOutOfRange {
                class: 3,
                classes: 3
            })
        );
        assert_eq!(
            check.unwrap_err().to_string(),
            "class 3 is out of range: the model outputs 3 classes (0..3)"
        );
        assert!(loss.loss(&[0.0f64; 3], &7).is_nan());
        assert_eq!(loss.grad(&[0.0f64; 2], &7), [0.5, 0.5]);
    }

    #[test]
    fn bad_targets_are_reported() {
        let bce = BinaryCrossEntropy;
        assert_eq!(
            Loss::<f64, [f64; 2]>::check_target(&bce, &[0.0, 2.0]),
            Err(TargetError::NotAProbability {
                index: 1,
                value: 2.0
            })
        );
        assert_eq!(
            Loss::<f64, f64>::check_target(&MeanSquaredError, &f64::NAN),
            Err(TargetError::NotFinite { index: 0 })
        );
    }

    #[test]
    fn accuracy_helpers() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), Some(1));
        assert_eq!(argmax::<f64>(&[]), None);
        assert_eq!(argmax(&[1.0, f64::NAN]), None);
        let outputs = [[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]];
        assert_eq!(class_accuracy(&outputs, &[1, 0, 0]), 2.0 / 3.0);
        assert_eq!(
            binary_accuracy(&[0.9, 0.4, 0.6], &[1.0, 0.0, 0.0]),
            2.0 / 3.0
        );
        assert_eq!(SoftmaxCrossEntropy.accuracy(&[0.1, 0.9], &1), Some(1.0));
        assert_eq!(
            BinaryCrossEntropy.accuracy(&[0.9, 0.4], &[1.0, 1.0]),
            Some(0.5)
        );
        assert_eq!(
            Loss::<f64, f64>::accuracy(&MeanSquaredError, &1.0, &1.0),
            None
        );
    }

    proptest::proptest! {
        #[test]
        fn softmax_cross_entropy_is_finite_and_its_gradient_sums_to_zero(
            logits in proptest::array::uniform4(-1e4f64..1e4),
            target in 0usize..4,
        ) {
            let loss = SoftmaxCrossEntropy.loss(&logits, &target);
            proptest::prop_assert!(loss.is_finite() && loss >= 0.0);
            let grad = SoftmaxCrossEntropy.grad(&logits, &target);
            proptest::prop_assert!(grad.iter().sum::<f64>().abs() < 1e-12);
            proptest::prop_assert!(grad[target] <= 0.0);
        }
    }

    #[test]
    fn softmax_sums_to_one() {
        let s = softmax(&[1000.0f32, 0.0, -1000.0]);
        assert_eq!(s, [1.0, 0.0, 0.0]);
        let s = softmax(&[1.0f64, 2.0, 3.0]);
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    }
}
