/* A small pool of threads for the matrix kernels.
 *
 * Why not OpenMP's parallel for: a mini-batch of 10 makes each product a
 * few microseconds of work, and every OpenMP region ends in a barrier that
 * waits for all of its threads. When another process holds a core, the
 * thread scheduled there is late at every barrier and an epoch slows down
 * by a factor of 100 (measured: 0.1 s became 5 s). Here the caller takes
 * chunks of work itself and waits only for chunks another thread has
 * already begun: a late worker simply finds nothing left to do.
 *
 * Each chunk is a fixed range of items, whichever thread runs it, so the
 * results do not depend on the number of threads. */
#ifndef NNDL_KERNELS_PARALLEL_H
#define NNDL_KERNELS_PARALLEL_H

#include "nndl.h"

typedef struct parallel parallel;

/* fn(ctx, begin, end) handles items [begin, end). */
typedef void (*parallel_fn)(void *ctx, int begin, int end);

/* A pool for `threads` threads in all, the caller's included (so
 * threads - 1 workers). NULL with an error if they cannot be started. */
parallel *parallel_create(int threads, nndl_error *err);
void parallel_free(parallel *p);

/* Runs fn over items [0, n) in chunks of `grain` items (the last may be
 * smaller) and returns when all are done. With p NULL, or a single chunk,
 * it is one plain call fn(ctx, 0, n). */
void parallel_for(parallel *p, int n, int grain, parallel_fn fn, void *ctx);

/* The grain that gives each chunk at least `min_work` units when one item
 * costs `item_work` units. */
int parallel_grain(long item_work, long min_work);

/* The number of threads of the pool, the caller's included; 1 for NULL. */
int parallel_threads(const parallel *p);

/* The grain that splits n items of `item_work` units each into one chunk
 * per thread of p, or leaves them in one chunk when all of them come to
 * less than `min_total` units. Even shares that each thread claims once
 * beat many small chunks: every chunk costs a claim, and the last one
 * keeps the other threads waiting. */
int parallel_split(const parallel *p, int n, long item_work, long min_total);

#endif
