//! The matrix ops `transpose`, `matmul` and `outer`, checked through
//! `backward` with a random `dy` against central finite differences and
//! their closed-form vector-Jacobian products at 64 seeded points: square
//! and non-square shapes (`matmul` 3×4 · 4×5), rows and columns of length
//! 1, function and method spellings, f32 and generic neurons, and the
//! generated code of a 64×64 `matmul`, which stays as long as a 2×2 one.
//!
//! A neuron returns a real or a vector, so a matrix result `c` is checked
//! through `sum(c * r)` with `r` an argument: its adjoint in the other
//! arguments is the vector-Jacobian product of `c` with `dy = r`, and its
//! partial in `r` is `c` itself.

mod fd;
#[macro_use]
mod harness;

use fd::{assert_all_close, central, central_f32, flat2, mat, uniforms};
use harness::*;
use neuron_core::prelude::*;

/// `c = a b` for row-major `a` (`m × k`) and `b` (`k × n`).
fn matmul_ref(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    (0..m * n)
        .map(|ij| (0..k).map(|l| a[ij / n * k + l] * b[l * n + ij % n]).sum())
        .collect()
}

/// The transpose of a row-major `m × n` matrix.
fn transpose_ref(a: &[f64], m: usize, n: usize) -> Vec<f64> {
    (0..m * n).map(|ij| a[(ij % m) * n + ij / m]).collect()
}

/// [`Flat`] for `sum(matmul(a, b) * r)` with `a: m × k`, `b: k × n`:
/// `∂/∂a = r bᵀ`, `∂/∂b = aᵀ r`, `∂/∂r = a b`.
macro_rules! product {
    ($f:ident, $m:expr, $k:expr, $n:expr) => {
        Flat {
            inputs: $m * $k + $k * $n + $m * $n,
            outputs: 1,
            forward: &|p| {
                let (a, b, r) = split::<$m, $k, $n>(p);
                vec![$f(a, b, r)]
            },
            backward: &|p, dy| {
                let (a, b, r) = split::<$m, $k, $n>(p);
                let (y, g) = $f::backward(a, b, r, dy[0]);
                (vec![y], [flat2(&g.a), flat2(&g.b), flat2(&g.r)].concat())
            },
            value: &|p| {
                let (a, b, r) = parts(p, $m, $k, $n);
                vec![fd::dot(&matmul_ref(a, b, $m, $k, $n), r)]
            },
            vjp: Some(&|p, dy| {
                let (a, b, r) = parts(p, $m, $k, $n);
                let da = matmul_ref(r, &transpose_ref(b, $k, $n), $m, $n, $k);
                let db = matmul_ref(&transpose_ref(a, $m, $k), r, $k, $m, $n);
                let dr = matmul_ref(a, b, $m, $k, $n);
                [da, db, dr].concat().iter().map(|x| x * dy[0]).collect()
            }),
            avoid: &never,
        }
    };
}

/// A row-major matrix of `M` rows and `N` columns.
type Matrix<const M: usize, const N: usize> = [[f64; N]; M];

/// The three matrices of a flat point.
fn split<const M: usize, const K: usize, const N: usize>(
    p: &[f64],
) -> (Matrix<M, K>, Matrix<K, N>, Matrix<M, N>) {
    (mat(p), mat(&p[M * K..]), mat(&p[M * K + K * N..]))
}

fn parts(p: &[f64], m: usize, k: usize, n: usize) -> (&[f64], &[f64], &[f64]) {
    (&p[..m * k], &p[m * k..m * k + k * n], &p[m * k + k * n..])
}

/// `matmul` of a 3×4 and a 4×5 matrix.
#[neuron]
pub fn matmul_345(a: [[f64; 4]; 3], b: [[f64; 5]; 4], r: [[f64; 5]; 3]) -> f64 {
    sum(matmul(a, b) * r)
}

/// `matmul` of square matrices, in method spelling.
#[neuron]
pub fn matmul_333(a: [[f64; 3]; 3], b: [[f64; 3]; 3], r: [[f64; 3]; 3]) -> f64 {
    sum(a.matmul(b) * r)
}

/// 1×1 by 1×1.
#[neuron]
pub fn matmul_111(a: [[f64; 1]; 1], b: [[f64; 1]; 1], r: [[f64; 1]; 1]) -> f64 {
    sum(matmul(a, b) * r)
}

/// A row by a column: 1×4 by 4×1.
#[neuron]
pub fn matmul_141(a: [[f64; 4]; 1], b: [[f64; 1]; 4], r: [[f64; 1]; 1]) -> f64 {
    sum(matmul(a, b) * r)
}

/// A column by a row: 4×1 by 1×3, an outer product.
#[neuron]
pub fn matmul_413(a: [[f64; 1]; 4], b: [[f64; 3]; 1], r: [[f64; 3]; 4]) -> f64 {
    sum(matmul(a, b) * r)
}

#[test]
fn matmul_of_several_shapes() {
    check_flat("matmul 3x4 · 4x5", &product!(matmul_345, 3, 4, 5));
    check_flat("a.matmul(b) 3x3 · 3x3", &product!(matmul_333, 3, 3, 3));
    check_flat("matmul 1x1 · 1x1", &product!(matmul_111, 1, 1, 1));
    check_flat("matmul 1x4 · 4x1", &product!(matmul_141, 1, 4, 1));
    check_flat("matmul 4x1 · 1x3", &product!(matmul_413, 4, 1, 3));
}

/// A two-layer linear map with a vector result, for `backward` with a
/// random vector `dy`: `matvec(a b, v)`.
#[neuron]
pub fn chained(a: [[f64; 4]; 3], b: [[f64; 2]; 4], v: [f64; 2]) -> [f64; 3] {
    matvec(matmul(a, b), v)
}

#[test]
fn matmul_feeding_matvec() {
    check_flat(
        "matvec(matmul(a, b), v)",
        &Flat {
            inputs: 22,
            outputs: 3,
            forward: &|p| chained(mat(p), mat(&p[12..]), fd::arr(&p[20..])).to_vec(),
            backward: &|p, dy| {
                let (y, g) =
                    chained::backward(mat(p), mat(&p[12..]), fd::arr(&p[20..]), fd::arr(dy));
                (
                    y.to_vec(),
                    [flat2(&g.a), flat2(&g.b), g.v.to_vec()].concat(),
                )
            },
            value: &|p| {
                let c = matmul_ref(&p[..12], &p[12..20], 3, 4, 2);
                (0..3)
                    .map(|i| fd::dot(&c[2 * i..2 * i + 2], &p[20..]))
                    .collect()
            },
            // With u = b v: ∂/∂a = dy uᵀ, ∂/∂b = (aᵀ dy) vᵀ, ∂/∂v = bᵀ aᵀ dy.
            vjp: Some(&|p, dy| {
                let (a, b, v) = (&p[..12], &p[12..20], &p[20..]);
                let u = matmul_ref(b, v, 4, 2, 1);
                let at_dy = matmul_ref(&transpose_ref(a, 3, 4), dy, 4, 3, 1);
                let da = matmul_ref(dy, &u, 3, 1, 4);
                let db = matmul_ref(&at_dy, v, 4, 1, 2);
                let dv = matmul_ref(&transpose_ref(b, 4, 2), &at_dy, 2, 4, 1);
                [da, db, dv].concat()
            }),
            avoid: &never,
        },
    );
}

// ---------------------------------------------------------------------------
// transpose and outer.

/// `transpose` of a 3×4 matrix.
#[neuron]
pub fn transpose_34(m: [[f64; 4]; 3], r: [[f64; 3]; 4]) -> f64 {
    sum(transpose(m) * r)
}

/// `transpose` of a 1×5 row, in method spelling, and of an element-wise
/// expression.
#[neuron]
pub fn transpose_15(m: [[f64; 5]; 1], r: [[f64; 1]; 5]) -> f64 {
    sum(m.transpose() * r) + sum(transpose(tanh(m)) * r)
}

/// `outer(u, v)` of a 3- and a 4-vector, in both spellings.
#[neuron]
pub fn outer_34(u: [f64; 3], v: [f64; 4], r: [[f64; 4]; 3]) -> f64 {
    sum(outer(u, v) * r) + sum(u.outer(v * v))
}

#[test]
fn transpose_and_outer() {
    check_flat(
        "transpose 3x4",
        &Flat {
            inputs: 24,
            outputs: 1,
            forward: &|p| vec![transpose_34(mat(p), mat(&p[12..]))],
            backward: &|p, dy| {
                let (y, g) = transpose_34::backward(mat(p), mat(&p[12..]), dy[0]);
                (vec![y], [flat2(&g.m), flat2(&g.r)].concat())
            },
            value: &|p| vec![fd::dot(&transpose_ref(&p[..12], 3, 4), &p[12..])],
            vjp: Some(&|p, dy| {
                let dm = transpose_ref(&p[12..], 4, 3);
                let dr = transpose_ref(&p[..12], 3, 4);
                [dm, dr].concat().iter().map(|x| x * dy[0]).collect()
            }),
            avoid: &never,
        },
    );
    check_flat(
        "transpose 1x5",
        &Flat {
            inputs: 10,
            outputs: 1,
            forward: &|p| vec![transpose_15(mat(p), mat(&p[5..]))],
            backward: &|p, dy| {
                let (y, g) = transpose_15::backward(mat(p), mat(&p[5..]), dy[0]);
                (vec![y], [flat2(&g.m), flat2(&g.r)].concat())
            },
            // A 1×5 row and its 5×1 transpose have the same flat layout.
            value: &|p| {
                let (m, r) = (&p[..5], &p[5..]);
                vec![(0..5).map(|i| (m[i] + m[i].tanh()) * r[i]).sum()]
            },
            vjp: Some(&|p, dy| {
                let (m, r) = (&p[..5], &p[5..]);
                let dm = (0..5).map(|i| dy[0] * r[i] * (2.0 - m[i].tanh().powi(2)));
                let dr = (0..5).map(|i| dy[0] * (m[i] + m[i].tanh()));
                dm.chain(dr).collect()
            }),
            avoid: &never,
        },
    );
    check_flat(
        "outer 3x4",
        &Flat {
            inputs: 19,
            outputs: 1,
            forward: &|p| vec![outer_34(fd::arr(p), fd::arr(&p[3..]), mat(&p[7..]))],
            backward: &|p, dy| {
                let (y, g) = outer_34::backward(fd::arr(p), fd::arr(&p[3..]), mat(&p[7..]), dy[0]);
                (vec![y], [g.u.to_vec(), g.v.to_vec(), flat2(&g.r)].concat())
            },
            value: &|p| {
                let (u, v, r) = (&p[..3], &p[3..7], &p[7..]);
                let o = matmul_ref(u, v, 3, 1, 4);
                let vv: Vec<f64> = v.iter().map(|x| x * x).collect();
                vec![fd::dot(&o, r) + u.iter().sum::<f64>() * vv.iter().sum::<f64>()]
            },
            vjp: Some(&|p, dy| {
                let (u, v, r) = (&p[..3], &p[3..7], &p[7..]);
                let (su, svv) = (u.iter().sum::<f64>(), v.iter().map(|x| x * x).sum::<f64>());
                let du = (0..3).map(|i| fd::dot(&r[4 * i..4 * i + 4], v) + svv);
                let dv = (0..4)
                    .map(|j| (0..3).map(|i| r[4 * i + j] * u[i]).sum::<f64>() + 2.0 * v[j] * su);
                let dr = matmul_ref(u, v, 3, 1, 4);
                du.chain(dv).chain(dr).map(|x| x * dy[0]).collect()
            }),
            avoid: &never,
        },
    );
}

// ---------------------------------------------------------------------------
// f32 and generic neurons.

/// A bilinear form through every matrix op, generic over the float type.
#[neuron]
pub fn bilinear_generic<T: Real>(a: [[T; 3]; 2], b: [[T; 2]; 3], u: [T; 2]) -> T {
    sum(matmul(a, b) * outer(u, u)) + sum(transpose(a) * b)
}

/// The same in f32.
#[neuron]
pub fn bilinear_f32(a: [[f32; 3]; 2], b: [[f32; 2]; 3], u: [f32; 2]) -> f32 {
    sum(matmul(a, b) * outer(u, u)) + sum(transpose(a) * b)
}

#[test]
fn f32_and_generic() {
    let mut rng = fd::rng(seed("matrices generic"));
    for _ in 0..POINTS {
        let p = uniforms(&mut rng, 14, -2.0, 2.0);
        let f = |q: &[f64]| bilinear_generic(mat(q), mat(&q[6..]), fd::arr(&q[12..]));
        let (y, g) = bilinear_generic::gradient(mat(&p), mat(&p[6..]), fd::arr(&p[12..]));
        assert_eq!(y, f(&p));
        let (a, b, u) = (&p[..6], &p[6..12], &p[12..]);
        let want = fd::dot(&matmul_ref(a, b, 2, 3, 2), &matmul_ref(u, u, 2, 1, 2))
            + fd::dot(&transpose_ref(a, 2, 3), b);
        assert!((y - want).abs() < EXACT * want.abs().max(1.0));
        let analytic = [flat2(&g.a), flat2(&g.b), g.u.to_vec()].concat();
        assert_all_close(
            "bilinear generic f64",
            &p,
            &analytic,
            &central(f, &p, H),
            TOL,
        );

        let q: Vec<f32> = p.iter().map(|&x| x as f32).collect();
        let split = |q: &[f32]| -> ([[f32; 3]; 2], [[f32; 2]; 3], [f32; 2]) {
            (
                std::array::from_fn(|i| std::array::from_fn(|j| q[3 * i + j])),
                std::array::from_fn(|i| std::array::from_fn(|j| q[6 + 2 * i + j])),
                [q[12], q[13]],
            )
        };
        let (a, b, u) = split(&q);
        let (y32, g32) = bilinear_f32::gradient(a, b, u);
        let (yg, gg) = bilinear_generic::gradient(a, b, u);
        assert_eq!((y32, g32.a, g32.b, g32.u), (yg, gg.a, gg.b, gg.u));
        let numeric = central_f32(
            |q| {
                let (a, b, u) = split(q);
                bilinear_f32(a, b, u)
            },
            &q,
            1e-2,
        );
        let analytic: Vec<f64> = g32
            .a
            .iter()
            .flatten()
            .chain(g32.b.iter().flatten())
            .chain(&g32.u)
            .map(|&x| f64::from(x))
            .collect();
        let point: Vec<f64> = q.iter().map(|&x| f64::from(x)).collect();
        assert_all_close("bilinear f32", &point, &analytic, &numeric, 5e-3);
    }
}

// ---------------------------------------------------------------------------
// Loops, not unrolled.

/// `matmul` of two 64×64 matrices, and a transpose.
#[neuron]
pub fn wide(a: [[f64; 64]; 64], b: [[f64; 64]; 64]) -> f64 {
    sum(matmul(a, b) * transpose(b))
}

/// The same on 2×2 matrices.
#[neuron]
pub fn slim(a: [[f64; 2]; 2], b: [[f64; 2]; 2]) -> f64 {
    sum(matmul(a, b) * transpose(b))
}

#[test]
fn large_products_stay_loops() {
    assert_eq!(
        code_size(wide::SOURCE),
        code_size(slim::SOURCE),
        "{}\n---\n{}",
        wide::SOURCE,
        slim::SOURCE
    );
    assert!(wide::SOURCE.contains("0..64"), "{}", wide::SOURCE);
    assert!(!wide::SOURCE.contains("[63]"), "{}", wide::SOURCE);
    // The adjoints are products too, with no transpose formed for them.
    let gradient = wide::SOURCE
        .split("pub fn gradient_ref")
        .nth(1)
        .and_then(|g| g.split("pub fn backward").next())
        .unwrap_or_default();
    assert_eq!(gradient.matches("for k in 0..64").count(), 3, "{gradient}");
}

// ---------------------------------------------------------------------------
// The training step.

/// A model whose parameters are matrices, through the new ops: the
/// generated `Model::forward_backward` reads its arguments in place.
#[neuron]
pub fn regularized(x: [f64; 3], #[param] w: [[f64; 3]; 2], #[param] v: [[f64; 2]; 4]) -> [f64; 4] {
    let h = gelu(matvec(w, x));
    let z = matvec(matmul(v, w), x) + matvec(v, h);
    clamp(z, -1.5, 1.5) + norm(w) * mean(v) - max(w) + logsumexp(h) + sum(matmul(transpose(v), v))
}

#[test]
fn training_step_matches_forward_then_backward() {
    let model = regularized::Model::new(regularized::Params::random(0.8, 7));
    let input = [0.3, -0.7, 1.1];
    let loss_grad = |y: &[f64; 4]| std::array::from_fn(|k| y[k] + k as f64);
    let mut fast = regularized::Params::zeros();
    let y_fast = model.forward_backward(&input, loss_grad, &mut fast);
    let mut slow = regularized::Params::zeros();
    let y = model.forward(&input);
    let y_slow = model.backward(&input, &loss_grad(&y), &mut slow);
    assert_eq!((y_fast, y_slow), (y, y));
    let (fast, slow) = (fast.to_vec(), slow.to_vec());
    assert!(fast.iter().any(|g| *g != 0.0));
    for (k, (a, b)) in fast.iter().zip(&slow).enumerate() {
        assert!(
            (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0),
            "parameter {k}: {a} vs {b}"
        );
    }
}
