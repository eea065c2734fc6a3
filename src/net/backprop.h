/* Feeding a mini-batch forward and backpropagating its error: the four
 * equations of chapter 2 for a whole batch at once, as matrix products. */
#ifndef NNDL_NET_BACKPROP_H
#define NNDL_NET_BACKPROP_H

#include <stdint.h>

#include "common/rng.h"
#include "net/network.h"
#include "net/real.h"

/* Activations and errors of every layer for up to `capacity` examples. */
typedef struct RNAME(batch_buffers) batch_buffers;
struct RNAME(batch_buffers) {
    int capacity;
    real *a[NNDL_MAX_LAYERS];     /* a^l (B, sizes[l]); a[0] is the input */
    real *delta[NNDL_MAX_LAYERS]; /* delta^l = dC/dz^l (B, sizes[l]), l >= 1;
                                     the input layer has none: delta[0] NULL */
    /* Dropout, for hidden layers only (NULL elsewhere, and everywhere in
     * buffers made without dropout): mask^l holds 0 for a dropped neuron and
     * 1/(1-p) for a kept one; kept^l = a^l (.) mask^l feeds layer l+1. */
    real *mask[NNDL_MAX_LAYERS];
    real *kept[NNDL_MAX_LAYERS];
    /* drop[l]: the probability with which each neuron of a^l is dropped
     * (0 where a^l has no mask). */
    double drop[NNDL_MAX_LAYERS];
    real *block;                  /* the one allocation behind them all */
    /* The workspace the layers share (layer.h): ws_stride reals per
     * example, the most any layer needs; and what each layer remembers
     * between forward and backward, memo[l] for layer l + 1 (NULL when it
     * remembers nothing). */
    real *ws;
    size_t ws_stride;
    int32_t *memo[NNDL_MAX_LAYERS];
    int32_t *memo_block;
    /* Layer 1's weights transposed, (n_in, w1t_stride): w_jk at
     * w1t[k w1t_stride + j], the layout of the sparse products that skip
     * zero inputs (matmul_forward_sparse); or NULL. While it is set, the
     * passes below read and step layer 1's weights here and not in params
     * (its biases stay there): see batch_buffers_load_w1t. */
    real *w1t;
    int w1t_stride;
    /* Layer 1 sums its weighted inputs in two parts, inputs [0, w1t_split)
     * and [w1t_split, n_in) (matmul_sparse_split), each (capacity, n_out)
     * without the bias, so that each of two threads can take one part of
     * the inputs and their weights through the whole batch. */
    int w1t_split;
    real *w1t_part[2];
    /* The inputs of each part, (capacity, part's width): the training loop
     * gathers a batch here rather than in a[0]. The two lie pages apart, so
     * that no cache line, nor the neighbour a prefetcher fetches with it,
     * holds pixels of both parts: a thread that gathers and reads one part
     * never takes lines from the thread that has the other. ([784,100,10]
     * at batch 100 on two threads whose cores share no cache: 0.053 s an
     * epoch with the parts side by side in the rows of a[0], 0.044-0.049 s
     * apart.) */
    real *w1t_in[2];
    /* stepped[l]: layer l has taken this batch's step already (BP2 and the
     * step in one pass, backprop_step_batch); weights_from skips it. */
    int stepped[NNDL_MAX_LAYERS];
};

/* Allocates buffers for `capacity` examples, with room for dropout masks
 * where `dropout` (NULL for none) says: the probability of dropping each
 * neuron of a^l, 1 <= l < n_sizes - 1 (see net_dropout). */
nndl_status RNAME(batch_buffers_init)(batch_buffers *b, const nndl_net *net,
                                      int capacity, const double *dropout, nndl_error *err);
void RNAME(batch_buffers_free)(batch_buffers *b);

/* Allocates b->w1t, for training on inputs that are mostly zeros (images),
 * if layer 1 has sparse products and at most MATMUL_SPARSE_MAX_IN inputs;
 * otherwise leaves it NULL. */
nndl_status RNAME(batch_buffers_init_w1t)(batch_buffers *b, const nndl_net *net,
                                          nndl_error *err);

/* b->w1t = layer 1's weights in params, transposed. */
void RNAME(batch_buffers_load_w1t)(batch_buffers *b, const nndl_net *net, const real *params);

/* Layer 1's weights in params = b->w1t, transposed back. */
void RNAME(batch_buffers_store_w1t)(const batch_buffers *b, const nndl_net *net,
                                    real *params);

/* Whether a batch of `batch` examples splits layer 1's two parts (see
 * w1t_split) over the threads of par: then each thread should also gather
 * its part's pixels. */
int RNAME(batch_buffers_parts_split)(const nndl_net *net, const batch_buffers *b, int batch,
                                     const parallel *par);

/* Draws new dropout masks for `batch` examples: each neuron of a^l of
 * each example is dropped with probability b->drop[l]. */
void RNAME(dropout_draw_masks)(batch_buffers *b, const nndl_net *net, int batch, rng *r);

/* Eq. 25, layer by layer, for the `batch` inputs already in b->a[0],
 * without dropout, in buffers without w1t. The output activations end in
 * b->a[net->n_layers]. */
void RNAME(feedforward_batch)(const nndl_net *net, const real *params,
                              batch_buffers *b, int batch, parallel *par);

/* The same with the dropout masks in b applied (when it has them). */
void RNAME(feedforward_training)(const nndl_net *net, const real *params,
                                 batch_buffers *b, int batch, parallel *par);

/* What layer l + 1 reads: a^l, or kept^l when dropout masks are in use. */
static inline const real *RNAME(layer_input)(const batch_buffers *b, int l)
{
    return b->kept[l] ? b->kept[l] : b->a[l];
}

/* BP3 and BP4 of layers first..L (1-based), from the top down, with the
 * errors and activations of the last pass in b: added to grad, or when
 * grad is NULL applied to `stepped` as the plain step of eq. 20 and 21. */
void RNAME(weights_from)(const nndl_net *net, batch_buffers *b, int batch, real *grad,
                         real *stepped, real step, int first, parallel *par);

/* Feeds the batch forward (with dropout, when b has masks), then
 * backpropagates (BP1-BP4) and adds the gradient of the cost, summed over
 * the batch, to `grad` (params layout). */
void RNAME(backprop_batch)(const nndl_net *net, const real *params,
                           batch_buffers *b, const uint8_t *labels, int batch,
                           real *grad, parallel *par);

/* The same, then the plain step of eq. 20 and 21, p -> p - step dC/dp
 * with step = eta/m, applied inside each layer's BP3/BP4 product once the
 * errors that layer's weights pass down are known (large layers at small
 * batches: in the same pass as BP2, see backprop_fuse_min_weights); the
 * gradient is never stored. With shrink != 0 (L2 regularization, eq. 93:
 * shrink = eta lambda / n) every weight that regularization decays first
 * loses shrink times itself, after its layer's BP2 and before the step. Without b->w1t and with shrink 0 the
 * parameters end bit-identical to backprop_batch onto a zero gradient
 * followed by that step; with b->w1t, layer 1's weights are read and
 * stepped in b->w1t, and its forward sums differ from the dense ones by
 * rounding. */
/* Layers with at least this many weights take BP2 and their step in one
 * pass (matmul_backward_input_step) at batches of at most
 * MATMUL_FUSED_MAX_BATCH. The results are the same either way; tests set
 * it to compare the two. */
extern size_t RNAME(backprop_fuse_min_weights);

void RNAME(backprop_step_batch)(const nndl_net *net, real *params, batch_buffers *b,
                                const uint8_t *labels, int batch, real step, real shrink,
                                parallel *par);

#endif
