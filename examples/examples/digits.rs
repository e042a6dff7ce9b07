//! Handwritten digits: a 64-32-10 network trained on 8×8 images with a
//! seeded train/validation/test split, early stopping on the validation
//! loss, a cosine learning-rate schedule and L2 regularization. Prints the
//! model summary, the history and the test accuracy, then writes
//! `digits_confusion.png` (the confusion matrix on the test data) and
//! `digits_mistakes.png` (the misclassified test digits, with the label
//! predicted and the true one).
//!
//! Run with `cargo run --release -p neuron-examples --example digits`.

use neuron_core::prelude::*;
use neuron_examples::{plot, train_digits};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = std::time::Instant::now();
    let run = train_digits(true)?;
    let seconds = start.elapsed().as_secs_f64();
    println!("{}", summary(&run.model));
    println!(
        "{} training, {} validation and {} test images",
        run.train.len(),
        run.validation.len(),
        run.test.len()
    );
    for stats in run
        .history
        .epochs
        .iter()
        .filter(|s| s.epoch % 10 == 0 || s.epoch == 1)
    {
        let validation = stats.validation.unwrap_or(neuron_core::Evaluation {
            loss: f64::NAN,
            accuracy: None,
        });
        println!(
            "epoch {:3}  loss {:.4} (+{:.4} L2)  accuracy {:.3}  validation loss {:.4}  accuracy {:.3}  lr {:.5}",
            stats.epoch,
            stats.loss,
            stats.regularization_loss,
            stats.accuracy.unwrap_or(f64::NAN),
            validation.loss,
            validation.accuracy.unwrap_or(f64::NAN),
            stats.learning_rate
        );
    }
    let epochs = run.history.epochs.len();
    match (run.history.stopped, run.history.best_epoch) {
        (Some(_), Some(best)) => println!(
            "stopped early after {epochs} epochs; kept the parameters of epoch {best}, the best on validation"
        ),
        (_, best) => println!("trained {epochs} epochs; best on validation: {best:?}"),
    }
    println!("trained in {seconds:.1} s");
    println!("test accuracy {:.4}", run.test_accuracy);

    plot::confusion_matrix(
        Path::new("digits_confusion.png"),
        &run.model,
        &run.test,
        "digits: confusion matrix on the test images",
    )?;
    let mistakes = plot::misclassified(
        Path::new("digits_mistakes.png"),
        &run.model,
        &run.test,
        "digits: misclassified test images (predicted / true)",
    )?;
    println!("wrote digits_confusion.png and digits_mistakes.png ({mistakes} misclassified)");
    Ok(())
}
