//! The harness of the op tests: the generated items of a neuron as
//! functions of flat arguments, what is known about an op independently of
//! the macro, and the checks of value, `gradient` and `backward` against
//! closed forms and central finite differences at seeded random points.
//!
//! Shared by the op test files through `#[macro_use] mod harness;`; each
//! uses only part of it, hence the `dead_code` allowance.
#![allow(dead_code, unused_macros)]

use crate::fd::{self, arr, assert_all_close, central, close, uniform, uniforms};
use rand_chacha::ChaCha8Rng;

/// Points checked per function.
pub const POINTS: usize = 64;
/// Finite-difference step (scaled by `max(1, |x|)`).
pub const H: f64 = 1e-6;
/// Relative tolerance, with the same absolute floor.
pub const TOL: f64 = 1e-6;
/// Tolerance for comparisons with closed forms, which have no truncation error.
pub const EXACT: f64 = 1e-12;

/// A stable seed per test name, so each test draws its own points.
pub fn seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The generated items of a scalar function of `N` scalar arguments, as
/// functions of an array of the arguments.
pub struct Scalar<const N: usize> {
    pub forward: fn([f64; N]) -> f64,
    pub gradient: fn([f64; N]) -> (f64, [f64; N]),
    pub backward: fn([f64; N], f64) -> (f64, [f64; N]),
}

/// [`Scalar`] for a `#[neuron]` function of one argument.
macro_rules! unary {
    ($f:ident) => {
        Scalar::<1> {
            forward: |[x]| $f(x),
            gradient: |[x]| {
                let (y, g) = $f::gradient(x);
                (y, [g.into_parts().0])
            },
            backward: |[x], dy| {
                let (y, g) = $f::backward(x, dy);
                (y, [g.into_parts().0])
            },
        }
    };
}

/// [`Scalar`] for a `#[neuron]` function of two arguments.
macro_rules! binary {
    ($f:ident) => {
        Scalar::<2> {
            forward: |[a, b]| $f(a, b),
            gradient: |[a, b]| {
                let (y, g) = $f::gradient(a, b);
                let (ga, gb) = g.into_parts();
                (y, [ga, gb])
            },
            backward: |[a, b], dy| {
                let (y, g) = $f::backward(a, b, dy);
                let (ga, gb) = g.into_parts();
                (y, [ga, gb])
            },
        }
    };
}

/// [`Scalar`] for a `#[neuron]` function of three arguments.
macro_rules! ternary {
    ($f:ident) => {
        Scalar::<3> {
            forward: |[a, b, c]| $f(a, b, c),
            gradient: |[a, b, c]| {
                let (y, g) = $f::gradient(a, b, c);
                let (ga, gb, gc) = g.into_parts();
                (y, [ga, gb, gc])
            },
            backward: |[a, b, c], dy| {
                let (y, g) = $f::backward(a, b, c, dy);
                let (ga, gb, gc) = g.into_parts();
                (y, [ga, gb, gc])
            },
        }
    };
}

/// What is known about a scalar op independently of the macro.
pub struct Spec<const N: usize> {
    /// Draws a point, or `None` when it falls near a kink or outside the
    /// domain (such points are redrawn).
    pub draw: fn(&mut ChaCha8Rng) -> Option<[f64; N]>,
    /// The op's value, written with `std` floats.
    pub value: fn([f64; N]) -> f64,
    /// The derivative in closed form, when the test states it.
    pub slope: Option<fn([f64; N]) -> [f64; N]>,
}

/// Checks value, `gradient` and `backward` of `n` at [`POINTS`] points.
#[track_caller]
pub fn check<const N: usize>(name: &str, n: &Scalar<N>, spec: &Spec<N>) {
    let mut rng = fd::rng(seed(name));
    let mut checked = 0;
    let mut draws = 0;
    while checked < POINTS {
        draws += 1;
        assert!(
            draws < 100 * POINTS,
            "{name}: the sampler rejects almost every point"
        );
        let Some(p) = (spec.draw)(&mut rng) else {
            continue;
        };
        let y = (n.forward)(p);
        let want = (spec.value)(p);
        assert!(
            close(y, want, EXACT),
            "{name}: value {y} at {p:?}, the closed form gives {want}"
        );

        let (yg, g) = (n.gradient)(p);
        assert_eq!(
            yg.to_bits(),
            y.to_bits(),
            "{name}: gradient's value differs from the forward function at {p:?}"
        );
        let numeric = central(|v| (n.forward)(arr(v)), &p, H);
        assert_all_close(
            &format!("{name}: gradient vs finite differences"),
            &p,
            &g,
            &numeric,
            TOL,
        );
        if let Some(slope) = spec.slope {
            assert_all_close(
                &format!("{name}: gradient vs closed form"),
                &p,
                &g,
                &slope(p),
                EXACT,
            );
        }

        let dy = uniform(&mut rng, -3.0, 3.0);
        let (yb, gb) = (n.backward)(p, dy);
        assert_eq!(
            yb.to_bits(),
            y.to_bits(),
            "{name}: backward's value differs from the forward function"
        );
        let scaled: Vec<f64> = numeric.iter().map(|d| d * dy).collect();
        assert_all_close(
            &format!("{name}: backward(dy = {dy}) vs dy * finite differences"),
            &p,
            &gb,
            &scaled,
            3.0 * TOL,
        );
        checked += 1;
    }
}

/// A point in `lo..hi`.
pub fn one(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> [f64; 1] {
    [uniform(rng, lo, hi)]
}

/// A point in `lo..hi` at least `gap` away from 0.
pub fn off_zero(rng: &mut ChaCha8Rng, lo: f64, hi: f64, gap: f64) -> Option<[f64; 1]> {
    let x = uniform(rng, lo, hi);
    (x.abs() > gap).then_some([x])
}

/// A pair in `-3..3` whose entries differ by more than `1e-3`.
pub fn apart(rng: &mut ChaCha8Rng) -> Option<[f64; 2]> {
    let (a, b) = (uniform(rng, -3.0, 3.0), uniform(rng, -3.0, 3.0));
    ((a - b).abs() > 1e-3).then_some([a, b])
}

pub fn pair(rng: &mut ChaCha8Rng) -> Option<[f64; 2]> {
    Some([uniform(rng, -3.0, 3.0), uniform(rng, -3.0, 3.0)])
}

pub fn sigma(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `(value, gradient)` of flattened arguments for an upstream `dy`.
pub type Backward<'a> = &'a dyn Fn(&[f64], &[f64]) -> (Vec<f64>, Vec<f64>);
/// A vector-Jacobian product of flattened arguments and `dy`.
pub type Vjp<'a> = &'a dyn Fn(&[f64], &[f64]) -> Vec<f64>;

/// The generated items of a function of flattened arguments.
pub struct Flat<'a> {
    /// Number of scalars over all arguments.
    pub inputs: usize,
    /// Number of scalars in the output.
    pub outputs: usize,
    pub forward: &'a dyn Fn(&[f64]) -> Vec<f64>,
    /// `(value, gradient)` for an upstream `dy`.
    pub backward: Backward<'a>,
    /// The value in closed form.
    pub value: &'a dyn Fn(&[f64]) -> Vec<f64>,
    /// The vector-Jacobian product in closed form, when the test states it.
    pub vjp: Option<Vjp<'a>>,
    /// Whether a point is near a kink or outside the domain.
    pub avoid: &'a dyn Fn(&[f64]) -> bool,
}

/// Checks `f` at [`POINTS`] points with entries in `-2..2`.
#[track_caller]
pub fn check_flat(name: &str, f: &Flat<'_>) {
    let mut rng = fd::rng(seed(name));
    let mut checked = 0;
    while checked < POINTS {
        let p = uniforms(&mut rng, f.inputs, -2.0, 2.0);
        if (f.avoid)(&p) {
            continue;
        }
        let y = (f.forward)(&p);
        assert_eq!(y.len(), f.outputs);
        assert_all_close(
            &format!("{name}: value vs closed form"),
            &p,
            &y,
            &(f.value)(&p),
            EXACT,
        );
        let dy = uniforms(&mut rng, f.outputs, -2.0, 2.0);
        let (yb, g) = (f.backward)(&p, &dy);
        assert_eq!(
            yb, y,
            "{name}: backward's value differs from the forward function"
        );
        let numeric = central(|v| fd::dot(&dy, &(f.forward)(v)), &p, H);
        assert_all_close(
            &format!("{name}: backward vs finite differences (dy = {dy:?})"),
            &p,
            &g,
            &numeric,
            TOL,
        );
        if let Some(vjp) = f.vjp {
            assert_all_close(
                &format!("{name}: backward vs closed form"),
                &p,
                &g,
                &vjp(&p, &dy),
                EXACT,
            );
        }
        checked += 1;
    }
}

pub fn never(_: &[f64]) -> bool {
    false
}

pub fn softmax_ref(v: &[f64]) -> Vec<f64> {
    let e: Vec<f64> = v.iter().map(|x| x.exp()).collect();
    let total: f64 = e.iter().sum();
    e.iter().map(|x| x / total).collect()
}

/// The size of generated code whatever its line breaks: its statements
/// (`;`), separated items (`,`) and lines once wrapped expressions are
/// joined back (a line that ends in an opening `{` or `(` and the closing
/// line of such a block count as one with what they enclose). The pretty
/// printer wraps a line that `[f64; 1024]` makes longer than its width
/// where `[f64; 4]` keeps it on one, which is no growth of the code.
pub fn code_size(source: &str) -> (usize, usize, usize) {
    let lines = source
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("///"))
        .filter(|l| !matches!(*l, "});" | "})" | "}" | ");" | ")"))
        .filter(|l| !l.ends_with("from_fn(|i| {"))
        .count();
    (
        source.matches(';').count(),
        source.matches(',').count(),
        lines,
    )
}
