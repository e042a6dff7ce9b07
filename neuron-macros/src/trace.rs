//! `NAME::trace(args..)`: the chain rule at one point, step by step, for a
//! neuron with a scalar output; and the labels, in the user's terms, that
//! it and `NAME::DOT` give the nodes of the graph.
//!
//! The trace is built from the graph *before* simplification, so that each
//! local derivative the chain rule multiplies is there to show, though the
//! simplifier would fold it away (`∂(w[0] * x[0])/∂x[0] = w[0]`, times an
//! upstream derivative of 1). Every value a step records is kept as a root
//! through simplification, whose rewrites are exact, and computed as plain
//! Rust by the emitter, as in `gradient`, then recorded with its label:
//!
//! ```text
//! pub fn trace(x: [f64; 3], w: [f64; 3], b: f64) -> ::neuron_core::trace::Trace {
//!     let prod = w[0] * x[0];                                   // every value, named
//!     ...
//!     let mut neuron_trace = ::neuron_core::trace::Trace::new("unit");
//!     neuron_trace.push_input("x", Value::of::<f64, _>(&[3], &(x)));
//!     neuron_trace.push_forward("w[0] * x[0]", Value::of::<f64, _>(&[], &(prod)));
//!     neuron_trace.push_upstream("w[0] * x[0]", ..);                 // ∂unit/∂(w[0] * x[0])
//!     neuron_trace.push_local("w[0] * x[0]", "x[0]", "w[0]", Some(..), upstream, product);
//!     neuron_trace.push_partial("x", Value::of::<f64, _>(&[3], &(d_x)));
//!     neuron_trace
//! }
//! ```
//!
//! A local derivative is recorded where it is a number or an element-wise
//! array: for an element-wise op, and for an array op with a scalar result
//! (`dot`, `sum`), its adjoint rule applied to an upstream derivative of 1.
//! An array op with an array result (`matvec`, `softmax`) has a Jacobian
//! for local derivative, which the generated code never forms: the trace
//! records its product with the derivative from above (a vector-Jacobian
//! product), as it does for a call of another neuron, whose `backward`
//! computes that product.

use crate::ast::{Dim, Function, RealType};
use crate::diff;
use crate::docs::pretty_expr;
use crate::emit::{self, Body, Elements, Operand, Prec};
use crate::ir::{Graph, NodeId, Op, Shape};
use crate::items::{Sig, preamble};
use crate::ops::{Emit, Kind, Site};
use crate::simplify;
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// The local of the generated `trace` holding the trace it builds.
pub const TRACE_LOCAL: &str = "neuron_trace";

/// The longest label written whole; a longer one shows its operands as `…`.
const WHOLE: usize = 64;
/// The length of the label of a node named as the numerator of `∂a/∂b`.
const SHORT: usize = 24;

/// The labels of the nodes of a graph in the user's terms: their `let`
/// names and arguments, and the text of the subexpressions they compute.
pub struct Labels<'a> {
    g: &'a Graph,
    elements: Elements<'a>,
    /// Each node as an operand of another: its name, or its text when that
    /// is at most [`WHOLE`] long.
    as_operand: Vec<Option<(String, Prec)>>,
}

impl<'a> Labels<'a> {
    /// The labels of `g`'s nodes; `real` is the float type the literals of
    /// derivative-built ops are written in.
    pub fn new(g: &'a Graph, real: &'a RealType) -> Labels<'a> {
        let mut labels = Labels {
            g,
            elements: Elements::new(g, real),
            as_operand: Vec::with_capacity(g.nodes.len()),
        };
        for id in 0..g.nodes.len() {
            let text = match &g.nodes[id].name {
                Some(name) => Some((name.clone(), Prec::Atom)),
                None => {
                    let (text, prec) = labels.render(id, WHOLE);
                    (width(&text) <= WHOLE).then_some((text, prec))
                }
            };
            labels.as_operand.push(text);
        }
        labels
    }

    /// What node `id` computes, in at most about `budget` characters: whole
    /// when it fits, else with its long operands written `…`.
    pub fn definition(&mut self, id: NodeId, budget: usize) -> String {
        let (text, _) = self.render(id, budget);
        if width(&text) <= budget {
            text
        } else {
            self.render(id, SHORT.min(budget) / 2).0
        }
    }

    /// Node `id`'s own expression, each operand by its name or its text if
    /// at most `budget` long, else `…`.
    fn render(&mut self, id: NodeId, budget: usize) -> (String, Prec) {
        let g = self.g;
        let node = &g.nodes[id];
        let operand = |o: NodeId| match &self.as_operand[o] {
            Some((text, prec)) if width(text) <= budget => (text.clone(), *prec),
            _ => ("…".to_string(), Prec::Atom),
        };
        let list = |ops: &[NodeId]| {
            ops.iter()
                .map(|&o| operand(o).0)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &node.op {
            Op::Arg(k) => (
                g.args.get(*k).map_or("dy".into(), |(n, _)| n.clone()),
                Prec::Atom,
            ),
            Op::Const(c) => {
                let x = c.get();
                let prec = if x.is_sign_negative() {
                    Prec::Prefix
                } else {
                    Prec::Atom
                };
                (number(x), prec)
            }
            Op::Count(shape) => {
                let dims: Vec<String> = shape.iter().map(Dim::to_string).collect();
                let prec = if dims.len() > 1 {
                    Prec::Product
                } else {
                    Prec::Atom
                };
                (dims.join(" * "), prec)
            }
            Op::Fill(s) => operand(*s),
            Op::Index(a, path) => {
                let base = atom(operand(*a));
                let path: String = path.iter().map(|i| format!("[{i}]")).collect();
                (format!("{base}{path}"), Prec::Atom)
            }
            Op::Pack(entries) if entries.is_empty() => ("0".into(), Prec::Atom),
            Op::Pack(entries) => {
                let complete = entries
                    .iter()
                    .enumerate()
                    .all(|(k, (path, _))| path.as_slice() == [k])
                    && node.shape.first().and_then(Dim::fixed) == Some(entries.len());
                if complete {
                    let ids: Vec<NodeId> = entries.iter().map(|(_, n)| *n).collect();
                    (format!("[{}]", list(&ids)), Prec::Atom)
                } else {
                    let parts: Vec<String> = entries
                        .iter()
                        .map(|(path, n)| {
                            let path: Vec<String> = path.iter().map(ToString::to_string).collect();
                            format!("[{}]: {}", path.join("]["), operand(*n).0)
                        })
                        .collect();
                    (format!("{{{}}}", parts.join(", ")), Prec::Atom)
                }
            }
            Op::Call { func, args } => (format!("{func}({})", list(args)), Prec::Atom),
            Op::CallGrad { call, dy, arg } => {
                let func = match &g.nodes[*call].op {
                    Op::Call { func, .. } => func.clone(),
                    _ => "call".into(),
                };
                (
                    format!("{func}::backward(.., {})[{arg}]", operand(*dy).0),
                    Prec::Atom,
                )
            }
            Op::Apply(p, ops) => {
                let def = p.def();
                match def.emit {
                    Emit::Infix(op, prec) => {
                        let (l, lp) = operand(ops[0]);
                        let (r, rp) = operand(ops[1]);
                        let l = if lp < prec { format!("({l})") } else { l };
                        // Left-associative: a right operand as loose as the
                        // operator keeps its parentheses.
                        let r = if rp <= prec && rp != Prec::Atom {
                            format!("({r})")
                        } else {
                            r
                        };
                        (format!("{l} {op} {r}"), prec)
                    }
                    Emit::Prefix(op) => {
                        let (a, ap) = operand(ops[0]);
                        let a = if ap < Prec::Prefix {
                            format!("({a})")
                        } else {
                            a
                        };
                        (format!("{op}{a}"), Prec::Prefix)
                    }
                    // An op the user can call is written as they would
                    // call it: `relu(z)`, `square(v[1])`, `max(a, b)`.
                    _ if !def.spellings.is_empty() => {
                        let name = def.spellings[0].name;
                        (format!("{name}({})", list(ops)), Prec::Atom)
                    }
                    Emit::Method { name, .. } => (format!("{name}({})", list(ops)), Prec::Atom),
                    Emit::Loops(_) => (format!("{}({})", def.name, list(ops)), Prec::Atom),
                    // An op only derivatives build, as the generated code
                    // writes it.
                    Emit::Elem(_) => {
                        let texts: Vec<(String, Prec)> = ops.iter().map(|&o| operand(o)).collect();
                        self.element(id, &texts).unwrap_or_else(|| {
                            let args: Vec<String> = texts.into_iter().map(|t| t.0).collect();
                            (
                                format!("{}({})", p.value_name(), args.join(", ")),
                                Prec::Atom,
                            )
                        })
                    }
                }
            }
        }
    }

    /// An op whose emission is its own Rust (a select, a safe product),
    /// written as the generated code writes it, with `texts` for operands.
    fn element(&mut self, id: NodeId, texts: &[(String, Prec)]) -> Option<(String, Prec)> {
        let placeholder = |k: usize| format!("neuron_operand_{k}");
        let operands: Vec<Operand> = (0..texts.len())
            .map(|k| {
                let p = Ident::new(&placeholder(k), Span::call_site());
                Operand::new(quote!(#p), Prec::Atom)
            })
            .collect();
        let out = self.elements.apply(id, operands)?;
        let expr: syn::Expr = syn::parse2(out.tokens).ok()?;
        let pretty = pretty_expr(&expr);
        let mut text = pretty
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ")
            .replace("super::", "");
        for (k, t) in texts.iter().enumerate().rev() {
            text = text.replace(&placeholder(k), &atom(t.clone()));
        }
        Some((text, out.prec))
    }
}

/// `text` as an operand that binds tightest: parenthesized unless it is
/// an atom.
fn atom((text, prec): (String, Prec)) -> String {
    if prec < Prec::Atom {
        format!("({text})")
    } else {
        text
    }
}

fn width(text: &str) -> usize {
    text.chars().count()
}

/// A constant as the user would write it: `1`, `0.5`, `-2`.
fn number(x: f64) -> String {
    if x == 0.0 && x.is_sign_negative() {
        "-0".into()
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// What the trace records, each value by its index among the roots.
enum Record {
    Input(usize, usize),
    Forward(String, usize),
    Output(usize),
    Upstream(String, usize),
    Local {
        of: String,
        wrt: String,
        formula: String,
        local: Option<usize>,
        upstream: usize,
        product: usize,
    },
    Partial(usize, usize),
}

/// The body of `trace` for a neuron with a scalar output: the un-simplified
/// gradient graph emitted whole, then every step recorded.
pub fn body(f: &Function, sig: &Sig, g: &Graph, output: NodeId) -> Result<TokenStream, String> {
    let mut tg = g.clone();
    let one = tg.konst(1.0);
    let (adjoints, steps) = diff::differentiate_steps(&mut tg, output, one)?;
    let active = diff::active(&tg, output);

    // The local derivatives: each op's adjoint rule with an upstream
    // derivative of 1 gives, operand by operand in the order the sweep
    // took them, the local derivative itself.
    let mut locals: Vec<Option<NodeId>> = vec![None; steps.len()];
    let mut k = 0;
    while k < steps.len() {
        let y = steps[k].y;
        let end = k + steps[k..].iter().take_while(|s| s.y == y).count();
        if let Op::Apply(p, operands) = tg.op(y).clone() {
            let def = p.def();
            let shape = tg.shape(y).clone();
            if def.kind == Kind::Elementwise || shape.is_empty() {
                let d = tg.fill(one, shape);
                let varying: Vec<bool> = operands.iter().map(|&o| active[o]).collect();
                let site = Site {
                    prim: p,
                    operands: &operands,
                    y,
                    d,
                    varying: &varying,
                };
                let rule = (def.adjoint)(&mut tg, &site);
                let found: Vec<NodeId> = operands
                    .iter()
                    .zip(rule)
                    .filter_map(|(&o, c)| c.filter(|_| active[o]))
                    .collect();
                if found.len() == end - k {
                    for (j, n) in found.into_iter().enumerate() {
                        locals[k + j] = Some(n);
                    }
                }
            }
        }
        k = end;
    }
    if let Some(error) = tg.internal_errors.first() {
        return Err(error.clone());
    }

    // Each local derivative as a formula: simplified, so that `1 * w[0]`
    // reads `w[0]`; a constant is its value alone.
    // Written in forward values only: an adjoint's name (`d_sum`) would
    // hide the formula.
    let wanted: Vec<NodeId> = locals.iter().flatten().copied().collect();
    let mut unnamed = tg.clone();
    for node in &mut unnamed.nodes[output + 1..] {
        node.name = None;
    }
    let (sg, simple) = simplify::simplify(&unnamed, &wanted);
    let f64_real = RealType::F64;
    let mut formulas_of = Labels::new(&sg, &f64_real);
    let mut formulas: Vec<String> = Vec::with_capacity(simple.len());
    for &s in &simple {
        formulas.push(if sg.const_value(s).is_some() || sg.is_zero(s) {
            String::new()
        } else if let Some(name) = &sg.nodes[s].name {
            name.clone()
        } else {
            formulas_of.definition(s, WHOLE)
        });
    }
    let mut formulas = formulas.into_iter();

    let arg_nodes: Vec<NodeId> = (0..tg.args.len()).map(|k| tg.arg(k)).collect();
    let mut labels = Labels::new(&tg, &f64_real);
    let mut roots: Vec<NodeId> = Vec::new();
    let mut root = |n: NodeId| {
        roots.push(n);
        roots.len() - 1
    };
    let mut records = Vec::new();
    for (k, &a) in arg_nodes.iter().enumerate() {
        records.push(Record::Input(k, root(a)));
    }
    let shown = |op: &Op| matches!(op, Op::Apply(..) | Op::Call { .. });
    for id in 0..=output {
        let node = &tg.nodes[id];
        if shown(&node.op) {
            let label = match &node.name {
                Some(name) => format!("{name} = {}", labels.definition(id, WHOLE)),
                None => labels.definition(id, WHOLE),
            };
            records.push(Record::Forward(label, root(id)));
        }
    }
    records.push(Record::Output(root(output)));
    let mut last = None;
    for (step, local) in steps.iter().zip(&locals) {
        if !shown(tg.op(step.y)) {
            continue;
        }
        let whole = |labels: &mut Labels, id: NodeId| match &tg.nodes[id].name {
            Some(name) => name.clone(),
            None => labels.definition(id, WHOLE),
        };
        if last != Some(step.y) {
            last = Some(step.y);
            let of = whole(&mut labels, step.y);
            records.push(Record::Upstream(of, root(step.d)));
        }
        let of = match &tg.nodes[step.y].name {
            Some(name) => name.clone(),
            None => labels.definition(step.y, SHORT),
        };
        let wrt = whole(&mut labels, step.operand);
        let formula = if local.is_some() {
            formulas.next().unwrap_or_default()
        } else {
            String::new()
        };
        records.push(Record::Local {
            of,
            wrt,
            formula,
            local: local.map(&mut root),
            upstream: root(step.d),
            product: root(step.contribution),
        });
    }
    for (k, &d) in adjoints.iter().enumerate() {
        records.push(Record::Partial(k, root(d)));
    }

    // Every value the records read is a root, so the emitter binds it. The
    // graph is simplified for emission: the steps are the un-simplified
    // graph's, and each keeps its value, since every rewrite is exact; but
    // a symbolic zero (no dependence at all) becomes nothing rather than a
    // written `0.0` that would turn `0 · ∞` into NaN.
    let (pg, proots) = simplify::simplify(&tg, &roots);
    let shapes: Vec<Shape> = proots.iter().map(|&r| pg.shape(r).clone()).collect();
    let options = emit::Options {
        reserved: vec![TRACE_LOCAL.to_string()],
        ..emit::Options::default()
    };
    let emitted: Body = emit::body_with(&pg, &proots, &sig.args, &f.real, &options);
    let real = &sig.real;
    // The value's type is inferred, not written: where a call of another
    // neuron is wrong, rustc's one error at the call is the only one.
    let value = |r: usize| {
        let dims = shapes[r].iter();
        let v = &emitted.roots[r];
        quote!(::neuron_core::trace::Value::of::<#real, _>(&[#(#dims),*], &(#v)))
    };
    let t = Ident::new(TRACE_LOCAL, Span::call_site());
    let calls: Vec<TokenStream> = records
        .iter()
        .map(|r| match r {
            Record::Input(k, v) => {
                let name = &g.args[*k].0;
                let v = value(*v);
                quote!(#t.push_input(#name, #v);)
            }
            Record::Forward(label, v) => {
                let v = value(*v);
                quote!(#t.push_forward(#label, #v);)
            }
            Record::Output(v) => {
                let v = value(*v);
                quote!(#t.push_output(#v);)
            }
            Record::Upstream(of, v) => {
                let v = value(*v);
                quote!(#t.push_upstream(#of, #v);)
            }
            Record::Local {
                of,
                wrt,
                formula,
                local,
                upstream,
                product,
            } => {
                let local = match local {
                    Some(l) => {
                        let v = value(*l);
                        quote!(::core::option::Option::Some(#v))
                    }
                    None => quote!(::core::option::Option::None),
                };
                let (u, p) = (value(*upstream), value(*product));
                quote!(#t.push_local(#of, #wrt, #formula, #local, #u, #p);)
            }
            Record::Partial(k, v) => {
                let name = &g.args[*k].0;
                let v = value(*v);
                quote!(#t.push_partial(#name, #v);)
            }
        })
        .collect();
    let name = f.name.to_string();
    let import = preamble(&emitted, f);
    let stmts = &emitted.stmts;
    Ok(quote!({
        #import
        #stmts
        let mut #t = ::neuron_core::trace::Trace::new(#name);
        #(#calls)*
        #t
    }))
}

/// `NAME::trace`, for a neuron with a scalar output; `body` absent for a
/// stub next to a compile error.
pub fn item(f: &Function, sig: &Sig, body: Option<&TokenStream>) -> TokenStream {
    if !f.ret_shape.is_empty() {
        return TokenStream::new();
    }
    let Sig {
        generics,
        args,
        tys,
        ..
    } = sig;
    let body = body.cloned().unwrap_or_else(|| {
        quote!({ ::core::unreachable!("#[neuron] reported a compile error for this function") })
    });
    let name = &f.name;
    let doc = format!(
        " The chain rule of [`{name}`](fn@self::{name}) at one point, step by step: every forward \
         intermediate with its value, then from the output back each local derivative with its \
         product with the derivative from above, and every partial derivative, which are \
         [`gradient`](fn@self::gradient)'s. Print it to read it."
    );
    quote! {
        #[doc = #doc]
        #[must_use]
        pub fn trace #generics (#(#args: #tys),*) -> ::neuron_core::trace::Trace #body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::graph;

    fn label(args: &str, text: &str) -> String {
        let mut g = graph(args);
        let id = g.parse(text).unwrap();
        let real = RealType::F64;
        let mut labels = Labels::new(&g, &real);
        labels.definition(id, WHOLE)
    }

    #[test]
    fn labels_are_the_users_expressions() {
        assert_eq!(
            label("x:3 w:3 b", "(* (index w 0) (index x 0))"),
            "w[0] * x[0]"
        );
        assert_eq!(
            label(
                "x:3 w:3 b",
                "(relu (+ (+ (* (index w 0) (index x 0)) (* (index w 1) (index x 1))) b))"
            ),
            "relu(w[0] * x[0] + w[1] * x[1] + b)"
        );
        assert_eq!(label("a b", "(- a (- a b))"), "a - (a - b)");
        assert_eq!(label("a b", "(* (+ a b) (neg a))"), "(a + b) * -a");
        assert_eq!(label("v:3", "(sum (exp v))"), "sum(exp(v))");
        assert_eq!(
            label("z", "(select> z 0 1 0)"),
            "if z > 0 { 1 } else if z <= 0 { 0 } else { z }"
        );
    }

    #[test]
    fn long_labels_elide_their_operands() {
        let terms: Vec<String> = (0..3)
            .map(|i| format!("(* (index w {i}) (index x {i}))"))
            .collect();
        let mut sum = terms[0].clone();
        for t in &terms[1..] {
            sum = format!("(+ {sum} {t})");
        }
        for _ in 0..4 {
            sum = format!("(+ {sum} (* (index w 0) (index x 1)))");
        }
        // Seven terms: the first five do not fit, and stand as `…` in
        // every label that contains them.
        let text = label("x:3 w:3", &format!("(relu {sum})"));
        assert_eq!(text, "relu(… + w[0] * x[1] + w[0] * x[1])");
        let text = label("x:3 w:3", &sum);
        assert_eq!(text, "… + w[0] * x[1] + w[0] * x[1]");
        // An operand too long even so is `…` as a whole.
        let long = format!("(+ {sum} (* {sum} {sum}))");
        assert_eq!(label("x:3 w:3", &long), "… + w[0] * x[1] + w[0] * x[1] + …");
    }
}
