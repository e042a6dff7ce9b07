//! A `let` whose written type differs from its value's is reported at the written type.
use neuron_core::prelude::*;

#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3]) -> f64 {
    let z: [f64; 3] = dot(w, x);
    sum(z)
}

fn main() {}
