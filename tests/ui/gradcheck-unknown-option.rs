//! An option of `gradcheck(...)` other than `points`, `range` and
//! `tolerance` is reported at the option, naming the three.
use neuron_core::prelude::*;

#[neuron(gradcheck(points = 10, seed = 3))]
pub fn unit(x: f64, #[param] w: f64) -> f64 {
    relu(w * x)
}

fn main() {}
