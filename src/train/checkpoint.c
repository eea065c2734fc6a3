/* Checkpoints: everything needed to continue a training run so that it
 * ends exactly as an uninterrupted run would (docs/MODEL_FORMAT.md,
 * "Checkpoints"). Written atomically; read in one pass with the CRC-32
 * checked before anything is restored. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "common/alloc.h"
#include "common/byteio.h"
#include "common/error.h"
#include "common/file.h"
#include "model/atomic_file.h"
#include "model/model_file.h"
#include "net/network.h"
#include "train/trainer_state.h"

static const uint8_t magic[8] = {'N', 'N', 'D', 'L', 'C', 'K', 'P', 'T'};
enum { CHECKPOINT_VERSION = 1, MAX_NOTE = 1 << 20 };

/* ---- writing ---- */

typedef struct writer {
    const nndl_net *net, *best;
    const uint8_t *state;
    size_t state_len;
    const char *note;
    size_t note_len;
} writer;

static int put(FILE *f, const void *p, size_t n, uLong *crc)
{
    /* zlib's crc32 takes a uInt length: feed it in pieces */
    const uint8_t *b = p;
    for (size_t done = 0; done < n;) {
        size_t piece = n - done < (1u << 30) ? n - done : (1u << 30);
        *crc = crc32(*crc, b + done, (uInt)piece);
        done += piece;
    }
    return n == 0 || fwrite(p, 1, n, f) == n ? 0 : -1;
}

static int put_u64(FILE *f, uint64_t v, uLong *crc)
{
    uint8_t b[8];
    write_u64_le(b, v);
    return put(f, b, 8, crc);
}

static int put_params(FILE *f, const nndl_net *net, uLong *crc)
{
    if (put_u64(f, net ? net->n_params : 0, crc)) return -1;
    uint8_t buf[4096];
    size_t n = net ? net->n_params : 0;
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < sizeof buf / 4 && i < n; k++, i++) write_f32_le(buf + 4 * k, net->params[i]);
        if (put(f, buf, 4 * k, crc)) return -1;
    }
    return 0;
}

static int write_checkpoint(FILE *f, const void *ctx)
{
    const writer *w = ctx;
    uLong crc = crc32(0, Z_NULL, 0);
    uint8_t head[16];
    memcpy(head, magic, 8);
    write_u32_le(head + 8, CHECKPOINT_VERSION);
    write_u32_le(head + 12, (uint32_t)w->note_len);
    if (put(f, head, 16, &crc) || put(f, w->note, w->note_len, &crc) ||
        put_u64(f, w->state_len, &crc) || put(f, w->state, w->state_len, &crc) ||
        put_params(f, w->net, &crc) || put_params(f, w->best, &crc))
        return -1;
    uint8_t tail[4];
    write_u32_le(tail, (uint32_t)crc);
    return fwrite(tail, 1, 4, f) == 4 ? 0 : -1;
}

nndl_status nndl_checkpoint_save(const char *path, const nndl_net *net,
                                 const nndl_trainer *trainer, const nndl_net *best,
                                 const char *note, nndl_error *err)
{
    if (!path || !net || !trainer)
        return error_set(err, NNDL_ERR_ARG, "nndl_checkpoint_save: NULL argument");
    size_t note_len = note ? strlen(note) : 0;
    if (note_len > MAX_NOTE)
        return error_set(err, NNDL_ERR_ARG, "%s: not saved: the note has %zu bytes; at most %d",
                         path, note_len, MAX_NOTE);
    if (best && best->n_params != net->n_params)
        return error_set(err, NNDL_ERR_ARG, "%s: not saved: the best weights are of another "
                         "network", path);
    nndl_status st = model_check_finite(net, path, err);
    if (st != NNDL_OK) return st;
    writer w = {net, best, NULL, trainer_state_size(trainer), note ? note : "", note_len};
    uint8_t *state = alloc_array(w.state_len, 1);
    if (!state) return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory for a checkpoint", path);
    trainer_state_write(trainer, state);
    w.state = state;
    st = atomic_file_write(path, "checkpoint", write_checkpoint, &w, err);
    alloc_free(state);
    return st;
}

/* ---- reading ---- */

typedef struct reader {
    FILE *f;
    const char *path;
    uint64_t left; /* bytes before the checksum not yet read */
    uLong crc;
} reader;

static nndl_status take(reader *r, void *p, uint64_t n, const char *what, nndl_error *err)
{
    if (n > r->left || fread(p, 1, (size_t)n, r->f) != n)
        return error_set(err, NNDL_ERR_FORMAT, "%s: truncated checkpoint (in its %s)", r->path,
                         what);
    r->left -= n;
    const uint8_t *b = p;
    for (uint64_t done = 0; done < n;) {
        uint64_t piece = n - done < (1u << 30) ? n - done : (1u << 30);
        r->crc = crc32(r->crc, b + done, (uInt)piece);
        done += piece;
    }
    return NNDL_OK;
}

static nndl_status take_u64(reader *r, uint64_t *v, const char *what, nndl_error *err)
{
    uint8_t b[8];
    nndl_status st = take(r, b, 8, what, err);
    if (st == NNDL_OK) *v = read_u64_le(b);
    return st;
}

/* Opens `path`, checks its magic and version and reads the note. */
static nndl_status open_checkpoint(const char *path, reader *r, char **note, nndl_error *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->crc = crc32(0, Z_NULL, 0);
    *note = NULL;
    uint64_t size;
    nndl_status opened = file_open_read(path, "checkpoint", NNDL_ERR_IO, &r->f, &size, err);
    if (opened != NNDL_OK) return opened;
    if (size < 20) {
        fclose(r->f);
        return error_set(err, NNDL_ERR_FORMAT, "%s: not a checkpoint (too short)", path);
    }
    r->left = size - 4;
    uint8_t head[16];
    nndl_status s = take(r, head, 16, "header", err);
    if (s == NNDL_OK && memcmp(head, magic, 8) != 0)
        s = error_set(err, NNDL_ERR_FORMAT, "%s: not a checkpoint (no NNDLCKPT at its start)",
                      path);
    else if (s == NNDL_OK && read_u32_le(head + 8) != CHECKPOINT_VERSION)
        s = error_set(err, NNDL_ERR_FORMAT, "%s: checkpoint version %u; this nndl reads %d",
                      path, read_u32_le(head + 8), CHECKPOINT_VERSION);
    uint32_t note_len = s == NNDL_OK ? read_u32_le(head + 12) : 0;
    if (s == NNDL_OK && note_len > MAX_NOTE)
        s = error_set(err, NNDL_ERR_FORMAT, "%s: the checkpoint's note is %u bytes; at most %d",
                      path, note_len, MAX_NOTE);
    if (s == NNDL_OK && !(*note = alloc_array((size_t)note_len + 1, 1)))
        s = error_set(err, NNDL_ERR_NOMEM, "%s: out of memory", path);
    if (s == NNDL_OK && (s = take(r, *note, note_len, "note", err)) == NNDL_OK)
        (*note)[note_len] = 0;
    if (s != NNDL_OK) {
        alloc_free(*note);
        *note = NULL;
        fclose(r->f);
    }
    return s;
}

char *nndl_checkpoint_note(const char *path, nndl_error *err)
{
    if (!path) {
        error_set(err, NNDL_ERR_ARG, "nndl_checkpoint_note: NULL argument");
        return NULL;
    }
    reader r;
    char *note;
    if (open_checkpoint(path, &r, &note, err) != NNDL_OK) return NULL;
    fclose(r.f);
    return note;
}

/* Reads P, then P floats into `params` (count `want`, or skipped if NULL). */
static nndl_status take_params(reader *r, float *params, size_t want, int optional,
                               const char *what, int *present, nndl_error *err)
{
    uint64_t n;
    nndl_status s = take_u64(r, &n, what, err);
    if (s != NNDL_OK) return s;
    *present = n != 0;
    if (n == 0 && optional) return NNDL_OK;
    if (n != want)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: the checkpoint's %s are %llu numbers; this network has %zu", r->path,
                         what, (unsigned long long)n, want);
    uint8_t buf[4096];
    for (size_t i = 0; i < want;) {
        size_t k = want - i < sizeof buf / 4 ? want - i : sizeof buf / 4;
        if ((s = take(r, buf, 4 * k, what, err)) != NNDL_OK) return s;
        for (size_t j = 0; j < k; j++, i++) {
            float x = read_f32_le(buf + 4 * j);
            if (!isfinite(x))
                return error_set(err, NNDL_ERR_FORMAT, "%s: a number of its %s is not finite",
                                 r->path, what);
            if (params) params[i] = x;
        }
    }
    return NNDL_OK;
}

nndl_status nndl_checkpoint_restore(const char *path, nndl_net *net, nndl_trainer *trainer,
                                    nndl_net *best, nndl_error *err)
{
    if (!path || !net || !trainer)
        return error_set(err, NNDL_ERR_ARG, "nndl_checkpoint_restore: NULL argument");
    if (best && best->n_params != net->n_params)
        return error_set(err, NNDL_ERR_ARG, "nndl_checkpoint_restore: best is another network");
    reader r;
    char *note;
    nndl_status s = open_checkpoint(path, &r, &note, err);
    if (s != NNDL_OK) return s;
    alloc_free(note);
    /* Everything goes to scratch copies first: a damaged file changes nothing. */
    uint64_t state_len = 0;
    uint8_t *state = NULL;
    float *params = alloc_array(net->n_params, sizeof(float));
    float *best_params = best ? alloc_array(net->n_params, sizeof(float)) : NULL;
    int present = 0, best_present = 0;
    if (!params || (best && !best_params)) s = error_set(err, NNDL_ERR_NOMEM, "%s: out of memory", path);
    if (s == NNDL_OK) s = take_u64(&r, &state_len, "trainer state", err);
    if (s == NNDL_OK && state_len > r.left)
        s = error_set(err, NNDL_ERR_FORMAT, "%s: truncated checkpoint (in its trainer state)", path);
    if (s == NNDL_OK && !(state = alloc_array((size_t)state_len + 1, 1)))
        s = error_set(err, NNDL_ERR_NOMEM, "%s: out of memory", path);
    if (s == NNDL_OK) s = take(&r, state, state_len, "trainer state", err);
    if (s == NNDL_OK) s = take_params(&r, params, net->n_params, 0, "weights and biases", &present, err);
    if (s == NNDL_OK)
        s = take_params(&r, best_params, net->n_params, 1, "best weights", &best_present, err);
    uint8_t tail[4];
    if (s == NNDL_OK && r.left != 0)
        s = error_set(err, NNDL_ERR_FORMAT, "%s: %llu bytes too many before the checksum", path,
                      (unsigned long long)r.left);
    if (s == NNDL_OK && fread(tail, 1, 4, r.f) != 4)
        s = error_set(err, NNDL_ERR_FORMAT, "%s: truncated checkpoint (its checksum)", path);
    if (s == NNDL_OK && read_u32_le(tail) != (uint32_t)r.crc)
        s = error_set(err, NNDL_ERR_FORMAT, "%s: checksum mismatch, the checkpoint is damaged",
                      path);
    if (s == NNDL_OK && best && !best_present)
        s = error_set(err, NNDL_ERR_FORMAT, "%s: the checkpoint holds no best weights", path);
    /* the trainer state is checked and restored last, once all else is sound */
    if (s == NNDL_OK) s = trainer_state_read(trainer, state, (size_t)state_len, path, err);
    if (s == NNDL_OK) {
        memcpy(net->params, params, net->n_params * sizeof(float));
        if (best) memcpy(best->params, best_params, net->n_params * sizeof(float));
    }
    fclose(r.f);
    alloc_free(state);
    alloc_free(params);
    alloc_free(best_params);
    return s;
}
