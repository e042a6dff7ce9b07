//! The examples' training runs reach the results their documentation
//! promises, and their plots are written as real PNG files.

use neuron_core::prelude::*;
use neuron_examples::{plot, spiral_net, train_spiral, train_xor, xor_data};

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

    let dir = tempfile_dir();
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

/// A fresh directory under the system's temporary directory.
fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("neuron-examples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
