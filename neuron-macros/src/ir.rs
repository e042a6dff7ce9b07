//! The intermediate representation: a flat SSA graph of nodes in
//! topological order (operands always come before their users), each with a
//! shape.
//!
//! Building a node goes through [`Graph::add`], which hash-conses: asking for
//! a node that already exists returns the existing one, so common
//! subexpressions are shared from the start and a forward value is never
//! computed twice. The graph prints as s-expressions and parses back from
//! them, so tests read `(* x 1)` rather than building nodes by hand.

use crate::ops::{Binary, Cmp, Unary};
use std::collections::HashMap;
#[cfg(test)]
use std::fmt::Write as _;

pub use crate::ast::Shape;
use crate::ast::Sp;

/// An index into [`Graph::nodes`].
pub type NodeId = usize;

/// A real constant, stored by its bits so that ops can be hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Real(u64);

impl Real {
    pub fn new(x: f64) -> Real {
        // -0.0 and 0.0 are the same constant.
        Real(if x == 0.0 {
            0.0f64.to_bits()
        } else {
            x.to_bits()
        })
    }
    pub fn get(self) -> f64 {
        f64::from_bits(self.0)
    }
}

/// What a node computes. Element-wise ops broadcast a scalar operand over an
/// array operand.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// The function's `k`-th argument; `k == args.len()` is the upstream
    /// derivative `dy` of `backward`.
    Arg(usize),
    /// A scalar constant.
    Const(Real),
    /// A scalar repeated over the node's shape.
    Fill(NodeId),
    Unary(Unary, NodeId),
    Binary(Binary, NodeId, NodeId),
    /// Element-wise `if a <cmp> b { then } else { other }`: the kink rules.
    Select {
        cmp: Cmp,
        a: NodeId,
        b: NodeId,
        then: NodeId,
        other: NodeId,
    },
    /// An element or a row, at literal indices.
    Index(NodeId, Vec<usize>),
    /// An array with the given entries (scalars or rows, at index paths) and
    /// zeros everywhere else. Array literals and the adjoints of indexing.
    Pack(Vec<(Vec<usize>, NodeId)>),
    Dot(NodeId, NodeId),
    Sum(NodeId),
    /// `m · v` for `m: [M, N]`, `v: [N]`.
    MatVec(NodeId, NodeId),
    /// `mᵀ · u` for `m: [M, N]`, `u: [M]`: the adjoint of `matvec` in `v`.
    MatTVec(NodeId, NodeId),
    /// `a ⊗ b`, the `[M, N]` matrix `a[i] * b[j]`: the adjoint in `m`.
    Outer(NodeId, NodeId),
    Softmax(NodeId),
    LogSoftmax(NodeId),
    /// A call of another `#[neuron]` function of the caller's crate.
    Call {
        func: String,
        args: Vec<NodeId>,
    },
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
            Op::Arg(_) | Op::Const(_) => vec![],
            Op::Fill(a)
            | Op::Unary(_, a)
            | Op::Index(a, _)
            | Op::Sum(a)
            | Op::Softmax(a)
            | Op::LogSoftmax(a) => {
                vec![*a]
            }
            Op::Binary(_, a, b)
            | Op::Dot(a, b)
            | Op::MatVec(a, b)
            | Op::MatTVec(a, b)
            | Op::Outer(a, b) => vec![*a, *b],
            Op::Select {
                a, b, then, other, ..
            } => vec![*a, *b, *then, *other],
            Op::Pack(entries) => entries.iter().map(|(_, n)| *n).collect(),
            Op::Call { args, .. } => args.clone(),
            Op::CallGrad { call, dy, .. } => vec![*call, *dy],
        }
    }

    /// The same op with every operand passed through `f`.
    pub fn map(&self, mut f: impl FnMut(NodeId) -> NodeId) -> Op {
        match self {
            Op::Arg(_) | Op::Const(_) => self.clone(),
            Op::Fill(a) => Op::Fill(f(*a)),
            Op::Unary(u, a) => Op::Unary(*u, f(*a)),
            Op::Binary(o, a, b) => Op::Binary(*o, f(*a), f(*b)),
            Op::Select {
                cmp,
                a,
                b,
                then,
                other,
            } => Op::Select {
                cmp: *cmp,
                a: f(*a),
                b: f(*b),
                then: f(*then),
                other: f(*other),
            },
            Op::Index(a, path) => Op::Index(f(*a), path.clone()),
            Op::Pack(entries) => {
                Op::Pack(entries.iter().map(|(p, n)| (p.clone(), f(*n))).collect())
            }
            Op::Dot(a, b) => Op::Dot(f(*a), f(*b)),
            Op::Sum(a) => Op::Sum(f(*a)),
            Op::MatVec(a, b) => Op::MatVec(f(*a), f(*b)),
            Op::MatTVec(a, b) => Op::MatTVec(f(*a), f(*b)),
            Op::Outer(a, b) => Op::Outer(f(*a), f(*b)),
            Op::Softmax(a) => Op::Softmax(f(*a)),
            Op::LogSoftmax(a) => Op::LogSoftmax(f(*a)),
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

    /// Whether element `i` of this node depends only on element `i` of its
    /// operands, so that it can be computed inside its user's loop.
    pub fn is_elementwise(&self) -> bool {
        matches!(
            self,
            Op::Arg(_)
                | Op::Const(_)
                | Op::Fill(_)
                | Op::Unary(..)
                | Op::Binary(..)
                | Op::Select { .. }
                | Op::Outer(..)
        )
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
}

/// The graph: nodes in topological order, plus the function's arguments.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    /// Name and shape of each argument, in order.
    pub args: Vec<(String, Shape)>,
    memo: HashMap<(Op, Shape), NodeId>,
}

impl Graph {
    pub fn new(args: Vec<(String, Shape)>) -> Graph {
        Graph {
            nodes: Vec::new(),
            args,
            memo: HashMap::new(),
        }
    }

    /// Adds a node, or returns the identical one that already exists.
    pub fn add(&mut self, op: Op, shape: Shape) -> NodeId {
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
        self.add(Op::Arg(k), shape)
    }

    pub fn konst(&mut self, x: f64) -> NodeId {
        self.add(Op::Const(Real::new(x)), Vec::new())
    }

    /// The constant value of a scalar constant node or a fill of one.
    pub fn const_value(&self, id: NodeId) -> Option<f64> {
        match &self.nodes[id].op {
            Op::Const(c) => Some(c.get()),
            Op::Fill(s) => self.const_value(*s),
            _ => None,
        }
    }

    /// Whether the node is zero everywhere.
    pub fn is_zero(&self, id: NodeId) -> bool {
        match &self.nodes[id].op {
            Op::Pack(entries) => entries.is_empty(),
            _ => self.const_value(id) == Some(0.0),
        }
    }

    /// Zero of the given shape.
    pub fn zeros(&mut self, shape: Shape) -> NodeId {
        let zero = self.konst(0.0);
        if shape.is_empty() {
            zero
        } else {
            self.add(Op::Fill(zero), shape)
        }
    }

    /// The shape of an element-wise result: equal shapes, or a scalar
    /// broadcast over the other operand.
    pub fn broadcast(&self, a: NodeId, b: NodeId) -> Shape {
        let (sa, sb) = (self.shape(a), self.shape(b));
        if sa.is_empty() {
            sb.clone()
        } else {
            sa.clone()
        }
    }

    pub fn unary(&mut self, op: Unary, a: NodeId) -> NodeId {
        let shape = self.shape(a).clone();
        self.add(Op::Unary(op, a), shape)
    }

    pub fn binary(&mut self, op: Binary, a: NodeId, b: NodeId) -> NodeId {
        let shape = self.broadcast(a, b);
        self.add(Op::Binary(op, a, b), shape)
    }

    pub fn add2(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.binary(Binary::Add, a, b)
    }
    pub fn sub(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.binary(Binary::Sub, a, b)
    }
    pub fn mul(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.binary(Binary::Mul, a, b)
    }
    pub fn div(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.binary(Binary::Div, a, b)
    }
    pub fn neg(&mut self, a: NodeId) -> NodeId {
        self.unary(Unary::Neg, a)
    }

    pub fn select(
        &mut self,
        cmp: Cmp,
        a: NodeId,
        b: NodeId,
        then: NodeId,
        other: NodeId,
    ) -> NodeId {
        let shape = [a, b, then, other]
            .iter()
            .map(|&n| self.shape(n).clone())
            .find(|s| !s.is_empty())
            .unwrap_or_default();
        self.add(
            Op::Select {
                cmp,
                a,
                b,
                then,
                other,
            },
            shape,
        )
    }

    /// Length of dimension `d` of node `n` (0 where it has none, which
    /// `check` rules out before anything is built).
    fn dim(&self, n: NodeId, d: usize) -> usize {
        self.shape(n).get(d).copied().unwrap_or(0)
    }

    /// `a · b`, a scalar.
    pub fn dot(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.add(Op::Dot(a, b), Vec::new())
    }

    /// The sum of every element of `a`.
    pub fn sum(&mut self, a: NodeId) -> NodeId {
        self.add(Op::Sum(a), Vec::new())
    }

    /// `m v`, shaped like a column of `m`.
    pub fn matvec(&mut self, m: NodeId, v: NodeId) -> NodeId {
        let rows = self.dim(m, 0);
        self.add(Op::MatVec(m, v), vec![rows])
    }

    /// `mᵀ u`, shaped like a row of `m`.
    pub fn matvec_t(&mut self, m: NodeId, u: NodeId) -> NodeId {
        let cols = self.dim(m, 1);
        self.add(Op::MatTVec(m, u), vec![cols])
    }

    /// `a ⊗ b`, the matrix of `a[i] * b[j]`.
    pub fn outer(&mut self, a: NodeId, b: NodeId) -> NodeId {
        let shape = vec![self.dim(a, 0), self.dim(b, 0)];
        self.add(Op::Outer(a, b), shape)
    }

    /// `softmax(v)`, or `log_softmax(v)` when `log`.
    pub fn softmax(&mut self, v: NodeId, log: bool) -> NodeId {
        let shape = self.shape(v).clone();
        self.add(
            if log {
                Op::LogSoftmax(v)
            } else {
                Op::Softmax(v)
            },
            shape,
        )
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
            .map(<[usize]>::to_vec)
            .unwrap_or_default();
        self.add(Op::Index(a, path), shape)
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
                Some(&k) => merged[k].1 = self.add2(merged[k].1, *n),
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
            self.sum(d)
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
            Op::Fill(a) => list(&format!("fill {}", format_shape(&node.shape)), &[*a], out),
            Op::Unary(Unary::Powi(n), a) => {
                out.push_str("(powi ");
                self.print_into(*a, out);
                let _ = write!(out, " {n})");
            }
            Op::Unary(u, a) => list(u.name(), &[*a], out),
            Op::Binary(b, x, y) => list(b.name(), &[*x, *y], out),
            Op::Select {
                cmp,
                a,
                b,
                then,
                other,
            } => list(
                &format!("select {}", cmp.symbol()),
                &[*a, *b, *then, *other],
                out,
            ),
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
            Op::Dot(a, b) => list("dot", &[*a, *b], out),
            Op::Sum(a) => list("sum", &[*a], out),
            Op::MatVec(a, b) => list("matvec", &[*a, *b], out),
            Op::MatTVec(a, b) => list("matvec_t", &[*a, *b], out),
            Op::Outer(a, b) => list("outer", &[*a, *b], out),
            Op::Softmax(a) => list("softmax", &[*a], out),
            Op::LogSoftmax(a) => list("log_softmax", &[*a], out),
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
                return Ok(self.add(Op::Arg(k), Vec::new()));
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
            "powi" => {
                let a = self.parse_node(tokens, pos)?;
                let n = number(tokens, pos)?;
                self.unary(Unary::Powi(i32::try_from(n).map_err(|e| e.to_string())?), a)
            }
            "fill" => {
                let s = shape(tokens, pos)?;
                let a = self.parse_node(tokens, pos)?;
                self.add(Op::Fill(a), s)
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
                self.add(Op::Pack(entries), s)
            }
            "select" => {
                let cmp = match tokens.get(*pos).map(String::as_str) {
                    Some(">") => Cmp::Gt,
                    Some("<") => Cmp::Lt,
                    other => return Err(format!("expected `>` or `<`, found {other:?}")),
                };
                *pos += 1;
                let a = self.parse_node(tokens, pos)?;
                let b = self.parse_node(tokens, pos)?;
                let t = self.parse_node(tokens, pos)?;
                let o = self.parse_node(tokens, pos)?;
                self.select(cmp, a, b, t, o)
            }
            _ => {
                let mut operands = Vec::new();
                while tokens.get(*pos).is_some_and(|t| t != ")") {
                    operands.push(self.parse_node(tokens, pos)?);
                }
                self.build(&head, &operands)?
            }
        };
        expect(tokens, pos, ")")?;
        Ok(id)
    }

    /// Builds the op named `head` (its text-form name) on `operands`.
    fn build(&mut self, head: &str, operands: &[NodeId]) -> Result<NodeId, String> {
        if let (Some(u), [a]) = (Unary::from_name(head), operands) {
            return Ok(self.unary(u, *a));
        }
        if let (Some(b), [x, y]) = (Binary::from_name(head), operands) {
            return Ok(self.binary(b, *x, *y));
        }
        match (head, operands) {
            ("dot", [a, b]) => Ok(self.dot(*a, *b)),
            ("sum", [a]) => Ok(self.sum(*a)),
            ("matvec", [m, v]) => Ok(self.matvec(*m, *v)),
            ("matvec_t", [m, u]) => Ok(self.matvec_t(*m, *u)),
            ("outer", [a, b]) => Ok(self.outer(*a, *b)),
            ("softmax", [a]) => Ok(self.softmax(*a, false)),
            ("log_softmax", [a]) => Ok(self.softmax(*a, true)),
            _ => Err(format!(
                "unknown op `{head}` with {} operands",
                operands.len()
            )),
        }
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

#[cfg(test)]
/// `[3]`, `[2x3]` or `[]`.
pub fn format_shape(shape: &Shape) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join("x"))
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
    inner
        .split('x')
        .map(|d| d.parse::<usize>().map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
/// A constant as the text form writes it: `2`, `0.5`, `-1`.
pub fn format_real(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
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
        Op::Fill(_) => "fill".into(),
        Op::Unary(Unary::Neg, _) => "neg".into(),
        Op::Unary(Unary::Powi(_) | Unary::Square, _) => "pow".into(),
        Op::Unary(u, _) => u.name().into(),
        Op::Binary(Binary::Add, ..) => "sum".into(),
        Op::Binary(Binary::Sub, ..) => "diff".into(),
        Op::Binary(Binary::Mul, ..) => "prod".into(),
        Op::Binary(Binary::Div, ..) => "quot".into(),
        Op::Binary(Binary::Powf, ..) => "pow".into(),
        Op::Binary(b, ..) => b.name().into(),
        Op::Select { .. } => "mask".into(),
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
        Op::Dot(..) => "dot".into(),
        Op::Sum(_) => "total".into(),
        Op::MatVec(..) => "matvec".into(),
        Op::MatTVec(..) => "matvec_t".into(),
        Op::Outer(..) => "outer".into(),
        Op::Softmax(_) => "softmax".into(),
        Op::LogSoftmax(_) => "log_softmax".into(),
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
            Some((name, dims)) => (
                name.to_string(),
                dims.split('x').map(|d| d.parse().unwrap()).collect(),
            ),
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
            "(select > b 0 1 0)",
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
        assert_eq!(g.shape(n), &vec![2]);
        let n = g.parse("(index (index m 1) 2)").unwrap();
        assert_eq!(g.print(n), "(index m 1 2)");
        assert!(g.shape(n).is_empty());
        let n = g.parse("(outer (matvec m v) v)").unwrap();
        assert_eq!(g.shape(n), &vec![2, 3]);
    }

    #[test]
    fn parse_errors_are_reported() {
        let mut g = graph("x");
        assert_eq!(g.parse("(+ x z)"), Err("unknown name `z`".to_string()));
        assert!(g.parse("(frobnicate x)").is_err());
        assert!(g.parse("(+ x x").is_err());
    }
}
