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

/// A shape: empty for a scalar, `[n]` for `[T; n]`, `[m, n]` for `[[T; n]; m]`.
pub type Shape = Vec<usize>;

/// One argument of the function.
#[derive(Clone, Debug)]
pub struct Arg {
    pub name: Ident,
    pub shape: Shape,
    pub param: bool,
    pub ty: syn::Type,
}

/// A `let` binding. `ty` is the written type, when there is one.
#[derive(Clone, Debug)]
pub struct Let {
    pub name: Ident,
    pub shape: Option<(Shape, Sp)>,
    pub value: Expr,
}

/// The whole function.
#[derive(Clone, Debug)]
pub struct Function {
    pub attrs: Vec<syn::Attribute>,
    pub vis: syn::Visibility,
    pub name: Ident,
    pub generics: syn::Generics,
    pub real: RealType,
    pub args: Vec<Arg>,
    pub ret: syn::Type,
    pub ret_shape: Shape,
    pub lets: Vec<Let>,
    pub result: Expr,
}

/// Options given in the attribute, as in `#[neuron(gradcheck)]`.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub gradcheck: bool,
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
    /// A numeric literal. `int` is set when it was written as an integer.
    Lit {
        value: f64,
        int: Option<i64>,
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
}

impl Expr {
    pub fn sp(&self) -> Sp {
        match self {
            Expr::Lit { sp, .. }
            | Expr::Neg { sp, .. }
            | Expr::Binary { sp, .. }
            | Expr::Index { sp, .. }
            | Expr::Call { sp, .. }
            | Expr::Array { sp, .. } => *sp,
            Expr::Var(ident) => Sp::single(ident.span()),
        }
    }
}
