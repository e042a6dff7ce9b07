//! The running example of DESIGN.md: one ReLU neuron with three inputs.

use neuron_core::prelude::*;

/// One ReLU neuron with three inputs.
#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
}

#[test]
fn value_and_partials_match_the_hand_derivation() {
    let (y, g) = unit::gradient([1.0, -2.0, 3.0], [-3.0, -1.0, 2.0], 1.0);
    assert_eq!(y, 6.0);
    assert_eq!(g.x, [-3.0, -1.0, 2.0]);
    assert_eq!(g.w, [1.0, -2.0, 3.0]);
    assert_eq!(g.b, 1.0);
}

#[test]
fn print_source() {
    println!("{}", unit::SOURCE);
}
