#!/bin/sh
# Installs what the browser tests need when missing: Debian's chromium and
# nodejs/npm, and playwright-core from the npm registry (tests/browser,
# versions pinned in package-lock.json). Says what it installs.
set -eu

missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "nndl: the browser tests need:$missing; run as root or install them with apt-get" >&2
        exit 1
    fi
    echo "nndl: installing Debian packages:$missing"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi

cd tests/browser
if [ ! -f node_modules/playwright-core/package.json ] ||
   [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "nndl: installing playwright-core from the npm registry (tests/browser)"
    npm ci --no-audit --no-fund --silent
fi
