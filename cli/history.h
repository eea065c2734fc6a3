/* --history FILE: a JSON-lines record of a training run. The first line is
 * {"nndl": VERSION, "run": LABEL, "settings": {...}} ("run" only when the
 * run has a label, as in sweeps); then one object per epoch with the
 * keys that were measured: epoch, eta, seconds, threads (those that
 * trained the epoch: see nndl_net_set_threads), evaluation_data,
 * evaluation_correct, evaluation_total, evaluation_accuracy,
 * evaluation_cost, training_correct, training_total, training_accuracy,
 * training_cost, validation_accuracy, and with --monitor gradient-norms
 * speeds and weight_gradient_norms: per layer, 1 to L, ||dC/db^l|| and
 * ||dC/dw^l|| (null for a layer without parameters). Accuracies are
 * fractions. Epoch -1, the start, is recorded only for the gradient norms. */
#ifndef NNDL_CLI_HISTORY_H
#define NNDL_CLI_HISTORY_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "train_settings.h"

/* The settings as the JSON object of the first line ("sizes", "epochs",
 * "eta", ...; the seed as a string), which model files also record. The
 * caller frees it with cJSON_Delete. */
cJSON *history_settings_json(const train_settings *s);

/* Creates FILE (or empties it) and writes the settings line; NULL after
 * printing an error. The file stays locked (fcntl) until history_close:
 * another run asking for it is refused. */
FILE *history_open(const char *path, const train_settings *s, const char *cmd);

/* Reopens the history of a run continued from a checkpoint, cut back to the
 * `bytes` it held when the checkpoint was written, for appending. */
FILE *history_resume(const char *path, long bytes, const char *cmd);

/* One epoch's measurements; negative values were not measured. */
typedef struct epoch_record {
    int epoch;
    double eta, seconds;
    int threads; /* 0: not recorded */
    const char *evaluation_data;
    long evaluation_correct, evaluation_total;
    double evaluation_cost;
    long training_correct, training_total;
    double training_cost;
    double validation_accuracy;
    int n_gradients;                   /* layers measured, 0 when not */
    double speeds[NNDL_MAX_LAYERS];    /* ||dC/db^l|| of layer l + 1; NaN: none */
    double weight_norms[NNDL_MAX_LAYERS];
} epoch_record;

epoch_record epoch_record_empty(int epoch);

/* Appends one line; 0 after printing an error naming `path`. */
int history_write(FILE *f, const char *path, const epoch_record *r, const char *cmd);

/* Closes the file; 0 after printing an error if writing failed. */
int history_close(FILE *f, const char *path, const char *cmd);

#endif
