/* A progress bar on standard error, drawn only when it is a terminal. */
#ifndef NNDL_CLI_PROGRESS_H
#define NNDL_CLI_PROGRESS_H

#include <stddef.h>

typedef struct progress_bar {
    int enabled;
    const char *label; /* e.g. "epoch 3/30" */
    double started, last_drawn;
} progress_bar;

/* Prepares a bar; enabled only if standard error is a terminal. */
void progress_start(progress_bar *bar, const char *label);
/* An nndl_progress_fn: redraws at most ten times a second. */
void progress_update(size_t done, size_t total, void *bar);
/* Erases the bar. */
void progress_finish(progress_bar *bar);

double monotonic_seconds(void);

#endif
