//! Gradient checking: compares a [`Differentiable`]'s analytic gradient
//! (`backward_flat`) with finite differences of its value (`eval_flat`),
//! partial derivative by partial derivative.
//!
//! For every output `j` the analytic row comes from `backward_flat` with
//! `dy` the unit vector `e_j`. For every scalar argument `i` the function
//! is evaluated at `x`, `x ± h e_i` and `x ± (h / 2) e_i`, with
//! `h = cbrt(epsilon) * max(1, |x_i|)`, the step that balances truncation
//! and rounding error:
//!
//! ```text
//! right = 2 (f(x + h/2) - f(x)) / (h/2) - (f(x + h) - f(x)) / h     one-sided, second order
//! left  = 2 (f(x) - f(x - h/2)) / (h/2) - (f(x) - f(x - h)) / h
//! numeric = (4 C(h/2) - C(h)) / 3,  C(s) = (f(x + s) - f(x - s)) / 2s   fourth order (Richardson)
//! ```
//!
//! # How far apart is too far
//!
//! Finite differences are themselves off, by truncation (the function's
//! curvature) and by rounding (each value of `f` is only known to a few
//! units of `epsilon * |f|`, and dividing by `h` magnifies that). So a
//! partial passes when
//!
//! ```text
//! |analytic - numeric| <= tolerance * max(1, |analytic|, |numeric|) + 2 * estimate
//! estimate = |C(h) - C(h/2)| + 12 * rounding,   rounding = epsilon * max |f| / h
//! ```
//!
//! `|C(h) - C(h/2)|` is Richardson's estimate of the error of the central
//! differences, measured at the point (it holds their rounding noise
//! too); `rounding` bounds the noise from `f`'s magnitude (`max |f|` over
//! the five values), which is what makes a function whose outputs are
//! about `-1.7e5` hard to difference in the last digits. Far from
//! magnitudes and curvatures like those, the bound is the relative
//! `tolerance` (absolute below 1). [`Partial::estimate`] and
//! [`Partial::allowed`] report what was used.
//!
//! # Kinks
//!
//! Each one-sided estimate is the derivative on its own side, whatever the
//! curvature (their difference shrinks with `h³`), unless a kink
//! (`relu`, `abs`, `max`, ...) lies on that side within `h`. So a partial
//! whose two sides disagree by more than
//! `tolerance * max(1, |right|, |left|) + 64 * rounding` is skipped: there
//! is no one derivative to check it against, whether one kink or several
//! meet there and whatever convention the gradient follows at the kink.
//! Every other partial is compared with `numeric`, so a strongly curved
//! function is checked, not skipped. A check that compared nothing is an
//! error, never a pass.
//!
//! A gradient that goes through a surrogate derivative
//! (`#[neuron::surrogate]`, listed in [`Differentiable::DECLARATIONS`]) is
//! by design not the derivative of the function, so no point is compared:
//! the check returns `Ok` with [`GradcheckReport::not_checked`] saying
//! which surrogates, and its `Display` says it was not checked.

use core::fmt;
use core::ops::RangeInclusive;

use num_traits::{Float, One, Zero};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::custom::Declaration;
use crate::model::{Differentiable, Field, fields_len, shape_len};
use crate::params_io::element_name;
use crate::real::Real;

/// The outcome of a gradient check that passed (or, inside
/// [`GradcheckError::Mismatch`], one that did not).
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckReport {
    /// The largest relative error found (see [`Partial::error`]), `0`
    /// when nothing was compared.
    pub max_error: f64,
    /// The largest difference found as a share of the difference allowed
    /// there (see [`Partial::allowed`]): the check passes when it is at
    /// most 1.
    pub max_ratio: f64,
    /// The partial nearest to failing, the one of `max_ratio`.
    pub worst: Option<Partial>,
    /// The relative tolerance the errors were held to.
    pub tolerance: f64,
    /// How many points were checked.
    pub points: usize,
    /// How many sampled points were skipped because the function was not
    /// finite there.
    pub points_not_finite: usize,
    /// How many partial derivatives were compared.
    pub checked: usize,
    /// How many partial derivatives were skipped as kinks or because the
    /// function was not finite a step away.
    pub skipped: usize,
    /// Why nothing was compared, for a check that was not run at all:
    /// `None` for one that ran.
    pub not_checked: Option<NotChecked>,
}

/// Why a gradient check was not run, while not failing either.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum NotChecked {
    /// The gradient goes through these surrogate derivatives
    /// (`#[neuron::surrogate]`): stand-ins that differ from the function's
    /// own derivative by design, such as a smooth slope for a step
    /// function whose derivative is zero almost everywhere.
    Surrogates(Vec<&'static Declaration>),
}

impl fmt::Display for NotChecked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotChecked::Surrogates(surrogates) => {
                f.write_str("the gradient goes through ")?;
                for (k, d) in surrogates.iter().enumerate() {
                    if k > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{d}")?;
                }
                f.write_str(
                    ", which by design is not the function's own derivative, so finite differences cannot check it",
                )
            }
        }
    }
}

/// One partial derivative `∂ output / ∂ argument` at one point.
#[derive(Clone, Debug, PartialEq)]
pub struct Partial {
    /// Every argument's value, flattened (inputs and parameters alike).
    pub point: Vec<f64>,
    /// The function's arguments, to read `point` by.
    pub fields: &'static [Field],
    /// The argument's name, from [`Differentiable::ARGS`].
    pub arg: &'static str,
    /// The flat index within that argument.
    pub index: usize,
    /// The argument element as written in Rust, e.g. `w[1][0]` or `b`.
    pub element: String,
    /// The output element, e.g. `out` or `out[2]`.
    pub output: String,
    /// What `backward_flat` gave.
    pub analytic: f64,
    /// What finite differences gave.
    pub numeric: f64,
    /// `|analytic - numeric| / max(|analytic|, |numeric|, 1)`.
    pub error: f64,
    /// The estimate of the finite differences' own error (truncation and
    /// rounding), see the [module documentation](self).
    pub estimate: f64,
    /// The largest `|analytic - numeric|` that passes here:
    /// `tolerance * max(1, |analytic|, |numeric|) + 2 * estimate`.
    pub allowed: f64,
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(why) = &self.not_checked {
            return write!(f, "not checked: {why}");
        }
        write!(
            f,
            "checked {} partial derivatives at {} points ({} skipped at kinks, {} points not finite)",
            self.checked, self.points, self.skipped, self.points_not_finite
        )?;
        if let Some(w) = &self.worst {
            write!(
                f,
                "; nearest to failing: d {} / d {}, off by {:.2e} where {:.2e} is allowed \
                 (finite-difference error estimate {:.2e})",
                w.output,
                w.element,
                (w.analytic - w.numeric).abs(),
                w.allowed,
                w.estimate
            )?;
        }
        Ok(())
    }
}

/// Why a gradient check failed.
///
/// `Debug` prints the same explanation as `Display`, so that a test that
/// calls `.unwrap()` on a failed check shows it readably.
#[derive(Clone, PartialEq, thiserror::Error)]
pub enum GradcheckError {
    /// The point does not hold as many scalars as the arguments need.
    #[error("gradcheck needs {expected} argument values (every argument flattened), got {found}")]
    WrongArgCount {
        /// The sum of the arguments' lengths.
        expected: usize,
        /// The length of the slice given.
        found: usize,
    },
    /// The function is NaN or infinite at the point given.
    #[error("the function is NaN or infinite at {}", point_text(fields, point))]
    NotFinite {
        /// The point, flattened.
        point: Vec<f64>,
        /// The function's arguments, to read `point` by.
        fields: &'static [Field],
    },
    /// A tolerance that is not a finite number `> 0`.
    #[error("the tolerance is {tolerance}; it must be a finite number > 0")]
    BadTolerance {
        /// The tolerance given.
        tolerance: f64,
    },
    /// A range to sample from that is empty or not finite.
    #[error("cannot sample points from the range {low}..={high}")]
    BadRange {
        /// Its lower end.
        low: f64,
        /// Its upper end.
        high: f64,
    },
    /// `eval_flat` or `backward_flat` rejected slices of the lengths that
    /// `ARGS` and `OUTPUT_LEN` promise: the implementation is inconsistent.
    #[error(
        "eval_flat or backward_flat rejected {args} argument values and {outputs} outputs, \
         the lengths its ARGS and OUTPUT_LEN declare"
    )]
    Inconsistent {
        /// The sum of the arguments' lengths.
        args: usize,
        /// `OUTPUT_LEN`.
        outputs: usize,
    },
    /// Some partial derivative differs from finite differences by more
    /// than the tolerance; the report's `worst` says which.
    #[error("{}", mismatch_text(_0))]
    Mismatch(Box<GradcheckReport>),
    /// No partial derivative could be compared: every one was skipped (at
    /// kinks, or where the function is not finite a step away), or no
    /// point was asked for.
    #[error(
        "no partial derivative could be checked: {0}; check at points where the function is \
         finite and away from kinks"
    )]
    NothingChecked(Box<GradcheckReport>),
}

/// `x = [1, -2, 3], w = [...], b = 1`.
fn point_text(args: &[Field], point: &[f64]) -> String {
    let mut rest = point;
    let mut parts = Vec::with_capacity(args.len());
    for field in args {
        let (values, tail) = rest.split_at(field.len().min(rest.len()));
        rest = tail;
        let mut text = format!("{} = ", field.name);
        nested_text(&mut text, field.shape, values);
        parts.push(text);
    }
    parts.join(", ")
}

/// Appends `values` nested as `shape` says: `1`, `[1, 2]`,
/// `[[1, 2], [3, 4]]`.
fn nested_text(out: &mut String, shape: &[usize], values: &[f64]) {
    match shape.split_first() {
        None => out.push_str(&values.first().copied().unwrap_or(f64::NAN).to_string()),
        Some((&n, inner)) => {
            let stride = shape_len(inner);
            out.push('[');
            for k in 0..n {
                if k > 0 {
                    out.push_str(", ");
                }
                let chunk = k
                    .checked_mul(stride)
                    .and_then(|start| values.get(start..start.checked_add(stride)?))
                    .unwrap_or(&[]);
                nested_text(out, inner, chunk);
            }
            out.push(']');
        }
    }
}

/// The message of [`GradcheckError::Mismatch`]: the worst partial, both
/// values, and the point.
fn mismatch_text(report: &GradcheckReport) -> String {
    let Some(w) = &report.worst else {
        return format!("gradient mismatch: {report}");
    };
    format!(
        "wrong gradient: d {} / d {} is {} but finite differences give {} \
         (off by {:.2e}, more than the {:.2e} allowed by tolerance {:e} and the \
         finite-difference error estimate {:.2e}) at {}; {report}",
        w.output,
        w.element,
        w.analytic,
        w.numeric,
        (w.analytic - w.numeric).abs(),
        w.allowed,
        report.tolerance,
        w.estimate,
        point_text(w.fields, &w.point)
    )
}

impl fmt::Debug for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Checks `F`'s gradient at one point, `args` holding every argument
/// flattened in declaration order.
///
/// Partials with a kink within a step of the point are skipped (see the
/// module documentation). A gradient through a surrogate derivative is not
/// checked: the report says so in [`GradcheckReport::not_checked`].
///
/// # Errors
///
/// [`GradcheckError::WrongArgCount`] for a point of the wrong length,
/// [`GradcheckError::BadTolerance`] for a tolerance that is not a finite
/// number `> 0`, [`GradcheckError::NotFinite`] when the function is not
/// finite there, [`GradcheckError::NothingChecked`] when every partial was
/// skipped, and [`GradcheckError::Mismatch`] when some partial is off by
/// more than the relative `tolerance` allows after the finite
/// differences' own error estimate (see the [module documentation](self);
/// about `1e-6` suits `f64`, `1e-2` suits `f32`).
pub fn gradcheck<F: Differentiable>(
    args: &[F::Real],
    tolerance: f64,
) -> Result<GradcheckReport, GradcheckError> {
    let mut report = empty_report(tolerance)?;
    let n = args_len::<F>()?;
    if args.len() != n {
        return Err(GradcheckError::WrongArgCount {
            expected: n,
            found: args.len(),
        });
    }
    if let Some(skip) = surrogates::<F>(&report) {
        return Ok(skip);
    }
    match check_point::<F>(args, &mut report)? {
        PointOutcome::Checked => report.points += 1,
        PointOutcome::NotFinite => {
            return Err(GradcheckError::NotFinite {
                point: args.iter().map(|v| v.to_f64_lossy()).collect(),
                fields: F::ARGS,
            });
        }
    }
    finish(report)
}

/// Checks `F`'s gradient at `points` random points with every argument
/// drawn uniformly from `[-2, 2]` (seeded, so reproducible). Points where
/// the function is not finite are skipped, and so are kinks; a gradient
/// through a surrogate derivative is not checked, as
/// [`GradcheckReport::not_checked`] says.
///
/// # Errors
///
/// [`GradcheckError::Mismatch`] when some partial is off by more than
/// the relative `tolerance` allows after the finite differences' own
/// error estimate (about `1e-6` suits `f64`, `1e-2` suits `f32`),
/// [`GradcheckError::NothingChecked`] when every partial was skipped, and
/// [`GradcheckError::BadTolerance`] for a tolerance that is not a finite
/// number `> 0`.
pub fn gradcheck_random<F: Differentiable>(
    points: usize,
    seed: u64,
    tolerance: f64,
) -> Result<GradcheckReport, GradcheckError> {
    gradcheck_random_in::<F>(-2.0..=2.0, points, seed, tolerance)
}

/// [`gradcheck_random`] for a model too large to check every partial: at
/// each point it compares the partials with respect to `partials` scalar
/// arguments drawn at random (seeded) among all of them, so that the cost
/// does not grow with the number of parameters. Every output is still
/// checked through a full backward pass per output.
///
/// # Errors
///
/// As [`gradcheck_random`].
pub fn gradcheck_random_sampled<F: Differentiable>(
    points: usize,
    partials: usize,
    seed: u64,
    tolerance: f64,
) -> Result<GradcheckReport, GradcheckError> {
    let mut report = empty_report(tolerance)?;
    let len = args_len::<F>()?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut args = vec![F::Real::zero(); len];
    for _ in 0..points {
        for a in &mut args {
            *a = F::Real::lit(-2.0 + 4.0 * rng.random::<f64>());
        }
        let only: Vec<usize> = (0..partials.min(len))
            .map(|_| rng.random_range(0..len))
            .collect();
        match check_point_at::<F>(&args, Some(&only), &mut report)? {
            PointOutcome::Checked => report.points += 1,
            PointOutcome::NotFinite => report.points_not_finite += 1,
        }
    }
    finish(report)
}

/// The end of the test `#[neuron(gradcheck)]` generates for the neuron
/// `name`: prints why nothing was checked, or panics with the error.
///
/// # Panics
///
/// When `result` is an error: the gradient and its finite differences
/// disagree, or the check could not run.
#[doc(hidden)]
#[track_caller]
pub fn conclude(name: &str, result: Result<GradcheckReport, GradcheckError>) {
    match result {
        Ok(report) => {
            if let Some(why) = &report.not_checked {
                println!("gradcheck of `{name}` not run: {why}");
            }
        }
        Err(error) => panic!("gradcheck of `{name}`: {error}"),
    }
}

/// [`gradcheck_random`] with the arguments drawn from `range`, e.g.
/// `0.1..=3.0` for a function that takes a logarithm.
///
/// # Errors
///
/// As [`gradcheck_random`], and [`GradcheckError::BadRange`] for an empty
/// or infinite range.
pub fn gradcheck_random_in<F: Differentiable>(
    range: RangeInclusive<f64>,
    points: usize,
    seed: u64,
    tolerance: f64,
) -> Result<GradcheckReport, GradcheckError> {
    let (low, high) = (*range.start(), *range.end());
    if !(low.is_finite() && high.is_finite() && low <= high) {
        return Err(GradcheckError::BadRange { low, high });
    }
    let mut report = empty_report(tolerance)?;
    let len = args_len::<F>()?;
    if let Some(skip) = surrogates::<F>(&report) {
        return Ok(skip);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut args = vec![F::Real::zero(); len];
    for _ in 0..points {
        for a in &mut args {
            *a = F::Real::lit(low + (high - low) * rng.random::<f64>());
        }
        match check_point::<F>(&args, &mut report)? {
            PointOutcome::Checked => report.points += 1,
            PointOutcome::NotFinite => report.points_not_finite += 1,
        }
    }
    finish(report)
}

/// A report of nothing yet, or the error for a tolerance that cannot
/// judge anything.
fn empty_report(tolerance: f64) -> Result<GradcheckReport, GradcheckError> {
    if !(tolerance.is_finite() && tolerance > 0.0) {
        return Err(GradcheckError::BadTolerance { tolerance });
    }
    Ok(GradcheckReport {
        max_error: 0.0,
        max_ratio: 0.0,
        worst: None,
        tolerance,
        points: 0,
        points_not_finite: 0,
        checked: 0,
        skipped: 0,
        not_checked: None,
    })
}

/// The report of a check that is not run because `F`'s gradient goes
/// through surrogate derivatives, or `None` when it does not.
fn surrogates<F: Differentiable>(empty: &GradcheckReport) -> Option<GradcheckReport> {
    let surrogates = F::DECLARATIONS.surrogates();
    (!surrogates.is_empty()).then(|| GradcheckReport {
        not_checked: Some(NotChecked::Surrogates(surrogates)),
        ..empty.clone()
    })
}

/// The verdict: nothing compared, a mismatch, or a pass.
fn finish(report: GradcheckReport) -> Result<GradcheckReport, GradcheckError> {
    if report.checked == 0 {
        Err(GradcheckError::NothingChecked(Box::new(report)))
    } else if report.max_ratio <= 1.0 {
        Ok(report)
    } else {
        Err(GradcheckError::Mismatch(Box::new(report)))
    }
}

/// The number of scalars in `F`'s arguments, or an error for `ARGS` whose
/// lengths overflow.
fn args_len<F: Differentiable>() -> Result<usize, GradcheckError> {
    fields_len(F::ARGS).ok_or(GradcheckError::Inconsistent {
        args: usize::MAX,
        outputs: F::OUTPUT_LEN,
    })
}

enum PointOutcome {
    Checked,
    NotFinite,
}

/// The argument (name, flat index within it) and its Rust spelling for the
/// `i`-th scalar of the flattened arguments.
fn locate(args: &'static [Field], mut i: usize) -> (&'static str, usize, String) {
    for field in args {
        if i < field.len() {
            return (field.name, i, element_name(field, i));
        }
        i -= field.len();
    }
    ("?", i, format!("argument value {i}"))
}

/// Compares every partial derivative at `args`, folding the results into
/// `report`.
fn check_point<F: Differentiable>(
    args: &[F::Real],
    report: &mut GradcheckReport,
) -> Result<PointOutcome, GradcheckError> {
    check_point_at::<F>(args, None, report)
}

/// [`check_point`] comparing only the partials with respect to the scalar
/// arguments `only` (every one when `None`).
fn check_point_at<F: Differentiable>(
    args: &[F::Real],
    only: Option<&[usize]>,
    report: &mut GradcheckReport,
) -> Result<PointOutcome, GradcheckError> {
    let n = args_len::<F>()?;
    if args.len() != n {
        return Err(GradcheckError::WrongArgCount {
            expected: n,
            found: args.len(),
        });
    }
    let m = F::OUTPUT_LEN;
    let inconsistent = || GradcheckError::Inconsistent {
        args: n,
        outputs: m,
    };
    // The slices always have the lengths `ARGS` and `OUTPUT_LEN` promise;
    // `None` means the implementation disagrees with its own constants.
    let eval = |x: &[F::Real]| {
        let mut out = vec![F::Real::zero(); m];
        F::eval_flat(x, &mut out).map(|()| out)
    };
    let all_finite = |v: &[F::Real]| v.iter().all(|x| x.is_finite());
    let f0 = eval(args).ok_or_else(inconsistent)?;
    if !all_finite(args) || !all_finite(&f0) {
        return Ok(PointOutcome::NotFinite);
    }

    // analytic[j][i] = ∂ out_j / ∂ arg_i, one backward pass per output.
    let mut analytic = vec![vec![F::Real::zero(); n]; m];
    let mut dy = vec![F::Real::zero(); m];
    for (j, row) in analytic.iter_mut().enumerate() {
        dy.fill(F::Real::zero());
        dy[j] = F::Real::one();
        F::backward_flat(args, &dy, row).ok_or_else(inconsistent)?;
    }

    let epsilon = F::Real::epsilon().to_f64_lossy();
    let root = epsilon.cbrt();
    let mut x = args.to_vec();
    // Evaluates at `args` with scalar `i` moved by `step`; returns the
    // actual (rounded) displacement and the outputs.
    let mut shifted = |i: usize, step: f64| {
        x[i] = args[i] + F::Real::lit(step);
        let dx = (x[i] - args[i]).to_f64_lossy();
        // Same lengths as the first call, which succeeded; NaN would only
        // make the partial count as skipped.
        let out = eval(&x).unwrap_or_else(|| vec![F::Real::nan(); m]);
        x[i] = args[i];
        (dx, out)
    };
    let scale = |p: f64, q: f64| p.abs().max(q.abs()).max(1.0);
    let every: Vec<usize>;
    let indices = match only {
        Some(only) => only,
        None => {
            every = (0..n).collect();
            &every
        }
    };
    for &i in indices {
        let h = root * args[i].to_f64_lossy().abs().max(1.0);
        let (dp, fp) = shifted(i, h);
        let (dm, fm) = shifted(i, -h);
        let (dp2, fp2) = shifted(i, h / 2.0);
        let (dm2, fm2) = shifted(i, -h / 2.0);
        for j in 0..m {
            let at = |v: &[F::Real]| v[j].to_f64_lossy();
            let [y, yp, ym, yp2, ym2] = [at(&f0), at(&fp), at(&fm), at(&fp2), at(&fm2)];
            if [yp, ym, yp2, ym2].iter().any(|v| !v.is_finite()) {
                report.skipped += 1;
                continue;
            }
            // The noise in a difference quotient from the values' rounding.
            let magnitude = [y, yp, ym, yp2, ym2]
                .iter()
                .fold(0.0f64, |a, v| a.max(v.abs()));
            let rounding = epsilon * magnitude / h;
            // Each side's slope, to second order: equal on a smooth
            // stretch, different across a kink.
            let right = 2.0 * (yp2 - y) / dp2 - (yp - y) / dp;
            let left = 2.0 * (y - ym2) / -dm2 - (y - ym) / -dm;
            if (right - left).abs() > report.tolerance * scale(right, left) + 64.0 * rounding {
                report.skipped += 1;
                continue;
            }
            let central = (yp - ym) / (dp - dm);
            let central_half = (yp2 - ym2) / (dp2 - dm2);
            let numeric = (4.0 * central_half - central) / 3.0;
            let estimate = (central - central_half).abs() + 12.0 * rounding;
            let a = analytic[j][i].to_f64_lossy();
            let allowed = report.tolerance * scale(a, numeric) + 2.0 * estimate;
            let difference = (a - numeric).abs();
            let error = difference / scale(a, numeric);
            // A NaN analytic value is infinitely far off.
            let ratio = if difference.is_nan() {
                f64::INFINITY
            } else {
                difference / allowed
            };
            report.checked += 1;
            report.max_error =
                report
                    .max_error
                    .max(if error.is_nan() { f64::INFINITY } else { error });
            if report.worst.is_none() || ratio > report.max_ratio {
                let (arg, index, element) = locate(F::ARGS, i);
                report.max_ratio = ratio;
                report.worst = Some(Partial {
                    point: args.iter().map(|v| v.to_f64_lossy()).collect(),
                    fields: F::ARGS,
                    arg,
                    index,
                    element,
                    output: if m == 1 {
                        "out".to_string()
                    } else {
                        format!("out[{j}]")
                    },
                    analytic: a,
                    numeric,
                    error,
                    estimate,
                    allowed,
                });
            }
        }
    }
    Ok(PointOutcome::Checked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::real::Real;
    use crate::testing::{MatvecTanhExp, Unit};

    #[test]
    fn unit_passes_at_the_design_notes_point() {
        let args = [1.0, -2.0, 3.0, -3.0, -1.0, 2.0, 1.0];
        let report = gradcheck::<Unit>(&args, 1e-6).unwrap();
        assert_eq!(report.checked, 7);
        assert_eq!(report.skipped, 0);
        assert!(report.max_error < 1e-8, "{report}");
    }

    #[test]
    fn correct_gradients_pass_at_random_points() {
        let report = gradcheck_random::<MatvecTanhExp<false>>(50, 1, 1e-6).unwrap();
        assert_eq!(report.points, 50);
        assert_eq!(report.checked, 50 * 12);
        assert!(report.max_error < 1e-7, "{report}");
        let report = gradcheck_random::<Unit>(50, 2, 1e-6).unwrap();
        assert_eq!(report.points, 50);
    }

    #[test]
    fn a_wrong_partial_is_named() {
        let err = gradcheck_random::<MatvecTanhExp<true>>(5, 0, 1e-6).unwrap_err();
        let GradcheckError::Mismatch(report) = &err else {
            panic!("expected a mismatch, got {err}");
        };
        let worst = report.worst.as_ref().unwrap();
        assert_eq!(worst.arg, "m");
        assert_eq!(worst.index, 2);
        assert_eq!(worst.element, "m[1][0]");
        assert_eq!(worst.output, "out[1]");
        let message = err.to_string();
        assert!(
            message.starts_with("wrong gradient: d out[1] / d m[1][0] is "),
            "{message}"
        );
        assert!(
            message.contains("allowed by tolerance 1e-6 and the finite-difference error estimate"),
            "{message}"
        );
        // Debug shows the same explanation, for `.unwrap()` in tests.
        assert_eq!(format!("{err:?}"), message);
    }

    #[test]
    fn exact_kink_is_skipped_not_reported() {
        // z = w·x + b = 0 exactly: relu'(0) = 0 by convention, while the
        // central difference in b is 0.5.
        let args = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let report = gradcheck::<Unit>(&args, 1e-6).unwrap();
        assert!(report.skipped > 0, "{report}");
    }

    #[test]
    fn a_kink_within_a_step_is_skipped() {
        // z = 1e-7, closer to the kink than the step h ≈ 6e-6.
        let args = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1e-7];
        let report = gradcheck::<Unit>(&args, 1e-6).unwrap();
        assert!(report.skipped > 0, "{report}");
    }

    /// `f(x: [f32; 2]) = sigmoid(x[0] * x[1])`, to check the step size and
    /// tolerance advice for `f32`.
    struct SigmoidProduct;

    impl Differentiable for SigmoidProduct {
        type Real = f32;
        const ARGS: &'static [Field] = &[Field {
            name: "x",
            shape: &[2],
        }];
        const OUTPUT_LEN: usize = 1;

        fn eval_flat(a: &[f32], out: &mut [f32]) -> Option<()> {
            let ([x0, x1], [y]) = (a, out) else {
                return None;
            };
            *y = (x0 * x1).sigmoid();
            Some(())
        }

        fn backward_flat(a: &[f32], dy: &[f32], g: &mut [f32]) -> Option<()> {
            let ([x0, x1], [dy], [g0, g1]) = (a, dy, g) else {
                return None;
            };
            let s = (x0 * x1).sigmoid();
            let dz = dy * s * (1.0 - s);
            *g0 = dz * x1;
            *g1 = dz * x0;
            Some(())
        }
    }

    #[test]
    fn f32_functions_pass_at_f32_tolerance() {
        let report = gradcheck_random::<SigmoidProduct>(100, 0, 1e-2).unwrap();
        assert_eq!(report.points, 100);
        assert!(report.checked > 150, "{report}");
    }

    #[test]
    fn bad_inputs_are_errors() {
        let err = gradcheck::<Unit>(&[1.0, 2.0], 1e-6).unwrap_err();
        assert_eq!(
            err,
            GradcheckError::WrongArgCount {
                expected: 7,
                found: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "gradcheck needs 7 argument values (every argument flattened), got 2"
        );
        let nan = [f64::NAN, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let err = gradcheck::<Unit>(&nan, 1e-6).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the function is NaN or infinite at x = [NaN, 0, 0], w = [0, 0, 0], b = 0"
        );
        let err = gradcheck_random::<crate::testing::Inconsistent>(3, 0, 1e-6).unwrap_err();
        assert_eq!(
            err,
            GradcheckError::Inconsistent {
                args: 2,
                outputs: 1
            }
        );
        assert!(matches!(
            gradcheck_random_in::<Unit>(1.0..=0.0, 3, 0, 1e-6),
            Err(GradcheckError::BadRange { .. })
        ));
        assert!(matches!(
            gradcheck_random::<Unit>(0, 0, 1e-6),
            Err(GradcheckError::NothingChecked(_))
        ));
    }

    /// A one-argument function `f(b)` with the given value and
    /// derivative.
    macro_rules! scalar_function {
        ($name:ident, |$b:ident| $value:expr, $derivative:expr) => {
            struct $name;

            impl Differentiable for $name {
                type Real = f64;
                const ARGS: &'static [Field] = &[Field {
                    name: "b",
                    shape: &[],
                }];
                const OUTPUT_LEN: usize = 1;

                fn eval_flat(a: &[f64], out: &mut [f64]) -> Option<()> {
                    let ([$b], [y]) = (a, out) else {
                        return None;
                    };
                    let $b = *$b;
                    *y = $value;
                    Some(())
                }

                fn backward_flat(a: &[f64], dy: &[f64], g: &mut [f64]) -> Option<()> {
                    let ([$b], [dy], [g]) = (a, dy, g) else {
                        return None;
                    };
                    let $b = *$b;
                    *g = dy * $derivative;
                    Some(())
                }
            }
        };
    }

    scalar_function!(Relu1, |b| b.relu(), if b > 0.0 { 1.0 } else { 0.0 });
    scalar_function!(Sine600, |b| (600.0 * b).sin(), 600.0 * (600.0 * b).cos());
    // The chain rule's inner factor forgotten.
    scalar_function!(Sine600Wrong, |b| (600.0 * b).sin(), (600.0 * b).cos());

    // Outputs about -1.7e5 whose derivative is about 1: the values carry
    // rounding of about 3e-11, which finite differences turn into errors
    // of about 1e-5 in the slope.
    scalar_function!(
        Large,
        |b| -1.7e5 + (b * 3.0).sin() - 1e-3 * (b * b),
        3.0 * (b * 3.0).cos() - 2e-3 * b
    );
    // The same with the inner factor's sign wrong in the second term.
    scalar_function!(
        LargeWrong,
        |b| -1.7e5 + (b * 3.0).sin() - 1e-3 * (b * b),
        3.0 * (b * 3.0).cos() + 2e-3 * b
    );

    #[test]
    fn large_values_widen_the_bound_by_the_rounding_they_cause() {
        let report = gradcheck_random::<Large>(500, 1, 1e-6).unwrap();
        assert_eq!(report.checked, 500, "{report}");
        let worst = report.worst.as_ref().unwrap();
        // A relative error above the tolerance, within the estimate.
        assert!(report.max_error > 1e-6, "{report}");
        assert!(worst.estimate > 1e-6 && worst.estimate < 1e-4, "{worst:?}");
        assert!(worst.allowed >= 2.0 * worst.estimate, "{worst:?}");
        assert!(report.max_ratio <= 1.0);
        // A mistake of 4e-3 * b is far beyond that noise.
        let err = gradcheck_random::<LargeWrong>(50, 1, 1e-6).unwrap_err();
        assert!(matches!(err, GradcheckError::Mismatch(_)), "{err}");
        assert!(
            err.to_string().contains("finite-difference error estimate"),
            "{err}"
        );
    }

    #[test]
    fn a_check_that_compared_nothing_is_an_error() {
        // relu at its kink: the only partial is skipped.
        let err = gradcheck::<Relu1>(&[0.0], 1e-6).unwrap_err();
        let GradcheckError::NothingChecked(report) = &err else {
            panic!("expected nothing checked, got {err}");
        };
        assert_eq!((report.checked, report.skipped), (0, 1));
        assert!(
            err.to_string()
                .starts_with("no partial derivative could be checked: "),
            "{err}"
        );
        assert!(gradcheck::<Relu1>(&[0.5], 1e-6).is_ok());
    }

    #[test]
    fn bad_tolerances_are_errors() {
        let args = [1.0, -2.0, 3.0, -3.0, -1.0, 2.0, 1.0];
        for tolerance in [f64::NAN, -1e-6, 0.0, f64::INFINITY] {
            let err = gradcheck::<Unit>(&args, tolerance).unwrap_err();
            assert!(matches!(err, GradcheckError::BadTolerance { .. }), "{err}");
            let err = gradcheck_random::<Unit>(3, 0, tolerance).unwrap_err();
            assert!(matches!(err, GradcheckError::BadTolerance { .. }), "{err}");
        }
        assert_eq!(
            gradcheck::<Unit>(&args, -1.0).unwrap_err().to_string(),
            "the tolerance is -1; it must be a finite number > 0"
        );
    }

    #[test]
    fn strong_curvature_is_checked_not_taken_for_a_kink() {
        let report = gradcheck_random::<Sine600>(200, 7, 1e-6).unwrap();
        assert!(report.checked >= 190, "{report}");
        let err = gradcheck_random::<Sine600Wrong>(200, 7, 1e-6).unwrap_err();
        assert!(matches!(err, GradcheckError::Mismatch(_)), "{err}");
        let err = gradcheck::<Sine600Wrong>(&[0.3], 1e-6).unwrap_err();
        assert!(matches!(err, GradcheckError::Mismatch(_)), "{err}");
        assert!(gradcheck::<Sine600>(&[0.3], 1e-6).is_ok());
    }

    /// `f(x: [f64; 2]) = relu(x[0]) + relu(-2 x[0]) + x[1]`: two kinks
    /// meet at `x[0] = 0`, where the convention gives `0 + 0` while the
    /// sides' slopes are -2 and 1 (and the central difference -0.5).
    struct TwoKinks;

    impl Differentiable for TwoKinks {
        type Real = f64;
        const ARGS: &'static [Field] = &[Field {
            name: "x",
            shape: &[2],
        }];
        const OUTPUT_LEN: usize = 1;

        fn eval_flat(a: &[f64], out: &mut [f64]) -> Option<()> {
            let ([x0, x1], [y]) = (a, out) else {
                return None;
            };
            *y = x0.relu() + (-2.0 * x0).relu() + x1;
            Some(())
        }

        fn backward_flat(a: &[f64], dy: &[f64], g: &mut [f64]) -> Option<()> {
            let ([x0, _], [dy], [g0, g1]) = (a, dy, g) else {
                return None;
            };
            let step = |z: f64| if z > 0.0 { 1.0 } else { 0.0 };
            *g0 = dy * (step(*x0) - 2.0 * step(-2.0 * x0));
            *g1 = *dy;
            Some(())
        }
    }

    #[test]
    fn kinks_that_meet_are_skipped_not_reported() {
        let report = gradcheck::<TwoKinks>(&[0.0, 0.5], 1e-6).unwrap();
        assert_eq!((report.checked, report.skipped), (1, 1), "{report}");
        let report = gradcheck::<TwoKinks>(&[0.25, 0.5], 1e-6).unwrap();
        assert_eq!((report.checked, report.skipped), (2, 0), "{report}");
    }

    #[test]
    fn unit_at_negative_points_checks_zero_gradients() {
        // Every point in [-2, -1] has z = w·x + b with mixed signs; the check
        // still compares the zero partials where relu is flat.
        let report = gradcheck_random_in::<Unit>(-2.0..=-1.0, 20, 3, 1e-6).unwrap();
        assert!(report.checked > 0);
    }

    /// `step(x)` trained through the slope of a fast sigmoid: its gradient
    /// is by design not the derivative of its value.
    struct Spike;

    const STEP: Declaration = Declaration {
        function: "step",
        derivatives: &["fast_sigmoid"],
        surrogate: true,
    };

    impl Differentiable for Spike {
        type Real = f64;
        const ARGS: &'static [Field] = &[Field {
            name: "x",
            shape: &[],
        }];
        const OUTPUT_LEN: usize = 1;
        const DECLARATIONS: &'static crate::Declarations = &crate::Declarations {
            direct: &[&STEP],
            callees: &[],
        };

        fn eval_flat(a: &[f64], out: &mut [f64]) -> Option<()> {
            let ([x], [y]) = (a, out) else {
                return None;
            };
            *y = if *x > 0.0 { 1.0 } else { 0.0 };
            Some(())
        }

        fn backward_flat(a: &[f64], dy: &[f64], g: &mut [f64]) -> Option<()> {
            let ([x], [dy], [g]) = (a, dy, g) else {
                return None;
            };
            *g = dy / (1.0 + 10.0 * x.abs()).powi(2);
            Some(())
        }
    }

    #[test]
    fn a_surrogate_is_reported_as_not_checked_rather_than_passed_or_failed() {
        for report in [
            gradcheck::<Spike>(&[0.5], 1e-6).unwrap(),
            gradcheck_random::<Spike>(10, 1, 1e-6).unwrap(),
        ] {
            assert_eq!(
                report.not_checked,
                Some(NotChecked::Surrogates(vec![&STEP]))
            );
            assert_eq!((report.points, report.checked, report.skipped), (0, 0, 0));
            assert_eq!(
                report.to_string(),
                "not checked: the gradient goes through `step` (surrogate derivative \
                 `fast_sigmoid`), which by design is not the function's own derivative, so \
                 finite differences cannot check it"
            );
        }
        // The point is still validated, and a report of a check that ran
        // says nothing of surrogates.
        assert!(matches!(
            gradcheck::<Spike>(&[0.5, 1.0], 1e-6),
            Err(GradcheckError::WrongArgCount { .. })
        ));
        let report = gradcheck::<Unit>(&[1.0, -2.0, 3.0, -3.0, -1.0, 2.0, 1.0], 1e-6).unwrap();
        assert_eq!(report.not_checked, None);
    }

    #[test]
    fn mismatch_message_names_the_arguments() {
        let point = [1.0, 2.0, 3.0, 4.0, 0.5, -0.5];
        let err = gradcheck::<MatvecTanhExp<true>>(&point, 1e-6).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains(" at m = [[1, 2], [3, 4]], v = [0.5, -0.5]; checked "),
            "{message}"
        );
    }
}
