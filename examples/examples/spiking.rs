//! A spiking network: 64 threshold units (a Heaviside step, 1 or 0) between
//! two inputs and two class logits, trained on the two-class spiral through
//! the surrogate gradient of a fast sigmoid, with Adam on softmax
//! cross-entropy. Prints its accuracy on the training set and on a fresh
//! draw of the spiral, against 50% by chance.
//!
//! Run with `cargo run --release -p neuron-examples --example spiking`.

use neuron_core::prelude::*;
use neuron_examples::spiking::{spiking_data, spiking_net, train_spiking};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = spiking_data();
    let untrained = spiking_net::Model::new(spiking_net::Params::random(1.0, 3));
    let before = evaluate(&untrained, &SoftmaxCrossEntropy, &data)?;
    let (model, history) = train_spiking(300, true)?;
    for stats in history.epochs.iter().filter(|s| s.epoch % 50 == 0) {
        println!("epoch {:3}  loss {:.4}", stats.epoch, stats.loss);
    }
    let after = evaluate(&model, &SoftmaxCrossEntropy, &data)?;
    let fresh = evaluate(&model, &SoftmaxCrossEntropy, &spiral(100, 2, 1))?;
    let accuracy = |e: &neuron_core::Evaluation| 100.0 * e.accuracy.unwrap_or(0.0);
    println!(
        "accuracy on the two-class spiral: {:.1}% before training, {:.1}% after, \
         {:.1}% on a fresh draw (chance: 50%)",
        accuracy(&before),
        accuracy(&after),
        accuracy(&fresh)
    );
    // The gradient goes through a surrogate, which gradient checks skip.
    let report = gradcheck_random::<spiking_net::Model>(8, 0, 1e-6)?;
    println!("gradcheck: {report}");
    Ok(())
}
