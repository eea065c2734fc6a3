"""Shared by the benchmark's peers (bench/peer_*.py) and its drivers
(bench/run.py, bench/placement.py): finding and loading MNIST, the FLOP
count of one epoch, a JSON report of which BLAS library and kernel a
process uses, the CPU's name and the cores' round trip.

Loading MNIST needs Debian's python3-numpy (run with /usr/bin/python3);
finding it does not."""
import functools
import gzip
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


CORE_LATENCY = os.path.join(ROOT, "build", "bench", "core_latency")
# Cores' round trips below this share a cache (some 120 ns here); above,
# they do not (some 400 ns).
SHARED_CACHE_NS = 250


def round_trip_ns():
    """The time a cache line takes from one core to the other and back
    (build/bench/core_latency)."""
    out = subprocess.run([CORE_LATENCY], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["round_trip_ns"]


@functools.lru_cache(maxsize=None)
def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def openblas_coretype():
    """The OpenBLAS kernel the peers are told to use, or None to let
    OpenBLAS choose. Debian's 0.3.21 predates Zen 4 and 5 and takes their
    AVX-512 for AVX2 (Haswell kernels, about half the rate); on a CPU
    without AVX-512 its own choice is the right one, and SkylakeX's
    kernels would not run."""
    return "SkylakeX" if "avx512f" in cpu_flags() else None


def vector_isa():
    """The widest vector instructions nndl's kernels use on this CPU."""
    flags = cpu_flags()
    return "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def mnist_dir():
    """Where nndl looks ($NNDL_DATA/mnist, $NNDL_DATA, ./data/mnist), then
    ../shared/data/mnist beside the work tree, where CI keeps it."""
    candidates = []
    if os.environ.get("NNDL_DATA"):
        candidates += [os.path.join(os.environ["NNDL_DATA"], "mnist"), os.environ["NNDL_DATA"]]
    candidates += [os.path.join(ROOT, "data", "mnist"),
                   os.path.join(ROOT, "..", "shared", "data", "mnist")]
    for d in candidates:
        if all(os.path.isfile(os.path.join(d, f)) for f in MNIST_FILES):
            return os.path.abspath(d)
    sys.exit("bench: MNIST not found in " + ", ".join(candidates)
             + " (run `build/nndl data` or set NNDL_DATA)")


def _idx(path, offset):
    import numpy as np
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load_mnist(dtype=None):
    """The book's split: the first 50,000 training images for training, the
    10,000 t10k images for testing. Images as rows of 784 values in [0, 1],
    float32 unless dtype says otherwise."""
    import numpy as np
    dtype = dtype or np.float32
    d = mnist_dir()
    x = _idx(os.path.join(d, MNIST_FILES[0]), 16).reshape(-1, 784)
    y = _idx(os.path.join(d, MNIST_FILES[1]), 8)
    xt = _idx(os.path.join(d, MNIST_FILES[2]), 16).reshape(-1, 784)
    yt = _idx(os.path.join(d, MNIST_FILES[3]), 8)
    scale = lambda a: (a.astype(dtype) / dtype(255.0))
    return scale(x[:50000]), y[:50000].astype(np.int64), scale(xt), yt.astype(np.int64)


def epoch_flops(sizes, n=50000):
    """Floating-point operations of one training epoch of n examples,
    counting only the matrix products, 2 FLOP per multiply-add:
    forward (eq. 25) sum_l n_l n_(l-1); BP3/BP4's weight gradient, the same;
    BP2 for every layer but the first, sum_(l>=2) n_l n_(l-1).
    [784,30,10]: 2 * 50,000 * (23,820 + 23,820 + 300) = 4.794e9.
    The mini-batch size does not enter; the update (2 FLOP per parameter per
    mini-batch, +5% at m = 10) and the activations are not counted."""
    macs = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2.0 * n * (2 * sum(macs) + sum(macs[1:]))


def blas_info():
    """What threadpoolctl sees in this process: library, version, kernel."""
    try:
        import threadpoolctl
    except ImportError:
        return [{"error": "python3-threadpoolctl missing"}]
    keep = ("internal_api", "version", "architecture", "num_threads", "threading_layer",
            "filepath")
    return [{k: i.get(k) for k in keep if i.get(k) is not None}
            for i in threadpoolctl.threadpool_info()]


def report(result):
    """Peers print one JSON object on the last line of standard output."""
    result["blas"] = blas_info()
    result["env"] = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")
                     or k in ("OMP_NUM_THREADS",)}
    print(json.dumps(result))
    sys.stdout.flush()
