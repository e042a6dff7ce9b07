//! XOR with a 2-2-1 sigmoid network, trained with Adam on binary
//! cross-entropy until the loss is below 0.01.
//!
//! Run with `cargo run -p neuron-examples --example train_xor`.

use neuron_core::prelude::*;
use neuron_examples::{train_xor, xor_data};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (model, history) = train_xor(2000, true)?;
    for stats in history.epochs.iter().filter(|s| s.epoch % 200 == 0) {
        println!("epoch {:4}  loss {:.5}", stats.epoch, stats.loss);
    }
    let score = evaluate(&model, &BinaryCrossEntropy, &xor_data())?;
    println!("final loss {:.5}", score.loss);
    for (x, target) in xor_data() {
        println!(
            "xor({}, {}) = {:.4}  (target {target})",
            x[0],
            x[1],
            model.forward(&x)
        );
    }
    Ok(())
}
