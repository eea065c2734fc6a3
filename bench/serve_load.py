#!/usr/bin/python3
"""Load test of nndl serve's /api/predict with wrk, on the loopback only and
bounded in time; bench/run.py puts its table in docs/PERFORMANCE.md.

    /usr/bin/python3 bench/serve_load.py MODEL [--seconds 10]

Starts `build/nndl serve --port 0 MODEL`, then for each kind of request
runs `wrk -t1 -cC -dSs --latency -s bench/wrk_post.lua` against it:
  - png:  a 280x280 PNG of a test digit, dark ink on white, as the page
          sends a drawing (decoded, preprocessed, fed forward);
  - json: {"pixels": [...]} of the same digit at 28x28.
Needs Debian's wrk and python3-numpy."""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

import common

NNDL = os.path.join(common.ROOT, "build", "nndl")
LUA = os.path.join(common.ROOT, "bench", "wrk_post.lua")
CONNECTIONS = 4
SECONDS = 10


def png_gray(pixels):
    """An 8-bit grayscale PNG of a 2-D uint8 array."""
    h, w = pixels.shape
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def bodies(workdir):
    """The two request bodies, from the first test digit."""
    _, _, test_x, _ = common.load_mnist()
    digit = (test_x[0].reshape(28, 28) * 255).round().astype("uint8")
    big = 255 - digit.repeat(10, axis=0).repeat(10, axis=1)  # 280x280, dark on light
    png = os.path.join(workdir, "drawing.png")
    with open(png, "wb") as f:
        f.write(png_gray(big))
    js = os.path.join(workdir, "pixels.json")
    with open(js, "w") as f:
        json.dump({"pixels": [round(float(v), 3) for v in test_x[0]]}, f)
    return [("png", "280x280 PNG drawing", png, "image/png"),
            ("json", "28x28 {\"pixels\"} JSON", js, "application/json")]


def measure(model, seconds=SECONDS, connections=CONNECTIONS):
    """{kind: wrk's JSON line plus "title", "bytes"} for each request kind."""
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        kinds = bodies(workdir)
        server = subprocess.Popen([NNDL, "serve", "--port", "0", model],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = server.stdout.readline()
            m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            if not m:
                sys.exit("bench: nndl serve did not start: " + line.strip())
            url = f"http://127.0.0.1:{m.group(1)}/api/predict"
            for key, title, path, ctype in kinds:
                env = dict(os.environ, BODY=path, CTYPE=ctype)
                proc = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
                                       "--latency", "-s", LUA, url],
                                      capture_output=True, text=True, env=env)
                last = [l for l in proc.stdout.splitlines() if l.startswith("{")]
                if proc.returncode != 0 or not last:
                    sys.exit("bench: wrk failed: " + proc.stderr.strip())
                r = json.loads(last[-1])
                r.update(title=title, bytes=os.path.getsize(path), connections=connections)
                results[key] = r
        finally:
            server.terminate()
            server.wait()
    return results


def table(results):
    lines = ["| Request | Body | Requests/s | Mean latency | p50 | p99 | Errors |",
             "|---|---|---|---|---|---|---|"]
    for r in results.values():
        lines.append(
            f"| {r['title']} | {r['bytes']:,} bytes | {r['requests'] / r['seconds']:,.0f} "
            f"| {r['latency_mean_us'] / 1000:.2f} ms | {r['latency_p50_us'] / 1000:.2f} ms "
            f"| {r['latency_p99_us'] / 1000:.2f} ms | {r['non_200'] + r['socket_errors']} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--seconds", type=int, default=SECONDS)
    args = ap.parse_args()
    print(table(measure(args.model, args.seconds)))


if __name__ == "__main__":
    main()
