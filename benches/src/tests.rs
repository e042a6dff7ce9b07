//! Every implementation of a gradient agrees with the generated one, so the
//! benchmarks compare the same work.

use crate::{dual, hand, inputs, neurons, tape};

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(a, b)| (a - b).abs() <= 1e-12 * (1.0 + a.abs()))
}

#[test]
fn running_example_hand_matches_generated() {
    let (x, w, b) = ([1.0, -2.0, 3.0], [-3.0, -1.0, 2.0], 1.0);
    let (y, g) = neurons::unit::gradient(x, w, b);
    let (yh, gh) = hand::unit_gradient(x, w, b);
    assert_eq!((y, g.x, g.w, g.b), (yh, gh.x, gh.w, gh.b));
}

#[test]
fn dot_gradients_agree() {
    let (x, w, b) = inputs::dot_case::<64>();
    let (y, g) = neurons::dot64::gradient(x, w, b);
    assert!(y > 0.0);
    let (yh, gh) = hand::dot64_gradient(x, w, b);
    assert_eq!((y, g.x, g.w, g.b), (yh, gh.x, gh.w, gh.b));

    let mut flat = g.x.to_vec();
    flat.extend_from_slice(&g.w);
    flat.push(g.b);
    let (yd, gd) = dual::dot_gradient_static::<64, 129>(&x, &w, b);
    assert!(close(&[y], &[yd]) && close(&flat, gd.as_slice()));
    let (yd, gd) = dual::dot_gradient_dynamic(&x, &w, b);
    assert!(close(&[y], &[yd]) && close(&flat, gd.as_slice()));

    let t = tape::dot_gradient(&x, &w, b);
    assert!(close(&[y], &[t.y]) && close(&g.x, &t.x) && close(&g.w, &t.w) && close(&[g.b], &[t.b]));
    let reused = reverse::Tape::new();
    let _ = tape::dot_gradient_reusing(&reused, &w, &x, b);
    assert_eq!(tape::dot_gradient_reusing(&reused, &x, &w, b), t);
}

/// At N = 1024 the generated `dot` keeps eight partial sums and the hand
/// loop one: the values agree to rounding, the partials exactly.
#[test]
fn borrowed_dot_gradients_agree() {
    let (x, w, b) = inputs::dot_case::<1024>();
    let (y, g) = neurons::dot1024::gradient_ref(&x, &w, b);
    let (yh, gh) = hand::dot1024_gradient_ref(&x, &w, b);
    assert!(y > 0.0 && close(&[y], &[yh]), "{y} {yh}");
    assert_eq!((g.x, g.w, g.b), (gh.x, gh.w, gh.b));
    let f = neurons::dot1024::forward_ref(&x, &w, b);
    assert!(close(&[f], &[hand::dot1024_forward_ref(&x, &w, b)]));
    assert_eq!(f, y);
}

#[test]
fn net_hand_matches_generated() {
    let (w1, b1, w2, b2) = inputs::net_params();
    let p = hand::NetParams {
        w1: &w1,
        b1: &b1,
        w2: &w2,
        b2: &b2,
    };
    let x = [0.3, -0.7];
    let dy = [0.2, -0.5, 0.3];
    let (y, g) = neurons::net::backward(x, w1, b1, w2, b2, dy);
    let (yh, gh) = hand::net_backward(x, w1, b1, w2, b2, dy);
    assert_eq!(hand::net_backward_ref(x, p, dy), (yh, gh));
    assert!(g.b1.contains(&0.0) && g.b1.iter().any(|&d| d != 0.0));
    assert!(close(&y, &yh));
    assert!(close(&y, &hand::net_forward(x, w1, b1, w2, b2)));
    assert!(close(&g.x, &gh.x) && close(&g.b1, &gh.b1) && close(&g.b2, &gh.b2));
    assert!(close(g.w1.as_flattened(), gh.w1.as_flattened()));
    assert!(close(g.w2.as_flattened(), gh.w2.as_flattened()));
}

/// The 784 → 128 layer with partial sums agrees with one accumulator per
/// row to rounding.
#[test]
fn wide_layer_agrees_with_the_hand_loop() {
    let x: Box<[f64; 784]> = Box::new(std::array::from_fn(|j| (j as f64 * 0.37).sin()));
    let mut w: Box<[[f64; 784]; 128]> = neuron_core::Tensor::boxed_zeros();
    for (i, row) in w.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = ((i * 784 + j) as f64 * 0.11).cos() * 0.05;
        }
    }
    let y = neurons::wide::forward_ref::<f64>(&x, &w);
    let yh = hand::wide_forward_ref(&x, &w);
    assert!(close(&y, &yh));
    assert!(y.iter().any(|&v| v != 0.0));
}
