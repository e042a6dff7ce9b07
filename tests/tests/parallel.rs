//! `Trainer::parallel`: mini-batches in blocks of samples on rayon's pool,
//! added by a fixed pairwise tree. Trained parameters, history and
//! divergence errors are bit-identical on pools of 1 to 4 threads, with
//! batches that are not a multiple of the block; close to serial
//! training; exactly serial training when a batch fits in one block;
//! one step is the documented tree of block gradients, written out here;
//! dropout draws every sample's serial mask on any thread; a block of
//! zero is an error.

use neuron_core::prelude::*;
use neuron_core::{Divergence, TrainError, dropout};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A 4-16-3 classifier (logits).
#[neuron]
pub fn mlp(
    x: [f64; 4],
    #[param] w1: [[f64; 4]; 16],
    #[param] b1: [f64; 16],
    #[param] w2: [[f64; 16]; 3],
    #[param] b2: [f64; 3],
) -> [f64; 3] {
    let h = tanh(matvec(w1, x) + b1);
    matvec(w2, h) + b2
}

/// `mlp` with dropout on its hidden layer.
#[neuron]
pub fn dropped(
    x: [f64; 4],
    #[param] w1: [[f64; 4]; 16],
    #[param] b1: [f64; 16],
    #[param] w2: [[f64; 16]; 3],
    #[param] b2: [f64; 3],
) -> [f64; 3] {
    let h = dropout(tanh(matvec(w1, x) + b1), 0.3);
    matvec(w2, h) + b2
}

/// A line, for divergence.
#[neuron]
pub fn line(x: [f64; 2], #[param] w: [f64; 2], #[param] b: f64) -> f64 {
    dot(w, x) + b
}

/// `n` samples of three classes, by which of three directions `x` is
/// nearest, from a fixed sequence.
fn classes(n: usize, seed: u64) -> Vec<([f64; 4], usize)> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    (0..n)
        .map(|_| {
            let x = [next(), next(), next(), next()];
            let scores = [x[0] + x[1], x[2] - x[0], x[3] - x[1]];
            let class = (0..3)
                .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
                .unwrap_or(0);
            (x, class)
        })
        .collect()
}

/// Runs `f` on a pool of `threads` threads.
fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}

/// The parameters' bits, in flat order.
fn bits<P: Parameters<f64>>(params: &P) -> Vec<u64> {
    params.to_vec().iter().map(|v| v.to_bits()).collect()
}

/// 103 training samples in batches of 24, so batches of 24, 24, 24, 24
/// and 7: blocks of 5, 5, 5, 5, 4 and of 5, 2.
fn trainer() -> Trainer<Adam<f64>, SoftmaxCrossEntropy> {
    Trainer::new(Adam::new(0.02), SoftmaxCrossEntropy)
        .epochs(12)
        .batch_size(24)
        .seed(11)
        .regularizer(Regularizer::l2(1e-4))
        .clip_grad_norm(5.0)
        .progress(false)
}

#[test]
fn parameters_and_history_are_bit_identical_on_1_to_4_threads() {
    let (train, valid) = (classes(103, 1), classes(40, 2));
    let start = mlp::Params::glorot_uniform(3);
    let run = |threads| {
        on_threads(threads, || {
            let mut model = mlp::Model::new(start.clone());
            let mut trainer = trainer().parallel(5);
            let history = trainer
                .fit_validated(&mut model, &train, &valid)
                .expect("trains");
            (bits(&model.params), history)
        })
    };
    let (one, history) = run(1);
    // It trained: the loss fell and the parameters moved.
    let losses = history.losses();
    assert_eq!(losses.len(), 12);
    assert!(losses[11] < 0.8 * losses[0], "{losses:?}");
    assert_ne!(one, bits(&start));
    for threads in 2..=4 {
        let (params, other) = run(threads);
        assert!(params == one, "{threads} threads: other parameters");
        assert_eq!(other, history, "{threads} threads: another history");
    }
}

#[test]
fn parallel_training_is_serial_training_up_to_rounding() {
    let train = classes(103, 1);
    let start = mlp::Params::glorot_uniform(3);
    let mut serial = mlp::Model::new(start.clone());
    let serial_history = trainer().fit(&mut serial, &train).expect("trains");
    let mut parallel = mlp::Model::new(start);
    let parallel_history =
        on_threads(2, || trainer().parallel(5).fit(&mut parallel, &train)).expect("trains");
    let (s, p) = (serial.params.to_vec(), parallel.params.to_vec());
    for (k, (s, p)) in s.iter().zip(&p).enumerate() {
        assert!(
            (s - p).abs() <= 1e-12 * s.abs().max(1e-3),
            "parameter {k}: serial {s}, parallel {p}"
        );
    }
    // The losses too, epoch by epoch.
    let (s, p) = (serial_history.losses(), parallel_history.losses());
    assert_eq!(s.len(), p.len());
    for (e, (s, p)) in s.iter().zip(&p).enumerate() {
        assert!((s - p).abs() <= 1e-12 * s.abs(), "epoch {e}: {s} and {p}");
    }
}

#[test]
fn a_batch_in_one_block_trains_exactly_as_serially() {
    // With dropout: every sample draws the mask serial training gives it.
    let train = classes(50, 4);
    let start = dropped::Params::glorot_uniform(5);
    let serial = {
        let mut model = dropped::Model::new(start.clone());
        let history = trainer().fit(&mut model, &train).expect("trains");
        (bits(&model.params), history)
    };
    for block in [24, 100] {
        let parallel = on_threads(3, || {
            let mut model = dropped::Model::new(start.clone());
            let history = trainer()
                .parallel(block)
                .fit(&mut model, &train)
                .expect("trains");
            (bits(&model.params), history)
        });
        assert!(parallel == serial, "blocks of {block}");
    }
}

/// Checks that one step of parallel training with blocks of 3, on one
/// batch of 13 samples in order, is SGD's step along the gradient the
/// documentation describes, written out here: blocks g0..g3 of three
/// samples and g4 of one, each sample in dropout's training mode with the
/// key serial training gives it, added as ((g0 + g1) + (g2 + g3)) + g4.
fn assert_one_step_is_the_tree_of_the_block_gradients<M>(start: M::Params, new: fn(M::Params) -> M)
where
    M: Model<Real = f64, Input = [f64; 4], Output = [f64; 3]> + Sync,
    M::Params: Send + Sync,
{
    let data = classes(13, 6);
    let model = new(start.clone());
    let scale = 1.0 / 13.0;
    let block = |k: usize| {
        let mut g = M::Params::zeros();
        for (sample, (x, class)) in data.iter().enumerate().skip(3 * k).take(3) {
            // Seed 0, epoch 1, batch 0.
            let key = dropout::sample_key(0, 1, 0, sample as u64);
            dropout::training(key, || {
                model.forward_backward(
                    x,
                    |y| {
                        let (_, dy) = SoftmaxCrossEntropy.loss_and_grad(y, class);
                        dy.map(|d| d * scale)
                    },
                    &mut g,
                )
            });
        }
        g
    };
    let add = |mut a: M::Params, b: M::Params| {
        a.zip_mut(&b, |_, x, y| *x += y);
        a
    };
    let sum = add(
        add(add(block(0), block(1)), add(block(2), block(3))),
        block(4),
    );
    let mut expected = start.clone();
    Sgd::new(0.5).step(&mut expected, &sum);
    for threads in 1..=4 {
        let trained = on_threads(threads, || {
            let mut model = new(start.clone());
            Trainer::new(Sgd::new(0.5), SoftmaxCrossEntropy)
                .shuffle(false)
                .parallel(3)
                .progress(false)
                .fit(&mut model, &data)
                .expect("trains");
            model.params().clone()
        });
        assert!(bits(&trained) == bits(&expected), "{threads} threads");
    }
}

#[test]
fn one_step_is_the_tree_of_the_block_gradients() {
    assert_one_step_is_the_tree_of_the_block_gradients(
        mlp::Params::glorot_uniform(7),
        mlp::Model::new,
    );
}

#[test]
fn with_dropout_every_sample_draws_its_serial_mask_in_any_block() {
    assert_one_step_is_the_tree_of_the_block_gradients(
        dropped::Params::glorot_uniform(7),
        dropped::Model::new,
    );
}

/// 40 samples on the line `x0 + x1` (so that `w = [1, 1]`, `b = 0` has
/// no gradient), except samples `loss_at`, whose loss overflows, and
/// `output_at`, whose output does.
fn with_bad_samples(loss_at: &[usize], output_at: &[usize]) -> Vec<([f64; 2], f64)> {
    (0..40)
        .map(|i| {
            if loss_at.contains(&i) {
                ([1e200, 0.0], 0.0)
            } else if output_at.contains(&i) {
                ([1e308, 1e308], 0.0)
            } else {
                let x = [i as f64 / 20.0 - 1.0, (i % 7) as f64 / 7.0];
                (x, x[0] + x[1])
            }
        })
        .collect()
}

#[test]
fn divergence_names_the_sample_serial_training_names() {
    // Batch 1 holds samples 16..32, in blocks of 3: the first bad sample
    // in order is reported, whatever the blocks after it hold.
    let cases = [
        (
            with_bad_samples(&[21, 30], &[26]),
            Divergence::Loss {
                sample: 21,
                value: f64::INFINITY,
            },
        ),
        (
            with_bad_samples(&[26], &[22, 30]),
            Divergence::Output {
                sample: 22,
                index: 0,
                value: f64::INFINITY,
            },
        ),
    ];
    let trainer = || {
        Trainer::new(Sgd::new(0.01), MeanSquaredError)
            .batch_size(16)
            .shuffle(false)
            .progress(false)
    };
    let start = line::Params::new([1.0, 1.0], 0.0);
    for (data, cause) in cases {
        let mut serial = line::Model::new(start.clone());
        let expected = trainer().fit(&mut serial, &data).unwrap_err();
        let TrainError::Diverged {
            epoch: 1, batch: 1, ..
        } = &expected
        else {
            panic!("serial training: {expected:?}");
        };
        for threads in 1..=4 {
            let mut model = line::Model::new(start.clone());
            let error =
                on_threads(threads, || trainer().parallel(3).fit(&mut model, &data)).unwrap_err();
            assert_eq!(error, expected, "{threads} threads");
            assert!(
                matches!(&error, TrainError::Diverged { cause: c, .. } if *c == cause),
                "{error:?}"
            );
            assert_eq!(model.params, serial.params, "restored alike");
        }
    }
}

#[test]
fn dropout_training_is_bit_identical_on_1_to_4_threads() {
    let train = classes(61, 8);
    let start = dropped::Params::glorot_uniform(9);
    let trainer = || {
        Trainer::new(Adam::new(0.02), SoftmaxCrossEntropy)
            .epochs(5)
            .batch_size(20)
            .seed(3)
            .progress(false)
            .parallel(6)
    };
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        let trained = pool.install(|| {
            let mut model = dropped::Model::new(start.clone());
            let history = trainer().fit(&mut model, &train).expect("trains");
            (bits(&model.params), history)
        });
        // Every thread of the pool is back in inference.
        assert_eq!(
            pool.broadcast(|_| dropout::is_training()),
            vec![false; threads]
        );
        trained
    };
    let one = run(1);
    for threads in 2..=4 {
        assert!(run(threads) == one, "{threads} threads");
    }
    // Dropout did drop: without it, training goes elsewhere.
    let mut plain = mlp::Model::new(mlp::Params::from_slice(&start.to_vec()).expect("same shape"));
    on_threads(2, || trainer().fit(&mut plain, &train)).expect("trains");
    assert_ne!(bits(&plain.params), one.0);
}

#[test]
fn a_block_of_zero_is_refused() {
    let mut model = line::Model::new(line::Params::new([1.0, 2.0], 3.0));
    let mut trainer = Trainer::new(Sgd::new(0.1), MeanSquaredError)
        .progress(false)
        .parallel(0);
    let error = trainer
        .fit(&mut model, &with_bad_samples(&[], &[]))
        .unwrap_err();
    assert_eq!(error, TrainError::ZeroBlockSize);
    assert_eq!(
        error.to_string(),
        "the block size of parallel training is 0; it must be at least 1"
    );
    assert_eq!(model.params, line::Params::new([1.0, 2.0], 3.0));
    assert_eq!(trainer.optimizer().iterations(), 0);
}

/// `mlp`, whose training samples wait (up to 30 s) until two of them
/// have been in progress at once.
struct Rendezvous {
    inner: mlp::Model,
    /// How many samples are in progress, and the most there were.
    meeting: Arc<(Mutex<(usize, usize)>, Condvar)>,
}

impl Rendezvous {
    fn meet(&self) {
        let (lock, met) = &*self.meeting;
        let mut state = lock.lock().expect("not poisoned");
        state.0 += 1;
        state.1 = state.1.max(state.0);
        met.notify_all();
        let deadline = Instant::now() + Duration::from_secs(30);
        while state.1 < 2 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = met.wait_timeout(state, left).expect("not poisoned").0;
        }
        state.0 -= 1;
    }
}

impl Model for Rendezvous {
    type Real = f64;
    type Input = [f64; 4];
    type Output = [f64; 3];
    type Params = mlp::Params;

    fn params(&self) -> &mlp::Params {
        self.inner.params()
    }

    fn params_mut(&mut self) -> &mut mlp::Params {
        self.inner.params_mut()
    }

    fn forward(&self, input: &[f64; 4]) -> [f64; 3] {
        self.inner.forward(input)
    }

    fn backward(&self, input: &[f64; 4], dy: &[f64; 3], grads: &mut mlp::Params) -> [f64; 3] {
        self.inner.backward(input, dy, grads)
    }

    fn forward_backward<F: FnOnce(&[f64; 3]) -> [f64; 3]>(
        &self,
        input: &[f64; 4],
        loss_grad: F,
        grads: &mut mlp::Params,
    ) -> [f64; 3] {
        self.meet();
        self.inner.forward_backward(input, loss_grad, grads)
    }
}

#[test]
fn the_blocks_of_a_batch_run_at_the_same_time() {
    let meeting = Arc::new((Mutex::new((0, 0)), Condvar::new()));
    let mut model = Rendezvous {
        inner: mlp::Model::new(mlp::Params::glorot_uniform(1)),
        meeting: Arc::clone(&meeting),
    };
    let data = classes(2, 10);
    on_threads(2, || {
        Trainer::new(Sgd::new(0.1), SoftmaxCrossEntropy)
            .progress(false)
            .parallel(1)
            .fit(&mut model, &data)
    })
    .expect("trains");
    let most = meeting.0.lock().expect("not poisoned").1;
    assert_eq!(most, 2, "the two blocks never ran at once");
}
