//! The element-wise operations: for each one, its name, its forward
//! meaning, its local derivative and its kink rule, side by side and once.
//!
//! A derivative rule receives the operand nodes, the node of the result `y`
//! (so that `exp`, `tanh` and `sigmoid` reuse the forward value instead of
//! recomputing it) and the upstream adjoint `d`, and builds the adjoint
//! contribution to each operand as new IR nodes. Kinks follow the rule
//! `1 if z > 0 else 0`: `relu'(0) = 0`, `abs'(0) = 0`, `max(a, b)` sends the
//! gradient to `a` only when `a > b`, `min(a, b)` only when `a < b`.

use crate::ir::{Graph, NodeId};

/// A one-operand element-wise op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unary {
    Neg,
    Relu,
    Sigmoid,
    Tanh,
    Exp,
    Ln,
    Sqrt,
    Abs,
    Softplus,
    Square,
    /// `x.powi(n)` with a literal integer exponent.
    Powi(i32),
}

/// A two-operand element-wise op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    Powf,
    /// `leaky_relu(x, a)`: `x` where `x > 0`, else `a * x`.
    LeakyRelu,
}

/// The comparison of a `Select` node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cmp {
    Gt,
    Lt,
}

impl Cmp {
    #[cfg(test)]
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Gt => ">",
            Cmp::Lt => "<",
        }
    }
    pub fn eval(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Gt => a > b,
            Cmp::Lt => a < b,
        }
    }
}

/// Every unary op the language names, with its surface name.
pub const UNARY: &[(&str, Unary)] = &[
    ("relu", Unary::Relu),
    ("sigmoid", Unary::Sigmoid),
    ("tanh", Unary::Tanh),
    ("exp", Unary::Exp),
    ("ln", Unary::Ln),
    ("sqrt", Unary::Sqrt),
    ("abs", Unary::Abs),
    ("softplus", Unary::Softplus),
    ("square", Unary::Square),
];

/// Every binary function the language names (operators aside).
pub const BINARY: &[(&str, Binary)] = &[
    ("max", Binary::Max),
    ("min", Binary::Min),
    ("powf", Binary::Powf),
    ("leaky_relu", Binary::LeakyRelu),
];

impl Unary {
    pub fn name(self) -> &'static str {
        match self {
            Unary::Neg => "neg",
            Unary::Powi(_) => "powi",
            other => UNARY
                .iter()
                .find(|(_, u)| *u == other)
                .map_or("?", |(n, _)| n),
        }
    }

    #[cfg(test)]
    pub fn from_name(name: &str) -> Option<Unary> {
        if name == "neg" {
            return Some(Unary::Neg);
        }
        UNARY.iter().find(|(n, _)| *n == name).map(|(_, u)| *u)
    }

    /// The forward meaning, in the same numerically stable forms as
    /// `neuron_core::Real`.
    pub fn eval(self, x: f64) -> f64 {
        match self {
            Unary::Neg => -x,
            Unary::Relu => {
                if x > 0.0 {
                    x
                } else {
                    0.0
                }
            }
            Unary::Sigmoid => {
                if x >= 0.0 {
                    1.0 / (1.0 + (-x).exp())
                } else {
                    let e = x.exp();
                    e / (1.0 + e)
                }
            }
            Unary::Tanh => x.tanh(),
            Unary::Exp => x.exp(),
            Unary::Ln => x.ln(),
            Unary::Sqrt => x.sqrt(),
            Unary::Abs => x.abs(),
            Unary::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
            Unary::Square => x * x,
            Unary::Powi(n) => x.powi(n),
        }
    }

    /// The adjoint contribution to `x` of `y = op(x)` with upstream `d`.
    pub fn adjoint(self, g: &mut Graph, x: NodeId, y: NodeId, d: NodeId) -> NodeId {
        match self {
            Unary::Neg => g.neg(d),
            // relu'(x) = 1 if x > 0 else 0.
            Unary::Relu => {
                let zero = g.konst(0.0);
                g.select(crate::ops::Cmp::Gt, x, zero, d, zero)
            }
            // σ' = σ (1 - σ).
            Unary::Sigmoid => {
                let one = g.konst(1.0);
                let one_minus = g.sub(one, y);
                let slope = g.mul(y, one_minus);
                g.mul(d, slope)
            }
            // tanh' = 1 - tanh².
            Unary::Tanh => {
                let one = g.konst(1.0);
                let y2 = g.mul(y, y);
                let slope = g.sub(one, y2);
                g.mul(d, slope)
            }
            Unary::Exp => g.mul(d, y),
            Unary::Ln => g.div(d, x),
            // sqrt' = 1 / (2 sqrt x).
            Unary::Sqrt => {
                let two = g.konst(2.0);
                let denom = g.mul(two, y);
                g.div(d, denom)
            }
            // abs'(x) = 1 if x > 0, -1 if x < 0, 0 at the kink.
            Unary::Abs => {
                let zero = g.konst(0.0);
                let neg_d = g.neg(d);
                let below = g.select(Cmp::Lt, x, zero, neg_d, zero);
                g.select(Cmp::Gt, x, zero, d, below)
            }
            // softplus' = σ.
            Unary::Softplus => {
                let s = g.unary(Unary::Sigmoid, x);
                g.mul(d, s)
            }
            Unary::Square => {
                let two = g.konst(2.0);
                let slope = g.mul(two, x);
                g.mul(d, slope)
            }
            Unary::Powi(n) => match n {
                0 => g.zeros(g.shape(x).clone()),
                1 => d,
                _ => {
                    let k = g.konst(f64::from(n));
                    // n xⁿ⁻¹, or n xⁿ / x for `i32::MIN`, which has no n - 1.
                    let p = match n.checked_sub(1) {
                        Some(m) => g.unary(Unary::Powi(m), x),
                        None => g.div(y, x),
                    };
                    let slope = g.mul(k, p);
                    g.mul(d, slope)
                }
            },
        }
    }
}

impl Binary {
    pub fn name(self) -> &'static str {
        match self {
            Binary::Add => "+",
            Binary::Sub => "-",
            Binary::Mul => "*",
            Binary::Div => "/",
            other => BINARY
                .iter()
                .find(|(_, b)| *b == other)
                .map_or("?", |(n, _)| n),
        }
    }

    #[cfg(test)]
    pub fn from_name(name: &str) -> Option<Binary> {
        match name {
            "+" => Some(Binary::Add),
            "-" => Some(Binary::Sub),
            "*" => Some(Binary::Mul),
            "/" => Some(Binary::Div),
            _ => BINARY.iter().find(|(n, _)| *n == name).map(|(_, b)| *b),
        }
    }

    pub fn eval(self, a: f64, b: f64) -> f64 {
        match self {
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            Binary::Div => a / b,
            Binary::Max => a.max(b),
            Binary::Min => a.min(b),
            Binary::Powf => a.powf(b),
            Binary::LeakyRelu => {
                if a > 0.0 {
                    a
                } else {
                    b * a
                }
            }
        }
    }

    /// The element-wise adjoint contributions to `a` and `b` of
    /// `y = op(a, b)` with upstream `d`, before any broadcast is summed.
    pub fn adjoint(
        self,
        g: &mut Graph,
        a: NodeId,
        b: NodeId,
        y: NodeId,
        d: NodeId,
    ) -> (NodeId, NodeId) {
        match self {
            // No derivative of a plain sum: the adjoint passes through.
            Binary::Add => (d, d),
            Binary::Sub => (d, g.neg(d)),
            Binary::Mul => (g.mul(d, b), g.mul(d, a)),
            // d(a/b)/db = -a/b² = -y/b.
            Binary::Div => {
                let da = g.div(d, b);
                let dy_y = g.mul(d, y);
                let q = g.div(dy_y, b);
                (da, g.neg(q))
            }
            // The gradient goes to `a` only where a > b.
            Binary::Max => {
                let zero = g.konst(0.0);
                (
                    g.select(Cmp::Gt, a, b, d, zero),
                    g.select(Cmp::Gt, a, b, zero, d),
                )
            }
            // The gradient goes to `a` only where a < b.
            Binary::Min => {
                let zero = g.konst(0.0);
                (
                    g.select(Cmp::Lt, a, b, d, zero),
                    g.select(Cmp::Lt, a, b, zero, d),
                )
            }
            // d(a^b)/da = b a^(b-1); d(a^b)/db = a^b ln a.
            Binary::Powf => {
                let one = g.konst(1.0);
                let b1 = g.sub(b, one);
                let p = g.binary(Binary::Powf, a, b1);
                let slope = g.mul(b, p);
                let da = g.mul(d, slope);
                let ln_a = g.unary(Unary::Ln, a);
                let dy_y = g.mul(d, y);
                (da, g.mul(dy_y, ln_a))
            }
            // Slope 1 where x > 0, else `a`; in `a`, 0 where x > 0, else x.
            Binary::LeakyRelu => {
                let zero = g.konst(0.0);
                let da_scaled = g.mul(d, b);
                let dx = g.select(Cmp::Gt, a, zero, d, da_scaled);
                let d_slope = g.mul(d, a);
                (dx, g.select(Cmp::Gt, a, zero, zero, d_slope))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (name, u) in UNARY {
            assert_eq!(Unary::from_name(name), Some(*u));
            assert_eq!(u.name(), *name);
        }
        for (name, b) in BINARY {
            assert_eq!(Binary::from_name(name), Some(*b));
            assert_eq!(b.name(), *name);
        }
    }

    #[test]
    fn stable_forms_do_not_overflow() {
        assert_eq!(Unary::Sigmoid.eval(-1000.0), 0.0);
        assert_eq!(Unary::Sigmoid.eval(1000.0), 1.0);
        assert_eq!(Unary::Softplus.eval(1000.0), 1000.0);
        assert!(Unary::Softplus.eval(-1000.0).is_finite());
    }

    #[test]
    fn kinks_follow_the_rule() {
        assert_eq!(Unary::Relu.eval(0.0), 0.0);
        assert_eq!(Binary::LeakyRelu.eval(-2.0, 0.1), -0.2);
        assert!(Cmp::Gt.eval(1.0, 0.0) && !Cmp::Gt.eval(0.0, 0.0));
    }
}
