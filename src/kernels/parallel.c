#include "kernels/parallel.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* A worker waits this many turns for the next job before it sleeps: about
 * 0.1-1 ms, longer than the gaps between the products of a mini-batch. */
enum { SPIN_LIMIT = 1 << 14 };

/* Waiting this long for a worker's chunk, past when it should have ended,
 * means the worker was descheduled mid-chunk: another process wants its
 * core (wait_for_workers). */
static const double LATE_SECONDS = 200e-6;
/* After a late worker the caller works alone for a while, starting with
 * this many calls and doubling on each further late worker, so that a busy
 * machine costs a few waits per epoch instead of thousands; each call whose
 * workers are on time halves the next stretch again. */
enum { BACKOFF_MIN = 64, BACKOFF_MAX = 1 << 16 };

/* A job: fn over n_items items in n_chunks chunks of `grain`. */
typedef struct job_slot {
    _Atomic(parallel_fn) fn;
    _Atomic(void *) ctx;
    atomic_int n_items, grain, n_chunks;
} job_slot;

struct parallel {
    int n_workers;
    pthread_t *workers;
    /* The job of generation g is in jobs[g % 2]. The caller fills the slot
     * of the next generation while a worker may still be reading the
     * current one: with a single slot, a worker that had just finished a
     * chunk could read the next job's chunk count before that job was
     * published, and claim a chunk of the old generation that did not
     * exist, running it with the new job's function or context. */
    job_slot jobs[2];
    /* generation << 32 | next unclaimed chunk: a claim is a compare-and-swap
     * on both, so a worker can never take a chunk of a job that ended. */
    _Atomic uint64_t state;
    atomic_int done; /* chunks of the current job finished */
    atomic_int stop;
    uint32_t generation; /* caller only, as are the two below */
    unsigned serial_left; /* calls to run alone before trying workers again */
    unsigned backoff;     /* the length of the next such stretch */
    /* Sleeping workers wait here for a new generation. */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_int sleepers;
};

/* Claims and runs chunks of generation `gen` until none are left. */
static void run_chunks(parallel *p, uint32_t gen)
{
    for (;;) {
        uint64_t s = atomic_load_explicit(&p->state, memory_order_acquire);
        if ((uint32_t)(s >> 32) != gen) return;
        int chunk = (int)(uint32_t)s;
        /* Acquire, against the caller's release: had one of these read
         * what the caller wrote for generation gen + 2, the caller would
         * have published gen + 1 before, and the claim below would fail. */
        job_slot *job = &p->jobs[gen % 2];
        parallel_fn fn = atomic_load_explicit(&job->fn, memory_order_acquire);
        void *ctx = atomic_load_explicit(&job->ctx, memory_order_acquire);
        int n = atomic_load_explicit(&job->n_items, memory_order_acquire);
        int grain = atomic_load_explicit(&job->grain, memory_order_acquire);
        int n_chunks = atomic_load_explicit(&job->n_chunks, memory_order_acquire);
        if (chunk >= n_chunks) return;
        /* Success proves that generation gen was still current, so that
         * its slot held its job while the fields were read. */
        if (!atomic_compare_exchange_weak_explicit(&p->state, &s, s + 1, memory_order_acq_rel,
                                                   memory_order_relaxed))
            continue;
        int begin = chunk * grain; /* < n */
        long end = (long)begin + grain; /* past INT_MAX when n and grain are near 2^30 */
        fn(ctx, begin, end < n ? (int)end : n);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
}

static void *worker_main(void *arg)
{
    parallel *p = arg;
    uint32_t seen = 0;
    for (;;) {
        uint32_t gen;
        int spins = 0;
        while ((gen = (uint32_t)(atomic_load_explicit(&p->state, memory_order_acquire) >> 32)) ==
                   seen &&
               !atomic_load_explicit(&p->stop, memory_order_relaxed)) {
            if (++spins < SPIN_LIMIT) {
                /* Yield rather than spin: on an idle core this returns at
                 * once; on a busy one it lets the other process run. */
                if (spins & 15) cpu_relax(); else sched_yield();
                continue;
            }
            pthread_mutex_lock(&p->lock);
            atomic_fetch_add(&p->sleepers, 1);
            while ((uint32_t)(atomic_load(&p->state) >> 32) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->lock);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->lock);
            spins = 0;
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = gen;
        run_chunks(p, gen);
    }
}

parallel *parallel_create(int threads, nndl_error *err)
{
    if (threads < 2) return NULL;
    parallel *p = alloc_zeroed(1, sizeof *p);
    pthread_t *workers = alloc_array((size_t)threads - 1, sizeof *workers);
    if (!p || !workers) {
        alloc_free(p);
        alloc_free(workers);
        error_set(err, NNDL_ERR_NOMEM, "out of memory for %d threads", threads);
        return NULL;
    }
    p->workers = workers;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    for (int i = 0; i < threads - 1; i++) {
        if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0) {
            error_set(err, NNDL_ERR_NOMEM, "cannot start thread %d of %d", i + 2, threads);
            parallel_free(p);
            return NULL;
        }
        p->n_workers++;
    }
    return p;
}

void parallel_free(parallel *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_workers; i++) pthread_join(p->workers[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    alloc_free(p->workers);
    alloc_free(p);
}

int parallel_grain(long item_work, long min_work)
{
    if (item_work <= 0) return 1 << 30;
    long grain = (min_work + item_work - 1) / item_work;
    return grain < 1 ? 1 : grain > (1 << 30) ? 1 << 30 : (int)grain;
}

int parallel_threads(const parallel *p) { return p ? p->n_workers + 1 : 1; }

int parallel_split(const parallel *p, int n, long item_work, long min_total)
{
    int threads = parallel_threads(p);
    if (n < 1) return 1;
    if (threads < 2 || (long)n * item_work < min_total) return n;
    return (n + threads - 1) / threads;
}

/* Waits for the chunks workers have begun; returns 1 if one was late. */
/* Waits for the workers' chunks; 1 if one was late: still running
 * LATE_SECONDS after it should have ended. A chunk that began with the
 * caller's should end about when the caller's last one did, and one begun
 * later at most the caller's time in its chunks (since `begun`) later:
 * a convolution's products take some 200 us a chunk, and with a fixed
 * allowance their ordinary chunks counted as late, and turned the pool
 * off for thousands of calls. */
static int wait_for_workers(parallel *p, int n_chunks, double begun)
{
    if (atomic_load_explicit(&p->done, memory_order_acquire) >= n_chunks) return 0;
    double started = monotonic_seconds(), own = started - begun;
    int spins = 0;
    while (atomic_load_explicit(&p->done, memory_order_acquire) < n_chunks) {
        cpu_relax();
        if ((++spins & 255) == 0 && monotonic_seconds() - started > LATE_SECONDS + own) {
            /* the late worker may want this very core: yield it */
            while (atomic_load_explicit(&p->done, memory_order_acquire) < n_chunks) sched_yield();
            return 1;
        }
    }
    return 0;
}

void parallel_for(parallel *p, int n, int grain, parallel_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int n_chunks = (int)(((long)n + grain - 1) / grain);
    if (!p || n_chunks == 1) {
        fn(ctx, 0, n);
        return;
    }
    if (p->serial_left) {
        p->serial_left--;
        fn(ctx, 0, n);
        return;
    }
    uint32_t gen = ++p->generation;
    job_slot *job = &p->jobs[gen % 2];
    atomic_store_explicit(&job->fn, fn, memory_order_release);
    atomic_store_explicit(&job->ctx, ctx, memory_order_release);
    atomic_store_explicit(&job->n_items, n, memory_order_release);
    atomic_store_explicit(&job->grain, grain, memory_order_release);
    atomic_store_explicit(&job->n_chunks, n_chunks, memory_order_release);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    /* seq_cst, paired with the workers' sleepers count: either a worker sees
     * the new job before it sleeps, or the caller sees it sleeping. */
    atomic_store(&p->state, (uint64_t)gen << 32);
    const int asleep = atomic_load(&p->sleepers) > 0;
    if (asleep) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    double begun = monotonic_seconds();
    run_chunks(p, gen);
    /* Only chunks that a worker has begun can still be running. A worker
     * that had to be woken (after a stretch alone it always has) may start
     * late without another process on its core: waking a halted virtual
     * CPU can take longer than LATE_SECONDS. Counted as late, each stretch
     * alone led to a longer one, and a 2-thread training ran on one core
     * for minutes on end with the other idle. */
    int late = wait_for_workers(p, n_chunks, begun);
    if (late && !asleep) {
        p->backoff = p->backoff ? 2 * p->backoff : BACKOFF_MIN;
        if (p->backoff > BACKOFF_MAX) p->backoff = BACKOFF_MAX;
        p->serial_left = p->backoff;
    } else if (!late && p->backoff) {
        p->backoff /= 2; /* calm again: back to trying often within a few calls */
    }
}
