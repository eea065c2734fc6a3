/* Mini-batch stochastic gradient descent (chapter 1, eq. 20 and 21) with
 * chapter 3's regularization, momentum and dropout. */
#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "common/byteio.h"
#include "common/error.h"
#include "common/rng.h"
#include "net/backprop.h"
#include "net/network.h"
#include "train/minibatch.h"
#include "train/regularization.h"
#include "train/thread_choice.h"
#include "train/trainer_state.h"

struct nndl_trainer {
    nndl_net *net;
    nndl_sgd_config config;
    rng shuffle_rng;
    rng dropout_rng;
    int dropout;           /* whether any layer drops neurons (net_dropout) */
    float *grad;           /* dC/dparams of a batch, params layout; NULL for the
                              plain step, which never stores the gradient */
    float *velocity;       /* momentum's v (eq. 107), params layout; or NULL */
    batch_buffers buffers; /* activations and errors of one mini-batch; for the
                              plain step, also layer 1's weights transposed
                              during an epoch (buffers.w1t) */
    uint8_t *labels;       /* labels of one mini-batch */
    uint32_t *order;       /* this epoch's order of the training examples */
    size_t order_capacity;
    int threads_used;      /* the threads of the last epoch (thread_choice.h) */
};

nndl_sgd_config nndl_sgd_config_default(int batch_size, float eta)
{
    nndl_sgd_config c = {0};
    c.batch_size = batch_size;
    c.eta = eta;
    return c;
}

static nndl_status check_config(const nndl_sgd_config *c, nndl_error *err)
{
    if (c->batch_size < 1 || c->batch_size > 1000000)
        return error_set(err, NNDL_ERR_ARG,
                         "batch: %d examples per mini-batch; need 1 to 1000000", c->batch_size);
    if (!(c->eta > 0) || !isfinite(c->eta))
        return error_set(err, NNDL_ERR_ARG, "eta: %g is not a positive learning rate",
                         (double)c->eta);
    if (!(c->lambda >= 0) || !isfinite(c->lambda))
        return error_set(err, NNDL_ERR_ARG, "lambda: %g; need 0 or more", (double)c->lambda);
    if (!(c->lambda_l1 >= 0) || !isfinite(c->lambda_l1))
        return error_set(err, NNDL_ERR_ARG, "l1: %g; need 0 or more", (double)c->lambda_l1);
    if (!(c->momentum >= 0 && c->momentum < 1))
        return error_set(err, NNDL_ERR_ARG, "momentum: %g; need 0 <= mu < 1",
                         (double)c->momentum);
    if (!(c->dropout >= 0 && c->dropout < 1))
        return error_set(err, NNDL_ERR_ARG, "dropout: %g; need 0 <= p < 1", (double)c->dropout);
    return NNDL_OK;
}

/* Without L1 regularization or momentum, a step is p -> p - (eta/m) dC/dp
 * after L2's decay of the weights, which backprop_step_batch applies as it
 * goes, never storing the gradient. */
static int plain_step(const nndl_sgd_config *c)
{
    return c->lambda_l1 == 0 && c->momentum == 0;
}

nndl_trainer *nndl_trainer_create(nndl_net *net, const nndl_sgd_config *config,
                                  nndl_error *err)
{
    if (check_config(config, err) != NNDL_OK) return NULL;
    nndl_trainer *t = alloc_zeroed(1, sizeof *t);
    if (!t) goto nomem;
    t->net = net;
    t->config = *config;
    rng_seed(&t->shuffle_rng, config->seed, RNG_STREAM_SHUFFLE);
    rng_seed(&t->dropout_rng, config->seed, RNG_STREAM_DROPOUT);
    t->labels = alloc_array((size_t)config->batch_size, 1);
    if (!t->labels) goto nomem;
    if (!plain_step(config) && !(t->grad = alloc_zeroed(net->n_params, sizeof(float))))
        goto nomem;
    if (config->momentum > 0 && !(t->velocity = alloc_zeroed(net->n_params, sizeof(float))))
        goto nomem;
    double drop[NNDL_MAX_LAYERS];
    t->dropout = net_dropout(net, config->dropout, drop);
    if (batch_buffers_init_f32(&t->buffers, net, config->batch_size, t->dropout ? drop : NULL,
                               err) != NNDL_OK ||
        (plain_step(config) && batch_buffers_init_w1t_f32(&t->buffers, net, err) != NNDL_OK)) {
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
    alloc_free(t->velocity);
    alloc_free(t->labels);
    alloc_free(t->order);
    alloc_free(t);
}

void nndl_trainer_set_eta(nndl_trainer *t, float eta) { t->config.eta = eta; }
float nndl_trainer_eta(const nndl_trainer *t) { return t->config.eta; }
int nndl_trainer_threads(const nndl_trainer *t) { return t->threads_used; }

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

/* One step with regularization or momentum, from the gradient summed over a
 * mini-batch of m examples, out of n training examples. Leaves the gradient
 * zero for the next batch. (The plain step is backprop_step_batch's.)
 * Each parameter is read and written once, in one pass split over the
 * threads by ranges of parameters (memory-bound: a network of 1.7 million
 * parameters at mini-batch 10 spends as long here as in its products when
 * the pass is made four times). */
typedef struct step_job {
    const nndl_net *net;
    const nndl_sgd_config *c;
    float *w, *g, *v;
    float inv_m, l2, l1;
} step_job;

enum { STEP_CHUNK = 16384 }; /* parameters per chunk of the pass */

static void step_range(void *ctx, int c0, int c1)
{
    const step_job *j = ctx;
    const nndl_sgd_config *c = j->c;
    size_t lo = (size_t)c0 * STEP_CHUNK, hi = (size_t)c1 * STEP_CHUNK;
    if (hi > j->net->n_params) hi = j->net->n_params;
    for (int t = 0; t < j->net->n_tensors; t++) {
        const param_tensor *tensor = &j->net->tensors[t];
        size_t a = tensor->offset > lo ? tensor->offset : lo;
        size_t b = tensor->offset + tensor->count < hi ? tensor->offset + tensor->count : hi;
        for (size_t i = a; i < b; i++) {
            /* g = (1/m) sum_x dC_x/dw, plus the regularization terms'
             * derivatives on decayed tensors (regularization_gradient's) */
            float g = j->g[i] * j->inv_m;
            if (tensor->decay) {
                float sign = (float)((j->w[i] > 0) - (j->w[i] < 0));
                g += j->l2 * j->w[i] + j->l1 * sign;
            }
            if (j->v) {
                /* v -> mu v - eta g, w -> w + v: eq. 107 and 108 */
                j->v[i] = c->momentum * j->v[i] - c->eta * g;
                j->w[i] += j->v[i];
            } else {
                /* eq. 93 (L2: w -> (1 - eta lambda/n) w - eta g) and eq. 100 (L1) */
                j->w[i] -= c->eta * g;
            }
            j->g[i] = 0;
        }
    }
}

static void gradient_step(nndl_trainer *t, int m, size_t n, parallel *par)
{
    nndl_net *net = t->net;
    const nndl_sgd_config *c = &t->config;
    step_job job = {net, c, net->params, t->grad, t->velocity, 1.0f / (float)m,
                    (float)(c->lambda / (double)n), (float)(c->lambda_l1 / (double)n)};
    int chunks = (int)((net->n_params + STEP_CHUNK - 1) / STEP_CHUNK);
    parallel_for(par, chunks, parallel_split(par, chunks, STEP_CHUNK, 4 * STEP_CHUNK),
                 step_range, &job);
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
    thread_choice threads;
    thread_choice_begin(&threads, net_parallel(net), net->threads == 0,
                        (n + (size_t)m - 1) / (size_t)m);
    /* eq. 93: each step takes (eta lambda / n) w off each weight */
    const float shrink = (float)((double)t->config.eta * t->config.lambda / (double)n);
    /* The plain step trains layer 1 in the transposed copy, whose products
     * skip the zero pixels, and puts it back before anyone else can see the
     * weights: nothing below returns early. */
    if (t->buffers.w1t) batch_buffers_load_w1t_f32(&t->buffers, net, net->params);
    for (size_t first = 0; first < n; first += (size_t)m) {
        /* The last mini-batch holds the remainder, as in network.py. */
        int size = n - first < (size_t)m ? (int)(n - first) : m;
        const size_t batch = first / (size_t)m;
        parallel *par = thread_choice_for(&threads, batch);
        /* by pixel parts, and over the threads only when layer 1's parts
         * are: the pixels then stay with the thread that reads them */
        if (t->buffers.w1t)
            gather_batch_parts(t->buffers.w1t_in, t->buffers.w1t_split, t->labels, training,
                               t->order, first, size,
                               batch_buffers_parts_split_f32(net, &t->buffers, size, par)
                                   ? par
                                   : NULL);
        else
            gather_batch(t->buffers.a[0], t->labels, training, t->order, first, size, par);
        if (t->dropout) dropout_draw_masks_f32(&t->buffers, net, size, &t->dropout_rng);
        if (!t->grad) {
            /* w -> w - (eta/m) sum_x dC_x/dw: eq. 20 and 21, in the backward pass */
            backprop_step_batch_f32(net, net->params, &t->buffers, t->labels, size,
                                    t->config.eta / (float)size, shrink, par);
        } else {
            /* t->grad is zero here: allocated so, and gradient_step leaves it so */
            backprop_batch_f32(net, net->params, &t->buffers, t->labels, size, t->grad, par);
            gradient_step(t, size, n, par);
        }
        thread_choice_end(&threads, batch);
        if (progress) progress(first + (size_t)size, n, user);
    }
    t->threads_used = thread_choice_threads(&threads);
    if (t->buffers.w1t) batch_buffers_store_w1t_f32(&t->buffers, net, net->params);
    if (!all_finite(net->params, net->n_params))
        return error_set(err, NNDL_ERR_DIVERGED, "weights became NaN or infinite");
    return NNDL_OK;
}

/* ---- State for checkpoints (train/trainer_state.h) ---- */

enum { STATE_FIXED_BYTES = 4 + 32 + 32 + 8 };

size_t trainer_state_size(const nndl_trainer *t)
{
    return STATE_FIXED_BYTES + (t->velocity ? t->net->n_params * sizeof(float) : 0);
}

void trainer_state_write(const nndl_trainer *t, uint8_t *p)
{
    write_f32_le(p, t->config.eta);
    p += 4;
    for (int i = 0; i < 4; i++, p += 8) write_u64_le(p, t->shuffle_rng.s[i]);
    for (int i = 0; i < 4; i++, p += 8) write_u64_le(p, t->dropout_rng.s[i]);
    size_t v = t->velocity ? t->net->n_params : 0;
    write_u64_le(p, v);
    p += 8;
    for (size_t i = 0; i < v; i++, p += 4) write_f32_le(p, t->velocity[i]);
}

nndl_status trainer_state_read(nndl_trainer *t, const uint8_t *p, size_t size,
                               const char *path, nndl_error *err)
{
    if (size != trainer_state_size(t))
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: the trainer state has %zu bytes; this run's has %zu (momentum "
                         "on in one and off in the other, or another network)",
                         path, size, trainer_state_size(t));
    /* Everything is checked before anything is restored. */
    float eta = read_f32_le(p);
    size_t v = (size_t)read_u64_le(p + 4 + 64);
    if (!(eta > 0) || !isfinite(eta) || v != (t->velocity ? t->net->n_params : 0))
        return error_set(err, NNDL_ERR_FORMAT, "%s: the trainer state is damaged", path);
    rng shuffle, dropout;
    for (int i = 0; i < 4; i++) {
        shuffle.s[i] = read_u64_le(p + 4 + 8 * i);
        dropout.s[i] = read_u64_le(p + 36 + 8 * i);
    }
    if (!rng_state_valid(&shuffle) || !rng_state_valid(&dropout))
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: the trainer state is damaged (the %s generator's state is all "
                         "zeros)", path, rng_state_valid(&shuffle) ? "dropout" : "shuffling");
    const uint8_t *velocities = p + STATE_FIXED_BYTES;
    for (size_t i = 0; i < v; i++)
        if (!isfinite(read_f32_le(velocities + 4 * i)))
            return error_set(err, NNDL_ERR_FORMAT, "%s: a momentum velocity is not finite",
                             path);
    t->config.eta = eta;
    t->shuffle_rng = shuffle;
    t->dropout_rng = dropout;
    for (size_t i = 0; i < v; i++) t->velocity[i] = read_f32_le(velocities + 4 * i);
    return NNDL_OK;
}
