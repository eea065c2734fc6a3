/* Filling an nndl_error: every failing library function goes through here. */
#ifndef NNDL_COMMON_ERROR_H
#define NNDL_COMMON_ERROR_H

#include "nndl.h"

/* Records `status` and a printf-style one-line message in `err` (which may
 * be NULL) and returns `status`, so a caller can write
 * `return error_set(err, NNDL_ERR_IO, "%s: cannot open", path);`. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
nndl_status error_set(nndl_error *err, nndl_status status, const char *fmt, ...);

#endif
