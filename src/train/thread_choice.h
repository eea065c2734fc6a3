/* Whether a training epoch runs faster on the network's pool of threads or
 * on the calling thread alone.
 *
 * With the default thread count (0: all cores), each epoch long enough
 * trains its first mini-batches in turns, PROBE_RUN batches on the pool,
 * then PROBE_RUN alone, PROBE_TURNS times each, and the rest of the epoch
 * the way that took less time. At mini-batch 10 the products are a few
 * microseconds each, and on cores that share no cache a second thread can
 * make training slower than one (docs/PERFORMANCE.md: 0.73x for the final
 * network of chapter 6); the host may move the cores between epochs, so
 * every epoch measures again. Results are the same bits either way: the
 * kernels give the same sums for any number of threads. */
#ifndef NNDL_TRAIN_THREAD_CHOICE_H
#define NNDL_TRAIN_THREAD_CHOICE_H

#include <stddef.h>

#include "kernels/parallel.h"

typedef struct thread_choice {
    parallel *pool;       /* the network's pool; NULL: one thread, no choice */
    size_t probe_batches; /* batches of this epoch's probe; 0: none */
    double seconds[2];    /* the probe's time on the pool [0] and alone [1] */
    double started;       /* when the batch being timed began */
    parallel *chosen;     /* after the probe: pool or NULL */
} thread_choice;

/* A new epoch of `batches` mini-batches on `pool` (may be NULL); with
 * `automatic` 0 the pool is used throughout, as given. */
void thread_choice_begin(thread_choice *c, parallel *pool, int automatic, size_t batches);

/* The pool for mini-batch `batch` of the epoch (NULL: the calling thread
 * alone); during the probe it also starts the clock, which
 * thread_choice_end stops. */
parallel *thread_choice_for(thread_choice *c, size_t batch);
void thread_choice_end(thread_choice *c, size_t batch);

/* The threads that trained the epoch's batches after the probe. */
int thread_choice_threads(const thread_choice *c);

#endif
