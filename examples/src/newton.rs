//! The logistic-regression loss of the Newton example, and the two ways
//! it is minimised there: Newton's method, whose steps solve `H s = -g`
//! with the Hessian built from `logistic_loss::hvp`, and gradient descent.
//!
//! The loss takes the data as arguments, so its Hessian over everything is
//! 123 by 123; Newton needs the 3 by 3 block of the parameters, which is
//! `hvp` along the three unit vectors of `(w, b)`.

use neuron_core::prelude::*;

/// Points in each of the two classes.
pub const PER_CLASS: usize = 20;
/// Points in all.
pub const POINTS: usize = 2 * PER_CLASS;
/// The weight of the L2 penalty, which makes the minimum unique.
pub const L2: f64 = 1e-3;

/// The mean logistic loss of a linear classifier `z = w · x + b` over the
/// points `xs` with labels `t` (0 or 1), `mean(ln(1 + e^z) - t z)`, plus
/// `L2 / 2 · |w|²`. `#[neuron(hvp)]` asks for the Hessian-vector product.
#[neuron(hvp)]
pub fn logistic_loss(
    xs: [[f64; 2]; 40],
    t: [f64; 40],
    #[param] w: [f64; 2],
    #[param] b: f64,
) -> f64 {
    let z = matvec(xs, w) + b;
    mean(softplus(z) - t * z) + 0.0005 * dot(w, w)
}

/// The two overlapping vertical clusters of `neuron_core::vertical`,
/// seeded: labels as reals.
pub fn data(seed: u64) -> ([[f64; 2]; POINTS], [f64; POINTS]) {
    let points = vertical(PER_CLASS, 2, seed);
    let mut xs = [[0.0; 2]; POINTS];
    let mut t = [0.0; POINTS];
    for (k, (x, label)) in points.into_iter().enumerate() {
        xs[k] = x;
        t[k] = label as f64;
    }
    (xs, t)
}

/// Where a minimisation ended.
#[derive(Clone, Debug)]
pub struct Run {
    /// The weights reached.
    pub w: [f64; 2],
    /// The bias reached.
    pub b: f64,
    /// The loss there.
    pub loss: f64,
    /// The gradient's norm before each step, and at the end.
    pub norms: Vec<f64>,
}

impl Run {
    /// The steps taken.
    pub fn iterations(&self) -> usize {
        self.norms.len() - 1
    }
}

/// The Euclidean norm of the gradient in `(w, b)`.
fn norm(g: &logistic_loss::Grad) -> f64 {
    (g.w[0] * g.w[0] + g.w[1] * g.w[1] + g.b * g.b).sqrt()
}

/// Newton's method from `(0, 0, 0)` until the gradient's norm is below
/// `tol`, at most `max` steps: each step builds the Hessian of `(w, b)`
/// from three Hessian-vector products and solves `H s = -g`.
pub fn newton(xs: &[[f64; 2]; POINTS], t: &[f64; POINTS], tol: f64, max: usize) -> Run {
    let (mut w, mut b) = ([0.0; 2], 0.0);
    let mut norms = Vec::new();
    loop {
        let (loss, g) = logistic_loss::gradient_ref(xs, t, &w, b);
        norms.push(norm(&g));
        if norms[norms.len() - 1] < tol || norms.len() > max {
            return Run { w, b, loss, norms };
        }
        // Column k of the Hessian block is H e_k, e_k a unit vector of (w, b).
        let column = |k: usize| {
            let mut v = logistic_loss::Grad {
                xs: [[0.0; 2]; POINTS],
                t: [0.0; POINTS],
                w: [0.0; 2],
                b: 0.0,
            };
            if k < 2 {
                v.w[k] = 1.0;
            } else {
                v.b = 1.0;
            }
            let (_, _, hv) = logistic_loss::hvp_ref(xs, t, &w, b, &v);
            [hv.w[0], hv.w[1], hv.b]
        };
        let columns: [[f64; 3]; 3] = std::array::from_fn(column);
        let h: [[f64; 3]; 3] = std::array::from_fn(|i| std::array::from_fn(|k| columns[k][i]));
        let s = solve(h, [-g.w[0], -g.w[1], -g.b]);
        w = [w[0] + s[0], w[1] + s[1]];
        b += s[2];
    }
}

/// Gradient descent from `(0, 0, 0)` with step size `rate`, until the
/// gradient's norm is below `tol`, at most `max` steps.
pub fn gradient_descent(
    xs: &[[f64; 2]; POINTS],
    t: &[f64; POINTS],
    rate: f64,
    tol: f64,
    max: usize,
) -> Run {
    let (mut w, mut b) = ([0.0; 2], 0.0);
    let mut norms = Vec::new();
    loop {
        let (loss, g) = logistic_loss::gradient_ref(xs, t, &w, b);
        norms.push(norm(&g));
        if norms[norms.len() - 1] < tol || norms.len() > max {
            return Run { w, b, loss, norms };
        }
        w = [w[0] - rate * g.w[0], w[1] - rate * g.w[1]];
        b -= rate * g.b;
    }
}

/// The solution of `a x = y` for a symmetric positive definite `a`, by
/// Cholesky factorisation.
pub fn solve(a: [[f64; 3]; 3], y: [f64; 3]) -> [f64; 3] {
    let mut l = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            l[i][j] = if i == j {
                (a[i][i] - s).sqrt()
            } else {
                (a[i][j] - s) / l[j][j]
            };
        }
    }
    // L z = y, then Lᵀ x = z.
    let mut z = [0.0; 3];
    for i in 0..3 {
        let s: f64 = (0..i).map(|k| l[i][k] * z[k]).sum();
        z[i] = (y[i] - s) / l[i][i];
    }
    let mut x = [0.0; 3];
    for i in (0..3).rev() {
        let s: f64 = (i + 1..3).map(|k| l[k][i] * x[k]).sum();
        x[i] = (z[i] - s) / l[i][i];
    }
    x
}

/// Gradient descent with the best of the step sizes 1, 2, 4, …, 256 (the
/// one that reaches `tol` in the fewest steps, at most `max`): a fair
/// opponent for Newton's method. Returns the step size and the run.
pub fn best_gradient_descent(
    xs: &[[f64; 2]; POINTS],
    t: &[f64; POINTS],
    tol: f64,
    max: usize,
) -> (f64, Run) {
    (0..=8)
        .map(|k| {
            let rate = f64::from(1u32 << k);
            (rate, gradient_descent(xs, t, rate, tol, max))
        })
        .filter(|(_, run)| run.norms.last().is_some_and(|&g| g < tol))
        .min_by_key(|(_, run)| run.iterations())
        .unwrap_or_else(|| (1.0, gradient_descent(xs, t, 1.0, tol, max)))
}
