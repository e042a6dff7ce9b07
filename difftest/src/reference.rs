//! The independent reference: every op of the language as plain `f64` code,
//! written here from the textbook formulas and sharing nothing with the
//! macro or `neuron-core`. The generated reference functions compute each
//! program's value with these helpers, straight from the generator's
//! expression tree.
//!
//! Values are [`V`]: a real, or an array of values (a matrix is an array of
//! arrays). Element-wise helpers broadcast a real over an array on either
//! side. NaN propagates through every helper, as the language requires.
//! Each helper also records the largest magnitude it produced, so that the
//! checks can scale their tolerance to the intermediates of a program.

use std::cell::Cell;

/// A value of a program: a real, or an array of values.
#[derive(Clone, Debug, PartialEq)]
pub enum V {
    /// A real.
    S(f64),
    /// An array; its elements are all reals (a vector) or all vectors (a
    /// matrix).
    A(Vec<V>),
}

thread_local! {
    /// The largest magnitude any helper produced since [`reset_scale`].
    static SCALE: Cell<f64> = const { Cell::new(0.0) };
}

/// Forgets the magnitudes recorded so far.
pub fn reset_scale() {
    SCALE.with(|s| s.set(0.0));
}

/// The largest magnitude produced since [`reset_scale`].
pub fn scale() -> f64 {
    SCALE.with(Cell::get)
}

fn note(v: V) -> V {
    fn largest(v: &V) -> f64 {
        match v {
            V::S(x) => x.abs(),
            V::A(items) => items.iter().map(largest).fold(0.0, f64::max),
        }
    }
    let m = largest(&v);
    SCALE.with(|s| s.set(s.get().max(m)));
    v
}

fn scalar(v: &V) -> f64 {
    match v {
        V::S(x) => *x,
        V::A(_) => panic!("reference: expected a real, found an array"),
    }
}

fn items(v: &V) -> &[V] {
    match v {
        V::A(items) => items,
        V::S(_) => panic!("reference: expected an array, found a real"),
    }
}

fn map(a: &V, f: &impl Fn(f64) -> f64) -> V {
    match a {
        V::S(x) => V::S(f(*x)),
        V::A(items) => V::A(items.iter().map(|v| map(v, f)).collect()),
    }
}

fn zip(a: &V, b: &V, f: &impl Fn(f64, f64) -> f64) -> V {
    match (a, b) {
        (V::S(x), V::S(y)) => V::S(f(*x, *y)),
        (V::A(xs), V::S(_)) => V::A(xs.iter().map(|x| zip(x, b, f)).collect()),
        (V::S(_), V::A(ys)) => V::A(ys.iter().map(|y| zip(a, y, f)).collect()),
        (V::A(xs), V::A(ys)) => {
            assert_eq!(xs.len(), ys.len(), "reference: arrays of different lengths");
            V::A(xs.iter().zip(ys).map(|(x, y)| zip(x, y, f)).collect())
        }
    }
}

fn unary(a: V, f: impl Fn(f64) -> f64) -> V {
    note(map(&a, &f))
}

fn binary(a: V, b: V, f: impl Fn(f64, f64) -> f64) -> V {
    note(zip(&a, &b, &f))
}

/// A literal.
pub fn lit(x: f64) -> V {
    note(V::S(x))
}

/// An array literal.
pub fn array(items: Vec<V>) -> V {
    V::A(items)
}

/// `a[k]`.
pub fn index(a: V, k: usize) -> V {
    items(&a)[k].clone()
}

/// `-a`.
pub fn neg(a: V) -> V {
    unary(a, |x| -x)
}

/// `a + b`.
pub fn add(a: V, b: V) -> V {
    binary(a, b, |x, y| x + y)
}

/// `a - b`.
pub fn sub(a: V, b: V) -> V {
    binary(a, b, |x, y| x - y)
}

/// `a * b`.
pub fn mul(a: V, b: V) -> V {
    binary(a, b, |x, y| x * y)
}

/// `a / b`.
pub fn div(a: V, b: V) -> V {
    binary(a, b, |x, y| x / y)
}

/// `max(x, 0)`, NaN for NaN.
pub fn relu(a: V) -> V {
    unary(a, |x| if x.is_nan() || x > 0.0 { x } else { 0.0 })
}

/// `x` where `x > 0`, else `slope * x`.
pub fn leaky_relu(a: V, slope: V) -> V {
    binary(a, slope, |x, s| if x > 0.0 { x } else { s * x })
}

/// `1 / (1 + e^-x)`.
pub fn sigmoid(a: V) -> V {
    unary(a, |x| 1.0 / (1.0 + (-x).exp()))
}

/// `(e^x - e^-x) / (e^x + e^-x)`.
pub fn tanh(a: V) -> V {
    unary(a, |x| {
        // The quotient form loses nothing for the moderate arguments the
        // generator keeps; beyond that tanh is ±1 to double precision.
        if x.abs() > 20.0 {
            x.signum()
        } else {
            let (p, m) = (x.exp(), (-x).exp());
            (p - m) / (p + m)
        }
    })
}

/// `e^x`.
pub fn exp(a: V) -> V {
    unary(a, f64::exp)
}

/// The natural logarithm.
pub fn ln(a: V) -> V {
    unary(a, f64::ln)
}

/// The square root.
pub fn sqrt(a: V) -> V {
    unary(a, f64::sqrt)
}

/// `x^n` by repeated multiplication (and a reciprocal for negative `n`).
pub fn powi(a: V, n: i32) -> V {
    unary(a, |x| {
        let mut p = 1.0;
        for _ in 0..n.unsigned_abs() {
            p *= x;
        }
        if n < 0 { 1.0 / p } else { p }
    })
}

/// `x^y` as `e^(y ln x)` for `x > 0`, with IEEE 754's `x^0 = 1^y = 1`.
pub fn powf(a: V, b: V) -> V {
    // IEEE 754's pow: x^0 = 1 and 1^y = 1 even for a NaN x or y.
    binary(a, b, |x, y| {
        if y == 0.0 || x == 1.0 {
            1.0
        } else {
            (y * x.ln()).exp()
        }
    })
}

/// `|x|`.
pub fn abs(a: V) -> V {
    unary(a, |x| if x < 0.0 { -x } else { x })
}

/// The larger of `a` and `b`; NaN if either is NaN.
pub fn max(a: V, b: V) -> V {
    binary(a, b, |x, y| {
        if x.is_nan() || y.is_nan() {
            f64::NAN
        } else if x > y {
            x
        } else {
            y
        }
    })
}

/// The smaller of `a` and `b`; NaN if either is NaN.
pub fn min(a: V, b: V) -> V {
    binary(a, b, |x, y| {
        if x.is_nan() || y.is_nan() {
            f64::NAN
        } else if x < y {
            x
        } else {
            y
        }
    })
}

/// `ln(1 + e^x)`.
pub fn softplus(a: V) -> V {
    unary(a, |x| x.exp().ln_1p())
}

/// `x * x`.
pub fn square(a: V) -> V {
    unary(a, |x| x * x)
}

/// `Σ a[i] b[i]`.
pub fn dot(a: V, b: V) -> V {
    let s = items(&a)
        .iter()
        .zip(items(&b))
        .map(|(x, y)| scalar(x) * scalar(y))
        .sum();
    note(V::S(s))
}

/// The sum of every element of a vector or matrix.
pub fn sum(a: V) -> V {
    fn total(v: &V) -> f64 {
        match v {
            V::S(x) => *x,
            V::A(items) => items.iter().map(total).sum(),
        }
    }
    note(V::S(total(&a)))
}

/// `m v`: each row of `m` dotted with `v`.
pub fn matvec(m: V, v: V) -> V {
    let rows = items(&m)
        .iter()
        .map(|row| dot(row.clone(), v.clone()))
        .collect();
    note(V::A(rows))
}

/// `e^x[i] / Σ e^x[j]`.
pub fn softmax(a: V) -> V {
    let xs: Vec<f64> = items(&a).iter().map(scalar).collect();
    let total: f64 = xs.iter().map(|x| x.exp()).sum();
    note(V::A(xs.iter().map(|x| V::S(x.exp() / total)).collect()))
}

/// `x[i] - ln Σ e^x[j]`.
pub fn log_softmax(a: V) -> V {
    let xs: Vec<f64> = items(&a).iter().map(scalar).collect();
    let log_total = xs.iter().map(|x| x.exp()).sum::<f64>().ln();
    note(V::A(xs.iter().map(|x| V::S(x - log_total)).collect()))
}

/// `sin x`.
pub fn sin(a: V) -> V {
    unary(a, f64::sin)
}

/// `cos x`.
pub fn cos(a: V) -> V {
    unary(a, f64::cos)
}

/// `atan x`.
pub fn atan(a: V) -> V {
    unary(a, f64::atan)
}

/// `x / (1 + e^-x)`.
pub fn silu(a: V) -> V {
    unary(a, |x| x / (1.0 + (-x).exp()))
}

/// `x Φ(x) = x (1 + erf(x / √2)) / 2`.
pub fn gelu(a: V) -> V {
    unary(a, |x| {
        0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
    })
}

/// `x / (1 + |x|)`.
pub fn softsign(a: V) -> V {
    unary(a, |x| x / (1.0 + x.abs()))
}

/// `ln(1 / (1 + e^-x)) = -ln(1 + e^-x)`.
pub fn log_sigmoid(a: V) -> V {
    unary(a, |x| -(-x).exp().ln_1p())
}

/// `x` for `x > 0`, else `a (e^x - 1)`; NaN for NaN.
pub fn elu(a: V, scale: V) -> V {
    binary(
        a,
        scale,
        |x, s| if x > 0.0 { x } else { s * (x.exp() - 1.0) },
    )
}

/// `x` within `lo..=hi`: `lo` below, `hi` above (and where `lo > hi`);
/// NaN if any is NaN.
pub fn clamp(x: V, lo: V, hi: V) -> V {
    let lower = binary(x, lo, |x, l| {
        if x.is_nan() || l.is_nan() {
            f64::NAN
        } else if x < l {
            l
        } else {
            x
        }
    });
    binary(lower, hi, |y, h| {
        if y.is_nan() || h.is_nan() {
            f64::NAN
        } else if y > h {
            h
        } else {
            y
        }
    })
}

/// Every element of a vector or matrix, in row order.
fn elements(a: &V) -> Vec<f64> {
    let mut out = Vec::new();
    flatten(a, &mut out);
    out
}

/// The mean of every element.
pub fn mean_of(a: V) -> V {
    let xs = elements(&a);
    note(V::S(xs.iter().sum::<f64>() / xs.len() as f64))
}

/// `ln Σ e^x[i]` of a vector.
pub fn logsumexp_of(a: V) -> V {
    let xs: Vec<f64> = items(&a).iter().map(scalar).collect();
    note(V::S(xs.iter().map(|x| x.exp()).sum::<f64>().ln()))
}

/// `sqrt(Σ x²)` over every element.
pub fn norm_of(a: V) -> V {
    note(V::S(elements(&a).iter().map(|x| x * x).sum::<f64>().sqrt()))
}

/// The largest element; NaN if any is NaN.
pub fn max_of(a: V) -> V {
    extreme(&a, |x, m| x > m)
}

/// The smallest element; NaN if any is NaN.
pub fn min_of(a: V) -> V {
    extreme(&a, |x, m| x < m)
}

/// The element that `beats` every other; NaN if any is NaN.
fn extreme(a: &V, beats: fn(f64, f64) -> bool) -> V {
    let xs = elements(a);
    let m = if xs.iter().any(|x| x.is_nan()) {
        f64::NAN
    } else {
        xs[1..]
            .iter()
            .fold(xs[0], |m, &x| if beats(x, m) { x } else { m })
    };
    note(V::S(m))
}

/// The transpose of a matrix.
pub fn transpose(m: V) -> V {
    let rows: Vec<Vec<f64>> = items(&m)
        .iter()
        .map(|r| items(r).iter().map(scalar).collect())
        .collect();
    let cols = rows.first().map_or(0, Vec::len);
    V::A(
        (0..cols)
            .map(|j| V::A(rows.iter().map(|r| V::S(r[j])).collect()))
            .collect(),
    )
}

/// The matrix product `a b`.
pub fn matmul(a: V, b: V) -> V {
    let columns = transpose(b);
    let rows = items(&a)
        .iter()
        .map(|row| {
            V::A(
                items(&columns)
                    .iter()
                    .map(|col| dot(row.clone(), col.clone()))
                    .collect(),
            )
        })
        .collect();
    note(V::A(rows))
}

/// The outer product: `u[i] v[j]`.
pub fn outer(u: V, v: V) -> V {
    let rows = items(&u)
        .iter()
        .map(|x| {
            V::A(
                items(&v)
                    .iter()
                    .map(|y| V::S(scalar(x) * scalar(y)))
                    .collect(),
            )
        })
        .collect();
    note(V::A(rows))
}

/// A value of `shape` read from the front of `values`.
pub fn read(values: &mut impl Iterator<Item = f64>, shape: &[usize]) -> V {
    match shape.split_first() {
        None => V::S(values.next().expect("reference: too few values")),
        Some((n, rest)) => V::A((0..*n).map(|_| read(values, rest)).collect()),
    }
}

/// The elements of `v`, in row order.
pub fn flatten(v: &V, out: &mut Vec<f64>) {
    match v {
        V::S(x) => out.push(*x),
        V::A(items) => items.iter().for_each(|v| flatten(v, out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: f64) -> V {
        V::S(x)
    }

    fn vector(xs: &[f64]) -> V {
        V::A(xs.iter().map(|x| V::S(*x)).collect())
    }

    #[test]
    fn scalars_broadcast_on_either_side() {
        assert_eq!(sub(s(1.0), vector(&[1.0, 2.0])), vector(&[0.0, -1.0]));
        assert_eq!(div(vector(&[1.0, 2.0]), s(2.0)), vector(&[0.5, 1.0]));
    }

    #[test]
    fn closed_forms() {
        assert_eq!(sigmoid(s(0.0)), s(0.5));
        assert!((scalar(&tanh(s(0.5))) - 0.5f64.tanh()).abs() < 1e-15);
        assert_eq!(powi(s(2.0), -2), s(0.25));
        assert!((scalar(&powf(s(2.0), s(0.5))) - 2f64.sqrt()).abs() < 1e-15);
        assert!((scalar(&softplus(s(0.0))) - 2f64.ln()).abs() < 1e-15);
        let p = softmax(vector(&[1.0, 2.0, 3.0]));
        assert!((scalar(&sum(p.clone())) - 1.0).abs() < 1e-15);
        let l = log_softmax(vector(&[1.0, 2.0, 3.0]));
        assert!((scalar(&sum(exp(l))) - 1.0).abs() < 1e-15);
        let m = V::A(vec![vector(&[1.0, 2.0]), vector(&[3.0, 4.0])]);
        assert_eq!(
            matvec(m.clone(), vector(&[1.0, -1.0])),
            vector(&[-1.0, -1.0])
        );
        assert_eq!(sum(m), s(10.0));
    }

    #[test]
    fn nan_propagates() {
        for v in [
            relu(s(f64::NAN)),
            max(s(f64::NAN), s(1.0)),
            max(s(1.0), s(f64::NAN)),
            min(s(f64::NAN), s(1.0)),
            abs(s(f64::NAN)),
            leaky_relu(s(f64::NAN), s(0.1)),
        ] {
            assert!(scalar(&v).is_nan());
        }
    }

    #[test]
    fn values_round_trip_through_their_elements() {
        let mut values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0].into_iter();
        let m = read(&mut values, &[2, 3]);
        let mut out = Vec::new();
        flatten(&m, &mut out);
        assert_eq!(out, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }
}
