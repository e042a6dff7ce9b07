//! The generator's own model of a program and its random construction.
//!
//! A program is a few `#[neuron]` functions: callees first, then the main
//! one, which may call them. Every expression carries its type and an
//! interval holding each of its elements for any arguments in
//! `-ARG..ARG`; the generator uses the intervals to keep every program
//! inside the domains of its functions (`ln`, `sqrt`, `powf`, division and
//! negative powers see only arguments bounded away from zero) and its
//! magnitudes moderate (operands are squashed with `tanh` or `sigmoid`, or
//! scaled down, before they could grow), so that values and derivatives
//! are finite at every point the checks draw, and finite differences are
//! accurate.

use super::features::{
    CAPTURED_ARGUMENT_NAMES, CAPTURED_BINDING_NAMES, CAPTURED_CALLEE_NAMES,
    CAPTURED_TYPE_PARAMETERS, Features, REFUSED_ARGUMENT_NAMES,
};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::cell::Cell;

/// Arguments lie in `-ARG..ARG`: the checks draw from `-1.5..1.5`, and
/// finite differences step a little beyond.
pub const ARG: f64 = 1.6;
/// The magnitude every intermediate value is kept under.
const BOUND: f64 = 12.0;
/// The shortest vector whose `dot`, `sum` and `mean` (and the `matvec` of a
/// matrix with rows this long) keep partial sums in the generated code.
pub const LONG: usize = 32;

/// The type of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// A real.
    S,
    /// `[T; n]`.
    V(usize),
    /// `[[T; c]; r]`: `M(r, c)`.
    M(usize, usize),
}

impl Ty {
    pub fn len(self) -> usize {
        match self {
            Ty::S => 1,
            Ty::V(n) => n,
            Ty::M(r, c) => r * c,
        }
    }
    pub fn shape(self) -> Vec<usize> {
        match self {
            Ty::S => vec![],
            Ty::V(n) => vec![n],
            Ty::M(r, c) => vec![r, c],
        }
    }
}

/// The float type of a neuron.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Float {
    F64,
    F32,
    /// Generic over `T: Real`, with the type parameter's name.
    Generic(String),
}

/// Function (`exp(x)`) or method (`x.exp()`) spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    Function,
    Method,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unary {
    Relu,
    Sigmoid,
    Tanh,
    Exp,
    Ln,
    Sqrt,
    Abs,
    Softplus,
    Square,
    Sin,
    Cos,
    Atan,
    Silu,
    Gelu,
    Softsign,
    LogSigmoid,
}

impl Unary {
    pub const ALL: [Unary; 16] = [
        Unary::Relu,
        Unary::Sigmoid,
        Unary::Tanh,
        Unary::Exp,
        Unary::Ln,
        Unary::Sqrt,
        Unary::Abs,
        Unary::Softplus,
        Unary::Square,
        Unary::Sin,
        Unary::Cos,
        Unary::Atan,
        Unary::Silu,
        Unary::Gelu,
        Unary::Softsign,
        Unary::LogSigmoid,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Unary::Relu => "relu",
            Unary::Sigmoid => "sigmoid",
            Unary::Tanh => "tanh",
            Unary::Exp => "exp",
            Unary::Ln => "ln",
            Unary::Sqrt => "sqrt",
            Unary::Abs => "abs",
            Unary::Softplus => "softplus",
            Unary::Square => "square",
            Unary::Sin => "sin",
            Unary::Cos => "cos",
            Unary::Atan => "atan",
            Unary::Silu => "silu",
            Unary::Gelu => "gelu",
            Unary::Softsign => "softsign",
            Unary::LogSigmoid => "log_sigmoid",
        }
    }

    /// Whether the macro emits it as a method of `neuron_core::Real`
    /// rather than of `f32`/`f64`.
    pub fn real_trait(self) -> bool {
        matches!(
            self,
            Unary::Sigmoid
                | Unary::Softplus
                | Unary::Silu
                | Unary::Gelu
                | Unary::Softsign
                | Unary::LogSigmoid
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary {
    LeakyRelu,
    Powf,
    Max,
    Min,
    Elu,
}

impl Binary {
    pub const ALL: [Binary; 5] = [
        Binary::LeakyRelu,
        Binary::Powf,
        Binary::Max,
        Binary::Min,
        Binary::Elu,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Binary::LeakyRelu => "leaky_relu",
            Binary::Powf => "powf",
            Binary::Max => "max",
            Binary::Min => "min",
            Binary::Elu => "elu",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

impl Arith {
    pub fn symbol(self) -> &'static str {
        match self {
            Arith::Add => "+",
            Arith::Sub => "-",
            Arith::Mul => "*",
            Arith::Div => "/",
        }
    }
}

/// A reduction of an array to a real.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    Mean,
    LogSumExp,
    Norm,
    Max,
    Min,
}

impl Reduction {
    pub const ALL: [Reduction; 5] = [
        Reduction::Mean,
        Reduction::LogSumExp,
        Reduction::Norm,
        Reduction::Max,
        Reduction::Min,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Reduction::Mean => "mean",
            Reduction::LogSumExp => "logsumexp",
            Reduction::Norm => "norm",
            Reduction::Max => "max",
            Reduction::Min => "min",
        }
    }
}

/// The constants of `core::f64::consts` the programs use, with values.
pub const CONSTS: &[(&str, f64)] = &[
    ("PI", std::f64::consts::PI),
    ("E", std::f64::consts::E),
    ("LN_2", std::f64::consts::LN_2),
    ("SQRT_2", std::f64::consts::SQRT_2),
    ("FRAC_1_SQRT_2", std::f64::consts::FRAC_1_SQRT_2),
    ("FRAC_PI_4", std::f64::consts::FRAC_PI_4),
];

/// How a path to a constant is written: `std::f64::consts::PI`,
/// `core::f64::consts::PI` or `f64::consts::PI`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathStyle {
    Std,
    Core,
    Short,
}

/// How a literal is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LitStyle {
    /// `0.5`
    Float,
    /// `2`: an integer literal where a real is expected.
    Int,
    /// `0.5_f64`: suffixed with the neuron's own float type.
    Suffixed,
}

#[derive(Clone, Debug)]
pub enum Kind {
    /// An argument or binding, by slot.
    Var(usize),
    Lit(f64, LitStyle),
    Neg(Box<Expr>),
    Arith(Arith, Box<Expr>, Box<Expr>),
    Index(Box<Expr>, usize),
    Array(Vec<Expr>),
    Unary(Unary, Spelling, Box<Expr>),
    Powi(Spelling, Box<Expr>, i32),
    Binary(Binary, Spelling, Box<Expr>, Box<Expr>),
    Dot(Box<Expr>, Box<Expr>),
    Sum(Box<Expr>),
    MatVec(Box<Expr>, Box<Expr>),
    /// `softmax`, or `log_softmax` when `true`.
    Softmax(bool, Box<Expr>),
    /// A constant by path: its index in [`CONSTS`].
    Const(usize, PathStyle),
    /// `clamp(x, lo, hi)`.
    Clamp(Spelling, Box<Expr>, Box<Expr>, Box<Expr>),
    /// A reduction of an array to a real.
    Reduce(Reduction, Spelling, Box<Expr>),
    Transpose(Spelling, Box<Expr>),
    MatMul(Spelling, Box<Expr>, Box<Expr>),
    Outer(Spelling, Box<Expr>, Box<Expr>),
    /// `dropout(a, p)`: in inference, where the checks run, `a` itself.
    Dropout(Spelling, Box<Expr>, f64),
}

/// An expression with its type and the interval of its elements.
#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: Kind,
    pub ty: Ty,
    pub lo: f64,
    pub hi: f64,
}

impl Expr {
    fn mag(&self) -> f64 {
        self.lo.abs().max(self.hi.abs())
    }
}

#[derive(Clone, Debug)]
pub struct Arg {
    pub slot: usize,
    pub name: String,
    pub ty: Ty,
    pub param: bool,
}

#[derive(Clone, Debug)]
pub enum Value {
    Expr(Expr),
    /// A call of the program's neuron `callee`.
    Call {
        callee: usize,
        args: Vec<Expr>,
    },
}

#[derive(Clone, Debug)]
pub struct Let {
    pub slot: usize,
    pub name: String,
    /// Whether the type is written (always for a call).
    pub annotate: bool,
    pub ty: Ty,
    pub value: Value,
}

#[derive(Clone, Debug)]
pub struct Neuron {
    pub name: String,
    pub float: Float,
    pub args: Vec<Arg>,
    pub lets: Vec<Let>,
    pub result: Expr,
    pub ret: Ty,
    /// The last binding is a call whose value is the result: it is
    /// written as the function's tail expression, without a type.
    pub tail_call: bool,
}

/// A program: callees first, the main neuron last.
pub struct Program {
    pub index: usize,
    pub neurons: Vec<Neuron>,
}

/// Whose method the macro calls on an operand.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Receiver {
    /// An inherent method of `f32`/`f64` (`max`, `exp`, `powi`, ...).
    Float,
    /// A method of `neuron_core::Real` (`sigmoid`, `softplus`,
    /// `leaky_relu`).
    RealTrait,
}

/// A name in scope.
#[derive(Clone, Debug)]
struct Var {
    slot: usize,
    name: String,
    ty: Ty,
    lo: f64,
    hi: f64,
}

/// What the generator knows while it writes one neuron.
struct Scope {
    vars: Vec<Var>,
    /// The value of every binding slot (`None` for arguments and calls),
    /// for deciding what the macro's simplifier folds to constants.
    values: Vec<Option<Expr>>,
    /// Whether each slot depends on an argument.
    live: Vec<bool>,
    /// How often each slot has been used so far.
    uses: Vec<Cell<u32>>,
    /// Only literals as leaves: a constant subexpression.
    constant: bool,
    float: Float,
}

/// Plain names for arguments and bindings, none of them generated.
const PLAIN: &[&str] = &[
    "x", "w", "b", "a", "u", "z", "s", "t", "h", "m", "n", "e", "r", "hid", "act", "bias", "gain",
    "wx", "xs", "inp",
];
/// Plain names for called neurons.
const PLAIN_CALLEES: &[&str] = &["layer", "unit", "cell", "head", "block", "score", "gate"];
/// The functions of the language: a neuron cannot be called by these names,
/// the library's functions win.
/// Base names that `*` in a listed generated name may stand for, besides
/// the function's own names.
const BASES: &[&str] = &[
    "sum",
    "prod",
    "diff",
    "quot",
    "pow",
    "neg",
    "dot",
    "total",
    "matvec",
    "softmax",
    "log_softmax",
    "exp",
    "tanh",
    "mask",
    "array",
];

pub struct Gen<'a> {
    rng: ChaCha8Rng,
    /// The stream of dropout's draws, apart from `rng`, so that wrapping
    /// an expression in dropout changes nothing else of a program.
    dropout_rng: ChaCha8Rng,
    features: &'a Features,
    /// The names generated code introduces, from `__emitted_names!()`.
    emitted: &'a [&'a str],
    /// The library's function names, from `__library!()`.
    library: &'a [&'a str],
    /// The generated modules' items and constants, from
    /// `__generated_items!()`: refused as names of neurons and generic
    /// parameters, and (the constants) of arguments.
    items: (&'a [&'a str], &'a [&'a str]),
    /// The neurons of the program being written, callees so far.
    neurons: Vec<Neuron>,
    /// Nodes left for the neuron being written, so programs stay small.
    budget: i32,
}

/// Whether `pattern` (with `*` for any non-empty text) matches `name`.
pub fn matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((before, after)) => {
            name.len() > before.len() + after.len()
                && name.starts_with(before)
                && name.ends_with(after)
        }
    }
}

impl<'a> Gen<'a> {
    pub fn new(
        seed: u64,
        features: &'a Features,
        emitted: &'a [&'a str],
        library: &'a [&'a str],
        items: (&'a [&'a str], &'a [&'a str]),
    ) -> Self {
        use rand::SeedableRng;
        Gen {
            rng: ChaCha8Rng::seed_from_u64(seed),
            dropout_rng: ChaCha8Rng::seed_from_u64(seed ^ 0xd207_0a7e_5eed_0001),
            features,
            emitted,
            library,
            items,
            neurons: Vec::new(),
            budget: 0,
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }

    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }

    fn spelling(&mut self) -> Spelling {
        if self.chance(0.5) {
            Spelling::Method
        } else {
            Spelling::Function
        }
    }

    // -----------------------------------------------------------------
    // Programs and neurons.

    pub fn program(&mut self, index: usize) -> Program {
        self.neurons = Vec::new();
        let float = match self.below(20) {
            0..=8 => Float::F64,
            9..=12 => Float::F32,
            _ => Float::Generic(self.type_parameter()),
        };
        let callees = match self.below(20) {
            0..=14 => 0,
            15..=18 => 1,
            _ => 2,
        };
        let mut taken: Vec<String> = Vec::new();
        for _ in 0..callees {
            let callee_float = match &float {
                Float::Generic(_) => Float::Generic(self.type_parameter()),
                f if self.chance(0.3) => {
                    let _ = f;
                    Float::Generic(self.type_parameter())
                }
                f => f.clone(),
            };
            let name = self.callee_name(&taken);
            taken.push(name.clone());
            let neuron = self.neuron(name, callee_float, true, &taken);
            self.neurons.push(neuron);
        }
        let name = if self.chance(0.5) {
            "f".to_string()
        } else {
            self.callee_name(&taken)
        };
        taken.push(name.clone());
        let main = self.neuron(name, float, false, &taken);
        self.neurons.push(main);
        Program {
            index,
            neurons: std::mem::take(&mut self.neurons),
        }
    }

    fn type_parameter(&mut self) -> String {
        if self.chance(0.3) {
            let upper: Vec<&str> = self
                .emitted
                .iter()
                .copied()
                .filter(|n| {
                    n.starts_with(|c: char| c.is_ascii_uppercase())
                        // `<Real: Real>` would name the bound after itself.
                        && *n != "Real"
                        && !self.items.0.contains(n)
                        && (self.features.type_parameter_names
                            || !CAPTURED_TYPE_PARAMETERS.contains(n))
                })
                .collect();
            if !upper.is_empty() {
                return self.pick(&upper).to_string();
            }
        }
        self.pick(&["T", "T", "T", "U", "R"]).to_string()
    }

    /// A name for a neuron: plain, or a generated name that is a valid,
    /// callable neuron name (the library's functions win over neurons).
    fn callee_name(&mut self, taken: &[String]) -> String {
        for _ in 0..20 {
            let name = if self.chance(0.4) {
                let pattern = self.pick(self.emitted);
                let stand_in = self.pick(&[PLAIN, BASES].concat());
                pattern.replacen('*', stand_in, 1)
            } else {
                self.pick(PLAIN_CALLEES).to_string()
            };
            let valid = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && !self.library.contains(&name.as_str())
                && !self.items.0.contains(&name.as_str());
            let captured = CAPTURED_CALLEE_NAMES.iter().any(|c| matches(c, &name));
            if valid
                && (self.features.captured_callee_names || !captured)
                && !taken.contains(&name)
                && name != "f"
            {
                return name;
            }
        }
        format!("neuron{}", taken.len())
    }

    /// A name for an argument or a binding of a function whose names so far
    /// are `own`, which (or a base name) may stand for `*` in listed names.
    fn name(&mut self, own: &[String], argument: bool, avoid: &[String]) -> String {
        for _ in 0..30 {
            let name = if self.chance(0.4) {
                let pattern = self.pick(self.emitted);
                let name = if pattern.contains('*') {
                    let stand_in = if !own.is_empty() && self.chance(0.7) {
                        self.pick(own)
                    } else {
                        self.pick(BASES).to_string()
                    };
                    pattern.replacen('*', &stand_in, 1)
                } else {
                    pattern.to_string()
                };
                let reserved = name == "dy" || name.starts_with("neuron_");
                if argument && reserved && !self.features.reserved_argument_names {
                    continue;
                }
                if argument
                    && (REFUSED_ARGUMENT_NAMES.iter().any(|r| matches(r, &name))
                        || self.items.1.contains(&name.as_str()))
                {
                    continue;
                }
                let captured = if argument {
                    CAPTURED_ARGUMENT_NAMES
                } else {
                    CAPTURED_BINDING_NAMES
                };
                if !self.features.captured_names && captured.iter().any(|c| matches(c, &name)) {
                    continue;
                }
                name
            } else {
                self.pick(PLAIN).to_string()
            };
            if !avoid.contains(&name) {
                return name;
            }
        }
        format!("v{}", own.len())
    }

    /// One neuron; `callee` neurons are smaller and call nothing.
    fn neuron(&mut self, name: String, float: Float, callee: bool, neurons: &[String]) -> Neuron {
        self.budget = if callee { 14 } else { 26 };
        let n_args = if callee {
            1 + self.below(3)
        } else {
            1 + self.below(4)
        };
        let n_lets = if callee { self.below(3) } else { self.below(5) };
        // Binding names first, so that argument names such as `s_max` can
        // be built from a binding `s` that follows.
        let mut own: Vec<String> = Vec::new();
        let mut let_names = Vec::new();
        for _ in 0..n_lets {
            let n = self.name(&own, false, neurons);
            own.push(n.clone());
            let_names.push(n);
        }
        let mut args: Vec<Arg> = Vec::new();
        let mut scope = Scope {
            vars: Vec::new(),
            values: Vec::new(),
            live: Vec::new(),
            uses: Vec::new(),
            constant: false,
            float: float.clone(),
        };
        for slot in 0..n_args {
            let mut avoid: Vec<String> = neurons.to_vec();
            avoid.extend(args.iter().map(|a| a.name.clone()));
            let name = self.name(&own, true, &avoid);
            own.push(name.clone());
            let ty = self.arg_type();
            let param = self.chance(0.4);
            args.push(Arg {
                slot,
                name: name.clone(),
                ty,
                param,
            });
            scope.vars.push(Var {
                slot,
                name,
                ty,
                lo: -ARG,
                hi: ARG,
            });
            scope.values.push(None);
            scope.live.push(true);
            scope.uses.push(Cell::new(0));
        }

        let callees: Vec<usize> = if callee {
            Vec::new()
        } else {
            (0..self.neurons.len()).collect()
        };
        let mut lets = Vec::new();
        let mut uses_call = vec![false; callees.len()];
        for (k, mut name) in let_names.into_iter().enumerate() {
            // Shadowing: rebind a name in scope, perhaps with another type.
            if self.chance(0.2) && !scope.vars.is_empty() {
                let v = self.pick(&scope.vars);
                name = v.name.clone();
            }
            let slot = n_args + k;
            // A call, when there is a callee not called yet (or by chance).
            let pending = callees.iter().position(|&c| !uses_call[c]);
            let grads_trap = own.iter().any(|o| o.strip_prefix("grads_") == Some(&name));
            let call = match pending {
                _ if grads_trap && !callees.is_empty() => Some(self.pick(&callees)),
                Some(c) if self.chance(0.7) => Some(callees[c]),
                _ if !callees.is_empty() && self.chance(0.15) => Some(self.pick(&callees)),
                _ => None,
            };
            let (value, ty, lo, hi, annotate) = if let Some(c) = call {
                uses_call[c] = true;
                let callee = self.neurons[c].clone();
                let mut call_args = Vec::new();
                let mut consumed = Vec::new();
                for a in &callee.args {
                    // An argument passed on as it is, often, a parameter not
                    // used yet first: where it is used nowhere else, the
                    // callee adds its partial straight into the training
                    // step's accumulator.
                    let unused_param =
                        |v: &&Var| args[v.slot].param && scope.uses[v.slot].get() == 0;
                    let mut bare: Vec<Var> = scope
                        .vars
                        .iter()
                        .filter(|v| v.ty == a.ty && v.slot < n_args)
                        .filter(unused_param)
                        .cloned()
                        .collect();
                    if bare.is_empty() {
                        bare = scope
                            .vars
                            .iter()
                            .filter(|v| v.ty == a.ty && v.slot < n_args)
                            .cloned()
                            .collect();
                    }
                    if !bare.is_empty() && self.chance(0.5) {
                        let v = self.pick(&bare);
                        scope.uses[v.slot].set(scope.uses[v.slot].get() + 1);
                        // Often the call is its only use: out of scope
                        // after it.
                        if args[v.slot].param && scope.uses[v.slot].get() == 1 && self.chance(0.5) {
                            consumed.push(v.slot);
                        }
                        call_args.push(Self::var(&v));
                        continue;
                    }
                    let e = self.expr(&scope, a.ty, 2);
                    call_args.push(self.fit(e, 1.5));
                }
                scope.vars.retain(|v| !consumed.contains(&v.slot));
                let (lo, hi) = (callee.result.lo, callee.result.hi);
                (
                    Value::Call {
                        callee: c,
                        args: call_args,
                    },
                    callee.ret,
                    lo,
                    hi,
                    true,
                )
            } else {
                let (ty, trap) = self.binding_type(&scope, &name, &own);
                let e = if trap {
                    let a = self.expr(&scope, ty, 2);
                    let a = self.fit(a, 6.0);
                    softmax(self.chance(0.5), a)
                } else if self.chance(0.1) {
                    self.constant(&scope, ty, 1)
                } else {
                    self.expr(&scope, ty, 3)
                };
                let annotate = self.chance(0.2);
                let (lo, hi) = (e.lo, e.hi);
                (Value::Expr(e), ty, lo, hi, annotate)
            };
            scope.vars.retain(|v| v.name != name);
            scope.vars.push(Var {
                slot,
                name: name.clone(),
                ty,
                lo,
                hi,
            });
            let live = match &value {
                Value::Expr(e) => depends(&scope.values, &scope.live, e),
                Value::Call { args, .. } => {
                    args.iter().any(|a| depends(&scope.values, &scope.live, a))
                }
            };
            scope.values.push(match &value {
                Value::Expr(e) => Some(e.clone()),
                Value::Call { .. } => None,
            });
            scope.live.push(live);
            scope.uses.push(Cell::new(0));
            lets.push(Let {
                slot,
                name,
                annotate,
                ty,
                value,
            });
        }
        let ret = match self.below(10) {
            0..=5 => Ty::S,
            _ => {
                // Prefer the length of an array in scope.
                let lens: Vec<usize> = scope
                    .vars
                    .iter()
                    .filter_map(|v| match v.ty {
                        Ty::V(n) => Some(n),
                        Ty::M(r, _) => Some(r),
                        Ty::S => None,
                    })
                    .collect();
                if !lens.is_empty() && self.chance(0.7) {
                    Ty::V(self.pick(&lens))
                } else {
                    Ty::V(2 + self.below(3))
                }
            }
        };
        // The result depends on an argument, or is retried a few times.
        let mut result = self.expr(&scope, ret, 3);
        for _ in 0..8 {
            if depends(&scope.values, &scope.live, &result) {
                break;
            }
            self.budget = self.budget.max(6);
            result = self.expr(&scope, ret, 3);
        }
        let result = self.fit(result, BOUND);
        // Now and then the last binding is a call returned as it is: a
        // call in tail position, with no type written.
        let tail = lets.last().and_then(|l| match &l.value {
            Value::Call { .. } if scope.live[l.slot] && self.chance(0.4) => Some((l.slot, l.ty)),
            _ => None,
        });
        let (result, ret, tail_call) = match tail {
            Some((slot, ty)) => {
                let v = scope
                    .vars
                    .iter()
                    .find(|v| v.slot == slot)
                    .expect("the binding is in scope");
                (Self::var(v), ty, true)
            }
            None => (result, ret, false),
        };
        Neuron {
            name,
            float,
            args,
            lets,
            result,
            ret,
            tail_call,
        }
    }

    fn arg_type(&mut self) -> Ty {
        match self.below(10) {
            0..=3 => Ty::S,
            // Now and then a vector long enough that its reductions keep
            // partial sums (32 or more elements), so that they too are
            // checked through the whole path.
            4 if self.chance(0.4) => Ty::V(LONG + self.below(9)),
            4..=7 => Ty::V(2 + self.below(3)),
            _ => Ty::M(2 + self.below(2), 2 + self.below(3)),
        }
    }

    /// The type of a binding's value, and whether it is to be a softmax.
    fn binding_type(&mut self, scope: &Scope, name: &str, own: &[String]) -> (Ty, bool) {
        // A binding whose name stands in a generated-looking argument name
        // (`s` for an argument `s_max`) is sometimes what makes that name
        // generated: a softmax.
        let trap = own.iter().any(|o| {
            ["_max", "_exp", "_total", "_log_total"]
                .iter()
                .any(|suffix| o.strip_suffix(suffix) == Some(name))
        });
        let vectors: Vec<Ty> = scope
            .vars
            .iter()
            .filter(|v| matches!(v.ty, Ty::V(_)))
            .map(|v| v.ty)
            .collect();
        if trap && self.chance(0.7) {
            return (Ty::V(3), true);
        }
        let ty = match self.below(10) {
            0..=4 => Ty::S,
            5..=7 => {
                if !vectors.is_empty() && self.chance(0.7) {
                    self.pick(&vectors)
                } else {
                    Ty::V(2 + self.below(3))
                }
            }
            _ => Ty::M(2 + self.below(2), 2 + self.below(2)),
        };
        (ty, false)
    }

    // -----------------------------------------------------------------
    // Expressions.

    /// A random expression of type `ty`, at most `depth` deep.
    fn expr(&mut self, scope: &Scope, ty: Ty, depth: u32) -> Expr {
        if depth == 0 || self.budget <= 0 || self.chance(0.2) {
            return self.leaf(scope, ty);
        }
        for _ in 0..12 {
            if let Some(e) = self.composite(scope, ty, depth) {
                self.budget -= 1;
                return self.fit(e, BOUND);
            }
        }
        self.leaf(scope, ty)
    }

    /// A constant subexpression: literals only.
    fn constant(&mut self, scope: &Scope, ty: Ty, depth: u32) -> Expr {
        let inner = Scope {
            vars: Vec::new(),
            values: scope.values.clone(),
            live: Vec::new(),
            uses: Vec::new(),
            constant: true,
            float: scope.float.clone(),
        };
        self.expr(&inner, ty, depth)
    }

    fn literal_value(&mut self) -> f64 {
        self.pick(&[
            0.0, 0.5, 1.0, 2.0, 3.0, -1.0, -0.5, 0.25, 1.5, -2.0, 0.1, 0.75, -0.25,
        ])
    }

    fn literal(&mut self, scope: &Scope, value: f64) -> Expr {
        let integer = value.fract() == 0.0;
        let style = match self.below(10) {
            0..=2 if integer => LitStyle::Int,
            3 | 4 if !matches!(scope.float, Float::Generic(_)) => LitStyle::Suffixed,
            _ => LitStyle::Float,
        };
        Expr {
            kind: Kind::Lit(value, style),
            ty: Ty::S,
            lo: value,
            hi: value,
        }
    }

    fn var(v: &Var) -> Expr {
        Expr {
            kind: Kind::Var(v.slot),
            ty: v.ty,
            lo: v.lo,
            hi: v.hi,
        }
    }

    fn index(&mut self, base: Expr, k: usize) -> Expr {
        let ty = match base.ty {
            Ty::V(_) => Ty::S,
            Ty::M(_, c) => Ty::V(c),
            Ty::S => unreachable!("indexing a real"),
        };
        let (lo, hi) = match &base.kind {
            Kind::Array(items) => (items[k].lo, items[k].hi),
            _ => (base.lo, base.hi),
        };
        Expr {
            kind: Kind::Index(Box::new(base), k),
            ty,
            lo,
            hi,
        }
    }

    fn array(items: Vec<Expr>) -> Expr {
        let lo = items.iter().map(|e| e.lo).fold(f64::INFINITY, f64::min);
        let hi = items.iter().map(|e| e.hi).fold(f64::NEG_INFINITY, f64::max);
        let ty = match items[0].ty {
            Ty::S => Ty::V(items.len()),
            Ty::V(c) => Ty::M(items.len(), c),
            Ty::M(..) => unreachable!("arrays nest two deep"),
        };
        Expr {
            kind: Kind::Array(items),
            ty,
            lo,
            hi,
        }
    }

    /// A leaf of type `ty`: a name, an element or row of one, a literal.
    fn leaf(&mut self, scope: &Scope, ty: Ty) -> Expr {
        let vars: Vec<Var> = scope.vars.clone();
        let exact: Vec<&Var> = vars.iter().filter(|v| v.ty == ty).collect();
        match ty {
            Ty::S => {
                let vectors: Vec<&Var> = vars.iter().filter(|v| matches!(v.ty, Ty::V(_))).collect();
                let matrices: Vec<&Var> =
                    vars.iter().filter(|v| matches!(v.ty, Ty::M(..))).collect();
                for _ in 0..6 {
                    match self.below(20) {
                        0..=7 if !exact.is_empty() => return Self::var(self.recent(scope, &exact)),
                        8..=13 if !vectors.is_empty() => {
                            let v = self.recent(scope, &vectors);
                            let Ty::V(n) = v.ty else { unreachable!() };
                            let k = self.below(n);
                            return self.index(Self::var(v), k);
                        }
                        14 | 15 if !matrices.is_empty() => {
                            let m = self.recent(scope, &matrices);
                            let Ty::M(r, c) = m.ty else { unreachable!() };
                            let (i, j) = (self.below(r), self.below(c));
                            let row = self.index(Self::var(m), i);
                            return self.index(row, j);
                        }
                        16 if !scope.constant && self.budget > 2 => {
                            let depth = 1 + self.below(2) as u32;
                            return self.constant(scope, Ty::S, depth);
                        }
                        17 | 18 => {
                            let v = self.literal_value();
                            return self.literal(scope, v);
                        }
                        19 if self.chance(0.4) => {
                            let k = self.below(CONSTS.len());
                            let style =
                                self.pick(&[PathStyle::Std, PathStyle::Core, PathStyle::Short]);
                            let v = CONSTS[k].1;
                            return Expr {
                                kind: Kind::Const(k, style),
                                ty: Ty::S,
                                lo: v,
                                hi: v,
                            };
                        }
                        _ => {}
                    }
                }
                let v = self.literal_value();
                self.literal(scope, v)
            }
            Ty::V(n) => {
                let rows: Vec<&Var> = vars
                    .iter()
                    .filter(|v| matches!(v.ty, Ty::M(_, c) if c == n))
                    .collect();
                match self.below(10) {
                    0..=4 if !exact.is_empty() => Self::var(self.recent(scope, &exact)),
                    5 | 6 if !rows.is_empty() => {
                        let m = self.recent(scope, &rows);
                        let Ty::M(r, _) = m.ty else { unreachable!() };
                        let k = self.below(r);
                        self.index(Self::var(m), k)
                    }
                    7 if !scope.constant && self.budget > 2 => self.constant(scope, ty, 1),
                    _ => {
                        let items = (0..n).map(|_| self.leaf(scope, Ty::S)).collect();
                        Self::array(items)
                    }
                }
            }
            Ty::M(r, c) => {
                if !exact.is_empty() && self.chance(0.7) {
                    Self::var(self.recent(scope, &exact))
                } else {
                    let items = (0..r).map(|_| self.leaf(scope, Ty::V(c))).collect();
                    Self::array(items)
                }
            }
        }
    }

    /// One of `vars`, preferring names that depend on an argument, then
    /// names not used yet, then the most recently bound, so that programs
    /// use their arguments and bindings.
    fn recent<'v>(&mut self, scope: &Scope, vars: &[&'v Var]) -> &'v Var {
        let live: Vec<&Var> = vars
            .iter()
            .copied()
            .filter(|v| scope.live[v.slot])
            .collect();
        let vars: Vec<&Var> = if !live.is_empty() && self.chance(0.85) {
            live
        } else {
            vars.to_vec()
        };
        let unused: Vec<&Var> = vars
            .iter()
            .copied()
            .filter(|v| scope.uses[v.slot].get() == 0)
            .collect();
        let v = if !unused.is_empty() && self.chance(0.6) {
            self.pick(&unused)
        } else if self.chance(0.4) {
            vars.iter().copied().max_by_key(|v| v.slot).expect("a name")
        } else {
            self.pick(&vars)
        };
        scope.uses[v.slot].set(scope.uses[v.slot].get() + 1);
        v
    }

    /// `e` brought within `-m..m`: itself, scaled down, or squashed.
    fn fit(&mut self, e: Expr, m: f64) -> Expr {
        if e.mag() <= m {
            return e;
        }
        let scale = [0.5, 0.25, 0.1]
            .into_iter()
            .find(|s| e.mag() * s <= m && self.chance(0.5));
        if let Some(s) = scale {
            let c = float_literal(s);
            return self.arith(Arith::Mul, e, c);
        }
        let u = if m >= 1.0 && self.chance(0.6) {
            Unary::Tanh
        } else {
            Unary::Sigmoid
        };
        let sp = self.spelling();
        self.unary(u, sp, e)
    }

    /// `e` made positive, at least `min_lo`, and at most `max_hi`.
    fn positive(&mut self, scope: &Scope, ty: Ty, depth: u32, min_lo: f64, max_hi: f64) -> Expr {
        // A positive name in scope is the most natural operand.
        let ready: Vec<Var> = scope
            .vars
            .iter()
            .filter(|v| v.ty == ty && v.lo >= min_lo && v.hi <= max_hi)
            .cloned()
            .collect();
        if !ready.is_empty() && self.chance(0.3) {
            return Self::var(&self.pick(&ready));
        }
        // The operand of a method of `f32`/`f64`, or of `softplus` where
        // such a receiver could be an untyped literal.
        let inner = |g: &mut Self, m: f64| {
            let e = g.expr(scope, ty, depth.saturating_sub(1));
            let e = g.fit(e, m);
            let ok = g.receiver_ok(scope, &e, None, Receiver::Float);
            (e, ok)
        };
        let sp = self.spelling();
        let unary = |g: &mut Self, u: Unary, m: f64| match inner(g, m) {
            (e, true) => g.unary(u, sp, e),
            (e, false) => {
                let e = g.fit(e, 2.5);
                g.unary(Unary::Softplus, sp, e)
            }
        };
        let base = match self.below(7) {
            0 => unary(self, Unary::Softplus, 2.5),
            1 => unary(self, Unary::Exp, 1.0),
            2 => unary(self, Unary::Square, 1.5),
            3 => unary(self, Unary::Sigmoid, BOUND),
            4 => unary(self, Unary::Abs, 2.0),
            5 if ty == Ty::S => {
                let v = self.pick(&[0.5, 1.0, 1.5, 2.0, 3.0]);
                if v >= min_lo && v <= max_hi {
                    return self.literal(scope, v);
                }
                unary(self, Unary::Softplus, 2.5)
            }
            _ => match inner(self, 2.0) {
                (e, true) => self.powi(sp, e, 2),
                (e, false) => {
                    let e = self.fit(e, 2.5);
                    self.unary(Unary::Softplus, sp, e)
                }
            },
        };
        let shift = [0.5, 1.0].into_iter().find(|c| base.lo + c >= min_lo);
        let shifted = match shift {
            Some(_) if base.lo >= min_lo => base,
            Some(c) => {
                let c = self.literal(scope, c);
                if self.chance(0.5) {
                    self.arith(Arith::Add, base, c)
                } else {
                    self.arith(Arith::Add, c, base)
                }
            }
            None => unreachable!("every base is at least 0"),
        };
        if shifted.hi <= max_hi {
            shifted
        } else {
            // sigmoid(e) + 0.5 lies in 0.5..1.5.
            let e = self.expr(scope, ty, depth.saturating_sub(1));
            let s = self.unary(Unary::Sigmoid, sp, e);
            let c = self.literal(scope, 0.5);
            self.arith(Arith::Add, s, c)
        }
    }

    // Constructors with intervals.

    fn arith(&mut self, op: Arith, a: Expr, b: Expr) -> Expr {
        let ty = if a.ty == Ty::S { b.ty } else { a.ty };
        let (lo, hi) = match op {
            Arith::Add => (a.lo + b.lo, a.hi + b.hi),
            Arith::Sub => (a.lo - b.hi, a.hi - b.lo),
            Arith::Mul => corners(a.lo, a.hi, b.lo, b.hi, |x, y| x * y),
            Arith::Div => corners(a.lo, a.hi, 1.0 / b.hi, 1.0 / b.lo, |x, y| x * y),
        };
        Expr {
            kind: Kind::Arith(op, Box::new(a), Box::new(b)),
            ty,
            lo,
            hi,
        }
    }

    fn unary(&mut self, u: Unary, sp: Spelling, a: Expr) -> Expr {
        let (lo, hi) = (a.lo, a.hi);
        let (lo, hi) = match u {
            Unary::Relu => (lo.max(0.0), hi.max(0.0)),
            Unary::Sigmoid => (sigmoid(lo), sigmoid(hi)),
            Unary::Tanh => (lo.tanh(), hi.tanh()),
            Unary::Exp => (lo.exp(), hi.exp()),
            Unary::Ln => (lo.ln(), hi.ln()),
            Unary::Sqrt => (lo.sqrt(), hi.sqrt()),
            Unary::Abs | Unary::Square => {
                let low = if lo <= 0.0 && hi >= 0.0 {
                    0.0
                } else {
                    lo.abs().min(hi.abs())
                };
                let high = lo.abs().max(hi.abs());
                if u == Unary::Abs {
                    (low, high)
                } else {
                    (low * low, high * high)
                }
            }
            Unary::Softplus => (lo.exp().ln_1p(), hi.exp().ln_1p()),
            Unary::Sin | Unary::Cos => (-1.0, 1.0),
            Unary::Atan => (lo.atan(), hi.atan()),
            // Both dip below zero once, silu to -0.279 and gelu to -0.170.
            Unary::Silu => {
                let f = |x: f64| x * sigmoid(x);
                (f(lo).min(f(hi)).min(-0.28), f(lo).max(f(hi)))
            }
            Unary::Gelu => {
                let f = |x: f64| x * sigmoid(1.702 * x);
                (f(lo).min(f(hi)).min(-0.18), f(lo).max(f(hi)) + 0.02)
            }
            Unary::Softsign => (lo / (1.0 + lo.abs()), hi / (1.0 + hi.abs())),
            Unary::LogSigmoid => (-(-lo).exp().ln_1p(), -(-hi).exp().ln_1p()),
        };
        let ty = a.ty;
        Expr {
            kind: Kind::Unary(u, sp, Box::new(a)),
            ty,
            lo,
            hi,
        }
    }

    fn powi(&mut self, sp: Spelling, a: Expr, n: i32) -> Expr {
        let (lo, hi) = corners(a.lo, a.hi, 0.0, 0.0, |x, _| x.powi(n));
        // Between the ends an even power reaches zero.
        let (lo, hi) = if n % 2 == 0 && a.lo < 0.0 && a.hi > 0.0 && n > 0 {
            (0.0, hi)
        } else {
            (lo, hi)
        };
        let ty = a.ty;
        Expr {
            kind: Kind::Powi(sp, Box::new(a), n),
            ty,
            lo,
            hi,
        }
    }

    fn binary(&mut self, b: Binary, sp: Spelling, x: Expr, y: Expr) -> Expr {
        let ty = if x.ty == Ty::S { y.ty } else { x.ty };
        let (lo, hi) = match b {
            Binary::Max => (x.lo.max(y.lo), x.hi.max(y.hi)),
            Binary::Min => (x.lo.min(y.lo), x.hi.min(y.hi)),
            Binary::Powf => corners(x.lo, x.hi, y.lo, y.hi, f64::powf),
            Binary::LeakyRelu => {
                let m = x.mag() * y.mag().max(1.0);
                (-m, m)
            }
            // `x` above zero, `a (e^x - 1)` with `e^x - 1` in `-1..0` below.
            Binary::Elu => {
                let m = x.mag().max(y.mag());
                (-m, m)
            }
        };
        Expr {
            kind: Kind::Binary(b, sp, Box::new(x), Box::new(y)),
            ty,
            lo,
            hi,
        }
    }

    /// Operand types of an element-wise op of result type `ty`: equal
    /// types, or a real broadcast on either side.
    fn operand_types(&mut self, ty: Ty) -> (Ty, Ty) {
        if ty == Ty::S {
            return (Ty::S, Ty::S);
        }
        match self.below(4) {
            0 => (Ty::S, ty),
            1 => (ty, Ty::S),
            _ => (ty, ty),
        }
    }

    /// One composite expression of type `ty`, or `None` when the attempt
    /// would break a rule (a constant receiver where they are off).
    fn composite(&mut self, scope: &Scope, ty: Ty, depth: u32) -> Option<Expr> {
        let d = depth - 1;
        let choice = self.below(100);
        let e = match choice {
            // + - * /
            0..=29 => {
                let op = self.pick(&[Arith::Add, Arith::Sub, Arith::Mul, Arith::Div]);
                let (ta, tb) = self.operand_types(ty);
                let (a, b) = match op {
                    Arith::Add | Arith::Sub => {
                        let a = self.expr(scope, ta, d);
                        let b = self.expr(scope, tb, d);
                        (self.fit(a, BOUND / 2.0), self.fit(b, BOUND / 2.0))
                    }
                    // Now and then a product with an exact zero, a constant
                    // the simplifier sees through (`softmax(v * 0.0)`).
                    Arith::Mul if (ta == Ty::S || tb == Ty::S) && self.chance(0.1) => {
                        let zero = self.literal(scope, 0.0);
                        if tb == Ty::S {
                            let a = self.expr(scope, ta, d);
                            (self.fit(a, 3.4), zero)
                        } else {
                            let b = self.expr(scope, tb, d);
                            (zero, self.fit(b, 3.4))
                        }
                    }
                    Arith::Mul => {
                        let a = self.expr(scope, ta, d);
                        let b = self.expr(scope, tb, d);
                        (self.fit(a, 3.4), self.fit(b, 3.4))
                    }
                    Arith::Div => {
                        let a = self.expr(scope, ta, d);
                        let a = self.fit(a, BOUND / 2.0);
                        (a, self.positive(scope, tb, d, 0.5, 1e9))
                    }
                };
                self.arith(op, a, b)
            }
            30..=34 => {
                let a = self.expr(scope, ty, d);
                let (lo, hi) = (-a.hi, -a.lo);
                Expr {
                    kind: Kind::Neg(Box::new(a)),
                    ty,
                    lo,
                    hi,
                }
            }
            35..=59 => {
                let u = self.pick(&Unary::ALL);
                let sp = self.spelling();
                let a = match u {
                    Unary::Exp => {
                        let a = self.expr(scope, ty, d);
                        self.fit(a, 2.4)
                    }
                    Unary::Ln | Unary::Sqrt => self.positive(scope, ty, d, 0.3, 1e9),
                    Unary::Square => {
                        let a = self.expr(scope, ty, d);
                        self.fit(a, 3.4)
                    }
                    _ => self.expr(scope, ty, d),
                };
                let op = if u.real_trait() {
                    Receiver::RealTrait
                } else {
                    Receiver::Float
                };
                if !self.receiver_ok(scope, &a, None, op) {
                    return None;
                }
                self.unary(u, sp, a)
            }
            60..=65 => {
                let n = self.pick(&[-3, -2, -1, 0, 1, 2, 2, 3, 4]);
                let sp = self.spelling();
                let a = if n < 0 {
                    self.positive(scope, ty, d, 0.5, 1e9)
                } else {
                    let a = self.expr(scope, ty, d);
                    let m = match n {
                        0 | 1 => BOUND,
                        2 => 3.4,
                        3 => 2.2,
                        _ => 1.8,
                    };
                    self.fit(a, m)
                };
                if !self.receiver_ok(scope, &a, None, Receiver::Float) {
                    return None;
                }
                self.powi(sp, a, n)
            }
            81..=83 => {
                let sp = self.spelling();
                let x = self.expr(scope, ty, d);
                let bound = |g: &mut Self, lo: bool| {
                    let t = if ty != Ty::S && g.chance(0.2) {
                        ty
                    } else {
                        Ty::S
                    };
                    if t == Ty::S && g.chance(0.6) {
                        let v = if lo {
                            g.pick(&[-1.0, -0.5, 0.0, 0.25])
                        } else {
                            g.pick(&[0.5, 1.0, 2.0, 0.0])
                        };
                        g.literal(scope, v)
                    } else {
                        let e = g.expr(scope, t, d);
                        g.fit(e, 2.0)
                    }
                };
                let lo = bound(self, true);
                let hi = bound(self, false);
                if !self.receiver_ok(scope, &x, None, Receiver::RealTrait) {
                    return None;
                }
                let (l, h) = (x.lo.min(lo.lo).min(hi.lo), x.hi.max(lo.hi).max(hi.hi));
                Expr {
                    kind: Kind::Clamp(sp, Box::new(x), Box::new(lo), Box::new(hi)),
                    ty,
                    lo: l,
                    hi: h,
                }
            }
            66..=80 => {
                let b = self.pick(&Binary::ALL);
                let sp = self.spelling();
                let (ta, tb) = self.operand_types(ty);
                let (x, y) = match b {
                    Binary::Powf => {
                        let x = self.positive(scope, ta, d, 0.3, 3.0);
                        let y = self.expr(scope, tb, d);
                        (x, self.fit(y, 2.0))
                    }
                    Binary::LeakyRelu => {
                        let x = self.expr(scope, ta, d);
                        let y = self.expr(scope, tb, d);
                        (x, self.fit(y, 1.0))
                    }
                    Binary::Max | Binary::Min => {
                        let x = self.expr(scope, ta, d);
                        let y = self.expr(scope, tb, d);
                        (x, y)
                    }
                    Binary::Elu => {
                        let x = self.expr(scope, ta, d);
                        let y = self.expr(scope, tb, d);
                        (self.fit(x, 2.4), self.fit(y, 2.0))
                    }
                };
                let op = if matches!(b, Binary::LeakyRelu | Binary::Elu) {
                    Receiver::RealTrait
                } else {
                    Receiver::Float
                };
                if !self.receiver_ok(scope, &x, Some(&y), op) {
                    return None;
                }
                self.binary(b, sp, x, y)
            }
            _ => match ty {
                Ty::S if self.chance(0.35) => {
                    let r = self.pick(&Reduction::ALL);
                    let sp = self.spelling();
                    let t = if r != Reduction::LogSumExp && self.chance(0.5) {
                        Ty::M(2, 2 + self.below(2))
                    } else {
                        Ty::V(self.vector_len(scope))
                    };
                    let a = self.expr(scope, t, d);
                    let a = self.fit(a, 6.0);
                    let n = t.len() as f64;
                    let (lo, hi) = match r {
                        Reduction::Mean | Reduction::Max | Reduction::Min => (a.lo, a.hi),
                        Reduction::LogSumExp => (a.lo, a.hi + n.ln()),
                        Reduction::Norm => (0.0, a.mag() * n.sqrt()),
                    };
                    Expr {
                        kind: Kind::Reduce(r, sp, Box::new(a)),
                        ty,
                        lo,
                        hi,
                    }
                }
                Ty::S => match self.below(4) {
                    0 => {
                        let n = self.vector_len(scope);
                        let a = self.expr(scope, Ty::V(n), d);
                        let b = self.expr(scope, Ty::V(n), d);
                        let (a, b) = (self.fit(a, 1.7), self.fit(b, 1.7));
                        let m = a.mag() * b.mag() * n as f64;
                        Expr {
                            kind: Kind::Dot(Box::new(a), Box::new(b)),
                            ty,
                            lo: -m,
                            hi: m,
                        }
                    }
                    1 => {
                        let t = if self.chance(0.75) {
                            Ty::V(self.vector_len(scope))
                        } else {
                            Ty::M(2, 2 + self.below(2))
                        };
                        let a = self.expr(scope, t, d);
                        let a = self.fit(a, BOUND / t.len() as f64);
                        let (lo, hi) = (a.lo * t.len() as f64, a.hi * t.len() as f64);
                        Expr {
                            kind: Kind::Sum(Box::new(a)),
                            ty,
                            lo,
                            hi,
                        }
                    }
                    _ => {
                        // An element of a computed vector.
                        let n = self.vector_len(scope);
                        let a = self.expr(scope, Ty::V(n), d);
                        if matches!(a.kind, Kind::Var(_)) {
                            return None;
                        }
                        let k = self.below(n);
                        self.index(a, k)
                    }
                },
                Ty::V(n) => match self.below(4) {
                    0 | 1 => {
                        let a = self.expr(scope, ty, d);
                        let a = self.fit(a, 6.0);
                        if !self.receiver_ok(scope, &a, None, Receiver::Float) {
                            return None;
                        }
                        softmax(self.chance(0.5), a)
                    }
                    2 => {
                        let c = self.vector_len(scope);
                        let m = self.expr(scope, Ty::M(n, c), d);
                        let v = self.expr(scope, Ty::V(c), d);
                        let (m, v) = (self.fit(m, 1.7), self.fit(v, 1.7));
                        let bound = m.mag() * v.mag() * c as f64;
                        Expr {
                            kind: Kind::MatVec(Box::new(m), Box::new(v)),
                            ty,
                            lo: -bound,
                            hi: bound,
                        }
                    }
                    _ => {
                        let items = (0..n).map(|_| self.expr(scope, Ty::S, d)).collect();
                        Self::array(items)
                    }
                },
                Ty::M(r, c) => match self.below(8) {
                    0 | 1 => {
                        let sp = self.spelling();
                        let a = self.expr(scope, Ty::M(c, r), d);
                        let (lo, hi) = (a.lo, a.hi);
                        Expr {
                            kind: Kind::Transpose(sp, Box::new(a)),
                            ty,
                            lo,
                            hi,
                        }
                    }
                    2..=4 => {
                        let sp = self.spelling();
                        let k = 2 + self.below(2);
                        let a = self.expr(scope, Ty::M(r, k), d);
                        let b = self.expr(scope, Ty::M(k, c), d);
                        let (a, b) = (self.fit(a, 1.7), self.fit(b, 1.7));
                        let bound = a.mag() * b.mag() * k as f64;
                        Expr {
                            kind: Kind::MatMul(sp, Box::new(a), Box::new(b)),
                            ty,
                            lo: -bound,
                            hi: bound,
                        }
                    }
                    5 | 6 => {
                        let sp = self.spelling();
                        let u = self.expr(scope, Ty::V(r), d);
                        let v = self.expr(scope, Ty::V(c), d);
                        let (u, v) = (self.fit(u, 3.4), self.fit(v, 3.4));
                        let (lo, hi) = corners(u.lo, u.hi, v.lo, v.hi, |x, y| x * y);
                        Expr {
                            kind: Kind::Outer(sp, Box::new(u), Box::new(v)),
                            ty,
                            lo,
                            hi,
                        }
                    }
                    _ => {
                        let rows = (0..r).map(|_| self.expr(scope, Ty::V(c), d)).collect();
                        Self::array(rows)
                    }
                },
            },
        };
        Some(self.dropout(e))
    }

    /// Now and then `e` in dropout, drawn from a stream of its own: the
    /// value in inference, where the checks run, is `e`, so its interval
    /// is `e`'s and the rest of the program is what it would be without.
    fn dropout(&mut self, e: Expr) -> Expr {
        if !self.dropout_rng.random_bool(0.06) {
            return e;
        }
        let p = [0.5, 0.25, 0.1, 0.0, 0.9][self.dropout_rng.random_range(0..5)];
        let sp = if self.dropout_rng.random_bool(0.5) {
            Spelling::Method
        } else {
            Spelling::Function
        };
        let (ty, lo, hi) = (e.ty, e.lo, e.hi);
        Expr {
            kind: Kind::Dropout(sp, Box::new(e), p),
            ty,
            lo,
            hi,
        }
    }

    /// A vector length, preferring one in scope.
    fn vector_len(&mut self, scope: &Scope) -> usize {
        let lens: Vec<usize> = scope
            .vars
            .iter()
            .filter_map(|v| match v.ty {
                Ty::V(n) => Some(n),
                _ => None,
            })
            .collect();
        if !lens.is_empty() && self.chance(0.7) {
            self.pick(&lens)
        } else {
            2 + self.below(3)
        }
    }

    /// Whether `x` may be the receiver of the method the macro emits for
    /// `op` (with `y` the second operand of a binary one): always with the
    /// feature on, in a generic neuron (whose literals are typed) and for a
    /// method of `neuron_core::Real`, which an untyped literal finds;
    /// otherwise when it is not a [`constant_receiver`].
    fn receiver_ok(&mut self, scope: &Scope, x: &Expr, y: Option<&Expr>, op: Receiver) -> bool {
        self.features.constant_receivers
            || matches!(scope.float, Float::Generic(_))
            || op == Receiver::RealTrait
            || !constant_receiver(&scope.values, &scope.live, x, y)
    }
}

/// Whether `x`, the receiver of an `f32`/`f64` method the macro emits (with
/// `y` the second operand of a binary one), may be emitted as an untyped
/// literal: unless it stays a variable in the generated code (an array
/// literal, always bound to a typed name, or an expression of the
/// arguments that does not fold to constants), or the whole call folds
/// (real constants only). `values` and `live` are the binding slots'
/// values and whether they depend on an argument.
pub fn constant_receiver(
    values: &[Option<Expr>],
    live: &[bool],
    x: &Expr,
    y: Option<&Expr>,
) -> bool {
    if literal_items(values, x).is_some() || depends(values, live, x) && !folds(values, x) {
        return false;
    }
    let folds_whole = match y {
        None => x.ty == Ty::S && folds(values, x),
        Some(y) => x.ty == Ty::S && y.ty == Ty::S && folds(values, x) && folds(values, y),
    };
    !folds_whole
}

/// Whether the macro's simplifier turns `e` into constants: literals and
/// what is computed from them alone, products with an exact zero, and
/// elements of array literals that do; array literals themselves stay
/// arrays. `values` holds the value of every binding slot.
pub fn folds(values: &[Option<Expr>], e: &Expr) -> bool {
    let zero = |e: &Expr| is_zero(values, e);
    match &e.kind {
        Kind::Lit(..) => true,
        Kind::Var(slot) => values
            .get(*slot)
            .and_then(Option::as_ref)
            .is_some_and(|v| folds(values, v)),
        Kind::Neg(a) | Kind::Unary(_, _, a) | Kind::Powi(_, a, _) => folds(values, a),
        Kind::Arith(Arith::Mul, a, b) => zero(a) || zero(b) || folds(values, a) && folds(values, b),
        Kind::Arith(Arith::Div, a, b) => zero(a) || folds(values, a) && folds(values, b),
        Kind::Arith(_, a, b) | Kind::Binary(_, _, a, b) => folds(values, a) && folds(values, b),
        Kind::Index(a, k) => match literal_items(values, a) {
            Some(items) => folds(values, &items[*k]),
            None => folds(values, a),
        },
        Kind::Const(..) => true,
        Kind::Clamp(_, x, lo, hi) => folds(values, x) && folds(values, lo) && folds(values, hi),
        Kind::Array(_)
        | Kind::Softmax(..)
        | Kind::Reduce(..)
        | Kind::Transpose(..)
        | Kind::MatMul(..)
        | Kind::Outer(..)
        // Dropout is never folded: while training it is not constant.
        | Kind::Dropout(..) => false,
        Kind::Dot(a, b) | Kind::MatVec(a, b) => zero(a) || zero(b),
        Kind::Sum(a) => zero(a),
    }
}

/// Whether `e` folds to an exact zero: its interval is `0..0`, read off the
/// element itself for an element of an array literal, or off the value of
/// a name.
fn is_zero(values: &[Option<Expr>], e: &Expr) -> bool {
    match &e.kind {
        Kind::Index(a, k) => match literal_items(values, a) {
            Some(items) => is_zero(values, &items[*k]),
            None => folds(values, e) && e.lo == 0.0 && e.hi == 0.0,
        },
        Kind::Var(slot) => values
            .get(*slot)
            .and_then(Option::as_ref)
            .is_some_and(|v| is_zero(values, v)),
        _ => folds(values, e) && e.lo == 0.0 && e.hi == 0.0,
    }
}

/// The items of `e` when it is an array literal, a name bound to one, or a
/// row of one.
fn literal_items<'v>(values: &'v [Option<Expr>], e: &'v Expr) -> Option<&'v [Expr]> {
    match &e.kind {
        Kind::Array(items) => Some(items),
        Kind::Var(slot) => literal_items(values, values.get(*slot)?.as_ref()?),
        Kind::Index(a, k) => literal_items(values, &literal_items(values, a)?[*k]),
        _ => None,
    }
}

/// Whether `e` depends on an argument; `live` says which slots do, and
/// `values` holds the bindings' values (an element of an array literal
/// depends on what that element does).
pub fn depends(values: &[Option<Expr>], live: &[bool], e: &Expr) -> bool {
    let depends = |e: &Expr, live: &[bool]| depends(values, live, e);
    match &e.kind {
        Kind::Var(slot) => live[*slot],
        Kind::Lit(..) | Kind::Const(..) => false,
        Kind::Index(a, k) => match literal_items(values, a) {
            Some(items) => depends(&items[*k], live),
            None => depends(a, live),
        },
        Kind::Neg(a)
        | Kind::Unary(_, _, a)
        | Kind::Powi(_, a, _)
        | Kind::Sum(a)
        | Kind::Softmax(_, a)
        | Kind::Dropout(_, a, _)
        | Kind::Reduce(_, _, a)
        | Kind::Transpose(_, a) => depends(a, live),
        Kind::Arith(_, a, b)
        | Kind::Binary(_, _, a, b)
        | Kind::Dot(a, b)
        | Kind::MatVec(a, b)
        | Kind::MatMul(_, a, b)
        | Kind::Outer(_, a, b) => depends(a, live) || depends(b, live),
        Kind::Clamp(_, x, lo, hi) => depends(x, live) || depends(lo, live) || depends(hi, live),
        Kind::Array(items) => items.iter().any(|i| depends(i, live)),
    }
}

/// A float literal.
fn float_literal(value: f64) -> Expr {
    Expr {
        kind: Kind::Lit(value, LitStyle::Float),
        ty: Ty::S,
        lo: value,
        hi: value,
    }
}

/// `softmax(a)`, or `log_softmax(a)` when `log`.
fn softmax(log: bool, a: Expr) -> Expr {
    let (ty, n) = (a.ty, a.ty.len() as f64);
    let (lo, hi) = if log {
        (a.lo - a.hi - n.ln(), 0.0)
    } else {
        (0.0, 1.0)
    };
    Expr {
        kind: Kind::Softmax(log, Box::new(a)),
        ty,
        lo,
        hi,
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The least and greatest of `f` at the corners of a box.
fn corners(a: f64, b: f64, c: f64, d: f64, f: impl Fn(f64, f64) -> f64) -> (f64, f64) {
    let vals = [f(a, c), f(a, d), f(b, c), f(b, d)];
    (
        vals.iter().copied().fold(f64::INFINITY, f64::min),
        vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    )
}
