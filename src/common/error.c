#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>

nndl_status error_set(nndl_error *err, nndl_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = status;
        /* Keep the message on one line whatever a path contained. */
        for (char *c = err->message; *c; c++)
            if (*c == '\n' || *c == '\r') *c = ' ';
    }
    return status;
}

const char *nndl_status_name(nndl_status status)
{
    switch (status) {
    case NNDL_OK: return "ok";
    case NNDL_ERR_ARG: return "invalid argument";
    case NNDL_ERR_IO: return "input/output error";
    case NNDL_ERR_FORMAT: return "format error";
    case NNDL_ERR_NOMEM: return "out of memory";
    case NNDL_ERR_NOT_FOUND: return "not found";
    case NNDL_ERR_NETWORK: return "download failed";
    case NNDL_ERR_DIVERGED: return "training diverged";
    }
    return "unknown status";
}
