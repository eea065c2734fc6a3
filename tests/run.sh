#!/bin/sh
# make test: the C test suite (build/nndl-tests), then the browser tests of
# nndl serve (tests/browser), then the test of scripts/results.py's
# resuming (tests/results_script.py), then one line with the totals.
# NNDL_SKIP_BROWSER=1 skips the browser tests and says so.
set -u
tests_bin=$1
log=$(mktemp)

status_file=$(mktemp)
trap 'rm -f "$log" "$status_file"' EXIT

{ "$tests_bin"; echo $? >"$status_file"; } | tee "$log"
c_status=$(cat "$status_file")
c_summary=$(tail -n 1 "$log")

b_summary="0 passed, 0 failed"
b_status=0
if [ "${NNDL_SKIP_BROWSER:-0}" = 1 ]; then
    echo "browser tests skipped (NNDL_SKIP_BROWSER=1)"
elif scripts/ensure-browser-deps.sh; then
    { (cd tests/browser && node draw_and_train.mjs); echo $? >"$status_file"; } | tee "$log"
    b_status=$(cat "$status_file")
    b_summary=$(tail -n 1 "$log")
else
    echo "browser tests: cannot install Chromium, Node.js and playwright-core (see above)"
    b_summary="0 passed, 1 failed"
    b_status=1
fi

s_summary="0 passed, 1 failed"
s_status=1
if scripts/ensure-deps.sh python3; then
    { /usr/bin/python3 tests/results_script.py; echo $? >"$status_file"; } | tee "$log"
    s_status=$(cat "$status_file")
    s_summary=$(tail -n 1 "$log")
else
    echo "results script tests: cannot install python3 (see above)"
fi

# "N passed, M failed" three times
echo "$c_summary $b_summary $s_summary" | awk '{
    passed = $1 + $5 + $9; failed = $3 + $7 + $11
    printf "%d passed, %d failed\n", passed, failed
    exit (failed > 0)
}'
total=$?
[ "$c_status" = 0 ] && [ "$b_status" = 0 ] && [ "$s_status" = 0 ] && [ "$total" = 0 ]
