//! Layers generic over their sizes: `const` parameters as array lengths,
//! checked symbolically by the macro and instantiated by rustc. One layer
//! is called at two sizes by one network, and every gradient is checked
//! against finite differences.

mod fd;

use fd::{assert_all_close, central};
use neuron_core::prelude::*;

/// A dense layer of any size and float type.
#[neuron]
pub fn dense<T: Real, const I: usize, const O: usize>(
    x: [T; I],
    #[param] w: [[T; I]; O],
    #[param] b: [T; O],
) -> [T; O] {
    matvec(w, x) + b
}

/// A 2-4-3 network built from `dense` at two sizes.
#[neuron(gradcheck)]
pub fn two_layers(
    x: [f64; 2],
    #[param] w1: [[f64; 2]; 4],
    #[param] b1: [f64; 4],
    #[param] w2: [[f64; 4]; 3],
    #[param] b2: [f64; 3],
) -> f64 {
    let h: [f64; 4] = dense(x, w1, b1);
    let o: [f64; 3] = dense(tanh(h), w2, b2);
    log_softmax(o)[1]
}

/// Reductions and element-wise work over a length that is a parameter.
#[neuron]
pub fn pooled<const N: usize>(v: [f64; N], #[param] w: [f64; N], #[param] s: f64) -> f64 {
    let z = tanh(w * v + s);
    mean(z) + dot(w, v) * sum(z) + logsumexp(z) + v[0]
}

/// The functions that read an element of their argument before any other
/// (the largest, the smallest, the shift of the softmaxes), which a length
/// of 0 would leave without one: refused then (`ui/generic-length-zero.rs`),
/// right at every other length.
#[neuron]
pub fn extremes<const N: usize>(v: [f64; N], #[param] w: [f64; N]) -> f64 {
    let z = w * v;
    max(z) - min(z) + log_softmax(z)[0] + dot(softmax(z), v) + logsumexp(z)
}

fn flatten(
    x: [f64; 2],
    w1: [[f64; 2]; 4],
    b1: [f64; 4],
    w2: [[f64; 4]; 3],
    b2: [f64; 3],
) -> Vec<f64> {
    let mut all = x.to_vec();
    all.extend(w1.as_flattened());
    all.extend(b1);
    all.extend(w2.as_flattened());
    all.extend(b2);
    all
}

#[test]
fn one_layer_at_two_sizes_has_the_right_gradient() {
    let x = [0.5, -1.25];
    let w1 = [[0.1, -0.3], [0.7, 0.2], [-0.5, 0.4], [0.3, 0.9]];
    let b1 = [0.05, -0.1, 0.2, 0.0];
    let w2 = [
        [0.2, -0.4, 0.6, 0.1],
        [-0.3, 0.5, 0.1, -0.2],
        [0.4, 0.3, -0.7, 0.5],
    ];
    let b2 = [0.1, -0.05, 0.02];
    let (y, g) = two_layers::gradient(x, w1, b1, w2, b2);
    assert_eq!(y, two_layers(x, w1, b1, w2, b2));
    let f = |p: &[f64]| {
        let x = [p[0], p[1]];
        let w1: [[f64; 2]; 4] = std::array::from_fn(|i| [p[2 + 2 * i], p[3 + 2 * i]]);
        let b1: [f64; 4] = std::array::from_fn(|i| p[10 + i]);
        let w2: [[f64; 4]; 3] = std::array::from_fn(|i| std::array::from_fn(|j| p[14 + 4 * i + j]));
        let b2: [f64; 3] = std::array::from_fn(|i| p[26 + i]);
        two_layers(x, w1, b1, w2, b2)
    };
    let point = flatten(x, w1, b1, w2, b2);
    let numeric = central(f, &point, 1e-6);
    let analytic = flatten(g.x, g.w1, g.b1, g.w2, g.b2);
    assert_all_close("two_layers", &point, &analytic, &numeric, 1e-6);
}

#[test]
fn a_generic_layer_instantiates_at_any_size() {
    let (y, g) = dense::backward([1.0f32, 2.0, 3.0], [[1.0, 0.0, -1.0]], [0.5], [2.0]);
    assert_eq!(y, [-1.5]);
    assert_eq!(g.w, [[2.0, 4.0, 6.0]]);
    assert_eq!(g.x, [2.0, 0.0, -2.0]);
    gradcheck_random::<dense::Model<f64, 5, 3>>(16, 7, 1e-6).expect("dense 5 to 3");
    gradcheck_random::<pooled::Model<7>>(16, 7, 1e-6).expect("pooled over 7");
    gradcheck_random::<pooled::Model<1>>(16, 7, 1e-6).expect("pooled over 1");
}

#[test]
fn reading_a_first_element_is_right_at_every_length_from_one() {
    gradcheck_random::<extremes::Model<1>>(16, 3, 1e-6).expect("extremes of 1");
    gradcheck_random::<extremes::Model<2>>(16, 3, 1e-6).expect("extremes of 2");
    gradcheck_random::<extremes::Model<16>>(16, 3, 1e-6).expect("extremes of 16");
    gradcheck_random::<extremes::Model<33>>(16, 3, 1e-6).expect("extremes of 33");
    // At one element: max and min are that element, its log-probability
    // is 0 and its probability 1, so the value is `v[0] + w[0] * v[0]`.
    let (y, g) = extremes::gradient([3.0], [0.5]);
    assert_eq!(y, 3.0 + 1.5);
    assert_eq!(g.v, [1.5]);
    assert_eq!(g.w, [3.0]);
    // Every body checks the length before it reads an element.
    assert!(
        extremes::SOURCE.contains("nonzero_length(N)"),
        "{}",
        extremes::SOURCE
    );
}

#[test]
fn generated_code_does_not_depend_on_the_length() {
    // The generated source names the length, and never unrolls it.
    assert!(pooled::SOURCE.contains("0..N"), "{}", pooled::SOURCE);
    assert!(dense::SOURCE.contains("[[T; I]; O]"), "{}", dense::SOURCE);
}
