//! The differential test of `#[neuron]`: the runtime side.
//!
//! `build.rs` writes a few hundred random valid programs of the whole
//! language into `$OUT_DIR` (see `generator/`), each with a reference
//! function computing the same value in plain `f64`; `tests/programs.rs`
//! compiles them through the macro and checks each one with [`check`]. This
//! crate holds what the generated code calls: the reference's helpers
//! ([`reference`]), the conversion of arguments and results to flat vectors
//! ([`flat`]) and the checks themselves ([`check`]).

pub mod check;
pub mod flat;
pub mod reference;

pub use check::{Float, Instance, Neuron, Program, check};
