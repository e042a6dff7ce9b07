//! Functions with declared derivatives: what `#[neuron::derivative]` and
//! `#[neuron::surrogate]` generate next to a plain Rust function, and what
//! the code of a `#[neuron]` function that calls it relies on.
//!
//! A `#[neuron]` function differentiates its own body; a plain Rust
//! function it calls is a black box whose derivative must be declared:
//!
//! ```text
//! #[neuron::derivative(d_softclip)]            // ∂softclip/∂x, exact
//! fn softclip(x: f64) -> f64 { x.tanh() }
//! fn d_softclip(x: f64) -> f64 { 1.0 - x.tanh().powi(2) }
//!
//! #[neuron::surrogate(fast_sigmoid)]           // a stand-in, for training
//! fn heaviside(x: f64) -> f64 { if x > 0.0 { 1.0 } else { 0.0 } }
//! ```
//!
//! The attribute leaves the function as it is and adds a hidden module of
//! the same name (a function and a module may share one), which rustc
//! checks like any code: each derivative is called with the function's
//! arguments and must return its type.
//!
//! ```text
//! mod heaviside {
//!     pub enum Marker {}
//!     impl Declared for Marker { const DECLARATION = Declaration { function: "heaviside", derivatives: &["fast_sigmoid"], surrogate: true } }
//!     impl Partials<f64, (f64,)> for Marker { fn partial(k, (x,)) -> f64 { super::fast_sigmoid(x) } }
//!     pub const DECLARATIONS: Declarations = ..;        // as a #[neuron] module has it
//!     pub struct Grad { pub x: f64 }  pub fn backward(x, dy) -> (f64, Grad)   // as a #[neuron] module has them
//! }
//! ```
//!
//! A `#[neuron]` function that calls `heaviside(z)` without a written
//! result type applies it element-wise and calls its partial derivatives
//! through [`Partials`]; a call whose result type is written (or the
//! result of the function) goes through `heaviside::backward`, like a call
//! of another `#[neuron]` function. Its [`Declarations`] reach
//! [`Differentiable::DECLARATIONS`](crate::Differentiable::DECLARATIONS), so
//! that [`gradcheck()`](crate::gradcheck()) knows when a gradient goes
//! through a surrogate and reports the check as not run.
//!
//! When the marker is missing, the calling `#[neuron]` function finds
//! [`Undeclared`] in its place: everything it generates still type-checks,
//! and one error at the call says to declare the derivative.

use core::fmt;

use alloc::vec;
use alloc::vec::Vec;

use crate::real::Real;

/// What the attribute on a function declared about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Declaration {
    /// The function's name.
    pub function: &'static str,
    /// The derivative functions, one per argument in order, as written in
    /// the attribute.
    pub derivatives: &'static [&'static str],
    /// Whether they are a surrogate (`#[neuron::surrogate]`): a stand-in
    /// for the function's own derivative, which they differ from by
    /// design, rather than that derivative (`#[neuron::derivative]`).
    pub surrogate: bool,
}

impl fmt::Display for Declaration {
    /// `` `heaviside` (surrogate derivative `fast_sigmoid`) ``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.surrogate {
            "surrogate derivative"
        } else {
            "declared derivative"
        };
        write!(f, "`{}` ({kind}", self.function)?;
        if self.derivatives.len() > 1 {
            f.write_str("s")?;
        }
        for (k, d) in self.derivatives.iter().enumerate() {
            let sep = if k == 0 { " " } else { ", " };
            write!(f, "{sep}`{d}`")?;
        }
        f.write_str(")")
    }
}

/// The functions of declared derivatives a gradient goes through: those a
/// `#[neuron]` function calls itself, and those of the `#[neuron]`
/// functions it calls, as a tree of constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Declarations {
    /// The declared functions called directly.
    pub direct: &'static [&'static Declaration],
    /// Those of each called `#[neuron]` function (or declared function
    /// called like one).
    pub callees: &'static [&'static Declarations],
}

impl Declarations {
    /// No declared function at all: a gradient derived entirely by
    /// `#[neuron]`, or written by hand.
    pub const NONE: Declarations = Declarations {
        direct: &[],
        callees: &[],
    };

    /// Every declared function, once each, in the order first met.
    pub fn all(&self) -> Vec<&'static Declaration> {
        let mut found: Vec<&'static Declaration> = Vec::new();
        // Depth first, without recursion: a chain of calls may be long.
        let mut stack: Vec<&Declarations> = vec![self];
        while let Some(d) = stack.pop() {
            for &decl in d.direct {
                if !found.contains(&decl) {
                    found.push(decl);
                }
            }
            stack.extend(d.callees.iter().rev().copied());
        }
        found
    }

    /// The declared functions whose derivatives are surrogates, once each.
    pub fn surrogates(&self) -> Vec<&'static Declaration> {
        let mut all = self.all();
        all.retain(|d| d.surrogate);
        all
    }
}

/// Implemented by the marker of a function whose derivative is declared.
#[diagnostic::on_unimplemented(
    message = "`{Self}` marks no function with a declared derivative",
    note = "declare the derivative with `#[neuron::derivative(..)]` on the function, or a surrogate one with `#[neuron::surrogate(..)]`"
)]
pub trait Declared {
    /// What was declared.
    const DECLARATION: Declaration;
}

/// The partial derivatives of a declared function of arguments `A` (a
/// tuple of reals `R`), implemented by its marker.
#[diagnostic::on_unimplemented(
    message = "the function marked by `{Self}` does not take `{A}`",
    note = "a function with a declared derivative takes reals of the type it returns, as many as it has derivatives"
)]
pub trait Partials<R, A> {
    /// The partial derivative with respect to argument `k` at `args`.
    fn partial(k: usize, args: A) -> R;
}

/// What a `#[neuron]` function finds in place of the marker of a function
/// whose derivative is not declared: it has every partial derivative, so
/// that the generated code type-checks, and is not [`Declared`], which is
/// the one error reported.
#[derive(Debug)]
pub enum Undeclared {}

impl<R, A> Partials<R, A> for Undeclared {
    fn partial(_: usize, _: A) -> R {
        unreachable!("a function without a declared derivative is a compile error")
    }
}

/// The marker of a `#[neuron]` function, which is not [`Declared`]: called
/// without its result type written, it is reported like an undeclared
/// function, with a note on how to call it.
#[derive(Debug)]
pub enum Neuron {}

impl<R, A> Partials<R, A> for Neuron {
    fn partial(_: usize, _: A) -> R {
        unreachable!("a #[neuron] function called element-wise is a compile error")
    }
}

/// `dy * d`, or `dy` where `dy` is zero: a declared derivative may be
/// infinite where no gradient flows, and `0 * inf` would be NaN.
#[inline]
pub fn safe_mul<T: Real>(dy: T, d: T) -> T {
    if dy == T::zero() { dy } else { dy * d }
}

// The generated `SOURCE` of a function that calls declared functions ends
// with what was declared, known only once rustc has resolved each marker;
// these assemble it at compile time.

/// The total length of `parts`.
#[doc(hidden)]
pub const fn concat_len(parts: &[&str]) -> usize {
    let mut len = 0;
    let mut k = 0;
    while k < parts.len() {
        len += parts[k].len();
        k += 1;
    }
    len
}

/// The bytes of `parts` one after the other; `N` is [`concat_len`] of them.
#[doc(hidden)]
pub const fn concat_bytes<const N: usize>(parts: &[&str]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut at = 0;
    let mut k = 0;
    while k < parts.len() {
        let bytes = parts[k].as_bytes();
        let mut i = 0;
        while i < bytes.len() && at < N {
            out[at] = bytes[i];
            at += 1;
            i += 1;
        }
        k += 1;
    }
    out
}

/// `bytes` as text: the concatenation of whole strings is always UTF-8.
#[doc(hidden)]
pub const fn utf8(bytes: &'static [u8]) -> &'static str {
    match core::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => "",
    }
}

/// The name of derivative `k` of `d`, as written in its attribute.
#[doc(hidden)]
pub const fn derivative_name(d: &Declaration, k: usize) -> &'static str {
    if k < d.derivatives.len() {
        d.derivatives[k]
    } else {
        "?"
    }
}

/// The attribute that declared `d`.
#[doc(hidden)]
pub const fn attribute(d: &Declaration) -> &'static str {
    if d.surrogate {
        "#[neuron::surrogate]"
    } else {
        "#[neuron::derivative]"
    }
}

/// What the source listing says after a surrogate's derivatives.
#[doc(hidden)]
pub const fn surrogate_note(d: &Declaration) -> &'static str {
    if d.surrogate {
        "//     a surrogate: a stand-in for the function's own derivative, so gradient checks skip this function\n"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: Declaration = Declaration {
        function: "heaviside",
        derivatives: &["fast_sigmoid"],
        surrogate: true,
    };
    const CLIP: Declaration = Declaration {
        function: "softclip",
        derivatives: &["d_softclip"],
        surrogate: false,
    };
    const HYPOT: Declaration = Declaration {
        function: "hypot",
        derivatives: &["d_x", "d_y"],
        surrogate: false,
    };

    #[test]
    fn a_tree_of_declarations_lists_each_once() {
        const LAYER: Declarations = Declarations {
            direct: &[&STEP, &CLIP],
            callees: &[],
        };
        const NET: Declarations = Declarations {
            direct: &[&HYPOT],
            callees: &[&LAYER, &LAYER],
        };
        assert_eq!(NET.all(), [&HYPOT, &STEP, &CLIP]);
        assert_eq!(NET.surrogates(), [&STEP]);
        assert!(Declarations::NONE.all().is_empty());
    }

    #[test]
    fn declarations_say_what_they_are() {
        assert_eq!(
            STEP.to_string(),
            "`heaviside` (surrogate derivative `fast_sigmoid`)"
        );
        assert_eq!(
            HYPOT.to_string(),
            "`hypot` (declared derivatives `d_x`, `d_y`)"
        );
    }

    #[test]
    fn parts_are_joined_at_compile_time() {
        const PARTS: &[&str] = &["a", "", "bc", derivative_name(&HYPOT, 1)];
        const LEN: usize = concat_len(PARTS);
        const BYTES: [u8; LEN] = concat_bytes::<LEN>(PARTS);
        const TEXT: &str = utf8(&BYTES);
        assert_eq!(TEXT, "abcd_y");
        assert_eq!(derivative_name(&HYPOT, 2), "?");
    }

    #[test]
    fn a_zero_upstream_derivative_beats_an_infinite_one() {
        assert_eq!(safe_mul(0.0, f64::INFINITY), 0.0);
        assert_eq!(safe_mul(2.0, 3.0), 6.0);
        assert!(safe_mul(1.0f32, f32::INFINITY).is_infinite());
    }
}
