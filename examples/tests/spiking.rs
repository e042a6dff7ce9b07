//! The spiking example learns through its surrogate gradient: threshold
//! units whose own derivative is zero, trained to well above chance on the
//! two-class spiral, and a gradient check that says it did not check them.

use neuron_core::NotChecked;
use neuron_core::prelude::*;
use neuron_examples::spiking::{spiking_data, spiking_net, train_spiking};

#[test]
fn the_spiking_network_learns_the_two_class_spiral() {
    let (model, history) = train_spiking(300, false).unwrap();
    let trained = evaluate(&model, &SoftmaxCrossEntropy, &spiking_data()).unwrap();
    let accuracy = trained.accuracy.unwrap();
    // 99.5% on the training set, 93.5% on a fresh draw; chance is 50%.
    assert!(accuracy >= 0.95, "training accuracy {accuracy}");
    let fresh = evaluate(&model, &SoftmaxCrossEntropy, &spiral(100, 2, 1)).unwrap();
    let fresh = fresh.accuracy.unwrap();
    assert!(fresh >= 0.85, "accuracy on a fresh draw {fresh}");
    let losses = history.losses();
    assert!(losses[losses.len() - 1] < 0.5 * losses[0], "{losses:?}");
    // The hidden layer's output is a step.
    let (x, p) = ([0.3, -0.2], &model.params);
    for i in 0..64 {
        let v = p.w1[i][0] * x[0] + p.w1[i][1] * x[1] + p.b1[i];
        let spike = neuron_examples::spiking::heaviside(v);
        assert!(spike == 0.0 || spike == 1.0);
    }
}

#[test]
fn its_gradient_goes_through_the_surrogate_and_is_not_checked() {
    let report = gradcheck_random::<spiking_net::Model>(8, 0, 1e-6).unwrap();
    let Some(NotChecked::Surrogates(surrogates)) = &report.not_checked else {
        panic!("{report}");
    };
    assert_eq!(surrogates[0].function, "heaviside");
    assert_eq!(surrogates[0].derivatives, ["fast_sigmoid_slope"]);
    assert!(spiking_net::SOURCE.contains("heaviside::derivative("));
}
