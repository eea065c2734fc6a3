/* Seconds on the monotonic clock: for measuring intervals (timeouts, the
 * thread choice's probes, benchmarks of the gradient check), never dates. */
#ifndef NNDL_COMMON_CLOCK_H
#define NNDL_COMMON_CLOCK_H

#include <time.h>

static inline double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
