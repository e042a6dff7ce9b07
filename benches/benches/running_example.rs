//! The running example's gradient: what `#[neuron]` generates against the
//! hand-simplified rule, measured in one group so both run together.
//!
//! `cargo bench -p neuron-benches --bench running_example`

use criterion::{Criterion, criterion_group, criterion_main};
use neuron_benches::{hand, neurons};
use std::hint::black_box;

mod common;

fn running_example(c: &mut Criterion) {
    let (x, w, b) = ([1.0, -2.0, 3.0], [-3.0, -1.0, 2.0], 1.0);
    let mut group = c.benchmark_group("running_example");
    group.bench_function("generated", |bench| {
        bench.iter(|| neurons::unit::gradient(black_box(x), black_box(w), black_box(b)))
    });
    group.bench_function("hand", |bench| {
        bench.iter(|| hand::unit_gradient(black_box(x), black_box(w), black_box(b)))
    });
    group.bench_function("forward", |bench| {
        bench.iter(|| neurons::unit(black_box(x), black_box(w), black_box(b)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = running_example
}
criterion_main!(benches);
