//! The `explain` example: the trace of the running example ends in the
//! notes' partials, the cost is printed, and the graph is written (and
//! drawn where Graphviz is installed).

use neuron_examples::explain::{explain, unit};

#[test]
fn the_example_prints_the_trace_and_cost_and_writes_the_graph() {
    let dir = tempfile::tempdir().unwrap();
    let shown = explain(dir.path()).unwrap();
    for line in [
        "unit at x = [1, -2, 3], w = [-3, -1, 2], b = 1",
        "  relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b) = 6",
        "    ∂(w[0] * x[0])/∂x[0] = w[0] = -3; × 1 = -3",
        "  ∂unit/∂x = [-3, -1, 2]",
        "  ∂unit/∂w = [1, -2, 3]",
        "  ∂unit/∂b = 1",
    ] {
        assert!(
            shown.trace.lines().any(|l| l == line),
            "no line {line:?} in\n{}",
            shown.trace
        );
    }
    assert!(
        shown.cost.contains("backward/forward: 1.14"),
        "{}",
        shown.cost
    );
    assert_eq!(std::fs::read_to_string(&shown.dot).unwrap(), unit::DOT);
    let installed = std::process::Command::new("dot").arg("-V").output().is_ok();
    match &shown.svg {
        Ok(svg) => {
            assert!(installed);
            assert!(std::fs::read_to_string(svg).unwrap().contains("<svg"));
        }
        Err(why) => {
            assert!(!installed || why.contains("failed"), "{why}");
            assert!(installed || why.contains("not installed"), "{why}");
        }
    }
}
