/* IDX files, the format MNIST is distributed in (yann.lecun.com/exdb/mnist):
 *
 *   magic  4 bytes: 0, 0, type (0x08 = unsigned byte), number of dimensions
 *   sizes  one big-endian u32 per dimension: count, then rows and cols
 *   data   count * rows * cols bytes
 *
 * so images have magic 0x00000803 (2051) and labels 0x00000801 (2049).
 * Files are read through gz_reader, which reads plain files too and checks
 * a gzip stream to its end. The header is not trusted with an allocation:
 * the buffer grows only as bytes arrive, so a short file with a hostile
 * header costs one chunk. */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/byteio.h"
#include "common/error.h"
#include "data/dataset.h"
#include "data/gz_reader.h"

enum {
    IDX_IMAGES_MAGIC = 0x00000803,
    IDX_LABELS_MAGIC = 0x00000801,
    IDX_CHUNK = 1 << 20 /* first buffer size */
};

typedef struct idx_file {
    const char *path;
    const char *kind; /* "image" or "label", for messages */
    gz_reader *in;
    uint32_t count, rows, cols; /* rows = cols = 1 for labels */
} idx_file;

/* Reads up to n bytes into buf; *got < n only at the end of the data. */
static nndl_status idx_read(idx_file *f, uint8_t *buf, size_t n, size_t *got,
                            nndl_error *err)
{
    return gz_reader_read(f->in, buf, n, got, err);
}

/* Opens `f->path` and reads and checks its header. */
static nndl_status idx_open(idx_file *f, uint32_t magic_wanted, nndl_error *err)
{
    unsigned dims = magic_wanted & 0xff;
    nndl_status st = gz_reader_open(f->path, NNDL_ERR_IO, &f->in, err);
    if (st) return st;

    uint8_t head[16];
    size_t want = 4 + 4 * (size_t)dims, got;
    st = idx_read(f, head, 4, &got, err);
    if (st) return st;
    if (got == 0) return error_set(err, NNDL_ERR_FORMAT, "%s: empty file", f->path);
    if (got < 4)
        return error_set(err, NNDL_ERR_FORMAT, "%s: too short for an IDX header (%zu bytes)",
                         f->path, got);
    uint32_t magic = read_u32_be(head);
    if (magic != magic_wanted) {
        char shape[64] = ""; /* unsigned bytes, but another number of dimensions */
        if ((magic >> 8) == 0x08)
            snprintf(shape, sizeof shape, ": %u dimension%s, not %u", magic & 0xff,
                     (magic & 0xff) == 1 ? "" : "s", dims);
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: wrong magic number 0x%08x (expected %u for an IDX %s file)%s",
                         f->path, magic, magic_wanted, f->kind, shape);
    }
    st = idx_read(f, head + 4, want - 4, &got, err);
    if (st) return st;
    if (got < want - 4)
        return error_set(err, NNDL_ERR_FORMAT, "%s: truncated header (%zu of %zu bytes)",
                         f->path, 4 + got, want);

    f->count = read_u32_be(head + 4);
    f->rows = dims == 3 ? read_u32_be(head + 8) : 1;
    f->cols = dims == 3 ? read_u32_be(head + 12) : 1;
    if (f->count > NNDL_MAX_IMAGES)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: header declares %u %ss, more than the limit %u (NNDL_MAX_IMAGES)",
                         f->path, f->count, f->kind, NNDL_MAX_IMAGES);
    if (f->rows < 1 || f->rows > NNDL_MAX_IMAGE_SIDE || f->cols < 1 ||
        f->cols > NNDL_MAX_IMAGE_SIDE)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: header declares images of %ux%u pixels (each side must be 1..%u)",
                         f->path, f->rows, f->cols, NNDL_MAX_IMAGE_SIDE);
    size_t bytes;
    if (size_mul_overflows((size_t)f->count, (size_t)f->rows * f->cols, &bytes) ||
        bytes > NNDL_MAX_DATA_BYTES)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: header declares %u images of %ux%u pixels, more than the limit "
                         "of %llu bytes (NNDL_MAX_DATA_BYTES)",
                         f->path, f->count, f->rows, f->cols, (unsigned long long)NNDL_MAX_DATA_BYTES);
    return NNDL_OK;
}

/* Reads the data the header declared, exactly: no less, no more. */
static nndl_status idx_read_data(idx_file *f, uint8_t **out, nndl_error *err)
{
    size_t image = (size_t)f->rows * f->cols, want = f->count * image; /* checked */
    size_t cap = 0, got = 0, n;
    uint8_t *buf = NULL;
    nndl_status st = NNDL_OK;
    for (;;) {
        /* Double the buffer, capped at the declared size, as data arrives. */
        size_t grow = cap < IDX_CHUNK ? IDX_CHUNK : cap;
        size_t next = want - cap < grow ? want : cap + grow;
        uint8_t *p = alloc_resize(buf, next, 1);
        if (!p) {
            st = error_set(err, NNDL_ERR_NOMEM, "%s: out of memory for %zu bytes", f->path, next);
            goto fail;
        }
        buf = p;
        cap = next;
        if ((st = idx_read(f, buf + got, cap - got, &n, err))) goto fail;
        got += n;
        if (got < cap || cap == want) break;
    }
    if (got < want) {
        st = error_set(err, NNDL_ERR_FORMAT,
                       "%s: truncated: the header declares %u %ss (%zu bytes) but only %zu "
                       "bytes (%zu whole %ss) follow it",
                       f->path, f->count, f->kind, want, got, got / image, f->kind);
        goto fail;
    }
    uint8_t extra;
    if ((st = idx_read(f, &extra, 1, &n, err))) goto fail;
    if (n) {
        st = error_set(err, NNDL_ERR_FORMAT,
                       "%s: trailing bytes after the %u %ss declared in the header", f->path,
                       f->count, f->kind);
        goto fail;
    }
    *out = buf;
    return NNDL_OK;
fail:
    alloc_free(buf);
    return st;
}

nndl_dataset *nndl_idx_load(const char *images_path, const char *labels_path, nndl_error *err)
{
    if (!images_path || !labels_path) {
        error_set(err, NNDL_ERR_ARG, "idx load: no file name given");
        return NULL;
    }
    idx_file im = {.path = images_path, .kind = "image"};
    idx_file lb = {.path = labels_path, .kind = "label"};
    uint8_t *pixels = NULL, *labels = NULL;
    nndl_dataset *ds = NULL;

    /* Both headers first, so a mismatch is found before any big read. */
    if (idx_open(&im, IDX_IMAGES_MAGIC, err) || idx_open(&lb, IDX_LABELS_MAGIC, err)) goto done;
    if (lb.count != im.count) {
        error_set(err, NNDL_ERR_FORMAT, "%s: %u labels, but %s has %u images", lb.path,
                  lb.count, im.path, im.count);
        goto done;
    }
    if (idx_read_data(&im, &pixels, err) || idx_read_data(&lb, &labels, err)) goto done;
    ds = dataset_adopt(pixels, labels, im.count, (int)im.rows, (int)im.cols, err);
    pixels = labels = NULL; /* adopted, or freed by dataset_adopt */
done:
    alloc_free(pixels);
    alloc_free(labels);
    gz_reader_close(im.in);
    gz_reader_close(lb.in);
    return ds;
}
