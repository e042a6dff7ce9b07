//! Newton's method against gradient descent on a logistic regression: the
//! mean logistic loss of a linear classifier over 40 seeded points of two
//! overlapping clusters. Newton's steps solve `H s = -g`, with the Hessian
//! of the parameters built from `logistic_loss::hvp`, which `#[neuron]`
//! derived at compile time. Prints the gradient's norm along the way and
//! the iterations each method needs to bring it below 1e-8, gradient
//! descent with the best of a range of step sizes.
//!
//! Run with `cargo run --release -p neuron-examples --example newton`.

use neuron_examples::newton::{best_gradient_descent, data, newton};

fn main() {
    let (xs, t) = data(7);
    let tol = 1e-8;
    let n = newton(&xs, &t, tol, 50);
    for (k, g) in n.norms.iter().enumerate() {
        println!("newton step {k:2}: |g| = {g:.3e}");
    }
    let (rate, gd) = best_gradient_descent(&xs, &t, tol, 100_000);
    for (k, g) in gd.norms.iter().enumerate().step_by(500) {
        println!("gradient descent step {k:6}: |g| = {g:.3e}");
    }
    println!(
        "to reach |g| < {tol:e}: Newton {} iterations, gradient descent {} iterations \
         (step {rate}, the best of 1, 2, 4, …, 256)",
        n.iterations(),
        gd.iterations()
    );
    println!(
        "minimum: w = [{:.6}, {:.6}], b = {:.6}, loss {:.6}",
        n.w[0], n.w[1], n.b, n.loss
    );
}
