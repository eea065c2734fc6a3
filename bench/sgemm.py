#!/usr/bin/python3
"""The machine's practical arithmetic limit: a square float32 matrix
product C = A B (n = 2048 by default) through numpy and OpenBLAS, with T
threads. Prints one JSON line with the median GFLOP/s (2 n^3 FLOP per
product) of several products after a warm-up."""
import argparse
import statistics
import time

import numpy as np
import threadpoolctl

import common


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=2048)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=7)
    a = p.parse_args()
    threadpoolctl.threadpool_limits(a.threads)
    rng = np.random.default_rng(1)
    A = rng.random((a.n, a.n), dtype=np.float32)
    B = rng.random((a.n, a.n), dtype=np.float32)
    C = np.empty_like(A)
    np.matmul(A, B, out=C)
    times = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        np.matmul(A, B, out=C)
        times.append(time.perf_counter() - t0)
    gflops = 2.0 * a.n ** 3 / statistics.median(times) / 1e9
    common.report({"peer": "sgemm", "n": a.n, "gflops": gflops,
                   "best_gflops": 2.0 * a.n ** 3 / min(times) / 1e9})


if __name__ == "__main__":
    main()
