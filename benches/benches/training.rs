//! Full training of the spiral classifier: the 2-64-3 network
//! (`spiral_net`, logits) on nnfs's `spiral(100, 3)`, 300 points, with
//! `neuron_core`'s `Trainer`, `Adam` (nnfs chapter 10: lr 0.05, decay 5e-7)
//! and `SoftmaxCrossEntropy`, full batch, no shuffling, as the nnfs book and
//! `benches/spiral_torch.py` train it. One iteration is `EPOCHS` epochs from
//! the same initial weights; epochs per second = `EPOCHS / median`.
//!
//! `cargo bench -p neuron-benches --bench training`

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use neuron_benches::neurons::spiral_net;
use neuron_core::{Adam, NormalSampler, Parameters, SoftmaxCrossEntropy, Trainer, spiral};
use std::hint::black_box;

mod common;

/// Epochs per measured iteration.
const EPOCHS: usize = 100;

/// nnfs's initialisation: weights `0.01 * N(0, 1)`, biases zero.
fn initial_model() -> spiral_net::Model {
    let mut normal = NormalSampler::new(0);
    let mut params = <spiral_net::Params as Parameters<f64>>::zeros();
    for row in params.w1.iter_mut() {
        row.iter_mut().for_each(|w| *w = 0.01 * normal.sample());
    }
    for row in params.w2.iter_mut() {
        row.iter_mut().for_each(|w| *w = 0.01 * normal.sample());
    }
    spiral_net::Model::new(params)
}

fn training(c: &mut Criterion) {
    let data = spiral(100, 3, 0);
    let trainer = Trainer::new(Adam::new(0.05).with_decay(5e-7), SoftmaxCrossEntropy)
        .epochs(EPOCHS)
        .shuffle(false)
        .progress(false);
    let mut group = c.benchmark_group("training");
    group.sample_size(20);
    group.bench_function("spiral 2-64-3 Adam, 100 epochs", |bench| {
        bench.iter_batched(
            || (trainer.clone(), initial_model()),
            |(mut trainer, mut model)| {
                let history = trainer.fit(&mut model, black_box(&data)).expect("trains");
                black_box((model, history))
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = training
}
criterion_main!(benches);
