/* Everything `nndl train` can be told, shared with `nndl sweep`: the option
 * table, checks that need several options at once, and the library specs
 * built from them. */
#ifndef NNDL_CLI_TRAIN_SETTINGS_H
#define NNDL_CLI_TRAIN_SETTINGS_H

#include <stdint.h>

#include "args.h"
#include "layer_spec.h"
#include "nndl.h"

enum { EVAL_TEST, EVAL_VALIDATION, EVAL_NONE };

/* What --monitor can ask for: network2.py's four monitor flags ("all"),
 * and each layer's gradient norms (chapter 5's speed of learning). */
enum {
    MONITOR_TRAINING_COST = 1,
    MONITOR_TRAINING_ACCURACY = 2,
    MONITOR_EVALUATION_COST = 4,
    MONITOR_EVALUATION_ACCURACY = 8,
    MONITOR_GRADIENT_NORMS = 16
};

enum { TRAIN_MAX_ETA_STEPS = 32 };

typedef struct train_settings {
    const char *data;       /* --data, or NULL for MNIST */
    int validation;         /* --validation N, or -1 */
    cli_sizes sizes;        /* n = 0 until given or defaulted by finish */
    int sizes_from_data;    /* the default sizes: input and output fit to the data */
    const char *layers;     /* --layers SPEC, or NULL for --sizes */
    nndl_shape input;       /* of the data, for --layers (default 1x28x28) */
    int epochs, batch, threads, eval, train_size;
    float eta, lambda, l1, momentum, dropout;
    int cost, init;         /* -1 until given or defaulted by finish */
    const char *activation; /* "relu" or one per hidden layer "tanh,relu" */
    uint64_t seed;
    int early_stop;
    const char *eta_schedule; /* "halve:N:F" or "steps:E,E,..." */
    const char *monitor;      /* comma list, or "all" */
    const char *history, *save;
    int expanded, augment;    /* 0 or 1 */
    const char *run_label;    /* names the run in its history (sweeps) */

    /* Derived by train_settings_finish. */
    nndl_activation hidden_acts[NNDL_MAX_LAYERS];
    layer_list layer_list;  /* --layers, activations filled in */
    int halve_after;          /* halve:N:F */
    double halve_factor;
    int eta_steps[TRAIN_MAX_ETA_STEPS]; /* steps:E,E,...: epochs that halve eta, rising */
    int n_eta_steps;
    unsigned monitor_flags;
} train_settings;

/* The defaults of `nndl train`. */
train_settings train_settings_default(void);

enum { TRAIN_OPTION_COUNT = 25 };

/* Fills `options` (TRAIN_OPTION_COUNT entries) for parsing into `s`. */
void train_options(train_settings *s, cli_option *options);

/* Checks and derives what single options cannot: --sizes or --layers
 * (and the default network), the cost that goes with a softmax layer, the
 * activation list against the hidden layers, the schedule, the monitor
 * list. Prints the error as `cmd` and returns 0 on failure. */
int train_settings_finish(train_settings *s, const char *cmd);

/* The network's spec; with --layers it points into `s`. */
/* The input's shape from the data, and with the default sizes their first
 * and last layers: the data's pixels and classes. */
void train_settings_fit_data(train_settings *s, const nndl_data_info *info);

/* A warning on stderr when the network `s` describes has more outputs than
 * the data has classes (labels 0 to classes - 1). */
void train_warn_unused_outputs(const train_settings *s, const nndl_data_info *info,
                               const char *cmd);

nndl_net_spec train_net_spec(const train_settings *s);

/* The network as --layers would spell it, or "784,30,10" for --sizes. */
void train_settings_network(const train_settings *s, char *out, size_t cap);
nndl_sgd_config train_sgd_config(const train_settings *s);

/* Whether the run needs the validation set (evaluation, early stopping or
 * the learning-rate schedule). */
int train_needs_validation(const train_settings *s);

#endif
