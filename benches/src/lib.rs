//! What the benchmarks in `benches/` compare: the `#[neuron]` functions
//! under test ([`neurons`]), the same gradients written by hand ([`hand`]),
//! with forward-mode dual numbers ([`dual`], the `num-dual` crate) and with
//! a reverse-mode tape ([`tape`], the `reverse` crate), and the inputs they
//! all run on ([`inputs`]).
//!
//! The tests at the bottom check that every implementation computes the
//! same gradient, so that the benchmarks compare equal work.

pub mod chained;
pub mod dual;
pub mod hand;
pub mod inputs;
pub mod neurons;
pub mod tape;

#[cfg(test)]
mod tests;
