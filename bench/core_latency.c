/* How long one cache line takes to go from one core to another and back:
 * two threads, one on CPU 0 and one on CPU 1, pass a counter back and
 * forth N times.
 *
 *     build/bench/core_latency
 *
 * Prints one JSON line, {"round_trip_ns": ...}, the median of 5 runs.
 * On a virtual machine the host may move the two virtual CPUs between
 * cores that share a cache and cores that do not, from minute to minute;
 * this tells which it was when the two-thread runs were timed, since any
 * data that one thread writes and the other reads pays this price. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "timing.h"

enum { PASSES = 100000, RUNS = 5 };

static _Alignas(64) atomic_long ball;

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    /* Without two CPUs to pin to, the scheduler places the threads. */
    (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* The second thread answers each odd value with the next even one. */
static void *answer(void *arg)
{
    (void)arg;
    pin(1);
    for (long i = 0; i < PASSES; i++) {
        while (atomic_load_explicit(&ball, memory_order_acquire) != 2 * i + 1) {
        }
        atomic_store_explicit(&ball, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

int main(void)
{
    double ns[RUNS];
    pin(0);
    for (int r = 0; r < RUNS; r++) {
        atomic_store(&ball, 0);
        pthread_t other;
        if (pthread_create(&other, NULL, answer, NULL) != 0) {
            fprintf(stderr, "core_latency: cannot start a thread\n");
            return 1;
        }
        double start = now();
        for (long i = 0; i < PASSES; i++) {
            while (atomic_load_explicit(&ball, memory_order_acquire) != 2 * i) {
            }
            atomic_store_explicit(&ball, 2 * i + 1, memory_order_release);
        }
        pthread_join(other, NULL);
        ns[r] = (now() - start) * 1e9 / PASSES;
    }
    printf("{\"round_trip_ns\": %.0f}\n", median(ns, RUNS));
    return 0;
}
