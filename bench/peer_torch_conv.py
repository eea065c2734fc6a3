#!/usr/bin/python3
"""Peer for the convolutional networks: PyTorch on the CPU, as one would
write network3.py's networks in it.

  two-conv: Conv2d(1, 20, 5), max-pool 2, sigmoid; Conv2d(20, 40, 5),
            max-pool 2, sigmoid; Linear(640, 100), sigmoid; Linear(100, 10),
            log-softmax with the negative log-likelihood, mean over the
            mini-batch; SGD, eta 0.1 (chapter 6's second network).
  final:    the same convolutions with ReLU; dropout 0.5 on the inputs of
            Linear(640, 1000), ReLU, Linear(1000, 1000), ReLU and
            Linear(1000, 10); SGD, eta 0.03 and L2 weight decay
            (chapter 6's best network, network3.py's lmbda 0.1).

Weights as network3.py draws them (N(0, 1/n_out)), mini-batches of 10 by
default, torch.set_num_threads(T) and the BLAS pool limited to T. Times
--examples images of each epoch and scales to 50,000; prints one JSON line
like bench/peer_numpy.py."""
import argparse
import time

import threadpoolctl
import torch
from torch import nn

import common


def build(kind):
    act = nn.Sigmoid if kind == "two-conv" else nn.ReLU
    convs = [nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), act(),
             nn.Conv2d(20, 40, 5), nn.MaxPool2d(2), act(), nn.Flatten()]
    if kind == "two-conv":
        head = [nn.Linear(640, 100), act(), nn.Linear(100, 10)]
    else:
        head = [nn.Dropout(0.5), nn.Linear(640, 1000), act(), nn.Dropout(0.5),
                nn.Linear(1000, 1000), act(), nn.Dropout(0.5), nn.Linear(1000, 10)]
    model = nn.Sequential(*convs, *head, nn.LogSoftmax(dim=1))
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.Conv2d):
                n_out = m.out_channels * 25 // 4
                m.weight.normal_(0.0, n_out ** -0.5)
                m.bias.normal_(0.0, 1.0)
            elif isinstance(m, nn.Linear):
                m.weight.normal_(0.0, m.out_features ** -0.5)
                m.bias.normal_(0.0, 1.0)
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--net", choices=["two-conv", "final"], default="two-conv")
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--examples", type=int, default=5000)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    x, y, xt, yt = (torch.from_numpy(v) for v in common.load_mnist())
    x, xt = x.reshape(-1, 1, 28, 28), xt.reshape(-1, 1, 28, 28)
    model = build(a.net)
    cost = nn.NLLLoss()
    if a.net == "two-conv":
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
    else:  # network3.py: lmbda 0.1 over 5,000 mini-batches of 10
        opt = torch.optim.SGD(model.parameters(), lr=0.03, weight_decay=0.1 / 5000)
    model(x[:2])
    threadpoolctl.threadpool_limits(a.threads)

    n = min(a.examples, len(x))
    seconds = []
    for _ in range(a.epochs):
        model.train()
        t0 = time.perf_counter()
        order = torch.randperm(len(x))
        for k in range(0, n, a.batch):
            idx = order[k:k + a.batch]
            opt.zero_grad()
            loss = cost(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        seconds.append((time.perf_counter() - t0) * len(x) / n)
    model.eval()
    with torch.no_grad():
        t0 = time.perf_counter()
        correct = sum(int((model(xt[k:k + 1000]).argmax(dim=1) == yt[k:k + 1000]).sum())
                      for k in range(0, len(xt), 1000))
        infer = len(xt) / (time.perf_counter() - t0)
    common.report({"peer": "torch-conv", "net": a.net, "epoch_seconds": seconds,
                   "accuracy": correct / len(xt), "examples_timed": n,
                   "inference_per_second": infer, "torch": torch.__version__,
                   "torch_threads": torch.get_num_threads()})


if __name__ == "__main__":
    main()
