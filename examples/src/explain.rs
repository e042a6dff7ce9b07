//! What the `explain` example shows of the running example: its chain rule
//! step by step, its graph as Graphviz text (drawn as SVG when Graphviz's
//! `dot` is installed) and the cost of its two passes.

use neuron_core::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One ReLU neuron with three inputs, the notes' running example.
#[neuron]
pub fn unit(x: [f64; 3], #[param] w: [f64; 3], #[param] b: f64) -> f64 {
    relu(w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b)
}

/// The input of the running example's point.
pub const X: [f64; 3] = [1.0, -2.0, 3.0];
/// Its weights.
pub const W: [f64; 3] = [-3.0, -1.0, 2.0];
/// Its bias.
pub const B: f64 = 1.0;

/// What the example prints and writes.
#[derive(Debug)]
pub struct Explained {
    /// `unit::trace` at the notes' point, printed.
    pub trace: String,
    /// `unit::COST`, printed.
    pub cost: String,
    /// Where `unit::DOT` was written.
    pub dot: PathBuf,
    /// The SVG `dot` drew from it, or why there is none.
    pub svg: Result<PathBuf, String>,
}

/// The trace and the cost of [`unit()`]; its graph written to `dir/unit.dot`
/// and, when Graphviz's `dot` is on `PATH`, drawn to `dir/unit.svg`.
pub fn explain(dir: &Path) -> std::io::Result<Explained> {
    std::fs::create_dir_all(dir)?;
    let dot = dir.join("unit.dot");
    std::fs::write(&dot, unit::DOT)?;
    let svg = dir.join("unit.svg");
    let drawn = match Command::new("dot")
        .arg("-Tsvg")
        .arg(&dot)
        .arg("-o")
        .arg(&svg)
        .status()
    {
        Ok(status) if status.success() => Ok(svg),
        Ok(status) => Err(format!("`dot -Tsvg` failed: {status}")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(
            "Graphviz's `dot` is not installed; draw the graph with `dot -Tsvg unit.dot -o unit.svg`"
                .to_string(),
        ),
        Err(e) => Err(format!("`dot` did not run: {e}")),
    };
    Ok(Explained {
        trace: unit::trace(X, W, B).to_string(),
        cost: unit::COST.to_string(),
        dot,
        svg: drawn,
    })
}

/// `target/explain` of the workspace, where the example writes.
pub fn output_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
            PathBuf::from,
        )
        .join("explain")
}
