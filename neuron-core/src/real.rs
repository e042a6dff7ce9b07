//! The float abstraction every generated function is written against.
//!
//! `Real` adds to `num_traits::Float` the few activations the language names
//! that `f32` and `f64` do not have as inherent methods, each in its
//! numerically stable form. Their names never collide with a `Float` method,
//! so a generic `T: Real` body resolves every method without ambiguity.
//! A NaN stays NaN through every one of them.
//!
//! `Tensor` views outputs, arguments and parameter fields of any shape as
//! flat slices; `Scalars` walks every input type the macro generates
//! (tuples included), so the training loop can check inputs.

use core::fmt::{Debug, Display};
use core::iter::Sum;
use core::ops::{AddAssign, DivAssign, MulAssign, SubAssign};
/// The float trait `Real` builds on, re-exported so that generated code
/// can bring its methods into scope: without `std`, `f32` and `f64` have
/// `exp`, `ln`, `tanh`, ... only through it (from `libm`).
pub use num_traits::Float;

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

/// A real number type: `f32` or `f64`.
pub trait Real:
    Float
    + Debug
    + Display
    + Default
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Send
    + Sync
    + 'static
{
    /// A literal written in the source, converted to this type.
    fn lit(x: f64) -> Self;

    /// This value as an `f64`, for reporting.
    fn to_f64_lossy(self) -> f64;

    /// `max(x, 0)`; the kink at zero has derivative 0, and a NaN stays NaN.
    #[inline]
    fn relu(self) -> Self {
        if self <= Self::zero() {
            Self::zero()
        } else {
            self
        }
    }

    /// The larger of `self` and `other`, `other` at a tie, and NaN when
    /// either is NaN (`f64::max` would return the other one).
    #[inline]
    fn max_or_nan(self, other: Self) -> Self {
        if self > other || self.is_nan() {
            self
        } else {
            other
        }
    }

    /// The smaller of `self` and `other`, `other` at a tie, and NaN when
    /// either is NaN (`f64::min` would return the other one).
    #[inline]
    fn min_or_nan(self, other: Self) -> Self {
        if self < other || self.is_nan() {
            self
        } else {
            other
        }
    }

    /// `x` where `x > 0`, else `a * x`.
    #[inline]
    fn leaky_relu(self, a: Self) -> Self {
        if self > Self::zero() { self } else { a * self }
    }

    /// `1 / (1 + e^-x)`, computed without overflow for any finite `x`.
    #[inline]
    fn sigmoid(self) -> Self {
        if self >= Self::zero() {
            Self::one() / (Self::one() + (-self).exp())
        } else {
            let e = self.exp();
            e / (Self::one() + e)
        }
    }

    /// `ln(1 + e^x)`, computed as `max(x, 0) + ln(1 + e^-|x|)` so that it
    /// neither overflows for large `x` nor loses precision for small `x`.
    #[inline]
    fn softplus(self) -> Self {
        self.max(Self::zero()) + (-self.abs()).exp().ln_1p()
    }

    /// `x * sigmoid(x)`, the swish: `silu(-1000) = -0`, never NaN for a
    /// finite `x`.
    #[inline]
    fn silu(self) -> Self {
        self * self.sigmoid()
    }

    /// `Φ(x)`, the standard normal distribution function, as
    /// `erfc(-x / √2) / 2` (from `libm`), so that the lower tail keeps its
    /// precision instead of cancelling to 0.
    fn normal_cdf(self) -> Self;

    /// `x * Φ(x)`, the exact GELU (not its tanh approximation).
    #[inline]
    fn gelu(self) -> Self {
        self * self.normal_cdf()
    }

    /// `x` where `x > 0`, else `a * (e^x - 1)`, with `e^x - 1` computed by
    /// `exp_m1` so that it keeps its precision near 0.
    #[inline]
    fn elu(self, a: Self) -> Self {
        if self > Self::zero() {
            self
        } else {
            a * self.exp_m1()
        }
    }

    /// `x / (1 + |x|)`.
    #[inline]
    fn softsign(self) -> Self {
        self / (Self::one() + self.abs())
    }

    /// `min(max(x, lo), hi)`: `hi` where `lo > hi`, and NaN where any
    /// operand is NaN. Unlike `f64::clamp` it never panics.
    #[inline]
    fn clip(self, lo: Self, hi: Self) -> Self {
        let m = if self > lo || self.is_nan() { self } else { lo };
        if m < hi || m.is_nan() { m } else { hi }
    }

    /// `ln(sigmoid(x)) = -softplus(-x)`, finite for any finite `x`.
    #[inline]
    fn log_sigmoid(self) -> Self {
        -(-self).softplus()
    }
}

impl Real for f32 {
    #[inline]
    fn lit(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn to_f64_lossy(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    fn normal_cdf(self) -> Self {
        0.5 * libm::erfcf(-self * core::f32::consts::FRAC_1_SQRT_2)
    }
}

impl Real for f64 {
    #[inline]
    fn lit(x: f64) -> Self {
        x
    }
    #[inline]
    fn to_f64_lossy(self) -> f64 {
        self
    }
    #[inline]
    fn normal_cdf(self) -> Self {
        0.5 * libm::erfc(-self * core::f64::consts::FRAC_1_SQRT_2)
    }
}

/// A scalar, vector or matrix of `T` viewed as a flat row-major slice:
/// losses see any model output this way, and generated code walks
/// arguments and parameter fields of any shape with it.
pub trait Tensor<T>: Copy {
    /// A value of this shape filled with zeros.
    fn zeros() -> Self;
    /// A value of this shape filled with zeros, on the heap, built there:
    /// no whole value passes through the stack, however large.
    fn boxed_zeros() -> Box<Self>;
    /// The scalars in order.
    fn as_slice(&self) -> &[T];
    /// The scalars in order, mutably.
    fn as_mut_slice(&mut self) -> &mut [T];
    /// `flat` seen as a value of this shape, in place: `None` unless it
    /// holds exactly as many scalars. A called neuron's `backward_add`
    /// takes its accumulators flat and sees them through this.
    fn from_flat_mut(flat: &mut [T]) -> Option<&mut Self>;
}

impl<T: Real> Tensor<T> for T {
    fn zeros() -> Self {
        T::zero()
    }
    fn boxed_zeros() -> Box<Self> {
        Box::new(T::zero())
    }
    fn as_slice(&self) -> &[T] {
        core::slice::from_ref(self)
    }
    fn as_mut_slice(&mut self) -> &mut [T] {
        core::slice::from_mut(self)
    }
    fn from_flat_mut(flat: &mut [T]) -> Option<&mut Self> {
        match flat {
            [x] => Some(x),
            _ => None,
        }
    }
}

impl<T: Real, const K: usize> Tensor<T> for [T; K] {
    fn zeros() -> Self {
        [T::zero(); K]
    }
    fn boxed_zeros() -> Box<Self> {
        // A boxed slice of exactly `K` elements converts; the fallback is
        // never taken.
        vec![T::zero(); K]
            .into_boxed_slice()
            .try_into()
            .unwrap_or_else(|_| Box::new([T::zero(); K]))
    }
    fn as_slice(&self) -> &[T] {
        self
    }
    fn as_mut_slice(&mut self) -> &mut [T] {
        self
    }
    fn from_flat_mut(flat: &mut [T]) -> Option<&mut Self> {
        flat.try_into().ok()
    }
}

impl<T: Real, const N: usize, const M: usize> Tensor<T> for [[T; N]; M] {
    fn zeros() -> Self {
        [[T::zero(); N]; M]
    }
    fn boxed_zeros() -> Box<Self> {
        // Rows are built one at a time; a boxed slice of exactly `M` rows
        // converts, and the fallback is never taken.
        vec![[T::zero(); N]; M]
            .into_boxed_slice()
            .try_into()
            .unwrap_or_else(|_| Box::new([[T::zero(); N]; M]))
    }
    fn as_slice(&self) -> &[T] {
        self.as_flattened()
    }
    fn as_mut_slice(&mut self) -> &mut [T] {
        self.as_flattened_mut()
    }
    fn from_flat_mut(flat: &mut [T]) -> Option<&mut Self> {
        if N == 0 {
            // Rows of nothing: only an empty slice holds `M` of them, and
            // the value has no size, so its box allocates nothing.
            return if flat.is_empty() {
                Some(Box::leak(Box::new([[T::zero(); N]; M])))
            } else {
                None
            };
        }
        let (rows, rest) = flat.as_chunks_mut::<N>();
        if rest.is_empty() {
            rows.try_into().ok()
        } else {
            None
        }
    }
}

/// A value made of scalars of type `T`: a scalar, an array or nested
/// array of them, a tuple or `Vec` of such values, or `()` — every
/// [`crate::Model::Input`] that `#[neuron]` generates. The training loop
/// reads inputs through it to refuse NaN and infinities before it starts.
pub trait Scalars<T> {
    /// Calls `f` on every scalar, in row-major order, tuple fields in
    /// order.
    fn each_scalar<F: FnMut(T)>(&self, f: &mut F);
}

impl<T: Real> Scalars<T> for T {
    fn each_scalar<F: FnMut(T)>(&self, f: &mut F) {
        f(*self);
    }
}

impl<T: Real, const K: usize> Scalars<T> for [T; K] {
    fn each_scalar<F: FnMut(T)>(&self, f: &mut F) {
        self.iter().for_each(|&v| f(v));
    }
}

impl<T: Real, const N: usize, const M: usize> Scalars<T> for [[T; N]; M] {
    fn each_scalar<F: FnMut(T)>(&self, f: &mut F) {
        self.as_flattened().iter().for_each(|&v| f(v));
    }
}

impl<T> Scalars<T> for () {
    fn each_scalar<F: FnMut(T)>(&self, _: &mut F) {}
}

/// For hand-written models whose input is a vector.
impl<T, A: Scalars<T>> Scalars<T> for Vec<A> {
    fn each_scalar<F: FnMut(T)>(&self, f: &mut F) {
        self.iter().for_each(|a| a.each_scalar(f));
    }
}

/// `Scalars` for tuples of up to twelve values, each field in turn.
macro_rules! tuple_scalars {
    ($($name:ident $index:tt),+) => {
        impl<T, $($name: Scalars<T>),+> Scalars<T> for ($($name,)+) {
            fn each_scalar<Z: FnMut(T)>(&self, f: &mut Z) {
                $(self.$index.each_scalar(f);)+
            }
        }
    };
}

tuple_scalars!(A 0);
tuple_scalars!(A 0, B 1);
tuple_scalars!(A 0, B 1, C 2);
tuple_scalars!(A 0, B 1, C 2, D 3);
tuple_scalars!(A 0, B 1, C 2, D 3, E 4);
tuple_scalars!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_scalars!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_scalars!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_scalars!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_scalars!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_scalars!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_scalars!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_finite_and_correct_at_extremes() {
        assert_eq!(1000.0f64.sigmoid(), 1.0);
        assert_eq!((-1000.0f64).sigmoid(), 0.0);
        assert!((0.0f64.sigmoid() - 0.5).abs() < 1e-15);
        assert!((2.0f64.sigmoid() - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-15);
    }

    #[test]
    fn softplus_is_finite_and_correct_at_extremes() {
        assert_eq!(1000.0f64.softplus(), 1000.0);
        assert!((-1000.0f64).softplus() >= 0.0);
        assert!((-1000.0f64).softplus() < 1e-300);
        assert!((1.5f64.softplus() - (1.0 + 1.5f64.exp()).ln()).abs() < 1e-14);
    }

    #[test]
    fn kinks_propagate_nan() {
        assert!(f64::NAN.relu().is_nan());
        assert!(f32::NAN.relu().is_nan());
        assert!(f64::NAN.max_or_nan(1.0).is_nan());
        assert!(1.0f64.max_or_nan(f64::NAN).is_nan());
        assert!(f64::NAN.min_or_nan(1.0).is_nan());
        assert!(1.0f32.min_or_nan(f32::NAN).is_nan());
        assert_eq!(2.0f64.max_or_nan(1.0), 2.0);
        assert_eq!(2.0f64.min_or_nan(1.0), 1.0);
        assert_eq!(f64::NEG_INFINITY.relu(), 0.0);
    }

    #[test]
    fn nan_propagates_through_the_activations() {
        assert!(f64::NAN.relu().is_nan());
        assert!(f32::NAN.relu().is_nan());
        assert!(f64::NAN.leaky_relu(0.1).is_nan());
        assert!(f64::NAN.sigmoid().is_nan());
        assert!(f64::NAN.softplus().is_nan());
        // Signed zeros: relu(-0) is +0, as max(x, 0) gives.
        assert_eq!((-0.0f64).relu().to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn scalars_of_every_input_shape() {
        fn collect(v: &impl Scalars<f64>) -> Vec<f64> {
            let mut out = Vec::new();
            v.each_scalar(&mut |x| out.push(x));
            out
        }
        assert_eq!(collect(&1.5), vec![1.5]);
        assert_eq!(collect(&[1.0, 2.0]), vec![1.0, 2.0]);
        assert_eq!(collect(&[[1.0, 2.0], [3.0, 4.0]]), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(collect(&()), Vec::<f64>::new());
        assert_eq!(collect(&([1.0, 2.0], 3.0)), vec![1.0, 2.0, 3.0]);
        assert_eq!(collect(&(4.0,)), vec![4.0]);
        assert_eq!(
            collect(&vec![[1.0, 2.0], [3.0, 4.0]]),
            vec![1.0, 2.0, 3.0, 4.0]
        );
    }

    #[test]
    fn activations_are_finite_and_correct_at_extremes() {
        // silu(-1000) is -0: -1000 times an underflowed sigmoid.
        let s = (-1000.0f64).silu();
        assert!(s == 0.0 && s.is_sign_negative());
        assert_eq!(1000.0f64.silu(), 1000.0);
        assert_eq!(1000.0f64.gelu(), 1000.0);
        assert_eq!((-1000.0f64).gelu(), 0.0);
        // Φ(-10) = 7.6198530241605e-24: the tail survives, as erfc keeps it.
        let tail = (-10.0f64).normal_cdf();
        assert!((tail - 7.619_853_024_160_527e-24).abs() < 1e-36, "{tail}");
        assert!(((-10.0f32).normal_cdf() / 7.619_853e-24 - 1.0).abs() < 1e-5);
        assert_eq!(0.0f64.normal_cdf(), 0.5);
        assert_eq!((-1000.0f64).log_sigmoid(), -1000.0);
        assert_eq!(1000.0f64.log_sigmoid(), 0.0);
        assert!(((-1000.0f32).log_sigmoid() + 1000.0).abs() < 1e-3);
        assert_eq!(1e300f64.softsign(), 1.0);
        assert_eq!((-3.0f64).softsign(), -0.75);
        assert_eq!((-1000.0f64).elu(1.0), -1.0);
        assert_eq!(2.0f64.elu(0.5), 2.0);
        // e^x - 1 near 0 keeps its precision: -1e-10 + 5e-21.
        assert!(((-1e-10f64).elu(1.0) - (-1e-10 + 5e-21)).abs() < 1e-30);
    }

    #[test]
    fn clip_never_panics_and_propagates_nan() {
        assert_eq!(5.0f64.clip(0.0, 1.0), 1.0);
        assert_eq!((-5.0f64).clip(0.0, 1.0), 0.0);
        assert_eq!(0.5f32.clip(0.0, 1.0), 0.5);
        // lo > hi: min(max(x, lo), hi) is hi.
        assert_eq!(0.5f64.clip(2.0, 1.0), 1.0);
        assert_eq!(3.0f64.clip(2.0, 1.0), 1.0);
        assert!(f64::NAN.clip(0.0, 1.0).is_nan());
        assert!(0.5f64.clip(f64::NAN, 1.0).is_nan());
        assert!(0.5f64.clip(0.0, f64::NAN).is_nan());
    }

    #[test]
    fn relu_kink_is_zero() {
        assert_eq!(0.0f64.relu(), 0.0);
        assert_eq!((-2.0f32).relu(), 0.0);
        assert_eq!(3.0f32.relu(), 3.0);
        assert_eq!((-2.0f64).leaky_relu(0.1), -0.2);
    }
}
