//! The pipeline end to end: parse, check, lower, differentiate, simplify
//! and emit, then the generated items around the emitted bodies (built by
//! `items`, `glue` and `docs`). On error, every error at once next to stubs
//! of the items.
//!
//! ```text
//! pub fn unit(x: [f64; 3], w: [f64; 3], b: f64) -> f64 { ... }   // forward
//! pub mod unit {
//!     pub struct Grad { pub x: [f64; 3], pub w: [f64; 3], pub b: f64 }
//!     pub fn gradient(x, w, b) -> (f64, Grad) { ... }              // dy = 1
//!     pub fn backward(x, w, b, dy: f64) -> (f64, Grad) { ... }     // any dy
//!     pub struct Params { pub w: [f64; 3], pub b: f64 }
//!     pub struct Model { pub params: Params }                      // + trait impls
//!     pub const SOURCE: &str = "...";
//!     pub fn trace(x, w, b) -> ::neuron_core::trace::Trace { ... }   // trace.rs
//!     pub const DOT: &str = "digraph unit { ... }";                   // dot.rs
//!     pub const COST: ::neuron_core::cost::Cost = ...;                // cost.rs
//! }
//! ```

use crate::ast::{Function, Options};
use crate::ctxt::Ctxt;
use crate::declared::Calls;
use crate::emit::{self, Body};
use crate::ir::{Graph, NodeId, Op};
use crate::items::{hessian_rule, items};
use crate::{check, diff, lower, parse, simplify};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;

/// The macro's output for any input: the generated items, or every error
/// found together with stubs of the items, so that one mistake does not
/// cascade into errors at every use of the function.
pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    deep(|| match neuron(attr.clone(), item.clone()) {
        Ok(tokens) => tokens,
        Err(error) => {
            let mut tokens = error.into_compile_error();
            // The options as far as they parse: `hvp` asked for is stubbed too.
            let options = parse::options(attr).unwrap_or_default();
            tokens.extend(stub(item, &options));
            tokens
        }
    })
}

/// Runs `f` on a stack that deep inputs cannot exhaust: a body nested a
/// thousand deep, or a sum of thousands of terms, is walked recursively by
/// every stage and by `syn` and `prettyplease`, which plain Rust compiles
/// without complaint. The stack is reserved, not committed, so a shallow
/// input costs nothing.
fn deep<T>(f: impl FnOnce() -> T) -> T {
    const ENOUGH: usize = 128 << 20;
    const STACK: usize = 256 << 20;
    stacker::maybe_grow(ENOUGH, STACK, f)
}

/// The items with their signatures and unreachable bodies, when at least
/// the signature is sound: uses of `f`, `f::gradient` or `f::Model` then
/// compile, and the only errors shown are the macro's own.
fn stub(item: TokenStream, options: &Options) -> TokenStream {
    let Ok(mut f) = syn::parse2::<syn::ItemFn>(item) else {
        return TokenStream::new();
    };
    // Parse the signature alone: the body is what had the error. A name
    // that clashes with a generated one makes stubs clash too.
    *f.block = syn::parse_quote!({ 0 });
    let Ok((declared, None)) = parse::partial(quote!(#f)) else {
        return TokenStream::new();
    };
    if check::names(&declared).is_err() {
        return TokenStream::new();
    }
    let Ok(function) = parse::complete(declared) else {
        return TokenStream::new();
    };
    items(&function, options, None)
}

/// Runs the whole pipeline on the attribute's arguments and the item.
pub fn neuron(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    deep(|| pipeline(attr, item))
}

fn pipeline(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let options = parse::options(attr)?;
    let (f, parse_errors) = parse::partial(item)?;
    // Check what did parse even after a syntax error: its unknown names and
    // shape mismatches belong in the same compile.
    let mut cx = Ctxt::default();
    if let Some(errors) = parse_errors {
        cx.push(errors);
    }
    if let Err(errors) = check::check(&f) {
        cx.push(errors);
    }
    if options.gradcheck
        && let Some(n) = f.consts.first()
    {
        cx.push(syn::Error::new(
            n.span(),
            format!(
                "`#[neuron(gradcheck)]` needs every length known, and `{n}` is a parameter\n\
                 help: check an instantiation in a test: `neuron_core::gradcheck_random::<{}::Model<..>>(64, 1, 1e-6)`",
                f.name
            ),
        ));
    }
    cx.finish(())?;
    let f = parse::complete(f)?;
    let (g, output) = lower::lower(&f)?;
    // `#[neuron(hvp)]` and `#[neuron(hessian)]` turn the rules that leave
    // them out into errors at the option.
    let calls = Calls::of(&g);
    let no_hvp = hvp_rule(&f, &calls);
    let mut cx = Ctxt::default();
    for (span, what, why) in [
        (options.hvp, "hvp", no_hvp.clone()),
        (
            options.hessian,
            "hessian",
            no_hvp.or_else(|| hessian_rule(&f)),
        ),
    ] {
        if let (Some(span), Some(why)) = (span, why) {
            cx.push(syn::Error::new(
                span,
                format!("`{}::{what}` cannot be generated: {why}", f.name),
            ));
        }
    }
    cx.finish(())?;
    let derived = derive(
        &f,
        &g,
        output,
        options.hvp.is_some() || options.hessian.is_some(),
    )?;
    Ok(items(&f, &options, Some(&derived)))
}

/// The emitted bodies.
pub struct Derived {
    /// The functions the body calls: declared ones and other neurons.
    pub calls: Calls,
    pub forward: Body,
    /// For a scalar output.
    pub gradient: Option<Body>,
    /// For an array output.
    pub backward: Option<Body>,
    /// The body of `Differentiable::backward_flat`: every argument's
    /// adjoint, added into a flat slice.
    pub flat: Body,
    /// The body of `Model::forward_backward`: one forward pass, `dy` from
    /// the loss, then the parameters' adjoints only.
    pub train: Body,
    /// A call from another neuron (`Call`, `Called`).
    pub call: CallBodies,
    /// The body of `trace`, for a scalar output (`trace.rs`).
    pub trace: Option<TokenStream>,
    /// `DOT`: the forward and backward graph in Graphviz's language (`dot.rs`).
    pub dot: String,
    /// The body of `hvp_ref`: the value, the gradient and `H v`, when
    /// `#[neuron(hvp)]` or `#[neuron(hessian)]` asks for it (and
    /// [`hvp_rule`] allows it).
    pub hvp: Option<Body>,
}

/// Why `hvp` cannot be generated for a function: its output is an array,
/// or it calls a function with a declared derivative (only the first is
/// declared) or another `#[neuron]` function (whose second derivative is
/// not among the items it generates). `None` when it can.
pub fn hvp_rule(f: &Function, calls: &Calls) -> Option<String> {
    if !f.ret_shape.is_empty() {
        Some("its output is an array".into())
    } else if let Some((c, _)) = calls.declared.first() {
        Some(format!(
            "it calls `{}`, whose first derivative only is declared",
            c.name
        ))
    } else {
        calls
            .neurons
            .first()
            .map(|(n, _)| format!("it calls the neuron `{n}`, which has no second derivative"))
    }
}

/// The name of the local holding the direction's field for argument `arg`
/// in `hvp_ref` (`neuron_` names are the generated code's own).
pub fn direction(arg: &Ident) -> Ident {
    Ident::new(&format!("neuron_v_{}", arg.unraw()), Span::call_site())
}

/// The bodies of a call of this neuron from another: `Call::forward` keeps
/// the forward values the backward pass reads (`Called`'s `saved` fields),
/// so that `Called::backward` and `Called::backward_add` compute no forward
/// value again.
pub struct CallBodies {
    /// The kept values: each one's field name and shape.
    pub saved: Vec<(Ident, crate::ir::Shape)>,
    /// The output, then each kept value.
    pub forward: Body,
    /// Every argument's adjoint for `dy`, reading the kept values as
    /// arguments after `dy` (by reference, as `dy` itself).
    pub backward: Body,
    /// The same adjoints, each added into its accumulator when one is
    /// given (roots after the first, which is a placeholder); the work
    /// only one adjoint needs is in its `root_stmts`, done only for it.
    pub add: Body,
}

/// [`CallBodies`] of `f` from `sg`, its simplified graph with the upstream
/// derivative `dy` as the argument after `f`'s own, `sroots` the output and
/// then each argument's adjoint in it, and `names` the arguments' names
/// with `dy` last.
///
/// A forward value is kept when an adjoint reads it (or is it), unless it
/// is an argument, a constant, or cheap to read again from one (an element
/// or a fill of an argument). A call of another neuron is not kept: its
/// `Called` is what the backward pass needs, and that is computed again.
fn call_bodies(f: &Function, sg: &Graph, sroots: &[NodeId], names: &[Ident]) -> CallBodies {
    let dy = f.args.len();
    let n = sg.nodes.len();
    let mut depends = vec![false; n];
    for (id, node) in sg.nodes.iter().enumerate() {
        depends[id] = node.op == Op::Arg(dy) || node.op.operands().iter().any(|&o| depends[o]);
    }
    let cheap = |id: NodeId| matches!(sg.nodes[id].op, Op::Arg(_) | Op::Const(_));
    let keepable = |id: NodeId| match &sg.nodes[id].op {
        Op::Arg(_) | Op::Const(_) | Op::Count(_) | Op::Call { .. } | Op::CallGrad { .. } => false,
        Op::Pack(entries) => !entries.is_empty(),
        Op::Index(a, _) | Op::Fill(a) => !cheap(*a),
        Op::Apply(..) => true,
    };
    let mut kept = vec![false; n];
    for (id, node) in sg.nodes.iter().enumerate() {
        if depends[id] {
            for o in node.op.operands() {
                kept[o] |= !depends[o] && keepable(o);
            }
        }
    }
    for &r in &sroots[1..] {
        kept[r] |= !depends[r] && keepable(r);
    }
    let saved: Vec<NodeId> = (0..n).filter(|&id| kept[id]).collect();

    // Their names, apart from the arguments, `dy`, the generated items and
    // each other.
    let mut taken: std::collections::HashSet<String> =
        names.iter().map(|a| a.unraw().to_string()).collect();
    taken.extend(crate::items::ITEMS.iter().map(ToString::to_string));
    taken.extend(sg.lengths.iter().cloned());
    // `backward_add`'s parameter and accumulators, which neither its
    // bindings of the kept values nor its body's locals may shadow.
    let add_reserved: Vec<String> = f
        .args
        .iter()
        .map(|a| call_accumulator(&a.name).to_string())
        .chain(std::iter::once(CALL_ACCUMULATORS.to_string()))
        .collect();
    taken.extend(add_reserved.iter().cloned());
    let saved_names: Vec<Ident> = saved
        .iter()
        .map(|&id| {
            let base = sg.nodes[id]
                .name
                .clone()
                .unwrap_or_else(|| crate::ir::default_name(sg, id));
            emit::fresh(&mut taken, &base)
        })
        .collect();

    let by_ref = emit::Options {
        args_by_ref: true,
        ..emit::Options::default()
    };
    // The forward pass: the output, then the kept values.
    let mut froots = vec![sroots[0]];
    froots.extend(&saved);
    let (fg, froots) = simplify::prune(sg, &froots);
    let forward = emit::body_with(&fg, &froots, &names[..dy], &f.real, &by_ref);

    // The backward pass: each kept value becomes an argument after `dy`.
    let mut ug = Graph::empty_like(sg);
    let mut map = Vec::with_capacity(n);
    let mut next = dy + 1;
    for (id, node) in sg.nodes.iter().enumerate() {
        // `saved` is in node order: the k-th kept value is argument
        // `dy + 1 + k`.
        let op = if kept[id] {
            next += 1;
            Op::Arg(next - 1)
        } else {
            node.op.map(|o| map[o])
        };
        let new = ug.intern(op, node.shape.clone());
        ug.nodes[new].name.clone_from(&node.name);
        ug.nodes[new].origin = node.origin;
        ug.nodes[new].arg_spans.clone_from(&node.arg_spans);
        map.push(new);
    }
    let adjoints: Vec<NodeId> = sroots[1..].iter().map(|&r| map[r]).collect();
    let mut names: Vec<Ident> = names.to_vec();
    names.extend(saved_names.iter().cloned());
    let refs = emit::Options {
        args_by_ref: true,
        extra_args_by_ref: true,
        ..emit::Options::default()
    };
    let (bwd, broots) = simplify::prune(&ug, &adjoints);
    let backward = emit::body_with(&bwd, &broots, &names, &f.real, &refs);
    let placeholder = ug.konst(0.0);
    let mut roots = vec![placeholder];
    roots.extend(&adjoints);
    let (ag, aroots) = simplify::prune(&ug, &roots);
    let options = emit::Options {
        args_by_ref: true,
        extra_args_by_ref: true,
        reserved: add_reserved,
        accumulate: true,
        guarded: true,
        ..emit::Options::default()
    };
    let add = emit::body_with(&ag, &aroots, &names, &f.real, &options);
    CallBodies {
        saved: saved
            .iter()
            .zip(saved_names)
            .map(|(&id, name)| (name, sg.nodes[id].shape.clone()))
            .collect(),
        forward,
        backward,
        add,
    }
}

/// The parameter of `Called::backward_add` holding every accumulator.
pub const CALL_ACCUMULATORS: &str = "neuron_accumulators";

/// The local of `Called::backward_add` holding the accumulator of
/// argument `arg`'s partial (`neuron_` names are the generated code's own).
pub fn call_accumulator(arg: &Ident) -> Ident {
    Ident::new(&format!("neuron_d_{}", arg.unraw()), Span::call_site())
}

/// The parameter of `hvp` and `hvp_ref` holding the direction.
pub const DIRECTION: &str = "neuron_v";

/// The parameters and locals of the flat views (`Differentiable`), named
/// apart from every argument (`neuron_` is reserved) and generated name.
pub const FLAT_LOCALS: &[&str] = &[
    "neuron_args",
    "neuron_out",
    "neuron_dy",
    "neuron_grad",
    "neuron_offset",
];

/// The local holding argument `k` in the flat views.
pub fn flat_arg(k: usize) -> String {
    format!("neuron_arg_{k}")
}

/// The parameter names of `Model::forward_backward`, chosen so that no
/// argument or generated binding shadows them.
pub const TRAIN_INPUT: &str = "neuron_input";
pub const TRAIN_LOSS_GRAD: &str = "neuron_loss_grad";
pub const TRAIN_GRADS: &str = "neuron_grads";

/// The bodies of `f`, whose lowered graph is `g`; with `second_order`,
/// `hvp_ref`'s too (the caller has checked [`hvp_rule`]).
pub fn derive(f: &Function, g: &Graph, output: NodeId, second_order: bool) -> syn::Result<Derived> {
    let arg_names: Vec<Ident> = f.args.iter().map(|a| a.name.clone()).collect();
    let internal = |message: String| {
        syn::Error::new(
            f.name.span(),
            format!("internal error in #[neuron]: {message}"),
        )
    };

    // Every public body reads its array arguments by reference (`x: &[T;
    // N]`): the by-value functions pass references to them, so a large
    // argument is never copied.
    let by_ref = emit::Options {
        args_by_ref: true,
        ..emit::Options::default()
    };
    let (fg, roots) = simplify::simplify(g, &[output]);
    let forward = emit::body_with(&fg, &roots, &arg_names, &f.real, &by_ref);

    // backward: the upstream derivative is an extra argument, `dy`.
    let mut bg = g.clone();
    let dy = bg.intern(Op::Arg(f.args.len()), f.ret_shape.clone());
    let adjoints = diff::differentiate(&mut bg, output, dy).map_err(internal)?;
    let mut names = arg_names.clone();
    names.push(Ident::new("dy", Span::call_site()));
    // The output and every argument's adjoint, simplified once for the
    // bodies that read them all: `backward`, the flat view and a call's.
    let mut roots = vec![output];
    roots.extend(&adjoints);
    let (ag, aroots) = simplify::simplify(&bg, &roots);
    // A scalar output's `backward` is `gradient` times `dy`, written in
    // `items`; an array output's is this graph.
    let backward =
        (!f.ret_shape.is_empty()).then(|| emit::body_with(&ag, &aroots, &names, &f.real, &by_ref));

    // gradient: the same with dy = 1, so that the simplifier removes every
    // multiplication by it.
    let gradient = if f.ret_shape.is_empty() {
        let mut gg = g.clone();
        let one = gg.konst(1.0);
        let adjoints = diff::differentiate(&mut gg, output, one).map_err(internal)?;
        let mut roots = vec![output];
        roots.extend(adjoints);
        let (sg, roots) = simplify::simplify(&gg, &roots);
        Some(emit::body_with(&sg, &roots, &arg_names, &f.real, &by_ref))
    } else {
        None
    };
    // The flat view's backward pass (gradient checks): every argument's
    // adjoint added in place into a flat slice, so that no weight-sized
    // array is built on the stack.
    let options = emit::Options {
        args_by_ref: true,
        dy_from: None,
        reserved: FLAT_LOCALS
            .iter()
            .map(ToString::to_string)
            .chain((0..f.args.len()).map(flat_arg))
            .collect(),
        accumulate: true,
        extra_args_by_ref: false,
        root_targets: Vec::new(),
        guarded: false,
    };
    let flat = emit::body_with(&ag, &aroots, &names, &f.real, &options);

    // Training: the same graph as `backward`, but the inputs' adjoints are
    // not needed, so they are not roots and pruning removes their work.
    let mut roots = vec![output];
    roots.extend(
        f.args
            .iter()
            .zip(&adjoints)
            .filter(|(a, _)| a.param)
            .map(|(_, &d)| d),
    );
    let (tg, roots) = simplify::simplify(&bg, &roots);
    // Each parameter's accumulator, where a called neuron adds its partial
    // itself (`Call::backward_add`).
    let grads = Ident::new(TRAIN_GRADS, Span::call_site());
    let root_targets = std::iter::once(None)
        .chain(f.args.iter().filter(|a| a.param).map(|a| {
            let n = &a.name;
            Some(if a.shape.is_empty() {
                quote!(&mut #grads.#n)
            } else {
                quote!(&mut *#grads.#n)
            })
        }))
        .collect();
    let options = emit::Options {
        args_by_ref: true,
        dy_from: Some(Ident::new(TRAIN_LOSS_GRAD, Span::call_site())),
        reserved: [TRAIN_INPUT, TRAIN_LOSS_GRAD, TRAIN_GRADS]
            .map(String::from)
            .to_vec(),
        accumulate: true,
        extra_args_by_ref: false,
        root_targets,
        guarded: false,
    };
    let train = emit::body_with(&tg, &roots, &names, &f.real, &options);

    let call = call_bodies(f, &ag, &aroots, &names);

    let trace = if f.ret_shape.is_empty() {
        Some(crate::trace::body(f, &crate::items::signature(f), g, output).map_err(internal)?)
    } else {
        None
    };
    let dot = crate::dot::text(f, g, output).map_err(internal)?;

    // hvp: value, gradient and H v, read off one graph by reverse over
    // reverse (`diff::hessian_vector`), the direction's fields by reference.
    let calls = Calls::of(g);
    let hvp = if second_order && hvp_rule(f, &calls).is_none() {
        let mut hg = g.clone();
        let (gradient, hv) = diff::hessian_vector(&mut hg, output).map_err(internal)?;
        let mut roots = vec![output];
        roots.extend(gradient);
        roots.extend(hv);
        let (sg, roots) = simplify::simplify(&hg, &roots);
        let mut names = arg_names.clone();
        names.extend(arg_names.iter().map(direction));
        let options = emit::Options {
            args_by_ref: true,
            extra_args_by_ref: true,
            reserved: std::iter::once(DIRECTION.to_string())
                .chain(names.iter().map(|n| n.unraw().to_string()))
                .collect(),
            ..emit::Options::default()
        };
        Some(emit::body_with(&sg, &roots, &names, &f.real, &options))
    } else {
        None
    };

    Ok(Derived {
        trace,
        dot,
        calls,
        forward,
        gradient,
        backward,
        flat,
        train,
        call,
        hvp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expands `text` and returns the error message, if any.
    fn expand_text(text: &str) -> Result<TokenStream, String> {
        let item: TokenStream = text.parse().map_err(|e| format!("{e:?}"))?;
        neuron(TokenStream::new(), item).map_err(|e| e.to_string())
    }

    /// Written-out sums and deep nesting expand: every stage and the
    /// libraries it calls run on a stack that grows with the input, as
    /// plain Rust compiles both.
    #[test]
    fn long_and_deep_bodies_expand() {
        let terms: Vec<String> = (0..5000)
            .map(|i| format!("x[{}] * {}.5", i % 4, i))
            .collect();
        let sum = format!("fn long(x: [f64; 4]) -> f64 {{ {} }}", terms.join(" + "));
        assert!(expand_text(&sum).is_ok());
        let deep = format!(
            "fn deep(x: f64) -> f64 {{ {}x{} }}",
            "tanh(".repeat(1000),
            ")".repeat(1000)
        );
        assert!(expand_text(&deep).is_ok());
        let methods = format!(
            "fn methods(x: f64) -> f64 {{ x{} }}",
            ".tanh()".repeat(1000)
        );
        assert!(expand_text(&methods).is_ok());
    }

    /// Expands `text` under `#[neuron(<attr>)]`, returning the error.
    fn expand_with(attr: &str, text: &str) -> Result<TokenStream, String> {
        let item: TokenStream = text.parse().map_err(|e| format!("{e:?}"))?;
        neuron(attr.parse().map_err(|e| format!("{e:?}"))?, item).map_err(|e| e.to_string())
    }

    #[test]
    fn second_order_is_refused_where_it_cannot_be_built() {
        let callee = "fn caller(x: [f64; 2]) -> f64 { let h: [f64; 2] = layer(x); dot(h, h) }";
        let error = expand_with("hvp", callee).unwrap_err();
        assert!(
            error.contains("`caller::hvp` cannot be generated: it calls the neuron `layer`"),
            "{error}"
        );
        let declared = "fn f(x: f64) -> f64 { softclip(x) * x }";
        let error = expand_with("hessian", declared).unwrap_err();
        assert!(
            error.contains("`f::hessian` cannot be generated: it calls `softclip`, whose first derivative only is declared"),
            "{error}"
        );
        let big = "fn big(x: [f64; 60], w: [f64; 5]) -> f64 { dot(x, x) * sum(w) }";
        let error = expand_with("hessian", big).unwrap_err();
        assert!(
            error.contains("its arguments hold 65 scalars, more than the 64"),
            "{error}"
        );
        // `hvp` has no such limit.
        let out = expand_with("hvp", big).unwrap().to_string();
        assert!(
            out.contains("fn hvp_ref") && !out.contains("fn hessian"),
            "{out}"
        );
        let error = expand_with("hvp, hvp", "fn f(x: f64) -> f64 { x }").unwrap_err();
        assert!(error.contains("given twice"), "{error}");
        // Unasked, neither is generated.
        let out = expand_text("fn f(x: f64) -> f64 { x * x }")
            .unwrap()
            .to_string();
        assert!(!out.contains("hvp"), "{out}");
    }

    /// Every identifier in `tokens`, inside groups too.
    fn idents(tokens: TokenStream, out: &mut Vec<String>) {
        for tree in tokens {
            match tree {
                proc_macro2::TokenTree::Ident(i) => out.push(i.to_string()),
                proc_macro2::TokenTree::Group(g) => idents(g.stream(), out),
                _ => {}
            }
        }
    }

    /// Generated code builds in a `#![no_std]` crate: it names `::core`
    /// and `::neuron_core`, never `std` or `alloc` (`neuron_core` re-exports
    /// what it needs of them), whatever the neuron uses.
    #[test]
    fn generated_code_names_neither_std_nor_alloc() {
        let neurons = [
            (
                quote!(),
                quote! {
                    pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
                        relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
                    }
                },
            ),
            (
                quote!(gradcheck),
                quote! {
                    fn scalar(x: f32, #[param] w: f32) -> f32 { tanh(w * x) + exp(x).ln() + sigmoid(x) }
                },
            ),
            (
                quote!(),
                quote! {
                    fn net<T: Real>(x: [T; 2], #[param] w: [[T; 2]; 3], #[param] v: [T; 3]) -> [T; 2] {
                        let h: [T; 3] = layer(w, x);
                        softmax([dot(v, h), softclip(x[0])])
                    }
                },
            ),
            (
                quote!(hessian),
                quote! {
                    fn second(x: [f64; 2], #[param] w: [f64; 2]) -> f64 {
                        relu(dot(w, x)) + max(x) * sigmoid(w[0])
                    }
                },
            ),
            (
                quote!(),
                quote! {
                    fn shaped<const N: usize>(x: [f64; N], #[param] w: [f64; N]) -> f64 {
                        powf(sum(x * w), 2.5)
                    }
                },
            ),
        ];
        for (attr, item) in neurons {
            let out = neuron(attr, item.clone()).unwrap_or_else(|e| panic!("{e}\n{item}"));
            let mut names = Vec::new();
            idents(out.clone(), &mut names);
            for forbidden in ["std", "alloc"] {
                assert!(
                    !names.iter().any(|n| n == forbidden),
                    "`{forbidden}` in\n{out}"
                );
            }
        }
    }

    #[test]
    fn an_exponent_beyond_i32_is_out_of_range() {
        let error = expand_text("fn f(x: f64) -> f64 { powi(x, 3000000000) }").unwrap_err();
        assert!(
            error.contains("exponent 3000000000 is out of range"),
            "{error}"
        );
    }
}
