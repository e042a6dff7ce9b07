//! After an error, the stubs the macro emits keep uses of the function and of
//! its generated module from adding errors of their own: only the mistake is reported.
use neuron_core::prelude::*;

#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    dot(w, x).relux() + b
}

fn main() {
    let y = unit([1.0, 2.0, 3.0], [0.5, 0.5, 0.5], 0.0);
    let (z, g) = unit::gradient([1.0, 2.0, 3.0], [0.5, 0.5, 0.5], 0.0);
    let model = unit::Model::default();
    println!("{y} {z} {:?} {:?}", g.w, model.params.b);
}
