/* Model files: a network's settings and parameters in the binary format of
 * docs/MODEL_FORMAT.md (version 2 for networks of sizes, version 3 for
 * sequences of layers, and version 1 for reading).
 *
 * Every field goes through byteio.h, so a file reads the same on any host.
 * Loading trusts nothing in the file: the header is checked against the
 * limits of nndl.h and against the file's real length before anything is
 * allocated, and the CRC-32 is checked before the network is handed out.
 * Saving goes through atomic_file.c, so the old file survives any failure.
 * A file whose first character (after white space) is '{' is a JSON model
 * and goes to json_model.c. */
#include "model/model_file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cjson/cJSON.h>

#include "common/alloc.h"
#include "common/byteio.h"
#include "common/error.h"
#include "common/file.h"
#include "common/json_strict.h"
#include "model/atomic_file.h"
#include "model/json_model.h"
#include "net/cost.h"
#include "net/network.h"

/* ---- The layout (docs/MODEL_FORMAT.md) ---------------------------------- */

static const uint8_t model_magic[8] = {'N', 'N', 'D', 'L', 'M', 'O', 'D', 'L'};

enum {
    MODEL_VERSION = 3,   /* the newest; versions 1 to 3 are read */
    MODEL_VERSION_SIZES = 2, /* written for networks it can hold */
    OFF_VERSION = 8,
    OFF_FLAGS = 12,
    OFF_COST = 16,
    OFF_INIT = 20,       /* version 1: the activation of every layer */
    OFF_N_SIZES = 24,
    OFF_SIZES = 28,      /* n x u32; version 2: then n-1 activations (u32) */
    FIXED_BYTES = 28,    /* everything before the sizes */
    TAIL_BYTES = 4,      /* the CRC-32 */
    /* Version 3: at 24 the number of layers, at 28 the input shape, then a
     * record per layer: kind, activation, size, kernel, pool, dropout. */
    OFF_INPUT = 28,
    OFF_LAYERS = 40,
    LAYER_RECORD_BYTES = 24,
    /* the longest header of either version, with seed, parameter count
     * and metadata length */
    MAX_HEADER_BYTES = OFF_LAYERS + LAYER_RECORD_BYTES * NNDL_MAX_LAYERS + 20
};

/* Header bytes for n sizes: the fixed part, the sizes, (version 2) the
 * activations, the seed and the parameter count, (version 2) the length of
 * the metadata. */
static uint64_t header_bytes(uint32_t version, uint64_t n_sizes)
{
    if (version == 1) return OFF_SIZES + 4 * n_sizes + 16;
    if (version == 3) return OFF_LAYERS + LAYER_RECORD_BYTES * (n_sizes - 1) + 20;
    return OFF_SIZES + 4 * n_sizes + 4 * (n_sizes - 1) + 20;
}

/* Parameters are streamed through a buffer of this many floats. */
enum { CHUNK_FLOATS = 4096 };

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
    /* zlib takes a uInt length; feed it in pieces that fit. */
    while (n > 0) {
        uInt piece = n > 1u << 30 ? 1u << 30 : (uInt)n;
        crc = (uint32_t)crc32(crc, p, piece);
        p += piece;
        n -= piece;
    }
    return crc;
}

void model_param_name(const nndl_net *net, size_t i, char *out, size_t cap)
{
    for (int t = 0; t < net->n_tensors; t++) {
        const param_tensor *pt = &net->tensors[t];
        if (i >= pt->offset && i - pt->offset < pt->count) {
            snprintf(out, cap, "%s[%zu]", pt->name, i - pt->offset);
            return;
        }
    }
    snprintf(out, cap, "[%zu]", i);
}

static const char *nonfinite_name(float x) { return isnan(x) ? "NaN" : "infinite"; }

nndl_status model_check_finite(const nndl_net *net, const char *path, nndl_error *err)
{
    for (size_t i = 0; i < net->n_params; i++) {
        if (!isfinite(net->params[i])) {
            char name[48];
            model_param_name(net, i, name, sizeof name);
            return error_set(err, NNDL_ERR_ARG,
                             "%s: not saved: parameter %s is %s (training diverged?)", path,
                             name, nonfinite_name(net->params[i]));
        }
    }
    return NNDL_OK;
}

nndl_status model_check_activations(const char *path, nndl_cost cost, int n_sizes,
                                    const nndl_activation *acts, nndl_error *err)
{
    int out = n_sizes - 1; /* the output layer, 1-based as in the book */
    for (int l = 1; l < out; l++)
        if (acts[l - 1] == NNDL_ACT_SOFTMAX)
            return error_set(err, NNDL_ERR_FORMAT,
                             "%s: hidden layer %d is softmax; only the output layer may be",
                             path, l);
    nndl_activation want =
        cost == NNDL_COST_LOG_LIKELIHOOD ? NNDL_ACT_SOFTMAX : NNDL_ACT_SIGMOID;
    if (acts[out - 1] != want)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: the output layer (layer %d) is %s, but the %s cost needs a %s "
                         "output layer", path, out, nndl_activation_name(acts[out - 1]),
                         nndl_cost_name(cost), nndl_activation_name(want));
    return NNDL_OK;
}

/* Words of a version 3 layer record, and the names messages give them. */
enum { REC_KIND, REC_ACT, REC_SIZE, REC_KERNEL, REC_POOL, REC_DROPOUT };
static const char *const record_field[] = {"kind", "activation", "size", "kernel", "pool"};

/* Whether a kind uses the size, kernel or pool word. The others must be 0:
 * one network, one spelling, and junk in a record is damage. */
static int record_uses(nndl_layer_kind kind, int field)
{
    switch (kind) {
    case NNDL_LAYER_FC: return field == REC_SIZE;
    case NNDL_LAYER_CONV: return 1;
    case NNDL_LAYER_POOL: return field == REC_POOL;
    }
    return 0;
}

/* A version 3 layer record: the words its kind uses, 0 in the others,
 * whatever the spec held there (nndl_net_create ignores them). */
static void write_layer_record(uint8_t *r, const nndl_layer_spec *s)
{
    const uint32_t w[REC_DROPOUT] = {(uint32_t)s->kind, (uint32_t)s->act, (uint32_t)s->size,
                                     (uint32_t)s->kernel, (uint32_t)s->pool};
    for (int i = 0; i < REC_DROPOUT; i++)
        write_u32_le(r + 4 * i, i < REC_SIZE || record_uses(s->kind, i) ? w[i] : 0);
    write_f32_le(r + 4 * REC_DROPOUT, s->dropout);
}

/* ---- Metadata ----------------------------------------------------------- */

/* Length of the valid UTF-8 prefix of p[0..n): n if all of it is valid.
 * Rejects overlong forms, surrogates, code points past U+10FFFF and NUL. */
static size_t utf8_valid_prefix(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        size_t len;
        uint32_t min, cp;
        if (c == 0) return i;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, min = 0x10000, cp = c & 0x07;
        } else {
            return i;
        }
        if (n - i < len) return i;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80) return i;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += len;
    }
    return n;
}

/* Checks that text[0..len) (NUL-terminated at len) is metadata: UTF-8
 * without NUL holding one JSON object, read strictly (json_strict.h).
 * Returns NULL if so, else what is wrong ("is malformed JSON"), with the
 * byte offset in *where; "out of memory" (and *nomem set) when it could
 * not tell. */
static const char *meta_problem(const char *text, size_t len, size_t *where, int *nomem)
{
    *nomem = 0;
    *where = utf8_valid_prefix((const uint8_t *)text, len);
    if (*where < len) return text[*where] ? "is not valid UTF-8" : "contains a NUL byte";
    json_problem p;
    cJSON *root = json_parse_strict(text, len, (size_t)-1, &p);
    *where = p.offset;
    switch (p.kind) {
    case JSON_FINE:
        break;
    case JSON_TRAILING:
        return "is malformed JSON: text after its object";
    case JSON_BAD_NUMBER:
        return "has a number JSON does not allow (a leading zero, or a point without digits)";
    case JSON_NUL_IN_STRING:
        return "has \\u0000 in a string";
    case JSON_CONTROL_IN_STRING:
        return "has a control character in a string";
    case JSON_DUPLICATE_KEY:
        return "has a key twice in one object";
    case JSON_NOMEM:
        *nomem = 1;
        return "out of memory";
    default:
        return "is malformed JSON";
    }
    int object = cJSON_IsObject(root);
    cJSON_Delete(root);
    *where = 0;
    return object ? NULL : "is not a JSON object";
}

/* ---- Saving ------------------------------------------------------------- */

typedef struct model_writer {
    const nndl_net *net;
    const char *meta;
    uint32_t meta_len;
} model_writer;

/* Writes n bytes and folds them into the running CRC. */
static int put(FILE *f, const uint8_t *p, size_t n, uint32_t *crc)
{
    *crc = crc_update(*crc, p, n);
    return fwrite(p, 1, n, f) == n ? 0 : -1;
}

/* Whether version 2 holds `net` exactly, so that older nndl reads it:
 * fully connected layers over a flat input, no layer's own dropout, and
 * the activations and initializations version 2 knew. */
static int fits_version2(const nndl_net *net)
{
    if (net->input.height != 1 || net->input.width != 1 || net->init > NNDL_INIT_LARGE)
        return 0;
    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        if (ly->kind != LAYER_DENSE || ly->spec.dropout != 0 || ly->act > NNDL_ACT_SOFTMAX)
            return 0;
    }
    return 1;
}

static int write_model(FILE *f, const void *ctx)
{
    const model_writer *w = ctx;
    const nndl_net *net = w->net;
    uint8_t head[MAX_HEADER_BYTES];
    int v2 = fits_version2(net);
    memcpy(head, model_magic, sizeof model_magic);
    write_u32_le(head + OFF_VERSION, v2 ? MODEL_VERSION_SIZES : MODEL_VERSION);
    write_u32_le(head + OFF_FLAGS, 0);
    write_u32_le(head + OFF_COST, (uint32_t)net->cost);
    write_u32_le(head + OFF_INIT, (uint32_t)net->init);
    uint8_t *p;
    if (v2) {
        write_u32_le(head + OFF_N_SIZES, (uint32_t)net->n_sizes);
        p = head + OFF_SIZES;
        for (int l = 0; l < net->n_sizes; l++, p += 4) write_u32_le(p, (uint32_t)net->sizes[l]);
        for (int l = 0; l < net->n_layers; l++, p += 4)
            write_u32_le(p, (uint32_t)net->layers[l].act);
    } else {
        write_u32_le(head + OFF_N_SIZES, (uint32_t)net->n_layers);
        write_u32_le(head + OFF_INPUT, (uint32_t)net->input.channels);
        write_u32_le(head + OFF_INPUT + 4, (uint32_t)net->input.height);
        write_u32_le(head + OFF_INPUT + 8, (uint32_t)net->input.width);
        p = head + OFF_LAYERS;
        for (int l = 0; l < net->n_layers; l++, p += LAYER_RECORD_BYTES)
            write_layer_record(p, &net->layers[l].spec);
    }
    write_u64_le(p, net->seed);
    write_u64_le(p + 8, (uint64_t)net->n_params);
    write_u32_le(p + 16, w->meta_len);
    p += 20;

    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    if (put(f, head, (size_t)(p - head), &crc)) return -1;
    if (w->meta_len && put(f, (const uint8_t *)w->meta, w->meta_len, &crc)) return -1;

    uint8_t chunk[4 * CHUNK_FLOATS];
    for (size_t done = 0; done < net->n_params;) {
        size_t n = net->n_params - done < CHUNK_FLOATS ? net->n_params - done : CHUNK_FLOATS;
        for (size_t i = 0; i < n; i++) write_f32_le(chunk + 4 * i, net->params[done + i]);
        if (put(f, chunk, 4 * n, &crc)) return -1;
        done += n;
    }

    uint8_t tail[TAIL_BYTES];
    write_u32_le(tail, crc);
    return fwrite(tail, 1, sizeof tail, f) == sizeof tail ? 0 : -1;
}

nndl_status model_save_with_meta(const nndl_net *net, const char *path, const char *meta_json,
                                 nndl_error *err)
{
    if (!path || !*path) return error_set(err, NNDL_ERR_ARG, "model file: no path given");
    if (!net || !net->params)
        return error_set(err, NNDL_ERR_ARG, "%s: no network to save", path);

    /* The loader rejects NaN and infinity, so refuse to write a file that
     * could not be read back. */
    nndl_status st = model_check_finite(net, path, err);
    if (st != NNDL_OK) return st;

    model_writer w = {net, meta_json, 0};
    if (meta_json && *meta_json) {
        size_t len = strlen(meta_json), where;
        if (len > MODEL_MAX_META_BYTES)
            return error_set(err, NNDL_ERR_ARG,
                             "%s: not saved: the metadata is %zu bytes; the limit is %u", path,
                             len, (unsigned)MODEL_MAX_META_BYTES);
        int nomem;
        const char *problem = meta_problem(meta_json, len, &where, &nomem);
        if (problem)
            return error_set(err, nomem ? NNDL_ERR_NOMEM : NNDL_ERR_ARG,
                             "%s: not saved: the metadata %s (at byte %zu)", path, problem,
                             where);
        w.meta_len = (uint32_t)len;
    }
    return atomic_file_write(path, "model file", write_model, &w, err);
}

nndl_status nndl_net_save(const nndl_net *net, const char *path, nndl_error *err)
{
    return model_save_with_meta(net, path, NULL, err);
}

/* ---- Loading ------------------------------------------------------------ */

typedef struct model_header {
    uint32_t version, flags, cost, init, n_sizes; /* version 3: n_sizes = layers + 1 */
    nndl_shape input;                             /* version 3 */
    nndl_layer_spec layers[NNDL_MAX_LAYERS - 1];  /* version 3 */
    int sizes[NNDL_MAX_LAYERS];
    nndl_activation acts[NNDL_MAX_LAYERS - 1]; /* layer 1 first */
    uint64_t seed, n_params;
    uint32_t meta_len;
    uint8_t bytes[MAX_HEADER_BYTES]; /* as read, for the CRC */
    size_t n_bytes;
} model_header;

/* Reads exactly n bytes. The length was checked against the file size, so a short
 * read means the file shrank while we read it, or a read error. */
static nndl_status get(FILE *f, uint8_t *p, size_t n, const char *path, nndl_error *err)
{
    if (fread(p, 1, n, f) == n) return NNDL_OK;
    if (ferror(f))
        return error_set(err, NNDL_ERR_IO, "%s: read error: %s", path, strerror(errno));
    return error_set(err, NNDL_ERR_FORMAT, "%s: truncated: the file ended early (did it "
                     "change while being read?)", path);
}

static nndl_status truncated(nndl_error *err, const char *path, const char *what,
                             uint64_t expected, uint64_t found)
{
    return error_set(err, NNDL_ERR_FORMAT,
                     "%s: truncated: expected %s%llu bytes, found %llu", path, what,
                     (unsigned long long)expected, (unsigned long long)found);
}

/* Weights and biases implied by the sizes (weights w^l then biases b^l
 * per layer), or UINT64_MAX past NNDL_MAX_PARAMS. */
static uint64_t implied_params(const int *sizes, uint32_t n)
{
    uint64_t total = 0;
    for (uint32_t l = 1; l < n; l++) {
        /* Sizes are at most NNDL_MAX_LAYER_SIZE, yet check: the limit is a
         * build-time setting. */
        uint64_t in = (uint64_t)sizes[l - 1] + 1, out = (uint64_t)sizes[l];
        if (out > UINT64_MAX / in) return UINT64_MAX;
        uint64_t count = out * in;
        if (count > NNDL_MAX_PARAMS - total) return UINT64_MAX;
        total += count;
    }
    return total;
}

/* A version 3 file's spec, pointing into h. */
static nndl_net_spec layers_spec(const model_header *h)
{
    nndl_net_spec spec = nndl_net_spec_default(0, NULL);
    spec.cost = (nndl_cost)h->cost;
    spec.init = (nndl_init)h->init;
    spec.seed = h->seed;
    spec.layers = h->layers;
    spec.n_layers = (int)h->n_sizes - 1;
    spec.input = h->input;
    return spec;
}

static const char *kind_noun(nndl_layer_kind kind)
{
    return kind == NNDL_LAYER_CONV   ? "a convolutional layer"
           : kind == NNDL_LAYER_POOL ? "a max-pooling layer"
                                     : "a fully connected layer";
}

/* Version 3's input shape: each side 1 to NNDL_MAX_LAYER_SIZE (their
 * product is nndl_net_create's to check). */
static nndl_status read_input_shape(const uint8_t *b, const char *path, nndl_shape *input,
                                    nndl_error *err)
{
    uint32_t side[3];
    for (int i = 0; i < 3; i++) side[i] = read_u32_le(b + OFF_INPUT + 4 * i);
    for (int i = 0; i < 3; i++)
        if (side[i] < 1 || side[i] > NNDL_MAX_LAYER_SIZE)
            return error_set(err, NNDL_ERR_FORMAT,
                             "%s: the input shape %lu x %lu x %lu is out of range (each side "
                             "1 to %d)", path, (unsigned long)side[0], (unsigned long)side[1],
                             (unsigned long)side[2], NNDL_MAX_LAYER_SIZE);
    *input = (nndl_shape){(int)side[0], (int)side[1], (int)side[2]};
    return NNDL_OK;
}

/* Layer l's record (1-based; `output` for the last), checked field by
 * field: known kind and activation, the words its kind uses in range and
 * the others 0, the activation the one nndl_net_create would give it
 * (the cost's for the output layer, linear for max-pooling), and dropout a
 * probability. Shapes, and where dropout applies, are nndl_net_create's
 * checks, made on the whole spec after. */
static nndl_status read_layer_record(const uint8_t *r, int l, int output, nndl_cost cost,
                                     const char *path, nndl_layer_spec *out, nndl_error *err)
{
    uint32_t w[REC_DROPOUT];
    for (int i = 0; i < REC_DROPOUT; i++) w[i] = read_u32_le(r + 4 * i);
    if (w[REC_KIND] >= NNDL_LAYER_KIND_COUNT)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: layer %d: unknown kind %lu (0 fully connected, 1 convolutional, "
                         "2 max-pooling)", path, l, (unsigned long)w[REC_KIND]);
    if (w[REC_ACT] >= NNDL_ACT_COUNT)
        return error_set(err, NNDL_ERR_FORMAT, "%s: layer %d: unknown activation function %lu",
                         path, l, (unsigned long)w[REC_ACT]);
    const nndl_layer_kind kind = (nndl_layer_kind)w[REC_KIND];
    for (int i = REC_SIZE; i <= REC_POOL; i++) {
        if (!record_uses(kind, i) && w[i] != 0)
            return error_set(err, NNDL_ERR_FORMAT, "%s: layer %d: %s has no %s, but the "
                             "record gives %lu (must be 0)", path, l, kind_noun(kind),
                             record_field[i], (unsigned long)w[i]);
        if (w[i] > NNDL_MAX_LAYER_SIZE)
            return error_set(err, NNDL_ERR_FORMAT, "%s: layer %d: %s %lu is out of range "
                             "(at most %d)", path, l, record_field[i], (unsigned long)w[i],
                             NNDL_MAX_LAYER_SIZE);
    }
    const nndl_activation act = (nndl_activation)w[REC_ACT];
    if (output && act != cost_output_activation(cost))
        return error_set(err, NNDL_ERR_FORMAT, "%s: layer %d is %s, but the %s cost needs a %s "
                         "output layer", path, l, nndl_activation_name(act),
                         nndl_cost_name(cost),
                         nndl_activation_name(cost_output_activation(cost)));
    if (!output && kind == NNDL_LAYER_POOL && act != NNDL_ACT_LINEAR)
        return error_set(err, NNDL_ERR_FORMAT, "%s: layer %d is a max-pooling layer, so linear, "
                         "but the record says %s", path, l, nndl_activation_name(act));
    /* -0 as well: the writer never stores it (one spelling per network) */
    const float dropout = read_f32_le(r + 4 * REC_DROPOUT);
    if (!(dropout >= 0 && dropout < 1) || signbit(dropout))
        return error_set(err, NNDL_ERR_FORMAT, "%s: layer %d: dropout %g; need 0 <= p < 1",
                         path, l, (double)dropout);
    *out = (nndl_layer_spec){kind, (int)w[REC_SIZE], (int)w[REC_KERNEL], (int)w[REC_POOL], act,
                             dropout};
    return NNDL_OK;
}

/* Version 3's input shape and layer records, checked as nndl_net_create
 * checks a spec (without allocating), and the parameters they imply. */
static nndl_status read_layers(model_header *h, const char *path, size_t *n_params,
                               nndl_error *err)
{
    nndl_status st = read_input_shape(h->bytes, path, &h->input, err);
    if (st != NNDL_OK) return st;
    const int n = (int)h->n_sizes - 1;
    for (int l = 0; l < n; l++) {
        st = read_layer_record(h->bytes + OFF_LAYERS + LAYER_RECORD_BYTES * l, l + 1, l == n - 1,
                               (nndl_cost)h->cost, path, &h->layers[l], err);
        if (st != NNDL_OK) return st;
    }
    nndl_net_spec spec = layers_spec(h);
    nndl_error e;
    if (net_spec_count(&spec, n_params, &e) != NNDL_OK)
        return error_set(err, NNDL_ERR_FORMAT, "%s: %s", path, e.message);
    return NNDL_OK;
}

/* Reads and checks the header, and checks that the file is exactly as long
 * as the header says, all before anything is allocated. */
static nndl_status read_header(FILE *f, const char *path, uint64_t file_size,
                               model_header *h, nndl_error *err)
{
    uint8_t *b = h->bytes;
    size_t have = file_size < FIXED_BYTES ? (size_t)file_size : FIXED_BYTES;
    if (file_size == 0)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: empty file (0 bytes), not an nndl model file", path);
    nndl_status st = get(f, b, have, path, err);
    if (st != NNDL_OK) return st;

    size_t magic_have = have < sizeof model_magic ? have : sizeof model_magic;
    if (memcmp(b, model_magic, magic_have) != 0)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: not an nndl model file (it does not start with \"NNDLMODL\")",
                         path);
    if (have < FIXED_BYTES) return truncated(err, path, "at least ", FIXED_BYTES, file_size);

    h->version = read_u32_le(b + OFF_VERSION);
    h->flags = read_u32_le(b + OFF_FLAGS);
    h->cost = read_u32_le(b + OFF_COST);
    uint32_t word20 = read_u32_le(b + OFF_INIT);
    h->n_sizes = read_u32_le(b + OFF_N_SIZES);
    if (h->version < 1 || h->version > MODEL_VERSION)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: model format version %lu is not supported (this nndl reads "
                         "versions 1 to %d)%s", path, (unsigned long)h->version, MODEL_VERSION,
                         h->version > MODEL_VERSION ? "; it may come from a newer nndl" : "");
    if (h->flags != 0)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: unsupported header flags 0x%08lx (version %lu has none)", path,
                         (unsigned long)h->flags, (unsigned long)h->version);
    if (h->cost >= NNDL_COST_COUNT)
        return error_set(err, NNDL_ERR_FORMAT, "%s: unknown cost function %lu", path,
                         (unsigned long)h->cost);
    /* Version 1 stored one activation for every layer, and came from
     * chapter 1, whose initialization was N(0,1). */
    uint32_t v1_act = 0;
    if (h->version == 1) {
        v1_act = word20;
        h->init = NNDL_INIT_LARGE;
        if (v1_act >= NNDL_ACT_COUNT)
            return error_set(err, NNDL_ERR_FORMAT, "%s: unknown activation function %lu",
                             path, (unsigned long)v1_act);
    } else {
        h->init = word20;
        if (h->init >= NNDL_INIT_COUNT)
            return error_set(err, NNDL_ERR_FORMAT, "%s: unknown initialization %lu", path,
                             (unsigned long)h->init);
    }
    if (h->version == 3) { /* the number of layers, not of sizes */
        if (h->n_sizes < 1 || h->n_sizes > NNDL_MAX_LAYERS - 1)
            return error_set(err, NNDL_ERR_FORMAT, "%s: %lu layers; a model has 1 to %d", path,
                             (unsigned long)h->n_sizes, NNDL_MAX_LAYERS - 1);
        h->n_sizes++;
    }
    if (h->n_sizes < 2 || h->n_sizes > NNDL_MAX_LAYERS)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: %lu layer sizes; a model has 2 to %d (NNDL_MAX_LAYERS)", path,
                         (unsigned long)h->n_sizes, NNDL_MAX_LAYERS);

    h->n_bytes = (size_t)header_bytes(h->version, h->n_sizes);
    if (file_size < h->n_bytes) return truncated(err, path, "at least ", h->n_bytes, file_size);
    st = get(f, b + FIXED_BYTES, h->n_bytes - FIXED_BYTES, path, err);
    if (st != NNDL_OK) return st;

    const uint8_t *p = b + OFF_SIZES;
    uint64_t implied;
    if (h->version == 3) {
        size_t count;
        st = read_layers(h, path, &count, err);
        if (st != NNDL_OK) return st;
        implied = count;
        p = b + OFF_LAYERS + LAYER_RECORD_BYTES * (h->n_sizes - 1);
    } else {
        for (uint32_t l = 0; l < h->n_sizes; l++, p += 4) {
            uint32_t s = read_u32_le(p);
            if (s < 1 || s > NNDL_MAX_LAYER_SIZE)
                return error_set(err, NNDL_ERR_FORMAT,
                                 "%s: layer %lu has %lu neurons; need 1 to %d (NNDL_MAX_LAYER_SIZE)",
                                 path, (unsigned long)l, (unsigned long)s, NNDL_MAX_LAYER_SIZE);
            h->sizes[l] = (int)s;
        }
        for (uint32_t l = 1; l < h->n_sizes; l++) {
            uint32_t a = v1_act;
            if (h->version >= 2) {
                a = read_u32_le(p);
                p += 4;
                if (a >= NNDL_ACT_COUNT)
                    return error_set(err, NNDL_ERR_FORMAT,
                                     "%s: layer %lu has unknown activation function %lu", path,
                                     (unsigned long)l, (unsigned long)a);
            }
            h->acts[l - 1] = (nndl_activation)a;
        }
        st = model_check_activations(path, (nndl_cost)h->cost, (int)h->n_sizes, h->acts, err);
        if (st != NNDL_OK) return st;
        implied = implied_params(h->sizes, h->n_sizes);
    }
    h->seed = read_u64_le(p);
    h->n_params = read_u64_le(p + 8);
    h->meta_len = h->version >= 2 ? read_u32_le(p + 16) : 0;

    if (implied == UINT64_MAX)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: the layer sizes need more than %llu parameters (NNDL_MAX_PARAMS)",
                         path, (unsigned long long)NNDL_MAX_PARAMS);
    if (h->n_params != implied)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: the header declares %llu parameters but the layer sizes imply %llu",
                         path, (unsigned long long)h->n_params, (unsigned long long)implied);
    if (h->meta_len > MODEL_MAX_META_BYTES)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: the metadata length is %lu bytes; the limit is %u", path,
                         (unsigned long)h->meta_len, (unsigned)MODEL_MAX_META_BYTES);

    /* implied <= NNDL_MAX_PARAMS, so this cannot overflow. */
    uint64_t expected = h->n_bytes + h->meta_len + 4 * implied + TAIL_BYTES;
    if (file_size < expected) return truncated(err, path, "", expected, file_size);
    if (file_size > expected)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: trailing data: expected %llu bytes, found %llu (the checksum "
                         "should be the last 4 bytes)", path, (unsigned long long)expected,
                         (unsigned long long)file_size);
    return NNDL_OK;
}

/* Reads the metadata (into a new string in *meta, NULL when empty), the
 * parameters and the CRC into `net`, then checks the CRC, that every
 * parameter is finite and that the metadata is a JSON object. */
static nndl_status read_body(FILE *f, const char *path, const model_header *h, nndl_net *net,
                             char **meta, nndl_error *err)
{
    uint32_t crc = crc_update((uint32_t)crc32(0L, Z_NULL, 0), h->bytes, h->n_bytes);
    char *text = NULL;
    if (h->meta_len > 0) {
        /* At most MODEL_MAX_META_BYTES, and the file is known to hold it. */
        text = alloc_array((size_t)h->meta_len + 1, 1);
        if (!text) return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory", path);
        nndl_status st = get(f, (uint8_t *)text, h->meta_len, path, err);
        if (st != NNDL_OK) {
            alloc_free(text);
            return st;
        }
        text[h->meta_len] = 0;
        crc = crc_update(crc, (const uint8_t *)text, h->meta_len);
    }

    nndl_status st = NNDL_OK;
    uint8_t chunk[4 * CHUNK_FLOATS];
    size_t first_bad = SIZE_MAX;
    for (size_t done = 0; done < net->n_params;) {
        size_t n = net->n_params - done < CHUNK_FLOATS ? net->n_params - done : CHUNK_FLOATS;
        st = get(f, chunk, 4 * n, path, err);
        if (st != NNDL_OK) goto done;
        crc = crc_update(crc, chunk, 4 * n);
        for (size_t i = 0; i < n; i++) {
            float x = read_f32_le(chunk + 4 * i);
            if (!isfinite(x) && first_bad == SIZE_MAX) first_bad = done + i;
            net->params[done + i] = x;
        }
        done += n;
    }

    uint8_t tail[TAIL_BYTES];
    st = get(f, tail, sizeof tail, path, err);
    if (st != NNDL_OK) goto done;
    if (fgetc(f) != EOF) {
        st = error_set(err, NNDL_ERR_FORMAT,
                       "%s: trailing data after the checksum (did the file change while "
                       "being read?)", path);
        goto done;
    }
    uint32_t stored = read_u32_le(tail);
    if (stored != crc) {
        st = error_set(err, NNDL_ERR_FORMAT,
                       "%s: checksum mismatch, the file is damaged (stored CRC-32 %08lx, "
                       "computed %08lx)", path, (unsigned long)stored, (unsigned long)crc);
        goto done;
    }

    /* After the CRC, so that damage is reported as damage: a NaN or a bad
     * metadata block with a correct CRC was written that way. */
    if (first_bad != SIZE_MAX) {
        char name[48];
        model_param_name(net, first_bad, name, sizeof name);
        st = error_set(err, NNDL_ERR_FORMAT, "%s: parameter %s is %s", path, name,
                       nonfinite_name(net->params[first_bad]));
        goto done;
    }
    if (text) {
        size_t where;
        int nomem;
        const char *problem = meta_problem(text, h->meta_len, &where, &nomem);
        if (problem) {
            st = error_set(err, nomem ? NNDL_ERR_NOMEM : NNDL_ERR_FORMAT,
                           "%s: the metadata %s (at byte %zu of it)", path, problem, where);
            goto done;
        }
    }

done:
    if (st == NNDL_OK)
        *meta = text;
    else
        alloc_free(text);
    return st;
}

/* 1 if the first character of `f` other than JSON white space is '{'.
 * Leaves the stream at its start. */
static int starts_like_json(FILE *f)
{
    int c;
    while ((c = fgetc(f)) == ' ' || c == '\t' || c == '\n' || c == '\r') {}
    rewind(f);
    return c == '{';
}

static nndl_net_spec model_spec(int n_sizes, const int *sizes, nndl_cost cost, nndl_init init,
                                uint64_t seed, const nndl_activation *acts)
{
    nndl_net_spec spec = nndl_net_spec_default(n_sizes, sizes);
    spec.cost = cost;
    spec.init = init;
    spec.seed = seed;
    if (n_sizes > 2) {
        spec.act = acts[0];
        spec.hidden_acts = acts;
    }
    return spec;
}

nndl_status model_net_check(const char *path, int n_sizes, const int *sizes, nndl_cost cost,
                            nndl_init init, const nndl_activation *acts, nndl_error *err)
{
    nndl_net_spec spec = model_spec(n_sizes, sizes, cost, init, 0, acts);
    nndl_error e;
    if (net_spec_check(&spec, &e) == NNDL_OK) return NNDL_OK;
    return error_set(err, e.status == NNDL_ERR_ARG ? NNDL_ERR_FORMAT : e.status, "%s: %s", path,
                     e.message);
}

nndl_net *model_net_create(const char *path, int n_sizes, const int *sizes, nndl_cost cost,
                           nndl_init init, uint64_t seed, const nndl_activation *acts,
                           nndl_error *err)
{
    nndl_net_spec spec = model_spec(n_sizes, sizes, cost, init, seed, acts);
    nndl_error e;
    nndl_net *net = net_create_zeroed(&spec, &e);
    if (!net) {
        /* a spec the file describes but nndl cannot build is a bad file */
        error_set(err, e.status == NNDL_ERR_ARG ? NNDL_ERR_FORMAT : e.status, "%s: %s", path,
                  e.message);
        return NULL;
    }
    /* The layout the network built must be the file's: a bug otherwise. */
    for (int l = 0; l < net->n_layers; l++) {
        if (net->layers[l].act != acts[l]) {
            error_set(err, NNDL_ERR_FORMAT, "%s: layer %d is %s in the file but %s in the "
                      "network built from it", path, l + 1, nndl_activation_name(acts[l]),
                      nndl_activation_name(net->layers[l].act));
            nndl_net_free(net);
            return NULL;
        }
    }
    return net;
}

nndl_net *model_load_with_meta(const char *path, char **meta_json, nndl_error *err)
{
    if (!path || !*path) {
        error_set(err, NNDL_ERR_ARG, "model file: no path given");
        return NULL;
    }
    FILE *f;
    uint64_t size;
    if (file_open_read(path, "model file", NNDL_ERR_IO, &f, &size, err) != NNDL_OK) return NULL;

    /* A local error record, so that the status is known even when the
     * caller passed err == NULL. */
    nndl_error e = {NNDL_OK, ""};
    nndl_net *net = NULL;
    char *meta = NULL;
    model_header h;
    if (starts_like_json(f)) {
        /* network2.py's format, or nndl's export of it. */
        fclose(f);
        net = json_model_load(path, err);
        if (net && meta_json) *meta_json = NULL;
        return net;
    }
    if (read_header(f, path, size, &h, &e) != NNDL_OK) goto fail;

    if (h.version == 3) {
        nndl_net_spec spec = layers_spec(&h);
        net = net_create_zeroed(&spec, &e); /* checked by read_layers */
    } else {
        net = model_net_create(path, (int)h.n_sizes, h.sizes, (nndl_cost)h.cost,
                               (nndl_init)h.init, h.seed, h.acts, &e);
    }
    if (!net) goto fail;
    if ((uint64_t)net->n_params != h.n_params) {
        error_set(&e, NNDL_ERR_FORMAT, "%s: the network has %zu parameters, the file %llu",
                  path, net->n_params, (unsigned long long)h.n_params);
        goto fail;
    }
    if (read_body(f, path, &h, net, &meta, &e) != NNDL_OK) goto fail;
    fclose(f);
    if (meta_json)
        *meta_json = meta;
    else
        alloc_free(meta);
    return net;

fail:
    nndl_net_free(net);
    fclose(f);
    if (err) *err = e;
    return NULL;
}

nndl_net *nndl_net_load(const char *path, nndl_error *err)
{
    return model_load_with_meta(path, NULL, err);
}
