//! Dot neurons `relu(dot(w, x) + b)` at N = 3, 64 and 1024: the generated
//! gradient against a hand-written loop, forward-mode dual numbers
//! (`num-dual`) and a reverse-mode tape (`reverse`), plus the generated
//! forward pass for the gradient/forward ratio. One group per N, so every
//! side of a comparison is measured in the same run.
//!
//! `cargo bench -p neuron-benches --bench dot`; the borrowing forms at
//! N = 1024, `sum` of 1024 and a 784 → 128 layer alone:
//! `cargo bench -p neuron-benches --bench dot -- borrowed`

use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use neuron_benches::{dual, hand, inputs, neurons, tape};
use std::hint::black_box;

mod common;

/// A generated forward function.
type Forward<const N: usize> = fn([f64; N], [f64; N], f64) -> f64;

/// The sides every N shares: generated forward and gradient, hand loop,
/// dynamic dual numbers and both tape variants.
fn shared<const N: usize, G>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    forward: Forward<N>,
    gradient: fn([f64; N], [f64; N], f64) -> (f64, G),
    hand: fn([f64; N], [f64; N], f64) -> (f64, hand::DotGrad<N>),
) {
    let (x, w, b) = inputs::dot_case::<N>();
    group.bench_function("forward", |bench| {
        bench.iter(|| forward(black_box(x), black_box(w), black_box(b)))
    });
    group.bench_function("generated", |bench| {
        bench.iter(|| gradient(black_box(x), black_box(w), black_box(b)))
    });
    group.bench_function("hand", |bench| {
        bench.iter(|| hand(black_box(x), black_box(w), black_box(b)))
    });
    group.bench_function("num-dual DualDVec64", |bench| {
        bench.iter(|| dual::dot_gradient_dynamic(black_box(&x), black_box(&w), black_box(b)))
    });
    group.bench_function("reverse new tape", |bench| {
        bench.iter(|| tape::dot_gradient(black_box(&x), black_box(&w), black_box(b)))
    });
    let t = reverse::Tape::new();
    group.bench_function("reverse reused tape", |bench| {
        bench.iter(|| tape::dot_gradient_reusing(&t, black_box(&x), black_box(&w), black_box(b)))
    });
}

fn dot(c: &mut Criterion) {
    {
        let mut group = c.benchmark_group("dot/3");
        shared::<3, _>(
            &mut group,
            neurons::dot3,
            neurons::dot3::gradient,
            hand::dot3_gradient,
        );
        let (x, w, b) = inputs::dot_case::<3>();
        group.bench_function("num-dual DualSVec64", |bench| {
            bench.iter(|| {
                dual::dot_gradient_static::<3, 7>(black_box(&x), black_box(&w), black_box(b))
            })
        });
        group.finish();
    }
    {
        let mut group = c.benchmark_group("dot/64");
        shared::<64, _>(
            &mut group,
            neurons::dot64,
            neurons::dot64::gradient,
            hand::dot64_gradient,
        );
        let (x, w, b) = inputs::dot_case::<64>();
        group.bench_function("num-dual DualSVec64", |bench| {
            bench.iter(|| {
                dual::dot_gradient_static::<64, 129>(black_box(&x), black_box(&w), black_box(b))
            })
        });
        group.finish();
    }
    {
        let mut group = c.benchmark_group("dot/1024");
        shared::<1024, _>(
            &mut group,
            neurons::dot1024,
            neurons::dot1024::gradient,
            hand::dot1024_gradient,
        );
        group.finish();
    }
    {
        // Borrowing forms: no argument copied, so the reduction shows.
        let mut group = c.benchmark_group("dot/1024 borrowed");
        let (x, w, b) = inputs::dot_case::<1024>();
        group.bench_function("forward", |bench| {
            bench.iter(|| neurons::dot1024::forward_ref(black_box(&x), black_box(&w), black_box(b)))
        });
        group.bench_function("hand forward", |bench| {
            bench.iter(|| hand::dot1024_forward_ref(black_box(&x), black_box(&w), black_box(b)))
        });
        group.bench_function("generated", |bench| {
            bench
                .iter(|| neurons::dot1024::gradient_ref(black_box(&x), black_box(&w), black_box(b)))
        });
        group.bench_function("hand", |bench| {
            bench.iter(|| hand::dot1024_gradient_ref(black_box(&x), black_box(&w), black_box(b)))
        });
        // The same, the 16 KB result kept where it is built and only lent
        // to `black_box`: returning it from the timed closure copies it,
        // and on this machine that copy (glibc's `memmove`) takes most of
        // the time of the two rows above.
        group.bench_function("generated, result in place", |bench| {
            bench.iter(|| {
                let r = neurons::dot1024::gradient_ref(black_box(&x), black_box(&w), black_box(b));
                black_box(&r);
            })
        });
        group.bench_function("hand, result in place", |bench| {
            bench.iter(|| {
                let r = hand::dot1024_gradient_ref(black_box(&x), black_box(&w), black_box(b));
                black_box(&r);
            })
        });
        group.bench_function("hand built in place, result in place", |bench| {
            bench.iter(|| {
                let r =
                    hand::dot1024_gradient_ref_built(black_box(&x), black_box(&w), black_box(b));
                black_box(&r);
            })
        });
        group.finish();
    }
    {
        // `sum` of 1024 with partial sums against one accumulator.
        let mut group = c.benchmark_group("sum/1024 borrowed");
        let (x, _, _) = inputs::dot_case::<1024>();
        group.bench_function("generated", |bench| {
            bench.iter(|| neurons::sum1024::forward_ref(black_box(&x)))
        });
        group.bench_function("hand", |bench| {
            bench.iter(|| hand::sum1024_forward_ref(black_box(&x)))
        });
        group.finish();
    }
    {
        // A 784 → 128 layer's forward pass: rows of 784 with partial sums,
        // in f64 and f32, against one accumulator per row by hand.
        let mut group = c.benchmark_group("matvec 128x784 borrowed");
        let x: Box<[f64; 784]> = Box::new(std::array::from_fn(|j| (j as f64 * 0.37).sin()));
        let w: Box<[[f64; 784]; 128]> = neuron_core::Tensor::boxed_zeros();
        let mut w = w;
        for (i, row) in w.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = ((i * 784 + j) as f64 * 0.11).cos() * 0.05;
            }
        }
        let x32: Box<[f32; 784]> = Box::new(x.map(|v| v as f32));
        let mut w32: Box<[[f32; 784]; 128]> = neuron_core::Tensor::boxed_zeros();
        for (r32, r) in w32.iter_mut().zip(w.iter()) {
            *r32 = r.map(|v| v as f32);
        }
        group.bench_function("generated f64", |bench| {
            bench.iter(|| neurons::wide::forward_ref::<f64>(black_box(&x), black_box(&w)))
        });
        group.bench_function("hand f64", |bench| {
            bench.iter(|| hand::wide_forward_ref(black_box(&x), black_box(&w)))
        });
        group.bench_function("generated f32", |bench| {
            bench.iter(|| neurons::wide::forward_ref::<f32>(black_box(&x32), black_box(&w32)))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = dot
}
criterion_main!(benches);
