/* Accuracy and cost of a network on a dataset. */
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "net/backprop.h"
#include "net/cost.h"
#include "net/network.h"
#include "train/minibatch.h"
#include "train/regularization.h"

enum { EVALUATE_CHUNK = 256 };

/* Feeds `ds` forward in chunks and calls `visit` on each chunk's outputs. */
typedef void (*chunk_visitor)(const nndl_net *net, const float *outputs,
                              const uint8_t *labels, int n, void *acc);

static nndl_status for_each_chunk(nndl_net *net, const nndl_dataset *ds, chunk_visitor visit,
                                  void *acc, nndl_error *err)
{
    nndl_status st = check_net_fits_data(net, ds, "the evaluation data", err);
    if (st != NNDL_OK) return st;
    batch_buffers *b = net_scratch(net, EVALUATE_CHUNK, err);
    if (!b) return err ? err->status : NNDL_ERR_NOMEM;
    size_t count = nndl_dataset_count(ds);
    parallel *par = net_parallel(net);
    uint8_t labels[EVALUATE_CHUNK];
    for (size_t first = 0; first < count; first += EVALUATE_CHUNK) {
        int n = count - first < EVALUATE_CHUNK ? (int)(count - first) : EVALUATE_CHUNK;
        gather_batch(b->a[0], labels, ds, NULL, first, n, par);
        feedforward_batch_f32(net, net->params, b, n, par);
        visit(net, b->a[net->n_layers], labels, n, acc);
    }
    return NNDL_OK;
}

static void count_correct(const nndl_net *net, const float *out, const uint8_t *labels, int n,
                          void *acc)
{
    int n_out = net->sizes[net->n_sizes - 1];
    size_t *right = acc;
    for (int i = 0; i < n; i++) *right += net_answer(out + (size_t)i * n_out, n_out) == labels[i];
}

nndl_status nndl_net_evaluate(nndl_net *net, const nndl_dataset *ds, size_t *correct,
                              nndl_error *err)
{
    size_t right = 0;
    nndl_status st = for_each_chunk(net, ds, count_correct, &right, err);
    if (st == NNDL_OK) *correct = right;
    return st;
}

static void add_cost(const nndl_net *net, const float *out, const uint8_t *labels, int n,
                     void *acc)
{
    *(double *)acc += cost_total_f32(net->cost, out, labels, n, net->sizes[net->n_sizes - 1]);
}

nndl_status nndl_net_total_cost(nndl_net *net, const nndl_dataset *ds, float lambda,
                                float lambda_l1, double *cost, nndl_error *err)
{
    size_t n = nndl_dataset_count(ds);
    if (n == 0) return error_set(err, NNDL_ERR_ARG, "cost: the data set is empty");
    double total = 0;
    nndl_status st = for_each_chunk(net, ds, add_cost, &total, err);
    if (st != NNDL_OK) return st;
    *cost = total / n + regularization_cost_f32(net, net->params, lambda, lambda_l1, n);
    return NNDL_OK;
}
