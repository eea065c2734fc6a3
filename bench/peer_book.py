#!/usr/bin/python3
"""Peer 3: the book's own algorithm, network2.py's SGD, one example at a
time in numpy float64: each image is a (784, 1) column, backprop runs per
example and the gradients are summed over the mini-batch before the update
(cross-entropy cost, so delta = a - y; no regularization).

It is slow, so --examples N times only the first N examples of an epoch and
scales the time to 50,000; the accuracy is the test accuracy after those N
examples only. Prints one JSON line like bench/peer_numpy.py."""
import argparse
import random
import time

import numpy as np
import threadpoolctl

import common


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Network:
    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) / np.sqrt(x)
                        for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def update_mini_batch(self, mini_batch, eta):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.weights = [w - (eta / len(mini_batch)) * nw
                        for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb
                       for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation = x
        activations = [x]
        zs = []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = activations[-1] - y  # CrossEntropyCost.delta
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            sp = sigmoid(zs[-l]) * (1 - sigmoid(zs[-l]))
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return nabla_b, nabla_w


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="784,30,10")
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--eta", type=float, default=0.5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--examples", type=int, default=5000)
    a = p.parse_args()
    threadpoolctl.threadpool_limits(a.threads)
    np.random.seed(1)
    random.seed(1)
    x, y, xt, yt = common.load_mnist(np.float64)
    eye = np.eye(10).reshape(10, 10, 1)
    training_data = [(x[i].reshape(784, 1), eye[y[i]]) for i in range(len(x))]
    net = Network([int(s) for s in a.sizes.split(",")])
    n = min(a.examples, len(x))

    t0 = time.perf_counter()
    random.shuffle(training_data)
    mini_batches = [training_data[k:k + a.batch] for k in range(0, n, a.batch)]
    for mini_batch in mini_batches:
        net.update_mini_batch(mini_batch, a.eta)
    seconds = (time.perf_counter() - t0) * len(x) / n

    correct = sum(int(np.argmax(net.feedforward(xt[i].reshape(784, 1))) == yt[i])
                  for i in range(len(xt)))
    common.report({"peer": "book", "epoch_seconds": [seconds], "accuracy": correct / len(xt),
                   "examples_timed": n, "numpy": np.__version__})


if __name__ == "__main__":
    main()
