#include "train_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const eval_choices[] = {"test", "validation", "none", NULL};
static const char *const cost_choices[] = {"quadratic", "cross-entropy", "log-likelihood", NULL};
static const char *const init_choices[] = {"scaled", "large", "network3", "he", NULL};

train_settings train_settings_default(void)
{
    train_settings s = {0};
    s.input = (nndl_shape){1, 28, 28};
    s.epochs = 30;
    s.batch = 10;
    s.eta = 3.0f;
    s.seed = 1;
    s.eval = EVAL_TEST;
    s.cost = -1;
    s.init = -1;
    s.activation = "sigmoid";
    s.validation = -1;
    return s;
}

void train_options(train_settings *s, cli_option *o)
{
    cli_option table[] = {
        {"--data", OPT_STRING, &s->data, "DIR",
         "labelled images in IDX format instead of MNIST: a directory holding the four files "
         "under MNIST's names (gzip or plain), or the four files comma-separated", 0, 0, NULL},
        {"--validation", OPT_INT, &s->validation, "N",
         "with --data: the last N training images are for validation (default a sixth, at "
         "most 10000); 0 (MNIST too): train on every training image, the validation ones too",
         0, 10000000, NULL},
        {"--sizes", OPT_SIZES, &s->sizes, "N,N,...",
         "layer sizes (default 784,30,10: the data's pixels, 30, its classes)", 0, 0, NULL},
        {"--layers", OPT_STRING, &s->layers, "SPEC",
         "layers instead of sizes: conv:MAPS:K, pool:P, fc:N, softmax:N, comma-separated, "
         "e.g. conv:20:5,pool:2,fc:100,softmax:10 (fc:N:relu, fc:N:dropout=0.5 per layer)", 0,
         0, NULL},
        {"--epochs", OPT_INT, &s->epochs, "N", "epochs of training (default 30)", 1, 1000000,
         NULL},
        {"--batch", OPT_INT, &s->batch, "M", "mini-batch size (default 10)", 1, 1000000, NULL},
        {"--eta", OPT_FLOAT, &s->eta, "ETA", "learning rate (default 3.0)", 1e-30, 1e30, NULL},
        {"--cost", OPT_CHOICE, &s->cost, "",
         "cost function (default quadratic; log-likelihood with softmax:N)", 0, 0,
         cost_choices},
        {"--init", OPT_CHOICE, &s->init, "",
         "weight initialization (default scaled; network3 with --layers)", 0, 0, init_choices},
        {"--activation", OPT_STRING, &s->activation, "A[,A...]",
         "sigmoid, tanh, relu or linear, for all or each hidden layer (default sigmoid)", 0, 0,
         NULL},
        {"--lambda", OPT_FLOAT, &s->lambda, "L", "L2 regularization (default 0)", 0, 1e30,
         NULL},
        {"--l1", OPT_FLOAT, &s->l1, "L", "L1 regularization (default 0)", 0, 1e30, NULL},
        {"--momentum", OPT_FLOAT, &s->momentum, "MU", "momentum coefficient (default 0)", 0,
         0.9999, NULL},
        {"--dropout", OPT_FLOAT, &s->dropout, "P",
         "drop each hidden neuron feeding a fully connected layer with probability P "
         "(default 0)", 0, 0.99, NULL},
        {"--early-stop", OPT_INT, &s->early_stop, "N",
         "stop after N epochs without a better validation accuracy; keep the best weights", 0,
         1000000, NULL},
        {"--eta-schedule", OPT_STRING, &s->eta_schedule, "halve:N:F|steps:E,E,...",
         "halve eta after N epochs without a better validation accuracy, stopping when it "
         "falls to eta/F; or halve it as epochs E, E, ... begin (no validation needed)", 0, 0,
         NULL},
        {"--seed", OPT_U64, &s->seed, "N", "seed for weights, shuffling, dropout (default 1)",
         0, 0, NULL},
        {"--threads", OPT_INT, &s->threads, "N",
         "threads (default 0: all cores, or one in an epoch whose first batches ran faster "
         "on one)", 0, 1024, NULL},
        {"--eval", OPT_CHOICE, &s->eval, "", "data for the accuracy after each epoch "
         "(default test)", 0, 0, eval_choices},
        {"--train-size", OPT_INT, &s->train_size, "N",
         "train on the first N training images (default all)", 1, 10000000, NULL},
        {"--expanded", OPT_FLAG, &s->expanded, "",
         "train on the 250,000 images written by nndl expand", 0, 0, NULL},
        {"--augment", OPT_FLAG, &s->augment, "",
         "random shifts, rotations and elastic distortions each epoch", 0, 0, NULL},
        {"--monitor", OPT_STRING, &s->monitor, "WHAT",
         "all, or some of training-cost,training-accuracy,evaluation-cost,"
         "evaluation-accuracy (all: these four), and gradient-norms", 0, 0, NULL},
        {"--history", OPT_STRING, &s->history, "FILE",
         "write settings and per-epoch results as JSON lines", 0, 0, NULL},
        {"--save", OPT_STRING, &s->save, "FILE", "save the trained network to FILE", 0, 0, NULL},
    };
    _Static_assert(sizeof table / sizeof table[0] == TRAIN_OPTION_COUNT,
                   "TRAIN_OPTION_COUNT must count the options");
    memcpy(o, table, sizeof table);
}

static int parse_activations(train_settings *s, const char *cmd)
{
    int hidden = s->layers ? layer_list_hidden(&s->layer_list) : s->sizes.n - 2;
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", s->activation);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        int act = nndl_activation_parse(tok);
        if (act < 0 || act == NNDL_ACT_SOFTMAX) {
            cli_error(cmd, "--activation: '%s' is not one of sigmoid|tanh|relu|linear", tok);
            return 0;
        }
        if (n == NNDL_MAX_LAYERS) break;
        s->hidden_acts[n++] = (nndl_activation)act;
    }
    if (n == 1)
        for (int l = 1; l < hidden; l++) s->hidden_acts[l] = s->hidden_acts[0];
    else if (n != hidden) {
        cli_error(cmd, "--activation: %d activations given for %d hidden layers", n, hidden);
        return 0;
    }
    return 1;
}

/* steps:E,E,...: the epochs (numbered from 0) at whose start eta halves,
 * in increasing order. */
static int parse_steps(train_settings *s, const char *cmd)
{
    const char *p = s->eta_schedule + strlen("steps:");
    s->n_eta_steps = 0;
    for (;;) {
        char *end;
        long e = strtol(p, &end, 10);
        if (end == p || e < 1 || e > 1000000 || s->n_eta_steps == TRAIN_MAX_ETA_STEPS ||
            (s->n_eta_steps && e <= s->eta_steps[s->n_eta_steps - 1]) ||
            (*end != ',' && *end != 0)) {
            cli_error(cmd, "--eta-schedule: '%s' is not steps:E,E,... (up to %d epochs from "
                           "1 on, each later than the one before, e.g. steps:12,18,22)",
                      s->eta_schedule, TRAIN_MAX_ETA_STEPS);
            return 0;
        }
        s->eta_steps[s->n_eta_steps++] = (int)e;
        if (*end == 0) return 1;
        p = end + 1;
    }
}

static int parse_schedule(train_settings *s, const char *cmd)
{
    if (!s->eta_schedule) return 1;
    if (strncmp(s->eta_schedule, "steps:", 6) == 0) return parse_steps(s, cmd);
    int patience, used = 0;
    double factor;
    if (sscanf(s->eta_schedule, "halve:%d:%lf%n", &patience, &factor, &used) != 2 ||
        s->eta_schedule[used] != 0 || patience < 1 || !(factor >= 2 && factor <= 1e9)) {
        cli_error(cmd, "--eta-schedule: '%s' is not halve:N:F (N >= 1 epochs, F >= 2, "
                       "e.g. halve:10:128) or steps:E,E,...", s->eta_schedule);
        return 0;
    }
    s->halve_after = patience;
    s->halve_factor = factor;
    return 1;
}

static int parse_monitor(train_settings *s, const char *cmd)
{
    static const struct {
        const char *name;
        unsigned flag;
    } names[] = {
        {"training-cost", MONITOR_TRAINING_COST},
        {"training-accuracy", MONITOR_TRAINING_ACCURACY},
        {"evaluation-cost", MONITOR_EVALUATION_COST},
        {"evaluation-accuracy", MONITOR_EVALUATION_ACCURACY},
        {"gradient-norms", MONITOR_GRADIENT_NORMS},
        {"all", 15},
    };
    s->monitor_flags = 0;
    if (!s->monitor) return 1;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", s->monitor);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        unsigned flag = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strcmp(tok, names[i].name) == 0) flag = names[i].flag;
        if (!flag) {
            cli_error(cmd, "--monitor: '%s' is not one of all, training-cost, "
                           "training-accuracy, evaluation-cost, evaluation-accuracy, "
                           "gradient-norms", tok);
            return 0;
        }
        s->monitor_flags |= flag;
    }
    if (s->eval == EVAL_NONE && (s->monitor_flags & (MONITOR_EVALUATION_COST |
                                                     MONITOR_EVALUATION_ACCURACY))) {
        cli_error(cmd, "--monitor: evaluation data is off (--eval none)");
        return 0;
    }
    return 1;
}

/* --sizes or --layers, and the cost that goes with the output layer. */
static int parse_network(train_settings *s, const char *cmd)
{
    if (s->layers && s->sizes.n) {
        cli_error(cmd, "--sizes and --layers: give one of them");
        return 0;
    }
    if (!s->layers) {
        if (!s->sizes.n) {
            s->sizes = (cli_sizes){3, {784, 30, 10}};
            s->sizes_from_data = 1;
        }
        if (s->cost < 0) s->cost = NNDL_COST_QUADRATIC;
        return 1;
    }
    char why[256];
    if (layer_list_parse(s->layers, &s->layer_list, why, sizeof why)) {
        cli_error(cmd, "--layers: %s", why);
        return 0;
    }
    if (s->layer_list.softmax) {
        if (s->cost >= 0 && s->cost != NNDL_COST_LOG_LIKELIHOOD) {
            cli_error(cmd, "--cost %s: softmax:N goes with the log-likelihood cost (use fc:N "
                           "for a sigmoid output)", nndl_cost_name((nndl_cost)s->cost));
            return 0;
        }
        s->cost = NNDL_COST_LOG_LIKELIHOOD;
    } else if (s->cost < 0) {
        s->cost = NNDL_COST_QUADRATIC;
    }
    return 1;
}

/* The --activation list onto the hidden layers that did not name theirs. */
static void fill_layer_activations(train_settings *s)
{
    layer_list *l = &s->layer_list;
    for (int i = 0, hidden = 0; i + 1 < l->n; i++) {
        if (l->v[i].kind == NNDL_LAYER_POOL) continue;
        if (!l->act_given[i]) l->v[i].act = s->hidden_acts[hidden];
        hidden++;
    }
}

int train_settings_finish(train_settings *s, const char *cmd)
{
    if (!parse_network(s, cmd) || !parse_activations(s, cmd) || !parse_schedule(s, cmd) ||
        !parse_monitor(s, cmd))
        return 0;
    if (s->layers) fill_layer_activations(s);
    /* chapter 3's networks start as network2.py's, chapter 6's as network3.py's */
    if (s->init < 0) s->init = s->layers ? NNDL_INIT_NETWORK3 : NNDL_INIT_SCALED;
    if (s->data && s->expanded) {
        cli_error(cmd, "--expanded: the expanded set is MNIST's; with --data, --augment "
                       "distorts the training images instead");
        return 0;
    }
    if (s->validation == 0 && train_needs_validation(s)) {
        cli_error(cmd, "--validation 0: no validation images are left for --eval validation, "
                       "--early-stop or --eta-schedule halve:N:F");
        return 0;
    }
    if (!s->data && s->validation > 0) {
        cli_error(cmd, "--validation: MNIST's split is the book's (10000 images); "
                       "--validation 0 trains on all 60000, other counts are for --data");
        return 0;
    }
    /* MNIST's training images, expanded five times with --expanded */
    int mnist_training = (s->validation == 0 ? 60000 : 50000) * (s->expanded ? 5 : 1);
    if (!s->data && s->train_size > mnist_training) {
        cli_error(cmd, "--train-size: %d is more than the %d training images%s", s->train_size,
                  mnist_training, s->expanded ? " of the expanded set" : "");
        return 0;
    }
    return 1;
}

void train_settings_fit_data(train_settings *s, const nndl_data_info *info)
{
    s->input = (nndl_shape){1, info->rows, info->cols};
    if (s->sizes_from_data) {
        s->sizes.v[0] = info->rows * info->cols;
        s->sizes.v[s->sizes.n - 1] = info->classes;
    }
}

void train_warn_unused_outputs(const train_settings *s, const nndl_data_info *info,
                               const char *cmd)
{
    int n_out = s->layers ? s->layer_list.v[s->layer_list.n - 1].size
                          : s->sizes.v[s->sizes.n - 1];
    if (n_out > 1 && n_out > info->classes)
        fprintf(stderr, "nndl %s: warning: the output layer has %d neurons for %d classes; "
                        "%d of them are never the right answer\n",
                cmd, n_out, info->classes, n_out - info->classes);
}

nndl_net_spec train_net_spec(const train_settings *s)
{
    nndl_net_spec spec = nndl_net_spec_default(s->sizes.n, s->sizes.v);
    spec.cost = (nndl_cost)s->cost;
    spec.init = (nndl_init)s->init;
    spec.hidden_acts = s->hidden_acts;
    spec.act = s->hidden_acts[0];
    spec.seed = s->seed;
    if (s->layers) {
        spec.layers = s->layer_list.v;
        spec.n_layers = s->layer_list.n;
        spec.input = s->input;
    }
    return spec;
}

void train_settings_network(const train_settings *s, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = 0;
    if (!s->layers) {
        for (int i = 0; i < s->sizes.n && used < cap; i++)
            used += (size_t)snprintf(out + used, cap - used, "%s%d", i ? "," : "", s->sizes.v[i]);
        return;
    }
    for (int i = 0; i < s->layer_list.n && used < cap; i++) {
        char item[96];
        nndl_layer_spec_format(&s->layer_list.v[i], i + 1 == s->layer_list.n, item, sizeof item);
        used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "," : "", item);
    }
}

nndl_sgd_config train_sgd_config(const train_settings *s)
{
    nndl_sgd_config c = nndl_sgd_config_default(s->batch, s->eta);
    c.seed = s->seed;
    c.lambda = s->lambda;
    c.lambda_l1 = s->l1;
    c.momentum = s->momentum;
    c.dropout = s->dropout;
    return c;
}

int train_needs_validation(const train_settings *s)
{
    return s->eval == EVAL_VALIDATION || s->early_stop > 0 || s->halve_after > 0;
}
