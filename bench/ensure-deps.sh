#!/bin/sh
# Installs the Debian packages `make bench` needs for its peers, when any is
# missing: numpy and PyTorch for /usr/bin/python3, threadpoolctl to see which
# BLAS kernel runs, OpenBLAS, and wrk for the load test of nndl serve.
# Like scripts/ensure-deps.sh: apt-get as root, through sudo otherwise;
# says what it installs.
set -eu

packages="python3-numpy python3-torch python3-threadpoolctl libopenblas-dev wrk"

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "nndl bench: missing packages:$missing (not a Debian system: install them by hand)" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "nndl bench: missing packages:$missing; run as root or install them with apt-get" >&2
    exit 1
fi
echo "nndl bench: installing Debian packages:$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
