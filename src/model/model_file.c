/* Model files: a network's settings and parameters in the binary format of
 * docs/MODEL_FORMAT.md.
 *
 * Every field goes through byteio.h, so a file reads the same on any host.
 * Loading trusts nothing in the file: the header is checked against the
 * limits of nndl.h and against the file's real length before anything is
 * allocated, and the CRC-32 is checked before the network is handed out.
 * Saving writes a temporary file beside the target and renames it over the
 * target, so the old file survives any failure. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/alloc.h"
#include "common/byteio.h"
#include "common/error.h"
#include "net/network.h"

/* ---- The layout (docs/MODEL_FORMAT.md) ---------------------------------- */

static const uint8_t model_magic[8] = {'N', 'N', 'D', 'L', 'M', 'O', 'D', 'L'};

enum {
    MODEL_VERSION = 1,
    OFF_VERSION = 8,
    OFF_FLAGS = 12,
    OFF_COST = 16,
    OFF_ACT = 20,
    OFF_N_SIZES = 24,
    OFF_SIZES = 28,      /* n x u32, then the seed and the parameter count (u64) */
    FIXED_BYTES = 28,    /* everything before the sizes */
    TAIL_BYTES = 4,      /* the CRC-32 */
    MAX_HEADER_BYTES = OFF_SIZES + 4 * NNDL_MAX_LAYERS + 16
};

/* Header bytes for n sizes: fixed part, sizes, seed, parameter count. */
static uint64_t header_bytes(uint64_t n_sizes) { return OFF_SIZES + 4 * n_sizes + 16; }

/* Parameters are streamed through a buffer of this many floats. */
enum { CHUNK_FLOATS = 4096 };

/* The costs and activations this version can store. Switching on the enum
 * makes -Wswitch flag this list when a new kind is added to nndl.h. */
static int cost_known(uint32_t v)
{
    switch ((nndl_cost)v) {
    case NNDL_COST_QUADRATIC: return 1;
    }
    return 0;
}

static int activation_known(uint32_t v)
{
    switch ((nndl_activation)v) {
    case NNDL_ACT_SIGMOID: return 1;
    }
    return 0;
}

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

/* A name for parameter i, such as "w2[17]", for error messages. */
static void param_name(const nndl_net *net, size_t i, char *out, size_t cap)
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

/* ---- Saving ------------------------------------------------------------- */

/* Writes n bytes and folds them into the running CRC. */
static int put(FILE *f, const uint8_t *p, size_t n, uint32_t *crc)
{
    *crc = crc_update(*crc, p, n);
    return fwrite(p, 1, n, f) == n ? 0 : -1;
}

static int write_model(FILE *f, const nndl_net *net)
{
    uint8_t head[MAX_HEADER_BYTES];
    memcpy(head, model_magic, sizeof model_magic);
    write_u32_le(head + OFF_VERSION, MODEL_VERSION);
    write_u32_le(head + OFF_FLAGS, 0);
    write_u32_le(head + OFF_COST, (uint32_t)net->cost);
    write_u32_le(head + OFF_ACT, (uint32_t)net->act);
    write_u32_le(head + OFF_N_SIZES, (uint32_t)net->n_sizes);
    uint8_t *p = head + OFF_SIZES;
    for (int l = 0; l < net->n_sizes; l++, p += 4) write_u32_le(p, (uint32_t)net->sizes[l]);
    write_u64_le(p, net->seed);
    write_u64_le(p + 8, (uint64_t)net->n_params);
    p += 16;

    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    if (put(f, head, (size_t)(p - head), &crc)) return -1;

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

/* Syncs the directory holding path ("." if none) after the rename. */
static void fsync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    if (slash) {
        size_t len = slash == path ? 1 : (size_t)(slash - path);
        dir = alloc_array(len + 1, 1);
        if (!dir) return;
        memcpy(dir, path, len);
        dir[len] = 0;
    }
    /* Best effort: the rename is already done, and some file systems do not
     * allow fsync on a directory. It makes the new name survive a crash. */
    int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
    alloc_free(dir);
}

nndl_status nndl_net_save(const nndl_net *net, const char *path, nndl_error *err)
{
    if (!path || !*path) return error_set(err, NNDL_ERR_ARG, "model file: no path given");
    if (!net || !net->params)
        return error_set(err, NNDL_ERR_ARG, "%s: no network to save", path);

    /* The loader rejects NaN and infinity, so refuse to write a file that
     * could not be read back. */
    for (size_t i = 0; i < net->n_params; i++) {
        if (!isfinite(net->params[i])) {
            char name[48];
            param_name(net, i, name, sizeof name);
            return error_set(err, NNDL_ERR_ARG,
                             "%s: not saved: parameter %s is %s (training diverged?)", path,
                             name, nonfinite_name(net->params[i]));
        }
    }

    static const char suffix[] = ".tmp.XXXXXX";
    size_t len = strlen(path);
    char *tmp = alloc_array(len + sizeof suffix, 1);
    if (!tmp) return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory", path);
    memcpy(tmp, path, len);
    memcpy(tmp + len, suffix, sizeof suffix);

    int fd = mkstemp(tmp);
    if (fd < 0) {
        nndl_status st = error_set(err, NNDL_ERR_IO,
                                   "%s: cannot create a temporary file in its directory: %s",
                                   path, strerror(errno));
        alloc_free(tmp);
        return st;
    }

    /* mkstemp makes the file 0600. Replacing a model keeps its permissions;
     * a new model is readable by all, as model files are not secrets. */
    struct stat old;
    mode_t mode = stat(path, &old) == 0 ? (old.st_mode & 0777) : 0644;
    (void)fchmod(fd, mode);

    const char *step = "cannot write model file";
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        step = "cannot open temporary file";
        goto fail;
    }
    if (write_model(f, net) != 0 || fflush(f) != 0) goto fail;
    /* The data must be on disk before the rename makes it the model. */
    if (fsync(fileno(f)) != 0) {
        step = "cannot flush model file to disk";
        goto fail;
    }
    int closed = fclose(f);
    f = NULL;
    fd = -1;
    if (closed != 0) goto fail;
    if (rename(tmp, path) != 0) {
        step = "cannot rename temporary file to it";
        goto fail;
    }
    alloc_free(tmp);
    fsync_parent_dir(path);
    return NNDL_OK;

fail:;
    int saved = errno;
    if (f)
        (void)fclose(f);
    else if (fd >= 0)
        (void)close(fd);
    (void)unlink(tmp);
    alloc_free(tmp);
    return error_set(err, NNDL_ERR_IO, "%s: %s: %s", path, step, strerror(saved));
}

/* ---- Loading ------------------------------------------------------------ */

typedef struct model_header {
    uint32_t version, flags, cost, act, n_sizes;
    int sizes[NNDL_MAX_LAYERS];
    uint64_t seed, n_params;
    uint8_t bytes[MAX_HEADER_BYTES]; /* as read, for the CRC */
    size_t n_bytes;
} model_header;

/* Reads exactly n bytes. The length was checked against fstat, so a short
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
    if (memcmp(b, model_magic, magic_have) != 0) {
        if (b[0] == '{')
            return error_set(err, NNDL_ERR_FORMAT,
                             "%s: looks like a JSON model; only the binary nndl model "
                             "format is supported yet", path);
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: not an nndl model file (it does not start with \"NNDLMODL\")",
                         path);
    }
    if (have < FIXED_BYTES) return truncated(err, path, "at least ", FIXED_BYTES, file_size);

    h->version = read_u32_le(b + OFF_VERSION);
    h->flags = read_u32_le(b + OFF_FLAGS);
    h->cost = read_u32_le(b + OFF_COST);
    h->act = read_u32_le(b + OFF_ACT);
    h->n_sizes = read_u32_le(b + OFF_N_SIZES);
    if (h->version != MODEL_VERSION)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: model format version %lu is not supported (this nndl reads "
                         "version %d)%s", path, (unsigned long)h->version, MODEL_VERSION,
                         h->version > MODEL_VERSION ? "; it may come from a newer nndl" : "");
    if (h->flags != 0)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: unsupported header flags 0x%08lx (version %d has none)", path,
                         (unsigned long)h->flags, MODEL_VERSION);
    if (!cost_known(h->cost))
        return error_set(err, NNDL_ERR_FORMAT, "%s: unknown cost function %lu", path,
                         (unsigned long)h->cost);
    if (!activation_known(h->act))
        return error_set(err, NNDL_ERR_FORMAT, "%s: unknown activation function %lu", path,
                         (unsigned long)h->act);
    if (h->n_sizes < 2 || h->n_sizes > NNDL_MAX_LAYERS)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: %lu layer sizes; a model has 2 to %d (NNDL_MAX_LAYERS)", path,
                         (unsigned long)h->n_sizes, NNDL_MAX_LAYERS);

    h->n_bytes = (size_t)header_bytes(h->n_sizes);
    if (file_size < h->n_bytes) return truncated(err, path, "at least ", h->n_bytes, file_size);
    st = get(f, b + FIXED_BYTES, h->n_bytes - FIXED_BYTES, path, err);
    if (st != NNDL_OK) return st;

    for (uint32_t l = 0; l < h->n_sizes; l++) {
        uint32_t s = read_u32_le(b + OFF_SIZES + 4 * l);
        if (s < 1 || s > NNDL_MAX_LAYER_SIZE)
            return error_set(err, NNDL_ERR_FORMAT,
                             "%s: layer %lu has %lu neurons; need 1 to %d (NNDL_MAX_LAYER_SIZE)",
                             path, (unsigned long)l, (unsigned long)s, NNDL_MAX_LAYER_SIZE);
        h->sizes[l] = (int)s;
    }
    const uint8_t *p = b + OFF_SIZES + 4 * (size_t)h->n_sizes;
    h->seed = read_u64_le(p);
    h->n_params = read_u64_le(p + 8);

    uint64_t implied = implied_params(h->sizes, h->n_sizes);
    if (implied == UINT64_MAX)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: the layer sizes need more than %llu parameters (NNDL_MAX_PARAMS)",
                         path, (unsigned long long)NNDL_MAX_PARAMS);
    if (h->n_params != implied)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: the header declares %llu parameters but the layer sizes imply %llu",
                         path, (unsigned long long)h->n_params, (unsigned long long)implied);

    /* implied <= NNDL_MAX_PARAMS, so this cannot overflow. */
    uint64_t expected = h->n_bytes + 4 * implied + TAIL_BYTES;
    if (file_size < expected) return truncated(err, path, "", expected, file_size);
    if (file_size > expected)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: trailing data: expected %llu bytes, found %llu (the checksum "
                         "should be the last 4 bytes)", path, (unsigned long long)expected,
                         (unsigned long long)file_size);
    return NNDL_OK;
}

/* Reads the parameters and the CRC into `net`, then checks the CRC and
 * that every parameter is finite. */
static nndl_status read_body(FILE *f, const char *path, const model_header *h, nndl_net *net,
                             nndl_error *err)
{
    uint32_t crc = crc_update((uint32_t)crc32(0L, Z_NULL, 0), h->bytes, h->n_bytes);
    uint8_t chunk[4 * CHUNK_FLOATS];
    size_t first_bad = SIZE_MAX;
    for (size_t done = 0; done < net->n_params;) {
        size_t n = net->n_params - done < CHUNK_FLOATS ? net->n_params - done : CHUNK_FLOATS;
        nndl_status st = get(f, chunk, 4 * n, path, err);
        if (st != NNDL_OK) return st;
        crc = crc_update(crc, chunk, 4 * n);
        for (size_t i = 0; i < n; i++) {
            float x = read_f32_le(chunk + 4 * i);
            if (!isfinite(x) && first_bad == SIZE_MAX) first_bad = done + i;
            net->params[done + i] = x;
        }
        done += n;
    }

    uint8_t tail[TAIL_BYTES];
    nndl_status st = get(f, tail, sizeof tail, path, err);
    if (st != NNDL_OK) return st;
    if (fgetc(f) != EOF)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: trailing data after the checksum (did the file change while "
                         "being read?)", path);
    uint32_t stored = read_u32_le(tail);
    if (stored != crc)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: checksum mismatch, the file is damaged (stored CRC-32 %08lx, "
                         "computed %08lx)", path, (unsigned long)stored, (unsigned long)crc);

    /* After the CRC, so that damage is reported as damage: a NaN with a
     * correct CRC was written that way. */
    if (first_bad != SIZE_MAX) {
        char name[48];
        param_name(net, first_bad, name, sizeof name);
        return error_set(err, NNDL_ERR_FORMAT, "%s: parameter %s is %s", path, name,
                         nonfinite_name(net->params[first_bad]));
    }
    return NNDL_OK;
}

nndl_net *nndl_net_load(const char *path, nndl_error *err)
{
    if (!path || !*path) {
        error_set(err, NNDL_ERR_ARG, "model file: no path given");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        error_set(err, NNDL_ERR_IO, "%s: cannot open model file: %s", path, strerror(errno));
        return NULL;
    }

    /* A local error record, so that the status is known even when the
     * caller passed err == NULL. */
    nndl_error e = {NNDL_OK, ""};
    nndl_net *net = NULL;
    model_header h;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        error_set(&e, NNDL_ERR_IO, "%s: cannot stat model file: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        error_set(&e, NNDL_ERR_IO, "%s: not a regular file", path);
        goto fail;
    }
    if (read_header(f, path, (uint64_t)st.st_size, &h, &e) != NNDL_OK) goto fail;

    nndl_net_spec spec = nndl_net_spec_default((int)h.n_sizes, h.sizes);
    spec.cost = (nndl_cost)h.cost;
    spec.act = (nndl_activation)h.act;
    spec.seed = h.seed;
    net = net_create_zeroed(&spec, &e);
    if (!net) {
        char why[sizeof e.message];
        memcpy(why, e.message, sizeof why);
        error_set(&e, e.status, "%s: %s", path, why);
        goto fail;
    }
    if ((uint64_t)net->n_params != h.n_params) { /* the two layouts disagree: a bug */
        error_set(&e, NNDL_ERR_FORMAT, "%s: the network has %zu parameters, the file %llu",
                  path, net->n_params, (unsigned long long)h.n_params);
        goto fail;
    }
    if (read_body(f, path, &h, net, &e) != NNDL_OK) goto fail;
    fclose(f);
    return net;

fail:
    nndl_net_free(net);
    fclose(f);
    if (err) *err = e;
    return NULL;
}
