#!/bin/sh
# Installs Debian packages when any is missing: the ones named as arguments,
# or without arguments the ones nndl needs to build. Runs apt-get directly
# as root, through sudo otherwise; says what it installs.
#   scripts/ensure-deps.sh [PACKAGE...]
set -eu

build_packages="gcc make pkg-config zlib1g-dev libcurl4-openssl-dev libssl-dev libcjson-dev libsvm-dev libpng-dev libjpeg-dev libmicrohttpd-dev librsvg2-dev"
packages=${*:-$build_packages}

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "nndl: missing packages:$missing (not a Debian system: install them by hand)" >&2
    # the build may still find the libraries elsewhere; named packages are needed
    [ $# = 0 ] && exit 0
    exit 1
fi
if [ "$(id -u)" = 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "nndl: missing packages:$missing; run as root or install them with apt-get" >&2
    exit 1
fi
echo "nndl: installing Debian packages:$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
