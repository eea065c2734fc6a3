#!/usr/bin/python3
"""Peer 1: PyTorch on the CPU, the idiomatic way.

nn.Sequential of nn.Linear layers with sigmoids between them; the output
sigmoid and the cross-entropy cost C = -sum_j [y ln a + (1-y) ln(1-a)]
together as BCEWithLogitsLoss (summed over the 10 outputs, averaged over
the mini-batch, as in the book); torch.optim.SGD with lr = eta; weights
N(0, 1/n_in), biases N(0, 1); torch.set_num_threads(T). Prints one JSON
line like bench/peer_numpy.py; --examples N times part of each epoch and
scales."""
import argparse
import time

import threadpoolctl
import torch
from torch import nn

import common


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="784,30,10")
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--eta", type=float, default=0.5)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--examples", type=int, default=50000)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    sizes = [int(s) for s in a.sizes.split(",")]
    x, y, xt, yt = (torch.from_numpy(v) for v in common.load_mnist())
    onehot = torch.eye(10)

    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(n_in, n_out)
        with torch.no_grad():
            lin.weight.normal_(0.0, n_in ** -0.5)
            lin.bias.normal_(0.0, 1.0)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(nn.Sigmoid())
    model = nn.Sequential(*layers)
    cost = nn.BCEWithLogitsLoss(reduction="sum")
    opt = torch.optim.SGD(model.parameters(), lr=a.eta)

    # torch calls BLAS (Debian: OpenBLAS through libblas.so.3) for the
    # products; limit that pool too, once torch has loaded it.
    model(x[:2])
    threadpoolctl.threadpool_limits(a.threads)

    n = min(a.examples, len(x))
    seconds = []
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        order = torch.randperm(len(x))
        for k in range(0, n, a.batch):
            idx = order[k:k + a.batch]
            opt.zero_grad()
            loss = cost(model(x[idx]), onehot[y[idx]]) / len(idx)
            loss.backward()
            opt.step()
        seconds.append((time.perf_counter() - t0) * len(x) / n)
    with torch.no_grad():
        accuracy = float((model(xt).argmax(dim=1) == yt).float().mean())
    common.report({"peer": "torch", "epoch_seconds": seconds, "accuracy": accuracy,
                   "examples_timed": n, "torch": torch.__version__,
                   "torch_threads": torch.get_num_threads(),
                   "torch_config": torch.__config__.show()})


if __name__ == "__main__":
    main()
