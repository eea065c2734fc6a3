/* A vote of several networks (chapter 6's ensemble of five): one vote
 * each, or their outputs averaged. */
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "net/backprop.h"
#include "net/network.h"
#include "train/minibatch.h"

enum { ENSEMBLE_CHUNK = 256 };

nndl_status nndl_ensemble_vote(nndl_net *const *nets, int n_nets, const nndl_dataset *ds,
                               nndl_vote vote, int *answers, nndl_error *err)
{
    if (!nets || n_nets < 1 || !ds || !answers)
        return error_set(err, NNDL_ERR_ARG, "ensemble: no networks");
    if (vote != NNDL_VOTE_PLURALITY && vote != NNDL_VOTE_MEAN)
        return error_set(err, NNDL_ERR_ARG, "ensemble: unknown vote %d", (int)vote);
    const int n_out = nets[0]->sizes[nets[0]->n_sizes - 1];
    const int n_classes = n_out == 1 ? 2 : n_out;
    for (int k = 0; k < n_nets; k++) {
        nndl_status st = check_net_fits_data(nets[k], ds, "the evaluation data", err);
        if (st != NNDL_OK) return st;
        if (nets[k]->sizes[nets[k]->n_sizes - 1] != n_out)
            return error_set(err, NNDL_ERR_ARG,
                             "ensemble: network %d has %d outputs, network 1 has %d", k + 1,
                             nets[k]->sizes[nets[k]->n_sizes - 1], n_out);
    }
    size_t count = nndl_dataset_count(ds);
    /* per image and class: votes, and the summed outputs that break ties
     * (or, for the mean, decide: the largest sum is the largest mean) */
    int *votes = alloc_zeroed(count ? count * (size_t)n_classes : 1, sizeof *votes);
    double *sums = alloc_zeroed(count ? count * (size_t)n_classes : 1, sizeof *sums);
    if (!votes || !sums) {
        alloc_free(votes);
        alloc_free(sums);
        return error_set(err, NNDL_ERR_NOMEM, "ensemble: out of memory for %zu images", count);
    }
    nndl_status st = NNDL_OK;
    uint8_t labels[ENSEMBLE_CHUNK];
    for (int k = 0; k < n_nets && st == NNDL_OK; k++) {
        nndl_net *net = nets[k];
        batch_buffers *b = net_scratch(net, ENSEMBLE_CHUNK, err);
        if (!b) {
            st = err ? err->status : NNDL_ERR_NOMEM;
            break;
        }
        parallel *par = net_parallel(net);
        for (size_t first = 0; first < count; first += ENSEMBLE_CHUNK) {
            int n = count - first < ENSEMBLE_CHUNK ? (int)(count - first) : ENSEMBLE_CHUNK;
            gather_batch(b->a[0], labels, ds, NULL, first, n, par);
            feedforward_batch_f32(net, net->params, b, n, par);
            const float *out = b->a[net->n_layers];
            for (int i = 0; i < n; i++) {
                size_t row = (first + (size_t)i) * (size_t)n_classes;
                const float *o = out + (size_t)i * n_out;
                votes[row + net_answer(o, n_out)]++;
                if (n_out == 1) { /* a binary classifier's two classes */
                    sums[row] += 1 - (double)o[0];
                    sums[row + 1] += o[0];
                } else {
                    for (int j = 0; j < n_out; j++) sums[row + j] += o[j];
                }
            }
        }
    }
    for (size_t i = 0; st == NNDL_OK && i < count; i++) {
        /* the most votes; among tied classes the largest summed output,
         * then the lowest class */
        const int *v = votes + i * (size_t)n_classes;
        const double *s = sums + i * (size_t)n_classes;
        int best = 0;
        for (int c = 1; c < n_classes; c++) {
            int more_votes = vote == NNDL_VOTE_PLURALITY && v[c] > v[best];
            int as_many = vote == NNDL_VOTE_MEAN || v[c] == v[best];
            if (more_votes || (as_many && s[c] > s[best])) best = c;
        }
        answers[i] = best;
    }
    alloc_free(votes);
    alloc_free(sums);
    return st;
}

nndl_status nndl_ensemble_answers(nndl_net *const *nets, int n_nets, const nndl_dataset *ds,
                                  int *answers, nndl_error *err)
{
    return nndl_ensemble_vote(nets, n_nets, ds, NNDL_VOTE_PLURALITY, answers, err);
}
