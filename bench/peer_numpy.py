#!/usr/bin/python3
"""Peer 2: numpy float32, each mini-batch as matrix products.

The same network and recipe as `nndl train` (sigmoid layers, cross-entropy
cost, mini-batch SGD, N(0, 1/n_in) weights), with the m examples of a
mini-batch as the rows of one matrix:
    forward (eq. 25)  z = a_in W^T + b,  a = sigmoid(z)
    BP1 (eq. 66)      delta = a - y                  (cross-entropy)
    BP3, BP4          dC/db = sum of delta rows,  dC/dW = delta^T a_in
    BP2               delta_in = (delta W) * a_in (1 - a_in)
    update (eq. 20)   W -= (eta/m) dC/dW,  b -= (eta/m) dC/db
Prints one JSON line: the seconds of each timed epoch and the test accuracy
after them. --examples N times only the first N examples of each epoch and
scales the time to 50,000 (for slow settings)."""
import argparse
import time

import numpy as np
import threadpoolctl

import common


def sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="784,30,10")
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--eta", type=float, default=0.5)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--examples", type=int, default=50000)
    a = p.parse_args()
    threadpoolctl.threadpool_limits(a.threads)
    sizes = [int(s) for s in a.sizes.split(",")]
    x, y, xt, yt = common.load_mnist(np.float32)
    onehot = np.eye(10, dtype=np.float32)
    rng = np.random.default_rng(1)
    f32 = np.float32
    W = [(rng.standard_normal((o, i)) / np.sqrt(i)).astype(f32)
         for i, o in zip(sizes[:-1], sizes[1:])]
    B = [rng.standard_normal(o).astype(f32) for o in sizes[1:]]
    m, eta = a.batch, f32(a.eta)
    n = min(a.examples, len(x))
    seconds = []
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        order = rng.permutation(len(x))
        for k in range(0, n, m):
            idx = order[k:k + m]
            acts = [x[idx]]
            for w, b in zip(W, B):
                acts.append(sigmoid(acts[-1] @ w.T + b))
            delta = acts[-1] - onehot[y[idx]]
            step = eta / f32(len(idx))
            for l in range(len(W) - 1, -1, -1):
                grad_w = delta.T @ acts[l]
                grad_b = delta.sum(axis=0)
                if l > 0:
                    delta = (delta @ W[l]) * acts[l] * (1 - acts[l])
                W[l] -= step * grad_w
                B[l] -= step * grad_b
        seconds.append((time.perf_counter() - t0) * len(x) / n)
    out = xt
    for w, b in zip(W, B):
        out = sigmoid(out @ w.T + b)
    accuracy = float(np.mean(out.argmax(axis=1) == yt))
    common.report({"peer": "numpy-f32", "epoch_seconds": seconds, "accuracy": accuracy,
                   "examples_timed": n, "numpy": np.__version__})


if __name__ == "__main__":
    main()
