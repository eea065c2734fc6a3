/* Opening files for reading: every reader of the library and the tool
 * goes through here.
 *
 * Only a regular file is opened. A FIFO or a device can block the open or
 * the first read for ever (a FIFO nobody writes to), so the file is opened
 * with O_NONBLOCK, which never waits, checked with fstat and only then
 * made blocking again. */
#ifndef NNDL_COMMON_FILE_H
#define NNDL_COMMON_FILE_H

#include <stdint.h>
#include <stdio.h>

#include "nndl.h"

/* Opens `path` for reading into *out and its size into *size (or NULL).
 * `what` names it in messages ("PATH: cannot open model file: ...",
 * "PATH: not a regular file (a FIFO)"). A missing file is `missing`
 * (NNDL_ERR_IO or NNDL_ERR_NOT_FOUND); anything else that fails,
 * NNDL_ERR_IO. */
nndl_status file_open_read(const char *path, const char *what, nndl_status missing, FILE **out,
                           uint64_t *size, nndl_error *err);

#endif
