/* nndl demo slowdown: the learning slowdown that opens chapter 3. One sigmoid neuron
 * with input 1 learns to output 0 by gradient descent (eta 0.15), starting
 * from (w, b) = (0.6, 0.9) and from (2.0, 2.0), once with the quadratic cost
 * and once with the cross-entropy cost. From (2, 2) the neuron starts
 * saturated (output 0.98): with the quadratic cost the gradient carries the
 * factor sigma'(z) (eq. 55, 56) and learning barely starts; with
 * cross-entropy sigma'(z) cancels (eq. 61) and it learns fastest exactly
 * when it is most wrong.
 *
 * --history FILE writes JSON lines, grouped by their "run" key: for each
 * run a header {"run": NAME, "settings": {cost, w, b, eta, epochs}}, then
 * one line per point {"run", "epoch", "training_cost", "output", "w", "b"}.
 * Epoch -1 is the starting point and epoch N the state after N + 1 epochs,
 * the numbering of training histories (network.py counts epochs from 0):
 * with --epochs 300 a run has 301 points, epochs -1 to 299. The file is
 * written whole under a temporary name and renamed, or not at all. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "demos.h"
#include "model/atomic_file.h"

enum { N_RUNS = 4 };

static const double ETA = 0.15; /* the book's learning rate for this figure */

typedef struct point {
    double cost, output, w, b;
} point;

typedef struct slowdown_run {
    nndl_cost cost;
    double w0, b0;
    char name[64];
    point *points; /* epochs + 1: the start, then after each epoch */
} slowdown_run;

typedef struct slowdown {
    int epochs;
    slowdown_run runs[N_RUNS];
} slowdown;

/* Cost on the one example, output, weight and bias of `net` now. */
static nndl_status measure(nndl_net *net, const nndl_dataset *ds, point *p, nndl_error *err)
{
    const float input = 1.0f;
    float output;
    nndl_status st = nndl_net_total_cost(net, ds, 0, 0, &p->cost, err);
    if (st == NNDL_OK) st = nndl_net_feedforward(net, &input, 1, &output, err);
    if (st != NNDL_OK) return st;
    const float *params = nndl_net_params_const(net); /* w^1 (1 x 1), then b^1 */
    p->output = output;
    p->w = params[0];
    p->b = params[1];
    return NNDL_OK;
}

/* Trains the neuron of `r` for `epochs` epochs on `ds`, filling r->points. */
static nndl_status run_one(slowdown_run *r, int epochs, const nndl_dataset *ds, nndl_error *err)
{
    static const int sizes[] = {1, 1};
    nndl_net_spec spec = nndl_net_spec_default(2, sizes);
    spec.cost = r->cost;
    nndl_net *net = nndl_net_create(&spec, err);
    if (!net) return err->status;
    nndl_net_set_threads(net, 1);
    float *params = nndl_net_params(net);
    params[0] = (float)r->w0;
    params[1] = (float)r->b0;
    nndl_sgd_config sgd = nndl_sgd_config_default(1, (float)ETA);
    nndl_trainer *trainer = nndl_trainer_create(net, &sgd, err);
    nndl_status st = trainer ? measure(net, ds, &r->points[0], err) : err->status;
    for (int e = 1; st == NNDL_OK && e <= epochs; e++) {
        st = nndl_trainer_epoch(trainer, ds, NULL, NULL, err);
        if (st == NNDL_OK) st = measure(net, ds, &r->points[e], err);
    }
    nndl_trainer_free(trainer);
    nndl_net_free(net);
    return st;
}

/* The four runs; on failure `err` says why and s->runs may be partly set. */
static nndl_status slowdown_run_all(slowdown *s, nndl_error *err)
{
    /* One image of one pixel: 255 is 1.0 to the network. Label 0 is the
     * target of the single output neuron (nndl.h, "Labels and targets"). */
    nndl_dataset *ds = nndl_dataset_create(1, 1, 1, err);
    if (!ds) return err->status;
    nndl_dataset_image_mut(ds, 0)[0] = 255;
    nndl_dataset_labels_mut(ds)[0] = 0;
    static const struct {
        nndl_cost cost;
        double w, b;
    } starts[N_RUNS] = {{NNDL_COST_QUADRATIC, 0.6, 0.9},
                        {NNDL_COST_QUADRATIC, 2.0, 2.0},
                        {NNDL_COST_CROSS_ENTROPY, 0.6, 0.9},
                        {NNDL_COST_CROSS_ENTROPY, 2.0, 2.0}};
    nndl_status st = NNDL_OK;
    for (int i = 0; i < N_RUNS && st == NNDL_OK; i++) {
        slowdown_run *r = &s->runs[i];
        r->cost = starts[i].cost;
        r->w0 = starts[i].w;
        r->b0 = starts[i].b;
        snprintf(r->name, sizeof r->name, "%s, w=%.1f, b=%.1f", nndl_cost_name(r->cost), r->w0,
                 r->b0);
        r->points = calloc((size_t)s->epochs + 1, sizeof *r->points);
        if (!r->points) {
            snprintf(err->message, sizeof err->message, "out of memory for %d epochs",
                     s->epochs);
            st = err->status = NNDL_ERR_NOMEM;
        } else {
            st = run_one(r, s->epochs, ds, err);
        }
    }
    nndl_dataset_free(ds);
    return st;
}

static void slowdown_free(slowdown *s)
{
    for (int i = 0; i < N_RUNS; i++) free(s->runs[i].points);
}

/* The table: the cost at the start and after a few epochs, the final output. */
static void print_table(const slowdown *s)
{
    static const int marks[] = {10, 50, 100};
    int cols[5], n_cols = 0;
    cols[n_cols++] = 0;
    for (int i = 0; i < 3; i++)
        if (marks[i] < s->epochs) cols[n_cols++] = marks[i];
    cols[n_cols++] = s->epochs;

    printf("Learning slowdown (chapter 3): one sigmoid neuron, input 1, target 0, eta %g\n",
           ETA);
    printf("%-28s", "cost after epochs:");
    for (int c = 0; c < n_cols; c++)
        if (cols[c])
            printf(" %8d", cols[c]);
        else
            printf(" %8s", "start");
    printf(" %8s\n", "output");
    for (int i = 0; i < N_RUNS; i++) {
        const slowdown_run *r = &s->runs[i];
        printf("%-28s", r->name);
        for (int c = 0; c < n_cols; c++) printf(" %8.4f", r->points[cols[c]].cost);
        printf(" %8.4f\n", r->points[s->epochs].output);
    }
}

/* atomic_write_fn: every run's header and points. */
static int write_history(FILE *f, const void *ctx)
{
    const slowdown *s = ctx;
    for (int i = 0; i < N_RUNS; i++) {
        const slowdown_run *r = &s->runs[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "run", r->name);
        cJSON *settings = cJSON_AddObjectToObject(o, "settings");
        cJSON_AddStringToObject(settings, "cost", nndl_cost_name(r->cost));
        cJSON_AddNumberToObject(settings, "w", r->w0);
        cJSON_AddNumberToObject(settings, "b", r->b0);
        cJSON_AddNumberToObject(settings, "eta", ETA);
        cJSON_AddNumberToObject(settings, "epochs", s->epochs);
        if (demo_json_line(f, o) != 0) return -1;
        for (int e = 0; e <= s->epochs; e++) {
            const point *p = &r->points[e];
            o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "run", r->name);
            cJSON_AddNumberToObject(o, "epoch", e - 1);
            cJSON_AddNumberToObject(o, "training_cost", p->cost);
            cJSON_AddNumberToObject(o, "output", p->output);
            cJSON_AddNumberToObject(o, "w", p->w);
            cJSON_AddNumberToObject(o, "b", p->b);
            if (demo_json_line(f, o) != 0) return -1;
        }
    }
    return 0;
}

int demo_slowdown(int argc, char **argv)
{
    const char *history = NULL;
    int epochs = 300;
    cli_option options[] = {
        {"--epochs", OPT_INT, &epochs, "N", "epochs of each run (default 300)", 1, 1000000, NULL},
        {"--history", OPT_STRING, &history, "FILE",
         "write every epoch of every run to FILE as JSON lines", 0, 0, NULL},
    };
    cli_command cmd = {"demo slowdown", "",
                       "Chapter 3's learning slowdown: one sigmoid neuron, quadratic against\n"
                       "cross-entropy cost, from an easy and a saturated start.",
                       options, (int)(sizeof options / sizeof options[0]), 0, 0};
    int n_pos, rc = cli_parse(&cmd, argc, argv, NULL, &n_pos);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;

    slowdown s = {.epochs = epochs};
    nndl_error err;
    int status = 0;
    if (slowdown_run_all(&s, &err) != NNDL_OK) {
        status = cli_fail("demo", &err);
    } else {
        if (history &&
            atomic_file_write(history, "history file", write_history, &s, &err) != NNDL_OK)
            status = cli_fail("demo", &err);
        else
            print_table(&s);
    }
    slowdown_free(&s);
    return status;
}
