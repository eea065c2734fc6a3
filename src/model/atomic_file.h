/* Writing a file so that it is either wholly replaced or left untouched.
 *
 * The content goes to PATH.tmp.XXXXXX in the same directory, is flushed and
 * fsync'ed, and the temporary file is then renamed over PATH (atomic on
 * POSIX file systems); the directory is synced, best effort, so that the new
 * name survives a crash. Used by every writer of model files. */
#ifndef NNDL_MODEL_ATOMIC_FILE_H
#define NNDL_MODEL_ATOMIC_FILE_H

#include <stdio.h>

#include "nndl.h"

/* Writes the whole content to `f`. Returns 0, or -1 with errno set (a
 * failed fwrite or fprintf sets it). */
typedef int (*atomic_write_fn)(FILE *f, const void *ctx);

/* Creates the temporary file, calls write_content(f, ctx), flushes, syncs,
 * closes and renames it over `path`. A replaced file keeps its permission bits; a
 * new one gets 0644. A symbolic link at `path` is replaced, not followed.
 * On failure the temporary file is removed, `path` keeps its previous
 * contents and the error is NNDL_ERR_IO (NNDL_ERR_NOMEM if the temporary
 * name cannot be allocated): "PATH: cannot write WHAT: reason", where
 * `what` names the kind of file ("model file"). */
nndl_status atomic_file_write(const char *path, const char *what,
                              atomic_write_fn write_content, const void *ctx,
                              nndl_error *err);

/* The same in two steps, for files that go together (a C header and its
 * source): prepare writes, syncs and closes the temporary file, or fails
 * as above leaving nothing behind; then commit renames it over `path`
 * (on failure removing it, "PATH: cannot rename the temporary WHAT to it:
 * reason"), or discard removes it. Preparing every file before committing
 * any means that a write that fails (a full disk) replaces none of them. */
typedef struct atomic_file {
    const char *path;
    char *tmp; /* the prepared temporary file; NULL once committed or discarded */
} atomic_file;

nndl_status atomic_file_prepare(atomic_file *af, const char *path, const char *what,
                                atomic_write_fn write_content, const void *ctx,
                                nndl_error *err);
nndl_status atomic_file_commit(atomic_file *af, const char *what, nndl_error *err);
void atomic_file_discard(atomic_file *af);

#endif
