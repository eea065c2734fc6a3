#include "common/alloc.h"

#include <stdlib.h>
#include <string.h>

void *alloc_array(size_t count, size_t size)
{
    size_t bytes;
    if (size_mul_overflows(count, size, &bytes)) return NULL;
    return malloc(bytes ? bytes : 1);
}

void *alloc_zeroed(size_t count, size_t size)
{
    size_t bytes;
    if (size_mul_overflows(count, size, &bytes)) return NULL;
    return calloc(bytes ? count : 1, bytes ? size : 1);
}

void *alloc_aligned(size_t count, size_t size)
{
    enum { LINE = 64 };
    size_t bytes;
    if (size_mul_overflows(count, size, &bytes)) return NULL;
    void *p = NULL;
    if (posix_memalign(&p, LINE, bytes ? bytes : 1)) return NULL;
    memset(p, 0, bytes);
    return p;
}

void *alloc_resize(void *p, size_t count, size_t size)
{
    size_t bytes;
    if (size_mul_overflows(count, size, &bytes)) return NULL;
    return realloc(p, bytes ? bytes : 1);
}

void alloc_free(void *p) { free(p); }
