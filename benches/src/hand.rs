//! The gradients of [`crate::neurons`] derived and simplified by hand, the
//! way a careful person writes them: the ReLU's kink as a 0/1 mask, one
//! loop per layer, no allocation. These are the targets the generated code
//! should match.
//!
//! Like the generated functions they are ordinary non-generic functions of
//! this crate, with no inlining attribute, so that the compiler treats both
//! sides of a benchmark alike.

// Index loops, as a person transcribing the formulas writes them and as
// the generated code reads; iterator chains would compare a different style.
#![allow(clippy::needless_range_loop)]

/// The value and partials of a neuron with `N` inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DotGrad<const N: usize> {
    /// ∂y/∂x.
    pub x: [f64; N],
    /// ∂y/∂w.
    pub w: [f64; N],
    /// ∂y/∂b.
    pub b: f64,
}

/// The running example's gradient, simplified by hand:
/// `mask * w[i]`, `mask * x[i]`, `mask`.
pub fn unit_gradient(x: [f64; 3], w: [f64; 3], b: f64) -> (f64, DotGrad<3>) {
    let z = w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b;
    let mask = if z > 0.0 { 1.0 } else { 0.0 };
    let g = DotGrad {
        x: [mask * w[0], mask * w[1], mask * w[2]],
        w: [mask * x[0], mask * x[1], mask * x[2]],
        b: mask,
    };
    (z.max(0.0), g)
}

/// `relu(dot(w, x) + b)` and its gradient for N = 3, written as a loop.
pub fn dot3_gradient(x: [f64; 3], w: [f64; 3], b: f64) -> (f64, DotGrad<3>) {
    dot_gradient(x, w, b)
}

/// `relu(dot(w, x) + b)` and its gradient for N = 64, written as a loop.
pub fn dot64_gradient(x: [f64; 64], w: [f64; 64], b: f64) -> (f64, DotGrad<64>) {
    dot_gradient(x, w, b)
}

/// `relu(dot(w, x) + b)` and its gradient for N = 1024, written as a loop.
pub fn dot1024_gradient(x: [f64; 1024], w: [f64; 1024], b: f64) -> (f64, DotGrad<1024>) {
    dot_gradient(x, w, b)
}

/// [`dot1024_gradient`] borrowing its arrays, as `gradient_ref` does: one
/// accumulator, the loop as written.
pub fn dot1024_gradient_ref(x: &[f64; 1024], w: &[f64; 1024], b: f64) -> (f64, DotGrad<1024>) {
    let mut z = 0.0;
    for i in 0..1024 {
        z += w[i] * x[i];
    }
    let z = z + b;
    let mask = if z > 0.0 { 1.0 } else { 0.0 };
    let mut g = DotGrad {
        x: [0.0; 1024],
        w: [0.0; 1024],
        b: mask,
    };
    for i in 0..1024 {
        g.x[i] = mask * w[i];
        g.w[i] = mask * x[i];
    }
    (z.max(0.0), g)
}

/// [`dot1024_gradient_ref`] with its result built where it is returned
/// (`from_fn` in the struct literal) instead of filled in a local and
/// copied: one accumulator still, so that against the generated gradient
/// only the reduction differs.
pub fn dot1024_gradient_ref_built(
    x: &[f64; 1024],
    w: &[f64; 1024],
    b: f64,
) -> (f64, DotGrad<1024>) {
    let mut z = 0.0;
    for i in 0..1024 {
        z += w[i] * x[i];
    }
    let z = z + b;
    let mask = if z > 0.0 { 1.0 } else { 0.0 };
    (
        z.max(0.0),
        DotGrad {
            x: std::array::from_fn(|i| mask * w[i]),
            w: std::array::from_fn(|i| mask * x[i]),
            b: mask,
        },
    )
}

/// `relu(dot(w, x) + b)` for N = 1024, borrowing its arrays: one
/// accumulator, the loop as written.
pub fn dot1024_forward_ref(x: &[f64; 1024], w: &[f64; 1024], b: f64) -> f64 {
    let mut z = 0.0;
    for i in 0..1024 {
        z += w[i] * x[i];
    }
    (z + b).max(0.0)
}

/// `sum(v)` for N = 1024, borrowing the array: one accumulator, the loop
/// as written.
pub fn sum1024_forward_ref(v: &[f64; 1024]) -> f64 {
    let mut total = 0.0;
    for x in v {
        total += x;
    }
    total
}

/// `matvec(w, x)` for a 784 → 128 layer, borrowing its arrays: one
/// accumulator per row, the loops as written.
pub fn wide_forward_ref(x: &[f64; 784], w: &[[f64; 784]; 128]) -> [f64; 128] {
    let mut y = [0.0; 128];
    for i in 0..128 {
        for j in 0..784 {
            y[i] += w[i][j] * x[j];
        }
    }
    y
}

/// The body of the `dot*_gradient` functions. They are not generic, so
/// that like the generated functions they are compiled in this crate and
/// called, not inlined, by a benchmark in another crate.
#[inline(always)]
fn dot_gradient<const N: usize>(x: [f64; N], w: [f64; N], b: f64) -> (f64, DotGrad<N>) {
    let mut z = 0.0;
    for i in 0..N {
        z += w[i] * x[i];
    }
    let z = z + b;
    let mask = if z > 0.0 { 1.0 } else { 0.0 };
    let mut g = DotGrad {
        x: [0.0; N],
        w: [0.0; N],
        b: mask,
    };
    for i in 0..N {
        g.x[i] = mask * w[i];
        g.w[i] = mask * x[i];
    }
    (z.max(0.0), g)
}

/// The parameters of the 2-64-3 network, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct NetParams<'a> {
    /// First layer's weights, one row per hidden unit.
    pub w1: &'a [[f64; 2]; 64],
    /// First layer's biases.
    pub b1: &'a [f64; 64],
    /// Second layer's weights, one row per class.
    pub w2: &'a [[f64; 64]; 3],
    /// Second layer's biases.
    pub b2: &'a [f64; 3],
}

/// The partials of the 2-64-3 network, one field per argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetGrad {
    /// ∂/∂x.
    pub x: [f64; 2],
    /// ∂/∂w1.
    pub w1: [[f64; 2]; 64],
    /// ∂/∂b1.
    pub b1: [f64; 64],
    /// ∂/∂w2.
    pub w2: [[f64; 64]; 3],
    /// ∂/∂b2.
    pub b2: [f64; 3],
}

/// `log_softmax(w2 · relu(w1 · x + b1) + b2)` and the vector-Jacobian
/// product with `dy`, written the way the nnfs book's layers compute it,
/// one loop nest per layer.
///
/// The arguments are taken by value, as the generated `net::backward`
/// takes them, so that the two compare code and not calling conventions.
pub fn net_backward(
    x: [f64; 2],
    w1: [[f64; 2]; 64],
    b1: [f64; 64],
    w2: [[f64; 64]; 3],
    b2: [f64; 3],
    dy: [f64; 3],
) -> ([f64; 3], NetGrad) {
    backward_body(
        x,
        NetParams {
            w1: &w1,
            b1: &b1,
            w2: &w2,
            b2: &b2,
        },
        dy,
    )
}

/// [`net_backward`] with the parameters borrowed, which saves copying
/// 2.5 KB of weights into each call.
pub fn net_backward_ref(x: [f64; 2], p: NetParams<'_>, dy: [f64; 3]) -> ([f64; 3], NetGrad) {
    backward_body(x, p, dy)
}

#[inline(always)]
fn backward_body(x: [f64; 2], p: NetParams<'_>, dy: [f64; 3]) -> ([f64; 3], NetGrad) {
    let mut pre = [0.0; 64];
    let mut h = [0.0; 64];
    for i in 0..64 {
        pre[i] = p.w1[i][0] * x[0] + p.w1[i][1] * x[1] + p.b1[i];
        h[i] = pre[i].max(0.0);
    }
    let mut z = [0.0; 3];
    for k in 0..3 {
        let mut s = 0.0;
        for i in 0..64 {
            s += p.w2[k][i] * h[i];
        }
        z[k] = s + p.b2[k];
    }
    let max = z[0].max(z[1]).max(z[2]);
    let lse = ((z[0] - max).exp() + (z[1] - max).exp() + (z[2] - max).exp()).ln();
    let y = [z[0] - max - lse, z[1] - max - lse, z[2] - max - lse];

    let total = dy[0] + dy[1] + dy[2];
    let dz = [
        dy[0] - y[0].exp() * total,
        dy[1] - y[1].exp() * total,
        dy[2] - y[2].exp() * total,
    ];
    let mut g = NetGrad {
        x: [0.0; 2],
        w1: [[0.0; 2]; 64],
        b1: [0.0; 64],
        w2: [[0.0; 64]; 3],
        b2: dz,
    };
    // Layer by layer, as nnfs's Dense.backward: dW = dz ⊗ h, db = dz,
    // dh = W^T dz; then the ReLU mask; then the first layer the same way.
    let mut dh = [0.0; 64];
    for k in 0..3 {
        for i in 0..64 {
            g.w2[k][i] = dz[k] * h[i];
            dh[i] += p.w2[k][i] * dz[k];
        }
    }
    for i in 0..64 {
        g.b1[i] = if pre[i] > 0.0 { dh[i] } else { 0.0 };
    }
    // Accumulate dx in locals: summing into `g.x` keeps the sums in memory
    // (a store and reload per step) because `g` is too large to live in
    // registers.
    let (mut dx0, mut dx1) = (0.0, 0.0);
    for i in 0..64 {
        g.w1[i] = [g.b1[i] * x[0], g.b1[i] * x[1]];
        dx0 += p.w1[i][0] * g.b1[i];
        dx1 += p.w1[i][1] * g.b1[i];
    }
    g.x = [dx0, dx1];
    (y, g)
}

/// The forward pass of [`net_backward`] alone.
pub fn net_forward(
    x: [f64; 2],
    w1: [[f64; 2]; 64],
    b1: [f64; 64],
    w2: [[f64; 64]; 3],
    b2: [f64; 3],
) -> [f64; 3] {
    let p = NetParams {
        w1: &w1,
        b1: &b1,
        w2: &w2,
        b2: &b2,
    };
    let mut h = [0.0; 64];
    for i in 0..64 {
        h[i] = (p.w1[i][0] * x[0] + p.w1[i][1] * x[1] + p.b1[i]).max(0.0);
    }
    let mut z = [0.0; 3];
    for k in 0..3 {
        let mut s = 0.0;
        for i in 0..64 {
            s += p.w2[k][i] * h[i];
        }
        z[k] = s + p.b2[k];
    }
    let max = z[0].max(z[1]).max(z[2]);
    let lse = ((z[0] - max).exp() + (z[1] - max).exp() + (z[2] - max).exp()).ln();
    [z[0] - max - lse, z[1] - max - lse, z[2] - max - lse]
}
