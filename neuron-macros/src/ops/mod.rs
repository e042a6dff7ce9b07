//! The op registry: every operation of the language and of the derivative
//! graphs, each defined once, in one block of [`OpDef`], with everything
//! every stage needs to know about it.
//!
//! | field | used by |
//! | --- | --- |
//! | `spellings`, `params` | `check` (names, arity, integer-literal operands, constant probabilities), `lower`, the nearest-name suggestions |
//! | `shape` | `check` (with the user's types in the message) and `Graph::apply` alike |
//! | `eval` | the IR evaluator and constant folding in `simplify`; whether the op is pure (`unfill` in `simplify`, the dropout mask in `emit`) |
//! | `kind`, `reads_once`, `repeats`, `emit` | `emit`: whether a value is computed per element, inlined or materialized, and the Rust it becomes |
//! | `exact` | `simplify`: whether constant folding may compute it at compile time |
//! | `adjoint` | `diff`: the local derivative times the upstream one, kink rule included |
//! | `kink` | the property tests: points near a kink are skipped |
//! | `zero_if_zero` | `simplify`: operands whose zero makes the result zero |
//! | `domain` | the property tests' generator: operands kept inside the op's domain |
//! | `doc` | the language table of the README, checked by a test |
//!
//! The elements-wise ops are in [`elementwise`], the array ops in [`array`],
//! dropout in [`dropout`].
//! [`Prim`] names them; [`Prim::def`] is the only match over all of them,
//! and it is exhaustive, so a new variant without a definition does not
//! compile. Every stage looks the definition up instead of matching on the
//! op, so adding an op is one variant, one definition, its tests and its
//! line in the README.
//!
//! A function whose derivative the user declared (`#[neuron::derivative]`)
//! is an op of the registry too, [`Prim::Custom`], with its partial
//! derivatives [`Prim::CustomPartial`]: one definition per arity serves
//! every such function, which it knows by name only ([`custom`]). The
//! name is in the op, so every stage handles these like any other op.

pub mod array;
pub mod custom;
pub mod dropout;
pub mod elementwise;

use crate::emit::{ElemCx, LoopCx, Operand, Prec};
use crate::ir::{Graph, NodeId, Shape};

/// An operation of the IR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Prim {
    Neg,
    Add,
    Sub,
    Mul,
    Div,
    Relu,
    LeakyRelu,
    Sigmoid,
    Tanh,
    Exp,
    Ln,
    Sqrt,
    Abs,
    Softplus,
    Square,
    Powi,
    Powf,
    Max,
    Min,
    SelectGt,
    SelectLt,
    SafeMul,
    SafeDiv,
    Dot,
    Sum,
    MatVec,
    MatTVec,
    Outer,
    Softmax,
    LogSoftmax,
    Sin,
    Cos,
    Atan,
    Silu,
    Gelu,
    NormalCdf,
    Elu,
    Softsign,
    Clamp,
    LogSigmoid,
    NanOr,
    Mean,
    LogSumExp,
    Norm,
    MaxOf,
    MinOf,
    FirstEq,
    Transpose,
    MatMul,
    MatMulNt,
    MatMulTn,
    /// A function with a declared derivative, applied element-wise.
    Custom(Custom),
    /// Its partial derivative with respect to operand `k`, as declared.
    CustomPartial(Custom, u8),
    /// Dropout, the `k`-th dropout op of the neuron: the ordinal names its
    /// masks (see [`dropout`]), so two dropout ops are never one node.
    Dropout(u32),
}

/// A function with a declared derivative: a plain Rust function the user's
/// crate defines, known to the macro by its name and arity alone. What it
/// computes and its derivatives are the user's, called by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Custom {
    pub name: &'static str,
    pub arity: u8,
}

/// The most arguments a function with a declared derivative may take.
pub const MAX_CUSTOM_ARITY: usize = 8;

impl Custom {
    /// The function `name` of `arity` arguments (at most
    /// [`MAX_CUSTOM_ARITY`], which `check` enforces; more are clamped).
    pub fn new(name: &str, arity: usize) -> Custom {
        Custom {
            name: intern(name),
            arity: arity.min(MAX_CUSTOM_ARITY) as u8,
        }
    }

    /// The name of its partial derivative with respect to argument `k` in
    /// generated code: `derivative` for a function of one argument,
    /// `partial_<k>` otherwise, items of the module that `#[neuron]`
    /// generates for it inside its own.
    pub fn partial_name(self, k: u8) -> String {
        if self.arity == 1 {
            "derivative".to_string()
        } else {
            format!("partial_{k}")
        }
    }
}

/// `name` as a `&'static str`, allocated once per distinct name for the
/// life of the process, so that [`Prim`] stays `Copy`. Names are the
/// identifiers of user functions: few, and short.
fn intern(name: &str) -> &'static str {
    use std::collections::BTreeSet;
    use std::sync::Mutex;
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(&known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(leaked);
    leaked
}

impl Prim {
    /// Every op, in the order of the registry.
    pub const ALL: &'static [Prim] = &[
        Prim::Neg,
        Prim::Add,
        Prim::Sub,
        Prim::Mul,
        Prim::Div,
        Prim::Relu,
        Prim::Sigmoid,
        Prim::Tanh,
        Prim::Exp,
        Prim::Ln,
        Prim::Sqrt,
        Prim::Abs,
        Prim::Softplus,
        Prim::Square,
        Prim::Max,
        Prim::Min,
        Prim::Powf,
        Prim::LeakyRelu,
        Prim::Powi,
        Prim::SelectGt,
        Prim::SelectLt,
        Prim::SafeMul,
        Prim::SafeDiv,
        Prim::Dot,
        Prim::Sum,
        Prim::MatVec,
        Prim::MatTVec,
        Prim::Outer,
        Prim::Softmax,
        Prim::LogSoftmax,
        Prim::Sin,
        Prim::Cos,
        Prim::Atan,
        Prim::Silu,
        Prim::Gelu,
        Prim::NormalCdf,
        Prim::Elu,
        Prim::Softsign,
        Prim::Clamp,
        Prim::LogSigmoid,
        Prim::NanOr,
        Prim::Mean,
        Prim::LogSumExp,
        Prim::Norm,
        Prim::MaxOf,
        Prim::MinOf,
        Prim::FirstEq,
        Prim::Transpose,
        Prim::MatMul,
        Prim::MatMulNt,
        Prim::MatMulTn,
        Prim::Dropout(0),
    ];

    /// The op's definition.
    pub fn def(self) -> &'static OpDef {
        use Prim::*;
        match self {
            Neg => &elementwise::NEG,
            Add => &elementwise::ADD,
            Sub => &elementwise::SUB,
            Mul => &elementwise::MUL,
            Div => &elementwise::DIV,
            Relu => &elementwise::RELU,
            LeakyRelu => &elementwise::LEAKY_RELU,
            Sigmoid => &elementwise::SIGMOID,
            Tanh => &elementwise::TANH,
            Exp => &elementwise::EXP,
            Ln => &elementwise::LN,
            Sqrt => &elementwise::SQRT,
            Abs => &elementwise::ABS,
            Softplus => &elementwise::SOFTPLUS,
            Square => &elementwise::SQUARE,
            Powi => &elementwise::POWI,
            Powf => &elementwise::POWF,
            Max => &elementwise::MAX,
            Min => &elementwise::MIN,
            SelectGt => &elementwise::SELECT_GT,
            SelectLt => &elementwise::SELECT_LT,
            SafeMul => &elementwise::SAFE_MUL,
            SafeDiv => &elementwise::SAFE_DIV,
            Dot => &array::DOT,
            Sum => &array::SUM,
            MatVec => &array::MATVEC,
            MatTVec => &array::MATTVEC,
            Outer => &array::OUTER,
            Softmax => &array::SOFTMAX,
            LogSoftmax => &array::LOG_SOFTMAX,
            Sin => &elementwise::SIN,
            Cos => &elementwise::COS,
            Atan => &elementwise::ATAN,
            Silu => &elementwise::SILU,
            Gelu => &elementwise::GELU,
            NormalCdf => &elementwise::NORMAL_CDF,
            Elu => &elementwise::ELU,
            Softsign => &elementwise::SOFTSIGN,
            Clamp => &elementwise::CLAMP,
            LogSigmoid => &elementwise::LOG_SIGMOID,
            NanOr => &elementwise::NAN_OR,
            Mean => &array::MEAN,
            LogSumExp => &array::LOGSUMEXP,
            Norm => &array::NORM,
            MaxOf => &array::MAX_OF,
            MinOf => &array::MIN_OF,
            FirstEq => &array::FIRST_EQ,
            Transpose => &array::TRANSPOSE,
            MatMul => &array::MATMUL,
            MatMulNt => &array::MATMUL_NT,
            MatMulTn => &array::MATMUL_TN,
            Custom(c) => &custom::CUSTOM[usize::from(c.arity).min(MAX_CUSTOM_ARITY)],
            CustomPartial(c, _) => {
                &custom::CUSTOM_PARTIAL[usize::from(c.arity).min(MAX_CUSTOM_ARITY)]
            }
            Dropout(_) => &dropout::DROPOUT,
        }
    }

    /// The op's name in the IR's text form: its definition's, or for a
    /// declared function `custom:<name>` and `partial:<name>:<k>`, for
    /// the `k`-th dropout op `dropout:<k>`.
    #[cfg(test)]
    pub fn text(self) -> String {
        match self {
            Prim::Custom(c) => format!("custom:{}", c.name),
            Prim::CustomPartial(c, k) => format!("partial:{}:{k}", c.name),
            Prim::Dropout(k) => format!("dropout:{k}"),
            _ => self.def().name.to_string(),
        }
    }

    /// The default name of a value it computes in generated code.
    pub fn value_name(self) -> String {
        match self {
            Prim::Custom(c) => c.name.to_string(),
            Prim::CustomPartial(c, k) => format!("{}_{}", c.name, c.partial_name(k)),
            _ => self.def().value_name.to_string(),
        }
    }

    /// The op named `name` in the IR's text form, given its number of
    /// operands (for a declared function, its arity); `dropout` is the
    /// first dropout op, `dropout:<k>` the `k`-th.
    #[cfg(test)]
    pub fn from_name(name: &str, operands: usize) -> Option<Prim> {
        if let Some(k) = name.strip_prefix("dropout:") {
            return Some(Prim::Dropout(k.parse().ok()?));
        }
        if let Some(f) = name.strip_prefix("custom:") {
            return Some(Prim::Custom(Custom::new(f, operands)));
        }
        if let Some((f, k)) = name
            .strip_prefix("partial:")
            .and_then(|rest| rest.rsplit_once(':'))
        {
            return Some(Prim::CustomPartial(
                Custom::new(f, operands),
                k.parse().ok()?,
            ));
        }
        Prim::ALL.iter().copied().find(|p| p.def().name == name)
    }
}

/// Everything about one op.
pub struct OpDef {
    /// Its name in the IR's text form and in messages.
    pub name: &'static str,
    /// How a user writes it; empty for an operator or an op that only
    /// derivatives build.
    pub spellings: &'static [Spelling],
    /// What each operand is, in order; the op's arity is their number.
    pub params: &'static [Param],
    /// The default name of a value it computes, in generated code.
    pub value_name: &'static str,
    /// The shape of the result from the operands' shapes: the rule `check`
    /// applies to the user's code and `Graph::apply` to every node.
    pub shape: fn(&ShapeCx, &[Shape]) -> Result<Shape, ShapeError>,
    /// Its meaning in `f64`.
    pub eval: Eval,
    /// How its values are computed: see [`Kind`].
    pub kind: Kind,
    /// For an array op: whether it reads each element of operand `k` once,
    /// so that an element-wise operand can be computed inside its loop
    /// instead of into an array first.
    pub reads_once: &'static [bool],
    /// The Rust it becomes.
    pub emit: Emit,
    /// For an element-wise op: operands its emitted form writes more than
    /// once (a select's comparands), which the emitter binds to a name
    /// first rather than compute twice.
    pub repeats: &'static [bool],
    /// Whether its `eval` performs exactly the IEEE operations the
    /// generated code does (`+`, `*`, `/`, `sqrt`, comparisons), so that
    /// folding it at compile time gives the value it has at run time. The
    /// transcendental functions of the platform's library are not.
    pub exact: bool,
    /// The adjoint contribution to each operand of `y = op(operands)` with
    /// upstream derivative `d`, or `None` where no derivative flows (an
    /// integer exponent, the comparison of a kink). Element-wise ops give
    /// element-wise contributions; `diff` sums broadcast operands.
    pub adjoint: fn(&mut Graph, &Site) -> Vec<Option<NodeId>>,
    /// Where the op has a kink, whose derivative the kink rule fixes.
    #[cfg_attr(not(test), allow(dead_code))]
    pub kink: Kink,
    /// Operands whose being a symbolic zero (no contribution at all, as
    /// derivatives build them) makes the result one (`0 * x`, `dot(0, v)`).
    pub zero_if_zero: &'static [bool],
    /// Where each operand must lie for the op to be defined and smooth, for
    /// test generators.
    #[cfg_attr(not(test), allow(dead_code))]
    pub domain: &'static [Domain],
    /// One line for the README's language table: what it computes and, for
    /// a kink, its derivative there.
    #[cfg_attr(not(test), allow(dead_code))]
    pub doc: &'static str,
}

/// A name a user may call an op by.
#[derive(Clone, Copy, Debug)]
pub struct Spelling {
    pub name: &'static str,
    /// Whether `x.name(..)` is accepted, the receiver being the first operand.
    pub method: bool,
    /// Whether `name(x, ..)` is accepted.
    pub function: bool,
}

impl Spelling {
    /// Callable as `name(..)` and as `x.name(..)`.
    pub const fn both(name: &'static str) -> Spelling {
        Spelling {
            name,
            method: true,
            function: true,
        }
    }
}

/// What an operand is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// A real number or an array of them.
    Real,
    /// An integer literal (`powi`'s exponent), held in the IR as a constant
    /// node; no derivative flows into it.
    IntLiteral,
    /// A probability known at compile time (dropout's `p`): a real constant
    /// in `[0, 1)`, a literal or computed from literals, held in the IR as
    /// a constant node; no derivative flows into it.
    Probability,
}

/// Where an operand is kept by test generators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    Any,
    /// Strictly positive (`ln`, `sqrt`, the base of `powf`).
    Positive,
    /// Away from zero (a divisor).
    NonZero,
}

/// Where an op's derivative jumps.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(test), allow(dead_code))]
pub enum Kink {
    /// Smooth wherever it is defined.
    None,
    /// Where operand 0 is zero (`relu`, `abs`, `leaky_relu`).
    AtZero,
    /// Where operands 0 and 1 are equal (`max`, `min`, a select).
    AtEqual,
    /// Anywhere else: the smallest distance to a kink, relative to the size
    /// of the values compared (see [`gap`]), from the operands' values
    /// (flat, row-major; a scalar has one element). `clamp` has two
    /// kinks, a reduction `max(v)` one wherever two elements tie for the
    /// maximum, `norm` one at the zero vector.
    Custom(fn(&[&[f64]]) -> f64),
}

/// The distance between `a` and `b` relative to their size (at least 1),
/// the measure kink margins are given in.
#[cfg_attr(not(test), allow(dead_code))]
pub fn gap(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1.0)
}

/// Element `i` of a flat value, a scalar standing for every element.
#[cfg_attr(not(test), allow(dead_code))]
pub fn elem(x: &[f64], i: usize) -> f64 {
    if x.len() == 1 { x[0] } else { x[i] }
}

/// How an op's values are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Element `i` of the result depends on element `i` of every operand
    /// (a scalar operand is broadcast): computed inside its user's loop, or
    /// as one `::core::array::from_fn`.
    Elementwise,
    /// Element `[i][j]` of the result depends on element `i` of operand 0
    /// and element `j` of operand 1; computed per element like
    /// [`Kind::Elementwise`].
    Outer,
    /// Anything else: computed whole by a statement with loops.
    Array,
}

/// An op's meaning in `f64`.
#[derive(Clone, Copy)]
pub enum Eval {
    /// Per element, the operands' elements in order (scalars broadcast).
    Map(fn(&[f64]) -> f64),
    /// On whole values: the operands flat (row-major) with their shapes,
    /// and the result's shape; returns the result flat. (Used by the IR
    /// evaluator; constant folding folds scalars only.)
    #[cfg_attr(not(test), allow(dead_code))]
    Array(ArrayEval),
    /// Unknown to the macro: a function of the user's, which only the
    /// compiled program computes. Never folded, not evaluated by tests.
    Opaque,
    /// Per element like [`Eval::Map`], but only its meaning in inference,
    /// which the evaluator gives it: while training, the value depends on
    /// the element's index and on the thread's dropout key too, which only
    /// the compiled program knows (`dropout`). Not a function of the
    /// operands' values, so it is never folded, never computed once for a
    /// real broadcast over an array, and never a constant.
    #[cfg_attr(not(test), allow(dead_code))]
    Inference(fn(&[f64]) -> f64),
}

impl Eval {
    /// Whether the op's value is a function of its operands' values alone,
    /// as every op's is but dropout's: equal operands give equal values.
    pub fn is_pure(&self) -> bool {
        !matches!(self, Eval::Inference(_))
    }
}

/// An array op's meaning: the operands flat with their shapes, and the
/// result's shape, to the result flat.
/// The shapes are literal: the evaluator runs on graphs of known sizes.
pub type ArrayEval = fn(&[&[f64]], &[&[usize]], &[usize]) -> Vec<f64>;

/// How an op becomes Rust.
#[derive(Clone, Copy)]
pub enum Emit {
    /// `a <op> b`, binding as tightly as `prec`.
    Infix(&'static str, Prec),
    /// `<op>a`.
    Prefix(&'static str),
    /// `x.name(rest..)`; `real_trait` when the method is
    /// `neuron_core::Real`'s rather than the float type's own.
    Method {
        name: &'static str,
        real_trait: bool,
    },
    /// Any other element expression, from the operands' elements.
    Elem(fn(&mut ElemCx, Vec<Operand>) -> Operand),
    /// The statements computing the whole value into the node's name.
    Loops(fn(&mut LoopCx) -> proc_macro2::TokenStream),
}

/// Where an adjoint rule applies: the op, its operands, the result `y`,
/// the upstream derivative `d`, and which operands vary with the arguments.
pub struct Site<'a> {
    /// The op, for a rule that serves several (a declared function's).
    pub prim: Prim,
    pub operands: &'a [NodeId],
    pub y: NodeId,
    pub d: NodeId,
    pub varying: &'a [bool],
}

/// What a shape rule knows beyond the shapes: how to write a shape as the
/// user's type, and how the op was spelled, for its messages.
pub struct ShapeCx<'a> {
    pub describe: &'a dyn Fn(&Shape) -> String,
    /// The op's name as written (`max`, or `+`).
    pub spelling: &'a str,
}

impl ShapeCx<'_> {
    /// `` `[f64; 3]` ``.
    pub fn ty(&self, shape: &Shape) -> String {
        format!("`{}`", (self.describe)(shape))
    }
}

/// Why operands' shapes do not fit an op.
#[derive(Debug)]
pub struct ShapeError {
    /// The operand to point at, or `None` for the whole call.
    pub at: Option<usize>,
    pub message: String,
}

impl ShapeError {
    pub fn call(message: String) -> ShapeError {
        ShapeError { at: None, message }
    }
    pub fn operand(k: usize, message: String) -> ShapeError {
        ShapeError {
            at: Some(k),
            message,
        }
    }
}

/// The shape rule of element-wise ops: equal shapes, or scalars broadcast
/// over the one array shape.
pub fn broadcast(cx: &ShapeCx, shapes: &[Shape]) -> Result<Shape, ShapeError> {
    let mut result: Option<&Shape> = None;
    for s in shapes.iter().filter(|s| !s.is_empty()) {
        match result {
            Some(r) if r != s => {
                let verb = match cx.spelling {
                    "+" => "add".to_string(),
                    "-" => "subtract".to_string(),
                    "*" => "multiply".to_string(),
                    "/" => "divide".to_string(),
                    name => format!("apply `{name}` to"),
                };
                return Err(ShapeError::call(format!(
                    "cannot {verb} {} and {}: element-wise operations need the same shape, or a real broadcast over an array",
                    cx.ty(r),
                    cx.ty(s)
                )));
            }
            _ => result = Some(s),
        }
    }
    Ok(result.cloned().unwrap_or_default())
}

/// Every op a user can call by `name`, as a function or (`method`) as a
/// method: several when the name is overloaded by arity (`max(a, b)` and
/// `max(v)`).
pub fn lookup(name: &str, method: bool) -> Vec<Prim> {
    Prim::ALL
        .iter()
        .copied()
        .filter(|p| {
            p.def()
                .spellings
                .iter()
                .any(|s| s.name == name && if method { s.method } else { s.function })
        })
        .collect()
}

/// Every function name of the library, once each, in registry order.
pub fn library() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for p in Prim::ALL {
        for s in p.def().spellings {
            if !names.contains(&s.name) {
                names.push(s.name);
            }
        }
    }
    names
}

/// The op's arity.
impl OpDef {
    pub fn arity(&self) -> usize {
        self.params.len()
    }
}

/// Shorthands for adjoint rules: every operand gets a contribution.
pub fn all(contributions: impl IntoIterator<Item = NodeId>) -> Vec<Option<NodeId>> {
    contributions.into_iter().map(Some).collect()
}

/// The README's tables of the library, from the registry: every op a user
/// can call, scalar (element-wise) functions first, then array functions,
/// each in registry order.
#[cfg(test)]
pub fn language_tables() -> String {
    let table = |array: bool| {
        let mut out =
            String::from("| function | arguments | what it computes |\n| --- | --- | --- |\n");
        for p in Prim::ALL {
            let d = p.def();
            if (d.kind != Kind::Elementwise) != array {
                continue;
            }
            for s in d.spellings {
                let name = match (s.function, s.method) {
                    (true, true) => format!("`{}`", s.name),
                    (true, false) => format!("`{}` (not a method)", s.name),
                    (false, _) => format!("`.{}` (a method only)", s.name),
                };
                // A `|` inside a table cell, even in code, must be escaped.
                let doc = d.doc.replace('|', "\\|");
                out.push_str(&format!("| {name} | {} | {doc} |\n", d.arity()));
            }
        }
        out
    };
    format!(
        "\nScalar functions, which apply element-wise to arrays:\n\n{}\nArray functions:\n\n{}\n",
        table(false),
        table(true)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// README.md's block between `<!-- ops:begin -->` and `<!-- ops:end -->`
    /// is [`language_tables`]; `NEURON_BLESS=1` rewrites it.
    #[test]
    fn readme_lists_every_op() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path).expect("README.md at the workspace root");
        let (begin, end) = ("<!-- ops:begin -->\n", "<!-- ops:end -->");
        let start = readme
            .find(begin)
            .expect("a `<!-- ops:begin -->` line in README.md")
            + begin.len();
        let stop = start
            + readme[start..]
                .find(end)
                .expect("an `<!-- ops:end -->` line in README.md after the begin marker");
        let want = language_tables();
        if readme[start..stop] == want {
            return;
        }
        if std::env::var_os("NEURON_BLESS").is_some() {
            let updated = format!("{}{want}{}", &readme[..start], &readme[stop..]);
            std::fs::write(path, updated).expect("README.md is writable");
            return;
        }
        panic!(
            "README.md's table of the language differs from the op registry; regenerate it with\n    NEURON_BLESS=1 cargo test -p neuron-macros readme\nand read the diff.\n--- README.md:\n{}\n--- the registry:\n{want}",
            &readme[start..stop]
        );
    }

    #[test]
    fn every_op_is_listed_once_and_named_uniquely() {
        let mut names: Vec<&str> = Prim::ALL.iter().map(|p| p.def().name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Prim::ALL.len());
        for &p in Prim::ALL {
            assert_eq!(Prim::from_name(p.def().name, p.def().arity()), Some(p));
        }
    }

    #[test]
    fn per_operand_tables_match_the_arity() {
        for &p in Prim::ALL {
            let d = p.def();
            assert_eq!(d.zero_if_zero.len(), d.arity(), "{}: zero_if_zero", d.name);
            assert_eq!(d.domain.len(), d.arity(), "{}: domain", d.name);
            match d.kind {
                Kind::Array => assert_eq!(d.reads_once.len(), d.arity(), "{}", d.name),
                _ => assert!(d.reads_once.is_empty(), "{}", d.name),
            }
            assert!(
                matches!(
                    (d.kind, d.emit),
                    (Kind::Array, Emit::Loops(_)) | (Kind::Elementwise | Kind::Outer, _)
                ) && !(d.kind != Kind::Array && matches!(d.emit, Emit::Loops(_))),
                "{}: an array op emits loops, an element-wise one an element",
                d.name
            );
            assert!(!d.doc.is_empty(), "{}: doc", d.name);
        }
    }

    #[test]
    fn spellings_resolve_to_their_op() {
        assert_eq!(lookup("exp", false), vec![Prim::Exp]);
        assert_eq!(lookup("exp", true), vec![Prim::Exp]);
        assert_eq!(lookup("dot", true), vec![Prim::Dot]);
        assert!(lookup("neg", false).is_empty());
        assert!(library().contains(&"log_softmax"));
        // Overloaded by arity: the binary op and the reduction.
        assert_eq!(lookup("max", true), vec![Prim::Max, Prim::MaxOf]);
        assert_eq!(lookup("min", false), vec![Prim::Min, Prim::MinOf]);
        assert_eq!(library().iter().filter(|n| **n == "max").count(), 1);
        // Ops that derivatives build have no spelling.
        for name in ["nan_or", "first_eq", "normal_cdf", "matmul_nt", "matvec_t"] {
            assert!(lookup(name, false).is_empty() && lookup(name, true).is_empty());
        }
    }
}
