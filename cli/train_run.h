/* One training run as `nndl train` and `nndl sweep` do it: epochs, the
 * per-epoch report, monitoring, history, early stopping and the schedule. */
#ifndef NNDL_CLI_TRAIN_RUN_H
#define NNDL_CLI_TRAIN_RUN_H

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>

#include "data_source.h"
#include "train_settings.h"

typedef struct train_data {
    const nndl_dataset *training;   /* what SGD runs over */
    const nndl_dataset *evaluation; /* the "Epoch N: c / total" data, or NULL */
    const nndl_dataset *validation; /* for early stopping and the schedule */
} train_data;

/* The datasets a run reads, as loaded from MNIST or --data. */
typedef struct train_datasets {
    nndl_dataset *training, *validation, *test;
    data_source source; /* where they came from, and their shape and classes */
} train_datasets;

/* Loads what `s` needs (expanded or cut training data, validation, test);
 * says what it loaded when it is not MNIST; 0 after printing an error as
 * `cmd`. */
int train_datasets_load(const train_settings *s, const char *cmd, train_datasets *ds);
void train_datasets_free(train_datasets *ds);
/* The roles of the loaded sets for a run with settings `s`. */
train_data train_datasets_view(const train_settings *s, const train_datasets *ds);

typedef struct train_result {
    int epochs_run;                         /* in all, those before a --resume too */
    int first_epoch;                        /* where this process began: 0, or after a --resume */
    long last_correct, best_correct, total; /* on the evaluation data */
    int best_epoch;
    double seconds_per_epoch;               /* training only */
    float final_eta;
} train_result;

/* Checkpoints of a run (nndl train --checkpoint and --resume). */
typedef struct train_checkpoints {
    const char *path;         /* written after every epoch, or NULL */
    const cJSON *args;        /* the run's options (a JSON array of strings), kept in
                                 each checkpoint's note to rebuild the settings */
    const char *resume_path;  /* the checkpoint to continue from, or NULL */
    const cJSON *resume_note; /* its note */
} train_checkpoints;

/* Reads the settings of the run checkpoint `path` holds (its note keeps the
 * options it was started with) into `s`, and the note into `note` (the
 * caller frees it with cJSON_Delete). 0 after printing an error as `cmd`. */
int checkpoint_settings(const char *path, train_settings *s, cJSON **note, const char *cmd);

/* The network checkpoint `path` holds, rebuilt from the settings `s` that
 * checkpoint_settings read, with its weights and trainer state restored
 * (which checks them); *eta, when not NULL, the learning rate the run had
 * reached. NULL after printing an error as `cmd`. */
nndl_net *checkpoint_network(const char *path, const train_settings *s, float *eta,
                             const char *cmd);

/* Whether every field of a checkpoint's note is of its type and within its
 * range (epochs_done from 1, counts of correct images up to the total, a
 * positive learning rate, ...); 1, or 0 after printing which is not. */
int checkpoint_note_check(const cJSON *note, const char *path, const char *cmd);

/* Set to the signal's number by nndl train's SIGINT and SIGTERM handler: a
 * run with checkpoints writes one after the epoch it is in, and stops. */
extern volatile sig_atomic_t train_stop_signal;

/* Trains `net` as `s` says. Epoch lines go to `out` (NULL: none); the
 * progress bar is drawn if `progress` is set. `ck` (or NULL) asks for
 * checkpoints and for continuing from one. Returns the exit status: 0; 1
 * after printing a one-line error as `cmd`; 128 + the signal's number when
 * a signal stopped the run after writing its checkpoint. */
int train_run(const train_settings *s, nndl_net *net, const train_data *d, FILE *out,
              int progress, const char *cmd, train_result *result,
              const train_checkpoints *ck);

#endif
