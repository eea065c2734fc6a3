/* The confusion matrix of a network on a dataset: which digits it mistakes
 * for which, with each class's precision and recall. */
#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "net/backprop.h"
#include "net/network.h"
#include "train/minibatch.h"

enum { CONFUSION_CHUNK = 256 }; /* images fed forward at once */

nndl_status nndl_confusion_compute(nndl_net *net, const nndl_dataset *ds, nndl_confusion *out,
                                   int *answers, nndl_error *err)
{
    if (!net || !ds || !out)
        return error_set(err, NNDL_ERR_ARG, "nndl_confusion_compute: NULL argument");
    nndl_status st = check_net_fits_data(net, ds, "the evaluation data", err);
    if (st != NNDL_OK) return st;
    int n_out = net->sizes[net->n_sizes - 1];
    int n_classes = n_out == 1 ? 2 : n_out; /* one output neuron answers 0 or 1 */
    size_t cells;
    if (size_mul_overflows((size_t)n_classes, (size_t)n_classes, &cells))
        return error_set(err, NNDL_ERR_NOMEM, "confusion matrix: %d classes are too many",
                         n_classes);
    size_t *counts = alloc_zeroed(cells, sizeof *counts);
    if (!counts)
        return error_set(err, NNDL_ERR_NOMEM, "confusion matrix: out of memory for %d classes",
                         n_classes);
    batch_buffers *b = net_scratch(net, CONFUSION_CHUNK, err);
    if (!b) {
        alloc_free(counts);
        return err ? err->status : NNDL_ERR_NOMEM;
    }

    /* The same forward pass and answer as nndl_net_evaluate, so the
     * diagonal adds up to its count. */
    size_t count = nndl_dataset_count(ds), correct = 0;
    parallel *par = net_parallel(net);
    uint8_t labels[CONFUSION_CHUNK];
    for (size_t first = 0; first < count; first += CONFUSION_CHUNK) {
        int n = count - first < CONFUSION_CHUNK ? (int)(count - first) : CONFUSION_CHUNK;
        gather_batch(b->a[0], labels, ds, NULL, first, n, par);
        feedforward_batch_f32(net, net->params, b, n, par);
        const float *outputs = b->a[net->n_layers];
        for (int i = 0; i < n; i++) {
            int answer = net_answer(outputs + (size_t)i * (size_t)n_out, n_out);
            counts[(size_t)labels[i] * (size_t)n_classes + (size_t)answer]++;
            correct += answer == labels[i];
            if (answers) answers[first + (size_t)i] = answer;
        }
    }
    out->n_classes = n_classes;
    out->counts = counts;
    out->total = count;
    out->correct = correct;
    return NNDL_OK;
}

nndl_status nndl_confusion_from_answers(const nndl_dataset *ds, const int *answers,
                                        int n_classes, nndl_confusion *out, nndl_error *err)
{
    if (!ds || !answers || !out || n_classes < 1 || n_classes > 65536)
        return error_set(err, NNDL_ERR_ARG, "nndl_confusion_from_answers: bad argument");
    size_t count = nndl_dataset_count(ds), correct = 0;
    const uint8_t *labels = nndl_dataset_labels(ds);
    for (size_t i = 0; i < count; i++)
        if (answers[i] < 0 || answers[i] >= n_classes || labels[i] >= n_classes)
            return error_set(err, NNDL_ERR_ARG,
                             "confusion matrix: image %zu has label %d and answer %d; classes "
                             "are 0 to %d", i, labels[i], answers[i], n_classes - 1);
    size_t *counts = alloc_zeroed((size_t)n_classes * (size_t)n_classes, sizeof *counts);
    if (!counts)
        return error_set(err, NNDL_ERR_NOMEM, "confusion matrix: out of memory for %d classes",
                         n_classes);
    for (size_t i = 0; i < count; i++) {
        counts[(size_t)labels[i] * (size_t)n_classes + (size_t)answers[i]]++;
        correct += answers[i] == labels[i];
    }
    out->n_classes = n_classes;
    out->counts = counts;
    out->total = count;
    out->correct = correct;
    return NNDL_OK;
}

void nndl_confusion_free(nndl_confusion *c)
{
    if (!c) return;
    alloc_free(c->counts);
    c->counts = NULL;
    c->n_classes = 0;
    c->total = c->correct = 0;
}

size_t nndl_confusion_count(const nndl_confusion *c, int label, int answer)
{
    if (label < 0 || answer < 0 || label >= c->n_classes || answer >= c->n_classes) return 0;
    return c->counts[(size_t)label * (size_t)c->n_classes + (size_t)answer];
}

double nndl_confusion_precision(const nndl_confusion *c, int k)
{
    size_t answered = 0; /* column k */
    for (int t = 0; t < c->n_classes; t++) answered += nndl_confusion_count(c, t, k);
    return answered ? (double)nndl_confusion_count(c, k, k) / (double)answered : NAN;
}

double nndl_confusion_recall(const nndl_confusion *c, int k)
{
    size_t labelled = 0; /* row k */
    for (int a = 0; a < c->n_classes; a++) labelled += nndl_confusion_count(c, k, a);
    return labelled ? (double)nndl_confusion_count(c, k, k) / (double)labelled : NAN;
}
