//! Seeing the chain rule: `NAME::trace`, `NAME::DOT` and `NAME::COST`.

use neuron_core::prelude::*;

/// One ReLU neuron with three inputs.
#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
}

#[test]
fn show() {
    let t = unit::trace([1.0, -2.0, 3.0], [-3.0, -1.0, 2.0], 1.0);
    println!("{t}");
    println!("{}", unit::DOT);
    println!("{}", unit::COST);
    panic!();
}
