//! How long `#[neuron]` takes to expand, measured without a compiler: a
//! proc-macro crate cannot export functions to a benchmark, so this file
//! includes the pipeline's modules by path (their `crate::` paths then
//! resolve to this benchmark crate) and calls `expand::neuron` on token
//! streams.
//!
//! Groups: `expand/dot` is `relu(dot(w, x) + b)` at N = 1024; `expand/terms`
//! is `w[0] * x[0] + ... + w[n-1] * x[n-1] + b` for n = 4 to 1024, whose
//! time per term shows whether expansion grows linearly; `expand/stages`
//! times each stage of the pipeline on the 1024-term sum.
//!
//! `cargo bench -p neuron-macros --bench expand`
//!
//! The module list mirrors `src/lib.rs` (all but the `proc_macro` entry
//! point); a module added there must be added here.

// `cargo bench` compiles this file with `cfg(test)` but without the test
// harness, so the modules' test code is compiled and unused.
#![allow(dead_code, unused_imports)]

#[path = "../src/ast.rs"]
mod ast;
#[path = "../src/check.rs"]
mod check;
#[path = "../src/cost.rs"]
mod cost;
#[path = "../src/ctxt.rs"]
mod ctxt;
#[path = "../src/declared.rs"]
mod declared;
#[path = "../src/diff.rs"]
mod diff;
#[path = "../src/docs.rs"]
mod docs;
#[path = "../src/dot.rs"]
mod dot;
#[path = "../src/emit.rs"]
mod emit;
#[cfg(test)]
#[path = "../src/eval.rs"]
mod eval;
#[path = "../src/expand.rs"]
mod expand;
#[path = "../src/glue.rs"]
mod glue;
#[path = "../src/ir.rs"]
mod ir;
#[path = "../src/items.rs"]
mod items;
#[path = "../src/lower.rs"]
mod lower;
#[path = "../src/ops/mod.rs"]
mod ops;
#[path = "../src/parse.rs"]
mod parse;
#[cfg(test)]
#[path = "../src/proptests.rs"]
mod proptests;
#[path = "../src/simplify.rs"]
mod simplify;
#[path = "../src/trace.rs"]
mod trace;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use proc_macro2::{Ident, TokenStream};
use quote::quote;
use std::hint::black_box;
use std::time::Duration;

/// `relu(dot(w, x) + b)` with `n` inputs.
fn dot_neuron(n: usize) -> TokenStream {
    quote! {
        pub fn neuron_dot(x: [f64; #n], #[param] w: [f64; #n], #[param] b: f64) -> f64 {
            relu(dot(w, x) + b)
        }
    }
}

/// `relu(w[0] * x[0] + ... + w[n-1] * x[n-1] + b)` with `n` inputs.
fn sum_neuron(n: usize) -> TokenStream {
    let terms: Vec<String> = (0..n).map(|i| format!("w[{i}] * x[{i}]")).collect();
    let source = format!(
        "pub fn written_sum(x: [f64; {n}], #[param] w: [f64; {n}], #[param] b: f64) -> f64 {{ relu({} + b) }}",
        terms.join(" + ")
    );
    syn::parse_str(&source).expect("the generated neuron parses")
}

fn expand_dot(c: &mut Criterion) {
    let item = dot_neuron(1024);
    let mut group = c.benchmark_group("expand/dot");
    group.bench_function("N=1024", |b| {
        b.iter(|| expand::neuron(TokenStream::new(), black_box(item.clone())).expect("expands"))
    });
    group.finish();
}

fn expand_terms(c: &mut Criterion) {
    let mut group = c.benchmark_group("expand/terms");
    for n in [4usize, 16, 64, 256, 1024] {
        let item = sum_neuron(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &item, |b, item| {
            b.iter(|| expand::neuron(TokenStream::new(), black_box(item.clone())).expect("expands"))
        });
    }
    group.finish();
}

/// Each stage of `expand::neuron` on its own, on the 1024-term sum, to
/// find the one that grows fastest.
fn expand_stages(c: &mut Criterion) {
    let item = sum_neuron(1024);
    let (declared, _) = parse::partial(item.clone()).expect("parses");
    let f = parse::complete(declared.clone()).expect("parses completely");
    let (g, output) = lower::lower(&f).expect("lowers");
    let args: Vec<Ident> = f.args.iter().map(|a| a.name.clone()).collect();
    let mut gg = g.clone();
    let one = gg.konst(1.0);
    let mut roots = vec![output];
    roots.extend(diff::differentiate(&mut gg, output, one).expect("differentiates"));
    let (sg, sroots) = simplify::simplify(&gg, &roots);
    let body = emit::body(&sg, &sroots, &args, &f.real);
    let stmts = body.stmts.clone();
    let file = quote!(fn gradient() { #stmts });

    let mut group = c.benchmark_group("expand/stages");
    group.bench_function("parse", |b| {
        b.iter(|| parse::function(black_box(item.clone())).expect("parses"))
    });
    group.bench_function("check", |b| {
        b.iter(|| check::check(black_box(&declared)).expect("checks"))
    });
    group.bench_function("lower", |b| {
        b.iter(|| lower::lower(black_box(&f)).expect("lowers"))
    });
    group.bench_function("differentiate", |b| {
        b.iter(|| {
            let mut gg = g.clone();
            let one = gg.konst(1.0);
            diff::differentiate(&mut gg, output, one).expect("differentiates")
        })
    });
    group.bench_function("simplify", |b| {
        b.iter(|| simplify::simplify(black_box(&gg), &roots))
    });
    group.bench_function("emit", |b| {
        b.iter(|| emit::body(black_box(&sg), &sroots, &args, &f.real))
    });
    group.bench_function("pretty-print", |b| {
        b.iter(|| {
            prettyplease::unparse(
                &syn::parse2::<syn::File>(black_box(file.clone())).expect("parses"),
            )
        })
    });
    group.bench_function("whole", |b| {
        b.iter(|| expand::neuron(TokenStream::new(), black_box(item.clone())).expect("expands"))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .without_plots();
    targets = expand_dot, expand_terms, expand_stages
}
criterion_main!(benches);
