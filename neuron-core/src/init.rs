//! Starting parameters: Glorot (Xavier) and He initialization.
//!
//! Each weight field is drawn from a distribution whose spread depends on
//! its fan-in and fan-out ([`Field::fans`]: a `[[T; I]; O]` matrix has
//! fan-in `I` and fan-out `O`, a vector `[T; N]` of one unit's weights
//! `N` and 1, a scalar 1 and 1); every bias is zero. Which fields are
//! weights and which biases is [`Field::role`]'s rule, overridden by name
//! with [`Init::weight`] and [`Init::bias`].
//!
//! ```text
//! GlorotUniform   U(-l, l),   l = sqrt(6 / (fan_in + fan_out))
//! GlorotNormal    N(0, σ²),   σ = sqrt(2 / (fan_in + fan_out))
//! HeUniform       U(-l, l),   l = sqrt(6 / fan_in)
//! HeNormal        N(0, σ²),   σ = sqrt(2 / fan_in)
//! ```
//!
//! Glorot keeps the variance of activations and gradients about the same
//! from layer to layer for `tanh` and `sigmoid` units; He does so for
//! `relu`, which zeroes half of its inputs. (The normal forms are plain
//! normals, not Keras' truncated ones.) Values are drawn from a ChaCha8
//! stream seeded by `seed`, one per weight scalar in flat order, so the
//! same seed gives the same parameters on every platform. A field of no
//! scalars, or with a fan of zero, stays zero.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};

use crate::model::{Field, Parameters, Role, Roles, UnknownParameter};
use crate::real::Real;

/// The distribution weights are drawn from; see the [module
/// documentation](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Glorot (Xavier) uniform: `U(-l, l)`, `l = sqrt(6 / (fan_in + fan_out))`.
    GlorotUniform,
    /// Glorot (Xavier) normal: `N(0, σ²)`, `σ = sqrt(2 / (fan_in + fan_out))`.
    GlorotNormal,
    /// He uniform: `U(-l, l)`, `l = sqrt(6 / fan_in)`.
    HeUniform,
    /// He normal: `N(0, σ²)`, `σ = sqrt(2 / fan_in)`.
    HeNormal,
}

impl Scheme {
    /// The standard deviation the scheme gives a weight with these fans;
    /// `None` when a fan it divides by is zero.
    pub fn std(self, (fan_in, fan_out): (usize, usize)) -> Option<f64> {
        let (fan_in, fan_out) = (fan_in as f64, fan_out as f64);
        let variance = match self {
            Scheme::GlorotUniform | Scheme::GlorotNormal => 2.0 / (fan_in + fan_out),
            Scheme::HeUniform | Scheme::HeNormal => 2.0 / fan_in,
        };
        variance.is_finite().then(|| variance.sqrt())
    }

    fn uniform(self) -> bool {
        matches!(self, Scheme::GlorotUniform | Scheme::HeUniform)
    }
}

/// How to draw starting parameters: a [`Scheme`] for the weights, zeros
/// for the biases.
///
/// ```
/// use neuron_core::{Field, Init, Parameters};
/// # #[derive(Clone, Debug)]
/// # struct P { w: [[f64; 3]; 2], b: [f64; 2] }
/// # impl Parameters<f64> for P {
/// #     const FIELDS: &'static [Field] = &[
/// #         Field { name: "w", shape: &[2, 3] },
/// #         Field { name: "b", shape: &[2] },
/// #     ];
/// #     const LEN: usize = 8;
/// #     fn zeros() -> Self { P { w: [[0.0; 3]; 2], b: [0.0; 2] } }
/// #     fn for_each(&self, mut f: impl FnMut(usize, f64)) {
/// #         self.w.iter().flatten().chain(&self.b).enumerate().for_each(|(k, v)| f(k, *v));
/// #     }
/// #     fn for_each_mut(&mut self, mut f: impl FnMut(usize, &mut f64)) {
/// #         self.w.iter_mut().flatten().chain(&mut self.b).enumerate().for_each(|(k, v)| f(k, v));
/// #     }
/// #     fn zip_mut(&mut self, o: &Self, mut f: impl FnMut(usize, &mut f64, f64)) {
/// #         let other: Vec<f64> = o.to_vec();
/// #         self.for_each_mut(|k, v| f(k, v, other[k]));
/// #     }
/// # }
/// // He normal for the weights, zeros for the biases.
/// let params = P::he_normal(7);
/// assert_eq!(params.b, [0.0, 0.0]);
/// // The same, with `b` drawn as a weight too.
/// let params: P = Init::new(neuron_core::Scheme::HeNormal).weight("b").params(7)?;
/// assert_ne!(params.b, [0.0, 0.0]);
/// # Ok::<(), neuron_core::UnknownParameter>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Init {
    scheme: Scheme,
    roles: Roles,
}

impl Init {
    /// Weights drawn by `scheme`, biases zero, roles by [`Field::role`].
    pub fn new(scheme: Scheme) -> Self {
        Init {
            scheme,
            roles: Roles::new(),
        }
    }

    /// [`Scheme::GlorotUniform`], Keras' default.
    pub fn glorot_uniform() -> Self {
        Init::new(Scheme::GlorotUniform)
    }

    /// [`Scheme::GlorotNormal`].
    pub fn glorot_normal() -> Self {
        Init::new(Scheme::GlorotNormal)
    }

    /// [`Scheme::HeUniform`].
    pub fn he_uniform() -> Self {
        Init::new(Scheme::HeUniform)
    }

    /// [`Scheme::HeNormal`], for `relu` layers.
    pub fn he_normal() -> Self {
        Init::new(Scheme::HeNormal)
    }

    /// Draws the field `name` as a weight, whatever its shape and name.
    pub fn weight(mut self, name: &str) -> Self {
        self.roles = self.roles.weight(name);
        self
    }

    /// Sets the field `name` to zeros, as a bias.
    pub fn bias(mut self, name: &str) -> Self {
        self.roles = self.roles.bias(name);
        self
    }

    /// The roles the fields are drawn by.
    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    /// Parameters drawn with `seed`.
    ///
    /// # Errors
    ///
    /// [`UnknownParameter`] when [`Init::weight`] or [`Init::bias`] named
    /// a field `P` does not have.
    pub fn params<T: Real, P: Parameters<T>>(&self, seed: u64) -> Result<P, UnknownParameter> {
        let mut params = P::zeros();
        self.fill(&mut params, seed)?;
        Ok(params)
    }

    /// Overwrites `params` with values drawn with `seed`, in place.
    ///
    /// # Errors
    ///
    /// As [`Init::params`]; `params` is then unchanged.
    pub fn fill<T: Real, P: Parameters<T>>(
        &self,
        params: &mut P,
        seed: u64,
    ) -> Result<(), UnknownParameter> {
        self.roles.check(P::FIELDS)?;
        let samplers: Vec<(usize, Option<Sampler>)> = self
            .roles
            .ranges(P::FIELDS)
            .into_iter()
            .zip(P::FIELDS)
            .map(|((end, role), field)| (end, self.sampler(field, role)))
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Scalars arrive in flat order, so the field is found by walking on.
        let mut at = 0;
        params.for_each_mut(|k, v| {
            while samplers.get(at).is_some_and(|&(end, _)| k >= end) {
                at += 1;
            }
            *v = match samplers.get(at) {
                Some((_, Some(sampler))) => T::lit(sampler.sample(&mut rng)),
                _ => T::zero(),
            };
        });
        Ok(())
    }

    /// How the scalars of `field` are drawn; `None` for zeros.
    fn sampler(&self, field: &Field, role: Role) -> Option<Sampler> {
        if role == Role::Bias {
            return None;
        }
        let std = self.scheme.std(field.fans())?;
        if self.scheme.uniform() {
            // U(-l, l) has standard deviation l / sqrt(3).
            let limit = std * 3f64.sqrt();
            Uniform::new_inclusive(-limit, limit)
                .ok()
                .map(Sampler::Uniform)
        } else {
            Some(Sampler::Normal(std))
        }
    }
}

/// A weight field's distribution.
enum Sampler {
    Uniform(Uniform<f64>),
    Normal(f64),
}

impl Sampler {
    fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        match self {
            Sampler::Uniform(uniform) => uniform.sample(rng),
            Sampler::Normal(std) => {
                std * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{DenseParams, LinearParams};

    #[test]
    fn the_spread_follows_the_fans() {
        let dense = Field {
            name: "w",
            shape: &[300, 100],
        };
        assert_eq!(dense.fans(), (100, 300));
        assert_eq!(
            Scheme::HeNormal.std(dense.fans()),
            Some((2.0f64 / 100.0).sqrt())
        );
        assert_eq!(
            Scheme::GlorotUniform.std(dense.fans()),
            Some((2.0f64 / 400.0).sqrt())
        );
        let vector = Field {
            name: "w",
            shape: &[8],
        };
        assert_eq!(vector.fans(), (8, 1));
        let scalar = Field {
            name: "a",
            shape: &[],
        };
        assert_eq!(scalar.fans(), (1, 1));
        let empty = Field {
            name: "w",
            shape: &[0, 4],
        };
        assert_eq!(
            Scheme::GlorotNormal.std(empty.fans()),
            Some((2.0f64 / 4.0).sqrt())
        );
        let none = Field {
            name: "w",
            shape: &[4, 0],
        };
        assert_eq!(Scheme::HeUniform.std(none.fans()), None);
    }

    /// The sample standard deviation of many draws of a 200x200 matrix.
    fn drawn_std(scheme: Scheme) -> f64 {
        #[derive(Clone, Debug)]
        struct Big(Vec<f64>);
        impl Parameters<f64> for Big {
            const FIELDS: &'static [Field] = &[Field {
                name: "w",
                shape: &[200, 200],
            }];
            const LEN: usize = 40_000;
            fn zeros() -> Self {
                Big(vec![0.0; 40_000])
            }
            fn for_each(&self, mut f: impl FnMut(usize, f64)) {
                self.0.iter().enumerate().for_each(|(k, v)| f(k, *v));
            }
            fn for_each_mut(&mut self, mut f: impl FnMut(usize, &mut f64)) {
                self.0.iter_mut().enumerate().for_each(|(k, v)| f(k, v));
            }
            fn zip_mut(&mut self, other: &Self, mut f: impl FnMut(usize, &mut f64, f64)) {
                for (k, (v, o)) in self.0.iter_mut().zip(&other.0).enumerate() {
                    f(k, v, *o);
                }
            }
        }
        let params: Big = Init::new(scheme).params(3).unwrap();
        let n = params.0.len() as f64;
        let mean = params.0.iter().sum::<f64>() / n;
        let var = params.0.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.01, "{scheme:?}: mean {mean}");
        if scheme.uniform() {
            let limit = scheme.std((200, 200)).unwrap() * 3f64.sqrt();
            assert!(params.0.iter().all(|v| v.abs() <= limit), "{scheme:?}");
        }
        var.sqrt()
    }

    #[test]
    fn draws_have_the_scheme_s_spread() {
        for scheme in [
            Scheme::GlorotUniform,
            Scheme::GlorotNormal,
            Scheme::HeUniform,
            Scheme::HeNormal,
        ] {
            let want = scheme.std((200, 200)).unwrap();
            let got = drawn_std(scheme);
            assert!(
                (got / want - 1.0).abs() < 0.02,
                "{scheme:?}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn biases_are_zero_weights_drawn_and_seeds_reproduce() {
        let dense: DenseParams = Init::he_normal().params(1).unwrap();
        assert_eq!(dense.b, [0.0; 3]);
        assert!(dense.w.iter().flatten().all(|&v| v != 0.0), "{dense:?}");
        assert_eq!(dense, Init::he_normal().params(1).unwrap());
        assert_ne!(
            dense,
            Init::he_normal().params::<f64, DenseParams>(2).unwrap()
        );
        // `w: [f64; 2]` of a linear unit is a weight by name, `b` a bias.
        let linear: LinearParams = Init::glorot_uniform().params(0).unwrap();
        assert_eq!(linear.b, 0.0);
        assert!(
            linear.w.iter().all(|&v| v != 0.0 && v.abs() <= 1.0),
            "{linear:?}"
        );
        // Overrides by name, both ways.
        let linear: LinearParams = Init::glorot_uniform()
            .bias("w")
            .weight("b")
            .params(0)
            .unwrap();
        assert_eq!(linear.w, [0.0, 0.0]);
        assert_ne!(linear.b, 0.0);
        // The trait's shortcuts are the same draws.
        assert_eq!(DenseParams::he_normal(1), dense);
        assert_eq!(
            DenseParams::glorot_normal(4),
            Init::glorot_normal().params(4).unwrap()
        );
    }

    #[test]
    fn an_unknown_name_is_an_error_and_changes_nothing() {
        let mut linear = LinearParams {
            w: [1.0, 2.0],
            b: 3.0,
        };
        let err = Init::he_uniform()
            .weight("bias")
            .fill(&mut linear, 0)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "there is no parameter named `bias`; the parameters are `w`, `b`"
        );
        assert_eq!(linear.w, [1.0, 2.0]);
    }
}
