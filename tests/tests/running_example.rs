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
fn backward_scales_by_the_upstream_derivative() {
    let (y, g) = unit::backward([1.0, -2.0, 3.0], [-3.0, -1.0, 2.0], 1.0, 0.5);
    assert_eq!(y, 6.0);
    assert_eq!(g.w, [0.5, -1.0, 1.5]);
    assert_eq!(g.b, 0.5);
    // Below the kink nothing flows back.
    let (y, g) = unit::backward([1.0, -2.0, 3.0], [3.0, 1.0, -2.0], -1.0, 1.0);
    assert_eq!(y, 0.0);
    assert_eq!(g.x, [0.0; 3]);
    assert_eq!(g.w, [0.0; 3]);
    assert_eq!(g.b, 0.0);
}

#[test]
fn one_sgd_step_matches_the_notes() {
    let x = [1.0, -2.0, 3.0];
    let mut model = unit::Model::new(unit::Params::new([-3.0, -1.0, 2.0], 1.0));
    let mut grads = unit::Params::default();
    let y = model.backward(&x, &1.0, &mut grads);
    assert_eq!(y, 6.0);
    assert_eq!(grads, unit::Params::new([1.0, -2.0, 3.0], 1.0));
    Sgd::new(0.001).step(&mut model.params, &grads);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    let w = *model.params.w;
    assert!(
        close(w[0], -3.001) && close(w[1], -0.998) && close(w[2], 1.997),
        "{w:?}"
    );
    assert!(close(model.params.b, 0.999));
    assert!(close(model.forward(&x), 5.985));
}

#[test]
fn params_see_fields_in_declaration_order() {
    let p = unit::Params::new([1.0, 2.0, 3.0], 4.0);
    assert_eq!(p.to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(<unit::Params as Parameters<f64>>::LEN, 4);
    let names: Vec<&str> = <unit::Params as Parameters<f64>>::FIELDS
        .iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["w", "b"]);
    assert_eq!(unit::Params::from_slice(&[1.0, 2.0, 3.0, 4.0]), Some(p));
    assert_eq!(unit::Params::from_slice(&[1.0]), None);
}

#[test]
fn the_gradient_passes_gradcheck() {
    let report = gradcheck_random::<unit::Model>(200, 7, 1e-6).unwrap();
    assert!(report.checked > 0);
}
