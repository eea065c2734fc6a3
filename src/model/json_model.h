/* JSON models in the format of the book's network2.py.
 *
 * network2.py's save() writes one JSON object:
 *   {"sizes": [784, 30, 10],
 *    "weights": [w1, w2],   w^l as n_out rows of n_in numbers
 *    "biases": [b1, b2],    b^l as a column: [[b_1], [b_2], ...]
 *    "cost": "CrossEntropyCost"}
 * and its load() reads exactly those four keys. Its networks are sigmoid
 * throughout. nndl writes the same four keys and adds a fifth, "nndl", with
 * what network2.py cannot express (each layer's activation, the
 * initialization, the seed); network2.py ignores it, and nndl reads it when
 * present. See docs/MODEL_FORMAT.md, "JSON models". */
#ifndef NNDL_MODEL_JSON_MODEL_H
#define NNDL_MODEL_JSON_MODEL_H

#include <stddef.h>

#include "nndl.h"

/* Largest JSON model file read, in bytes. */
#ifndef JSON_MODEL_MAX_BYTES
#define JSON_MODEL_MAX_BYTES (1ull << 30)
#endif
/* JSON values a model file may hold besides those of its network (the
 * numbers, rows and lists of network2.py's keys and nndl's): room for
 * extra keys, while the parsed tree (some 80 bytes a value) stays within
 * a small multiple of the network's own size. */
#ifndef JSON_MODEL_EXTRA_VALUES
#define JSON_MODEL_EXTRA_VALUES 4096
#endif

/* Writes `net` to `path` as JSON, atomically (atomic_file.h). Every float
 * is written with the fewest digits that read back to the same float, so a
 * save and load is bit-exact. NNDL_ERR_ARG for a NaN or infinite parameter. */
nndl_status json_model_save(const nndl_net *net, const char *path, nndl_error *err);

/* Reads a JSON model: network2.py's four keys, checked for type and shape,
 * and the optional "nndl" key. Without it the network is sigmoid in every
 * layer with init "scaled" and seed 0, as network2.py's were. Numbers are
 * rounded to the nearest float; NaN, infinity and numbers past the float
 * range are rejected. Errors name the file and the JSON path, e.g.
 * "m.json: weights[1][3] has 29 numbers, expected 30". */
nndl_net *json_model_load(const char *path, nndl_error *err);

/* 1 if network2.py can load what json_model_save writes for `net` (sigmoid
 * layers, quadratic or cross-entropy cost). Otherwise 0, with the reason in
 * why[0..cap) when `why` is not NULL. */
int json_model_network2_compatible(const nndl_net *net, char *why, size_t cap);

#endif
