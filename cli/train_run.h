/* One training run as `nndl train` and `nndl sweep` do it: epochs, the
 * per-epoch report, monitoring, history, early stopping and the schedule. */
#ifndef NNDL_CLI_TRAIN_RUN_H
#define NNDL_CLI_TRAIN_RUN_H

#include <stdio.h>

#include "train_settings.h"

typedef struct train_data {
    const nndl_dataset *training;   /* what SGD runs over */
    const nndl_dataset *evaluation; /* the "Epoch N: c / total" data, or NULL */
    const nndl_dataset *validation; /* for early stopping and the schedule */
} train_data;

/* The datasets a run reads, as loaded from MNIST. */
typedef struct train_datasets {
    nndl_dataset *training, *validation, *test;
} train_datasets;

/* Loads what `s` needs (expanded or cut training data, validation, test);
 * 0 after printing an error as `cmd`. */
int train_datasets_load(const train_settings *s, const char *cmd, train_datasets *ds);
void train_datasets_free(train_datasets *ds);
/* The roles of the loaded sets for a run with settings `s`. */
train_data train_datasets_view(const train_settings *s, const train_datasets *ds);

typedef struct train_result {
    int epochs_run;
    long last_correct, best_correct, total; /* on the evaluation data */
    int best_epoch;
    double seconds_per_epoch;               /* training only */
    float final_eta;
} train_result;

/* Trains `net` as `s` says. Epoch lines go to `out` (NULL: none); the
 * progress bar is drawn if `progress` is set. Returns the exit status: 0,
 * or 1 after printing a one-line error as `cmd`. */
int train_run(const train_settings *s, nndl_net *net, const train_data *d, FILE *out,
              int progress, const char *cmd, train_result *result);

#endif
