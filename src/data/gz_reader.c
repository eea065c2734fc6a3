#include "data/gz_reader.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/file.h"

enum { IN_CHUNK = 256 << 10 }; /* bytes of the file read at a time */

struct gz_reader {
    FILE *f;
    const char *path;
    uint8_t *in;       /* what was read of the file and not used yet: */
    z_stream z;        /* z.next_in, z.avail_in, for plain files too */
    int gzip;          /* the file starts with gzip's magic bytes */
    int inflating;     /* inflateInit2 done */
    int ended;         /* the end of the data was reached, and verified */
    uint64_t produced; /* bytes of data given out */
};

/* Reads more of the file after the unused input; 0 at its end. */
static nndl_status refill(gz_reader *r, size_t *added, nndl_error *err)
{
    if (r->z.avail_in) memmove(r->in, r->z.next_in, r->z.avail_in);
    r->z.next_in = r->in;
    *added = fread(r->in + r->z.avail_in, 1, IN_CHUNK - r->z.avail_in, r->f);
    r->z.avail_in += (uInt)*added;
    if (*added == 0 && ferror(r->f))
        return error_set(err, NNDL_ERR_IO, "%s: read error (%s)", r->path, strerror(errno));
    return NNDL_OK;
}

nndl_status gz_reader_open(const char *path, nndl_status missing, gz_reader **out,
                           nndl_error *err)
{
    *out = NULL;
    gz_reader *r = alloc_zeroed(1, sizeof *r);
    uint8_t *in = alloc_array(IN_CHUNK, 1);
    if (!r || !in) {
        alloc_free(r);
        alloc_free(in);
        return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory", path);
    }
    r->path = path;
    r->in = in;
    nndl_status st = file_open_read(path, "IDX file", missing, &r->f, NULL, err);
    size_t added = 1;
    while (st == NNDL_OK && added && r->z.avail_in < 2) st = refill(r, &added, err);
    r->gzip = r->z.avail_in >= 2 && r->in[0] == 0x1f && r->in[1] == 0x8b;
    if (st == NNDL_OK && r->gzip) {
        /* 16 + MAX_WBITS: a gzip header and trailer around the deflate data */
        int rc = inflateInit2(&r->z, 16 + MAX_WBITS);
        if (rc == Z_OK)
            r->inflating = 1;
        else
            st = error_set(err, rc == Z_MEM_ERROR ? NNDL_ERR_NOMEM : NNDL_ERR_IO,
                           "%s: cannot start decompressing (%s)", path,
                           rc == Z_MEM_ERROR ? "out of memory" : "zlib failed");
    }
    if (st != NNDL_OK) {
        gz_reader_close(r);
        return st;
    }
    *out = r;
    return NNDL_OK;
}

int gz_reader_compressed(const gz_reader *r) { return r->gzip; }

/* After a member's end (its CRC-32 and length checked by inflate): the end
 * of the file, or another member. */
static nndl_status after_member(gz_reader *r, nndl_error *err)
{
    size_t added = 1;
    nndl_status st = NNDL_OK;
    while (st == NNDL_OK && added && r->z.avail_in < 2) st = refill(r, &added, err);
    if (st != NNDL_OK) return st;
    if (r->z.avail_in == 0) {
        r->ended = 1;
        return NNDL_OK;
    }
    if (r->z.avail_in < 2 || r->z.next_in[0] != 0x1f || r->z.next_in[1] != 0x8b)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: trailing bytes after the end of the gzip stream (%llu bytes of "
                         "data)", r->path, (unsigned long long)r->produced);
    if (inflateReset(&r->z) != Z_OK)
        return error_set(err, NNDL_ERR_FORMAT, "%s: damaged gzip data", r->path);
    return NNDL_OK;
}

static nndl_status read_gzip(gz_reader *r, uint8_t *buf, size_t n, size_t *got,
                             nndl_error *err)
{
    while (*got < n && !r->ended) {
        if (r->z.avail_in == 0) {
            size_t added;
            nndl_status st = refill(r, &added, err);
            if (st != NNDL_OK) return st;
            if (added == 0)
                return error_set(err, NNDL_ERR_FORMAT,
                                 "%s: truncated gzip stream: the file ends after %llu bytes of "
                                 "data, before the stream's end and checksum",
                                 r->path, (unsigned long long)r->produced);
        }
        size_t want = n - *got;
        uInt room = want > UINT_MAX ? UINT_MAX : (uInt)want;
        r->z.next_out = buf + *got;
        r->z.avail_out = room;
        int rc = inflate(&r->z, Z_NO_FLUSH);
        size_t made = room - r->z.avail_out;
        *got += made;
        r->produced += made;
        if (rc == Z_STREAM_END) {
            nndl_status st = after_member(r, err);
            if (st != NNDL_OK) return st;
        } else if (rc == Z_MEM_ERROR) {
            return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory while decompressing",
                             r->path);
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            /* Z_DATA_ERROR: damaged data, or a CRC-32 or length that does
             * not match ("incorrect data check") */
            return error_set(err, NNDL_ERR_FORMAT, "%s: damaged gzip data (%s)", r->path,
                             r->z.msg ? r->z.msg : "unknown error");
        }
    }
    return NNDL_OK;
}

nndl_status gz_reader_read(gz_reader *r, uint8_t *buf, size_t n, size_t *got, nndl_error *err)
{
    *got = 0;
    if (r->gzip) return read_gzip(r, buf, n, got, err);
    /* a plain file: what was read to look for the magic bytes, then the rest */
    size_t first = r->z.avail_in < n ? r->z.avail_in : n;
    memcpy(buf, r->z.next_in, first);
    r->z.next_in += first;
    r->z.avail_in -= (uInt)first;
    *got = first;
    if (*got < n) *got += fread(buf + *got, 1, n - *got, r->f);
    r->produced += *got;
    if (*got < n && ferror(r->f))
        return error_set(err, NNDL_ERR_IO, "%s: read error (%s)", r->path, strerror(errno));
    return NNDL_OK;
}

void gz_reader_close(gz_reader *r)
{
    if (!r) return;
    if (r->inflating) inflateEnd(&r->z);
    if (r->f) fclose(r->f);
    alloc_free(r->in);
    alloc_free(r);
}
