//! Programs a user may write that once compiled to a wrong value, did not
//! compile, or crashed: each is here, compiled by rustc through the macro,
//! and its value and partials are checked against hand-derived ones.
//!
//! - hygiene: names the generated code introduces, used by the user;
//! - constants anywhere, including as method receivers;
//! - kinks at a tie with a constant, NaN propagation, no `0 * inf` where
//!   the true derivative is finite, IEEE values kept by simplification;
//! - placement: a neuron inside a function body, raw identifiers, a call
//!   in tail position.

use neuron_core::prelude::*;

// ---------------------------------------------------------------------------
// Hygiene.

/// The softmax helpers once overwrote an argument named like them.
#[neuron]
pub fn softmax_helpers(x: [f64; 3], s_max: f64, s_exp: f64, s_total: f64) -> f64 {
    let s = softmax(x);
    s[0] * s_max + s[1] * s_exp + s[2] * s_total
}

/// An unnamed softmax and a log-softmax next to arguments named like their
/// helpers.
#[neuron]
pub fn unnamed_softmax(
    x: [f64; 3],
    softmax_max: f64,
    log_softmax_log_total: f64,
    log_softmax_total: f64,
) -> f64 {
    softmax(x)[0] * softmax_max + log_softmax(x)[1] * log_softmax_log_total + log_softmax_total
}

/// Arguments named like the locals of the generated trait impls.
#[neuron(gradcheck)]
pub fn impl_locals(
    out: f64,
    grad: f64,
    offset: f64,
    flat_args: f64,
    #[param] backward: f64,
    #[param] gradient: f64,
) -> f64 {
    out * grad + offset * flat_args + backward * gradient
}

/// Arguments named like the generated items and locals of `backward`.
#[neuron(gradcheck)]
pub fn item_names(
    input: f64,
    grads: f64,
    #[param] y: f64,
    #[param] g: f64,
    #[param] d: f64,
    #[param] k: f64,
) -> f64 {
    input * y + grads * g + d * k
}

/// Helper locals of the generated code, used as binding names.
#[neuron(gradcheck)]
pub fn binding_names(x: [f64; 3], #[param] w: [f64; 3]) -> f64 {
    let total = sum(x);
    let dot = dot(w, x);
    let prod = total * dot;
    let s_max = softmax(w)[0];
    let d_prod = prod * s_max;
    let i = d_prod + total;
    i * dot
}

fn softmax_helpers_value(x: [f64; 3], a: f64, b: f64, c: f64) -> f64 {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e = x.map(|v| (v - m).exp());
    let t: f64 = e.iter().sum();
    e[0] / t * a + e[1] / t * b + e[2] / t * c
}

#[test]
fn helper_names_never_overwrite_arguments() {
    let x = [1.0, 2.0, 3.0];
    let want = softmax_helpers_value(x, 10.0, 20.0, 30.0);
    let got = softmax_helpers(x, 10.0, 20.0, 30.0);
    assert!((got - want).abs() < 1e-12, "{got} != {want}");
    let (y, g) = softmax_helpers::gradient(x, 10.0, 20.0, 30.0);
    assert_eq!(y, got);
    // ∂/∂s_max = softmax(x)[0].
    assert!((g.s_max - softmax_helpers_value(x, 1.0, 0.0, 0.0)).abs() < 1e-12);
    assert!((g.s_total - softmax_helpers_value(x, 0.0, 0.0, 1.0)).abs() < 1e-12);

    let s0 = softmax_helpers_value(x, 1.0, 0.0, 0.0);
    let ls1 = 2.0 - (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
    let want = s0 * 2.0 + ls1 * 3.0 + 4.0;
    let got = unnamed_softmax(x, 2.0, 3.0, 4.0);
    assert!((got - want).abs() < 1e-12, "{got} != {want}");
}

#[test]
fn argument_names_of_generated_locals_work() {
    assert_eq!(impl_locals(2.0, 3.0, 4.0, 5.0, 6.0, 7.0), 6.0 + 20.0 + 42.0);
    let (_, g) = impl_locals::gradient(2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
    assert_eq!(g.into_parts(), (3.0, 2.0, 5.0, 4.0, 7.0, 6.0));
    assert_eq!(item_names(2.0, 3.0, 4.0, 5.0, 6.0, 7.0), 8.0 + 15.0 + 42.0);
    let (_, g) = item_names::backward(2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 2.0);
    assert_eq!(g.into_parts(), (8.0, 10.0, 4.0, 6.0, 14.0, 12.0));
    // Through the generated trait impls, whose locals the names shadowed.
    let model = impl_locals::Model::new(impl_locals::Params {
        backward: 6.0,
        gradient: 7.0,
    });
    assert_eq!(model.forward(&(2.0, 3.0, 4.0, 5.0)), 68.0);
    let report = gradcheck::<impl_locals::Model>(&[2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 1e-6)
        .expect("the flat views read every argument");
    assert!(report.checked > 0);
}

#[test]
fn binding_names_of_generated_locals_work() {
    let (x, w) = ([0.5, -1.0, 2.0], [1.5, 0.25, -0.75]);
    let total: f64 = x.iter().sum();
    let dot: f64 = w.iter().zip(&x).map(|(a, b)| a * b).sum();
    let m = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let s0 = (w[0] - m).exp() / w.iter().map(|v| (v - m).exp()).sum::<f64>();
    let want = (total * dot * s0 + total) * dot;
    assert!((binding_names(x, w) - want).abs() < 1e-12);
}

// ---------------------------------------------------------------------------
// Constants anywhere.

/// Constants as the first operand of every binary function.
#[neuron(gradcheck)]
pub fn constants_first(x: f64, c: f64) -> f64 {
    max(0.5, x) + min(-2.0, c) + powf(2.0, x) + max(0, x) + min(exp(1.0), x)
}

/// Constants as method receivers, suffixed and not.
#[neuron(gradcheck)]
pub fn constant_receivers(x: f64) -> f64 {
    2.0_f64.powf(x) + 0.5.max(x) + (1.0 + 2.0).min(x) + 3.0.exp() * x
}

/// Constants as method receivers in an `f32` neuron.
#[neuron(gradcheck)]
pub fn constant_receivers_f32(x: f32) -> f32 {
    2.0_f32.powf(x) + 0.5.max(x) + max(0.25, x) + 1.5.sqrt() * x
}

/// Constants as method receivers and first operands in a generic neuron.
#[neuron(gradcheck)]
pub fn constant_receivers_generic<T: Real>(x: T, c: T) -> T {
    2.0.powf(x) + max(0.5, c) + min(-2.0, x) * c
}

/// A constant array (`x * 0.0`) into an array op, and a constant first operand on an array.
#[neuron(gradcheck)]
pub fn constant_array(x: [f64; 3]) -> [f64; 3] {
    softmax(x * 0.0) + max(0.5, x)
}

#[test]
fn constants_compile_in_every_position() {
    let x = 0.75f64;
    let want = 0.75 + -2.0 + 2f64.powf(0.75) + 0.75 + 0.75;
    assert!((constants_first(x, 1.0) - want).abs() < 1e-12);
    let (_, g) = constants_first::gradient(x, 1.0);
    // max(0.5, x) and max(0, x) and min(e, x) send their gradient to x;
    // min(-2, c) to the constant.
    let want_dx = 1.0 + 2f64.powf(0.75) * 2f64.ln() + 1.0 + 1.0;
    assert!((g.x - want_dx).abs() < 1e-12, "{}", g.x);
    assert_eq!(g.c, 0.0);

    let want = 2f64.powf(0.75) + 0.75 + 0.75 + 3f64.exp() * 0.75;
    assert!((constant_receivers(x) - want).abs() < 1e-12);
    let want = 2f32.powf(0.75) + 0.75 + 0.75 + 1.5f32.sqrt() * 0.75;
    assert!((constant_receivers_f32(0.75) - want).abs() < 1e-6);
    let want = 2f64.powf(0.75) + 1.0 + -2.0;
    assert!((constant_receivers_generic(0.75f64, 1.0) - want).abs() < 1e-12);
    assert!((constant_receivers_generic(0.75f32, 1.0) - want as f32).abs() < 1e-6);
    let y = constant_array([0.25, 1.0, 2.0]);
    let third = 1.0 / 3.0;
    assert_eq!(y, [third + 0.5, third + 1.0, third + 2.0]);
}

// ---------------------------------------------------------------------------
// Kinks, NaN and exact values.

/// `relu(z)`.
#[neuron]
pub fn relu_of(z: f64) -> f64 {
    relu(z)
}

/// `max(0, z)`: the constant first.
#[neuron]
pub fn max_zero_first(z: f64) -> f64 {
    max(0, z)
}

/// `max(z, 0)`.
#[neuron]
pub fn max_zero_last(z: f64) -> f64 {
    max(z, 0)
}

/// `min(0, z)`.
#[neuron]
pub fn min_zero_first(z: f64) -> f64 {
    min(0, z)
}

/// `min(z, 0)`.
#[neuron]
pub fn min_zero_last(z: f64) -> f64 {
    min(z, 0)
}

/// `max(a, b)` of two varying operands.
#[neuron]
pub fn max_of_two(a: f64, b: f64) -> f64 {
    max(a, b)
}

/// `min(a, b)` of two varying operands.
#[neuron]
pub fn min_of_two(a: f64, b: f64) -> f64 {
    min(a, b)
}

/// `abs(z)`.
#[neuron]
pub fn abs_of(z: f64) -> f64 {
    abs(z)
}

/// `leaky_relu(z, 0.1)`.
#[neuron]
pub fn leaky_of(z: f64) -> f64 {
    leaky_relu(z, 0.1)
}

/// A one-argument neuron's `gradient` as a function to `(value, ∂/∂z)`.
macro_rules! value_and_slope {
    ($f:ident) => {
        (stringify!($f), |z: f64| {
            let (y, g) = $f::gradient(z);
            (y, g.z)
        })
    };
}

/// A neuron's name and its `gradient` as a function to `(value, ∂/∂z)`.
type Slope = (&'static str, fn(f64) -> (f64, f64));

/// Every one-argument neuron with a kink above.
fn kinked() -> [Slope; 7] {
    [
        value_and_slope!(relu_of),
        value_and_slope!(max_zero_first),
        value_and_slope!(max_zero_last),
        value_and_slope!(min_zero_first),
        value_and_slope!(min_zero_last),
        value_and_slope!(abs_of),
        value_and_slope!(leaky_of),
    ]
}

#[test]
fn a_tie_with_a_constant_goes_to_the_constant() {
    let [relu, max_first, max_last, min_first, min_last, abs, leaky] = kinked().map(|(_, f)| f);
    for f in [relu, max_first, max_last] {
        assert_eq!(f(0.0), (0.0, 0.0));
        assert_eq!(f(1.0), (1.0, 1.0));
        assert_eq!(f(-1.0), (0.0, 0.0));
    }
    for f in [min_first, min_last] {
        assert_eq!(f(0.0), (0.0, 0.0));
        assert_eq!(f(1.0), (0.0, 0.0));
        assert_eq!(f(-1.0), (-1.0, 1.0));
    }
    assert_eq!(abs(0.0), (0.0, 0.0));
    assert_eq!(leaky(0.0).1, 0.1);
    // Between two varying operands, `b` takes the tie.
    let (_, g) = max_of_two::gradient(1.0, 1.0);
    assert_eq!((g.a, g.b), (0.0, 1.0));
    let (_, g) = min_of_two::gradient(1.0, 1.0);
    assert_eq!((g.a, g.b), (0.0, 1.0));
}

#[test]
fn nan_propagates_through_every_kink() {
    let nan = f64::NAN;
    for (name, f) in kinked() {
        let (y, dz) = f(nan);
        assert!(y.is_nan(), "{name}(NaN) = {y}");
        assert!(dz.is_nan(), "{name}'(NaN) = {dz}");
        // Infinities are ordered: no NaN where none came in.
        for z in [f64::INFINITY, f64::NEG_INFINITY] {
            let (y, dz) = f(z);
            assert!(!y.is_nan() && !dz.is_nan(), "{name}({z}) = {y}, slope {dz}");
        }
    }
    for (a, b) in [(nan, 1.0), (1.0, nan)] {
        let (y, g) = max_of_two::gradient(a, b);
        assert!(y.is_nan() && g.a.is_nan() && g.b.is_nan(), "max({a}, {b})");
        let (y, g) = min_of_two::gradient(a, b);
        assert!(y.is_nan() && g.a.is_nan() && g.b.is_nan(), "min({a}, {b})");
    }
}

/// A NaN weight behind a ReLU reaches the gradient of every parameter.
#[neuron]
pub fn relu_unit(x: [f64; 2], #[param] w: [f64; 2], #[param] b: f64) -> f64 {
    relu(dot(w, x) + b)
}

#[test]
fn a_nan_weight_is_not_trained_on_silently() {
    let (y, g) = relu_unit::gradient([1.0, 2.0], [f64::NAN, 1.0], -10.0);
    assert!(y.is_nan());
    assert!(g.b.is_nan() && g.w[1].is_nan());
}

/// Kinks over arrays, whose selects read their values before choosing:
/// each element's upstream derivative is `v[i]`, an array element.
#[neuron]
pub fn relu_weighted(x: [f64; 5], v: [f64; 5]) -> f64 {
    dot(v, relu(x))
}

/// `abs`, whose derivative chains two selects.
#[neuron]
pub fn abs_weighted(x: [f64; 5], v: [f64; 5]) -> f64 {
    dot(v, abs(x))
}

/// `clamp`, whose derivative nests two selects in a `nan_or`.
#[neuron]
pub fn clamp_weighted(x: [f64; 5], v: [f64; 5]) -> f64 {
    dot(v, clamp(x, -1.0, 1.0))
}

#[test]
fn kinks_over_arrays_choose_element_by_element() {
    let nan = f64::NAN;
    // Positive, negative, at the kink, NaN, and inside the clamp; an
    // infinite upstream derivative where the chosen branch is flat.
    let x = [2.0, -3.0, 0.0, nan, 0.5];
    let v = [1.5, f64::INFINITY, 4.0, 3.0, -2.0];
    let partials = [
        // relu: v where x > 0, 0 where x <= 0, NaN where x is NaN.
        (
            "relu",
            relu_weighted::gradient(x, v).1.x,
            [1.5, 0.0, 0.0, nan, -2.0],
        ),
        // abs: v sign(x), 0 at 0.
        (
            "abs",
            abs_weighted::gradient(x, v).1.x,
            [1.5, f64::NEG_INFINITY, 0.0, nan, -2.0],
        ),
        // clamp to [-1, 1]: v inside, 0 outside.
        (
            "clamp",
            clamp_weighted::gradient(x, v).1.x,
            [0.0, 0.0, 4.0, nan, -2.0],
        ),
    ];
    for (name, got, want) in partials {
        for (i, (got, want)) in got.iter().zip(want).enumerate() {
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "{name}: ∂/∂x[{i}] = {got}, want {want}"
            );
        }
    }
}

/// `relu(sqrt(x) - 1)`: flat where `sqrt` is steepest.
#[neuron]
pub fn relu_sqrt(x: f64) -> f64 {
    relu(sqrt(x) - 1.0)
}

/// `relu(ln(x))`: flat where `ln` is infinite.
#[neuron]
pub fn relu_ln(x: f64) -> f64 {
    relu(ln(x))
}

/// `relu(-1 / x)`: flat where `1 / x` is infinite.
#[neuron]
pub fn relu_reciprocal(x: f64) -> f64 {
    relu(-1.0 / x)
}

/// `powf(a, p)`, whose derivative in `p` is 0 at `a = 0`.
#[neuron]
pub fn power_of_zero(a: f64, p: f64) -> f64 {
    powf(a, p)
}

/// `relu(-x⁻²)`: flat where `x⁻²` is infinite.
#[neuron]
pub fn relu_negative_power(x: f64) -> f64 {
    relu(-powi(x, -2))
}

#[test]
fn finite_true_derivatives_are_finite() {
    // sqrt'(0) is infinite, but relu' = 0 there, so the derivative is 0.
    assert_eq!(relu_sqrt::gradient(0.0), (0.0, relu_sqrt::Grad { x: 0.0 }));
    assert_eq!(relu_ln::gradient(0.0).1.x, 0.0);
    assert_eq!(relu_reciprocal::gradient(0.0).1.x, 0.0);
    assert_eq!(relu_negative_power::gradient(0.0).1.x, 0.0);
    // a^p is 0 for every p > 0 at a = 0, so ∂/∂p is 0 there.
    let (y, g) = power_of_zero::gradient(0.0, 2.5);
    assert_eq!((y, g.p), (0.0, 0.0));
    // Away from the edge the derivatives are the usual ones.
    let (_, g) = power_of_zero::gradient(2.0, 3.0);
    assert!((g.a - 12.0).abs() < 1e-12 && (g.p - 8.0 * 2f64.ln()).abs() < 1e-12);
    assert!((relu_sqrt::gradient(4.0).1.x - 0.25).abs() < 1e-15);
}

/// `1 / (0 - x)`, which is `+inf` at `x = 0`.
#[neuron]
pub fn zero_minus(x: f64) -> f64 {
    1.0 / (0.0 - x)
}

/// `1 / (x + 0)`, which is `+inf` at `x = -0`.
#[neuron]
pub fn plus_zero(x: f64) -> f64 {
    1.0 / (x + 0.0)
}

/// `x * 0`, which is NaN for an infinite `x`.
#[neuron]
pub fn times_zero(x: f64) -> f64 {
    x * 0.0
}

/// `0.5 * (4 * x)`, which overflows for large `x`.
#[neuron]
pub fn scaled_twice(x: f64) -> f64 {
    0.5 * (4.0 * x)
}

#[test]
fn simplification_keeps_ieee_values() {
    // 0 - 0 is +0, and 1 / +0 is +inf; -(0) would be -0 and give -inf.
    assert_eq!(zero_minus(0.0), f64::INFINITY);
    // -0 + 0 is +0.
    assert_eq!(plus_zero(-0.0), f64::INFINITY);
    // inf * 0 is NaN, and -3 * 0 is -0.
    assert!(times_zero(f64::INFINITY).is_nan());
    assert!(times_zero(-3.0).is_sign_negative());
    // 4x overflows before it is halved.
    assert_eq!(scaled_twice(f64::MAX), f64::INFINITY);
}

// ---------------------------------------------------------------------------
// Placement and names.

#[test]
fn a_neuron_inside_a_function_body() {
    #[neuron]
    fn local(x: f64, #[param] w: f64) -> f64 {
        tanh(w * x)
    }
    let (y, g) = local::gradient(0.5, 2.0);
    assert_eq!(y, local(0.5, 2.0));
    assert!((g.w - 0.5 * (1.0 - y * y)).abs() < 1e-15);
    let model = local::Model::new(local::Params { w: 2.0 });
    assert_eq!(model.forward(&0.5), y);
}

/// Raw identifiers as argument and binding names.
#[neuron(gradcheck)]
pub fn raw_names(r#type: f64, #[param] r#in: [f64; 2]) -> f64 {
    let r#fn = r#type * r#in[0];
    let r#match = r#fn + r#in[1];
    tanh(r#match)
}

#[test]
fn raw_identifiers_work() {
    let y = raw_names(0.5, [2.0, -0.25]);
    assert!((y - 0.75f64.tanh()).abs() < 1e-15);
    let (_, g) = raw_names::gradient(0.5, [2.0, -0.25]);
    let slope = 1.0 - y * y;
    assert!((g.r#type - 2.0 * slope).abs() < 1e-15);
    assert!((g.r#in[0] - 0.5 * slope).abs() < 1e-15);
}

/// A layer called by `tail_call`.
#[neuron]
pub fn layer(x: [f64; 2], #[param] w: [[f64; 2]; 3]) -> [f64; 3] {
    tanh(matvec(w, x))
}

/// A call in tail position takes its shape from the return type.
#[neuron(gradcheck)]
pub fn tail_call(x: [f64; 2], #[param] w: [[f64; 2]; 3]) -> [f64; 3] {
    layer(x, w)
}

#[test]
fn a_call_in_tail_position_needs_no_annotation() {
    let (x, w) = ([0.5, -1.0], [[1.0, 2.0], [0.5, -0.5], [-1.0, 0.25]]);
    assert_eq!(tail_call(x, w), layer(x, w));
    let dy = [1.0, -2.0, 0.5];
    assert_eq!(
        tail_call::backward(x, w, dy).1.w,
        layer::backward(x, w, dy).1.w
    );
}

/// A neuron whose name is one edit from a library function's (`l`, `ln`).
#[neuron]
pub fn l(x: f64, #[param] w: [f64; 2]) -> f64 {
    w[0] * x + w[1]
}

/// Calls `l` in tail position with an array argument: the call is `l`'s,
/// a real, not an element-wise function of the arguments' shape.
#[neuron]
pub fn short_tail_call(x: f64, #[param] w: [f64; 2]) -> f64 {
    l(x * 2.0, w)
}

#[test]
fn a_short_name_in_tail_position_is_a_neuron_not_a_typo() {
    let (x, w) = (0.75, [3.0, -1.0]);
    assert_eq!(short_tail_call(x, w), 3.0 * 1.5 - 1.0);
    let (_, g) = short_tail_call::gradient(x, w);
    assert_eq!(g.x, 6.0);
    assert_eq!(g.w, [1.5, 1.0]);
}

/// A neuron named like another library's name for one of ours (`pow`,
/// `powf`'s), taking a matrix and a vector.
#[neuron]
pub fn pow(m: [[f64; 3]; 2], v: [f64; 3]) -> [f64; 2] {
    matvec(m, v)
}

/// Calls `pow` as the result: applied element-wise, as a declared function
/// would be, the arguments could not give `[f64; 2]`, so this is `pow`.
#[neuron]
pub fn tail_pow(m: [[f64; 3]; 2], #[param] v: [f64; 3]) -> [f64; 2] {
    pow(m, v * 2.0)
}

#[test]
fn a_tail_call_that_cannot_be_element_wise_is_a_neuron() {
    let m = [[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]];
    let v = [0.5, -1.0, 2.0];
    assert_eq!(tail_pow(m, v), [9.0, -1.0 - 1.0]);
    let (_, g) = tail_pow::backward(m, v, [1.0, 1.0]);
    // ∂/∂v of Σ_i (m · 2v)_i = 2 Σ_i m[i]
    assert_eq!(g.v, [0.0, 5.0, 6.0]);
}
