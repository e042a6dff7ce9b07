//! Every operator and function of the language, differentiated by
//! `#[neuron]` and checked against independent references: central finite
//! differences of the generated forward function (h = 1e-6, relative
//! tolerance 1e-6 with an absolute floor of 1e-6, in f64) at 64 seeded random
//! points away from kinks and outside-domain regions, the value against the
//! op's closed form, and where the derivative has a closed form, against it
//! too. `gradient` (dy = 1) and `backward` with a random `dy` are both
//! checked, so a rule that forgets the upstream derivative fails. The kink
//! rules (`relu'(0) = 0`, `abs'(0) = 0`, ties of `max`/`min` go to `b`,
//! `leaky_relu` at 0) are asserted exactly. A few functions run in f32 and
//! in a generic `T: Real` function as well.

mod fd;
#[macro_use]
mod harness;

use fd::{arr, assert_all_close, central, central_f32, close, flat2, mat, uniform, uniforms};
use harness::*;
use neuron_core::prelude::*;

// ---------------------------------------------------------------------------
// Operators.

/// `a + b`.
#[neuron]
pub fn add_op(a: f64, b: f64) -> f64 {
    a + b
}

/// `a - b`.
#[neuron]
pub fn sub_op(a: f64, b: f64) -> f64 {
    a - b
}

/// `a * b`.
#[neuron]
pub fn mul_op(a: f64, b: f64) -> f64 {
    a * b
}

/// `a / b`.
#[neuron]
pub fn div_op(a: f64, b: f64) -> f64 {
    a / b
}

/// Unary minus.
#[neuron]
pub fn neg_op(x: f64) -> f64 {
    -x
}

/// The operators together, with a binding used twice.
#[neuron]
pub fn operators_mixed(a: f64, b: f64) -> f64 {
    let t = a * b - a / b;
    -(t * t) + t / (b * b + 1.0) - (a - b) * 3.0
}

#[test]
fn operators() {
    check(
        "add",
        &binary!(add_op),
        &Spec {
            draw: pair,
            value: |[a, b]| a + b,
            slope: Some(|_| [1.0, 1.0]),
        },
    );
    check(
        "sub",
        &binary!(sub_op),
        &Spec {
            draw: pair,
            value: |[a, b]| a - b,
            slope: Some(|_| [1.0, -1.0]),
        },
    );
    check(
        "mul",
        &binary!(mul_op),
        &Spec {
            draw: pair,
            value: |[a, b]| a * b,
            slope: Some(|[a, b]| [b, a]),
        },
    );
    check(
        "div",
        &binary!(div_op),
        &Spec {
            draw: |r| {
                let [a, b] = pair(r)?;
                (b.abs() > 0.2).then_some([a, b])
            },
            value: |[a, b]| a / b,
            slope: Some(|[a, b]| [1.0 / b, -a / (b * b)]),
        },
    );
    check(
        "neg",
        &unary!(neg_op),
        &Spec {
            draw: |r| Some(one(r, -3.0, 3.0)),
            value: |[x]| -x,
            slope: Some(|_| [-1.0]),
        },
    );
    check(
        "operators mixed",
        &binary!(operators_mixed),
        &Spec {
            draw: |r| {
                let [a, b] = pair(r)?;
                (b.abs() > 0.2).then_some([a, b])
            },
            value: |[a, b]| {
                let t = a * b - a / b;
                -(t * t) + t / (b * b + 1.0) - (a - b) * 3.0
            },
            slope: None,
        },
    );
}

// ---------------------------------------------------------------------------
// Scalar functions.

/// `relu`.
#[neuron]
pub fn relu_op(x: f64) -> f64 {
    relu(x)
}

/// `leaky_relu` with both the input and the slope differentiated.
#[neuron]
pub fn leaky_relu_op(x: f64, a: f64) -> f64 {
    leaky_relu(x, a)
}

/// `leaky_relu` with a literal slope.
#[neuron]
pub fn leaky_relu_lit(x: f64) -> f64 {
    leaky_relu(x, 0.01)
}

/// `sigmoid`.
#[neuron]
pub fn sigmoid_op(x: f64) -> f64 {
    sigmoid(x)
}

/// `tanh`.
#[neuron]
pub fn tanh_op(x: f64) -> f64 {
    tanh(x)
}

/// `exp`.
#[neuron]
pub fn exp_op(x: f64) -> f64 {
    exp(x)
}

/// `ln`.
#[neuron]
pub fn ln_op(x: f64) -> f64 {
    ln(x)
}

/// `sqrt`.
#[neuron]
pub fn sqrt_op(x: f64) -> f64 {
    sqrt(x)
}

/// `abs`.
#[neuron]
pub fn abs_op(x: f64) -> f64 {
    abs(x)
}

/// `softplus`.
#[neuron]
pub fn softplus_op(x: f64) -> f64 {
    softplus(x)
}

/// `square`.
#[neuron]
pub fn square_op(x: f64) -> f64 {
    square(x)
}

/// `max(a, b)`.
#[neuron]
pub fn max_op(a: f64, b: f64) -> f64 {
    max(a, b)
}

/// `min(a, b)`.
#[neuron]
pub fn min_op(a: f64, b: f64) -> f64 {
    min(a, b)
}

/// `max` with a literal: `max(z, 0)` is a ReLU.
#[neuron]
pub fn max_lit(x: f64) -> f64 {
    max(x, 0)
}

/// `powf(x, y)`, both differentiated.
#[neuron]
pub fn powf_op(x: f64, y: f64) -> f64 {
    powf(x, y)
}

#[test]
fn activations() {
    check(
        "relu",
        &unary!(relu_op),
        &Spec {
            draw: |r| off_zero(r, -3.0, 3.0, 1e-3),
            value: |[x]| x.max(0.0),
            slope: Some(|[x]| [if x > 0.0 { 1.0 } else { 0.0 }]),
        },
    );
    check(
        "leaky_relu",
        &binary!(leaky_relu_op),
        &Spec {
            draw: |r| {
                let [x] = off_zero(r, -3.0, 3.0, 1e-3)?;
                Some([x, uniform(r, 0.0, 0.5)])
            },
            value: |[x, a]| if x > 0.0 { x } else { a * x },
            slope: Some(|[x, a]| if x > 0.0 { [1.0, 0.0] } else { [a, x] }),
        },
    );
    check(
        "leaky_relu literal slope",
        &unary!(leaky_relu_lit),
        &Spec {
            draw: |r| off_zero(r, -3.0, 3.0, 1e-3),
            value: |[x]| if x > 0.0 { x } else { 0.01 * x },
            slope: Some(|[x]| [if x > 0.0 { 1.0 } else { 0.01 }]),
        },
    );
    check(
        "sigmoid",
        &unary!(sigmoid_op),
        &Spec {
            draw: |r| Some(one(r, -10.0, 10.0)),
            value: |[x]| sigma(x),
            // σ' = σ (1 - σ).
            slope: Some(|[x]| [sigma(x) * (1.0 - sigma(x))]),
        },
    );
    check(
        "tanh",
        &unary!(tanh_op),
        &Spec {
            draw: |r| Some(one(r, -4.0, 4.0)),
            value: |[x]| x.tanh(),
            slope: Some(|[x]| [1.0 / x.cosh().powi(2)]),
        },
    );
    check(
        "softplus",
        &unary!(softplus_op),
        &Spec {
            draw: |r| Some(one(r, -10.0, 10.0)),
            value: |[x]| (1.0 + x.exp()).ln(),
            // softplus' = σ.
            slope: Some(|[x]| [sigma(x)]),
        },
    );
    check(
        "abs",
        &unary!(abs_op),
        &Spec {
            draw: |r| off_zero(r, -3.0, 3.0, 1e-3),
            value: |[x]| x.abs(),
            slope: Some(|[x]| [x.signum()]),
        },
    );
    check(
        "max",
        &binary!(max_op),
        &Spec {
            draw: apart,
            value: |[a, b]| a.max(b),
            slope: Some(|[a, b]| if a > b { [1.0, 0.0] } else { [0.0, 1.0] }),
        },
    );
    check(
        "min",
        &binary!(min_op),
        &Spec {
            draw: apart,
            value: |[a, b]| a.min(b),
            slope: Some(|[a, b]| if a < b { [1.0, 0.0] } else { [0.0, 1.0] }),
        },
    );
    check(
        "max(x, 0)",
        &unary!(max_lit),
        &Spec {
            draw: |r| off_zero(r, -3.0, 3.0, 1e-3),
            value: |[x]| x.max(0.0),
            slope: Some(|[x]| [if x > 0.0 { 1.0 } else { 0.0 }]),
        },
    );
}

#[test]
fn exponentials_and_powers() {
    check(
        "exp",
        &unary!(exp_op),
        &Spec {
            draw: |r| Some(one(r, -5.0, 5.0)),
            value: |[x]| x.exp(),
            slope: Some(|[x]| [x.exp()]),
        },
    );
    check(
        "ln",
        &unary!(ln_op),
        &Spec {
            draw: |r| Some(one(r, 0.05, 10.0)),
            value: |[x]| x.ln(),
            slope: Some(|[x]| [1.0 / x]),
        },
    );
    check(
        "sqrt",
        &unary!(sqrt_op),
        &Spec {
            draw: |r| Some(one(r, 0.05, 10.0)),
            value: |[x]| x.sqrt(),
            slope: Some(|[x]| [0.5 / x.sqrt()]),
        },
    );
    check(
        "square",
        &unary!(square_op),
        &Spec {
            draw: |r| Some(one(r, -3.0, 3.0)),
            value: |[x]| x * x,
            slope: Some(|[x]| [2.0 * x]),
        },
    );
    check(
        "powf",
        &binary!(powf_op),
        &Spec {
            draw: |r| Some([uniform(r, 0.1, 4.0), uniform(r, -3.0, 3.0)]),
            value: |[x, y]| x.powf(y),
            // d/dx = y x^(y-1), d/dy = x^y ln x.
            slope: Some(|[x, y]| [y * x.powf(y - 1.0), x.powf(y) * x.ln()]),
        },
    );
}

/// `powi(x, -1)`.
#[neuron]
pub fn powi_m1(x: f64) -> f64 {
    powi(x, -1)
}

/// `x.powi(-2)`, in the method spelling.
#[neuron]
pub fn powi_m2(x: f64) -> f64 {
    x.powi(-2)
}

/// `powi(x, 0)`: constant one, derivative zero.
#[neuron]
pub fn powi_0(x: f64) -> f64 {
    powi(x, 0)
}

/// `powi(x, 1)`.
#[neuron]
pub fn powi_1(x: f64) -> f64 {
    powi(x, 1)
}

/// `powi(x, 2)`.
#[neuron]
pub fn powi_2(x: f64) -> f64 {
    powi(x, 2)
}

/// `powi(x, 3)`.
#[neuron]
pub fn powi_3(x: f64) -> f64 {
    powi(x, 3)
}

/// `powi(x, 7)`.
#[neuron]
pub fn powi_7(x: f64) -> f64 {
    powi(x, 7)
}

#[test]
fn integer_powers() {
    let cases: [(i32, Scalar<1>); 7] = [
        (-2, unary!(powi_m2)),
        (-1, unary!(powi_m1)),
        (0, unary!(powi_0)),
        (1, unary!(powi_1)),
        (2, unary!(powi_2)),
        (3, unary!(powi_3)),
        (7, unary!(powi_7)),
    ];
    for (n, neuron) in &cases {
        let name = format!("powi(x, {n})");
        let mut rng = fd::rng(seed(&name));
        let mut checked = 0;
        while checked < POINTS {
            // Negative powers stay away from the pole at 0.
            let x = uniform(&mut rng, -3.0, 3.0);
            if *n < 0 && x.abs() < 0.3 {
                continue;
            }
            let (y, [g]) = (neuron.gradient)([x]);
            assert!(close(y, x.powi(*n), EXACT), "{name}: value {y} at {x}");
            let numeric = central(|v| (neuron.forward)([v[0]]), &[x], H);
            assert_all_close(&name, &[x], &[g], &numeric, TOL);
            // d/dx xⁿ = n xⁿ⁻¹.
            let closed = if *n == 0 {
                0.0
            } else {
                f64::from(*n) * x.powi(n - 1)
            };
            assert_all_close(&format!("{name} closed form"), &[x], &[g], &[closed], EXACT);
            let dy = uniform(&mut rng, -3.0, 3.0);
            let (_, [gb]) = (neuron.backward)([x], dy);
            assert_all_close(
                &format!("{name} backward"),
                &[x],
                &[gb],
                &[dy * numeric[0]],
                3.0 * TOL,
            );
            checked += 1;
        }
    }
}

// ---------------------------------------------------------------------------
// Method spellings mean the same as the functions.

/// `x.exp()`.
#[neuron]
pub fn exp_method(x: f64) -> f64 {
    x.exp()
}

/// `x.tanh()`.
#[neuron]
pub fn tanh_method(x: f64) -> f64 {
    x.tanh()
}

/// `x.powi(2)`.
#[neuron]
pub fn powi_method(x: f64) -> f64 {
    x.powi(2)
}

/// `a.max(b)`.
#[neuron]
pub fn max_method(a: f64, b: f64) -> f64 {
    a.max(b)
}

/// `a.min(b)`.
#[neuron]
pub fn min_method(a: f64, b: f64) -> f64 {
    a.min(b)
}

/// `x.powf(y)`.
#[neuron]
pub fn powf_method(x: f64, y: f64) -> f64 {
    x.powf(y)
}

/// The rest of the library in method form, chained.
#[neuron]
pub fn methods_chained(x: f64) -> f64 {
    x.sigmoid().ln() + x.abs().sqrt() + x.softplus() * x.relu() + x.square() + x.leaky_relu(0.2)
}

#[test]
fn method_spellings() {
    check(
        "x.exp()",
        &unary!(exp_method),
        &Spec {
            draw: |r| Some(one(r, -5.0, 5.0)),
            value: |[x]| x.exp(),
            slope: Some(|[x]| [x.exp()]),
        },
    );
    check(
        "x.tanh()",
        &unary!(tanh_method),
        &Spec {
            draw: |r| Some(one(r, -4.0, 4.0)),
            value: |[x]| x.tanh(),
            slope: Some(|[x]| [1.0 - x.tanh() * x.tanh()]),
        },
    );
    check(
        "x.powi(2)",
        &unary!(powi_method),
        &Spec {
            draw: |r| Some(one(r, -3.0, 3.0)),
            value: |[x]| x * x,
            slope: Some(|[x]| [2.0 * x]),
        },
    );
    check(
        "a.max(b)",
        &binary!(max_method),
        &Spec {
            draw: apart,
            value: |[a, b]| a.max(b),
            slope: Some(|[a, b]| if a > b { [1.0, 0.0] } else { [0.0, 1.0] }),
        },
    );
    check(
        "a.min(b)",
        &binary!(min_method),
        &Spec {
            draw: apart,
            value: |[a, b]| a.min(b),
            slope: Some(|[a, b]| if a < b { [1.0, 0.0] } else { [0.0, 1.0] }),
        },
    );
    check(
        "x.powf(y)",
        &binary!(powf_method),
        &Spec {
            draw: |r| Some([uniform(r, 0.1, 4.0), uniform(r, -3.0, 3.0)]),
            value: |[x, y]| x.powf(y),
            slope: Some(|[x, y]| [y * x.powf(y - 1.0), x.powf(y) * x.ln()]),
        },
    );
    check(
        "methods chained",
        &unary!(methods_chained),
        &Spec {
            draw: |r| off_zero(r, -3.0, 3.0, 1e-3),
            value: |[x]| {
                let leaky = if x > 0.0 { x } else { 0.2 * x };
                sigma(x).ln() + x.abs().sqrt() + (1.0 + x.exp()).ln() * x.max(0.0) + x * x + leaky
            },
            slope: None,
        },
    );
}

// ---------------------------------------------------------------------------
// The kink rules, exactly.

#[test]
fn kinks_follow_the_rule_exactly() {
    // relu'(0) = 0.
    assert_eq!(relu_op::gradient(0.0), (0.0, relu_op::Grad { x: 0.0 }));
    assert_eq!(relu_op::backward(0.0, 5.0).1.x, 0.0);
    assert_eq!(max_lit::gradient(0.0).1.x, 0.0);
    // abs'(0) = 0.
    assert_eq!(abs_op::gradient(0.0), (0.0, abs_op::Grad { x: 0.0 }));
    assert_eq!(abs_op::backward(0.0, -2.0).1.x, 0.0);
    // A tie of max or min sends the whole gradient to `b`.
    for a in [0.0, 1.5, -2.25, 1e300] {
        assert_eq!(
            max_op::gradient(a, a),
            (a, max_op::Grad { a: 0.0, b: 1.0 }),
            "max({a}, {a})"
        );
        assert_eq!(
            min_op::gradient(a, a),
            (a, min_op::Grad { a: 0.0, b: 1.0 }),
            "min({a}, {a})"
        );
        assert_eq!(
            max_method::gradient(a, a).1,
            max_method::Grad { a: 0.0, b: 1.0 }
        );
        assert_eq!(
            min_method::gradient(a, a).1,
            min_method::Grad { a: 0.0, b: 1.0 }
        );
        assert_eq!(
            max_op::backward(a, a, 3.0).1,
            max_op::Grad { a: 0.0, b: 3.0 }
        );
        assert_eq!(
            min_op::backward(a, a, 3.0).1,
            min_op::Grad { a: 0.0, b: 3.0 }
        );
    }
    // leaky_relu at 0 takes the slope below the kink: d/dx = a, d/da = x = 0.
    assert_eq!(
        leaky_relu_op::gradient(0.0, 0.1),
        (0.0, leaky_relu_op::Grad { x: 0.1, a: 0.0 })
    );
    assert_eq!(leaky_relu_lit::gradient(0.0).1.x, 0.01);
    // Element-wise on arrays, each element on its own.
    let (y, g) = relu_array::backward([0.0, 1.0, -1.0, 0.0], [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(y, [0.0, 1.0, 0.0, 0.0]);
    assert_eq!(g.x, [0.0, 2.0, 0.0, 0.0]);
    let (_, g) = max_array::backward([1.0, 2.0, 3.0, 0.0], [1.0, 1.0, 4.0, 0.0], [1.0; 4]);
    assert_eq!((g.a, g.b), ([0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 1.0, 1.0]));
    let (_, g) = abs_array::gradient([0.0, -1.0, 2.0]);
    assert_eq!(g.x, [0.0, -1.0, 1.0]);
}

/// `relu` over an array.
#[neuron]
pub fn relu_array(x: [f64; 4]) -> [f64; 4] {
    relu(x)
}

/// `max` of two arrays, element by element.
#[neuron]
pub fn max_array(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
    max(a, b)
}

/// The sum of `abs` over an array.
#[neuron]
pub fn abs_array(x: [f64; 3]) -> f64 {
    sum(abs(x))
}

// ---------------------------------------------------------------------------
// Array functions, checked through `backward` with a random `dy`.

/// `dot(a, b)`.
#[neuron]
pub fn dot_op(a: [f64; 5], b: [f64; 5]) -> f64 {
    dot(a, b)
}

/// `sum(a)`.
#[neuron]
pub fn sum_op(a: [f64; 5]) -> f64 {
    sum(a)
}

/// `sum` over a matrix.
#[neuron]
pub fn sum_matrix(m: [[f64; 3]; 2]) -> f64 {
    sum(m * m)
}

/// `matvec(m, v)`.
#[neuron]
pub fn matvec_op(m: [[f64; 4]; 3], v: [f64; 4]) -> [f64; 3] {
    matvec(m, v)
}

/// `softmax(v)`.
#[neuron]
pub fn softmax_op(v: [f64; 4]) -> [f64; 4] {
    softmax(v)
}

/// `log_softmax(v)`.
#[neuron]
pub fn log_softmax_op(v: [f64; 4]) -> [f64; 4] {
    log_softmax(v)
}

#[test]
fn reductions() {
    check_flat(
        "dot",
        &Flat {
            inputs: 10,
            outputs: 1,
            forward: &|p| vec![dot_op(arr(&p[..5]), arr(&p[5..]))],
            backward: &|p, dy| {
                let (y, g) = dot_op::backward(arr(&p[..5]), arr(&p[5..]), dy[0]);
                (vec![y], [g.a, g.b].concat())
            },
            value: &|p| vec![fd::dot(&p[..5], &p[5..])],
            // ∂/∂a = dy b, ∂/∂b = dy a.
            vjp: Some(&|p, dy| p[5..].iter().chain(&p[..5]).map(|x| x * dy[0]).collect()),
            avoid: &never,
        },
    );
    check_flat(
        "sum",
        &Flat {
            inputs: 5,
            outputs: 1,
            forward: &|p| vec![sum_op(arr(p))],
            backward: &|p, dy| {
                let (y, g) = sum_op::backward(arr(p), dy[0]);
                (vec![y], g.a.to_vec())
            },
            value: &|p| vec![p.iter().sum()],
            vjp: Some(&|_, dy| vec![dy[0]; 5]),
            avoid: &never,
        },
    );
    check_flat(
        "sum over a matrix",
        &Flat {
            inputs: 6,
            outputs: 1,
            forward: &|p| vec![sum_matrix(mat(p))],
            backward: &|p, dy| {
                let (y, g) = sum_matrix::backward(mat(p), dy[0]);
                (vec![y], flat2(&g.m))
            },
            value: &|p| vec![p.iter().map(|x| x * x).sum()],
            vjp: Some(&|p, dy| p.iter().map(|x| 2.0 * x * dy[0]).collect()),
            avoid: &never,
        },
    );
    // The gradient of the scalar reductions, with dy = 1.
    let mut rng = fd::rng(seed("reductions gradient"));
    for _ in 0..POINTS {
        let p = uniforms(&mut rng, 10, -2.0, 2.0);
        let (y, g) = dot_op::gradient(arr(&p[..5]), arr(&p[5..]));
        assert_eq!(y, dot_op(arr(&p[..5]), arr(&p[5..])));
        let numeric = central(|v| dot_op(arr(&v[..5]), arr(&v[5..])), &p, H);
        assert_all_close("dot gradient", &p, &[g.a, g.b].concat(), &numeric, TOL);
        let (_, g) = sum_op::gradient(arr(&p));
        assert_eq!(g.a, [1.0; 5]);
    }
}

#[test]
fn matrix_vector_and_normalizations() {
    check_flat(
        "matvec",
        &Flat {
            inputs: 16,
            outputs: 3,
            forward: &|p| matvec_op(mat(&p[..12]), arr(&p[12..])).to_vec(),
            backward: &|p, dy| {
                let (y, g) = matvec_op::backward(mat(&p[..12]), arr(&p[12..]), arr(dy));
                (y.to_vec(), [flat2(&g.m), g.v.to_vec()].concat())
            },
            value: &|p| {
                (0..3)
                    .map(|i| fd::dot(&p[4 * i..4 * i + 4], &p[12..]))
                    .collect()
            },
            // ∂/∂m[i][j] = dy[i] v[j]; ∂/∂v[j] = Σᵢ m[i][j] dy[i].
            vjp: Some(&|p, dy| {
                let dm = (0..12).map(|k| dy[k / 4] * p[12 + k % 4]);
                let dv = (0..4).map(|j| (0..3).map(|i| p[4 * i + j] * dy[i]).sum::<f64>());
                dm.chain(dv).collect()
            }),
            avoid: &never,
        },
    );
    check_flat(
        "softmax",
        &Flat {
            inputs: 4,
            outputs: 4,
            forward: &|p| softmax_op(arr(p)).to_vec(),
            backward: &|p, dy| {
                let (y, g) = softmax_op::backward(arr(p), arr(dy));
                (y.to_vec(), g.v.to_vec())
            },
            value: &softmax_ref,
            // J = diag(s) - s sᵀ, so dyᵀJ = s ⊙ (dy - dy·s).
            vjp: Some(&|p, dy| {
                let s = softmax_ref(p);
                let ds = fd::dot(dy, &s);
                s.iter().zip(dy).map(|(si, di)| si * (di - ds)).collect()
            }),
            avoid: &never,
        },
    );
    check_flat(
        "log_softmax",
        &Flat {
            inputs: 4,
            outputs: 4,
            forward: &|p| log_softmax_op(arr(p)).to_vec(),
            backward: &|p, dy| {
                let (y, g) = log_softmax_op::backward(arr(p), arr(dy));
                (y.to_vec(), g.v.to_vec())
            },
            value: &|p| softmax_ref(p).iter().map(|s| s.ln()).collect(),
            // J = I - 1 sᵀ, so dyᵀJ = dy - s Σdy.
            vjp: Some(&|p, dy| {
                let s = softmax_ref(p);
                let total: f64 = dy.iter().sum();
                dy.iter().zip(&s).map(|(d, si)| d - si * total).collect()
            }),
            avoid: &never,
        },
    );
}

/// An array literal of scalar expressions.
#[neuron]
pub fn literal_op(a: f64, b: f64) -> [f64; 3] {
    [a * b, a + b, exp(a)]
}

/// A nested array literal used as a matrix, and a literal vector.
#[neuron]
pub fn matrix_literal(a: f64, b: f64) -> [f64; 2] {
    matvec([[a, b], [b * a, 1]], [a, 2])
}

/// Indexing arrays and matrices, and the result of a call.
#[neuron]
pub fn indexing(m: [[f64; 3]; 2], v: [f64; 3]) -> f64 {
    m[1][2] * m[0][0] + sum(m[1]) * v[0] + softmax(v)[2] + matvec(m, v)[1]
}

#[test]
fn literals_and_indexing() {
    check_flat(
        "array literal",
        &Flat {
            inputs: 2,
            outputs: 3,
            forward: &|p| literal_op(p[0], p[1]).to_vec(),
            backward: &|p, dy| {
                let (y, g) = literal_op::backward(p[0], p[1], arr(dy));
                (y.to_vec(), vec![g.a, g.b])
            },
            value: &|p| vec![p[0] * p[1], p[0] + p[1], p[0].exp()],
            vjp: Some(&|p, dy| {
                vec![
                    dy[0] * p[1] + dy[1] + dy[2] * p[0].exp(),
                    dy[0] * p[0] + dy[1],
                ]
            }),
            avoid: &never,
        },
    );
    check_flat(
        "nested array literal",
        &Flat {
            inputs: 2,
            outputs: 2,
            forward: &|p| matrix_literal(p[0], p[1]).to_vec(),
            backward: &|p, dy| {
                let (y, g) = matrix_literal::backward(p[0], p[1], arr(dy));
                (y.to_vec(), vec![g.a, g.b])
            },
            // [a² + 2b, b a² + 2].
            value: &|p| vec![p[0] * p[0] + 2.0 * p[1], p[1] * p[0] * p[0] + 2.0],
            vjp: Some(&|p, dy| {
                vec![
                    dy[0] * 2.0 * p[0] + dy[1] * 2.0 * p[0] * p[1],
                    dy[0] * 2.0 + dy[1] * p[0] * p[0],
                ]
            }),
            avoid: &never,
        },
    );
    check_flat(
        "indexing",
        &Flat {
            inputs: 9,
            outputs: 1,
            forward: &|p| vec![indexing(mat(&p[..6]), arr(&p[6..]))],
            backward: &|p, dy| {
                let (y, g) = indexing::backward(mat(&p[..6]), arr(&p[6..]), dy[0]);
                (vec![y], [flat2(&g.m), g.v.to_vec()].concat())
            },
            value: &|p| {
                let (m, v) = (&p[..6], &p[6..]);
                vec![
                    m[5] * m[0]
                        + (m[3] + m[4] + m[5]) * v[0]
                        + softmax_ref(v)[2]
                        + fd::dot(&m[3..], v),
                ]
            },
            vjp: None,
            avoid: &never,
        },
    );
}

/// Element-wise operators with a scalar broadcast over an array, both ways.
#[neuron]
pub fn broadcast_ops(x: [f64; 4], s: f64) -> [f64; 4] {
    x * s + s - x / s + s / (x * x + 1) - (s - x) * x
}

/// Every unary function applied element-wise to an array.
#[neuron]
pub fn elementwise_unary(x: [f64; 4]) -> [f64; 4] {
    tanh(x) + sigmoid(x) * exp(x) - softplus(x)
        + powi(x, 3)
        + abs(x)
        + relu(x)
        + square(x)
        + sqrt(x * x + 1)
        + ln(x * x + 1)
        - x.tanh()
        + x.powi(2)
}

/// Every binary function applied element-wise, between arrays and with a
/// broadcast scalar.
#[neuron]
pub fn elementwise_binary(x: [f64; 4], y: [f64; 4], s: f64) -> [f64; 4] {
    max(x, y)
        + min(x, s)
        + leaky_relu(x, 0.1)
        + powf(x * x + 1, y)
        + max(x, 0)
        + x.max(s)
        + leaky_relu(y, s)
}

/// Element-wise ops on a matrix, then `matvec`.
#[neuron]
pub fn matrix_elementwise(m: [[f64; 3]; 2], s: f64, v: [f64; 3]) -> [f64; 2] {
    matvec(tanh(m * s) + m - s, v * v)
}

#[test]
fn elementwise_with_broadcast() {
    check_flat(
        "broadcast operators",
        &Flat {
            inputs: 5,
            outputs: 4,
            forward: &|p| broadcast_ops(arr(p), p[4]).to_vec(),
            backward: &|p, dy| {
                let (y, g) = broadcast_ops::backward(arr(p), p[4], arr(dy));
                (y.to_vec(), [g.x.to_vec(), vec![g.s]].concat())
            },
            value: &|p| {
                let s = p[4];
                p[..4]
                    .iter()
                    .map(|x| x * s + s - x / s + s / (x * x + 1.0) - (s - x) * x)
                    .collect()
            },
            vjp: Some(&|p, dy| {
                let s = p[4];
                let dx = (0..4).map(|i| {
                    let x = p[i];
                    dy[i] * (s - 1.0 / s - s * 2.0 * x / (x * x + 1.0).powi(2) - s + 2.0 * x)
                });
                let ds: f64 = (0..4)
                    .map(|i| {
                        let x = p[i];
                        dy[i] * (x + 1.0 + x / (s * s) + 1.0 / (x * x + 1.0) - x)
                    })
                    .sum();
                dx.chain([ds]).collect()
            }),
            avoid: &|p| p[4].abs() < 0.2,
        },
    );
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
                        x.tanh() + sigma(x) * x.exp() - (1.0 + x.exp()).ln()
                            + x.powi(3)
                            + x.abs()
                            + x.max(0.0)
                            + x * x
                            + (x * x + 1.0).sqrt()
                            + (x * x + 1.0).ln()
                            - x.tanh()
                            + x * x
                    })
                    .collect()
            },
            vjp: None,
            avoid: &|p| p.iter().any(|x| x.abs() < 1e-3),
        },
    );
    check_flat(
        "element-wise binary",
        &Flat {
            inputs: 9,
            outputs: 4,
            forward: &|p| elementwise_binary(arr(p), arr(&p[4..]), p[8]).to_vec(),
            backward: &|p, dy| {
                let (y, g) = elementwise_binary::backward(arr(p), arr(&p[4..]), p[8], arr(dy));
                (y.to_vec(), [g.x.to_vec(), g.y.to_vec(), vec![g.s]].concat())
            },
            value: &|p| {
                let s = p[8];
                (0..4)
                    .map(|i| {
                        let (x, y) = (p[i], p[4 + i]);
                        let leaky = |v: f64, a: f64| if v > 0.0 { v } else { a * v };
                        x.max(y)
                            + x.min(s)
                            + leaky(x, 0.1)
                            + (x * x + 1.0).powf(y)
                            + x.max(0.0)
                            + x.max(s)
                            + leaky(y, s)
                    })
                    .collect()
            },
            vjp: None,
            avoid: &|p| {
                let s = p[8];
                (0..4).any(|i| {
                    let (x, y) = (p[i], p[4 + i]);
                    (x - y).abs() < 1e-3 || (x - s).abs() < 1e-3 || x.abs() < 1e-3 || y.abs() < 1e-3
                })
            },
        },
    );
    check_flat(
        "matrix element-wise",
        &Flat {
            inputs: 10,
            outputs: 2,
            forward: &|p| matrix_elementwise(mat(p), p[6], arr(&p[7..])).to_vec(),
            backward: &|p, dy| {
                let (y, g) = matrix_elementwise::backward(mat(p), p[6], arr(&p[7..]), arr(dy));
                (y.to_vec(), [flat2(&g.m), vec![g.s], g.v.to_vec()].concat())
            },
            value: &|p| {
                let s = p[6];
                (0..2)
                    .map(|i| {
                        (0..3)
                            .map(|j| {
                                ((p[3 * i + j] * s).tanh() + p[3 * i + j] - s) * p[7 + j] * p[7 + j]
                            })
                            .sum()
                    })
                    .collect()
            },
            vjp: None,
            avoid: &never,
        },
    );
}

// ---------------------------------------------------------------------------
// f32 and generic functions.

/// `sigmoid` in f32.
#[neuron]
pub fn sigmoid_f32(x: f32) -> f32 {
    sigmoid(x)
}

/// A mix of scalar functions in f32.
#[neuron]
pub fn mix_f32(a: f32, b: f32) -> f32 {
    tanh(a) * powi(b, 3) + max(a, b) - ln(softplus(b)) / (a * a + 1)
        + powf(a * a + 1, b)
        + abs(a)
        + relu(b)
}

/// A neuron and a softmax in f32.
#[neuron]
pub fn layer_f32(x: [f32; 3], w: [[f32; 3]; 4], b: [f32; 4]) -> [f32; 4] {
    softmax(tanh(matvec(w, x) + b) * 2)
}

/// A mix of scalar functions, generic over the float type.
#[neuron]
pub fn mix_generic<T: Real>(a: T, b: T) -> T {
    tanh(a) * powi(b, 3) + max(a, b) - ln(softplus(b)) / (a * a + 1)
        + powf(a * a + 1, b)
        + abs(a)
        + relu(b)
        - sigmoid(a * 2.5)
        + exp(-b)
        + sqrt(a * a + 0.5)
        + leaky_relu(a, 0.1)
        + min(a, 0.5)
}

/// A neuron generic over the float type, with a softmax output.
#[neuron]
pub fn layer_generic<T: Real>(x: [T; 3], w: [[T; 3]; 4], b: [T; 4]) -> [T; 4] {
    log_softmax(tanh(matvec(w, x) + b) * 2 + dot(x, x))
}

/// f32 step and tolerance: rounding error of f32 over the step dominates.
const H32: f32 = 1e-2;
const TOL32: f64 = 2e-3;

#[test]
fn f32_functions() {
    let mut rng = fd::rng(seed("f32"));
    let mut checked = 0;
    while checked < POINTS {
        let p = uniforms(&mut rng, 2, -2.0, 2.0);
        let (a, b) = (p[0] as f32, p[1] as f32);
        if (a - b).abs() < 0.05 || a.abs() < 0.05 || b.abs() < 0.05 || (a - 0.5).abs() < 0.05 {
            continue;
        }
        let point = [f64::from(a), f64::from(b)];

        let (y, g) = sigmoid_f32::gradient(a);
        assert!((f64::from(y) - sigma(point[0])).abs() < 1e-6);
        let numeric = central_f32(|v| sigmoid_f32(v[0]), &[a], H32);
        assert_all_close("sigmoid f32", &point, &[f64::from(g.x)], &numeric, TOL32);
        let s = sigma(point[0]);
        assert_all_close(
            "sigmoid f32 closed form",
            &point,
            &[f64::from(g.x)],
            &[s * (1.0 - s)],
            1e-6,
        );

        let (y, g) = mix_f32::gradient(a, b);
        assert_eq!(y, mix_f32(a, b));
        let numeric = central_f32(|v| mix_f32(v[0], v[1]), &[a, b], H32);
        assert_all_close(
            "mix f32",
            &point,
            &[f64::from(g.a), f64::from(g.b)],
            &numeric,
            TOL32,
        );
        // The f32 gradient agrees with the f64 finite differences of the
        // same expression written generically, to f32 precision.
        let numeric64 = central(|v| mix_generic(v[0], v[1]), &point, H);
        let (_, g64) = mix_generic::gradient(point[0], point[1]);
        assert_all_close("mix generic f64", &point, &[g64.a, g64.b], &numeric64, TOL);
        let (y32, g32) = mix_generic::gradient(a, b);
        let numeric32 = central_f32(|v| mix_generic(v[0], v[1]), &[a, b], H32);
        assert!(y32.is_finite());
        assert_all_close(
            "mix generic f32",
            &point,
            &[f64::from(g32.a), f64::from(g32.b)],
            &numeric32,
            TOL32,
        );
        checked += 1;
    }
}

#[test]
fn f32_and_generic_arrays() {
    let mut rng = fd::rng(seed("f32 arrays"));
    for _ in 0..POINTS {
        let p = uniforms(&mut rng, 19, -1.5, 1.5);
        let dy = uniforms(&mut rng, 4, -2.0, 2.0);
        let q: Vec<f32> = p.iter().map(|&v| v as f32).collect();
        let dq: Vec<f32> = dy.iter().map(|&v| v as f32).collect();
        let point: Vec<f64> = q.iter().map(|&v| f64::from(v)).collect();

        let split32 = |v: &[f32]| -> ([f32; 3], [[f32; 3]; 4], [f32; 4]) {
            (
                std::array::from_fn(|i| v[i]),
                std::array::from_fn(|i| std::array::from_fn(|j| v[3 + 3 * i + j])),
                std::array::from_fn(|i| v[15 + i]),
            )
        };
        let (x, w, b) = split32(&q);
        let (_, g) = layer_f32::backward(x, w, b, std::array::from_fn(|i| dq[i]));
        let analytic: Vec<f64> =
            g.x.iter()
                .chain(g.w.iter().flatten())
                .chain(&g.b)
                .map(|&v| f64::from(v))
                .collect();
        let numeric = central_f32(
            |v| {
                let (x, w, b) = split32(v);
                layer_f32(x, w, b).iter().zip(&dq).map(|(y, d)| y * d).sum()
            },
            &q,
            H32,
        );
        assert_all_close("layer f32", &point, &analytic, &numeric, TOL32);

        let split = |v: &[f64]| -> ([f64; 3], [[f64; 3]; 4], [f64; 4]) {
            (arr(v), mat(&v[3..]), arr(&v[15..]))
        };
        let (x, w, b) = split(&p);
        let (y, g) = layer_generic::backward(x, w, b, arr(&dy));
        assert_eq!(y, layer_generic(x, w, b));
        let analytic: Vec<f64> = [g.x.to_vec(), flat2(&g.w), g.b.to_vec()].concat();
        let numeric = central(
            |v| {
                let (x, w, b) = split(v);
                fd::dot(&layer_generic(x, w, b), &dy)
            },
            &p,
            H,
        );
        assert_all_close("layer generic f64", &p, &analytic, &numeric, TOL);

        let (x, w, b) = split32(&q);
        let (_, g) = layer_generic::backward(x, w, b, std::array::from_fn(|i| dq[i]));
        let analytic: Vec<f64> =
            g.x.iter()
                .chain(g.w.iter().flatten())
                .chain(&g.b)
                .map(|&v| f64::from(v))
                .collect();
        let numeric = central_f32(
            |v| {
                let (x, w, b) = split32(v);
                layer_generic(x, w, b)
                    .iter()
                    .zip(&dq)
                    .map(|(y, d)| y * d)
                    .sum()
            },
            &q,
            H32,
        );
        assert_all_close("layer generic f32", &point, &analytic, &numeric, TOL32);
    }
}
