//! Hand-written stand-ins for what `#[neuron]` generates, so the runtime's
//! tests do not depend on the macro.

use crate::model::{Differentiable, Field, Model, Parameters};
use crate::real::Real;

/// Parameters `{ w: [f64; 2], b: f64 }`, flat order `w[0], w[1], b`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearParams {
    pub w: [f64; 2],
    pub b: f64,
}

impl Parameters<f64> for LinearParams {
    const FIELDS: &'static [Field] = &[
        Field {
            name: "w",
            shape: &[2],
        },
        Field {
            name: "b",
            shape: &[],
        },
    ];
    const LEN: usize = 3;

    fn zeros() -> Self {
        LinearParams {
            w: [0.0; 2],
            b: 0.0,
        }
    }

    fn for_each(&self, mut f: impl FnMut(usize, f64)) {
        f(0, self.w[0]);
        f(1, self.w[1]);
        f(2, self.b);
    }

    fn for_each_mut(&mut self, mut f: impl FnMut(usize, &mut f64)) {
        f(0, &mut self.w[0]);
        f(1, &mut self.w[1]);
        f(2, &mut self.b);
    }

    fn zip_mut(&mut self, other: &Self, mut f: impl FnMut(usize, &mut f64, f64)) {
        f(0, &mut self.w[0], other.w[0]);
        f(1, &mut self.w[1], other.w[1]);
        f(2, &mut self.b, other.b);
    }
}

/// `y = w·x + b`.
#[derive(Clone, Debug)]
pub struct Linear {
    pub params: LinearParams,
}

impl Linear {
    pub fn new(w: [f64; 2], b: f64) -> Self {
        Linear {
            params: LinearParams { w, b },
        }
    }
}

impl Model for Linear {
    type Real = f64;
    type Input = [f64; 2];
    type Output = f64;
    type Params = LinearParams;

    fn params(&self) -> &LinearParams {
        &self.params
    }

    fn params_mut(&mut self) -> &mut LinearParams {
        &mut self.params
    }

    fn forward(&self, x: &[f64; 2]) -> f64 {
        let p = &self.params;
        p.w[0] * x[0] + p.w[1] * x[1] + p.b
    }

    fn backward(&self, x: &[f64; 2], dy: &f64, grads: &mut LinearParams) -> f64 {
        grads.w[0] += dy * x[0];
        grads.w[1] += dy * x[1];
        grads.b += dy;
        self.forward(x)
    }
}

/// `y = sigmoid(w·x + b)`, a probability for binary cross-entropy.
#[derive(Clone, Debug)]
pub struct Logistic {
    pub params: LinearParams,
}

impl Model for Logistic {
    type Real = f64;
    type Input = [f64; 2];
    type Output = f64;
    type Params = LinearParams;

    fn params(&self) -> &LinearParams {
        &self.params
    }

    fn params_mut(&mut self) -> &mut LinearParams {
        &mut self.params
    }

    fn forward(&self, x: &[f64; 2]) -> f64 {
        let p = &self.params;
        (p.w[0] * x[0] + p.w[1] * x[1] + p.b).sigmoid()
    }

    fn backward(&self, x: &[f64; 2], dy: &f64, grads: &mut LinearParams) -> f64 {
        let y = self.forward(x);
        let dz = dy * y * (1.0 - y);
        grads.w[0] += dz * x[0];
        grads.w[1] += dz * x[1];
        grads.b += dz;
        y
    }
}

/// Parameters `{ w: [[f64; 2]; 3], b: [f64; 3] }` of a 2-input, 3-class
/// linear classifier.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseParams {
    pub w: [[f64; 2]; 3],
    pub b: [f64; 3],
}

impl Parameters<f64> for DenseParams {
    const FIELDS: &'static [Field] = &[
        Field {
            name: "w",
            shape: &[3, 2],
        },
        Field {
            name: "b",
            shape: &[3],
        },
    ];
    const LEN: usize = 9;

    fn zeros() -> Self {
        DenseParams {
            w: [[0.0; 2]; 3],
            b: [0.0; 3],
        }
    }

    fn for_each(&self, mut f: impl FnMut(usize, f64)) {
        let flat = self.w.iter().flatten().chain(self.b.iter());
        for (k, v) in flat.enumerate() {
            f(k, *v);
        }
    }

    fn for_each_mut(&mut self, mut f: impl FnMut(usize, &mut f64)) {
        let flat = self.w.iter_mut().flatten().chain(self.b.iter_mut());
        for (k, v) in flat.enumerate() {
            f(k, v);
        }
    }

    fn zip_mut(&mut self, other: &Self, mut f: impl FnMut(usize, &mut f64, f64)) {
        let mine = self.w.iter_mut().flatten().chain(self.b.iter_mut());
        let theirs = other.w.iter().flatten().chain(other.b.iter());
        for (k, (a, b)) in mine.zip(theirs).enumerate() {
            f(k, a, *b);
        }
    }
}

/// Logits `w x + b` of three classes.
#[derive(Clone, Debug)]
pub struct Dense {
    pub params: DenseParams,
}

impl Model for Dense {
    type Real = f64;
    type Input = [f64; 2];
    type Output = [f64; 3];
    type Params = DenseParams;

    fn params(&self) -> &DenseParams {
        &self.params
    }

    fn params_mut(&mut self) -> &mut DenseParams {
        &mut self.params
    }

    fn forward(&self, x: &[f64; 2]) -> [f64; 3] {
        let p = &self.params;
        core::array::from_fn(|k| p.w[k][0] * x[0] + p.w[k][1] * x[1] + p.b[k])
    }

    fn backward(&self, x: &[f64; 2], dy: &[f64; 3], grads: &mut DenseParams) -> [f64; 3] {
        for ((gw, gb), d) in grads.w.iter_mut().zip(&mut grads.b).zip(dy) {
            gw[0] += d * x[0];
            gw[1] += d * x[1];
            *gb += d;
        }
        self.forward(x)
    }
}

/// A function whose `ARGS` promise one more scalar than `eval_flat`
/// accepts, to check that `gradcheck` reports the inconsistency.
pub struct Inconsistent;

impl Differentiable for Inconsistent {
    type Real = f64;
    const ARGS: &'static [Field] = &[Field {
        name: "x",
        shape: &[2],
    }];
    const OUTPUT_LEN: usize = 1;

    fn eval_flat(a: &[f64], out: &mut [f64]) -> Option<()> {
        let ([x], [y]) = (a, out) else {
            return None;
        };
        *y = *x;
        Some(())
    }

    fn backward_flat(_: &[f64], _: &[f64], _: &mut [f64]) -> Option<()> {
        None
    }
}

/// The running example of the design notes:
/// `unit(x: [f64; 3], w: [f64; 3], b: f64) = relu(w·x + b)`.
pub struct Unit;

impl Differentiable for Unit {
    type Real = f64;
    const ARGS: &'static [Field] = &[
        Field {
            name: "x",
            shape: &[3],
        },
        Field {
            name: "w",
            shape: &[3],
        },
        Field {
            name: "b",
            shape: &[],
        },
    ];
    const OUTPUT_LEN: usize = 1;

    fn eval_flat(a: &[f64], out: &mut [f64]) -> Option<()> {
        if a.len() != 7 || out.len() != 1 {
            return None;
        }
        out[0] = (a[0] * a[3] + a[1] * a[4] + a[2] * a[5] + a[6]).relu();
        Some(())
    }

    fn backward_flat(a: &[f64], dy: &[f64], g: &mut [f64]) -> Option<()> {
        if a.len() != 7 || dy.len() != 1 || g.len() != 7 {
            return None;
        }
        let z = a[0] * a[3] + a[1] * a[4] + a[2] * a[5] + a[6];
        let dz = if z > 0.0 { dy[0] } else { 0.0 };
        for i in 0..3 {
            g[i] = dz * a[3 + i];
            g[3 + i] = dz * a[i];
        }
        g[6] = dz;
        Some(())
    }
}

/// `f(m: [[f64; 2]; 2], v: [f64; 2]) = [tanh((m v)_0), exp((m v)_1)]`,
/// with `BUG` set to break one partial (`∂out[1]/∂m[1][0]`).
pub struct MatvecTanhExp<const BUG: bool>;

impl<const BUG: bool> Differentiable for MatvecTanhExp<BUG> {
    type Real = f64;
    const ARGS: &'static [Field] = &[
        Field {
            name: "m",
            shape: &[2, 2],
        },
        Field {
            name: "v",
            shape: &[2],
        },
    ];
    const OUTPUT_LEN: usize = 2;

    fn eval_flat(a: &[f64], out: &mut [f64]) -> Option<()> {
        if a.len() != 6 || out.len() != 2 {
            return None;
        }
        out[0] = (a[0] * a[4] + a[1] * a[5]).tanh();
        out[1] = (a[2] * a[4] + a[3] * a[5]).exp();
        Some(())
    }

    fn backward_flat(a: &[f64], dy: &[f64], g: &mut [f64]) -> Option<()> {
        if a.len() != 6 || dy.len() != 2 || g.len() != 6 {
            return None;
        }
        let t = (a[0] * a[4] + a[1] * a[5]).tanh();
        let e = (a[2] * a[4] + a[3] * a[5]).exp();
        let d0 = dy[0] * (1.0 - t * t);
        let d1 = dy[1] * e;
        g[0] = d0 * a[4];
        g[1] = d0 * a[5];
        g[2] = if BUG { d1 * a[5] } else { d1 * a[4] };
        g[3] = d1 * a[5];
        g[4] = d0 * a[0] + d1 * a[2];
        g[5] = d0 * a[1] + d1 * a[3];
        Some(())
    }
}

/// Parameters whose `FIELDS` promise 4 scalars while `LEN` says 2 and the
/// methods visit 3: a hand-written implementation that contradicts itself
/// every way at once.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatched {
    pub v: [f64; 3],
}

impl Parameters<f64> for Mismatched {
    const FIELDS: &'static [Field] = &[Field {
        name: "v",
        shape: &[4],
    }];
    const LEN: usize = 2;

    fn zeros() -> Self {
        Mismatched { v: [0.0; 3] }
    }

    fn for_each(&self, mut f: impl FnMut(usize, f64)) {
        for (k, v) in self.v.iter().enumerate() {
            f(k, *v);
        }
    }

    fn for_each_mut(&mut self, mut f: impl FnMut(usize, &mut f64)) {
        for (k, v) in self.v.iter_mut().enumerate() {
            f(k, v);
        }
    }

    fn zip_mut(&mut self, other: &Self, mut f: impl FnMut(usize, &mut f64, f64)) {
        for (k, (v, o)) in self.v.iter_mut().zip(other.v).enumerate() {
            f(k, v, o);
        }
    }
}

/// `y = v0 x + v1 + v2` on [`Mismatched`] parameters.
#[derive(Clone, Debug)]
pub struct MismatchedModel {
    pub params: Mismatched,
}

impl Model for MismatchedModel {
    type Real = f64;
    type Input = f64;
    type Output = f64;
    type Params = Mismatched;

    fn params(&self) -> &Mismatched {
        &self.params
    }

    fn params_mut(&mut self) -> &mut Mismatched {
        &mut self.params
    }

    fn forward(&self, x: &f64) -> f64 {
        let v = self.params.v;
        v[0] * x + v[1] + v[2]
    }

    fn backward(&self, x: &f64, dy: &f64, grads: &mut Mismatched) -> f64 {
        grads.v[0] += dy * x;
        grads.v[1] += dy;
        grads.v[2] += dy;
        self.forward(x)
    }
}

/// Parameters `{ w: [f32; 2] }`.
#[derive(Clone, Debug, PartialEq)]
pub struct PairF32 {
    pub w: [f32; 2],
}

impl Parameters<f32> for PairF32 {
    const FIELDS: &'static [Field] = &[Field {
        name: "w",
        shape: &[2],
    }];
    const LEN: usize = 2;

    fn zeros() -> Self {
        PairF32 { w: [0.0; 2] }
    }

    fn for_each(&self, mut f: impl FnMut(usize, f32)) {
        f(0, self.w[0]);
        f(1, self.w[1]);
    }

    fn for_each_mut(&mut self, mut f: impl FnMut(usize, &mut f32)) {
        let [a, b] = &mut self.w;
        f(0, a);
        f(1, b);
    }

    fn zip_mut(&mut self, other: &Self, mut f: impl FnMut(usize, &mut f32, f32)) {
        let [a, b] = &mut self.w;
        f(0, a, other.w[0]);
        f(1, b, other.w[1]);
    }
}
