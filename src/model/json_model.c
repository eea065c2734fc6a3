/* JSON models: network2.py's save() format, read with cJSON and written by
 * a streaming writer (json_model.h, docs/MODEL_FORMAT.md "JSON models").
 *
 * Writing does not build a cJSON tree: a tree costs dozens of bytes per
 * number, and cJSON prints -0.0 as 0, losing the sign. The writer prints
 * each float with "%.Ng", N the smallest of 6, 7, 8, 9 that reads back to
 * the same float (9 always does), so save and load round-trip bit for bit
 * and simple values stay short ("0.1", not "0.100000001"). */
#include "model/json_model.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/file.h"
#include "common/json_strict.h"
#include "model/atomic_file.h"
#include "model/model_file.h"
#include "net/network.h"

/* network2.py's cost classes, by the name its save() writes
 * (str(self.cost.__name__)). network2.py has no log-likelihood cost; the
 * name follows its pattern, and network2.py cannot load such a file. */
static const struct {
    const char *name;
    nndl_cost cost;
} cost_classes[] = {
    {"QuadraticCost", NNDL_COST_QUADRATIC},
    {"CrossEntropyCost", NNDL_COST_CROSS_ENTROPY},
    {"LogLikelihoodCost", NNDL_COST_LOG_LIKELIHOOD},
};
enum { N_COST_CLASSES = sizeof cost_classes / sizeof cost_classes[0] };

/* The version of the "nndl" key's content. */
enum { NNDL_KEY_FORMAT = 1 };

static const char *cost_class_name(nndl_cost cost)
{
    for (int i = 0; i < N_COST_CLASSES; i++)
        if (cost_classes[i].cost == cost) return cost_classes[i].name;
    return NULL;
}

int json_model_network2_compatible(const nndl_net *net, char *why, size_t cap)
{
    char reason[128] = "";
    if (net->cost != NNDL_COST_QUADRATIC && net->cost != NNDL_COST_CROSS_ENTROPY)
        snprintf(reason, sizeof reason, "network2.py has no %s cost",
                 nndl_cost_name(net->cost));
    for (int l = 0; l < net->n_layers && !reason[0]; l++)
        if (net->layers[l].act != NNDL_ACT_SIGMOID)
            snprintf(reason, sizeof reason,
                     "layer %d is %s and network2.py's neurons are all sigmoid", l + 1,
                     nndl_activation_name(net->layers[l].act));
    if (why && cap) snprintf(why, cap, "%s", reason);
    return reason[0] == 0;
}

/* ---- Saving ------------------------------------------------------------- */

/* Writes x into buf (at least 32 bytes) as a JSON number that strtof reads
 * back to the same bits: "%.Ng" with N from 6 up to 9 until it does (%g
 * drops trailing zeros, so anything that needs at most 6 digits comes out in
 * its shortest form). In the style of Python's repr, ".0" is added to
 * integral values, so "-0.0" keeps its sign. x must be finite. */
static void format_float(char *buf, size_t cap, float x, char locale_point)
{
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, cap, "%.*g", digits, (double)x);
        float back = strtof(buf, NULL);
        if (memcmp(&back, &x, sizeof x) == 0) break;
    }
    /* printf and strtof follow the locale's decimal point; JSON's is '.'. */
    if (locale_point != '.') {
        char *p = strchr(buf, locale_point);
        if (p) *p = '.';
    }
    if (!strpbrk(buf, ".e")) strncat(buf, ".0", cap - strlen(buf) - 1);
}

/* The decimal point of the current locale when it is one character,
 * otherwise '.'. */
static char locale_decimal_point(void)
{
    const char *point = localeconv()->decimal_point;
    return point && point[0] && !point[1] ? point[0] : '.';
}

static int out(FILE *f, const char *s) { return fputs(s, f) < 0 ? -1 : 0; }

static int out_float(FILE *f, float x, char locale_point)
{
    char buf[48];
    format_float(buf, sizeof buf, x, locale_point);
    return out(f, buf);
}

/* The whole file, in network2.py's key order and json.dump's separators
 * (", " and ": "), then the "nndl" key. */
static int write_json(FILE *f, const void *ctx)
{
    const nndl_net *net = ctx;
    const char point = locale_decimal_point();
    char num[32];
    if (out(f, "{\"sizes\": [")) return -1;
    for (int l = 0; l < net->n_sizes; l++) {
        snprintf(num, sizeof num, "%s%d", l ? ", " : "", net->sizes[l]);
        if (out(f, num)) return -1;
    }
    /* w^l: n_out rows of n_in numbers, row-major as in the buffer. */
    if (out(f, "], \"weights\": [")) return -1;
    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        const float *w = net->params + ly->weights;
        if (out(f, l ? ", [" : "[")) return -1;
        for (int j = 0; j < ly->n_out; j++) {
            if (out(f, j ? ", [" : "[")) return -1;
            for (int k = 0; k < ly->n_in; k++) {
                if (k && out(f, ", ")) return -1;
                if (out_float(f, w[(size_t)j * ly->n_in + k], point)) return -1;
            }
            if (out(f, "]")) return -1;
        }
        if (out(f, "]")) return -1;
    }
    /* b^l: a column vector, one one-element list per neuron. */
    if (out(f, "], \"biases\": [")) return -1;
    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        const float *b = net->params + ly->biases;
        if (out(f, l ? ", [" : "[")) return -1;
        for (int j = 0; j < ly->n_out; j++) {
            if (out(f, j ? ", [" : "[") || out_float(f, b[j], point) || out(f, "]")) return -1;
        }
        if (out(f, "]")) return -1;
    }
    if (out(f, "], \"cost\": \"") || out(f, cost_class_name(net->cost))) return -1;
    snprintf(num, sizeof num, "%d", NNDL_KEY_FORMAT);
    if (out(f, "\", \"nndl\": {\"format\": ") || out(f, num) || out(f, ", \"activations\": ["))
        return -1;
    for (int l = 0; l < net->n_layers; l++) {
        if (out(f, l ? ", \"" : "\"") || out(f, nndl_activation_name(net->layers[l].act)) ||
            out(f, "\""))
            return -1;
    }
    /* The seed as a string: a JSON number is a double, exact only to 2^53. */
    snprintf(num, sizeof num, "%llu", (unsigned long long)net->seed);
    if (out(f, "], \"init\": \"") || out(f, nndl_init_name(net->init)) ||
        out(f, "\", \"seed\": \"") || out(f, num) || out(f, "\"}}"))
        return -1;
    return 0;
}

/* Whether the JSON format, "nndl" key included, cannot hold `net`, and
 * then why ("layer 1 is convolutional") in `why`. It stores sizes, so
 * fully connected layers over an input of {n, 1, 1}, and each layer's
 * activation and the initialization by name (linear, network3 and he
 * included), but nothing for a layer's own dropout. */
static int json_cannot_hold(const nndl_net *net, char *why, size_t cap)
{
    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        const char *what = ly->kind == LAYER_CONV   ? "is convolutional"
                           : ly->kind == LAYER_POOL ? "is a max-pooling layer"
                           : ly->spec.dropout > 0   ? "drops its inputs out"
                                                    : NULL;
        if (what) {
            snprintf(why, cap, "layer %d %s", l + 1, what);
            return 1;
        }
    }
    const nndl_shape in = net->input;
    if (in.height != 1 || in.width != 1) {
        snprintf(why, cap, "the input is %d x %d x %d, not flat", in.channels, in.height,
                 in.width);
        return 1;
    }
    return 0;
}

nndl_status json_model_save(const nndl_net *net, const char *path, nndl_error *err)
{
    if (!path || !*path) return error_set(err, NNDL_ERR_ARG, "model file: no path given");
    if (!net || !net->params)
        return error_set(err, NNDL_ERR_ARG, "%s: no network to save", path);
    /* Kinds this writer has no name for (a newer nndl.h): refuse rather than
     * write a file nothing can read. */
    if (!cost_class_name(net->cost))
        return error_set(err, NNDL_ERR_ARG, "%s: not saved: the %s cost has no JSON name", path,
                         nndl_cost_name(net->cost));
    char why[96];
    if (json_cannot_hold(net, why, sizeof why))
        return error_set(err, NNDL_ERR_ARG,
                         "%s: not saved: network2.py's JSON holds fully connected networks over "
                         "a flat input only; %s (use the nndl format)", path, why);
    nndl_status st = model_check_finite(net, path, err);
    if (st != NNDL_OK) return st;
    return atomic_file_write(path, "JSON model file", write_json, net, err);
}

/* ---- Loading ------------------------------------------------------------ */

typedef struct json_reader {
    const char *path;
    nndl_error *err;
} json_reader;

/* Reads the whole file, NUL-terminated, after checking its size. */
static char *read_text(const char *path, size_t *len, nndl_error *err)
{
    FILE *f;
    uint64_t file_size;
    if (file_open_read(path, "model file", NNDL_ERR_IO, &f, &file_size, err) != NNDL_OK)
        return NULL;
    char *text = NULL;
    if (file_size > JSON_MODEL_MAX_BYTES) {
        error_set(err, NNDL_ERR_FORMAT,
                  "%s: %llu bytes is too large for a JSON model (the limit is %llu bytes; "
                  "use the binary format)", path, (unsigned long long)file_size,
                  (unsigned long long)JSON_MODEL_MAX_BYTES);
        goto fail;
    }
    size_t size = (size_t)file_size;
    text = alloc_array(size + 1, 1);
    if (!text) {
        error_set(err, NNDL_ERR_NOMEM, "%s: out of memory for %zu bytes of JSON", path, size);
        goto fail;
    }
    if (fread(text, 1, size, f) != size) {
        if (ferror(f))
            error_set(err, NNDL_ERR_IO, "%s: read error: %s", path, strerror(errno));
        else
            error_set(err, NNDL_ERR_FORMAT, "%s: the file ended early (did it change while "
                      "being read?)", path);
        goto fail;
    }
    if (fgetc(f) != EOF) {
        error_set(err, NNDL_ERR_FORMAT, "%s: the file grew while being read", path);
        goto fail;
    }
    text[size] = 0;
    fclose(f);
    *len = size;
    return text;

fail:
    alloc_free(text);
    fclose(f);
    return NULL;
}

/* A JSON path for messages: "weights[1][3]". */
static void json_path(char *buf, size_t cap, const char *key, int n, const int *index)
{
    int used = snprintf(buf, cap, "%s", key);
    for (int i = 0; i < n && used >= 0 && (size_t)used < cap; i++)
        used += snprintf(buf + used, cap - (size_t)used, "[%d]", index[i]);
}

static int array_length(const cJSON *item)
{
    int n = 0;
    for (const cJSON *c = item->child; c; c = c->next) n++;
    return n;
}

static const char *json_type_name(const cJSON *item)
{
    if (cJSON_IsArray(item)) return "a list";
    if (cJSON_IsObject(item)) return "an object";
    if (cJSON_IsString(item)) return "a string";
    if (cJSON_IsNumber(item)) return "a number";
    if (cJSON_IsBool(item)) return "a boolean";
    if (cJSON_IsNull(item)) return "null";
    return "something else";
}

/* Checks that `item` (at `where`) is an array of `want` entries. */
static nndl_status expect_array(const json_reader *r, const cJSON *item, const char *where,
                                int want, const char *entries)
{
    if (!cJSON_IsArray(item))
        return error_set(r->err, NNDL_ERR_FORMAT, "%s: %s is %s, expected a list of %d %s",
                         r->path, where, json_type_name(item), want, entries);
    int n = array_length(item);
    if (n != want)
        return error_set(r->err, NNDL_ERR_FORMAT, "%s: %s has %d %s, expected %d", r->path,
                         where, n, entries, want);
    return NNDL_OK;
}

/* A parameter, at key[index[0]]...[index[depth-1]]: a number that rounds
 * to a finite float. */
static nndl_status get_param(const json_reader *r, const cJSON *item, const char *key,
                             int depth, const int *index, float *out_value)
{
    /* Doubles from here on round to infinity as floats: FLT_MAX plus half
     * its last place, 2^128 - 2^103 (a tie, which rounds to even: inf). */
    static const double float_overflow = 0x1p128 - 0x1p103;
    if (cJSON_IsNumber(item) && fabs(item->valuedouble) < float_overflow) {
        *out_value = (float)item->valuedouble; /* to nearest, as IEEE 754 says */
        return NNDL_OK;
    }
    char where[96];
    json_path(where, sizeof where, key, depth, index);
    if (!cJSON_IsNumber(item))
        return error_set(r->err, NNDL_ERR_FORMAT, "%s: %s is %s, expected a number", r->path,
                         where, json_type_name(item));
    return error_set(r->err, NNDL_ERR_FORMAT, "%s: %s is %.9g, outside the range of a float",
                     r->path, where, item->valuedouble);
}

/* The top-level keys nndl reads; others are ignored, as network2.py does. */
typedef struct model_keys {
    const cJSON *sizes, *weights, *biases, *cost, *nndl;
} model_keys;

static nndl_status find_keys(const json_reader *r, const cJSON *root, model_keys *k)
{
    static const char *const names[] = {"sizes", "weights", "biases", "cost", "nndl"};
    const cJSON **slots[] = {&k->sizes, &k->weights, &k->biases, &k->cost, &k->nndl};
    memset(k, 0, sizeof *k);
    /* no key is there twice: json_parse_strict refuses that */
    for (const cJSON *c = root->child; c; c = c->next)
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (c->string && strcmp(c->string, names[i]) == 0) *slots[i] = c;
    for (size_t i = 0; i < 4; i++)
        if (!*slots[i])
            return error_set(r->err, NNDL_ERR_FORMAT,
                             "%s: no \"%s\" key; a network2.py model has \"sizes\", "
                             "\"weights\", \"biases\" and \"cost\"", r->path, names[i]);
    return NNDL_OK;
}

static nndl_status read_sizes(const json_reader *r, const cJSON *item, int *sizes, int *n)
{
    if (!cJSON_IsArray(item))
        return error_set(r->err, NNDL_ERR_FORMAT, "%s: sizes is %s, expected a list of layer "
                         "sizes", r->path, json_type_name(item));
    int count = array_length(item);
    if (count < 2 || count > NNDL_MAX_LAYERS)
        return error_set(r->err, NNDL_ERR_FORMAT,
                         "%s: sizes has %d entries; a network has 2 to %d layers "
                         "(NNDL_MAX_LAYERS)", r->path, count, NNDL_MAX_LAYERS);
    int l = 0;
    for (const cJSON *c = item->child; c; c = c->next, l++) {
        double v = cJSON_IsNumber(c) ? c->valuedouble : 0;
        if (!cJSON_IsNumber(c) || v != floor(v) || v < 1 || v > NNDL_MAX_LAYER_SIZE)
            return error_set(r->err, NNDL_ERR_FORMAT,
                             "%s: sizes[%d] is not a whole number from 1 to %d "
                             "(NNDL_MAX_LAYER_SIZE)", r->path, l, NNDL_MAX_LAYER_SIZE);
        sizes[l] = (int)v;
    }
    *n = count;
    return NNDL_OK;
}

static nndl_status read_cost(const json_reader *r, const cJSON *item, nndl_cost *cost)
{
    if (!cJSON_IsString(item))
        return error_set(r->err, NNDL_ERR_FORMAT, "%s: cost is %s, expected a name such as "
                         "\"CrossEntropyCost\"", r->path, json_type_name(item));
    for (int i = 0; i < N_COST_CLASSES; i++) {
        if (strcmp(item->valuestring, cost_classes[i].name) == 0) {
            *cost = cost_classes[i].cost;
            return NNDL_OK;
        }
    }
    return error_set(r->err, NNDL_ERR_FORMAT,
                     "%s: unknown cost \"%.64s\" (nndl reads QuadraticCost, CrossEntropyCost "
                     "and LogLikelihoodCost)", r->path, item->valuestring);
}

/* The "nndl" key: {"format": 1, "activations": [...], "init": "scaled",
 * "seed": "42"}; "init" and "seed" may be left out. */
static nndl_status read_nndl_key(const json_reader *r, const cJSON *item, int n_sizes,
                                 nndl_activation *acts, nndl_init *init, uint64_t *seed)
{
    if (!cJSON_IsObject(item))
        return error_set(r->err, NNDL_ERR_FORMAT, "%s: nndl is %s, expected an object",
                         r->path, json_type_name(item));
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(item, "format");
    if (!cJSON_IsNumber(format) || format->valuedouble != NNDL_KEY_FORMAT)
        return error_set(r->err, NNDL_ERR_FORMAT,
                         "%s: nndl.format is not %d (a file from a newer nndl?)", r->path,
                         NNDL_KEY_FORMAT);

    const cJSON *list = cJSON_GetObjectItemCaseSensitive(item, "activations");
    if (!list)
        return error_set(r->err, NNDL_ERR_FORMAT, "%s: nndl has no \"activations\" key",
                         r->path);
    nndl_status st = expect_array(r, list, "nndl.activations", n_sizes - 1, "activations");
    if (st != NNDL_OK) return st;
    int l = 0;
    for (const cJSON *c = list->child; c; c = c->next, l++) {
        int a = cJSON_IsString(c) ? nndl_activation_parse(c->valuestring) : -1;
        if (a < 0)
            return error_set(r->err, NNDL_ERR_FORMAT,
                             "%s: nndl.activations[%d] is not sigmoid, tanh, relu, softmax or "
                             "linear",
                             r->path, l);
        acts[l] = (nndl_activation)a;
    }

    const cJSON *init_item = cJSON_GetObjectItemCaseSensitive(item, "init");
    if (init_item) {
        int i = cJSON_IsString(init_item) ? nndl_init_parse(init_item->valuestring) : -1;
        if (i < 0)
            return error_set(r->err, NNDL_ERR_FORMAT,
                             "%s: nndl.init is not \"scaled\", \"large\", \"network3\" or "
                             "\"he\"", r->path);
        *init = (nndl_init)i;
    }

    const cJSON *seed_item = cJSON_GetObjectItemCaseSensitive(item, "seed");
    if (seed_item) {
        const char *s = cJSON_IsString(seed_item) ? seed_item->valuestring : "";
        uint64_t v = 0;
        int ok = *s != 0;
        for (; ok && *s; s++) {
            unsigned d = (unsigned)(*s - '0');
            if (d > 9 || v > (UINT64_MAX - d) / 10)
                ok = 0;
            else
                v = v * 10 + d;
        }
        if (!ok)
            return error_set(r->err, NNDL_ERR_FORMAT,
                             "%s: nndl.seed is not a string of decimal digits below 2^64",
                             r->path);
        *seed = v;
    }
    return NNDL_OK;
}

/* Checks the shape and every number of weights and biases against
 * `sizes`, and copies them into net->params when `net` is not NULL. Run
 * first without a network, so that nothing is allocated for sizes the
 * file does not hold the numbers of. */
static nndl_status read_params(const json_reader *r, const model_keys *k, int n_sizes,
                               const int *sizes, nndl_net *net)
{
    char where[96];
    int n_layers = n_sizes - 1;
    nndl_status st = expect_array(r, k->weights, "weights", n_layers, "matrices");
    if (st == NNDL_OK) st = expect_array(r, k->biases, "biases", n_layers, "vectors");
    if (st != NNDL_OK) return st;

    const cJSON *wl = k->weights->child, *bl = k->biases->child;
    for (int l = 0; l < n_layers; l++, wl = wl->next, bl = bl->next) {
        int n_in = sizes[l], n_out = sizes[l + 1];
        float scratch, *w = NULL, *b = NULL;
        if (net) {
            w = net->params + net->layers[l].weights;
            b = net->params + net->layers[l].biases;
        }
        int index[3] = {l, 0, 0};
        /* weights[l]: n_out rows of n_in numbers. */
        json_path(where, sizeof where, "weights", 1, index);
        st = expect_array(r, wl, where, n_out, "rows");
        if (st != NNDL_OK) return st;
        const cJSON *row = wl->child;
        for (int j = 0; j < n_out; j++, row = row->next) {
            index[1] = j;
            json_path(where, sizeof where, "weights", 2, index);
            st = expect_array(r, row, where, n_in, "numbers");
            if (st != NNDL_OK) return st;
            const cJSON *x = row->child;
            for (int i = 0; i < n_in; i++, x = x->next) {
                index[2] = i;
                st = get_param(r, x, "weights", 3, index,
                               w ? &w[(size_t)j * n_in + i] : &scratch);
                if (st != NNDL_OK) return st;
            }
        }
        /* biases[l]: a column, n_out one-element lists. */
        json_path(where, sizeof where, "biases", 1, index);
        st = expect_array(r, bl, where, n_out, "rows");
        if (st != NNDL_OK) return st;
        const cJSON *cell = bl->child;
        for (int j = 0; j < n_out; j++, cell = cell->next) {
            index[1] = j;
            json_path(where, sizeof where, "biases", 2, index);
            if (!cJSON_IsArray(cell) || array_length(cell) != 1)
                return error_set(r->err, NNDL_ERR_FORMAT,
                                 "%s: %s is not a one-number list such as [0.5] (biases are "
                                 "column vectors)", r->path, where);
            index[2] = 0;
            st = get_param(r, cell->child, "biases", 3, index, b ? &b[j] : &scratch);
            if (st != NNDL_OK) return st;
        }
    }
    return NNDL_OK;
}

/* The JSON values of a model file for a network of `sizes`: the object,
 * "sizes", the rows and numbers of "weights" and "biases", "cost" and the
 * "nndl" key. */
static uint64_t model_values(int n_sizes, const int *sizes)
{
    uint64_t layers = (uint64_t)n_sizes - 1;
    uint64_t n = 1 + (1 + (uint64_t)n_sizes) + 1 + 1 + 1 + (5 + layers);
    for (int l = 0; l + 1 < n_sizes; l++) {
        uint64_t in = (uint64_t)sizes[l], out = (uint64_t)sizes[l + 1];
        n += 1 + out + out * in + 1 + 2 * out;
    }
    return n;
}

/* Before the text is parsed: the JSON values of the network its "sizes"
 * (read on their own) describe, or 0 when they cannot be read. */
static uint64_t values_needed(const char *text, size_t len, const json_scan *scan)
{
    const struct json_member *m = json_scan_member(scan, "sizes");
    if (!m || m->values > NNDL_MAX_LAYERS + 1 || m->offset >= len) return 0;
    cJSON *list = cJSON_ParseWithLengthOpts(text + m->offset, len - m->offset, NULL, 0);
    int sizes[NNDL_MAX_LAYERS], n = cJSON_GetArraySize(list);
    uint64_t needed = 0;
    if (cJSON_IsArray(list) && n >= 2 && n <= NNDL_MAX_LAYERS) {
        int l = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, list)
        {
            double v = cJSON_IsNumber(c) ? c->valuedouble : 0;
            if (!(v >= 1 && v <= NNDL_MAX_LAYER_SIZE)) break;
            sizes[l++] = (int)v;
        }
        if (l == n) needed = model_values(n, sizes);
    }
    cJSON_Delete(list);
    return needed;
}

/* What a parse failure at byte `at` of text[0..len) most likely is. */
static nndl_status parse_error(const json_reader *r, const char *text, size_t len, size_t at)
{
    const char *p = text + at;
    while (*p == ',' || *p == ' ' || *p == '[' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    if (strncmp(p, "NaN", 3) == 0 || strncmp(p, "Infinity", 8) == 0 ||
        strncmp(p, "-Infinity", 9) == 0)
        return error_set(r->err, NNDL_ERR_FORMAT,
                         "%s: NaN or Infinity near byte %zu: the network had diverged when it "
                         "was saved", r->path, at);
    if (at >= len)
        return error_set(r->err, NNDL_ERR_FORMAT,
                         "%s: malformed JSON near byte %zu: the text ends early (truncated?)",
                         r->path, at);
    return error_set(r->err, NNDL_ERR_FORMAT, "%s: malformed JSON near byte %zu", r->path, at);
}

nndl_net *json_model_load(const char *path, nndl_error *err)
{
    if (!path || !*path) {
        error_set(err, NNDL_ERR_ARG, "model file: no path given");
        return NULL;
    }
    /* A local error record, so that the status is known even when the
     * caller passed err == NULL. */
    nndl_error e = {NNDL_OK, ""};
    json_reader r = {path, &e};
    cJSON *root = NULL;
    nndl_net *net = NULL;
    size_t len = 0;
    char *text = read_text(path, &len, &e);
    if (!text) goto fail;

    const char *nul = memchr(text, 0, len);
    if (nul) {
        error_set(&e, NNDL_ERR_FORMAT, "%s: a NUL byte at byte %zu: not JSON text", path,
                  (size_t)(nul - text));
        goto fail;
    }
    /* cJSON's tree takes some 80 bytes a value: the values are counted
     * first, and a file holding more than its network needs (and a few
     * thousand others) is refused before the tree is built. */
    json_scan scan;
    json_scan_text(text, len, &scan);
    uint64_t needed = 0;
    if (scan.values > JSON_MODEL_EXTRA_VALUES) needed = values_needed(text, len, &scan);
    if (scan.values > needed + JSON_MODEL_EXTRA_VALUES) {
        if (needed)
            error_set(&e, NNDL_ERR_FORMAT,
                      "%s: %zu JSON values, more than a network of its sizes needs (%llu) and "
                      "%d others", path, scan.values, (unsigned long long)needed,
                      JSON_MODEL_EXTRA_VALUES);
        else
            error_set(&e, NNDL_ERR_FORMAT,
                      "%s: %zu JSON values and no \"sizes\" that can be read first; nndl reads "
                      "at most %d values without them", path, scan.values,
                      JSON_MODEL_EXTRA_VALUES);
        goto fail;
    }
    json_problem problem;
    root = json_parse_strict(text, len, (size_t)-1, &problem);
    if (!root) {
        char why[160];
        json_problem_describe(&problem, why, sizeof why);
        if (problem.kind == JSON_MALFORMED ||
            (problem.kind == JSON_BAD_NUMBER && text[problem.offset + 1] == 'I'))
            parse_error(&r, text, len, problem.offset); /* "-Infinity" among them */
        else if (problem.kind == JSON_TRAILING)
            error_set(&e, NNDL_ERR_FORMAT, "%s: malformed JSON near byte %zu: text after the "
                      "model's object", path, problem.offset);
        else
            error_set(&e, problem.kind == JSON_NOMEM ? NNDL_ERR_NOMEM : NNDL_ERR_FORMAT,
                      "%s: %s", path, why);
        goto fail;
    }
    alloc_free(text);
    text = NULL;
    if (!cJSON_IsObject(root)) {
        error_set(&e, NNDL_ERR_FORMAT, "%s: the JSON text is %s, not an object like "
                  "network2.py's {\"sizes\": ..., \"weights\": ...}", path, json_type_name(root));
        goto fail;
    }

    model_keys k;
    int sizes[NNDL_MAX_LAYERS], n_sizes = 0;
    nndl_cost cost = NNDL_COST_QUADRATIC;
    nndl_activation acts[NNDL_MAX_LAYERS - 1];
    nndl_init init = NNDL_INIT_SCALED; /* network2.py's default_weight_initializer */
    uint64_t seed = 0;
    if (find_keys(&r, root, &k) != NNDL_OK ||
        read_sizes(&r, k.sizes, sizes, &n_sizes) != NNDL_OK ||
        read_cost(&r, k.cost, &cost) != NNDL_OK)
        goto fail;
    for (int l = 0; l + 1 < n_sizes; l++) acts[l] = NNDL_ACT_SIGMOID;
    if (k.nndl && read_nndl_key(&r, k.nndl, n_sizes, acts, &init, &seed) != NNDL_OK) goto fail;
    if (model_check_activations(path, cost, n_sizes, acts, &e) != NNDL_OK) goto fail;

    /* every shape and number first: the network is made for a file that
     * holds all of its parameters */
    if (model_net_check(path, n_sizes, sizes, cost, init, acts, &e) != NNDL_OK ||
        read_params(&r, &k, n_sizes, sizes, NULL) != NNDL_OK)
        goto fail;
    net = model_net_create(path, n_sizes, sizes, cost, init, seed, acts, &e);
    if (!net) goto fail;
    if (read_params(&r, &k, n_sizes, sizes, net) != NNDL_OK) goto fail;
    cJSON_Delete(root);
    return net;

fail:
    nndl_net_free(net);
    cJSON_Delete(root);
    alloc_free(text);
    if (err) *err = e;
    return NULL;
}

nndl_status nndl_net_save_json(const nndl_net *net, const char *path, nndl_error *err)
{
    return json_model_save(net, path, err);
}
