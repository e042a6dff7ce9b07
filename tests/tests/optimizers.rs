//! Every optimizer trains a generated model: a linear neuron fitted by
//! mean squared error, and a logistic one by binary cross-entropy.

use neuron_core::prelude::*;

/// A linear neuron with two inputs.
#[neuron]
pub fn linear(x: [f64; 2], #[param] w: [f64; 2], #[param] b: f64) -> f64 {
    dot(w, x) + b
}

/// A logistic neuron with two inputs.
#[neuron]
pub fn logistic(x: [f64; 2], #[param] w: [f64; 2], #[param] b: f64) -> f64 {
    sigmoid(dot(w, x) + b)
}

/// `y = 2 x0 - 3 x1 + 0.5` on a grid.
fn line() -> Vec<([f64; 2], f64)> {
    let mut data = Vec::new();
    for i in 0..5 {
        for j in 0..5 {
            let x = [f64::from(i) / 2.0 - 1.0, f64::from(j) / 2.0 - 1.0];
            data.push((x, 2.0 * x[0] - 3.0 * x[1] + 0.5));
        }
    }
    data
}

/// Points labelled by which side of `x0 + x1 = 0` they are on.
fn halves() -> Vec<([f64; 2], f64)> {
    line()
        .into_iter()
        .map(|(x, _)| (x, if x[0] + x[1] > 0.0 { 1.0 } else { 0.0 }))
        .collect()
}

/// Trains `linear` with `optimizer` and returns the first and last loss.
fn fit_line<O: Optimizer<f64> + Clone>(optimizer: O, epochs: usize) -> (f64, f64) {
    let mut model = linear::Model::default();
    let mut trainer = Trainer::new(optimizer, MeanSquaredError)
        .epochs(epochs)
        .batch_size(5)
        .seed(1);
    let history = trainer.fit(&mut model, &line()).unwrap();
    let losses = history.losses();
    (losses[0], losses[losses.len() - 1])
}

#[test]
fn every_optimizer_fits_a_line() {
    let runs = [
        ("sgd", fit_line(Sgd::new(0.1), 200)),
        (
            "sgd with momentum and decay",
            fit_line(Sgd::new(0.1).with_momentum(0.9).with_decay(1e-3), 200),
        ),
        ("adagrad", fit_line(Adagrad::new(0.5), 200)),
        ("rmsprop", fit_line(RmsProp::new(0.02), 200)),
        ("adam", fit_line(Adam::new(0.05), 200)),
    ];
    for (name, (first, last)) in runs {
        assert!(last < 1e-3, "{name}: loss {first} -> {last}");
        assert!(last < first / 100.0, "{name}: loss {first} -> {last}");
    }
}

#[test]
fn a_logistic_neuron_learns_a_boundary() {
    let mut model = logistic::Model::default();
    let mut trainer = Trainer::new(Adam::new(0.1), BinaryCrossEntropy)
        .epochs(300)
        .seed(2);
    let history = trainer.fit(&mut model, &halves()).unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.accuracy, Some(1.0), "{last:?}");
    // The learned boundary is close to x0 + x1 = 0: equal weights.
    let w = model.params.w;
    assert!(w[0] > 0.0 && (w[0] - w[1]).abs() < 0.2 * w[0], "{w:?}");
}

#[test]
fn divergence_of_a_generated_model_is_an_error_naming_the_epoch() {
    let mut model = linear::Model::default();
    let mut trainer = Trainer::new(Sgd::new(1e6), MeanSquaredError).epochs(50);
    match trainer.fit(&mut model, &line()) {
        Err(TrainError::Diverged { epoch, .. }) => assert!(epoch >= 1, "epoch {epoch}"),
        other => panic!("expected divergence, got {other:?}"),
    }
    // The parameters are those from before the diverging epoch: finite.
    assert!(
        model.params.to_vec().iter().all(|v| v.is_finite()),
        "{:?}",
        model.params
    );
}

/// Parameters of several fields, scalar and arrays, so that an optimizer
/// steps runs of different lengths.
#[neuron]
pub fn fields(
    x: [f64; 3],
    #[param] w: [[f64; 3]; 2],
    #[param] b: [f64; 2],
    #[param] s: f64,
    #[param] v: [f64; 5],
) -> f64 {
    sum(matvec(w, x) + b) * s + sum(v)
}

/// Parameters and gradients of `fields`, of mixed signs and magnitudes,
/// one NaN-free value per scalar from `seed`.
fn fields_values(seed: u64) -> Vec<f64> {
    let len = <fields::Params as Parameters<f64>>::LEN;
    (0..len)
        .map(|k| {
            let t = (k as f64 + 1.0) * 0.7 + seed as f64 * 1.3;
            t.sin() * (1.0 + (k % 4) as f64)
        })
        .collect()
}

/// The runs a generated `Params` gives are its fields, in order, and
/// cover the scalars as `zip_mut` does.
#[test]
fn generated_parameters_step_one_run_per_field() {
    let mut params = fields::Params::from_slice(&fields_values(1)).unwrap();
    let grads = fields::Params::from_slice(&fields_values(2)).unwrap();
    let mut runs = Vec::new();
    params.zip_runs_mut(&grads, |k, run, other| {
        assert_eq!(run.len(), other.len());
        runs.push((k, run.len(), run.to_vec(), other.to_vec()));
    });
    let spans: Vec<(usize, usize)> = runs.iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(spans, [(0, 6), (6, 2), (8, 1), (9, 5)]);
    let mut own = Vec::new();
    params.for_each_run(|k, run| own.push((k, run.len())));
    assert_eq!(own, spans);
    let flat: Vec<f64> = runs.iter().flat_map(|r| r.2.clone()).collect();
    let other: Vec<f64> = runs.iter().flat_map(|r| r.3.clone()).collect();
    assert_eq!(flat, params.to_vec());
    assert_eq!(other, grads.to_vec());
}

/// Each optimizer's step over a generated `Params`, which it takes a field
/// at a time, against its rule written out scalar by scalar (nnfs's), for
/// three steps.
#[test]
fn optimizers_step_generated_parameters_by_their_rules() {
    let start = fields_values(3);
    let grads: Vec<Vec<f64>> = (4..7).map(fields_values).collect();
    let len = start.len();
    let stepped = |opt: &mut dyn FnMut(&mut fields::Params, &fields::Params)| {
        let mut params = fields::Params::from_slice(&start).unwrap();
        for g in &grads {
            opt(&mut params, &fields::Params::from_slice(g).unwrap());
        }
        params.to_vec()
    };

    // SGD with momentum 0.9, learning rate 0.1.
    let mut sgd = Sgd::new(0.1).with_momentum(0.9);
    let got = stepped(&mut |p, g| sgd.step(p, g));
    let (mut w, mut u) = (start.clone(), vec![0.0; len]);
    for g in &grads {
        for k in 0..len {
            u[k] = 0.9 * u[k] - 0.1 * g[k];
            w[k] += u[k];
        }
    }
    assert_eq!(got, w, "sgd with momentum");

    // Adagrad, learning rate 0.5, epsilon 1e-7.
    let mut adagrad = Adagrad::new(0.5);
    let got = stepped(&mut |p, g| adagrad.step(p, g));
    let (mut w, mut c) = (start.clone(), vec![0.0; len]);
    for g in &grads {
        for k in 0..len {
            c[k] += g[k] * g[k];
            w[k] += -0.5 * g[k] / (c[k].sqrt() + 1e-7);
        }
    }
    assert_eq!(got, w, "adagrad");

    // RMSprop, learning rate 0.02, rho 0.9, epsilon 1e-7.
    let mut rmsprop = RmsProp::new(0.02);
    let got = stepped(&mut |p, g| rmsprop.step(p, g));
    let (mut w, mut c) = (start.clone(), vec![0.0; len]);
    for g in &grads {
        for k in 0..len {
            c[k] = 0.9 * c[k] + (1.0 - 0.9) * g[k] * g[k];
            w[k] += -0.02 * g[k] / (c[k].sqrt() + 1e-7);
        }
    }
    assert_eq!(got, w, "rmsprop");

    // Adam, learning rate 0.05, betas 0.9 and 0.999, epsilon 1e-7.
    let mut adam = Adam::new(0.05);
    let got = stepped(&mut |p, g| adam.step(p, g));
    let (mut w, mut m, mut v) = (start.clone(), vec![0.0; len], vec![0.0; len]);
    for (t, g) in grads.iter().enumerate() {
        let t = (t + 1) as f64;
        let (c1, c2) = (1.0 - 0.9f64.powf(t), 1.0 - 0.999f64.powf(t));
        for k in 0..len {
            m[k] = 0.9 * m[k] + (1.0 - 0.9) * g[k];
            v[k] = 0.999 * v[k] + (1.0 - 0.999) * g[k] * g[k];
            w[k] += -0.05 * (m[k] / c1) / ((v[k] / c2).sqrt() + 1e-7);
        }
    }
    assert_eq!(got, w, "adam");
}

/// Two fields; with `w` zero, only `v[2]`'s gradient is not zero.
#[neuron]
pub fn tail(x: [f64; 3], #[param] w: [f64; 2], #[param] v: [f64; 3]) -> f64 {
    dot(v, x) + w[0] * w[1]
}

/// The parameter that overflows is named by its index in the whole flat
/// sequence, not within its field: the check goes a field at a time.
#[test]
fn the_parameter_that_diverges_is_named_across_fields() {
    let mut model = tail::Model::default();
    let mut trainer = Trainer::new(Sgd::new(f64::MAX), MeanSquaredError)
        .epochs(3)
        .progress(false);
    let err = trainer
        .fit(&mut model, &[([0.0, 0.0, 1.0], 1.0)])
        .unwrap_err();
    assert!(
        matches!(
            &err,
            TrainError::Diverged {
                epoch: 1,
                batch: 0,
                cause: neuron_core::Divergence::Parameter { index: 4, parameter },
                ..
            } if parameter == "v[2]"
        ),
        "{err:?}"
    );
    // Back to the parameters from before the step: all zero.
    assert_eq!(model.params.to_vec(), [0.0; 5]);
}
