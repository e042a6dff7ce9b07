//! The element-wise ops: for each one, its names, its shape rule, its
//! meaning, the Rust it becomes, and its local derivative with its kink
//! rule, side by side and once.
//!
//! An adjoint rule receives the operands, the result `y` (so that `exp`,
//! `tanh` and `sigmoid` reuse the forward value instead of recomputing it)
//! and the upstream adjoint `d`, and builds each operand's contribution as
//! new IR nodes. Kinks follow the rule `1 if z > 0 else 0`: `relu'(0) = 0`,
//! `abs'(0) = 0`, `max(a, b)` sends the gradient to `a` only when `a > b`,
//! `min(a, b)` only when `a < b`.

use super::{
    Domain, Emit, Eval, Kind, Kink, OpDef, Param, Prim, Site, Spelling, all, broadcast, elem, gap,
};
use crate::emit::{ElemCx, Operand, Prec};
use crate::ir::{Graph, NodeId, Op};
use proc_macro2::TokenStream;
use quote::quote;

const ONE: &[Param] = &[Param::Real];
const TWO: &[Param] = &[Param::Real, Param::Real];
const ANY: &[Domain] = &[Domain::Any];
const ANY2: &[Domain] = &[Domain::Any, Domain::Any];

/// The fields every element-wise op shares.
macro_rules! elementwise {
    ($($field:ident: $value:expr),* $(,)?) => {
        OpDef {
            shape: broadcast,
            kind: Kind::Elementwise,
            reads_once: &[],
            $($field: $value,)*
        }
    };
}

/// `-x`.
pub const NEG: OpDef = elementwise! {
    name: "neg",
    spellings: &[],
    params: ONE,
    value_name: "neg",
    eval: Eval::Map(|x| -x[0]),
    emit: Emit::Prefix("-"),
    adjoint: |g, s| all([g.neg(s.d)]),
    repeats: &[],
    exact: true,
    kink: Kink::None,
    zero_if_zero: &[true],
    domain: ANY,
    doc: "`-x`",
};

/// `a + b`.
pub const ADD: OpDef = elementwise! {
    name: "+",
    spellings: &[],
    params: TWO,
    value_name: "sum",
    eval: Eval::Map(|x| x[0] + x[1]),
    emit: Emit::Infix("+", Prec::Sum),
    // No derivative of a plain sum: the adjoint passes through.
    adjoint: |_, s| all([s.d, s.d]),
    repeats: &[],
    exact: true,
    kink: Kink::None,
    zero_if_zero: &[false, false],
    domain: ANY2,
    doc: "`a + b`",
};

/// `a - b`.
pub const SUB: OpDef = elementwise! {
    name: "-",
    spellings: &[],
    params: TWO,
    value_name: "diff",
    eval: Eval::Map(|x| x[0] - x[1]),
    emit: Emit::Infix("-", Prec::Sum),
    adjoint: |g, s| all([s.d, g.neg(s.d)]),
    repeats: &[],
    exact: true,
    kink: Kink::None,
    zero_if_zero: &[false, false],
    domain: ANY2,
    doc: "`a - b`",
};

/// `a * b`.
pub const MUL: OpDef = elementwise! {
    name: "*",
    spellings: &[],
    params: TWO,
    value_name: "prod",
    eval: Eval::Map(|x| x[0] * x[1]),
    emit: Emit::Infix("*", Prec::Product),
    adjoint: |g, s| {
        let [a, b] = [s.operands[0], s.operands[1]];
        all([g.mul(s.d, b), g.mul(s.d, a)])
    },
    repeats: &[],
    exact: true,
    kink: Kink::None,
    zero_if_zero: &[true, true],
    domain: ANY2,
    doc: "`a * b`",
};

/// `a / b`.
pub const DIV: OpDef = elementwise! {
    name: "/",
    spellings: &[],
    params: TWO,
    value_name: "quot",
    eval: Eval::Map(|x| x[0] / x[1]),
    emit: Emit::Infix("/", Prec::Product),
    // d(a/b)/da = 1/b and d(a/b)/db = -a/b² = -y/b, both infinite at
    // b = 0, where a zero upstream derivative must still give zero.
    adjoint: |g, s| {
        let b = s.operands[1];
        let da = g.apply(Prim::SafeDiv, &[s.d, b]);
        let dy_y = g.apply(Prim::SafeMul, &[s.d, s.y]);
        let q = g.apply(Prim::SafeDiv, &[dy_y, b]);
        all([da, g.neg(q)])
    },
    repeats: &[],
    exact: true,
    kink: Kink::None,
    zero_if_zero: &[true, false],
    domain: &[Domain::Any, Domain::NonZero],
    doc: "`a / b`",
};

/// `relu(x) = max(x, 0)`, NaN for a NaN.
pub const RELU: OpDef = elementwise! {
    name: "relu",
    spellings: &[Spelling::both("relu")],
    params: ONE,
    value_name: "relu",
    eval: Eval::Map(|x| if x[0] <= 0.0 { 0.0 } else { x[0] }),
    emit: Emit::Method { name: "relu", real_trait: true },
    // relu'(x) = 1 if x > 0 else 0.
    adjoint: |g, s| {
        let zero = g.konst(0.0);
        all([g.select(Prim::SelectGt, s.operands[0], zero, s.d, zero)])
    },
    repeats: &[],
    exact: true,
    kink: Kink::AtZero,
    zero_if_zero: &[false],
    domain: ANY,
    doc: "`max(x, 0)`; derivative 0 at 0",
};

/// `leaky_relu(x, a)`: `x` where `x > 0`, else `a * x`.
pub const LEAKY_RELU: OpDef = elementwise! {
    name: "leaky_relu",
    spellings: &[Spelling::both("leaky_relu")],
    params: TWO,
    value_name: "leaky_relu",
    eval: Eval::Map(|x| if x[0] > 0.0 { x[0] } else { x[1] * x[0] }),
    emit: Emit::Method { name: "leaky_relu", real_trait: true },
    // Slope 1 where x > 0, else `a`; in `a`, 0 where x > 0, else x.
    adjoint: |g, s| {
        let [x, a] = [s.operands[0], s.operands[1]];
        let zero = g.konst(0.0);
        let da_scaled = g.mul(s.d, a);
        let dx = g.select(Prim::SelectGt, x, zero, s.d, da_scaled);
        let d_slope = g.mul(s.d, x);
        all([dx, g.select(Prim::SelectGt, x, zero, zero, d_slope)])
    },
    repeats: &[],
    exact: true,
    kink: Kink::AtZero,
    zero_if_zero: &[false, false],
    domain: ANY2,
    doc: "`x` where `x > 0`, else `a * x`; derivative `a` at 0",
};

/// `sigmoid(x) = 1 / (1 + e^-x)`, in its stable form.
pub const SIGMOID: OpDef = elementwise! {
    name: "sigmoid",
    spellings: &[Spelling::both("sigmoid")],
    params: ONE,
    value_name: "sigmoid",
    eval: Eval::Map(|x| sigmoid(x[0])),
    emit: Emit::Method { name: "sigmoid", real_trait: true },
    // σ' = σ (1 - σ).
    adjoint: |g, s| {
        let one = g.konst(1.0);
        let one_minus = g.sub(one, s.y);
        let slope = g.mul(s.y, one_minus);
        all([g.mul(s.d, slope)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false],
    domain: ANY,
    doc: "`1 / (1 + e^-x)`, without overflow",
};

/// `tanh(x)`.
pub const TANH: OpDef = elementwise! {
    name: "tanh",
    spellings: &[Spelling::both("tanh")],
    params: ONE,
    value_name: "tanh",
    eval: Eval::Map(|x| x[0].tanh()),
    emit: Emit::Method { name: "tanh", real_trait: false },
    // tanh' = 1 - tanh².
    adjoint: |g, s| {
        let one = g.konst(1.0);
        let y2 = g.mul(s.y, s.y);
        let slope = g.sub(one, y2);
        all([g.mul(s.d, slope)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false],
    domain: ANY,
    doc: "hyperbolic tangent",
};

/// `exp(x)`.
pub const EXP: OpDef = elementwise! {
    name: "exp",
    spellings: &[Spelling::both("exp")],
    params: ONE,
    value_name: "exp",
    eval: Eval::Map(|x| x[0].exp()),
    emit: Emit::Method { name: "exp", real_trait: false },
    adjoint: |g, s| all([g.mul(s.d, s.y)]),
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false],
    domain: ANY,
    doc: "`e^x`",
};

/// `ln(x)`.
pub const LN: OpDef = elementwise! {
    name: "ln",
    spellings: &[Spelling::both("ln")],
    params: ONE,
    value_name: "ln",
    eval: Eval::Map(|x| x[0].ln()),
    emit: Emit::Method { name: "ln", real_trait: false },
    // ln' = 1 / x, infinite at 0.
    adjoint: |g, s| all([g.apply(Prim::SafeDiv, &[s.d, s.operands[0]])]),
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false],
    domain: &[Domain::Positive],
    doc: "natural logarithm",
};

/// `sqrt(x)`.
pub const SQRT: OpDef = elementwise! {
    name: "sqrt",
    spellings: &[Spelling::both("sqrt")],
    params: ONE,
    value_name: "sqrt",
    eval: Eval::Map(|x| x[0].sqrt()),
    emit: Emit::Method { name: "sqrt", real_trait: false },
    // sqrt' = 1 / (2 sqrt x), infinite at 0.
    adjoint: |g, s| {
        let two = g.konst(2.0);
        let denom = g.mul(two, s.y);
        all([g.apply(Prim::SafeDiv, &[s.d, denom])])
    },
    repeats: &[],
    exact: true,
    kink: Kink::None,
    zero_if_zero: &[false],
    domain: &[Domain::Positive],
    doc: "square root",
};

/// `abs(x)`.
pub const ABS: OpDef = elementwise! {
    name: "abs",
    spellings: &[Spelling::both("abs")],
    params: ONE,
    value_name: "abs",
    eval: Eval::Map(|x| x[0].abs()),
    emit: Emit::Method { name: "abs", real_trait: false },
    // abs'(x) = 1 if x > 0, -1 if x < 0, 0 at the kink.
    adjoint: |g, s| {
        let x = s.operands[0];
        let zero = g.konst(0.0);
        let neg_d = g.neg(s.d);
        let below = g.select(Prim::SelectLt, x, zero, neg_d, zero);
        all([g.select(Prim::SelectGt, x, zero, s.d, below)])
    },
    repeats: &[],
    exact: true,
    kink: Kink::AtZero,
    zero_if_zero: &[false],
    domain: ANY,
    doc: "`|x|`; derivative 0 at 0",
};

/// `softplus(x) = ln(1 + e^x)`, in its stable form.
pub const SOFTPLUS: OpDef = elementwise! {
    name: "softplus",
    spellings: &[Spelling::both("softplus")],
    params: ONE,
    value_name: "softplus",
    eval: Eval::Map(|x| x[0].max(0.0) + (-x[0].abs()).exp().ln_1p()),
    emit: Emit::Method { name: "softplus", real_trait: true },
    // softplus' = σ.
    adjoint: |g, s| {
        let sig = g.apply(Prim::Sigmoid, &[s.operands[0]]);
        all([g.mul(s.d, sig)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false],
    domain: ANY,
    doc: "`ln(1 + e^x)`, without overflow",
};

/// `square(x) = x * x`, written `x.powi(2)`.
pub const SQUARE: OpDef = elementwise! {
    name: "square",
    spellings: &[Spelling::both("square")],
    params: ONE,
    value_name: "pow",
    eval: Eval::Map(|x| x[0] * x[0]),
    emit: Emit::Elem(|cx, x| {
        let [x] = operands(x);
        cx.method(x, "powi", vec![Operand::int(2)], false)
    }),
    adjoint: |g, s| {
        let two = g.konst(2.0);
        let slope = g.mul(two, s.operands[0]);
        all([g.mul(s.d, slope)])
    },
    repeats: &[],
    exact: true,
    kink: Kink::None,
    zero_if_zero: &[false],
    domain: ANY,
    doc: "`x * x`",
};

/// `powi(x, n)` with an integer literal `n`.
pub const POWI: OpDef = elementwise! {
    name: "powi",
    spellings: &[Spelling::both("powi")],
    params: &[Param::Real, Param::IntLiteral],
    value_name: "pow",
    eval: Eval::Map(|x| x[0].powi(exponent(x[1]))),
    emit: Emit::Elem(|cx, x| {
        let n = Operand::int(cx.int_operand(1));
        let [x, _] = operands(x);
        cx.method(x, "powi", vec![n], false)
    }),
    adjoint: |g, s| {
        let [x, e] = [s.operands[0], s.operands[1]];
        let n = exponent(g.const_value(e).unwrap_or(0.0));
        let dx = match n {
            0 => g.zeros(g.shape(x).clone()),
            1 => s.d,
            _ => {
                let k = g.konst(f64::from(n));
                // n xⁿ⁻¹, or n xⁿ / x for `i32::MIN`, which has no n - 1.
                let p = match n.checked_sub(1) {
                    Some(m) => {
                        let m = g.konst(f64::from(m));
                        g.apply(Prim::Powi, &[x, m])
                    }
                    None => g.div(s.y, x),
                };
                let slope = g.mul(k, p);
                // A negative power's slope is infinite at 0.
                if n < 0 {
                    g.apply(Prim::SafeMul, &[s.d, slope])
                } else {
                    g.mul(s.d, slope)
                }
            }
        };
        vec![Some(dx), None]
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false, false],
    domain: &[Domain::Any, Domain::Any],
    doc: "`x` to the integer literal power `n`",
};

/// `powf(a, b) = a^b`.
pub const POWF: OpDef = elementwise! {
    name: "powf",
    spellings: &[Spelling::both("powf")],
    params: TWO,
    value_name: "pow",
    eval: Eval::Map(|x| x[0].powf(x[1])),
    emit: Emit::Method { name: "powf", real_trait: false },
    // d(a^b)/da = b a^(b-1), infinite at a = 0 for b < 1;
    // d(a^b)/db = a^b ln a, where a^b = 0 at a = 0 makes it 0, not 0 · -inf.
    adjoint: |g, s| {
        let [a, b] = [s.operands[0], s.operands[1]];
        let one = g.konst(1.0);
        let b1 = g.sub(b, one);
        let p = g.apply(Prim::Powf, &[a, b1]);
        let slope = g.mul(b, p);
        let da = g.apply(Prim::SafeMul, &[s.d, slope]);
        let ln_a = g.apply(Prim::Ln, &[a]);
        let dy_y = g.apply(Prim::SafeMul, &[s.d, s.y]);
        all([da, g.apply(Prim::SafeMul, &[dy_y, ln_a])])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false, false],
    domain: &[Domain::Positive, Domain::Any],
    doc: "`a` to the real power `b`",
};

/// `max(a, b)`: `b` at a tie, NaN when either is NaN.
pub const MAX: OpDef = elementwise! {
    name: "max",
    spellings: &[Spelling::both("max")],
    params: TWO,
    value_name: "max",
    eval: Eval::Map(|x| if x[0] > x[1] || x[0].is_nan() { x[0] } else { x[1] }),
    emit: Emit::Method { name: "max_or_nan", real_trait: true },
    adjoint: |g, s| extremum_adjoint(g, s, Prim::SelectGt),
    repeats: &[],
    exact: true,
    kink: Kink::AtEqual,
    zero_if_zero: &[false, false],
    domain: ANY2,
    doc: "the larger of `a` and `b`; the gradient goes to `a` only where `a > b`",
};

/// `min(a, b)`: `b` at a tie, NaN when either is NaN.
pub const MIN: OpDef = elementwise! {
    name: "min",
    spellings: &[Spelling::both("min")],
    params: TWO,
    value_name: "min",
    eval: Eval::Map(|x| if x[0] < x[1] || x[0].is_nan() { x[0] } else { x[1] }),
    emit: Emit::Method { name: "min_or_nan", real_trait: true },
    adjoint: |g, s| extremum_adjoint(g, s, Prim::SelectLt),
    repeats: &[],
    exact: true,
    kink: Kink::AtEqual,
    zero_if_zero: &[false, false],
    domain: ANY2,
    doc: "the smaller of `a` and `b`; the gradient goes to `a` only where `a < b`",
};

/// `if a > b { then } else { other }`: the kinks of derivatives. NaN when
/// a comparand is NaN, so that a kink never hides one.
pub const SELECT_GT: OpDef = elementwise! {
    name: "select>",
    spellings: &[],
    params: &[Param::Real; 4],
    value_name: "mask",
    eval: Eval::Map(|x| select_value(x[0] > x[1], x)),
    emit: Emit::Elem(|cx, x| select(cx, quote!(>), quote!(<=), x)),
    repeats: &[true, true, false, false],
    adjoint: |g, s| select_adjoint(g, s, Prim::SelectGt),
    exact: true,
    kink: Kink::AtEqual,
    zero_if_zero: &[false, false, false, false],
    domain: &[Domain::Any; 4],
    doc: "`if a > b { t } else { o }`, built by derivatives",
};

/// `if a < b { then } else { other }`, NaN when a comparand is NaN.
pub const SELECT_LT: OpDef = elementwise! {
    name: "select<",
    spellings: &[],
    params: &[Param::Real; 4],
    value_name: "mask",
    eval: Eval::Map(|x| select_value(x[0] < x[1], x)),
    emit: Emit::Elem(|cx, x| select(cx, quote!(<), quote!(>=), x)),
    repeats: &[true, true, false, false],
    adjoint: |g, s| select_adjoint(g, s, Prim::SelectLt),
    exact: true,
    kink: Kink::AtEqual,
    zero_if_zero: &[false, false, false, false],
    domain: &[Domain::Any; 4],
    doc: "`if a < b { t } else { o }`, built by derivatives",
};

/// `a * b`, except that a zero `a` gives itself whatever `b` is: the
/// chain rule's product of an upstream derivative with a local one that
/// may be infinite, where a zero upstream derivative means no dependence
/// at all (JAX's `_safe_mul`).
pub const SAFE_MUL: OpDef = elementwise! {
    name: "safe*",
    spellings: &[],
    params: TWO,
    value_name: "prod",
    eval: Eval::Map(|x| if x[0] == 0.0 { x[0] } else { x[0] * x[1] }),
    emit: Emit::Elem(|cx, x| safe(cx, quote!(*), x)),
    repeats: &[true, false],
    adjoint: |g, s| {
        let [a, b] = [s.operands[0], s.operands[1]];
        all([
            g.apply(Prim::SafeMul, &[s.d, b]),
            g.apply(Prim::SafeMul, &[a, s.d]),
        ])
    },
    exact: true,
    kink: Kink::None,
    zero_if_zero: &[true, true],
    domain: ANY2,
    doc: "`a * b`, or `a` where `a == 0`, built by derivatives",
};

/// `a / b`, except that a zero `a` gives itself whatever `b` is.
pub const SAFE_DIV: OpDef = elementwise! {
    name: "safe/",
    spellings: &[],
    params: TWO,
    value_name: "quot",
    eval: Eval::Map(|x| if x[0] == 0.0 { x[0] } else { x[0] / x[1] }),
    emit: Emit::Elem(|cx, x| safe(cx, quote!(/), x)),
    repeats: &[true, false],
    adjoint: |g, s| {
        let b = s.operands[1];
        let da = g.apply(Prim::SafeDiv, &[s.d, b]);
        let dy_y = g.apply(Prim::SafeMul, &[s.d, s.y]);
        let q = g.apply(Prim::SafeDiv, &[dy_y, b]);
        all([da, g.neg(q)])
    },
    exact: true,
    kink: Kink::None,
    zero_if_zero: &[true, false],
    domain: &[Domain::Any, Domain::NonZero],
    doc: "`a / b`, or `a` where `a == 0`, built by derivatives",
};

/// `sin(x)`.
pub const SIN: OpDef = elementwise! {
    name: "sin",
    spellings: &[Spelling::both("sin")],
    params: ONE,
    value_name: "sin",
    eval: Eval::Map(|x| x[0].sin()),
    emit: Emit::Method { name: "sin", real_trait: false },
    adjoint: |g, s| {
        let cos = g.apply(Prim::Cos, &[s.operands[0]]);
        all([g.mul(s.d, cos)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[true],
    domain: ANY,
    doc: "sine",
};

/// `cos(x)`.
pub const COS: OpDef = elementwise! {
    name: "cos",
    spellings: &[Spelling::both("cos")],
    params: ONE,
    value_name: "cos",
    eval: Eval::Map(|x| x[0].cos()),
    emit: Emit::Method { name: "cos", real_trait: false },
    adjoint: |g, s| {
        let sin = g.apply(Prim::Sin, &[s.operands[0]]);
        let d_sin = g.mul(s.d, sin);
        all([g.neg(d_sin)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false],
    domain: ANY,
    doc: "cosine",
};

/// `atan(x)`.
pub const ATAN: OpDef = elementwise! {
    name: "atan",
    spellings: &[Spelling::both("atan")],
    params: ONE,
    value_name: "atan",
    eval: Eval::Map(|x| x[0].atan()),
    emit: Emit::Method { name: "atan", real_trait: false },
    // atan' = 1 / (1 + x²), which tends to 0 (not NaN) as x² overflows.
    adjoint: |g, s| {
        let one = g.konst(1.0);
        let x2 = g.apply(Prim::Square, &[s.operands[0]]);
        let denom = g.add(one, x2);
        all([g.div(s.d, denom)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[true],
    domain: ANY,
    doc: "arctangent, in `(-π/2, π/2)`",
};

/// `silu(x) = x σ(x)`, the swish.
pub const SILU: OpDef = elementwise! {
    name: "silu",
    spellings: &[Spelling::both("silu")],
    params: ONE,
    value_name: "silu",
    eval: Eval::Map(|x| x[0] * sigmoid(x[0])),
    emit: Emit::Method { name: "silu", real_trait: true },
    // silu' = σ + x σ (1 - σ) = σ + y (1 - σ): finite everywhere.
    adjoint: |g, s| {
        let sig = g.apply(Prim::Sigmoid, &[s.operands[0]]);
        let one = g.konst(1.0);
        let rest = g.sub(one, sig);
        let y_rest = g.mul(s.y, rest);
        let slope = g.add(sig, y_rest);
        all([g.mul(s.d, slope)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[true],
    domain: ANY,
    doc: "`x * sigmoid(x)`, the swish",
};

/// `gelu(x) = x Φ(x)`, exact, with Φ from `erfc` so that no cancellation
/// loses the tail for large negative `x`.
pub const GELU: OpDef = elementwise! {
    name: "gelu",
    spellings: &[Spelling::both("gelu")],
    params: ONE,
    value_name: "gelu",
    eval: Eval::Map(|x| x[0] * normal_cdf(x[0])),
    emit: Emit::Method { name: "gelu", real_trait: true },
    // gelu' = Φ(x) + x φ(x).
    adjoint: |g, s| {
        let x = s.operands[0];
        let cdf = g.apply(Prim::NormalCdf, &[x]);
        let pdf = normal_pdf(g, x);
        let x_pdf = g.mul(x, pdf);
        let slope = g.add(cdf, x_pdf);
        all([g.mul(s.d, slope)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[true],
    domain: ANY,
    doc: "`x * Φ(x)` with `Φ` the standard normal distribution function (exact, not the tanh approximation)",
};

/// `Φ(x)`, the standard normal distribution function: the derivative of
/// `gelu` is written with it.
pub const NORMAL_CDF: OpDef = elementwise! {
    name: "normal_cdf",
    spellings: &[],
    params: ONE,
    value_name: "cdf",
    eval: Eval::Map(|x| normal_cdf(x[0])),
    emit: Emit::Method { name: "normal_cdf", real_trait: true },
    adjoint: |g, s| {
        let pdf = normal_pdf(g, s.operands[0]);
        all([g.mul(s.d, pdf)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false],
    domain: ANY,
    doc: "`Φ(x) = erfc(-x / √2) / 2`, built by derivatives",
};

/// `elu(x, a)`: `x` where `x > 0`, else `a (eˣ - 1)`.
pub const ELU: OpDef = elementwise! {
    name: "elu",
    spellings: &[Spelling::both("elu")],
    params: TWO,
    value_name: "elu",
    eval: Eval::Map(|x| elu(x[0], x[1])),
    emit: Emit::Method { name: "elu", real_trait: true },
    // Slope 1 where x > 0, else a eˣ; in `a`, 0 where x > 0, else eˣ - 1.
    // Both `else` branches read `x`, so a NaN `x` gives NaN partials.
    adjoint: |g, s| {
        let [x, a] = [s.operands[0], s.operands[1]];
        let (zero, one) = (g.konst(0.0), g.konst(1.0));
        let e = g.apply(Prim::Exp, &[x]);
        let slope = g.mul(a, e);
        let d_below = g.mul(s.d, slope);
        let dx = g.select(Prim::SelectGt, x, zero, s.d, d_below);
        let em1 = g.sub(e, one);
        let d_scale = g.mul(s.d, em1);
        all([dx, g.select(Prim::SelectGt, x, zero, zero, d_scale)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::AtZero,
    zero_if_zero: &[false, false],
    domain: ANY2,
    doc: "`x` where `x > 0`, else `a * (e^x - 1)`; derivative `a` at 0",
};

/// `softsign(x) = x / (1 + |x|)`.
pub const SOFTSIGN: OpDef = elementwise! {
    name: "softsign",
    spellings: &[Spelling::both("softsign")],
    params: ONE,
    value_name: "softsign",
    eval: Eval::Map(|x| x[0] / (1.0 + x[0].abs())),
    emit: Emit::Method { name: "softsign", real_trait: true },
    // softsign' = 1 / (1 + |x|)², continuous at 0.
    adjoint: |g, s| {
        let one = g.konst(1.0);
        let abs = g.apply(Prim::Abs, &[s.operands[0]]);
        let denom = g.add(one, abs);
        let denom2 = g.apply(Prim::Square, &[denom]);
        all([g.div(s.d, denom2)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[true],
    domain: ANY,
    doc: "`x / (1 + |x|)`",
};

/// `clamp(x, lo, hi) = min(max(x, lo), hi)`: never panics, `hi` where
/// `lo > hi`, NaN where any operand is NaN.
pub const CLAMP: OpDef = elementwise! {
    name: "clamp",
    spellings: &[Spelling::both("clamp")],
    params: &[Param::Real, Param::Real, Param::Real],
    value_name: "clamp",
    eval: Eval::Map(|x| clip(x[0], x[1], x[2])),
    emit: Emit::Method { name: "clip", real_trait: true },
    // The rules of `max(x, lo)` then `min(m, hi)`: `x` takes the gradient
    // only where lo < x < hi; at a tie the bound takes it, whether it is a
    // constant or varies (the second operand of each); so does `hi` where
    // lo > hi. A NaN value gives NaN partials.
    adjoint: |g, s| {
        let [x, lo, hi] = [s.operands[0], s.operands[1], s.operands[2]];
        let zero = g.konst(0.0);
        let x_under = g.select(Prim::SelectLt, x, hi, s.d, zero);
        let dx = g.select(Prim::SelectGt, x, lo, x_under, zero);
        let lo_under = g.select(Prim::SelectLt, lo, hi, s.d, zero);
        let dlo = g.select(Prim::SelectGt, x, lo, zero, lo_under);
        let x_over = g.select(Prim::SelectLt, x, hi, zero, s.d);
        let lo_over = g.select(Prim::SelectLt, lo, hi, zero, s.d);
        let dhi = g.select(Prim::SelectGt, x, lo, x_over, lo_over);
        all([dx, dlo, dhi].map(|c| g.apply(Prim::NanOr, &[s.y, c])))
    },
    repeats: &[],
    exact: true,
    kink: Kink::Custom(|x| {
        let len = x.iter().map(|v| v.len()).max().unwrap_or(0);
        (0..len)
            .map(|i| {
                let (v, lo, hi) = (elem(x[0], i), elem(x[1], i), elem(x[2], i));
                gap(v, lo).min(gap(v, hi)).min(gap(lo, hi))
            })
            .fold(f64::INFINITY, f64::min)
    }),
    zero_if_zero: &[false, false, false],
    domain: &[Domain::Any; 3],
    doc: "`min(max(x, lo), hi)`: `hi` where `lo > hi`, never a panic; derivative 0 in `x` at either bound",
};

/// `log_sigmoid(x) = -softplus(-x)`, finite for any finite `x`.
pub const LOG_SIGMOID: OpDef = elementwise! {
    name: "log_sigmoid",
    spellings: &[Spelling::both("log_sigmoid")],
    params: ONE,
    value_name: "log_sigmoid",
    eval: Eval::Map(|x| log_sigmoid(x[0])),
    emit: Emit::Method { name: "log_sigmoid", real_trait: true },
    // (ln σ)' = 1 - σ(x) = σ(-x), without cancellation.
    adjoint: |g, s| {
        let minus = g.neg(s.operands[0]);
        let sig = g.apply(Prim::Sigmoid, &[minus]);
        all([g.mul(s.d, sig)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false],
    domain: ANY,
    doc: "`ln(sigmoid(x)) = -softplus(-x)`, without overflow",
};

/// `x` where `x` is NaN, else `v`: carries NaN through the derivative of a
/// kink, whose comparisons alone would map NaN to a branch.
pub const NAN_OR: OpDef = elementwise! {
    name: "nan_or",
    spellings: &[],
    params: TWO,
    value_name: "nan_or",
    eval: Eval::Map(|x| if x[0].is_nan() { x[0] } else { x[1] }),
    emit: Emit::Elem(|cx, x| {
        let [x, v] = operands(x);
        let test = cx
            .method(Operand::new(x.tokens.clone(), x.prec), "is_nan", Vec::new(), false)
            .tokens;
        let mut lets = TokenStream::new();
        let v = cx.eager(1, v, &mut lets);
        let chained = v.prec == Prec::Select;
        let (x, v) = (x.tokens, v.tokens);
        let tokens = if chained {
            quote!(if #test { #x } else #v)
        } else {
            quote!(if #test { #x } else { #v })
        };
        Operand::new(with_lets(lets, tokens), Prec::Select)
    }),
    adjoint: |g, s| vec![None, Some(g.apply(Prim::NanOr, &[s.operands[0], s.d]))],
    repeats: &[true, false],
    exact: true,
    kink: Kink::None,
    zero_if_zero: &[false, false],
    domain: ANY2,
    doc: "`x` where `x` is NaN, else `v`, built by derivatives",
};

/// `1 / √(2π)`.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// `φ(x) = e^(-x²/2) / √(2π)`, as nodes; 0 (not NaN) once x² overflows.
fn normal_pdf(g: &mut Graph, x: NodeId) -> NodeId {
    let x2 = g.apply(Prim::Square, &[x]);
    let minus_half = g.konst(-0.5);
    let exponent = g.mul(minus_half, x2);
    let e = g.apply(Prim::Exp, &[exponent]);
    let k = g.konst(INV_SQRT_2PI);
    g.mul(k, e)
}

/// `Φ(x) = erfc(-x / √2) / 2`, as `neuron_core::Real::normal_cdf`.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// `x` where `x > 0`, else `a (eˣ - 1)`, as `neuron_core::Real::elu`.
pub fn elu(x: f64, a: f64) -> f64 {
    if x > 0.0 { x } else { a * x.exp_m1() }
}

/// `min(max(x, lo), hi)`, propagating NaN from any operand, as
/// `neuron_core::Real::clip`.
pub fn clip(x: f64, lo: f64, hi: f64) -> f64 {
    let m = if x > lo || x.is_nan() { x } else { lo };
    if m < hi || m.is_nan() { m } else { hi }
}

/// `-softplus(-x)`, as `neuron_core::Real::log_sigmoid`.
pub fn log_sigmoid(x: f64) -> f64 {
    -((-x).max(0.0) + (-x.abs()).exp().ln_1p())
}

/// `1 / (1 + e^-x)` without overflow, as `neuron_core::Real::sigmoid`.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The operands of an op of arity `N`, which the emitter always passes.
fn operands<const N: usize>(x: Vec<Operand>) -> [Operand; N] {
    let mut x = x.into_iter();
    std::array::from_fn(|_| {
        x.next()
            .unwrap_or_else(|| Operand::new(TokenStream::new(), Prec::Atom))
    })
}

/// An integer exponent held as a constant; `check` admits only `i32` literals.
fn exponent(x: f64) -> i32 {
    x as i32
}

/// A select's value: `then` or `other` as the comparison says, NaN when
/// it cannot say (a comparand is NaN).
fn select_value(taken: bool, x: &[f64]) -> f64 {
    if taken {
        x[2]
    } else if x[0].is_nan() || x[1].is_nan() {
        f64::NAN
    } else {
        x[3]
    }
}

/// `if a <cmp> b { t } else if a <not cmp> b { o } else { a + b }`: the
/// last branch is taken only when a comparand is NaN, and gives that NaN
/// (the comparand itself when the other is a constant). When `o` is a
/// select on the same comparands, which catches the NaN itself, the chain
/// reads `if a > b { t } else if a < b { .. } else ..`. Over an array,
/// `t` and `o` (a chained one too) are read before the comparison (see
/// `ElemCx::eager`), and the chain becomes `else { o }`.
fn select(cx: &mut ElemCx, cmp: TokenStream, complement: TokenStream, x: Vec<Operand>) -> Operand {
    let chained = chains_on_same_comparands(cx);
    let [a, b, t, o] = operands(x);
    let (nan, nan_anchored) = if cx.is_constant(1) {
        (a.tokens.clone(), a.anchored)
    } else if cx.is_constant(0) {
        (b.tokens.clone(), b.anchored)
    } else {
        let (a_tokens, b_tokens) = (a.tokens.clone(), b.tokens.clone());
        (quote!(#a_tokens + #b_tokens), a.anchored || b.anchored)
    };
    let anchored = t.anchored || o.anchored || (nan_anchored && !chained);
    let mut lets = TokenStream::new();
    let t = cx.eager(2, t, &mut lets);
    // A chained `o` read first is a value like any other, chosen by the
    // `else`: no part of the chain is then behind a jump.
    let o = cx.eager(3, o, &mut lets);
    let still_chained = chained && o.prec == Prec::Select;
    let (a, b, t, o) = (
        a.at_least(Prec::Sum),
        b.at_least(Prec::Sum),
        t.tokens,
        o.tokens,
    );
    let chain = if still_chained {
        quote!(if #a #cmp #b { #t } else #o)
    } else if chained {
        quote!(if #a #cmp #b { #t } else { #o })
    } else {
        quote!(if #a #cmp #b { #t } else if #a #complement #b { #o } else { #nan })
    };
    Operand::new(with_lets(lets, chain), Prec::Select).anchored(anchored)
}

/// `{ lets tokens }`, or `tokens` alone when there is nothing to bind.
fn with_lets(lets: TokenStream, tokens: TokenStream) -> TokenStream {
    if lets.is_empty() {
        tokens
    } else {
        quote!({ #lets #tokens })
    }
}

/// Whether a select's `other` operand is itself a select on the same two
/// comparands, written inline, so that it catches their NaN.
fn chains_on_same_comparands(cx: &ElemCx) -> bool {
    let ids = cx.operand_ids();
    let other = ids[3];
    !cx.is_named(other)
        && matches!(
            cx.graph().op(other),
            Op::Apply(Prim::SelectGt | Prim::SelectLt, inner) if inner[..2] == ids[..2]
        )
}

/// `if a == 0.0 { a } else { a <op> b }`.
fn safe(cx: &mut ElemCx, op: TokenStream, x: Vec<Operand>) -> Operand {
    let zero = cx.lit(0.0).tokens;
    let [a, b] = operands(x);
    let anchored = a.anchored || b.anchored;
    let plain = a.tokens.clone();
    let (a, b) = (a.at_least(Prec::Sum), b.at_least(Prec::Prefix));
    Operand::new(
        quote!(if #a == #zero { #plain } else { #a #op #b }),
        Prec::Select,
    )
    .anchored(anchored)
}

/// The adjoints of `max` (`p` is `SelectGt`) and `min` (`SelectLt`): the
/// gradient goes to `a` only where `a` wins strictly. At a tie, a constant
/// operand takes it (so `max(z, 0)`, `max(0, z)` and `relu(z)` agree at
/// `z = 0`), and between two varying operands `b` does.
fn extremum_adjoint(g: &mut Graph, s: &Site, p: Prim) -> Vec<Option<NodeId>> {
    let [a, b] = [s.operands[0], s.operands[1]];
    let zero = g.konst(0.0);
    if !s.varying[0] {
        // `a` is a constant: `b` receives the gradient where it wins.
        return vec![None, Some(g.select(p, b, a, s.d, zero))];
    }
    all([g.select(p, a, b, s.d, zero), g.select(p, a, b, zero, s.d)])
}

/// The branch taken receives the adjoint. The comparison is piecewise
/// constant: its comparands receive zero, which is NaN where a comparand
/// is (the select's own value there), so that a second derivative through
/// a kink carries a NaN as the first does. (Selects are built by
/// derivatives only, so this rule serves second derivatives.)
fn select_adjoint(g: &mut Graph, s: &Site, p: Prim) -> Vec<Option<NodeId>> {
    let [a, b] = [s.operands[0], s.operands[1]];
    let zero = g.konst(0.0);
    let taken = g.select(p, a, b, s.d, zero);
    let not_taken = g.select(p, a, b, zero, s.d);
    let flat = g.select(p, a, b, zero, zero);
    let varying = |k: usize| s.varying.get(k).copied().unwrap_or(true);
    vec![
        varying(0).then_some(flat),
        varying(1).then_some(flat),
        Some(taken),
        Some(not_taken),
    ]
}
