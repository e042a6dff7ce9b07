#!/usr/bin/env python3
# Trains the f32 64-32-10 digits classifier of benches/benches/digits.rs
# with PyTorch on the CPU, on one thread, and prints the time per epoch, to
# compare with `cargo bench -p neuron-benches --bench digits`. Not run in CI.
#
# Same setup as the Rust bench (benches/src/setups.rs): all 1797 rows of
# examples/data/digits.csv (see the README there for the source and
# license), pixels scaled by 1/16, float32; Linear(64, 32) -> ReLU ->
# Linear(32, 10) -> softmax cross-entropy (mean over the batch); He-normal
# weights (kaiming_normal_, fan-in, std sqrt(2 / fan_in)) and zero biases;
# Adam with lr 0.005, betas (0.9, 0.999), eps 1e-7; mini-batches of 32. The
# batches are taken in the file's order, the same every epoch (the Rust
# Trainer shuffles its sample order every epoch from a fixed seed).
#
# One warm-up run, then REPEATS runs of EPOCHS epochs, each from the same
# initial weights; the median is reported, and divided by EPOCHS.
#
# Usage: target/torch-venv/bin/python benches/torch/digits_torch.py [--epochs 10] [--repeats 7]
# (bash benches/torch/setup.sh makes that virtualenv).
import argparse
import pathlib
import platform
import statistics
import time

import numpy as np
import torch

DATA = pathlib.Path(__file__).resolve().parents[2] / "examples" / "data" / "digits.csv"
BATCH = 32
LR = 0.005
EPS = 1e-7


def load_digits():
    """The CSV's 64 pixel columns scaled by 1/16 and its label column."""
    rows = np.loadtxt(DATA, delimiter=",", skiprows=1, dtype=np.float64)
    x = (rows[:, :64] / 16.0).astype(np.float32)
    y = rows[:, 64].astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def train(x, y, epochs, seed):
    """Trains a fresh model for `epochs` epochs; returns the seconds the
    epochs took and the mean loss of the last epoch (each batch's loss
    before its step, weighted by its size, as the Rust Trainer reports)."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    with torch.no_grad():
        for layer in (model[0], model[2]):
            torch.nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
            layer.bias.zero_()
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=EPS)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(y)
    start = time.perf_counter()
    for _ in range(epochs):
        total = 0.0
        for first in range(0, n, BATCH):
            xb, yb = x[first : first + BATCH], y[first : first + BATCH]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
    return time.perf_counter() - start, total / n


def main():
    parser = argparse.ArgumentParser(description="PyTorch side of the digits training benchmark")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x, y = load_digits()
    print(
        f"{platform.python_implementation()} {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {np.__version__}, {torch.get_num_threads()} thread(s); "
        f"{len(y)} samples, batches of {BATCH}, {args.epochs} epochs per run"
    )
    train(x, y, args.epochs, 1)  # warm-up
    runs = [train(x, y, args.epochs, 1) for _ in range(args.repeats)]
    times = [t for t, _ in runs]
    median = statistics.median(times)
    print(f"runs (ms): {' '.join(f'{t * 1e3:.1f}' for t in times)}")
    print(
        f"torch CPU, {torch.get_num_threads()} thread(s): median {median * 1e3:.2f} ms / {args.epochs} epochs "
        f"= {median / args.epochs * 1e3:.3f} ms per epoch, {args.epochs / median:.1f} epochs/s "
        f"(mean loss of epoch {args.epochs}: {runs[-1][1]:.4f})"
    )


if __name__ == "__main__":
    main()
