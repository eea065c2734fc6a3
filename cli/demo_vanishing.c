/* nndl demo vanishing: chapter 5's vanishing gradient, measured.
 *
 * The book trains sigmoid networks [784,30,30,10], [784,30,30,30,10] and
 * [784,30,30,30,30,10] (cross-entropy cost, weights N(0, 1/n_in), biases
 * N(0, 1)) on the first 1,000 training images, full batch, eta 0.1,
 * lambda 5.0, for 500 epochs, and watches the speed of learning of each
 * hidden layer l: ||dC/db^l||, the length of the gradient of the cost with
 * respect to the layer's biases, averaged over the 1,000 images. Each layer
 * learns several times faster than the one below it: in a product of
 * factors w sigma'(z), each usually under 1/4 in size (sigma'(z) <= 1/4),
 * the early layers' gradients have the most factors (BP2).
 *
 * --compare trains each network again with other activations and
 * initializations, to show what helps.
 *
 * --history FILE writes JSON lines grouped by their "run" key: a header
 * {"run", "settings"} per network, then one line per epoch {"run", "epoch",
 * "speeds", "training_cost"}, "speeds" holding the hidden layers' speeds in
 * order. As in every history file, epoch -1 is the start and epoch N the
 * state after N + 1 epochs. --json prints one object per network:
 * {"sizes", "activation", "init", "epochs", "speeds", "training_cost",
 * "validation_accuracy"}, where "epochs" counts the epochs of training
 * done: 0 is the start. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "demos.h"
#include "model/atomic_file.h"

enum { MAX_HIDDEN = 8, MAX_DEPTHS = 8, N_COMPARED = 4, MAX_RUNS = MAX_DEPTHS * N_COMPARED };

typedef struct variant {
    nndl_activation act;
    nndl_init init;
    const char *name;
} variant;

/* The book's networks first; then what chapters 3 and 6 offer instead. */
static const variant variants[N_COMPARED] = {
    {NNDL_ACT_SIGMOID, NNDL_INIT_SCALED, "sigmoid, weights N(0,1/n_in) (the book's)"},
    {NNDL_ACT_SIGMOID, NNDL_INIT_LARGE, "sigmoid, weights N(0,1)"},
    {NNDL_ACT_TANH, NNDL_INIT_SCALED, "tanh, weights N(0,1/n_in)"},
    {NNDL_ACT_RELU, NNDL_INIT_HE, "ReLU, weights N(0,2/n_in), biases 0"},
};

/* The starting speeds of the book's figures, for 2, 3 and 4 hidden layers. */
static const double book_speeds[3][4] = {
    {0.0657, 0.3092}, {0.0118, 0.0600, 0.2831}, {0.0030, 0.0171, 0.0695, 0.2851}};

typedef struct settings {
    int depths[MAX_DEPTHS], n_depths;
    int epochs, every, train_size, batch, threads, json, compare;
    float eta, lambda;
    uint64_t seed;
    int act, init; /* -1: the book's, or every variant with --compare */
} settings;

typedef struct vanishing_run {
    int hidden;
    variant v;
    int sizes[MAX_HIDDEN + 2];
    char name[160];
    double *speeds; /* (epochs + 1) x hidden: the start, then after each epoch */
    double *cost;   /* epochs + 1 */
    double accuracy;
} vanishing_run;

typedef struct vanishing {
    const settings *s;
    vanishing_run runs[MAX_RUNS];
    int n_runs;
} vanishing;

static void describe_sizes(const int *sizes, int n, char *out, size_t cap)
{
    size_t used = (size_t)snprintf(out, cap, "[");
    for (int i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%d", i ? "," : "", sizes[i]);
    if (used < cap) snprintf(out + used, cap - used, "]");
}

/* Records the speeds and the training cost of `net` now, as point `e`. */
static nndl_status measure(nndl_net *net, const nndl_dataset *train, const settings *s,
                           vanishing_run *r, int e, nndl_error *err)
{
    double bias_norms[MAX_HIDDEN + 2];
    nndl_status st = nndl_net_gradient_norms(net, train, 0, nndl_dataset_count(train), NULL,
                                             bias_norms, err);
    if (st == NNDL_OK) st = nndl_net_total_cost(net, train, s->lambda, 0, &r->cost[e], err);
    for (int l = 0; st == NNDL_OK && l < r->hidden; l++)
        r->speeds[(size_t)e * r->hidden + l] = bias_norms[l + 1];
    return st;
}

/* Trains one network, recording every epoch. */
static nndl_status run_one(vanishing_run *r, const settings *s, const nndl_dataset *train,
                           const nndl_dataset *validation, nndl_error *err)
{
    nndl_net_spec spec = nndl_net_spec_default(r->hidden + 2, r->sizes);
    spec.cost = NNDL_COST_CROSS_ENTROPY;
    spec.act = r->v.act;
    spec.init = r->v.init;
    spec.seed = s->seed;
    nndl_net *net = nndl_net_create(&spec, err);
    if (!net) return err->status;
    nndl_net_set_threads(net, s->threads);
    /* By default one mini-batch of all the images: an epoch is one step. */
    nndl_sgd_config sgd = nndl_sgd_config_default(s->batch, s->eta);
    sgd.lambda = s->lambda;
    sgd.seed = s->seed;
    nndl_trainer *trainer = nndl_trainer_create(net, &sgd, err);
    nndl_status st = trainer ? measure(net, train, s, r, 0, err) : err->status;
    for (int e = 1; st == NNDL_OK && e <= s->epochs; e++) {
        st = nndl_trainer_epoch(trainer, train, NULL, NULL, err);
        if (st == NNDL_ERR_DIVERGED)
            snprintf(err->message, sizeof err->message,
                     "%s: training diverged in epoch %d; try a smaller --eta than %g", r->name,
                     e - 1, (double)s->eta);
        if (st == NNDL_OK) st = measure(net, train, s, r, e, err);
    }
    size_t correct = 0;
    if (st == NNDL_OK) st = nndl_net_evaluate(net, validation, &correct, err);
    r->accuracy = (double)correct / (double)nndl_dataset_count(validation);
    nndl_trainer_free(trainer);
    nndl_net_free(net);
    return st;
}

/* The runs the settings ask for: each depth with the book's variant (or the
 * one chosen), and with --compare every variant. */
static int plan_runs(vanishing *vn, const settings *s)
{
    for (int d = 0; d < s->n_depths; d++)
        for (int k = 0; k < N_COMPARED; k++) {
            if (k > 0 && !s->compare) break;
            variant v = variants[k];
            if (!s->compare) {
                if (s->act >= 0) v.act = (nndl_activation)s->act;
                if (s->init >= 0) v.init = (nndl_init)s->init;
                if (s->act >= 0 || s->init >= 0) v.name = NULL;
            }
            vanishing_run *r = &vn->runs[vn->n_runs++];
            memset(r, 0, sizeof *r);
            r->hidden = s->depths[d];
            r->v = v;
            r->sizes[0] = 784;
            for (int l = 1; l <= r->hidden; l++) r->sizes[l] = 30;
            r->sizes[r->hidden + 1] = 10;
            char sizes[64];
            describe_sizes(r->sizes, r->hidden + 2, sizes, sizeof sizes);
            if (v.name)
                snprintf(r->name, sizeof r->name, "%s, %s", sizes, v.name);
            else
                snprintf(r->name, sizeof r->name, "%s, %s, %s initialization", sizes,
                         nndl_activation_name(v.act), nndl_init_name(v.init));
            size_t points = (size_t)s->epochs + 1;
            r->speeds = calloc(points * (size_t)r->hidden, sizeof *r->speeds);
            r->cost = calloc(points, sizeof *r->cost);
            if (!r->speeds || !r->cost) return 0;
        }
    return 1;
}

static void vanishing_free(vanishing *vn)
{
    for (int i = 0; i < vn->n_runs; i++) {
        free(vn->runs[i].speeds);
        free(vn->runs[i].cost);
    }
}

/* ---- What it prints ------------------------------------------------------ */

static const double *speeds_at(const vanishing_run *r, int e)
{
    return r->speeds + (size_t)e * r->hidden;
}

/* How many times faster the last hidden layer learns than the first. */
static double spread(const vanishing_run *r, int e)
{
    const double *v = speeds_at(r, e);
    return v[r->hidden - 1] / v[0];
}

/* Four decimals as the book prints them, or three digits when that shows
 * nothing but zeros. */
static void print_speed(double v)
{
    if (v != 0 && fabs(v) < 0.001)
        printf(" %9.2e", v);
    else
        printf(" %9.4f", v);
}

static void print_row(const vanishing_run *r, const char *label, const double *speeds,
                      const double *cost)
{
    printf("%8s", label);
    for (int l = 0; l < r->hidden; l++) print_speed(speeds[l]);
    if (cost) printf(" %9.4f", *cost);
    printf("\n");
}

static void print_run(const vanishing_run *r, const settings *s)
{
    printf("\n%s\n%8s", r->name, "epochs");
    for (int l = 1; l <= r->hidden; l++) printf("   layer %d", l);
    printf(" %9s\n", "cost");
    char label[16];
    for (int e = 0; e <= s->epochs; e++) {
        if (e != 0 && e != s->epochs && e % s->every != 0) continue;
        snprintf(label, sizeof label, "%d", e);
        print_row(r, e ? label : "start", speeds_at(r, e), &r->cost[e]);
        int book = r->hidden - 2;
        if (e == 0 && r->v.act == NNDL_ACT_SIGMOID && r->v.init == NNDL_INIT_SCALED &&
            book >= 0 && book < 3)
            print_row(r, "book", book_speeds[book], NULL);
    }
    printf("layer %d learns %.1fx as fast as layer 1 at the start", r->hidden, spread(r, 0));
    if (s->epochs) printf(", %.1fx after %d epochs", spread(r, s->epochs), s->epochs);
    printf("; validation accuracy %.2f%%\n", 100 * r->accuracy);
}

static void print_comparison(const vanishing *vn)
{
    const settings *s = vn->s;
    printf("\nWhat helps: how many times faster the last hidden layer learns than the first\n"
           "(1.0 = every layer alike), and the accuracy on the 10,000 validation images\n");
    printf("%-21s %-42s %6s %6s %9s\n", "network", "hidden layers", "start", "end",
           "accuracy");
    for (int i = 0; i < vn->n_runs; i++) {
        const vanishing_run *r = &vn->runs[i];
        char sizes[64];
        describe_sizes(r->sizes, r->hidden + 2, sizes, sizeof sizes);
        printf("%-21s %-42s %6.1f %6.1f %8.2f%%\n", i % N_COMPARED ? "" : sizes, r->v.name,
               spread(r, 0), spread(r, s->epochs), 100 * r->accuracy);
    }
}

static void print_tables(const vanishing *vn)
{
    const settings *s = vn->s;
    printf("Vanishing gradient (chapter 5): hidden layers of 30 neurons, sigmoid output,\n"
           "cross-entropy cost, the first %d training images as one mini-batch, eta %g,\n"
           "lambda %g, %d epochs, seed %llu. The speed of learning of hidden layer l is\n"
           "||dC/db^l||, the gradient averaged over the %d images; the book's starting\n"
           "speeds came from other random weights.\n",
           s->train_size, (double)s->eta, (double)s->lambda, s->epochs,
           (unsigned long long)s->seed, s->train_size);
    for (int i = 0; i < vn->n_runs; i++) print_run(&vn->runs[i], s);
    if (s->compare) print_comparison(vn);
}

/* ---- JSON ------------------------------------------------------------------ */

static cJSON *number_array(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

static cJSON *sizes_json(const vanishing_run *r)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < r->hidden + 2; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(r->sizes[i]));
    return a;
}

static cJSON *run_json(const vanishing_run *r, const settings *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "sizes", sizes_json(r));
    cJSON_AddStringToObject(o, "activation", nndl_activation_name(r->v.act));
    cJSON_AddStringToObject(o, "init", nndl_init_name(r->v.init));
    cJSON *epochs = cJSON_AddArrayToObject(o, "epochs");
    cJSON *speeds = cJSON_AddArrayToObject(o, "speeds");
    for (int e = 0; e <= s->epochs; e++) {
        cJSON_AddItemToArray(epochs, cJSON_CreateNumber(e));
        cJSON_AddItemToArray(speeds, number_array(speeds_at(r, e), r->hidden));
    }
    cJSON_AddItemToObject(o, "training_cost", number_array(r->cost, s->epochs + 1));
    cJSON_AddNumberToObject(o, "validation_accuracy", r->accuracy);
    return o;
}

/* atomic_write_fn: every run's header and epochs. */
static int write_history(FILE *f, const void *ctx)
{
    const vanishing *vn = ctx;
    const settings *s = vn->s;
    for (int i = 0; i < vn->n_runs; i++) {
        const vanishing_run *r = &vn->runs[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "run", r->name);
        cJSON *set = cJSON_AddObjectToObject(o, "settings");
        cJSON_AddItemToObject(set, "sizes", sizes_json(r));
        cJSON_AddStringToObject(set, "activation", nndl_activation_name(r->v.act));
        cJSON_AddStringToObject(set, "init", nndl_init_name(r->v.init));
        cJSON_AddStringToObject(set, "cost", nndl_cost_name(NNDL_COST_CROSS_ENTROPY));
        cJSON_AddNumberToObject(set, "eta", s->eta);
        cJSON_AddNumberToObject(set, "lambda", s->lambda);
        cJSON_AddNumberToObject(set, "batch", s->batch);
        cJSON_AddNumberToObject(set, "train_size", s->train_size);
        cJSON_AddNumberToObject(set, "epochs", s->epochs);
        char seed[32];
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)s->seed);
        cJSON_AddStringToObject(set, "seed", seed);
        if (demo_json_line(f, o) != 0) return -1;
        for (int e = 0; e <= s->epochs; e++) {
            o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "run", r->name);
            cJSON_AddNumberToObject(o, "epoch", e - 1);
            cJSON_AddItemToObject(o, "speeds", number_array(speeds_at(r, e), r->hidden));
            cJSON_AddNumberToObject(o, "training_cost", r->cost[e]);
            if (demo_json_line(f, o) != 0) return -1;
        }
    }
    return 0;
}

/* ---- The command ------------------------------------------------------------ */

/* "2,3,4" into s->depths; 0 after printing an error. */
static int parse_depths(settings *s, const char *text)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", text);
    s->n_depths = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *end;
        errno = 0;
        long d = strtol(tok, &end, 10);
        if (errno || *end || end == tok || d < 1 || d > MAX_HIDDEN || s->n_depths == MAX_DEPTHS) {
            cli_error("demo vanishing",
                      "--hidden-layers: '%s' is not a list of 1 to %d numbers from 1 to %d "
                      "(e.g. 2,3,4)", text, MAX_DEPTHS, MAX_HIDDEN);
            return 0;
        }
        s->depths[s->n_depths++] = (int)d;
    }
    if (s->n_depths == 0) {
        cli_error("demo vanishing", "--hidden-layers: empty list (e.g. 2,3,4)");
        return 0;
    }
    return 1;
}

static int parse_choice(const char *flag, const char *text, int (*parse)(const char *),
                        const char *known, int *out)
{
    if (!text) return 1;
    int v = parse(text);
    if (v < 0 || (parse == nndl_activation_parse && v == NNDL_ACT_SOFTMAX)) {
        cli_error("demo vanishing", "%s: '%s' is not one of %s", flag, text, known);
        return 0;
    }
    *out = v;
    return 1;
}

int demo_vanishing(int argc, char **argv)
{
    settings s = {.epochs = 500, .train_size = 1000, .eta = 0.1f, .lambda = 5.0f, .seed = 1,
                  .act = -1, .init = -1};
    const char *depths = "2,3,4", *history = NULL, *act = NULL, *init = NULL;
    cli_option options[] = {
        {"--hidden-layers", OPT_STRING, &depths, "N[,N...]",
         "hidden layers of 30 neurons; a list runs each (default 2,3,4)", 0, 0, NULL},
        {"--epochs", OPT_INT, &s.epochs, "N", "epochs of each run (default 500)", 0, 1000000,
         NULL},
        {"--every", OPT_INT, &s.every, "N", "a table row every N epochs (default epochs/10)", 1,
         1000000, NULL},
        {"--activation", OPT_STRING, &act, "A",
         "hidden layers' activation: sigmoid (default), tanh, relu, linear", 0, 0, NULL},
        {"--init", OPT_STRING, &init, "I",
         "initialization: scaled (default), large, network3, he", 0, 0, NULL},
        {"--compare", OPT_FLAG, &s.compare, "",
         "also train each network with N(0,1) weights, tanh, and ReLU: what helps", 0, 0,
         NULL},
        {"--eta", OPT_FLOAT, &s.eta, "ETA", "learning rate (default 0.1)", 1e-9, 1e6, NULL},
        {"--lambda", OPT_FLOAT, &s.lambda, "L", "L2 regularization (default 5.0)", 0, 1e6,
         NULL},
        {"--train-size", OPT_INT, &s.train_size, "N",
         "the first N training images, one mini-batch (default 1000)", 1, 50000, NULL},
        {"--batch", OPT_INT, &s.batch, "M",
         "mini-batch size (default: the whole training set)", 1, 50000, NULL},
        {"--seed", OPT_U64, &s.seed, "N", "seed of the initial weights and shuffling "
         "(default 1)", 0, 0,
         NULL},
        {"--threads", OPT_INT, &s.threads, "N", "threads (default 0: all cores)", 0, 1024, NULL},
        {"--history", OPT_STRING, &history, "FILE",
         "write every epoch of every run to FILE as JSON lines", 0, 0, NULL},
        {"--json", OPT_FLAG, &s.json, "", "print the speeds as JSON, one line per network", 0, 0,
         NULL},
    };
    cli_command cmd = {"demo vanishing", "",
                       "Chapter 5's vanishing gradient: trains deep sigmoid networks on 1,000\n"
                       "images and prints each hidden layer's speed of learning, ||dC/db^l||,\n"
                       "at the start and as training goes on.",
                       options, (int)(sizeof options / sizeof options[0]), 0, 0};
    int n_pos, rc = cli_parse(&cmd, argc, argv, NULL, &n_pos);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;
    if (!parse_depths(&s, depths) ||
        !parse_choice("--activation", act, nndl_activation_parse, "sigmoid, tanh, relu, linear",
                      &s.act) ||
        !parse_choice("--init", init, nndl_init_parse, "scaled, large, network3, he", &s.init))
        return 2;
    if (s.compare && (act || init)) {
        cli_error("demo vanishing", "--compare runs its own activations and initializations: "
                                    "drop --activation and --init");
        return 2;
    }
    if (!s.batch || s.batch > s.train_size) s.batch = s.train_size;
    if (!s.every) s.every = s.epochs >= 10 ? s.epochs / 10 : 1;

    nndl_dataset *train = NULL, *validation = NULL;
    if (!load_mnist("demo vanishing", &train, &validation, NULL)) return 1;
    nndl_error err;
    int status = 0;
    nndl_dataset *rest = nndl_dataset_split_off(train, (size_t)s.train_size, &err);
    vanishing vn = {.s = &s};
    if (!rest) {
        status = cli_fail("demo vanishing", &err);
    } else if (!plan_runs(&vn, &s)) {
        cli_error("demo vanishing", "out of memory for %d epochs", s.epochs);
        status = 1;
    }
    for (int i = 0; i < vn.n_runs && !status; i++)
        if (run_one(&vn.runs[i], &s, train, validation, &err) != NNDL_OK)
            status = cli_fail("demo vanishing", &err);
    if (!status && history &&
        atomic_file_write(history, "history file", write_history, &vn, &err) != NNDL_OK)
        status = cli_fail("demo vanishing", &err);
    if (!status && s.json) {
        for (int i = 0; i < vn.n_runs && !status; i++)
            if (demo_json_line(stdout, run_json(&vn.runs[i], &s)) != 0) {
                cli_error("demo vanishing", "cannot write the JSON: %s", strerror(errno));
                status = 1;
            }
    } else if (!status) {
        print_tables(&vn);
    }
    vanishing_free(&vn);
    nndl_dataset_free(rest);
    nndl_dataset_free(train);
    nndl_dataset_free(validation);
    return status;
}
