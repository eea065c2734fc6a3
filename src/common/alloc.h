/* Every allocation of the library goes through these, so that sizes are
 * overflow-checked in one place and a test build can make the N-th
 * allocation fail. */
#ifndef NNDL_COMMON_ALLOC_H
#define NNDL_COMMON_ALLOC_H

#include <stddef.h>

/* malloc(count * size), or NULL if the product overflows or memory is out. */
void *alloc_array(size_t count, size_t size);
/* calloc(count, size), zeroed, with the same checks. */
void *alloc_zeroed(size_t count, size_t size);
/* Zeroed like alloc_zeroed, and starting on a 64-byte boundary: a cache
 * line, and one AVX-512 vector, so that vector loads of rows whose length
 * is a multiple of 16 floats (784 pixels) never straddle two lines. For
 * the parameters and activations the kernels stream. Freed by alloc_free;
 * never pass it to alloc_resize, which would lose the alignment. */
void *alloc_aligned(size_t count, size_t size);
/* realloc(p, count * size) with the same checks; p is kept on failure. */
void *alloc_resize(void *p, size_t count, size_t size);
void alloc_free(void *p);

/* Failure injection, for the tests: after alloc_fail_at(n) the n-th
 * allocation from then on (1: the next one) returns NULL, once, as if
 * memory had run out; alloc_fail_at(0) turns it off. alloc_failure_injected
 * says whether that allocation has happened yet. Costs one atomic load per
 * allocation, and the training loop allocates nothing. */
void alloc_fail_at(long n);
int alloc_failure_injected(void);

/* 1 if a * b overflows size_t; otherwise writes the product to *out. */
static inline int size_mul_overflows(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > (size_t)-1 / b) return 1;
    *out = a * b;
    return 0;
}

#endif
