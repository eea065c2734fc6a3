/* A first layer fed by raw pixels, most of them zero: its sparse products
 * (docs/ARCHITECTURE.md, "Fast kernels beside the reference").
 *
 * For the length of an epoch of the plain step the trainer keeps layer 1's
 * weights transposed (b->w1t), sums the weighted input over the nonzero
 * pixels only, in two parts of the pixels that two threads can take one
 * each, and steps only the rows of weights whose pixel was nonzero. The
 * generic loop of backprop.c calls the three entry points of this file
 * (sparse_input.h) where a dense first layer would run its forward pass
 * and its step. */
#include <assert.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "kernels/matmul.h"
#include "net/activation.h"
#include "net/backprop.h"
#include "net/layer.h"
#include "net/sparse_input.h"

/* Multiply-adds worth a second thread. */
enum { MIN_PARALLEL_WORK = 1 << 20 };

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
    RNAME(weights_from)(net, b, job->batch, NULL, job->params, job->step, 2, par);
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
void RNAME(sparse_input_step)(const nndl_net *net, batch_buffers *b, int batch, real *params,
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

/* Each part is one chunk: the thread that takes it reads only its inputs
 * and their weights. */
void RNAME(sparse_input_parts)(const nndl_net *net, batch_buffers *b, int batch, parallel *par)
{
    layer1_job job = {net, b, batch, NULL, 0};
    parallel_for(par, 2, parts_grain(net, b, batch, par), forward_parts, &job);
}

void RNAME(sparse_input_finish)(const nndl_net *net, const real *params, batch_buffers *b,
                                int x0, int x1)
{
    const layer *ly = &net->layers[0];
    size_t first = (size_t)x0 * ly->n_out;
    /* a^1 = sigma((part 1 + part 2) + b^1): eq. 25 */
    RNAME(layer_table)[ly->kind]->forward_sparse_finish(ly, params, b->w1t_part[0] + first,
                                                        b->w1t_part[1] + first,
                                                        b->a[1] + first, x1 - x0);
}
