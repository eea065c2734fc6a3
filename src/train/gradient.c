/* The gradient of the cost over a stretch of a data set, and its length per
 * layer: chapter 5's "speed of learning". Backpropagation (BP1-BP4) of the
 * training loop, without regularization, dropout or a step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "net/backprop.h"
#include "net/network.h"
#include "train/minibatch.h"

enum { GRADIENT_CHUNK = 256 };

/* Sums dC_x/dp over images first .. first+count-1 into `sum` (doubles, so
 * that thousands of float chunk sums add up without losing digits). */
static nndl_status sum_gradient(nndl_net *net, const nndl_dataset *ds, size_t first,
                                size_t count, double *sum, nndl_error *err)
{
    batch_buffers *b = net_scratch(net, GRADIENT_CHUNK, err);
    if (!b) return err ? err->status : NNDL_ERR_NOMEM;
    float *chunk_grad = alloc_array(net->n_params, sizeof *chunk_grad);
    if (!chunk_grad)
        return error_set(err, NNDL_ERR_NOMEM, "out of memory for a gradient of %zu parameters",
                         net->n_params);
    parallel *par = net_parallel(net);
    uint8_t labels[GRADIENT_CHUNK];
    for (size_t done = 0; done < count; done += GRADIENT_CHUNK) {
        int n = count - done < GRADIENT_CHUNK ? (int)(count - done) : GRADIENT_CHUNK;
        gather_batch(b->a[0], labels, ds, NULL, first + done, n, par);
        memset(chunk_grad, 0, net->n_params * sizeof *chunk_grad);
        backprop_batch_f32(net, net->params, b, labels, n, chunk_grad, par);
        for (size_t i = 0; i < net->n_params; i++) sum[i] += chunk_grad[i];
    }
    free(chunk_grad);
    return NNDL_OK;
}

/* Checks the stretch and the data; allocates the sum. NULL on failure. */
static double *start(nndl_net *net, const nndl_dataset *ds, size_t first, size_t count,
                     nndl_error *err)
{
    size_t n = nndl_dataset_count(ds);
    if (count == 0 || first > n || count > n - first) {
        error_set(err, NNDL_ERR_ARG, "gradient: images %zu to %zu asked of a data set of %zu",
                  first, first + count, n);
        return NULL;
    }
    if (check_net_fits_data(net, ds, "the data", err) != NNDL_OK) return NULL;
    double *sum = alloc_zeroed(net->n_params, sizeof *sum);
    if (!sum)
        error_set(err, NNDL_ERR_NOMEM, "out of memory for a gradient of %zu parameters",
                  net->n_params);
    return sum;
}

nndl_status nndl_net_gradient(nndl_net *net, const nndl_dataset *ds, size_t first, size_t count,
                              float *grad, nndl_error *err)
{
    double *sum = start(net, ds, first, count, err);
    if (!sum) return err ? err->status : NNDL_ERR_NOMEM;
    nndl_status st = sum_gradient(net, ds, first, count, sum, err);
    if (st == NNDL_OK)
        for (size_t i = 0; i < net->n_params; i++) grad[i] = (float)(sum[i] / (double)count);
    free(sum);
    return st;
}

static double norm(const double *v, size_t n, double scale)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += v[i] * v[i];
    return sqrt(s) * scale;
}

nndl_status nndl_net_gradient_norms(nndl_net *net, const nndl_dataset *ds, size_t first,
                                    size_t count, double *weight_norms, double *bias_norms,
                                    nndl_error *err)
{
    double *sum = start(net, ds, first, count, err);
    if (!sum) return err ? err->status : NNDL_ERR_NOMEM;
    nndl_status st = sum_gradient(net, ds, first, count, sum, err);
    if (st == NNDL_OK) {
        double scale = 1.0 / (double)count; /* the mean: ||sum|| / count */
        if (weight_norms) weight_norms[0] = 0;
        if (bias_norms) bias_norms[0] = 0;
        for (int l = 1; l <= net->n_layers; l++) {
            const layer *ly = &net->layers[l - 1];
            if (weight_norms) weight_norms[l] = norm(sum + ly->weights, ly->n_weights, scale);
            if (bias_norms) bias_norms[l] = norm(sum + ly->biases, ly->n_biases, scale);
        }
    }
    free(sum);
    return st;
}
