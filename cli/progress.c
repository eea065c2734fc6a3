#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void progress_start(progress_bar *bar, const char *label)
{
    bar->enabled = isatty(STDERR_FILENO);
    bar->label = label;
    bar->started = monotonic_seconds();
    bar->last_drawn = 0;
}

void progress_update(size_t done, size_t total, void *user)
{
    progress_bar *bar = user;
    if (!bar->enabled || total == 0) return;
    double now = monotonic_seconds();
    if (now - bar->last_drawn < 0.1 && done < total) return;
    bar->last_drawn = now;

    enum { WIDTH = 30 };
    char cells[WIDTH + 1];
    int filled = (int)((double)done / total * WIDTH);
    for (int i = 0; i < WIDTH; i++) cells[i] = i < filled ? '#' : '.';
    cells[WIDTH] = 0;
    double elapsed = now - bar->started;
    double rate = elapsed > 0 ? done / elapsed : 0;
    double eta = rate > 0 ? (total - done) / rate : 0;
    fprintf(stderr, "\r%s [%s] %zu/%zu  %.0f img/s  ETA %.1fs\033[K", bar->label, cells, done,
            total, rate, eta);
    fflush(stderr);
}

void progress_finish(progress_bar *bar)
{
    if (!bar->enabled) return;
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
}
