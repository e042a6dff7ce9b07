//! Dropout as an op of the language, through the whole path: the macro
//! emits `x[i] * mask.factor(p, SITE, i)`, rustc compiles it, and the
//! runtime's thread mode decides the masks. In inference a neuron with
//! dropout is the neuron without it; in training (`dropout::training`,
//! or inside `Trainer::fit`) its value is the hand computation with
//! `dropout::factor`, and its gradient matches finite differences under
//! the same key, for which the masks are fixed.

mod fd;

use fd::{arr, assert_all_close, central, flat2, mat, rng, uniforms};
use neuron_core::dropout::{self, site};
use neuron_core::prelude::*;

/// The example of the README: dropout after the hidden layer.
#[neuron]
pub fn net(x: [f64; 4], #[param] w: [[f64; 4]; 8], #[param] v: [f64; 8]) -> f64 {
    let h = dropout(relu(matvec(w, x)), 0.5);
    dot(v, h)
}

/// `net` without dropout.
#[neuron]
pub fn plain(x: [f64; 4], #[param] w: [[f64; 4]; 8], #[param] v: [f64; 8]) -> f64 {
    let h = relu(matvec(w, x));
    dot(v, h)
}

/// Smooth, with dropout of a matrix (method spelling), of a vector and of
/// a real, and a probability computed from literals and a binding.
#[neuron]
pub fn smooth(x: [f64; 3], #[param] w: [[f64; 3]; 4], #[param] b: f64) -> f64 {
    let rate = 0.25;
    let wd = w.dropout(rate);
    let h = dropout(tanh(matvec(wd, x)), 1.0 / 2.0);
    let s = dropout(b * b, rate + 0.05);
    sum(h) * s + dot(h, h)
}

/// `smooth` by hand, from the runtime's factors: `wd[i][j] = w[i][j] *
/// factor(0.25, site 0, i * 3 + j)`, `h[i] = tanh(..) * factor(0.5, site
/// 1, i)`, `s = b² * factor(0.3, site 2, 0)`.
fn smooth_by_hand(x: [f64; 3], w: [[f64; 3]; 4], b: f64) -> f64 {
    let wd: [[f64; 3]; 4] = std::array::from_fn(|i| {
        std::array::from_fn(|j| w[i][j] * dropout::factor(0.25, site("smooth", 0), i * 3 + j))
    });
    let h: [f64; 4] = std::array::from_fn(|i| {
        let z: f64 = (0..3).map(|j| wd[i][j] * x[j]).sum();
        z.tanh() * dropout::factor(0.5, site("smooth", 1), i)
    });
    let s = b * b * dropout::factor(0.25 + 0.05, site("smooth", 2), 0);
    h.iter().sum::<f64>() * s + h.iter().map(|v| v * v).sum::<f64>()
}

/// Two dropout ops on the same value: two sites, two masks, which
/// `a = 1, b = 0` and `a = 0, b = 1` show one at a time.
#[neuron]
pub fn pair(x: [f64; 64], a: f64, b: f64) -> [f64; 64] {
    dropout(x, 0.5) * a + dropout(x, 0.5) * b
}

/// Dropout alone.
#[neuron]
pub fn drop64(x: [f64; 64]) -> [f64; 64] {
    dropout(x, 0.5)
}

/// The two masks of `pair` under `key`, read off its output.
fn masks(key: u64) -> [[f64; 64]; 2] {
    let ones = [1.0; 64];
    dropout::training(key, || [pair(ones, 1.0, 0.0), pair(ones, 0.0, 1.0)])
}

/// An `f32` neuron.
#[neuron]
pub fn single(x: [f32; 16], #[param] s: f32) -> f32 {
    sum(dropout(x * s, 0.2))
}

/// A generic one.
#[neuron]
pub fn generic<T: Real>(x: [T; 16], #[param] s: T) -> T {
    sum(x.dropout(0.2) * s)
}

/// A user's names that the generated code also uses: `mask` and `dropout`.
#[neuron]
pub fn named(mask: [f64; 8], #[param] dropout: f64) -> f64 {
    let mask_2 = mask.dropout(0.5) * dropout;
    sum(mask_2)
}

fn point(seed: u64) -> ([f64; 4], [[f64; 4]; 8], [f64; 8]) {
    let mut r = rng(seed);
    let v = uniforms(&mut r, 4 + 32 + 8, -1.5, 1.5);
    (arr(&v[..4]), mat(&v[4..36]), arr(&v[36..]))
}

#[test]
fn in_inference_a_neuron_with_dropout_is_the_neuron_without() {
    assert!(!dropout::is_training());
    for seed in 0..20 {
        let (x, w, v) = point(seed);
        assert_eq!(net(x, w, v), plain(x, w, v));
        let (y, g) = net::gradient(x, w, v);
        let (y0, g0) = plain::gradient(x, w, v);
        assert_eq!(y, y0);
        assert_eq!((g.x, g.w, g.v), (g0.x, g0.w, g0.v));
        // Also inside `inference` nested in `training`.
        let inside = dropout::training(seed, || dropout::inference(|| net::gradient(x, w, v)));
        assert_eq!(inside.0, y0);
        assert_eq!(inside.1.w, g0.w);
    }
}

#[test]
fn in_training_the_value_is_the_hand_computation_with_the_runtimes_factors() {
    for seed in 0..20 {
        let (x, w, v) = point(seed);
        let key = 1000 + seed;
        let (got, want) = dropout::training(key, || {
            let h: [f64; 8] = std::array::from_fn(|i| {
                let z: f64 = (0..4).map(|j| w[i][j] * x[j]).sum();
                z.max(0.0) * dropout::factor(0.5, site("net", 0), i)
            });
            (net(x, w, v), fd::dot(&v, &h))
        });
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "{got} vs {want}"
        );
        // Some masks keep and some drop: the value differs from inference.
        let factors: Vec<f64> = dropout::training(key, || {
            (0..8)
                .map(|i| dropout::factor(0.5, site("net", 0), i))
                .collect()
        });
        assert!(factors.iter().all(|&f| f == 0.0 || f == 2.0), "{factors:?}");
    }
    for seed in 0..20 {
        let mut r = rng(100 + seed);
        let p = uniforms(&mut r, 16, -1.5, 1.5);
        let (x, w, b) = (arr(&p[..3]), mat(&p[3..15]), p[15]);
        let (got, want) = dropout::training(seed, || (smooth(x, w, b), smooth_by_hand(x, w, b)));
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "{got} vs {want}"
        );
    }
}

/// For a fixed key the masks are fixed, so the function is smooth there:
/// every partial against central differences computed under the same key.
#[test]
fn in_training_the_gradient_matches_finite_differences_under_the_same_key() {
    let mut dropped_somewhere = 0;
    for seed in 0..60 {
        let mut r = rng(200 + seed);
        let p = uniforms(&mut r, 16, -1.5, 1.5);
        let key = 7 * seed + 3;
        let f = |q: &[f64]| dropout::training(key, || smooth(arr(&q[..3]), mat(&q[3..15]), q[15]));
        let (x, w, b) = (arr(&p[..3]), mat(&p[3..15]), p[15]);
        let (y, g) = dropout::training(key, || smooth::gradient(x, w, b));
        assert_eq!(y, f(&p));
        let mut got = g.x.to_vec();
        got.extend(flat2(&g.w));
        got.push(g.b);
        let want = central(f, &p, 1e-5);
        assert_all_close("smooth under a key", &p, &got, &want, 1e-6);
        // A dropped weight has no gradient at all.
        dropout::training(key, || {
            for i in 0..4 {
                for j in 0..3 {
                    if dropout::factor(0.25, site("smooth", 0), i * 3 + j) == 0.0 {
                        assert_eq!(g.w[i][j], 0.0);
                        dropped_somewhere += 1;
                    }
                }
            }
        });
    }
    assert!(dropped_somewhere > 60, "{dropped_somewhere}");
    // The README's network too, away from relu's kinks.
    for seed in 0..50 {
        let (x, w, v) = point(300 + seed);
        let key = 11 * seed;
        let mut flat = x.to_vec();
        flat.extend(flat2(&w));
        flat.extend(v);
        let kink = w
            .iter()
            .map(|row| fd::dot(row, &x).abs())
            .fold(f64::INFINITY, f64::min);
        if kink < 1e-3 {
            continue;
        }
        let f =
            |q: &[f64]| dropout::training(key, || net(arr(&q[..4]), mat(&q[4..36]), arr(&q[36..])));
        let (_, g) = dropout::training(key, || net::gradient(x, w, v));
        let mut got = g.x.to_vec();
        got.extend(flat2(&g.w));
        got.extend(g.v);
        assert_all_close(
            "net under a key",
            &flat,
            &got,
            &central(f, &flat, 1e-6),
            1e-6,
        );
    }
}

#[test]
fn two_dropout_ops_draw_masks_of_their_own() {
    let [a, b] = masks(5);
    assert_ne!(a, b);
    for i in 0..64 {
        let (fa, fb) = dropout::training(5, || {
            (
                dropout::factor(0.5, site("pair", 0), i),
                dropout::factor(0.5, site("pair", 1), i),
            )
        });
        assert_eq!((a[i], b[i]), (fa, fb), "element {i}");
    }
    // Half of the elements differ between the two, about.
    let differ = a.iter().zip(&b).filter(|(p, q)| p != q).count();
    assert!((16..=48).contains(&differ), "{differ}");
}

#[test]
fn one_key_gives_the_same_masks_in_forward_gradient_and_backward() {
    let mut r = rng(9);
    let x: [f64; 64] = arr(&uniforms(&mut r, 64, -1.0, 1.0));
    let dy: [f64; 64] = arr(&uniforms(&mut r, 64, -1.0, 1.0));
    let (a, b) = (0.75, -1.25);
    for key in [0, 1, 42, u64::MAX] {
        let forward = dropout::training(key, || pair(x, a, b));
        let again = dropout::training(key, || pair(x, a, b));
        let (value, grad) = dropout::training(key, || pair::backward(x, a, b, dy));
        assert_eq!(forward, again);
        assert_eq!(forward, value);
        // The masks the forward pass drew, and the derivatives they give:
        // d_x = dy (a m₀ + b m₁), d_a = Σ dy x m₀, d_b = Σ dy x m₁.
        let [m0, m1] = masks(key);
        let mut da = 0.0;
        let mut db = 0.0;
        for i in 0..64 {
            assert_eq!(forward[i], x[i] * m0[i] * a + x[i] * m1[i] * b);
            let want = dy[i] * (a * m0[i] + b * m1[i]);
            assert!(
                (grad.x[i] - want).abs() < 1e-12,
                "element {i}: {} vs {want}",
                grad.x[i]
            );
            da += dy[i] * x[i] * m0[i];
            db += dy[i] * x[i] * m1[i];
        }
        assert!((grad.a - da).abs() < 1e-12 && (grad.b - db).abs() < 1e-12);
        // Scalar output: `gradient` and `backward` agree with `forward`.
        let (x4, w, v) = point(key % 97);
        let y = dropout::training(key, || net(x4, w, v));
        let (yg, g) = dropout::training(key, || net::gradient(x4, w, v));
        let (yb, b) = dropout::training(key, || net::backward(x4, w, v, 1.0));
        assert_eq!((y, y), (yg, yb));
        assert_eq!((g.w, g.v), (b.w, b.v));
    }
    // Another key, other masks.
    assert_ne!(masks(1), masks(2));
}

#[test]
fn the_share_of_dropped_elements_is_near_p() {
    let (mut dropped, mut total) = (0usize, 0usize);
    for key in 0..400 {
        for row in masks(key) {
            for v in row {
                assert!(v == 0.0 || v == 2.0, "{v}");
                dropped += usize::from(v == 0.0);
                total += 1;
            }
        }
    }
    // Binomial(51200, 0.5): the standard deviation of the share is 0.0022.
    let share = dropped as f64 / total as f64;
    assert!((share - 0.5).abs() < 0.011, "{share}");

    let ones32 = [1.0f32; 16];
    let (mut dropped, mut sum) = (0usize, 0.0f64);
    for key in 0..2000 {
        let y = dropout::training(key, || single(ones32, 1.0));
        let g = dropout::training(key, || generic(ones32, 1.0));
        // Kept elements are 1 / (1 - 0.2) = 1.25; g = 1.25 · kept too.
        let kept_g = (f64::from(g) / 1.25).round();
        assert!((f64::from(g) - 1.25 * kept_g).abs() < 1e-4, "{g}");
        let kept = (f64::from(y) / 1.25).round();
        assert!((f64::from(y) - 1.25 * kept).abs() < 1e-4, "{y}");
        dropped += 16 - kept as usize;
        sum += f64::from(y);
    }
    // Binomial(32000, 0.2): the standard deviation of the share is 0.0022.
    let share = dropped as f64 / 32_000.0;
    assert!((share - 0.2).abs() < 0.011, "{share}");
    // The expected value is kept: the mean of the sum is 16.
    assert!((sum / 2000.0 - 16.0).abs() < 0.2, "{}", sum / 2000.0);
}

#[test]
fn nan_is_kept_where_an_element_is_dropped() {
    let mut x = [1.0; 64];
    x[3] = f64::NAN;
    x[10] = f64::INFINITY;
    let mut nan_of_infinity = 0;
    for key in 0..8 {
        let y = dropout::training(key, || drop64(x));
        assert!(y[3].is_nan());
        // Infinity times a dropped element's 0 is NaN, as in IEEE.
        let f = dropout::training(key, || dropout::factor(0.5, site("drop64", 0), 10));
        assert_eq!(y[10].is_nan(), f == 0.0, "{}", y[10]);
        nan_of_infinity += usize::from(f == 0.0);
    }
    assert!((1..8).contains(&nan_of_infinity), "{nan_of_infinity}");
    // A NaN upstream derivative stays NaN through a dropped element.
    let (_, g) = dropout::training(3, || drop64::backward([1.0; 64], [f64::NAN; 64]));
    assert!(g.x.iter().all(|v| v.is_nan()));
    // In inference, NaN in is NaN out, and the rest is the identity.
    let y = drop64(x);
    assert!(y[3].is_nan() && y[10] == f64::INFINITY && y[0] == 1.0);
}

#[test]
fn the_generated_code_reads_the_mask_once_and_names_each_site() {
    // Once in `forward_ref` and once in `gradient_ref`, whose pass the
    // others call.
    let source = net::SOURCE;
    assert_eq!(
        source
            .matches("let mask = ::neuron_core::dropout::Mask::current();")
            .count(),
        2,
        "{source}"
    );
    assert!(
        source.contains("mask.factor(0.5, const { ::neuron_core::dropout::site(\"net\", 0) }, i)"),
        "{source}"
    );
    let source = pair::SOURCE;
    assert!(source.contains("site(\"pair\", 0)") && source.contains("site(\"pair\", 1)"));
    // A user's `mask` is not captured: the state is read into `mask_2`.
    let source = named::SOURCE;
    assert!(
        source.contains("let mask_2 = ::neuron_core::dropout::Mask::current();"),
        "{source}"
    );
    let x = [2.0; 8];
    assert_eq!(named(x, 0.5), 8.0);
    let y = dropout::training(4, || named(x, 0.5));
    let kept = (0..8)
        .filter(|&i| dropout::training(4, || dropout::factor(0.5, site("named", 0), i)) > 0.0)
        .count();
    assert_eq!(y, 2.0 * kept as f64);
}

/// A 2-16-1 network with dropout, trained by `Trainer::fit`: the trainer
/// puts each training sample in training mode (the loss it reports is the
/// dropped network's), and `evaluate` scores in inference, the same every
/// time.
#[neuron]
pub fn regressor(
    x: [f64; 2],
    #[param] w1: [[f64; 2]; 16],
    #[param] b1: [f64; 16],
    #[param] w2: [f64; 16],
    #[param] b2: f64,
) -> f64 {
    let h = dropout(tanh(matvec(w1, x) + b1), 0.2);
    dot(w2, h) + b2
}

#[test]
fn a_network_with_dropout_trains_and_evaluates_deterministically() {
    // y = x0² - x1 / 2 on a grid.
    let data: Vec<([f64; 2], f64)> = (0..100)
        .map(|k| {
            let x = [(k % 10) as f64 / 5.0 - 0.9, (k / 10) as f64 / 5.0 - 0.9];
            (x, x[0] * x[0] - x[1] / 2.0)
        })
        .collect();
    let mut model = regressor::Model::new(regressor::Params::glorot_uniform(3));
    let before = evaluate(&model, &MeanSquaredError, &data).unwrap().loss;
    let mut trainer = Trainer::new(Adam::new(0.01), MeanSquaredError)
        .epochs(600)
        .batch_size(10)
        .seed(11)
        .progress(false);
    let history = trainer.fit(&mut model, &data).unwrap();
    assert!(
        !dropout::is_training(),
        "fit leaves its thread in inference"
    );
    let after = evaluate(&model, &MeanSquaredError, &data).unwrap();
    assert_eq!(after, evaluate(&model, &MeanSquaredError, &data).unwrap());
    assert!(
        after.loss < 0.03 && after.loss < 0.1 * before,
        "{before} -> {}",
        after.loss
    );
    // The training loss is the dropped network's, which fits the data
    // worse than the whole network does.
    let last = history.epochs.last().unwrap().loss;
    assert!(
        last > after.loss,
        "training {last}, evaluation {}",
        after.loss
    );
    // The same seed trains to the same parameters.
    let mut again = regressor::Model::new(regressor::Params::glorot_uniform(3));
    Trainer::new(Adam::new(0.01), MeanSquaredError)
        .epochs(600)
        .batch_size(10)
        .seed(11)
        .progress(false)
        .fit(&mut again, &data)
        .unwrap();
    assert_eq!(again.params, model.params);
}

/// The README's example: `net` trained by the `Trainer`.
#[test]
fn the_readme_example_trains() -> Result<(), Box<dyn std::error::Error>> {
    let data: Vec<([f64; 4], f64)> = (0..64)
        .map(|k| {
            let f = |m: usize| ((k * (2 * m + 5)) % 13) as f64 / 6.0 - 1.0;
            let x = [f(0), f(1), f(2), f(3)];
            (x, (x[0] + x[1]).max(0.0) + 0.5 * (x[2] - x[3]).max(0.0))
        })
        .collect();
    let mut model = net::Model::new(net::Params::he_normal(1));
    let before = evaluate(&model, &MeanSquaredError, &data)?.loss;
    let mut trainer = Trainer::new(Adam::new(0.01), MeanSquaredError)
        .epochs(200)
        .seed(7);
    trainer = trainer.progress(false);
    trainer.fit(&mut model, &data)?; // each sample's forward and backward pass in training mode
    let score = evaluate(&model, &MeanSquaredError, &data)?; // in inference: nothing dropped
    assert!(score.loss < 0.25 * before, "{before} -> {}", score.loss);
    Ok(())
}

/// Every line of the README's dropout example is a line of this file.
#[test]
fn the_readmes_dropout_example_is_code_of_this_file() {
    let readme = include_str!("../../README.md");
    let this = include_str!("dropout.rs");
    let block = readme
        .split("**Dropout.**")
        .nth(1)
        .and_then(|rest| rest.split("```rust\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("the README has a dropout example");
    let lines: Vec<&str> = block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert!(lines.len() >= 8, "{lines:?}");
    for line in lines {
        assert!(
            this.lines().any(|l| l.trim() == line),
            "the README's `{line}` is not here"
        );
    }
}
