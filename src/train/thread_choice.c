#include "train/thread_choice.h"

#include "common/clock.h"

enum {
    PROBE_RUN = 16,   /* batches in a row one way */
    PROBE_TURNS = 3,  /* runs each way */
    PROBE_SHARE = 4   /* an epoch of fewer than this many probes' batches is not probed */
};

void thread_choice_begin(thread_choice *c, parallel *pool, int automatic, size_t batches)
{
    const size_t probe = 2 * PROBE_TURNS * PROBE_RUN;
    c->pool = pool;
    c->probe_batches = pool && automatic && batches >= PROBE_SHARE * probe ? probe : 0;
    c->seconds[0] = c->seconds[1] = 0;
    c->started = 0;
    c->chosen = pool;
}

/* 0 for the pool's runs of the probe, 1 for the calling thread's. */
static int probe_side(size_t batch) { return (int)(batch / PROBE_RUN % 2); }

parallel *thread_choice_for(thread_choice *c, size_t batch)
{
    if (batch >= c->probe_batches) return c->chosen;
    c->started = monotonic_seconds();
    return probe_side(batch) ? NULL : c->pool;
}

void thread_choice_end(thread_choice *c, size_t batch)
{
    if (batch >= c->probe_batches) return;
    c->seconds[probe_side(batch)] += monotonic_seconds() - c->started;
    if (batch + 1 == c->probe_batches) c->chosen = c->seconds[1] < c->seconds[0] ? NULL : c->pool;
}

int thread_choice_threads(const thread_choice *c) { return parallel_threads(c->chosen); }
