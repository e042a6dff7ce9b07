//! The 2-64-3 network: one sample's forward pass and vector-Jacobian
//! product (`backward` with `dy`), generated against hand-written, in one
//! group; the gradient/forward ratio comes from the same run.
//!
//! `cargo bench -p neuron-benches --bench network`

use criterion::{Criterion, criterion_group, criterion_main};
use neuron_benches::{hand, inputs, neurons};
use std::hint::black_box;

mod common;

fn network(c: &mut Criterion) {
    let (w1, b1, w2, b2) = inputs::net_params();
    let x = [0.3, -0.7];
    let dy = [0.2, -0.5, 0.3];
    let mut group = c.benchmark_group("net");
    group.bench_function("generated forward", |bench| {
        bench.iter(|| {
            neurons::net(
                black_box(x),
                black_box(w1),
                black_box(b1),
                black_box(w2),
                black_box(b2),
            )
        })
    });
    group.bench_function("generated backward", |bench| {
        bench.iter(|| {
            neurons::net::backward(
                black_box(x),
                black_box(w1),
                black_box(b1),
                black_box(w2),
                black_box(b2),
                black_box(dy),
            )
        })
    });
    group.bench_function("hand forward", |bench| {
        bench.iter(|| {
            hand::net_forward(
                black_box(x),
                black_box(w1),
                black_box(b1),
                black_box(w2),
                black_box(b2),
            )
        })
    });
    group.bench_function("hand backward", |bench| {
        bench.iter(|| {
            hand::net_backward(
                black_box(x),
                black_box(w1),
                black_box(b1),
                black_box(w2),
                black_box(b2),
                black_box(dy),
            )
        })
    });
    group.bench_function("hand backward, params by reference", |bench| {
        let p = hand::NetParams {
            w1: &w1,
            b1: &b1,
            w2: &w2,
            b2: &b2,
        };
        bench.iter(|| hand::net_backward_ref(black_box(x), black_box(p), black_box(dy)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = network
}
criterion_main!(benches);
