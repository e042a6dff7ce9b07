//! Full training of the spiral classifier, side by side: the 2-64-3
//! network (`spiral_net`, logits) on nnfs's `spiral(100, 3)`, 300 points,
//! with `neuron_core`'s `Trainer`, `Adam` (nnfs chapter 10: lr 0.05, decay
//! 5e-7) and `SoftmaxCrossEntropy`, full batch, no shuffling, as the nnfs
//! book and `benches/torch/spiral_torch.py` train it; and the same
//! training by the hand-written per-sample loop of `neuron_benches::naive`
//! (a test checks that both follow the same loss trajectory), and by the
//! batched step written by hand of `neuron_benches::blocked`, sixteen
//! samples at a time (the same training to rounding; a test checks it).
//! One
//! iteration is `EPOCHS` epochs from the same initial weights (see
//! `neuron_benches::setups`); epochs per second = `EPOCHS / median`.
//!
//! `cargo bench -p neuron-benches --bench training`

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use neuron_benches::{blocked, naive, setups};
use std::hint::black_box;

mod common;

/// Epochs per measured iteration.
const EPOCHS: usize = 100;

fn training(c: &mut Criterion) {
    let data = setups::spiral_data();
    let initial = setups::spiral_initial_params();
    let trainer = setups::spiral_trainer(EPOCHS);

    // One run of each side before measuring, so the output shows that both
    // train to the same loss.
    let history = trainer
        .clone()
        .fit(&mut setups::spiral_model(&initial), &data)
        .expect("trains");
    // The two hand-written sides, with the same signature.
    type Train =
        fn(&mut naive::Params, &mut naive::Adam, &[([f64; 2], usize)], usize, usize) -> Vec<f64>;
    let by_hand: [(&str, Train); 2] = [
        ("naive per-sample loop", naive::train),
        ("batched step by hand", blocked::train),
    ];
    let [naive_loss, blocked_loss] = by_hand.map(|(_, train)| {
        let losses = train(
            &mut initial.clone(),
            &mut setups::spiral_naive_adam(),
            &data,
            EPOCHS,
            data.len(),
        );
        losses[EPOCHS - 1]
    });
    println!(
        "mean loss of epoch {EPOCHS}: Trainer {:.6}, naive loop {naive_loss:.6}, blocked by hand {blocked_loss:.6}",
        history.losses()[EPOCHS - 1],
    );

    let mut group = c.benchmark_group("spiral 2-64-3 Adam, 100 epochs");
    group.sample_size(20);
    group.bench_function("Trainer", |bench| {
        bench.iter_batched(
            || (trainer.clone(), setups::spiral_model(&initial)),
            |(mut trainer, mut model)| {
                let history = trainer.fit(&mut model, black_box(&data)).expect("trains");
                black_box((model, history))
            },
            BatchSize::LargeInput,
        )
    });
    for (name, train) in by_hand {
        group.bench_function(name, |bench| {
            bench.iter_batched(
                || (initial.clone(), setups::spiral_naive_adam()),
                |(mut params, mut adam)| {
                    let losses =
                        train(&mut params, &mut adam, black_box(&data), EPOCHS, data.len());
                    black_box((params, losses))
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = training
}
criterion_main!(benches);
