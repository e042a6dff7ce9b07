//! Dropout as an op of the language: `dropout(x, p)` (or `x.dropout(p)`)
//! multiplies each element of `x` by its mask value, a draw of
//! `neuron_core::dropout`: while training, `0` with probability `p` and
//! `1 / (1 - p)` otherwise; in inference, `1`.
//!
//! The value is not a function of the operands alone: it depends on the
//! element's index and on the thread's dropout key, which only the compiled
//! program knows. Its meaning here is the inference one ([`Eval::Inference`],
//! the identity), so nothing folds it, computes it once for a broadcast real,
//! or takes it for a constant. Each dropout op of a neuron carries its
//! ordinal ([`Prim::Dropout`]`(k)`, numbered by `lower` in the order the
//! body computes them), so two dropout ops are two nodes with masks of
//! their own, named by the site `neuron_core::dropout::site("<neuron>", k)`.
//!
//! The mask depends only on the key, the site and the index, so the
//! adjoint draws it again rather than keeping it: `d_x = d_y` times the same
//! factor, which is `dropout_k(d_y, p)`. `p` is a constant in `[0, 1)`
//! (`check` refuses anything else), so the factor is finite and no
//! derivative flows into `p`. NaN is kept: a NaN element times a factor of
//! `0` is NaN, as is an infinite one (IEEE's `inf * 0`).
//!
//! ```text
//! let mask = ::neuron_core::dropout::Mask::current();       // once per pass
//! let h: [f64; 8] = ::core::array::from_fn(|i| {
//!     relu(matvec[i]) * mask.factor(0.5, const { ::neuron_core::dropout::site("net", 0) }, i)
//! });
//! let d_relu = ... d_h[i] * mask.factor(0.5, const { ... site("net", 0) }, i) ...
//! ```

use super::{Domain, Emit, Eval, Kind, Kink, OpDef, Param, Prim, ShapeError, Spelling};
use crate::emit::{ElemCx, Operand, Prec};
use proc_macro2::Literal;
use quote::quote;

/// `dropout(x, p)`: `x` with each element kept and scaled by `1 / (1 - p)`,
/// or dropped, while training; `x` in inference.
pub const DROPOUT: OpDef = OpDef {
    name: "dropout",
    spellings: &[Spelling::both("dropout")],
    params: &[Param::Real, Param::Probability],
    value_name: "dropout",
    // Shaped like `x`; `p` is one real for every element.
    shape: |cx, s| match s {
        [x, p] if p.is_empty() => Ok(x.clone()),
        [_, p] => Err(ShapeError::operand(
            1,
            format!(
                "the drop probability of `{}` is one real for every element, found {}",
                cx.spelling,
                cx.ty(p)
            ),
        )),
        _ => Err(ShapeError::call(format!(
            "`{}` takes an array or a real and a probability",
            cx.spelling
        ))),
    },
    eval: Eval::Inference(|x| x[0]),
    kind: Kind::Elementwise,
    reads_once: &[],
    emit: Emit::Elem(emit),
    repeats: &[],
    exact: false,
    // The same mask again, on the upstream derivative.
    adjoint: |g, s| vec![Some(g.apply(s.prim, &[s.d, s.operands[1]])), None],
    kink: Kink::None,
    zero_if_zero: &[true, false],
    domain: &[Domain::Any, Domain::Any],
    doc: "`x` with each element dropped (0) with probability `p` or scaled by `1 / (1 - p)` while training, `x` in inference; `p` a constant in `[0, 1)`",
};

/// `x[i] * mask.factor(p, const { ::neuron_core::dropout::site("net", k) }, i)`,
/// the index flat (row-major) and `0` for a real; the factor alone where
/// `x` is the constant 1 (an upstream derivative of `gradient`).
fn emit(cx: &mut ElemCx, x: Vec<Operand>) -> Operand {
    let (Some(Prim::Dropout(k)), [value, p]) = (cx.prim(), x.as_slice()) else {
        return Operand::new(Default::default(), Prec::Atom);
    };
    let mask = cx.dropout_mask();
    let neuron = Literal::string(cx.neuron_name());
    let ordinal = Literal::u32_unsuffixed(k);
    let index = cx.flat_index();
    let p_tokens = &p.tokens;
    let factor = quote! {
        #mask.factor(#p_tokens, const { ::neuron_core::dropout::site(#neuron, #ordinal) }, #index)
    };
    let one = cx
        .operand_ids()
        .first()
        .is_some_and(|&o| cx.graph().const_value(o) == Some(1.0));
    if one {
        return Operand::new(factor, Prec::Atom).anchored(p.anchored);
    }
    let anchored = value.anchored || p.anchored;
    let mut tokens = value.clone().at_least(Prec::Product);
    tokens.extend(quote!(* #factor));
    Operand::new(tokens, Prec::Product).anchored(anchored)
}

#[cfg(test)]
mod tests {
    use crate::diff::simplified_adjoints as adjoints;
    use crate::eval::eval;
    use crate::ir::graph;
    use crate::ops::Prim;
    use crate::simplify::simplify;

    #[test]
    fn the_adjoint_draws_the_same_mask_on_the_upstream_derivative() {
        assert_eq!(
            adjoints("x:3", "(sum (dropout:0 x 0.5))", "1"),
            ["(dropout:0 (fill [3] 1) 0.5)"]
        );
        assert_eq!(
            adjoints("x:3 w:3", "(dot w (dropout:2 (tanh x) 0.25))", "dy"),
            [
                "(* (dropout:2 (* dy w) 0.25) (- 1 (* (tanh x) (tanh x))))",
                "(* dy (dropout:2 (tanh x) 0.25))"
            ]
        );
        // A real, element 0's mask. The contribution through the product
        // is the forward value, the one through dropout the same mask on
        // `d = a`: one node, as both are `a` times the factor (2 a m).
        assert_eq!(
            adjoints("a", "(* (dropout:1 a 0.5) a)", "1"),
            ["(+ (dropout:1 a 0.5) (dropout:1 a 0.5))"]
        );
    }

    /// Dropout is not a function of its operands' values: never folded,
    /// never computed once for a broadcast real, and two ops with the same
    /// operands are two nodes.
    #[test]
    fn it_is_never_folded_unfilled_or_shared_across_sites() {
        let simplified = |args: &str, text: &str| {
            let mut g = graph(args);
            let y = g.parse(text).unwrap();
            let (s, roots) = simplify(&g, &[y]);
            s.print(roots[0])
        };
        assert_eq!(simplified("x", "(dropout:0 2 0.5)"), "(dropout:0 2 0.5)");
        assert_eq!(
            simplified("s", "(sum (dropout:0 (fill [3] s) 0.5))"),
            "(sum (dropout:0 (fill [3] s) 0.5))"
        );
        let mut g = graph("x:3");
        let a = g.parse("(dropout:0 x 0.5)").unwrap();
        let b = g.parse("(dropout:1 x 0.5)").unwrap();
        assert_ne!(a, b);
        assert_eq!(g.parse("(dropout:1 x 0.5)").unwrap(), b);
        assert!(!Prim::Dropout(0).def().eval.is_pure());
    }

    #[test]
    fn its_meaning_here_is_inference_the_identity() {
        let mut g = graph("x:3");
        let y = g.parse("(dropout:0 x 0.5)").unwrap();
        let values = eval(&g, &[vec![1.0, f64::NAN, -2.0]]).unwrap();
        assert_eq!(values[y][0], 1.0);
        assert!(values[y][1].is_nan());
        assert_eq!(values[y][2], -2.0);
    }

    #[test]
    fn it_prints_and_parses_with_its_ordinal() {
        let mut g = graph("x:3");
        let id = g.parse("(dropout x 0.5)").unwrap();
        assert_eq!(g.print(id), "(dropout:0 x 0.5)");
        let id = g.parse("(dropout:7 x 0.5)").unwrap();
        assert_eq!(g.print(id), "(dropout:7 x 0.5)");
        assert_eq!(Prim::from_name("dropout:3", 2), Some(Prim::Dropout(3)));
    }
}
