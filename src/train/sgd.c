/* Mini-batch stochastic gradient descent (chapter 1, eq. 20 and 21). */
#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/rng.h"
#include "net/backprop.h"
#include "net/network.h"
#include "train/minibatch.h"

struct nndl_trainer {
    nndl_net *net;
    nndl_sgd_config config;
    rng shuffle_rng;
    float *grad;           /* dC/dparams summed over a batch; params layout */
    batch_buffers buffers; /* activations and errors of one mini-batch */
    uint8_t *labels;       /* labels of one mini-batch */
    uint32_t *order;       /* this epoch's order of the training examples */
    size_t order_capacity;
};

nndl_trainer *nndl_trainer_create(nndl_net *net, const nndl_sgd_config *config,
                                  nndl_error *err)
{
    if (config->batch_size < 1 || config->batch_size > 1000000) {
        error_set(err, NNDL_ERR_ARG, "batch: %d examples per mini-batch; need 1 to 1000000",
                  config->batch_size);
        return NULL;
    }
    if (!(config->eta > 0) || !isfinite(config->eta)) {
        error_set(err, NNDL_ERR_ARG, "eta: %g is not a positive learning rate",
                  (double)config->eta);
        return NULL;
    }
    nndl_trainer *t = alloc_zeroed(1, sizeof *t);
    if (!t) goto nomem;
    t->net = net;
    t->config = *config;
    rng_seed(&t->shuffle_rng, config->seed, RNG_STREAM_SHUFFLE);
    t->grad = alloc_array(net->n_params, sizeof(float));
    t->labels = alloc_array((size_t)config->batch_size, 1);
    if (!t->grad || !t->labels) goto nomem;
    if (batch_buffers_init_f32(&t->buffers, net, config->batch_size, err) != NNDL_OK) {
        nndl_trainer_free(t);
        return NULL;
    }
    return t;
nomem:
    nndl_trainer_free(t);
    error_set(err, NNDL_ERR_NOMEM, "out of memory for a trainer");
    return NULL;
}

void nndl_trainer_free(nndl_trainer *t)
{
    if (!t) return;
    batch_buffers_free_f32(&t->buffers);
    alloc_free(t->grad);
    alloc_free(t->labels);
    alloc_free(t->order);
    alloc_free(t);
}

/* The training examples in a fresh random order. Starting each epoch from
 * 0, 1, 2, ... makes the order depend on the generator's state alone. */
static nndl_status shuffle_order(nndl_trainer *t, size_t n, nndl_error *err)
{
    if (n > UINT32_MAX)
        return error_set(err, NNDL_ERR_ARG, "training data: %zu examples; at most %u",
                         n, UINT32_MAX);
    if (n > t->order_capacity) {
        uint32_t *order = alloc_resize(t->order, n, sizeof *order);
        if (!order) return error_set(err, NNDL_ERR_NOMEM, "out of memory for %zu indices", n);
        t->order = order;
        t->order_capacity = n;
    }
    for (size_t i = 0; i < n; i++) t->order[i] = (uint32_t)i;
    rng_shuffle(&t->shuffle_rng, t->order, n);
    return NNDL_OK;
}

/* w -> w - (eta/m) sum_x dC_x/dw and b likewise: eq. 20 and 21, one loop
 * over the whole parameter buffer. */
static void gradient_step(float *params, const float *grad, size_t n, float eta, int m)
{
    const float step = eta / (float)m;
#pragma omp simd
    for (size_t i = 0; i < n; i++) params[i] -= step * grad[i];
}

static int all_finite(const float *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(values[i])) return 0;
    return 1;
}

nndl_status nndl_trainer_epoch(nndl_trainer *t, const nndl_dataset *training,
                               nndl_progress_fn progress, void *user, nndl_error *err)
{
    nndl_net *net = t->net;
    nndl_status st = check_net_fits_data(net, training, "the training data", err);
    if (st != NNDL_OK) return st;
    size_t n = nndl_dataset_count(training);
    if (n == 0) return error_set(err, NNDL_ERR_ARG, "training data: no examples");
    if ((st = shuffle_order(t, n, err)) != NNDL_OK) return st;

    const int m = t->config.batch_size;
    const int threads = net_threads(net);
    for (size_t first = 0; first < n; first += (size_t)m) {
        /* The last mini-batch holds the remainder, as in network.py. */
        int size = n - first < (size_t)m ? (int)(n - first) : m;
        gather_batch(t->buffers.a[0], t->labels, training, t->order, first, size);
        memset(t->grad, 0, net->n_params * sizeof(float));
        backprop_batch_f32(net, net->params, &t->buffers, t->labels, size, t->grad, threads);
        gradient_step(net->params, t->grad, net->n_params, t->config.eta, size);
        if (progress) progress(first + (size_t)size, n, user);
    }
    if (!all_finite(net->params, net->n_params))
        return error_set(err, NNDL_ERR_DIVERGED,
                         "weights became NaN or infinite (eta %g is probably too large)",
                         (double)t->config.eta);
    return NNDL_OK;
}
