//! The reductions of a whole array to a real: `mean`, `logsumexp`, `norm`,
//! and `max(v)` / `min(v)` (`v.max()`, `v.min()`), at several lengths (1,
//! 5, 64) and on matrices, checked through `backward` with a random `dy`
//! against central finite differences and closed-form vector-Jacobian
//! products at 64 seeded points; then ties, NaN, the zero vector and the
//! stable forms exactly, f32 and generic neurons, and the generated code
//! of a 1024-long reduction, which stays as long as that of a short one.

mod fd;
#[macro_use]
mod harness;

use fd::{arr, assert_all_close, central, central_f32, flat2, mat, rng, uniforms};
use harness::*;
use neuron_core::prelude::*;

/// Whether the two largest (or smallest) values of `v` are within `gap`.
fn within(v: &[f64], gap: f64) -> bool {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    n >= 2 && (s[n - 1] - s[n - 2] < gap || s[1] - s[0] < gap)
}

/// Whether `v` is within reach of a kink of `max(v)` or `min(v)` for the
/// f64 finite differences.
fn near_tie(v: &[f64]) -> bool {
    within(v, 1e-3)
}

/// Position of the first largest element (`pick = |a, b| a > b`) or first
/// smallest (`a < b`).
fn first_extreme(v: &[f64], pick: fn(f64, f64) -> bool) -> usize {
    (1..v.len()).fold(0, |k, i| if pick(v[i], v[k]) { i } else { k })
}

/// `dy` at position `k` of an array of length `n`, zero elsewhere.
fn one_hot(n: usize, k: usize, dy: f64) -> Vec<f64> {
    let mut out = vec![0.0; n];
    out[k] = dy;
    out
}

fn logsumexp_ref(v: &[f64]) -> f64 {
    v.iter().map(|x| x.exp()).sum::<f64>().ln()
}

fn norm_ref(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// [`Flat`] for a neuron of one array argument and a scalar result.
macro_rules! reduction {
    ($f:ident, $n:expr, $value:expr, $vjp:expr, $avoid:expr) => {
        Flat {
            inputs: $n,
            outputs: 1,
            forward: &|p| vec![$f(arr(p))],
            backward: &|p, dy| {
                let (y, g) = $f::backward(arr(p), dy[0]);
                (vec![y], g.v.to_vec())
            },
            value: &|p| vec![$value(p)],
            vjp: Some(&|p, dy| $vjp(p, dy[0])),
            avoid: &$avoid,
        }
    };
}

/// [`Flat`] for a neuron of one `[[f64; 4]; 3]` argument and a scalar result.
macro_rules! matrix_reduction {
    ($f:ident, $value:expr, $vjp:expr, $avoid:expr) => {
        Flat {
            inputs: 12,
            outputs: 1,
            forward: &|p| vec![$f(mat(p))],
            backward: &|p, dy| {
                let (y, g) = $f::backward(mat(p), dy[0]);
                (vec![y], flat2(&g.m))
            },
            value: &|p| vec![$value(p)],
            vjp: Some(&|p, dy| $vjp(p, dy[0])),
            avoid: &$avoid,
        }
    };
}

// ---------------------------------------------------------------------------
// mean

/// `mean` of one element.
#[neuron]
pub fn mean_1(v: [f64; 1]) -> f64 {
    mean(v)
}

/// `mean` of five.
#[neuron]
pub fn mean_5(v: [f64; 5]) -> f64 {
    mean(v)
}

/// `mean` of 64, in method spelling.
#[neuron]
pub fn mean_64(v: [f64; 64]) -> f64 {
    v.mean()
}

/// `mean` of a matrix.
#[neuron]
pub fn mean_matrix(m: [[f64; 4]; 3]) -> f64 {
    mean(m)
}

fn mean_ref(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn mean_vjp(v: &[f64], dy: f64) -> Vec<f64> {
    vec![dy / v.len() as f64; v.len()]
}

#[test]
fn mean_of_vectors_and_matrices() {
    check_flat(
        "mean [1]",
        &reduction!(mean_1, 1, mean_ref, mean_vjp, never),
    );
    check_flat(
        "mean [5]",
        &reduction!(mean_5, 5, mean_ref, mean_vjp, never),
    );
    check_flat(
        "mean [64]",
        &reduction!(mean_64, 64, mean_ref, mean_vjp, never),
    );
    check_flat(
        "mean [3x4]",
        &matrix_reduction!(mean_matrix, mean_ref, mean_vjp, never),
    );
}

// ---------------------------------------------------------------------------
// logsumexp

/// `logsumexp` of one element: the element itself.
#[neuron]
pub fn logsumexp_1(v: [f64; 1]) -> f64 {
    logsumexp(v)
}

/// `logsumexp` of five.
#[neuron]
pub fn logsumexp_5(v: [f64; 5]) -> f64 {
    logsumexp(v)
}

/// `logsumexp` of 64, in method spelling.
#[neuron]
pub fn logsumexp_64(v: [f64; 64]) -> f64 {
    v.logsumexp()
}

/// The derivative of `logsumexp` is the softmax.
fn logsumexp_vjp(v: &[f64], dy: f64) -> Vec<f64> {
    softmax_ref(v).iter().map(|s| dy * s).collect()
}

#[test]
fn logsumexp_of_vectors() {
    check_flat(
        "logsumexp [1]",
        &reduction!(logsumexp_1, 1, logsumexp_ref, logsumexp_vjp, never),
    );
    check_flat(
        "logsumexp [5]",
        &reduction!(logsumexp_5, 5, logsumexp_ref, logsumexp_vjp, never),
    );
    check_flat(
        "logsumexp [64]",
        &reduction!(logsumexp_64, 64, logsumexp_ref, logsumexp_vjp, never),
    );
}

// ---------------------------------------------------------------------------
// norm

/// `norm` of one element: its absolute value.
#[neuron]
pub fn norm_1(v: [f64; 1]) -> f64 {
    norm(v)
}

/// `norm` of five.
#[neuron]
pub fn norm_5(v: [f64; 5]) -> f64 {
    norm(v)
}

/// `norm` of 64, in method spelling.
#[neuron]
pub fn norm_64(v: [f64; 64]) -> f64 {
    v.norm()
}

/// The Frobenius norm of a matrix.
#[neuron]
pub fn norm_matrix(m: [[f64; 4]; 3]) -> f64 {
    norm(m)
}

/// d‖v‖/dv = v / ‖v‖.
fn norm_vjp(v: &[f64], dy: f64) -> Vec<f64> {
    let n = norm_ref(v);
    v.iter().map(|x| dy * x / n).collect()
}

fn near_zero(v: &[f64]) -> bool {
    norm_ref(v) < 1e-3
}

#[test]
fn norm_of_vectors_and_matrices() {
    check_flat(
        "norm [1]",
        &reduction!(norm_1, 1, norm_ref, norm_vjp, near_zero),
    );
    check_flat(
        "norm [5]",
        &reduction!(norm_5, 5, norm_ref, norm_vjp, near_zero),
    );
    check_flat(
        "norm [64]",
        &reduction!(norm_64, 64, norm_ref, norm_vjp, near_zero),
    );
    check_flat(
        "norm [3x4]",
        &matrix_reduction!(norm_matrix, norm_ref, norm_vjp, near_zero),
    );
}

// ---------------------------------------------------------------------------
// max(v), min(v)

/// `max` of one element.
#[neuron]
pub fn max_1(v: [f64; 1]) -> f64 {
    max(v)
}

/// `max` of five.
#[neuron]
pub fn max_5(v: [f64; 5]) -> f64 {
    max(v)
}

/// `max` of 64, in method spelling.
#[neuron]
pub fn max_64(v: [f64; 64]) -> f64 {
    v.max()
}

/// `min` of five.
#[neuron]
pub fn min_5(v: [f64; 5]) -> f64 {
    min(v)
}

/// `min` of 64, in method spelling.
#[neuron]
pub fn min_64(v: [f64; 64]) -> f64 {
    v.min()
}

/// `max` of a matrix.
#[neuron]
pub fn max_matrix(m: [[f64; 4]; 3]) -> f64 {
    max(m)
}

/// `min` of a matrix, in method spelling.
#[neuron]
pub fn min_matrix(m: [[f64; 4]; 3]) -> f64 {
    m.min()
}

fn max_ref(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

fn min_ref(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max_vjp(v: &[f64], dy: f64) -> Vec<f64> {
    one_hot(v.len(), first_extreme(v, |a, b| a > b), dy)
}

fn min_vjp(v: &[f64], dy: f64) -> Vec<f64> {
    one_hot(v.len(), first_extreme(v, |a, b| a < b), dy)
}

#[test]
fn max_and_min_of_vectors_and_matrices() {
    check_flat("max [1]", &reduction!(max_1, 1, max_ref, max_vjp, near_tie));
    check_flat("max [5]", &reduction!(max_5, 5, max_ref, max_vjp, near_tie));
    check_flat(
        "max [64]",
        &reduction!(max_64, 64, max_ref, max_vjp, near_tie),
    );
    check_flat("min [5]", &reduction!(min_5, 5, min_ref, min_vjp, near_tie));
    check_flat(
        "min [64]",
        &reduction!(min_64, 64, min_ref, min_vjp, near_tie),
    );
    check_flat(
        "max [3x4]",
        &matrix_reduction!(max_matrix, max_ref, max_vjp, near_tie),
    );
    check_flat(
        "min [3x4]",
        &matrix_reduction!(min_matrix, min_ref, min_vjp, near_tie),
    );
}

/// The binary `max(a, b)` and the reduction `max(v)` side by side: the
/// name is overloaded by arity.
#[neuron]
pub fn both_maxima(v: [f64; 3], s: f64) -> f64 {
    max(max(v), s) + v.max().max(s) + min(v, s)[0]
}

#[test]
fn max_and_min_overload_by_arity() {
    let (y, g) = both_maxima::gradient([1.0, 3.0, 2.0], 0.5);
    assert_eq!(y, 3.0 + 3.0 + 0.5);
    assert_eq!(g.v, [0.0, 2.0, 0.0]);
    assert_eq!(g.s, 1.0);
}

// ---------------------------------------------------------------------------
// Ties, NaN, zero and the stable forms, exactly.

#[test]
fn a_tie_sends_the_gradient_to_the_first_extreme() {
    assert_eq!(
        max_5::gradient([1.0, 3.0, 3.0, -1.0, 3.0]).1.v,
        [0.0, 1.0, 0.0, 0.0, 0.0]
    );
    assert_eq!(
        min_5::backward([2.0, -1.0, 0.0, -1.0, -1.0], 4.0).1.v,
        [0.0, 4.0, 0.0, 0.0, 0.0]
    );
    // All equal: the first.
    assert_eq!(max_5::gradient([0.5; 5]).1.v, [1.0, 0.0, 0.0, 0.0, 0.0]);
    assert_eq!(min_5::gradient([0.5; 5]).1.v, [1.0, 0.0, 0.0, 0.0, 0.0]);
    // In a matrix, the first in row-major order.
    let m = [
        [1.0, 2.0, 5.0, 0.0],
        [5.0, 5.0, 1.0, 1.0],
        [0.0, 2.0, 3.0, 5.0],
    ];
    let (y, g) = max_matrix::gradient(m);
    assert_eq!(y, 5.0);
    assert_eq!(g.m, [[0.0, 0.0, 1.0, 0.0], [0.0; 4], [0.0; 4]]);
    let (y, g) = min_matrix::gradient(m);
    assert_eq!(y, 0.0);
    assert_eq!(g.m, [[0.0, 0.0, 0.0, 1.0], [0.0; 4], [0.0; 4]]);
    // Signed zeros tie.
    assert_eq!(
        max_5::gradient([-0.0, 0.0, -1.0, -2.0, -3.0]).1.v,
        [1.0, 0.0, 0.0, 0.0, 0.0]
    );
}

#[test]
fn nan_propagates() {
    let nan = f64::NAN;
    // max and min: a NaN element is the result, and its partial is NaN.
    for v in [
        [nan, 1.0, 2.0, 3.0, 4.0],
        [1.0, 9.0, nan, 3.0, 4.0],
        [1.0, 2.0, 3.0, 4.0, nan],
    ] {
        let k = v.iter().position(|x| x.is_nan()).unwrap();
        let (ymax, gmax) = max_5::backward(v, 2.0);
        let (ymin, gmin) = min_5::backward(v, 2.0);
        for (y, g) in [(ymax, gmax.v), (ymin, gmin.v)] {
            assert!(y.is_nan(), "{v:?}: {y}");
            assert!(g[k].is_nan(), "{v:?}: {g:?}");
            assert!(
                g.iter().enumerate().all(|(i, d)| i == k || *d == 0.0),
                "{g:?}"
            );
        }
        assert!(max_5(v).is_nan() && min_5(v).is_nan());
    }
    let (y, g) = max_matrix::gradient([[1.0, 2.0, 3.0, 4.0], [0.0, nan, 0.0, 0.0], [9.0; 4]]);
    assert!(y.is_nan() && g.m[1][1].is_nan());
    // norm: every partial depends on the norm, so every one is NaN.
    let (y, g) = norm_5::gradient([1.0, nan, 0.0, 2.0, 3.0]);
    assert!(y.is_nan() && g.v.iter().all(|d| d.is_nan()), "{y} {g:?}");
    // logsumexp: its softmax is NaN throughout.
    let (y, g) = logsumexp_5::gradient([1.0, nan, 0.0, 2.0, 3.0]);
    assert!(y.is_nan() && g.v.iter().all(|d| d.is_nan()), "{y} {g:?}");
    // mean is linear: NaN in the value, the partials stay 1/n.
    let (y, g) = mean_5::gradient([1.0, nan, 0.0, 2.0, 3.0]);
    assert!(y.is_nan() && g.v == [0.2; 5], "{y} {g:?}");
}

#[test]
fn norm_of_zero_has_zero_gradient() {
    assert_eq!(
        norm_5::gradient([0.0; 5]),
        (0.0, norm_5::Grad { v: [0.0; 5] })
    );
    assert_eq!(norm_5::backward([-0.0; 5], 3.0).1.v, [0.0; 5]);
    assert_eq!(norm_1::gradient([0.0]).1.v, [0.0]);
    assert_eq!(norm_matrix::gradient([[0.0; 4]; 3]).1.m, [[0.0; 4]; 3]);
    // Next to zero the true derivative holds.
    let (y, g) = norm_1::gradient([-1e-100]);
    assert_eq!((y, g.v), (1e-100, [-1.0]));
    // Where the square underflows, the norm is 0 and so is the gradient's
    // scale: finite, and as small as the element.
    let (y, g) = norm_1::gradient([-1e-300]);
    assert_eq!((y, g.v), (0.0, [-1e-300]));
}

#[test]
fn logsumexp_is_stable() {
    // ln(e^1000 + e^1000) = 1000 + ln 2, with the softmax [1/2, 1/2].
    let (y, g) = logsumexp_pair::gradient([1000.0, 1000.0]);
    assert_eq!(y, 1000.0 + std::f64::consts::LN_2);
    assert_eq!(g.v, [0.5, 0.5]);
    let (y, g) = logsumexp_pair::gradient([-1000.0, -1000.0]);
    assert_eq!(y, -1000.0 + std::f64::consts::LN_2);
    assert_eq!(g.v, [0.5, 0.5]);
    let (y, g) = logsumexp_pair::gradient([1000.0, 0.0]);
    assert_eq!((y, g.v), (1000.0, [1.0, 0.0]));
    // An infinite element is no shift: ln(e^-inf + e^-inf) = -inf.
    assert_eq!(logsumexp_pair([f64::NEG_INFINITY; 2]), f64::NEG_INFINITY);
    assert_eq!(logsumexp_pair([f64::INFINITY, 0.0]), f64::INFINITY);
    assert_eq!(
        logsumexp_1::gradient([1e300]),
        (1e300, logsumexp_1::Grad { v: [1.0] })
    );
}

/// `logsumexp` of two.
#[neuron]
pub fn logsumexp_pair(v: [f64; 2]) -> f64 {
    logsumexp(v)
}

// ---------------------------------------------------------------------------
// f32 and generic neurons.

/// Every reduction, generic over the float type.
#[neuron]
pub fn reductions_generic<T: Real>(v: [T; 5], m: [[T; 3]; 2]) -> T {
    mean(v) * norm(m) + logsumexp(v) - max(m) + v.min() * mean(m)
}

/// Every reduction in f32.
#[neuron]
pub fn reductions_f32(v: [f32; 5], m: [[f32; 3]; 2]) -> f32 {
    mean(v) * norm(m) + logsumexp(v) - max(m) + v.min() * mean(m)
}

#[test]
fn f32_and_generic() {
    let mut rng = fd::rng(seed("reductions generic"));
    let mut checked = 0;
    while checked < POINTS {
        let p = uniforms(&mut rng, 11, -2.0, 2.0);
        // The f32 differences step by 1e-2.
        if within(&p[..5], 0.05) || within(&p[5..], 0.05) {
            continue;
        }
        let (v, m): ([f64; 5], [[f64; 3]; 2]) = (arr(&p), mat(&p[5..]));
        let (y, g) = reductions_generic::gradient(v, m);
        assert_eq!(y, reductions_generic(v, m));
        let want = mean_ref(&p[..5]) * norm_ref(&p[5..]) + logsumexp_ref(&p[..5])
            - max_ref(&p[5..])
            + min_ref(&p[..5]) * mean_ref(&p[5..]);
        assert!((y - want).abs() < EXACT * want.abs().max(1.0), "{y} {want}");
        let numeric = central(|q| reductions_generic(arr(q), mat(&q[5..])), &p, H);
        let analytic = [g.v.to_vec(), flat2(&g.m)].concat();
        assert_all_close("reductions generic f64", &p, &analytic, &numeric, TOL);

        let q: Vec<f32> = p.iter().map(|&x| x as f32).collect();
        let split = |q: &[f32]| -> ([f32; 5], [[f32; 3]; 2]) {
            (
                std::array::from_fn(|i| q[i]),
                std::array::from_fn(|i| std::array::from_fn(|j| q[5 + 3 * i + j])),
            )
        };
        let (v32, m32) = split(&q);
        let (y32, g32) = reductions_f32::gradient(v32, m32);
        let (yg, gg) = reductions_generic::gradient(v32, m32);
        assert_eq!((y32, g32.v, g32.m), (yg, gg.v, gg.m));
        let numeric = central_f32(
            |q| {
                let (v, m) = split(q);
                reductions_f32(v, m)
            },
            &q,
            1e-2,
        );
        let analytic: Vec<f64> = g32
            .v
            .iter()
            .chain(g32.m.iter().flatten())
            .map(|&x| f64::from(x))
            .collect();
        let point: Vec<f64> = q.iter().map(|&x| f64::from(x)).collect();
        assert_all_close("reductions f32", &point, &analytic, &numeric, 5e-3);
        checked += 1;
    }
}

// ---------------------------------------------------------------------------
// Loops, not unrolled.

/// A 1024-long input through every reduction.
#[neuron]
pub fn wide(v: [f64; 1024], s: f64) -> f64 {
    mean(v) * s + norm(v) * logsumexp(v) - max(v) + min(v)
}

/// The same on a 64-long input: long enough for the partial sums of
/// `mean`, whose code is the same at every length from 32 on.
#[neuron]
pub fn slim(v: [f64; 64], s: f64) -> f64 {
    mean(v) * s + norm(v) * logsumexp(v) - max(v) + min(v)
}

#[test]
fn long_reductions_stay_loops() {
    assert_eq!(
        code_size(wide::SOURCE),
        code_size(slim::SOURCE),
        "{}\n---\n{}",
        wide::SOURCE,
        slim::SOURCE
    );
    assert!(wide::SOURCE.contains("0..1024"), "{}", wide::SOURCE);
    assert!(!wide::SOURCE.contains("[1023]"), "{}", wide::SOURCE);
    let v: [f64; 1024] = std::array::from_fn(|i| (i as f64 * 0.37).sin());
    let (y, g) = wide::gradient(v, 0.5);
    assert_eq!(y, wide(v, 0.5));
    assert!(g.v.iter().all(|d| d.is_finite()));
}

// ---------------------------------------------------------------------------
// Long reductions keep partial sums in a fixed, documented order.

/// A dot of 37: two blocks of sixteen and a remainder of five.
#[neuron]
pub fn long_dot(x: [f64; 37], #[param] w: [f64; 37]) -> f64 {
    dot(w, x)
}

/// 17 rows (more than the rows swept column-first) of 41 columns.
#[neuron]
pub fn long_rows(x: [f64; 41], #[param] w: [[f64; 41]; 17]) -> [f64; 17] {
    matvec(w, x)
}

/// 3 rows (few enough to sweep columns first, were they short) of 41
/// columns: long rows keep partial sums however many rows there are.
#[neuron]
pub fn few_long_rows(x: [f64; 41], #[param] w: [[f64; 41]; 3]) -> [f64; 3] {
    matvec(w, x)
}

/// The same product with the lengths generic.
#[neuron]
pub fn generic_rows<T: Real, const I: usize, const O: usize>(
    x: [T; I],
    #[param] w: [[T; I]; O],
) -> [T; O] {
    matvec(w, x)
}

/// `sum` and `mean` of a vector of 37 products, and `sum` of a matrix,
/// which adds in row-major order.
#[neuron]
pub fn long_sums(x: [f64; 37], #[param] w: [f64; 37], m: [[f64; 20]; 2]) -> [f64; 3] {
    [sum(x * w), mean(x * w), sum(m)]
}

/// `sum` of a vector whose length is a const parameter.
#[neuron]
pub fn generic_sum<T: Real, const N: usize>(#[param] x: [T; N]) -> T {
    sum(x)
}

/// The documented order, written out independently: element `i` of the
/// whole blocks of sixteen into partial `i % 16`, the partials added in
/// order, then the remainder in order.
fn partial_sums(terms: &[f64]) -> f64 {
    let whole = terms.len() / 16 * 16;
    let mut p = [0.0; 16];
    for (i, t) in terms[..whole].iter().enumerate() {
        p[i % 16] += t;
    }
    let mut total = p[0];
    for partial in &p[1..] {
        total += partial;
    }
    for t in &terms[whole..] {
        total += t;
    }
    total
}

#[test]
fn long_reductions_add_in_the_documented_order() {
    let mut r = rng(37);
    let x: [f64; 37] = arr(&uniforms(&mut r, 37, -2.0, 2.0));
    let w: [f64; 37] = arr(&uniforms(&mut r, 37, -2.0, 2.0));
    let terms: Vec<f64> = (0..37).map(|i| w[i] * x[i]).collect();
    let (y, g) = long_dot::gradient(x, w);
    assert_eq!(y.to_bits(), partial_sums(&terms).to_bits());
    // Rounding aside, the written order's value; the partials are exact.
    let sequential: f64 = terms.iter().sum();
    assert!((y - sequential).abs() <= 1e-12 * (1.0 + sequential.abs()));
    assert_eq!((g.x, g.w), (w, x));

    let x: [f64; 41] = arr(&uniforms(&mut r, 41, -2.0, 2.0));
    let w: [[f64; 41]; 17] = std::array::from_fn(|_| arr(&uniforms(&mut r, 41, -2.0, 2.0)));
    // Each row in the documented order, and the generic layer the same.
    fn rows_in_order<const O: usize>(w: &[[f64; 41]; O], x: &[f64; 41], y: [f64; O]) {
        let generic = generic_rows(*x, *w);
        for i in 0..O {
            let terms: Vec<f64> = (0..41).map(|j| w[i][j] * x[j]).collect();
            assert_eq!(y[i].to_bits(), partial_sums(&terms).to_bits(), "row {i}");
            assert_eq!(generic[i].to_bits(), y[i].to_bits(), "row {i}");
        }
    }
    rows_in_order(&w, &x, long_rows(x, w));
    let few: [[f64; 41]; 3] = [w[0], w[1], w[2]];
    rows_in_order(&few, &x, few_long_rows(x, few));
    // And the gradient of a random projection against finite differences.
    let dy: [f64; 17] = arr(&uniforms(&mut r, 17, -1.0, 1.0));
    let (_, g) = long_rows::backward(x, w, dy);
    let f = |v: &[f64]| {
        let x: [f64; 41] = arr(v);
        long_rows(x, w)
            .iter()
            .zip(&dy)
            .map(|(a, b)| a * b)
            .sum::<f64>()
    };
    assert_all_close("∂x of long rows", &x, &g.x, &central(f, &x, 1e-5), 1e-7);

    // `sum` and `mean` of a long vector keep the same partial sums; `sum`
    // of a matrix adds in row-major order.
    let x: [f64; 37] = arr(&uniforms(&mut r, 37, -2.0, 2.0));
    let w: [f64; 37] = arr(&uniforms(&mut r, 37, -2.0, 2.0));
    let m: [[f64; 20]; 2] = std::array::from_fn(|_| arr(&uniforms(&mut r, 20, -2.0, 2.0)));
    let terms: Vec<f64> = (0..37).map(|i| x[i] * w[i]).collect();
    let y = long_sums(x, w, m);
    assert_eq!(y[0].to_bits(), partial_sums(&terms).to_bits());
    assert_eq!(y[1].to_bits(), (partial_sums(&terms) / 37.0).to_bits());
    let written: f64 = m.as_flattened().iter().fold(0.0, |total, v| total + v);
    assert_eq!(y[2].to_bits(), written.to_bits());
    assert_eq!(generic_sum(x).to_bits(), partial_sums(&x).to_bits());
    let short: [f64; 5] = arr(&x[..5]);
    let written: f64 = short.iter().fold(0.0, |total, v| total + v);
    assert_eq!(generic_sum(short).to_bits(), written.to_bits());
    // The gradients against finite differences.
    let dy = [0.5, -1.5, 0.25];
    let (_, g) = long_sums::backward(x, w, m, dy);
    let f = |v: &[f64]| {
        let w: [f64; 37] = arr(v);
        long_sums(x, w, m)
            .iter()
            .zip(&dy)
            .map(|(a, b)| a * b)
            .sum::<f64>()
    };
    assert_all_close("∂w of long sums", &w, &g.w, &central(f, &w, 1e-5), 1e-7);
}
