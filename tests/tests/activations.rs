//! The trigonometric functions and the activations beyond the first ones
//! (`sin`, `cos`, `atan`, `silu`, `gelu`, `elu`, `softsign`, `clamp`,
//! `log_sigmoid`), differentiated by `#[neuron]` and checked as `ops.rs`
//! checks the rest: `gradient` and `backward` against central finite
//! differences at 64 seeded points away from kinks, the value and the
//! derivative against their closed forms; in method spelling, element-wise
//! on arrays, in f32 and in a generic `T: Real` neuron. Then what finite
//! differences cannot see: the kink rules exactly at the kinks, NaN in
//! giving NaN out, and the stable forms at ±1000.

mod fd;
#[macro_use]
mod harness;

use fd::{arr, assert_all_close, central, central_f32, uniform, uniforms};
use harness::*;
use neuron_core::prelude::*;
use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// `erf(z)` by its Taylor series, an independent reference for `gelu`
/// (accurate to about 1e-15 for `|z| <= 3`, where the tests draw).
fn erf(z: f64) -> f64 {
    let mut term = z;
    let mut total = z;
    for n in 1..80 {
        term *= -z * z / f64::from(n);
        total += term / f64::from(2 * n + 1);
    }
    2.0 / PI.sqrt() * total
}

/// `Φ(x)`, the standard normal distribution function.
fn cdf(x: f64) -> f64 {
    0.5 * (1.0 + erf(x * FRAC_1_SQRT_2))
}

/// `φ(x)`, the standard normal density.
fn pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * PI).sqrt()
}

/// `clamp` as `min(max(x, lo), hi)`.
fn clamped(x: f64, lo: f64, hi: f64) -> f64 {
    x.max(lo).min(hi)
}

/// Three reals in `-3..3` at least `1e-3` apart, with `lo < hi` or not.
fn three_apart(r: &mut rand_chacha::ChaCha8Rng) -> Option<[f64; 3]> {
    let p = [
        uniform(r, -3.0, 3.0),
        uniform(r, -3.0, 3.0),
        uniform(r, -3.0, 3.0),
    ];
    let apart =
        (p[0] - p[1]).abs() > 1e-3 && (p[0] - p[2]).abs() > 1e-3 && (p[1] - p[2]).abs() > 1e-3;
    apart.then_some(p)
}

// ---------------------------------------------------------------------------
// Scalars.

/// `sin`.
#[neuron]
pub fn sin_op(x: f64) -> f64 {
    sin(x)
}

/// `cos`.
#[neuron]
pub fn cos_op(x: f64) -> f64 {
    cos(x)
}

/// `atan`.
#[neuron]
pub fn atan_op(x: f64) -> f64 {
    atan(x)
}

/// `silu`.
#[neuron]
pub fn silu_op(x: f64) -> f64 {
    silu(x)
}

/// `gelu`.
#[neuron]
pub fn gelu_op(x: f64) -> f64 {
    gelu(x)
}

/// `elu` with both the input and the scale differentiated.
#[neuron]
pub fn elu_op(x: f64, a: f64) -> f64 {
    elu(x, a)
}

/// `elu` with a literal scale.
#[neuron]
pub fn elu_lit(x: f64) -> f64 {
    elu(x, 1.0)
}

/// `softsign`.
#[neuron]
pub fn softsign_op(x: f64) -> f64 {
    softsign(x)
}

/// `clamp` with the value and both bounds differentiated.
#[neuron]
pub fn clamp_op(x: f64, lo: f64, hi: f64) -> f64 {
    clamp(x, lo, hi)
}

/// `clamp` between literal bounds, as in ReLU6.
#[neuron]
pub fn clamp_lit(x: f64) -> f64 {
    clamp(x, 0, 6.0)
}

/// `log_sigmoid`.
#[neuron]
pub fn log_sigmoid_op(x: f64) -> f64 {
    log_sigmoid(x)
}

#[test]
fn trigonometric() {
    check(
        "sin",
        &unary!(sin_op),
        &Spec {
            draw: |r| Some(one(r, -7.0, 7.0)),
            value: |[x]| x.sin(),
            slope: Some(|[x]| [x.cos()]),
        },
    );
    check(
        "cos",
        &unary!(cos_op),
        &Spec {
            draw: |r| Some(one(r, -7.0, 7.0)),
            value: |[x]| x.cos(),
            slope: Some(|[x]| [-x.sin()]),
        },
    );
    check(
        "atan",
        &unary!(atan_op),
        &Spec {
            draw: |r| Some(one(r, -10.0, 10.0)),
            value: |[x]| x.atan(),
            slope: Some(|[x]| [1.0 / (1.0 + x * x)]),
        },
    );
}

#[test]
fn smooth_activations() {
    check(
        "silu",
        &unary!(silu_op),
        &Spec {
            draw: |r| Some(one(r, -10.0, 10.0)),
            value: |[x]| x / (1.0 + (-x).exp()),
            // silu' = σ (1 + x (1 - σ)).
            slope: Some(|[x]| [sigma(x) * (1.0 + x * (1.0 - sigma(x)))]),
        },
    );
    check(
        "gelu",
        &unary!(gelu_op),
        &Spec {
            draw: |r| Some(one(r, -4.0, 4.0)),
            value: |[x]| x * cdf(x),
            // gelu' = Φ + x φ.
            slope: Some(|[x]| [cdf(x) + x * pdf(x)]),
        },
    );
    check(
        "softsign",
        &unary!(softsign_op),
        &Spec {
            draw: |r| off_zero(r, -5.0, 5.0, 1e-3),
            value: |[x]| x / (1.0 + x.abs()),
            slope: Some(|[x]| [1.0 / (1.0 + x.abs()).powi(2)]),
        },
    );
    check(
        "log_sigmoid",
        &unary!(log_sigmoid_op),
        &Spec {
            draw: |r| Some(one(r, -10.0, 10.0)),
            value: |[x]| sigma(x).ln(),
            slope: Some(|[x]| [1.0 - sigma(x)]),
        },
    );
}

#[test]
fn kinked_activations() {
    check(
        "elu",
        &binary!(elu_op),
        &Spec {
            draw: |r| {
                let [x] = off_zero(r, -3.0, 3.0, 1e-3)?;
                Some([x, uniform(r, 0.1, 2.0)])
            },
            value: |[x, a]| if x > 0.0 { x } else { a * (x.exp() - 1.0) },
            slope: Some(|[x, a]| {
                if x > 0.0 {
                    [1.0, 0.0]
                } else {
                    [a * x.exp(), x.exp() - 1.0]
                }
            }),
        },
    );
    check(
        "elu literal scale",
        &unary!(elu_lit),
        &Spec {
            draw: |r| off_zero(r, -3.0, 3.0, 1e-3),
            value: |[x]| if x > 0.0 { x } else { x.exp() - 1.0 },
            slope: Some(|[x]| [if x > 0.0 { 1.0 } else { x.exp() }]),
        },
    );
    check(
        "clamp",
        &ternary!(clamp_op),
        &Spec {
            draw: three_apart,
            value: |[x, lo, hi]| clamped(x, lo, hi),
            // Exactly one of the three is the value, and takes the gradient.
            slope: Some(|[x, lo, hi]| {
                let y = clamped(x, lo, hi);
                if y == x {
                    [1.0, 0.0, 0.0]
                } else if y == lo {
                    [0.0, 1.0, 0.0]
                } else {
                    [0.0, 0.0, 1.0]
                }
            }),
        },
    );
    check(
        "clamp literal bounds",
        &unary!(clamp_lit),
        &Spec {
            draw: |r| {
                let x = uniform(r, -3.0, 9.0);
                (x.abs() > 1e-3 && (x - 6.0).abs() > 1e-3).then_some([x])
            },
            value: |[x]| x.clamp(0.0, 6.0),
            slope: Some(|[x]| [if x > 0.0 && x < 6.0 { 1.0 } else { 0.0 }]),
        },
    );
}

// ---------------------------------------------------------------------------
// Method spellings mean the same.

/// Every new function in method form, chained.
#[neuron]
pub fn methods_chained(x: f64, a: f64) -> f64 {
    x.sin() * x.cos() + x.atan() - x.silu() + x.gelu() * a + x.elu(a) + x.softsign()
        - x.clamp(-1.0, a)
        + x.log_sigmoid()
}

#[test]
fn method_spellings() {
    check(
        "methods chained",
        &binary!(methods_chained),
        &Spec {
            draw: |r| {
                let [x, a] = [uniform(r, -3.0, 3.0), uniform(r, 0.1, 2.0)];
                let far = x.abs() > 1e-3 && (x + 1.0).abs() > 1e-3 && (x - a).abs() > 1e-3;
                far.then_some([x, a])
            },
            value: |[x, a]| {
                let elu = if x > 0.0 { x } else { a * (x.exp() - 1.0) };
                x.sin() * x.cos() + x.atan() - x * sigma(x)
                    + x * cdf(x) * a
                    + elu
                    + x / (1.0 + x.abs())
                    - clamped(x, -1.0, a)
                    + sigma(x).ln()
            },
            slope: None,
        },
    );
}

// ---------------------------------------------------------------------------
// Element-wise on arrays, with scalars broadcast.

/// Every new unary function applied element-wise.
#[neuron]
pub fn elementwise_unary(x: [f64; 4]) -> [f64; 4] {
    sin(x) + cos(x) * atan(x) - silu(x) + gelu(x) + softsign(x) * log_sigmoid(x) + elu(x, 0.5)
}

/// `elu` and `clamp` between arrays and with broadcast scalars.
#[neuron]
pub fn elementwise_kinked(x: [f64; 4], a: [f64; 4], s: f64) -> [f64; 4] {
    elu(x, a) + elu(a, s) + clamp(x, -1, s) + clamp(s, x, a)
}

#[test]
fn elementwise_with_broadcast() {
    check_flat(
        "element-wise unary",
        &Flat {
            inputs: 4,
            outputs: 4,
            forward: &|p| elementwise_unary(arr(p)).to_vec(),
            backward: &|p, dy| {
                let (y, g) = elementwise_unary::backward(arr(p), arr(dy));
                (y.to_vec(), g.x.to_vec())
            },
            value: &|p| {
                p.iter()
                    .map(|&x| {
                        let elu = if x > 0.0 { x } else { 0.5 * (x.exp() - 1.0) };
                        x.sin() + x.cos() * x.atan() - x * sigma(x)
                            + x * cdf(x)
                            + x / (1.0 + x.abs()) * sigma(x).ln()
                            + elu
                    })
                    .collect()
            },
            vjp: None,
            avoid: &|p| p.iter().any(|x| x.abs() < 1e-3),
        },
    );
    check_flat(
        "element-wise kinked",
        &Flat {
            inputs: 9,
            outputs: 4,
            forward: &|p| elementwise_kinked(arr(p), arr(&p[4..]), p[8]).to_vec(),
            backward: &|p, dy| {
                let (y, g) = elementwise_kinked::backward(arr(p), arr(&p[4..]), p[8], arr(dy));
                (y.to_vec(), [g.x.to_vec(), g.a.to_vec(), vec![g.s]].concat())
            },
            value: &|p| {
                let s = p[8];
                let elu = |x: f64, a: f64| if x > 0.0 { x } else { a * (x.exp() - 1.0) };
                (0..4)
                    .map(|i| {
                        let (x, a) = (p[i], p[4 + i]);
                        elu(x, a) + elu(a, s) + clamped(x, -1.0, s) + clamped(s, x, a)
                    })
                    .collect()
            },
            vjp: None,
            avoid: &|p| {
                let s = p[8];
                (0..4).any(|i| {
                    let (x, a) = (p[i], p[4 + i]);
                    [x, a, x + 1.0, x - s, s + 1.0, s - x, s - a, x - a]
                        .iter()
                        .any(|d| d.abs() < 1e-3)
                })
            },
        },
    );
}

// ---------------------------------------------------------------------------
// f32 and generic neurons.

/// The new functions in f32.
#[neuron]
pub fn mix_f32(a: f32, b: f32) -> f32 {
    sin(a) * cos(b) + atan(a * b) + silu(b) - gelu(a) + elu(a, 0.5) + softsign(b) - clamp(a, -1, b)
        + log_sigmoid(a - b)
}

/// The new functions, generic over the float type.
#[neuron]
pub fn mix_generic<T: Real>(a: T, b: T) -> T {
    sin(a) * cos(b) + atan(a * b) + silu(b) - gelu(a) + elu(a, 0.5) + softsign(b) - clamp(a, -1, b)
        + log_sigmoid(a - b)
}

fn mix_ref(a: f64, b: f64) -> f64 {
    let elu = if a > 0.0 { a } else { 0.5 * (a.exp() - 1.0) };
    a.sin() * b.cos() + (a * b).atan() + b * sigma(b) - a * cdf(a) + elu + b / (1.0 + b.abs())
        - clamped(a, -1.0, b)
        + sigma(a - b).ln()
}

#[test]
fn f32_and_generic() {
    const H32: f32 = 1e-2;
    const TOL32: f64 = 2e-3;
    let mut rng = fd::rng(seed("activations f32"));
    let mut checked = 0;
    while checked < POINTS {
        let p = uniforms(&mut rng, 2, -2.0, 2.0);
        let (a, b) = (p[0] as f32, p[1] as f32);
        if [a, b, a + 1.0, a - b].iter().any(|d| d.abs() < 0.05) {
            continue;
        }
        let point = [f64::from(a), f64::from(b)];

        let (y, g) = mix_f32::gradient(a, b);
        assert_eq!(y, mix_f32(a, b));
        assert!((f64::from(y) - mix_ref(point[0], point[1])).abs() < 1e-5);
        let numeric = central_f32(|v| mix_f32(v[0], v[1]), &[a, b], H32);
        let analytic = [f64::from(g.a), f64::from(g.b)];
        assert_all_close("mix f32", &point, &analytic, &numeric, TOL32);

        let (y32, g32) = mix_generic::gradient(a, b);
        assert_eq!(y32, y);
        assert_eq!((g32.a, g32.b), (g.a, g.b));

        let (y64, g64) = mix_generic::gradient(point[0], point[1]);
        assert!((y64 - mix_ref(point[0], point[1])).abs() < EXACT);
        let numeric = central(|v| mix_generic(v[0], v[1]), &point, H);
        assert_all_close("mix generic f64", &point, &[g64.a, g64.b], &numeric, TOL);
        checked += 1;
    }
}

// ---------------------------------------------------------------------------
// Exactly at the kinks.

#[test]
fn kinks_follow_the_rule_exactly() {
    // elu at 0 takes the slope below the kink: d/dx = a e^0 = a, d/da = e^0 - 1 = 0.
    assert_eq!(
        elu_op::gradient(0.0, 0.7),
        (0.0, elu_op::Grad { x: 0.7, a: 0.0 })
    );
    assert_eq!(elu_lit::gradient(0.0).1.x, 1.0);
    assert_eq!(elu_op::backward(0.0, 0.7, 2.0).1.x, 1.4);
    // clamp: at a bound the bound takes the gradient, constant or not.
    let g = |x, lo, hi| {
        let (_, g) = clamp_op::gradient(x, lo, hi);
        [g.x, g.lo, g.hi]
    };
    assert_eq!(g(-1.0, -1.0, 2.0), [0.0, 1.0, 0.0]);
    assert_eq!(g(2.0, -1.0, 2.0), [0.0, 0.0, 1.0]);
    assert_eq!(g(0.5, -1.0, 2.0), [1.0, 0.0, 0.0]);
    // lo == hi: min(max(x, lo), hi) is hi.
    assert_eq!(g(1.0, 1.0, 1.0), [0.0, 0.0, 1.0]);
    assert_eq!(g(0.0, 1.0, 1.0), [0.0, 0.0, 1.0]);
    // lo > hi: the value is hi wherever x is, and hi takes the gradient.
    for x in [-5.0, 1.5, 2.0, 3.0, 5.0] {
        assert_eq!(clamp_op(x, 3.0, 1.0), 1.0);
        assert_eq!(g(x, 3.0, 1.0), [0.0, 0.0, 1.0], "clamp({x}, 3, 1)");
    }
    assert_eq!(clamp_lit::gradient(0.0), (0.0, clamp_lit::Grad { x: 0.0 }));
    assert_eq!(clamp_lit::gradient(6.0), (6.0, clamp_lit::Grad { x: 0.0 }));
    assert_eq!(clamp_lit::backward(3.0, -2.0).1.x, -2.0);
    // Element-wise, each element on its own.
    let (y, g) = elementwise_clamp::backward([-1.0, 0.0, 0.5, 1.0], [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(y, [0.0, 0.0, 0.5, 1.0]);
    assert_eq!(g.x, [0.0, 0.0, 3.0, 0.0]);
}

/// `clamp` of an array between literal bounds.
#[neuron]
pub fn elementwise_clamp(x: [f64; 4]) -> [f64; 4] {
    clamp(x, 0, 1)
}

// ---------------------------------------------------------------------------
// NaN in, NaN out.

#[test]
fn nan_propagates_through_kinks() {
    let nan = f64::NAN;
    let (y, g) = elu_op::gradient(nan, 0.5);
    assert!(y.is_nan() && g.x.is_nan() && g.a.is_nan(), "elu: {y} {g:?}");
    let (y, g) = elu_op::backward(nan, 0.5, 2.0);
    assert!(y.is_nan() && g.x.is_nan() && g.a.is_nan(), "elu: {y} {g:?}");
    for (x, lo, hi) in [
        (nan, 0.0, 1.0),
        (0.5, nan, 1.0),
        (0.5, 0.0, nan),
        (2.0, nan, 1.0),
    ] {
        let (y, g) = clamp_op::gradient(x, lo, hi);
        assert!(
            y.is_nan() && g.x.is_nan() && g.lo.is_nan() && g.hi.is_nan(),
            "clamp({x}, {lo}, {hi}): {y} {g:?}"
        );
        assert!(clamp_op(x, lo, hi).is_nan());
    }
    let (y, g) = clamp_lit::backward(nan, 1.0);
    assert!(y.is_nan() && g.x.is_nan());
    let (y, g) = elementwise_clamp::backward([nan, 0.5, 2.0, -1.0], [1.0; 4]);
    assert!(y[0].is_nan() && g.x[0].is_nan());
    assert_eq!(
        (&y[1..], &g.x[1..]),
        (&[0.5, 1.0, 0.0][..], &[1.0, 0.0, 0.0][..])
    );
    // The smooth functions carry NaN by their arithmetic.
    macro_rules! at_nan {
        ($f:ident) => {{
            let (y, g) = $f::gradient(nan);
            (y, g.x)
        }};
    }
    for (y, d) in [
        at_nan!(sin_op),
        at_nan!(cos_op),
        at_nan!(atan_op),
        at_nan!(silu_op),
        at_nan!(gelu_op),
        at_nan!(softsign_op),
        at_nan!(log_sigmoid_op),
    ] {
        assert!(y.is_nan() && d.is_nan(), "{y} {d}");
    }
}

// ---------------------------------------------------------------------------
// Stable forms.

#[test]
fn stable_at_large_inputs() {
    // log σ(-1000) = -1000, with derivative 1 - σ(-1000) = 1.
    assert_eq!(
        log_sigmoid_op::gradient(-1000.0),
        (-1000.0, log_sigmoid_op::Grad { x: 1.0 })
    );
    let (y, g) = log_sigmoid_op::gradient(1000.0);
    assert!(y == 0.0 && g.x == 0.0, "{y} {g:?}");
    // silu(-1000) = -0: -1000 times an underflowed sigmoid, with derivative 0.
    let (y, g) = silu_op::gradient(-1000.0);
    assert!(y == 0.0 && y.is_sign_negative(), "{y}");
    assert_eq!(g.x, 0.0);
    assert_eq!(
        silu_op::gradient(1000.0),
        (1000.0, silu_op::Grad { x: 1.0 })
    );
    // gelu keeps its lower tail: gelu(-10) = -10 Φ(-10) = -7.6198530241605e-23.
    let tail = gelu_op(-10.0);
    assert!(
        (tail / -7.619_853_024_160_527e-23 - 1.0).abs() < 1e-12,
        "{tail}"
    );
    let (y, g) = gelu_op::gradient(-1000.0);
    assert!(y == 0.0 && g.x == 0.0, "{y} {g:?}");
    assert_eq!(
        gelu_op::gradient(1000.0),
        (1000.0, gelu_op::Grad { x: 1.0 })
    );
    let (y, g) = gelu_op::gradient(1e200);
    assert!(y == 1e200 && g.x == 1.0, "{y} {g:?}");
    // softsign and atan: finite slopes however large x is.
    let (y, g) = softsign_op::gradient(-1000.0);
    assert_eq!(y, -1000.0 / 1001.0);
    assert!((g.x - 1.0 / 1001.0_f64.powi(2)).abs() < 1e-18);
    assert_eq!(softsign_op::gradient(1e300).1.x, 0.0);
    assert_eq!(
        atan_op::gradient(1e300),
        (PI / 2.0, atan_op::Grad { x: 0.0 })
    );
    // elu saturates at -a.
    assert_eq!(
        elu_op::gradient(-1000.0, 0.5),
        (-0.5, elu_op::Grad { x: 0.0, a: -1.0 })
    );
    assert_eq!(
        elu_op::gradient(1000.0, 0.5),
        (1000.0, elu_op::Grad { x: 1.0, a: 0.0 })
    );
    // In f32 too.
    let (y, g) = log_sigmoid_f32::gradient(-1000.0);
    assert_eq!((y, g.x), (-1000.0, 1.0));
    let (y, g) = gelu_f32::gradient(-1000.0);
    assert!(y == 0.0 && g.x == 0.0);
}

/// `log_sigmoid` in f32.
#[neuron]
pub fn log_sigmoid_f32(x: f32) -> f32 {
    log_sigmoid(x)
}

/// `gelu` in f32.
#[neuron]
pub fn gelu_f32(x: f32) -> f32 {
    gelu(x)
}
