/* Atomic replacement of a file: temporary file, fsync, rename, directory
 * sync. See atomic_file.h and docs/MODEL_FORMAT.md "How saving works". */
#include "model/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"

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

nndl_status atomic_file_prepare(atomic_file *af, const char *path, const char *what,
                                atomic_write_fn write_content, const void *ctx,
                                nndl_error *err)
{
    static const char suffix[] = ".tmp.XXXXXX";
    af->tmp = NULL;
    af->path = path;
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

    /* mkstemp makes the file 0600. Replacing a file keeps its permissions;
     * a new one is readable by all, as model files are not secrets. */
    struct stat old;
    mode_t mode = stat(path, &old) == 0 ? (old.st_mode & 0777) : 0644;
    (void)fchmod(fd, mode);

    enum { STEP_OPEN, STEP_WRITE, STEP_SYNC } step = STEP_WRITE;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        step = STEP_OPEN;
        goto fail;
    }
    errno = 0;
    if (write_content(f, ctx) != 0 || fflush(f) != 0) {
        if (errno == 0) errno = EIO;
        goto fail;
    }
    /* The data must be on disk before the rename makes it the file. */
    if (fsync(fileno(f)) != 0) {
        step = STEP_SYNC;
        goto fail;
    }
    int closed = fclose(f);
    f = NULL;
    fd = -1;
    if (closed != 0) goto fail;
    af->tmp = tmp;
    return NNDL_OK;

fail:;
    int saved = errno;
    if (f)
        (void)fclose(f);
    else if (fd >= 0)
        (void)close(fd);
    (void)unlink(tmp);
    alloc_free(tmp);
    char why[128];
    switch (step) {
    case STEP_OPEN: snprintf(why, sizeof why, "cannot open the temporary %s", what); break;
    case STEP_WRITE: snprintf(why, sizeof why, "cannot write %s", what); break;
    case STEP_SYNC: snprintf(why, sizeof why, "cannot flush %s to disk", what); break;
    }
    return error_set(err, NNDL_ERR_IO, "%s: %s: %s", path, why, strerror(saved));
}

nndl_status atomic_file_commit(atomic_file *af, const char *what, nndl_error *err)
{
    if (rename(af->tmp, af->path) != 0) {
        int saved = errno;
        atomic_file_discard(af);
        return error_set(err, NNDL_ERR_IO, "%s: cannot rename the temporary %s to it: %s",
                         af->path, what, strerror(saved));
    }
    alloc_free(af->tmp);
    af->tmp = NULL;
    fsync_parent_dir(af->path);
    return NNDL_OK;
}

void atomic_file_discard(atomic_file *af)
{
    if (!af->tmp) return;
    (void)unlink(af->tmp);
    alloc_free(af->tmp);
    af->tmp = NULL;
}

nndl_status atomic_file_write(const char *path, const char *what,
                              atomic_write_fn write_content, const void *ctx,
                              nndl_error *err)
{
    atomic_file af;
    nndl_status st = atomic_file_prepare(&af, path, what, write_content, ctx, err);
    return st != NNDL_OK ? st : atomic_file_commit(&af, what, err);
}
