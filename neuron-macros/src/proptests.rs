//! Property tests of the pipeline: random expressions differentiated on the
//! IR against finite differences, and random token streams that must never
//! make the macro panic.
//!
//! The expressions are built from a stream of random choices (so proptest
//! shrinks a failure to a small expression): a few `let`-like bindings, each
//! reused by later ones, then a result of depth up to 6, over every op of
//! the IR on scalars, `[2]`, `[3]`, `[2x3]`, `[3x2]` and `[3x3]` arrays. Each case is
//! differentiated with `diff::differentiate`, simplified, evaluated with
//! `eval::eval`, and every argument's adjoint is compared with central
//! differences of the forward value. Points within reach of a kink or
//! outside an op's domain are skipped, as are points where the differences
//! at steps `h` and `h / 2` disagree.
//!
//! To second order, the same expressions with a scalar result go through
//! `diff::hessian_vector`: `H v` against central differences of the
//! gradient along `v`, skipping points near a kink of the gradient's own
//! graph, and every op of the registry is required among the checked
//! cases, in the forward graph or built by a first derivative.

use crate::ast::{self, Shape, fixed};
use crate::diff::{differentiate, hessian_vector};
use crate::eval::eval;
use crate::expand::{expand, neuron};
use crate::ir::{Graph, NodeId, Op, graph};
use crate::ops::{Domain, Kink, Param, Prim, ShapeCx};
use crate::simplify::simplify;
use proc_macro2::{Delimiter, Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};
use proptest::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};

// ---------------------------------------------------------------------------
// Random expressions.

/// The arguments every random expression may read: two scalars, a `[3]`, a
/// `[2]` and a `[2x3]`, 13 reals in all.
const ARGS: &str = "a b x:3 y:2 m:2x3";
const ARG_LEN: usize = 13;

/// The shapes random expressions take: two matrices more than the
/// arguments have, so that `transpose` and `matmul` of every kind find
/// operands and results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    S,
    V2,
    V3,
    /// `[2x3]`.
    M,
    /// `[3x2]`.
    M32,
    /// `[3x3]`.
    M33,
}

impl Ty {
    fn dims(self) -> &'static [usize] {
        match self {
            Ty::S => &[],
            Ty::V2 => &[2],
            Ty::V3 => &[3],
            Ty::M => &[2, 3],
            Ty::M32 => &[3, 2],
            Ty::M33 => &[3, 3],
        }
    }
    fn shape(self) -> Shape {
        fixed(self.dims())
    }
    fn len(self) -> usize {
        self.dims().iter().product()
    }
}

const TYS: [Ty; 6] = [Ty::S, Ty::V2, Ty::V3, Ty::M, Ty::M32, Ty::M33];

/// The most elements a value of these shapes has: the length of `dy`.
const MAX_LEN: usize = 9;

/// Constants include 0, 1 and -1 so that the simplifier's rules fire.
const CONSTS: [f64; 7] = [0.0, 1.0, -1.0, 0.5, 2.0, 3.0, -2.5];

/// Drop probabilities, a constant in `[0, 1)`. Dropout is checked in
/// inference, the meaning the evaluator gives it (the identity): its
/// training masks depend on a thread's key that only compiled code reads,
/// and are checked through the whole path in `tests/tests/dropout.rs`.
const PROBABILITIES: [f64; 4] = [0.5, 0.0, 0.25, 0.9];

/// Integer exponents, simple ones first so that failures shrink towards them.
const EXPONENTS: [i32; 8] = [2, 3, -1, 0, 1, -2, -3, 4];

/// One way to apply a registry op: the operands' shapes and the result's,
/// found by asking the op's own shape rule about every combination of the
/// shapes above. Every op of the registry is drawn this way, so a new op is
/// tested without a line here.
#[derive(Clone, Debug)]
struct Signature {
    prim: Prim,
    operands: Vec<Ty>,
    result: Ty,
}

fn signatures() -> &'static [Signature] {
    static FOUND: std::sync::OnceLock<Vec<Signature>> = std::sync::OnceLock::new();
    FOUND.get_or_init(find_signatures)
}

fn find_signatures() -> Vec<Signature> {
    let describe = |s: &Shape| format!("{s:?}");
    let mut found = Vec::new();
    for &prim in Prim::ALL {
        let def = prim.def();
        let cx = ShapeCx {
            describe: &describe,
            spelling: def.name,
        };
        // Every combination of shapes for the real operands; an integer
        // literal operand is a scalar.
        let mut combos: Vec<Vec<Ty>> = vec![Vec::new()];
        for param in def.params {
            let choices: &[Ty] = match param {
                Param::Real => &TYS,
                Param::IntLiteral | Param::Probability => &[Ty::S],
            };
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    choices.iter().map(move |&t| {
                        let mut c = c.clone();
                        c.push(t);
                        c
                    })
                })
                .collect();
        }
        for operands in combos {
            let shapes: Vec<Shape> = operands.iter().map(|t| t.shape()).collect();
            if let Ok(shape) = (def.shape)(&cx, &shapes)
                && let Some(&result) = TYS.iter().find(|t| t.shape() == shape)
            {
                found.push(Signature {
                    prim,
                    operands,
                    result,
                });
            }
        }
    }
    found
}

/// Builds a graph from a stream of choices; a choice past the end is 0,
/// which always means the simplest thing (a leaf).
struct Builder<'c> {
    g: Graph,
    choices: &'c [u32],
    pos: usize,
    /// Earlier bindings, by shape, for reuse as shared subexpressions.
    lets: Vec<(Ty, NodeId)>,
    signatures: &'c [Signature],
}

impl Builder<'_> {
    fn pick(&mut self, n: usize) -> usize {
        let c = self.choices.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        c as usize % n
    }

    fn arg(&mut self, k: usize) -> NodeId {
        self.g.arg(k)
    }

    fn konst(&mut self) -> NodeId {
        let c = CONSTS[self.pick(CONSTS.len())];
        self.g.konst(c)
    }

    fn leaf(&mut self, ty: Ty) -> NodeId {
        match ty {
            Ty::S => match self.pick(5) {
                0 => self.arg(0),
                1 => self.arg(1),
                2 => self.konst(),
                3 => {
                    let (x, i) = (self.arg(2), self.pick(3));
                    self.g.index(x, vec![i])
                }
                _ => {
                    let (m, i, j) = (self.arg(4), self.pick(2), self.pick(3));
                    self.g.index(m, vec![i, j])
                }
            },
            Ty::V3 => match self.pick(3) {
                0 => self.arg(2),
                1 => {
                    let m = self.arg(4);
                    let i = self.pick(2);
                    self.g.index(m, vec![i])
                }
                _ => self.fill(ty),
            },
            Ty::V2 => match self.pick(2) {
                0 => self.arg(3),
                _ => self.fill(ty),
            },
            Ty::M => match self.pick(2) {
                0 => self.arg(4),
                _ => self.fill(ty),
            },
            // No argument has these shapes: they are made of `m` and `x`.
            Ty::M32 => match self.pick(2) {
                0 => {
                    let m = self.arg(4);
                    self.g.apply(Prim::Transpose, &[m])
                }
                _ => self.fill(ty),
            },
            Ty::M33 => match self.pick(2) {
                0 => {
                    let (m, x) = (self.arg(4), self.arg(2));
                    let rows = [self.g.index(m, vec![0]), self.g.index(m, vec![1]), x];
                    let entries = (0..3).map(|i| (vec![i], rows[i])).collect();
                    self.g.pack(entries, ty.shape())
                }
                _ => self.fill(ty),
            },
        }
    }

    /// A scalar repeated over `ty`.
    fn fill(&mut self, ty: Ty) -> NodeId {
        let s = self.leaf(Ty::S);
        self.g.intern(Op::Fill(s), ty.shape())
    }

    /// An earlier binding of shape `ty`, if there is one.
    fn reuse(&mut self, ty: Ty) -> Option<NodeId> {
        let found: Vec<NodeId> = self
            .lets
            .iter()
            .filter(|(t, _)| *t == ty)
            .map(|(_, n)| *n)
            .collect();
        if found.is_empty() {
            return None;
        }
        let k = self.pick(found.len());
        Some(found[k])
    }

    /// Usually a positive function of `e`, to keep operands inside their
    /// op's domain more often than not.
    fn positive(&mut self, e: NodeId) -> NodeId {
        match self.pick(6) {
            0 => self.g.apply(Prim::Exp, &[e]),
            1 => self.g.apply(Prim::Softplus, &[e]),
            2 => self.g.apply(Prim::Sigmoid, &[e]),
            3 => {
                let sq = self.g.apply(Prim::Square, &[e]);
                let quarter = self.g.konst(0.25);
                self.g.add(sq, quarter)
            }
            4 => {
                let sq = self.g.mul(e, e);
                let one = self.g.konst(1.0);
                self.g.add(one, sq)
            }
            _ => e,
        }
    }

    /// A registry op whose result has shape `ty`, on random operands kept
    /// in its domain.
    fn op(&mut self, ty: Ty, depth: usize) -> Option<NodeId> {
        let fitting: Vec<&Signature> = self.signatures.iter().filter(|s| s.result == ty).collect();
        // The op first, then one of its signatures: an op with many
        // broadcast signatures (a select has fifteen for an array result)
        // is drawn as often as one with a single signature.
        let mut prims: Vec<Prim> = fitting.iter().map(|s| s.prim).collect();
        prims.dedup();
        if prims.is_empty() {
            return None;
        }
        let prim = prims[self.pick(prims.len())];
        let of_prim: Vec<&Signature> = fitting.into_iter().filter(|s| s.prim == prim).collect();
        let sig = of_prim[self.pick(of_prim.len())].clone();
        let def = sig.prim.def();
        let mut operands = Vec::with_capacity(sig.operands.len());
        for ((&t, param), domain) in sig.operands.iter().zip(def.params).zip(def.domain) {
            let e = match param {
                Param::IntLiteral => {
                    let n = EXPONENTS[self.pick(EXPONENTS.len())];
                    self.g.konst(f64::from(n))
                }
                Param::Probability => {
                    let p = PROBABILITIES[self.pick(PROBABILITIES.len())];
                    self.g.konst(p)
                }
                Param::Real => {
                    let e = self.expr(t, depth - 1);
                    match domain {
                        Domain::Any => e,
                        Domain::Positive | Domain::NonZero => self.positive(e),
                    }
                }
            };
            operands.push(e);
        }
        Some(self.g.apply(sig.prim, &operands))
    }

    /// A random expression of shape `ty` and depth at most `depth`.
    fn expr(&mut self, ty: Ty, depth: usize) -> NodeId {
        if depth == 0 {
            return match self.pick(2) {
                0 => self.leaf(ty),
                _ => self.reuse(ty).unwrap_or_else(|| self.leaf(ty)),
            };
        }
        let d = depth - 1;
        match self.pick(12) {
            0 => self.leaf(ty),
            1 => self.reuse(ty).unwrap_or_else(|| self.leaf(ty)),
            2..=8 => self.op(ty, depth).unwrap_or_else(|| self.leaf(ty)),
            _ => match ty {
                Ty::S => match self.pick(4) {
                    0 => {
                        let (v, i) = (self.expr(Ty::V3, d), self.pick(3));
                        self.g.index(v, vec![i])
                    }
                    1 => {
                        let (v, i) = (self.expr(Ty::V2, d), self.pick(2));
                        self.g.index(v, vec![i])
                    }
                    2 => {
                        let (m, i, j) = (self.expr(Ty::M, d), self.pick(2), self.pick(3));
                        self.g.index(m, vec![i, j])
                    }
                    _ => {
                        // A one-element pack read back.
                        let s = self.expr(Ty::S, d);
                        let p = self.g.pack(vec![(vec![1], s)], fixed(&[2]));
                        let i = self.pick(2);
                        self.g.index(p, vec![i])
                    }
                },
                Ty::V3 | Ty::V2 => {
                    let n = ty.len();
                    match self.pick(3) {
                        0 => {
                            // An array literal, possibly with holes (zeros).
                            let mut entries = Vec::new();
                            for i in 0..n {
                                if self.pick(4) != 0 {
                                    entries.push((vec![i], self.expr(Ty::S, d)));
                                }
                            }
                            self.g.pack(entries, ty.shape())
                        }
                        _ if ty == Ty::V3 => {
                            let (m, i) = (self.expr(Ty::M, d), self.pick(2));
                            self.g.index(m, vec![i])
                        }
                        _ => {
                            let m = self.expr(Ty::M, d);
                            let j = self.pick(3);
                            let rows = [0, 1].map(|i| self.g.index(m, vec![i, j]));
                            self.g
                                .pack(vec![(vec![0], rows[0]), (vec![1], rows[1])], fixed(&[2]))
                        }
                    }
                }
                Ty::M => match self.pick(2) {
                    0 => {
                        // Rows.
                        let (r0, r1) = (self.expr(Ty::V3, d), self.expr(Ty::V3, d));
                        self.g
                            .pack(vec![(vec![0], r0), (vec![1], r1)], fixed(&[2, 3]))
                    }
                    _ => {
                        // Elements, some missing.
                        let mut entries = Vec::new();
                        for i in 0..2 {
                            for j in 0..3 {
                                if self.pick(3) == 0 {
                                    entries.push((vec![i, j], self.expr(Ty::S, d)));
                                }
                            }
                        }
                        self.g.pack(entries, fixed(&[2, 3]))
                    }
                },
                Ty::M32 | Ty::M33 => {
                    // Rows.
                    let row = if ty == Ty::M32 { Ty::V2 } else { Ty::V3 };
                    let entries = (0..3).map(|i| (vec![i], self.expr(row, d))).collect();
                    self.g.pack(entries, ty.shape())
                }
            },
        }
    }
}

/// A random differentiable function of [`ARGS`], with its result node.
#[derive(Clone)]
struct Case {
    g: Graph,
    output: NodeId,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} : {:?}",
            self.g.print(self.output),
            self.g.shape(self.output)
        )
    }
}

fn build(choices: &[u32]) -> Case {
    let signatures = signatures();
    let mut b = Builder {
        g: graph(ARGS),
        choices,
        pos: 0,
        lets: Vec::new(),
        signatures,
    };
    // A few bindings, each free to reuse the earlier ones.
    for _ in 0..b.pick(4) {
        let ty = TYS[b.pick(TYS.len())];
        let depth = b.pick(4);
        let id = b.expr(ty, depth);
        b.lets.push((ty, id));
    }
    // The result, usually a scalar as in `gradient`, else an array for
    // `backward`.
    let ty = if b.pick(3) == 0 {
        TYS[b.pick(TYS.len())]
    } else {
        Ty::S
    };
    let depth = 1 + b.pick(6);
    let output = b.expr(ty, depth);
    Case { g: b.g, output }
}

/// The strategy: random expression trees up to depth 6, with shared
/// subexpressions, built through the graph's builder calls.
fn case() -> impl Strategy<Value = Case> {
    prop::collection::vec(any::<u32>(), 0..256).prop_map(|choices| build(&choices))
}

/// Whether node `id` depends on an argument (not `dy`).
fn active(g: &Graph) -> Vec<bool> {
    let mut active = vec![false; g.nodes.len()];
    for id in 0..g.nodes.len() {
        active[id] = match g.op(id) {
            Op::Arg(k) => *k < g.args.len(),
            op => op.operands().iter().any(|&o| active[o]),
        };
    }
    active
}

/// The smallest distance to a kink over the active nodes, relative to the
/// size of the compared values; identical operands (`max(e, e)`) are no
/// kink, since both sides move together.
fn kink_margin(g: &Graph, values: &[Vec<f64>], upto: NodeId) -> f64 {
    let active = active(g);
    let at = |n: NodeId, i: usize| {
        let v = &values[n];
        if v.len() == 1 { v[0] } else { v[i] }
    };
    let gap = |a: NodeId, b: Option<NodeId>, len: usize| {
        (0..len)
            .map(|i| {
                let (x, y) = (at(a, i), b.map_or(0.0, |b| at(b, i)));
                (x - y).abs() / x.abs().max(y.abs()).max(1.0)
            })
            .fold(f64::INFINITY, f64::min)
    };
    let mut margin = f64::INFINITY;
    for id in 0..=upto {
        if !active[id] {
            continue;
        }
        let len = values[id].len();
        let m = match g.op(id) {
            Op::Apply(p, args) => match p.def().kink {
                Kink::AtZero => gap(args[0], None, len),
                Kink::AtEqual if args[0] != args[1] => gap(args[0], Some(args[1]), len),
                Kink::AtEqual | Kink::None => f64::INFINITY,
                Kink::Custom(margin) => {
                    let operands: Vec<&[f64]> =
                        args.iter().map(|&a| values[a].as_slice()).collect();
                    margin(&operands)
                }
            },
            _ => f64::INFINITY,
        };
        margin = margin.min(m);
    }
    margin
}

/// `dy · f(args)` from the forward graph.
fn projected(g: &Graph, output: NodeId, args: &[Vec<f64>], dy: &[f64]) -> Option<f64> {
    let values = eval(g, args).ok()?;
    let y = &values[output];
    Some(y.iter().zip(dy).map(|(a, b)| a * b).sum())
}

/// Splits the 13 flat reals into the arguments' values.
fn split_args(flat: &[f64]) -> Vec<Vec<f64>> {
    vec![
        vec![flat[0]],
        vec![flat[1]],
        flat[2..5].to_vec(),
        flat[5..7].to_vec(),
        flat[7..13].to_vec(),
    ]
}

fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs().max(got.abs()).max(1.0)
}

/// Checks `case` at `point` with upstream `dy`: simplification keeps the
/// forward value and the adjoints, and the adjoints match central
/// differences. Points near kinks or outside the domain are rejected.
fn check_case(
    case: &Case,
    point: &[f64],
    dy_values: &[f64],
    unit_dy: bool,
) -> Result<(), TestCaseError> {
    let Case { g, output } = case;
    let output = *output;
    let out_shape = g.shape(output).clone();
    let out_len = ast::count(&out_shape).unwrap_or(0);
    let dy: Vec<f64> = if unit_dy && out_shape.is_empty() {
        vec![1.0]
    } else {
        dy_values[..out_len].to_vec()
    };
    let args = split_args(point);

    // The forward value, and the points worth checking.
    let values = eval(g, &args).map_err(TestCaseError::fail)?;
    prop_assume!(values[..=output].iter().flatten().all(|v| v.is_finite()));
    prop_assume!(values[output].iter().all(|v| v.abs() < 1e6));
    // Ill-conditioned points are out of reach of any finite-difference
    // check: with an intermediate of 1e21 (`9.25^22`), a backward sum that
    // is zero in exact arithmetic (softmax's over equal inputs) leaves a
    // rounding residue of 1e-17 that the chain rule multiplies into 1e4.
    prop_assume!(
        values[..=output].iter().flatten().all(|v| v.abs() < 1e8),
        "an intermediate value beyond 1e8"
    );
    prop_assume!(kink_margin(g, &values, output) > 1e-4);

    // Simplifying the forward graph keeps its value.
    let (fg, froots) = simplify(g, &[output]);
    let simplified = eval(&fg, &args).map_err(TestCaseError::fail)?;
    prop_assert_eq!(
        &simplified[froots[0]],
        &values[output],
        "simplified forward value of {:?}",
        case
    );

    // The adjoints, before and after simplification.
    let mut bg = g.clone();
    let dy_node = if unit_dy && out_shape.is_empty() {
        bg.konst(1.0)
    } else {
        bg.intern(Op::Arg(bg.args.len()), out_shape.clone())
    };
    let adjoints = differentiate(&mut bg, output, dy_node).map_err(TestCaseError::fail)?;
    let mut bargs = args.clone();
    bargs.push(dy.clone());
    let raw = eval(&bg, &bargs).map_err(TestCaseError::fail)?;
    let raw_adj: Vec<&Vec<f64>> = adjoints.iter().map(|&a| &raw[a]).collect();
    prop_assume!(
        raw_adj
            .iter()
            .all(|v| v.iter().all(|x| x.is_finite() && x.abs() < 1e8))
    );
    let mut roots = vec![output];
    roots.extend(&adjoints);
    let (sg, sroots) = simplify(&bg, &roots);
    let simple = eval(&sg, &bargs).map_err(TestCaseError::fail)?;
    prop_assert_eq!(
        &simple[sroots[0]],
        &values[output],
        "simplified backward graph's value of {:?}",
        case
    );
    for (k, (&r, raw)) in sroots[1..].iter().zip(&raw_adj).enumerate() {
        for (i, (&s, &u)) in simple[r].iter().zip(raw.iter()).enumerate() {
            prop_assert!(
                close(s, u, 1e-12),
                "adjoint {}[{}] is {} simplified, {} before, in {:?}",
                g.args[k].0,
                i,
                s,
                u,
                case
            );
        }
    }

    // Central differences at h and h/2; skip the point where they disagree
    // (a kink within reach, or an ill-conditioned point).
    let mut flat = point.to_vec();
    let mut offset = 0;
    for (k, (name, shape)) in g.args.iter().enumerate() {
        let len = ast::count(shape).unwrap_or(0);
        for i in 0..len {
            let x = point[offset + i];
            // The difference quotient, and the rounding noise it carries:
            // a few ulps of the larger value, over the step.
            let mut fd = |h: f64| -> Option<(f64, f64)> {
                flat[offset + i] = x + h;
                let up = projected(g, output, &split_args(&flat), &dy)?;
                flat[offset + i] = x - h;
                let down = projected(g, output, &split_args(&flat), &dy)?;
                flat[offset + i] = x;
                Some((
                    (up - down) / (2.0 * h),
                    64.0 * f64::EPSILON * up.abs().max(down.abs()) / h,
                ))
            };
            let h = 1e-5 * x.abs().max(1.0);
            let (Some((d1, _)), Some((d2, noise))) = (fd(h), fd(h / 2.0)) else {
                return Err(TestCaseError::reject("not finite a step away"));
            };
            prop_assume!(d1.is_finite() && d2.is_finite());
            prop_assume!(close(d1, d2, 1e-6), "differences at h and h/2 disagree");
            // Richardson extrapolation removes the h² error term; what is
            // left is bounded by the disagreement of the two steps and the
            // rounding noise.
            let numeric = (4.0 * d2 - d1) / 3.0;
            let analytic = simple[sroots[1 + k]][i];
            let slack = 4.0 * (d1 - d2).abs() + noise;
            prop_assert!(
                (analytic - numeric).abs()
                    <= 1e-6 * analytic.abs().max(numeric.abs()).max(1.0) + slack,
                "∂/∂{}[{}] is {} by the rules, {} by finite differences, at {:?} with dy {:?}, in {:?}",
                name,
                i,
                analytic,
                numeric,
                point,
                dy,
                case
            );
        }
        offset += len;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 10_000,
        max_global_rejects: 1_000_000,
        max_local_rejects: 1_000_000,
        ..ProptestConfig::default()
    })]

    /// Random expressions: simplification keeps values, and every adjoint
    /// matches central differences.
    #[test]
    fn adjoints_match_finite_differences(
        case in case(),
        point in prop::collection::vec(-2.0f64..2.0, ARG_LEN),
        dy in prop::collection::vec(-2.0f64..2.0, MAX_LEN),
        unit_dy in any::<bool>(),
    ) {
        check_case(&case, &point, &dy, unit_dy)?;
    }
}

/// How often the generator yields a checkable case, so that the 10,000 cases
/// above are mostly real checks: at least half the drawn points must
/// survive the kink and domain filters.
#[test]
fn most_random_cases_are_checked() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (
        case(),
        prop::collection::vec(-2.0f64..2.0, ARG_LEN),
        prop::collection::vec(-2.0f64..2.0, MAX_LEN),
    );
    let (mut passed, mut rejected) = (0, 0);
    for k in 0..400 {
        let (case, point, dy) = strategy.new_tree(&mut runner).unwrap().current();
        match check_case(&case, &point, &dy, k % 2 == 0) {
            Ok(()) => passed += 1,
            Err(TestCaseError::Reject(_)) => rejected += 1,
            Err(TestCaseError::Fail(why)) => panic!("{why}"),
        }
    }
    assert!(
        passed >= 200,
        "only {passed} of 400 cases checked ({rejected} rejected)"
    );
}

/// The ops that node `output` depends on, each once per case.
fn ops_used(g: &Graph, output: NodeId) -> Vec<Prim> {
    let mut live = vec![false; output + 1];
    live[output] = true;
    let mut used = Vec::new();
    for id in (0..=output).rev() {
        if !live[id] {
            continue;
        }
        if let Op::Apply(p, _) = g.op(id)
            && !used.contains(p)
        {
            used.push(*p);
        }
        for o in g.op(id).operands() {
            live[o] = true;
        }
    }
    used
}

/// Every op of the registry is drawn, in many cases, and is in cases that
/// pass the kink and domain filters: a new op is tested by the property
/// above without a line here, as long as its shape rule admits the
/// generator's shapes and its `domain` and `kink` leave points to check.
#[test]
fn every_op_is_drawn_and_checked() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (
        case(),
        prop::collection::vec(-2.0f64..2.0, ARG_LEN),
        prop::collection::vec(-2.0f64..2.0, MAX_LEN),
    );
    let mut drawn = std::collections::HashMap::<Prim, (usize, usize)>::new();
    for k in 0..2000 {
        let (case, point, dy) = strategy.new_tree(&mut runner).unwrap().current();
        let used = ops_used(&case.g, case.output);
        // The full check, for cases with an op not yet checked enough.
        let checked = used.iter().any(|p| drawn.get(p).is_none_or(|c| c.1 < 3))
            && match check_case(&case, &point, &dy, k % 2 == 0) {
                Ok(()) => true,
                Err(TestCaseError::Reject(_)) => false,
                Err(TestCaseError::Fail(why)) => panic!("{why}"),
            };
        for p in used {
            let c = drawn.entry(p).or_default();
            c.0 += 1;
            c.1 += usize::from(checked);
        }
    }
    let rare: Vec<String> = Prim::ALL
        .iter()
        .map(|p| (p.def().name, drawn.get(p).copied().unwrap_or_default()))
        .filter(|(_, (all, checked))| *all < 10 || *checked < 3)
        .map(|(name, (all, checked))| format!("{name}: drawn {all}, checked {checked}"))
        .collect();
    assert!(
        rare.is_empty(),
        "ops drawn rarely or never checked: {rare:#?}"
    );
}

// ---------------------------------------------------------------------------
// Second order.

/// Checks the Hessian-vector product of a scalar `case` at `point` along
/// `dir`: `diff::hessian_vector`'s gradient is `differentiate`'s,
/// simplification keeps `H v`, and `H v` matches central differences of
/// the gradient along `dir`. Points near a kink of the gradient's graph
/// (which holds the kinks of the first derivatives: `softsign`'s `abs`,
/// the selects) are rejected, as in [`check_case`]. Returns the ops the
/// second sweep differentiated.
fn check_hvp(case: &Case, point: &[f64], dir: &[f64]) -> Result<Vec<Prim>, TestCaseError> {
    let Case { g, output } = case;
    let output = *output;
    prop_assume!(g.shape(output).is_empty(), "an array output has no hvp");
    let args = split_args(point);
    let values = eval(g, &args).map_err(TestCaseError::fail)?;
    prop_assume!(
        values[..=output]
            .iter()
            .flatten()
            .all(|v| v.is_finite() && v.abs() < 1e6)
    );

    // The gradient's graph, its values and its kinks.
    let mut bg = g.clone();
    let one = bg.konst(1.0);
    let grad = differentiate(&mut bg, output, one).map_err(TestCaseError::fail)?;
    let bvalues = eval(&bg, &args).map_err(TestCaseError::fail)?;
    prop_assume!(
        bvalues
            .iter()
            .flatten()
            .all(|v| v.is_finite() && v.abs() < 1e6),
        "a value of the gradient's graph beyond 1e6"
    );
    prop_assume!(kink_margin(&bg, &bvalues, bg.nodes.len() - 1) > 1e-4);

    let mut hg = g.clone();
    let (hgrad, hv) = hessian_vector(&mut hg, output).map_err(TestCaseError::fail)?;
    let mut hargs = args.clone();
    hargs.extend(split_args(dir));
    let raw = eval(&hg, &hargs).map_err(TestCaseError::fail)?;
    for (&a, &b) in hgrad.iter().zip(&grad) {
        prop_assert_eq!(&raw[a], &bvalues[b], "the gradient of hvp in {:?}", case);
    }
    prop_assume!(
        hv.iter()
            .all(|&h| raw[h].iter().all(|v| v.is_finite() && v.abs() < 1e6))
    );
    let mut roots = vec![output];
    roots.extend(&hgrad);
    roots.extend(&hv);
    let (sg, sroots) = simplify(&hg, &roots);
    let simple = eval(&sg, &hargs).map_err(TestCaseError::fail)?;
    let n = hv.len();
    for k in 0..n {
        for (i, (&s, &u)) in simple[sroots[1 + n + k]]
            .iter()
            .zip(&raw[hv[k]])
            .enumerate()
        {
            prop_assert!(
                close(s, u, 1e-12),
                "H v of {}[{}] is {} simplified, {} before, in {:?}",
                g.args[k].0,
                i,
                s,
                u,
                case
            );
        }
    }

    // The gradient, flat, at `point + t dir`.
    let gradient_at = |t: f64| -> Option<Vec<f64>> {
        let moved: Vec<f64> = point.iter().zip(dir).map(|(p, d)| p + t * d).collect();
        let v = eval(&bg, &split_args(&moved)).ok()?;
        Some(grad.iter().flat_map(|&a| v[a].clone()).collect())
    };
    let along = |h: f64| -> Option<(Vec<f64>, f64)> {
        let (up, down) = (gradient_at(h)?, gradient_at(-h)?);
        let size = up.iter().chain(&down).fold(0.0f64, |m, e| m.max(e.abs()));
        let d = up
            .iter()
            .zip(&down)
            .map(|(u, w)| (u - w) / (2.0 * h))
            .collect();
        Some((d, 64.0 * f64::EPSILON * size / h))
    };
    let h = 1e-5;
    let (Some((d1, _)), Some((d2, noise))) = (along(h), along(h / 2.0)) else {
        return Err(TestCaseError::reject("not finite a step away"));
    };
    let analytic: Vec<f64> = (0..n)
        .flat_map(|k| simple[sroots[1 + n + k]].clone())
        .collect();
    for (i, ((&a, &b), &got)) in d1.iter().zip(&d2).zip(&analytic).enumerate() {
        prop_assume!(a.is_finite() && b.is_finite());
        prop_assume!(close(a, b, 1e-6), "differences at h and h/2 disagree");
        let numeric = (4.0 * b - a) / 3.0;
        let slack = 4.0 * (a - b).abs() + noise;
        prop_assert!(
            (got - numeric).abs() <= 1e-6 * got.abs().max(numeric.abs()).max(1.0) + slack,
            "(H v)[{}] is {} by the rules, {} by finite differences, at {:?} along {:?}, in {:?}",
            i,
            got,
            numeric,
            point,
            dir,
            case
        );
    }
    // The ops the second sweep went through: the forward ones and those
    // of the first derivatives.
    let mut used = ops_used(g, output);
    for node in &bg.nodes[g.nodes.len()..] {
        if let Op::Apply(p, _) = &node.op
            && !used.contains(p)
        {
            used.push(*p);
        }
    }
    Ok(used)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3_000,
        max_global_rejects: 1_000_000,
        max_local_rejects: 1_000_000,
        ..ProptestConfig::default()
    })]

    /// Random expressions: `H v` matches central differences of the
    /// gradient, and simplification keeps it.
    #[test]
    fn hessian_vector_products_match_finite_differences(
        case in case(),
        point in prop::collection::vec(-2.0f64..2.0, ARG_LEN),
        dir in prop::collection::vec(-1.0f64..1.0, ARG_LEN),
    ) {
        check_hvp(&case, &point, &dir)?;
    }
}

/// Every op of the registry is differentiated twice in checked cases: in
/// the forward graph, or built by a first derivative (the selects,
/// `nan_or`, the safe products, `matvec_t`, `matmul_nt`, `first_eq`, ...).
#[test]
fn every_op_is_checked_to_second_order() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (
        case(),
        prop::collection::vec(-2.0f64..2.0, ARG_LEN),
        prop::collection::vec(-1.0f64..1.0, ARG_LEN),
    );
    let mut checked = std::collections::HashMap::<Prim, usize>::new();
    let mut passed = 0;
    for _ in 0..4000 {
        let (case, point, dir) = strategy.new_tree(&mut runner).unwrap().current();
        match check_hvp(&case, &point, &dir) {
            Ok(used) => {
                passed += 1;
                for p in used {
                    *checked.entry(p).or_default() += 1;
                }
            }
            Err(TestCaseError::Reject(_)) => {}
            Err(TestCaseError::Fail(why)) => panic!("{why}"),
        }
    }
    assert!(passed >= 1000, "only {passed} of 4000 cases checked");
    let rare: Vec<String> = Prim::ALL
        .iter()
        .map(|p| (p.def().name, checked.get(p).copied().unwrap_or_default()))
        .filter(|(_, n)| *n < 3)
        .map(|(name, n)| format!("{name}: checked {n}"))
        .collect();
    assert!(
        rare.is_empty(),
        "ops rarely checked to second order: {rare:#?}"
    );
}

/// The Hessian-vector product of `x² y`, by hand.
#[test]
fn hessian_vector_of_x2y() {
    let mut g = graph("x y");
    let y = g.parse("(* (* x x) y)").unwrap();
    let (_, hv) = hessian_vector(&mut g, y).unwrap();
    for (x, w, vx, vw) in [(1.5, -2.0, 0.5, 1.0), (-0.25, 3.0, -1.0, 2.0)] {
        let values = eval(&g, &[vec![x], vec![w], vec![vx], vec![vw]]).unwrap();
        assert_eq!(values[hv[0]], vec![2.0 * w * vx + 2.0 * x * vw]);
        assert_eq!(values[hv[1]], vec![2.0 * x * vx]);
    }
}

/// Negative and zero integer powers on the IR, which the surface language
/// can now spell too (see `negative_powi_exponents_expand`).
#[test]
fn integer_powers_on_the_ir() {
    for n in [-4, -3, -2, -1, 0, 1, 2, 3, 5] {
        let mut g = graph("x");
        let x = g.arg(0);
        let e = g.konst(f64::from(n));
        let y = g.apply(Prim::Powi, &[x, e]);
        let one = g.konst(1.0);
        let adj = differentiate(&mut g, y, one).unwrap();
        let (s, roots) = simplify(&g, &adj);
        for x in [-2.5, -1.1, -0.4, 0.3, 0.9, 1.7, 3.2] {
            let got = eval(&s, &[vec![x]]).unwrap()[roots[0]][0];
            let want = if n == 0 {
                0.0
            } else {
                f64::from(n) * f64::powi(x, n - 1)
            };
            assert!(
                close(got, want, 1e-14),
                "d/dx x^{n} at {x}: {got}, expected {want}"
            );
            let h = 1e-6;
            let numeric = (f64::powi(x + h, n) - f64::powi(x - h, n)) / (2.0 * h);
            assert!(
                close(got, numeric, 1e-6),
                "d/dx x^{n} at {x}: {got}, finite differences {numeric}"
            );
        }
    }
}

/// The most negative exponent has no `n - 1`; its derivative must still be
/// built without overflow.
#[test]
fn extreme_integer_powers_do_not_overflow() {
    for n in [i32::MIN, i32::MAX] {
        let mut g = graph("x");
        let x = g.arg(0);
        let e = g.konst(f64::from(n));
        let y = g.apply(Prim::Powi, &[x, e]);
        let one = g.konst(1.0);
        let adj = catch_unwind(AssertUnwindSafe(|| differentiate(&mut g.clone(), y, one)));
        assert!(
            matches!(adj, Ok(Ok(_))),
            "differentiating powi(x, {n}) panicked or failed"
        );
        let adj = differentiate(&mut g, y, one).unwrap();
        // At x = 1 every power is 1 and its derivative is n.
        let got = eval(&g, &[vec![1.0]]).unwrap()[adj[0]][0];
        assert_eq!(got, f64::from(n), "d/dx x^{n} at 1");
    }
}

// ---------------------------------------------------------------------------
// Random token streams.

/// Identifiers the fuzzer draws from: the library's names, keywords, types
/// and plain names.
const IDENTS: &[&str] = &[
    "fn",
    "let",
    "pub",
    "mut",
    "self",
    "crate",
    "super",
    "if",
    "else",
    "for",
    "in",
    "while",
    "loop",
    "match",
    "return",
    "const",
    "async",
    "unsafe",
    "extern",
    "where",
    "impl",
    "dyn",
    "move",
    "ref",
    "as",
    "mod",
    "use",
    "struct",
    "f64",
    "f32",
    "T",
    "U",
    "Real",
    "Copy",
    "usize",
    "i32",
    "Vec",
    "Option",
    "param",
    "neuron",
    "gradcheck",
    "x",
    "w",
    "b",
    "h",
    "z",
    "dy",
    "Grad",
    "Model",
    "SOURCE",
    "i",
    "j",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "exp",
    "ln",
    "sqrt",
    "powi",
    "powf",
    "abs",
    "max",
    "min",
    "softplus",
    "square",
    "dot",
    "sum",
    "matvec",
    "softmax",
    "log_softmax",
    "sin",
    "cos",
    "atan",
    "silu",
    "gelu",
    "elu",
    "softsign",
    "clamp",
    "log_sigmoid",
    "mean",
    "logsumexp",
    "norm",
    "transpose",
    "matmul",
    "outer",
    "std",
    "core",
    "consts",
    "PI",
    "layer",
    "unit",
    "_",
];

/// Literals, including ones at and past the limits of their types.
const LITERALS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "7",
    "1.5",
    "0.0",
    "2.5e-3",
    "1e308",
    "1e400",
    "1e-400",
    "99999999999999999999",
    "18446744073709551615",
    "4294967296",
    "2147483647",
    "2147483648",
    "1f64",
    "1.0f32",
    "2usize",
    "3i32",
    "255u8",
    "0x10",
    "0b101",
    "1_000",
    "\"text\"",
    "'c'",
    "b'x'",
    "b\"bytes\"",
    "1.7976931348623157e308",
];

const PUNCTS: &[char] = &[
    '+', '-', '*', '/', '%', ';', ':', ',', '.', '#', '!', '=', '<', '>', '&', '|', '^', '?', '@',
    '~', '$',
];

const DELIMITERS: [Delimiter; 4] = [
    Delimiter::Parenthesis,
    Delimiter::Bracket,
    Delimiter::Brace,
    Delimiter::None,
];

/// A token tree as the fuzzer builds it.
#[derive(Clone, Debug)]
enum Tok {
    Ident(&'static str),
    Lit(&'static str),
    Punct(char, bool),
    Group(usize, Vec<Tok>),
    /// A piece of the language, such as `relu(x)` or `#[param] w: [f64; 3]`.
    Piece(&'static str),
}

/// Well-formed fragments, so that random streams reach past the parser.
const PIECES: &[&str] = &[
    "fn f(x: f64) -> f64 { x }",
    "#[param]",
    "x: [f64; 3]",
    "#[param] w: [[f64; 3]; 2]",
    "b: f64",
    "-> [f64; 2]",
    "-> f64",
    "let h = tanh(matvec(w, x) + b);",
    "let h: [f64; 4] = layer(w, x, b);",
    "relu(dot(w, x) + b)",
    "x[0] * w[1]",
    "powi(x, 2)",
    "x.powi(-2)",
    "x.max(0)",
    "softmax(h)",
    "log_softmax([a, b, c])",
    "sum(x)",
    "leaky_relu(x, 0.1)",
    "powf(x, y)",
    "[1e400, 2]",
    "<T: Real>",
    "[f64; 0]",
    "[[[f64; 2]; 2]; 2]",
    "[[f64; 18446744073709551615]; 18446744073709551615]",
    "[f64; 4294967296]",
    "x[18446744073709551615]",
    "powi(x, 2147483648)",
    "std::f64::consts::PI",
    "f32::consts::E",
    "core::f64::consts::PIE",
    "clamp(x, 0.0, 6.0)",
    "x.max()",
    "matmul(w, transpose(w))",
    "norm(x) + logsumexp(x) - mean(x)",
];

fn tok() -> impl Strategy<Value = Tok> {
    let leaf = prop_oneof![
        3 => prop::sample::select(IDENTS).prop_map(Tok::Ident),
        2 => prop::sample::select(LITERALS).prop_map(Tok::Lit),
        2 => (prop::sample::select(PUNCTS), any::<bool>()).prop_map(|(c, joint)| Tok::Punct(c, joint)),
        2 => prop::sample::select(PIECES).prop_map(Tok::Piece),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        (0..DELIMITERS.len(), prop::collection::vec(inner, 0..8))
            .prop_map(|(d, v)| Tok::Group(d, v))
    })
}

fn to_tokens(toks: &[Tok]) -> TokenStream {
    let mut out = TokenStream::new();
    for t in toks {
        match t {
            Tok::Ident(name) => out.extend([TokenTree::Ident(Ident::new(name, Span::call_site()))]),
            Tok::Lit(text) | Tok::Piece(text) => out.extend(text.parse::<TokenStream>().unwrap()),
            Tok::Punct(c, joint) => {
                let spacing = if *joint {
                    Spacing::Joint
                } else {
                    Spacing::Alone
                };
                out.extend([TokenTree::Punct(Punct::new(*c, spacing))]);
            }
            Tok::Group(d, inner) => out.extend([TokenTree::Group(Group::new(
                DELIMITERS[*d],
                to_tokens(inner),
            ))]),
        }
    }
    out
}

/// Runs the macro on `attr` and `item`: it must return, and its output must
/// parse as Rust items (the error path emits `compile_error!` and stubs).
fn expands_without_panicking(attr: TokenStream, item: TokenStream) -> Result<(), TestCaseError> {
    let text = item.to_string();
    let out = catch_unwind(AssertUnwindSafe(|| expand(attr, item)));
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            return Err(TestCaseError::fail(format!(
                "the macro panicked ({why}) on: {text}"
            )));
        }
    };
    prop_assert!(
        syn::parse2::<syn::File>(out.clone()).is_ok(),
        "output does not parse: {out}\ninput: {text}"
    );
    Ok(())
}

/// Valid functions, to be mutated.
const VALID: &[&str] = &[
    "pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
        relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
    }",
    "pub fn net(x: [f64; 2], #[param] w1: [[f64; 2]; 4], #[param] b1: [f64; 4], #[param] w2: [[f64; 4]; 3]) -> [f64; 3] {
        let h = tanh(matvec(w1, x) + b1);
        let z = matvec(w2, h) * 2.0;
        log_softmax(z - sum(z) / 3)
    }",
    "fn mix<T: Real>(a: T, b: T) -> T {
        let s = a.max(b) - min(a, 0.5);
        powi(s, 3) + powf(softplus(a), b) / sqrt(square(b) + 1) + leaky_relu(s, 0.1) - abs(a).exp().ln()
    }",
    "fn chained(x: [f32; 3], #[param] w: [[f32; 3]; 4], #[param] b: [f32; 4]) -> f32 {
        let h: [f32; 4] = layer1(w, x, b);
        sigmoid(dot(h, h)) + softmax([h[0], h[1], -x[2]])[1] + b[0] * w[0][0]
    }",
    "fn acts(x: [f64; 3], #[param] w: [[f64; 3]; 3], a: f64) -> f64 {
        let h = gelu(matvec(matmul(w, transpose(w)), x)) + clamp(x, -1, a);
        logsumexp(h) + norm(w) * mean(h) - h.max() + min(h) + sin(a).atan() + elu(a, 0.5)
            + std::f64::consts::PI * softsign(a) + log_sigmoid(a) * silu(a) + cos(a) + sum(outer(x, x))
    }",
    "pub fn dense<T: Real, const I: usize, const O: usize>(x: [T; I], #[param] w: [[T; I]; O], #[param] b: [T; O]) -> [T; O] {
        let h = tanh(matvec(w, x) + b);
        softmax(h) * max(h) + dot(x, x) + x[0]
    }",
    "fn raw<const r#in: usize>(r#x: [f64; r#in], #[param] w: [[f64; r#in]; 2]) -> f64 {
        logsumexp(matvec(w, r#x)) + min(r#x) + sum(r#x) / 2.0
    }",
];

#[derive(Clone, Copy, Debug)]
enum Mutation {
    Delete,
    Duplicate,
    Swap,
    Replace(usize),
}

/// Applies `m` at the `target`-th token (in pre-order, groups included).
fn mutate(ts: TokenStream, target: &mut usize, m: Mutation, pool: &[TokenTree]) -> TokenStream {
    let mut out: Vec<TokenTree> = ts.into_iter().collect();
    let mut i = 0;
    while i < out.len() {
        if *target == 0 {
            match m {
                Mutation::Delete => {
                    out.remove(i);
                }
                Mutation::Duplicate => out.insert(i, out[i].clone()),
                Mutation::Swap if i + 1 < out.len() => out.swap(i, i + 1),
                Mutation::Swap => {
                    out.remove(i);
                }
                Mutation::Replace(k) => out[i] = pool[k % pool.len()].clone(),
            }
            *target = usize::MAX;
            break;
        }
        *target -= 1;
        if let TokenTree::Group(g) = &out[i] {
            let inner = mutate(g.stream(), target, m, pool);
            out[i] = TokenTree::Group(Group::new(g.delimiter(), inner));
            if *target == usize::MAX {
                break;
            }
        }
        i += 1;
    }
    out.into_iter().collect()
}

fn count(ts: &TokenStream) -> usize {
    ts.clone()
        .into_iter()
        .map(|t| match t {
            TokenTree::Group(g) => 1 + count(&g.stream()),
            _ => 1,
        })
        .sum()
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Delete),
        Just(Mutation::Duplicate),
        Just(Mutation::Swap),
        any::<usize>().prop_map(Mutation::Replace),
    ]
}

/// Single tokens to put in place of others.
fn replacement_pool() -> Vec<TokenTree> {
    let mut pool: Vec<TokenTree> = IDENTS
        .iter()
        .map(|n| TokenTree::Ident(Ident::new(n, Span::call_site())))
        .collect();
    // Raw identifiers, a keyword among them: as names of arguments,
    // bindings and lengths they reach every place a name is written back.
    pool.extend(
        ["in", "x", "N", "match"]
            .iter()
            .map(|n| TokenTree::Ident(Ident::new_raw(n, Span::call_site()))),
    );
    for l in LITERALS {
        pool.extend(l.parse::<TokenStream>().unwrap());
    }
    pool.extend(
        PUNCTS
            .iter()
            .map(|c| TokenTree::Punct(Punct::new(*c, Spacing::Alone))),
    );
    pool
}

/// Cases per fuzzing test: 3,000 in a normal run, `NEURON_FUZZ_CASES` to
/// fuzz longer (`NEURON_FUZZ_CASES=100000 cargo test --release -p
/// neuron-macros --lib never_panic`).
fn fuzz_cases() -> u32 {
    const DEFAULT: u32 = 3000;
    match std::env::var("NEURON_FUZZ_CASES") {
        Ok(text) => text
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|e| panic!("NEURON_FUZZ_CASES={text:?} is not a count: {e}")),
        Err(_) => DEFAULT,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases()))]

    /// Random token streams, as the item and as the attribute.
    #[test]
    fn random_tokens_never_panic(
        item in prop::collection::vec(tok(), 0..24),
        attr in prop::collection::vec(tok(), 0..3),
    ) {
        expands_without_panicking(to_tokens(&attr), to_tokens(&item))?;
        // The same tokens after `fn name(x: f64) -> f64`, so the body parser sees them.
        let mut wrapped: TokenStream = "fn f(x: f64, #[param] w: [f64; 3]) -> f64".parse().unwrap();
        wrapped.extend([TokenTree::Group(Group::new(Delimiter::Brace, to_tokens(&item)))]);
        expands_without_panicking(TokenStream::new(), wrapped)?;
    }

    /// Valid functions with a few tokens deleted, duplicated, swapped or replaced.
    #[test]
    fn mutated_functions_never_panic(
        which in 0..VALID.len(),
        edits in prop::collection::vec((any::<usize>(), mutation()), 1..4),
    ) {
        let pool = replacement_pool();
        let mut item: TokenStream = VALID[which].parse().unwrap();
        for (at, m) in edits {
            let mut target = at % count(&item).max(1);
            item = mutate(item, &mut target, m, &pool);
        }
        expands_without_panicking(TokenStream::new(), item)?;
    }
}

#[test]
fn the_valid_functions_expand() {
    for text in VALID {
        let out = neuron(TokenStream::new(), text.parse().unwrap());
        assert!(
            out.is_ok(),
            "{text}: {:?}",
            out.err().map(|e| e.to_string())
        );
    }
}

/// `powi(x, -2)` and `x.powi(-2)` expand: `-2` is an integer literal.
#[test]
fn negative_powi_exponents_expand() {
    for text in [
        "fn f(x: f64) -> f64 { powi(x, -2) }",
        "fn f(x: f64) -> f64 { x.powi(-2) }",
    ] {
        let out = neuron(TokenStream::new(), text.parse().unwrap());
        assert!(
            out.is_ok(),
            "{text}: {}",
            out.err().map(|e| e.to_string()).unwrap_or_default()
        );
    }
}

/// Arrays whose element count is huge (or overflows `usize`) are an error
/// at the type, not an arithmetic overflow inside the macro.
#[test]
fn huge_array_types_are_errors() {
    for text in [
        "fn f(m: [[f64; 18446744073709551615]; 18446744073709551615]) -> f64 { sum(m) }",
        "fn f(#[param] m: [[f64; 4294967296]; 4294967296]) -> f64 { sum(m) }",
        "pub fn unit(x: [f64; 18446744073709551615], #[param] w: [f64; 3], #[param] b: f64) -> f64 { \
         relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b) }",
        "fn f(x: [f64; 2]) -> [f64; 18446744073709551615] { x }",
    ] {
        let out = catch_unwind(AssertUnwindSafe(|| {
            neuron(TokenStream::new(), text.parse().unwrap())
        }));
        let message = match out {
            Ok(Err(e)) => e.to_string(),
            Ok(Ok(_)) => panic!("{text}: expanded"),
            Err(_) => panic!("{text}: the macro panicked"),
        };
        assert!(message.contains("too large"), "{text}: {message}");
    }
}

/// Runs the macro on `text` in a child process (this test binary, running
/// only [`expand_in_child`]), because a stack overflow aborts the process
/// and cannot be caught; returns whether the child exited cleanly.
fn expands_in_child(text: &str) -> bool {
    let exe = std::env::current_exe().unwrap();
    std::process::Command::new(exe)
        .args(["--exact", "proptests::expand_in_child", "--test-threads=1"])
        .env("NEURON_EXPAND_CHILD", text)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The child side of [`expands_in_child`]; does nothing in a normal run.
#[test]
fn expand_in_child() {
    if let Ok(text) = std::env::var("NEURON_EXPAND_CHILD") {
        let _ = expand(TokenStream::new(), text.parse().unwrap());
    }
}

/// Calling another `#[neuron]` with scalar arguments expands (its partials
/// for scalar arguments are read off the callee's tuple like any other).
/// Run in a child process, so that a regression to unbounded recursion
/// fails this test instead of aborting the whole run.
#[test]
fn scalar_arguments_of_called_neurons_expand() {
    assert!(expands_in_child(
        "fn chain(a: f64, b: f64) -> f64 { let s: f64 = inner(a, b); s * s }"
    ));
    assert!(expands_in_child(
        "fn net(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 { let h: f64 = unit(x, w, b); relu(h) }"
    ));
    assert!(expands_in_child(
        "fn net(x: [f64; 3], #[param] w: [f64; 3], #[param] b: [f64; 1]) -> f64 { let h: f64 = unit(x, w, b); relu(h) }"
    ));
}
