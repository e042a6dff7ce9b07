//! Writes the differential test's programs: `$OUT_DIR/programs.rs`, a few
//! hundred random valid `#[neuron]` programs with their references and
//! checks, drawn from a fixed seed so that a run cannot fail by chance.
//! `NEURON_DIFFTEST_SEED` (decimal or `0x` hex) draws other programs and
//! `NEURON_DIFFTEST_PROGRAMS` sets how many; `$OUT_DIR/coverage.txt` says
//! what they cover.

#[path = "generator/mod.rs"]
mod generator;

use std::path::PathBuf;

/// The seed used unless `NEURON_DIFFTEST_SEED` is set.
const DEFAULT_SEED: u64 = 20_261_127;
/// The number of programs unless `NEURON_DIFFTEST_PROGRAMS` is set.
const DEFAULT_PROGRAMS: usize = 300;

fn number(var: &str) -> Option<u64> {
    let text = std::env::var(var).ok()?;
    let text = text.trim().replace('_', "");
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|e| panic!("{var}={text:?} is not a number: {e}")))
}

fn main() {
    println!("cargo:rerun-if-env-changed=NEURON_DIFFTEST_SEED");
    println!("cargo:rerun-if-env-changed=NEURON_DIFFTEST_PROGRAMS");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=generator");
    let seed = number("NEURON_DIFFTEST_SEED").unwrap_or(DEFAULT_SEED);
    let count = number("NEURON_DIFFTEST_PROGRAMS").map_or(DEFAULT_PROGRAMS, |n| n as usize);
    let emitted: &[&str] = neuron_macros::__emitted_names!();
    let library: &[&str] = neuron_macros::__library!();
    let items: (&[&str], &[&str]) = neuron_macros::__generated_items!();
    let (text, stats) = generator::generate(
        seed,
        count,
        &generator::features::FEATURES,
        emitted,
        library,
        items,
    );
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("programs.rs"), text).expect("writing programs.rs");
    let coverage: String = stats
        .counts
        .iter()
        .map(|(k, v)| format!("{v:6}  {k}\n"))
        .collect();
    std::fs::write(out.join("coverage.txt"), coverage).expect("writing coverage.txt");
}
