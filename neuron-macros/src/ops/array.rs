//! The array ops: reductions, products of matrices and vectors, and the
//! normalizations. Each is one block: its names, shape rule, meaning, the
//! loops it becomes (never unrolled: the generated code does not grow with
//! the length of the arrays) and its adjoint.

use super::{
    Domain, Emit, Eval, Kind, Kink, OpDef, Param, Prim, ShapeCx, ShapeError, Spelling, all,
};
use crate::emit::Prec;
use crate::ir::Shape;
use proc_macro2::TokenStream;
use quote::quote;

/// Up to this many rows, `matvec` sweeps columns in its outer loop.
const FEW_ROWS: usize = 16;

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
        quote! {
            let mut #name: #ty = #zero;
            for #i in 0..#n {
                #name += #x * #y;
            }
        }
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
        } else {
            let x = cx.elem(0, std::slice::from_ref(&i)).tokens;
            quote! {
                let mut #name: #ty = #zero;
                for #i in 0..#m {
                    #name += #x;
                }
            }
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
        [m, v] if m.len() == 2 && v.len() == 1 && m[1] == v[0] => Ok(vec![m[0]]),
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
        // Each row's sum runs over `j` in order either way, so both loop
        // orders round alike. With few rows, sweeping columns outermost
        // keeps one running sum per row in flight at once instead of one
        // long chain of dependent additions.
        if cx.shape(0)[0] <= FEW_ROWS {
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
        [m, u] if m.len() == 2 && u.len() == 1 && m[0] == u[0] => Ok(vec![m[1]]),
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

/// `a ⊗ b`: the matrix of `a[i] * b[j]`.
pub const OUTER: OpDef = OpDef {
    name: "outer",
    spellings: &[],
    params: &[Param::Real, Param::Real],
    value_name: "outer",
    shape: |cx, s| match s {
        [a, b] if a.len() == 1 && b.len() == 1 => Ok(vec![a[0], b[0]]),
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
    doc: "the matrix of `a[i] * b[j]`, built by derivatives",
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
