//! The neurons and the training loop of the `#![no_std]` crate
//! `neuron-nostd`, checked with `std`: gradients against finite
//! differences and hand-derived values, `backward` against its borrowing
//! form, the running example's SGD step, and Adam learning XOR.
//! `cargo build -p neuron-nostd --features bare` (in `.ci/run`) proves the
//! same code builds without `std`.

mod fd;

use neuron_core::prelude::*;
use neuron_core::{Differentiable, gradcheck_random_in};
use neuron_nostd::{generic, layer, net, scalar, unit};

/// Every partial of `M` against finite differences at random points.
fn check<M: Differentiable>(name: &str, tolerance: f64) {
    let report = gradcheck_random_in::<M>(-1.5..=1.5, 32, 7, tolerance)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(report.checked > 0, "{name}: nothing checked");
    assert!(report.not_checked.is_none(), "{name}: {report}");
}

#[test]
fn every_gradient_matches_finite_differences() {
    check::<scalar::Model>("scalar", 1e-6);
    check::<unit::Model>("unit", 1e-6);
    check::<layer::Model>("layer", 1e-2);
    check::<net::Model>("net", 1e-2);
    check::<generic::Model<f64>>("generic f64", 1e-6);
    check::<generic::Model<f32>>("generic f32", 1e-2);
}

#[test]
fn the_running_example_steps_as_in_the_notes() {
    let (w, b, y) = neuron_nostd::running_example_step();
    for (got, want) in w.iter().zip([-3.001, -0.998, 1.997]) {
        assert!((got - want).abs() < 1e-12, "w = {w:?}");
    }
    assert!((b - 0.999).abs() < 1e-12, "b = {b}");
    assert!((y - 5.985).abs() < 1e-12, "y = {y}");
}

#[test]
fn backward_is_the_chain_rule_by_value_and_by_reference() {
    let (by_value, by_ref, s) = neuron_nostd::backward_parts();
    assert_eq!(by_value, by_ref);
    // layer: y_i = tanh(z_i), z_i = w_i · x + b_i, so with
    // d_i = dy_i (1 - y_i²): ∂/∂x_j = Σ_i d_i w_ij, ∂/∂w_ij = d_i x_j,
    // ∂/∂b_i = d_i.
    let x = [0.5_f64, -1.5];
    let w = [[0.3_f64, -0.2], [0.1, 0.4], [-0.5, 0.2], [0.7, 0.7]];
    let b = [0.0_f64, 0.1, -0.1, 0.2];
    let dy = [1.0_f64, -2.0, 0.5, 3.0];
    let d: Vec<f64> = (0..4)
        .map(|i| {
            let y = (w[i][0] * x[0] + w[i][1] * x[1] + b[i]).tanh();
            dy[i] * (1.0 - y * y)
        })
        .collect();
    let close =
        |got: f32, want: f64| assert!(fd::close(f64::from(got), want, 1e-5), "{got} vs {want}");
    for (j, &got) in by_value.x.iter().enumerate() {
        close(got, d.iter().zip(&w).map(|(d, w)| d * w[j]).sum());
    }
    for ((&d, &got_b), got_w) in d.iter().zip(&by_value.b).zip(&by_value.w) {
        close(got_b, d);
        for (&got, x) in got_w.iter().zip(x) {
            close(got, d * x);
        }
    }
    // scalar: `backward` with dy = 2 is twice the finite differences.
    let f = |p: &[f64]| neuron_nostd::scalar(p[0], p[1], p[2]);
    let point = [0.7, -1.2, 0.4];
    let want: Vec<f64> = fd::central(f, &point, 1e-5)
        .iter()
        .map(|g| 2.0 * g)
        .collect();
    fd::assert_all_close("scalar::backward", &point, &[s.x, s.w, s.b], &want, 1e-7);
}

#[test]
fn adam_learns_xor_in_a_loop_without_the_trainer() {
    let before = neuron_nostd::xor_loss(&neuron_nostd::start());
    let model = neuron_nostd::train_xor(500);
    let after = neuron_nostd::xor_loss(&model);
    assert!(before > 0.2, "the start already fits XOR: {before}");
    assert!(after < 0.01, "loss {before} -> {after}");
    for (x, t) in neuron_nostd::XOR {
        let y = model.forward(&x);
        assert!((y - t).abs() < 0.2, "{x:?} -> {y}, want {t}");
    }
}

#[test]
fn the_readme_epoch_fits_a_line() {
    // y = 2 x0 - x1 + 0.5 x2 + 1, positive at every point, so the ReLU
    // passes it through.
    let data: Vec<([f64; 3], f64)> = (0..16)
        .map(|k| {
            let x = [f64::from(k % 4) / 2.0, f64::from(k / 4) / 4.0, 1.0];
            (x, 2.0 * x[0] - x[1] + 0.5 * x[2] + 1.0)
        })
        .collect();
    let mut model = unit::Model::new(unit::Params::new([0.5, 0.5, 0.5], 0.5));
    let mut adam = Adam::new(0.05);
    let loss = |model: &unit::Model| -> f64 {
        data.iter()
            .map(|(x, t)| MeanSquaredError.loss(&model.forward(x), t))
            .sum::<f64>()
            / 16.0
    };
    let before = loss(&model);
    for _ in 0..2000 {
        neuron_nostd::epoch(&mut model, &mut adam, &data);
    }
    let after = loss(&model);
    assert!(after < 1e-4 * before, "loss {before} -> {after}");
}

/// The README's `no_std` example is this crate's code, line for line.
#[test]
fn the_readme_example_is_the_crates_code() {
    let readme = include_str!("../../README.md");
    let crate_source = include_str!("../../nostd/src/lib.rs");
    let section = readme
        .split("### no_std")
        .nth(1)
        .expect("a no_std section in README.md");
    let example = section
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a Rust block in the no_std section");
    for line in example.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            crate_source.contains(line),
            "README line not in nostd/src/lib.rs: {line}"
        );
    }
}
