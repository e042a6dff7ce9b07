//! Seeing the chain rule: prints the running example's trace (each forward
//! value, then each local derivative times the derivative from above, then
//! the partials) and the cost of its forward and backward passes; writes
//! its forward and backward graph to `target/explain/unit.dot`, drawn to
//! `unit.svg` when Graphviz's `dot` is installed.
//!
//! Run with `cargo run -p neuron-examples --example explain`.

use neuron_examples::explain::{explain, output_dir};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let shown = explain(&output_dir())?;
    println!("{}", shown.trace);
    println!("{}\n", shown.cost);
    println!("graph: {}", shown.dot.display());
    match &shown.svg {
        Ok(svg) => println!("drawn: {}", svg.display()),
        Err(why) => println!("not drawn: {why}"),
    }
    Ok(())
}
