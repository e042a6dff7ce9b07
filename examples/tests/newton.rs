//! The Newton example: Newton's method, with the Hessian from the
//! generated `hvp`, reaches the minimum of the logistic loss in a handful
//! of steps, gradient descent in thousands, and both reach the same one.

use neuron_examples::newton::{
    POINTS, best_gradient_descent, data, gradient_descent, logistic_loss, newton, solve,
};

#[test]
fn newton_needs_far_fewer_iterations_than_gradient_descent() {
    let (xs, t) = data(7);
    let tol = 1e-8;
    let n = newton(&xs, &t, tol, 50);
    let (rate, gd) = best_gradient_descent(&xs, &t, tol, 100_000);
    println!(
        "Newton {}, gradient descent (step {rate}) {}",
        n.iterations(),
        gd.iterations()
    );
    assert!(n.norms[n.norms.len() - 1] < tol, "{:?}", n.norms);
    assert!(gd.norms[gd.norms.len() - 1] < tol);
    // 5, and 509 with step 16, when this was written.
    assert!(n.iterations() <= 8, "Newton: {} iterations", n.iterations());
    assert!(
        gd.iterations() >= 50 * n.iterations(),
        "gradient descent: {} iterations",
        gd.iterations()
    );
    // The same minimum, as far as the gradient's norm pins it down.
    for (a, b) in n.w.iter().chain([&n.b]).zip(gd.w.iter().chain([&gd.b])) {
        assert!((a - b).abs() < 1e-5, "{n:?} vs {gd:?}");
    }
    // Quadratic convergence: once close, each norm is within a constant
    // (about 20 here) of the square of the one before.
    let last = &n.norms[n.norms.len() - 3..];
    assert!(last[1] < 100.0 * last[0] * last[0], "{:?}", n.norms);
    assert!(last[2] < 100.0 * last[1] * last[1], "{:?}", n.norms);
    // Twice the best step does not do better.
    let big = gradient_descent(&xs, &t, 2.0 * rate, tol, 100_000);
    assert!(
        big.norms.len() > 100_000
            || !big.norms[big.norms.len() - 1].is_finite()
            || big.iterations() >= gd.iterations(),
        "step {} took {}",
        2.0 * rate,
        big.iterations()
    );
}

#[test]
fn the_hessian_block_from_hvp_is_the_textbook_one() {
    let (xs, t) = data(7);
    let (w, b) = ([0.5, -1.0], 0.25);
    // H_(w,b) = mean(p (1 - p) a aᵀ) + L2 on w, with a = [x, 1].
    let mut want = [[0.0; 3]; 3];
    for x in &xs {
        let z = w[0] * x[0] + w[1] * x[1] + b;
        let p = 1.0 / (1.0 + (-z).exp());
        let a = [x[0], x[1], 1.0];
        for i in 0..3 {
            for j in 0..3 {
                want[i][j] += p * (1.0 - p) * a[i] * a[j] / POINTS as f64;
            }
        }
    }
    want[0][0] += 1e-3;
    want[1][1] += 1e-3;
    for k in 0..3 {
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
        let (_, _, hv) = logistic_loss::hvp(xs, t, w, b, v);
        let got = [hv.w[0], hv.w[1], hv.b];
        for (i, (g, row)) in got.iter().zip(&want).enumerate() {
            assert!((g - row[k]).abs() < 1e-14, "H[{i}][{k}]");
        }
    }
    // And the solver inverts it.
    let y = [1.0, -2.0, 0.5];
    let s = solve(want, y);
    for (row, yi) in want.iter().zip(y) {
        let back: f64 = row.iter().zip(&s).map(|(a, b)| a * b).sum();
        assert!((back - yi).abs() < 1e-10);
    }
}
