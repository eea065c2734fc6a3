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
# JPEG: a 16x16 dark bar on light gray, baseline and progressive, as
# libjpeg-turbo 2.1 writes it at quality 90 (tests/jpeg_write.c made these
# bytes; the standard library has no JPEG encoder).
JPEG_BASELINE = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb00430003020203020203030303040303040508050504"
    "04050a070706080c0a0c0c0b0a0b0b0d0e12100d0e110e0b0b1016101113141515150c0f1718161418121415"
    "14ffc0000b080010001001011100ffc4001f0000010501010101010100000000000000000102030405060708"
    "090a0bffc400b5100002010303020403050504040000017d0102030004110512213141061351610722711432"
    "8191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a43444546474849"
    "4a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3"
    "a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9ea"
    "f1f2f3f4f5f6f7f8f9faffda0008010100003f00fb13f6acf8b5abfc0cf807e28f1be836d6577ab697f65f26"
    "1d4637781bcdba8616dc11d18fcb2311861c81d7a51fb29fc5ad5fe39fc03f0bf8df5eb6b2b4d5b54fb579d0"
    "e9d1ba40be55d4d0aed0eeec3e58d49cb1e49e9d28fdab3e12eaff001cfe01f8a3c11a0dcd95a6adaa7d97c9"
    "9b5191d205f2aea199b7144761f2c6c0614f2474eb47eca7f09757f819f00fc2fe08d7ae6caef56d2fed5e74"
    "da748ef0379b7534cbb4ba231f9645072a3907af5affd9")
JPEG_PROGRESSIVE = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb00430003020203020203030303040303040508050504"
    "04050a070706080c0a0c0c0b0a0b0b0d0e12100d0e110e0b0b1016101113141515150c0f1718161418121415"
    "14ffc2000b080010001001011100ffc4001500010100000000000000000000000000000007ffda0008010100"
    "000001b10fffc400161001010100000000000000000000000000050306ffda0008010100010502d5ad50c0ca"
    "2d5700d5935700ca1350c0ffc4001c10000202020300000000000000000000000102030400211112c1ffda00"
    "08010100063f02b5760546962ebc0906b6c07b956ecea8b2cbdb9118d6988f32d5281916597af0643ad303e6"
    "55a53b234b176e4c675b627dcfffc400191001010003010000000000000000000000011100213141ffda0008"
    "010100013f21db99b8baf623c5ee6dccdc0c7955e0f736e66e06bd82f1799b7337171e50783ccfffda000801"
    "01000000100fffc400191001000203000000000000000000000000012131001141ffda0008010100013f10e1"
    "9705d03d20d090bace19705d01d21da95aace99705d01d00d294abce99705d03d01d891bbcffd9")
out("image", "bar.jpg", JPEG_BASELINE)
out("image", "bar-progressive.jpg", JPEG_PROGRESSIVE)
out("image", "bar-cut.jpg", JPEG_BASELINE[:len(JPEG_BASELINE) // 2])
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
# What curl sends: --data-binary with its default form type, and -F.
BOUNDARY = "------------------------d74496d66958873e"


def form(parts, boundary=BOUNDARY, end=True):
    body = b""
    for headers, content in parts:
        body += f"--{boundary}\r\n".encode() + "".join(h + "\r\n" for h in headers).encode()
        body += b"\r\n" + content + b"\r\n"
    return body + (f"--{boundary}--\r\n".encode() if end else b"")


FILE_PART = (['Content-Disposition: form-data; name="file"; filename="digit.png"',
              "Content-Type: image/png"], png(W, H, 0, 8, gray))
FORM_TYPE = "multipart/form-data; boundary=" + BOUNDARY
out("http", "predict-png-as-form-data", request("POST", "/api/predict", "",
    "application/x-www-form-urlencoded", png(W, H, 0, 8, gray)))
out("http", "predict-jpeg", request("POST", "/api/predict", "", "image/jpeg", JPEG_BASELINE))
out("http", "predict-multipart", request("POST", "/api/predict", "", FORM_TYPE, form([FILE_PART])))

out("http", "wrong-method", request("DELETE", "/api/models"))

# ---- the cases of the second reliability round (docs/RELIABILITY.md)

# pictures: a 141-byte PNG whose tEXt (or zTXt) chunk declares 2 GiB; a sound
# one carrying a text chunk, which is skipped
def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


header = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))
out("image", "bomb-text.png", header + struct.pack(">I", 0x7FFFFFFF) + b"tEXt" + b"A" * 100)
out("image", "bomb-ztxt.png", header + struct.pack(">I", 0x7FFFFFFF) + b"zTXt" + b"A" * 100)
sound = png(W, H, 0, 8, gray)
out("image", "text-chunk.png", sound[:33] + png_chunk(b"tEXt", b"Comment\0" + b"x" * 200) + sound[33:])

# JSON models: 82 bytes asking for half a billion parameters; an extra key
# of 5,000 zeros (over the 4,096 values allowed besides the network's);
# what cJSON lets through
out("json_model", "sizes-only-82", '{"sizes": [1000000, 499, 1], "weights": [], "biases": [], '
    '"cost": "QuadraticCost"}')
small = ('"sizes": [2, 1], "weights": [[[1, 2]]], "biases": [[[0]]], '
         '"cost": "QuadraticCost"')
out("json_model", "extra-zeros", '{"padding": [' + ",".join("0" * 5000) + '], ' + small + "}")
out("json_model", "nndl-key-twice", '{' + small + ', "nndl": {"format": 1, "activations": '
    '["sigmoid"], "activations": ["tanh"]}}')
out("json_model", "leading-zero", '{' + small.replace("[[[1, 2]]]", "[[[01, 2]]]") + "}")
out("json_model", "point-no-digits", '{' + small.replace("[[[1, 2]]]", "[[[5., 2]]]") + "}")
out("json_model", "cost-nul", '{' + small.replace('"QuadraticCost"', '"QuadraticCost\\u0000junk"') + "}")

# binary models whose metadata has a key twice, or terminal escapes
out("model", "meta-key-twice", model([2, 1], [0], 0, meta=b'{"a": 1, "a": 2}'))
out("model", "meta-escapes", model([2, 1], [0], 0,
                                   meta=b'{"saved": "\\u001b]0;x\\u0007", "note": "\\u009b2J"}'))

# IDX pairs: a gzip stream cut inside its trailer; garbage after it; a
# second member


def idx_pair_raw(labels, images):
    return struct.pack(">H", len(labels)) + labels + images


lb = idx(0x08, [3], bytes([1, 2, 3]))
im = idx(0x08, [3, 4, 4], bytes(range(48)))
out("idx", "gzip-cut-trailer", idx_pair_raw(gzip.compress(lb, mtime=0)[:-4], gzip.compress(im, mtime=0)))
out("idx", "gzip-trailing-garbage", idx_pair_raw(gzip.compress(lb, mtime=0) + b"junk",
                                                  gzip.compress(im, mtime=0)))
out("idx", "gzip-two-members", idx_pair_raw(gzip.compress(lb, mtime=0) + gzip.compress(b"", mtime=0),
                                             gzip.compress(im, mtime=0)))

# requests: text after the JSON, a key twice, a number JSON does not allow
out("http", "predict-trailing-junk", request("POST", "/api/predict", "", "application/json",
                                             pixels + " junk"))
out("http", "predict-pixels-twice", request("POST", "/api/predict", "", "application/json",
                                            '{"pixels": [0, 1, 1, 0], "pixels": [1, 1, 1, 1]}'))
out("http", "train-key-twice", request("POST", "/api/train", "", "application/json",
                                       '{"epochs": 2, "epochs": 3}'))
out("http", "predict-leading-zero", request("POST", "/api/predict", "", "application/json",
                                            '{"pixels": [0, 01, 1, 0]}'))

# ---- checkpoints, for `nndl inspect` (a first byte of flags: 1 for --json,
# then the file; docs/MODEL_FORMAT.md, "Checkpoints")


def checkpoint(args, n_params, momentum=False, best=False, zero=0, note_text=None, done=1):
    note = {"nndl": "1.0", "command": "train", "args": args, "epochs_done": done,
            "stopped": False, "result": {"last_correct": 7, "best_correct": 8, "total": 10,
                                         "best_epoch": 0, "seconds": 0.01}}
    if best:
        note["plateau"] = {"eta_initial": 3, "eta": 1.5, "best": 0.8, "best_epoch": 0,
                           "since_best": 1, "since_change": 0}
    text = note_text if note_text is not None else json.dumps(note, separators=(",", ":"))
    text = text.encode()
    gens = [0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0x2545F4914F6CDD1D,
            0x0123456789ABCDEF, 0xFEDCBA9876543210, 0x1111111111111111, 0x7777777777777777]
    if zero == 1:
        gens[0:4] = [0, 0, 0, 0]
    if zero == 2:
        gens[4:8] = [0, 0, 0, 0]
    params = b"".join(struct.pack("<f", ((i * 7919) % 200 - 100) / 100.0) for i in range(n_params))
    v = n_params if momentum else 0
    state = struct.pack("<f", 3.0) + b"".join(struct.pack("<Q", g) for g in gens)
    state += struct.pack("<Q", v) + params[:4 * v]
    body = b"NNDLCKPT" + struct.pack("<II", 1, len(text)) + text + struct.pack("<Q", len(state))
    body += state + struct.pack("<Q", n_params) + params
    body += struct.pack("<Q", n_params if best else 0) + (params if best else b"")
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


ARGS = ["--sizes", "4,3,2", "--epochs", "3"]  # 4*3 + 3 + 3*2 + 2 = 23 parameters
out("checkpoint", "sound", b"\0" + checkpoint(ARGS, 23))
out("checkpoint", "sound-json", b"\1" + checkpoint(ARGS, 23))
out("checkpoint", "momentum", b"\0" + checkpoint(ARGS + ["--momentum", "0.5"], 23, momentum=True))
out("checkpoint", "schedule", b"\0" + checkpoint(ARGS + ["--eta-schedule", "halve:2:8"], 23,
                                                 best=True))
out("checkpoint", "conv", b"\0" + checkpoint(["--layers", "conv:1:27,softmax:2"],
                                             27 * 27 + 1 + 4 * 2 + 2))
out("checkpoint", "zero-shuffle", b"\0" + checkpoint(ARGS, 23, zero=1))
out("checkpoint", "zero-dropout", b"\0" + checkpoint(ARGS + ["--dropout", "0.2"], 23, zero=2))
out("checkpoint", "epochs-1e300", b"\0" + checkpoint(ARGS, 23, note_text=(
    '{"args":["--sizes","4,3,2"],"epochs_done":1e300,"result":{}}')))
out("checkpoint", "note-key-twice", b"\0" + checkpoint(ARGS, 23, note_text=(
    '{"args":["--sizes","4,3,2"],"epochs_done":1,"epochs_done":2,"result":{}}')))
out("checkpoint", "huge-network", b"\0" + checkpoint(["--sizes", "784,100000,200"], 23))

# ---- MNIST folders, for `nndl eval MODEL` with $NNDL_DATA: flags (bit 0:
# the validation data, from the training files), the four files' kinds (2
# bits each: 0 a file, 2 missing, 3 a FIFO), three 3-byte lengths, the files


def folder(files, validation=0, kinds=0):
    head = bytes([validation, kinds]) + b"".join(len(f).to_bytes(3, "big") for f in files[:3])
    return head + b"".join(files)


def digits(count, compress=True):
    lb = idx(0x08, [count], bytes(i % 10 for i in range(count)))
    im = idx(0x08, [count, 28, 28], bytes((i * 37) % 256 for i in range(count * 784)))
    if compress:
        lb, im = gzip.compress(lb, mtime=0), gzip.compress(im, mtime=0)
    return im, lb


tim, tlb = digits(3)
out("idx_folder", "test-3", folder([tim, tlb, tim, tlb]))
out("idx_folder", "validation-3", folder([tim, tlb, tim, tlb], validation=1))
out("idx_folder", "plain-2", folder(list(digits(2, False)) * 2))
out("idx_folder", "cut-trailer", folder([tim, tlb, tim, tlb[:-4]]))
out("idx_folder", "fifos", folder([tim, tlb, tim, tlb], kinds=0xFF))
out("idx_folder", "missing-labels", folder([tim, tlb, tim, tlb], kinds=0x80))

# ---- multipart/form-data bodies: the Content-Type line, then the body

def multipart(ctype, body):
    return ctype.encode() + b"\n" + body


JPEG_PART = (['Content-Disposition: form-data; name="photo"; filename="seven.jpg"',
              "Content-Type: image/jpeg"], JPEG_BASELINE)
FIELD = (['Content-Disposition: form-data; name="note"'], b"a seven")
out("multipart", "one-file", multipart(FORM_TYPE, form([FILE_PART])))
out("multipart", "field-then-file", multipart(FORM_TYPE, form([FIELD, JPEG_PART])))
out("multipart", "quoted-boundary", multipart('multipart/form-data; charset=utf-8; boundary="a b:c"',
    b"preamble\r\n" + form([FIELD, FILE_PART], boundary="a b:c")))
out("multipart", "no-file", multipart(FORM_TYPE, form([FIELD])))
out("multipart", "cut", multipart(FORM_TYPE, form([FILE_PART], end=False)[:300]))
out("multipart", "no-boundary", multipart("multipart/form-data", form([FILE_PART])))
