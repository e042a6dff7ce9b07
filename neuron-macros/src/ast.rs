//! The typed AST of a `#[neuron]` function: what `parse` produces and
//! `check` and `lower` consume. Every node keeps the span of its source
//! tokens, so later stages can point errors at the offending token.

use proc_macro2::{Ident, Span, TokenStream, TokenTree};

/// The first and last token of a piece of source, so that an error can
/// underline the whole of it (as `syn::Error::new_spanned` does).
#[derive(Clone, Copy, Debug)]
pub struct Sp {
    pub first: Span,
    pub last: Span,
}

impl Sp {
    pub fn of(tokens: &impl quote::ToTokens) -> Sp {
        let stream = tokens.to_token_stream();
        let mut iter = stream.into_iter();
        let first = iter.next().map_or_else(Span::call_site, |t| t.span());
        let last = iter.last().map_or(first, |t| t.span());
        Sp { first, last }
    }

    pub fn single(span: Span) -> Sp {
        Sp {
            first: span,
            last: span,
        }
    }

    /// An error underlining this source range.
    pub fn error(self, message: impl std::fmt::Display) -> syn::Error {
        let mut tokens = TokenStream::new();
        tokens.extend([
            TokenTree::Ident(Ident::new("first", self.first)),
            TokenTree::Ident(Ident::new("last", self.last)),
        ]);
        syn::Error::new_spanned(tokens, message)
    }
}

/// The float type every real in the function has.
#[derive(Clone, Debug)]
pub enum RealType {
    F32,
    F64,
    /// A type parameter bounded by `Real`.
    Generic(Ident),
}

/// The length of one dimension of an array: a literal (`[T; 3]`) or a
/// const generic parameter of the function (`[T; N]`), compared by name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    Fixed(usize),
    Param(String),
}

impl Dim {
    /// The length, when it is a literal.
    pub fn fixed(&self) -> Option<usize> {
        match self {
            Dim::Fixed(n) => Some(*n),
            Dim::Param(_) => None,
        }
    }
}

impl From<usize> for Dim {
    fn from(n: usize) -> Dim {
        Dim::Fixed(n)
    }
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Param(name) => f.write_str(name),
        }
    }
}

/// The length as it is written in Rust: `3`, or `N`.
impl quote::ToTokens for Dim {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Dim::Fixed(n) => proc_macro2::Literal::usize_unsuffixed(*n).to_tokens(tokens),
            Dim::Param(name) => Dim::param_ident(name).to_tokens(tokens),
        }
    }
}

impl Dim {
    /// The identifier of a const parameter as it was written, `N` or a raw
    /// `r#in`.
    pub fn param_ident(name: &str) -> Ident {
        match name.strip_prefix("r#") {
            Some(raw) => Ident::new_raw(raw, Span::call_site()),
            None => Ident::new(name, Span::call_site()),
        }
    }
}

/// A shape: empty for a scalar, `[n]` for `[T; n]`, `[m, n]` for `[[T; n]; m]`.
pub type Shape = Vec<Dim>;

/// A shape of literal lengths.
#[cfg(test)]
pub fn fixed(dims: &[usize]) -> Shape {
    dims.iter().map(|&n| Dim::Fixed(n)).collect()
}

/// The number of elements of `shape` when every length is a literal.
pub fn count(shape: &[Dim]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |n, d| d.fixed().and_then(|d| n.checked_mul(d)))
}

/// A written type as far as parsing got: its shape, or poisoned when it
/// failed to parse. The failure is reported once, by the parser; the
/// checker stays silent about a poisoned name's uses, so that one mistake
/// does not cascade.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Declared {
    Shape(Shape),
    Poisoned,
}

impl Declared {
    pub fn shape(&self) -> Option<&Shape> {
        match self {
            Declared::Shape(s) => Some(s),
            Declared::Poisoned => None,
        }
    }
}

/// One argument of the function. `S` is [`Shape`] once the whole function
/// parsed, and [`Declared`] while parts of it may have failed.
#[derive(Clone, Debug)]
pub struct Arg<S = Shape> {
    pub name: Ident,
    pub shape: S,
    pub param: bool,
    pub ty: syn::Type,
}

/// A `let` binding, with its written type when there is one.
#[derive(Clone, Debug)]
pub struct Let<S = Shape> {
    pub name: Ident,
    pub shape: Option<(S, Sp)>,
    pub value: Expr,
}

/// The whole function. `Function<Declared>` is what parsing gives even
/// after errors, for checking; `Function` (of [`Shape`]) is a function that
/// parsed completely, for the stages after checking.
#[derive(Clone, Debug)]
pub struct Function<S = Shape> {
    pub attrs: Vec<syn::Attribute>,
    pub vis: syn::Visibility,
    pub name: Ident,
    pub generics: syn::Generics,
    pub real: RealType,
    /// The const generic parameters (`const N: usize`), in order.
    pub consts: Vec<Ident>,
    pub args: Vec<Arg<S>>,
    pub ret: syn::Type,
    pub ret_shape: S,
    pub lets: Vec<Let<S>>,
    pub result: Expr,
}

impl Function<Declared> {
    /// The function with every shape known, or `None` if a type, a binding
    /// or the result was poisoned by a parse error. (A poisoned expression
    /// deeper inside exists only next to a reported parse error, after
    /// which nothing is lowered.)
    pub fn known(self) -> Option<Function> {
        let known = |d: Declared| match d {
            Declared::Shape(s) => Some(s),
            Declared::Poisoned => None,
        };
        let args = self
            .args
            .into_iter()
            .map(|a| {
                Some(Arg {
                    shape: known(a.shape)?,
                    name: a.name,
                    param: a.param,
                    ty: a.ty,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let lets = self
            .lets
            .into_iter()
            .map(|l| {
                let shape = match l.shape {
                    Some((d, sp)) => Some((known(d)?, sp)),
                    None => None,
                };
                (!l.value.is_poisoned()).then_some(Let {
                    shape,
                    name: l.name,
                    value: l.value,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        if self.result.is_poisoned() {
            return None;
        }
        Some(Function {
            attrs: self.attrs,
            vis: self.vis,
            name: self.name,
            generics: self.generics,
            real: self.real,
            consts: self.consts,
            args,
            ret: self.ret,
            ret_shape: known(self.ret_shape)?,
            lets,
            result: self.result,
        })
    }
}

/// Options given in the attribute, as in `#[neuron(gradcheck)]`.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub gradcheck: bool,
    /// `#[neuron(hvp)]`: `hvp` is required, and its absence (see
    /// `expand::hvp_rule`) an error at this span.
    pub hvp: Option<proc_macro2::Span>,
    /// `#[neuron(hessian)]`: `hessian` is required likewise.
    pub hessian: Option<proc_macro2::Span>,
    /// `#[neuron(gradcheck(points = .., range = .., tolerance = ..))]`;
    /// `None` takes the default.
    pub gradcheck_options: GradcheckOptions,
}

/// The options of the generated gradient check.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GradcheckOptions {
    /// How many random points, at least 1.
    pub points: Option<usize>,
    /// The interval arguments are drawn from, `lo < hi`, both finite.
    pub range: Option<(f64, f64)>,
    /// The relative tolerance, finite and `> 0`.
    pub tolerance: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// An expression of the language.
#[derive(Clone, Debug)]
pub enum Expr {
    /// A numeric literal. `int` is set when it was written as an integer,
    /// `suffix` when it was written with one (`0.5f32`, `2.0_f64`).
    Lit {
        value: f64,
        int: Option<i64>,
        suffix: Option<&'static str>,
        sp: Sp,
    },
    Var(Ident),
    Neg {
        expr: Box<Expr>,
        sp: Sp,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        sp: Sp,
    },
    /// `expr[index]` with a literal index.
    Index {
        expr: Box<Expr>,
        index: usize,
        index_sp: Sp,
        sp: Sp,
    },
    /// A function call, or a method call rewritten as one (`x.exp()` is
    /// `exp(x)`). `name_sp` is the function or method name.
    Call {
        name: Ident,
        args: Vec<Expr>,
        method: bool,
        sp: Sp,
    },
    Array {
        elems: Vec<Expr>,
        sp: Sp,
    },
    /// The placeholder of an expression that failed to parse, after its
    /// error was reported: it has no shape, and nothing is said about it.
    Poison(Sp),
    /// A construct that was rejected after its error was reported (`x ^ 2`),
    /// whose operands parsed: they are checked for mistakes of their own,
    /// so one compile reports those too; it has no shape itself.
    Rejected {
        parts: Vec<Expr>,
        sp: Sp,
    },
}

impl Expr {
    pub fn sp(&self) -> Sp {
        match self {
            Expr::Lit { sp, .. }
            | Expr::Neg { sp, .. }
            | Expr::Binary { sp, .. }
            | Expr::Index { sp, .. }
            | Expr::Call { sp, .. }
            | Expr::Array { sp, .. }
            | Expr::Poison(sp)
            | Expr::Rejected { sp, .. } => *sp,
            Expr::Var(ident) => Sp::single(ident.span()),
        }
    }

    /// Whether this expression, at its top, failed to parse.
    pub fn is_poisoned(&self) -> bool {
        matches!(self, Expr::Poison(_) | Expr::Rejected { .. })
    }
}
