//! What the benchmarks in `benches/` compare: the `#[neuron]` functions
//! under test ([`neurons`]), the same gradients written by hand ([`hand`]),
//! with forward-mode dual numbers ([`dual`], the `num-dual` crate) and with
//! a reverse-mode tape ([`tape`], the `reverse` crate), and the inputs they
//! all run on ([`inputs`]); for the training benches, a hand-written
//! per-sample training loop ([`naive`]), the same training with a batched
//! step written by hand ([`blocked`]) and the training runs themselves
//! ([`setups`]).
//!
//! The tests at the bottom check that every implementation computes the
//! same gradient, and the hand-written loop the same training, so that the
//! benchmarks compare equal work.

pub mod blocked;
pub mod chained;
pub mod dual;
pub mod hand;
pub mod inputs;
pub mod naive;
pub mod neurons;
pub mod setups;
pub mod tape;

#[cfg(test)]
mod tests;
