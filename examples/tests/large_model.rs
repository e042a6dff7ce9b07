//! A model of 203,530 f64 parameters (784-256-10, the size of an MNIST
//! network) builds, trains for an epoch and passes a gradient check on a
//! thread with a 2 MiB stack, the size of a test thread: its parameters,
//! the optimizer's state and the gradient checks' copies of the arguments
//! all live on the heap, and nothing weight-sized is built on the stack.

use neuron_core::gradcheck_random_sampled;
use neuron_core::prelude::*;

/// A 784-256-10 classifier.
#[neuron]
pub fn mlp(
    x: [f64; 784],
    #[param] w1: [[f64; 784]; 256],
    #[param] b1: [f64; 256],
    #[param] w2: [[f64; 256]; 10],
    #[param] b2: [f64; 10],
) -> [f64; 10] {
    let h = tanh(matvec(w1, x) + b1);
    matvec(w2, h) + b2
}

/// Runs `f` on a thread whose stack is 2 MiB.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("a thread starts")
        .join()
        .expect("the work on the small stack finishes");
}

#[test]
fn a_large_model_trains_and_checks_on_a_small_stack() {
    on_small_stack(|| {
        let params = <mlp::Params as Parameters<f64>>::random(0.05, 1);
        assert_eq!(<mlp::Params as Parameters<f64>>::LEN, 203_530);
        let mut model = mlp::Model::new(params);
        // Sixteen synthetic images: a class's pixels light up one band.
        let data: Vec<([f64; 784], usize)> = (0..16)
            .map(|k| {
                let class = k % 10;
                let image = std::array::from_fn(|p| if p / 78 == class { 1.0 } else { 0.0 });
                (image, class)
            })
            .collect();
        let history = Trainer::new(Adam::new(0.001), SoftmaxCrossEntropy)
            .epochs(1)
            .batch_size(8)
            .progress(false)
            .fit(&mut model, &data)
            .expect("an epoch trains");
        assert!(history.losses()[0].is_finite());
        let report = gradcheck_random_sampled::<mlp::Model>(1, 64, 7, 1e-6)
            .expect("the gradient matches finite differences");
        assert!(report.checked >= 64, "{report:?}");
    });
}
