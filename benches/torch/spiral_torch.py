#!/usr/bin/env python3
# Trains the 2-64-3 spiral classifier of benches/benches/training.rs with
# PyTorch on the CPU and with NumPy in the style of the "Neural Networks
# from Scratch" (nnfs) book, and prints epochs per second, to compare with
# `cargo bench -p neuron-benches --bench training`. Not run in CI.
#
# Same setup as the Rust bench: nnfs's spiral_data(100, 3) (300 points),
# Dense(2, 64) -> ReLU -> Dense(64, 3) -> softmax cross-entropy, Adam with
# lr 0.05, decay 5e-7, epsilon 1e-7, full batch, float64, weights
# 0.01 * randn and zero biases. PyTorch runs with 1 thread and with its
# default thread count. Each configuration trains EPOCHS epochs REPEATS
# times from the same weights and reports the median.
#
# Usage: target/torch-venv/bin/python benches/torch/spiral_torch.py [--epochs 100] [--repeats 7]
# (bash benches/torch/setup.sh makes that virtualenv).
import argparse
import statistics
import time

import numpy as np


def spiral_data(samples, classes, rng):
    """nnfs's spiral_data, with an explicit generator."""
    X = np.zeros((samples * classes, 2))
    y = np.zeros(samples * classes, dtype="uint8")
    for class_number in range(classes):
        ix = range(samples * class_number, samples * (class_number + 1))
        r = np.linspace(0.0, 1, samples)
        t = np.linspace(class_number * 4, (class_number + 1) * 4, samples) + rng.standard_normal(samples) * 0.2
        X[ix] = np.c_[r * np.sin(t * 2.5), r * np.cos(t * 2.5)]
        y[ix] = class_number
    return X, y


# ----------------------------------------------------------------- NumPy (nnfs)
class LayerDense:
    def __init__(self, n_inputs, n_neurons, rng):
        self.weights = 0.01 * rng.standard_normal((n_inputs, n_neurons))
        self.biases = np.zeros((1, n_neurons))

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = np.dot(dvalues, self.weights.T)


class ActivationReLU:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0


class SoftmaxCrossEntropy:
    def forward(self, inputs, y_true):
        exp = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        self.output = exp / np.sum(exp, axis=1, keepdims=True)
        clipped = np.clip(self.output[range(len(inputs)), y_true], 1e-7, 1 - 1e-7)
        return np.mean(-np.log(clipped))

    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1
        self.dinputs = self.dinputs / samples


class OptimizerAdam:
    def __init__(self, learning_rate=0.001, decay=0.0, epsilon=1e-7, beta_1=0.9, beta_2=0.999):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * (1.0 / (1.0 + self.decay * self.iterations))

    def update_params(self, layer):
        if not hasattr(layer, "weight_cache"):
            layer.weight_momentums = np.zeros_like(layer.weights)
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_momentums = np.zeros_like(layer.biases)
            layer.bias_cache = np.zeros_like(layer.biases)
        layer.weight_momentums = self.beta_1 * layer.weight_momentums + (1 - self.beta_1) * layer.dweights
        layer.bias_momentums = self.beta_1 * layer.bias_momentums + (1 - self.beta_1) * layer.dbiases
        wm = layer.weight_momentums / (1 - self.beta_1 ** (self.iterations + 1))
        bm = layer.bias_momentums / (1 - self.beta_1 ** (self.iterations + 1))
        layer.weight_cache = self.beta_2 * layer.weight_cache + (1 - self.beta_2) * layer.dweights**2
        layer.bias_cache = self.beta_2 * layer.bias_cache + (1 - self.beta_2) * layer.dbiases**2
        wc = layer.weight_cache / (1 - self.beta_2 ** (self.iterations + 1))
        bc = layer.bias_cache / (1 - self.beta_2 ** (self.iterations + 1))
        layer.weights += -self.current_learning_rate * wm / (np.sqrt(wc) + self.epsilon)
        layer.biases += -self.current_learning_rate * bm / (np.sqrt(bc) + self.epsilon)

    def post_update_params(self):
        self.iterations += 1


def train_numpy(X, y, epochs, seed):
    rng = np.random.default_rng(seed)
    dense1, relu, dense2 = LayerDense(2, 64, rng), ActivationReLU(), LayerDense(64, 3, rng)
    loss_act = SoftmaxCrossEntropy()
    opt = OptimizerAdam(learning_rate=0.05, decay=5e-7)
    start = time.perf_counter()
    for _ in range(epochs):
        dense1.forward(X)
        relu.forward(dense1.output)
        dense2.forward(relu.output)
        loss = loss_act.forward(dense2.output, y)
        loss_act.backward(loss_act.output, y)
        dense2.backward(loss_act.dinputs)
        relu.backward(dense2.dinputs)
        dense1.backward(relu.dinputs)
        opt.pre_update_params()
        opt.update_params(dense1)
        opt.update_params(dense2)
        opt.post_update_params()
    return time.perf_counter() - start, float(loss)


# ----------------------------------------------------------------- PyTorch
def train_torch(torch, X, y, epochs, seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.ReLU(), torch.nn.Linear(64, 3)).double()
    with torch.no_grad():
        for layer in (model[0], model[2]):
            layer.weight.normal_(0.0, 0.01)
            layer.bias.zero_()
    opt = torch.optim.Adam(model.parameters(), lr=0.05, eps=1e-7)
    # nnfs's decay: lr / (1 + decay * step).
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0 / (1.0 + 5e-7 * step))
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(np.int64))
    start = time.perf_counter()
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(model(Xt), yt)
        loss.backward()
        opt.step()
        sched.step()
    return time.perf_counter() - start, loss.item()


def report(name, runs, epochs):
    times = [t for t, _ in runs]
    median = statistics.median(times)
    print(f"{name:32s} median {median * 1e3:8.2f} ms / {epochs} epochs = {epochs / median:9.0f} epochs/s  (final loss {runs[-1][1]:.4f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    X, y = spiral_data(100, 3, np.random.default_rng(0))

    train_numpy(X, y, args.epochs, 0)  # warm-up
    report("numpy (nnfs style)", [train_numpy(X, y, args.epochs, 0) for _ in range(args.repeats)], args.epochs)

    try:
        import torch
    except ImportError as error:
        print(f"torch not available: {error}")
        return
    print(f"torch {torch.__version__}, numpy {np.__version__}, default threads {torch.get_num_threads()}")
    default_threads = torch.get_num_threads()
    for threads in (1, default_threads):
        torch.set_num_threads(threads)
        train_torch(torch, X, y, args.epochs, 0)  # warm-up
        runs = [train_torch(torch, X, y, args.epochs, 0) for _ in range(args.repeats)]
        report(f"torch CPU, {threads} thread(s)", runs, args.epochs)


if __name__ == "__main__":
    main()
