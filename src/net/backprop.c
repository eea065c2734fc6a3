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
#include "net/sparse_input.h"

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

void RNAME(dropout_draw_masks)(batch_buffers *b, const nndl_net *net, int batch, rng *r)
{
    for (int l = 1; l < net->n_layers; l++) {
        if (!b->mask[l]) continue;
        const double p = b->drop[l];
        const real keep_scale = (real)(1 / (1 - p));
        size_t n = (size_t)batch * net->sizes[l];
        /* drawn a chunk at a time: one call, and a loop without branches */
        uint8_t dropped[1024];
        for (size_t i0 = 0; i0 < n; i0 += sizeof dropped) {
            size_t count = n - i0 < sizeof dropped ? n - i0 : sizeof dropped;
            rng_bernoulli(r, p, dropped, count);
            for (size_t i = 0; i < count; i++) b->mask[l][i0 + i] = dropped[i] ? 0 : keep_scale;
        }
    }
}

/* The workspace and memo of layer l + 1 for examples from x0 on. */
static real *workspace_at(const batch_buffers *b, int x0) { return b->ws + (size_t)x0 * b->ws_stride; }
static int32_t *memo_at(const batch_buffers *b, const nndl_net *net, int l, int x0)
{
    return b->memo[l] ? b->memo[l] + (size_t)x0 * net->layers[l].memo : NULL;
}

/* Eq. 25 through layers l0 .. l1 - 1 (a^{l0+1} .. a^{l1}) for examples
 * [x0, x1) of the batch. Every product gives an example the same sums
 * whichever examples share its call (matmul.h), so these rows come out the
 * same in any split of a batch. */
static void forward_layers(const nndl_net *net, const real *params, batch_buffers *b, int l0,
                           int l1, int x0, int x1, parallel *par, int use_masks)
{
    assert(x1 <= b->capacity);
    const int n = x1 - x0;
    for (int l = l0; l < l1; l++) {
        const layer *ly = &net->layers[l];
        const real *in = (use_masks ? RNAME(layer_input)(b, l) : b->a[l]) + (size_t)x0 * ly->n_in;
        real *out = b->a[l + 1] + (size_t)x0 * ly->n_out;
        /* a^{l+1} = sigma(w^{l+1} a^l + b^{l+1}): eq. 25 */
        if (l == 0 && b->w1t) /* a sparse first layer: from its parts (sparse_input.c) */
            RNAME(sparse_input_finish)(net, params, b, x0, x1);
        else
            RNAME(layer_table)[ly->kind]->forward(ly, params, in, out, workspace_at(b, x0),
                                                  memo_at(b, net, l, x0), n, par);
        if (use_masks && b->mask[l + 1]) {
            size_t first = (size_t)x0 * ly->n_out, last = (size_t)x1 * ly->n_out;
            for (size_t i = first; i < last; i++)
                b->kept[l + 1][i] = b->a[l + 1][i] * b->mask[l + 1][i];
        }
    }
}

static void forward(const nndl_net *net, const real *params, batch_buffers *b, int x0, int x1,
                    parallel *par, int use_masks)
{
    forward_layers(net, params, b, 0, net->n_layers, x0, x1, par, use_masks);
}

/* Multiply-adds worth a second thread. */
enum { MIN_PARALLEL_WORK = 1 << 20 };

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

/* BP2's last two factors for examples [x0, x1), once (w^l)^T delta^l is in
 * delta^{l-1}: a dropped neuron passes no error back, then (.) sigma'(z^{l-1}). */
static void finish_errors(const nndl_net *net, batch_buffers *b, int l, int x0, int x1)
{
    size_t first = (size_t)x0 * net->sizes[l - 1], count = (size_t)(x1 - x0) * net->sizes[l - 1];
    real *below = b->delta[l - 1] + first;
    if (b->mask[l - 1])
        for (size_t i = 0; i < count; i++) below[i] *= b->mask[l - 1][first + i];
    RNAME(activation_backward)(net->layers[l - 2].act, below, b->a[l - 1] + first, count);
}

/* BP2 through layers top, top - 1, ..., bottom + 1 for examples [x0, x1):
 * the errors delta^{top-1} .. delta^bottom of those examples, which like
 * their activations depend on nothing else. */
static void errors_down(const nndl_net *net, const real *params, batch_buffers *b, int top,
                        int bottom, int x0, int x1)
{
    const int n = x1 - x0;
    for (int l = top; l > bottom && l > 1; l--) { /* the input layer has no error */
        const layer *ly = &net->layers[l - 1];
        /* BP2: delta^{l-1} = ((w^l)^T delta^l) (.) sigma'(z^{l-1}) */
        RNAME(layer_table)[ly->kind]->backward_input(
            ly, params, b->delta[l] + (size_t)x0 * net->sizes[l],
            b->delta[l - 1] + (size_t)x0 * net->sizes[l - 1], workspace_at(b, x0),
            memo_at(b, net, l - 1, x0), n, NULL);
        finish_errors(net, b, l, x0, x1);
    }
}

typedef struct pass_job {
    const nndl_net *net;
    const real *params;
    batch_buffers *b;
    const uint8_t *labels;
    int forward_to;  /* forward with dropout through layers 0 .. forward_to - 1 first */
    int bp1;         /* then BP1 */
    int top, bottom; /* then errors_down(top, bottom) */
} pass_job;

/* Examples [x0, x1): forward with dropout and BP1, then BP2 as the job says. */
static void pass_rows(void *ctx, int x0, int x1)
{
    const pass_job *job = ctx;
    const nndl_net *net = job->net;
    if (job->forward_to)
        forward_layers(net, job->params, job->b, 0, job->forward_to, x0, x1, NULL, 1);
    if (job->bp1) {
        const int L = net->n_layers;
        /* BP1: delta^L = grad_a C (.) sigma'(z^L) */
        size_t out = (size_t)x0 * net->sizes[L];
        RNAME(cost_output_delta)(net->cost, net->layers[L - 1].act, job->b->delta[L] + out,
                                 job->b->a[L] + out, job->labels + x0, x1 - x0,
                                 net->sizes[L]);
    }
    errors_down(net, job->params, job->b, job->top, job->bottom, x0, x1);
}

/* Multiply-adds per example of BP2 through layers top .. bottom + 1. */
static long errors_work(const nndl_net *net, int top, int bottom)
{
    long work = 0;
    for (int l = top; l > bottom && l > 1; l--) work += (long)net->layers[l - 1].macs;
    return work;
}

/* The forward pass, BP1 and BP2 down to delta^bottom for the whole batch,
 * each thread taking whole examples: one hand-over between threads instead
 * of one per product, and every example's activations and errors stay in
 * the cache of the thread that made them. From layer by_neurons up (when
 * it is not 0) the forward products are split by neurons instead: see
 * below. */
static void forward_and_errors(const nndl_net *net, const real *params, batch_buffers *b,
                               const uint8_t *labels, int batch, int bottom, int by_neurons,
                               parallel *par)
{
    if (b->w1t) RNAME(sparse_input_parts)(net, b, batch, par); /* layer 1's sums */
    const int L = net->n_layers, by_examples = by_neurons && par ? by_neurons - 1 : L;
    /* Multiply-adds per example, forward and BP2, counting layer 1's sparse
     * product (a quarter of its inputs nonzero) although its parts are
     * summed already: when they were split over the threads, the pass is
     * too. ([784,100,10] at batch 100: the pass took 11.4 us a batch on one
     * thread, and splitting it made an epoch 0.0355 -> 0.0325 s.) */
    const long errors = errors_work(net, L, bottom);
    long forward = 0; /* through the layers split by examples */
    for (int l = 0; l < by_examples; l++) {
        long product = (long)net->layers[l].macs;
        forward += l == 0 && b->w1t ? product / 4 : product;
    }
    if (by_examples == L) {
        pass_job job = {net, params, b, labels, L, 1, L, bottom};
        parallel_for(par, batch, parallel_split(par, batch, forward + errors, MIN_PARALLEL_WORK),
                     pass_rows, &job);
        return;
    }
    /* The fused passes split their layers' weights by inputs (columns).
     * Split by examples, each thread's forward product read all of them,
     * half just written by the other thread's core; split by neurons
     * (rows), it reads half of them, a quarter written there. Two threads
     * made an epoch of the final network 1.19x faster than one before,
     * 1.43x after (10,000 images, an AVX-512 Xeon). Same sums (matmul.h). */
    pass_job below = {net, params, b, labels, by_examples, 0, 0, 0};
    parallel_for(par, batch, parallel_split(par, batch, forward, MIN_PARALLEL_WORK), pass_rows,
                 &below);
    forward_layers(net, params, b, by_examples, L, 0, batch, par, 1);
    pass_job above = {net, params, b, labels, 0, 1, L, bottom};
    parallel_for(par, batch, parallel_split(par, batch, errors, MIN_PARALLEL_WORK), pass_rows,
                 &above);
}

/* BP2 through layers top .. bottom + 1 for the whole batch, split by examples. */
static void errors_batch(const nndl_net *net, const real *params, batch_buffers *b, int batch,
                         int top, int bottom, parallel *par)
{
    pass_job job = {net, params, b, NULL, 0, 0, top, bottom};
    long work = errors_work(net, top, bottom);
    parallel_for(par, batch, parallel_split(par, batch, work, MIN_PARALLEL_WORK), pass_rows,
                 &job);
}

/* BP3 and BP4 for every layer, the products split over the threads by
 * weights. With grad, the gradient is added to it; otherwise `stepped`
 * (params itself) takes the plain step of eq. 20 and 21. */
static void weights(const nndl_net *net, batch_buffers *b, int batch, real *grad,
                    real *stepped, real step, parallel *par)
{
    if (!grad && b->w1t) { /* a sparse first layer steps with its parts (sparse_input.c) */
        RNAME(sparse_input_step)(net, b, batch, stepped, step, par);
        return;
    }
    RNAME(weights_from)(net, b, batch, grad, stepped, step, 1, par);
}

void RNAME(weights_from)(const nndl_net *net, batch_buffers *b, int batch, real *grad,
                         real *stepped, real step, int first, parallel *par)
{
    for (int l = net->n_layers; l >= first; l--) {
        const layer *ly = &net->layers[l - 1];
        const layer_ops *ops = RNAME(layer_table)[ly->kind];
        const real *in = RNAME(layer_input)(b, l - 1);
        if (!ops->backward_params) continue; /* a kind without parameters */
        if (!grad && b->stepped[l]) continue; /* stepped with its BP2 */
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
    forward_and_errors(net, params, b, labels, batch, 1, 0, par);
    weights(net, b, batch, grad, NULL, 0, par);
}

typedef struct decay_job {
    real *w;
    real shrink;
} decay_job;

enum { DECAY_CHUNK = 16384 };

static void decay_range(void *ctx, int c0, int c1)
{
    const decay_job *j = ctx;
    /* two statements, so that no compiler fuses the multiply and the
     * subtraction (clang would): the fused pass of matmul.h rounds both */
    for (size_t i = (size_t)c0 * DECAY_CHUNK; i < (size_t)c1 * DECAY_CHUNK; i++) {
        real change = j->shrink * j->w[i];
        j->w[i] -= change;
    }
}

/* w -= shrink w over w[0..n), split over the threads in fixed chunks.
 * (Not w *= 1 - shrink: a small shrink would round away in 1 - shrink.) */
static void decay_array(real *w, size_t n, real shrink, parallel *par)
{
    size_t whole = n / DECAY_CHUNK * DECAY_CHUNK;
    decay_job job = {w, shrink};
    int chunks = (int)(whole / DECAY_CHUNK);
    parallel_for(par, chunks, parallel_split(par, chunks, DECAY_CHUNK, 4 * DECAY_CHUNK),
                 decay_range, &job);
    for (size_t i = whole; i < n; i++) {
        real change = shrink * w[i]; /* rounded apart, as in decay_range */
        w[i] -= change;
    }
}

/* Whether the tensor at `offset` is the weights of a layer stepped already. */
static int tensor_stepped(const nndl_net *net, const batch_buffers *b, size_t offset)
{
    for (int l = 1; l <= net->n_layers; l++)
        if (b->stepped[l] && net->layers[l - 1].n_weights && net->layers[l - 1].weights == offset)
            return 1;
    return 0;
}

/* Every weight the regularization decays (not the biases) shrunk by
 * shrink w; layer 1's weights where the passes read them, in b->w1t when
 * it is set. Layers stepped already decayed with their step. */
static void decay_weights(const nndl_net *net, real *params, batch_buffers *b, real shrink,
                          parallel *par)
{
    for (int t = 0; t < net->n_tensors; t++) {
        const param_tensor *tensor = &net->tensors[t];
        if (!tensor->decay || tensor_stepped(net, b, tensor->offset)) continue;
        if (b->w1t && tensor->offset == net->layers[0].weights)
            decay_array(b->w1t, (size_t)net->sizes[0] * b->w1t_stride, shrink, par);
        else
            decay_array(params + tensor->offset, tensor->count, shrink, par);
    }
}

size_t RNAME(backprop_fuse_min_weights) = 32768;

/* Whether layer l takes BP2, L2's decay and its step in one pass over its
 * weights rather than three: at small batches, for the large layers (the
 * fully connected ones of chapter 6's networks), where reading and writing
 * the weights is much of the work. The layers of chapters 1-3 keep their
 * separate passes. Layer 1 has no BP2. */
static int fused_layer(const nndl_net *net, int l, int batch)
{
    const layer *ly = &net->layers[l - 1];
    return l >= 2 && batch <= MATMUL_FUSED_MAX_BATCH &&
           ly->n_weights >= RNAME(backprop_fuse_min_weights) &&
           RNAME(layer_table)[ly->kind]->backward_input_step;
}

/* Whether regularization decays layer l's weights. */
static int layer_decays(const nndl_net *net, int l)
{
    const layer *ly = &net->layers[l - 1];
    for (int t = 0; t < net->n_tensors; t++)
        if (net->tensors[t].offset == ly->weights && ly->n_weights)
            return net->tensors[t].decay;
    return 0;
}

void RNAME(backprop_step_batch)(const nndl_net *net, real *params, batch_buffers *b,
                                const uint8_t *labels, int batch, real step, real shrink,
                                parallel *par)
{
    int top = net->n_layers;
    while (top >= 2 && !fused_layer(net, top, batch)) top--;
    /* every error before a layer's step: BP2 reads the weights the step
     * changes. Down to the first fused layer, split by examples. */
    int lowest = 0; /* the lowest fused layer: its forward product and those above by neurons */
    for (int l = top; l >= 2; l--)
        if (fused_layer(net, l, batch)) lowest = l;
    forward_and_errors(net, params, b, labels, batch, top >= 2 ? top : 1, lowest, par);
    for (int l = top; l >= 2;) {
        if (fused_layer(net, l, batch)) {
            const layer *ly = &net->layers[l - 1];
            RNAME(layer_table)[ly->kind]->backward_input_step(
                ly, params, b->delta[l], RNAME(layer_input)(b, l - 1), b->delta[l - 1], step,
                layer_decays(net, l) ? shrink : 0, batch, par);
            finish_errors(net, b, l, 0, batch);
            b->stepped[l] = 1;
            l--;
            continue;
        }
        int bottom = l - 1; /* BP2 through the layers down to the next fused one */
        while (bottom >= 2 && !fused_layer(net, bottom, batch)) bottom--;
        errors_batch(net, params, b, batch, l, bottom, par);
        l = bottom;
    }
    /* L2 (eq. 93): w -> w - (eta lambda / n) w, then the step takes off
     * (eta/m) dC/dw as without it */
    if (shrink != 0) decay_weights(net, params, b, shrink, par);
    weights(net, b, batch, NULL, params, step, par);
    for (int l = 0; l <= net->n_layers; l++) b->stepped[l] = 0;
}
