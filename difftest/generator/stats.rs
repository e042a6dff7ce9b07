//! Coverage of the generated programs: how often each op, spelling and
//! feature of the language appears, counted on the final programs. The
//! counts are written into the generated file, where a test requires every
//! one of [`REQUIRED`] to appear, so no change of seed or generator can
//! silently drop a part of the language.

use super::program::{
    Arith, Binary, Expr, Float, Kind, LONG, LitStyle, Program, Reduction, Spelling, Ty, Unary,
    Value, constant_receiver, depends, folds, matches,
};
use std::collections::BTreeMap;

/// Counts by feature.
#[derive(Default)]
pub struct Stats {
    pub counts: BTreeMap<String, usize>,
    /// Whether the neuron being counted is generic (its literals typed).
    generic: bool,
    /// Whether it is an `f32` neuron.
    f32: bool,
}

/// The library function `kind` calls, if any.
fn op_name(kind: &Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::Unary(u, ..) => u.name(),
        Kind::Powi(..) => "powi",
        Kind::Binary(b, ..) => b.name(),
        Kind::Dot(..) => "dot",
        Kind::Sum(_) => "sum",
        Kind::MatVec(..) => "matvec",
        Kind::Softmax(log, _) => {
            if *log {
                "log_softmax"
            } else {
                "softmax"
            }
        }
        Kind::Clamp(..) => "clamp",
        Kind::Reduce(r, ..) => r.name(),
        Kind::Transpose(..) => "transpose",
        Kind::MatMul(..) => "matmul",
        Kind::Outer(..) => "outer",
        Kind::Dropout(..) => "dropout",
        Kind::Var(_)
        | Kind::Lit(..)
        | Kind::Const(..)
        | Kind::Neg(_)
        | Kind::Arith(..)
        | Kind::Index(..)
        | Kind::Array(_) => return None,
    })
}

/// What every generated file must contain at least once: among others,
/// every function of the language's library (`library`, from
/// `__library!()`), so that an op added to the macro fails this test until
/// the generator writes it.
pub fn required(library: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = library.iter().map(|name| format!("op: {name}")).collect();
    for sp in ["function", "method"] {
        for r in Reduction::ALL {
            keys.push(format!("reduction {}: {sp}", r.name()));
        }
        for op in ["clamp", "transpose", "matmul", "outer"] {
            keys.push(format!("{op}: {sp}"));
        }
        for u in Unary::ALL {
            keys.push(format!("{}: {sp}", u.name()));
        }
        for b in Binary::ALL {
            keys.push(format!("{}: {sp}", b.name()));
        }
        keys.push(format!("powi: {sp}"));
        keys.push(format!("dropout: {sp}"));
    }
    for k in [
        "operator +",
        "operator -",
        "operator *",
        "operator /",
        "unary minus",
        "powi: negative exponent",
        "dot",
        "sum",
        "sum of a matrix",
        // A `dot`, `sum` or `mean` of a vector of 32 or more, or a `matvec`
        // with rows that long: the reductions that keep partial sums.
        "partial sums",
        "matvec",
        "softmax",
        "log_softmax",
        "dropout of an array",
        "index: element",
        "index: matrix row",
        "index: matrix element",
        "index: element of an expression",
        "array literal",
        "array literal: matrix",
        "element-wise on an array",
        "element-wise on a matrix",
        "broadcast: real on the left",
        "broadcast: real on the right",
        "literal: integer as a real",
        "literal: suffixed",
        "literal: float",
        "constant receiver",
        "constant receiver: in a generic neuron",
        "constant receiver: of a Real method in an f32/f64 neuron",
        "constant subexpression",
        "let: shadows an argument",
        "let: shadows a binding",
        "let: unused",
        "let: used several times",
        "let: type written",
        "let: call of another neuron",
        "argument: real",
        "argument: array",
        "argument: matrix",
        "let: matrix",
        "#[param] argument",
        "result: real",
        "result: array",
        "neuron: f64",
        "neuron: f32",
        "neuron: generic",
        "hygiene: argument named like a generated name",
        "hygiene: binding named like a generated name",
        "hygiene: neuron named like a generated name",
        "constant by path",
        "constant by path: in an f32 neuron",
        "call in tail position",
        "reduction of a matrix",
    ] {
        keys.push(k.to_string());
    }
    keys
}

fn spelled(sp: Spelling) -> &'static str {
    match sp {
        Spelling::Function => "function",
        Spelling::Method => "method",
    }
}

impl Stats {
    pub fn count(&mut self, key: &str) {
        *self.counts.entry(key.to_string()).or_default() += 1;
    }

    /// Counts everything in `program`; `emitted` is the list of generated
    /// names.
    pub fn program(&mut self, program: &Program, emitted: &[&str]) {
        self.count("programs");
        let generated = |n: &str| emitted.iter().any(|e| matches(e, n));
        for (k, neuron) in program.neurons.iter().enumerate() {
            let main = k + 1 == program.neurons.len();
            self.count(if main {
                "neuron: main"
            } else {
                "neuron: called"
            });
            self.generic = matches!(neuron.float, Float::Generic(_));
            self.f32 = neuron.float == Float::F32;
            self.count(match neuron.float {
                Float::F64 => "neuron: f64",
                Float::F32 => "neuron: f32",
                Float::Generic(_) => "neuron: generic",
            });
            if let Float::Generic(t) = &neuron.float
                && generated(t)
            {
                self.count("hygiene: type parameter named like a generated name");
            }
            if generated(&neuron.name) {
                self.count("hygiene: neuron named like a generated name");
            }
            self.count(if neuron.ret == Ty::S {
                "result: real"
            } else {
                "result: array"
            });
            let mut values: Vec<Option<Expr>> = Vec::new();
            let mut live: Vec<bool> = Vec::new();
            let mut names: Vec<String> = Vec::new();
            for a in &neuron.args {
                self.count(match a.ty {
                    Ty::S => "argument: real",
                    Ty::V(_) => "argument: array",
                    Ty::M(..) => "argument: matrix",
                });
                if a.param {
                    self.count("#[param] argument");
                }
                if generated(&a.name) {
                    self.count("hygiene: argument named like a generated name");
                }
                if a.name == "dy" || a.name.starts_with("neuron_") {
                    self.count("hygiene: reserved argument name");
                }
                values.push(None);
                live.push(true);
                names.push(a.name.clone());
            }
            let mut uses = vec![0usize; neuron.args.len() + neuron.lets.len()];
            for l in &neuron.lets {
                if generated(&l.name) {
                    self.count("hygiene: binding named like a generated name");
                }
                if let Some(old) = names.iter().rposition(|n| *n == l.name) {
                    self.count(if old < neuron.args.len() {
                        "let: shadows an argument"
                    } else {
                        "let: shadows a binding"
                    });
                }
                if l.annotate {
                    self.count("let: type written");
                }
                if matches!(l.ty, Ty::M(..)) {
                    self.count("let: matrix");
                }
                match &l.value {
                    Value::Expr(e) => {
                        if !depends(&values, &live, e) {
                            self.count("let: constant value");
                        }
                        self.expr(e, &values, &live, &mut uses);
                        live.push(depends(&values, &live, e));
                        values.push(Some(e.clone()));
                    }
                    Value::Call { args, .. } => {
                        self.count("let: call of another neuron");
                        for a in args {
                            self.expr(a, &values, &live, &mut uses);
                        }
                        live.push(args.iter().any(|a| depends(&values, &live, a)));
                        values.push(None);
                    }
                }
                names.push(l.name.clone());
            }
            if neuron.tail_call {
                self.count("call in tail position");
            }
            self.expr(&neuron.result, &values, &live, &mut uses);
            for l in &neuron.lets {
                match uses[l.slot] {
                    0 => self.count("let: unused"),
                    1 => {}
                    _ => self.count("let: used several times"),
                }
            }
        }
    }

    fn expr(&mut self, e: &Expr, values: &[Option<Expr>], live: &[bool], uses: &mut [usize]) {
        // A receiver that may be emitted as an untyped literal: of a method
        // of `f32`/`f64` (`max`, `exp`, ...) or of `Real` (`leaky_relu`,
        // `sigmoid`, `softplus`).
        let receiver = |s: &mut Self, x: &Expr, y: Option<&Expr>, real_trait: bool| {
            if constant_receiver(values, live, x, y) {
                s.count("constant receiver");
                if matches!(x.kind, Kind::Lit(..)) {
                    s.count("constant receiver: a literal");
                }
                if s.generic {
                    s.count("constant receiver: in a generic neuron");
                } else if real_trait {
                    s.count("constant receiver: of a Real method in an f32/f64 neuron");
                } else {
                    s.count("constant receiver: of an f32/f64 method in an f32/f64 neuron");
                }
            }
        };
        if let Some(op) = op_name(&e.kind) {
            self.count(&format!("op: {op}"));
        }
        match &e.kind {
            Kind::Var(slot) => uses[*slot] += 1,
            Kind::Lit(_, style) => self.count(match style {
                LitStyle::Int => "literal: integer as a real",
                LitStyle::Suffixed => "literal: suffixed",
                LitStyle::Float => "literal: float",
            }),
            Kind::Neg(a) => {
                self.count("unary minus");
                self.expr(a, values, live, uses);
            }
            Kind::Arith(op, a, b) => {
                self.count(&format!("operator {}", op.symbol()));
                self.elementwise(e, Some((a, b)));
                if *op == Arith::Mul
                    && (folds(values, a) && a.lo == 0.0 && a.hi == 0.0
                        || folds(values, b) && b.lo == 0.0 && b.hi == 0.0)
                {
                    self.count("product with zero");
                }
                self.expr(a, values, live, uses);
                self.expr(b, values, live, uses);
            }
            Kind::Index(a, _) => {
                self.count(match (&a.kind, a.ty) {
                    (Kind::Index(..), _) => "index: matrix element",
                    (Kind::Var(_), Ty::M(..)) => "index: matrix row",
                    (Kind::Var(_), _) => "index: element",
                    _ => "index: element of an expression",
                });
                self.expr(a, values, live, uses);
            }
            Kind::Array(items) => {
                self.count(if matches!(e.ty, Ty::M(..)) {
                    "array literal: matrix"
                } else {
                    "array literal"
                });
                for i in items {
                    self.expr(i, values, live, uses);
                }
            }
            Kind::Unary(u, sp, a) => {
                self.count(&format!("{}: {}", u.name(), spelled(*sp)));
                self.elementwise(e, None);
                receiver(self, a, None, u.real_trait());
                self.expr(a, values, live, uses);
            }
            Kind::Powi(sp, a, n) => {
                self.count(&format!("powi: {}", spelled(*sp)));
                if *n < 0 {
                    self.count("powi: negative exponent");
                }
                receiver(self, a, None, false);
                self.elementwise(e, None);
                self.expr(a, values, live, uses);
            }
            Kind::Binary(b, sp, x, y) => {
                self.count(&format!("{}: {}", b.name(), spelled(*sp)));
                self.elementwise(e, Some((x, y)));
                receiver(
                    self,
                    x,
                    Some(y),
                    matches!(b, Binary::LeakyRelu | Binary::Elu),
                );
                self.expr(x, values, live, uses);
                self.expr(y, values, live, uses);
            }
            Kind::Dot(a, b) => {
                self.count("dot");
                if a.ty.len() >= LONG {
                    self.count("dot of 32 or more");
                    self.count("partial sums");
                }
                self.expr(a, values, live, uses);
                self.expr(b, values, live, uses);
            }
            Kind::Sum(a) => {
                self.count(if matches!(a.ty, Ty::M(..)) {
                    "sum of a matrix"
                } else {
                    "sum"
                });
                if matches!(a.ty, Ty::V(n) if n >= LONG) {
                    self.count("sum of 32 or more");
                    self.count("partial sums");
                }
                self.expr(a, values, live, uses);
            }
            Kind::MatVec(m, v) => {
                self.count("matvec");
                if matches!(m.ty, Ty::M(_, c) if c >= LONG) {
                    self.count("matvec with rows of 32 or more");
                    self.count("partial sums");
                }
                self.expr(m, values, live, uses);
                self.expr(v, values, live, uses);
            }
            Kind::Softmax(log, a) => {
                self.count(if *log { "log_softmax" } else { "softmax" });
                let literal = match &a.kind {
                    Kind::Array(items) => items.iter().all(|i| folds(values, i)),
                    _ => false,
                };
                if literal || folds(values, a) {
                    self.count("softmax of constants");
                }
                receiver(self, a, None, false);
                self.expr(a, values, live, uses);
            }
            Kind::Const(..) => {
                self.count("constant by path");
                if self.f32 {
                    self.count("constant by path: in an f32 neuron");
                }
            }
            Kind::Clamp(sp, x, lo, hi) => {
                self.count(&format!("clamp: {}", spelled(*sp)));
                self.elementwise(e, None);
                for a in [x, lo, hi] {
                    self.expr(a, values, live, uses);
                }
            }
            Kind::Reduce(r, sp, a) => {
                if matches!(r, Reduction::Mean) && matches!(a.ty, Ty::V(n) if n >= LONG) {
                    self.count("mean of 32 or more");
                    self.count("partial sums");
                }
                self.count(&format!("reduction {}: {}", r.name(), spelled(*sp)));
                if matches!(a.ty, Ty::M(..)) {
                    self.count("reduction of a matrix");
                }
                self.expr(a, values, live, uses);
            }
            Kind::Transpose(sp, a) => {
                self.count(&format!("transpose: {}", spelled(*sp)));
                self.expr(a, values, live, uses);
            }
            Kind::MatMul(sp, a, b) | Kind::Outer(sp, a, b) => {
                let op = if matches!(e.kind, Kind::MatMul(..)) {
                    "matmul"
                } else {
                    "outer"
                };
                self.count(&format!("{op}: {}", spelled(*sp)));
                self.expr(a, values, live, uses);
                self.expr(b, values, live, uses);
            }
            Kind::Dropout(sp, a, _) => {
                self.count(&format!("dropout: {}", spelled(*sp)));
                if a.ty != Ty::S {
                    self.count("dropout of an array");
                }
                self.expr(a, values, live, uses);
            }
        }
        if !matches!(e.kind, Kind::Lit(..) | Kind::Var(_)) && folds(values, e) && e.ty == Ty::S {
            self.count("constant subexpression");
        }
    }

    fn elementwise(&mut self, e: &Expr, operands: Option<(&Expr, &Expr)>) {
        match e.ty {
            Ty::V(_) => self.count("element-wise on an array"),
            Ty::M(..) => self.count("element-wise on a matrix"),
            Ty::S => {}
        }
        if let Some((a, b)) = operands {
            if a.ty == Ty::S && b.ty != Ty::S {
                self.count("broadcast: real on the left");
            }
            if a.ty != Ty::S && b.ty == Ty::S {
                self.count("broadcast: real on the right");
            }
        }
    }
}
