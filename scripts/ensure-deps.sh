#!/bin/sh
# Installs the Debian packages nndl needs to build, when any is missing.
# Runs apt-get directly as root, through sudo otherwise; says what it installs.
set -eu

packages="gcc make pkg-config zlib1g-dev libcurl4-openssl-dev libssl-dev libcjson-dev libsvm-dev libpng-dev libmicrohttpd-dev"

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "nndl: missing packages:$missing (not a Debian system: install them by hand)" >&2
    exit 0
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
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing
