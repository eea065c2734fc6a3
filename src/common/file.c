#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

static const char *kind_of(mode_t mode)
{
    return S_ISDIR(mode)    ? "a directory"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "not a file";
}

nndl_status file_open_read(const char *path, const char *what, nndl_status missing, FILE **out,
                           uint64_t *size, nndl_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return error_set(err, errno == ENOENT ? missing : NNDL_ERR_IO, "%s: cannot open %s: %s",
                         path, what, strerror(errno));
    struct stat st;
    nndl_status status = NNDL_OK;
    int flags;
    if (fstat(fd, &st) != 0)
        status = error_set(err, NNDL_ERR_IO, "%s: cannot stat %s: %s", path, what,
                           strerror(errno));
    else if (!S_ISREG(st.st_mode))
        status = error_set(err, NNDL_ERR_IO, "%s: not a regular file (%s)", path,
                           kind_of(st.st_mode));
    else if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
        status = error_set(err, NNDL_ERR_IO, "%s: cannot read %s: %s", path, what,
                           strerror(errno));
    else if (!(*out = fdopen(fd, "rb")))
        status = error_set(err, NNDL_ERR_NOMEM, "%s: out of memory opening %s", path, what);
    if (status != NNDL_OK) {
        close(fd);
        return status;
    }
    if (size) *size = (uint64_t)st.st_size;
    return NNDL_OK;
}
