//! `gradcheck` never fails on a correct gradient: neurons that use every
//! op of the language, at small and large magnitudes (outputs about
//! `-1.7e5`, about `1e5` with slopes to match, about `1e-6`), over narrow
//! and wide ranges of arguments, in f64 and f32, checked at many seeded
//! random points with the default tolerances of `#[neuron(gradcheck)]`.
//! A last test reads the README's table of the language and fails if an
//! op is missing here.

use neuron_core::prelude::*;
use neuron_core::{Differentiable, GradcheckReport, gradcheck_random_in};

/// Every scalar function of the first half of the table, and the
/// operators.
#[neuron]
pub fn scalars_a<T: Real>(x: [T; 4], #[param] w: [T; 4]) -> T {
    let a = relu(x[0] * w[0]) + sigmoid(x[1]) + tanh(w[1]) + exp(x[2] / 2.0);
    let b = ln(1.0 + square(w[2])) + sqrt(1.0 + square(x[3])) + abs(x[0] - w[0]);
    let c = softplus(x[1] * w[1]) + max(x[2], w[2]) + min(x[3], w[3]);
    let d = powf(1.0 + square(x[0]), w[1]) + leaky_relu(x[1] - w[2], 0.1) + powi(x[2], 3);
    a + b - c * 0.5 + d
}

/// Every scalar function of the second half of the table.
#[neuron]
pub fn scalars_b<T: Real>(x: [T; 4], #[param] w: [T; 4]) -> T {
    let a = sin(x[0] * w[0]) + cos(x[1] + w[1]) + atan(x[2] * 3.0) + silu(w[2]);
    let b = gelu(x[3] - w[3]) + elu(x[0] + w[1], 1.5) + softsign(x[1] * w[2]);
    let c = clamp(x[2] + w[3], -0.5, 0.5) + log_sigmoid(x[3] * w[0]);
    // In inference, as `gradcheck` runs: `x[1] * w[3]` itself.
    let d = dropout(x[1] * w[3], 0.5);
    a - b * c + -(x[0] / (1.0 + square(w[0]))) + d
}

/// Every array function.
#[neuron]
pub fn arrays<T: Real>(x: [T; 3], #[param] m: [[T; 3]; 2], #[param] v: [T; 2]) -> T {
    let h = matvec(m, x);
    let p = softmax(h);
    let lp = log_softmax(h + v);
    let o = outer(v, x);
    let mm = matmul(m, transpose(m));
    let s = dot(v, h) + sum(p * v) + mean(lp) + logsumexp(h - v);
    s + norm(o) + max(x) + min(v) + sum(mm) * 0.1 + [x[0], v[1]][1]
}

/// A layer with a vector output.
#[neuron]
pub fn layer<T: Real>(x: [T; 3], #[param] w: [[T; 3]; 2], #[param] b: [T; 2]) -> [T; 2] {
    tanh(matvec(w, x) + b) * 3.0 + softplus(b)
}

/// The case: values about -1.7e5, slopes about 1.
#[neuron]
pub fn offset_a<T: Real>(x: [T; 4], #[param] w: [T; 4]) -> T {
    let y: T = scalars_a(x, w);
    y - 1.7e5
}

/// [`scalars_b`] about -1.7e5.
#[neuron]
pub fn offset_b<T: Real>(x: [T; 4], #[param] w: [T; 4]) -> T {
    let y: T = scalars_b(x, w);
    y - 1.7e5
}

/// [`arrays`] about -1.7e5.
#[neuron]
pub fn offset_arrays<T: Real>(x: [T; 3], #[param] m: [[T; 3]; 2], #[param] v: [T; 2]) -> T {
    let y: T = arrays(x, m, v);
    y - 1.7e5
}

/// [`layer`] about -1.7e5.
#[neuron]
pub fn offset_layer<T: Real>(x: [T; 3], #[param] w: [[T; 3]; 2], #[param] b: [T; 2]) -> [T; 2] {
    let y: [T; 2] = layer(x, w, b);
    y - 1.7e5
}

/// Values and slopes both about 1e5.
#[neuron]
pub fn scaled_a<T: Real>(x: [T; 4], #[param] w: [T; 4]) -> T {
    let y: T = scalars_a(x, w);
    y * 1.0e5
}

/// [`scalars_b`] times -1e5.
#[neuron]
pub fn scaled_b<T: Real>(x: [T; 4], #[param] w: [T; 4]) -> T {
    let y: T = scalars_b(x, w);
    y * -1.0e5
}

/// [`arrays`] times 1e5.
#[neuron]
pub fn scaled_arrays<T: Real>(x: [T; 3], #[param] m: [[T; 3]; 2], #[param] v: [T; 2]) -> T {
    let y: T = arrays(x, m, v);
    y * 1.0e5
}

/// Values and slopes both about 1e-6.
#[neuron]
pub fn tiny_a<T: Real>(x: [T; 4], #[param] w: [T; 4]) -> T {
    let y: T = scalars_a(x, w);
    y * 1.0e-6
}

/// [`scalars_b`] times 1e-6.
#[neuron]
pub fn tiny_b<T: Real>(x: [T; 4], #[param] w: [T; 4]) -> T {
    let y: T = scalars_b(x, w);
    y * 1.0e-6
}

/// [`arrays`] times 1e-6.
#[neuron]
pub fn tiny_arrays<T: Real>(x: [T; 3], #[param] m: [[T; 3]; 2], #[param] v: [T; 2]) -> T {
    let y: T = arrays(x, m, v);
    y * 1.0e-6
}

/// The default tolerance of `#[neuron(gradcheck)]` for the float type.
fn tolerance<F: Differentiable>() -> f64 {
    if core::mem::size_of::<F::Real>() == 4 {
        1e-2
    } else {
        1e-6
    }
}

/// Checks `F` at 200 points for each of three seeds, over `[-r, r]` for
/// each `r`, and returns how many partials were compared.
fn never_fails<F: Differentiable>(name: &str, ranges: &[f64]) -> usize {
    let mut checked = 0;
    for &r in ranges {
        for seed in 0..3 {
            let result = gradcheck_random_in::<F>(-r..=r, 200, seed, tolerance::<F>());
            let report: GradcheckReport = match result {
                Ok(report) => report,
                Err(error) => panic!("{name} over ±{r}, seed {seed}: {error}"),
            };
            checked += report.checked;
        }
    }
    checked
}

/// Runs [`never_fails`] on each neuron in f64 and f32, at ranges 2 and
/// 20, asserting each compares most of its partials.
macro_rules! every {
    ($($f:ident),* $(,)?) => {
        $(
            for (ty, checked, total) in [
                ("f64", never_fails::<$f::Model<f64>>(concat!(stringify!($f), " in f64"), &[2.0, 20.0]),
                 <$f::Model<f64> as Differentiable>::ARGS.iter().map(|a| a.len()).sum::<usize>()
                     * <$f::Model<f64> as Differentiable>::OUTPUT_LEN),
                ("f32", never_fails::<$f::Model<f32>>(concat!(stringify!($f), " in f32"), &[2.0, 20.0]),
                 <$f::Model<f32> as Differentiable>::ARGS.iter().map(|a| a.len()).sum::<usize>()
                     * <$f::Model<f32> as Differentiable>::OUTPUT_LEN),
            ] {
                // Some points are skipped (not finite, or kinks), but a
                // check that skipped most would prove little.
                let possible = total * 200 * 3 * 2;
                assert!(
                    checked * 4 > possible,
                    "{} in {ty}: only {checked} of {possible} partials compared",
                    stringify!($f)
                );
            }
        )*
    };
}

#[test]
fn plain_magnitudes() {
    every!(scalars_a, scalars_b, arrays, layer);
}

#[test]
fn outputs_about_minus_1_7e5() {
    every!(offset_a, offset_b, offset_arrays, offset_layer);
}

/// `offset_a` in f64 with its first partial made wrong by `1 + 1e-4`.
struct NearlyRight;

impl Differentiable for NearlyRight {
    type Real = f64;
    const ARGS: &'static [neuron_core::Field] = <offset_a::Model<f64> as Differentiable>::ARGS;
    const OUTPUT_LEN: usize = 1;

    fn eval_flat(args: &[f64], out: &mut [f64]) -> Option<()> {
        <offset_a::Model<f64> as Differentiable>::eval_flat(args, out)
    }

    fn backward_flat(args: &[f64], dy: &[f64], grad: &mut [f64]) -> Option<()> {
        <offset_a::Model<f64> as Differentiable>::backward_flat(args, dy, grad)?;
        grad[0] *= 1.0 + 1e-4;
        Some(())
    }
}

#[test]
fn at_minus_1_7e5_the_bound_is_wider_than_the_tolerance_yet_catches_mistakes() {
    // The relative tolerance alone would fail the correct gradient: the
    // finite differences are off by more than 1e-6 there.
    let report = gradcheck_random_in::<offset_a::Model<f64>>(-2.0..=2.0, 200, 0, 1e-6).unwrap();
    assert!(report.max_error > 1e-6, "{report}");
    let worst = report.worst.unwrap();
    assert!(worst.estimate > 1e-7 && worst.estimate < 1e-3, "{worst:?}");
    // A mistake of one part in ten thousand is still found.
    let err = gradcheck_random_in::<NearlyRight>(-2.0..=2.0, 200, 0, 1e-6).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("wrong gradient: d out / d x[0] is "),
        "{err}"
    );
}

#[test]
fn outputs_and_slopes_about_1e5() {
    every!(scaled_a, scaled_b, scaled_arrays);
}

#[test]
fn outputs_and_slopes_about_1e_6() {
    every!(tiny_a, tiny_b, tiny_arrays);
}

#[test]
fn every_op_of_the_language_is_used_here() {
    let readme = include_str!("../../README.md");
    let this = include_str!("gradcheck_magnitudes.rs");
    let table = readme
        .split("<!-- ops:begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- ops:end -->").next())
        .expect("the README has the ops table");
    let names: Vec<&str> = table
        .lines()
        .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
        .filter(|name| *name != "function")
        .collect();
    assert!(names.len() > 30, "{names:?}");
    let missing: Vec<&&str> = names
        .iter()
        .filter(|name| !this.contains(&format!("{name}(")))
        .collect();
    assert!(missing.is_empty(), "ops not checked here: {missing:?}");
}
