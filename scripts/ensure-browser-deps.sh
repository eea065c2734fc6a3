#!/bin/sh
# Installs what the browser tests need when missing: Debian's chromium and
# nodejs/npm (unless a node and npm are already on PATH), and playwright-core
# from the npm registry (tests/browser, versions pinned in
# package-lock.json). Says what it installs.
set -eu
here=$(dirname "$0")

"$here/ensure-deps.sh" chromium
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    "$here/ensure-deps.sh" nodejs npm
fi

cd "$here/../tests/browser"
if [ ! -f node_modules/playwright-core/package.json ] ||
   [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "nndl: installing playwright-core from the npm registry (tests/browser)"
    npm ci --no-audit --no-fund --silent
fi
