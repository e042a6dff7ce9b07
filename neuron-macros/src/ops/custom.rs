//! Functions with declared derivatives, as ops of the registry: a plain
//! Rust function whose derivative `#[neuron::derivative]` (or a surrogate,
//! `#[neuron::surrogate]`) declared, called by a `#[neuron]` function.
//!
//! The macro cannot see such a function: it knows its name, from the call,
//! and its arity. One definition per arity serves every one of them; the
//! name travels in the op ([`Prim::Custom`]). It applies element-wise,
//! broadcasting reals over arrays like any scalar function of the library;
//! its meaning is the user's, so it is never folded or evaluated here. Its
//! adjoint is `d` times each declared partial derivative
//! ([`Prim::CustomPartial`]), as a safe product: a declared derivative may
//! be infinite where no gradient flows.
//!
//! ```text
//! let h = heaviside(z);                       // in the #[neuron] function
//! super::heaviside(z[i])                      // the value: the user's function
//! if d_h[i] == 0.0 { d_h[i] } else { d_h[i] * heaviside::derivative(z[i]) }
//! ```
//!
//! `heaviside::derivative` (`hypot::partial_0`, `hypot::partial_1` for a
//! function of two arguments) is an item of the module `#[neuron]`
//! generates, which reaches the declaration (see `crate::declared`).

use super::{
    Domain, Emit, Eval, Kind, Kink, MAX_CUSTOM_ARITY, OpDef, Param, Prim, Site, broadcast,
};
use crate::emit::{ElemCx, Operand, Prec, ident};
use crate::ir::{Graph, NodeId};
use proc_macro2::Ident;
use quote::quote_spanned;

const REALS: &[Param] = &[Param::Real; MAX_CUSTOM_ARITY];
const ANYS: &[Domain] = &[Domain::Any; MAX_CUSTOM_ARITY];
const NEVER: &[bool] = &[false; MAX_CUSTOM_ARITY];

/// The definition of a declared function of `arity` arguments, or of its
/// partial derivatives.
const fn def(arity: usize, partial: bool) -> OpDef {
    OpDef {
        name: if partial { "partial" } else { "custom" },
        // Called by the user's own name, which `check` resolves.
        spellings: &[],
        params: REALS.split_at(arity).0,
        value_name: "custom",
        shape: broadcast,
        eval: Eval::Opaque,
        kind: Kind::Elementwise,
        reads_once: &[],
        emit: Emit::Elem(if partial { emit_partial } else { emit_value }),
        repeats: &[],
        // The user's function: whatever it computes happens at run time.
        exact: false,
        adjoint: if partial { partial_adjoint } else { adjoint },
        kink: Kink::None,
        zero_if_zero: NEVER.split_at(arity).0,
        domain: ANYS.split_at(arity).0,
        doc: if partial {
            "a declared partial derivative of a function of the user's"
        } else {
            "a function of the user's with a declared derivative"
        },
    }
}

/// The declared functions, by arity (none takes no argument).
pub static CUSTOM: [OpDef; MAX_CUSTOM_ARITY + 1] = [
    def(0, false),
    def(1, false),
    def(2, false),
    def(3, false),
    def(4, false),
    def(5, false),
    def(6, false),
    def(7, false),
    def(8, false),
];

/// Their partial derivatives, by the arity of the function.
pub static CUSTOM_PARTIAL: [OpDef; MAX_CUSTOM_ARITY + 1] = [
    def(0, true),
    def(1, true),
    def(2, true),
    def(3, true),
    def(4, true),
    def(5, true),
    def(6, true),
    def(7, true),
    def(8, true),
];

/// `super::f(a, b)`: the user's function, a sibling of the `#[neuron]`
/// function whose module the generated code lives in. With the span of the
/// user's call, so that rustc's errors about it point there.
fn emit_value(cx: &mut ElemCx, x: Vec<Operand>) -> Operand {
    let Some(Prim::Custom(c)) = cx.prim() else {
        return Operand::new(Default::default(), Prec::Atom);
    };
    let span = cx.span();
    let name = ident(c.name, span);
    let anchored = x.iter().any(|o| o.anchored);
    let args = x.into_iter().map(|o| o.tokens);
    Operand::new(quote_spanned!(span=> super::#name(#(#args),*)), Prec::Atom).anchored(anchored)
}

/// `f::derivative(a)`, `f::partial_1(a, b)`: the item of the module
/// `#[neuron]` generates for `f` that calls the declared derivative.
fn emit_partial(cx: &mut ElemCx, x: Vec<Operand>) -> Operand {
    let Some(Prim::CustomPartial(c, k)) = cx.prim() else {
        return Operand::new(Default::default(), Prec::Atom);
    };
    let span = cx.span();
    let module = ident(c.name, span);
    let partial = Ident::new(&c.partial_name(k), span);
    let args = x.into_iter().map(|o| o.tokens);
    Operand::new(
        quote_spanned!(span=> #module::#partial(#(#args),*)),
        Prec::Atom,
    )
}

/// `d` times each declared partial derivative, for the operands that vary.
fn adjoint(g: &mut Graph, s: &Site) -> Vec<Option<NodeId>> {
    let Prim::Custom(c) = s.prim else {
        return vec![None; s.operands.len()];
    };
    let origin = g.nodes[s.y].origin;
    (0..c.arity)
        .map(|k| {
            if !s.varying.get(usize::from(k)).copied().unwrap_or(true) {
                return None;
            }
            let partial = g.apply(Prim::CustomPartial(c, k), s.operands);
            if g.nodes[partial].origin.is_none() {
                g.nodes[partial].origin = origin;
            }
            Some(g.apply(Prim::SafeMul, &[s.d, partial]))
        })
        .collect()
}

/// Only first derivatives are declared: the derivative of one is refused
/// rather than taken as zero.
fn partial_adjoint(g: &mut Graph, s: &Site) -> Vec<Option<NodeId>> {
    if let Prim::CustomPartial(c, _) = s.prim {
        g.internal_errors.push(format!(
            "`{}` has a declared first derivative only, so its second derivative cannot be taken",
            c.name
        ));
    }
    vec![None; s.operands.len()]
}

#[cfg(test)]
mod tests {
    use crate::diff::{differentiate, simplified_adjoints as adjoints};
    use crate::eval::eval;
    use crate::ir::graph;
    use crate::ops::{Custom, Prim};
    use crate::simplify::simplify;

    #[test]
    fn the_adjoint_is_each_declared_partial_times_d() {
        assert_eq!(
            adjoints("x y", "(custom:hypot x y)", "1"),
            ["(partial:hypot:0 x y)", "(partial:hypot:1 x y)"]
        );
        // A varying upstream derivative: a safe product, as the declared
        // derivative may be infinite where `d` is zero.
        assert_eq!(
            adjoints("x w", "(* w (custom:softclip x))", "1"),
            ["(safe* w (partial:softclip:0 x))", "(custom:softclip x)"]
        );
        // A constant operand gets no partial at all; a broadcast real sums
        // its contributions.
        assert_eq!(
            adjoints("x:3 s", "(sum (custom:hypot x 2))", "1"),
            ["(partial:hypot:0 x 2)", "(pack [])"]
        );
        assert_eq!(
            adjoints("x:3 s", "(sum (custom:hypot x s))", "1"),
            ["(partial:hypot:0 x s)", "(sum (partial:hypot:1 x s))"]
        );
    }

    #[test]
    fn the_users_function_is_never_folded_nor_evaluated() {
        let mut g = graph("x");
        let y = g.parse("(+ x (custom:softclip 2))").unwrap();
        let (s, roots) = simplify(&g, &[y]);
        assert_eq!(s.print(roots[0]), "(+ x (custom:softclip 2))");
        let error = eval(&g, &[vec![1.0]]).unwrap_err();
        assert!(
            error.contains("`softclip` is the user's function"),
            "{error}"
        );
    }

    #[test]
    fn second_derivatives_are_refused() {
        let mut g = graph("x");
        let y = g.parse("(partial:softclip:0 x)").unwrap();
        let one = g.konst(1.0);
        let error = differentiate(&mut g, y, one).unwrap_err();
        assert!(error.contains("declared first derivative only"), "{error}");
    }

    #[test]
    fn declared_functions_print_and_parse() {
        let mut g = graph("x:3 y");
        for text in [
            "(custom:softclip x)",
            "(custom:hypot x y)",
            "(partial:hypot:1 x y)",
            "(* (custom:softclip y) 2)",
        ] {
            let id = g.parse(text).unwrap();
            assert_eq!(g.print(id), text);
        }
        // Element-wise: a real broadcasts over the array.
        let id = g.parse("(custom:hypot x y)").unwrap();
        assert_eq!(g.shape(id).len(), 1);
        assert_eq!(
            Prim::from_name("custom:hypot", 2),
            Some(Prim::Custom(Custom::new("hypot", 2)))
        );
    }

    #[test]
    fn names_are_shared_and_partials_named_by_arity() {
        let a = Custom::new("softclip", 1);
        let b = Custom::new(&String::from("softclip"), 1);
        assert!(std::ptr::eq(a.name, b.name));
        assert_eq!(a.partial_name(0), "derivative");
        assert_eq!(Custom::new("hypot", 2).partial_name(1), "partial_1");
        assert_eq!(
            Prim::CustomPartial(a, 0).value_name(),
            "softclip_derivative"
        );
        // An arity beyond the limit, which `check` refuses, is clamped
        // rather than indexed out of bounds.
        assert_eq!(Prim::Custom(Custom::new("f", 99)).def().arity(), 8);
    }
}
