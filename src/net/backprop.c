#include "net/backprop.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "kernels/matmul.h"
#include "net/activation.h"
#include "net/cost.h"
#include "net/layer.h"

nndl_status RNAME(batch_buffers_init)(batch_buffers *b, const nndl_net *net,
                                      int capacity, const double *dropout, nndl_error *err)
{
    /* Per example: a^0; a^l and delta^l for l >= 1; mask and kept where
     * a^l is dropped out; the shared workspace; each layer's memo. */
    int L = net->n_layers;
    size_t per_example = net->sizes[0], memo_per_example = 0, ws = net_workspace(net);
    for (int l = 1; l <= L; l++) {
        int drops = dropout && l < L && dropout[l] > 0;
        per_example += (size_t)net->sizes[l] * (drops ? 4 : 2);
        memo_per_example += net->layers[l - 1].memo;
        /* a convolution's rows (examples times positions) count in an int */
        if ((uint64_t)capacity * net->layers[l - 1].workspace > INT_MAX)
            return error_set(err, NNDL_ERR_ARG,
                             "batch: %d examples are too many for layer %d at once", capacity,
                             l);
    }
    real *block = alloc_aligned((size_t)capacity, (per_example + ws) * sizeof(real));
    int32_t *memo = memo_per_example
                        ? alloc_array((size_t)capacity, memo_per_example * sizeof(int32_t))
                        : NULL;
    if (!block || (memo_per_example && !memo)) {
        alloc_free(block);
        alloc_free(memo);
        return error_set(err, NNDL_ERR_NOMEM,
                         "out of memory for the activations of %d examples", capacity);
    }
    memset(b, 0, sizeof *b);
    b->capacity = capacity;
    b->block = block;
    b->memo_block = memo;
    real *p = block;
    b->a[0] = p;
    p += (size_t)capacity * net->sizes[0];
    for (int l = 1; l <= L; l++) {
        size_t n = (size_t)capacity * net->sizes[l];
        b->a[l] = p, p += n;
        b->delta[l] = p, p += n;
        if (dropout && l < L && dropout[l] > 0) {
            b->drop[l] = dropout[l];
            b->mask[l] = p, p += n;
            b->kept[l] = p, p += n;
        }
    }
    b->ws = p;
    b->ws_stride = ws;
    p += (size_t)capacity * ws;
    assert(p == block + (size_t)capacity * (per_example + ws));
    for (int l = 0; l < L; l++) {
        if (!net->layers[l].memo) continue;
        b->memo[l] = memo;
        memo += (size_t)capacity * net->layers[l].memo;
    }
    return NNDL_OK;
}

void RNAME(batch_buffers_free)(batch_buffers *b)
{
    alloc_free(b->block);
    alloc_free(b->memo_block);
    alloc_free(b->w1t);
    alloc_free(b->w1t_part[0]);
    alloc_free(b->w1t_in[0]);
    memset(b, 0, sizeof *b);
}

nndl_status RNAME(batch_buffers_init_w1t)(batch_buffers *b, const nndl_net *net,
                                          nndl_error *err)
{
    const layer *ly = &net->layers[0];
    if (!RNAME(layer_table)[ly->kind]->forward_sparse_part || ly->n_in > MATMUL_SPARSE_MAX_IN)
        return NNDL_OK;
    int stride = matmul_sparse_align(ly->n_out);
    /* each part on cache lines of its own: two threads write them */
    size_t part = ((size_t)b->capacity * ly->n_out + 15) / 16 * 16;
    int split = matmul_sparse_split(ly->n_in);
    /* the first part's inputs, then a page of nothing, then the second's */
    const size_t page = 4096 / sizeof(real);
    size_t in0 = ((size_t)b->capacity * split + page - 1) / page * page + page;
    /* zeroed: the padding lanes stay 0 */
    b->w1t = alloc_aligned((size_t)ly->n_in * stride, sizeof(real));
    b->w1t_part[0] = alloc_aligned(2 * part, sizeof(real));
    b->w1t_in[0] = alloc_aligned(in0 + (size_t)b->capacity * (ly->n_in - split), sizeof(real));
    if (!b->w1t || !b->w1t_part[0] || !b->w1t_in[0]) {
        alloc_free(b->w1t);
        alloc_free(b->w1t_part[0]);
        alloc_free(b->w1t_in[0]);
        b->w1t = b->w1t_part[0] = b->w1t_in[0] = NULL;
        return error_set(err, NNDL_ERR_NOMEM, "out of memory for %d x %d weights", ly->n_in,
                         stride);
    }
    b->w1t_part[1] = b->w1t_part[0] + part;
    b->w1t_in[1] = b->w1t_in[0] + in0;
    b->w1t_stride = stride;
    b->w1t_split = split;
    return NNDL_OK;
}

void RNAME(batch_buffers_load_w1t)(batch_buffers *b, const nndl_net *net, const real *params)
{
    const layer *ly = &net->layers[0];
    const real *w = params + ly->weights;
    for (int j = 0; j < ly->n_out; j++)
        for (int k = 0; k < ly->n_in; k++)
            b->w1t[(size_t)k * b->w1t_stride + j] = w[(size_t)j * ly->n_in + k];
}

void RNAME(batch_buffers_store_w1t)(const batch_buffers *b, const nndl_net *net,
                                    real *params)
{
    const layer *ly = &net->layers[0];
    real *w = params + ly->weights;
    for (int j = 0; j < ly->n_out; j++)
        for (int k = 0; k < ly->n_in; k++)
            w[(size_t)j * ly->n_in + k] = b->w1t[(size_t)k * b->w1t_stride + j];
}

void RNAME(dropout_draw_masks)(batch_buffers *b, const nndl_net *net, int batch, rng *r)
{
    for (int l = 1; l < net->n_layers; l++) {
        if (!b->mask[l]) continue;
        const double p = b->drop[l];
        const real keep_scale = (real)(1 / (1 - p));
        size_t n = (size_t)batch * net->sizes[l];
        for (size_t i = 0; i < n; i++) b->mask[l][i] = rng_uniform(r) < p ? 0 : keep_scale;
    }
}

/* The workspace and memo of layer l + 1 for examples from x0 on. */
static real *workspace_at(const batch_buffers *b, int x0) { return b->ws + (size_t)x0 * b->ws_stride; }
static int32_t *memo_at(const batch_buffers *b, const nndl_net *net, int l, int x0)
{
    return b->memo[l] ? b->memo[l] + (size_t)x0 * net->layers[l].memo : NULL;
}

/* Eq. 25, layer by layer, for examples [x0, x1) of the batch. Every
 * product gives an example the same sums whichever examples share its call
 * (matmul.h), so these rows come out the same in any split of a batch. */
static void forward(const nndl_net *net, const real *params, batch_buffers *b, int x0, int x1,
                    parallel *par, int use_masks)
{
    assert(x1 <= b->capacity);
    const int n = x1 - x0;
    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        const real *in = (use_masks ? RNAME(layer_input)(b, l) : b->a[l]) + (size_t)x0 * ly->n_in;
        real *out = b->a[l + 1] + (size_t)x0 * ly->n_out;
        /* a^{l+1} = sigma(w^{l+1} a^l + b^{l+1}): eq. 25 */
        if (l == 0 && b->w1t) { /* from the two parts, already summed */
            size_t first = (size_t)x0 * ly->n_out;
            RNAME(layer_table)[ly->kind]->forward_sparse_finish(
                ly, params, b->w1t_part[0] + first, b->w1t_part[1] + first, out, n);
        } else
            RNAME(layer_table)[ly->kind]->forward(ly, params, in, out, workspace_at(b, x0),
                                                  memo_at(b, net, l, x0), n, par);
        if (use_masks && b->mask[l + 1]) {
            size_t first = (size_t)x0 * ly->n_out, last = (size_t)x1 * ly->n_out;
            for (size_t i = first; i < last; i++)
                b->kept[l + 1][i] = b->a[l + 1][i] * b->mask[l + 1][i];
        }
    }
}

/* Multiply-adds worth a second thread. */
enum { MIN_PARALLEL_WORK = 1 << 20 };

/* Inputs [k0, k1) of layer 1, part `part` of its two. */
static void part_inputs(const batch_buffers *b, const nndl_net *net, int part, int *k0, int *k1)
{
    *k0 = part == 0 ? 0 : b->w1t_split;
    *k1 = part == 0 ? b->w1t_split : net->layers[0].n_in;
}

typedef struct layer1_job {
    const nndl_net *net;
    batch_buffers *b;
    int batch;
    real *params, step; /* for the step */
} layer1_job;

/* The grain that gives each thread one of layer 1's two parts when the
 * batch is large enough, or both to the caller. */
static int parts_grain(const nndl_net *net, const batch_buffers *b, int batch,
                       const parallel *par)
{
    /* multiply-adds of a part, counting a quarter of the inputs as nonzero */
    long work = (long)batch * b->w1t_split * net->layers[0].n_out / 4;
    return parallel_split(par, 2, work, MIN_PARALLEL_WORK);
}

int RNAME(batch_buffers_parts_split)(const nndl_net *net, const batch_buffers *b, int batch,
                                     const parallel *par)
{
    return b->w1t && parts_grain(net, b, batch, par) < 2;
}

/* Parts [p0, p1) of layer 1's weighted input, for the whole batch. */
static void forward_parts(void *ctx, int p0, int p1)
{
    const layer1_job *job = ctx;
    const layer *ly = &job->net->layers[0];
    for (int part = p0; part < p1; part++) {
        int k0, k1;
        part_inputs(job->b, job->net, part, &k0, &k1);
        RNAME(layer_table)[ly->kind]->forward_sparse_part(ly, job->b->w1t, job->b->w1t_stride,
                                                         job->b->w1t_in[part],
                                                         job->b->w1t_part[part], job->batch,
                                                         k0, k1, NULL);
    }
}

/* The plain step (eq. 20, 21) of the layers above the first, from the
 * top down, and of layer 1's biases. */
static void step_rest(const layer1_job *job, parallel *par)
{
    const nndl_net *net = job->net;
    batch_buffers *b = job->b;
    for (int l = net->n_layers; l >= 2; l--) {
        const layer *ly = &net->layers[l - 1];
        const layer_ops *ops = RNAME(layer_table)[ly->kind];
        if (ops->backward_params_step)
            ops->backward_params_step(ly, job->params, b->delta[l], RNAME(layer_input)(b, l - 1),
                                      job->step, b->ws, b->memo[l - 1], job->batch, par);
    }
    const layer *first = &net->layers[0];
    RNAME(layer_table)[first->kind]->backward_params_step_sparse(
        first, job->params, b->w1t, b->w1t_stride, b->delta[1], b->w1t_in[0], job->step,
        job->batch, 0, 0, 1, par);
}

/* Items [p0, p1) of the step: 0 and 1 the two parts of layer 1's
 * weights, 2 (when there are three) step_rest. */
static void step_parts(void *ctx, int p0, int p1)
{
    const layer1_job *job = ctx;
    const layer *ly = &job->net->layers[0];
    for (int part = p0; part < p1; part++) {
        if (part == 2) {
            step_rest(job, NULL);
            continue;
        }
        int k0, k1;
        part_inputs(job->b, job->net, part, &k0, &k1);
        RNAME(layer_table)[ly->kind]->backward_params_step_sparse(
            ly, job->params, job->b->w1t, job->b->w1t_stride, job->b->delta[1],
            job->b->w1t_in[part], job->step, job->batch, k0, k1, 0, NULL);
    }
}

/* The plain step with layer 1's weights transposed: each part of them by
 * the thread that summed it forward. The rest (the layers above and the
 * biases) rides along as a third item, which the thread done first takes,
 * when it is small next to a part (part 1 holds 48% of MNIST's nonzero
 * pixels: the rest evens them out); else it runs before, split by its own
 * products. */
static void step_with_parts(const nndl_net *net, batch_buffers *b, int batch, real *params,
                            real step, parallel *par)
{
    layer1_job job = {net, b, batch, params, step};
    int grain = parts_grain(net, b, batch, par);
    long upper = 0, part = (long)b->w1t_split * net->layers[0].n_out / 4;
    for (int l = 1; l < net->n_layers; l++)
        upper += (long)net->layers[l].macs;
    if (grain < 2 && 2 * upper <= part) {
        parallel_for(par, 3, 1, step_parts, &job);
        return;
    }
    step_rest(&job, par);
    parallel_for(par, 2, grain, step_parts, &job);
}

/* With layer 1's weights transposed (b->w1t): its two parts of the
 * weighted input, which forward() then adds up. Each part is one chunk:
 * the thread that takes it reads only its inputs and their weights. */
static void layer1_parts(const nndl_net *net, batch_buffers *b, int batch, parallel *par)
{
    if (!b->w1t) return;
    layer1_job job = {net, b, batch, NULL, 0};
    parallel_for(par, 2, parts_grain(net, b, batch, par), forward_parts, &job);
}

void RNAME(feedforward_batch)(const nndl_net *net, const real *params,
                              batch_buffers *b, int batch, parallel *par)
{
    assert(!b->w1t); /* whose inputs are not in a[0] */
    forward(net, params, b, 0, batch, par, 0);
}

void RNAME(feedforward_training)(const nndl_net *net, const real *params,
                                 batch_buffers *b, int batch, parallel *par)
{
    assert(!b->w1t);
    forward(net, params, b, 0, batch, par, 1);
}

/* BP1, then BP2 from the output layer down, for examples [x0, x1): the
 * errors delta^L .. delta^1 of those examples, which like their
 * activations depend on nothing else. */
static void errors(const nndl_net *net, const real *params, batch_buffers *b,
                   const uint8_t *labels, int x0, int x1)
{
    const int L = net->n_layers, n = x1 - x0;
    /* BP1: delta^L = grad_a C (.) sigma'(z^L) */
    size_t out = (size_t)x0 * net->sizes[L];
    RNAME(cost_output_delta)(net->cost, net->layers[L - 1].act, b->delta[L] + out,
                             b->a[L] + out, labels + x0, n, net->sizes[L]);
    for (int l = L; l > 1; l--) { /* the input layer has no error to compute */
        const layer *ly = &net->layers[l - 1];
        size_t first = (size_t)x0 * net->sizes[l - 1], count = (size_t)n * net->sizes[l - 1];
        real *below = b->delta[l - 1] + first;
        /* BP2: delta^{l-1} = ((w^l)^T delta^l) (.) sigma'(z^{l-1}) */
        RNAME(layer_table)[ly->kind]->backward_input(
            ly, params, b->delta[l] + (size_t)x0 * net->sizes[l], below, workspace_at(b, x0),
            memo_at(b, net, l - 1, x0), n, NULL);
        if (b->mask[l - 1]) /* a dropped neuron passes no error back */
            for (size_t i = 0; i < count; i++) below[i] *= b->mask[l - 1][first + i];
        RNAME(activation_backward)(net->layers[l - 2].act, below, b->a[l - 1] + first, count);
    }
}

typedef struct pass_job {
    const nndl_net *net;
    const real *params;
    batch_buffers *b;
    const uint8_t *labels;
} pass_job;

/* Examples [x0, x1): forward with dropout, then their errors. */
static void pass_rows(void *ctx, int x0, int x1)
{
    const pass_job *job = ctx;
    forward(job->net, job->params, job->b, x0, x1, NULL, 1);
    errors(job->net, job->params, job->b, job->labels, x0, x1);
}

/* The forward pass and BP1-BP2 for the whole batch, each thread taking
 * whole examples: one hand-over between threads instead of one per
 * product, and every example's activations and errors stay in the cache
 * of the thread that made them. */
static void forward_and_errors(const nndl_net *net, const real *params, batch_buffers *b,
                               const uint8_t *labels, int batch, parallel *par)
{
    layer1_parts(net, b, batch, par);
    /* Multiply-adds per example, forward and BP2, counting layer 1's sparse
     * product (a quarter of its inputs nonzero) although its parts are
     * summed already: when they were split over the threads, the pass is
     * too. ([784,100,10] at batch 100: the pass took 11.4 us a batch on one
     * thread, and splitting it made an epoch 0.0355 -> 0.0325 s.) */
    long work = 0;
    for (int l = 0; l < net->n_layers; l++) {
        long product = (long)net->layers[l].macs;
        work += l == 0 ? (b->w1t ? product / 4 : product) : 2 * product;
    }
    pass_job job = {net, params, b, labels};
    parallel_for(par, batch, parallel_split(par, batch, work, MIN_PARALLEL_WORK), pass_rows,
                 &job);
}

/* BP3 and BP4 for every layer, the products split over the threads by
 * weights. With grad, the gradient is added to it; otherwise `stepped`
 * (params itself) takes the plain step of eq. 20 and 21. */
static void weights(const nndl_net *net, batch_buffers *b, int batch, real *grad,
                    real *stepped, real step, parallel *par)
{
    if (!grad && b->w1t) {
        step_with_parts(net, b, batch, stepped, step, par);
        return;
    }
    for (int l = net->n_layers; l >= 1; l--) {
        const layer *ly = &net->layers[l - 1];
        const layer_ops *ops = RNAME(layer_table)[ly->kind];
        const real *in = RNAME(layer_input)(b, l - 1);
        if (!ops->backward_params) continue; /* a kind without parameters */
        /* BP3, BP4: dC/db^l = delta^l, dC/dw^l = delta^l (a^{l-1})^T */
        if (grad)
            ops->backward_params(ly, grad, b->delta[l], in, b->ws, b->memo[l - 1], batch, par);
        else
            ops->backward_params_step(ly, stepped, b->delta[l], in, step, b->ws,
                                      b->memo[l - 1], batch, par);
    }
}

void RNAME(backprop_batch)(const nndl_net *net, const real *params,
                           batch_buffers *b, const uint8_t *labels, int batch,
                           real *grad, parallel *par)
{
    forward_and_errors(net, params, b, labels, batch, par);
    weights(net, b, batch, grad, NULL, 0, par);
}

void RNAME(backprop_step_batch)(const nndl_net *net, real *params, batch_buffers *b,
                                const uint8_t *labels, int batch, real step, parallel *par)
{
    /* every error before any step: BP2 reads the weights the step changes */
    forward_and_errors(net, params, b, labels, batch, par);
    weights(net, b, batch, NULL, params, step, par);
}
