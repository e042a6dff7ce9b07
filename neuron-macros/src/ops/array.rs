//! The array ops: reductions, products of matrices and vectors, and the
//! normalizations. Each is one block: its names, shape rule, meaning, the
//! loops it becomes (never unrolled: the generated code does not grow with
//! the length of the arrays) and its adjoint.

use super::{
    Domain, Emit, Eval, Kind, Kink, OpDef, Param, Prim, ShapeCx, ShapeError, Spelling, all, gap,
};
use crate::emit::{LoopCx, Prec};
use crate::ir::Shape;
use proc_macro2::TokenStream;
use quote::quote;

/// Up to this many rows of fewer than [`LONG`] columns, `matvec` sweeps
/// columns in its outer loop.
const FEW_ROWS: usize = 16;

/// Reductions over at least this many elements keep [`LANES`] partial
/// sums; shorter ones (and only they) add in the written order. The
/// reductions that keep them: `dot`, each row of `matvec`, and `sum` and
/// `mean` of a vector (of a matrix, they add in row-major order).
const LONG: usize = 32;

/// The partial sums of a long reduction: element `i` goes to partial
/// `i % LANES`, the partials are added in order,
/// `p0 + p1 + p2 + … + p15`, and the last `n % LANES`
/// elements are added to that in order. The order is fixed, so the result
/// is the same on every run and machine; it differs from the written order
/// by rounding only, and the independent partial sums let the loop run at
/// the speed of the arithmetic rather than of one long dependency chain.
///
/// The partials are added in order rather than pairwise because LLVM
/// vectorizes the block loop to match the final sum's shape: after a
/// pairwise tree it packs the partials in pairs, two to a vector register
/// with shuffles, so `f32` gained nothing over `f64`; after the sum in
/// order it keeps the partials in whole registers: four of four `f32`,
/// eight of two `f64` (of the sixteen SSE registers). Sixteen partials
/// rather than eight make an `f32` layer 1.9× as fast as the `f64` one
/// instead of 1.5× (BENCHMARKS.md).
const LANES: usize = 16;

/// Whether a reduction over an array of `shape` is short enough to add in
/// the written order: a known length under [`LONG`].
fn short(shape: &[crate::ast::Dim]) -> bool {
    shape.iter().all(|d| d.fixed().is_some())
        && shape.iter().filter_map(|d| d.fixed()).product::<usize>() < LONG
}

/// `term` over `index` in `0..n` added into `place` in the documented
/// order (see [`LANES`]): the partials' declaration and their loop over
/// whole blocks, `place` set to the partials added in order (declared
/// `let mut place: ty` when `ty` is given), then the remainder added in
/// order. The block and lane indices are the op's loop indices `first`
/// and `first + 1`.
fn long_reduction(
    cx: &mut LoopCx,
    index: &proc_macro2::Ident,
    n: &TokenStream,
    term: &TokenStream,
    first: usize,
    place: &TokenStream,
    ty: Option<&TokenStream>,
) -> TokenStream {
    let (acc, block, lane) = (cx.local("lanes"), cx.index(first), cx.index(first + 1));
    let (zero, real) = (cx.zero(), cx.real());
    let lanes = proc_macro2::Literal::usize_unsuffixed(LANES);
    let sum = lane_sum(&acc);
    let set = match ty {
        Some(ty) => quote!(let mut #place: #ty = #sum;),
        None => quote!(#place = #sum;),
    };
    quote! {
        let mut #acc: [#real; #lanes] = [#zero; #lanes];
        for #block in 0..#n / #lanes {
            for #lane in 0..#lanes {
                let #index = #block * #lanes + #lane;
                #acc[#lane] += #term;
            }
        }
        #set
        for #index in #n / #lanes * #lanes..#n {
            #place += #term;
        }
    }
}

/// `p[0] + p[1] + … + p[15]`, added left to right.
fn lane_sum(p: &proc_macro2::Ident) -> TokenStream {
    let lanes = (0..LANES).map(proc_macro2::Literal::usize_unsuffixed);
    quote!(#(#p[#lanes])+*)
}

/// `dot(a, b)`: the sum of `a[i] * b[i]`.
pub const DOT: OpDef = OpDef {
    name: "dot",
    spellings: &[Spelling::both("dot")],
    params: &[Param::Real, Param::Real],
    value_name: "dot",
    shape: |cx, s| match s {
        [a, b] if a.len() == 1 && a == b => Ok(Vec::new()),
        [a, b] => Err(ShapeError::call(format!(
            "`dot` needs two vectors of the same length, found {} and {}",
            cx.ty(a),
            cx.ty(b)
        ))),
        _ => Err(arity()),
    },
    eval: Eval::Array(|x, _, _| vec![x[0].iter().zip(x[1]).map(|(a, b)| a * b).sum()]),
    kind: Kind::Array,
    reads_once: &[true, true],
    emit: Emit::Loops(|cx| {
        let (name, ty, zero, i) = (cx.name(), cx.ty(), cx.zero(), cx.index(0));
        let n = cx.len(0, 0);
        let x = cx.operand(0, std::slice::from_ref(&i), Prec::Product);
        let y = cx.operand(1, std::slice::from_ref(&i), Prec::Prefix);
        if short(cx.shape(0)) {
            return quote! {
                let mut #name: #ty = #zero;
                for #i in 0..#n {
                    #name += #x * #y;
                }
            };
        }
        long_reduction(cx, &i, &n, &quote!(#x * #y), 1, &name, Some(&ty))
    }),
    adjoint: |g, s| {
        let [a, b] = [s.operands[0], s.operands[1]];
        all([g.mul(s.d, b), g.mul(s.d, a)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[true, true],
    domain: &[Domain::Any, Domain::Any],
    doc: "`a[0] * b[0] + a[1] * b[1] + …` of two vectors",
};

/// `sum(a)`: every element of a vector or matrix added.
pub const SUM: OpDef = OpDef {
    name: "sum",
    spellings: &[Spelling::both("sum")],
    params: &[Param::Real],
    value_name: "total",
    shape: |cx, s| match s {
        [a] if a.is_empty() => Err(ShapeError::operand(
            0,
            format!("`sum` adds the elements of an array, found {}", cx.ty(a)),
        )),
        [_] => Ok(Vec::new()),
        _ => Err(arity()),
    },
    eval: Eval::Array(|x, _, _| vec![x[0].iter().sum()]),
    kind: Kind::Array,
    reads_once: &[true],
    emit: Emit::Loops(|cx| {
        let (name, ty, zero, i) = (cx.name(), cx.ty(), cx.zero(), cx.index(0));
        let m = cx.len(0, 0);
        if cx.shape(0).len() == 2 {
            let j = cx.index(1);
            let n = cx.len(0, 1);
            let x = cx.elem(0, &[i.clone(), j.clone()]).tokens;
            quote! {
                let mut #name: #ty = #zero;
                for #i in 0..#m {
                    for #j in 0..#n {
                        #name += #x;
                    }
                }
            }
        } else if short(cx.shape(0)) {
            let x = cx.elem(0, std::slice::from_ref(&i)).tokens;
            quote! {
                let mut #name: #ty = #zero;
                for #i in 0..#m {
                    #name += #x;
                }
            }
        } else {
            // A long vector keeps partial sums, as `dot` does.
            let x = cx.elem(0, std::slice::from_ref(&i)).tokens;
            long_reduction(cx, &i, &m, &x, 1, &name, Some(&ty))
        }
    }),
    adjoint: |g, s| {
        let shape = g.shape(s.operands[0]).clone();
        all([g.fill(s.d, shape)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[true],
    domain: &[Domain::Any],
    doc: "the sum of every element of an array",
};

/// `matvec(m, v)`: the matrix-vector product `m · v`.
pub const MATVEC: OpDef = OpDef {
    name: "matvec",
    spellings: &[Spelling::both("matvec")],
    params: &[Param::Real, Param::Real],
    value_name: "matvec",
    shape: |cx, s| match s {
        [m, v] if m.len() == 2 && v.len() == 1 && m[1] == v[0] => Ok(vec![m[0].clone()]),
        [m, v] => {
            let help = if m.len() == 2 {
                format!(
                    "\nhelp: a matrix with {} columns needs a vector of length {}",
                    m[1], m[1]
                )
            } else {
                String::new()
            };
            Err(ShapeError::call(format!(
                "`matvec` needs a matrix `[[T; N]; M]` and a vector `[T; N]`, found {} and {}{help}",
                cx.ty(m),
                cx.ty(v)
            )))
        }
        _ => Err(arity()),
    },
    eval: Eval::Array(|x, s, _| {
        let (rows, cols) = (s[0][0], s[0][1]);
        (0..rows)
            .map(|i| (0..cols).map(|j| x[0][i * cols + j] * x[1][j]).sum())
            .collect()
    }),
    kind: Kind::Array,
    // The vector is read once per row.
    reads_once: &[true, false],
    emit: Emit::Loops(|cx| {
        let (name, ty, i, j) = (cx.name(), cx.ty(), cx.index(0), cx.index(1));
        let (rows, cols) = (cx.len(0, 0), cx.len(0, 1));
        let a = cx.operand(0, &[i.clone(), j.clone()], Prec::Product);
        let x = cx.operand(1, std::slice::from_ref(&j), Prec::Prefix);
        let init = cx.zeros();
        // Short rows add in the written order. Each row's sum runs over
        // `j` in order either way, so both loop orders round alike; with
        // few rows, sweeping columns outermost keeps one running sum per
        // row in flight at once instead of one long chain of dependent
        // additions. Long rows keep partial sums however many rows there
        // are, so a layer rounds alike at every size it is used at, its
        // lengths written or generic.
        let short_rows = short(&cx.shape(0)[1..]);
        if short_rows && cx.shape(0)[0].fixed().is_some_and(|rows| rows <= FEW_ROWS) {
            quote! {
                let mut #name: #ty = #init;
                for #j in 0..#cols {
                    for #i in 0..#rows {
                        #name[#i] += #a * #x;
                    }
                }
            }
        } else if short_rows {
            quote! {
                let mut #name: #ty = #init;
                for #i in 0..#rows {
                    for #j in 0..#cols {
                        #name[#i] += #a * #x;
                    }
                }
            }
        } else {
            // Long rows: each row's dot product keeps partial sums, as
            // `dot` does.
            let row = long_reduction(cx, &j, &cols, &quote!(#a * #x), 2, &quote!(#name[#i]), None);
            quote! {
                let mut #name: #ty = #init;
                for #i in 0..#rows {
                    #row
                }
            }
        }
    }),
    // y = m v: dm = d ⊗ v, dv = mᵀ d.
    adjoint: |g, s| {
        let [m, v] = [s.operands[0], s.operands[1]];
        all([
            g.apply(Prim::Outer, &[s.d, v]),
            g.apply(Prim::MatTVec, &[m, s.d]),
        ])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[true, true],
    domain: &[Domain::Any, Domain::Any],
    doc: "the matrix-vector product `m · v`",
};

/// `mᵀ · u`: the adjoint of `matvec` in its vector.
pub const MATTVEC: OpDef = OpDef {
    name: "matvec_t",
    spellings: &[],
    params: &[Param::Real, Param::Real],
    value_name: "matvec_t",
    shape: |cx, s| match s {
        [m, u] if m.len() == 2 && u.len() == 1 && m[0] == u[0] => Ok(vec![m[1].clone()]),
        [m, u] => Err(ShapeError::call(format!(
            "`matvec_t` needs a matrix `[[T; N]; M]` and a vector `[T; M]`, found {} and {}",
            cx.ty(m),
            cx.ty(u)
        ))),
        _ => Err(arity()),
    },
    eval: Eval::Array(|x, s, _| {
        let (rows, cols) = (s[0][0], s[0][1]);
        (0..cols)
            .map(|j| (0..rows).map(|i| x[0][i * cols + j] * x[1][i]).sum())
            .collect()
    }),
    kind: Kind::Array,
    reads_once: &[true, false],
    emit: Emit::Loops(|cx| {
        let (name, ty, i, j) = (cx.name(), cx.ty(), cx.index(0), cx.index(1));
        let (rows, cols) = (cx.len(0, 0), cx.len(0, 1));
        let a = cx.operand(0, &[i.clone(), j.clone()], Prec::Product);
        let x = cx.operand(1, std::slice::from_ref(&i), Prec::Prefix);
        let init = cx.zeros();
        quote! {
            let mut #name: #ty = #init;
            for #i in 0..#rows {
                for #j in 0..#cols {
                    #name[#j] += #a * #x;
                }
            }
        }
    }),
    // y = mᵀ u: dm = u ⊗ d, du = m d.
    adjoint: |g, s| {
        let [m, u] = [s.operands[0], s.operands[1]];
        all([
            g.apply(Prim::Outer, &[u, s.d]),
            g.apply(Prim::MatVec, &[m, s.d]),
        ])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[true, true],
    domain: &[Domain::Any, Domain::Any],
    doc: "`mᵀ · u`, built by derivatives",
};

/// `outer(a, b) = a ⊗ b`: the matrix of `a[i] * b[j]`.
pub const OUTER: OpDef = OpDef {
    name: "outer",
    spellings: &[Spelling::both("outer")],
    params: &[Param::Real, Param::Real],
    value_name: "outer",
    shape: |cx, s| match s {
        [a, b] if a.len() == 1 && b.len() == 1 => Ok(vec![a[0].clone(), b[0].clone()]),
        [a, b] => Err(ShapeError::call(format!(
            "`outer` needs two vectors, found {} and {}",
            cx.ty(a),
            cx.ty(b)
        ))),
        _ => Err(arity()),
    },
    eval: Eval::Array(|x, _, out| {
        let n = out[1];
        (0..out[0] * n).map(|k| x[0][k / n] * x[1][k % n]).collect()
    }),
    kind: Kind::Outer,
    reads_once: &[],
    emit: Emit::Infix("*", Prec::Product),
    // y = a ⊗ b: da = d b, db = dᵀ a.
    adjoint: |g, s| {
        let [a, b] = [s.operands[0], s.operands[1]];
        all([
            g.apply(Prim::MatVec, &[s.d, b]),
            g.apply(Prim::MatTVec, &[s.d, a]),
        ])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[true, true],
    domain: &[Domain::Any, Domain::Any],
    doc: "the matrix of `a[i] * b[j]` of two vectors `a`, `b`",
};

/// `softmax(v)`: `exp(v[i]) / Σ exp(v)`, shifted by the maximum so that no
/// exponential overflows.
pub const SOFTMAX: OpDef = OpDef {
    name: "softmax",
    spellings: &[Spelling::both("softmax")],
    params: &[Param::Real],
    value_name: "softmax",
    shape: vector_to_vector,
    eval: Eval::Array(|x, _, _| {
        let max = x[0].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = x[0].iter().map(|xi| (xi - max).exp()).collect();
        let total: f64 = e.iter().sum();
        e.iter().map(|ei| ei / total).collect()
    }),
    kind: Kind::Array,
    reads_once: &[false],
    emit: Emit::Loops(|cx| {
        let (name, ty, zero, i) = (cx.name(), cx.ty(), cx.zero(), cx.index(0));
        let n = cx.len(0, 0);
        let x = cx.place(0);
        let (max, exp, total) = (cx.local("max"), cx.local("exp"), cx.local("total"));
        let max_loop = max_loop(&max, &x, &i, &n);
        quote! {
            #max_loop
            let #exp: #ty = ::core::array::from_fn(|#i| (#x[#i] - #max).exp());
            let mut #total = #zero;
            for #i in 0..#n {
                #total += #exp[#i];
            }
            let #name: #ty = ::core::array::from_fn(|#i| #exp[#i] / #total);
        }
    }),
    // s = softmax(v): dv = s (d - d·s).
    adjoint: |g, s| {
        let ds = g.apply(Prim::Dot, &[s.d, s.y]);
        let centered = g.sub(s.d, ds);
        all([g.mul(s.y, centered)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false],
    domain: &[Domain::Any],
    doc: "`exp(v[i]) / Σ exp(v)`, shifted by the maximum",
};

/// `log_softmax(v)`: `v[i] - ln Σ exp(v)`, shifted by the maximum.
pub const LOG_SOFTMAX: OpDef = OpDef {
    name: "log_softmax",
    spellings: &[Spelling::both("log_softmax")],
    params: &[Param::Real],
    value_name: "log_softmax",
    shape: vector_to_vector,
    eval: Eval::Array(|x, _, _| {
        let max = x[0].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_total = x[0].iter().map(|xi| (xi - max).exp()).sum::<f64>().ln();
        x[0].iter().map(|xi| xi - max - log_total).collect()
    }),
    kind: Kind::Array,
    reads_once: &[false],
    emit: Emit::Loops(|cx| {
        let (name, ty, zero, i) = (cx.name(), cx.ty(), cx.zero(), cx.index(0));
        let n = cx.len(0, 0);
        let x = cx.place(0);
        let (max, total, log_total) = (cx.local("max"), cx.local("total"), cx.local("log_total"));
        let max_loop = max_loop(&max, &x, &i, &n);
        quote! {
            #max_loop
            let mut #total = #zero;
            for #i in 0..#n {
                #total += (#x[#i] - #max).exp();
            }
            let #log_total = #total.ln();
            let #name: #ty = ::core::array::from_fn(|#i| #x[#i] - #max - #log_total);
        }
    }),
    // l = log_softmax(v): dv = d - exp(l) Σd.
    adjoint: |g, s| {
        let e = g.apply(Prim::Exp, &[s.y]);
        let total = g.apply(Prim::Sum, &[s.d]);
        let spread = g.mul(e, total);
        all([g.sub(s.d, spread)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false],
    domain: &[Domain::Any],
    doc: "`v[i] - ln Σ exp(v)`, shifted by the maximum",
};

/// `mean(a)`: the sum of every element of a vector or matrix over their
/// number.
pub const MEAN: OpDef = OpDef {
    name: "mean",
    spellings: &[Spelling::both("mean")],
    params: &[Param::Real],
    value_name: "mean",
    shape: reduction,
    eval: Eval::Array(|x, _, _| vec![x[0].iter().sum::<f64>() / x[0].len() as f64]),
    kind: Kind::Array,
    reads_once: &[true],
    emit: Emit::Loops(|cx| {
        let (name, zero, total) = (cx.name(), cx.zero(), cx.local("total"));
        let n = cx.count(0);
        if cx.shape(0).len() == 1 && !short(cx.shape(0)) {
            // A long vector keeps partial sums, as `sum` does.
            let (i, len) = (cx.index(0), cx.len(0, 0));
            let x = cx.elem(0, std::slice::from_ref(&i)).tokens;
            let real = cx.real();
            let total_sum = long_reduction(cx, &i, &len, &x, 1, &quote!(#total), Some(&real));
            return quote! {
                #total_sum
                let #name = #total / #n;
            };
        }
        let add = each(cx, 0, |x, _| quote!(#total += #x;));
        quote! {
            let mut #total = #zero;
            #add
            let #name = #total / #n;
        }
    }),
    adjoint: |g, s| {
        let shape = g.shape(s.operands[0]).clone();
        let n = g.count(shape.clone());
        let share = g.div(s.d, n);
        all([g.fill(share, shape)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[true],
    domain: &[Domain::Any],
    doc: "the mean of every element of an array",
};

/// `logsumexp(v)`: `ln Σ exp(v)`, shifted by the maximum so that no
/// exponential overflows.
pub const LOGSUMEXP: OpDef = OpDef {
    name: "logsumexp",
    spellings: &[Spelling::both("logsumexp")],
    params: &[Param::Real],
    value_name: "logsumexp",
    shape: vector_to_scalar,
    eval: Eval::Array(|x, _, _| {
        let max = x[0].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let shift = if max.is_finite() { max } else { 0.0 };
        vec![shift + x[0].iter().map(|xi| (xi - shift).exp()).sum::<f64>().ln()]
    }),
    kind: Kind::Array,
    reads_once: &[false],
    emit: Emit::Loops(|cx| {
        let (name, zero, i) = (cx.name(), cx.zero(), cx.index(0));
        let n = cx.len(0, 0);
        let x = cx.place(0);
        let (max, shift, total) = (cx.local("max"), cx.local("shift"), cx.local("total"));
        let max_loop = max_loop(&max, &x, &i, &n);
        // An infinite maximum is no shift: `inf - inf` would be NaN.
        quote! {
            #max_loop
            let #shift = if #max.is_finite() { #max } else { #zero };
            let mut #total = #zero;
            for #i in 0..#n {
                #total += (#x[#i] - #shift).exp();
            }
            let #name = #shift + #total.ln();
        }
    }),
    // The derivative is softmax(v), computed as softmax is: `exp(v - y)`
    // from the forward value would lose the last digits of a large `y`.
    adjoint: |g, s| {
        let softmax = g.apply(Prim::Softmax, &[s.operands[0]]);
        all([g.mul(s.d, softmax)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false],
    domain: &[Domain::Any],
    doc: "`ln Σ exp(v)` of a vector, shifted by the maximum; its derivative is `softmax(v)`",
};

/// `norm(a)`: the Euclidean norm of a vector, the Frobenius norm of a
/// matrix.
pub const NORM: OpDef = OpDef {
    name: "norm",
    spellings: &[Spelling::both("norm")],
    params: &[Param::Real],
    value_name: "norm",
    shape: reduction,
    eval: Eval::Array(|x, _, _| vec![x[0].iter().map(|v| v * v).sum::<f64>().sqrt()]),
    kind: Kind::Array,
    reads_once: &[false],
    emit: Emit::Loops(|cx| {
        let (name, zero, total) = (cx.name(), cx.zero(), cx.local("total"));
        let add = each(cx, 0, |x, _| quote!(#total += #x * #x;));
        quote! {
            let mut #total = #zero;
            #add
            let #name = #total.sqrt();
        }
    }),
    // d‖v‖/dv = v / ‖v‖, and 0 at the zero vector (a subgradient), where
    // the divisor is 1 instead: `y + (if y > 0 { 0 } else { 1 })` is `y`
    // exactly where y > 0, 1 at 0, and NaN (so NaN partials) where y is.
    adjoint: |g, s| {
        let (zero, one) = (g.konst(0.0), g.konst(1.0));
        let at_zero = g.select(Prim::SelectGt, s.y, zero, zero, one);
        let divisor = g.add(s.y, at_zero);
        let scale = g.div(s.d, divisor);
        all([g.mul(s.operands[0], scale)])
    },
    repeats: &[],
    exact: false,
    kink: Kink::Custom(|x| gap(x[0].iter().map(|v| v * v).sum::<f64>().sqrt(), 0.0)),
    zero_if_zero: &[true],
    domain: &[Domain::Any],
    doc: "`sqrt(Σ a²)`: Euclidean for a vector, Frobenius for a matrix; derivative 0 at the zero array",
};

/// `max(a)`: the largest element of a vector or matrix; NaN if any is.
pub const MAX_OF: OpDef = OpDef {
    name: "max_of",
    spellings: &[Spelling::both("max")],
    params: &[Param::Real],
    value_name: "max",
    shape: reduction,
    eval: Eval::Array(|x, _, _| vec![extreme(x[0], |e, m| e > m)]),
    kind: Kind::Array,
    reads_once: &[false],
    emit: Emit::Loops(|cx| extreme_loops(cx, quote!(>))),
    // The first maximum takes the gradient.
    adjoint: |g, s| all([g.apply(Prim::FirstEq, &[s.operands[0], s.y, s.d])]),
    repeats: &[],
    exact: false,
    kink: Kink::Custom(|x| runner_up(x[0], |a, b| b.total_cmp(a))),
    zero_if_zero: &[true],
    domain: &[Domain::Any],
    doc: "the largest element of an array; the gradient goes to the first largest",
};

/// `min(a)`: the smallest element of a vector or matrix; NaN if any is.
pub const MIN_OF: OpDef = OpDef {
    name: "min_of",
    spellings: &[Spelling::both("min")],
    params: &[Param::Real],
    value_name: "min",
    shape: reduction,
    eval: Eval::Array(|x, _, _| vec![extreme(x[0], |e, m| e < m)]),
    kind: Kind::Array,
    reads_once: &[false],
    emit: Emit::Loops(|cx| extreme_loops(cx, quote!(<))),
    // The first minimum takes the gradient.
    adjoint: |g, s| all([g.apply(Prim::FirstEq, &[s.operands[0], s.y, s.d])]),
    repeats: &[],
    exact: false,
    kink: Kink::Custom(|x| runner_up(x[0], f64::total_cmp)),
    zero_if_zero: &[true],
    domain: &[Domain::Any],
    doc: "the smallest element of an array; the gradient goes to the first smallest",
};

/// `first_eq(a, y, d)`: an array shaped like `a`, zero but for `d` at the
/// first element equal to `y`, or NaN at the first NaN element when `y` is
/// NaN. The adjoint of `max(a)` and `min(a)`.
pub const FIRST_EQ: OpDef = OpDef {
    name: "first_eq",
    spellings: &[],
    params: &[Param::Real, Param::Real, Param::Real],
    value_name: "first_eq",
    shape: |cx, s| match s {
        [a, y, d] if !a.is_empty() && y.is_empty() && d.is_empty() => Ok(a.clone()),
        [a, y, d] => Err(ShapeError::call(format!(
            "`first_eq` needs an array and two reals, found {}, {} and {}",
            cx.ty(a),
            cx.ty(y),
            cx.ty(d)
        ))),
        _ => Err(arity()),
    },
    eval: Eval::Array(|x, _, _| {
        let (a, y, d) = (x[0], x[1][0], x[2][0]);
        let mut out = vec![0.0; a.len()];
        if let Some(k) = a.iter().position(|&e| e == y || e.is_nan()) {
            out[k] = if y.is_nan() { y } else { d };
        }
        out
    }),
    kind: Kind::Array,
    reads_once: &[false, false, false],
    emit: Emit::Loops(|cx| {
        let (name, ty, init) = (cx.name(), cx.ty(), cx.zeros());
        let y = cx.operand(1, &[], Prec::Atom);
        let d = cx.elem(2, &[]).tokens;
        let label = cx.local("found");
        let label = syn::Lifetime::new(&format!("'{label}"), label.span());
        let set = each(cx, 0, |x, at| {
            quote! {
                if #x == #y || #x.is_nan() {
                    #name #at = if #y.is_nan() { #y } else { #d };
                    break #label;
                }
            }
        });
        quote! {
            let mut #name: #ty = #init;
            #label: {
                #set
            }
        }
    }),
    // Piecewise constant in `a` and `y`; linear in `d`.
    adjoint: |g, s| {
        let [a, y] = [s.operands[0], s.operands[1]];
        let one = g.konst(1.0);
        let mask = g.apply(Prim::FirstEq, &[a, y, one]);
        let picked = g.mul(s.d, mask);
        vec![None, None, Some(g.apply(Prim::Sum, &[picked]))]
    },
    // An element that equals `y` exactly stays equal (`y` is `max(a)`);
    // one merely close to it may cross it.
    repeats: &[],
    exact: false,
    kink: Kink::Custom(|x| {
        x[0].iter()
            .map(|&e| gap(e, x[1][0]))
            .filter(|&m| m > 0.0)
            .fold(f64::INFINITY, f64::min)
    }),
    zero_if_zero: &[false, false, false],
    domain: &[Domain::Any; 3],
    doc: "`d` at the first element of `a` equal to `y`, zero elsewhere, built by derivatives",
};

/// `transpose(m)`: `[[T; N]; M]` to `[[T; M]; N]`.
pub const TRANSPOSE: OpDef = OpDef {
    name: "transpose",
    spellings: &[Spelling::both("transpose")],
    params: &[Param::Real],
    value_name: "transpose",
    shape: |cx, s| match s {
        [m] if m.len() == 2 => Ok(vec![m[1].clone(), m[0].clone()]),
        [m] => Err(ShapeError::operand(
            0,
            format!(
                "`{}` needs a matrix `[[T; N]; M]`, found {}",
                cx.spelling,
                cx.ty(m)
            ),
        )),
        _ => Err(arity()),
    },
    eval: Eval::Array(|x, s, _| {
        let (rows, cols) = (s[0][0], s[0][1]);
        (0..rows * cols)
            .map(|k| x[0][(k % rows) * cols + k / rows])
            .collect()
    }),
    kind: Kind::Array,
    reads_once: &[true],
    emit: Emit::Loops(|cx| {
        let (name, ty, init) = (cx.name(), cx.ty(), cx.zeros());
        let (i, j) = (cx.index(0), cx.index(1));
        let (rows, cols) = (cx.len(0, 0), cx.len(0, 1));
        let m = cx.elem(0, &[i.clone(), j.clone()]).tokens;
        quote! {
            let mut #name: #ty = #init;
            for #i in 0..#rows {
                for #j in 0..#cols {
                    #name[#j][#i] = #m;
                }
            }
        }
    }),
    adjoint: |g, s| all([g.apply(Prim::Transpose, &[s.d])]),
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[true],
    domain: &[Domain::Any],
    doc: "the transpose of a matrix",
};

/// `matmul(a, b)`: the matrix product, `[[T; K]; M]` by `[[T; N]; K]`.
pub const MATMUL: OpDef = OpDef {
    name: "matmul",
    spellings: &[Spelling::both("matmul")],
    params: &[Param::Real, Param::Real],
    value_name: "matmul",
    shape: |cx, s| match s {
        [a, b] if a.len() == 2 && b.len() == 2 && a[1] == b[0] => {
            Ok(vec![a[0].clone(), b[1].clone()])
        }
        [a, b] if a.len() == 2 && b.len() == 2 => Err(ShapeError::call(format!(
            "cannot multiply {} by {}: `{}` needs `[[T; K]; M]` and `[[T; N]; K]`, and the first has {} columns where the second has {} rows",
            cx.ty(a),
            cx.ty(b),
            cx.spelling,
            a[1],
            b[0]
        ))),
        [a, b] => {
            let k = usize::from(a.len() == 2);
            let help = if a.len() == 2 && b.len() == 1 {
                "\nhelp: for a matrix times a vector write `matvec(m, v)`"
            } else {
                ""
            };
            Err(ShapeError::operand(
                k,
                format!(
                    "`{}` multiplies two matrices, `[[T; K]; M]` by `[[T; N]; K]`, but its {} argument has type {}{help}",
                    cx.spelling,
                    ["first", "second"][k],
                    cx.ty(&s[k])
                ),
            ))
        }
        _ => Err(arity()),
    },
    eval: Eval::Array(|x, s, out| {
        product(
            x,
            out,
            s[0][1],
            |i, k| i * s[0][1] + k,
            |k, j| k * out[1] + j,
        )
    }),
    kind: Kind::Array,
    reads_once: &[false, false],
    emit: Emit::Loops(|cx| {
        let (name, ty, init) = (cx.name(), cx.ty(), cx.zeros());
        let (i, j, k) = (cx.index(0), cx.index(1), cx.index(2));
        let (m, inner, n) = (cx.len(0, 0), cx.len(0, 1), cx.len(1, 1));
        let a = cx.operand(0, &[i.clone(), k.clone()], Prec::Product);
        let b = cx.operand(1, &[k.clone(), j.clone()], Prec::Prefix);
        // Rows of `b` and of the result are walked in order innermost.
        quote! {
            let mut #name: #ty = #init;
            for #i in 0..#m {
                for #k in 0..#inner {
                    for #j in 0..#n {
                        #name[#i][#j] += #a * #b;
                    }
                }
            }
        }
    }),
    // y = a b: da = d bᵀ, db = aᵀ d, without forming a transpose.
    adjoint: |g, s| {
        let [a, b] = [s.operands[0], s.operands[1]];
        all([
            g.apply(Prim::MatMulNt, &[s.d, b]),
            g.apply(Prim::MatMulTn, &[a, s.d]),
        ])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false, false],
    domain: &[Domain::Any, Domain::Any],
    doc: "the matrix product `a · b` of `[[T; K]; M]` and `[[T; N]; K]`",
};

/// `a · bᵀ`, `[[T; K]; M]` by `[[T; K]; N]`: the adjoint of `matmul` in
/// its first operand.
pub const MATMUL_NT: OpDef = OpDef {
    name: "matmul_nt",
    spellings: &[],
    params: &[Param::Real, Param::Real],
    value_name: "matmul_nt",
    shape: |cx, s| match s {
        [a, b] if a.len() == 2 && b.len() == 2 && a[1] == b[1] => {
            Ok(vec![a[0].clone(), b[0].clone()])
        }
        [a, b] => Err(ShapeError::call(format!(
            "`matmul_nt` needs `[[T; K]; M]` and `[[T; K]; N]`, found {} and {}",
            cx.ty(a),
            cx.ty(b)
        ))),
        _ => Err(arity()),
    },
    eval: Eval::Array(|x, s, out| {
        product(
            x,
            out,
            s[0][1],
            |i, k| i * s[0][1] + k,
            |k, j| j * s[1][1] + k,
        )
    }),
    kind: Kind::Array,
    reads_once: &[false, false],
    emit: Emit::Loops(|cx| {
        let (name, ty, init) = (cx.name(), cx.ty(), cx.zeros());
        let (i, j, k) = (cx.index(0), cx.index(1), cx.index(2));
        let (m, n, inner) = (cx.len(0, 0), cx.len(1, 0), cx.len(0, 1));
        let a = cx.operand(0, &[i.clone(), k.clone()], Prec::Product);
        let b = cx.operand(1, &[j.clone(), k.clone()], Prec::Prefix);
        // Each element is a dot product of two rows.
        quote! {
            let mut #name: #ty = #init;
            for #i in 0..#m {
                for #j in 0..#n {
                    for #k in 0..#inner {
                        #name[#i][#j] += #a * #b;
                    }
                }
            }
        }
    }),
    // y = a bᵀ: da = d b, db = dᵀ a.
    adjoint: |g, s| {
        let [a, b] = [s.operands[0], s.operands[1]];
        all([
            g.apply(Prim::MatMul, &[s.d, b]),
            g.apply(Prim::MatMulTn, &[s.d, a]),
        ])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false, false],
    domain: &[Domain::Any, Domain::Any],
    doc: "`a · bᵀ`, built by derivatives",
};

/// `aᵀ · b`, `[[T; M]; K]` by `[[T; N]; K]`: the adjoint of `matmul` in
/// its second operand.
pub const MATMUL_TN: OpDef = OpDef {
    name: "matmul_tn",
    spellings: &[],
    params: &[Param::Real, Param::Real],
    value_name: "matmul_tn",
    shape: |cx, s| match s {
        [a, b] if a.len() == 2 && b.len() == 2 && a[0] == b[0] => {
            Ok(vec![a[1].clone(), b[1].clone()])
        }
        [a, b] => Err(ShapeError::call(format!(
            "`matmul_tn` needs `[[T; M]; K]` and `[[T; N]; K]`, found {} and {}",
            cx.ty(a),
            cx.ty(b)
        ))),
        _ => Err(arity()),
    },
    eval: Eval::Array(|x, s, out| {
        product(
            x,
            out,
            s[0][0],
            |i, k| k * s[0][1] + i,
            |k, j| k * out[1] + j,
        )
    }),
    kind: Kind::Array,
    reads_once: &[false, false],
    emit: Emit::Loops(|cx| {
        let (name, ty, init) = (cx.name(), cx.ty(), cx.zeros());
        let (i, j, k) = (cx.index(0), cx.index(1), cx.index(2));
        let (inner, m, n) = (cx.len(0, 0), cx.len(0, 1), cx.len(1, 1));
        let a = cx.operand(0, &[k.clone(), i.clone()], Prec::Product);
        let b = cx.operand(1, &[k.clone(), j.clone()], Prec::Prefix);
        // A sum of outer products of rows, walked in order.
        quote! {
            let mut #name: #ty = #init;
            for #k in 0..#inner {
                for #i in 0..#m {
                    for #j in 0..#n {
                        #name[#i][#j] += #a * #b;
                    }
                }
            }
        }
    }),
    // y = aᵀ b: da = b dᵀ, db = a d.
    adjoint: |g, s| {
        let [a, b] = [s.operands[0], s.operands[1]];
        all([
            g.apply(Prim::MatMulNt, &[b, s.d]),
            g.apply(Prim::MatMul, &[a, s.d]),
        ])
    },
    repeats: &[],
    exact: false,
    kink: Kink::None,
    zero_if_zero: &[false, false],
    domain: &[Domain::Any, Domain::Any],
    doc: "`aᵀ · b`, built by derivatives",
};

/// The shape rule of reductions of a whole array to a real (`mean`,
/// `norm`, `max(a)`): a vector or a matrix.
fn reduction(cx: &ShapeCx, s: &[Shape]) -> Result<Shape, ShapeError> {
    match s {
        [a] if a.is_empty() => {
            let (what, help) = match cx.spelling {
                "max" => (
                    "with one operand is the largest element of",
                    "\nhelp: for the larger of two reals write `max(a, b)` or `a.max(b)`",
                ),
                "min" => (
                    "with one operand is the smallest element of",
                    "\nhelp: for the smaller of two reals write `min(a, b)` or `a.min(b)`",
                ),
                _ => ("takes", ""),
            };
            Err(ShapeError::operand(
                0,
                format!(
                    "`{}` {what} an array `[T; N]` or `[[T; N]; M]`, found {}{help}",
                    cx.spelling,
                    cx.ty(a)
                ),
            ))
        }
        [_] => Ok(Vec::new()),
        _ => Err(arity()),
    }
}

/// The shape rule of `logsumexp`: a vector to a real.
fn vector_to_scalar(cx: &ShapeCx, s: &[Shape]) -> Result<Shape, ShapeError> {
    match s {
        [v] if v.len() == 1 => Ok(Vec::new()),
        [v] => Err(ShapeError::operand(
            0,
            format!(
                "`{}` needs a vector `[T; N]`, found {}",
                cx.spelling,
                cx.ty(v)
            ),
        )),
        _ => Err(arity()),
    }
}

/// A loop over every element of operand `k` (a vector or a matrix):
/// `body(element, index)` with the element's expression and its index
/// written as `[i]` or `[i][j]`.
fn each(
    cx: &mut LoopCx,
    k: usize,
    body: impl FnOnce(TokenStream, TokenStream) -> TokenStream,
) -> TokenStream {
    let i = cx.index(0);
    let rows = cx.len(k, 0);
    if cx.shape(k).len() == 2 {
        let j = cx.index(1);
        let cols = cx.len(k, 1);
        let x = cx.elem(k, &[i.clone(), j.clone()]).tokens;
        let body = body(x, quote!([#i][#j]));
        quote! {
            for #i in 0..#rows {
                for #j in 0..#cols {
                    #body
                }
            }
        }
    } else {
        let x = cx.elem(k, std::slice::from_ref(&i)).tokens;
        let body = body(x, quote!([#i]));
        quote! {
            for #i in 0..#rows {
                #body
            }
        }
    }
}

/// The loops of `max(a)` (`cmp` is `>`) and `min(a)` (`<`): the first
/// extreme element, or the first NaN, which stays.
///
/// ```text
/// let mut max = a[0];
/// for i in 0..n {
///     if a[i] > max || a[i].is_nan() { max = a[i]; }
/// }
/// ```
fn extreme_loops(cx: &mut LoopCx, cmp: TokenStream) -> TokenStream {
    let name = cx.name();
    let first = if cx.shape(0).len() == 2 {
        quote!([0][0])
    } else {
        quote!([0])
    };
    let x = cx.place(0);
    let update = each(cx, 0, |e, _| {
        quote! {
            if #e #cmp #name || #e.is_nan() {
                #name = #e;
            }
        }
    });
    quote! {
        let mut #name = #x #first;
        #update
    }
}

/// The first element of `x` that `better` prefers to all before it, or
/// the first NaN.
fn extreme(x: &[f64], better: fn(f64, f64) -> bool) -> f64 {
    let mut m = x[0];
    for &e in x {
        if better(e, m) || e.is_nan() {
            m = e;
        }
    }
    m
}

/// The gap between the first and second elements of `x` in `order`: where
/// they tie, the extreme element changes.
fn runner_up(x: &[f64], order: fn(&f64, &f64) -> std::cmp::Ordering) -> f64 {
    let mut sorted = x.to_vec();
    sorted.sort_by(order);
    match sorted.as_slice() {
        [a, b, ..] => gap(*a, *b),
        _ => f64::INFINITY,
    }
}

/// A matrix product of flat operands: `out[i][j] = Σ_k a[at_a(i, k)] *
/// b[at_b(k, j)]`, summed over `k` in order.
fn product(
    x: &[&[f64]],
    out: &[usize],
    inner: usize,
    at_a: impl Fn(usize, usize) -> usize,
    at_b: impl Fn(usize, usize) -> usize,
) -> Vec<f64> {
    let (rows, cols) = (out[0], out[1]);
    (0..rows * cols)
        .map(|ij| {
            let (i, j) = (ij / cols, ij % cols);
            (0..inner)
                .map(|k| x[0][at_a(i, k)] * x[1][at_b(k, j)])
                .sum()
        })
        .collect()
}

/// The shape rule of `softmax` and `log_softmax`.
fn vector_to_vector(cx: &ShapeCx, s: &[Shape]) -> Result<Shape, ShapeError> {
    match s {
        [v] if v.len() == 1 => Ok(v.clone()),
        [v] => Err(ShapeError::operand(
            0,
            format!(
                "`{}` needs a vector `[T; N]`, found {}",
                cx.spelling,
                cx.ty(v)
            ),
        )),
        _ => Err(arity()),
    }
}

/// `let mut max = x[0]; for i in 1..n { max = max.max(x[i]); }`
fn max_loop(
    max: &proc_macro2::Ident,
    x: &TokenStream,
    i: &proc_macro2::Ident,
    n: &TokenStream,
) -> TokenStream {
    quote! {
        let mut #max = #x[0];
        for #i in 1..#n {
            #max = #max.max(#x[#i]);
        }
    }
}

/// The operands' count differs from the op's arity, which `check` and the
/// IR's builders rule out before any shape rule runs.
fn arity() -> ShapeError {
    ShapeError::call("wrong number of operands".into())
}
