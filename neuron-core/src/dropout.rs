//! Dropout's runtime: whether the current thread is training, and the mask
//! each dropout element draws.
//!
//! Dropout with drop probability `p` multiplies each element by a mask
//! value: in training, `0` with probability `p` and `1 / (1 - p)`
//! otherwise (so the expected value is unchanged, as in "Neural Networks
//! from Scratch", whose `rate` is this `p`); in inference, always `1`.
//!
//! # Modes and keys
//!
//! Each thread has a dropout state: *inference* (the default), or
//! *training* with a 64-bit *key* naming the sample being computed.
//! [`crate::Trainer::fit`] switches its thread to training for the
//! forward and backward pass of every training sample, with the key
//! [`sample_key`]`(seed, epoch, batch, sample)` (the trainer's seed, the
//! epoch counted across `fit` calls from 1, the mini-batch within the
//! epoch from 0, and the sample's index in the dataset), and back to
//! inference for everything else: validation, the per-epoch callback,
//! and after `fit` returns, even by a panic. [`crate::evaluate`] always
//! runs in inference. [`training`] and [`inference`] run a closure in
//! either mode, for tests and hand-written loops.
//!
//! # Masks
//!
//! The mask of element `index` of the dropout op `site` is a pure
//! function of `(key, site, index)`: the three are hashed (SplitMix64's
//! finalizer, Steele, Lea and Flood 2014) into a uniform number `u` in
//! `[0, 1)`, and the element is dropped when `u < p`. Nothing is stored
//! and there is no stream to advance, so
//!
//! - recomputing a forward value in a backward pass draws the same mask,
//!   whatever the order of evaluation;
//! - a training run is reproducible from the trainer's seed, and each
//!   sample of each epoch gets masks of its own;
//! - the masks of two ops differ as long as their `site`s do: generated
//!   code names each dropout op of a neuron with [`site`]`(neuron,
//!   ordinal)`, a constant. A neuron called at several places of a
//!   network can give each call masks of its own by running it inside
//!   [`within`]`(call_site, ..)`, which mixes `call_site` into the key.
//!
//! A `p` of 0 or less keeps everything (mask 1), 1 or more drops
//! everything (mask 0), and a NaN `p` gives a NaN mask; inference gives 1
//! whatever `p` is.
//!
//! # What generated code calls
//!
//! `dropout(x, p)` (or `x.dropout(p)`) in a `#[neuron]` function, with `p`
//! a constant in `[0, 1)`, compiles to these calls:
//!
//! ```text
//! let mask = ::neuron_core::dropout::Mask::current();       // once per pass
//! let y = from_fn(|i| x[i] * mask.factor(p, SITE, i));      // forward
//! let d_x = from_fn(|i| d_y[i] * mask.factor(p, SITE, i));  // backward (same value)
//! ```
//!
//! where `SITE` is `::neuron_core::dropout::site("neuron_name", k)` for
//! the `k`-th dropout op of the neuron (a `const fn`, evaluated in a
//! `const { .. }` block), `p` is a `T`, and the index is flat (row-major;
//! `0` for a real). The mask is read once per pass, at the top of each
//! generated function with dropout.
//! [`factor`] does both steps for one element.

use std::cell::Cell;

use crate::real::Real;

thread_local! {
    /// `Some(key)` while training on a sample, `None` in inference.
    static KEY: Cell<Option<u64>> = const { Cell::new(None) };
}

/// The dropout state of the current thread, read once by
/// [`Mask::current`] and then used for every element of an op: training
/// with a sample's key, or inference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mask {
    key: Option<u64>,
}

impl Mask {
    /// The current thread's state.
    #[inline]
    pub fn current() -> Mask {
        Mask {
            key: KEY.with(Cell::get),
        }
    }

    /// Inference: every factor is 1.
    pub const INFERENCE: Mask = Mask { key: None };

    /// Training on the sample named by `key`.
    pub const fn training(key: u64) -> Mask {
        Mask { key: Some(key) }
    }

    /// Whether this is training.
    pub fn is_training(self) -> bool {
        self.key.is_some()
    }

    /// The mask value of element `index` of the dropout op `site` with
    /// drop probability `p`: in training `0` with probability `p` and
    /// `1 / (1 - p)` otherwise, in inference `1` (see the [module
    /// documentation](self)).
    #[inline]
    pub fn factor<T: Real>(self, p: T, site: u64, index: usize) -> T {
        let Some(key) = self.key else {
            return T::one();
        };
        if p.is_nan() {
            return p;
        }
        if p <= T::zero() {
            return T::one();
        }
        if p >= T::one() {
            return T::zero();
        }
        if uniform(key, site, index as u64) < p.to_f64_lossy() {
            T::zero()
        } else {
            T::one() / (T::one() - p)
        }
    }
}

/// `Mask::current().factor(p, site, index)`: the mask value of one
/// element in the current thread's state.
#[inline]
pub fn factor<T: Real>(p: T, site: u64, index: usize) -> T {
    Mask::current().factor(p, site, index)
}

/// The identifier of the `ordinal`-th dropout op of the neuron `neuron`:
/// a 64-bit FNV-1a hash of the name, mixed with the ordinal. A `const fn`,
/// so generated code can make it a constant.
pub const fn site(neuron: &str, ordinal: u32) -> u64 {
    let bytes = neuron.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut k = 0;
    while k < bytes.len() {
        hash ^= bytes[k] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        k += 1;
    }
    mix(hash ^ mix(ordinal as u64 ^ 0x9e37_79b9_7f4a_7c15))
}

/// The key the trainer gives a sample: a hash of its seed, the epoch
/// (from 1, counted across `fit` calls), the mini-batch within the epoch
/// (from 0) and the sample's index in the dataset.
pub fn sample_key(seed: u64, epoch: u64, batch: u64, sample: u64) -> u64 {
    combine(combine(combine(mix(seed), epoch), batch), sample)
}

/// Runs `f` in training mode with the sample key `key`, then restores the
/// mode the thread was in (also when `f` panics).
pub fn training<R>(key: u64, f: impl FnOnce() -> R) -> R {
    let _restore = Restore::set(Some(key));
    f()
}

/// Runs `f` in inference mode, then restores the mode the thread was in.
pub fn inference<R>(f: impl FnOnce() -> R) -> R {
    let _restore = Restore::set(None);
    f()
}

/// Runs `f` with `call_site` mixed into the current key (nothing changes
/// in inference), so that a neuron called at several places draws
/// different masks at each.
pub fn within<R>(call_site: u64, f: impl FnOnce() -> R) -> R {
    let key = KEY.with(Cell::get).map(|key| combine(key, call_site));
    let _restore = Restore::set(key);
    f()
}

/// Whether the current thread is in training mode.
pub fn is_training() -> bool {
    Mask::current().is_training()
}

/// Sets the current thread's key; restores the previous one when dropped.
pub(crate) struct Restore {
    previous: Option<u64>,
}

impl Restore {
    pub(crate) fn set(key: Option<u64>) -> Restore {
        Restore {
            previous: KEY.with(|k| k.replace(key)),
        }
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        KEY.with(|k| k.set(self.previous));
    }
}

/// Sets the current thread's key, for the trainer's loop inside a
/// [`Restore`].
#[inline]
pub(crate) fn set_key(key: Option<u64>) {
    KEY.with(|k| k.set(key));
}

/// SplitMix64's finalizer: a bijection of `u64` whose output bits each
/// depend on every input bit.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A hash of the pair `(a, b)`, different for `(a, b)` and `(b, a)`.
#[inline]
fn combine(a: u64, b: u64) -> u64 {
    mix(a ^ mix(b.wrapping_add(0x9e37_79b9_7f4a_7c15)))
}

/// A number in `[0, 1)` from the top 53 bits of the hash of
/// `(key, site, index)`.
#[inline]
fn uniform(key: u64, site: u64, index: u64) -> f64 {
    let bits = combine(combine(key, site), index) >> 11;
    bits as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inference_is_the_identity_whatever_p_is() {
        assert!(!is_training());
        for p in [0.0, 0.5, 0.99, 1.0, 2.0, -1.0] {
            for i in 0..100 {
                assert_eq!(factor(p, 7, i), 1.0);
            }
        }
        assert_eq!(factor(f64::NAN, 7, 0), 1.0);
    }

    #[test]
    fn training_keeps_about_one_minus_p_scaled_up() {
        let p = 0.3;
        let n = 100_000;
        let (kept, mean) = training(42, || {
            let mask = Mask::current();
            assert!(mask.is_training());
            let values: Vec<f64> = (0..n).map(|i| mask.factor(p, 1, i)).collect();
            for &v in &values {
                assert!(v == 0.0 || v == 1.0 / (1.0 - p), "{v}");
            }
            let kept = values.iter().filter(|&&v| v > 0.0).count();
            (kept, values.iter().sum::<f64>() / n as f64)
        });
        let share = kept as f64 / n as f64;
        // Binomial: the standard deviation of the share is 0.0014.
        assert!((share - 0.7).abs() < 0.006, "{share}");
        assert!((mean - 1.0).abs() < 0.01, "{mean}");
        // Back in inference afterwards.
        assert!(!is_training());
    }

    #[test]
    fn masks_are_a_function_of_key_site_and_index() {
        let draw = |key, site| {
            training(key, || {
                (0..64).map(|i| factor(0.5f32, site, i)).collect::<Vec<_>>()
            })
        };
        assert_eq!(draw(1, 2), draw(1, 2));
        assert_ne!(draw(1, 2), draw(2, 2));
        assert_ne!(draw(1, 2), draw(1, 3));
        // Neighbouring elements are not correlated: of pairs, about a
        // quarter are both kept.
        let both = training(9, || {
            (0..20_000)
                .filter(|&i| factor(0.5, 5, i) > 0.0 && factor(0.5, 5, i + 1) > 0.0)
                .count()
        });
        assert!((both as f64 / 20_000.0 - 0.25).abs() < 0.015, "{both}");
    }

    #[test]
    fn p_outside_zero_one_and_nan() {
        training(3, || {
            assert_eq!(factor(0.0, 1, 0), 1.0);
            assert_eq!(factor(-0.5, 1, 0), 1.0);
            assert_eq!(factor(1.0, 1, 0), 0.0);
            assert_eq!(factor(1.5f32, 1, 0), 0.0);
            assert!(factor(f64::NAN, 1, 0).is_nan());
        });
    }

    #[test]
    fn modes_nest_and_restore() {
        training(1, || {
            let outer = Mask::current();
            inference(|| assert!(!is_training()));
            assert_eq!(Mask::current(), outer);
            let inner = within(77, Mask::current);
            assert!(inner.is_training());
            assert_ne!(inner, outer);
            assert_eq!(within(77, Mask::current), inner);
            assert_eq!(Mask::current(), outer);
        });
        // Within changes nothing in inference.
        assert_eq!(within(77, Mask::current), Mask::INFERENCE);
        // A panic inside restores the mode too.
        let caught = std::panic::catch_unwind(|| training(5, || panic!("inside")));
        assert!(caught.is_err());
        assert!(!is_training());
    }

    #[test]
    fn sites_and_keys_differ() {
        const SITE: u64 = site("net", 0);
        assert_eq!(SITE, site("net", 0));
        assert_ne!(site("net", 0), site("net", 1));
        assert_ne!(site("net", 0), site("nets", 0));
        let keys: std::collections::HashSet<u64> = (0..4)
            .flat_map(|e| (0..4).flat_map(move |b| (0..4).map(move |s| sample_key(0, e, b, s))))
            .collect();
        assert_eq!(keys.len(), 64);
        assert_ne!(sample_key(0, 1, 2, 3), sample_key(1, 1, 2, 3));
        assert_ne!(sample_key(0, 1, 2, 3), sample_key(0, 2, 1, 3));
    }
}
