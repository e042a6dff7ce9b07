//! The differential test: the random programs that `build.rs` generated
//! (`$OUT_DIR/programs.rs`), each compiled through `#[neuron]` and checked
//! against its independent reference at seeded points, and a check that
//! the programs cover every part of the language.
//!
//! `NEURON_DIFFTEST_SEED=42 cargo test -p neuron-difftest` draws other
//! programs.

include!(concat!(env!("OUT_DIR"), "/programs.rs"));

#[test]
fn the_programs_cover_the_whole_language() {
    let missing: Vec<&&str> = REQUIRED
        .iter()
        .filter(|r| !COVERAGE.iter().any(|(k, n)| k == *r && *n > 0))
        .collect();
    assert!(missing.is_empty(), "no generated program has {missing:?}");
}
