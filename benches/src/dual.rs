//! `relu(dot(w, x) + b)` differentiated in forward mode with the `num-dual`
//! crate, the way its documentation computes a gradient: every argument
//! (all `2N + 1` scalars) becomes a `DualVec` seeded with its unit vector,
//! and one pass through [`num_dual::gradient`] carries all partials along.
//!
//! The derivative part is a stack vector (`DualSVec64<D>`) where that fits
//! on the stack; for N = 1024 (`D = 2049`, a 33 MB argument vector) it is a
//! heap vector (`DualDVec64`), as a user would have to choose.

use nalgebra::{DVector, SVector};
use num_dual::{DualDVec64, DualNum, DualSVec64, gradient};

/// `relu(dot(w, x) + b)` over generic dual numbers; `v` holds `x`, then
/// `w`, then `b`.
fn relu_dot<T: DualNum<Primitive = f64>>(v: &[T], n: usize) -> T {
    let mut s = T::from(0.0);
    for i in 0..n {
        s += v[n + i].clone() * v[i].clone();
    }
    let z = s + v[2 * n].clone();
    if z > 0.0 { z } else { T::from(0.0) }
}

/// The arguments flattened in declaration order: `x`, `w`, `b`.
fn flatten(x: &[f64], w: &[f64], b: f64) -> Vec<f64> {
    let mut v = Vec::with_capacity(2 * x.len() + 1);
    v.extend_from_slice(x);
    v.extend_from_slice(w);
    v.push(b);
    v
}

/// The value and the `D = 2N + 1` partials (`x`, then `w`, then `b`) with
/// stack-allocated dual vectors.
///
/// # Panics
///
/// When `D != 2 * N + 1`.
#[inline(never)]
pub fn dot_gradient_static<const N: usize, const D: usize>(
    x: &[f64; N],
    w: &[f64; N],
    b: f64,
) -> (f64, SVector<f64, D>) {
    assert_eq!(D, 2 * N + 1, "D must be 2N + 1");
    let v = SVector::<f64, D>::from_column_slice(&flatten(x, w, b));
    gradient(|v: SVector<DualSVec64<D>, D>| relu_dot(v.as_slice(), N), &v)
}

/// The value and the `2N + 1` partials (`x`, then `w`, then `b`) with
/// heap-allocated dual vectors.
#[inline(never)]
pub fn dot_gradient_dynamic(x: &[f64], w: &[f64], b: f64) -> (f64, DVector<f64>) {
    let n = x.len();
    let v = DVector::from_vec(flatten(x, w, b));
    gradient(|v: DVector<DualDVec64>| relu_dot(v.as_slice(), n), &v)
}
