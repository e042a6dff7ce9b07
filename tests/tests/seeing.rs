//! Seeing the chain rule: `NAME::trace` walks it at a point, `NAME::DOT`
//! draws the forward and backward graph, `NAME::COST` counts both passes.
//! The trace's partials are checked against `gradient`, which is itself
//! checked against finite differences elsewhere; the costs against counts
//! made by hand from the formulas, written out next to each assertion.

use neuron_core::prelude::*;
use neuron_core::trace::{Backward, Value};

/// One ReLU neuron with three inputs.
#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
}

/// The running example's trace, as the notes walk it: the weighted sum 6,
/// the ReLU's derivative 1, each product's derivative the other factor.
const UNIT_TRACE: &str = "\
unit at x = [1, -2, 3], w = [-3, -1, 2], b = 1

forward
  w[0] * x[0] = -3
  w[1] * x[1] = 2
  w[0] * x[0] + w[1] * x[1] = -1
  w[2] * x[2] = 6
  w[0] * x[0] + w[1] * x[1] + w[2] * x[2] = 5
  w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b = 6
  relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b) = 6
  unit = 6

backward, from the output: each local derivative, times the derivative from above
  ∂unit/∂relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b) = 1
    ∂relu(…)/∂(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b) = if … > 0 { 1 } else if … <= 0 { 0 } else { … } = 1; × 1 = 1
  ∂unit/∂(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b) = 1
    ∂(… + b)/∂(w[0] * x[0] + w[1] * x[1] + w[2] * x[2]) = 1; × 1 = 1
    ∂(… + b)/∂b = 1; × 1 = 1
  ∂unit/∂(w[0] * x[0] + w[1] * x[1] + w[2] * x[2]) = 1
    ∂(… + w[2] * x[2])/∂(w[0] * x[0] + w[1] * x[1]) = 1; × 1 = 1
    ∂(… + w[2] * x[2])/∂(w[2] * x[2]) = 1; × 1 = 1
  ∂unit/∂(w[2] * x[2]) = 1
    ∂(w[2] * x[2])/∂w[2] = x[2] = 3; × 1 = 3
    ∂(w[2] * x[2])/∂x[2] = w[2] = 2; × 1 = 2
  ∂unit/∂(w[0] * x[0] + w[1] * x[1]) = 1
    ∂(w[0] * x[0] + w[1] * x[1])/∂(w[0] * x[0]) = 1; × 1 = 1
    ∂(w[0] * x[0] + w[1] * x[1])/∂(w[1] * x[1]) = 1; × 1 = 1
  ∂unit/∂(w[1] * x[1]) = 1
    ∂(w[1] * x[1])/∂w[1] = x[1] = -2; × 1 = -2
    ∂(w[1] * x[1])/∂x[1] = w[1] = -1; × 1 = -1
  ∂unit/∂(w[0] * x[0]) = 1
    ∂(w[0] * x[0])/∂w[0] = x[0] = 1; × 1 = 1
    ∂(w[0] * x[0])/∂x[0] = w[0] = -3; × 1 = -3

partials
  ∂unit/∂x = [-3, -1, 2]
  ∂unit/∂w = [1, -2, 3]
  ∂unit/∂b = 1
";

#[test]
fn the_running_examples_trace_walks_the_notes() {
    let trace = unit::trace([1.0, -2.0, 3.0], [-3.0, -1.0, 2.0], 1.0);
    assert_eq!(trace.to_string(), UNIT_TRACE, "\n{trace}");
}

/// Every local step multiplies its local derivative by the derivative from
/// above, and the sum of what reaches an argument's element is its partial.
#[test]
fn each_step_is_the_product_of_its_factors() {
    let trace = unit::trace([0.5, -1.5, 2.0], [0.25, -2.0, 1.0], -0.5);
    let mut locals = 0;
    for step in &trace.backward {
        if let Backward::Local {
            local: Some(local),
            upstream,
            product,
            ..
        } = step
        {
            let (l, u, p) = (
                local.scalar().unwrap(),
                upstream.scalar().unwrap(),
                product.scalar().unwrap(),
            );
            assert_eq!(l * u, p, "{step:?}");
            locals += 1;
        }
    }
    // relu, three sums of two operands, three products of two.
    assert_eq!(locals, 1 + 3 * 2 + 3 * 2);
}

/// A two-layer network with a softmax and a sum: arrays all the way.
#[neuron]
pub fn net(
    x: [f64; 3],
    #[param] w1: [[f64; 3]; 4],
    #[param] b1: [f64; 4],
    #[param] w2: [f64; 4],
) -> f64 {
    let h = tanh(matvec(w1, x) + b1);
    let p = softmax(h * w2);
    dot(p, h) + sum(h) * 0.5
}

/// The hidden layer alone, called by [`chained`].
#[neuron]
pub fn hidden(#[param] w1: [[f64; 3]; 4], x: [f64; 3], #[param] b1: [f64; 4]) -> [f64; 4] {
    sigmoid(matvec(w1, x) + b1)
}

/// A network calling another neuron for its hidden layer.
#[neuron]
pub fn chained(
    x: [f64; 3],
    #[param] w1: [[f64; 3]; 4],
    #[param] b1: [f64; 4],
    #[param] w2: [f64; 4],
) -> f64 {
    let h: [f64; 4] = hidden(w1, x, b1);
    ln(1.0 + exp(dot(w2, h)))
}

/// A generic neuron in f32, with a kink (`max`) and a division.
#[neuron]
pub fn ratio<T: Real>(a: T, #[param] v: [T; 3]) -> T {
    max(v[0], a) / (1.0 + square(v[1])) - v[2] * a
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + x.abs().max(y.abs())))
}

fn flat<const N: usize, const M: usize>(m: &[[f64; N]; M]) -> Vec<f64> {
    m.iter().flatten().copied().collect()
}

#[test]
fn a_networks_trace_has_gradients_partials() {
    let x = [0.3, -1.2, 0.8];
    let w1 = [
        [0.1, -0.4, 0.9],
        [1.1, 0.2, -0.3],
        [-0.7, 0.5, 0.05],
        [0.6, -0.9, 0.4],
    ];
    let b1 = [0.1, -0.2, 0.3, 0.0];
    let w2 = [1.5, -0.5, 0.25, 2.0];
    let (y, g) = net::gradient(x, w1, b1, w2);
    let trace = net::trace(x, w1, b1, w2);
    assert_eq!(trace.output.as_ref().and_then(Value::scalar), Some(y));
    let partial = |name| trace.partial_of(name).unwrap().data.clone();
    assert!(close(&partial("x"), &g.x), "{trace}");
    assert!(close(&partial("w1"), &flat(&g.w1)), "{trace}");
    assert!(close(&partial("b1"), &g.b1), "{trace}");
    assert!(close(&partial("w2"), &g.w2), "{trace}");
    assert_eq!(trace.partial_of("w1").unwrap().shape, vec![4, 3]);
    let text = trace.to_string();
    // The user's names and subexpressions label the steps.
    for line in [
        "  h = tanh(matvec(w1, x) + b1) = [",
        "  p = softmax(h * w2) = [",
        "  matvec(w1, x) = [",
        "  ∂net/∂p = [",
        // A local derivative that is a named value is written by its name.
        "    ∂dot(p, h)/∂p = h = [",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    // A Jacobian is never formed: softmax's step is a vector-Jacobian product.
    assert!(
        text.contains("· ∂p/∂(h * w2) = [") && text.contains("(vector-Jacobian product)"),
        "{text}"
    );
}

#[test]
fn a_call_of_another_neuron_is_one_step_through_its_backward() {
    let x = [0.3, -1.2, 0.8];
    let w1 = [
        [0.1, -0.4, 0.9],
        [1.1, 0.2, -0.3],
        [-0.7, 0.5, 0.05],
        [0.6, -0.9, 0.4],
    ];
    let b1 = [0.1, -0.2, 0.3, 0.0];
    let w2 = [1.5, -0.5, 0.25, 2.0];
    let (y, g) = chained::gradient(x, w1, b1, w2);
    let trace = chained::trace(x, w1, b1, w2);
    assert_eq!(trace.output.as_ref().and_then(Value::scalar), Some(y));
    assert!(close(&trace.partial_of("x").unwrap().data, &g.x));
    assert!(close(&trace.partial_of("w1").unwrap().data, &flat(&g.w1)));
    assert!(close(&trace.partial_of("b1").unwrap().data, &g.b1));
    assert!(close(&trace.partial_of("w2").unwrap().data, &g.w2));
    let text = trace.to_string();
    assert!(text.contains("  h = hidden(w1, x, b1) = ["), "{text}");
    for wrt in ["w1", "x", "b1"] {
        assert!(
            text.contains(&format!("· ∂h/∂{wrt} = [")),
            "no step of `hidden` to {wrt} in\n{text}"
        );
    }
}

#[test]
fn a_generic_neurons_trace_in_f32() {
    for (a, v) in [(0.5_f32, [1.5_f32, -2.0, 0.25]), (2.0, [1.5, 0.5, -1.0])] {
        let (y, g) = ratio::gradient(a, v);
        let trace = ratio::trace(a, v);
        assert_eq!(
            trace.output.as_ref().and_then(Value::scalar),
            Some(f64::from(y))
        );
        assert_eq!(trace.partial_of("a").unwrap().data, vec![f64::from(g.a)]);
        let want: Vec<f64> = g.v.iter().map(|&d| f64::from(d)).collect();
        assert_eq!(trace.partial_of("v").unwrap().data, want);
    }
    // The kink's rule shows as the select that implements it.
    let text = ratio::trace(0.5_f32, [1.5, -2.0, 0.25]).to_string();
    assert!(
        text.contains("∂max(v[0], a)/∂v[0] = if v[0] > a {"),
        "{text}"
    );
}

/// Every `->` joins two declared nodes, braces balance, statements end.
fn check_dot(dot: &str) -> Vec<String> {
    assert!(dot.starts_with("digraph "), "{dot}");
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    for c in dot.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (_, false, '"') => in_string = !in_string,
            (false, _, '{') => depth += 1,
            (false, _, '}') => {
                depth -= 1;
                assert!(depth >= 0, "unbalanced braces in\n{dot}");
            }
            _ => {}
        }
    }
    assert!(!in_string && depth == 0, "unbalanced in\n{dot}");
    let mut declared = Vec::new();
    let mut edges = Vec::new();
    for line in dot.lines().map(str::trim) {
        if let Some((from, to)) = line.strip_suffix(';').and_then(|l| l.split_once(" -> ")) {
            edges.push((from.to_string(), to.to_string()));
        } else if let Some((id, rest)) = line.split_once(" [label=\"") {
            assert!(rest.ends_with("];"), "{line}");
            declared.push(id.to_string());
        }
    }
    assert!(!edges.is_empty());
    for (from, to) in &edges {
        assert!(
            declared.contains(from) && declared.contains(to),
            "edge {from} -> {to} with an undeclared end in\n{dot}"
        );
    }
    declared
}

#[test]
fn dot_draws_both_graphs() {
    let dot = unit::DOT;
    check_dot(dot);
    let forward = dot
        .split("subgraph cluster_forward")
        .nth(1)
        .and_then(|s| s.split("subgraph cluster_backward").next())
        .unwrap();
    let backward = dot.split("subgraph cluster_backward").nth(1).unwrap();
    for label in [
        "\"x\"",
        "\"w[0] * x[0]\"",
        "\"w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b\"",
        "\"relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)\"",
    ] {
        assert!(
            forward.contains(label),
            "no {label} in the forward cluster of\n{dot}"
        );
    }
    for label in [
        "\"d_x_0 = d_sum * w[0]\"",
        "\"d_w = [d_w_0, d_w_1, d_w_2]\"",
    ] {
        assert!(
            backward.contains(label),
            "no {label} in the backward cluster of\n{dot}"
        );
    }
    for partial in ["∂unit/∂x", "∂unit/∂w", "∂unit/∂b"] {
        assert!(dot.contains(partial), "{dot}");
    }
    check_dot(net::DOT);
    check_dot(chained::DOT);
    check_dot(hidden::DOT);
    if let Ok(status) = std::process::Command::new("dot")
        .arg("-Tsvg")
        .arg("-o")
        .arg(if cfg!(windows) { "NUL" } else { "/dev/null" })
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(dot.as_bytes())?;
            child.wait()
        })
    {
        assert!(status.success(), "dot rejected\n{dot}");
    }
}

#[test]
fn the_running_examples_cost() {
    let c = unit::COST;
    // Forward: w[0]*x[0] + w[1]*x[1] + w[2]*x[2] + b is 3 multiplies and
    // 3 adds; relu one comparison: 7.
    assert_eq!((c.forward.multiplies, c.forward.adds), (3, 3));
    assert_eq!(c.forward.comparisons, 1);
    assert_eq!(c.forward.total(), 7);
    // Backward: relu'(s) is one select, `s > 0`, then `s <= 0` to let a NaN
    // through: 2 comparisons; ∂x[i] = relu'·w[i] and ∂w[i] = relu'·x[i]
    // are 6 multiplies; ∂b = relu' is free: 8.
    assert_eq!(c.backward.multiplies, 6);
    assert_eq!(c.backward.comparisons, 2);
    assert_eq!(c.backward.adds, 0);
    assert_eq!(c.backward.total(), 8);
    assert_eq!(c.ratio(), 8.0 / 7.0);
    // The generic item on `Model` is the same constant.
    assert_eq!(unit::Model::COST, c);
}

/// 2-64-3: a tanh hidden layer and a linear output.
#[neuron]
pub fn classifier(
    x: [f64; 2],
    #[param] w1: [[f64; 2]; 64],
    #[param] b1: [f64; 64],
    #[param] w2: [[f64; 64]; 3],
    #[param] b2: [f64; 3],
) -> [f64; 3] {
    let h = tanh(matvec(w1, x) + b1);
    matvec(w2, h) + b2
}

#[test]
fn a_2_64_3_networks_cost() {
    let c = classifier::COST;
    // Forward: matvec(w1, x) is 64·2 = 128 multiplies and 128 adds; + b1
    // 64 adds; tanh 64 calls; matvec(w2, h) 3·64 = 192 multiplies and 192
    // adds, and its rows of 64 keep sixteen partial sums, 15 adds more
    // per row to add them up; + b2 3 adds.
    assert_eq!(c.forward.multiplies, 128 + 192);
    assert_eq!(c.forward.adds, 128 + 64 + 192 + 3 * 15 + 3);
    assert_eq!(c.forward.calls, 64);
    assert_eq!(c.forward.total(), 320 + 432 + 64);
    // Backward from dy: ∂b2 = dy is free; ∂w2[i][j] = dy[i]·h[j] is 192
    // multiplies; ∂h = w2ᵀ·dy 192 multiplies and 192 adds; tanh' times it,
    // d·(1 - h·h), is 2 multiplies and 1 subtraction for each of 64; ∂b1
    // is that, free; ∂w1[i][j] = that[i]·x[j] is 128 multiplies; ∂x =
    // w1ᵀ·that 128 multiplies and 128 adds.
    assert_eq!(c.backward.multiplies, 192 + 192 + 128 + 128 + 128);
    assert_eq!(c.backward.adds, 192 + 64 + 128);
    assert_eq!(c.backward.calls, 0);
    assert_eq!(c.backward.total(), 768 + 384);
    assert_eq!(c.ratio(), 1152.0 / 816.0);
}

/// The README's example, run as written there.
#[test]
fn the_readme_example_runs() {
    // readme:begin
    let trace = unit::trace([1.0, -2.0, 3.0], [-3.0, -1.0, 2.0], 1.0);
    println!("{trace}");
    assert_eq!(trace.partial_of("w").unwrap().data, [1.0, -2.0, 3.0]);
    let text = trace.to_string();
    assert!(text.contains("∂(w[0] * x[0])/∂x[0] = w[0] = -3; × 1 = -3"));

    std::fs::write(std::env::temp_dir().join("unit.dot"), unit::DOT).unwrap();
    // forward: 3 multiplies, 3 adds and relu's comparison; backward: 6
    // multiplies and relu's select (two comparisons, so that NaN stays NaN).
    let cost = unit::COST;
    assert_eq!((cost.forward.total(), cost.backward.total()), (7, 8));
    println!("{cost}");
    // readme:end
    let this = include_str!("seeing.rs");
    let code = this
        .split("    // readme:begin\n")
        .nth(1)
        .and_then(|rest| rest.split("    // readme:end").next())
        .expect("the README example between its markers");
    let code: String = code
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains(&format!("```rust\n{code}```")),
        "README.md's \"Seeing the chain rule\" example differs from this test's:\n{code}"
    );
}

/// A layer generic in its float type and lengths.
#[neuron]
pub fn dense<T: Real, const I: usize, const O: usize>(
    x: [T; I],
    #[param] w: [[T; I]; O],
    #[param] b: [T; O],
) -> [T; O] {
    matvec(w, x) + b
}

#[test]
fn a_generic_layers_cost_follows_its_lengths() {
    let c = dense::Model::<f64, 3, 2>::COST;
    // Forward: matvec is O·I = 6 multiplies and 6 adds; its rows, of a
    // const-generic width, keep sixteen partial sums joined by 15 adds
    // each (O·15 = 30); + b is O = 2 adds.
    assert_eq!((c.forward.multiplies, c.forward.adds), (6, 38));
    // Backward from dy: ∂b = dy is free; ∂w[o][i] = dy[o]·x[i] is O·I = 6
    // multiplies; ∂x = wᵀ·dy is O·I = 6 multiplies and 6 adds.
    assert_eq!((c.backward.multiplies, c.backward.adds), (12, 6));
    let big = dense::Model::<f64, 30, 20>::COST;
    assert_eq!(
        (big.forward.multiplies, big.forward.adds),
        (600, 600 + 20 * 15 + 20)
    );
    assert_eq!((big.backward.multiplies, big.backward.adds), (1200, 600));
    // The bytes follow the float type.
    let single = dense::Model::<f32, 30, 20>::COST;
    assert_eq!(single.forward, big.forward);
    assert_eq!(2 * single.gradient_bytes, big.gradient_bytes);
    assert!(single.gradient_bytes > 0);
}

/// A sum of two named values bound by `let`.
#[neuron]
pub fn biased(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    let z = dot(w, x) + b;
    z * z
}

#[test]
fn a_named_sum_is_counted() {
    // Forward: dot is 3 multiplies and 3 adds (from 0); `z = dot + b` is
    // one add; `z * z` one multiply.
    let c = biased::COST;
    assert_eq!((c.forward.multiplies, c.forward.adds), (4, 4), "{c}");
}
