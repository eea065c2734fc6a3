#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/NAME/): small valid
files of every kind each reader takes, and a few near misses. Standard
library only; the files are committed, this script says how they were made.

    python3 fuzz/make_corpus.py
"""
import gzip
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def out(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


# ---- IDX pairs: 2 bytes of labels length, the labels file, the images file

def idx(magic_type, dims, payload):
    return struct.pack(">BBBB", 0, 0, magic_type, len(dims)) + b"".join(
        struct.pack(">I", d) for d in dims) + payload


def idx_pair(count, rows, cols, compress):
    labels = idx(0x08, [count], bytes(i % 10 for i in range(count)))
    images = idx(0x08, [count, rows, cols], bytes((i * 37) % 256 for i in range(count * rows * cols)))
    if compress:
        labels, images = gzip.compress(labels, mtime=0), gzip.compress(images, mtime=0)
    return struct.pack(">H", len(labels)) + labels + images


out("idx", "plain-3x4x4", idx_pair(3, 4, 4, False))
out("idx", "gzip-2x28x28", idx_pair(2, 28, 28, True))
out("idx", "plain-1x1x1", idx_pair(1, 1, 1, False))

# ---- binary models (docs/MODEL_FORMAT.md, version 2)

def model(sizes, acts, cost, init=0, seed=1, meta=b"", version=2):
    n = len(sizes)
    params = []
    for a, b in zip(sizes, sizes[1:]):
        params += [((i * 7919) % 200 - 100) / 100.0 for i in range(a * b + b)]
    # version 1: one activation for every layer where version 2 has the
    # initialization, and no per-layer activations or metadata
    head = b"NNDLMODL" + struct.pack("<IIII", version, 0, cost, init if version >= 2 else acts[0])
    head += struct.pack("<I", n) + b"".join(struct.pack("<I", s) for s in sizes)
    if version >= 2:
        head += b"".join(struct.pack("<I", a) for a in acts)
    head += struct.pack("<QQ", seed, len(params))
    if version >= 2:
        head += struct.pack("<I", len(meta)) + meta
    body = head + b"".join(struct.pack("<f", p) for p in params)
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


meta = json.dumps({"nndl": "1.0", "epochs_run": 3, "settings": {"eta": 0.5},
                   "evaluation": {"data": "test", "total": 10,
                                  "last": {"correct": 9, "epoch": 2}}}).encode()
out("model", "sigmoid-4-3-2", model([4, 3, 2], [0, 0], 1))
out("model", "softmax-3-5-4-3", model([3, 5, 4, 3], [1, 2, 3], 2, init=1))
out("model", "meta-2-2-1", model([2, 2, 1], [0, 0], 0, meta=meta))
out("model", "version1-2-1", model([2, 1], [0], 0, version=1))
out("model", "bad-checksum", model([2, 1], [0], 0)[:-1] + b"\0")


# ---- binary models, version 3: an input shape and one record per layer
# (kind, activation, size, kernel, pool, dropout); kinds 0 fc, 1 conv, 2 pool

def layer_params(kind, size, kernel, shape):
    """The parameter count of a layer over `shape`, and its output shape."""
    c, h, w = shape
    if kind == 0:
        return size * c * h * w + size, (size, 1, 1)
    if kind == 1:
        return size * kernel * kernel * c + size, (size, h - kernel + 1, w - kernel + 1)
    return 0, shape


def model3(shape, layers, cost, init=0, seed=1, meta=b""):
    count, s = 0, shape
    for kind, act, size, kernel, pool, dropout in layers:
        n, s = layer_params(kind, size, kernel, s)
        if pool > 1:
            s = (s[0], s[1] // pool, s[2] // pool)
        count += n
    head = b"NNDLMODL" + struct.pack("<IIIII", 3, 0, cost, init, len(layers))
    head += struct.pack("<III", *shape)
    head += b"".join(struct.pack("<IIIIIf", *l) for l in layers)
    head += struct.pack("<QQI", seed, count, len(meta)) + meta
    params = [((i * 7919) % 200 - 100) / 100.0 for i in range(count)]
    body = head + b"".join(struct.pack("<f", p) for p in params)
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


# conv 2 maps 3x3 relu with 2x2 pooling, fc 4 linear, softmax 3: 1x8x8 input
out("model", "v3-conv-pool-8x8", model3((1, 8, 8), [(1, 2, 2, 3, 2, 0.0), (0, 4, 4, 0, 0, 0.0),
                                                    (0, 3, 3, 0, 0, 0.0)], 2, init=2))
# conv 3 maps 3x3 tanh, a standalone 2x2 pool layer, fc 5 tanh, a sigmoid output
# layer whose inputs drop out with p = 0.5; metadata
out("model", "v3-pool-dropout-2x6x6", model3((2, 6, 6), [(1, 1, 3, 3, 1, 0.0), (2, 4, 0, 0, 2, 0.0),
                                                         (0, 1, 5, 0, 0, 0.0), (0, 0, 2, 0, 0, 0.5)],
                                             1, init=3, meta=meta))

# ---- network2.py JSON models

out("json_model", "network2-4-3-2", json.dumps({
    "sizes": [4, 3, 2],
    "weights": [[[0.1, -0.2, 0.3, -0.4], [0.5, 0.6, -0.7, 0.8], [-0.9, 1.0, 1.1, -1.2]],
                [[1.5, -2.5, 0.25], [-0.75, 2.0, 3.0]]],
    "biases": [[[0.01], [-0.02], [0.03]], [[-0.5], [0.125]]],
    "cost": "CrossEntropyCost"}))
out("json_model", "nndl-key-2-2-1", json.dumps({
    "sizes": [2, 2, 1], "weights": [[[1, 2], [3, 4]], [[5, 6]]], "biases": [[[0], [1]], [[2]]],
    "cost": "QuadraticCost", "nndl": {"format": 1, "activations": ["tanh", "sigmoid"], "init": "large",
                                      "seed": "7"}}))
out("json_model", "wrong-shape", '{"sizes": [2, 1], "weights": [[[1]]], "biases": [[[0]]], '
    '"cost": "QuadraticCost"}')

# ---- pictures: PNG of several kinds, PGM P2 and P5

def png(width, height, color_type, bit_depth, rows, palette=None, trns=None):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\0" + r for r in rows)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(
        ">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    if palette:
        data += chunk(b"PLTE", palette)
    if trns:
        data += chunk(b"tRNS", trns)
    return data + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def ink(x, y, w, h):
    """A digit-like ring."""
    dx, dy = (x - w / 2) / (w / 2), (y - h / 2) / (h / 2)
    return 0.45 < dx * dx + dy * dy < 0.8


W = H = 20
gray = [bytes(0 if ink(x, y, W, H) else 255 for x in range(W)) for y in range(H)]
out("image", "gray8.png", png(W, H, 0, 8, gray))
out("image", "rgb8.png", png(W, H, 2, 8, [bytes(v for x in r for v in (x, x, x)) for r in gray]))
out("image", "rgba8.png", png(W, H, 6, 8, [bytes(v for x in r for v in (0, 0, 0, 255 - x)) for r in gray]))
out("image", "gray16.png", png(W, H, 0, 16, [bytes(v for x in r for v in (x, x)) for r in gray]))
out("image", "palette.png", png(W, H, 3, 8, [bytes(0 if x == 0 else 1 for x in r) for r in gray],
                                palette=b"\0\0\0\xff\xff\xff", trns=b"\xff\x80"))
out("image", "gray1.png", png(16, 16, 0, 1, [bytes([0xF0, 0x0F]) for _ in range(16)]))
out("image", "p5.pgm", b"P5\n# a ring\n20 20\n255\n" + b"".join(gray))
out("image", "p2.pgm", "P2\n4 4\n15\n" + "\n".join(" ".join(str(v) for v in (0, 15, 15, 0)) for _ in range(4)) + "\n")
out("image", "p5-16bit.pgm", b"P5 2 2 65535 " + b"\x00\x00\xff\xff\x80\x00\x00\x01")

# ---- requests for nndl serve: METHOD, PATH, MODEL, CONTENT-TYPE lines, then the body

def request(method, path, model="", ctype="", body=b""):
    head = f"{method}\n{path}\n{model}\n{ctype}\n".encode()
    return head + (body.encode() if isinstance(body, str) else body)


pixels = json.dumps({"pixels": [1 if ink(x, y, 8, 8) else 0 for y in range(8) for x in range(8)]})
out("http", "get-page", request("GET", "/"))
out("http", "get-models", request("GET", "/api/models"))
out("http", "predict-json", request("POST", "/api/predict", "0", "application/json", pixels))
out("http", "predict-png", request("POST", "/api/predict", "", "image/png", png(W, H, 0, 8, gray)))
out("http", "predict-no-type", request("POST", "/api/predict", "", "", pixels))
out("http", "train", request("POST", "/api/train", "", "application/json",
                             '{"hidden": 5, "epochs": 2, "eta": 0.5, "cost": "quadratic"}'))
out("http", "events", request("GET", "/api/train/1/events"))
out("http", "wrong-method", request("DELETE", "/api/models"))
