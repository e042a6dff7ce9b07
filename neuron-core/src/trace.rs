//! The chain rule at one point, step by step: what `NAME::trace(args..)`
//! returns for a neuron with a scalar output.
//!
//! The generated `trace` function computes every forward intermediate and
//! every local derivative of the un-simplified derivative graph as plain
//! Rust and records each with a label in the user's terms (their argument
//! and `let` names, and the text of subexpressions such as `w[0] * x[0]`).
//! [`Trace`]'s `Display` then reads as the chain rule is taught: the
//! forward values, then from the output back each local derivative with
//! its product with the derivative from above, and last every partial.
//!
//! ```text
//! unit at x = [1, -2, 3], w = [-3, -1, 2], b = 1
//!
//! forward
//!   w[0] * x[0] = -3
//!   ...
//! backward, from the output
//!   ∂unit/∂(w[0] * x[0]) = 1
//!     ∂(w[0] * x[0])/∂x[0] = w[0] = -3; × 1 = -3
//! partials
//!   ∂unit/∂x = [-3, -1, 2]
//! ```

use crate::{Real, Tensor};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
#[allow(unused_imports)]
use num_traits::Float as _;

/// A value at one step: a scalar (empty shape) or an array, flat and
/// row-major, in `f64` whatever the neuron's float type.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// The lengths, outermost first; empty for a scalar.
    pub shape: Vec<usize>,
    /// The elements, row-major.
    pub data: Vec<f64>,
}

impl Value {
    /// The value `v` of shape `shape` (`&[]` for a scalar).
    pub fn of<T: Real, V: Tensor<T>>(shape: &[usize], v: &V) -> Value {
        Value {
            shape: shape.to_vec(),
            data: v
                .as_slice()
                .iter()
                .map(|x| x.to_f64().unwrap_or(f64::NAN))
                .collect(),
        }
    }

    /// The value of a scalar, `None` for an array.
    pub fn scalar(&self) -> Option<f64> {
        match (self.shape.as_slice(), self.data.as_slice()) {
            ([], [x]) => Some(*x),
            _ => None,
        }
    }

    /// The Euclidean norm of the elements.
    pub fn norm(&self) -> f64 {
        self.data.iter().map(|x| x * x).sum::<f64>().sqrt()
    }
}

/// How many elements of an array are written out before it is summarized
/// by its first few elements and its norm.
const SHOWN: usize = 8;
/// The elements a summarized array shows.
const FIRST: usize = 4;

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(x) = self.scalar() {
            return f.write_str(&number(x));
        }
        let list = |xs: &[f64]| xs.iter().map(|&x| number(x)).collect::<Vec<_>>().join(", ");
        if self.data.len() <= SHOWN {
            return match self.shape.as_slice() {
                [_, cols] if *cols > 0 => {
                    let rows: Vec<String> = self
                        .data
                        .chunks(*cols)
                        .map(|row| format!("[{}]", list(row)))
                        .collect();
                    write!(f, "[{}]", rows.join(", "))
                }
                _ => write!(f, "[{}]", list(&self.data)),
            };
        }
        let dims: Vec<String> = self.shape.iter().map(ToString::to_string).collect();
        write!(
            f,
            "[{}, …] ({} elements, {}, norm {})",
            list(&self.data[..FIRST]),
            self.data.len(),
            dims.join("×"),
            number(self.norm())
        )
    }
}

/// A number as the trace writes it: integers exactly, others to six
/// significant digits.
fn number(x: f64) -> String {
    if x.is_nan() || x.is_infinite() {
        return format!("{x}");
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        // `-0` stays visible: it is a value of its own.
        return format!("{x}");
    }
    let magnitude = x.abs();
    if !(1e-4..1e6).contains(&magnitude) {
        return format!("{x:.5e}");
    }
    let digits = (5 - magnitude.log10().floor() as i32).max(0) as usize;
    let text = format!("{x:.digits$}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

/// A forward intermediate and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Forward {
    /// What it computes, in the user's terms: `w[0] * x[0]`, `h = tanh(..)`.
    pub label: &'static str,
    /// Its value.
    pub value: Value,
}

/// One step of the backward pass.
#[derive(Clone, Debug, PartialEq)]
pub enum Backward {
    /// The derivative of the output with respect to an intermediate, the
    /// sum of what every user of it handed back: the derivative from above
    /// of the steps that follow.
    Upstream {
        /// The intermediate.
        of: &'static str,
        /// `∂out/∂of`.
        value: Value,
    },
    /// The local derivative of `of` with respect to its operand `wrt`, and
    /// its product with the derivative from above. `local` is `None` where
    /// the local derivative is a Jacobian (an array op with an array
    /// result, a call of another neuron), whose product with the
    /// derivative from above (a vector-Jacobian product) is computed
    /// without it.
    Local {
        /// The intermediate whose local derivative it is.
        of: &'static str,
        /// The operand it is taken with respect to.
        wrt: &'static str,
        /// The local derivative as a formula, `""` when it is its value.
        formula: &'static str,
        /// `∂of/∂wrt`, where it is a number or element-wise.
        local: Option<Value>,
        /// `∂out/∂of`, the derivative from above.
        upstream: Value,
        /// What `of` hands back to `wrt`: `upstream · local` (summed over a
        /// broadcast operand), or the vector-Jacobian product.
        product: Value,
    },
}

/// The chain rule at one point: inputs, forward intermediates, the output,
/// the backward steps and every partial derivative, in that order.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// The neuron's name.
    pub function: &'static str,
    /// Every argument's value, in order.
    pub inputs: Vec<(&'static str, Value)>,
    /// Every intermediate, in the order it is computed.
    pub forward: Vec<Forward>,
    /// The neuron's value.
    pub output: Option<Value>,
    /// The backward sweep, from the output back.
    pub backward: Vec<Backward>,
    /// `∂out/∂arg` for every argument, in order: what `gradient` returns.
    pub partials: Vec<(&'static str, Value)>,
}

impl Trace {
    /// An empty trace of the neuron `function`.
    pub fn new(function: &'static str) -> Trace {
        Trace {
            function,
            inputs: Vec::new(),
            forward: Vec::new(),
            output: None,
            backward: Vec::new(),
            partials: Vec::new(),
        }
    }

    /// Records the value of argument `name`.
    pub fn push_input(&mut self, name: &'static str, value: Value) {
        self.inputs.push((name, value));
    }

    /// Records a forward intermediate.
    pub fn push_forward(&mut self, label: &'static str, value: Value) {
        self.forward.push(Forward { label, value });
    }

    /// Records the output.
    pub fn push_output(&mut self, value: Value) {
        self.output = Some(value);
    }

    /// Records the derivative of the output with respect to `of`.
    pub fn push_upstream(&mut self, of: &'static str, value: Value) {
        self.backward.push(Backward::Upstream { of, value });
    }

    /// Records a local derivative and its product with the derivative from
    /// above.
    pub fn push_local(
        &mut self,
        of: &'static str,
        wrt: &'static str,
        formula: &'static str,
        local: Option<Value>,
        upstream: Value,
        product: Value,
    ) {
        self.backward.push(Backward::Local {
            of,
            wrt,
            formula,
            local,
            upstream,
            product,
        });
    }

    /// Records the partial derivative with respect to argument `name`.
    pub fn push_partial(&mut self, name: &'static str, value: Value) {
        self.partials.push((name, value));
    }

    /// The partial derivative with respect to argument `name`.
    pub fn partial_of(&self, name: &str) -> Option<&Value> {
        self.partials
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
}

/// `label` as the denominator or numerator of `∂a/∂b`: bare when it is a
/// name or an indexed name or call, parenthesized when it is an operation.
fn operand(label: &str) -> String {
    let atom = label
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '[' | ']' | '…'))
        || (label.ends_with(')') && !label.contains(' '))
        || is_call(label);
    if atom {
        label.to_string()
    } else {
        format!("({label})")
    }
}

/// Whether `label` is one call `f(..)` as a whole.
fn is_call(label: &str) -> bool {
    let Some(open) = label.find('(') else {
        return false;
    };
    let head = &label[..open];
    if head.is_empty() || !head.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return false;
    }
    let mut depth = 0usize;
    for (k, c) in label[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return open + k + 1 == label.len();
                }
            }
            _ => {}
        }
    }
    false
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inputs: Vec<String> = self
            .inputs
            .iter()
            .map(|(n, v)| format!("{n} = {v}"))
            .collect();
        writeln!(f, "{} at {}", self.function, inputs.join(", "))?;
        writeln!(f)?;
        writeln!(f, "forward")?;
        for step in &self.forward {
            writeln!(f, "  {} = {}", step.label, step.value)?;
        }
        if let Some(y) = &self.output {
            writeln!(f, "  {} = {y}", self.function)?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "backward, from the output: each local derivative, times the derivative from above"
        )?;
        for step in &self.backward {
            match step {
                Backward::Upstream { of, value } => {
                    writeln!(f, "  ∂{}/∂{} = {value}", self.function, operand(of))?;
                }
                Backward::Local {
                    of,
                    wrt,
                    formula,
                    local,
                    upstream,
                    product,
                } => {
                    let (of, wrt) = (operand(of), operand(wrt));
                    match local {
                        Some(local) => {
                            let formula = if formula.is_empty() {
                                String::new()
                            } else {
                                format!("{formula} = ")
                            };
                            writeln!(
                                f,
                                "    ∂{of}/∂{wrt} = {formula}{local}; × {upstream} = {product}"
                            )?;
                        }
                        None => writeln!(
                            f,
                            "    {upstream} · ∂{of}/∂{wrt} = {product} (vector-Jacobian product)"
                        )?,
                    }
                }
            }
        }
        writeln!(f)?;
        writeln!(f, "partials")?;
        for (name, value) in &self.partials {
            writeln!(f, "  ∂{}/∂{name} = {value}", self.function)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_exact_where_whole() {
        assert_eq!(number(6.0), "6");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(number(-0.0), "-0");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(1.0 / 3.0), "0.333333");
        assert_eq!(number(123.456789), "123.457");
        assert_eq!(number(1e-9), "1.00000e-9");
        assert_eq!(number(f64::NAN), "NaN");
    }

    #[test]
    fn long_arrays_are_summarized() {
        let v = Value::of::<f64, [f64; 3]>(&[3], &[1.0, -2.0, 3.0]);
        assert_eq!(v.to_string(), "[1, -2, 3]");
        let m = Value::of::<f64, [[f64; 2]; 2]>(&[2, 2], &[[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(m.to_string(), "[[1, 2], [3, 4]]");
        let long = Value::of::<f32, [f32; 16]>(&[16], &[2.0; 16]);
        assert_eq!(
            long.to_string(),
            "[2, 2, 2, 2, …] (16 elements, 16, norm 8)"
        );
    }

    #[test]
    fn operands_are_parenthesized_when_they_are_operations() {
        assert_eq!(operand("w[0]"), "w[0]");
        assert_eq!(operand("relu(a + b)"), "relu(a + b)");
        assert_eq!(operand("w[0] * x[0]"), "(w[0] * x[0])");
        assert_eq!(operand("f(a) + g(b)"), "(f(a) + g(b))");
    }
}
