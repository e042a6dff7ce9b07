//! The checks every generated program goes through, at seeded points:
//! the macro's forward value against the reference value, every partial of
//! `gradient` (scalar results) and of `backward` with a random `dy` against
//! Richardson-extrapolated central differences of the reference, and the
//! value returned by `forward`, `gradient` and `backward` bit for bit the
//! same, and `trace`'s value and partials bit for bit `gradient`'s. A partial is skipped only where two step sizes disagree (a kink
//! within reach of the step, or an ill-conditioned point); points are drawn
//! until `points` of them had every partial compared, and a neuron fails if
//! that takes more than `MAX_DRAWS` times as many draws, so a check can
//! never pass having compared nothing.

use crate::flat::round_f32;
use crate::reference::{self, V};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;

/// The float type an instance of a neuron computes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Float {
    /// `f64`: compared with tight tolerances.
    F64,
    /// `f32`: its arguments are rounded to `f32` before the reference sees
    /// them, and it is compared with tolerances for single precision.
    F32,
}

/// Value and flat partials of all arguments.
pub type ValueAndGrad = (Vec<f64>, Vec<f64>);

/// A pass from the flat arguments and the upstream derivative `dy`.
pub type Backward = fn(&[f64], &[f64]) -> ValueAndGrad;

/// The partials of one instance at one point, each way it computes them.
struct Partials {
    /// `gradient`'s, for a scalar result.
    gradient: Option<Vec<f64>>,
    /// `backward`'s.
    backward: Vec<f64>,
    /// The training step's, the parameters' only.
    train: Option<Vec<f64>>,
}

/// One monomorphic instance of a generated neuron, seen through flat
/// vectors of `f64` (an `f32` instance converts on the way in and out).
pub struct Instance {
    /// `f64`, `f32`, `generic at f64`, ...
    pub label: &'static str,
    /// The type it computes in.
    pub float: Float,
    /// `NAME(args)`, flattened.
    pub forward: fn(&[f64]) -> Vec<f64>,
    /// `NAME::gradient(args)` for a scalar result.
    pub gradient: Option<fn(&[f64]) -> ValueAndGrad>,
    /// `NAME::backward(args, dy)`.
    pub backward: fn(&[f64], &[f64]) -> ValueAndGrad,
    /// `NAME::trace(args)`'s output and partials, for a scalar result.
    pub trace: Option<fn(&[f64]) -> ValueAndGrad>,
    /// `Model::forward_backward` with the loss's derivative `dy`: the
    /// output and the parameters' partials, for a neuron with parameters.
    pub train: Option<Backward>,
}

/// A generated `#[neuron]` function, its reference and its instances.
pub struct Neuron<'a> {
    /// The function's name.
    pub name: &'a str,
    /// Name and shape of every argument, in order.
    pub args: &'a [(&'a str, &'a [usize])],
    /// Whether each argument is a parameter.
    pub params: &'a [bool],
    /// The length of an array result; `None` for a real.
    pub out_len: Option<usize>,
    /// The reference, on the arguments as values.
    pub reference: fn(&[V]) -> V,
    /// The instances to check.
    pub instances: &'a [Instance],
}

/// One generated program: its neurons (callees first) and its source.
pub struct Program<'a> {
    /// Its number in the generated file.
    pub index: usize,
    /// The seed of its points.
    pub seed: u64,
    /// The source of every neuron of the program, as written.
    pub source: &'a str,
    /// The neurons to check.
    pub neurons: &'a [Neuron<'a>],
    /// Points checked per neuron.
    pub points: usize,
    /// Also check one point with a NaN argument: the result is NaN exactly
    /// where the reference's is.
    pub nan: bool,
}

/// Arguments are drawn from `-RANGE..RANGE`; the generator keeps every
/// program's domain safe on a slightly larger interval.
pub const RANGE: f64 = 1.5;
/// Upstream derivatives are drawn from `-DY_RANGE..DY_RANGE`.
pub const DY_RANGE: f64 = 2.0;
/// The larger finite-difference step (a power of two, so `x ± h` loses
/// as little as possible); the smaller is half of it.
const STEP: f64 = 1.0 / 512.0;
/// Two Richardson estimates further apart than this, relative to
/// `max(1, |estimate|)`, mean the point is not smooth enough to check.
const AGREE: f64 = 1e-8;
/// How many times `points` draws may be needed to find `points` points at
/// which every partial could be compared.
const MAX_DRAWS: usize = 4;

struct Tolerance {
    /// Forward value against the reference, relative to
    /// `max(1, |reference|, largest intermediate)`.
    value: f64,
    /// A partial against finite differences, relative to
    /// `max(1, |difference|)`.
    partial: f64,
}

fn tolerance(float: Float) -> Tolerance {
    match float {
        Float::F64 => Tolerance {
            value: 1e-12,
            partial: 1e-6,
        },
        Float::F32 => Tolerance {
            value: 1e-4,
            partial: 2e-3,
        },
    }
}

/// A stable 64-bit hash of a name, to give each neuron its own points.
fn hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Runs every check on every neuron of `program`, panicking with the
/// program's source, the point and the partial on the first failure.
pub fn check(program: &Program<'_>) {
    for neuron in program.neurons {
        Checker { program, neuron }.run();
    }
}

struct Checker<'a> {
    program: &'a Program<'a>,
    neuron: &'a Neuron<'a>,
}

impl Checker<'_> {
    fn fail(&self, instance: &Instance, point: &[f64], what: &str) -> ! {
        let mut message = String::new();
        let _ = writeln!(
            message,
            "program {} (seed {:#x}), neuron `{}` ({}): {what}",
            self.program.index, self.program.seed, self.neuron.name, instance.label
        );
        if !point.is_empty() {
            let _ = writeln!(message, "at the point {}", self.describe(point));
        }
        let _ = write!(message, "program source:\n{}", self.program.source);
        panic!("{message}");
    }

    /// The point, one argument at a time.
    fn describe(&self, point: &[f64]) -> String {
        let mut at = 0;
        let parts: Vec<String> = self
            .neuron
            .args
            .iter()
            .map(|(name, shape)| {
                let n: usize = shape.iter().product();
                let part = format!("{name} = {:?}", &point[at..at + n]);
                at += n;
                part
            })
            .collect();
        parts.join(", ")
    }

    /// The argument and element of flat coordinate `k`: `w[1][0]`.
    fn coordinate(&self, mut k: usize) -> String {
        for (name, shape) in self.neuron.args {
            let n: usize = shape.iter().product();
            if k < n {
                let mut index = String::new();
                let mut stride = n;
                for d in *shape {
                    stride /= d;
                    let _ = write!(index, "[{}]", k / stride);
                    k %= stride;
                }
                return format!("{name}{index}");
            }
            k -= n;
        }
        format!("coordinate {k}")
    }

    fn arity(&self) -> usize {
        self.neuron
            .args
            .iter()
            .map(|(_, s)| s.iter().product::<usize>())
            .sum()
    }

    fn reference(&self, point: &[f64]) -> (Vec<f64>, f64) {
        let mut values = point.iter().copied();
        let args: Vec<V> = self
            .neuron
            .args
            .iter()
            .map(|(_, shape)| reference::read(&mut values, shape))
            .collect();
        reference::reset_scale();
        let y = (self.neuron.reference)(&args);
        let mut out = Vec::new();
        reference::flatten(&y, &mut out);
        (out, reference::scale())
    }

    /// `Σ weights[i] reference(point)[i]`.
    fn objective(&self, point: &[f64], weights: &[f64]) -> f64 {
        let (y, _) = self.reference(point);
        y.iter().zip(weights).map(|(y, w)| y * w).sum()
    }

    fn run(&self) {
        let mut rng = ChaCha8Rng::seed_from_u64(self.program.seed ^ hash(self.neuron.name));
        let n = self.arity();
        let outputs = self.neuron.out_len.unwrap_or(1);
        // Points at which every partial of every instance was compared.
        let (mut smooth, mut drawn) = (0, 0);
        while smooth < self.program.points {
            if drawn == MAX_DRAWS * self.program.points {
                self.fail(
                    &self.neuron.instances[0],
                    &[],
                    &format!(
                        "only {smooth} of {drawn} points were smooth enough to compare every partial (two step sizes disagreed at the others)"
                    ),
                );
            }
            drawn += 1;
            let point: Vec<f64> = (0..n).map(|_| rng.random_range(-RANGE..RANGE)).collect();
            let dy: Vec<f64> = (0..outputs)
                .map(|_| rng.random_range(-DY_RANGE..DY_RANGE))
                .collect();
            let mut skipped = 0;
            for instance in self.neuron.instances {
                skipped += self.at(instance, &point, &dy);
            }
            if skipped == 0 {
                smooth += 1;
            }
        }
        if self.program.nan && n > 0 {
            let mut point: Vec<f64> = (0..n).map(|_| rng.random_range(-RANGE..RANGE)).collect();
            point[rng.random_range(0..n)] = f64::NAN;
            let dy: Vec<f64> = (0..outputs).map(|_| 1.0).collect();
            for instance in self.neuron.instances {
                self.values(instance, &point, &dy);
            }
        }
    }

    /// The point and `dy` as the instance sees them.
    fn rounded(instance: &Instance, v: &[f64]) -> Vec<f64> {
        match instance.float {
            Float::F64 => v.to_vec(),
            Float::F32 => v.iter().map(|&x| round_f32(x)).collect(),
        }
    }

    /// Checks the value of `forward` against the reference, and that
    /// `gradient` and `backward` return the same value bit for bit; returns
    /// `gradient`'s and `backward`'s partials.
    fn values(&self, instance: &Instance, point: &[f64], dy: &[f64]) -> Partials {
        let point = Self::rounded(instance, point);
        let dy = Self::rounded(instance, dy);
        let tol = tolerance(instance.float);
        let (want, scale) = self.reference(&point);
        let y = (instance.forward)(&point);
        if y.len() != want.len() {
            self.fail(
                instance,
                &point,
                &format!("{} outputs, the reference has {}", y.len(), want.len()),
            );
        }
        for (i, (&got, &w)) in y.iter().zip(&want).enumerate() {
            let ok = if w.is_nan() {
                got.is_nan()
            } else {
                (got - w).abs() <= tol.value * w.abs().max(scale).max(1.0)
            };
            if !ok {
                self.fail(
                    instance,
                    &point,
                    &format!(
                        "output {i} is {got}, the reference gives {w} (|diff| = {:e}, largest intermediate {scale:e})",
                        (got - w).abs()
                    ),
                );
            }
        }
        let same = |a: &[f64], b: &[f64]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| x.to_bits() == y.to_bits() || x.is_nan() && y.is_nan())
        };
        let gradient = instance.gradient.map(|gradient| {
            let (yg, g) = gradient(&point);
            if !same(&yg, &y) {
                self.fail(
                    instance,
                    &point,
                    &format!("gradient's value {yg:?} differs from the forward function's {y:?}"),
                );
            }
            // The trace records the un-simplified graph's steps, each with
            // its value, which the simplifier's exact rules keep: its
            // partials are `gradient`'s bit for bit.
            if let Some(trace) = instance.trace {
                let (yt, gt) = trace(&point);
                if !same(&yt, &y) {
                    self.fail(
                        instance,
                        &point,
                        &format!("trace's value {yt:?} differs from the forward function's {y:?}"),
                    );
                }
                if !same(&gt, &g) {
                    self.fail(
                        instance,
                        &point,
                        &format!("trace's partials {gt:?} differ from gradient's {g:?}"),
                    );
                }
            }
            g
        });
        let (yb, gb) = (instance.backward)(&point, &dy);
        if !same(&yb, &y) {
            self.fail(
                instance,
                &point,
                &format!(
                    "backward's value {yb:?} (dy = {dy:?}) differs from the forward function's {y:?}"
                ),
            );
        }
        // The training step computes the output as the forward function does.
        let train = instance.train.map(|train| {
            let (yt, gt) = train(&point, &dy);
            if !same(&yt, &y) {
                self.fail(
                    instance,
                    &point,
                    &format!(
                        "the training step's value {yt:?} differs from the forward function's {y:?}"
                    ),
                );
            }
            gt
        });
        Partials {
            gradient,
            backward: gb,
            train,
        }
    }

    /// For each coordinate of the flat point, its position among the
    /// parameters' coordinates, or `None` for an input's.
    fn param_positions(&self) -> Vec<Option<usize>> {
        let mut next = 0;
        let mut out = Vec::new();
        for ((_, shape), &param) in self.neuron.args.iter().zip(self.neuron.params) {
            for _ in 0..shape.iter().product::<usize>() {
                out.push(param.then(|| {
                    next += 1;
                    next - 1
                }));
            }
        }
        out
    }

    /// Every check at one point; returns how many partials were skipped.
    fn at(&self, instance: &Instance, point: &[f64], dy: &[f64]) -> usize {
        let Partials {
            gradient,
            backward,
            train,
        } = self.values(instance, point, dy);
        let positions = self.param_positions();
        let point = Self::rounded(instance, point);
        let dy = Self::rounded(instance, dy);
        let tol = tolerance(instance.float);
        let scalar = self.neuron.out_len.is_none();
        // A real result is differentiated once with dy = 1; `backward`
        // must give dy times that.
        let weights = if scalar { vec![1.0] } else { dy.clone() };
        let mut skipped = 0;
        for k in 0..point.len() {
            let Some(fd) = self.derivative(&point, &weights, k) else {
                skipped += 1;
                continue;
            };
            let mut cases = Vec::new();
            if let Some(g) = &gradient {
                cases.push(("gradient".to_string(), g[k], fd));
            }
            let scaled = if scalar { dy[0] * fd } else { fd };
            cases.push((format!("backward with dy = {dy:?}"), backward[k], scaled));
            if let (Some(t), Some(Some(j))) = (&train, positions.get(k)) {
                cases.push((format!("the training step with dy = {dy:?}"), t[*j], scaled));
            }
            for (what, got, want) in cases {
                if !(got.is_finite() && (got - want).abs() <= tol.partial * want.abs().max(1.0)) {
                    self.fail(
                        instance,
                        &point,
                        &format!(
                            "{what}: the partial for `{}` is {got}, finite differences of the reference give {want} (|diff| = {:e})",
                            self.coordinate(k),
                            (got - want).abs()
                        ),
                    );
                }
            }
        }
        skipped
    }

    /// `∂/∂x_k Σ weights[i] reference_i` by central differences with
    /// Richardson extrapolation, at two step sizes; `None` when they
    /// disagree.
    fn derivative(&self, point: &[f64], weights: &[f64], k: usize) -> Option<f64> {
        let mut p = point.to_vec();
        let h = STEP * point[k].abs().max(1.0);
        let mut central = |h: f64| {
            p[k] = point[k] + h;
            let (up, hi) = (self.objective(&p, weights), p[k]);
            p[k] = point[k] - h;
            let (down, lo) = (self.objective(&p, weights), p[k]);
            p[k] = point[k];
            (up - down) / (hi - lo)
        };
        let (quarter, half, whole) = (central(h / 2.0), central(h), central(2.0 * h));
        let fine = (4.0 * quarter - half) / 3.0;
        let coarse = (4.0 * half - whole) / 3.0;
        ((fine - coarse).abs() <= AGREE * fine.abs().max(1.0) && fine.is_finite()).then_some(fine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference as r;

    /// `y = w[0] * x + w[1]² x²` and its partials, written out.
    fn value(x: f64, w: [f64; 2]) -> f64 {
        w[0] * x + w[1] * w[1] * x * x
    }

    fn partials(x: f64, w: [f64; 2]) -> Vec<f64> {
        vec![w[0] + 2.0 * w[1] * w[1] * x, x, 2.0 * w[1] * x * x]
    }

    fn reference(args: &[V]) -> V {
        let (x, w) = (args[0].clone(), args[1].clone());
        let w0 = r::index(w.clone(), 0);
        let w1 = r::index(w, 1);
        r::add(r::mul(w0, x.clone()), r::mul(r::square(w1), r::square(x)))
    }

    fn split(p: &[f64]) -> (f64, [f64; 2]) {
        (p[0], [p[1], p[2]])
    }

    const ARGS: &[(&str, &[usize])] = &[("x", &[]), ("w", &[2])];

    fn program<'a>(neurons: &'a [Neuron<'a>]) -> Program<'a> {
        Program {
            index: 7,
            seed: 1,
            source: "fn unit(x: f64, w: [f64; 2]) -> f64 { ... }",
            neurons,
            points: 3,
            nan: false,
        }
    }

    /// The message of the panic `f` raises.
    fn failure(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(f).expect_err("the check passed");
        err.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn a_right_neuron_passes() {
        let instances = [Instance {
            trace: None,
            label: "f64",
            train: None,
            float: Float::F64,
            forward: |p| {
                let (x, w) = split(p);
                vec![value(x, w)]
            },
            gradient: Some(|p| {
                let (x, w) = split(p);
                (vec![value(x, w)], partials(x, w))
            }),
            backward: |p, dy| {
                let (x, w) = split(p);
                let g = partials(x, w).iter().map(|g| g * dy[0]).collect();
                (vec![value(x, w)], g)
            },
        }];
        let neurons = [Neuron {
            name: "unit",
            args: ARGS,
            params: &[],
            out_len: None,
            reference,
            instances: &instances,
        }];
        check(&program(&neurons));
    }

    #[test]
    fn a_wrong_value_names_the_program_and_the_point() {
        let instances = [Instance {
            trace: None,
            label: "f64",
            train: None,
            float: Float::F64,
            forward: |p| {
                let (x, w) = split(p);
                vec![value(x, w) + 1e-9]
            },
            gradient: None,
            backward: |p, _| {
                let (x, w) = split(p);
                (vec![value(x, w) + 1e-9], partials(x, w))
            },
        }];
        let neurons = [Neuron {
            name: "unit",
            args: ARGS,
            params: &[],
            out_len: None,
            reference,
            instances: &instances,
        }];
        let message = failure(|| check(&program(&neurons)));
        assert!(message.contains("program 7"), "{message}");
        assert!(
            message.contains("neuron `unit` (f64): output 0 is"),
            "{message}"
        );
        assert!(message.contains("at the point x = ["), "{message}");
        assert!(message.contains("fn unit(x: f64"), "{message}");
    }

    #[test]
    fn a_wrong_partial_is_named() {
        let instances = [Instance {
            trace: None,
            label: "f64",
            train: None,
            float: Float::F64,
            forward: |p| {
                let (x, w) = split(p);
                vec![value(x, w)]
            },
            gradient: Some(|p| {
                let (x, w) = split(p);
                let mut g = partials(x, w);
                g[2] *= 1.0 + 1e-4;
                (vec![value(x, w)], g)
            }),
            backward: |p, dy| {
                let (x, w) = split(p);
                let g = partials(x, w).iter().map(|g| g * dy[0]).collect();
                (vec![value(x, w)], g)
            },
        }];
        let neurons = [Neuron {
            name: "unit",
            args: ARGS,
            params: &[],
            out_len: None,
            reference,
            instances: &instances,
        }];
        let message = failure(|| check(&program(&neurons)));
        assert!(
            message.contains("gradient: the partial for `w[1]`"),
            "{message}"
        );
    }

    #[test]
    fn a_trace_whose_partials_differ_from_gradients_fails() {
        let instances = [Instance {
            trace: Some(|p| {
                let (x, w) = split(p);
                let mut g = partials(x, w);
                g[0] = -g[0];
                (vec![value(x, w)], g)
            }),
            label: "f64",
            train: None,
            float: Float::F64,
            forward: |p| {
                let (x, w) = split(p);
                vec![value(x, w)]
            },
            gradient: Some(|p| {
                let (x, w) = split(p);
                (vec![value(x, w)], partials(x, w))
            }),
            backward: |p, dy| {
                let (x, w) = split(p);
                let g = partials(x, w).iter().map(|g| g * dy[0]).collect();
                (vec![value(x, w)], g)
            },
        }];
        let neurons = [Neuron {
            name: "unit",
            args: ARGS,
            params: &[],
            out_len: None,
            reference,
            instances: &instances,
        }];
        let message = failure(|| check(&program(&neurons)));
        assert!(
            message.contains("trace's partials") && message.contains("differ from gradient's"),
            "{message}"
        );
    }

    #[test]
    fn values_that_differ_between_forward_and_backward_fail() {
        let instances = [Instance {
            trace: None,
            label: "f64",
            train: None,
            float: Float::F64,
            forward: |p| {
                let (x, w) = split(p);
                vec![value(x, w)]
            },
            gradient: None,
            backward: |p, dy| {
                let (x, w) = split(p);
                let g = partials(x, w).iter().map(|g| g * dy[0]).collect();
                // One ulp away: within any tolerance, but not the same bits.
                (vec![f64::from_bits(value(x, w).to_bits() + 1)], g)
            },
        }];
        let neurons = [Neuron {
            name: "unit",
            args: ARGS,
            params: &[],
            out_len: None,
            reference,
            instances: &instances,
        }];
        let message = failure(|| check(&program(&neurons)));
        assert!(message.contains("backward's value"), "{message}");
    }

    /// A reference that is nowhere smooth at the step sizes: every point
    /// has a partial that cannot be compared.
    fn rough(args: &[V]) -> V {
        let x = match &args[0] {
            V::S(x) => *x,
            V::A(_) => unreachable!(),
        };
        r::lit((x * 1e4).sin())
    }

    #[test]
    fn a_check_that_can_compare_nothing_fails() {
        let instances = [Instance {
            trace: None,
            label: "f64",
            train: None,
            float: Float::F64,
            forward: |p| vec![(p[0] * 1e4).sin()],
            gradient: None,
            backward: |p, _| (vec![(p[0] * 1e4).sin()], vec![0.0]),
        }];
        let neurons = [Neuron {
            name: "rough",
            args: &[("x", &[])],
            params: &[],
            out_len: None,
            reference: rough,
            instances: &instances,
        }];
        let message = failure(|| check(&program(&neurons)));
        assert!(
            message.contains("points were smooth enough to compare every partial"),
            "{message}"
        );
    }

    #[test]
    fn partials_are_named_by_argument_and_element() {
        let neurons = [Neuron {
            name: "m",
            args: &[("s", &[]), ("m", &[2, 3])],
            params: &[],
            out_len: None,
            reference,
            instances: &[],
        }];
        let p = program(&neurons);
        let c = Checker {
            program: &p,
            neuron: &neurons[0],
        };
        assert_eq!(c.coordinate(0), "s");
        assert_eq!(c.coordinate(1), "m[0][0]");
        assert_eq!(c.coordinate(6), "m[1][2]");
    }
}
