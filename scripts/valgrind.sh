#!/bin/sh
# make valgrind: a short train, save, load (eval, inspect, export) and
# predict under valgrind's memcheck, each required to end with no errors
# and no leaked memory. Uses build-valgrind/nndl, built without
# -march=native: valgrind does not run AVX-512 instructions, and the
# run-time kernel choice then picks what valgrind's virtual CPU reports.
set -eu
nndl=build-valgrind/nndl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A small picture of a digit for predict: a vertical bar, dark on white (PGM).
{
    printf 'P2\n12 16\n255\n'
    for y in $(seq 1 16); do
        for x in $(seq 1 12); do
            if [ "$x" -ge 5 ] && [ "$x" -le 7 ] && [ "$y" -ge 3 ] && [ "$y" -le 14 ]; then
                printf '0 '
            else
                printf '255 '
            fi
        done
        printf '\n'
    done
} >"$work/one.pgm"

passed=0
failed=0
check() {
    name=$1
    shift
    if valgrind -q --trace-children=yes --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect "$@" >"$work/out" 2>"$work/err"; then
        passed=$((passed + 1))
        printf 'ok   %s\n' "$name"
    else
        failed=$((failed + 1))
        printf 'FAIL %s\n' "$name"
        sed 's/^/    /' "$work/err" | head -40
    fi
}

check "train and save" $nndl train --sizes 784,20,10 --epochs 1 --train-size 2000 \
    --cost cross-entropy --eta 0.5 --eval validation --threads 2 --save "$work/m.nndl"
check "eval (load)" $nndl eval "$work/m.nndl"
check "inspect" $nndl inspect "$work/m.nndl"
check "export json, load it" sh -c "$nndl export '$work/m.nndl' --format json -o '$work/m.json' && $nndl inspect '$work/m.json'"
check "predict" $nndl predict "$work/m.nndl" "$work/one.pgm" --json
check "a convolutional network: train, save, eval, predict" sh -c "$nndl train \
    --layers conv:3:5,pool:2,fc:10:dropout=0.2,softmax:10 --activation relu --eta 0.1 \
    --epochs 1 --train-size 500 --eval none --threads 2 --save '$work/c.nndl' &&
    $nndl eval '$work/c.nndl' '$work/m.nndl' && $nndl inspect '$work/c.nndl' --filters '$work/f.png' &&
    $nndl predict '$work/c.nndl' '$work/one.pgm' && $nndl export '$work/c.nndl' --format c -o '$work/c'"
check "a damaged model" sh -c "head -c 300 '$work/m.nndl' >'$work/cut.nndl'; $nndl eval '$work/cut.nndl'; test \$? = 1"
# nndl serve: good and bad requests, then SIGTERM
valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect $nndl serve --port 0 "$work/m.nndl" \
    >"$work/serve.out" 2>"$work/serve.err" &
server=$!
port=""
# up to two minutes: under valgrind, on a machine busy with other work,
# starting (MNIST's test images are read for the page) can take a while
for _ in $(seq 1 600); do
    port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/serve.out")
    [ -n "$port" ] && break
    sleep 0.2
done
url="http://127.0.0.1:$port"
# a refused request shows in the answers below, not as this script's exit
set +e
{
    curl -s "$url/api/models"
    curl -s -X POST -H 'Content-Type: image/x-portable-graymap' --data-binary @"$work/one.pgm" "$url/api/predict"
    curl -s -X POST -H 'Content-Type: application/json' -d '{"pixels":[0,1,0,' "$url/api/predict"
    curl -s -X POST -H 'Content-Type: image/png' -d 'not a png' "$url/api/predict"
    curl -s -X POST -d '{"epochs":1,"train_size":500}' "$url/api/train"
    curl -s "$url/api/train/1/events"
    curl -s -X DELETE "$url/api/models"
} >"$work/answers" 2>&1
set -e
kill -TERM $server
if wait $server && grep -q '"digit":' "$work/answers" && grep -q 'event: done' "$work/answers"; then
    passed=$((passed + 1))
    echo "ok   serve: predict, bad requests, a training run, SIGTERM"
else
    failed=$((failed + 1))
    echo "FAIL serve: predict, bad requests, a training run, SIGTERM"
    sed 's/^/    /' "$work/serve.err" "$work/answers" | head -40
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
