//! The independent reference the gradient tests compare against: central
//! finite differences of the forward function, a tolerant comparison that
//! names the failing partial, flattening helpers and a seeded random source.
//!
//! Shared by `ops.rs` and `networks.rs` through `mod fd;`; each uses only
//! part of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded generator, so every failure reproduces.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A uniform real in `lo..hi`.
pub fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    rng.random_range(lo..hi)
}

/// `n` uniform reals in `lo..hi`.
pub fn uniforms(rng: &mut ChaCha8Rng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// The central difference `(f(x + h e_k) - f(x - h e_k)) / 2h` for every
/// `k`, with `h` scaled by `max(1, |x_k|)` so large coordinates keep their
/// relative step.
pub fn central(f: impl Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    let mut p = x.to_vec();
    (0..x.len())
        .map(|k| {
            let step = h * x[k].abs().max(1.0);
            p[k] = x[k] + step;
            let up = f(&p);
            p[k] = x[k] - step;
            let down = f(&p);
            p[k] = x[k];
            (up - down) / (2.0 * step)
        })
        .collect()
}

/// [`central`] for a function computed in `f32`: the point and the step are
/// rounded to `f32`, the difference is taken in `f64` over the actual step.
pub fn central_f32(f: impl Fn(&[f32]) -> f32, x: &[f32], h: f32) -> Vec<f64> {
    let mut p = x.to_vec();
    (0..x.len())
        .map(|k| {
            let step = h * x[k].abs().max(1.0);
            p[k] = x[k] + step;
            let up = f64::from(f(&p));
            let hi = f64::from(p[k]);
            p[k] = x[k] - step;
            let down = f64::from(f(&p));
            let lo = f64::from(p[k]);
            p[k] = x[k];
            (up - down) / (hi - lo)
        })
        .collect()
}

/// Whether `got` is within `rel` of `want`, relative to `max(1, |want|)`:
/// a relative tolerance with an absolute floor of `rel`.
pub fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs().max(1.0)
}

/// Asserts [`close`] for every partial, naming the first that is not.
#[track_caller]
pub fn assert_all_close(what: &str, point: &[f64], got: &[f64], want: &[f64], rel: f64) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: {} partials, expected {}",
        got.len(),
        want.len()
    );
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.is_finite() && close(g, w, rel),
            "{what}: partial {k} is {g}, the reference gives {w} (|diff| = {:e}, tolerance {rel:e}) at {point:?}",
            (g - w).abs()
        );
    }
}

/// The first `N` values of `v`, as an array.
pub fn arr<const N: usize>(v: &[f64]) -> [f64; N] {
    std::array::from_fn(|i| v[i])
}

/// The first `M * N` values of `v`, row by row, as a matrix.
pub fn mat<const M: usize, const N: usize>(v: &[f64]) -> [[f64; N]; M] {
    std::array::from_fn(|i| std::array::from_fn(|j| v[i * N + j]))
}

/// A matrix's entries, row by row.
pub fn flat2<const M: usize, const N: usize>(m: &[[f64; N]; M]) -> Vec<f64> {
    m.iter().flatten().copied().collect()
}

/// The dot product, written out here so the tests do not borrow it from
/// the code under test.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
