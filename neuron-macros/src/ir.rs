//! The intermediate representation: a flat SSA graph of nodes in
//! topological order (operands always come before their users), each with a
//! shape.
//!
//! Building a node goes through [`Graph::intern`], which hash-conses: asking for
//! a node that already exists returns the existing one, so common
//! subexpressions are shared from the start and a forward value is never
//! computed twice. The graph prints as s-expressions and parses back from
//! them, so tests read `(* x 1)` rather than building nodes by hand.

use crate::ops::{Kind, Prim, ShapeCx};
use std::collections::HashMap;
#[cfg(test)]
use std::fmt::Write as _;

pub use crate::ast::Shape;
use crate::ast::{Dim, Sp};

/// An index into [`Graph::nodes`].
pub type NodeId = usize;

/// A real constant, stored by its bits so that ops can be hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Real(u64);

impl Real {
    /// The constant `x`, to the bit: `-0.0` and `0.0` are different
    /// constants, as `1 / x` tells them apart.
    pub fn new(x: f64) -> Real {
        Real(x.to_bits())
    }
    pub fn get(self) -> f64 {
        f64::from_bits(self.0)
    }
}

/// What a node computes: an op of the registry applied to operands, or
/// one of the structural nodes that hold arguments, constants and arrays.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// The function's `k`-th argument; `k == args.len()` is the upstream
    /// derivative `dy` of `backward`.
    Arg(usize),
    /// A scalar constant.
    Const(Real),
    /// A scalar repeated over the node's shape.
    Fill(NodeId),
    /// The number of elements of a shape with a const-parameter length, as
    /// a real (`mean`'s divisor); a literal count is a constant instead.
    Count(Shape),
    /// An op of the registry on its operands.
    Apply(Prim, Vec<NodeId>),
    /// An element or a row, at literal indices.
    Index(NodeId, Vec<usize>),
    /// An array with the given entries (scalars or rows, at index paths) and
    /// zeros everywhere else. Array literals and the adjoints of indexing.
    Pack(Vec<(Vec<usize>, NodeId)>),
    /// A call of another `#[neuron]` function of the caller's crate.
    Call { func: String, args: Vec<NodeId> },
    /// The adjoint of argument `arg` of a `Call` node, given the upstream
    /// derivative `dy` of the call's result.
    CallGrad {
        call: NodeId,
        dy: NodeId,
        arg: usize,
    },
}

impl Op {
    /// The operands, in order.
    pub fn operands(&self) -> Vec<NodeId> {
        match self {
            Op::Arg(_) | Op::Const(_) | Op::Count(_) => vec![],
            Op::Fill(a) | Op::Index(a, _) => vec![*a],
            Op::Apply(_, args) | Op::Call { args, .. } => args.clone(),
            Op::Pack(entries) => entries.iter().map(|(_, n)| *n).collect(),
            Op::CallGrad { call, dy, .. } => vec![*call, *dy],
        }
    }

    /// The same op with every operand passed through `f`.
    pub fn map(&self, mut f: impl FnMut(NodeId) -> NodeId) -> Op {
        match self {
            Op::Arg(_) | Op::Const(_) | Op::Count(_) => self.clone(),
            Op::Fill(a) => Op::Fill(f(*a)),
            Op::Apply(p, args) => Op::Apply(*p, args.iter().map(|a| f(*a)).collect()),
            Op::Index(a, path) => Op::Index(f(*a), path.clone()),
            Op::Pack(entries) => {
                Op::Pack(entries.iter().map(|(p, n)| (p.clone(), f(*n))).collect())
            }
            Op::Call { func, args } => Op::Call {
                func: func.clone(),
                args: args.iter().map(|a| f(*a)).collect(),
            },
            Op::CallGrad { call, dy, arg } => Op::CallGrad {
                call: f(*call),
                dy: f(*dy),
                arg: *arg,
            },
        }
    }

    /// Whether element `i` of this node can be computed on its own, from
    /// elements of its operands, inside its user's loop.
    pub fn is_elementwise(&self) -> bool {
        match self {
            Op::Arg(_) | Op::Const(_) | Op::Count(_) | Op::Fill(_) => true,
            Op::Apply(p, _) => p.def().kind != Kind::Array,
            Op::Index(..) | Op::Pack(_) | Op::Call { .. } | Op::CallGrad { .. } => false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Node {
    pub op: Op,
    pub shape: Shape,
    /// The user's `let` name for this value, if it has one.
    pub name: Option<String>,
    /// For a call of another neuron: the spans of the call and of the type
    /// written on its binding, so that rustc's own errors about them (a
    /// wrong type, an unknown function) point at the user's code.
    pub origin: Option<(Sp, Sp)>,
    /// For a call of another neuron: the span of each argument as written.
    pub arg_spans: Vec<Sp>,
}

/// The float types the generated code computes a graph in, which decides
/// what constant folding may compute in advance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    #[default]
    F64,
    F32,
    /// A generic `T: Real`: `f32` or `f64`.
    Either,
}

/// The graph: nodes in topological order, plus the function's arguments.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    /// Name and shape of each argument, in order.
    pub args: Vec<(String, Shape)>,
    /// The float type of every value.
    pub precision: Precision,
    /// The neuron's name, which names its dropout sites.
    pub neuron: String,
    /// The names of its const parameters (array lengths), in scope in every
    /// body, which no local may take: a local cannot shadow a const
    /// parameter, and a loop variable so named would change the length it
    /// stands for.
    pub lengths: Vec<String>,
    /// Shape rules that failed while building: a bug in a stage before,
    /// reported by the pipeline as an internal error rather than a panic.
    pub internal_errors: Vec<String>,
    memo: HashMap<(Op, Shape), NodeId>,
}

impl Graph {
    /// A graph with no nodes and what `g` knows of its function: the
    /// arguments, the float type, the neuron's name and its lengths.
    pub fn empty_like(g: &Graph) -> Graph {
        let mut out = Graph::new(g.args.clone());
        out.precision = g.precision;
        out.neuron.clone_from(&g.neuron);
        out.lengths.clone_from(&g.lengths);
        out
    }

    pub fn new(args: Vec<(String, Shape)>) -> Graph {
        Graph {
            nodes: Vec::new(),
            args,
            precision: Precision::default(),
            neuron: String::new(),
            lengths: Vec::new(),
            internal_errors: Vec::new(),
            memo: HashMap::new(),
        }
    }

    /// The node computing `op` with result `shape`: a new one, or the
    /// identical one that already exists (hash-consing).
    pub fn intern(&mut self, op: Op, shape: Shape) -> NodeId {
        let key = (op, shape);
        if let Some(&id) = self.memo.get(&key) {
            return id;
        }
        let id = self.nodes.len();
        self.nodes.push(Node {
            op: key.0.clone(),
            shape: key.1.clone(),
            name: None,
            origin: None,
            arg_spans: Vec::new(),
        });
        self.memo.insert(key, id);
        id
    }

    pub fn shape(&self, id: NodeId) -> &Shape {
        &self.nodes[id].shape
    }

    pub fn op(&self, id: NodeId) -> &Op {
        &self.nodes[id].op
    }

    /// The node of argument `k`.
    pub fn arg(&mut self, k: usize) -> NodeId {
        let shape = self.args.get(k).map(|(_, s)| s.clone()).unwrap_or_default();
        self.intern(Op::Arg(k), shape)
    }

    pub fn konst(&mut self, x: f64) -> NodeId {
        self.intern(Op::Const(Real::new(x)), Vec::new())
    }

    /// The constant value of a scalar constant node or a fill of one.
    pub fn const_value(&self, id: NodeId) -> Option<f64> {
        match &self.nodes[id].op {
            Op::Const(c) => Some(c.get()),
            Op::Fill(s) => self.const_value(*s),
            _ => None,
        }
    }

    /// Whether the node is a symbolic zero: an array literal without
    /// entries, which derivatives build where there is no dependence at
    /// all. A zero constant is a number like any other (`inf * 0.0` is
    /// NaN); a symbolic zero contributes nothing to a sum and makes a
    /// product nothing.
    pub fn is_zero(&self, id: NodeId) -> bool {
        matches!(&self.nodes[id].op, Op::Pack(entries) if entries.is_empty())
    }

    /// The symbolic zero of the given shape.
    pub fn zeros(&mut self, shape: Shape) -> NodeId {
        self.pack(Vec::new(), shape)
    }

    /// The number of elements of `shape`, as a real.
    pub fn count(&mut self, shape: Shape) -> NodeId {
        match crate::ast::count(&shape) {
            Some(n) => self.konst(n as f64),
            None => self.intern(Op::Count(shape), Vec::new()),
        }
    }

    /// The scalar `s` repeated over `shape` (itself for a scalar shape).
    pub fn fill(&mut self, s: NodeId, shape: Shape) -> NodeId {
        if shape.is_empty() {
            s
        } else {
            self.intern(Op::Fill(s), shape)
        }
    }

    /// The op `p` on `operands`, shaped by the op's rule.
    pub fn apply(&mut self, p: Prim, operands: &[NodeId]) -> NodeId {
        let shapes: Vec<Shape> = operands.iter().map(|&o| self.shape(o).clone()).collect();
        let def = p.def();
        let describe = |s: &Shape| format_shape(s);
        let cx = ShapeCx {
            describe: &describe,
            spelling: def.name,
        };
        let shape = if shapes.len() == def.arity() {
            (def.shape)(&cx, &shapes).map_err(|e| e.message)
        } else {
            Err(format!(
                "{} operands where `{}` takes {}",
                shapes.len(),
                def.name,
                def.arity()
            ))
        };
        let shape = shape.unwrap_or_else(|message| {
            self.internal_errors.push(message);
            Vec::new()
        });
        self.intern(Op::Apply(p, operands.to_vec()), shape)
    }

    pub fn add(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.apply(Prim::Add, &[a, b])
    }
    pub fn sub(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.apply(Prim::Sub, &[a, b])
    }
    pub fn mul(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.apply(Prim::Mul, &[a, b])
    }
    pub fn div(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.apply(Prim::Div, &[a, b])
    }
    pub fn neg(&mut self, a: NodeId) -> NodeId {
        self.apply(Prim::Neg, &[a])
    }

    /// `if a <cmp> b { then } else { other }`, element-wise; `p` is
    /// [`Prim::SelectGt`] or [`Prim::SelectLt`].
    pub fn select(&mut self, p: Prim, a: NodeId, b: NodeId, then: NodeId, other: NodeId) -> NodeId {
        self.apply(p, &[a, b, then, other])
    }

    /// The array with `entries` at their index paths and zeros elsewhere.
    pub fn pack(&mut self, entries: Vec<(Vec<usize>, NodeId)>, shape: Shape) -> NodeId {
        self.intern(Op::Pack(entries), shape)
    }

    /// Element or row of `a` at `path`, folding `a[i][j]` into one node.
    pub fn index(&mut self, a: NodeId, path: Vec<usize>) -> NodeId {
        if path.is_empty() {
            return a;
        }
        if let Op::Index(base, first) = self.op(a).clone() {
            let mut full = first;
            full.extend(path);
            return self.index(base, full);
        }
        let shape = self
            .shape(a)
            .get(path.len()..)
            .map(<[Dim]>::to_vec)
            .unwrap_or_default();
        self.intern(Op::Index(a, path), shape)
    }

    /// The entries of several packs as one pack's: entries at the same path
    /// are added, the others kept, all sorted by path. `None` when the
    /// entries do not all sit at the same depth (a row in one pack and an
    /// element of it in another), which no entry-wise sum can express.
    pub fn merge_packs(
        &mut self,
        packs: &[Vec<(Vec<usize>, NodeId)>],
    ) -> Option<Vec<(Vec<usize>, NodeId)>> {
        let depth = packs.iter().flatten().next().map(|(path, _)| path.len());
        if packs
            .iter()
            .flatten()
            .any(|(path, _)| Some(path.len()) != depth)
        {
            return None;
        }
        let mut merged: Vec<(Vec<usize>, NodeId)> = Vec::new();
        let mut positions: HashMap<&[usize], usize> = HashMap::new();
        for (path, n) in packs.iter().flatten() {
            match positions.get(path.as_slice()) {
                Some(&k) => merged[k].1 = self.add(merged[k].1, *n),
                None => {
                    positions.insert(path, merged.len());
                    merged.push((path.clone(), *n));
                }
            }
        }
        merged.sort_by(|a, b| a.0.cmp(&b.0));
        Some(merged)
    }

    /// Sums `d` down to `shape`: the adjoint of a broadcast.
    pub fn unbroadcast(&mut self, d: NodeId, shape: &Shape) -> NodeId {
        if self.shape(d).is_empty() || !shape.is_empty() {
            d
        } else {
            self.apply(Prim::Sum, &[d])
        }
    }
}

/// The text form, used by tests to write graphs as s-expressions.
#[cfg(test)]
impl Graph {
    /// Prints node `id` as an s-expression tree.
    pub fn print(&self, id: NodeId) -> String {
        let mut out = String::new();
        self.print_into(id, &mut out);
        out
    }

    fn print_into(&self, id: NodeId, out: &mut String) {
        let node = &self.nodes[id];
        let list = |head: &str, operands: &[NodeId], out: &mut String| {
            out.push('(');
            out.push_str(head);
            for &o in operands {
                out.push(' ');
                self.print_into(o, out);
            }
            out.push(')');
        };
        match &node.op {
            Op::Arg(k) => out.push_str(self.args.get(*k).map_or("dy", |(n, _)| n.as_str())),
            Op::Const(c) => out.push_str(&format_real(c.get())),
            Op::Count(shape) => {
                let _ = write!(out, "(count {})", format_shape(shape));
            }
            Op::Fill(a) => list(&format!("fill {}", format_shape(&node.shape)), &[*a], out),
            Op::Apply(p, args) => list(&p.text(), args, out),
            Op::Index(a, path) => {
                out.push_str("(index ");
                self.print_into(*a, out);
                for i in path {
                    let _ = write!(out, " {i}");
                }
                out.push(')');
            }
            Op::Pack(entries) => {
                let _ = write!(out, "(pack {}", format_shape(&node.shape));
                for (path, n) in entries {
                    out.push_str(" (");
                    for i in path {
                        let _ = write!(out, "{i} ");
                    }
                    self.print_into(*n, out);
                    out.push(')');
                }
                out.push(')');
            }
            Op::Call { func, args } => list(
                &format!("call {func} {}", format_shape(&node.shape)),
                args,
                out,
            ),
            Op::CallGrad { call, dy, arg } => list(&format!("call_grad {arg}"), &[*call, *dy], out),
        }
    }

    /// Parses an s-expression into nodes of this graph, resolving names
    /// against its arguments; returns the root.
    pub fn parse(&mut self, text: &str) -> Result<NodeId, String> {
        let tokens = tokenize(text);
        let mut pos = 0;
        let root = self.parse_node(&tokens, &mut pos)?;
        if pos != tokens.len() {
            return Err(format!("unexpected `{}` after the expression", tokens[pos]));
        }
        if let Some(error) = self.internal_errors.first() {
            return Err(error.clone());
        }
        Ok(root)
    }

    fn parse_node(&mut self, tokens: &[String], pos: &mut usize) -> Result<NodeId, String> {
        let token = tokens.get(*pos).ok_or("unexpected end of input")?.clone();
        *pos += 1;
        if token != "(" {
            if let Ok(x) = token.parse::<f64>() {
                return Ok(self.konst(x));
            }
            if token == "dy" {
                let k = self.args.len();
                return Ok(self.intern(Op::Arg(k), Vec::new()));
            }
            let k = self
                .args
                .iter()
                .position(|(n, _)| *n == token)
                .ok_or(format!("unknown name `{token}`"))?;
            return Ok(self.arg(k));
        }
        let head = tokens.get(*pos).ok_or("unexpected end of input")?.clone();
        *pos += 1;
        let number = |tokens: &[String], pos: &mut usize| -> Result<i64, String> {
            let t = tokens.get(*pos).ok_or("expected a number")?;
            *pos += 1;
            t.parse::<i64>()
                .map_err(|_| format!("expected an integer, found `{t}`"))
        };
        let shape = |tokens: &[String], pos: &mut usize| -> Result<Shape, String> {
            let t = tokens.get(*pos).ok_or("expected a shape")?;
            *pos += 1;
            parse_shape(t)
        };
        let id = match head.as_str() {
            "fill" => {
                let s = shape(tokens, pos)?;
                let a = self.parse_node(tokens, pos)?;
                self.intern(Op::Fill(a), s)
            }
            "index" => {
                let a = self.parse_node(tokens, pos)?;
                let mut path = Vec::new();
                while tokens.get(*pos).is_some_and(|t| t != ")") {
                    path.push(usize::try_from(number(tokens, pos)?).map_err(|e| e.to_string())?);
                }
                self.index(a, path)
            }
            "pack" => {
                let s = shape(tokens, pos)?;
                let mut entries = Vec::new();
                while tokens.get(*pos).is_some_and(|t| t == "(") {
                    *pos += 1;
                    let mut path = Vec::new();
                    while let Some(i) = tokens.get(*pos).and_then(|t| t.parse::<usize>().ok()) {
                        // The last number before `)` is the value, not an index.
                        if tokens.get(*pos + 1).is_some_and(|t| t == ")") {
                            break;
                        }
                        path.push(i);
                        *pos += 1;
                    }
                    let n = self.parse_node(tokens, pos)?;
                    expect(tokens, pos, ")")?;
                    entries.push((path, n));
                }
                self.pack(entries, s)
            }
            _ => {
                let mut operands = Vec::new();
                while tokens.get(*pos).is_some_and(|t| t != ")") {
                    operands.push(self.parse_node(tokens, pos)?);
                }
                let p =
                    Prim::from_name(&head, operands.len()).ok_or(format!("unknown op `{head}`"))?;
                if operands.len() != p.def().arity() {
                    return Err(format!(
                        "`{head}` takes {} operands, found {}",
                        p.def().arity(),
                        operands.len()
                    ));
                }
                self.apply(p, &operands)
            }
        };
        expect(tokens, pos, ")")?;
        Ok(id)
    }
}

#[cfg(test)]
fn expect(tokens: &[String], pos: &mut usize, want: &str) -> Result<(), String> {
    match tokens.get(*pos) {
        Some(t) if t == want => {
            *pos += 1;
            Ok(())
        }
        other => Err(format!("expected `{want}`, found {other:?}")),
    }
}

#[cfg(test)]
fn tokenize(text: &str) -> Vec<String> {
    text.replace('(', " ( ")
        .replace(')', " ) ")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// `[3]`, `[2x3]` or `[]`.
pub fn format_shape(shape: &Shape) -> String {
    let dims: Vec<String> = shape.iter().map(Dim::to_string).collect();
    format!("[{}]", dims.join("x"))
}

/// A length of the text form: a number, or the name of a const parameter.
#[cfg(test)]
fn parse_dim(text: &str) -> Dim {
    text.parse::<usize>()
        .map_or_else(|_| Dim::Param(text.to_string()), Dim::Fixed)
}

#[cfg(test)]
fn parse_shape(text: &str) -> Result<Shape, String> {
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or(format!("expected a shape, found `{text}`"))?;
    if inner.is_empty() {
        return Ok(Vec::new());
    }
    Ok(inner.split('x').map(parse_dim).collect())
}

#[cfg(test)]
/// A constant as the text form writes it: `2`, `0.5`, `-1`.
pub fn format_real(x: f64) -> String {
    if x == 0.0 && x.is_sign_negative() {
        "-0".into()
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A name for an unnamed node, from what it computes.
pub fn default_name(g: &Graph, id: NodeId) -> String {
    match &g.nodes[id].op {
        Op::Arg(k) => g.args.get(*k).map_or("dy".into(), |(n, _)| n.clone()),
        Op::Const(_) => "c".into(),
        Op::Count(_) => "count".into(),
        Op::Fill(_) => "fill".into(),
        Op::Apply(p, _) => p.value_name(),
        Op::Index(a, path) => {
            let mut name = g.nodes[*a]
                .name
                .clone()
                .unwrap_or_else(|| default_name(g, *a));
            for i in path {
                name.push_str(&format!("_{i}"));
            }
            name
        }
        Op::Pack(_) => "array".into(),
        Op::Call { func, .. } => func.clone(),
        Op::CallGrad { .. } => "partial".into(),
    }
}

/// A graph with the given arguments, written `"x:3 w:2x3 b"`.
#[cfg(test)]
pub fn graph(args: &str) -> Graph {
    let args = args
        .split_whitespace()
        .map(|a| match a.split_once(':') {
            Some((name, dims)) => (name.to_string(), dims.split('x').map(parse_dim).collect()),
            None => (a.to_string(), Vec::new()),
        })
        .collect();
    Graph::new(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_what_it_parses() {
        let mut g = graph("x:3 w:3 b");
        for text in [
            "(relu (+ (+ (* (index w 0) (index x 0)) (* (index w 1) (index x 1))) b))",
            "(powi (- x 0.5) 3)",
            "(select> b 0 1 0)",
            "(pack [3] (0 b) (2 (neg b)))",
            "(fill [3] b)",
            "(dot w (softmax x))",
        ] {
            let id = g.parse(text).unwrap();
            assert_eq!(g.print(id), text);
        }
    }

    #[test]
    fn identical_nodes_are_shared() {
        let mut g = graph("x y");
        let a = g.parse("(* x y)").unwrap();
        let b = g.parse("(* x y)").unwrap();
        assert_eq!(a, b);
        let before = g.nodes.len();
        g.parse("(+ (* x y) (* x y))").unwrap();
        assert_eq!(g.nodes.len(), before + 1);
    }

    #[test]
    fn shapes_follow_broadcasting_and_indexing() {
        let mut g = graph("m:2x3 v:3 s");
        let n = g.parse("(+ (matvec m v) s)").unwrap();
        assert_eq!(g.shape(n), &crate::ast::fixed(&[2]));
        let n = g.parse("(index (index m 1) 2)").unwrap();
        assert_eq!(g.print(n), "(index m 1 2)");
        assert!(g.shape(n).is_empty());
        let n = g.parse("(outer (matvec m v) v)").unwrap();
        assert_eq!(g.shape(n), &crate::ast::fixed(&[2, 3]));
    }

    #[test]
    fn parse_errors_are_reported() {
        let mut g = graph("x");
        assert_eq!(g.parse("(+ x z)"), Err("unknown name `z`".to_string()));
        assert!(g.parse("(frobnicate x)").is_err());
        assert!(g.parse("(+ x x").is_err());
    }
}
