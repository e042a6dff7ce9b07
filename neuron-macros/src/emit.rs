//! Emission: from a simplified graph to the statements of a Rust function
//! body. This stage validates nothing; it trusts the graph.
//!
//! A node is *inlined* into its user's expression when it is used once and
//! inlining costs nothing (a scalar into a scalar expression, an element-wise
//! array into the loop of its user); otherwise it is *materialized* as a
//! `let` named after the user's binding, its op, or `d_<name>` for an
//! adjoint. Arrays stay arrays: element-wise work is one
//! `core::array::from_fn`, reductions are one `for` loop, so the code does
//! not grow with the length of the arrays.
//!
//! ```text
//! let sum = w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b;     // scalars inline
//! let d_sum = if sum > 0.0 { 1.0 } else { 0.0 };             // a kink: one select
//! let mut dot = 0.0;
//! for i in 0..1024 { dot += w[i] * x[i]; }                   // a reduction: one loop
//! let d_w: [f64; 1024] = ::core::array::from_fn(|i| d_sum * x[i]);
//! ```

use crate::ast::{RealType, Sp};
use crate::ir::{Graph, NodeId, Op, default_name};
use crate::ops::{Binary, Cmp, Unary};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use std::collections::{HashMap, HashSet};

/// Binding strength of an emitted expression, loosest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
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
}

/// Emits `g` so that `roots` are computed. `arg_names` are the identifiers
/// of the arguments (with `dy` last when the graph has it).
pub fn body(g: &Graph, roots: &[NodeId], arg_names: &[Ident], real: &RealType) -> Body {
    body_with(g, roots, arg_names, real, &Options::default())
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
}

/// [`body`] with [`Options`].
pub fn body_with(
    g: &Graph,
    roots: &[NodeId],
    arg_names: &[Ident],
    real: &RealType,
    options: &Options,
) -> Body {
    let mut e = Emitter::new(g, roots, arg_names, real, options);
    let mut stmts = TokenStream::new();
    let mut grouped = HashSet::new();
    for id in 0..g.nodes.len() {
        if e.materialized[id] {
            stmts.extend(e.statement(id));
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
    let loop_vars = e.loop_vars.clone();
    let root_elems = roots
        .iter()
        .map(|&r| {
            let node = &g.nodes[r];
            (in_place(node) && !e.materialized[r])
                .then(|| e.elem(r, &loop_vars[..node.shape.len().min(2)]).0)
        })
        .collect();
    let roots = roots.iter().map(|&r| e.value(r)).collect();
    Body {
        stmts,
        roots,
        root_elems,
        loop_vars,
        uses_real_trait: e.uses_real_trait,
    }
}

/// Whether a root can be computed element by element inside the caller's
/// accumulating loop: an element-wise array that is not itself an argument.
fn in_place(node: &crate::ir::Node) -> bool {
    node.op.is_elementwise()
        && !node.shape.is_empty()
        && !matches!(node.op, Op::Arg(_) | Op::Const(_))
}

struct Emitter<'a> {
    g: &'a Graph,
    real: &'a RealType,
    materialized: Vec<bool>,
    names: Vec<Option<Ident>>,
    /// Loop index names, outermost first, chosen not to clash with any
    /// argument.
    loop_vars: [Ident; 2],
    /// For `CallGrad` nodes: the name bound to the callee's tuple of partials.
    call_grads: HashMap<(NodeId, NodeId), Ident>,
    uses_real_trait: bool,
    /// See [`Options::args_by_ref`].
    args_by_ref: bool,
}

impl<'a> Emitter<'a> {
    fn new(
        g: &'a Graph,
        roots: &[NodeId],
        arg_names: &[Ident],
        real: &'a RealType,
        options: &Options,
    ) -> Self {
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
        let mut taken: HashSet<String> = arg_names.iter().map(ToString::to_string).collect();
        taken.insert("dy".into());
        taken.extend(options.reserved.iter().cloned());
        let candidates = ["i", "j", "k", "l", "p", "q"];
        let mut free = candidates.iter().filter(|c| !taken.contains(**c));
        let i = free.next().copied().unwrap_or("i_");
        let j = free.next().copied().unwrap_or("j_");
        taken.insert(i.into());
        taken.insert(j.into());
        let loop_vars = [
            Ident::new(i, Span::call_site()),
            Ident::new(j, Span::call_site()),
        ];

        let mut materialized = vec![false; n];
        for (id, node) in g.nodes.iter().enumerate() {
            materialized[id] = match &node.op {
                Op::Arg(_) | Op::Const(_) | Op::Index(..) => false,
                Op::Pack(entries) if entries.is_empty() => false,
                Op::Unary(..)
                | Op::Binary(..)
                | Op::Select { .. }
                | Op::Fill(_)
                | Op::Outer(..) => {
                    let single = uses[id] == 1 && users[id].len() == 1;
                    let inlinable = single
                        && users[id].first().is_some_and(|&u| {
                            let user = &g.nodes[u].op;
                            if node.shape.is_empty() {
                                // A scalar is inlined only where it is evaluated
                                // once, never into a loop body.
                                g.nodes[u].shape.is_empty()
                                    && !matches!(user, Op::Dot(..) | Op::Sum(_))
                                    || matches!(user, Op::Pack(_) | Op::Call { .. })
                            } else {
                                // An array is inlined only where each of its
                                // elements is computed once: an element-wise
                                // user of the same shape, a reduction, or the
                                // matrix of a matrix-vector product. The
                                // vector of `matvec` is read once per row, so
                                // it is materialized.
                                match user {
                                    Op::Dot(..) | Op::Sum(_) => true,
                                    Op::MatVec(m, _) | Op::MatTVec(m, _) => *m == id,
                                    Op::Outer(..) => false,
                                    _ => user.is_elementwise() && g.nodes[u].shape == node.shape,
                                }
                            }
                        });
                    // A root used by nothing else is inlined into the result
                    // when it is a scalar.
                    let root_only = uses[id] == 1 && users[id].is_empty() && node.shape.is_empty();
                    !(inlinable || root_only)
                }
                // A call's partials are read off the tuple its group binds.
                Op::CallGrad { .. } => false,
                _ => true,
            };
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
        for (id, node) in g.nodes.iter().enumerate() {
            if materialized[id] {
                let base = node.name.clone().unwrap_or_else(|| default_name(g, id));
                names[id] = Some(fresh(&mut taken, &base));
                if matches!(node.op, Op::Softmax(_) | Op::LogSoftmax(_)) {
                    for suffix in ["max", "exp", "total", "log_total"] {
                        taken.insert(format!(
                            "{}_{suffix}",
                            names[id]
                                .as_ref()
                                .map(ToString::to_string)
                                .unwrap_or_default()
                        ));
                    }
                }
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
        Emitter {
            g,
            real,
            materialized,
            names,
            loop_vars,
            call_grads,
            uses_real_trait: false,
            args_by_ref: options.args_by_ref,
        }
    }

    fn name(&self, id: NodeId) -> TokenStream {
        match &self.names[id] {
            Some(name) => quote!(#name),
            None => quote!(__unnamed),
        }
    }

    /// A literal of the function's float type.
    fn lit(&mut self, x: f64) -> (TokenStream, Prec) {
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
            (quote!(-#tokens), Prec::Prefix)
        } else {
            (tokens, Prec::Atom)
        }
    }

    fn zero(&mut self) -> TokenStream {
        self.lit(0.0).0
    }

    /// The Rust type of a node of `shape`.
    fn ty(&self, shape: &[usize]) -> TokenStream {
        let scalar = match self.real {
            RealType::F32 => quote!(f32),
            RealType::F64 => quote!(f64),
            RealType::Generic(t) => quote!(#t),
        };
        shape.iter().rev().fold(scalar, |inner, n| {
            let n = Literal::usize_unsuffixed(*n);
            quote!([#inner; #n])
        })
    }

    /// An array of `shape` filled with `fill`.
    fn repeat(&self, fill: TokenStream, shape: &[usize]) -> TokenStream {
        shape.iter().rev().fold(fill, |inner, n| {
            let n = Literal::usize_unsuffixed(*n);
            quote!([#inner; #n])
        })
    }

    /// The whole value of a node, as an expression.
    fn value(&mut self, id: NodeId) -> TokenStream {
        let node = &self.g.nodes[id];
        if node.shape.is_empty() {
            return self.elem(id, &[]).0;
        }
        match &node.op {
            Op::Pack(entries) if entries.is_empty() => {
                let zero = self.zero();
                self.repeat(zero, &node.shape.clone())
            }
            // An array argument bound by reference is copied where its
            // whole value is needed.
            Op::Arg(k) if self.args_by_ref && *k < self.g.args.len() => {
                let name = self.name(id);
                quote!(*#name)
            }
            _ if self.materialized[id] || matches!(node.op, Op::Arg(_)) => self.name(id),
            Op::CallGrad { .. } => self.place(id),
            Op::Index(..) => self.elem(id, &[]).0,
            _ => self.array_from_fn(id),
        }
    }

    /// A materialized array, an argument or a call's partial, as something
    /// to index: its name, never a copy.
    fn place(&mut self, id: NodeId) -> TokenStream {
        match &self.g.nodes[id].op {
            Op::CallGrad { call, dy, arg } => {
                let group = &self.call_grads[&(*call, *dy)];
                let k = Literal::usize_unsuffixed(*arg);
                quote!(#group.#k)
            }
            _ if self.materialized[id] || matches!(self.g.nodes[id].op, Op::Arg(_)) => {
                self.name(id)
            }
            _ => self.value(id),
        }
    }

    /// `::core::array::from_fn(|i| ...)` computing an element-wise node.
    fn array_from_fn(&mut self, id: NodeId) -> TokenStream {
        let rank = self.g.nodes[id].shape.len().min(2);
        let vars: Vec<Ident> = self.loop_vars[..rank].to_vec();
        let (mut body, _) = self.elem(id, &vars);
        for var in vars.iter().rev() {
            body = quote!(::core::array::from_fn(|#var| #body));
        }
        body
    }

    /// Element `idx` of node `id` (the whole node when `idx` is empty and the
    /// node is a scalar). Scalars broadcast: their element is themselves.
    fn elem(&mut self, id: NodeId, idx: &[Ident]) -> (TokenStream, Prec) {
        let node = &self.g.nodes[id];
        let idx = &idx[idx.len().saturating_sub(node.shape.len())..];
        if self.materialized[id] || matches!(node.op, Op::Arg(_)) {
            let name = self.name(id);
            return (quote!(#name #([#idx])*), Prec::Atom);
        }
        match node.op.clone() {
            Op::Const(c) => self.lit(c.get()),
            Op::Fill(s) => self.elem(s, &[]),
            Op::Pack(_) => (self.zero(), Prec::Atom),
            Op::Index(a, path) => {
                let base = self.place(a);
                let path = path.iter().map(|i| Literal::usize_unsuffixed(*i));
                (quote!(#base #([#path])* #([#idx])*), Prec::Atom)
            }
            Op::CallGrad { .. } => {
                let partial = self.place(id);
                (quote!(#partial #([#idx])*), Prec::Atom)
            }
            Op::Unary(u, a) => self.unary(u, a, idx),
            Op::Binary(b, x, y) => self.binary(b, x, y, idx),
            Op::Select {
                cmp,
                a,
                b,
                then,
                other,
            } => {
                let a = self.operand(a, idx, Prec::Sum);
                let b = self.operand(b, idx, Prec::Sum);
                let t = self.elem(then, idx).0;
                let (o, o_prec) = self.elem(other, idx);
                let cmp = match cmp {
                    Cmp::Gt => quote!(>),
                    Cmp::Lt => quote!(<),
                };
                // A select in the `else` branch reads as `else if`.
                if o_prec == Prec::Select && !self.materialized[other] {
                    (quote!(if #a #cmp #b { #t } else #o), Prec::Select)
                } else {
                    (quote!(if #a #cmp #b { #t } else { #o }), Prec::Select)
                }
            }
            Op::Outer(a, b) => {
                let a = self.operand(a, &idx[..1.min(idx.len())], Prec::Product);
                let b = self.operand(b, &idx[idx.len().saturating_sub(1)..], Prec::Prefix);
                (quote!(#a * #b), Prec::Product)
            }
            // Every other op is always materialized.
            _ => (self.name(id), Prec::Atom),
        }
    }

    /// Element of an operand, parenthesized when it binds looser than `min`.
    fn operand(&mut self, id: NodeId, idx: &[Ident], min: Prec) -> TokenStream {
        let (tokens, prec) = self.elem(id, idx);
        if prec < min {
            let group = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, tokens);
            TokenStream::from(proc_macro2::TokenTree::Group(group))
        } else {
            tokens
        }
    }

    fn method(
        &mut self,
        receiver: NodeId,
        idx: &[Ident],
        method: &str,
        args: &[TokenStream],
    ) -> (TokenStream, Prec) {
        let r = self.operand(receiver, idx, Prec::Atom);
        let m = format_ident!("{}", method);
        (quote!(#r.#m(#(#args),*)), Prec::Atom)
    }

    fn unary(&mut self, u: Unary, a: NodeId, idx: &[Ident]) -> (TokenStream, Prec) {
        match u {
            Unary::Neg => {
                let x = self.operand(a, idx, Prec::Prefix);
                (quote!(-#x), Prec::Prefix)
            }
            Unary::Relu => {
                let zero = self.zero();
                self.method(a, idx, "max", &[zero])
            }
            Unary::Square => {
                let two = Literal::i32_unsuffixed(2);
                self.method(a, idx, "powi", &[quote!(#two)])
            }
            Unary::Powi(n) => {
                let n = Literal::i32_unsuffixed(n);
                self.method(a, idx, "powi", &[quote!(#n)])
            }
            Unary::Sigmoid | Unary::Softplus => {
                self.uses_real_trait = true;
                self.method(a, idx, u.name(), &[])
            }
            Unary::Tanh | Unary::Exp | Unary::Ln | Unary::Sqrt | Unary::Abs => {
                self.method(a, idx, u.name(), &[])
            }
        }
    }

    fn binary(&mut self, b: Binary, x: NodeId, y: NodeId, idx: &[Ident]) -> (TokenStream, Prec) {
        // Appends to the left operand's tokens instead of copying them, so
        // that a sum of `n` terms is emitted in `O(n)`.
        let infix = |e: &mut Self, op: TokenStream, prec: Prec| {
            let mut l = e.operand(x, idx, prec);
            let r = e.operand(y, idx, next(prec));
            l.extend(op);
            l.extend(r);
            (l, prec)
        };
        match b {
            Binary::Add => infix(self, quote!(+), Prec::Sum),
            Binary::Sub => infix(self, quote!(-), Prec::Sum),
            Binary::Mul => infix(self, quote!(*), Prec::Product),
            Binary::Div => infix(self, quote!(/), Prec::Product),
            Binary::Max | Binary::Min | Binary::Powf | Binary::LeakyRelu => {
                if b == Binary::LeakyRelu {
                    self.uses_real_trait = true;
                }
                let arg = self.elem(y, idx).0;
                let name = match b {
                    Binary::Max => "max",
                    Binary::Min => "min",
                    Binary::Powf => "powf",
                    _ => "leaky_relu",
                };
                self.method(x, idx, name, &[arg])
            }
        }
    }

    /// The `let` (and loop) that materializes node `id`.
    fn statement(&mut self, id: NodeId) -> TokenStream {
        let node = &self.g.nodes[id];
        let shape = node.shape.clone();
        let name = self.name(id);
        let ty = self.ty(&shape);
        let [i, j] = self.loop_vars.clone();
        let zero = self.zero();
        match node.op.clone() {
            _ if shape.is_empty() && node.op.is_elementwise()
                || matches!(node.op, Op::Index(..)) =>
            {
                let v = self.elem_unmaterialized(id, &[]);
                quote!(let #name = #v;)
            }
            Op::Fill(s) => {
                let v = self.elem(s, &[]).0;
                let filled = self.repeat(v, &shape);
                quote!(let #name: #ty = #filled;)
            }
            Op::Unary(..) | Op::Binary(..) | Op::Select { .. } | Op::Outer(..) => {
                self.materialized[id] = false;
                let v = self.array_from_fn(id);
                self.materialized[id] = true;
                quote!(let #name: #ty = #v;)
            }
            Op::Dot(a, b) => {
                let n = len(self.g.shape(a), 0);
                let x = self.operand(a, std::slice::from_ref(&i), Prec::Product);
                let y = self.operand(b, std::slice::from_ref(&i), Prec::Prefix);
                quote! {
                    let mut #name = #zero;
                    for #i in 0..#n {
                        #name += #x * #y;
                    }
                }
            }
            Op::Sum(a) => {
                let s = self.g.shape(a).clone();
                if s.len() == 2 {
                    let (m, n) = (len(&s, 0), len(&s, 1));
                    let x = self.elem(a, &[i.clone(), j.clone()]).0;
                    quote! {
                        let mut #name = #zero;
                        for #i in 0..#m {
                            for #j in 0..#n {
                                #name += #x;
                            }
                        }
                    }
                } else {
                    let n = len(&s, 0);
                    let x = self.elem(a, std::slice::from_ref(&i)).0;
                    quote! {
                        let mut #name = #zero;
                        for #i in 0..#n {
                            #name += #x;
                        }
                    }
                }
            }
            Op::MatVec(m, v) => {
                let s = self.g.shape(m).clone();
                let (rows, cols) = (len(&s, 0), len(&s, 1));
                let a = self.operand(m, &[i.clone(), j.clone()], Prec::Product);
                let x = self.operand(v, std::slice::from_ref(&j), Prec::Prefix);
                let init = self.repeat(zero, &shape);
                // Each row's sum runs over `j` in order either way, so both
                // loop orders round alike. With few rows, sweeping columns
                // outermost keeps one running sum per row in flight at
                // once instead of one long chain of dependent additions.
                if s.first().is_some_and(|&r| r <= FEW_ROWS) {
                    quote! {
                        let mut #name: #ty = #init;
                        for #j in 0..#cols {
                            for #i in 0..#rows {
                                #name[#i] += #a * #x;
                            }
                        }
                    }
                } else {
                    quote! {
                        let mut #name: #ty = #init;
                        for #i in 0..#rows {
                            for #j in 0..#cols {
                                #name[#i] += #a * #x;
                            }
                        }
                    }
                }
            }
            Op::MatTVec(m, u) => {
                let s = self.g.shape(m).clone();
                let (rows, cols) = (len(&s, 0), len(&s, 1));
                let a = self.operand(m, &[i.clone(), j.clone()], Prec::Product);
                let x = self.operand(u, std::slice::from_ref(&i), Prec::Prefix);
                let init = self.repeat(zero, &shape);
                quote! {
                    let mut #name: #ty = #init;
                    for #i in 0..#rows {
                        for #j in 0..#cols {
                            #name[#j] += #a * #x;
                        }
                    }
                }
            }
            Op::Softmax(v) | Op::LogSoftmax(v) => {
                let n = len(&shape, 0);
                let x = self.place(v);
                let base = self.names[id]
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let max = format_ident!("{}_max", base);
                let exp = format_ident!("{}_exp", base);
                let log_total = format_ident!("{}_log_total", base);
                let total = format_ident!("{}_total", base);
                let max_loop = quote! {
                    let mut #max = #x[0];
                    for #i in 1..#n {
                        #max = #max.max(#x[#i]);
                    }
                };
                if matches!(node.op, Op::Softmax(_)) {
                    quote! {
                        #max_loop
                        let #exp: #ty = ::core::array::from_fn(|#i| (#x[#i] - #max).exp());
                        let mut #total = #zero;
                        for #i in 0..#n {
                            #total += #exp[#i];
                        }
                        let #name: #ty = ::core::array::from_fn(|#i| #exp[#i] / #total);
                    }
                } else {
                    quote! {
                        #max_loop
                        let mut #total = #zero;
                        for #i in 0..#n {
                            #total += (#x[#i] - #max).exp();
                        }
                        let #log_total = #total.ln();
                        let #name: #ty = ::core::array::from_fn(|#i| #x[#i] - #max - #log_total);
                    }
                }
            }
            Op::Pack(entries) => self.pack(id, &shape, &entries),
            Op::Call { func, args } => {
                // With the user's spans, rustc's errors about the call (a
                // type that differs from the callee's, a callee that is not
                // a neuron) point at the call and at the written type.
                let (call_sp, ty_sp) = self.origin(id);
                let func = Ident::new(&func, call_sp.first);
                let args: Vec<TokenStream> = args.iter().map(|&a| self.value(a)).collect();
                let ty = respan(ty, ty_sp.first);
                let call = quote_spanned!(call_sp.last=> #func(#(#args),*));
                quote!(let #name: #ty = #call;)
            }
            _ => {
                let v = self.elem_unmaterialized(id, &[]);
                quote!(let #name = #v;)
            }
        }
    }

    /// The expression of a materialized scalar node itself (not its name).
    fn elem_unmaterialized(&mut self, id: NodeId, idx: &[Ident]) -> TokenStream {
        self.materialized[id] = false;
        let v = self.elem(id, idx).0;
        self.materialized[id] = true;
        v
    }

    fn pack(
        &mut self,
        id: NodeId,
        shape: &[usize],
        entries: &[(Vec<usize>, NodeId)],
    ) -> TokenStream {
        let name = self.name(id);
        let ty = self.ty(shape);
        let outer = shape.first().copied().unwrap_or(0);
        let complete_rows = entries.len() == outer
            && entries
                .iter()
                .enumerate()
                .all(|(k, (p, _))| p.as_slice() == [k]);
        if complete_rows {
            let values: Vec<TokenStream> = entries.iter().map(|(_, n)| self.value(*n)).collect();
            return quote!(let #name: #ty = [#(#values),*];);
        }
        let total: usize = shape.iter().product();
        if shape.len() == 2 && entries.len() == total && entries.iter().all(|(p, _)| p.len() == 2) {
            let mut sorted = entries.to_vec();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            let cols = shape[1];
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
        let Op::Call { func, args } = self.g.nodes[call].op.clone() else {
            return TokenStream::new();
        };
        let (call_sp, _) = self.origin(call);
        let func = Ident::new(&func, call_sp.first);
        let backward = Ident::new("backward", call_sp.first);
        let group = self.call_grads[&(call, dy)].clone();
        let args: Vec<TokenStream> = args.iter().map(|&a| self.value(a)).collect();
        let d = self.value(dy);
        let call = quote_spanned!(call_sp.last=> #func::#backward(#(#args,)* #d));
        quote!(let #group = #call.1.into_parts();)
    }

    /// The spans of a call node's source: the call and its written type.
    fn origin(&self, id: NodeId) -> (Sp, Sp) {
        let here = Sp::single(Span::call_site());
        self.g.nodes[id].origin.unwrap_or((here, here))
    }
}

/// Up to this many rows, `matvec` sweeps columns in its outer loop.
const FEW_ROWS: usize = 16;

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

/// The next tighter precedence, for right operands of left-associative
/// operators: `a - (b - c)` keeps its parentheses, and so does `a + (b + c)`,
/// whose rounding differs from `(a + b) + c`.
fn next(p: Prec) -> Prec {
    match p {
        Prec::Select => Prec::Sum,
        Prec::Sum => Prec::Product,
        Prec::Product | Prec::Prefix => Prec::Prefix,
        Prec::Atom => Prec::Atom,
    }
}

fn len(shape: &[usize], d: usize) -> Literal {
    Literal::usize_unsuffixed(shape.get(d).copied().unwrap_or(0))
}

/// A new name from `base`: itself, or with the first free numeric suffix.
fn fresh(taken: &mut HashSet<String>, base: &str) -> Ident {
    let mut name = base.to_string();
    let mut k = 2;
    while taken.contains(&name) || is_keyword(&name) {
        name = format!("{base}_{k}");
        k += 1;
    }
    taken.insert(name.clone());
    Ident::new(&name, Span::call_site())
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
            "(x * y + 1.0).max(0.0)"
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
            emitted("x d", "(select > x 0 d (select < x 0 (neg d) 0))"),
            "if x > 0.0 { d } else if x < 0.0 { -d } else { 0.0 }"
        );
    }

    #[test]
    fn reductions_are_loops_whatever_the_length() {
        assert_eq!(
            emitted("w:1024 x:1024", "(dot w x)"),
            "let mut dot = 0.0;\nfor i in 0..1024 {\ndot += w[i] * x[i];\n}\ndot"
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
