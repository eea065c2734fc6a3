#!/bin/sh
# Installs the Debian packages `make bench` needs for its peers, when any is
# missing: numpy and PyTorch for /usr/bin/python3, threadpoolctl to see which
# BLAS kernel runs, OpenBLAS and libxsmm (the peers of nndl's kernels in
# build/bench/kernels), and wrk for the load test of nndl serve.
exec "$(dirname "$0")/../scripts/ensure-deps.sh" python3-numpy python3-torch \
    python3-threadpoolctl libopenblas-dev libxsmm-dev wrk
