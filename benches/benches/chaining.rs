//! A network written as calls of annotated layers against the same network
//! written as one function, both trained by `Trainer` with Adam and softmax
//! cross-entropy from the same initial parameters: the spiral example's
//! 2-64-3 classifier (nnfs `spiral(100, 3)`, full batch of 300, 10 epochs
//! per iteration) and a 784-128-10 network (128 synthetic samples,
//! mini-batches of 32, one epoch per iteration).
//!
//! `cargo bench -p neuron-benches --bench chaining`

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};
use neuron_benches::chained::{mnist_chained, spiral_chained};
use neuron_benches::neurons::{mnist_net, spiral_net};
use neuron_core::{Adam, Model, NormalSampler, Scalars, SoftmaxCrossEntropy, Trainer, spiral};
use std::hint::black_box;

mod common;

/// Times `trainer.fit` from `model` on `data`, a fresh copy of both per
/// iteration.
fn fit<M, const K: usize>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    trainer: &Trainer<Adam<f64>, SoftmaxCrossEntropy>,
    model: &M,
    data: &[(M::Input, usize)],
) where
    M: Model<Real = f64, Output = [f64; K]> + Clone,
    M::Input: Scalars<f64>,
{
    group.bench_function(name, |bench| {
        bench.iter_batched(
            || (trainer.clone(), model.clone()),
            |(mut trainer, mut model)| {
                let history = trainer.fit(&mut model, black_box(data)).expect("trains");
                black_box((model, history))
            },
            BatchSize::LargeInput,
        )
    });
}

fn chaining(c: &mut Criterion) {
    {
        let data = spiral(100, 3, 0);
        let trainer = Trainer::new(Adam::new(0.05).with_decay(5e-7), SoftmaxCrossEntropy)
            .epochs(10)
            .shuffle(false)
            .progress(false);
        let fused = spiral_net::Model::new(neuron_core::Parameters::random(0.1, 7));
        let p = fused.params().clone();
        let chained = spiral_chained::Model::new(spiral_chained::Params {
            w1: p.w1,
            b1: p.b1,
            w2: p.w2,
            b2: p.b2,
        });
        let mut group = c.benchmark_group("chaining spiral 2-64-3, 10 epochs");
        group.sample_size(20);
        fit(&mut group, "one function", &trainer, &fused, &data);
        fit(&mut group, "calls of layers", &trainer, &chained, &data);
        group.finish();
    }
    {
        let mut normal = NormalSampler::new(3);
        let data: Vec<([f64; 784], usize)> = (0..128)
            .map(|k| (std::array::from_fn(|_| normal.sample()), k % 10))
            .collect();
        let trainer = Trainer::new(Adam::new(0.001), SoftmaxCrossEntropy)
            .epochs(1)
            .batch_size(32)
            .shuffle(false)
            .progress(false);
        let fused = mnist_net::Model::new(neuron_core::Parameters::random(0.05, 11));
        let chained = mnist_chained::Model::new(mnist_chained::Params {
            w1: fused.params().w1.clone(),
            b1: fused.params().b1.clone(),
            w2: fused.params().w2.clone(),
            b2: fused.params().b2.clone(),
        });
        let mut group = c.benchmark_group("chaining 784-128-10, 1 epoch of 128");
        group.sample_size(20);
        fit(&mut group, "one function", &trainer, &fused, &data);
        fit(&mut group, "calls of layers", &trainer, &chained, &data);
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = chaining
}
criterion_main!(benches);
