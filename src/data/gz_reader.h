/* Reading a file that may be gzip-compressed (MNIST's IDX files are),
 * through to its verified end.
 *
 * zlib's gzread stops without a word at a stream cut inside its 8-byte
 * trailer, so that the CRC-32 is never compared, and skips any bytes after
 * the stream that are not another gzip member. This reader runs inflate
 * to the end of every member: each member's CRC-32 and length are
 * checked, a stream that ends early is an error, and so is anything after
 * the last member. A file that does not start with gzip's magic bytes is
 * read as it is. */
#ifndef NNDL_DATA_GZ_READER_H
#define NNDL_DATA_GZ_READER_H

#include <stddef.h>
#include <stdint.h>

#include "nndl.h"

typedef struct gz_reader gz_reader;

/* Opens `path` (a regular file) into *out. A missing file is `missing`
 * (NNDL_ERR_IO or NNDL_ERR_NOT_FOUND), other failures NNDL_ERR_IO or
 * NNDL_ERR_NOMEM; messages name the file. */
nndl_status gz_reader_open(const char *path, nndl_status missing, gz_reader **out,
                           nndl_error *err);

/* Reads up to n bytes of the (decompressed) data into buf. *got < n only
 * at the end of the data, once every gzip member has been verified.
 * NNDL_ERR_FORMAT for damaged or cut gzip data and for bytes after it;
 * NNDL_ERR_IO for a read error. */
nndl_status gz_reader_read(gz_reader *r, uint8_t *buf, size_t n, size_t *got, nndl_error *err);

/* Whether the file is gzip-compressed (its first bytes are gzip's magic). */
int gz_reader_compressed(const gz_reader *r);

void gz_reader_close(gz_reader *r);

#endif
