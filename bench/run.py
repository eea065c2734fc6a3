#!/usr/bin/python3
"""Benchmarks nndl against peers on this machine and writes docs/PERFORMANCE.md.

    make bench                   # builds, installs the peers' packages, runs this
    /usr/bin/python3 bench/run.py [--out FILE] [--threads 1,2]

In one run, one program at a time, with the same thread count T:
  - nndl:   build/nndl train ... --threads T --history FILE; the per-epoch
            "seconds" of the history (training only), median of 5 epochs;
  - numpy:  bench/peer_numpy.py, float32, each mini-batch as matrix products;
  - torch:  bench/peer_torch.py, PyTorch on the CPU, torch.set_num_threads(T);
  - book:   bench/peer_book.py, network2.py's per-example backprop in float64,
            a fraction of an epoch timed and scaled (it is slow);
  - sgemm:  bench/sgemm.py, a 2048 x 2048 float32 product through OpenBLAS,
            the machine's practical arithmetic limit.
On a CPU with AVX-512 the numpy, torch and sgemm runs get
OPENBLAS_CORETYPE=SkylakeX (and no OPENBLAS_L2_SIZE): Debian's OpenBLAS 0.3.21
picks a slower kernel by itself on Zen 4 and 5, or is told to by a preset
environment; elsewhere OpenBLAS chooses (common.openblas_coretype). Then the
peak memory of the chapter-1 run, inference throughput (build/bench/infer), and
nndl's products against OpenBLAS and libxsmm shape by shape
(build/bench/kernels).
Needs Debian's python3-numpy, python3-torch, python3-threadpoolctl
(bench/ensure-deps.sh) and MNIST where nndl finds it.
"""
import argparse
import itertools
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import common
import serve_load

ROOT = common.ROOT
BENCH = os.path.join(ROOT, "bench")
NNDL = os.path.join(ROOT, "build", "nndl")
INFER = os.path.join(ROOT, "build", "bench", "infer")
KERNELS = os.path.join(ROOT, "build", "bench", "kernels")
CORE_LATENCY = common.CORE_LATENCY
PYTHON = "/usr/bin/python3"  # Debian's, where python3-numpy and -torch install

ETA = 0.5
RECIPES = [  # title, sizes, mini-batch size
    ("[784,30,10], batch 10", "784,30,10", 10),
    ("[784,100,10], batch 10", "784,100,10", 10),
    ("[784,100,10], batch 100", "784,100,10", 100),
    ("[784,100,100,100,10], batch 10", "784,100,100,100,10", 10),
]
NNDL_EPOCHS = 5
NUMPY_EPOCHS = 5
TORCH_EPOCHS = 3
BOOK_EXAMPLES = 10000  # of 50,000: a fifth of an epoch
PEERS = [  # key, name in the tables, script, options
    ("numpy", "numpy float32, mini-batch matrices", "peer_numpy.py",
     ["--epochs", str(NUMPY_EPOCHS)]),
    ("torch", "PyTorch (CPU)", "peer_torch.py", ["--epochs", str(TORCH_EPOCHS)]),
    ("book", "book's network2.py (per example, float64)", "peer_book.py",
     ["--examples", str(BOOK_EXAMPLES)]),
]
CHAPTER1 = ["train", "--sizes", "784,30,10", "--epochs", "1", "--init", "large"]

# Chapter 6's networks (issue 17): title, --layers, nndl options, the PyTorch
# peer's --net. nndl trains CONV_EXAMPLES images per epoch (timed, scaled to
# 50,000), the peer CONV_TORCH_EXAMPLES.
CONV_RECIPES = [
    ("two conv-pool layers, sigmoid, batch 10",
     "conv:20:5:sigmoid,pool:2,conv:40:5:sigmoid,pool:2,fc:100:sigmoid,softmax:10",
     ["--eta", "0.1"], "two-conv"),
    ("the book's final network (ReLU, 2 x FC 1,000, dropout 0.5), batch 10",
     "conv:20:5:relu,pool:2,conv:40:5:relu,pool:2,fc:1000:relu:dropout=0.5,"
     "fc:1000:relu:dropout=0.5,softmax:10:dropout=0.5",
     ["--eta", "0.03", "--lambda", "1"], "final"),  # network3.py's lmbda 0.1 at m = 10
]
# The final network with the 250,000 expanded images in memory (held as
# bytes): one whole epoch of them and the test set's evaluation, what
# training it costs in memory (about a minute).
FINAL_EXPANDED = ["train", "--layers", CONV_RECIPES[1][1], *CONV_RECIPES[1][2], "--expanded",
                  "--epochs", "1", "--threads", "1"]
CONV_EXAMPLES = 10000
CONV_EPOCHS = 3
CONV_TORCH_EXAMPLES = 5000


def conv_flops(layers, n=50000):
    """Training FLOPs of one epoch of a --layers network, counting each
    convolution and product as its dense multiply-adds (2 FLOP each):
    forward, BP4, and BP2 for every layer but the first, as epoch_flops."""
    c, h, w = 1, 28, 28
    macs = []
    for item in layers.split(","):
        kind, *rest = item.split(":")
        if kind == "conv":
            maps, k = int(rest[0]), int(rest[1])
            h, w = h - k + 1, w - k + 1
            macs.append(h * w * k * k * c * maps)
            c = maps
        elif kind == "pool":
            h, w = h // int(rest[0]), w // int(rest[0])
        else:
            neurons = int(rest[0])
            macs.append(c * h * w * neurons)
            c, h, w = neurons, 1, 1
    return 2.0 * n * (2 * sum(macs) + sum(macs[1:]))


def train_epochs(cmd, history, env):
    """Runs an `nndl train` command and returns its --history epochs."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{proc.stderr.strip()}")
    with open(history) as f:
        return [json.loads(line) for line in f][1:]


def nndl_conv(layers, options, threads, workdir, env, save=None):
    history = os.path.join(workdir, f"conv-{threads}-{len(layers)}.jsonl")
    cmd = [NNDL, "train", "--layers", layers, *options, "--epochs", str(CONV_EPOCHS),
           "--train-size", str(CONV_EXAMPLES), "--seed", "1", "--threads", str(threads),
           "--history", history, "--eval", "test"]
    epochs = train_epochs(cmd + (["--save", save] if save else []), history, env)
    scale = 50000 / CONV_EXAMPLES
    return {"seconds": statistics.median(e["seconds"] for e in epochs) * scale,
            "accuracy": epochs[-1]["evaluation_accuracy"],
            "accuracy_after": f"after {len(epochs)} epochs of {CONV_EXAMPLES:,}",
            "timed": f"median of {len(epochs)} epochs of {CONV_EXAMPLES:,} images, x{scale:g}"}


# The final network's 2-thread ratio: 1 thread and 2 threads alternately,
# SCALING_PAIRS times, each pair's ratio apart. The table's runs of 1 and 2
# threads are minutes apart, and this machine's speed drifts by a tenth or
# more in minutes; a pair's two runs share their moment.
SCALING_PAIRS = 5


def final_scaling(workdir, env):
    _, layers, options, _ = CONV_RECIPES[1]
    ratios, trips = [], []
    for _ in range(SCALING_PAIRS):
        one = nndl_conv(layers, options, 1, workdir, env)
        before = common.round_trip_ns()
        two = nndl_conv(layers, options, 2, workdir, env)
        trips.append((before, common.round_trip_ns()))
        ratios.append(one["seconds"] / two["seconds"])
    return {"ratios": ratios, "round_trip_ns": trips}


# The 1-thread targets: the sgemm rate, then each network by nndl and by
# PyTorch, in turn, CONV_ROUNDS times; each round's share and ratio apart,
# the targets on their medians. The first round is the table's.
CONV_ROUNDS = 3


def conv_round(workdir, env, first=None, rate=None):
    """One round on 1 thread: sgemm, then nndl and PyTorch on each network
    (`first` and `rate`: the table's runs and the sgemm rate just before
    them, taken instead of new ones)."""
    rate = rate or sgemm(1)["gflops"]
    r = {"sgemm": rate}
    for _, layers, options, net in CONV_RECIPES:
        pair = first[net] if first else {"nndl": nndl_conv(layers, options, 1, workdir, env),
                                          "torch": torch_conv(net, 1)}
        r[net] = {"share": conv_flops(layers) / pair["nndl"]["seconds"] / 1e9 / rate,
                  "vs_torch": pair["torch"]["seconds"] / pair["nndl"]["seconds"]}
    return r


def torch_conv(net, threads):
    r = run_json([PYTHON, "peer_torch_conv.py", "--net", net, "--threads", str(threads),
                  "--epochs", "1", "--examples", str(CONV_TORCH_EXAMPLES)], blas_env(threads))
    n = r["examples_timed"]
    r["seconds"] = statistics.median(r["epoch_seconds"])
    r["timed"] = f"{n:,} of 50,000 examples timed, x{50000 / n:g}"
    r["accuracy_after"] = f"after {n:,} examples"
    return r


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def blas_env(threads):
    """The environment of the numpy, torch and sgemm runs."""
    env = dict(os.environ)
    env.pop("OPENBLAS_L2_SIZE", None)
    env.pop("OPENBLAS_CORETYPE", None)
    coretype = common.openblas_coretype()
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    env.update(OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    return env


def run_json(cmd, env):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=BENCH)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def sgemm(threads, env=None):
    return run_json([PYTHON, "sgemm.py", "--threads", str(threads)], env or blas_env(threads))


def nndl_train(sizes, batch, threads, workdir, env, save=None):
    history = os.path.join(workdir, f"h-{sizes}-{batch}-{threads}.jsonl")
    cmd = [NNDL, "train", "--sizes", sizes, "--batch", str(batch), "--eta", str(ETA),
           "--cost", "cross-entropy", "--init", "scaled", "--epochs", str(NNDL_EPOCHS),
           "--seed", "1", "--threads", str(threads), "--history", history, "--eval", "test"]
    epochs = train_epochs(cmd + (["--save", save] if save else []), history, env)
    return {"seconds": statistics.median(e["seconds"] for e in epochs),
            "epoch_seconds": [e["seconds"] for e in epochs],
            "accuracy": epochs[-1]["evaluation_accuracy"],
            "accuracy_after": f"after {len(epochs)} epochs",
            "timed": f"median of {len(epochs)} epochs"}


def peer(script, options, sizes, batch, threads):
    r = run_json([PYTHON, script, "--sizes", sizes, "--batch", str(batch), "--eta", str(ETA),
                  "--threads", str(threads), *options], blas_env(threads))
    n, k = r["examples_timed"], len(r["epoch_seconds"])
    if n < 50000:
        r["timed"] = f"{n:,} of 50,000 examples timed, x{50000 / n:g}"
        r["accuracy_after"] = f"after {n:,} examples"
    else:
        r["timed"] = f"median of {k} epochs"
        r["accuracy_after"] = f"after {k} epochs"
    r["seconds"] = statistics.median(r["epoch_seconds"])
    return r


def peak_rss_kib(cmd, env):
    """Runs cmd and returns its maximum resident set size (getrusage of the
    child, through wait4)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{err.decode().strip()}")
    return usage.ru_maxrss


def busy_jiffies():
    """CPU time the whole machine spent busy, in clock ticks (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4]  # minus idle and iowait


def own_cpu_seconds():
    import resource
    c, s = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    return c.ru_utime + c.ru_stime + s.ru_utime + s.ru_stime


def threads_text(t):
    return f"{t} thread" if t == 1 else f"{t} threads"


def describe_blas(info):
    parts = []
    for i in info:
        if i.get("internal_api") == "openblas":
            parts.append(f"OpenBLAS {i.get('version')} kernel {i.get('architecture')} "
                         f"({i.get('threading_layer')}, {threads_text(i.get('num_threads'))})")
        elif i.get("internal_api"):
            name = os.path.basename(i.get("filepath", "")).split(".so")[0] or i["internal_api"]
            parts.append(f"{i['internal_api']} ({name}, {threads_text(i.get('num_threads'))})")
    return "; ".join(parts) or "none seen"


def torch_summary(config):
    keep = []
    for line in config.splitlines():
        line = line.strip(" -")
        if line.startswith(("CPU capability", "Intel(R) MKL-DNN", "OpenMP")):
            keep.append(line)
    m = re.search(r"BLAS_INFO=(\w+)", config)
    if m:
        keep.append(f"BLAS_INFO={m.group(1)} (libblas.so.3, which Debian points at OpenBLAS)")
    return "; ".join(keep)


def cc_version():
    try:
        return subprocess.run(["cc", "--version"], capture_output=True,
                              text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "unknown"


def fmt_rate(x):
    return f"{x:,.0f}"


def recipe_table(title, sizes, batch, threads, rows, sgemm_rate):
    flops = common.epoch_flops([int(s) for s in sizes.split(",")])
    floor = flops / (sgemm_rate * 1e9)
    nndl_s = rows[0][1]["seconds"]
    out = [f"### {title}, {threads_text(threads)}", "",
           f"{flops / 1e9:.3g} GFLOP per epoch; sgemm at {threads_text(threads)}: "
           f"{sgemm_rate:.0f} GFLOP/s, so the floor is {floor:.4f} s per epoch.", "",
           "| Implementation | s/epoch | examples/s | GFLOP/s | of sgemm | nndl is | "
           "test accuracy | timed |",
           "|---|---:|---:|---:|---:|---:|---|---|"]
    for name, r in rows:
        s = r["seconds"]
        gf = flops / s / 1e9
        ratio = "—" if r is rows[0][1] else f"{s / nndl_s:.1f}x faster" if s >= nndl_s \
            else f"{nndl_s / s:.1f}x slower"
        out.append(f"| {name} | {s:.3f} | {fmt_rate(50000 / s)} | {gf:.1f} | "
                   f"{100 * gf / sgemm_rate:.1f}% | {ratio} | {100 * r['accuracy']:.2f}% "
                   f"{r['accuracy_after']} | {r['timed']} |")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "PERFORMANCE.md"))
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    args = parser.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]
    for path in (NNDL, INFER, CORE_LATENCY, KERNELS):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {path} missing: run `make bench`")

    started, busy0, own0 = time.monotonic(), busy_jiffies(), own_cpu_seconds()
    load_before = open("/proc/loadavg").read().split()[:3]
    nndl_env = dict(os.environ, NNDL_DATA=common.mnist_dir())
    res = {"sgemm": {}, "runs": {}}

    with tempfile.TemporaryDirectory() as workdir:
        model = os.path.join(workdir, "784-100-10.nndl")
        log("sgemm with the inherited environment (" + (", ".join(
            f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS_"))
            or "no OPENBLAS_ variables") + ")")
        env1 = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        res["sgemm_inherited"] = sgemm(1, env1)
        for t in thread_counts:
            res["sgemm"][t] = sgemm(t)
            log(f"sgemm, {threads_text(t)}: {res['sgemm'][t]['gflops']:.0f} GFLOP/s")
            for title, sizes, batch in RECIPES:
                save = model if (sizes, batch, t) == ("784,100,10", 10, thread_counts[0]) \
                    else None
                before = common.round_trip_ns() if t > 1 else None
                rows = [("nndl", nndl_train(sizes, batch, t, workdir, nndl_env, save))]
                if t > 1:
                    rows[0][1]["round_trip_ns"] = (before, common.round_trip_ns())
                for key, name, script, options in PEERS:
                    rows.append((name, peer(script, options, sizes, batch, t)))
                res["runs"][(title, t)] = rows
                log(f"{title}, {threads_text(t)}: " + ", ".join(
                    f"{n.split(' ')[0]} {r['seconds']:.3f} s" for n, r in rows))

        res["conv"], res["conv_rounds"] = {}, []
        final_model = os.path.join(workdir, "final.nndl")
        for t in thread_counts:
            rate = sgemm(1)["gflops"] if t == 1 else None
            for title, layers, options, net in CONV_RECIPES:
                save = final_model if (net, t) == ("final", thread_counts[0]) else None
                before = common.round_trip_ns() if t > 1 else None
                n = nndl_conv(layers, options, t, workdir, nndl_env, save)
                if t > 1:
                    n["round_trip_ns"] = (before, common.round_trip_ns())
                res["conv"][(net, t)] = {"nndl": n, "torch": torch_conv(net, t)}
                log(f"{net}, {threads_text(t)}: nndl {n['seconds']:.2f} s, PyTorch "
                    f"{res['conv'][(net, t)]['torch']['seconds']:.2f} s per epoch")
            if t == 1:
                first = {net: res["conv"][(net, 1)] for *_, net in CONV_RECIPES}
                res["conv_rounds"].append(conv_round(workdir, nndl_env, first, rate))
        if 1 in thread_counts:
            log(f"the networks on 1 thread, sgemm, nndl and PyTorch in turn, "
                f"{CONV_ROUNDS - 1} more rounds")
            for _ in range(CONV_ROUNDS - 1):
                res["conv_rounds"].append(conv_round(workdir, nndl_env))
        if 1 in thread_counts and 2 in thread_counts:
            log(f"the final network, 1 and 2 threads alternately, {SCALING_PAIRS} pairs")
            res["conv_scaling"] = final_scaling(workdir, nndl_env)
        res["conv_infer"] = {}
        for t in thread_counts:
            p = subprocess.run([INFER, final_model, str(t), "3"], capture_output=True,
                               text=True, env=nndl_env)
            if p.returncode != 0:
                sys.exit(f"bench: {INFER} failed:\n{p.stderr.strip()}")
            res["conv_infer"][t] = json.loads(p.stdout)

        log("peak memory of `nndl " + " ".join(CHAPTER1) + "`")
        res["rss_kib"] = peak_rss_kib([NNDL, *CHAPTER1], nndl_env)
        # the expanded set, into ./data/mnist where `--expanded` looks
        subprocess.run([NNDL, "expand", "--out", os.path.join(ROOT, "data", "mnist")],
                       check=True, stdout=subprocess.DEVNULL, env=nndl_env, cwd=ROOT)
        log("peak memory of `nndl " + " ".join(FINAL_EXPANDED) + "`")
        res["final_rss_kib"] = peak_rss_kib([NNDL, *FINAL_EXPANDED], nndl_env)
        res["infer"] = {}
        for t in thread_counts:
            p = subprocess.run([INFER, model, str(t)], capture_output=True, text=True,
                               env=nndl_env)
            if p.returncode != 0:
                sys.exit(f"bench: {INFER} failed:\n{p.stderr.strip()}")
            res["infer"][t] = json.loads(p.stdout)
            log(f"inference, {threads_text(t)}: "
                f"{res['infer'][t]['evaluate_images_per_second']:,.0f} images/s")
        log("nndl's products against OpenBLAS and libxsmm (build/bench/kernels)")
        p = subprocess.run([KERNELS], capture_output=True, text=True,
                           env=dict(blas_env(1), NNDL_DATA=nndl_env["NNDL_DATA"]))
        if p.returncode != 0:
            sys.exit(f"bench: {KERNELS} failed:\n{p.stderr.strip()}")
        res["kernels"] = p.stdout.strip()
        log(f"nndl serve under wrk, {serve_load.SECONDS} s per kind of request")
        res["serve"] = serve_load.measure(model)
        for r in res["serve"].values():
            log(f"  {r['title']}: {r['requests'] / r['seconds']:,.0f} requests/s")

    wall = time.monotonic() - started
    ticks = os.sysconf("SC_CLK_TCK")
    other = max(0.0, (busy_jiffies() - busy0) / ticks - (own_cpu_seconds() - own0))
    res.update(wall=wall, other_cores=other / wall, load_before=load_before,
               load_after=open("/proc/loadavg").read().split()[:3])
    text = render(res, thread_counts)
    print(text)
    with open(args.out, "w") as f:
        f.write(text)
    log(f"wrote {os.path.relpath(args.out, ROOT)}; the whole run took {wall:.0f} s")


def render(res, thread_counts):
    runs, sg = res["runs"], {t: res["sgemm"][t]["gflops"] for t in thread_counts}
    t1 = thread_counts[0]
    first = runs[(RECIPES[0][0], t1)]
    blas = {name: describe_blas(r["blas"]) for name, r in first[1:]}
    torch_r = dict(first)["PyTorch (CPU)"]

    # Overview: one row per recipe and thread count.
    overview = ["| Recipe | Threads | nndl s/epoch | nndl GFLOP/s | of sgemm | "
                "vs numpy f32 | vs PyTorch | vs book | nndl accuracy |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    tables = []
    for title, sizes, batch in RECIPES:
        for t in thread_counts:
            rows = runs[(title, t)]
            tables.append(recipe_table(title, sizes, batch, t, rows, sg[t]))
            n = rows[0][1]
            gf = common.epoch_flops([int(s) for s in sizes.split(",")]) / n["seconds"] / 1e9
            ratios = [f"{r['seconds'] / n['seconds']:.1f}x" for _, r in rows[1:]]
            overview.append(f"| {title} | {t} | {n['seconds']:.3f} | {gf:.1f} | "
                            f"{100 * gf / sg[t]:.1f}% | {' | '.join(ratios)} | "
                            f"{100 * n['accuracy']:.2f}% |")

    # Two threads against one, for every implementation.
    scaling = ""
    if 1 in thread_counts and 2 in thread_counts:
        names = [n for n, _ in runs[(RECIPES[0][0], 1)]]
        scaling = ["| Recipe | " + " | ".join(names) + " | cores' round trip |",
                   "|---|" + "---:|" * (len(names) + 1)]
        torch_worse = []
        for title, _, _ in RECIPES:
            one, two = runs[(title, 1)], runs[(title, 2)]
            ratios = [a[1]["seconds"] / b[1]["seconds"] for a, b in zip(one, two)]
            trip = "{} / {} ns".format(*two[0][1]["round_trip_ns"])
            scaling.append(f"| {title} | " + " | ".join(f"{r:.2f}x" for r in ratios) +
                           f" | {trip} |")
            if ratios[2] < 0.9:
                torch_worse.append(title)
        scaling = "\n".join(scaling) + ROUND_TRIP_NOTE.format(placement=placement_summary())
        if torch_worse:
            scaling += ("\n\nPyTorch was slower with 2 threads than with 1 on "
                        + "; ".join(torch_worse) + ". Its OpenMP threads (libgomp) spin "
                        "while waiting, and compete for the 2 cores with OpenBLAS's own "
                        "pthreads, which torch calls for the products; "
                        "OMP_WAIT_POLICY=passive reduces the loss, but the tables keep "
                        "torch's defaults.")
    else:
        scaling = "(needs runs with 1 and 2 threads)"

    # Issue 4's targets.
    def secs(title, t, i=0):
        return runs[(title, t)][i][1]["seconds"]
    r30, r100b = RECIPES[0], RECIPES[2]
    f30 = common.epoch_flops([784, 30, 10])
    f100 = common.epoch_flops([784, 100, 10])
    frac30 = f30 / secs(r30[0], t1) / 1e9 / sg[t1]
    vs_torch = secs(r30[0], t1, 2) / secs(r30[0], t1)
    vs_numpy = secs(r30[0], t1, 1) / secs(r30[0], t1)
    all_torch = [runs[k][2][1]["seconds"] / runs[k][0][1]["seconds"] for k in runs]
    all_numpy = [runs[k][1][1]["seconds"] / runs[k][0][1]["seconds"] for k in runs]
    over_floor = secs(r100b[0], t1) / (f100 / (sg[t1] * 1e9))
    mb = res["rss_kib"] * 1024 / 1e6
    met = lambda ok: "met" if ok else "not met"
    targets = [
        "| Target | Measured | |", "|---|---|---|",
        f"| [784,30,10] batch 10, 1 thread: >= 60% of the sgemm rate | {100 * frac30:.1f}% "
        f"({f30 / secs(r30[0], t1) / 1e9:.1f} of {sg[t1]:.0f} GFLOP/s) | {met(frac30 >= 0.6)} |",
        f"| >= 20x PyTorch ([784,30,10] batch 10, 1 thread) | {vs_torch:.1f}x "
        f"(all rows: {min(all_torch):.1f}x to {max(all_torch):.1f}x) | {met(vs_torch >= 20)} |",
        f"| >= 5x numpy float32 ([784,30,10] batch 10, 1 thread) | {vs_numpy:.1f}x "
        f"(all rows: {min(all_numpy):.1f}x to {max(all_numpy):.1f}x) | {met(vs_numpy >= 5)} |",
        f"| [784,100,10] batch 100, 1 thread: within 1.3x of the sgemm floor | "
        f"{over_floor:.2f}x the floor ({secs(r100b[0], t1):.3f} s against "
        f"{f100 / (sg[t1] * 1e9):.4f} s) | {met(over_floor <= 1.3)} |"]
    if 2 in thread_counts and 1 in thread_counts:
        scale = secs(r100b[0], 1) / secs(r100b[0], 2)
        trip = runs[(r100b[0], 2)][0][1]["round_trip_ns"]
        shared = max(trip) < common.SHARED_CACHE_NS
        targets.append(f"| [784,100,10] batch 100: 2 threads >= 1.7x as fast as 1 | "
                       f"{scale:.2f}x ({secs(r100b[0], 1):.3f} s, {secs(r100b[0], 2):.3f} s; "
                       f"cores' round trip {trip[0]} / {trip[1]} ns: cores that "
                       f"{'share' if shared else 'do not share'} a cache; the other "
                       f"placement is in the table of PLACEMENT.md above) | "
                       f"{met(scale >= 1.7)} in this run |")
    targets.append(f"| peak memory of `nndl {' '.join(CHAPTER1)}` < 100 MB | "
                   f"{mb:.1f} MB (max RSS) | {met(mb < 100)} |")

    infer = ["| Threads | nndl_net_evaluate, images/s | nndl_net_feedforward, images/s | "
             "test accuracy |", "|---:|---:|---:|---|"]
    for t in thread_counts:
        i = res["infer"][t]
        infer.append(f"| {t} | {fmt_rate(i['evaluate_images_per_second'])} | "
                     f"{fmt_rate(i['feedforward_images_per_second'])} | "
                     f"{100 * i['correct'] / i['images']:.2f}% |")

    conv = render_conv(res, thread_counts, sg)

    inherited = res["sgemm_inherited"]
    nndl_version = subprocess.run([NNDL, "--version"], capture_output=True,
                                  text=True).stdout.strip()
    versions = (f"{nndl_version} built by {cc_version()}; Python "
                f"{platform.python_version()}, numpy {first[1][1].get('numpy')}, PyTorch "
                f"{torch_r.get('torch')}, OpenBLAS {res['sgemm'][t1]['blas'][0].get('version')}")
    return TEMPLATE.format(
        cpu=common.cpu_model(), isa=common.vector_isa(), cores=os.cpu_count(), date=time.strftime("%Y-%m-%d %H:%M"),
        versions=versions, wall=res["wall"], other=res["other_cores"],
        load=" ".join(res["load_before"]), load_after=" ".join(res["load_after"]),
        sgemm="; ".join(f"{threads_text(t)} {sg[t]:.0f} GFLOP/s "
                        f"(best {res['sgemm'][t]['best_gflops']:.0f})" for t in thread_counts),
        sgemm_kernel=describe_blas(res["sgemm"][t1]["blas"]),
        inherited_env=", ".join(f"{k}={v}" for k, v in sorted(inherited["env"].items())
                                if k.startswith("OPENBLAS_CORETYPE") or k == "OPENBLAS_L2_SIZE")
        or "no OPENBLAS_CORETYPE",
        inherited_rate=inherited["gflops"], inherited_kernel=describe_blas(inherited["blas"]),
        blas_choice=("The numpy, torch and sgemm runs set OPENBLAS_CORETYPE=SkylakeX (this CPU "
                     "has AVX-512, which OpenBLAS 0.3.21 does not see on Zen 4 and 5) and drop "
                     "OPENBLAS_L2_SIZE." if common.openblas_coretype() else
                     "The numpy, torch and sgemm runs drop OPENBLAS_CORETYPE and "
                     "OPENBLAS_L2_SIZE and let OpenBLAS choose its kernel (this CPU has no "
                     "AVX-512)."),
        numpy_blas=blas["numpy float32, mini-batch matrices"],
        torch_blas=blas["PyTorch (CPU)"], torch_config=torch_summary(torch_r["torch_config"]),
        torch_threads=torch_r["torch_threads"], book_blas=blas[PEERS[2][1]],
        overview="\n".join(overview), scaling=scaling, tables="\n\n".join(tables), targets="\n".join(targets),
        infer="\n".join(infer), kernels=res["kernels"], mb=mb, chapter1=" ".join(CHAPTER1),
        nndl_epochs=NNDL_EPOCHS, numpy_epochs=NUMPY_EPOCHS, torch_epochs=TORCH_EPOCHS,
        book_examples=BOOK_EXAMPLES, book_scale=50000 / BOOK_EXAMPLES, eta=ETA,
        serve=serve_load.table(res["serve"]), serve_seconds=serve_load.SECONDS,
        serve_connections=serve_load.CONNECTIONS, conv=conv,
        conv_shares=conv_shares(res, t1, sg[t1]))


def rounded_down(x, places):
    """x with `places` decimals, rounded down: no value short of a target
    reads as reaching it. (The 1e-9 keeps 100 * 0.58 = 57.999... at 58.0.)"""
    return f"{math.floor(x * 10 ** places + 1e-9) / 10 ** places:.{places}f}"


def conv_round_values(res, net, key):
    """A network's share of the sgemm rate (key "share") or ratio to
    PyTorch ("vs_torch") in each 1-thread round."""
    return [r[net][key] for r in res["conv_rounds"]]


def conv_shares(res, t1, rate):
    """Each convolutional network's share of the sgemm rate on t1 threads:
    the median of the rounds where there are rounds."""
    def share(layers, net):
        if res["conv_rounds"]:
            return statistics.median(conv_round_values(res, net, "share"))
        return conv_flops(layers) / res["conv"][(net, t1)]["nndl"]["seconds"] / 1e9 / rate
    return ", ".join(f"{net} {100 * share(layers, net):.1f}%"
                     for _, layers, _, net in CONV_RECIPES)


def render_conv(res, thread_counts, sg):
    """Chapter 6's networks: nndl against PyTorch, and issue 17's targets."""
    t1 = thread_counts[0]
    out = ["| Network | Threads | nndl s/epoch | GFLOP/s | of sgemm | PyTorch s/epoch | "
           "nndl is | nndl accuracy | PyTorch accuracy |",
           "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for t in thread_counts:
        for title, layers, _, net in CONV_RECIPES:
            r = res["conv"][(net, t)]
            n, p = r["nndl"], r["torch"]
            gf = conv_flops(layers) / n["seconds"] / 1e9
            # 1 thread: of the sgemm rate just before these runs, where measured
            rate = res["conv_rounds"][0]["sgemm"] if t == 1 and res["conv_rounds"] else sg[t]
            out.append(f"| {title} | {t} | {n['seconds']:.2f} | {gf:.1f} | "
                       f"{100 * gf / rate:.1f}% | {p['seconds']:.2f} | "
                       f"{p['seconds'] / n['seconds']:.1f}x faster | "
                       f"{100 * n['accuracy']:.2f}% {n['accuracy_after']} | "
                       f"{100 * p['accuracy']:.2f}% {p['accuracy_after']} |")
    out += ["", "nndl: " + res["conv"][(CONV_RECIPES[0][3], t1)]["nndl"]["timed"] +
            "; PyTorch: " + res["conv"][(CONV_RECIPES[0][3], t1)]["torch"]["timed"] + "."]
    if res["conv_rounds"]:
        out += ["", ROUNDS_NOTE.format(rounds=len(res["conv_rounds"]))]
    out += ["", "| Target | Measured | |", "|---|---|---|"]
    met = lambda ok: "met" if ok else "not met"
    rounds = len(res["conv_rounds"])
    for title, layers, _, net in CONV_RECIPES:
        need = 3.5 if net == "two-conv" else 4.0
        if rounds:
            shares = conv_round_values(res, net, "share")
            ratios = conv_round_values(res, net, "vs_torch")
            frac, vs = statistics.median(shares), statistics.median(ratios)
            out.append(f"| {net}, 1 thread: >= 60% of the sgemm rate, {rounds} rounds | median "
                       f"{rounded_down(100 * frac, 1)}% (each round: "
                       f"{', '.join(rounded_down(100 * x, 1) + '%' for x in shares)}) | "
                       f"{met(frac >= 0.6)} |")
            out.append(f"| {net}, 1 thread: >= {need}x PyTorch, {rounds} rounds | median "
                       f"{rounded_down(vs, 2)}x (each round: "
                       f"{', '.join(rounded_down(x, 2) + 'x' for x in ratios)}) | "
                       f"{met(vs >= need)} |")
            continue
        r = res["conv"][(net, t1)]
        frac = conv_flops(layers) / r["nndl"]["seconds"] / 1e9 / sg[t1]
        vs = r["torch"]["seconds"] / r["nndl"]["seconds"]
        out.append(f"| {net}, 1 thread: >= 60% of the sgemm rate | {100 * frac:.1f}% | "
                   f"{met(frac >= 0.6)} |")
        out.append(f"| {net}, 1 thread: >= {need}x PyTorch | {vs:.1f}x | {met(vs >= need)} |")
    if 1 in thread_counts and 2 in thread_counts:
        one, two = res["conv"][("final", 1)]["nndl"], res["conv"][("final", 2)]["nndl"]
        scale = one["seconds"] / two["seconds"]
        trip = two["round_trip_ns"]
        shared = max(trip) < common.SHARED_CACHE_NS
        out.append(f"| final, 2 threads >= 1.6x 1 thread | {scale:.2f}x (cores' round trip "
                   f"{trip[0]} / {trip[1]} ns: cores that "
                   f"{'share' if shared else 'do not share'} a cache) | "
                   f"{met(scale >= 1.6)} in this run |")
        pairs = res.get("conv_scaling")
        if pairs:
            r = pairs["ratios"]
            trips = [t for pair in pairs["round_trip_ns"] for t in pair]
            out.append(f"| final, 2 threads >= 1.6x 1 thread, {len(r)} alternating pairs of "
                       f"runs | median {statistics.median(r):.2f}x (each pair: "
                       f"{', '.join(f'{x:.2f}' for x in r)}; round trips {min(trips)}-"
                       f"{max(trips)} ns) | {met(statistics.median(r) >= 1.6)} in this run |")
        final_epoch = min(one["seconds"], two["seconds"])
        recipe = final_epoch * 5 * 40 / 60
        out.append(f"| the final recipe, 40 epochs of 250,000 images, <= 30 minutes | "
                   f"{recipe:.0f} minutes at the best rate above ({final_epoch:.1f} s per "
                   f"50,000 images; an estimate, not a run) | {met(recipe <= 30)} |")
    full = os.path.join(ROOT, "docs", "full-recipe.json")
    if os.path.exists(full):
        r = json.load(open(full))
        out.append(f"| the final recipe as a run (`python3 bench/full_recipe.py`: {r['date']}, "
                   f"commit {r['commit']}, {r['machine']}) | {r['wall_minutes']:.1f} minutes "
                   f"from start to end ({r['training_minutes']:.1f} of them training, the rest "
                   f"loading, evaluating and checkpoints; epochs of {min(r['epoch_seconds']):.0f}"
                   f" to {max(r['epoch_seconds']):.0f} s); test accuracy "
                   f"{r['test_at_best_validation']:.2%} at its best validation epoch | "
                   f"{met(r['wall_minutes'] <= 30)} |")
    store = os.path.join(ROOT, "docs", "results.json")
    final_runs = json.load(open(store)).get("ch6-final", {}).get("runs", []) \
        if os.path.exists(store) else []
    if final_runs:
        hours = sum(r["wall"] for r in final_runs) / 3600
        out.append(f"| the 5-network ensemble, <= 3 hours (`python3 scripts/results.py --only "
                   f"ch6-final,ch6-ensemble`, one network per core) | {hours:.1f} hours of "
                   f"runs in docs/RESULTS.md, two at a time: {hours / 2:.1f} hours on the 2 "
                   f"cores (from the runs' own times, which shared the machine with other "
                   f"work) | {met(hours / 2 <= 3)} |")
    final_mb = res["final_rss_kib"] * 1024 / 1e6
    out.append(f"| training the final network on the 250,000 expanded images: < 500 MB "
               f"resident | {final_mb:.0f} MB (max RSS of `nndl {' '.join(FINAL_EXPANDED)}`) | "
               f"{met(final_mb < 500)} |")
    infer = res["conv_infer"]
    torch_infer = res["conv"][("final", t1)]["torch"]["inference_per_second"]
    out += ["", "Inference of the final network over the 10,000 test images "
            "(`build/bench/infer`, as `nndl eval` does it), against PyTorch's "
            "`torch.no_grad()` forward at batch 1,000:", "",
            "| Threads | nndl images/s | PyTorch images/s (1 thread) |", "|---:|---:|---:|"]
    for t in thread_counts:
        out.append(f"| {t} | {fmt_rate(infer[t]['evaluate_images_per_second'])} | "
                   f"{fmt_rate(torch_infer) if t == t1 else ''} |")
    return "\n".join(out)


ROUNDS_NOTE = """The 1-thread targets below are taken in {rounds} rounds: each round
measures the sgemm rate, then each network by nndl and by PyTorch, one
after another, and gives each network's share of that sgemm rate and its
ratio to PyTorch. The first round's runs are the table's (their share is
of the sgemm rate measured just before them). The targets are judged on
the median of the rounds, shown rounded down. This machine's speed drifts
by a tenth or more within minutes, and the sgemm rate at the start of the
benchmark is minutes away from these runs."""


ROUND_TRIP_NOTE = """

The last column is the time a cache line takes from one core to the other
and back (`build/bench/core_latency`, `bench/core_latency.c`), measured
just before and just after nndl's 2-thread run. On a virtual machine the
host may place the two virtual CPUs on cores that share a cache (some
120 ns here) or on cores that do not (some 400 ns), and move them from
minute to minute: one run of this benchmark sees one or the other.
`make bench-placement` (`bench/placement.py`) alternates 2-thread and
1-thread runs of [784,100,10] at mini-batch 100 with those measurements,
some thirty times, and sorts the 2-thread runs by placement; it writes
[PLACEMENT.md](PLACEMENT.md), whose latest summary follows.

{placement}

Each thread keeps one part of layer 1's pixels and weights, gathered,
summed and stepped by it alone (see docs/ARCHITECTURE.md). Still, in every
batch of 100 each thread reads what the other wrote: half of the other
part's sums (50 examples x 100 neurons, 20 KB) before the errors, half of
the errors delta^1 (another 20 KB) before the step, and the upper layer's
weights. Between cores that share no cache, that traffic takes most of what
the second thread saves. Splitting layer 1 by neurons instead of by pixels
would leave only layer 2's partial sums (100 x 10 values) to cross, but it
would not reach 1.7x on either placement: every thread would then need every
pixel of the batch, and gathering them would be done twice; and 100
neurons are 7 vectors of 16, split 4 and 3. A perf profile of the 1-thread
run (as in "Where the time goes", with `--sizes 784,100,10 --batch 100`;
by hand, 2026-11-29) gave layer 1's two products 78% of the training
samples and `gather_block` 8%: the thread with 4 vectors would do
4/7 x 78% + 8% + half of the remaining 14% = 60% of the 1-thread work,
1.68x at best before any hand-over. That split is not built."""


def placement_summary():
    """docs/PLACEMENT.md's 1-thread line and its table by placement."""
    path = os.path.join(ROOT, "docs", "PLACEMENT.md")
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return "(no docs/PLACEMENT.md yet: run `make bench-placement`)"
    keep = [l for l in lines if l.startswith("1 thread, all rounds")]
    table = itertools.dropwhile(lambda l: not l.startswith("| 2 threads on |"), lines)
    table = list(itertools.takewhile(lambda l: l.startswith("|"), table))
    return "\n".join(keep + ([""] + table if table else []))


TEMPLATE = """# Performance: nndl against peers on the same machine

Every number below was produced by `make bench` (`bench/run.py`), which
runs nndl and its peers one after another in the same run, on the same
machine, with the same thread count, and writes this file.

- **Machine**: {cpu} ({isa}), {cores} cores; {date}. The whole run took {wall:.0f} s.
  Other processes kept on average {other:.2f} cores busy during the run
  (load average {load} before, {load_after} after): on a shared machine the
  ratios are more trustworthy than the absolute times.
- **Versions**: {versions}.
- **sgemm** (2048 x 2048 float32 through numpy and OpenBLAS, median of 7):
  {sgemm}, kernel: {sgemm_kernel}. With the environment this machine
  presets ({inherited_env}) the same product runs {inherited_rate:.0f} GFLOP/s
  at 1 thread ({inherited_kernel}). {blas_choice}
- **BLAS of each peer** (threadpoolctl's `threadpool_info()` inside the
  peer's process, 1-thread run): numpy float32: {numpy_blas}. PyTorch:
  {torch_blas}; `torch.__config__.show()`: {torch_config};
  torch.get_num_threads() = {torch_threads} at 1 thread. The book's
  algorithm: {book_blas}.

## What is measured

The same network and recipe everywhere: sigmoid hidden and output layers,
cross-entropy cost, mini-batch SGD with eta = {eta}, weights N(0, 1/n_in),
biases N(0, 1), the first 50,000 MNIST training images per epoch, accuracy
on the 10,000 test images.

- **nndl**: `build/nndl train --sizes S --batch M --eta {eta} --cost
  cross-entropy --init scaled --epochs {nndl_epochs} --seed 1 --threads T
  --history FILE --eval test`; the time is the median of the per-epoch
  `seconds` of the history, which covers training only (not the evaluation).
- **numpy float32** (`bench/peer_numpy.py`): each mini-batch as matrix
  products (forward, BP1-BP4, update); median of {numpy_epochs} epochs.
- **PyTorch** (`bench/peer_torch.py`): `nn.Linear` and `nn.Sigmoid` layers,
  `BCEWithLogitsLoss` (the output sigmoid and the cross-entropy cost in
  one), `torch.optim.SGD`, `torch.set_num_threads(T)`; median of
  {torch_epochs} epochs.
- **book** (`bench/peer_book.py`): network2.py's algorithm, backprop one
  example at a time in numpy float64. It is slow, so only the first
  {book_examples:,} examples of an epoch are timed and the time is scaled
  by {book_scale:g}; its accuracy is after those examples only.
- Each peer times shuffling and training, not loading or evaluation.
- **GFLOP/s** counts the matrix products only, 2 FLOP per multiply-add, for
  n = 50,000 examples: forward sum_l n_l n_(l-1), the weight gradient
  (BP3/BP4) the same, and BP2 for every layer but the first,
  sum_(l>=2) n_l n_(l-1). For [784,30,10]: 2 x 50,000 x (23,820 + 23,820 +
  300) = 4.794 GFLOP per epoch, whatever the mini-batch size. The update
  (2 FLOP per parameter per mini-batch: +5% at batch 10, +0.5% at batch 100)
  and the activations are not counted, so the rates are slight
  underestimates. nndl's plain step skips the zero pixels (some 80% of an
  MNIST image) in layer 1's forward product and weight gradient, so it
  does fewer multiply-adds than are counted here: its GFLOP/s are those
  of the dense products it replaces, and it can beat the floor.
- **of sgemm**: that rate as a fraction of the sgemm rate at the same
  thread count; the **floor** is the epoch's FLOPs at the sgemm rate.
- **nndl is**: the peer's time divided by nndl's.

## Overview

The ratios are the peer's seconds per epoch divided by nndl's (above 1:
nndl is faster).

{overview}

## Two threads against one

Seconds per epoch with 1 thread divided by seconds with 2 (above 1: the
second thread helps).

{scaling}

## Targets (issue 4)

{targets}

## Each recipe

{tables}

## Convolutional networks (chapter 6)

The two networks of chapter 6 that issue 17 measures, as `--layers` (the
exact commands are in `bench/run.py`, CONV_RECIPES) and as PyTorch modules
(`bench/peer_torch_conv.py`: `nn.Conv2d`, `nn.MaxPool2d`, `nn.Linear`,
`nn.Dropout`, log-softmax and `NLLLoss`, `torch.optim.SGD`). FLOPs count
each convolution and product as its dense multiply-adds: 9.2 million per
training image for the two-conv network, 18.7 million for the final one.
nndl's backward products skip the terms of errors that are exactly zero
(three quarters or more behind a max-pool, ReLU or dropout; see "Where the
time goes"), so their GFLOP/s and share of the sgemm rate are an
effective rate, the dense work over the time taken, and can pass what
the machine's multiply-adds could do densely. PyTorch computes every term.

{conv}

The machine a run is on matters, here as for the dense networks: the
same bench on an AVX-512 machine (Zen 5 EPYC, 2 cores, sgemm 178
GFLOP/s at 1 thread; docs/PERFORMANCE.md as of commit f6f334f, 2026-12-07,
before the AVX2 work and the pool's fix described under "Where the time
goes") measured the two-conv network at 4.36 s per epoch, 59.4% of that
sgemm rate and 2.6x PyTorch (11.39 s), and the final network at 9.07 s,
58.0% and 3.8x (34.59 s); 2 threads were 1.01x one there, on cores that
shared no cache. Both nndl and PyTorch (whose convolutions are
oneDNN's) take about twice as long per epoch on an AVX2 machine (Zen 3)
as on that one. A Zen 4 EPYC (2026-12-07) does AVX-512 in two 256-bit
halves: its sgemm ran 102 GFLOP/s at 1 thread against 149 on an Intel
Xeon the same day (docs/PERFORMANCE.md as of commit 15617ea), so shares of
it run higher there (94% and 118% against 63% and 72%), while the ratios
to PyTorch moved less: 3.2x and 4.8x on the Zen 4 (as of commit d2cbf70),
3.1x and 5.3x on the Xeon, and 2 threads 1.55x against 1.35x. On the Zen
4, epochs of the final network at 2 threads, timed one after another on
the idle machine, ranged over 0.92-1.14 s (10,000 images), so a run's
two-thread ratio is good to several percent only.

## Memory and inference

- Peak memory (maximum resident set size, from getrusage of the child) of
  `nndl {chapter1}`: {mb:.1f} MB.
- Inference: a [784,100,10] network trained by the batch-10 run above
  ({nndl_epochs} epochs, `--save`), over the 10,000 test images, timed
  inside `build/bench/infer` (`bench/infer.c`, linked with
  build/libnndl.a) without loading the data or the model; median of 7.
  `nndl_net_evaluate` includes turning the bytes into floats and counting;
  `nndl_net_feedforward` is the forward pass of the 10,000 images in one call.

{infer}

## nndl's products against OpenBLAS and libxsmm

`build/bench/kernels` (`bench/kernels.c`) times the products of one
training step for every layer of the recipes, on one thread, through
nndl's kernels, OpenBLAS's `cblas_sgemm` (with the peers' kernel, above) and
libxsmm, the library of small matrix products (a JIT kernel from
`libxsmm_smmdispatch` where version 1.17 makes one: not for a transposed
operand; elsewhere `libxsmm_sgemm`, which then calls the BLAS it is linked
with, OpenBLAS). forward: `out = in w^T`; step: `w -= s delta^T in`
(nndl also steps the biases); BP2: `d_in = delta w`. For layer 1, whose
inputs are MNIST images (the first training images), nndl's rows are its
sparse products, in two parts of the pixels as training runs them, and the
libraries compute the dense product. Chapter 6's layers are those of the
final network (and the two-conv network's 640 -> 100) at mini-batch 10; a
convolution is its im2col product, a row per output position of each of
the 10 images and a column per feature map, as nndl runs the second one.
The errors are random, none of them zero, except in the last rows: there
they have the share of zeros that training gives the layer (counted as
under "Where the time goes"), which nndl's backward products skip and the
libraries compute. Each time is the median of 7 runs of
enough calls for some 5 ms, in microseconds per call; the last two columns
are the library's time over nndl's (above 1: nndl is faster). The program
first checks each library's forward product against nndl's.

{kernels}

The libraries' times for a convolution are the product alone: im2col, the
pooling and the activation come on top. The fully connected layers of
1,000 at mini-batch 10 are where nndl's products gain most over OpenBLAS
(the forward product and BP2, which read each weight once for all 10
examples); the second convolution's products run at about the libraries'
speed. The first convolution's rows of 25 are too short for nndl's
products, which is why it is done directly; the line under the table
times that direct path, pooling and ReLU included, against the libraries'
bare products above it.

Layer 1, most of a step's arithmetic (98% of [784,30,10]'s multiply-adds,
79% of [784,100,100,100,10]'s), goes through nndl's sparse products, which
beat the dense libraries by skipping the zero pixels. On
the small dense layers above it the libraries are faster than nndl's
kernels; those layers are some 7% of the chapter-1 epoch (see "Where the
time goes") and more of [784,100,100,100,10]'s. nndl does not call a
library for them: its results must not depend on how the examples of a
batch are split over the threads, which the kernels of matmul.h guarantee
and OpenBLAS's size-dependent kernel choice does not promise, and Debian's
OpenBLAS picks its slow kernels on Zen 4 and 5 unless the environment says
otherwise before it loads.

## nndl serve under load

`bench/serve_load.py`: `nndl serve` with the same [784,100,10] network,
and [wrk](https://github.com/wg/wrk) (Debian's) sending `POST /api/predict`
over the loopback from {serve_connections} connections and one thread for
{serve_seconds} s per kind of request; the server's answer includes the
784 inputs and 100 hidden activations as JSON. Errors counts answers other
than 200 and socket errors.

{serve}

## Where the time goes

A profile of [784,30,10], mini-batch 10, 1 thread, sampled with perf
(version 6.1; sampling only, as this machine offers no hardware counters):

```sh
NNDL_DATA=/path/to/data perf record -g -o perf.data build/nndl train \\
    --sizes 784,30,10 --epochs 20 --threads 1 --cost cross-entropy --eta 0.5 --eval none
perf report -i perf.data --no-children --sort sym
```

Shares of all samples of that run, from two runs on 2026-11-29 on an
otherwise idle AVX-512 machine (Zen 5; written by hand, not measured by
this bench run):

| Function | Work | Share |
|---|---|---:|
| `step_sparse_columns` | BP3, BP4 and the step of eq. 20, 21 for layer 1, in one pass over the pixel columns nonzero in the batch | 27-28% |
| `forward_sparse_rows` | forward product of layer 1 (eq. 25) over each image's nonzero pixels, in two parts of the pixels | 24-26% |
| `gather_block` | shuffled images, bytes to floats, into the two parts' matrices, and the prefetch of the next batch's | 8-9% |
| `avx512_sigmoid` | the sigmoid after each product | 4.5-5% |
| `forward_tile_any` | forward product of the 30 to 10 layer | 3% |
| `backward_input_tile_any` | BP2 for the 30 hidden neurons | 2-2.5% |
| `backward_params_step_rows` | BP3, BP4 and the step for the 30 to 10 layer | 1.5-2% |
| `dense_forward_sparse_finish` | adding layer 1's two parts and its biases | 1-1.5% |
| libz and the kernel | reading and unpacking MNIST before the first epoch | 18-19% |

Layer 1's two products are some two thirds of the training time, although
they skip the zero pixels: some 80% of an image's 784. The forward product
takes only each image's nonzero pixels (some 150), but listing them costs
about as much as the multiply-adds (half of its samples in `perf
annotate`; listing every image twice made an epoch 0.0034 s slower). The
step visits only the columns nonzero in some image of the batch (about 380
of 784 at mini-batch 10) but in each of them takes every image, zero or
not, in fixed tiles without branches: 3,800 products of a pixel and a
vector of errors per batch, against the 1,500 that are nonzero. Training reads 50,000 images in shuffled order from
39 MB, and each batch's 10 images are 130 cache lines that miss every
cache: without the prefetch an epoch is 1.2x slower, but the prefetch
issues all 130 misses at once, which fill the core's miss buffers and
stall it (a good part of `gather_parts`' samples; more when other
processes load the memory system). Spreading those requests over the
batch's arithmetic is the next thing to try.

The convolutional networks, profiled the same way (`--layers` as in the
table above, `--train-size 10000 --epochs 3 --eval none --threads 1`; by
hand, 2026-12-07, on the AVX-512 machine beside two training runs and a
fuzzer, which change the times but little the shares, and on an idle AVX2
machine, Zen 3, after the changes below but before the products on
nonzero errors, which since took most of the backward products' shares
away; the rest of each profile is the kernel's page handling, the
loading of MNIST and functions under 1%):

| Function | Work | two-conv, AVX-512 | final, AVX-512 | two-conv, AVX2 | final, AVX2 |
|---|---|---:|---:|---:|---:|
| `forward_tile_any` | forward products: the second convolution (im2col rows of 500 by 40 filters) and the fully connected layers | 22% | 28% | 27% | 31% |
| `backward_input_step_tile_any` | BP2, L2's decay and the step of the fully connected layers of 64,000 weights or more, in one pass over their weights | 2% | 29% | 3% | 32% |
| `backward_params_step_rows` | BP3, BP4 and the step of the other layers with products (the second convolution, the output layer) | 19% | 10% | 20% | 10% |
| `backward_input_tile_any` | BP2 of the same layers (into the second convolution's im2col rows) | 16% | 8% | 18% | 9% |
| `direct_block`, `direct_pool_rows`, `direct_dw_blocks`, `direct_errors`, `direct_gradient` | the first convolution (one input channel), done directly: forward, its 2x2 pooling, its errors at the winners, BP4 | 16% (25% before 2026-12-07) | 8% (12%) | 12% | 6% (40% before its vectors fitted AVX2) |
| `__memmove`, `im2col`, `conv_forward`, `conv_backward_input` | im2col of the second convolution (forward, and again for BP4), and col2im of its BP2 | 8% | 5% | 10% | 5% |
| `max_pool_forward`, `max_pool_backward` | the second pooling | 2% | 1% | 1% | 1% |
| `avx512_sigmoid`, `avx2_sigmoid` | the sigmoid after each product | 2% | — | 3% | — |
| `rng_bernoulli` | a dropout mask for each of the 2,640 inputs of the three top layers, for each example | — | 2% (6% before four draws from each number) | — | 1% |

Counted as dense multiply-adds the first convolution is an eighth of the
two-conv network's work and a sixth of its time on the AVX-512 machine.
With one input channel its im2col rows are 25 floats, too short for the
products, so it slides each filter over the flattened image instead
(vectors of 16 positions with AVX-512, 8 with AVX2; 4 filters at a time),
computing the 4 unused columns past each output row. Its 2x2 pooling
works on those rows as they come out (`direct_pool_rows`: a vector of
windows at a time, each row's left and right columns of windows taken
apart by two shuffles, maxima and winners chosen without branches, only
the maxima moved into the layer's layout), and its errors go back to the
winners without an integer division per window (`direct_errors`). GCC
had folded the loads of the image's vectors into every multiply-add that
used them, loading each again for every filter (12 loads for 8
multiply-adds, in `perf annotate`); an empty `asm` that keeps each vector
in a register made the forward pass 1.45 times as fast, and with BP4's
whole blocks compiled without their bounds tests, the two-conv network's
training took some 9% less CPU time, with the same bits.
`build/bench/kernels` times this direct path against the libraries'
im2col product of the same layer (the line under its table above). Its
BP4 is still a dot product over all positions, although pooling leaves
errors at a quarter of them.

On the AVX2 machine the same code first ran far slower. The direct
convolution was written with GCC vectors of 64 bytes, which AVX2 does not
have: each lived in memory, every operation a load, two halves and a store
(385 stack accesses in `direct_block`), and it took 40% of the final
network's time. Its vectors and register blocks now follow the machine
(32 bytes and 16 registers: 4 filters by 2 vectors forward, 2 filters by
5 taps in BP4, a row's windows pooled 8 at a time); for AVX-512 the
compiler makes the same instructions as before. The AVX2 product tiles
went from 3 by 3 to 2 by 5 and 5 by 2, which cut a mini-batch of 10 and
40 filters into whole tiles; the forward product keeps the convolution's
80 kB of weights in cache and streams its 640 rows of patches once
(they were read from L3 once for each pair of filters); BP4 goes over
many rows in chunks of 64, whose inputs stay in L1 (the second
convolution's BP4 and step from 451 to 335 us per mini-batch; the
chunks are the same with AVX-512, and so are the sums and their order);
and the fused pass over
the fully connected weights takes two rows at a time, so that two
gradient chains of 10 multiply-adds interleave. Together, in user CPU
time for one epoch of 5,000 images with the loading of MNIST (by hand,
same machine): the final network from 5.08 to 1.89 s, the two-conv
network from 3.63 to 1.00 s.

In the final network the fully connected top (640 x 1,000, 1,000 x 1,000
and 1,000 x 10 weights: 6.6 MB) is half of the work and more than half of
the time. It was read by the forward product, read again by BP2, read and
written by L2's decay and again by the step, for every mini-batch of 10;
BP2, the decay and the step now share one pass
(`matmul_backward_input_step`: each vector of weights is loaded once,
feeds every example's BP2 sum and its own gradient, and is stored
stepped, bit for bit what the separate passes give). That took the epoch
from 11.25 to 10.83 s only (AVX-512): the 6.6 MB mostly stayed in the
shared cache between the passes. At mini-batch 10 each weight loaded
feeds 10 multiply-adds, and these two passes run at about the rate of the
whole network. The order of SGD forbids the next step's forward product
from sharing the backward pass (its inputs come from convolutions
stepped after it). Dropout's masks, drawn without a branch on each
(`rng_bernoulli`), went from 10% to 6%, and to 1.5% (perf, under load,
2026-12-06) when each 64-bit number gave four draws of 16 bits instead of
one of 53: p counts to the nearest multiple of 2^-16, and 0.5 exactly.

Most of the errors that the backward products multiply are exactly zero.
A 2x2 max-pool sends each window's error to its winner alone, so three
quarters of the second convolution's errors are 0 in the two-conv
network; behind ReLU and dropout far more are: 98% at the final
network's second convolution, 79% and 91% at its layers of 1,000 (a
dropped or inactive neuron passes no error back; counted over its first
two epochs of 10,000 images). The dense kernels multiplied all
of them. Where at most half of a call's errors are nonzero, BP2, BP4
and the fused BP2 + step now list the nonzero ones and sum only those,
in the dense order less terms that are exactly +-0, so the weights are
the same bits (a test compares with the order written out in `fmaf`; two
epochs of the final network on 2 threads saved the same model bytes).
For the second convolution the errors are kept as bit masks, 64 examples
to a word, and BP4 goes over the patches in blocks of 64 rows that stay
in L1 while each filter takes its nonzero rows; the fused pass lists the
nonzero errors of each example, and asks for the rows of weights they
need ahead of the sums, since the rows come in no order a prefetcher
follows. A search for zeros that would not pay (products under 2^18
multiply-adds, errors whose first 64 are mostly nonzero, as a sigmoid's
always are) is skipped, so the dense networks run as before. With the
same change the forward tile stopped loading each input vector once per
multiply-add (GCC had folded the load into each of them; an empty `asm`
keeps it in a register, as in the first convolution): the second
convolution's forward product went from 474 to 346 us per mini-batch.
In seconds per epoch of 5,000 images on one thread (by hand, fastest of
4 alternating runs, 2026-12-07, AVX2): the final network from 1.95 to
1.00, the two-conv network from 0.88 to 0.64. A profile of the final
network afterwards (perf, one thread, by hand, the same day): the forward
products 36% of the samples, the fused pass over the layers of 1,000 24%,
the second convolution's BP2 and BP4 on its nonzero errors 4% and 1%,
the first convolution some 8%, im2col and col2im some 8%.

Against the targets ({conv_shares} of the sgemm rate in this run, an
effective rate since the zero errors' terms are not computed): the
forward products, which have no zeros to skip (the inputs of a batch's
examples are zero in different places), are now the larger part of both
networks' time, at some 65-70% of the machine's peak multiply-add rate
for the layers of 1,000 and the second convolution. The first
convolution, im2col and col2im, and pooling run far below it.

Two threads split each product by neurons but the passes over the
examples by examples. The pool takes a worker that is still busy
well after the caller's chunks ended as descheduled by another process,
and then runs alone for a while (64 to 65,536 calls). "Well after" was a
fixed 200 us; the second convolution's products take about that per
chunk, so ordinary chunks that began a little after the caller's counted
as late, and the pool ran alone most of the time: 2 threads were 1.04x
one on the final network on the AVX2 machine, on cores that share a
cache. The allowance now adds the caller's own time in the job. A
second flaw showed in the 40-epoch final recipe: after a stretch alone
the worker is asleep, and waking a halted virtual CPU can take longer
than the allowance, so each stretch counted the worker late again and
led to a longer one; epochs 13 to 21 of that run went on one core while
the other idle (55-79 s each against 41-48 s). A worker that had to be
woken is no longer judged, and each call with its workers on time halves
the next stretch (it took one call off before). The
first convolution's BP4, which ran on one thread, now splits its filters
over the threads (each weight's sum is the same for any split): on the
AVX2 machine the two-conv network's epoch of 10,000 images on 2 threads
took 1.073 s against 1.147 s (the fastest of 6 alternating runs each;
the runs spread by 40%, with the cores' placement). On cores
that share no cache (the placement the AVX-512 runs saw) the second
thread makes the final network slower. With the default `--threads 0`
each epoch tries its first mini-batches both ways and trains the rest on
one thread when that was faster (`src/train/thread_choice.c`); the
benchmarks name their thread counts, which are used as given. The
second convolution's BP4 made its operands (the errors at the pools'
winners, and the patches im2col copies again, as BP2 wrote over the
forward pass's) on one thread while the other waited; they are now split
by examples (the same bits; about a third of the 8% that im2col and
col2im take of a one-thread mini-batch of the
final network, too little to see through this machine's noise, where
runs of the same binary spread by 2x on 2026-12-07).

On an AVX-512 machine (an Intel Xeon, 2026-12-07) the sparse passes
turned out to leave columns undone. They take the columns in blocks of 8
vectors, and a last block of 8 vectors whose last one is partial (113 to
127 columns with AVX-512's 16 lanes, 57 to 63 with AVX2's 8) had no case.
The second convolution's 500 columns end in just that with AVX-512: its
BP2 left stale workspace in 116 of each patch's 500 errors, and its BP4
never stepped 116 of each filter's 500 weights. With AVX2 (500 = 7 x 64
+ 52) the book's networks never met it. With it, the final network did
not learn on AVX-512 (10.6% on validation after 3 epochs of 10,000
images, 95.1% without), so no row of docs/RESULTS.md, all of which
match the book's, ran into it. A test now takes both widths' sparse
passes through every length of the last block, against the plain C
products. The flaw also showed as runs on 2 threads that were not always
the same bits: which stale values the second convolution's BP2 read
depended on how the threads had shared the forward pass.

Split by examples, each thread's forward product over a layer of 1,000
read all of its weights, half of them written a moment before by the
other core in the fused pass, which splits them by inputs; two threads
made an epoch of the final network only 1.19x faster than one on that
machine. The forward products of the fused layers are now split by
neurons over the whole batch (the convolutions below them still by
examples): each thread reads half of the weights, a quarter of them
written by the other core, and two threads are 1.43x one (10,000 images,
two epochs each, alternating, the machine otherwise idle; the same bits
as one thread).

On an AMD EPYC with AVX-512 (Zen 4: 1 MB of L2 per core, where the Xeon
has 2 MB; 2026-12-07, by hand), three changes to the convolutions took
the two-conv network's epoch of 10,000 images on one thread from 1.025 to
0.972 s (medians of 5 alternating runs each, the machine otherwise idle;
the same bits). The second convolution's BP2 runs an example at a time, so
that its 64 patches' errors (128 kB) are still in L2 when col2im adds them
back, where the batch's 1.3 MB went out to L3 first (`conv_backward_input`
from 4.1% to 2.6% of the samples). The first convolution keeps its
pooling's winners in a form of its own, each window's winner as its place
in the map's row of positions, which its BP4 writes the error to as it
is: no index to compute per window when pooling, and no search per window
when sending the errors back (`direct_pool_rows` from 4.3% to 3.3%,
`direct_errors` from 3.5% to 2.0%; `conv_pool_winner` reads the places in
the pooling code's form for the tests and for a one-channel layer that is
not the first). And the forward product takes the patches of 512 kB of
examples at a time (4 of the second convolution), not of 10 examples. The
final network's epoch did not change beyond the noise (medians 1.68 and
1.64 s), nor did `nndl eval`'s. Copying im2col's runs of 100 floats with
vectors in place of memcpy was tried and was no faster (the copy is
bound by the memory it writes, not by the calls).

Two threads on the final network (perf, the same Zen 4, a thread's
samples apart): the calling thread also runs what is not split, and the
other waits meanwhile. Of that part, the dropout masks (`rng_bernoulli`,
26,400 draws a mini-batch) took some 34 us of a mini-batch of about 1 ms:
the masks' byte stores may alias the generator's state, so the compiler
wrote the state back to memory and read it again for every four draws; a
local copy of the state cut it to a third (the same numbers). Finding the
nonzero errors before a sparse product (`nonzero_errors_find`) set each
column's bit with a load and a store per nonzero error; it now spreads
each row's word over the columns with vector shifts. Both changes give
the same bits. Four runs of `make bench` after them, on the idle
machine, measured 2 threads at 1.68x, 1.47x, 1.46x and 1.88x one on the
final network (1.55x in the run before the changes; the fourth, this
file, after a 1-thread run a third slower than the others): the
two-thread ratio here moves by more than the changes did. Hence the
target row that times 1 and 2 threads alternately in pairs: in the third
run its pairs gave 1.72x and 1.74x when both threads ran at full speed,
1.50x twice, and once 0.70x, a 2-thread run slower than one thread; in
this file 1.49x to 1.56x and once 0.60x (median 1.51x).
Runs like that last one showed twice the CPU time of a normal 2-thread
run with as few migrations (perf stat, 12 runs by hand): both
threads busy, the work done more slowly, which points at the virtual
machine's cores rather than at nndl's hand-overs. `nndl train` without
`--threads` times the first batches of each epoch on one and on two
threads and takes the faster, so a training run falls back to one thread
in such a stretch; the bench fixes the count.

On an AMD EPYC with AVX2 only (Zen 3: 512 kB of L2 per core, 32 MB of
L3; 2026-12-07, by hand), a profile of the final network on one thread
(perf, 3 epochs of 10,000 images) gave the forward products
(`forward_tile_any`: the layers of 1,000 and the second convolution) 39%
of the samples and the fused pass over the layers of 1,000
(`backward_input_step_columns`) 27%; the convolutions' own passes
(`direct_block`, `direct_dw_blocks`, the second convolution's BP2 and
BP4 on its nonzero errors) some 15%, im2col and col2im (`memmove`) 3.5%.
The wider networks of docs/RESULTS.md (32 and 64 maps) split the same
way (39% and 31%). With AVX2's 16 registers the forward tile is 2
neurons by 5 examples: each step of 8 inputs loads 2 weight vectors and
5 input vectors for 10 multiply-adds, and a mini-batch's inputs to a
layer of 1,000 (40 kB for 10 examples) do not stay in the 32 kB L1, so
the tile reads them from L2 about as fast as L2 delivers them;
`build/bench/kernels` timed 1000 -> 1000 at 330-420 us, some 60% of the
multiply-add peak. Taking the examples in the outer loop instead (5
examples' inputs, 20 kB, stay in L1 while the weights stream by twice)
gave no difference that 3 alternating runs could see (640 -> 1000:
172-222 us before, 193-221 us after), and was left out. The fused pass
reads and writes every weight of the layers of 1,000 in every
mini-batch: L2's decay scales every weight, and most rows have a nonzero
error in one of the 10 examples anyway (with 21% of the errors nonzero,
as the kernel table's first layer of 1,000 has them, and independent
examples, 1 - 0.79^10 = 90% of the rows). With `--lambda 0` an epoch
took as long (the fastest of 5 alternating runs: 2.40 s per 10,000
images against 2.37 s with `--lambda 1`), so the decay costs nothing
measurable beside that traffic. The whole final recipe on 2 threads
(`bench/full_recipe.py`, the same day, the machine otherwise idle but
for a compile during the second epoch) took 61 and 53 s for its first
two epochs of 250,000 images and their evaluations, and was stopped
there: at that pace 40 epochs take some 37 minutes on this machine, over
the 30 of the target, which the Zen 4's run met (20.4 minutes,
2026-12-07; the Xeon's below, 21.0).

On an Intel Xeon with AVX-512 (2 MB of L2 per core; 2026-12-08, the
run in this file, the machine otherwise idle), the sgemm rate was 157
GFLOP/s at 1 thread. The final network ran at 71.4% of it and 4.85x
PyTorch (medians of 3 rounds; met), the two-conv network at 60.8% but
only 2.96x PyTorch (not met): PyTorch's oneDNN convolutions took 14.5 s
per epoch of the two-conv network here against 41.1 s on the Zen 3 above,
nndl 4.85 s against 9.60 s. PyTorch also gains on the dense networks here
([784,30,10]: 16.1x against 19.3x on the Zen 3). Two threads were 1.37x
one on the final network in each of the 5 pairs (1.36-1.40x; not met).
A profile of 1 and 2 threads (perf, the final network, 20,000 images, by
hand: 4.1 s on 1 thread, 3.0 s on 2) shows where the second thread's
time goes: the fused pass over the layers of 1,000 took 1.45x the CPU
time on 2 threads that it took on one (27% of 2 x 3.0 s against 27% of
4.1 s), the forward products 1.10x, and the pool's hand-over and waiting
(`parallel_for`, `worker_main`) 12% of the two threads' samples. The
fused pass splits the weights by inputs and the forward product by
neurons, and the pool gives each chunk to whichever thread claims it
first, so the core that last wrote a row of weights is often not the one
that reads it next: the weights of the layers of 1,000 (6.6 MB, more than
both L2s together) cross between the cores every mini-batch. What would
address it, not tried yet: the same rows to the same thread in every
product (a fixed assignment of chunks to threads rather than first come,
first served), with BP2's sum over the neurons split into fixed halves
that are added in the same order for any number of threads. A quick
trial of the second half of that, by hand (the fused pass over each
fixed half of the neurons as one chunk of the pool: its rows' BP2 into
a d_in of its own, then the two added; not kept, since the unfused BP2
and the plain C reference would have to sum the same way for the fused
pass to stay bit-identical to them): 3 alternating runs each of 20,000
images, 1 thread 3.29-3.40 s against 3.37-3.43 s, 2 threads 2.15-2.22 s
against 2.48-2.52 s, so 2 threads 1.53x one against 1.37x, the same bits
for 1 and 2 threads. The whole final recipe (`bench/full_recipe.py`, its
row in the table of targets above) took 21.0 minutes on this Xeon,
within the 30 of the target.

perf's `-g` call graphs are incomplete here (nndl is built with -O3,
without frame pointers), so the table is self time per function; the
tiles are inlined into the functions named. Before the update was folded
into the weight-gradient product and the sigmoid vectorized, the same
profile showed the separate update loop at 12% and `expf` with its loop
at 9%.

## Reproducing

```sh
make bench
```

builds nndl, `build/bench/infer`, `build/bench/core_latency` and
`build/bench/kernels`, installs the peers' Debian packages when missing
(`bench/ensure-deps.sh`: python3-numpy, python3-torch,
python3-threadpoolctl, libopenblas-dev, libxsmm-dev, wrk), runs `/usr/bin/python3
bench/run.py` and rewrites this file. It needs MNIST where nndl finds it
(`$NNDL_DATA/mnist`, `$NNDL_DATA` or `./data/mnist`; also
`../shared/data/mnist`). Run it on an otherwise idle machine: the
peers and nndl share its cores with everything else.

```sh
make bench-placement
```

rewrites docs/PLACEMENT.md (some six minutes; see "Two threads against
one"); the next `make bench` quotes it.
"""

if __name__ == "__main__":
    main()
