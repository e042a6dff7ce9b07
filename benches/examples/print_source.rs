//! Prints the code `#[neuron]` generated for every benchmarked function:
//! `cargo run -p neuron-benches --example print_source`.

use neuron_benches::neurons;

fn main() {
    let sources = [
        ("unit", neurons::unit::SOURCE),
        ("dot3", neurons::dot3::SOURCE),
        ("dot64", neurons::dot64::SOURCE),
        ("dot1024", neurons::dot1024::SOURCE),
        ("net", neurons::net::SOURCE),
        ("spiral_net", neurons::spiral_net::SOURCE),
        ("wide", neurons::wide::SOURCE),
    ];
    for (name, source) in sources {
        println!("// ===== {name}\n{source}");
    }
}
