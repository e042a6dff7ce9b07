//! Reverse-mode differentiation on the IR.
//!
//! One backwards sweep over the forward nodes, from the output down: each
//! node with an adjoint hands a contribution to each operand that depends
//! on an argument, and contributions to the same operand are added (so a
//! `let` binding used several times accumulates its adjoint). The adjoints
//! are new nodes of the same graph, so the backward pass can reuse every
//! forward value instead of recomputing it. Each op's local rule is its
//! `OpDef::adjoint`, in `ops/`.

use crate::ir::{Graph, NodeId, Op, default_name};
use crate::ops::{Kind, Prim, Site};
use std::collections::HashMap;

/// Builds the adjoint of every argument of `output` given the upstream
/// derivative `dy` (a node shaped like the output), and returns one node
/// per argument, in order. Arguments the output does not depend on get zero.
pub fn differentiate(g: &mut Graph, output: NodeId, dy: NodeId) -> Result<Vec<NodeId>, String> {
    sweep(g, output, dy, "d_", None)
}

/// One step of the sweep, as `trace` shows it: node `y` with its total
/// adjoint `d` handed `contribution` to `operand`.
pub struct Step {
    pub y: NodeId,
    pub d: NodeId,
    pub operand: NodeId,
    pub contribution: NodeId,
}

/// [`differentiate`], also returning every step of the sweep in the order
/// it was taken: from the output back.
pub fn differentiate_steps(
    g: &mut Graph,
    output: NodeId,
    dy: NodeId,
) -> Result<(Vec<NodeId>, Vec<Step>), String> {
    let mut steps = Vec::new();
    let adjoints = sweep(g, output, dy, "d_", Some(&mut steps))?;
    Ok((adjoints, steps))
}

/// [`differentiate`], naming each adjoint `<prefix><name>`, and recording
/// its steps in `steps` when given.
fn sweep(
    g: &mut Graph,
    output: NodeId,
    dy: NodeId,
    prefix: &str,
    mut steps: Option<&mut Vec<Step>>,
) -> Result<Vec<NodeId>, String> {
    let active = active(g, output);
    // Adjoint names go to nodes the sweep creates, never to forward values
    // that an adjoint happens to equal (`∂(e^a e^b)/∂b` is `e^a e^b`).
    let first_new = g.nodes.len();
    // Contributions wait in `pending` until the sweep reaches their node,
    // when all of them are known and are summed at once.
    let mut pending: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    pending.insert(output, vec![dy]);
    for id in (0..=output).rev() {
        // Arguments have nothing to pass on; their adjoints are summed
        // after the sweep, in argument order, so that `d_x` comes before
        // `d_w` in the generated code as `x` does in the signature.
        if matches!(g.op(id), Op::Arg(_)) {
            continue;
        }
        let Some(parts) = pending.remove(&id) else {
            continue;
        };
        // Every user of `id` has been swept, so this is its final adjoint.
        let base = g.nodes[id]
            .name
            .clone()
            .unwrap_or_else(|| default_name(g, id));
        let d = total(g, parts, &base, prefix, first_new);
        let op = g.op(id).clone();
        let mut contributions: Vec<(NodeId, NodeId)> = Vec::new();
        match op {
            Op::Arg(_) | Op::Const(_) | Op::Count(_) => {}
            Op::Fill(a) => {
                let shape = g.shape(a).clone();
                contributions.push((a, g.unbroadcast(d, &shape)));
            }
            Op::Apply(p, operands) => {
                let def = p.def();
                let varying: Vec<bool> = operands.iter().map(|&o| active[o]).collect();
                let site = Site {
                    prim: p,
                    operands: &operands,
                    y: id,
                    d,
                    varying: &varying,
                };
                let adjoints = (def.adjoint)(g, &site);
                for (&operand, c) in operands.iter().zip(adjoints) {
                    let Some(c) = c else { continue };
                    if !active[operand] {
                        continue;
                    }
                    // An element-wise contribution to a broadcast scalar is
                    // summed over the array.
                    let c = if def.kind == Kind::Elementwise {
                        let shape = g.shape(operand).clone();
                        g.unbroadcast(c, &shape)
                    } else {
                        c
                    };
                    contributions.push((operand, c));
                }
            }
            Op::Index(a, path) => {
                let shape = g.shape(a).clone();
                contributions.push((a, g.pack(vec![(path, d)], shape)));
            }
            Op::Pack(entries) => {
                for (path, n) in entries {
                    contributions.push((n, g.index(d, path)));
                }
            }
            Op::Call { args, .. } => {
                for (k, a) in args.into_iter().enumerate() {
                    if active[a] {
                        let shape = g.shape(a).clone();
                        contributions.push((
                            a,
                            g.intern(
                                Op::CallGrad {
                                    call: id,
                                    dy: d,
                                    arg: k,
                                },
                                shape,
                            ),
                        ));
                    }
                }
            }
            Op::CallGrad { .. } => {
                return Err(
                    "the gradient of a gradient cannot be taken: only first derivatives are built"
                        .into(),
                );
            }
        }
        for (operand, c) in contributions {
            if active[operand] {
                if let Some(steps) = steps.as_deref_mut() {
                    steps.push(Step {
                        y: id,
                        d,
                        operand,
                        contribution: c,
                    });
                }
                pending.entry(operand).or_default().push(c);
            }
        }
    }
    let mut adjoints = Vec::with_capacity(g.args.len());
    for k in 0..g.args.len() {
        let arg = g.arg(k);
        let shape = g.shape(arg).clone();
        adjoints.push(match pending.remove(&arg) {
            Some(parts) => {
                let base = g.args[k].0.clone();
                total(g, parts, &base, prefix, first_new)
            }
            None => g.zeros(shape),
        });
    }
    if let Some(error) = g.internal_errors.first() {
        return Err(error.clone());
    }
    Ok(adjoints)
}

/// The gradient of a scalar `output` and its Hessian-vector product, by
/// reverse over reverse: after the first sweep (seed 1) has appended the
/// adjoint `d_a` of every argument `a`, the direction `v` enters as new
/// arguments, `Op::Arg(n + k)` for argument `k` of `n`, shaped like it;
/// `s = Σₖ ⟨d_aₖ, vₖ⟩` is built from nodes, and a second sweep from `s`
/// (seed 1) gives `∂s/∂aₖ = (H v)ₖ`. The directions are constants of the
/// second sweep (`active` knows only the first `n` arguments), and the
/// first sweep's nodes are swept like any others, so every op an adjoint
/// builds must have an adjoint itself. Returns the gradient's nodes and
/// those of `H v`, one per argument, in order.
///
/// ```text
/// y = x² w           d_x = 2 x w,  d_w = x²
/// s = d_x v_x + d_w v_w
/// ∂s/∂x = 2 w v_x + 2 x v_w,  ∂s/∂w = 2 x v_x
/// ```
pub fn hessian_vector(g: &mut Graph, output: NodeId) -> Result<(Vec<NodeId>, Vec<NodeId>), String> {
    let one = g.konst(1.0);
    let gradient = differentiate(g, output, one)?;
    let n = g.args.len();
    let mut s: Option<NodeId> = None;
    for (k, &d) in gradient.iter().enumerate() {
        let shape = g.args[k].1.clone();
        let v = g.intern(Op::Arg(n + k), shape.clone());
        let term = match shape.len() {
            0 => g.mul(d, v),
            1 => g.apply(Prim::Dot, &[d, v]),
            _ => {
                let p = g.mul(d, v);
                g.apply(Prim::Sum, &[p])
            }
        };
        s = Some(match s {
            None => term,
            Some(acc) => g.add(acc, term),
        });
    }
    // The second sweep's adjoints are derivatives of the gradient along
    // `v`: `hv_x` is `(H v)` for argument `x`, `hv_d_z` the derivative of
    // `d_z`, `hv_z` that of `z`'s share.
    let hv = match s {
        Some(s) => sweep(g, s, one, "hv_", None)?,
        None => Vec::new(),
    };
    Ok((gradient, hv))
}

/// The sum of a node's adjoint contributions, in the order they came,
/// named `<prefix><base>` (`d_<base>`) after the value unless it already
/// has a name.
/// Contributions that are packs (the adjoints of indexing, one per `x[i]`)
/// are merged into one pack first, so that `n` indexed uses of an array cost
/// `O(n)` rather than a chain of `n` growing packs.
fn total(g: &mut Graph, parts: Vec<NodeId>, base: &str, prefix: &str, first_new: NodeId) -> NodeId {
    let (packs, mut rest): (Vec<NodeId>, Vec<NodeId>) = parts
        .into_iter()
        .partition(|&p| matches!(g.op(p), Op::Pack(_)));
    let entries: Vec<Vec<(Vec<usize>, NodeId)>> = packs
        .iter()
        .filter_map(|&p| match g.op(p) {
            Op::Pack(e) => Some(e.clone()),
            _ => None,
        })
        .collect();
    if let Some(shape) = packs.first().map(|&p| g.shape(p).clone()) {
        match g.merge_packs(&entries) {
            Some(merged) => rest.push(g.pack(merged, shape)),
            // Rows in one, elements of them in another: added as they are.
            None => rest.extend(packs),
        }
    }
    let mut sum = rest[0];
    for &p in &rest[1..] {
        sum = g.add(sum, p);
    }
    if sum >= first_new
        && g.nodes[sum].name.is_none()
        && !matches!(g.op(sum), Op::Arg(_) | Op::Const(_))
    {
        g.nodes[sum].name = Some(format!("{prefix}{base}"));
    }
    sum
}

/// Which nodes up to `output` depend on an argument (other than `dy`); only
/// they receive adjoints.
pub fn active(g: &Graph, output: NodeId) -> Vec<bool> {
    let mut active = vec![false; g.nodes.len().max(output + 1)];
    for id in 0..=output {
        active[id] = match g.op(id) {
            Op::Arg(k) => *k < g.args.len(),
            Op::Const(_) | Op::Count(_) => false,
            op => op.operands().iter().any(|&o| active[o]),
        };
    }
    active
}

/// The simplified adjoints of `text` (an IR expression over the arguments
/// `args`) for the upstream derivative `dy`, printed: what the op
/// definitions' tests compare.
#[cfg(test)]
pub fn simplified_adjoints(args: &str, text: &str, dy: &str) -> Vec<String> {
    let mut g = crate::ir::graph(args);
    let y = g.parse(text).unwrap();
    let d = g.parse(dy).unwrap();
    let adj = differentiate(&mut g, y, d).unwrap();
    let (s, roots) = crate::simplify::simplify(&g, &adj);
    roots.iter().map(|&r| s.print(r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::eval;
    use crate::ir::graph;
    use crate::simplify::simplify;

    /// The simplified adjoints of `text` with `dy = 1`, printed.
    fn gradient(args: &str, text: &str) -> Vec<String> {
        let mut g = graph(args);
        let y = g.parse(text).unwrap();
        let one = g.konst(1.0);
        let adj = differentiate(&mut g, y, one).unwrap();
        let (s, roots) = simplify(&g, &adj);
        roots.iter().map(|&r| s.print(r)).collect()
    }

    #[test]
    fn sums_pass_the_adjoint_through() {
        assert_eq!(gradient("a b c", "(+ (+ a b) c)"), ["1", "1", "1"]);
        assert_eq!(gradient("a b", "(- a b)"), ["1", "-1"]);
    }

    #[test]
    fn products_and_quotients() {
        assert_eq!(gradient("a b", "(* a b)"), ["b", "a"]);
        assert_eq!(
            gradient("a b", "(/ a b)"),
            ["(/ 1 b)", "(neg (safe/ (/ a b) b))"]
        );
    }

    #[test]
    fn a_binding_used_twice_accumulates() {
        assert_eq!(gradient("x", "(* x x)"), ["(+ x x)"]);
        // The sweep visits `exp x` (built last) before `x * y`.
        assert_eq!(
            gradient("x y", "(+ (* x y) (exp x))"),
            ["(+ (exp x) y)", "x"]
        );
    }

    #[test]
    fn kinks_are_selects() {
        assert_eq!(gradient("x", "(relu x)"), ["(select> x 0 1 0)"]);
        assert_eq!(
            gradient("a b", "(max a b)"),
            ["(select> a b 1 0)", "(select> a b 0 1)"]
        );
        assert_eq!(
            gradient("a b", "(min a b)"),
            ["(select< a b 1 0)", "(select< a b 0 1)"]
        );
        assert_eq!(
            gradient("x", "(abs x)"),
            ["(select> x 0 1 (select< x 0 -1 0))"]
        );
    }

    #[test]
    fn the_running_example() {
        let text = "(relu (+ (+ (+ (* (index w 0) (index x 0)) (* (index w 1) (index x 1))) (* (index w 2) (index x 2))) b))";
        let z = "(+ (+ (+ (* (index w 0) (index x 0)) (* (index w 1) (index x 1))) (* (index w 2) (index x 2))) b)";
        let mask = format!("(select> {z} 0 1 0)");
        let [dx, dw, db] = <[String; 3]>::try_from(gradient("x:3 w:3 b", text)).unwrap();
        assert_eq!(
            dx,
            format!(
                "(pack [3] (0 (* {mask} (index w 0))) (1 (* {mask} (index w 1))) (2 (* {mask} (index w 2))))"
            )
        );
        assert_eq!(
            dw,
            format!(
                "(pack [3] (0 (* {mask} (index x 0))) (1 (* {mask} (index x 1))) (2 (* {mask} (index x 2))))"
            )
        );
        assert_eq!(db, mask);
    }

    #[test]
    fn array_rules_match_their_definitions() {
        let mut g = graph("m:2x3 v:3");
        let y = g.parse("(sum (matvec m v))").unwrap();
        let one = g.konst(1.0);
        let adj = differentiate(&mut g, y, one).unwrap();
        let m = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let v = vec![0.5, -1.0, 2.0];
        let values = eval(&g, &[m, v]).unwrap();
        // d/dm[i][j] = v[j]; d/dv[j] = Σ_i m[i][j].
        assert_eq!(values[adj[0]], vec![0.5, -1.0, 2.0, 0.5, -1.0, 2.0]);
        assert_eq!(values[adj[1]], vec![5.0, 7.0, 9.0]);
    }

    /// An adjoint equal to a forward value leaves that value its own name.
    #[test]
    fn forward_values_keep_their_names() {
        let mut g = graph("a b");
        let y = g.parse("(* (exp a) (exp b))").unwrap();
        let one = g.konst(1.0);
        differentiate(&mut g, y, one).unwrap();
        for id in 0..=y {
            let name = g.nodes[id].name.clone().unwrap_or_default();
            assert!(!name.starts_with("d_"), "forward node {id} named {name}");
        }
    }

    /// `H v` of `text`, simplified and printed.
    fn hvp(args: &str, text: &str) -> Vec<String> {
        let mut g = graph(args);
        let y = g.parse(text).unwrap();
        let (_, hv) = hessian_vector(&mut g, y).unwrap();
        let (s, roots) = simplify(&g, &hv);
        roots.iter().map(|&r| s.print(r)).collect()
    }

    #[test]
    fn second_derivatives_by_reverse_over_reverse() {
        // x² y: H = [[2y, 2x], [2x, 0]]; arguments 2 and 3 are v.
        let mut g = graph("x y");
        let y = g.parse("(* (* x x) y)").unwrap();
        let (_, hv) = hessian_vector(&mut g, y).unwrap();
        let values = eval(&g, &[vec![1.5], vec![-2.0], vec![0.5], vec![1.0]]).unwrap();
        assert_eq!(values[hv[0]], vec![2.0 * -2.0 * 0.5 + 2.0 * 1.5 * 1.0]);
        assert_eq!(values[hv[1]], vec![2.0 * 1.5 * 0.5]);
        // relu'' = 0, NaN where x is: the select's zero for its comparand.
        assert_eq!(hvp("x", "(relu x)"), ["(select> x 0 0 0)"]);
        // A linear function has H = 0: no dependence at all.
        assert_eq!(hvp("x y", "(+ (* 2 x) y)"), ["(pack [])", "(pack [])"]);
    }

    #[test]
    fn unused_arguments_get_zero() {
        assert_eq!(gradient("x y", "(exp x)"), ["(exp x)", "(pack [])"]);
    }
}
