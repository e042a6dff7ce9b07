//! Simplification on the IR: named local rewrite rules, applied while the
//! graph is rebuilt node by node, then dead-node elimination.
//!
//! Rebuilding in topological order means every operand is already in its
//! simplest form when a node's rules run, so one pass suffices; the graph's
//! hash-consing shares whatever the rules make equal. The rules are data
//! (`RULES`), each with a name that tests and the architecture document
//! refer to.

use crate::ir::{Graph, NodeId, Op, Real, Shape};
use crate::ops::{Eval, Kind, Prim};

/// What a rule turns a node into.
pub enum Rewrite {
    /// A node that already exists in the new graph.
    To(NodeId),
    /// A new op, itself simplified further.
    Op(Op, Shape),
}

pub struct Rule {
    pub name: &'static str,
    pub apply: fn(&mut Graph, &Op, &Shape) -> Option<Rewrite>,
}

/// Every rule, tried in order on each node.
pub const RULES: &[Rule] = &[
    Rule {
        name: "const-fold",
        apply: const_fold,
    },
    Rule {
        name: "fill-scalar",
        apply: fill_scalar,
    },
    Rule {
        name: "unfill",
        apply: unfill,
    },
    Rule {
        name: "add-zero",
        apply: add_zero,
    },
    Rule {
        name: "sub-zero",
        apply: sub_zero,
    },
    Rule {
        name: "mul-zero",
        apply: mul_zero,
    },
    Rule {
        name: "mul-one",
        apply: mul_one,
    },
    Rule {
        name: "mul-neg-one",
        apply: mul_neg_one,
    },
    Rule {
        name: "div-one",
        apply: div_one,
    },
    Rule {
        name: "powi-one",
        apply: powi_one,
    },
    Rule {
        name: "mul-consts",
        apply: mul_consts,
    },
    Rule {
        name: "neg-neg",
        apply: neg_neg,
    },
    Rule {
        name: "add-neg",
        apply: add_neg,
    },
    Rule {
        name: "select-same",
        apply: select_same,
    },
    Rule {
        name: "index-pack",
        apply: index_pack,
    },
    Rule {
        name: "index-fill",
        apply: index_fill,
    },
    Rule {
        name: "add-pack",
        apply: add_pack,
    },
];

/// Simplifies the graph and keeps only what `roots` need; returns the new
/// graph and the roots' new ids.
pub fn simplify(g: &Graph, roots: &[NodeId]) -> (Graph, Vec<NodeId>) {
    let (out, roots, _) = simplify_logged(g, roots);
    (out, roots)
}

/// [`simplify`], also returning the name of every rule that fired, in order.
pub fn simplify_logged(g: &Graph, roots: &[NodeId]) -> (Graph, Vec<NodeId>, Vec<&'static str>) {
    let mut log = Vec::new();
    let mut out = Graph::new(g.args.clone());
    let mut map = Vec::with_capacity(g.nodes.len());
    for node in &g.nodes {
        let op = node.op.map(|o| map[o]);
        let id = insert(&mut out, op, node.shape.clone(), 0, &mut log);
        if out.nodes[id].name.is_none() {
            out.nodes[id].name.clone_from(&node.name);
        }
        if out.nodes[id].origin.is_none() {
            out.nodes[id].origin = node.origin;
        }
        map.push(id);
    }
    let roots: Vec<NodeId> = roots.iter().map(|&r| map[r]).collect();
    let (out, roots) = prune(&out, &roots);
    (out, roots, log)
}

/// Adds `op` to `g` after applying the first rule that matches. `depth`
/// bounds the chain of rewrites; every rule shrinks the node, so the bound
/// is never reached in practice.
fn insert(
    g: &mut Graph,
    op: Op,
    shape: Shape,
    depth: usize,
    log: &mut Vec<&'static str>,
) -> NodeId {
    if depth < 16 {
        for rule in RULES {
            match (rule.apply)(g, &op, &shape) {
                Some(Rewrite::To(id)) => {
                    log.push(rule.name);
                    return id;
                }
                Some(Rewrite::Op(op, shape)) => {
                    log.push(rule.name);
                    return insert(g, op, shape, depth + 1, log);
                }
                None => {}
            }
        }
    }
    g.intern(op, shape)
}

/// Keeps the nodes reachable from `roots`, in their order.
pub fn prune(g: &Graph, roots: &[NodeId]) -> (Graph, Vec<NodeId>) {
    let mut live = vec![false; g.nodes.len()];
    for &r in roots {
        live[r] = true;
    }
    for id in (0..g.nodes.len()).rev() {
        if live[id] {
            for o in g.nodes[id].op.operands() {
                live[o] = true;
            }
        }
    }
    let mut out = Graph::new(g.args.clone());
    let mut map = vec![usize::MAX; g.nodes.len()];
    for (id, node) in g.nodes.iter().enumerate() {
        if live[id] {
            let new = out.intern(node.op.map(|o| map[o]), node.shape.clone());
            out.nodes[new].name.clone_from(&node.name);
            out.nodes[new].origin = node.origin;
            map[id] = new;
        }
    }
    (out, roots.iter().map(|&r| map[r]).collect())
}

/// `x` as a value of `shape`: itself, or a fill when `x` is a scalar
/// broadcast over an array.
fn reshaped(g: &mut Graph, x: NodeId, shape: &Shape) -> Rewrite {
    if g.shape(x) == shape {
        Rewrite::To(x)
    } else {
        Rewrite::Op(Op::Fill(x), shape.clone())
    }
}

fn zeros(shape: &Shape) -> Rewrite {
    if shape.is_empty() {
        Rewrite::Op(Op::Const(Real::new(0.0)), Vec::new())
    } else {
        Rewrite::Op(Op::Pack(Vec::new()), shape.clone())
    }
}

fn scalar_const(g: &Graph, id: NodeId) -> Option<f64> {
    match g.op(id) {
        Op::Const(c) => Some(c.get()),
        _ => None,
    }
}

fn finite(x: f64) -> Option<Rewrite> {
    x.is_finite()
        .then(|| Rewrite::Op(Op::Const(Real::new(x)), Vec::new()))
}

/// The op and operands of an `Apply` node.
fn applied(op: &Op) -> Option<(Prim, &[NodeId])> {
    match op {
        Op::Apply(p, args) => Some((*p, args.as_slice())),
        _ => None,
    }
}

/// The operand of `-x`.
fn negated(g: &Graph, n: NodeId) -> Option<NodeId> {
    match applied(g.op(n)) {
        Some((Prim::Neg, [x])) => Some(*x),
        _ => None,
    }
}

/// Element-wise ops on scalar constants are computed now, by the op's own
/// meaning; so are comparisons of constants.
fn const_fold(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    if !shape.is_empty() {
        return None;
    }
    let (p, args) = applied(op)?;
    match (p, args) {
        (Prim::SelectGt | Prim::SelectLt, [a, b, then, other]) => {
            let (a, b) = (g.const_value(*a)?, g.const_value(*b)?);
            let take = if p == Prim::SelectGt { a > b } else { a < b };
            Some(Rewrite::To(if take { *then } else { *other }))
        }
        _ => {
            let Eval::Map(f) = p.def().eval else {
                return None;
            };
            let values = args
                .iter()
                .map(|&a| scalar_const(g, a))
                .collect::<Option<Vec<f64>>>()?;
            finite(f(&values))
        }
    }
}

/// A fill of a scalar shape is the scalar; a fill of a fill is one fill.
fn fill_scalar(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    match *op {
        Op::Fill(x) if shape.is_empty() => Some(Rewrite::To(x)),
        Op::Fill(x) if g.shape(x).len() == shape.len() => Some(Rewrite::To(x)),
        Op::Fill(x) => match g.op(x).clone() {
            Op::Fill(inner) => Some(Rewrite::Op(Op::Fill(inner), shape.clone())),
            Op::Pack(entries) if entries.is_empty() => Some(zeros(shape)),
            _ => None,
        },
        _ => None,
    }
}

/// An element-wise op with a filled operand broadcasts the scalar instead;
/// on fills alone, it is computed once on the scalars and filled.
fn unfill(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    let (p, args) = applied(op)?;
    if p.def().kind != Kind::Elementwise {
        return None;
    }
    let scalar = |g: &Graph, n: NodeId| match g.op(n) {
        Op::Fill(s) if g.shape(*s).is_empty() => Some(*s),
        _ => None,
    };
    let unfilled: Vec<NodeId> = args.iter().map(|&a| scalar(g, a).unwrap_or(a)).collect();
    if unfilled == args {
        return None;
    }
    if unfilled.iter().all(|&a| g.shape(a).is_empty()) {
        let inner = g.apply(p, &unfilled);
        return Some(Rewrite::Op(Op::Fill(inner), shape.clone()));
    }
    Some(Rewrite::Op(Op::Apply(p, unfilled), shape.clone()))
}

fn add_zero(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    match applied(op)? {
        (Prim::Add, [x, z]) if g.is_zero(*z) => Some(reshaped(g, *x, shape)),
        (Prim::Add, [z, x]) if g.is_zero(*z) => Some(reshaped(g, *x, shape)),
        _ => None,
    }
}

fn sub_zero(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    match applied(op)? {
        (Prim::Sub, [x, z]) if g.is_zero(*z) => Some(reshaped(g, *x, shape)),
        (Prim::Sub, [z, x]) if g.is_zero(*z) => {
            let neg = g.neg(*x);
            Some(reshaped(g, neg, shape))
        }
        _ => None,
    }
}

/// An op whose result is zero when one of its operands is (`0 * x`,
/// `dot(0, v)`, as the registry's `zero_if_zero` says); indexing a zero.
fn mul_zero(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    match op {
        Op::Apply(p, args) => {
            let zeroing = p.def().zero_if_zero;
            args.iter()
                .zip(zeroing)
                .any(|(&a, &z)| z && g.is_zero(a))
                .then(|| zeros(shape))
        }
        Op::Index(z, _) if g.is_zero(*z) => Some(zeros(shape)),
        _ => None,
    }
}

fn mul_one(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    match applied(op)? {
        (Prim::Mul, [x, one]) if g.const_value(*one) == Some(1.0) => Some(reshaped(g, *x, shape)),
        (Prim::Mul, [one, x]) if g.const_value(*one) == Some(1.0) => Some(reshaped(g, *x, shape)),
        _ => None,
    }
}

fn mul_neg_one(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    match applied(op)? {
        (Prim::Mul, [x, m] | [m, x]) if g.const_value(*m) == Some(-1.0) => {
            let neg = g.neg(*x);
            Some(reshaped(g, neg, shape))
        }
        _ => None,
    }
}

fn div_one(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    match applied(op)? {
        (Prim::Div, [x, one]) if g.const_value(*one) == Some(1.0) => Some(reshaped(g, *x, shape)),
        _ => None,
    }
}

/// `x.powi(1)` is `x`.
fn powi_one(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    match applied(op)? {
        (Prim::Powi, [x, n]) if scalar_const(g, *n) == Some(1.0) => Some(reshaped(g, *x, shape)),
        _ => None,
    }
}

/// `c1 * (c2 * x)` is `(c1 c2) * x` when one constant is a power of two, as
/// in `0.01 * (2 * z)` from the derivative of `0.01 * square(z)`: scaling
/// by a power of two is exact, so both orders round alike.
fn mul_consts(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    let (Prim::Mul, [c, inner]) = applied(op)? else {
        return None;
    };
    let c1 = scalar_const(g, *c)?;
    let (Prim::Mul, [c, x]) = applied(g.op(*inner))? else {
        return None;
    };
    let (c, x) = (*c, *x);
    let c2 = scalar_const(g, c)?;
    let power_of_two = |v: f64| v != 0.0 && v.is_finite() && v.abs().log2().fract() == 0.0;
    let product = c1 * c2;
    if !(power_of_two(c1) || power_of_two(c2)) || !product.is_finite() || product == 0.0 {
        return None;
    }
    let k = g.konst(product);
    Some(Rewrite::Op(Op::Apply(Prim::Mul, vec![k, x]), shape.clone()))
}

fn neg_neg(g: &mut Graph, op: &Op, _: &Shape) -> Option<Rewrite> {
    match applied(op)? {
        (Prim::Neg, [n]) => negated(g, *n).map(Rewrite::To),
        _ => None,
    }
}

/// `a + -b` is `a - b`, `-a + b` is `b - a` and `a - -b` is `a + b`.
fn add_neg(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    let (p, args) = applied(op)?;
    let rewrite =
        |p: Prim, a: NodeId, b: NodeId| Some(Rewrite::Op(Op::Apply(p, vec![a, b]), shape.clone()));
    match (p, args) {
        (Prim::Add, &[a, nb]) if negated(g, nb).is_some() => rewrite(Prim::Sub, a, negated(g, nb)?),
        (Prim::Add, &[na, b]) if negated(g, na).is_some() => rewrite(Prim::Sub, b, negated(g, na)?),
        (Prim::Sub, &[a, nb]) if negated(g, nb).is_some() => rewrite(Prim::Add, a, negated(g, nb)?),
        _ => None,
    }
}

fn select_same(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    match applied(op)? {
        (Prim::SelectGt | Prim::SelectLt, [_, _, then, other]) if then == other => {
            Some(reshaped(g, *then, shape))
        }
        _ => None,
    }
}

/// Indexing a pack picks the entry, or zero where there is none.
fn index_pack(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    let Op::Index(a, path) = op else { return None };
    let Op::Pack(entries) = g.op(*a) else {
        return None;
    };
    let entries = entries.clone();
    let mut found = Vec::new();
    for (p, n) in entries {
        if p.len() >= path.len() && p[..path.len()] == path[..] {
            found.push((p[path.len()..].to_vec(), n));
        } else if p.len() < path.len() && path[..p.len()] == p[..] {
            // The entry is a whole row containing the element.
            return Some(Rewrite::Op(
                Op::Index(n, path[p.len()..].to_vec()),
                shape.clone(),
            ));
        }
    }
    match found.as_slice() {
        [] => Some(zeros(shape)),
        [(rest, n)] if rest.is_empty() => Some(Rewrite::To(*n)),
        _ => Some(Rewrite::Op(Op::Pack(found), shape.clone())),
    }
}

fn index_fill(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    let Op::Index(a, _) = op else { return None };
    match *g.op(*a) {
        Op::Fill(s) => Some(reshaped(g, s, shape)),
        _ => None,
    }
}

/// Two packs add entry by entry, when no entry is a row holding another.
fn add_pack(g: &mut Graph, op: &Op, shape: &Shape) -> Option<Rewrite> {
    let (Prim::Add, &[x, y]) = applied(op)? else {
        return None;
    };
    let (Op::Pack(a), Op::Pack(b)) = (g.op(x), g.op(y)) else {
        return None;
    };
    let packs = [a.clone(), b.clone()];
    let merged = g.merge_packs(&packs)?;
    Some(Rewrite::Op(Op::Pack(merged), shape.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::graph;

    /// Simplifies `input` and compares the printed result with `expected`.
    fn check(args: &str, input: &str, expected: &str) {
        let mut g = graph(args);
        let root = g.parse(input).unwrap();
        let (s, roots) = simplify(&g, &[root]);
        assert_eq!(s.print(roots[0]), expected, "simplifying {input}");
    }

    /// Like `check`, and the rule named `rule` is the last one that fired.
    fn check_rule(rule: &str, args: &str, input: &str, expected: &str) {
        let mut g = graph(args);
        let root = g.parse(input).unwrap();
        let (s, roots, log) = simplify_logged(&g, &[root]);
        assert_eq!(s.print(roots[0]), expected, "simplifying {input}");
        assert_eq!(
            log.last().copied(),
            Some(rule),
            "rules fired on {input}: {log:?}"
        );
    }

    #[test]
    fn rules() {
        check_rule("mul-one", "x", "(* x 1)", "x");
        check_rule("mul-one", "x", "(* 1 x)", "x");
        check_rule("add-zero", "x", "(+ x 0)", "x");
        check_rule("add-zero", "x", "(+ 0 x)", "x");
        check_rule("sub-zero", "x", "(- x 0)", "x");
        check_rule("sub-zero", "x", "(- 0 x)", "(neg x)");
        check_rule("mul-zero", "x", "(* x 0)", "0");
        check_rule("mul-neg-one", "x", "(* x -1)", "(neg x)");
        check_rule("div-one", "x", "(/ x 1)", "x");
        check_rule("neg-neg", "x", "(neg (neg x))", "x");
        check_rule("add-neg", "x y", "(+ x (neg y))", "(- x y)");
        check_rule("add-neg", "x y", "(- x (neg y))", "(+ x y)");
        check_rule("const-fold", "x", "(+ 2 (* 3 4))", "14");
        check_rule("const-fold", "x", "(exp 0)", "1");
        check_rule("select-same", "x y", "(select> x y 1 1)", "1");
        check_rule("const-fold", "x", "(select> 2 1 x 0)", "x");
        check_rule("index-pack", "a b", "(index (pack [2] (0 a) (1 b)) 1)", "b");
        check_rule("index-fill", "s", "(index (fill [4] s) 2)", "s");
        check_rule("unfill", "x:3 s", "(* x (fill [3] s))", "(* x s)");
        check_rule("fill-scalar", "s", "(fill [] s)", "s");
        check_rule("powi-one", "x", "(powi x 1)", "x");
        check_rule("mul-consts", "x", "(* 0.01 (* 2 x))", "(* 0.02 x)");
        check("x", "(* 0.1 (* 3 x))", "(* 0.1 (* 3 x))");
    }

    #[test]
    fn nothing_folds_into_a_non_finite_constant() {
        check("x", "(/ 1 0)", "(/ 1 0)");
        check("x", "(ln 0)", "(ln 0)");
    }

    #[test]
    fn arrays() {
        check("x:3", "(+ x (fill [3] 0))", "x");
        check("x:3 s", "(* x (fill [3] s))", "(* x s)");
        check("s", "(+ s (pack [3]))", "(fill [3] s)");
        check_rule(
            "add-pack",
            "a b",
            "(+ (pack [2] (0 a)) (pack [2] (1 b)))",
            "(pack [2] (0 a) (1 b))",
        );
        check(
            "a b",
            "(+ (pack [2] (1 a)) (pack [2] (1 b)))",
            "(pack [2] (1 (+ a b)))",
        );
        check("a b", "(index (pack [2] (0 a) (1 b)) 1)", "b");
        check("a", "(index (pack [2] (0 a)) 1)", "0");
        check("r:3", "(index (pack [2x3] (1 r)) 1 2)", "(index r 2)");
        check("s", "(index (fill [4] s) 2)", "s");
        check("x:3", "(sum (pack [3]))", "0");
    }

    #[test]
    fn shared_subexpressions_become_one_node() {
        let mut g = graph("x y");
        let root = g.parse("(+ (* (* x y) 1) (* x y))").unwrap();
        let (s, roots) = simplify(&g, &[root]);
        assert_eq!(s.print(roots[0]), "(+ (* x y) (* x y))");
        // x, y, the product and the sum: the product exists once.
        assert_eq!(s.nodes.len(), 4);
    }

    #[test]
    fn every_rule_has_a_distinct_name() {
        let mut names: Vec<_> = RULES.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RULES.len());
    }
}
