//! `NAME::COST`: the operations of the forward and backward passes,
//! counted on the code `emit` wrote for them (the simplified graph), and
//! the bytes of their temporaries.
//!
//! An array is one node emitted as loops, so counting walks the emitted
//! statements: an operation inside `for i in 0..N` counts `N` times, inside
//! `::core::array::from_fn(|i| ..)` once per element of the array the `let`
//! declares. With const-generic lengths the counts are polynomials in them,
//! written as constant expressions:
//!
//! ```text
//! impl<T: Real, const I: usize> Model<T, I> {
//!     pub const COST: Cost = Cost {
//!         forward: Ops { adds: 1u64 * (I as u64), multiplies: 1u64 * (I as u64), .. },
//!         forward_bytes: 1u64 * (::core::mem::size_of::<T>() as u64),
//!         ..
//!     };
//! }
//! pub const COST: Cost = ...;            // and as a module constant, when nothing is generic
//! ```
//!
//! The backward pass is what the gradient function (`gradient` for a scalar
//! output, `backward` for an array output) computes beyond the forward
//! function. A call of another neuron counts as one `neuron_calls`: its own
//! work is its own `COST`.

use crate::ast::{Function, RealType};
use crate::emit::Body;
use crate::items::{Sig, function_body};
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::BTreeMap;

/// A count: a polynomial with natural coefficients in the const
/// parameters, each monomial a sorted list of their names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Poly(BTreeMap<Vec<String>, u64>);

impl Poly {
    pub fn constant(n: u64) -> Poly {
        let mut p = Poly::default();
        if n > 0 {
            p.0.insert(Vec::new(), n);
        }
        p
    }

    fn var(name: &str) -> Poly {
        let mut p = Poly::default();
        p.0.insert(vec![name.to_string()], 1);
        p
    }

    fn add(&mut self, other: &Poly) {
        for (m, c) in &other.0 {
            let e = self.0.entry(m.clone()).or_insert(0);
            *e = e.saturating_add(*c);
        }
    }

    fn mul(&self, other: &Poly) -> Poly {
        let mut out = Poly::default();
        for (m1, c1) in &self.0 {
            for (m2, c2) in &other.0 {
                let mut m = m1.clone();
                m.extend(m2.iter().cloned());
                m.sort();
                let e = out.0.entry(m).or_insert(0);
                *e = e.saturating_add(c1.saturating_mul(*c2));
            }
        }
        out
    }

    /// `self - other`, each coefficient at least zero.
    fn minus(&self, other: &Poly) -> Poly {
        let mut out = Poly::default();
        for (m, c) in &self.0 {
            let d = c.saturating_sub(other.0.get(m).copied().unwrap_or(0));
            if d > 0 {
                out.0.insert(m.clone(), d);
            }
        }
        out
    }

    /// The value, when no const parameter appears.
    pub fn value(&self) -> Option<u64> {
        match self.0.len() {
            0 => Some(0),
            1 => self.0.get(&Vec::new()).copied(),
            _ => None,
        }
    }

    /// A `u64` constant expression.
    fn tokens(&self) -> TokenStream {
        if self.0.is_empty() {
            return quote!(0u64);
        }
        let terms = self.0.iter().map(|(m, c)| {
            let vars = m.iter().map(|v| {
                let v = crate::ast::Dim::param_ident(v);
                quote!((#v as u64))
            });
            quote!(#c #(* #vars)*)
        });
        quote!((#(#terms)+*))
    }

    /// As the documentation writes it: `3`, `2·N + 1`.
    fn text(&self) -> String {
        if self.0.is_empty() {
            return "0".into();
        }
        let terms: Vec<String> = self
            .0
            .iter()
            .rev()
            .map(|(m, c)| match (m.is_empty(), *c) {
                (true, c) => c.to_string(),
                (false, 1) => m.join("·"),
                (false, c) => format!("{c}·{}", m.join("·")),
            })
            .collect();
        terms.join(" + ")
    }
}

/// The operations of one body by kind, as [`neuron_core::cost::Ops`] has
/// them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub adds: Poly,
    pub multiplies: Poly,
    pub divisions: Poly,
    pub calls: Poly,
    pub comparisons: Poly,
    pub multiply_adds: Poly,
    pub neuron_calls: Poly,
}

impl Counts {
    fn fields(&self) -> [(&'static str, &Poly); 7] {
        [
            ("adds", &self.adds),
            ("multiplies", &self.multiplies),
            ("divisions", &self.divisions),
            ("calls", &self.calls),
            ("comparisons", &self.comparisons),
            ("multiply_adds", &self.multiply_adds),
            ("neuron_calls", &self.neuron_calls),
        ]
    }

    fn minus(&self, other: &Counts) -> Counts {
        Counts {
            adds: self.adds.minus(&other.adds),
            multiplies: self.multiplies.minus(&other.multiplies),
            divisions: self.divisions.minus(&other.divisions),
            calls: self.calls.minus(&other.calls),
            comparisons: self.comparisons.minus(&other.comparisons),
            multiply_adds: self.multiply_adds.minus(&other.multiply_adds),
            neuron_calls: self.neuron_calls.minus(&other.neuron_calls),
        }
    }

    fn tokens(&self) -> TokenStream {
        let fields = self.fields().map(|(name, p)| {
            let name = proc_macro2::Ident::new(name, proc_macro2::Span::call_site());
            let v = p.tokens();
            quote!(#name: #v)
        });
        quote!(::neuron_core::cost::Ops { #(#fields),* })
    }
}

/// The counts of one emitted function body.
#[derive(Debug, Default)]
pub struct Tally {
    pub ops: Counts,
    /// Elements of the `let` bindings.
    pub elements: Poly,
}

/// Counts the operations of `block`.
pub fn count(block: &syn::Block) -> Tally {
    let mut t = Tally::default();
    t.block(&block.stmts, &Poly::constant(1));
    t
}

impl Tally {
    fn block(&mut self, stmts: &[syn::Stmt], times: &Poly) {
        for stmt in stmts {
            match stmt {
                syn::Stmt::Local(local) => {
                    let dims = match &local.pat {
                        syn::Pat::Type(t) => Some(dims(&t.ty)),
                        _ => None,
                    };
                    let init = local.init.as_ref().map(|i| &*i.expr);
                    // The partials of a called neuron are counted by its COST.
                    let elements = match (&dims, init) {
                        (_, Some(syn::Expr::MethodCall(m))) if m.method == "into_parts" => {
                            Poly::default()
                        }
                        (Some(d), _) => d.iter().fold(Poly::constant(1), |acc, n| acc.mul(n)),
                        (None, _) => Poly::constant(1),
                    };
                    self.elements.add(&elements);
                    if let Some(init) = init {
                        self.expr(init, times, dims.as_deref());
                    }
                }
                syn::Stmt::Expr(e, _) => self.expr(e, times, None),
                syn::Stmt::Item(_) | syn::Stmt::Macro(_) => {}
            }
        }
    }

    fn expr(&mut self, e: &syn::Expr, times: &Poly, shape: Option<&[Poly]>) {
        use syn::{BinOp, Expr};
        match e {
            Expr::Binary(b) => {
                let counter = match b.op {
                    BinOp::Add(_) | BinOp::Sub(_) | BinOp::AddAssign(_) | BinOp::SubAssign(_) => {
                        if is_product(&b.left) || is_product(&b.right) {
                            self.ops.multiply_adds.add(times);
                        }
                        Some(&mut self.ops.adds)
                    }
                    BinOp::Mul(_) | BinOp::MulAssign(_) => Some(&mut self.ops.multiplies),
                    BinOp::Div(_) | BinOp::DivAssign(_) => Some(&mut self.ops.divisions),
                    BinOp::Lt(_)
                    | BinOp::Le(_)
                    | BinOp::Gt(_)
                    | BinOp::Ge(_)
                    | BinOp::Eq(_)
                    | BinOp::Ne(_) => Some(&mut self.ops.comparisons),
                    _ => None,
                };
                if let Some(c) = counter {
                    c.add(times);
                }
                self.expr(&b.left, times, None);
                self.expr(&b.right, times, None);
            }
            Expr::Unary(u) => {
                // `-0.5` is a literal, not an operation.
                if matches!(u.op, syn::UnOp::Neg(_)) && !is_literal(&u.expr) {
                    self.ops.adds.add(times);
                }
                self.expr(&u.expr, times, None);
            }
            Expr::MethodCall(m) => {
                self.function(&m.method.to_string(), times);
                self.expr(&m.receiver, times, None);
                for a in &m.args {
                    self.expr(a, times, None);
                }
            }
            Expr::Call(c) => {
                let segments: Vec<String> = match &*c.func {
                    Expr::Path(p) => p
                        .path
                        .segments
                        .iter()
                        .map(|s| s.ident.to_string())
                        .collect(),
                    _ => Vec::new(),
                };
                let last = segments.last().map(String::as_str).unwrap_or("");
                if last == "from_fn"
                    && let Some(Expr::Closure(closure)) = c.args.first()
                {
                    // One element per index of the declared array.
                    let (n, rest) = match shape {
                        Some([n, rest @ ..]) => (n.clone(), Some(rest)),
                        _ => (Poly::constant(1), None),
                    };
                    self.expr(&closure.body, &times.mul(&n), rest);
                    return;
                }
                if segments.first().map(String::as_str) == Some("super") {
                    // `super::f(..)` or `super::f::backward(..)`: another
                    // neuron, or a function with a declared derivative.
                    if segments.len() == 2 || last == "backward" {
                        self.ops.neuron_calls.add(times);
                    } else {
                        self.ops.calls.add(times);
                    }
                } else if segments.len() >= 2 {
                    // `f64::max(a, b)`, `T::lit(0.5)`, `::neuron_core::…::safe_mul(a, b)`.
                    self.function(last, times);
                }
                for a in &c.args {
                    self.expr(a, times, None);
                }
            }
            // A loop over blocks of `L` elements around one over the `L`
            // lanes of a block (`for j in 0..n / L { for k in 0..L { .. } }`)
            // runs the lane body `n` times, counting the loop over the
            // remainder (`n / L * L..n`, see `length`) as none.
            Expr::ForLoop(l) if lanes(l).is_some() => {
                if let Some((n, body)) = lanes(l) {
                    self.block(body, &times.mul(&length(n)));
                }
            }
            Expr::ForLoop(l) => {
                let trips = match &*l.expr {
                    Expr::Range(r) => {
                        let end = r.end.as_deref().map_or(Poly::constant(1), length);
                        let start = r.start.as_deref().map_or(Poly::default(), length);
                        end.minus(&start)
                    }
                    _ => Poly::constant(1),
                };
                self.block(&l.body.stmts, &times.mul(&trips));
            }
            Expr::If(i) => {
                self.expr(&i.cond, times, None);
                self.block(&i.then_branch.stmts, times);
                if let Some((_, other)) = &i.else_branch {
                    self.expr(other, times, shape);
                }
            }
            Expr::Block(b) => self.block(&b.block.stmts, times),
            Expr::Paren(p) => self.expr(&p.expr, times, shape),
            Expr::Group(g) => self.expr(&g.expr, times, shape),
            Expr::Index(i) => {
                self.expr(&i.expr, times, None);
                self.expr(&i.index, times, None);
            }
            Expr::Field(f) => self.expr(&f.base, times, None),
            Expr::Assign(a) => {
                self.expr(&a.left, times, None);
                self.expr(&a.right, times, None);
            }
            Expr::Array(a) => {
                let inner = shape.and_then(|s| s.get(1..));
                for e in &a.elems {
                    self.expr(e, times, inner);
                }
            }
            Expr::Tuple(t) => {
                for e in &t.elems {
                    self.expr(e, times, None);
                }
            }
            Expr::Struct(s) => {
                for f in &s.fields {
                    self.expr(&f.expr, times, None);
                }
            }
            Expr::Reference(r) => self.expr(&r.expr, times, shape),
            Expr::Cast(c) => self.expr(&c.expr, times, None),
            Expr::Closure(c) => self.expr(&c.body, times, None),
            Expr::Let(l) => self.expr(&l.expr, times, None),
            // A repeat (`[0.0; N]`) fills memory; names, literals and
            // macros compute nothing.
            _ => {}
        }
    }

    /// A call of the function or method `name`, by what it computes.
    fn function(&mut self, name: &str, times: &Poly) {
        let ops = &mut self.ops;
        match name {
            // Constructors of the float type and of the partials' tuple.
            "lit" | "zero" | "one" | "into_parts" | "from" | "clone" | "as_slice" => {}
            "max" | "min" | "abs" | "relu" | "clamp" | "is_nan" | "signum" => {
                ops.comparisons.add(times);
            }
            "leaky_relu" => {
                ops.comparisons.add(times);
                ops.multiplies.add(times);
            }
            "mul_add" => {
                ops.multiplies.add(times);
                ops.adds.add(times);
                ops.multiply_adds.add(times);
            }
            "safe_mul" => ops.multiplies.add(times),
            "safe_div" => ops.divisions.add(times),
            _ => ops.calls.add(times),
        }
    }
}

/// Whether `e` is a product, an operand a multiply-add could fuse.
fn is_product(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Binary(b) => matches!(b.op, syn::BinOp::Mul(_)),
        syn::Expr::Paren(p) => is_product(&p.expr),
        _ => false,
    }
}

fn is_literal(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Lit(_) => true,
        syn::Expr::Call(c) => {
            matches!(&*c.func, syn::Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "lit" || s.ident == "one" || s.ident == "zero"))
        }
        syn::Expr::Paren(p) => is_literal(&p.expr),
        _ => false,
    }
}

/// The lengths of an array type, outermost first; none for a scalar.
fn dims(ty: &syn::Type) -> Vec<Poly> {
    match ty {
        syn::Type::Array(a) => {
            let mut d = vec![length(&a.len)];
            d.extend(dims(&a.elem));
            d
        }
        syn::Type::Paren(p) => dims(&p.elem),
        syn::Type::Group(g) => dims(&g.elem),
        _ => Vec::new(),
    }
}

/// `n` and the body of the inner loop of
/// `for j in 0..n / L { for k in 0..L { let i = j * L + k; .. } }`, with
/// `L` an integer literal, without the element index `let i = ..`
/// (integer work, not a count).
fn lanes(l: &syn::ExprForLoop) -> Option<(&syn::Expr, &[syn::Stmt])> {
    let syn::Expr::Range(outer) = &*l.expr else {
        return None;
    };
    let syn::Expr::Binary(div) = outer.end.as_deref()? else {
        return None;
    };
    if !matches!(div.op, syn::BinOp::Div(_)) {
        return None;
    }
    let [syn::Stmt::Expr(syn::Expr::ForLoop(inner), _)] = l.body.stmts.as_slice() else {
        return None;
    };
    let syn::Expr::Range(r) = &*inner.expr else {
        return None;
    };
    let lanes = int(r.end.as_deref()?)?;
    if int(&div.right)? != lanes {
        return None;
    }
    let body = inner.body.stmts.as_slice();
    let body = match body.split_first() {
        Some((syn::Stmt::Local(local), rest))
            if local
                .init
                .as_ref()
                .is_some_and(|i| is_block_index(&i.expr, &l.pat, &inner.pat, lanes)) =>
        {
            rest
        }
        _ => body,
    };
    Some((&*div.left, body))
}

/// Whether `e` is `block * lanes + lane`, with `block` and `lane` the
/// loops' own indices.
fn is_block_index(e: &syn::Expr, block: &syn::Pat, lane: &syn::Pat, lanes: u64) -> bool {
    let is = |e: &syn::Expr, pat: &syn::Pat| match (e, pat) {
        (syn::Expr::Path(p), syn::Pat::Ident(i)) => p.path.is_ident(&i.ident),
        _ => false,
    };
    match e {
        syn::Expr::Binary(sum) if matches!(sum.op, syn::BinOp::Add(_)) => match &*sum.left {
            syn::Expr::Binary(product) if matches!(product.op, syn::BinOp::Mul(_)) => {
                is(&product.left, block)
                    && int(&product.right) == Some(lanes)
                    && is(&sum.right, lane)
            }
            _ => false,
        },
        _ => false,
    }
}

/// The value of an integer literal.
fn int(e: &syn::Expr) -> Option<u64> {
    match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => i.base10_parse().ok(),
        _ => None,
    }
}

/// A length written as a literal, a const parameter, or a product or sum
/// of them; `n / L * L`, the start of a loop over the remainder after
/// blocks of `L`, counts as `n` (with the blocks counted as `n`, see
/// `lanes`).
fn length(e: &syn::Expr) -> Poly {
    if let syn::Expr::Binary(b) = e
        && matches!(b.op, syn::BinOp::Mul(_))
        && let syn::Expr::Binary(d) = &*b.left
        && matches!(d.op, syn::BinOp::Div(_))
        && int(&d.right).is_some()
        && int(&d.right) == int(&b.right)
    {
        return length(&d.left);
    }
    match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => Poly::constant(i.base10_parse().unwrap_or(1)),
        syn::Expr::Path(p) => p
            .path
            .get_ident()
            .map_or_else(|| Poly::constant(1), |i| Poly::var(&i.to_string())),
        syn::Expr::Binary(b) if matches!(b.op, syn::BinOp::Mul(_)) => {
            length(&b.left).mul(&length(&b.right))
        }
        syn::Expr::Binary(b) if matches!(b.op, syn::BinOp::Add(_)) => {
            let mut s = length(&b.left);
            s.add(&length(&b.right));
            s
        }
        syn::Expr::Paren(p) => length(&p.expr),
        syn::Expr::Group(g) => length(&g.expr),
        syn::Expr::Block(b) => match b.block.stmts.as_slice() {
            [syn::Stmt::Expr(e, None)] => length(e),
            _ => Poly::constant(1),
        },
        _ => Poly::constant(1),
    }
}

/// The counts of both passes and the bytes of their temporaries.
pub struct Cost {
    pub forward: Counts,
    pub backward: Counts,
    pub forward_elements: Poly,
    pub gradient_elements: Poly,
}

/// Counts the emitted bodies: `forward`, and the gradient's (`gradient`
/// for a scalar output, else `backward`).
pub fn cost(f: &Function, forward: &Body, gradient: &Body) -> Cost {
    let block = |body: &Body| {
        let roots = &body.roots;
        let tokens = function_body(body, quote!((#(#roots),*)), f);
        syn::parse2::<syn::Block>(tokens)
            .map(|b| count(&b))
            .unwrap_or_default()
    };
    let fw = block(forward);
    let gr = block(gradient);
    Cost {
        backward: gr.ops.minus(&fw.ops),
        forward: fw.ops,
        forward_elements: fw.elements,
        gradient_elements: gr.elements,
    }
}

/// The `Cost` constant expression.
fn tokens(f: &Function, sig: &Sig, c: &Cost) -> TokenStream {
    let size = match &f.real {
        RealType::F32 => quote!(4u64),
        RealType::F64 => quote!(8u64),
        RealType::Generic(_) => {
            let t = &sig.real;
            quote!((::core::mem::size_of::<#t>() as u64))
        }
    };
    let (forward, backward) = (c.forward.tokens(), c.backward.tokens());
    let (fe, ge) = (c.forward_elements.tokens(), c.gradient_elements.tokens());
    quote! {
        ::neuron_core::cost::Cost {
            forward: #forward,
            backward: #backward,
            forward_bytes: #fe * #size,
            gradient_bytes: #ge * #size,
        }
    }
}

/// `COST` on `Model` (every neuron) and in the module (when nothing is
/// generic); nothing for a stub.
pub fn items(f: &Function, sig: &Sig, c: Option<&Cost>) -> TokenStream {
    let Some(c) = c else {
        return TokenStream::new();
    };
    let value = tokens(f, sig, c);
    let Sig {
        generics, ty_args, ..
    } = sig;
    let module_const = generics.is_empty().then(|| {
        quote! {
            /// The operations of the forward and backward passes and the bytes of their temporaries, counted on the generated code.
            pub const COST: ::neuron_core::cost::Cost = #value;
        }
    });
    quote! {
        impl #generics Model #ty_args {
            /// The operations of the forward and backward passes and the bytes of their temporaries, counted on the generated code.
            pub const COST: ::neuron_core::cost::Cost = #value;
        }
        #module_const
    }
}

/// The lines of the rustdoc of `gradient` that show the cost.
pub fn doc(f: &Function, c: &Cost) -> String {
    let line = |ops: &Counts| {
        let parts: Vec<String> = ops
            .fields()
            .iter()
            .filter(|(_, p)| !p.0.is_empty())
            .map(|(name, p)| format!("{} {}", p.text(), name.replace('_', "-")))
            .collect();
        if parts.is_empty() {
            "nothing".to_string()
        } else {
            parts.join(", ")
        }
    };
    let size = match &f.real {
        RealType::F32 => Some(4),
        RealType::F64 => Some(8),
        RealType::Generic(_) => None,
    };
    // `64 bytes`, or `(N + 2) × size_of::<T>() bytes`.
    let bytes = |elements: &Poly| match (elements.value(), size) {
        (Some(n), Some(size)) => format!("{} bytes", n.saturating_mul(size)),
        _ => {
            let size = match &f.real {
                RealType::F32 => "4".to_string(),
                RealType::F64 => "8".to_string(),
                RealType::Generic(t) => format!("size_of::<{t}>()"),
            };
            format!("({}) × {size} bytes", elements.text())
        }
    };
    let generic = if f.generics.params.is_empty() {
        "`COST`"
    } else {
        "`Model::<..>::COST`"
    };
    format!(
        "\n# Cost\n\nCounted on the generated code ({generic}):\n\n```text\nforward:  {}\nbackward: {}\ntemporaries: {} forward, {} for the gradient\n```\n",
        line(&c.forward),
        line(&c.backward),
        bytes(&c.forward_elements),
        bytes(&c.gradient_elements),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(text: &str) -> Tally {
        count(&syn::parse_str::<syn::Block>(text).unwrap())
    }

    #[test]
    fn loops_multiply_their_bodies() {
        let t = tally(
            "{ let mut dot = 0.0; for i in 0..N { dot += w[i] * x[i]; } let y: [f64; 3] = ::core::array::from_fn(|i| -x[i] + 1.0); dot.tanh() }",
        );
        assert_eq!(t.ops.multiplies, Poly::var("N"));
        let mut adds = Poly::var("N");
        adds.add(&Poly::constant(6));
        assert_eq!(t.ops.adds, adds);
        assert_eq!(t.ops.multiply_adds, Poly::var("N"));
        assert_eq!(t.ops.calls, Poly::constant(1));
        assert_eq!(t.elements, Poly::constant(4));
    }

    /// A `let` adding two named reals is counted; only the element index
    /// of a loop over blocks of partial sums is not.
    #[test]
    fn named_sums_count_and_block_indices_do_not() {
        let t = tally("{ let z = dot + b; let p = z * s; p }");
        assert_eq!(t.ops.adds, Poly::constant(1));
        assert_eq!(t.ops.multiplies, Poly::constant(1));
        let t = tally(
            "{ let mut p = [0.0; 16]; for j in 0..N / 16 { for k in 0..16 { let i = j * 16 + k; p[k] += w[i] * x[i]; } } let mut d = p[0] + p[1] + p[2] + p[3] + p[4] + p[5] + p[6] + p[7] + p[8] + p[9] + p[10] + p[11] + p[12] + p[13] + p[14] + p[15]; for i in N / 16 * 16..N { d += w[i] * x[i]; } d }",
        );
        let mut adds = Poly::var("N");
        adds.add(&Poly::constant(15));
        assert_eq!(t.ops.adds, adds);
        assert_eq!(t.ops.multiplies, Poly::var("N"));
    }

    #[test]
    fn selects_are_comparisons_and_literals_are_free() {
        let t =
            tally("{ let d = if s > 0.0 { 1.0 } else if s <= 0.0 { 0.0 } else { s }; -0.5 * d }");
        assert_eq!(t.ops.comparisons, Poly::constant(2));
        assert_eq!(t.ops.multiplies, Poly::constant(1));
        assert_eq!(t.ops.adds, Poly::default());
    }

    /// The rustdoc of `gradient` shows the cost, and a generic layer's
    /// counts are polynomials in its lengths.
    #[test]
    fn gradient_documents_the_cost() {
        let expand = |tokens| {
            let out = crate::expand::neuron(TokenStream::new(), tokens).unwrap();
            prettyplease::unparse(&syn::parse2(out).unwrap())
        };
        let text = expand(quote! {
            pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
                relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
            }
        });
        for line in [
            "/// # Cost",
            "/// forward:  3 adds, 3 multiplies, 1 comparisons, 2 multiply-adds",
            "/// backward: 6 multiplies, 2 comparisons",
            "/// temporaries: 0 bytes forward, 64 bytes for the gradient",
        ] {
            assert!(
                text.lines().any(|l| l.trim() == line),
                "no {line:?} in\n{text}"
            );
        }
        let text = expand(quote! {
            pub fn score<T: Real, const N: usize>(x: [T; N], #[param] w: [T; N]) -> T {
                tanh(dot(w, x))
            }
        });
        // `dot` of a symbolic length keeps sixteen partial sums: N
        // multiply-adds, and 15 adds joining the partials; its temporaries
        // are the 16 partials and the sum.
        for line in [
            "/// forward:  N + 15 adds, N multiplies, 1 calls, N multiply-adds",
            "/// backward: 1 adds, 2·N + 1 multiplies, 1 multiply-adds",
            "/// temporaries: (17) × size_of::<T>() bytes forward, (2·N + 19) × size_of::<T>() bytes for the gradient",
        ] {
            assert!(
                text.lines().any(|l| l.trim() == line),
                "no {line:?} in\n{text}"
            );
        }
        assert!(text.contains("(N as u64)"), "{text}");
    }

    #[test]
    fn polynomials_print_and_evaluate() {
        let mut p = Poly::var("N").mul(&Poly::var("M"));
        p.add(&Poly::constant(2));
        assert_eq!(p.text(), "M·N + 2");
        assert_eq!(p.value(), None);
        assert_eq!(Poly::constant(7).value(), Some(7));
    }
}
