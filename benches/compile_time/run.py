#!/usr/bin/env python3
# Compile time of #[neuron]: generates a crate of 100 neurons with varied
# small bodies and the same crate with the gradients written out by hand
# (each neuron's `SOURCE`, the macro's own output pretty-printed, plus a
# `Grad` struct), then builds each crate from clean in debug and release
# and prints the times. Dependencies are built first and not timed; only
# the crate itself is cleaned (`cargo clean -p`) and rebuilt. Not run in CI.
#
# Usage: python3 benches/compile_time/run.py [--dir /tmp/neuron-compile-time] [--repeats 3]
# The generated crates live in --dir, outside the repository.
import argparse
import pathlib
import random
import re
import shutil
import statistics
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Bodies over x: [f64; n], w: [f64; n], b: f64 (and m: [[f64; n]; k], v: [f64; k] where used).
TEMPLATES = [
    "relu(dot(w, x) + b)",
    "sigmoid(dot(w, x) + b)",
    "tanh(dot(w, x) + b)",
    "softplus(sum(w * x) + b)",
    "let z = dot(w, x) + b; square(z) + exp(b)",
    "powi(dot(w, x) - b, 2)",
    "let e = w * x; ln(1.0 + exp(sum(e) + b))",
    "abs(w[0] * x[0] - b) + max(dot(w, x), 0.0)",
    "let z = dot(w, x) + b; leaky_relu(z, 0.01) * sqrt(square(b) + 1.0)",
    "let h = relu(matvec(m, x) + b); dot(v, h)",
]


def neuron_source(i, rng):
    body = TEMPLATES[i % len(TEMPLATES)]
    n = rng.randint(2, 8)
    args = [("x", f"[f64; {n}]", False), ("w", f"[f64; {n}]", True), ("b", "f64", True)]
    if "matvec" in body:
        k = rng.randint(2, 6)
        args = [("x", f"[f64; {n}]", False), ("m", f"[[f64; {n}]; {k}]", True), ("b", f"[f64; {k}]", True), ("v", f"[f64; {k}]", True)]
    return f"n{i}", args, body


def sig(args, params_attr):
    parts = []
    for name, ty, param in args:
        parts.append(f"{'#[param] ' if param and params_attr else ''}{name}: {ty}")
    return ", ".join(parts)


def write_crate(path, name, lib, deps):
    (path / "src").mkdir(parents=True, exist_ok=True)
    (path / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n'
        f"[dependencies]\n{deps}\n\n[workspace]\n"
    )
    (path / "src" / "lib.rs").write_text(lib)


def cargo(path, target, *args):
    subprocess.run(["cargo", *args], cwd=path, check=True, env={**__import__("os").environ, "CARGO_TARGET_DIR": str(target)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def timed_build(path, target, name, release, repeats):
    flags = ["--release"] if release else []
    cargo(path, target, "build", *flags)  # dependencies, untimed
    times = []
    for _ in range(repeats):
        cargo(path, target, "clean", "-p", name, *flags)
        start = time.perf_counter()
        cargo(path, target, "build", *flags)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default="/tmp/neuron-compile-time")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    out = pathlib.Path(args.dir)
    shutil.rmtree(out / "macro" / "src", ignore_errors=True)
    shutil.rmtree(out / "hand" / "src", ignore_errors=True)
    rng = random.Random(0)
    neurons = [neuron_source(i, rng) for i in range(100)]
    core = f'neuron-core = {{ path = "{ROOT / "neuron-core"}" }}'

    # The crate with #[neuron], and an example that prints every SOURCE.
    lib = "//! 100 generated neurons.\n#![allow(missing_docs)]\nuse neuron_core::prelude::*;\n\n"
    for name, a, body in neurons:
        lib += f"#[neuron]\npub fn {name}({sig(a, True)}) -> f64 {{\n    {body}\n}}\n\n"
    write_crate(out / "macro", "ct_macro", lib, core)
    (out / "macro" / "examples").mkdir(exist_ok=True)
    printer = "fn main() {\n" + "".join(f'    println!("@@@ {n}\\n{{}}", ct_macro::{n}::SOURCE);\n' for n, _, _ in neurons) + "}\n"
    (out / "macro" / "examples" / "sources.rs").write_text(printer)
    target = out / "target"
    text = subprocess.run(["cargo", "run", "-q", "--example", "sources"], cwd=out / "macro", check=True, capture_output=True,
                          text=True, env={**__import__("os").environ, "CARGO_TARGET_DIR": str(target)}).stdout
    sources = dict(re.findall(r"@@@ (\w+)\n(.*?)(?=\n@@@ |\Z)", text, re.S))

    # The same gradients by hand: the forward function at the top level, and
    # a module with Grad, gradient and backward, as the macro lays them out.
    uses_core = any("neuron_core" in s or ".sigmoid()" in s or ".softplus()" in s or "leaky_relu" in s for s in sources.values())
    hand = "//! 100 neurons with their gradients written out.\n#![allow(missing_docs, clippy::all)]\n"
    if uses_core:
        hand += "#[allow(unused_imports)]\nuse neuron_core::Real as _;\n"
    hand += "\n"
    for name, a, _ in neurons:
        src = sources[name]
        fwd_end = src.index("\npub fn gradient")
        fields = "".join(f"        pub {n}: {t},\n" for n, t, _ in a)
        hand += src[:fwd_end] + "\n"
        hand += (f"pub mod {name} {{\n    #[allow(unused_imports)]\n    use neuron_core::Real as _;\n"
                 f"    #[derive(Clone, Copy, Debug, PartialEq)]\n    pub struct Grad {{\n{fields}    }}\n"
                 + src[fwd_end:] + "\n}\n\n")
    write_crate(out / "hand", "ct_hand", hand, core)

    print(f"{len(neurons)} neurons; crates in {out}; median of {args.repeats} clean builds of the crate alone")
    for release in (False, True):
        profile = "release" if release else "debug"
        t_macro = timed_build(out / "macro", target, "ct_macro", release, args.repeats)
        t_hand = timed_build(out / "hand", target, "ct_hand", release, args.repeats)
        print(f"{profile:8s} #[neuron] {t_macro:6.2f} s   hand-written {t_hand:6.2f} s   ratio {t_macro / t_hand:5.2f}")


if __name__ == "__main__":
    main()
