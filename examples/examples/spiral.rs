//! The spiral classifier of "Neural Networks from Scratch": a 2-64-3
//! softmax network trained with Adam on 100 points of each of 3 classes.
//! Prints progress, then writes `spiral_loss.png` (the loss and accuracy
//! curves) and `spiral_boundary.png` (the decision regions over the data).
//!
//! Run with `cargo run --release -p neuron-examples --example spiral`.

use neuron_core::prelude::*;
use neuron_examples::{plot, spiral_net, train_spiral};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs = 3000;
    let start = std::time::Instant::now();
    let (model, history) = train_spiral(epochs, true)?;
    let seconds = start.elapsed().as_secs_f64();
    for stats in history
        .epochs
        .iter()
        .filter(|s| s.epoch % 300 == 0 || s.epoch == 1)
    {
        println!(
            "epoch {:5}  loss {:.4}  accuracy {:.3}  lr {:.5}",
            stats.epoch,
            stats.loss,
            stats.accuracy.unwrap_or(f64::NAN),
            stats.learning_rate
        );
    }
    let data = spiral(100, 3, 0);
    let score = evaluate(&model, &SoftmaxCrossEntropy, &data)?;
    println!(
        "after {epochs} epochs ({:.0} epochs/s): loss {:.4}, training accuracy {:.3}",
        epochs as f64 / seconds,
        score.loss,
        score.accuracy.unwrap_or(f64::NAN)
    );

    let accuracies = history.accuracies();
    plot::loss_curve(
        Path::new("spiral_loss.png"),
        &history.losses(),
        accuracies.as_deref(),
    )?;
    plot::decision_boundary::<spiral_net::Model, 3>(
        Path::new("spiral_boundary.png"),
        &model,
        &data,
        "spiral: decision regions of the 2-64-3 classifier",
    )?;
    println!("wrote spiral_loss.png and spiral_boundary.png");
    Ok(())
}
