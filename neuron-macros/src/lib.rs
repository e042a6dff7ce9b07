//! The `#[neuron]` attribute.
use proc_macro::TokenStream;

/// Differentiates a function at compile time.
#[proc_macro_attribute]
pub fn neuron(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
