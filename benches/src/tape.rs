//! `relu(dot(w, x) + b)` differentiated in reverse mode with the `reverse`
//! crate's tape (a Wengert list): the forward pass records every operation,
//! then one backward sweep over the tape yields all partials.
//!
//! [`dot_gradient`] builds a new tape per call, as the crate's documentation
//! does; [`dot_gradient_reusing`] clears and refills one tape, the cheapest
//! way to use it.

use reverse::{Gradient, Tape, Var};

/// The value and partials of `relu(dot(w, x) + b)` from a tape.
#[derive(Clone, Debug, PartialEq)]
pub struct TapeGrad {
    /// The output.
    pub y: f64,
    /// ∂y/∂x.
    pub x: Vec<f64>,
    /// ∂y/∂w.
    pub w: Vec<f64>,
    /// ∂y/∂b.
    pub b: f64,
}

fn record<'t>(tape: &'t Tape, x: &[f64], w: &[f64], b: f64) -> TapeGrad {
    let xs = tape.add_vars(x);
    let ws = tape.add_vars(w);
    let bv: Var<'t> = tape.add_var(b);
    let mut s = ws[0] * xs[0];
    for i in 1..xs.len() {
        s = s + ws[i] * xs[i];
    }
    let z = s + bv;
    let y = if z.val() > 0.0 { z } else { z * 0.0 };
    let g = y.grad();
    TapeGrad {
        y: y.val(),
        x: g.wrt(&xs),
        w: g.wrt(&ws),
        b: g.wrt(&bv),
    }
}

/// The gradient on a fresh tape.
#[inline(never)]
pub fn dot_gradient(x: &[f64], w: &[f64], b: f64) -> TapeGrad {
    let tape = Tape::new();
    record(&tape, x, w, b)
}

/// The gradient on `tape`, cleared first so that its allocation is reused.
#[inline(never)]
pub fn dot_gradient_reusing(tape: &Tape, x: &[f64], w: &[f64], b: f64) -> TapeGrad {
    tape.clear();
    record(tape, x, w, b)
}
