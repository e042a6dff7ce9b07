//! The generated `Model::forward_backward` (one forward pass, parameters'
//! adjoints only, arguments read in place) agrees with `forward` followed
//! by `backward`, the trait's default, for neurons of every kind.

use neuron_core::prelude::*;

/// The running example.
#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
}

/// A softmax classifier with a vector output.
#[neuron]
pub fn classifier(
    x: [f64; 2],
    #[param] w1: [[f64; 2]; 8],
    #[param] b1: [f64; 8],
    #[param] w2: [[f64; 8]; 3],
    #[param] b2: [f64; 3],
) -> [f64; 3] {
    let h = tanh(matvec(w1, x) + b1);
    softmax(matvec(w2, h) + b2)
}

/// A layer called by [`stacked`].
#[neuron]
pub fn layer(x: [f64; 2], #[param] w: [[f64; 2]; 4], #[param] b: [f64; 4]) -> [f64; 4] {
    sigmoid(matvec(w, x) + b)
}

/// Calls [`layer`], with a scalar parameter too.
#[neuron]
pub fn stacked(
    x: [f64; 2],
    #[param] w: [[f64; 2]; 4],
    #[param] b: [f64; 4],
    #[param] v: [f64; 4],
    #[param] c: f64,
) -> f64 {
    let h: [f64; 4] = layer(x, w, b);
    softplus(dot(v, h) + c)
}

/// Two inputs, one of them scalar; the output is one of the parameters
/// times an input, so `y` is used by the backward pass.
#[neuron]
pub fn two_inputs<T: Real>(x: [T; 2], t: T, #[param] a: T, #[param] w: [T; 2]) -> T {
    let z = a * t + dot(w, x);
    exp(z) * a
}

/// The output is an argument's element: nothing to bind before `dy`.
#[neuron]
pub fn pick(x: [f64; 3], #[param] w: [f64; 3]) -> f64 {
    w[1] + 0 * x[0]
}

/// A model's output and the parameter gradients it accumulated.
type Step<M> = (<M as Model>::Output, <M as Model>::Params);

/// `forward_backward` of `model`, and the same through the default path.
fn both<M>(model: &M, input: &M::Input, scale: f64) -> (Step<M>, Step<M>)
where
    M: Model<Real = f64>,
{
    let loss_grad = |y: &M::Output| {
        let mut d = *y;
        for (k, v) in d.as_mut_slice().iter_mut().enumerate() {
            *v = scale * (*v + k as f64);
        }
        d
    };
    let mut fast = M::Params::zeros();
    let y_fast = model.forward_backward(input, loss_grad, &mut fast);
    let mut slow = M::Params::zeros();
    let y = model.forward(input);
    let dy = loss_grad(&y);
    let y_slow = model.backward(input, &dy, &mut slow);
    ((y_fast, fast), (y_slow, slow))
}

fn assert_same<M: Model<Real = f64>>(name: &str, model: &M, input: &M::Input) {
    for scale in [1.0, -0.25] {
        let ((yf, gf), (ys, gs)) = both(model, input, scale);
        assert_eq!(yf.as_slice(), ys.as_slice(), "{name}: outputs");
        let (gf, gs) = (gf.to_vec(), gs.to_vec());
        for (k, (a, b)) in gf.iter().zip(&gs).enumerate() {
            assert!(
                (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0),
                "{name}: parameter {k}: {a} vs {b}"
            );
        }
        assert!(
            gf.iter().any(|g| *g != 0.0),
            "{name}: all gradients zero, the check would be empty"
        );
    }
}

#[test]
fn generated_training_step_matches_forward_then_backward() {
    assert_same(
        "unit",
        &unit::Model::new(unit::Params::new([-3.0, -1.0, 2.0], 1.0)),
        &[1.0, -2.0, 3.0],
    );
    assert_same(
        "classifier",
        &classifier::Model::new(classifier::Params::random(0.7, 1)),
        &[0.3, -0.8],
    );
    assert_same(
        "stacked",
        &stacked::Model::new(stacked::Params::random(0.7, 2)),
        &[0.5, 0.25],
    );
    assert_same(
        "two_inputs",
        &two_inputs::Model::new(two_inputs::Params::random(0.5, 3)),
        &([0.2, -0.4], 0.7),
    );
    assert_same(
        "pick",
        &pick::Model::new(pick::Params::random(1.0, 4)),
        &[1.0, 2.0, 3.0],
    );
}

#[test]
fn generated_training_step_adds_into_the_accumulator() {
    let model = unit::Model::new(unit::Params::new([-3.0, -1.0, 2.0], 1.0));
    let mut grads = unit::Params::new([10.0, 10.0, 10.0], 10.0);
    let y = model.forward_backward(&[1.0, -2.0, 3.0], |_| 2.0, &mut grads);
    assert_eq!(y, 6.0);
    assert_eq!(grads, unit::Params::new([12.0, 6.0, 16.0], 12.0));
}

/// A parameter the output does not depend on: the training step still
/// computes the loss, which the trainer reads.
#[neuron]
pub fn constant_in_w(x: f64, #[param] w: f64) -> f64 {
    x * 2.0
}

#[test]
fn the_loss_is_computed_even_where_no_gradient_needs_it() {
    let model = constant_in_w::Model::new(constant_in_w::Params { w: 0.5 });
    let mut grads = constant_in_w::Params { w: 0.0 };
    let mut asked = 0;
    let y = model.forward_backward(
        &1.5,
        |y| {
            asked += 1;
            *y - 1.0
        },
        &mut grads,
    );
    assert_eq!((y, asked, grads.w), (3.0, 1, 0.0));
    let mut model = model;
    let data = [(1.5, 3.0), (-1.0, -2.0)];
    let history = Trainer::new(Sgd::new(0.1), MeanSquaredError)
        .epochs(3)
        .progress(false)
        .fit(&mut model, &data)
        .expect("nothing is NaN: the loss is zero");
    assert_eq!(history.losses(), vec![0.0; 3]);
}
