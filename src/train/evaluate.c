/* Accuracy: the network's answer is its most active output neuron. */
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "net/backprop.h"
#include "net/network.h"
#include "train/minibatch.h"

enum { EVALUATE_CHUNK = 256 };

nndl_status nndl_net_evaluate(nndl_net *net, const nndl_dataset *ds, size_t *correct,
                              nndl_error *err)
{
    nndl_status st = check_net_fits_data(net, ds, "the evaluation data", err);
    if (st != NNDL_OK) return st;
    size_t count = nndl_dataset_count(ds);
    batch_buffers *b = net_scratch(net, EVALUATE_CHUNK, err);
    if (!b) return err ? err->status : NNDL_ERR_NOMEM;
    int n_out = net->sizes[net->n_sizes - 1];
    int threads = net_threads(net);
    uint8_t labels[EVALUATE_CHUNK];
    size_t right = 0;
    for (size_t first = 0; first < count; first += EVALUATE_CHUNK) {
        int n = count - first < EVALUATE_CHUNK ? (int)(count - first) : EVALUATE_CHUNK;
        gather_batch(b->a[0], labels, ds, NULL, first, n);
        feedforward_batch_f32(net, net->params, b, n, threads);
        const float *out = b->a[net->n_layers];
        for (int i = 0; i < n; i++)
            right += argmax_f32(out + (size_t)i * n_out, n_out) == labels[i];
    }
    *correct = right;
    return NNDL_OK;
}
