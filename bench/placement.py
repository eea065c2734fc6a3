#!/usr/bin/python3
"""Two threads against one, by where the host has put the two cores.

    make bench-placement
    /usr/bin/python3 bench/placement.py [--rounds 30] [--pause 8] [--out FILE]

On a virtual machine the host may run the two virtual CPUs on cores that
share a cache or on cores that do not, and move them from minute to minute;
what one thread writes and the other reads costs about four times as much
in the second case. One `make bench` run sees one of the two. This script
alternates, `rounds` times: build/bench/core_latency, [784,100,10] at
mini-batch 100 on 2 threads, core_latency again, the same on 1 thread
(cross-entropy, eta 0.5, 6 epochs, the median epoch of each run's history).
It then sorts the 2-thread runs by the round trips measured around them and
writes docs/PLACEMENT.md: the median time and the ratio to 1 thread in each
placement, and every round.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import common

ROOT = common.ROOT
NNDL = os.path.join(ROOT, "build", "nndl")
CORE_LATENCY = common.CORE_LATENCY
SHARED_CACHE_NS = common.SHARED_CACHE_NS
TRAIN = ["train", "--sizes", "784,100,10", "--batch", "100", "--eta", "0.5", "--cost",
         "cross-entropy", "--init", "scaled", "--epochs", "6", "--seed", "1", "--eval",
         "none"]


def epoch_seconds(threads, env):
    with tempfile.TemporaryDirectory() as tmp:
        history = os.path.join(tmp, "history.jsonl")
        run = subprocess.run([NNDL] + TRAIN + ["--threads", str(threads), "--history", history],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
        if run.returncode != 0:
            sys.exit("placement: nndl train failed: " + run.stderr.strip())
        with open(history) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    return statistics.median(r["seconds"] for r in rows if "seconds" in r)


def placement(before, after):
    if before < SHARED_CACHE_NS and after < SHARED_CACHE_NS:
        return "shared"
    if before >= SHARED_CACHE_NS and after >= SHARED_CACHE_NS:
        return "apart"
    return "moved"  # the host moved the cores during the run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--pause", type=float, default=8, help="seconds between rounds")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "PLACEMENT.md"))
    args = ap.parse_args()
    for path in (NNDL, CORE_LATENCY):
        if not os.access(path, os.X_OK):
            sys.exit(f"placement: {path} is missing: run make bench-placement")
    env = dict(os.environ, NNDL_DATA=common.mnist_dir())
    rounds = []
    for i in range(args.rounds):
        before = common.round_trip_ns()
        two = epoch_seconds(2, env)
        after = common.round_trip_ns()
        one = epoch_seconds(1, env)
        rounds.append((before, two, after, one))
        print(f"round {i + 1}/{args.rounds}: {before} ns, 2 threads {two:.4f} s, "
              f"{after} ns, 1 thread {one:.4f} s", flush=True)
        if i + 1 < args.rounds:
            time.sleep(args.pause)

    one_all = statistics.median(r[3] for r in rounds)
    names = {"shared": "cores that share a cache (both round trips < %d ns)" % SHARED_CACHE_NS,
             "apart": "cores that do not (both round trips >= %d ns)" % SHARED_CACHE_NS,
             "moved": "moved during the run (one round trip each side)"}
    lines = [
        "# Two threads against one, by the cores' placement",
        "",
        "Written by `make bench-placement` (`bench/placement.py`) on "
        f"{datetime.datetime.now():%Y-%m-%d %H:%M} on {common.cpu_model()}, "
        f"{os.cpu_count()} CPUs: {args.rounds} rounds, each "
        "`build/bench/core_latency`, then `nndl train --sizes 784,100,10 --batch 100 "
        "--eta 0.5 --cost cross-entropy --init scaled --epochs 6 --threads 2`, "
        "`core_latency` again, then the same training on 1 thread; a run's time is "
        "the median of its 6 epochs. The host of this virtual machine moves its two "
        "virtual CPUs between cores that share a cache and cores that do not; the "
        "round trips around each 2-thread run tell which it had. See "
        "docs/PERFORMANCE.md for why it matters.",
        "",
        f"1 thread, all rounds: median {one_all:.4f} s per epoch.",
        "",
        "| 2 threads on | rounds | median s/epoch | range | 1 thread / 2 threads |",
        "|---|---:|---:|---|---:|",
    ]
    for key in ("shared", "apart", "moved"):
        times = [r[1] for r in rounds if placement(r[0], r[2]) == key]
        if not times:
            lines.append(f"| {names[key]} | 0 | | | |")
            continue
        med = statistics.median(times)
        lines.append(f"| {names[key]} | {len(times)} | {med:.4f} | "
                     f"{min(times):.4f}-{max(times):.4f} | {one_all / med:.2f}x |")
    lines += ["", "Every round:", "",
              "| round | round trip before | 2 threads s/epoch | round trip after | "
              "1 thread s/epoch |", "|---:|---:|---:|---:|---:|"]
    for i, (before, two, after, one) in enumerate(rounds):
        lines.append(f"| {i + 1} | {before} ns | {two:.4f} | {after} ns | {one:.4f} |")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines[:len(lines) - 4 - len(rounds)]))
    print(f"placement: wrote {os.path.relpath(args.out, ROOT)}")


if __name__ == "__main__":
    main()
