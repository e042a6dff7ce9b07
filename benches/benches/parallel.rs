//! Parallel training, deterministic: one epoch of the 784-128-10
//! classifier (`mnist_net`: ReLU hidden layer, logits, f64) with
//! `SoftmaxCrossEntropy` and SGD on 1024 seeded synthetic samples, in
//! shuffled mini-batches of 256. `Trainer::parallel(64)` splits each batch
//! into 4 blocks of 64 samples; it runs on a rayon pool of 1 thread and
//! of 2 threads (the parameters it trains are the same on both), and the
//! serial trainer runs on the calling thread for reference. One iteration
//! is one epoch from the same initial parameters.
//!
//! `cargo bench -p neuron-benches --bench parallel`

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use neuron_benches::inputs;
use neuron_benches::neurons::mnist_net;
use neuron_core::{Parameters, Sgd, SoftmaxCrossEntropy, Trainer};
use std::hint::black_box;
use std::time::Duration;

mod common;

/// Samples per epoch.
const SAMPLES: usize = 1024;
/// Samples per mini-batch.
const BATCH: usize = 256;
/// Samples per block of parallel training.
const BLOCK: usize = 64;

/// `SAMPLES` inputs in `[0, 1)`, like pixel intensities, each labelled
/// with the tenth of its pixels (78 of them; the last four left out)
/// whose sum is largest.
fn data() -> Vec<([f64; 784], usize)> {
    (0..SAMPLES)
        .map(|i| {
            let v = inputs::values(784, i as u64);
            let x: [f64; 784] = core::array::from_fn(|k| 0.5 * (v[k] + 1.0));
            let sums: Vec<f64> = x.chunks(78).take(10).map(|c| c.iter().sum()).collect();
            let label = (0..10)
                .max_by(|&a, &b| sums[a].total_cmp(&sums[b]))
                .unwrap_or(0);
            (x, label)
        })
        .collect()
}

fn parallel(c: &mut Criterion) {
    let data = data();
    let model = mnist_net::Model::new(mnist_net::Params::he_normal(1));
    let serial = Trainer::new(Sgd::new(0.05), SoftmaxCrossEntropy)
        .batch_size(BATCH)
        .seed(1)
        .progress(false);
    let blocks = serial.clone().parallel(BLOCK);
    let pool = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool")
    };
    let (one, two) = (pool(1), pool(2));

    // The same parameters on both pools, so both do the same work.
    let train_on = |pool: &rayon::ThreadPool| {
        let (mut trainer, mut model) = (blocks.clone(), model.clone());
        pool.install(|| trainer.fit(&mut model, &data))
            .expect("trains");
        model.params.to_vec()
    };
    assert!(train_on(&one) == train_on(&two), "1 and 2 threads differ");

    let mut group = c.benchmark_group("parallel 784-128-10, one epoch");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("serial", |bench| {
        bench.iter_batched(
            || (serial.clone(), model.clone()),
            |(mut trainer, mut model)| {
                let history = trainer.fit(&mut model, black_box(&data)).expect("trains");
                black_box((model, history))
            },
            BatchSize::LargeInput,
        )
    });
    for (name, pool) in [("parallel, 1 thread", &one), ("parallel, 2 threads", &two)] {
        group.bench_function(name, |bench| {
            bench.iter_batched(
                || (blocks.clone(), model.clone()),
                |(mut trainer, mut model)| {
                    let history = pool
                        .install(|| trainer.fit(&mut model, black_box(&data)))
                        .expect("trains");
                    black_box((model, history))
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
    targets = parallel
}
criterion_main!(benches);
