//! Snapshot of the generated code for the running example.
//!
//! The committed `tests/snapshots/unit.rs.txt` is what a reader of
//! `unit::SOURCE` sees. Regenerate it with `NEURON_BLESS=1 cargo test
//! --test snapshot` after a deliberate change to the emitted code, and read
//! the diff.

use neuron_core::prelude::*;

/// One ReLU neuron with three inputs.
#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
}

const SNAPSHOT: &str = "snapshots/unit.rs.txt";

#[test]
fn generated_source_matches_the_snapshot() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT);
    if std::env::var_os("NEURON_BLESS").is_some() {
        std::fs::write(&path, unit::SOURCE).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        unit::SOURCE,
        expected,
        "unit::SOURCE differs from {SNAPSHOT}"
    );
}

/// The properties the snapshot is meant to show, checked on their own so a
/// regression names itself.
#[test]
fn generated_source_is_simplified() {
    let gradient = unit::SOURCE.split("pub fn gradient_ref").nth(1).unwrap();
    let gradient = gradient.split("pub fn backward").next().unwrap();
    // One forward pass: the weighted sum is computed once.
    assert_eq!(gradient.matches("w[0] * x[0]").count(), 1, "{gradient}");
    // The ReLU mask is computed once.
    assert_eq!(gradient.matches("if sum > 0.0").count(), 1, "{gradient}");
    // No multiplication by one, no addition of zero.
    assert!(
        !gradient.contains("* 1.0") && !gradient.contains("1.0 *"),
        "{gradient}"
    );
    assert!(
        !gradient.contains("+ 0.0") && !gradient.contains("0.0 +"),
        "{gradient}"
    );
    // The output is computed once, from the named sum, not recomputed.
    assert_eq!(gradient.matches("sum.relu()").count(), 1, "{gradient}");
}

/// README.md shows `gradient_ref` of the running example exactly as the
/// snapshot has it, so the documentation cannot drift from the code.
#[test]
fn readme_shows_the_generated_gradient() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = unit::SOURCE.find("pub fn gradient_ref(").unwrap();
    let end = start + unit::SOURCE[start..].find("\n}\n").unwrap() + 3;
    let gradient = &unit::SOURCE[start..end];
    assert!(
        readme.contains(gradient),
        "README.md does not show the current `gradient_ref`:\n{gradient}"
    );
}
