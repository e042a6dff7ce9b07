//! Criterion settings shared by the benchmarks: short runs that finish on a
//! busy two-core machine. Flags such as `--measurement-time` override them.

use criterion::Criterion;
use std::time::Duration;

/// 1 s of warm-up, 3 s of measurement, 50 samples, no plots.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .without_plots()
}
