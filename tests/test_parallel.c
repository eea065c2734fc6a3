/* The thread pool of kernels/parallel.h: every item of every job runs
 * exactly once, with that job's function and context, however quickly jobs
 * of different shapes follow one another. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "check.h"
#include "kernels/parallel.h"
#include "train/thread_choice.h"

enum { MAX_ITEMS = 3 }; /* the larger job's */

typedef struct counted_job {
    unsigned magic; /* which kind of job the context belongs to */
    atomic_int runs[MAX_ITEMS];
    atomic_int wrong; /* calls that arrived with another job's context */
} counted_job;

static pthread_t caller;
static atomic_long worker_items; /* items run by a thread other than the caller */

static void count_items(counted_job *job, unsigned magic, int begin, int end)
{
    if (!pthread_equal(pthread_self(), caller)) atomic_fetch_add(&worker_items, end - begin);
    if (job->magic != magic) {
        atomic_fetch_add(&job->wrong, 1);
        return;
    }
    for (int i = begin; i < end; i++) atomic_fetch_add(&job->runs[i], 1);
}

/* Whether each of the job's n items ran once, and always with its context. */
static int each_ran_once(counted_job *job, int n)
{
    int ok = atomic_load(&job->wrong) == 0;
    for (int i = 0; i < n; i++) ok = ok && atomic_load(&job->runs[i]) == 1;
    return ok;
}

/* Two functions, each expecting its own kind of context. */
static void count_a(void *ctx, int begin, int end) { count_items(ctx, 0xA, begin, end); }
static void count_b(void *ctx, int begin, int end) { count_items(ctx, 0xB, begin, end); }

/* Jobs of 2 chunks and of 3 alternate, as in a training step: a job with
 * more chunks than the one before used to let a worker that had just
 * finished claim a chunk of the old job with the new job's function half
 * written, or the old function with the new context (a crash in training
 * at 2 threads). */
TEST(parallel_runs_each_item_of_each_job_once)
{
    parallel *par = parallel_create(2, NULL);
    REQUIRE(par != NULL);
    caller = pthread_self();
    atomic_store(&worker_items, 0);
    int failures = 0;
    for (int round = 0; round < 200000 && failures < 5; round++) {
        counted_job a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        a.magic = 0xA;
        b.magic = 0xB;
        parallel_for(par, 2, 1, count_a, &a);
        parallel_for(par, 3, 1, count_b, &b);
        if (!each_ran_once(&a, 2) || !each_ran_once(&b, 3)) {
            failures++;
            test_fail(__FILE__, __LINE__,
                      "round %d: job a ran items %d,%d (%d wrong calls); job b %d,%d,%d (%d "
                      "wrong calls)",
                      round, atomic_load(&a.runs[0]), atomic_load(&a.runs[1]),
                      atomic_load(&a.wrong), atomic_load(&b.runs[0]), atomic_load(&b.runs[1]),
                      atomic_load(&b.runs[2]), atomic_load(&b.wrong));
        }
    }
    parallel_free(par);
    if (atomic_load(&worker_items) == 0) /* a busy machine: nothing was tested */
        printf("    (the worker thread never ran an item)\n");
}

/* The choice between the pool and one thread (train/thread_choice.h): runs
 * of 16 batches each way, three times, then the choice; no probe when the
 * count of threads was given, or for an epoch of under 384 batches. */
TEST(thread_choice_probes_both_ways_then_keeps_one)
{
    nndl_error err;
    parallel *pool = parallel_create(2, &err);
    REQUIRE(pool);
    thread_choice c;
    thread_choice_begin(&c, pool, 1, 5000);
    for (size_t b = 0; b < 96; b++) {
        parallel *p = thread_choice_for(&c, b);
        if (p != (b / 16 % 2 ? NULL : pool))
            test_fail(__FILE__, __LINE__, "batch %zu of the probe on the wrong side", b);
        thread_choice_end(&c, b);
    }
    parallel *chosen = thread_choice_for(&c, 96);
    CHECK(chosen == pool || chosen == NULL);
    for (size_t b = 96; b < 5000; b++) {
        if (thread_choice_for(&c, b) != chosen)
            test_fail(__FILE__, __LINE__, "batch %zu changed sides after the probe", b);
        thread_choice_end(&c, b);
    }
    CHECK(thread_choice_threads(&c) == (chosen ? 2 : 1));

    thread_choice_begin(&c, pool, 0, 5000); /* --threads 2: as given */
    for (size_t b = 0; b < 200; b++) CHECK(thread_choice_for(&c, b) == pool);
    thread_choice_begin(&c, pool, 1, 383); /* too short to probe */
    for (size_t b = 0; b < 383; b++) CHECK(thread_choice_for(&c, b) == pool);
    CHECK(thread_choice_threads(&c) == 2);
    thread_choice_begin(&c, NULL, 1, 5000); /* one core */
    for (size_t b = 0; b < 200; b++) CHECK(thread_choice_for(&c, b) == NULL);
    CHECK(thread_choice_threads(&c) == 1);
    parallel_free(pool);
}
