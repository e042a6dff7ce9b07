//! Plain Rust functions called inside neurons, with their derivatives
//! declared (`#[neuron::derivative]`) or declared as surrogates
//! (`#[neuron::surrogate]`): values and partials against hand-derived
//! ones and finite differences, a wrong declaration caught by gradcheck, a
//! surrogate reported as not checked, and `SOURCE` showing both.

use neuron_core::prelude::*;
use neuron_core::{Declaration, GradcheckError, NotChecked};

// ---------------------------------------------------------------------------
// Declared functions.

/// `tanh`, written by hand.
#[neuron::derivative(d_softclip)]
pub fn softclip(x: f64) -> f64 {
    x.tanh()
}

/// ∂softclip/∂x.
pub fn d_softclip(x: f64) -> f64 {
    1.0 - x.tanh().powi(2)
}

/// `sin`, generic over the float type.
#[neuron::derivative(d_wave)]
pub fn wave<T: Real>(x: T) -> T {
    x.sin()
}

/// ∂wave/∂x.
pub fn d_wave<T: Real>(x: T) -> T {
    x.cos()
}

/// The Euclidean length of `(x, y)`: one derivative per argument.
#[neuron::derivative(d_hypot_x, d_hypot_y)]
pub fn hypot(x: f64, y: f64) -> f64 {
    (x * x + y * y).sqrt()
}

/// ∂hypot/∂x.
pub fn d_hypot_x(x: f64, y: f64) -> f64 {
    x / hypot(x, y)
}

/// ∂hypot/∂y.
pub fn d_hypot_y(x: f64, y: f64) -> f64 {
    y / hypot(x, y)
}

/// `x³`, declared with a wrong derivative (that of `x²`), which gradient
/// checks must catch.
#[neuron::derivative(d_cube_wrong)]
pub fn cube(x: f64) -> f64 {
    x * x * x
}

/// Not ∂cube/∂x.
pub fn d_cube_wrong(x: f64) -> f64 {
    2.0 * x
}

/// The cube root, whose derivative is infinite at 0.
#[neuron::derivative(d_cbrt)]
pub fn cube_root(x: f64) -> f64 {
    x.cbrt()
}

/// ∂cube_root/∂x = 1 / (3 x^(2/3)).
pub fn d_cbrt(x: f64) -> f64 {
    1.0 / (3.0 * x.cbrt() * x.cbrt())
}

/// A step, trained through a smooth stand-in for its derivative.
#[neuron::surrogate(fast_sigmoid)]
pub fn heaviside(x: f64) -> f64 {
    if x > 0.0 { 1.0 } else { 0.0 }
}

/// The slope of a fast sigmoid, `1 / (1 + 10 |x|)²`.
pub fn fast_sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + 10.0 * x.abs()).powi(2)
}

/// In `f32`.
#[neuron::derivative(d_softsign32)]
pub fn softsign32(x: f32) -> f32 {
    x / (1.0 + x.abs())
}

/// ∂softsign32/∂x.
pub fn d_softsign32(x: f32) -> f32 {
    1.0 / (1.0 + x.abs()).powi(2)
}

mod activations {
    use neuron_core::prelude::*;

    /// Declared in another module, imported where it is used.
    #[neuron::derivative(d_square_plus)]
    pub fn square_plus(x: f64) -> f64 {
        0.5 * (x + (x * x + 4.0).sqrt())
    }

    /// ∂square_plus/∂x.
    pub fn d_square_plus(x: f64) -> f64 {
        0.5 * (1.0 + x / (x * x + 4.0).sqrt())
    }
}

use activations::square_plus;

// ---------------------------------------------------------------------------
// Neurons that call them.

/// A declared function inside a neuron: checked like any other op by the
/// generated test.
#[neuron(gradcheck)]
pub fn clipped(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    let z = softclip(dot(w, x) + b);
    z * z
}

/// Applied element-wise to an array, and called as the result (its type
/// written as the return type) like a neuron.
#[neuron(gradcheck)]
pub fn layer(x: [f64; 2], #[param] w: [[f64; 2]; 3], #[param] b: [f64; 3]) -> f64 {
    let h = softclip(matvec(w, x) + b);
    softclip(sum(h))
}

/// Generic, and instantiated in both float types.
#[neuron(gradcheck)]
pub fn waves<T: Real>(x: [T; 2], #[param] a: T) -> T {
    sum(wave(x * a)) + wave(a)
}

/// Two arguments, a real broadcast over an array.
#[neuron(gradcheck)]
pub fn lengths(v: [f64; 3], #[param] s: f64) -> f64 {
    let r = hypot(v, s);
    dot(r, v)
}

/// In `f32`, with a binding whose type is written.
#[neuron(gradcheck)]
pub fn soft32(x: f32, #[param] w: f32) -> f32 {
    let y: f32 = softsign32(w * x);
    y * w
}

/// A declared function imported from another module.
#[neuron(gradcheck)]
pub fn imported(x: f64, #[param] w: f64) -> f64 {
    square_plus(w * x)
}

/// A wrong declared derivative.
#[neuron]
pub fn cubed(x: f64, #[param] w: f64) -> f64 {
    cube(w * x)
}

/// An infinite declared derivative where no gradient flows: `w = 0`.
#[neuron]
pub fn rooted(x: f64, #[param] w: f64) -> f64 {
    let r = cube_root(x);
    w * r
}

/// A spiking layer: the step applied element-wise, trained through its
/// surrogate.
#[neuron(gradcheck)]
pub fn spiking(x: [f64; 2], #[param] w: [[f64; 2]; 3], #[param] v: [f64; 3]) -> f64 {
    let h = heaviside(matvec(w, x));
    dot(v, h)
}

/// Goes through the surrogate of the neuron it calls.
#[neuron(gradcheck)]
pub fn through(x: [f64; 2], #[param] w: [[f64; 2]; 3], #[param] v: [f64; 3]) -> f64 {
    let s: f64 = spiking(x, w, v);
    tanh(s)
}

// ---------------------------------------------------------------------------
// Values and partials.

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn an_exact_declared_derivative_is_the_derivative() {
    let (x, w, b) = ([0.5, -1.0, 2.0], [0.3, 0.2, -0.1], 0.4);
    let z = (0.5f64 * 0.3 - 0.2 - 0.2 + 0.4).tanh();
    let (y, g) = clipped::gradient(x, w, b);
    assert!(close(y, z * z));
    // ∂(tanh(u)²)/∂b = 2 tanh(u) (1 - tanh(u)²).
    assert!(close(g.b, 2.0 * z * (1.0 - z * z)), "{}", g.b);
    for (gw, xk) in g.w.iter().zip(x) {
        assert!(close(*gw, g.b * xk));
    }
    let report = gradcheck_random::<clipped::Model>(200, 7, 1e-6).unwrap();
    assert!(
        report.checked > 0 && report.not_checked.is_none(),
        "{report}"
    );
}

#[test]
fn element_wise_calls_and_calls_as_the_result() {
    let (x, w, b): ([f64; 2], [[f64; 2]; 3], [f64; 3]) = (
        [0.5, -1.0],
        [[1.0, 2.0], [0.5, -0.5], [-1.0, 0.25]],
        [0.1, 0.2, 0.3],
    );
    let h: Vec<f64> = (0..3)
        .map(|i| (w[i][0] * x[0] + w[i][1] * x[1] + b[i]).tanh())
        .collect();
    let s: f64 = h.iter().sum();
    let (y, g) = layer::gradient(x, w, b);
    assert!(close(y, s.tanh()));
    for (gb, hi) in g.b.iter().zip(&h) {
        let d = (1.0 - s.tanh().powi(2)) * (1.0 - hi * hi);
        assert!(close(*gb, d), "{gb} {d}");
    }
    // The result's call goes through the declaration's `Call`.
    assert!(
        layer::SOURCE.contains("super::softclip::call(")
            && layer::SOURCE.contains("_call.backward("),
        "{}",
        layer::SOURCE
    );
}

#[test]
fn generic_declared_functions_in_both_float_types() {
    let (y, g) = waves::gradient([0.5f64, -1.5], 0.7);
    assert!(close(y, (0.35f64).sin() + (-1.05f64).sin() + 0.7f64.sin()));
    let da = 0.5 * 0.35f64.cos() - 1.5 * (-1.05f64).cos() + 0.7f64.cos();
    assert!(close(g.a, da));
    let (y32, g32) = waves::gradient([0.5f32, -1.5], 0.7);
    assert!((f64::from(y32) - y).abs() < 1e-5 && (f64::from(g32.a) - da).abs() < 1e-5);
    gradcheck_random::<waves::Model<f32>>(64, 3, 1e-2).unwrap();
}

#[test]
fn one_derivative_per_argument_and_broadcasting() {
    let (v, s) = ([3.0, -1.0, 0.5], 4.0);
    let (y, g) = lengths::gradient(v, s);
    let r: Vec<f64> = v.iter().map(|&a| (a * a + s * s).sqrt()).collect();
    assert!(close(y, (0..3).map(|i| r[i] * v[i]).sum()));
    // ∂/∂s Σ r_i v_i = Σ v_i s / r_i.
    assert!(close(g.s, (0..3).map(|i| v[i] * s / r[i]).sum()));
    // ∂/∂v_i = r_i + v_i² / r_i.
    for i in 0..3 {
        assert!(close(g.v[i], r[i] + v[i] * v[i] / r[i]));
    }
}

#[test]
fn f32_and_imported_declared_functions() {
    let (y, g) = soft32::gradient(2.0, 0.5);
    assert!((y - 0.5 * 0.5).abs() < 1e-6, "{y}");
    // y = w s(w x): ∂y/∂w = s(wx) + w x s'(wx), s'(1) = 1/4.
    assert!((g.w - (0.5 + 0.5 * 2.0 * 0.25)).abs() < 1e-6, "{}", g.w);
    let (y, g) = imported::gradient(1.0, 0.0);
    assert!(close(y, 1.0) && close(g.w, 0.5));
}

#[test]
fn a_wrong_declared_derivative_is_caught() {
    let error = gradcheck_random::<cubed::Model>(32, 1, 1e-6).unwrap_err();
    assert!(matches!(error, GradcheckError::Mismatch(_)), "{error}");
    assert!(error.to_string().contains("wrong gradient"), "{error}");
}

#[test]
fn an_infinite_declared_derivative_does_not_make_nan_where_no_gradient_flows() {
    // ∂y/∂x = w / (3 x^(2/3)): infinite at x = 0, but w = 0 stops it.
    let (_, g) = rooted::gradient(0.0, 0.0);
    assert_eq!(g.x, 0.0);
    let (_, g) = rooted::gradient(8.0, 2.0);
    assert!(close(g.x, 2.0 / 12.0) && close(g.w, 2.0));
}

#[test]
fn a_surrogate_trains_through_its_stand_in() {
    let (x, w, v) = (
        [1.0, -0.5],
        [[0.3, 0.2], [-0.4, 0.1], [0.05, 0.1]],
        [1.0, 2.0, -1.0],
    );
    let (y, g) = spiking::gradient(x, w, v);
    let z: Vec<f64> = (0..3).map(|i| w[i][0] * x[0] + w[i][1] * x[1]).collect();
    let step = |z: f64| if z > 0.0 { 1.0 } else { 0.0 };
    assert!(close(y, (0..3).map(|i| v[i] * step(z[i])).sum()));
    for i in 0..3 {
        assert!(close(g.v[i], step(z[i])));
        // The step's own derivative is 0 here; the surrogate's is not.
        let slope = 1.0 / (1.0 + 10.0 * z[i].abs()).powi(2);
        assert!(close(g.w[i][0], v[i] * slope * x[0]), "{i}");
    }
}

#[test]
fn a_surrogate_is_reported_as_not_checked() {
    for report in [
        gradcheck_random::<spiking::Model>(16, 1, 1e-6).unwrap(),
        gradcheck::<spiking::Model>(&[0.1; 11], 1e-6).unwrap(),
        // Through the neuron that uses it.
        gradcheck_random::<through::Model>(16, 1, 1e-6).unwrap(),
    ] {
        let Some(NotChecked::Surrogates(surrogates)) = &report.not_checked else {
            panic!("checked a surrogate: {report}");
        };
        assert_eq!(surrogates.len(), 1);
        assert_eq!(surrogates[0].function, "heaviside");
        assert_eq!(surrogates[0].derivatives, ["fast_sigmoid"]);
        assert_eq!((report.points, report.checked), (0, 0));
        assert!(
            report.to_string().starts_with("not checked: the gradient goes through `heaviside` (surrogate derivative `fast_sigmoid`)"),
            "{report}"
        );
    }
    // An exact declaration is listed, and checked.
    let declared: Vec<&Declaration> = <clipped::Model as Differentiable>::DECLARATIONS.all();
    assert_eq!(declared.len(), 1);
    assert!(!declared[0].surrogate);
    assert!(
        <layer::Model as Differentiable>::DECLARATIONS
            .surrogates()
            .is_empty()
    );
}

#[test]
fn source_shows_and_marks_the_surrogate() {
    let source = spiking::SOURCE;
    // The surrogate's derivative is called in the code, and in the
    // formulas of the rustdoc, which `SOURCE` holds as `///` lines.
    assert!(
        source.contains("v[i] * heaviside::derivative(matvec[i])"),
        "{source}"
    );
    assert!(
        source
            .lines()
            .any(|l| l.starts_with("///") && l.contains("heaviside::derivative(matvec[i])")),
        "{source}"
    );
    assert!(
        source.contains("/// - `heaviside::derivative`: the declared derivative of `heaviside`"),
        "{source}"
    );
    // And marked after it, as rustc resolved the declaration.
    assert!(
        source.contains(
            "// `heaviside`, declared with #[neuron::surrogate]:\n//     heaviside::derivative calls `fast_sigmoid`\n//     a surrogate:"
        ),
        "{source}"
    );
    let exact = clipped::SOURCE;
    assert!(
        exact.contains("// `softclip`, declared with #[neuron::derivative]:"),
        "{exact}"
    );
    assert!(!exact.contains("a surrogate:"), "{exact}");
    let two = lengths::SOURCE;
    assert!(
        two.contains("hypot::partial_0(") && two.contains("hypot::partial_1("),
        "{two}"
    );
    assert!(
        two.contains("//     hypot::partial_1 calls `d_hypot_y`"),
        "{two}"
    );
}

#[test]
fn the_declared_functions_stay_plain_functions() {
    assert_eq!(softclip(0.0), 0.0);
    assert_eq!(heaviside(1.0), 1.0);
    assert_eq!(wave(0.0f32), 0.0);
    // Their modules are callable like a neuron's.
    let (y, g) = softclip::backward(0.5, 2.0);
    assert!(close(y, 0.5f64.tanh()) && close(g.x, 2.0 * d_softclip(0.5)));
    assert_eq!(hypot::backward(3.0, 4.0, 1.0).1.into_parts(), (0.6, 0.8));
}

/// The trace shows a declared function's step with its declared
/// derivative.
#[test]
fn the_trace_shows_the_declared_derivative() {
    let trace = rooted::trace(8.0, 0.5);
    let text = trace.to_string();
    assert!(text.contains("\n  r = cube_root(x) = 2\n"), "{text}");
    // (x^(1/3))' = 1 / (3 x^(2/3)) = 1/12 at 8, times w = 0.5 from above.
    assert!(
        text.contains("\n    ∂r/∂x = cube_root::derivative(x) = 0.0833333; × 0.5 = 0.0416667\n"),
        "{text}"
    );
    let (_, g) = rooted::gradient(8.0, 0.5);
    assert_eq!(trace.partial_of("x").and_then(|v| v.scalar()), Some(g.x));
    assert_eq!(trace.partial_of("w").and_then(|v| v.scalar()), Some(g.w));
}

/// The training step reaches a declared function called with its type
/// written through `Called::backward_add`: its parameter partial is
/// finite differences of the forward function, times the loss's `dy`.
#[test]
fn the_training_step_goes_through_a_declared_call() {
    let (x, w) = (0.75_f32, -1.25_f32);
    let model = soft32::Model::new(soft32::Params::new(w));
    let mut grads = soft32::Params::zeros();
    let y = model.forward_backward(&x, |_| 0.5, &mut grads);
    assert_eq!(y, soft32(x, w));
    let h = 1e-3_f64;
    let f = |w: f64| f64::from(soft32(x, w as f32));
    let fd = (f(f64::from(w) + h) - f(f64::from(w) - h)) / (2.0 * h);
    let got = f64::from(grads.w);
    assert!((got - 0.5 * fd).abs() < 1e-3, "{got} vs {}", 0.5 * fd);
    assert_ne!(got, 0.0);
}
