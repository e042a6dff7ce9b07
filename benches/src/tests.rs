//! Every implementation of a gradient agrees with the generated one, and
//! the hand-written training loop trains as the `Trainer` does, so the
//! benchmarks compare the same work.

use crate::{blocked, dual, hand, inputs, naive, neurons, setups, tape};
use neuron_core::{Loss, Model, SoftmaxCrossEntropy};

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(a, b)| (a - b).abs() <= 1e-12 * (1.0 + a.abs()))
}

#[test]
fn running_example_hand_matches_generated() {
    let (x, w, b) = ([1.0, -2.0, 3.0], [-3.0, -1.0, 2.0], 1.0);
    let (y, g) = neurons::unit::gradient(x, w, b);
    let (yh, gh) = hand::unit_gradient(x, w, b);
    assert_eq!((y, g.x, g.w, g.b), (yh, gh.x, gh.w, gh.b));
}

#[test]
fn dot_gradients_agree() {
    let (x, w, b) = inputs::dot_case::<64>();
    let (y, g) = neurons::dot64::gradient(x, w, b);
    assert!(y > 0.0);
    let (yh, gh) = hand::dot64_gradient(x, w, b);
    assert_eq!((y, g.x, g.w, g.b), (yh, gh.x, gh.w, gh.b));

    let mut flat = g.x.to_vec();
    flat.extend_from_slice(&g.w);
    flat.push(g.b);
    let (yd, gd) = dual::dot_gradient_static::<64, 129>(&x, &w, b);
    assert!(close(&[y], &[yd]) && close(&flat, gd.as_slice()));
    let (yd, gd) = dual::dot_gradient_dynamic(&x, &w, b);
    assert!(close(&[y], &[yd]) && close(&flat, gd.as_slice()));

    let t = tape::dot_gradient(&x, &w, b);
    assert!(close(&[y], &[t.y]) && close(&g.x, &t.x) && close(&g.w, &t.w) && close(&[g.b], &[t.b]));
    let reused = reverse::Tape::new();
    let _ = tape::dot_gradient_reusing(&reused, &w, &x, b);
    assert_eq!(tape::dot_gradient_reusing(&reused, &x, &w, b), t);
}

/// At N = 1024 the generated `dot` keeps sixteen partial sums and the hand
/// loops one: the values agree to rounding, the partials exactly.
#[test]
fn borrowed_dot_gradients_agree() {
    let (x, w, b) = inputs::dot_case::<1024>();
    let (y, g) = neurons::dot1024::gradient_ref(&x, &w, b);
    let (yh, gh) = hand::dot1024_gradient_ref(&x, &w, b);
    assert!(y > 0.0 && close(&[y], &[yh]), "{y} {yh}");
    assert_eq!((g.x, g.w, g.b), (gh.x, gh.w, gh.b));
    let (yb, gb) = hand::dot1024_gradient_ref_built(&x, &w, b);
    assert_eq!(yb, yh);
    assert_eq!((gb.x, gb.w, gb.b), (gh.x, gh.w, gh.b));
    let f = neurons::dot1024::forward_ref(&x, &w, b);
    assert!(close(&[f], &[hand::dot1024_forward_ref(&x, &w, b)]));
    assert_eq!(f, y);
    let s = neurons::sum1024::forward_ref(&x);
    assert!(close(&[s], &[hand::sum1024_forward_ref(&x)]), "{s}");
}

#[test]
fn net_hand_matches_generated() {
    let (w1, b1, w2, b2) = inputs::net_params();
    let p = hand::NetParams {
        w1: &w1,
        b1: &b1,
        w2: &w2,
        b2: &b2,
    };
    let x = [0.3, -0.7];
    let dy = [0.2, -0.5, 0.3];
    let (y, g) = neurons::net::backward(x, w1, b1, w2, b2, dy);
    let (yh, gh) = hand::net_backward(x, w1, b1, w2, b2, dy);
    assert_eq!(hand::net_backward_ref(x, p, dy), (yh, gh));
    assert!(g.b1.contains(&0.0) && g.b1.iter().any(|&d| d != 0.0));
    assert!(close(&y, &yh));
    assert!(close(&y, &hand::net_forward(x, w1, b1, w2, b2)));
    assert!(close(&g.x, &gh.x) && close(&g.b1, &gh.b1) && close(&g.b2, &gh.b2));
    assert!(close(g.w1.as_flattened(), gh.w1.as_flattened()));
    assert!(close(g.w2.as_flattened(), gh.w2.as_flattened()));
}

/// The 784 → 128 layer with partial sums agrees with one accumulator per
/// row to rounding.
#[test]
fn wide_layer_agrees_with_the_hand_loop() {
    let x: Box<[f64; 784]> = Box::new(std::array::from_fn(|j| (j as f64 * 0.37).sin()));
    let mut w: Box<[[f64; 784]; 128]> = neuron_core::Tensor::boxed_zeros();
    for (i, row) in w.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = ((i * 784 + j) as f64 * 0.11).cos() * 0.05;
        }
    }
    let y = neurons::wide::forward_ref::<f64>(&x, &w);
    let yh = hand::wide_forward_ref(&x, &w);
    assert!(close(&y, &yh));
    assert!(y.iter().any(|&v| v != 0.0));
}

/// One sample through the hand-written loop gives the loss and the
/// parameters' gradient of the generated `spiral_net` with the loss's
/// `dy` (to rounding, should the generated code add in another order).
#[test]
fn naive_sample_gradient_matches_generated() {
    let (w1, b1, w2, b2) = inputs::net_params();
    let params = naive::Params { w1, b1, w2, b2 };
    let (x, class, scale) = ([0.3, -0.7], 2, 0.25);
    let mut grads = naive::Params::zeros();
    let loss = naive::accumulate(&params, &x, class, scale, &mut grads);

    let logits = neurons::spiral_net(x, w1, b1, w2, b2);
    let (want_loss, dy) = SoftmaxCrossEntropy.loss_and_grad(&logits, &class);
    let (_, g) = neurons::spiral_net::backward(x, w1, b1, w2, b2, dy.map(|d| d * scale));
    assert!(close(&[loss], &[want_loss]), "{loss} {want_loss}");
    assert!(g.b1.contains(&0.0) && g.b1.iter().any(|&d| d != 0.0));
    assert!(close(grads.w1.as_flattened(), g.w1.as_flattened()));
    assert!(close(&grads.b1, &g.b1));
    assert!(close(grads.w2.as_flattened(), g.w2.as_flattened()));
    assert!(close(&grads.b2, &g.b2));
}

/// The hand-written loop follows the `Trainer`'s loss trajectory on the
/// spiral epoch by epoch, from the same weights with the same Adam, and
/// ends at the same parameters: the two sides of the `training` bench do
/// the same work. Today both add every sum in the same order and agree bit
/// for bit; the tolerance leaves room for generated code that adds in
/// another order (partial sums), which changes the rounding only.
#[test]
fn naive_spiral_loop_trains_as_the_trainer() {
    const EPOCHS: usize = 20;
    let data = setups::spiral_data();
    let initial = setups::spiral_initial_params();

    let mut model = setups::spiral_model(&initial);
    let history = setups::spiral_trainer(EPOCHS)
        .fit(&mut model, &data)
        .expect("trains");
    let trainer_losses = history.losses();

    let mut params = initial.clone();
    let mut adam = setups::spiral_naive_adam();
    let naive_losses = naive::train(&mut params, &mut adam, &data, EPOCHS, data.len());

    assert_eq!(trainer_losses.len(), EPOCHS);
    assert_eq!(naive_losses.len(), EPOCHS);
    for (epoch, (t, n)) in trainer_losses.iter().zip(&naive_losses).enumerate() {
        assert!(
            (t - n).abs() <= 1e-10 * t.abs(),
            "epoch {}: Trainer {t}, hand-written loop {n}",
            epoch + 1
        );
    }
    // Training moved the loss far beyond the tolerance, so the trajectories
    // agreeing is not the agreement of two constants.
    assert!(
        trainer_losses[EPOCHS - 1] < trainer_losses[0] - 0.01,
        "{trainer_losses:?}"
    );

    let trained = model.params();
    let params_close = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .all(|(a, b)| (a - b).abs() <= 1e-9 * (1e-3 + a.abs()))
    };
    assert!(params_close(
        trained.w1.as_flattened(),
        params.w1.as_flattened()
    ));
    assert!(params_close(&trained.b1[..], &params.b1));
    assert!(params_close(
        trained.w2.as_flattened(),
        params.w2.as_flattened()
    ));
    assert!(params_close(&trained.b2[..], &params.b2));
    assert_ne!(params, initial);
}

/// The parameters after `epochs` epochs of the per-sample loop from the
/// spiral's initial weights: hidden units active on some samples and not
/// on others.
fn spiral_params_after(epochs: usize) -> naive::Params {
    let mut params = setups::spiral_initial_params();
    let mut adam = setups::spiral_naive_adam();
    let data = setups::spiral_data();
    naive::train(&mut params, &mut adam, &data, epochs, data.len());
    params
}

fn flat(p: &naive::Params) -> Vec<f64> {
    let mut v = p.w1.as_flattened().to_vec();
    v.extend(p.b1);
    v.extend(p.w2.as_flattened());
    v.extend(p.b2);
    v
}

/// One block of the hand-written batched step adds the same gradient and
/// returns the same loss as its samples one at a time in the per-sample
/// loop (whose gradient `naive_sample_gradient_matches_generated` checks),
/// on blocks from across the data set, each with units on both sides of
/// the ReLU's kink.
#[test]
fn blocked_step_adds_what_its_samples_add_one_at_a_time() {
    let params = spiral_params_after(30);
    let data = setups::spiral_data();
    let scale = 0.25;
    for start in [0, 100, 200, 300 - blocked::BLOCK] {
        let block = &data[start..start + blocked::BLOCK];
        let mut per_sample = naive::Params::zeros();
        let mut loss = 0.0;
        for (x, class) in block {
            loss += naive::accumulate(&params, x, *class, scale, &mut per_sample);
        }
        let mut at_once = naive::Params::zeros();
        let block_loss = blocked::accumulate_block(&params, block, scale, &mut at_once);
        assert!(
            (loss - block_loss).abs() <= 1e-12 * loss,
            "{loss} {block_loss}"
        );
        assert!(
            close(&flat(&per_sample), &flat(&at_once)),
            "block at {start}"
        );
        // Some unit is active and some is not, on some sample of the block.
        let pre =
            |j: usize, x: &[f64; 2]| params.w1[j][0] * x[0] + params.w1[j][1] * x[1] + params.b1[j];
        let signs = block
            .iter()
            .flat_map(|(x, _)| (0..naive::HIDDEN).map(move |j| (j, x)))
            .map(|(j, x)| pre(j, x) > 0.0);
        let (on, off) = signs.fold(
            (0, 0),
            |(on, off), s| if s { (on + 1, off) } else { (on, off + 1) },
        );
        assert!(
            on > 0 && off > 0,
            "block at {start}: {on} active, {off} not"
        );
        assert_ne!(at_once, naive::Params::zeros());
    }
}

/// The batched step written by hand trains as the per-sample loop does, in
/// full batches (18 blocks and 12 samples one at a time) and in batches of
/// 40 (2 blocks and 8 samples): the third side of the `training` bench does
/// the same work too.
#[test]
fn blocked_spiral_loop_trains_as_the_per_sample_loop() {
    const EPOCHS: usize = 20;
    let data = setups::spiral_data();
    for batch in [data.len(), 40] {
        let initial = setups::spiral_initial_params();
        let (mut a, mut b) = (initial.clone(), initial.clone());
        let by_sample = naive::train(
            &mut a,
            &mut setups::spiral_naive_adam(),
            &data,
            EPOCHS,
            batch,
        );
        let by_block = blocked::train(
            &mut b,
            &mut setups::spiral_naive_adam(),
            &data,
            EPOCHS,
            batch,
        );
        for (epoch, (n, k)) in by_sample.iter().zip(&by_block).enumerate() {
            assert!(
                (n - k).abs() <= 1e-10 * n,
                "batch {batch}, epoch {}: {n} {k}",
                epoch + 1
            );
        }
        assert!(by_sample[EPOCHS - 1] < by_sample[0] - 0.01, "{by_sample:?}");
        let (a, b) = (flat(&a), flat(&b));
        assert!(
            a.iter()
                .zip(&b)
                .all(|(a, b)| (a - b).abs() <= 1e-9 * (1e-3 + a.abs()))
        );
        assert_ne!(b, flat(&initial));
    }
}

/// The digits bench trains on every row of the CSV, pixels in `[0, 1]`,
/// every digit present.
#[test]
fn digits_data_is_the_whole_file_scaled() {
    let data = setups::digits_data().expect("examples/data/digits.csv loads");
    let rows = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/digits.csv"
    ))
    .expect("readable")
    .lines()
    .skip(1)
    .filter(|line| !line.is_empty())
    .count();
    assert_eq!(data.len(), rows);
    let pixels = || data.iter().flat_map(|(x, _)| x.iter().copied());
    assert!(pixels().all(|p| (0.0..=1.0).contains(&p)));
    assert_eq!(pixels().fold(0.0f32, f32::max), 1.0);
    for digit in 0..10 {
        assert!(data.iter().any(|&(_, label)| label == digit), "no {digit}");
    }
}

/// The digits bench's training lowers the loss: each epoch's mean loss is
/// below the one before.
#[test]
fn digits_trainer_learns() {
    let data = setups::digits_data().expect("examples/data/digits.csv loads");
    let mut model = setups::digits_model();
    let history = setups::digits_trainer(3)
        .fit(&mut model, &data)
        .expect("trains");
    let losses = history.losses();
    assert_eq!(losses.len(), 3);
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "{losses:?}");
}
