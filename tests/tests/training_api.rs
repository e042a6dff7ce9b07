//! The training additions seen from a file that defines neurons with
//! `use neuron_core::prelude::*;` alone: a generated model's summary,
//! Glorot and He initialization by field role, regularization by role,
//! early stopping on held-out data, and the CSV loaders in the prelude.

use neuron_core::prelude::*;

/// A 4-8-1 network whose output weights are a vector.
#[neuron]
pub fn small(
    x: [f64; 4],
    #[param] w1: [[f64; 4]; 8],
    #[param] b1: [f64; 8],
    #[param] w2: [f64; 8],
    #[param] b2: f64,
) -> f64 {
    let h = tanh(matvec(w1, x) + b1);
    dot(w2, h) + b2
}

#[test]
fn the_summary_lists_fields_shapes_counts_and_roles() {
    let model = small::Model::new(small::Params::glorot_uniform(1));
    assert_eq!(
        summary(&model).to_string(),
        "parameter  shape   count  role\n\
         w1         [8, 4]     32  weight\n\
         b1         [8]         8  bias\n\
         w2         [8]         8  weight\n\
         b2         []          1  bias\n\
         total                 49\n"
    );
}

#[test]
fn initialization_draws_weights_by_their_fans_and_zeroes_biases() {
    let p = small::Params::he_normal(5);
    assert_eq!(*p.b1, [0.0; 8]);
    assert_eq!(p.b2, 0.0);
    assert!(p.w1.iter().flatten().all(|&v| v != 0.0));
    // w2 is one unit's 8 input weights: Glorot uniform's limit is
    // sqrt(6 / (8 + 1)).
    let p = small::Params::glorot_uniform(5);
    let limit = (6.0f64 / 9.0).sqrt();
    assert!(
        p.w2.iter().all(|&v| v != 0.0 && v.abs() <= limit),
        "{:?}",
        p.w2
    );
    // Reproducible, and overridable by name.
    assert_eq!(p, small::Params::glorot_uniform(5));
    let q: small::Params = Init::glorot_uniform().bias("w2").params(5).unwrap();
    assert_eq!(*q.w2, [0.0; 8]);
    assert_eq!(q.w1, p.w1);
}

#[test]
fn l2_and_early_stopping_train_a_generated_model() {
    // y = sin(x0) + x1 * x2 - x3 on a grid, split into halves.
    let data: Vec<([f64; 4], f64)> = (0..96)
        .map(|i| {
            let f = |k: usize| ((i * (2 * k + 3)) % 17) as f64 / 8.0 - 1.0;
            let x = [f(0), f(1), f(2), f(3)];
            (x, x[0].sin() + x[1] * x[2] - x[3])
        })
        .collect();
    let (train, valid) = split(&data, 0.5, 3).unwrap();
    let mut model = small::Model::new(small::Params::glorot_uniform(2));
    let reg = Regularizer::l2(1e-4);
    let before = reg.loss(&model.params).unwrap();
    let mut trainer = Trainer::new(Adam::new(0.02), MeanSquaredError)
        .epochs(2000)
        .batch_size(16)
        .regularizer(reg)
        .early_stopping(EarlyStopping::new(20))
        .progress(false);
    let history = trainer.fit_validated(&mut model, &train, &valid).unwrap();
    let losses = history.validation_losses().unwrap();
    assert!(losses[losses.len() - 1] < 0.25 * losses[0], "{losses:?}");
    assert!(history.epochs.len() < 2000, "never stopped");
    // The reported regularization loss is the L2 of the weights only.
    let first = history.epochs[0].regularization_loss;
    assert!(
        first > 0.0 && (first / before - 1.0).abs() < 0.5,
        "{first} vs {before}"
    );
    // The model holds the best epoch's parameters.
    let best = history.best_epoch.unwrap();
    let score = evaluate(&model, &MeanSquaredError, &valid).unwrap();
    assert_eq!(Some(score), history.epoch(best).unwrap().validation);
}

#[test]
fn the_csv_loaders_are_in_the_prelude_and_keep_a_header_less_first_row() {
    let rows = read_csv::<f64, 2>("1,2,0\n3,4,1\n".as_bytes()).unwrap();
    assert_eq!(rows, vec![([1.0, 2.0], 0), ([3.0, 4.0], 1)]);
    let path = std::env::temp_dir().join(format!("neuron-prelude-{}.csv", std::process::id()));
    std::fs::write(&path, "0.5,1.5,2.5\n-1,0,3\n").unwrap();
    let rows = load_csv_regression::<f32, 2>(&path).unwrap();
    assert_eq!(rows, vec![([0.5, 1.5], 2.5), ([-1.0, 0.0], 3.0)]);
    let classes = load_csv::<f64, 2>(&path).unwrap_err();
    assert!(
        classes
            .to_string()
            .contains("line 1, column 3: cannot parse \"2.5\" as a class"),
        "{classes}"
    );
    let _ = std::fs::remove_file(path);
}
