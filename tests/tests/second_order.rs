//! Second order through the whole path (source → `#[neuron]` → rustc →
//! run): `NAME::hvp` against central finite differences of the generated
//! gradient in the direction `v`, for a neuron per op of the language at
//! 64 seeded points away from kinks; hand-derived Hessians of `x² y` and
//! of a logistic-regression loss; a small network; `hessian` equal to
//! `hvp` of unit vectors stacked, and symmetric; `hvp` in f32 and in a
//! generic neuron, and with lengths that are const generics; and that
//! they are generated only where `#[neuron(hvp)]` or `#[neuron(hessian)]`
//! asks for them.
//!
//! The ops that only derivatives build (the selects of kinks, `nan_or`,
//! the safe products and quotients, `matvec_t`, `outer`, `matmul_nt`,
//! `matmul_tn`, `first_eq`, `normal_cdf`) are differentiated here as the
//! first derivatives of `relu`, `max`, `clamp`, `/`, `ln`, `matvec`,
//! `matmul`, `max(v)` and `gelu` build them; `proptests.rs` in
//! `neuron-macros` checks every op of the registry on the IR as well.

mod fd;

use fd::{assert_all_close, rng, uniform, uniforms};
use neuron_core::prelude::*;
use rand_chacha::ChaCha8Rng;

/// Points checked per neuron.
const POINTS: usize = 64;

/// The value, the gradient and `H v`, flat.
type Second = (f64, Vec<f64>, Vec<f64>);

/// A neuron's generated items as functions of its arguments flattened in
/// `Grad` field order.
struct Flat {
    len: usize,
    forward: fn(&[f64]) -> f64,
    gradient: fn(&[f64]) -> (f64, Vec<f64>),
    /// Value, gradient and `H v`.
    hvp: fn(&[f64], &[f64]) -> Second,
}

/// The next value of type `T` read off `x` from `*at`.
fn take<T: Tensor<f64>>(x: &[f64], at: &mut usize) -> T {
    let mut t = T::zeros();
    let n = t.as_slice().len();
    t.as_mut_slice().copy_from_slice(&x[*at..*at + n]);
    *at += n;
    t
}

/// [`Flat`] for `#[neuron] fn $f($a: $t, ..) -> f64`.
macro_rules! flat {
    ($f:ident($($a:ident: $t:ty),* $(,)?)) => {
        Flat {
            len: 0 $(+ <$t as Tensor<f64>>::as_slice(&<$t as Tensor<f64>>::zeros()).len())*,
            forward: |x: &[f64]| {
                let at = &mut 0;
                $(let $a: $t = take(x, at);)*
                $f($($a),*)
            },
            gradient: |x: &[f64]| {
                let at = &mut 0;
                $(let $a: $t = take(x, at);)*
                let (y, g) = $f::gradient($($a),*);
                let mut out = Vec::new();
                $(out.extend_from_slice(<$t as Tensor<f64>>::as_slice(&g.$a));)*
                (y, out)
            },
            hvp: |x: &[f64], v: &[f64]| {
                let at = &mut 0;
                $(let $a: $t = take(x, at);)*
                let at = &mut 0;
                let dir = $f::Grad { $($a: take(v, at)),* };
                let (y, g, hv) = $f::hvp($($a),*, dir);
                let (mut grad, mut out) = (Vec::new(), Vec::new());
                $(grad.extend_from_slice(<$t as Tensor<f64>>::as_slice(&g.$a));)*
                $(out.extend_from_slice(<$t as Tensor<f64>>::as_slice(&hv.$a));)*
                (y, grad, out)
            },
        }
    };
}

/// `H v` by central differences of the generated gradient along `v`, with
/// steps `h` and `h/2` combined by Richardson extrapolation.
fn fd_hvp(f: &Flat, x: &[f64], v: &[f64]) -> Vec<f64> {
    let along = |h: f64| {
        let up: Vec<f64> = x.iter().zip(v).map(|(a, b)| a + h * b).collect();
        let down: Vec<f64> = x.iter().zip(v).map(|(a, b)| a - h * b).collect();
        let (_, gu) = (f.gradient)(&up);
        let (_, gd) = (f.gradient)(&down);
        gu.iter()
            .zip(&gd)
            .map(|(u, d)| (u - d) / (2.0 * h))
            .collect::<Vec<f64>>()
    };
    let h = 1e-4;
    let (d1, d2) = (along(h), along(h / 2.0));
    d1.iter()
        .zip(&d2)
        .map(|(a, b)| (4.0 * b - a) / 3.0)
        .collect()
}

/// `hvp` at `POINTS` points drawn by `draw` (which returns `None` for a
/// point too near a kink or outside the domain), with random directions:
/// its value is the forward value, its gradient is `gradient`'s, and its
/// `H v` matches [`fd_hvp`].
fn check(name: &str, f: &Flat, draw: impl Fn(&mut ChaCha8Rng) -> Option<Vec<f64>>) {
    let mut r = rng(fd_seed(name));
    let mut checked = 0;
    let mut tries = 0;
    while checked < POINTS {
        tries += 1;
        assert!(tries < 100 * POINTS, "{name}: too few points drawn");
        let Some(x) = draw(&mut r) else { continue };
        assert_eq!(x.len(), f.len, "{name}: the draw's length");
        let v = uniforms(&mut r, f.len, -1.0, 1.0);
        let (y, g, hv) = (f.hvp)(&x, &v);
        let (y1, g1) = (f.gradient)(&x);
        assert_eq!(
            y.to_bits(),
            (f.forward)(&x).to_bits(),
            "{name}: value at {x:?}"
        );
        assert_eq!(y.to_bits(), y1.to_bits(), "{name}: value at {x:?}");
        assert_all_close(&format!("{name}: gradient of hvp"), &x, &g, &g1, 1e-14);
        let want = fd_hvp(f, &x, &v);
        assert_all_close(&format!("{name}: H·v"), &x, &hv, &want, 1e-6);
        checked += 1;
    }
}

/// A stable seed per test name.
fn fd_seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `n` reals in `lo..hi`.
fn any(r: &mut ChaCha8Rng, n: usize, lo: f64, hi: f64) -> Option<Vec<f64>> {
    Some(uniforms(r, n, lo, hi))
}

/// `n` reals in `lo..hi`, none within `margin` of zero.
fn off_zero(r: &mut ChaCha8Rng, n: usize, lo: f64, hi: f64, margin: f64) -> Option<Vec<f64>> {
    let x = uniforms(r, n, lo, hi);
    x.iter().all(|e| e.abs() > margin).then_some(x)
}

/// `n` reals in `lo..hi`, no two within `margin` of each other.
fn apart(r: &mut ChaCha8Rng, n: usize, lo: f64, hi: f64, margin: f64) -> Option<Vec<f64>> {
    let x = uniforms(r, n, lo, hi);
    let ok = (0..n).all(|i| (0..i).all(|j| (x[i] - x[j]).abs() > margin));
    ok.then_some(x)
}

// ---------------------------------------------------------------------------
// One neuron per op. An array-valued op is projected on a second argument
// (`dot(softmax(x), w)`), so that its mixed second derivatives are checked
// too; a scalar op is multiplied by one where that adds a term.

/// `neg`.
#[neuron(hvp)]
pub fn neg_op(x: f64, w: f64) -> f64 {
    -(x * w)
}
/// `add`.
#[neuron(hvp)]
pub fn add_op(x: f64, w: f64) -> f64 {
    (x + w) * (x + w) + x
}
/// `sub`.
#[neuron(hvp)]
pub fn sub_op(x: f64, w: f64) -> f64 {
    (x - w) * x
}
/// `mul`.
#[neuron(hvp)]
pub fn mul_op(x: f64, w: f64) -> f64 {
    x * w * x
}
/// `div`.
#[neuron(hvp)]
pub fn div_op(x: f64, w: f64) -> f64 {
    x / w
}
/// `relu`.
#[neuron(hvp)]
pub fn relu_op(x: f64, w: f64) -> f64 {
    w * relu(x * w)
}
/// `sigmoid`.
#[neuron(hvp)]
pub fn sigmoid_op(x: f64, w: f64) -> f64 {
    sigmoid(x * w)
}
/// `tanh`.
#[neuron(hvp)]
pub fn tanh_op(x: f64, w: f64) -> f64 {
    tanh(x * w)
}
/// `exp`.
#[neuron(hvp)]
pub fn exp_op(x: f64, w: f64) -> f64 {
    exp(x * w)
}
/// `ln`.
#[neuron(hvp)]
pub fn ln_op(x: f64, w: f64) -> f64 {
    w * ln(x)
}
/// `sqrt`.
#[neuron(hvp)]
pub fn sqrt_op(x: f64, w: f64) -> f64 {
    w * sqrt(x)
}
/// `abs`.
#[neuron(hvp)]
pub fn abs_op(x: f64, w: f64) -> f64 {
    w * abs(x) * x
}
/// `softplus`.
#[neuron(hvp)]
pub fn softplus_op(x: f64, w: f64) -> f64 {
    softplus(x * w)
}
/// `square`.
#[neuron(hvp)]
pub fn square_op(x: f64, w: f64) -> f64 {
    square(x * w)
}
/// `max`.
#[neuron(hvp)]
pub fn max_op(x: f64, w: f64) -> f64 {
    max(x * x, w) * x
}
/// `min`.
#[neuron(hvp)]
pub fn min_op(x: f64, w: f64) -> f64 {
    min(x * x, w) * w
}
/// `powf`.
#[neuron(hvp)]
pub fn powf_op(x: f64, w: f64) -> f64 {
    powf(x, w)
}
/// `leaky_relu`.
#[neuron(hvp)]
pub fn leaky_relu_op(x: f64, w: f64) -> f64 {
    leaky_relu(x, w) * x
}
/// `powi`.
#[neuron(hvp)]
pub fn powi_op(x: f64, w: f64) -> f64 {
    powi(x, 3) * w + powi(x, -2)
}
/// `sin`.
#[neuron(hvp)]
pub fn sin_op(x: f64, w: f64) -> f64 {
    sin(x * w)
}
/// `cos`.
#[neuron(hvp)]
pub fn cos_op(x: f64, w: f64) -> f64 {
    cos(x * w)
}
/// `atan`.
#[neuron(hvp)]
pub fn atan_op(x: f64, w: f64) -> f64 {
    atan(x * w)
}
/// `silu`.
#[neuron(hvp)]
pub fn silu_op(x: f64, w: f64) -> f64 {
    silu(x * w)
}
/// `gelu`.
#[neuron(hvp)]
pub fn gelu_op(x: f64, w: f64) -> f64 {
    gelu(x * w)
}
/// `elu`.
#[neuron(hvp)]
pub fn elu_op(x: f64, w: f64) -> f64 {
    elu(x, w) * x
}
/// `softsign`.
#[neuron(hvp)]
pub fn softsign_op(x: f64, w: f64) -> f64 {
    softsign(x * w)
}
/// `clamp`.
#[neuron(hvp)]
pub fn clamp_op(x: f64, lo: f64, hi: f64) -> f64 {
    clamp(x, lo, hi) * x * hi
}
/// `log_sigmoid`.
#[neuron(hvp)]
pub fn log_sigmoid_op(x: f64, w: f64) -> f64 {
    log_sigmoid(x * w)
}
/// `dot`.
#[neuron(hvp)]
pub fn dot_op(x: [f64; 3], w: [f64; 3]) -> f64 {
    dot(x, w) * dot(x, x)
}
/// `sum`.
#[neuron(hvp)]
pub fn sum_op(x: [[f64; 3]; 2], w: f64) -> f64 {
    sum(x * x) * w
}
/// `matvec`.
#[neuron(hvp)]
pub fn matvec_op(m: [[f64; 3]; 2], x: [f64; 3], w: [f64; 2]) -> f64 {
    dot(square(matvec(m, x)), w)
}
/// `outer`.
#[neuron(hvp)]
pub fn outer_op(a: [f64; 2], b: [f64; 3], w: [[f64; 3]; 2]) -> f64 {
    sum(square(outer(a, b)) * w)
}
/// `softmax`.
#[neuron(hvp)]
pub fn softmax_op(x: [f64; 4], w: [f64; 4]) -> f64 {
    dot(softmax(x), w)
}
/// `log_softmax`.
#[neuron(hvp)]
pub fn log_softmax_op(x: [f64; 4], w: [f64; 4]) -> f64 {
    dot(log_softmax(x), w)
}
/// `mean`.
#[neuron(hvp)]
pub fn mean_op(x: [[f64; 2]; 3], w: f64) -> f64 {
    square(mean(x * w))
}
/// `logsumexp`.
#[neuron(hvp)]
pub fn logsumexp_op(x: [f64; 4], w: f64) -> f64 {
    logsumexp(x * w)
}
/// `norm`.
#[neuron(hvp)]
pub fn norm_op(x: [f64; 3], w: f64) -> f64 {
    norm(x) * w
}
/// `max_of`.
#[neuron(hvp)]
pub fn max_of_op(x: [f64; 4], w: f64) -> f64 {
    max(x) * max(x) * w
}
/// `min_of`.
#[neuron(hvp)]
pub fn min_of_op(x: [f64; 4], w: f64) -> f64 {
    min(x) * min(x) * w
}
/// `transpose`.
#[neuron(hvp)]
pub fn transpose_op(m: [[f64; 3]; 2], w: [[f64; 2]; 3]) -> f64 {
    sum(square(transpose(m)) * w)
}
/// `matmul`.
#[neuron(hessian)]
pub fn matmul_op(a: [[f64; 3]; 2], b: [[f64; 2]; 3], w: [[f64; 2]; 2]) -> f64 {
    sum(square(matmul(a, b)) * w)
}
/// `index`.
#[neuron(hvp)]
pub fn index_op(x: [f64; 3], w: f64) -> f64 {
    let y = [x[2] * w, x[0] * x[1], w];
    y[0] * y[1] + y[2] * y[2] * x[1]
}
/// `broadcast`.
#[neuron(hvp)]
pub fn broadcast_op(x: [f64; 3], w: f64) -> f64 {
    sum(sigmoid(x * w + w) * x)
}

/// `dropout`: linear in `x` with its mask, in training and in inference.
#[neuron(hvp)]
pub fn dropout_op(x: [f64; 4], w: f64) -> f64 {
    let h = dropout(tanh(x * w), 0.5);
    dot(h, h) * w
}

#[test]
fn dropout_in_training_and_inference() {
    let f = flat!(dropout_op(x: [f64; 4], w: f64));
    // A training key fixes the mask, the same in every pass under it.
    neuron_core::dropout::training(0x5eed, || {
        check("dropout (training)", &f, |r| any(r, 5, -2.0, 2.0));
    });
    neuron_core::dropout::inference(|| {
        check("dropout (inference)", &f, |r| any(r, 5, -2.0, 2.0));
    });
    // The mask does drop: training and inference differ.
    let x = [0.5, -1.0, 1.5, 0.25];
    let trained = neuron_core::dropout::training(0x5eed, || dropout_op(x, 1.0));
    let inferred = neuron_core::dropout::inference(|| dropout_op(x, 1.0));
    assert_ne!(trained, inferred);
}

#[test]
fn scalar_ops() {
    let two = |r: &mut ChaCha8Rng| any(r, 2, -2.0, 2.0);
    let away = |r: &mut ChaCha8Rng| off_zero(r, 2, -2.0, 2.0, 0.05);
    check("neg", &flat!(neg_op(x: f64, w: f64)), two);
    check("add", &flat!(add_op(x: f64, w: f64)), two);
    check("sub", &flat!(sub_op(x: f64, w: f64)), two);
    check("mul", &flat!(mul_op(x: f64, w: f64)), two);
    check("div", &flat!(div_op(x: f64, w: f64)), |r| {
        off_zero(r, 2, -2.0, 2.0, 0.3)
    });
    check("relu", &flat!(relu_op(x: f64, w: f64)), away);
    check("sigmoid", &flat!(sigmoid_op(x: f64, w: f64)), two);
    check("tanh", &flat!(tanh_op(x: f64, w: f64)), two);
    check("exp", &flat!(exp_op(x: f64, w: f64)), two);
    check("ln", &flat!(ln_op(x: f64, w: f64)), |r| {
        Some(vec![uniform(r, 0.3, 3.0), uniform(r, -2.0, 2.0)])
    });
    check("sqrt", &flat!(sqrt_op(x: f64, w: f64)), |r| {
        Some(vec![uniform(r, 0.3, 3.0), uniform(r, -2.0, 2.0)])
    });
    check("abs", &flat!(abs_op(x: f64, w: f64)), away);
    check("softplus", &flat!(softplus_op(x: f64, w: f64)), two);
    check("square", &flat!(square_op(x: f64, w: f64)), two);
    check("max", &flat!(max_op(x: f64, w: f64)), |r| {
        let p = any(r, 2, -2.0, 2.0)?;
        ((p[0] * p[0] - p[1]).abs() > 0.05).then_some(p)
    });
    check("min", &flat!(min_op(x: f64, w: f64)), |r| {
        let p = any(r, 2, -2.0, 2.0)?;
        ((p[0] * p[0] - p[1]).abs() > 0.05).then_some(p)
    });
    check("powf", &flat!(powf_op(x: f64, w: f64)), |r| {
        Some(vec![uniform(r, 0.3, 3.0), uniform(r, -2.0, 2.0)])
    });
    check("leaky_relu", &flat!(leaky_relu_op(x: f64, w: f64)), away);
    check("powi", &flat!(powi_op(x: f64, w: f64)), |r| {
        off_zero(r, 2, -2.0, 2.0, 0.3)
    });
    check("sin", &flat!(sin_op(x: f64, w: f64)), two);
    check("cos", &flat!(cos_op(x: f64, w: f64)), two);
    check("atan", &flat!(atan_op(x: f64, w: f64)), two);
    check("silu", &flat!(silu_op(x: f64, w: f64)), two);
    check("gelu", &flat!(gelu_op(x: f64, w: f64)), two);
    check("elu", &flat!(elu_op(x: f64, w: f64)), away);
    check("softsign", &flat!(softsign_op(x: f64, w: f64)), away);
    check("clamp", &flat!(clamp_op(x: f64, lo: f64, hi: f64)), |r| {
        apart(r, 3, -2.0, 2.0, 0.05)
    });
    check("log_sigmoid", &flat!(log_sigmoid_op(x: f64, w: f64)), two);
}

#[test]
fn array_ops() {
    check("dot", &flat!(dot_op(x: [f64; 3], w: [f64; 3])), |r| {
        any(r, 6, -2.0, 2.0)
    });
    check("sum", &flat!(sum_op(x: [[f64; 3]; 2], w: f64)), |r| {
        any(r, 7, -2.0, 2.0)
    });
    check(
        "matvec",
        &flat!(matvec_op(m: [[f64; 3]; 2], x: [f64; 3], w: [f64; 2])),
        |r| any(r, 11, -2.0, 2.0),
    );
    check(
        "outer",
        &flat!(outer_op(a: [f64; 2], b: [f64; 3], w: [[f64; 3]; 2])),
        |r| any(r, 11, -2.0, 2.0),
    );
    check(
        "softmax",
        &flat!(softmax_op(x: [f64; 4], w: [f64; 4])),
        |r| any(r, 8, -2.0, 2.0),
    );
    check(
        "log_softmax",
        &flat!(log_softmax_op(x: [f64; 4], w: [f64; 4])),
        |r| any(r, 8, -2.0, 2.0),
    );
    check("mean", &flat!(mean_op(x: [[f64; 2]; 3], w: f64)), |r| {
        any(r, 7, -2.0, 2.0)
    });
    check(
        "logsumexp",
        &flat!(logsumexp_op(x: [f64; 4], w: f64)),
        |r| any(r, 5, -2.0, 2.0),
    );
    check("norm", &flat!(norm_op(x: [f64; 3], w: f64)), |r| {
        let p = any(r, 4, -2.0, 2.0)?;
        (p[..3].iter().map(|e| e * e).sum::<f64>() > 0.1).then_some(p)
    });
    // Away from ties for the extreme element.
    let untied = |r: &mut ChaCha8Rng| {
        let mut p = apart(r, 4, -2.0, 2.0, 0.05)?;
        p.push(uniform(r, -2.0, 2.0));
        Some(p)
    };
    check("max(v)", &flat!(max_of_op(x: [f64; 4], w: f64)), untied);
    check("min(v)", &flat!(min_of_op(x: [f64; 4], w: f64)), untied);
    check(
        "transpose",
        &flat!(transpose_op(m: [[f64; 3]; 2], w: [[f64; 2]; 3])),
        |r| any(r, 12, -2.0, 2.0),
    );
    check(
        "matmul",
        &flat!(matmul_op(a: [[f64; 3]; 2], b: [[f64; 2]; 3], w: [[f64; 2]; 2])),
        |r| any(r, 16, -2.0, 2.0),
    );
    check("index", &flat!(index_op(x: [f64; 3], w: f64)), |r| {
        any(r, 4, -2.0, 2.0)
    });
    check(
        "broadcast",
        &flat!(broadcast_op(x: [f64; 3], w: f64)),
        |r| any(r, 4, -2.0, 2.0),
    );
}

// ---------------------------------------------------------------------------
// Hand-derived Hessians.

/// `x² y`.
#[neuron(hessian)]
pub fn x2y(x: f64, y: f64) -> f64 {
    x * x * y
}

#[test]
fn the_hessian_of_x2y_is_derived_by_hand() {
    let mut r = rng(fd_seed("x2y"));
    for _ in 0..POINTS {
        let (x, y) = (uniform(&mut r, -3.0, 3.0), uniform(&mut r, -3.0, 3.0));
        // ∂²/∂x² = 2y, ∂²/∂x∂y = 2x, ∂²/∂y² = 0.
        let want = [[2.0 * y, 2.0 * x], [2.0 * x, 0.0]];
        let (value, g, h) = x2y::hessian(x, y);
        assert_eq!(value, x * x * y);
        assert_eq!((g.x, g.y), (2.0 * x * y, x * x));
        assert_eq!(h, want, "at ({x}, {y})");
        let (v0, v1) = (uniform(&mut r, -1.0, 1.0), uniform(&mut r, -1.0, 1.0));
        let (_, _, hv) = x2y::hvp(x, y, x2y::Grad { x: v0, y: v1 });
        let want = [2.0 * y * v0 + 2.0 * x * v1, 2.0 * x * v0];
        assert_all_close("x2y H·v", &[x, y], &[hv.x, hv.y], &want, 1e-15);
    }
}

/// The mean logistic loss of a linear model over eight labelled points:
/// `mean(softplus(z) - t z)` with `z = X w + b`, the negative
/// log-likelihood of `t` under `sigmoid(z)`.
#[neuron(hessian)]
pub fn logistic(xs: [[f64; 2]; 8], t: [f64; 8], #[param] w: [f64; 2], #[param] b: f64) -> f64 {
    let z = matvec(xs, w) + b;
    mean(softplus(z) - t * z)
}

#[test]
fn the_logistic_loss_has_the_hessian_of_its_textbook() {
    let mut r = rng(fd_seed("logistic"));
    for _ in 0..POINTS {
        let xs: [[f64; 2]; 8] =
            std::array::from_fn(|_| [uniform(&mut r, -2.0, 2.0), uniform(&mut r, -2.0, 2.0)]);
        let t: [f64; 8] = std::array::from_fn(|_| f64::from(uniform(&mut r, 0.0, 1.0) < 0.5));
        let w = [uniform(&mut r, -1.0, 1.0), uniform(&mut r, -1.0, 1.0)];
        let b = uniform(&mut r, -1.0, 1.0);
        // With a = [x, 1] and p = σ(z): ∇_(w,b) = mean((p - t) a) and
        // H_(w,b) = mean(p (1 - p) a aᵀ).
        let mut want = [[0.0; 3]; 3];
        let mut grad = [0.0; 3];
        for (x, &ti) in xs.iter().zip(&t) {
            let z = w[0] * x[0] + w[1] * x[1] + b;
            let p = 1.0 / (1.0 + (-z).exp());
            let a = [x[0], x[1], 1.0];
            for i in 0..3 {
                grad[i] += (p - ti) * a[i] / 8.0;
                for j in 0..3 {
                    want[i][j] += p * (1.0 - p) * a[i] * a[j] / 8.0;
                }
            }
        }
        let (_, g, h) = logistic::hessian(xs, t, w, b);
        // `w` and `b` are the last three of the 8·2 + 8 + 3 scalars.
        for i in 0..3 {
            let gi = if i < 2 { g.w[i] } else { g.b };
            assert!((gi - grad[i]).abs() < 1e-14, "∂/∂{i}: {gi} vs {}", grad[i]);
            for j in 0..3 {
                let got = h[24 + i][24 + j];
                assert!(
                    (got - want[i][j]).abs() < 1e-14,
                    "H[{i}][{j}] = {got}, by hand {}",
                    want[i][j]
                );
            }
        }
        // H·v with v along (w, b) only.
        let v = logistic::Grad {
            xs: [[0.0; 2]; 8],
            t: [0.0; 8],
            w: [1.0, -2.0],
            b: 0.5,
        };
        let (_, _, hv) = logistic::hvp(xs, t, w, b, v);
        let vwb = [1.0, -2.0, 0.5];
        let hv_wb = [hv.w[0], hv.w[1], hv.b];
        for (i, (got, row)) in hv_wb.into_iter().zip(&want).enumerate() {
            let by_hand: f64 = row.iter().zip(&vwb).map(|(a, b)| a * b).sum();
            assert!(
                (got - by_hand).abs() < 1e-14,
                "(H v)[{i}] = {got}, by hand {by_hand}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// A network, and `hessian` against `hvp`.

/// A tanh layer, a linear layer and the cross-entropy of its softmax
/// against a target distribution `t`.
#[neuron(hessian)]
pub fn net(
    x: [f64; 3],
    #[param] w1: [[f64; 3]; 4],
    #[param] b1: [f64; 4],
    #[param] w2: [[f64; 4]; 3],
    t: [f64; 3],
) -> f64 {
    let h = tanh(matvec(w1, x) + b1);
    -dot(t, log_softmax(matvec(w2, h)))
}

#[test]
fn a_network_has_its_hessian_vector_products() {
    let f = flat!(net(
        x: [f64; 3],
        w1: [[f64; 3]; 4],
        b1: [f64; 4],
        w2: [[f64; 4]; 3],
        t: [f64; 3],
    ));
    assert_eq!(f.len, 34);
    check("network", &f, |r| any(r, 34, -1.5, 1.5));
}

/// Whether `h` is `hvp` of every unit vector stacked, bit for bit, and
/// symmetric within `tol` relative to its largest entry.
fn hessian_is_stacked_hvp<const N: usize>(f: &Flat, x: &[f64], h: &[[f64; N]; N], tol: f64) {
    assert_eq!(f.len, N);
    let scale = h.iter().flatten().fold(1.0f64, |m, e| m.max(e.abs()));
    for i in 0..N {
        let mut e = vec![0.0; N];
        e[i] = 1.0;
        let (_, _, hv) = (f.hvp)(x, &e);
        for j in 0..N {
            assert_eq!(h[i][j].to_bits(), hv[j].to_bits(), "H[{i}][{j}]");
            assert!(
                (h[i][j] - h[j][i]).abs() <= tol * scale,
                "H[{i}][{j}] = {}, H[{j}][{i}] = {}",
                h[i][j],
                h[j][i]
            );
        }
    }
}

#[test]
fn hessian_is_hvp_of_unit_vectors_and_symmetric() {
    let f = flat!(net(
        x: [f64; 3],
        w1: [[f64; 3]; 4],
        b1: [f64; 4],
        w2: [[f64; 4]; 3],
        t: [f64; 3],
    ));
    let mut r = rng(fd_seed("hessian"));
    for _ in 0..8 {
        let p = uniforms(&mut r, 34, -1.5, 1.5);
        let at = &mut 0;
        let (x, w1, b1, w2, t) = (
            take(&p, at),
            take(&p, at),
            take(&p, at),
            take(&p, at),
            take(&p, at),
        );
        let (y, g, h) = net::hessian(x, w1, b1, w2, t);
        let (y1, g1) = net::gradient(x, w1, b1, w2, t);
        assert_eq!((y, g), (y1, g1));
        hessian_is_stacked_hvp(&f, &p, &h, 1e-12);
    }
    let f = flat!(matmul_op(a: [[f64; 3]; 2], b: [[f64; 2]; 3], w: [[f64; 2]; 2]));
    let p = uniforms(&mut r, 16, -2.0, 2.0);
    let at = &mut 0;
    let (a, b, w) = (take(&p, at), take(&p, at), take(&p, at));
    let (_, _, h) = matmul_op::hessian(a, b, w);
    hessian_is_stacked_hvp(&f, &p, &h, 1e-12);
}

// ---------------------------------------------------------------------------
// f32, generic and const-generic neurons.

/// A generic neuron.
#[neuron(hessian)]
pub fn generic<T: Real>(x: [T; 2], w: T) -> T {
    exp(x[0] * w) * x[1]
}

/// An f32 neuron.
#[neuron(hvp)]
pub fn single(x: [f32; 2], w: f32) -> f32 {
    exp(x[0] * w) * x[1]
}

/// Lengths that are const generics: `hvp` is generated (`hessian` would
/// be an error, see `tests/ui/hessian-of-a-generic-length.rs`).
#[neuron(hvp)]
pub fn sized<const N: usize>(x: [f64; N], w: [f64; N]) -> f64 {
    square(dot(x, w))
}

#[test]
fn generic_f32_and_const_generic_neurons_have_hvp() {
    // exp(x0 w) x1: H v over (x0, x1, w) by hand.
    let hand = |x0: f64, x1: f64, w: f64, v: [f64; 3]| {
        let e = (x0 * w).exp();
        let h = [
            [w * w * e * x1, w * e, (1.0 + x0 * w) * e * x1],
            [w * e, 0.0, x0 * e],
            [(1.0 + x0 * w) * e * x1, x0 * e, x0 * x0 * e * x1],
        ];
        h.map(|row| row.iter().zip(&v).map(|(a, b)| a * b).sum::<f64>())
    };
    let mut r = rng(fd_seed("generic"));
    for _ in 0..POINTS {
        let p = uniforms(&mut r, 6, -1.0, 1.0);
        let want = hand(p[0], p[1], p[2], [p[3], p[4], p[5]]);
        let (_, _, hv) = generic::hvp(
            [p[0], p[1]],
            p[2],
            generic::Grad {
                x: [p[3], p[4]],
                w: p[5],
            },
        );
        let got = [hv.x[0], hv.x[1], hv.w];
        assert_all_close("generic f64", &p, &got, &want, 1e-13);
        let q: Vec<f32> = p.iter().map(|&e| e as f32).collect();
        let (_, _, hv) = generic::hvp(
            [q[0], q[1]],
            q[2],
            generic::Grad {
                x: [q[3], q[4]],
                w: q[5],
            },
        );
        let got = [hv.x[0], hv.x[1], hv.w].map(f64::from);
        assert_all_close("generic f32", &p, &got, &want, 1e-5);
        let (_, _, hv) = single::hvp(
            [q[0], q[1]],
            q[2],
            single::Grad {
                x: [q[3], q[4]],
                w: q[5],
            },
        );
        let got32 = [hv.x[0], hv.x[1], hv.w].map(f64::from);
        assert_all_close("f32", &p, &got32, &want, 1e-5);
        let (_, _, h) = generic::hessian([p[0], p[1]], p[2]);
        for (i, row) in h.iter().enumerate() {
            let mut e = [0.0; 3];
            e[i] = 1.0;
            let col = hand(p[0], p[1], p[2], e);
            assert_all_close("generic hessian", &p, row, &col, 1e-13);
        }
    }
    // (x·w)²: H v = 2 (w·v_x + x·v_w) [w, x] + 2 (x·w) [v_w, v_x].
    let (x, w) = ([1.0, -2.0, 0.5, 3.0], [0.25, 1.5, -1.0, 2.0]);
    let (vx, vw) = ([0.5, 0.5, -1.0, 2.0], [1.0, 0.0, 2.0, -0.5]);
    let dot = |a: &[f64; 4], b: &[f64; 4]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let (s, c) = (dot(&x, &w), dot(&w, &vx) + dot(&x, &vw));
    let (_, g, hv) = sized::hvp(x, w, sized::Grad { x: vx, w: vw });
    assert_eq!(g.x, w.map(|e| 2.0 * s * e));
    for i in 0..4 {
        assert!((hv.x[i] - (2.0 * c * w[i] + 2.0 * s * vw[i])).abs() < 1e-12);
        assert!((hv.w[i] - (2.0 * c * x[i] + 2.0 * s * vx[i])).abs() < 1e-12);
    }
}

// ---------------------------------------------------------------------------
// Kinks and NaN.

/// `relu` of a weighted sum, as in the running example.
#[neuron(hvp)]
pub fn kinked(x: [f64; 2], w: [f64; 2], b: f64) -> f64 {
    relu(dot(w, x) + b) + max(x[0], w[1]) * b
}

#[test]
fn kinks_follow_the_first_derivatives_rule_and_nan_stays_nan() {
    let v = kinked::Grad {
        x: [0.5, -1.0],
        w: [2.0, 0.25],
        b: 1.5,
    };
    // At the kink `w·x + b = 0`, relu' = 0 and relu'' = 0: only the
    // `max(x0, w1) b` term is left, whose second derivatives are
    // ∂²/∂x0∂b = 1 where x0 > w1.
    let (y, g, hv) = kinked::hvp([1.0, 1.0], [1.0, 1.0], -2.0, v);
    assert_eq!(y, -2.0);
    assert_eq!(g.x, [0.0, 0.0]);
    assert_eq!(g.b, 1.0);
    assert_eq!(hv.x, [0.0, 0.0]);
    assert_eq!(hv.w, [0.0, 0.0 + 1.5]);
    assert_eq!(hv.b, 0.25);
    // A NaN argument: every partial of the gradient and of H·v that
    // depends on it is NaN, none is a number made up.
    let (y, g, hv) = kinked::hvp([f64::NAN, 1.0], [1.0, 1.0], 0.5, v);
    assert!(y.is_nan());
    for (what, e) in [
        ("g.x0", g.x[0]),
        ("g.w0", g.w[0]),
        ("g.b", g.b),
        ("hv.x0", hv.x[0]),
        ("hv.x1", hv.x[1]),
        ("hv.w0", hv.w[0]),
        ("hv.w1", hv.w[1]),
        ("hv.b", hv.b),
    ] {
        assert!(e.is_nan(), "{what} = {e}");
    }
}

// ---------------------------------------------------------------------------
// What is generated.

/// A neuron that asks for nothing.
#[neuron]
pub fn plain(x: f64, w: f64) -> f64 {
    x * w
}

#[test]
fn second_order_is_generated_when_asked_for_and_shown_in_source() {
    assert!(!plain::SOURCE.contains("hvp"), "{}", plain::SOURCE);
    // `#[neuron(hvp)]`: `hvp` and `hvp_ref`.
    assert!(kinked::SOURCE.contains("pub fn hvp("));
    assert!(kinked::SOURCE.contains("pub fn hvp_ref("));
    assert!(!kinked::SOURCE.contains("pub fn hessian("));
    // `#[neuron(hessian)]`: `hessian` too; the second sweep's adjoints
    // are named `hv_<value>`.
    assert!(x2y::SOURCE.contains("pub fn hessian("), "{}", x2y::SOURCE);
    assert!(x2y::SOURCE.contains("pub fn hvp_ref("));
    assert!(x2y::SOURCE.contains("let hv_prod = "), "{}", x2y::SOURCE);
}

// ---------------------------------------------------------------------------
// The README's example.

#[test]
fn the_readmes_example() {
    let (value, g, hv) = x2y::hvp(3.0, 2.0, x2y::Grad { x: 1.0, y: 0.0 });
    assert_eq!((value, g.x, g.y), (18.0, 12.0, 9.0));
    assert_eq!((hv.x, hv.y), (4.0, 6.0)); // the first column of [[2y, 2x], [2x, 0]]
    let (_, _, h) = x2y::hessian(3.0, 2.0);
    assert_eq!(h, [[4.0, 6.0], [6.0, 0.0]]);
}

/// Every line of the README's second-order example is a line of this
/// file, so the example is the code tested here.
#[test]
fn the_readmes_example_is_the_tested_code() {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("### Second order")
        .nth(1)
        .expect("a `### Second order` section in README.md");
    let code = section
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a Rust block in the section");
    let this = include_str!("second_order.rs");
    for line in code.lines().map(str::trim).filter(|l| !l.is_empty()) {
        assert!(this.contains(line), "README line not in this file: {line}");
    }
}

/// Every function of the README's language tables is called by a neuron
/// of this file, so a new op without a second-order check fails here.
#[test]
fn every_function_of_the_language_is_checked_here() {
    let readme = include_str!("../../README.md");
    let tables = readme
        .split("<!-- ops:begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- ops:end -->").next())
        .expect("the language tables in README.md");
    let this = include_str!("second_order.rs");
    let mut functions = 0;
    for row in tables.lines().filter(|l| l.starts_with("| `")) {
        let name = row[3..].split('`').next().unwrap_or_default();
        let name = name.trim_start_matches('.');
        functions += 1;
        assert!(
            this.contains(&format!("{name}(")),
            "`{name}` has no second-order check in this file"
        );
    }
    assert!(
        functions >= 35,
        "only {functions} functions read from the README"
    );
}
