//! Emission: from a simplified graph to the statements of a Rust function
//! body. This stage validates nothing; it trusts the graph.
//!
//! First a [`Plan`] decides, for the whole graph at once, which nodes are
//! *materialized* as a `let` and what each is named; every other node is
//! *inlined* into its user's expression (a scalar used once into a scalar
//! expression, an element-wise array into the loop of its user). Then each
//! materialized node becomes a statement: the registry's element
//! expression inside `::core::array::from_fn` for element-wise work, the
//! registry's loops for array ops, so the code does not grow with the
//! length of the arrays. Names come from the user's binding, the op, or
//! `d_<name>` for an adjoint, and from one allocator that knows every name
//! the body uses. A body with dropout first reads the thread's dropout
//! state into `mask`, once, for every dropout element of the pass.
//!
//! ```text
//! let sum = w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b;     // scalars inline
//! let d_sum = if sum > 0.0 { 1.0 } else { 0.0 };             // a kink: one select
//! let mut dot = 0.0;
//! for i in 0..1024 { dot += w[i] * x[i]; }                   // a reduction: one loop
//! let d_w: [f64; 1024] = ::core::array::from_fn(|i| d_sum * x[i]);
//! ```

use crate::ast::{Dim, RealType, Sp, count};
use crate::ir::{Graph, Node, NodeId, Op, Shape, default_name};
use crate::ops::{Emit, Kind};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use std::collections::{HashMap, HashSet};
use syn::ext::IdentExt;

/// Binding strength of an emitted expression, loosest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Prec {
    /// `if a > b { x } else { y }`
    Select,
    /// `a + b`, `a - b`
    Sum,
    /// `a * b`, `a / b`
    Product,
    /// `-a`
    Prefix,
    /// names, literals, calls, method calls, indexing
    Atom,
}

impl Prec {
    /// The next tighter precedence, for right operands of left-associative
    /// operators: `a - (b - c)` keeps its parentheses, and so does
    /// `a + (b + c)`, whose rounding differs from `(a + b) + c`.
    fn next(self) -> Prec {
        match self {
            Prec::Select => Prec::Sum,
            Prec::Sum => Prec::Product,
            Prec::Product | Prec::Prefix => Prec::Prefix,
            Prec::Atom => Prec::Atom,
        }
    }
}

/// An emitted expression, how tightly it binds, and whether its type is
/// known without context.
///
/// An unsuffixed literal (`0.5`) and anything built from literals alone
/// (`if z > 0.0 { 1.0 } else { 0.0 }`) are not *anchored*: rustc cannot
/// call a method on them (E0689) nor bind them to a `let` it then calls a
/// method on. The emitter anchors them where it must: a method on one is
/// called by its type's path (`f64::max(0.5, x)`), and a `let` of one
/// gets its type written.
#[derive(Clone)]
pub struct Operand {
    pub tokens: TokenStream,
    pub prec: Prec,
    pub anchored: bool,
}

impl Operand {
    /// An expression whose type is known: a name, a call, indexing.
    pub fn new(tokens: TokenStream, prec: Prec) -> Operand {
        Operand {
            tokens,
            prec,
            anchored: true,
        }
    }

    /// The same expression, anchored only if `anchored`.
    pub fn anchored(self, anchored: bool) -> Operand {
        Operand { anchored, ..self }
    }

    /// An integer literal, such as a `powi` exponent.
    pub fn int(n: i32) -> Operand {
        let n = Literal::i32_unsuffixed(n);
        Operand::new(quote!(#n), Prec::Atom)
    }

    /// The tokens, parenthesized when they bind looser than `min`.
    pub fn at_least(self, min: Prec) -> TokenStream {
        if self.prec < min {
            let group = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, self.tokens);
            TokenStream::from(proc_macro2::TokenTree::Group(group))
        } else {
            self.tokens
        }
    }
}

/// An emitted body: statements, then one expression per root.
pub struct Body {
    pub stmts: TokenStream,
    pub roots: Vec<TokenStream>,
    /// With [`Options::accumulate`]: for each root that was left
    /// unmaterialized, its element at [`Body::loop_vars`].
    pub root_elems: Vec<Option<TokenStream>>,
    /// The loop indices the body uses, outermost first.
    pub loop_vars: [Ident; 2],
    /// Whether the body calls a `neuron_core::Real` method, so that the
    /// trait must be in scope for concrete float types.
    pub uses_real_trait: bool,
    /// With [`Options::root_targets`]: for each root, whether a called
    /// neuron's `backward_add` already added it into its target, so the
    /// caller must not add it again.
    pub delivered: Vec<bool>,
    /// With [`Options::guarded`]: for each root, the statements only it
    /// needs, for the caller to run only where that root is wanted.
    pub root_stmts: Vec<TokenStream>,
}

/// How a body reaches its inputs, beyond plain by-value arguments.
#[derive(Default)]
pub struct Options {
    /// Array arguments are bound as references (`let w = &self.params.w;`),
    /// so the body indexes them in place and copies one only where its
    /// whole value is needed.
    pub args_by_ref: bool,
    /// The upstream derivative `dy` is not an argument but computed from
    /// the output once it is known: `let dy = loss_grad(&y);`.
    pub dy_from: Option<Ident>,
    /// Names the body must not bind (the enclosing function's parameters).
    pub reserved: Vec<String>,
    /// The roots after the first are to be added into accumulators: an
    /// element-wise array root used nowhere else is not materialized, and
    /// [`Body::root_elems`] gives its element so the caller can add it in
    /// place.
    pub accumulate: bool,
    /// With [`Options::args_by_ref`]: the arguments after the function's
    /// own (the direction of `hvp`) are bound by reference too; otherwise
    /// they are values (`dy`).
    pub extra_args_by_ref: bool,
    /// With [`Options::accumulate`]: for each root, the accumulator it is
    /// added into, as a `&mut` expression (`&mut *neuron_grads.w`). A root
    /// that is a called neuron's partial and nothing else is then added
    /// there by the callee itself (`Call::backward_add`), and the other
    /// partials of that call that the body reads are added into zeroed
    /// locals; partials nobody reads are not asked for.
    pub root_targets: Vec<Option<TokenStream>>,
    /// The statements that only one root needs go to
    /// [`Body::root_stmts`] instead of [`Body::stmts`].
    pub guarded: bool,
}

/// Emits `g` so that `roots` are computed. `arg_names` are the identifiers
/// of the arguments (with `dy` last when the graph has it).
#[cfg(test)]
pub fn body(g: &Graph, roots: &[NodeId], arg_names: &[Ident], real: &RealType) -> Body {
    body_with(g, roots, arg_names, real, &Options::default())
}

/// [`body`] with [`Options`].
pub fn body_with(
    g: &Graph,
    roots: &[NodeId],
    arg_names: &[Ident],
    real: &RealType,
    options: &Options,
) -> Body {
    let plan = Plan::new(g, roots, arg_names, options);
    let mut e = Emitter {
        g,
        real,
        plan,
        uses_real_trait: false,
        args_by_ref: options.args_by_ref,
        extra_args_by_ref: options.extra_args_by_ref,
    };
    let mut stmts = TokenStream::new();
    // let mask = ::neuron_core::dropout::Mask::current();
    if let Some(mask) = &e.plan.mask {
        stmts.extend(quote!(let #mask = ::neuron_core::dropout::Mask::current();));
    }
    let mut grouped = HashSet::new();
    let owners = if options.guarded {
        owners(g, roots)
    } else {
        vec![None; g.nodes.len()]
    };
    let mut root_stmts = vec![TokenStream::new(); roots.len()];
    for (id, owner) in owners.iter().enumerate() {
        if e.plan.materialized[id] {
            let statement = e.statement(id);
            match *owner {
                Some(k) => root_stmts[k].extend(statement),
                None => stmts.extend(statement),
            }
        }
        if let (Some(loss_grad), Op::Arg(k)) = (&options.dy_from, &g.nodes[id].op)
            && *k == g.args.len()
        {
            let y = e.value(roots[0]);
            let ty = e.ty(&g.nodes[id].shape);
            stmts.extend(quote!(let dy: #ty = #loss_grad(&#y);));
        }
        // The partials of a call are bound where the first one is needed,
        // once per upstream derivative.
        if let Op::CallGrad { call, dy, .. } = g.nodes[id].op
            && grouped.insert((call, dy))
        {
            stmts.extend(e.call_grad_statement(call, dy));
        }
    }
    // The loss is asked for even when no adjoint reads `dy` (no parameter
    // depends on the output): the caller learns the loss through it.
    if let Some(loss_grad) = &options.dy_from
        && !g.nodes.iter().any(|n| n.op == Op::Arg(g.args.len()))
    {
        let y = e.value(roots[0]);
        stmts.extend(quote!(let _ = #loss_grad(&#y);));
    }
    let loop_vars = [e.plan.loop_vars[0].clone(), e.plan.loop_vars[1].clone()];
    let root_ids = roots;
    let root_elems = roots
        .iter()
        .map(|&r| {
            let node = &g.nodes[r];
            (in_place(node) && !e.plan.materialized[r])
                .then(|| e.elem(r, &loop_vars[..node.shape.len().min(2)]).tokens)
        })
        .collect();
    let roots = roots
        .iter()
        .map(|&r| match g.nodes[r].op {
            // Added into its target by the callee.
            _ if e.plan.delivered.contains_key(&r) => TokenStream::new(),
            // A called neuron's partial returned whole: copied element by
            // element into an array of the shape this neuron expects, so
            // that a wrong call (swapped arguments, whose partials then
            // have other shapes) is only rustc's one error at the call.
            // Where the call is right the shapes agree and the copy is the
            // identity.
            Op::CallGrad { .. } if !g.nodes[r].shape.is_empty() && !options.accumulate => {
                e.copied(r)
            }
            _ => e.value(r),
        })
        .collect();
    let delivered = root_ids
        .iter()
        .map(|r| e.plan.delivered.contains_key(r))
        .collect();
    Body {
        stmts,
        roots,
        root_elems,
        loop_vars,
        uses_real_trait: e.uses_real_trait,
        delivered,
        root_stmts,
    }
}

/// For each node, the one root that needs it, when only one does: the
/// position in `roots` of the only root it is reachable from.
fn owners(g: &Graph, roots: &[NodeId]) -> Vec<Option<usize>> {
    // `None`: no root yet; `Some(Some(k))`: root `k` only; `Some(None)`: several.
    let mut owner: Vec<Option<Option<usize>>> = vec![None; g.nodes.len()];
    for (k, &r) in roots.iter().enumerate() {
        let mut reached = vec![false; g.nodes.len()];
        reached[r] = true;
        for id in (0..=r).rev() {
            if !reached[id] {
                continue;
            }
            for o in g.nodes[id].op.operands() {
                reached[o] = true;
            }
            owner[id] = match owner[id] {
                None => Some(Some(k)),
                Some(Some(j)) if j == k => Some(Some(k)),
                Some(_) => Some(None),
            };
        }
    }
    // A call and the partials of one are bound once for all roots, so they
    // and everything they read stay in the shared statements.
    for id in (0..g.nodes.len()).rev() {
        if matches!(g.nodes[id].op, Op::Call { .. } | Op::CallGrad { .. }) {
            owner[id] = Some(None);
        }
        if owner[id] == Some(None) {
            for o in g.nodes[id].op.operands() {
                owner[o] = Some(None);
            }
        }
    }
    owner.into_iter().map(Option::flatten).collect()
}

/// Whether a root can be computed element by element inside the caller's
/// accumulating loop: an element-wise array that is not itself an argument.
fn in_place(node: &Node) -> bool {
    node.op.is_elementwise()
        && !node.shape.is_empty()
        && !matches!(node.op, Op::Arg(_) | Op::Const(_))
}

/// What the whole body will look like, decided before any token is
/// written: which nodes get a `let`, and every name.
struct Plan {
    materialized: Vec<bool>,
    names: Vec<Option<Ident>>,
    /// Loop index names, outermost first, chosen not to clash with any
    /// other name of the body.
    loop_vars: Vec<Ident>,
    /// For `CallGrad` nodes: the name bound to the callee's tuple of partials.
    call_grads: HashMap<(NodeId, NodeId), Ident>,
    /// For `Call` nodes whose partials the body reads: the name bound to
    /// the callee's `Call`, whose `backward` gives them.
    calls: HashMap<NodeId, Ident>,
    /// With [`Options::root_targets`]: a called neuron's partial that the
    /// callee adds straight into a root's accumulator, and that target.
    delivered: HashMap<NodeId, TokenStream>,
    /// With [`Options::root_targets`]: a called neuron's partial that the
    /// body reads, and the zeroed local the callee adds it into.
    call_locals: HashMap<NodeId, Ident>,
    /// The local holding the thread's dropout state, when an op reads it.
    mask: Option<Ident>,
    /// Every name the body uses or must not shadow; new names (helper
    /// locals of array ops, more loop indices) are drawn against it.
    taken: HashSet<String>,
}

impl Plan {
    fn new(g: &Graph, roots: &[NodeId], arg_names: &[Ident], options: &Options) -> Plan {
        let n = g.nodes.len();
        let mut uses = vec![0usize; n];
        let mut users: Vec<Vec<NodeId>> = vec![Vec::new(); n];
        for (id, node) in g.nodes.iter().enumerate() {
            for o in node.op.operands() {
                uses[o] += 1;
                users[o].push(id);
            }
        }
        for &r in roots {
            uses[r] += 1;
        }
        let mut taken: HashSet<String> = arg_names.iter().map(|a| a.unraw().to_string()).collect();
        taken.insert("dy".into());
        // A local named like a constant of the generated module would be a
        // constant pattern.
        taken.extend(crate::items::ITEMS.iter().map(ToString::to_string));
        taken.extend(options.reserved.iter().cloned());
        taken.extend(g.lengths.iter().cloned());
        // A local must not shadow a function the body calls.
        for node in &g.nodes {
            if let Op::Call { func, .. } = &node.op {
                taken.insert(func.clone());
            }
        }
        let mut loop_vars = Vec::new();
        for _ in 0..2 {
            loop_vars.push(loop_var(&mut taken));
        }
        // Dropout reads the thread's state once per pass, before any node.
        let mask = g
            .nodes
            .iter()
            .any(|n| matches!(&n.op, Op::Apply(p, _) if !p.def().eval.is_pure()))
            .then(|| fresh(&mut taken, "mask"));

        let mut materialized = vec![false; n];
        for (id, node) in g.nodes.iter().enumerate() {
            materialized[id] = match &node.op {
                Op::Arg(_) | Op::Const(_) | Op::Count(_) | Op::Index(..) => false,
                // Zeros are written in place (`[0.0; 3]`), except where an
                // array op reads them by name.
                Op::Pack(entries) if entries.is_empty() => users[id].iter().any(
                    |&u| matches!(&g.nodes[u].op, Op::Apply(p, _) if p.def().kind == Kind::Array),
                ),
                // A call's partials are read off the tuple its group binds.
                Op::CallGrad { .. } => false,
                Op::Pack(_) | Op::Call { .. } => true,
                Op::Apply(p, _) if p.def().kind == Kind::Array => true,
                Op::Fill(_) | Op::Apply(..) => {
                    let single = uses[id] == 1 && users[id].len() == 1;
                    let inlinable =
                        single && users[id].first().is_some_and(|&u| inlines_into(g, id, u));
                    // A root used by nothing else is inlined into the result
                    // when it is a scalar.
                    let root_only = uses[id] == 1 && users[id].is_empty() && node.shape.is_empty();
                    !(inlinable || root_only)
                }
            };
        }
        // An operand an op writes twice (a select's comparands) is bound
        // to a name first, so that it is computed once.
        for node in &g.nodes {
            if let Op::Apply(p, operands) = &node.op {
                for (&o, &twice) in operands.iter().zip(p.def().repeats) {
                    if twice && matches!(g.nodes[o].op, Op::Apply(..) | Op::Fill(_)) {
                        materialized[o] = true;
                    }
                }
            }
        }
        // A call lends its array arguments (`call(&h, w)`), so each must be
        // a place that outlives the call: a name, an argument, a partial.
        for node in &g.nodes {
            if let Op::Call { args, .. } = &node.op {
                for &a in args {
                    if !g.nodes[a].shape.is_empty()
                        && !matches!(
                            g.nodes[a].op,
                            Op::Arg(_) | Op::Index(..) | Op::CallGrad { .. }
                        )
                    {
                        materialized[a] = true;
                    }
                }
            }
        }
        // An adjoint that is only added into an accumulator is computed
        // inside the accumulating loop instead of into an array first.
        if options.accumulate {
            for &r in roots.iter().skip(1) {
                if in_place(&g.nodes[r]) && uses[r] == 1 {
                    materialized[r] = false;
                }
            }
        }
        // `loss_grad(&y)` needs the output bound to a name first.
        if options.dy_from.is_some()
            && let Some(&y) = roots.first()
            && !matches!(
                g.nodes[y].op,
                Op::Arg(_) | Op::Const(_) | Op::Index(..) | Op::CallGrad { .. }
            )
        {
            materialized[y] = true;
        }

        let mut names: Vec<Option<Ident>> = g
            .nodes
            .iter()
            .map(|node| match node.op {
                Op::Arg(k) => arg_names.get(k).cloned(),
                _ => None,
            })
            .collect();
        let mut call_grads = HashMap::new();
        let mut calls = HashMap::new();
        let differentiated: HashSet<NodeId> = g
            .nodes
            .iter()
            .filter_map(|node| match node.op {
                Op::CallGrad { call, .. } => Some(call),
                _ => None,
            })
            .collect();
        for (id, node) in g.nodes.iter().enumerate() {
            if materialized[id] {
                let base = node.name.clone().unwrap_or_else(|| default_name(g, id));
                names[id] = Some(fresh(&mut taken, &base));
            }
            if differentiated.contains(&id) {
                let base = format!(
                    "{}_call",
                    node.name.clone().unwrap_or_else(|| default_name(g, id))
                );
                calls.insert(id, fresh(&mut taken, &base));
            }
            if let Op::CallGrad { call, dy, .. } = node.op
                && !call_grads.contains_key(&(call, dy))
            {
                let base = format!(
                    "grads_{}",
                    g.nodes[call]
                        .name
                        .clone()
                        .unwrap_or_else(|| default_name(g, call))
                );
                call_grads.insert((call, dy), fresh(&mut taken, &base));
            }
        }
        let mut delivered = HashMap::new();
        let mut call_locals = HashMap::new();
        if !options.root_targets.is_empty() {
            for (id, node) in g.nodes.iter().enumerate() {
                let Op::CallGrad { call, arg, .. } = node.op else {
                    continue;
                };
                let target = roots
                    .iter()
                    .zip(&options.root_targets)
                    .find(|(r, t)| {
                        **r == id && t.is_some() && uses[id] == 1 && users[id].is_empty()
                    })
                    .and_then(|(_, t)| t.clone());
                match target {
                    Some(t) => {
                        delivered.insert(id, t);
                    }
                    None => {
                        // Named after the argument it is the partial of.
                        let of = match &g.nodes[call].op {
                            Op::Call { args, .. } => args.get(arg).copied(),
                            _ => None,
                        };
                        let base = of.map_or_else(
                            || "partial".to_string(),
                            |a| {
                                g.nodes[a]
                                    .name
                                    .clone()
                                    .unwrap_or_else(|| default_name(g, a))
                            },
                        );
                        call_locals.insert(id, fresh(&mut taken, &format!("d_{base}")));
                    }
                }
            }
        }
        Plan {
            materialized,
            names,
            loop_vars,
            call_grads,
            calls,
            delivered,
            call_locals,
            mask,
            taken,
        }
    }
}

/// Whether node `id`, used only by node `u`, is computed inside `u`'s
/// expression rather than bound first.
fn inlines_into(g: &Graph, id: NodeId, u: NodeId) -> bool {
    let node = &g.nodes[id];
    let user = &g.nodes[u];
    if node.shape.is_empty() {
        // A scalar is inlined only where it is evaluated once, never into
        // a loop body.
        return match &user.op {
            Op::Pack(_) | Op::Call { .. } => true,
            Op::Apply(p, _) => user.shape.is_empty() && p.def().kind != Kind::Array,
            Op::Arg(_)
            | Op::Const(_)
            | Op::Count(_)
            | Op::Fill(_)
            | Op::Index(..)
            | Op::CallGrad { .. } => user.shape.is_empty(),
        };
    }
    // An array is inlined only where each of its elements is computed
    // once: an element-wise user of the same shape, or an array op that
    // reads that operand once per element.
    match &user.op {
        Op::Apply(p, operands) => match p.def().kind {
            Kind::Elementwise => user.shape == node.shape,
            Kind::Outer => false,
            Kind::Array => operands
                .iter()
                .zip(p.def().reads_once)
                .any(|(&o, &once)| o == id && once),
        },
        Op::Arg(_)
        | Op::Const(_)
        | Op::Count(_)
        | Op::Fill(_)
        | Op::Index(..)
        | Op::Pack(_)
        | Op::Call { .. }
        | Op::CallGrad { .. } => false,
    }
}

/// The first free loop index name.
fn loop_var(taken: &mut HashSet<String>) -> Ident {
    let name = ["i", "j", "k", "l", "p", "q"]
        .iter()
        .find(|c| !taken.contains(**c))
        .map_or_else(|| fresh_name(taken, "i"), |c| c.to_string());
    taken.insert(name.clone());
    Ident::new(&name, Span::call_site())
}

struct Emitter<'a> {
    g: &'a Graph,
    real: &'a RealType,
    plan: Plan,
    uses_real_trait: bool,
    /// See [`Options::args_by_ref`].
    args_by_ref: bool,
    /// See [`Options::extra_args_by_ref`].
    extra_args_by_ref: bool,
}

impl Emitter<'_> {
    fn name(&self, id: NodeId) -> TokenStream {
        match &self.plan.names[id] {
            Some(name) => quote!(#name),
            None => quote!(__unnamed),
        }
    }

    /// Whether node `id` is read by its name.
    fn named(&self, id: NodeId) -> bool {
        self.plan.materialized[id] || matches!(self.g.nodes[id].op, Op::Arg(_))
    }

    /// A literal of the function's float type: anchored (`T::lit(0.5)`)
    /// in a generic function, a plain `0.5` otherwise.
    fn lit(&self, x: f64) -> Operand {
        let anchored = matches!(self.real, RealType::Generic(_));
        let magnitude = x.abs();
        let tokens = match self.real {
            RealType::Generic(t) if magnitude == 0.0 => quote!(#t::zero()),
            RealType::Generic(t) if magnitude == 1.0 => quote!(#t::one()),
            RealType::Generic(t) => {
                let l = Literal::f64_unsuffixed(magnitude);
                quote!(#t::lit(#l))
            }
            _ => {
                let l = Literal::f64_unsuffixed(magnitude);
                quote!(#l)
            }
        };
        if x < 0.0 {
            Operand::new(quote!(-#tokens), Prec::Prefix).anchored(anchored)
        } else {
            Operand::new(tokens, Prec::Atom).anchored(anchored)
        }
    }

    fn zero(&self) -> TokenStream {
        self.lit(0.0).tokens
    }

    /// The number of elements of `shape` as a real: a literal, or
    /// `((M * N) as f64)` where a length is a const parameter.
    fn count(&self, shape: &[Dim]) -> Operand {
        if let Some(n) = count(shape) {
            return self.lit(n as f64);
        }
        let n = quote!((1 #(* #shape)*));
        let tokens = match self.real {
            RealType::F32 => quote!((#n as f32)),
            RealType::F64 => quote!((#n as f64)),
            RealType::Generic(t) => quote!(#t::lit(#n as f64)),
        };
        Operand::new(tokens, Prec::Atom)
    }

    /// The Rust type of a node of `shape`.
    fn ty(&self, shape: &[Dim]) -> TokenStream {
        let scalar = match self.real {
            RealType::F32 => quote!(f32),
            RealType::F64 => quote!(f64),
            RealType::Generic(t) => quote!(#t),
        };
        self.repeat(scalar, shape)
    }

    /// An array of `shape` filled with `fill` (or the type of one, for a
    /// type): `[[fill; N]; M]`.
    fn repeat(&self, fill: TokenStream, shape: &[Dim]) -> TokenStream {
        shape
            .iter()
            .rev()
            .fold(fill, |inner, n| quote!([#inner; #n]))
    }

    /// The whole value of a node, as an expression.
    fn value(&mut self, id: NodeId) -> TokenStream {
        let g = self.g;
        let node = &g.nodes[id];
        if node.shape.is_empty() {
            return self.elem(id, &[]).tokens;
        }
        match &node.op {
            Op::Pack(entries) if entries.is_empty() => {
                let zero = self.zero();
                self.repeat(zero, &node.shape)
            }
            // An array argument bound by reference is copied where its
            // whole value is needed.
            Op::Arg(_) if self.by_ref(id) => {
                let name = self.name(id);
                quote!(*#name)
            }
            _ if self.named(id) => self.name(id),
            Op::CallGrad { .. } => self.place(id),
            Op::Index(..) => self.elem(id, &[]).tokens,
            _ => self.array_from_fn(id),
        }
    }

    /// A materialized array, an argument or a call's partial, as something
    /// to index: its name, never a copy.
    fn place(&mut self, id: NodeId) -> TokenStream {
        if let Some(local) = self.plan.call_locals.get(&id) {
            return quote!(#local);
        }
        match &self.g.nodes[id].op {
            Op::CallGrad { call, dy, arg } => {
                let group = &self.plan.call_grads[&(*call, *dy)];
                let k = Literal::usize_unsuffixed(*arg);
                // At the argument it belongs to: where the call passed a
                // wrong argument, the partial that does not fit is shown
                // there, not at the attribute.
                match self.g.nodes[*call].arg_spans.get(*arg) {
                    Some(sp) => respan_range(quote!(#group.#k), *sp),
                    None => quote!(#group.#k),
                }
            }
            _ if self.named(id) => self.name(id),
            _ => self.value(id),
        }
    }

    /// `::core::array::from_fn(|i| ...)` computing an element-wise node.
    fn array_from_fn(&mut self, id: NodeId) -> TokenStream {
        let rank = self.g.nodes[id].shape.len().min(2);
        let vars: Vec<Ident> = self.plan.loop_vars[..rank].to_vec();
        let mut body = self.own(id, &vars).tokens;
        for var in vars.iter().rev() {
            body = quote!(::core::array::from_fn(|#var| #body));
        }
        body
    }

    /// Element `idx` of node `id` (the whole node when `idx` is empty and the
    /// node is a scalar): its name, indexed, when it has one, else its own
    /// expression. Scalars broadcast: their element is themselves.
    fn elem(&mut self, id: NodeId, idx: &[Ident]) -> Operand {
        let g = self.g;
        let node = &g.nodes[id];
        let idx = &idx[idx.len().saturating_sub(node.shape.len())..];
        if self.named(id) {
            let name = self.name(id);
            return Operand::new(quote!(#name #([#idx])*), Prec::Atom);
        }
        self.own(id, idx)
    }

    /// The expression of node `id` itself at element `idx`, whether or not
    /// it is materialized (a statement binding it needs exactly this).
    fn own(&mut self, id: NodeId, idx: &[Ident]) -> Operand {
        let g = self.g;
        let node = &g.nodes[id];
        let idx = &idx[idx.len().saturating_sub(node.shape.len())..];
        match &node.op {
            Op::Const(c) => self.lit(c.get()),
            Op::Count(shape) => self.count(shape),
            Op::Fill(s) => self.elem(*s, &[]),
            Op::Pack(_) => self.lit(0.0),
            Op::Index(a, path) => {
                let base = self.place(*a);
                let path = path.iter().map(|i| Literal::usize_unsuffixed(*i));
                Operand::new(quote!(#base #([#path])* #([#idx])*), Prec::Atom)
            }
            Op::CallGrad { .. } => {
                let partial = self.place(id);
                Operand::new(quote!(#partial #([#idx])*), Prec::Atom)
            }
            Op::Apply(p, operands) if p.def().kind != Kind::Array => {
                let def = p.def();
                let elems: Vec<Operand> = match def.kind {
                    // Operand 0 along the rows, operand 1 along the columns.
                    Kind::Outer => vec![
                        self.elem(operands[0], &idx[..1.min(idx.len())]),
                        self.elem(operands[1], &idx[idx.len().saturating_sub(1)..]),
                    ],
                    _ => operands.iter().map(|&o| self.elem(o, idx)).collect(),
                };
                let mut cx = ElemCx { e: self, id, idx };
                cx.apply(def.emit, elems)
            }
            // Arguments, array ops and calls are always named.
            Op::Arg(_) | Op::Apply(..) | Op::Call { .. } => Operand::new(self.name(id), Prec::Atom),
        }
    }

    /// The `let` (and loop) that materializes node `id`.
    fn statement(&mut self, id: NodeId) -> TokenStream {
        let g = self.g;
        let node = &g.nodes[id];
        let shape = node.shape.clone();
        let name = self.name(id);
        let ty = self.ty(&shape);
        match &node.op {
            Op::Fill(s) if !shape.is_empty() => {
                let v = self.elem(*s, &[]).tokens;
                let filled = self.repeat(v, &shape);
                quote!(let #name: #ty = #filled;)
            }
            Op::Apply(p, _) if p.def().kind == Kind::Array => {
                let Emit::Loops(loops) = p.def().emit else {
                    return TokenStream::new();
                };
                loops(&mut LoopCx { e: self, id })
            }
            Op::Apply(..) if !shape.is_empty() => {
                let v = self.array_from_fn(id);
                quote!(let #name: #ty = #v;)
            }
            Op::Pack(entries) => self.pack(id, &shape, entries),
            Op::Call { func, args } => {
                // `super::f::call(args)` has `f`'s signature, with its
                // spans, and `forward()` returns the value with the call for
                // its backward pass. Every body writes the call the same
                // way, with the user's spans, so rustc's errors about it (a
                // wrong argument, a written type that differs from the
                // callee's, a callee that is not a neuron) are the same in
                // every body and shown once, at the call and the written
                // type; after such an error the call's type is unknown, so
                // its backward pass reports nothing more.
                let (call_sp, ty_sp) = self.origin(id);
                let func = ident(func, call_sp.first);
                let call_fn = Ident::new("call", call_sp.first);
                let forward = Ident::new("forward", call_sp.last);
                let spans = node.arg_spans.clone();
                let args: Vec<TokenStream> = args
                    .iter()
                    .enumerate()
                    .map(|(k, &a)| {
                        let v = self.lent(a);
                        match spans.get(k) {
                            Some(sp) => respan_range(v, *sp),
                            None => v,
                        }
                    })
                    .collect();
                let ty = respan(ty, ty_sp.first);
                let path = quote_spanned!(call_sp.first=> super::#func::#call_fn);
                // The bodies live in the neuron's module; the callee is its
                // parent's item, out of reach of the module's own names.
                let call = quote_spanned!(call_sp.last=> #path(#(#args),*).#forward());
                let object = match self.plan.calls.get(&id) {
                    Some(object) => quote!(#object),
                    None => quote!(_),
                };
                let tuple = quote_spanned!(ty_sp.first=> (#ty, _));
                quote!(let (#name, #object): #tuple = #call;)
            }
            _ => {
                let v = self.own(id, &[]);
                let v_tokens = v.tokens;
                if v.anchored {
                    quote!(let #name = #v_tokens;)
                } else {
                    quote!(let #name: #ty = #v_tokens;)
                }
            }
        }
    }

    fn pack(&mut self, id: NodeId, shape: &[Dim], entries: &[(Vec<usize>, NodeId)]) -> TokenStream {
        let name = self.name(id);
        let ty = self.ty(shape);
        let outer = shape.first().and_then(Dim::fixed);
        let complete_rows = Some(entries.len()) == outer
            && entries
                .iter()
                .enumerate()
                .all(|(k, (p, _))| p.as_slice() == [k]);
        if complete_rows {
            let values: Vec<TokenStream> = entries.iter().map(|(_, n)| self.value(*n)).collect();
            return quote!(let #name: #ty = [#(#values),*];);
        }
        let total = count(shape);
        if let (2, Some(cols)) = (shape.len(), shape.get(1).and_then(Dim::fixed))
            && Some(entries.len()) == total
            && entries.iter().all(|(p, _)| p.len() == 2)
        {
            let mut sorted = entries.to_vec();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            let rows: Vec<TokenStream> = sorted
                .chunks(cols)
                .map(|row| {
                    let values: Vec<TokenStream> =
                        row.iter().map(|(_, n)| self.value(*n)).collect();
                    quote!([#(#values),*])
                })
                .collect();
            return quote!(let #name: #ty = [#(#rows),*];);
        }
        let zero = self.zero();
        let init = self.repeat(zero, shape);
        let sets: Vec<TokenStream> = entries
            .iter()
            .map(|(path, n)| {
                let v = self.value(*n);
                let path = path.iter().map(|i| Literal::usize_unsuffixed(*i));
                quote!(#name #([#path])* = #v;)
            })
            .collect();
        quote! {
            let mut #name: #ty = #init;
            #(#sets)*
        }
    }

    /// The statement binding the partials of `call` for upstream `dy`.
    fn call_grad_statement(&mut self, call: NodeId, dy: NodeId) -> TokenStream {
        let (Some(group), Some(object)) = (
            self.plan.call_grads.get(&(call, dy)).cloned(),
            self.plan.calls.get(&call).cloned(),
        ) else {
            return TokenStream::new();
        };
        let d = self.value(dy);
        if self.plan.delivered.is_empty() && self.plan.call_locals.is_empty() {
            return quote!(let #group = #object.backward(#d).into_parts(););
        }
        // The callee adds each partial the body needs into its target: a
        // root's accumulator, or a zeroed local read later.
        let g = self.g;
        let Op::Call { args, .. } = &g.nodes[call].op else {
            return TokenStream::new();
        };
        let mut locals = TokenStream::new();
        let targets: Vec<TokenStream> = (0..args.len())
            .map(|k| {
                let partial = g.nodes.iter().position(|n| {
                    matches!(n.op, Op::CallGrad { call: c, dy: d, arg } if c == call && d == dy && arg == k)
                });
                let Some(p) = partial else {
                    return quote!(::core::option::Option::None);
                };
                // Each accumulator is lent flat (see `backward_add`).
                let scalar = self.ty(&[]);
                let lend = |place: TokenStream| {
                    quote!(::core::option::Option::Some(
                        ::neuron_core::Tensor::<#scalar>::as_mut_slice(#place)
                    ))
                };
                let shape = g.nodes[p].shape.clone();
                if let Some(target) = self.plan.delivered.get(&p) {
                    return lend(target.clone());
                }
                match self.plan.call_locals.get(&p).cloned() {
                    Some(local) => {
                        let ty = self.ty(&shape);
                        let zero = self.zero();
                        let init = self.repeat(zero, &shape);
                        locals.extend(quote!(let mut #local: #ty = #init;));
                        lend(quote!(&mut #local))
                    }
                    None => quote!(::core::option::Option::None),
                }
            })
            .collect();
        quote! {
            #locals
            #object.backward_add(#d, &mut [#(#targets),*]);
        }
    }

    /// Array argument `a` of a call, lent: the reference an argument bound
    /// by reference already is, or a reference to its place.
    fn lent(&mut self, a: NodeId) -> TokenStream {
        let node = &self.g.nodes[a];
        if node.shape.is_empty() {
            return self.value(a);
        }
        if self.by_ref(a) {
            self.name(a)
        } else {
            let place = self.place(a);
            quote!(&#place)
        }
    }

    /// Whether node `id` is an array argument bound by reference (see
    /// [`Options::args_by_ref`], [`Options::extra_args_by_ref`]).
    fn by_ref(&self, id: NodeId) -> bool {
        let node = &self.g.nodes[id];
        match node.op {
            Op::Arg(k) => {
                !node.shape.is_empty()
                    && self.args_by_ref
                    && (k < self.g.args.len() || self.extra_args_by_ref)
            }
            _ => false,
        }
    }

    /// Array node `id` copied element by element into an array of its
    /// shape: `::core::array::from_fn::<_, N, _>(|i| v[i])`, nested for a
    /// matrix.
    fn copied(&mut self, id: NodeId) -> TokenStream {
        let v = self.value(id);
        let shape = self.g.nodes[id].shape.clone();
        let vars: Vec<Ident> = self.plan.loop_vars[..shape.len().min(2)].to_vec();
        let mut elem = quote!(#v #([#vars])*);
        for (d, var) in shape.iter().zip(&vars).rev() {
            elem = quote!(::core::array::from_fn::<_, #d, _>(|#var| #elem));
        }
        elem
    }

    /// The spans of a call node's source: the call and its written type.
    fn origin(&self, id: NodeId) -> (Sp, Sp) {
        let here = Sp::single(Span::call_site());
        self.g.nodes[id].origin.unwrap_or((here, here))
    }
}

/// The element expression of single nodes, with expressions of the
/// caller's in place of their operands: the labels of `trace` and `DOT`
/// write derivative-built ops (a kink's select) as the generated code does.
pub struct Elements<'a> {
    e: Emitter<'a>,
}

impl<'a> Elements<'a> {
    pub fn new(g: &'a Graph, real: &'a RealType) -> Elements<'a> {
        let plan = Plan::new(g, &[], &[], &Options::default());
        Elements {
            e: Emitter {
                g,
                real,
                plan,
                uses_real_trait: false,
                args_by_ref: false,
                extra_args_by_ref: false,
            },
        }
    }

    /// Element `i` of the element-wise node `id`, its operands' elements
    /// being `operands`; `None` for any other node.
    pub fn apply(&mut self, id: NodeId, operands: Vec<Operand>) -> Option<Operand> {
        match &self.e.g.nodes[id].op {
            Op::Apply(p, _) if p.def().kind != Kind::Array => Some(
                ElemCx {
                    e: &mut self.e,
                    id,
                    idx: &[],
                }
                .apply(p.def().emit, operands),
            ),
            _ => None,
        }
    }
}

/// What an element-wise op's emission rule may use: literals of the
/// function's float type, method calls, the integer operands.
pub struct ElemCx<'e, 'a> {
    e: &'e mut Emitter<'a>,
    id: NodeId,
    /// The element's loop indices, one per dimension of the op's result.
    idx: &'e [Ident],
}

impl ElemCx<'_, '_> {
    /// Applies one of the registry's emission forms to the operands.
    fn apply(&mut self, emit: Emit, mut x: Vec<Operand>) -> Operand {
        match emit {
            Emit::Infix(op, prec) => {
                let op = syn::parse_str::<syn::BinOp>(op)
                    .map(|op| quote!(#op))
                    .unwrap_or_default();
                // Appends to the left operand's tokens instead of copying
                // them, so that a sum of `n` terms is emitted in `O(n)`.
                let anchored = x.iter().any(|o| o.anchored);
                let r = x.pop().map(|r| r.at_least(prec.next())).unwrap_or_default();
                let mut l = x.pop().map(|l| l.at_least(prec)).unwrap_or_default();
                l.extend(op);
                l.extend(r);
                Operand::new(l, prec).anchored(anchored)
            }
            Emit::Prefix(op) => {
                let op = syn::parse_str::<syn::UnOp>(op)
                    .map(|op| quote!(#op))
                    .unwrap_or_default();
                let a = x
                    .pop()
                    .map(|a| a.at_least(Prec::Prefix))
                    .unwrap_or_default();
                Operand::new(quote!(#op #a), Prec::Prefix)
            }
            Emit::Method { name, real_trait } => {
                let mut x = x.into_iter();
                let Some(receiver) = x.next() else {
                    return Operand::new(TokenStream::new(), Prec::Atom);
                };
                self.method(receiver, name, x.collect(), real_trait)
            }
            Emit::Elem(f) => f(self, x),
            // Array ops are never computed per element.
            Emit::Loops(_) => Operand::new(self.e.name(self.id), Prec::Atom),
        }
    }

    /// A literal of the function's float type.
    pub fn lit(&self, x: f64) -> Operand {
        self.e.lit(x)
    }

    /// `receiver.name(args..)`, or `f64::name(receiver, args..)` when the
    /// receiver's type is not known without context (a literal);
    /// `real_trait` when the method is `neuron_core::Real`'s, which must
    /// then be in scope.
    pub fn method(
        &mut self,
        receiver: Operand,
        name: &str,
        args: Vec<Operand>,
        real_trait: bool,
    ) -> Operand {
        if real_trait {
            self.e.uses_real_trait = true;
        }
        let m = Ident::new(name, Span::call_site());
        let args = args.into_iter().map(|a| a.tokens);
        if receiver.anchored {
            let r = receiver.at_least(Prec::Atom);
            Operand::new(quote!(#r.#m(#(#args),*)), Prec::Atom)
        } else {
            let ty = self.e.ty(&[]);
            let r = receiver.tokens;
            Operand::new(quote!(#ty::#m(#r #(, #args)*)), Prec::Atom)
        }
    }

    /// The graph being emitted.
    pub fn graph(&self) -> &Graph {
        self.e.g
    }

    /// The op being emitted.
    pub fn prim(&self) -> Option<crate::ops::Prim> {
        match self.e.g.nodes[self.id].op {
            Op::Apply(p, _) => Some(p),
            _ => None,
        }
    }

    /// Where the op came from in the user's code (a call of a declared
    /// function), or the macro's call site.
    pub fn span(&self) -> Span {
        self.e.g.nodes[self.id]
            .origin
            .map_or_else(Span::call_site, |(sp, _)| sp.first)
    }

    /// The nodes of the op's operands.
    pub fn operand_ids(&self) -> Vec<NodeId> {
        self.e.g.nodes[self.id].op.operands()
    }

    /// Whether node `id` is read by its name rather than written inline.
    pub fn is_named(&self, id: NodeId) -> bool {
        self.e.named(id)
    }

    /// Operand `k`, a value that only one branch of a select returns,
    /// bound first by `let` (appended to `lets`) when it reads an element
    /// of an array: the read then happens before the branch, and the
    /// select compiles to a branchless, vectorizable choice between two
    /// values instead of a jump on every element (a jump that a ReLU
    /// layer's random signs mispredict half the time). Scalars, constants
    /// and the labels of `trace` stay inline.
    pub fn eager(&mut self, k: usize, x: Operand, lets: &mut TokenStream) -> Operand {
        let Some(&id) = self.operand_ids().get(k) else {
            return x;
        };
        let node = &self.e.g.nodes[id];
        if self.idx.is_empty() || node.shape.is_empty() || matches!(node.op, Op::Const(_)) {
            return x;
        }
        let base = if self.e.named(id) {
            format!("{}_elem", self.e.name(id))
        } else {
            "elem".to_string()
        };
        let name = fresh(&mut self.e.plan.taken, &base);
        let value = x.tokens;
        lets.extend(quote!(let #name = #value;));
        Operand::new(quote!(#name), Prec::Atom)
    }

    /// Whether operand `k` is a constant.
    pub fn is_constant(&self, k: usize) -> bool {
        self.operand_ids()
            .get(k)
            .is_some_and(|&o| matches!(self.e.g.nodes[o].op, Op::Const(_)))
    }

    /// The element's index in the op's result, flat (row-major): `i`,
    /// `i * 3 + j` (`i * N + j` for a length that is a const parameter),
    /// or `0` for a real.
    pub fn flat_index(&self) -> TokenStream {
        let shape = &self.e.g.nodes[self.id].shape;
        let dims = &shape[shape.len().saturating_sub(self.idx.len())..];
        let mut index: Option<TokenStream> = None;
        for (var, dim) in self.idx.iter().zip(dims) {
            index = Some(match index {
                None => quote!(#var),
                Some(outer) => quote!(#outer * #dim + #var),
            });
        }
        index.unwrap_or_else(|| quote!(0))
    }

    /// The local holding the thread's dropout state, read once at the top
    /// of the body (see [`Body`]).
    pub fn dropout_mask(&self) -> Ident {
        self.e
            .plan
            .mask
            .clone()
            .unwrap_or_else(|| Ident::new("__unnamed", Span::call_site()))
    }

    /// The neuron's name, which names its dropout sites.
    pub fn neuron_name(&self) -> &str {
        &self.e.g.neuron
    }

    /// The value of operand `k`, an integer literal held as a constant.
    pub fn int_operand(&self, k: usize) -> i32 {
        let operands = self.e.g.nodes[self.id].op.operands();
        operands
            .get(k)
            .and_then(|&o| self.e.g.const_value(o))
            .map_or(0, |x| x as i32)
    }
}

/// What an array op's loops may use: the result's name and type, loop
/// indices, fresh names for helper locals, and its operands by element or
/// by name.
pub struct LoopCx<'e, 'a> {
    e: &'e mut Emitter<'a>,
    id: NodeId,
}

impl LoopCx<'_, '_> {
    fn operand_id(&self, k: usize) -> NodeId {
        self.e.g.nodes[self.id].op.operands()[k]
    }

    /// The name the result is bound to.
    pub fn name(&self) -> TokenStream {
        self.e.name(self.id)
    }

    /// The result's Rust type.
    pub fn ty(&self) -> TokenStream {
        self.e.ty(&self.e.g.nodes[self.id].shape)
    }

    /// Zero of the function's float type.
    pub fn zero(&self) -> TokenStream {
        self.e.zero()
    }

    /// The function's float type.
    pub fn real(&self) -> TokenStream {
        self.e.ty(&[])
    }

    /// An array shaped like the result, all zeros.
    pub fn zeros(&self) -> TokenStream {
        let zero = self.zero();
        self.e.repeat(zero, &self.e.g.nodes[self.id].shape)
    }

    /// The `n`-th loop index (`i`, `j`, ...), never one of the body's names.
    pub fn index(&mut self, n: usize) -> Ident {
        while self.e.plan.loop_vars.len() <= n {
            let var = loop_var(&mut self.e.plan.taken);
            self.e.plan.loop_vars.push(var);
        }
        self.e.plan.loop_vars[n].clone()
    }

    /// A new local for the op's own use, named after the result
    /// (`softmax_max`), and free in the whole body.
    pub fn local(&mut self, suffix: &str) -> Ident {
        let base = format!("{}_{suffix}", self.name());
        fresh(&mut self.e.plan.taken, &base)
    }

    /// The number of elements of operand `k`, as a real of the function's
    /// float type.
    pub fn count(&self, k: usize) -> TokenStream {
        self.e.count(self.shape(k)).tokens
    }

    /// The shape of operand `k`.
    pub fn shape(&self, k: usize) -> &Shape {
        self.e.g.shape(self.operand_id(k))
    }

    /// The length of dimension `d` of operand `k`, as written: `3` or `N`.
    pub fn len(&self, k: usize, d: usize) -> TokenStream {
        let n = self.shape(k).get(d).cloned().unwrap_or(Dim::Fixed(0));
        quote!(#n)
    }

    /// Element `idx` of operand `k`.
    pub fn elem(&mut self, k: usize, idx: &[Ident]) -> Operand {
        let o = self.operand_id(k);
        self.e.elem(o, idx)
    }

    /// Element `idx` of operand `k`, parenthesized to bind at least as
    /// tightly as `min`.
    pub fn operand(&mut self, k: usize, idx: &[Ident], min: Prec) -> TokenStream {
        self.elem(k, idx).at_least(min)
    }

    /// Operand `k` as something to index: its name.
    pub fn place(&mut self, k: usize) -> TokenStream {
        let o = self.operand_id(k);
        self.e.place(o)
    }
}

/// `tokens` with every span set to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = proc_macro2::TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

/// `tokens` spanning the user's tokens `sp`: the first token at its first,
/// the rest at its last, so that an error about the whole expression
/// points at exactly what the user wrote.
fn respan_range(tokens: TokenStream, sp: Sp) -> TokenStream {
    let mut first = true;
    tokens
        .into_iter()
        .map(|tt| {
            let span = if std::mem::take(&mut first) {
                sp.first
            } else {
                sp.last
            };
            respan(tt.into(), span)
        })
        .collect()
}

/// A new name from `base`: itself, or with the first free numeric suffix.
pub fn fresh(taken: &mut HashSet<String>, base: &str) -> Ident {
    let name = fresh_name(taken, base);
    taken.insert(name.clone());
    Ident::new(&name, Span::call_site())
}

fn fresh_name(taken: &HashSet<String>, base: &str) -> String {
    let mut name = base.to_string();
    let mut k = 2;
    while taken.contains(&name) || is_keyword(&name) {
        name = format!("{base}_{k}");
        k += 1;
    }
    name
}

/// The identifier `name`, raw (`r#match`) where it is a keyword. The
/// keywords of paths cannot be raw; `check` refuses them as names of
/// functions, and here they are left as they are rather than panic.
pub fn ident(name: &str, span: Span) -> Ident {
    if is_keyword(name) && !matches!(name, "self" | "super" | "crate" | "Self" | "_") {
        Ident::new_raw(name, span)
    } else {
        Ident::new(name, span)
    }
}

fn is_keyword(name: &str) -> bool {
    syn::parse_str::<Ident>(name).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::graph;
    use crate::simplify::simplify;

    /// Emits the simplified `text` over f64 arguments `args` and
    /// pretty-prints it as the body of a function.
    fn emitted(args: &str, text: &str) -> String {
        let mut g = graph(args);
        let root = g.parse(text).unwrap();
        let (s, roots) = simplify(&g, &[root]);
        let names: Vec<Ident> = s
            .args
            .iter()
            .map(|(n, _)| Ident::new(n, Span::call_site()))
            .collect();
        let body = super::body(&s, &roots, &names, &RealType::F64);
        let (stmts, root) = (&body.stmts, &body.roots[0]);
        let file: syn::File = syn::parse2(quote!(fn f() { #stmts #root })).unwrap();
        let text = prettyplease::unparse(&file);
        let lines: Vec<&str> = text.lines().collect();
        lines[1..lines.len() - 1]
            .iter()
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn scalars_used_once_are_inlined() {
        assert_eq!(
            emitted("x y", "(relu (+ (* x y) 1))"),
            "(x * y + 1.0).relu()"
        );
    }

    #[test]
    fn values_used_twice_are_named_once() {
        assert_eq!(
            emitted("x y", "(* (exp (+ x y)) (exp (+ x y)))"),
            "let exp = (x + y).exp();\nexp * exp"
        );
    }

    #[test]
    fn grouping_is_kept_where_rounding_depends_on_it() {
        assert_eq!(emitted("a b c", "(+ a (+ b c))"), "a + (b + c)");
        assert_eq!(emitted("a b c", "(- a (- b c))"), "a - (b - c)");
        assert_eq!(emitted("a b c", "(* (neg a) (/ b c))"), "-a * (b / c)");
        assert_eq!(emitted("a", "(exp (neg a))"), "(-a).exp()");
    }

    #[test]
    fn kinks_are_if_else_chains() {
        assert_eq!(
            emitted("x d", "(select> x 0 d (select< x 0 (neg d) 0))"),
            "if x > 0.0 { d } else if x < 0.0 { -d } else if x >= 0.0 { 0.0 } else { x }"
        );
    }

    #[test]
    fn a_kink_reads_its_array_values_before_choosing() {
        // A ReLU layer's derivative: the upstream element is read before
        // the comparison, so that the choice is a select, not a jump.
        assert_eq!(
            emitted("x:4 d:4", "(select> x 0 d 0)"),
            "let mask: [f64; 4] = ::core::array::from_fn(|i| {\nlet d_elem = d[i];\n\
             if x[i] > 0.0 { d_elem } else if x[i] <= 0.0 { 0.0 } else { x[i] }\n});\nmask"
        );
        // Both branch values, drawn apart from the names in scope.
        assert_eq!(
            emitted("x:2 d_elem:2 e", "(select< x 1 d_elem (* (exp x) e))"),
            "let mask: [f64; 2] = ::core::array::from_fn(|i| {\nlet d_elem_elem = d_elem[i];\n\
             let elem = x[i].exp() * e;\n\
             if x[i] < 1.0 { d_elem_elem } else if x[i] >= 1.0 { elem } else { x[i] }\n});\nmask"
        );
        // A chain (`abs`'s derivative): the inner select is read first too,
        // and the outer one chooses it by its `else`.
        assert_eq!(
            emitted("x:2 d:2", "(select> x 0 d (select< x 0 (neg d) 0))"),
            "let mask: [f64; 2] = ::core::array::from_fn(|i| {\nlet d_elem = d[i];\n\
             let elem_2 = {\nlet elem = -d[i];\n\
             if x[i] < 0.0 { elem } else if x[i] >= 0.0 { 0.0 } else { x[i] }\n};\n\
             if x[i] > 0.0 { d_elem } else { elem_2 }\n});\nmask"
        );
        // `nan_or`, which derivatives wrap around a kink's partials.
        assert_eq!(
            emitted("x:2 d:2", "(nan_or x d)"),
            "let nan_or: [f64; 2] = ::core::array::from_fn(|i| {\nlet d_elem = d[i];\n\
             if x[i].is_nan() { x[i] } else { d_elem }\n});\nnan_or"
        );
        // A scalar's branches are left as they are.
        assert_eq!(
            emitted("x d", "(select> x 0 d 0)"),
            "if x > 0.0 { d } else if x <= 0.0 { 0.0 } else { x }"
        );
    }

    #[test]
    fn reductions_are_loops_whatever_the_length() {
        assert_eq!(
            emitted("w:16 x:16", "(dot w x)"),
            "let mut dot: f64 = 0.0;\nfor i in 0..16 {\ndot += w[i] * x[i];\n}\ndot"
        );
        // A long one keeps sixteen partial sums, added in a fixed order.
        assert_eq!(
            emitted("w:1024 x:1024", "(dot w x)"),
            "let mut dot_lanes: [f64; 16] = [0.0; 16];\nfor j in 0..1024 / 16 {\nfor k in 0..16 {\nlet i = j * 16 + k;\n\
             dot_lanes[k] += w[i] * x[i];\n}\n}\nlet mut dot: f64 = dot_lanes[0] + dot_lanes[1] + dot_lanes[2] + dot_lanes[3]\n\
             + dot_lanes[4] + dot_lanes[5] + dot_lanes[6] + dot_lanes[7] + dot_lanes[8]\n\
             + dot_lanes[9] + dot_lanes[10] + dot_lanes[11] + dot_lanes[12] + dot_lanes[13]\n\
             + dot_lanes[14] + dot_lanes[15];\nfor i in 1024 / 16 * 16..1024 {\ndot += w[i] * x[i];\n}\ndot"
        );
    }

    #[test]
    fn element_wise_arrays_are_one_from_fn() {
        assert_eq!(
            emitted("x:4 s", "(* (tanh x) s)"),
            "let prod: [f64; 4] = ::core::array::from_fn(|i| x[i].tanh() * s);\nprod"
        );
    }

    #[test]
    fn the_vector_of_matvec_is_computed_once_not_per_row() {
        let text = emitted("m:3x2 v:2", "(matvec m (exp v))");
        assert!(
            text.starts_with("let exp: [f64; 2] = ::core::array::from_fn(|i| v[i].exp());"),
            "{text}"
        );
        assert!(text.contains("matvec[i] += m[i][j] * exp[j];"), "{text}");
    }

    #[test]
    fn loop_indices_never_shadow_arguments() {
        let text = emitted("i:3 j:3", "(sum (* i j))");
        assert!(text.contains("for k in 0..3"), "{text}");
        assert!(text.contains("total += i[k] * j[k];"), "{text}");
    }

    #[test]
    fn packs_become_array_literals_or_sparse_writes() {
        assert_eq!(
            emitted("a b", "(sum (pack [2] (0 a) (1 b)))")
                .lines()
                .next(),
            Some("let array: [f64; 2] = [a, b];")
        );
        let sparse = emitted("a", "(sum (pack [4] (2 a)))");
        assert!(
            sparse.starts_with("let mut array: [f64; 4] = [0.0; 4];\narray[2] = a;"),
            "{sparse}"
        );
    }
}
