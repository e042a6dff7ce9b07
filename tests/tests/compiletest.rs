//! The compile-fail (UI) tests: every file in `tests/ui/` is one user
//! mistake that `#[neuron]` must reject at the offending token, and its
//! `.stderr` next to it is the exact message rustc prints. Every file in
//! `tests/ui-pass/` is a program that must compile (and run) as it is.
//!
//! After a deliberate change to a message, regenerate the `.stderr` files
//! with `TRYBUILD=overwrite cargo test -p neuron-tests --test compiletest`
//! and read every diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
    t.pass("ui-pass/*.rs");
}
