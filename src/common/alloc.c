#include "common/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Allocations left before the injected failure; 0 or less: none armed. */
static atomic_long fail_countdown;
static atomic_int failure_injected;

void alloc_fail_at(long n)
{
    atomic_store(&failure_injected, 0);
    atomic_store(&fail_countdown, n);
}

int alloc_failure_injected(void) { return atomic_load(&failure_injected); }

/* 1 if this allocation is the one to fail. */
static int injected_failure(void)
{
    if (atomic_load_explicit(&fail_countdown, memory_order_relaxed) <= 0) return 0;
    if (atomic_fetch_sub(&fail_countdown, 1) != 1) return 0;
    atomic_store(&failure_injected, 1);
    return 1;
}

void *alloc_array(size_t count, size_t size)
{
    size_t bytes;
    if (size_mul_overflows(count, size, &bytes) || injected_failure()) return NULL;
    return malloc(bytes ? bytes : 1);
}

void *alloc_zeroed(size_t count, size_t size)
{
    size_t bytes;
    if (size_mul_overflows(count, size, &bytes) || injected_failure()) return NULL;
    return calloc(bytes ? count : 1, bytes ? size : 1);
}

void *alloc_aligned(size_t count, size_t size)
{
    enum { LINE = 64 };
    size_t bytes;
    if (size_mul_overflows(count, size, &bytes) || injected_failure()) return NULL;
    void *p = NULL;
    if (posix_memalign(&p, LINE, bytes ? bytes : 1)) return NULL;
    memset(p, 0, bytes);
    return p;
}

void *alloc_resize(void *p, size_t count, size_t size)
{
    size_t bytes;
    if (size_mul_overflows(count, size, &bytes) || injected_failure()) return NULL;
    return realloc(p, bytes ? bytes : 1);
}

void alloc_free(void *p) { free(p); }
