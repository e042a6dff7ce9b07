//! Deterministic inputs for the benchmarks: values in `[-1, 1)` from a
//! fixed linear congruential sequence, so that about half of the ReLUs are
//! active and every run sees the same numbers.

/// `n` pseudo-random values in `[-1, 1)` from `seed`.
pub fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// `N` pseudo-random values in `[-1, 1)` from `seed`.
pub fn array<const N: usize>(seed: u64) -> [f64; N] {
    let v = values(N, seed);
    core::array::from_fn(|i| v[i])
}

/// An input `x` and parameters `w`, `b` of a dot neuron for which the ReLU
/// is active (`dot(w, x) + b > 0`), so that the gradient is not all zeros.
pub fn dot_case<const N: usize>() -> ([f64; N], [f64; N], f64) {
    let x = array::<N>(1);
    let w = array::<N>(2);
    let z: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
    (x, w, 0.5 - z.min(0.0))
}

/// `(w1, b1, w2, b2)` of the 2-64-3 network.
pub type NetParams = ([[f64; 2]; 64], [f64; 64], [[f64; 64]; 3], [f64; 3]);

/// The parameters of the 2-64-3 network, scaled like nnfs's
/// `0.01 * randn` weights but nonzero biases so that both kinks occur.
pub fn net_params() -> NetParams {
    let w1 = core::array::from_fn(|i| array::<2>(10 + i as u64));
    let b1 = array::<64>(100).map(|v| 0.1 * v);
    let w2 = core::array::from_fn(|k| array::<64>(200 + k as u64).map(|v| 0.1 * v));
    let b2 = array::<3>(300);
    (w1, b1, w2, b2)
}
