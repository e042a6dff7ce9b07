//! The `#[neuron]` attribute: differentiates a Rust function at compile
//! time and emits its gradient as straight-line Rust.
//!
//! Use it through `neuron_core`, which re-exports it together with the
//! runtime that the generated code implements. The pipeline, one module per
//! stage, is described in `ARCHITECTURE.md`: parse → check → lower →
//! differentiate → simplify → emit.

mod ast;
mod check;
mod cost;
mod ctxt;
mod declared;
mod derivative;
mod diff;
mod docs;
mod dot;
mod emit;
#[cfg(test)]
mod eval;
mod expand;
mod glue;
mod ir;
mod items;
mod lower;
mod names;
mod ops;
mod parse;
#[cfg(test)]
mod proptests;
mod simplify;
mod trace;

use proc_macro::TokenStream;

/// Differentiates a function at compile time.
///
/// ```text
/// #[neuron]
/// pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
///     relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
/// }
/// let (y, g) = unit::gradient([1.0, -2.0, 3.0], [-3.0, -1.0, 2.0], 1.0);
/// ```
///
/// Besides the function itself this generates `mod unit` holding `Grad`,
/// `gradient`, `backward`, `Params`, `Model`, `SOURCE`, `trace`, `DOT` and
/// `COST`; see the
/// `neuron_core` documentation. `#[neuron(gradcheck)]` also emits a
/// `#[test]` that checks the gradient against finite differences.
#[proc_macro_attribute]
pub fn neuron(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(attr.into(), item.into()).into()
}

/// The identifiers generated code introduces, as a `&[&str]`, for tests of
/// hygiene; `*` in an entry stands for any name. Not part of the language.
#[doc(hidden)]
#[proc_macro]
pub fn __emitted_names(_: TokenStream) -> TokenStream {
    names::tokens().into()
}

/// The names of the items a neuron's generated module defines besides
/// the forward function, and which of them are constants, as two
/// `&[&str]`: the names the macro refuses for a neuron, a generic
/// parameter, and (the constants) an argument. Not part of the language.
#[doc(hidden)]
#[proc_macro]
pub fn __generated_items(_: TokenStream) -> TokenStream {
    let (items, consts) = (items::ITEMS, items::CONSTS);
    quote::quote!(((&[#(#items),*] as &[&str]), (&[#(#consts),*] as &[&str]))).into()
}

/// The library's function names (every spelling of the op registry), as a
/// `&[&str]`, for test generators. Not part of the language.
#[doc(hidden)]
#[proc_macro]
pub fn __library(_: TokenStream) -> TokenStream {
    let names = ops::library();
    quote::quote!((&[#(#names),*] as &[&str])).into()
}

/// Declares the derivative of a plain Rust function of reals, so that
/// `#[neuron]` functions can call it: one derivative function per
/// argument, in order, each taking the function's arguments.
///
/// ```text
/// #[neuron::derivative(d_softclip)]
/// fn softclip(x: f64) -> f64 { x.tanh() }
/// fn d_softclip(x: f64) -> f64 { 1.0 - x.tanh().powi(2) }
/// ```
///
/// The function stays as it is; a hidden module of the same name records
/// the declaration (see `neuron_core::custom`). Gradient checks compare
/// the declared derivative with finite differences like any other.
#[proc_macro_attribute]
pub fn derivative(attr: TokenStream, item: TokenStream) -> TokenStream {
    derivative::expand(attr.into(), item.into(), derivative::Kind::Derivative).into()
}

/// Declares a surrogate derivative: a smooth stand-in that `#[neuron]`
/// functions train through in place of the function's own derivative,
/// such as the slope of a fast sigmoid for a step.
///
/// ```text
/// #[neuron::surrogate(fast_sigmoid)]
/// fn heaviside(x: f64) -> f64 { if x > 0.0 { 1.0 } else { 0.0 } }
/// fn fast_sigmoid(x: f64) -> f64 { 1.0 / (1.0 + 10.0 * x.abs()).powi(2) }
/// ```
///
/// As [`macro@derivative`], except that a gradient through it is by design
/// not the function's: gradient checks report it as not checked, and the
/// generated `SOURCE` marks it.
#[proc_macro_attribute]
pub fn surrogate(attr: TokenStream, item: TokenStream) -> TokenStream {
    derivative::expand(attr.into(), item.into(), derivative::Kind::Surrogate).into()
}
