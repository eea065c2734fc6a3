/* Writing a dataset as a pair of gzip-compressed IDX files (the format of
 * idx.c, which reads them back).
 *
 * Each file is written under a temporary name beside its target, flushed
 * to disk, and only then renamed over the target, so a failed or
 * interrupted save never leaves a partial file under the real name. Both
 * temporary files are complete before either rename, so the pair is
 * replaced together except in the unlikely case that the second rename
 * fails after the first succeeded. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/alloc.h"
#include "common/error.h"
#include "data/dataset.h"

enum {
    IDX_IMAGES_MAGIC = 0x00000803,
    IDX_LABELS_MAGIC = 0x00000801,
    WRITE_CHUNK = 1 << 20 /* bytes per gzwrite: its length is an unsigned */
};

/* Level 6 is gzip's default: the expanded set (196 MB of pixels) becomes
 * about 40 MB. */
static const char gz_mode[] = "wb6";

static void put_u32_be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A temporary file being written for `path`. */
typedef struct tmp_file {
    const char *path; /* the target, for messages */
    char *tmp;        /* its temporary name, allocated; NULL once renamed */
} tmp_file;

static void tmp_discard(tmp_file *t)
{
    if (t->tmp) {
        (void)unlink(t->tmp);
        alloc_free(t->tmp);
        t->tmp = NULL;
    }
}

/* The reason zlib gives for a failed gzwrite or gzclose. */
static nndl_status gz_write_failure(gzFile gz, int code_from_close, const char *path,
                                    nndl_error *err)
{
    int code = code_from_close;
    const char *msg = "";
    if (gz) msg = gzerror(gz, &code);
    if (code == Z_ERRNO)
        return error_set(err, NNDL_ERR_IO, "%s: cannot write (%s)", path, strerror(errno));
    if (code == Z_MEM_ERROR)
        return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory while compressing", path);
    return error_set(err, NNDL_ERR_IO, "%s: cannot write (zlib error %d%s%s)", path, code,
                     msg && *msg ? ": " : "", msg ? msg : "");
}

/* Writes `head` and then `n` bytes of `data`, gzip-compressed, to a new
 * temporary file beside t->path and syncs it to disk. On failure the
 * temporary file is gone. */
static nndl_status write_gz(tmp_file *t, const uint8_t *head, size_t head_len,
                            const uint8_t *data, size_t n, nndl_error *err)
{
    static const char suffix[] = ".tmp.XXXXXX";
    size_t len = strlen(t->path);
    if (!(t->tmp = alloc_array(len + sizeof suffix, 1)))
        return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory", t->path);
    memcpy(t->tmp, t->path, len);
    memcpy(t->tmp + len, suffix, sizeof suffix);

    int fd = mkstemp(t->tmp);
    if (fd < 0) {
        nndl_status st = error_set(err, NNDL_ERR_IO,
                                   "%s: cannot create a temporary file in its directory (%s)",
                                   t->path, strerror(errno));
        alloc_free(t->tmp);
        t->tmp = NULL;
        return st;
    }
    /* mkstemp makes the file private; a data set is not a secret. */
    (void)fchmod(fd, 0644);

    /* zlib gets its own descriptor, which gzclose closes; `fd` stays open
     * for the fsync after the last compressed bytes are out. */
    nndl_status st = NNDL_OK;
    int fd2 = dup(fd);
    gzFile gz = fd2 >= 0 ? gzdopen(fd2, gz_mode) : NULL;
    if (!gz) {
        st = error_set(err, fd2 < 0 ? NNDL_ERR_IO : NNDL_ERR_NOMEM,
                       "%s: cannot start writing (%s)", t->path,
                       fd2 < 0 ? strerror(errno) : "out of memory");
        if (fd2 >= 0) (void)close(fd2);
        goto fail;
    }
    (void)gzbuffer(gz, 256u << 10);
    if (gzwrite(gz, head, (unsigned)head_len) != (int)head_len) {
        st = gz_write_failure(gz, Z_OK, t->path, err);
        goto fail_gz;
    }
    for (size_t done = 0; done < n;) {
        unsigned want = n - done > WRITE_CHUNK ? WRITE_CHUNK : (unsigned)(n - done);
        if (gzwrite(gz, data + done, want) != (int)want) {
            st = gz_write_failure(gz, Z_OK, t->path, err);
            goto fail_gz;
        }
        done += want;
    }
    int rc = gzclose(gz);
    if (rc != Z_OK) {
        st = gz_write_failure(NULL, rc, t->path, err);
        goto fail;
    }
    /* The data must be on disk before a rename makes it the file. */
    if (fsync(fd) != 0) {
        st = error_set(err, NNDL_ERR_IO, "%s: cannot flush to disk (%s)", t->path,
                       strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        st = error_set(err, NNDL_ERR_IO, "%s: cannot write (%s)", t->path, strerror(errno));
        goto fail;
    }
    return NNDL_OK;

fail_gz:
    (void)gzclose(gz);
fail:
    if (fd >= 0) (void)close(fd);
    tmp_discard(t);
    return st;
}

/* Syncs the directory holding `path` ("." if none) after a rename: best
 * effort, as some file systems refuse fsync on a directory. */
static void fsync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    if (slash) {
        size_t len = slash == path ? 1 : (size_t)(slash - path);
        if (!(dir = alloc_array(len + 1, 1))) return;
        memcpy(dir, path, len);
        dir[len] = 0;
    }
    int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
    alloc_free(dir);
}

static nndl_status tmp_commit(tmp_file *t, nndl_error *err)
{
    if (rename(t->tmp, t->path) != 0) {
        nndl_status st = error_set(err, NNDL_ERR_IO, "%s: cannot rename the temporary file %s "
                                   "to it (%s)", t->path, t->tmp, strerror(errno));
        tmp_discard(t);
        return st;
    }
    alloc_free(t->tmp);
    t->tmp = NULL;
    fsync_parent_dir(t->path);
    return NNDL_OK;
}

nndl_status nndl_idx_save(const nndl_dataset *ds, const char *images_path,
                          const char *labels_path, nndl_error *err)
{
    if (!ds) return error_set(err, NNDL_ERR_ARG, "idx save: no dataset given");
    if (!images_path || !*images_path || !labels_path || !*labels_path)
        return error_set(err, NNDL_ERR_ARG, "idx save: no file name given");
    if (strcmp(images_path, labels_path) == 0)
        return error_set(err, NNDL_ERR_ARG, "%s: images and labels need two different files",
                         images_path);
    /* Refuse what nndl_idx_load would refuse to read back. */
    size_t bytes;
    if (ds->count > NNDL_MAX_IMAGES ||
        size_mul_overflows(ds->count, dataset_image_bytes(ds), &bytes) ||
        bytes > NNDL_MAX_DATA_BYTES)
        return error_set(err, NNDL_ERR_ARG,
                         "%s: not saved: %zu images of %dx%d pixels are more than an IDX file "
                         "may hold here (NNDL_MAX_IMAGES, NNDL_MAX_DATA_BYTES)",
                         images_path, ds->count, ds->rows, ds->cols);
    for (size_t i = 0; i < ds->count; i++)
        if (ds->labels[i] > 9)
            return error_set(err, NNDL_ERR_ARG,
                             "%s: not saved: label %zu is %u (expected a digit 0..9)",
                             labels_path, i, ds->labels[i]);

    uint8_t im_head[16], lb_head[8];
    put_u32_be(im_head, IDX_IMAGES_MAGIC);
    put_u32_be(im_head + 4, (uint32_t)ds->count);
    put_u32_be(im_head + 8, (uint32_t)ds->rows);
    put_u32_be(im_head + 12, (uint32_t)ds->cols);
    put_u32_be(lb_head, IDX_LABELS_MAGIC);
    put_u32_be(lb_head + 4, (uint32_t)ds->count);

    tmp_file im = {images_path, NULL}, lb = {labels_path, NULL};
    nndl_status st;
    if ((st = write_gz(&im, im_head, sizeof im_head, ds->pixels, bytes, err)) ||
        (st = write_gz(&lb, lb_head, sizeof lb_head, ds->labels, ds->count, err)) ||
        (st = tmp_commit(&im, err)) || (st = tmp_commit(&lb, err))) {
        tmp_discard(&im);
        tmp_discard(&lb);
        return st;
    }
    return NNDL_OK;
}
