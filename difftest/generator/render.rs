//! Rendering a generated program as Rust: the `#[neuron]` source as a
//! person would write it (operators with the fewest parentheses, function
//! or method spelling as drawn), the reference functions over
//! `neuron_difftest::reference`, and the test that checks one against the
//! other.

use super::program::{
    Arith, CONSTS, Expr, Float, Kind, LitStyle, Neuron, PathStyle, Program, Spelling, Ty, Value,
};
use std::fmt::Write as _;

/// Binding strength of a rendered expression, loosest first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Sum,
    Product,
    Prefix,
    Atom,
}

/// The scalar type's name in a neuron.
fn scalar(float: &Float) -> &str {
    match float {
        Float::F64 => "f64",
        Float::F32 => "f32",
        Float::Generic(t) => t,
    }
}

fn type_name(ty: Ty, float: &Float) -> String {
    let s = scalar(float);
    match ty {
        Ty::S => s.to_string(),
        Ty::V(n) => format!("[{s}; {n}]"),
        Ty::M(r, c) => format!("[[{s}; {c}]; {r}]"),
    }
}

/// The name of every slot of a neuron, in slot order.
fn slot_names(n: &Neuron) -> Vec<String> {
    n.args
        .iter()
        .map(|a| a.name.clone())
        .chain(n.lets.iter().map(|l| l.name.clone()))
        .collect()
}

struct Source<'a> {
    names: Vec<String>,
    float: &'a Float,
}

impl Source<'_> {
    fn literal(&self, value: f64, style: LitStyle) -> (String, Prec) {
        let text = match style {
            LitStyle::Int => format!("{}", value as i64),
            LitStyle::Float => format!("{value:?}"),
            LitStyle::Suffixed => format!("{value:?}_{}", scalar(self.float)),
        };
        let prec = if value < 0.0 {
            Prec::Prefix
        } else {
            Prec::Atom
        };
        (text, prec)
    }

    /// `e`, parenthesized when it binds looser than `min`.
    fn at(&self, e: &Expr, min: Prec) -> String {
        let (text, prec) = self.expr(e);
        if prec < min {
            format!("({text})")
        } else {
            text
        }
    }

    fn call(&self, name: &str, sp: Spelling, receiver: &Expr, rest: &[String]) -> (String, Prec) {
        match sp {
            Spelling::Function => {
                let mut args = vec![self.at(receiver, Prec::Sum)];
                args.extend(rest.iter().cloned());
                (format!("{name}({})", args.join(", ")), Prec::Atom)
            }
            Spelling::Method => (
                format!(
                    "{}.{name}({})",
                    self.at(receiver, Prec::Atom),
                    rest.join(", ")
                ),
                Prec::Atom,
            ),
        }
    }

    fn expr(&self, e: &Expr) -> (String, Prec) {
        match &e.kind {
            Kind::Var(slot) => (self.names[*slot].clone(), Prec::Atom),
            Kind::Lit(value, style) => self.literal(*value, *style),
            // `-(-x)` rather than `--x`.
            Kind::Neg(a) => (format!("-{}", self.at(a, Prec::Atom)), Prec::Prefix),
            Kind::Arith(op, a, b) => {
                let (prec, right) = match op {
                    Arith::Add | Arith::Sub => (Prec::Sum, Prec::Product),
                    Arith::Mul | Arith::Div => (Prec::Product, Prec::Prefix),
                };
                (
                    format!("{} {} {}", self.at(a, prec), op.symbol(), self.at(b, right)),
                    prec,
                )
            }
            Kind::Index(a, k) => (format!("{}[{k}]", self.at(a, Prec::Atom)), Prec::Atom),
            Kind::Array(items) => {
                let items: Vec<String> = items.iter().map(|i| self.at(i, Prec::Sum)).collect();
                (format!("[{}]", items.join(", ")), Prec::Atom)
            }
            Kind::Unary(u, sp, a) => self.call(u.name(), *sp, a, &[]),
            Kind::Powi(sp, a, n) => self.call("powi", *sp, a, &[n.to_string()]),
            Kind::Binary(b, sp, x, y) => self.call(b.name(), *sp, x, &[self.at(y, Prec::Sum)]),
            Kind::Dot(a, b) => (
                format!("dot({}, {})", self.at(a, Prec::Sum), self.at(b, Prec::Sum)),
                Prec::Atom,
            ),
            Kind::Sum(a) => (format!("sum({})", self.at(a, Prec::Sum)), Prec::Atom),
            Kind::MatVec(m, v) => (
                format!(
                    "matvec({}, {})",
                    self.at(m, Prec::Sum),
                    self.at(v, Prec::Sum)
                ),
                Prec::Atom,
            ),
            Kind::Softmax(log, a) => (
                format!(
                    "{}({})",
                    if *log { "log_softmax" } else { "softmax" },
                    self.at(a, Prec::Sum)
                ),
                Prec::Atom,
            ),
            Kind::Const(k, style) => {
                // The neuron's float type: `f64` in a generic neuron.
                let float = match self.float {
                    Float::F32 => "f32",
                    _ => "f64",
                };
                let root = match style {
                    PathStyle::Std => "std::",
                    PathStyle::Core => "core::",
                    PathStyle::Short => "",
                };
                (
                    format!("{root}{float}::consts::{}", CONSTS[*k].0),
                    Prec::Atom,
                )
            }
            Kind::Clamp(sp, x, lo, hi) => self.call(
                "clamp",
                *sp,
                x,
                &[self.at(lo, Prec::Sum), self.at(hi, Prec::Sum)],
            ),
            Kind::Reduce(r, sp, a) => self.call(r.name(), *sp, a, &[]),
            Kind::Transpose(sp, a) => self.call("transpose", *sp, a, &[]),
            Kind::MatMul(sp, a, b) => self.call("matmul", *sp, a, &[self.at(b, Prec::Sum)]),
            Kind::Outer(sp, a, b) => self.call("outer", *sp, a, &[self.at(b, Prec::Sum)]),
            Kind::Dropout(sp, a, p) => self.call("dropout", *sp, a, &[format!("{p:?}")]),
        }
    }
}

/// The `#[neuron]` function as written by a person.
pub fn neuron_source(program: &Program, n: &Neuron) -> String {
    let src = Source {
        names: slot_names(n),
        float: &n.float,
    };
    let generics = match &n.float {
        Float::Generic(t) => format!("<{t}: Real>"),
        _ => String::new(),
    };
    let args: Vec<String> = n
        .args
        .iter()
        .map(|a| {
            format!(
                "{}{}: {}",
                if a.param { "#[param] " } else { "" },
                a.name,
                type_name(a.ty, &n.float)
            )
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(out, "#[neuron]");
    let _ = writeln!(
        out,
        "pub fn {}{generics}({}) -> {} {{",
        n.name,
        args.join(", "),
        type_name(n.ret, &n.float)
    );
    let value = |l: &super::program::Let| match &l.value {
        Value::Expr(e) => src.at(e, Prec::Sum),
        Value::Call { callee, args } => {
            let args: Vec<String> = args.iter().map(|a| src.at(a, Prec::Sum)).collect();
            format!("{}({})", program.neurons[*callee].name, args.join(", "))
        }
    };
    let (lets, tail) = match n.lets.split_last() {
        Some((last, rest)) if n.tail_call => (rest, Some(last)),
        _ => (&n.lets[..], None),
    };
    for l in lets {
        let ty = if l.annotate {
            format!(": {}", type_name(l.ty, &n.float))
        } else {
            String::new()
        };
        let _ = writeln!(out, "    let {}{ty} = {};", l.name, value(l));
    }
    match tail {
        Some(call) => {
            let _ = writeln!(out, "    {}", value(call));
        }
        None => {
            let _ = writeln!(out, "    {}", src.at(&n.result, Prec::Sum));
        }
    }
    let _ = writeln!(out, "}}");
    out
}

/// The reference of neuron `k` of a program, as a function `n{k}` of the
/// argument values.
pub fn reference(n: &Neuron, k: usize) -> String {
    fn expr(e: &Expr) -> String {
        let one = |f: &str, a: &Expr| format!("r::{f}({})", expr(a));
        let two = |f: &str, a: &Expr, b: &Expr| format!("r::{f}({}, {})", expr(a), expr(b));
        match &e.kind {
            Kind::Var(slot) => format!("v{slot}.clone()"),
            Kind::Lit(value, _) => format!("r::lit({value:?})"),
            Kind::Neg(a) => one("neg", a),
            Kind::Arith(op, a, b) => two(
                match op {
                    Arith::Add => "add",
                    Arith::Sub => "sub",
                    Arith::Mul => "mul",
                    Arith::Div => "div",
                },
                a,
                b,
            ),
            Kind::Index(a, i) => format!("r::index({}, {i})", expr(a)),
            Kind::Array(items) => {
                let items: Vec<String> = items.iter().map(expr).collect();
                format!("r::array(vec![{}])", items.join(", "))
            }
            Kind::Unary(u, _, a) => one(u.name(), a),
            Kind::Powi(_, a, n) => format!("r::powi({}, {n})", expr(a)),
            Kind::Binary(b, _, x, y) => two(b.name(), x, y),
            Kind::Dot(a, b) => two("dot", a, b),
            Kind::Sum(a) => one("sum", a),
            Kind::MatVec(m, v) => two("matvec", m, v),
            Kind::Softmax(log, a) => one(if *log { "log_softmax" } else { "softmax" }, a),
            Kind::Const(k, _) => format!("r::lit(std::f64::consts::{})", CONSTS[*k].0),
            Kind::Clamp(_, x, lo, hi) => {
                format!("r::clamp({}, {}, {})", expr(x), expr(lo), expr(hi))
            }
            Kind::Reduce(r, _, a) => format!("r::{}_of({})", r.name(), expr(a)),
            Kind::Transpose(_, a) => one("transpose", a),
            Kind::MatMul(_, a, b) => two("matmul", a, b),
            Kind::Outer(_, a, b) => two("outer", a, b),
            // The checks run in inference, where dropout is the identity.
            Kind::Dropout(_, a, _) => expr(a),
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "    /// The reference of `{}`.", n.name);
    let _ = writeln!(out, "    pub fn n{k}(args: &[V]) -> V {{");
    for a in &n.args {
        let _ = writeln!(out, "        let v{} = args[{}].clone();", a.slot, a.slot);
    }
    for l in &n.lets {
        let value = match &l.value {
            Value::Expr(e) => expr(e),
            // One name alone is passed without a copy (clippy's
            // `cloned_ref_to_slice_refs`).
            Value::Call { callee, args } => match args.as_slice() {
                [
                    Expr {
                        kind: Kind::Var(slot),
                        ..
                    },
                ] => format!("n{callee}(std::slice::from_ref(&v{slot}))"),
                _ => {
                    let args: Vec<String> = args.iter().map(expr).collect();
                    format!("n{callee}(&[{}])", args.join(", "))
                }
            },
        };
        let _ = writeln!(out, "        let v{} = {value};", l.slot);
    }
    let _ = writeln!(out, "        {}", expr(&n.result));
    let _ = writeln!(out, "    }}");
    out
}

/// The instances of a neuron to check: its own float type, or `f64` and
/// `f32` for a generic one.
fn instances(module: &str, n: &Neuron) -> String {
    let kinds: Vec<(&str, &str, &str)> = match &n.float {
        Float::F64 => vec![("f64", "F64", "")],
        Float::F32 => vec![("f32", "F32", "")],
        Float::Generic(_) => vec![
            ("generic at f64", "F64", "::<f64>"),
            ("generic at f32", "F32", "::<f32>"),
        ],
    };
    let takes = vec!["take(a)"; n.args.len()].join(", ");
    let parts: Vec<String> = (0..n.args.len()).map(|k| format!("put(&g.{k})")).collect();
    let parts = parts.join(", ");
    let path = format!("{module}::{}", n.name);
    let mut out = String::new();
    for (label, float, turbofish) in kinds {
        // `Model::forward_backward` from the arguments: the parameters
        // into `Params`, the others into the model's input; its partials
        // are the parameters', in order.
        let concrete = if float == "F32" {
            Float::F32
        } else {
            Float::F64
        };
        let train = if n.args.iter().any(|a| a.param) {
            let reads: String = n
                .args
                .iter()
                .enumerate()
                .map(|(k, a)| format!("let a{k}: {} = take(a); ", type_name(a.ty, &concrete)))
                .collect();
            let (params, inputs): (Vec<_>, Vec<_>) =
                (0..n.args.len()).partition(|&k| n.args[k].param);
            let params: Vec<String> = params.iter().map(|k| format!("a{k}")).collect();
            let inputs: Vec<String> = inputs.iter().map(|k| format!("a{k}")).collect();
            let input = match inputs.as_slice() {
                [one] => one.clone(),
                many => format!(
                    "({})",
                    many.iter().map(|i| format!("{i},")).collect::<String>()
                ),
            };
            let widen = if float == "F32" {
                ".into_iter().map(f64::from).collect()"
            } else {
                ""
            };
            format!(
                "Some(|p, dy| {{ let a = &mut p.iter().copied(); {reads}let model = {path}::Model{turbofish}::new({path}::Params{turbofish}::new({})); let mut grads = <{path}::Params{turbofish} as neuron_core::Parameters<_>>::zeros(); let y = neuron_core::Model::forward_backward(&model, &{input}, |_| take(&mut dy.iter().copied()), &mut grads); (put(&y), neuron_core::Parameters::to_vec(&grads){widen}) }})",
                params.join(", ")
            )
        } else {
            "None".to_string()
        };
        let gradient = if n.ret == Ty::S {
            format!(
                "Some(|p| {{ let a = &mut p.iter().copied(); let (y, g) = {path}::gradient{turbofish}({takes}); let g = g.into_parts(); (put(&y), [{parts}].concat()) }})"
            )
        } else {
            "None".to_string()
        };
        let trace = if n.ret == Ty::S {
            format!(
                "Some(|p| {{ let a = &mut p.iter().copied(); let t = {path}::trace{turbofish}({takes}); (t.output.map(|v| v.data).unwrap_or_default(), t.partials.into_iter().flat_map(|(_, v)| v.data).collect()) }})"
            )
        } else {
            "None".to_string()
        };
        let _ = write!(
            out,
            "                Instance {{
                    label: {label:?},
                    float: Float::{float},
                    forward: |p| {{ let a = &mut p.iter().copied(); put(&{path}{turbofish}({takes})) }},
                    gradient: {gradient},
                    trace: {trace},
                    backward: |p, dy| {{ let a = &mut p.iter().copied(); let (y, g) = {path}::backward{turbofish}({takes}, take(&mut dy.iter().copied())); let g = g.into_parts(); (put(&y), [{parts}].concat()) }},
                    train: {train},
                }},
"
        );
    }
    out
}

/// Everything for one program: its module of neurons, its module of
/// references and its test.
pub fn program(p: &Program, seed: u64, points: usize, nan: bool) -> String {
    let module = format!("p{:03}", p.index);
    let source: String = p
        .neurons
        .iter()
        .map(|n| neuron_source(p, n))
        .collect::<Vec<_>>()
        .join("\n");
    let generic = p
        .neurons
        .iter()
        .any(|n| matches!(n.float, Float::Generic(_)));
    let mut out = String::new();
    let _ = writeln!(out, "/// Program {}.", p.index);
    let _ = writeln!(
        out,
        "#[allow(dead_code, non_snake_case, non_camel_case_types, non_upper_case_globals)]"
    );
    let _ = writeln!(out, "mod {module} {{");
    let _ = writeln!(out, "    use neuron_core::neuron;");
    if generic {
        let _ = writeln!(out, "    use neuron_core::Real;");
    }
    for line in source.lines() {
        if line.is_empty() {
            let _ = writeln!(out);
        } else {
            let _ = writeln!(out, "    {line}");
        }
    }
    let _ = writeln!(out, "}}\n");
    let _ = writeln!(out, "/// The references of program {}.", p.index);
    let _ = writeln!(out, "#[allow(unused_variables, unused_imports)]");
    let _ = writeln!(out, "mod {module}_reference {{");
    let _ = writeln!(out, "    use neuron_difftest::reference::{{self as r, V}};");
    for (k, n) in p.neurons.iter().enumerate() {
        out.push_str(&reference(n, k));
    }
    let _ = writeln!(out, "}}\n");
    let _ = writeln!(out, "#[test]");
    let _ = writeln!(out, "fn program_{:03}() {{", p.index);
    let _ = writeln!(out, "    check(&Program {{");
    let _ = writeln!(out, "        index: {},", p.index);
    let _ = writeln!(out, "        seed: {seed:#x},");
    let _ = writeln!(out, "        source: {source:?},");
    let _ = writeln!(out, "        points: {points},");
    let _ = writeln!(out, "        nan: {nan},");
    let _ = writeln!(out, "        neurons: &[");
    for (k, n) in p.neurons.iter().enumerate() {
        let args: Vec<String> = n
            .args
            .iter()
            .map(|a| format!("({:?}, &{:?})", a.name, a.ty.shape()))
            .collect();
        let params: Vec<String> = n.args.iter().map(|a| a.param.to_string()).collect();
        let out_len = match n.ret {
            Ty::S => "None".to_string(),
            t => format!("Some({})", t.len()),
        };
        let _ = write!(
            out,
            "            Neuron {{
                name: {:?},
                args: &[{}],
                params: &[{}],
                out_len: {out_len},
                reference: {module}_reference::n{k},
                instances: &[
{}                ],
            }},
",
            n.name,
            args.join(", "),
            params.join(", "),
            instances(&module, n)
        );
    }
    let _ = writeln!(out, "        ],");
    let _ = writeln!(out, "    }});");
    let _ = writeln!(out, "}}\n");
    out
}
