//! Small networks written with `#[neuron]`, every parameter's gradient
//! checked against central finite differences (h = 1e-6, relative tolerance
//! 1e-6 with an absolute floor of 1e-6): a tanh/sigmoid network, a 2-64-3
//! classifier with `log_softmax` or `softmax` outputs (through `backward`
//! with a random `dy`) and its cross-entropy loss; a network split into two
//! annotated layers that call each other, equal to the same network written
//! as one function; the numerically stable forms at inputs of ±1000 against
//! their analytic limits; and the generated source of a 1024-input neuron
//! being as long as that of a 4-input one (loops, not unrolled statements).

mod fd;

use fd::{arr, assert_all_close, central, close, flat2, mat, uniforms};
use neuron_core::prelude::*;

/// Finite-difference step (scaled by `max(1, |x|)`).
const H: f64 = 1e-6;
/// Relative tolerance, with the same absolute floor.
const TOL: f64 = 1e-6;
/// Points per network.
const POINTS: usize = 20;

// ---------------------------------------------------------------------------
// tanh hidden layer, sigmoid output.

/// A 3-4-1 network: a tanh layer, then a sigmoid neuron.
#[neuron]
pub fn net(
    x: [f64; 3],
    #[param] w1: [[f64; 3]; 4],
    #[param] b1: [f64; 4],
    #[param] w2: [f64; 4],
    #[param] b2: f64,
) -> f64 {
    let h = tanh(matvec(w1, x) + b1);
    sigmoid(dot(w2, h) + b2)
}

/// The arguments of [`net`], flattened: x (3), w1 (12), b1 (4), w2 (4), b2.
const NET_LEN: usize = 24;

type NetArgs = ([f64; 3], [[f64; 3]; 4], [f64; 4], [f64; 4], f64);

fn net_args(p: &[f64]) -> NetArgs {
    (arr(p), mat(&p[3..]), arr(&p[15..]), arr(&p[19..]), p[23])
}

/// [`net`] written out with `std` floats.
fn net_reference(p: &[f64]) -> f64 {
    let (x, w1, b1, w2, b2) = net_args(p);
    let h: Vec<f64> = (0..4)
        .map(|i| (fd::dot(&w1[i], &x) + b1[i]).tanh())
        .collect();
    1.0 / (1.0 + (-(fd::dot(&w2, &h) + b2)).exp())
}

macro_rules! flatten_net_grad {
    ($g:expr) => {{
        let g = $g;
        [
            g.x.to_vec(),
            flat2(&g.w1),
            g.b1.to_vec(),
            g.w2.to_vec(),
            vec![g.b2],
        ]
        .concat()
    }};
}

#[test]
fn tanh_sigmoid_network_every_parameter() {
    let mut rng = fd::rng(1);
    for _ in 0..POINTS {
        let p = uniforms(&mut rng, NET_LEN, -1.5, 1.5);
        let (x, w1, b1, w2, b2) = net_args(&p);
        let (y, g) = net::gradient(x, w1, b1, w2, b2);
        assert!(
            close(y, net_reference(&p), 1e-14),
            "value {y}, reference {}",
            net_reference(&p)
        );
        let numeric = central(
            |v| {
                let (x, w1, b1, w2, b2) = net_args(v);
                net(x, w1, b1, w2, b2)
            },
            &p,
            H,
        );
        assert_all_close("net gradient", &p, &flatten_net_grad!(g), &numeric, TOL);

        let dy = fd::uniform(&mut rng, -2.0, 2.0);
        let (yb, g) = net::backward(x, w1, b1, w2, b2, dy);
        assert_eq!(yb, y);
        let scaled: Vec<f64> = numeric.iter().map(|d| d * dy).collect();
        assert_all_close(
            "net backward",
            &p,
            &flatten_net_grad!(g),
            &scaled,
            2.0 * TOL,
        );
    }
}

// ---------------------------------------------------------------------------
// The same network as two annotated layers.

/// The hidden layer of [`net`] on its own.
#[neuron]
pub fn layer1(#[param] w1: [[f64; 3]; 4], x: [f64; 3], #[param] b1: [f64; 4]) -> [f64; 4] {
    tanh(matvec(w1, x) + b1)
}

/// [`net`] again, calling [`layer1`] for its hidden layer.
#[neuron]
pub fn chained(
    x: [f64; 3],
    #[param] w1: [[f64; 3]; 4],
    #[param] b1: [f64; 4],
    #[param] w2: [f64; 4],
    #[param] b2: f64,
) -> f64 {
    let h: [f64; 4] = layer1(w1, x, b1);
    sigmoid(dot(w2, h) + b2)
}

/// [`layer1`] called twice with different inputs, its result used twice,
/// so the partials of the calls accumulate.
#[neuron]
pub fn chained_twice(
    x: [f64; 3],
    #[param] w1: [[f64; 3]; 4],
    #[param] b1: [f64; 4],
    #[param] w2: [f64; 4],
    #[param] b2: f64,
) -> f64 {
    let h: [f64; 4] = layer1(w1, x, b1);
    let k: [f64; 4] = layer1(w1, x * 2 - 0.5, h);
    sigmoid(dot(w2, h) + b2) * sum(k * h)
}

/// [`layer1`] with a vector output of the caller, for `backward`.
#[neuron]
pub fn chained_vector(
    x: [f64; 3],
    #[param] w1: [[f64; 3]; 4],
    #[param] b1: [f64; 4],
    #[param] w2: [f64; 4],
    #[param] b2: f64,
) -> [f64; 4] {
    let h: [f64; 4] = layer1(w1, x, b1);
    softmax(h * w2 + b2) + h
}

#[test]
fn chained_neurons_equal_the_network_written_as_one_function() {
    let mut rng = fd::rng(2);
    for _ in 0..POINTS {
        let p = uniforms(&mut rng, NET_LEN, -1.5, 1.5);
        let (x, w1, b1, w2, b2) = net_args(&p);
        let (y, whole) = net::gradient(x, w1, b1, w2, b2);
        let (yc, split) = chained::gradient(x, w1, b1, w2, b2);
        assert!(close(yc, y, 1e-15), "value {yc} vs {y}");
        assert_eq!(chained(x, w1, b1, w2, b2), yc);
        let (whole, split) = (flatten_net_grad!(whole), flatten_net_grad!(split));
        assert_all_close("chained vs one function", &p, &split, &whole, 1e-14);
        let numeric = central(
            |v| {
                let (x, w1, b1, w2, b2) = net_args(v);
                chained(x, w1, b1, w2, b2)
            },
            &p,
            H,
        );
        assert_all_close("chained vs finite differences", &p, &split, &numeric, TOL);

        let (_, g) = chained_twice::gradient(x, w1, b1, w2, b2);
        let numeric = central(
            |v| {
                let (x, w1, b1, w2, b2) = net_args(v);
                chained_twice(x, w1, b1, w2, b2)
            },
            &p,
            H,
        );
        assert_all_close(
            "chained twice vs finite differences",
            &p,
            &flatten_net_grad!(g),
            &numeric,
            TOL,
        );

        let dy = uniforms(&mut rng, 4, -2.0, 2.0);
        let (yv, g) = chained_vector::backward(x, w1, b1, w2, b2, arr(&dy));
        assert_eq!(yv, chained_vector(x, w1, b1, w2, b2));
        let numeric = central(
            |v| {
                let (x, w1, b1, w2, b2) = net_args(v);
                fd::dot(&chained_vector(x, w1, b1, w2, b2), &dy)
            },
            &p,
            H,
        );
        assert_all_close(
            "chained vector backward",
            &p,
            &flatten_net_grad!(g),
            &numeric,
            TOL,
        );
    }
}

// ---------------------------------------------------------------------------
// A 2-64-3 classifier.

/// ReLU hidden layer of 64, `log_softmax` over 3 classes.
#[neuron]
pub fn classifier(
    x: [f64; 2],
    #[param] w1: [[f64; 2]; 64],
    #[param] b1: [f64; 64],
    #[param] w2: [[f64; 64]; 3],
    #[param] b2: [f64; 3],
) -> [f64; 3] {
    let h = relu(matvec(w1, x) + b1);
    log_softmax(matvec(w2, h) + b2)
}

/// tanh hidden layer of 64, `softmax` over 3 classes.
#[neuron]
pub fn classifier_softmax(
    x: [f64; 2],
    #[param] w1: [[f64; 2]; 64],
    #[param] b1: [f64; 64],
    #[param] w2: [[f64; 64]; 3],
    #[param] b2: [f64; 3],
) -> [f64; 3] {
    let h = tanh(matvec(w1, x) + b1);
    softmax(matvec(w2, h) + b2)
}

/// The cross-entropy of [`classifier`] against a one-hot target `t`.
#[neuron]
pub fn classifier_loss(
    x: [f64; 2],
    t: [f64; 3],
    #[param] w1: [[f64; 2]; 64],
    #[param] b1: [f64; 64],
    #[param] w2: [[f64; 64]; 3],
    #[param] b2: [f64; 3],
) -> f64 {
    let h = relu(matvec(w1, x) + b1);
    -dot(t, log_softmax(matvec(w2, h) + b2))
}

/// x (2), w1 (128), b1 (64), w2 (192), b2 (3).
const CLASSIFIER_LEN: usize = 389;

type ClassifierArgs = (
    [f64; 2],
    [[f64; 2]; 64],
    [f64; 64],
    [[f64; 64]; 3],
    [f64; 3],
);

fn classifier_args(p: &[f64]) -> ClassifierArgs {
    (
        arr(p),
        mat(&p[2..]),
        arr(&p[130..]),
        mat(&p[194..]),
        arr(&p[386..]),
    )
}

macro_rules! flatten_classifier_grad {
    ($g:expr) => {{
        let g = $g;
        [
            g.x.to_vec(),
            flat2(&g.w1),
            g.b1.to_vec(),
            flat2(&g.w2),
            g.b2.to_vec(),
        ]
        .concat()
    }};
}

/// Whether a hidden pre-activation is within a finite-difference step of
/// the ReLU kink.
fn near_relu_kink(p: &[f64]) -> bool {
    let (x, w1, b1, ..) = classifier_args(p);
    (0..64).any(|i| (fd::dot(&w1[i], &x) + b1[i]).abs() < 1e-4)
}

/// The classifier's logits, written out with `std` floats.
fn logits_reference(p: &[f64], act: fn(f64) -> f64) -> Vec<f64> {
    let (x, w1, b1, w2, b2) = classifier_args(p);
    let h: Vec<f64> = (0..64).map(|i| act(fd::dot(&w1[i], &x) + b1[i])).collect();
    (0..3).map(|k| fd::dot(&w2[k], &h) + b2[k]).collect()
}

#[test]
fn classifier_every_parameter() {
    let mut rng = fd::rng(3);
    let mut checked = 0;
    while checked < POINTS {
        let p = uniforms(&mut rng, CLASSIFIER_LEN, -1.0, 1.0);
        if near_relu_kink(&p) {
            continue;
        }
        let (x, w1, b1, w2, b2) = classifier_args(&p);

        // log_softmax output, through backward.
        let z = logits_reference(&p, |v| v.max(0.0));
        let log_total = z.iter().map(|v| v.exp()).sum::<f64>().ln();
        let y = classifier(x, w1, b1, w2, b2);
        for k in 0..3 {
            assert!(
                close(y[k], z[k] - log_total, 1e-13),
                "log_softmax {k}: {} vs {}",
                y[k],
                z[k] - log_total
            );
        }
        let dy = uniforms(&mut rng, 3, -2.0, 2.0);
        let (yb, g) = classifier::backward(x, w1, b1, w2, b2, arr(&dy));
        assert_eq!(yb, y);
        let numeric = central(
            |v| {
                let (x, w1, b1, w2, b2) = classifier_args(v);
                fd::dot(&classifier(x, w1, b1, w2, b2), &dy)
            },
            &p,
            H,
        );
        assert_all_close(
            "classifier backward",
            &p,
            &flatten_classifier_grad!(g),
            &numeric,
            TOL,
        );

        // softmax output.
        let (ys, g) = classifier_softmax::backward(x, w1, b1, w2, b2, arr(&dy));
        let z = logits_reference(&p, f64::tanh);
        let total: f64 = z.iter().map(|v| v.exp()).sum();
        for k in 0..3 {
            assert!(close(ys[k], z[k].exp() / total, 1e-13));
        }
        let numeric = central(
            |v| {
                let (x, w1, b1, w2, b2) = classifier_args(v);
                fd::dot(&classifier_softmax(x, w1, b1, w2, b2), &dy)
            },
            &p,
            H,
        );
        assert_all_close(
            "softmax classifier backward",
            &p,
            &flatten_classifier_grad!(g),
            &numeric,
            TOL,
        );

        // Cross-entropy loss, through gradient; the target is not varied.
        let class = checked % 3;
        let t: [f64; 3] = std::array::from_fn(|k| if k == class { 1.0 } else { 0.0 });
        let (loss, g) = classifier_loss::gradient(x, t, w1, b1, w2, b2);
        assert!(
            close(loss, -y[class], 1e-13),
            "loss {loss} vs {}",
            -y[class]
        );
        let numeric = central(
            |v| {
                let (x, w1, b1, w2, b2) = classifier_args(v);
                classifier_loss(x, t, w1, b1, w2, b2)
            },
            &p,
            H,
        );
        let analytic = [
            g.x.to_vec(),
            flat2(&g.w1),
            g.b1.to_vec(),
            flat2(&g.w2),
            g.b2.to_vec(),
        ]
        .concat();
        assert_all_close("classifier loss gradient", &p, &analytic, &numeric, TOL);
        // ∂loss/∂b2 = softmax(z) - t, in closed form.
        let s: Vec<f64> = y.iter().map(|l| l.exp()).collect();
        let want: Vec<f64> = (0..3).map(|k| s[k] - t[k]).collect();
        assert_all_close("loss ∂b2 = softmax - t", &p, &g.b2, &want, 1e-12);
        checked += 1;
    }
}

// ---------------------------------------------------------------------------
// Numerically stable forms at ±1000.

/// `softmax` alone.
#[neuron]
pub fn stable_softmax(v: [f64; 3]) -> [f64; 3] {
    softmax(v)
}

/// `log_softmax` alone.
#[neuron]
pub fn stable_log_softmax(v: [f64; 3]) -> [f64; 3] {
    log_softmax(v)
}

/// `sigmoid` of a scaled input.
#[neuron]
pub fn stable_sigmoid(x: f64, #[param] w: f64) -> f64 {
    sigmoid(w * x)
}

/// `softplus` of a scaled input.
#[neuron]
pub fn stable_softplus(x: f64, #[param] w: f64) -> f64 {
    softplus(w * x)
}

/// Cross-entropy of logits that can be huge.
#[neuron]
pub fn stable_loss(z: [f64; 3], t: [f64; 3]) -> f64 {
    -dot(t, log_softmax(z))
}

#[test]
fn stable_forms_at_plus_minus_1000() {
    let dy = [0.75, -1.5, 2.0];

    // softmax(1000, -1000, 0) = (1, 0, 0); its Jacobian diag(s) - s sᵀ is 0.
    let (s, g) = stable_softmax::backward([1000.0, -1000.0, 0.0], dy);
    assert_eq!(s, [1.0, 0.0, 0.0]);
    assert_eq!(g.v, [0.0, 0.0, 0.0]);
    // A tie at 1000: s = (1/2, 1/2, 0), dyᵀJ = ((dy0 - dy1)/4, (dy1 - dy0)/4, 0).
    let (s, g) = stable_softmax::backward([1000.0, 1000.0, -1000.0], dy);
    assert_eq!(s, [0.5, 0.5, 0.0]);
    assert_all_close(
        "softmax tie",
        &[],
        &g.v,
        &[(dy[0] - dy[1]) / 4.0, (dy[1] - dy[0]) / 4.0, 0.0],
        1e-15,
    );
    // Shift invariance: (1000, 999, -1000) is (1, 0, -2000).
    let (s, g) = stable_softmax::backward([1000.0, 999.0, -1000.0], dy);
    let e = (-1.0f64).exp();
    let want = [1.0 / (1.0 + e), e / (1.0 + e), 0.0];
    assert_all_close("softmax shifted", &[], &s, &want, 1e-15);
    let ds = fd::dot(&dy, &want);
    let vjp: Vec<f64> = (0..3).map(|k| want[k] * (dy[k] - ds)).collect();
    assert_all_close("softmax shifted vjp", &[], &g.v, &vjp, 1e-15);
    let numeric = central(
        |v| fd::dot(&stable_softmax(arr(v)), &dy),
        &[1000.0, 999.0, -1000.0],
        H,
    );
    assert_all_close(
        "softmax shifted vs finite differences",
        &[],
        &g.v,
        &numeric,
        1e-5,
    );

    // log_softmax(1000, -1000, 0) = (0, -2000, -1000); dyᵀJ = dy - s Σdy.
    let (l, g) = stable_log_softmax::backward([1000.0, -1000.0, 0.0], dy);
    assert_eq!(l, [0.0, -2000.0, -1000.0]);
    let total: f64 = dy.iter().sum();
    assert_all_close(
        "log_softmax at 1000",
        &[],
        &g.v,
        &[dy[0] - total, dy[1], dy[2]],
        1e-15,
    );
    let (l, g) = stable_log_softmax::backward([-1000.0, -1000.0, -1000.0], dy);
    let third = (1.0f64 / 3.0).ln();
    assert_all_close("log_softmax at -1000", &[], &l, &[third; 3], 1e-15);
    let want: Vec<f64> = dy.iter().map(|d| d - total / 3.0).collect();
    assert_all_close("log_softmax at -1000 vjp", &[], &g.v, &want, 1e-15);

    // sigmoid(±1000) is 1 or 0 with derivative 0, never NaN.
    for x in [1.0, -1.0] {
        let (y, g) = stable_sigmoid::gradient(x, 1000.0);
        assert_eq!(y, if x > 0.0 { 1.0 } else { 0.0 });
        assert_eq!((g.x, g.w), (0.0, 0.0), "sigmoid at {}", 1000.0 * x);
    }
    // Near the edge of the stable range the derivative is tiny and finite:
    // σ'(z) ≈ e^-|z|, and ∂/∂w = x σ'(w x).
    let (y, g) = stable_sigmoid::gradient(-1.0, 30.0);
    let s = 1.0 / (1.0 + 30.0f64.exp());
    assert!(close(y, s, 1e-12));
    assert_all_close(
        "sigmoid at -30",
        &[],
        &[g.x, g.w],
        &[30.0 * s * (1.0 - s), -s * (1.0 - s)],
        1e-12,
    );

    // softplus(1000) = 1000 with derivative 1; softplus(-1000) = 0 with 0.
    let (y, g) = stable_softplus::gradient(1.0, 1000.0);
    assert_eq!(y, 1000.0);
    assert_eq!((g.x, g.w), (1000.0, 1.0));
    let (y, g) = stable_softplus::gradient(-1.0, 1000.0);
    assert!((0.0..1e-300).contains(&y), "softplus(-1000) = {y}");
    assert_eq!((g.x, g.w), (0.0, 0.0));

    // A confident, correct prediction has loss 0 and gradient s - t = 0;
    // a confident, wrong one has loss 2000 and gradient (1, -1, 0).
    let (loss, g) = stable_loss::gradient([1000.0, -1000.0, 0.0], [1.0, 0.0, 0.0]);
    assert_eq!(loss, 0.0);
    assert_eq!(g.z, [0.0, 0.0, 0.0]);
    let (loss, g) = stable_loss::gradient([1000.0, -1000.0, 0.0], [0.0, 1.0, 0.0]);
    assert_eq!(loss, 2000.0);
    assert_eq!(g.z, [1.0, -1.0, 0.0]);
    assert!(g.t.iter().all(|d| d.is_finite()));
}

// ---------------------------------------------------------------------------
// Large arrays stay loops.

/// The running example's neuron with 1024 inputs.
#[neuron]
pub fn wide(x: [f64; 1024], #[param] w: [f64; 1024], #[param] b: f64) -> f64 {
    relu(dot(w, x) + b)
}

/// The same neuron with 64 inputs: like `wide`, long enough for partial
/// sums (a reduction of fewer than 32 elements adds in the written order).
#[neuron]
pub fn narrow(x: [f64; 64], #[param] w: [f64; 64], #[param] b: f64) -> f64 {
    relu(dot(w, x) + b)
}

/// A 1024-input layer of 8 neurons.
#[neuron]
pub fn wide_layer(x: [f64; 1024], #[param] w: [[f64; 1024]; 8], #[param] b: [f64; 8]) -> [f64; 8] {
    sigmoid(matvec(w, x) + b)
}

/// The same layer with 64 inputs: rows long enough for partial sums, as
/// the 1024-input layer's are, so only the length differs.
#[neuron]
pub fn narrow_layer(x: [f64; 64], #[param] w: [[f64; 64]; 8], #[param] b: [f64; 8]) -> [f64; 8] {
    sigmoid(matvec(w, x) + b)
}

#[test]
fn large_arrays_are_not_unrolled() {
    let (wide_lines, narrow_lines) = (wide::SOURCE.lines().count(), narrow::SOURCE.lines().count());
    assert_eq!(
        wide_lines,
        narrow_lines,
        "1024 inputs:\n{}\n64 inputs:\n{}",
        wide::SOURCE,
        narrow::SOURCE
    );
    assert!(
        wide::SOURCE.contains("0..1024"),
        "no loop to 1024 in\n{}",
        wide::SOURCE
    );
    assert!(
        !wide::SOURCE.contains("[1023]"),
        "an unrolled element in\n{}",
        wide::SOURCE
    );
    // Apart from the name and the length, the code (and its documented
    // formulas) is the same.
    assert_eq!(
        wide::SOURCE.replace("1024", "64").replace("wide", "narrow"),
        narrow::SOURCE
    );

    assert_eq!(
        wide_layer::SOURCE.lines().count(),
        narrow_layer::SOURCE.lines().count()
    );
    assert!(
        wide_layer::SOURCE.contains("0..1024"),
        "{}",
        wide_layer::SOURCE
    );
    assert_eq!(
        wide_layer::SOURCE
            .replace("1024", "64")
            .replace("wide_layer", "narrow_layer"),
        narrow_layer::SOURCE
    );
}

#[test]
fn wide_neuron_gradient_matches_finite_differences() {
    let mut rng = fd::rng(4);
    for _ in 0..3 {
        let p = uniforms(&mut rng, 2049, -1.0, 1.0);
        let (x, w): ([f64; 1024], [f64; 1024]) = (arr(&p), arr(&p[1024..]));
        // Keep the pre-activation away from the ReLU kink.
        let b = 1.0 + fd::dot(&x, &w).abs();
        let point = [&p[..2048], &[b]].concat();
        let (y, g) = wide::gradient(x, w, b);
        assert!(close(y, fd::dot(&x, &w) + b, 1e-12));
        let numeric = central(|v| wide(arr(v), arr(&v[1024..]), v[2048]), &point, H);
        let analytic = [g.x.to_vec(), g.w.to_vec(), vec![g.b]].concat();
        assert_all_close("wide neuron", &point, &analytic, &numeric, TOL);
    }
    let x: [f64; 1024] = arr(&uniforms(&mut rng, 1024, -1.0, 1.0));
    let w: [[f64; 1024]; 8] = std::array::from_fn(|_| arr(&uniforms(&mut rng, 1024, -0.05, 0.05)));
    let b: [f64; 8] = arr(&uniforms(&mut rng, 8, -1.0, 1.0));
    let dy: [f64; 8] = arr(&uniforms(&mut rng, 8, -1.0, 1.0));
    let (_, g) = wide_layer::backward(x, w, b, dy);
    // Spot-check a few partials of each argument.
    let f =
        |x: &[f64; 1024], w: &[[f64; 1024]; 8], b: &[f64; 8]| fd::dot(&wide_layer(*x, *w, *b), &dy);
    for k in [0, 511, 1023] {
        let step = H;
        let (mut up, mut down) = (x, x);
        up[k] += step;
        down[k] -= step;
        let numeric = (f(&up, &w, &b) - f(&down, &w, &b)) / (2.0 * step);
        assert_all_close("wide layer ∂x", &[], &[g.x[k]], &[numeric], TOL);
        let (mut up, mut down) = (w, w);
        up[k % 8][k] += step;
        down[k % 8][k] -= step;
        let numeric = (f(&x, &up, &b) - f(&x, &down, &b)) / (2.0 * step);
        assert_all_close("wide layer ∂w", &[], &[g.w[k % 8][k]], &[numeric], TOL);
    }
}

/// A neuron of scalar output with a scalar parameter, to be called.
#[neuron]
pub fn scalar_unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    tanh(dot(w, x) + b)
}

/// Calls `scalar_unit`: the scalar partial `∂h/∂b` comes back through the
/// callee's `backward` like the array ones.
#[neuron]
pub fn scalar_chain(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64, #[param] c: f64) -> f64 {
    let h: f64 = scalar_unit(x, w, b);
    c * h * h
}

#[test]
fn chained_neurons_with_scalar_arguments() {
    let report = gradcheck_random::<scalar_chain::Model>(100, 11, 1e-6).unwrap();
    assert!(report.checked > 0);
    // By hand: h = tanh(w·x + b), y = c h², ∂y/∂b = 2 c h (1 - h²).
    let (x, w, b, c) = ([0.5, -1.0, 2.0], [0.3, 0.2, -0.1], 0.4, 1.5);
    let h = (0.5f64 * 0.3 - 0.2 - 0.2 + 0.4).tanh();
    let (y, g) = scalar_chain::gradient(x, w, b, c);
    assert!((y - c * h * h).abs() < 1e-15);
    assert!((g.b - 2.0 * c * h * (1.0 - h * h)).abs() < 1e-15);
    assert!((g.c - h * h).abs() < 1e-15);
}
