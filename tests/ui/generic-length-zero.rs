//! A const-generic length instantiated at 0 is refused when the code is
//! built, at the length's name, as a literal `[T; 0]` is refused at once:
//! `max(v)` of no elements has no value to return. (`cargo check` does not
//! instantiate generic code, so it is `cargo build` that reports it.)
use neuron_core::prelude::*;

#[neuron]
pub fn largest<T: Real, const N: usize>(v: [T; N]) -> T {
    max(v)
}

#[neuron]
pub fn dense<T: Real, const I: usize, const O: usize>(
    x: [T; I],
    #[param] w: [[T; I]; O],
    #[param] b: [T; O],
) -> [T; O] {
    softmax(matvec(w, x) + b)
}

fn main() {
    let _ = largest::<f64, 0>([]);
    let _ = dense::backward::<f64, 2, 0>([1.0, 2.0], [], [], []);
}
