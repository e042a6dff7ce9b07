//! A network written as calls of annotated layers trains like the same
//! network written as one function: the callee's forward pass keeps what
//! its backward pass reads (`Called`), the callee adds each parameter's
//! partial straight into the caller's accumulator (`backward_add`), and
//! partials nobody reads are not computed. Checked through the whole path
//! against the fused network, the default training step and finite
//! differences.

use neuron_core::prelude::*;

/// A fully connected layer with a ReLU.
#[neuron]
pub fn dense_relu<T: Real, const I: usize, const O: usize>(
    x: [T; I],
    #[param] w: [[T; I]; O],
    #[param] b: [T; O],
) -> [T; O] {
    relu(matvec(w, x) + b)
}

/// A fully connected layer with a sigmoid: its backward pass reads its
/// own output.
#[neuron]
pub fn dense_sigmoid<T: Real, const I: usize, const O: usize>(
    x: [T; I],
    #[param] w: [[T; I]; O],
    #[param] b: [T; O],
) -> [T; O] {
    sigmoid(matvec(w, x) + b)
}

/// Logits.
#[neuron]
pub fn dense<T: Real, const I: usize, const O: usize>(
    x: [T; I],
    #[param] w: [[T; I]; O],
    #[param] b: [T; O],
) -> [T; O] {
    matvec(w, x) + b
}

/// Three layers as calls.
#[neuron]
pub fn chained(
    x: [f64; 3],
    #[param] w1: [[f64; 3]; 5],
    #[param] b1: [f64; 5],
    #[param] w2: [[f64; 5]; 4],
    #[param] b2: [f64; 4],
    #[param] w3: [[f64; 4]; 2],
    #[param] b3: [f64; 2],
) -> [f64; 2] {
    let h: [f64; 5] = dense_relu(x, w1, b1);
    let k: [f64; 4] = dense_sigmoid(h, w2, b2);
    let y: [f64; 2] = dense(k, w3, b3);
    y
}

/// The same network written as one function.
#[neuron]
pub fn fused(
    x: [f64; 3],
    #[param] w1: [[f64; 3]; 5],
    #[param] b1: [f64; 5],
    #[param] w2: [[f64; 5]; 4],
    #[param] b2: [f64; 4],
    #[param] w3: [[f64; 4]; 2],
    #[param] b3: [f64; 2],
) -> [f64; 2] {
    let h = relu(matvec(w1, x) + b1);
    let k = sigmoid(matvec(w2, h) + b2);
    matvec(w3, k) + b3
}

/// Wider layers as calls: rows of 40 and of 36 columns, which keep
/// partial sums, in layers of few rows (8 and 3) and of many (36).
#[neuron]
pub fn wide_chained(
    x: [f64; 40],
    #[param] w1: [[f64; 40]; 8],
    #[param] b1: [f64; 8],
    #[param] w2: [[f64; 8]; 36],
    #[param] b2: [f64; 36],
    #[param] w3: [[f64; 36]; 3],
    #[param] b3: [f64; 3],
) -> [f64; 3] {
    let h: [f64; 8] = dense_relu(x, w1, b1);
    let k: [f64; 36] = dense_sigmoid(h, w2, b2);
    let y: [f64; 3] = dense(k, w3, b3);
    y
}

/// [`wide_chained`] written as one function, its lengths written out.
#[neuron]
pub fn wide_fused(
    x: [f64; 40],
    #[param] w1: [[f64; 40]; 8],
    #[param] b1: [f64; 8],
    #[param] w2: [[f64; 8]; 36],
    #[param] b2: [f64; 36],
    #[param] w3: [[f64; 36]; 3],
    #[param] b3: [f64; 3],
) -> [f64; 3] {
    let h = relu(matvec(w1, x) + b1);
    let k = sigmoid(matvec(w2, h) + b2);
    matvec(w3, k) + b3
}

/// One layer's parameters used by two calls, and the result of the first
/// call read again after the second: the partials of the shared weights
/// are summed by the caller, not added in place by either callee.
#[neuron]
pub fn shared(x: [f64; 3], #[param] w: [[f64; 3]; 3], #[param] b: [f64; 3]) -> f64 {
    let h: [f64; 3] = dense_relu(x, w, b);
    let k: [f64; 3] = dense_sigmoid(h, w, b);
    sum(k * h)
}

/// [`shared`] written as one function.
#[neuron]
pub fn shared_fused(x: [f64; 3], #[param] w: [[f64; 3]; 3], #[param] b: [f64; 3]) -> f64 {
    let h = relu(matvec(w, x) + b);
    let k = sigmoid(matvec(w, h) + b);
    sum(k * h)
}

/// An input of the caller passed to a layer as its weights: its partial
/// is not needed for training, the bias's is.
#[neuron]
pub fn input_weights(x: [f64; 2], m: [[f64; 2]; 3], #[param] b: [f64; 3]) -> [f64; 3] {
    let y: [f64; 3] = dense_sigmoid(x, m, b);
    y
}

fn params<P: Parameters<f64>>(seed: u64) -> P {
    P::random(0.8, seed)
}

/// `forward_backward` of `model` at `input` with the loss gradient
/// `dy = scale * (y + k)`.
fn step<M: Model<Real = f64>>(model: &M, input: &M::Input, scale: f64) -> (M::Output, Vec<f64>) {
    let mut grads = M::Params::zeros();
    let y = model.forward_backward(
        input,
        |y: &M::Output| {
            let mut d = *y;
            for (k, v) in d.as_mut_slice().iter_mut().enumerate() {
                *v = scale * (*v + k as f64);
            }
            d
        },
        &mut grads,
    );
    (y, grads.to_vec())
}

#[test]
fn calls_of_layers_train_like_the_network_written_as_one_function() {
    for seed in 0..20 {
        let p: fused::Params = params(seed);
        let fused_model = fused::Model::new(p.clone());
        let chained_model = chained::Model::new(chained::Params::from_slice(&p.to_vec()).unwrap());
        let x = [0.3 * seed as f64 - 2.0, 0.7, -0.4 + 0.1 * seed as f64];
        for scale in [1.0, -0.5] {
            let (yf, gf) = step(&fused_model, &x, scale);
            let (yc, gc) = step(&chained_model, &x, scale);
            // The same operations in the same order: equal values.
            assert_eq!(yf, yc, "seed {seed}: outputs");
            assert_eq!(gf, gc, "seed {seed}: parameter gradients");
            assert!(gc.iter().any(|g| *g != 0.0), "seed {seed}: all zero");
        }
        // The by-value gradient goes through `Called::backward`.
        let dy = [0.5, -1.5];
        let (yb, gb) = chained::backward(x, *p.w1, *p.b1, *p.w2, *p.b2, *p.w3, *p.b3, dy);
        let (yfb, gfb) = fused::backward(x, *p.w1, *p.b1, *p.w2, *p.b2, *p.w3, *p.b3, dy);
        assert_eq!(yb, yfb);
        assert_eq!(gb.x, gfb.x, "seed {seed}: the input's partial");
        assert_eq!(gb.w1, gfb.w1);
        assert_eq!(gb.b2, gfb.b2);
        assert_eq!(gb.w3, gfb.w3);
    }
}

/// A layer generic in its lengths computes what the same layer with its
/// lengths written computes, bit for bit, at every size: long rows keep
/// partial sums whether the lengths are known to the macro or not, and
/// however many rows there are.
#[test]
fn generic_layers_with_long_rows_train_like_the_network_written_as_one_function() {
    for seed in 0..10 {
        let p: wide_fused::Params = params(200 + seed);
        let fused_model = wide_fused::Model::new(p.clone());
        let chained_model =
            wide_chained::Model::new(wide_chained::Params::from_slice(&p.to_vec()).unwrap());
        let x: [f64; 40] = std::array::from_fn(|i| ((i as f64 + 0.5 * seed as f64) * 0.7).sin());
        for scale in [1.0, -0.5] {
            let (yf, gf) = step(&fused_model, &x, scale);
            let (yc, gc) = step(&chained_model, &x, scale);
            assert_eq!(yf, yc, "seed {seed}: outputs");
            assert_eq!(gf, gc, "seed {seed}: parameter gradients");
            assert!(gc.iter().any(|g| *g != 0.0), "seed {seed}: all zero");
        }
    }
}

#[test]
fn layers_sharing_parameters_sum_their_partials() {
    for seed in 0..20 {
        let p: shared_fused::Params = params(100 + seed);
        let x = [0.5, -1.0 + 0.1 * seed as f64, 0.25];
        let one = shared_fused::Model::new(p.clone());
        let calls = shared::Model::new(shared::Params::from_slice(&p.to_vec()).unwrap());
        let (yf, gf) = step(&one, &x, 0.75);
        let (yc, gc) = step(&calls, &x, 0.75);
        assert_eq!(yf, yc);
        for (k, (a, b)) in gf.iter().zip(&gc).enumerate() {
            assert!(
                (a - b).abs() <= 1e-14 * a.abs().max(1.0),
                "seed {seed}: parameter {k}: {a} vs {b}"
            );
        }
        // And the training step agrees with forward then backward.
        let mut slow = shared::Params::zeros();
        let y = calls.forward(&x);
        calls.backward(&x, &(0.75 * y), &mut slow);
        assert_eq!(slow.to_vec(), gc);
    }
    // Against finite differences, through every argument.
    gradcheck_random::<shared::Model>(64, 5, 1e-6).unwrap();
    gradcheck_random::<chained::Model>(64, 6, 1e-6).unwrap();
}

#[test]
fn a_layer_adds_only_the_partials_training_reads() {
    let model = input_weights::Model::new(input_weights::Params::new([0.1, -0.2, 0.3]));
    let input = ([0.5, -0.5], [[1.0, 2.0], [-1.0, 0.5], [0.25, 0.0]]);
    let (y, g) = step(&model, &input, 1.0);
    // By hand: y = sigmoid(m x + b), dy = y + k, ∂b = dy · y (1 - y).
    let z: [f64; 3] = [-0.5 + 0.1, -0.75 - 0.2, 0.125 + 0.3];
    for k in 0..3 {
        let s = 1.0 / (1.0 + (-z[k]).exp());
        assert!((y[k] - s).abs() < 1e-15);
        let expected = (s + k as f64) * s * (1.0 - s);
        assert!(
            (g[k] - expected).abs() < 1e-12,
            "{k}: {} vs {expected}",
            g[k]
        );
    }
}

#[test]
fn a_generic_chain_in_f32_matches_its_f64_self() {
    let p: fused::Params = params(7);
    let x = [0.4, -0.3, 0.9];
    let (y64, g64) = step(
        &chained::Model::new(chained::Params::from_slice(&p.to_vec()).unwrap()),
        &x,
        1.0,
    );
    // Called at f32 through the same generic layers.
    let x32 = x.map(|v| v as f32);
    let w1 = p.w1.map(|r| r.map(|v| v as f32));
    let b1 = p.b1.map(|v| v as f32);
    let (h, h_call) = dense_relu::call(&x32, &w1, &b1).forward();
    let mut d_w1 = [[0.0f32; 3]; 5];
    h_call.backward_add([1.0; 5], &mut [None, Some(d_w1.as_flattened_mut()), None]);
    let (h64, h64_call) = dense_relu::call(&x, &p.w1, &p.b1).forward();
    let g = h64_call.backward([1.0; 5]);
    for i in 0..5 {
        assert!((f64::from(h[i]) - h64[i]).abs() < 1e-5);
        for (d32, d64) in d_w1[i].iter().zip(&g.w[i]) {
            assert!((f64::from(*d32) - d64).abs() < 1e-6);
        }
    }
    assert_eq!(y64.len(), 2);
    assert!(g64.iter().all(|v| v.is_finite()));
}

/// A layer whose binding is named like `Called::backward_add`'s own
/// parameter; the forward value kept for its backward pass has that name.
#[neuron]
pub fn soft_layer(x: f64, #[param] w: f64) -> f64 {
    let neuron_accumulators = x * w;
    neuron_accumulators * neuron_accumulators
}

/// `soft_layer` called, then scaled.
#[neuron]
pub fn soft_caller(x: f64, #[param] w: f64, #[param] v: f64) -> f64 {
    let y: f64 = soft_layer(x, w);
    y * v
}

#[test]
fn a_kept_value_named_like_a_generated_parameter_does_not_shadow_it() {
    gradcheck_random::<soft_caller::Model>(64, 7, 1e-6).unwrap();
    // d/dw v (x w)² = 2 v x² w, through the call.
    let model = soft_caller::Model::new(soft_caller::Params::new(0.5, 3.0));
    let mut grads = soft_caller::Params::zeros();
    model.forward_backward(&2.0, |_| 1.0, &mut grads);
    assert_eq!(grads.w, 2.0 * 3.0 * 4.0 * 0.5, "{grads:?}");
}
