//! The `#[neuron]` attribute: differentiates a Rust function at compile
//! time and emits its gradient as straight-line Rust.
//!
//! Use it through `neuron_core`, which re-exports it together with the
//! runtime that the generated code implements. The pipeline, one module per
//! stage, is described in `ARCHITECTURE.md`: parse → check → lower →
//! differentiate → simplify → emit.

mod ast;
mod check;
mod ctxt;
mod diff;
mod docs;
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
/// `gradient`, `backward`, `Params`, `Model` and `SOURCE`; see the
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

/// The library's function names (every spelling of the op registry), as a
/// `&[&str]`, for test generators. Not part of the language.
#[doc(hidden)]
#[proc_macro]
pub fn __library(_: TokenStream) -> TokenStream {
    let names = ops::library();
    quote::quote!((&[#(#names),*] as &[&str])).into()
}
