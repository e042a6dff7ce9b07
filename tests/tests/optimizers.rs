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
