//! The examples' training runs reach the results their documentation
//! promises, and their plots are written as real PNG files.

use neuron_core::StoppedBy;
use neuron_core::prelude::*;
use neuron_examples::{plot, spiral_net, train_digits, train_spiral, train_xor, xor_data};

#[test]
fn xor_reaches_a_loss_below_one_hundredth() {
    let (model, history) = train_xor(2000, false).unwrap();
    let score = evaluate(&model, &BinaryCrossEntropy, &xor_data()).unwrap();
    assert!(score.loss < 0.01, "final loss {}", score.loss);
    assert_eq!(score.accuracy, Some(1.0));
    assert_eq!(history.epochs.len(), 2000);
}

#[test]
fn spiral_reaches_ninety_percent_training_accuracy() {
    let (model, history) = train_spiral(3000, false).unwrap();
    let score = evaluate(&model, &SoftmaxCrossEntropy, &spiral(100, 3, 0)).unwrap();
    let accuracy = score.accuracy.unwrap();
    assert!(accuracy >= 0.90, "training accuracy {accuracy}");
    // The loss went down over training.
    let losses = history.losses();
    assert!(
        losses[losses.len() - 1] < 0.5 * losses[0],
        "{} -> {}",
        losses[0],
        losses[losses.len() - 1]
    );

    let dir = tempfile_dir("spiral");
    let loss_png = dir.join("loss.png");
    let boundary_png = dir.join("boundary.png");
    plot::loss_curve(&loss_png, &losses, history.accuracies().as_deref()).unwrap();
    plot::decision_boundary::<spiral_net::Model, 3>(
        &boundary_png,
        &model,
        &spiral(100, 3, 0),
        "spiral",
    )
    .unwrap();
    for png in [loss_png, boundary_png] {
        let bytes = std::fs::read(&png).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{} is not a PNG",
            png.display()
        );
        assert!(
            bytes.len() > 10_000,
            "{} is suspiciously small",
            png.display()
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn digits_reach_ninety_seven_percent_test_accuracy_with_early_stopping() {
    let run = train_digits(false).unwrap();
    assert!(
        run.test_accuracy >= 0.97,
        "test accuracy {}",
        run.test_accuracy
    );
    // The seeded split: 60/20/20 of 1,797 images, disjoint.
    assert_eq!(
        (run.train.len(), run.validation.len(), run.test.len()),
        (1078, 360, 359)
    );
    // Early stopping ended training before the 200 epochs and gave the
    // model the best validation epoch's parameters.
    let history = &run.history;
    assert_eq!(history.stopped, Some(StoppedBy::EarlyStopping));
    let best = history.best_epoch.unwrap();
    assert_eq!(history.epochs.len(), best + 15);
    let validation = evaluate(&run.model, &SoftmaxCrossEntropy, &run.validation).unwrap();
    assert_eq!(Some(validation), history.epoch(best).unwrap().validation);
    assert!(history.regularization_losses().iter().all(|&l| l > 0.0));

    let counts = plot::confusion::<_, 10>(&run.model, &run.test);
    let right: usize = (0..10).map(|k| counts[k][k]).sum();
    assert_eq!(counts.iter().flatten().sum::<usize>(), run.test.len());
    assert_eq!(right as f64 / run.test.len() as f64, run.test_accuracy);

    let dir = tempfile_dir("digits");
    let confusion_png = dir.join("confusion.png");
    let mistakes_png = dir.join("mistakes.png");
    plot::confusion_matrix(&confusion_png, &run.model, &run.test, "digits").unwrap();
    let mistakes = plot::misclassified(&mistakes_png, &run.model, &run.test, "digits").unwrap();
    assert_eq!(mistakes, run.test.len() - right);
    for png in [confusion_png, mistakes_png] {
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", png.display());
        assert!(
            bytes.len() > 5_000,
            "{} is suspiciously small",
            png.display()
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A fresh directory for the test `name` under the system's temporary
/// directory.
fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("neuron-examples-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
