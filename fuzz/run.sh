#!/bin/sh
# Runs each libFuzzer target of build-fuzz/fuzz for SECONDS on a copy of its
# seed corpus and prints one line per target: executions, corpus size,
# crashes. Exits non-zero if any target found a crash.
#   fuzz/run.sh SECONDS TARGET...
set -u
seconds=$1
shift
status=0
mkdir -p build-fuzz/work
printf '%-12s %12s %10s %8s\n' target executions corpus result
for t in "$@"; do
    work=build-fuzz/work/$t
    mkdir -p "$work"
    cp -n fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
    log=build-fuzz/work/$t.log
    # one job per core would make the per-target numbers depend on the
    # machine's load; one process, a fixed time. Memory: an input that
    # makes a single allocation over 256 MB, or the process grow over
    # 1 GB, is a finding, as the PNG chunk bomb and the JSON
    # model of half a billion parameters were. The targets' own output
    # (the command line's errors) is not shown (-close_fd_mask=3);
    # libFuzzer's and the sanitizers' reports are.
    # (Absolute paths: the idx_folder target changes directory.)
    build-fuzz/fuzz/fuzz_"$t" -max_total_time="$seconds" \
        -rss_limit_mb=1024 -malloc_limit_mb=256 -close_fd_mask=3 \
        -timeout=10 -artifact_prefix="$PWD"/build-fuzz/crash-"$t"- -print_final_stats=1 \
        "$PWD/$work" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    size=$(ls "$work" | wc -l)
    if [ "$rc" = 0 ]; then
        result=clean
    else
        result="FOUND (see $log)"
        status=1
    fi
    printf '%-12s %12s %10s %8s\n' "$t" "${runs:-?}" "$size" "$result"
done
exit $status
