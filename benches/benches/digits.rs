//! Training on the 8×8 digit images: the f32 64-32-10 network `digits32`
//! (ReLU hidden layer, logits) on all 1797 rows of
//! `examples/data/digits.csv` (pixels scaled by 1/16), with `neuron_core`'s
//! `Trainer`, `Adam` (lr 0.005, epsilon 1e-7) and `SoftmaxCrossEntropy`,
//! mini-batches of 32 shuffled from a fixed seed, as
//! `benches/torch/digits_torch.py` trains it in PyTorch (see
//! `neuron_benches::setups`). One iteration is `EPOCHS` epochs from the
//! same He-normal initial weights; time per epoch = `median / EPOCHS`.
//!
//! `cargo bench -p neuron-benches --bench digits`

use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use neuron_benches::setups;
use std::hint::black_box;

mod common;

/// Epochs per measured iteration.
const EPOCHS: usize = 10;

fn digits(c: &mut Criterion) {
    let data = setups::digits_data().expect("examples/data/digits.csv loads");
    let trainer = setups::digits_trainer(EPOCHS);

    // One run before measuring, so the output shows what the training
    // reaches, to set beside the PyTorch script's.
    let history = trainer
        .clone()
        .fit(&mut setups::digits_model(), &data)
        .expect("trains");
    let losses = history.losses();
    println!(
        "mean loss of epoch {EPOCHS}: {:.4} ({} samples, batches of {})",
        losses[EPOCHS - 1],
        data.len(),
        setups::DIGITS_BATCH
    );

    let mut group = c.benchmark_group("digits 64-32-10 f32 Adam, batches of 32, 10 epochs");
    // An iteration takes tens of milliseconds: the same number of them in
    // every sample.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    group.bench_function("Trainer", |bench| {
        bench.iter_batched(
            || (trainer.clone(), setups::digits_model()),
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
    targets = digits
}
criterion_main!(benches);
