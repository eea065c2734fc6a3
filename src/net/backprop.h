/* Feeding a mini-batch forward and backpropagating its error: the four
 * equations of chapter 2 for a whole batch at once, as matrix products. */
#ifndef NNDL_NET_BACKPROP_H
#define NNDL_NET_BACKPROP_H

#include <stdint.h>

#include "net/network.h"
#include "net/real.h"

/* Activations and errors of every layer for up to `capacity` examples. */
typedef struct RNAME(batch_buffers) batch_buffers;
struct RNAME(batch_buffers) {
    int capacity;
    real *a[NNDL_MAX_LAYERS];     /* a^l (B, sizes[l]); a[0] is the input */
    real *delta[NNDL_MAX_LAYERS]; /* delta^l = dC/dz^l (B, sizes[l]), l >= 1;
                                     the input layer has none: delta[0] NULL */
    real *block;                  /* the one allocation behind a and delta */
};

/* Allocates buffers for `capacity` examples. */
nndl_status RNAME(batch_buffers_init)(batch_buffers *b, const nndl_net *net,
                                      int capacity, nndl_error *err);
void RNAME(batch_buffers_free)(batch_buffers *b);

/* Eq. 25, layer by layer, for the `batch` inputs already in b->a[0]. The
 * output activations end in b->a[net->n_layers]. */
void RNAME(feedforward_batch)(const nndl_net *net, const real *params,
                              batch_buffers *b, int batch, int threads);

/* Feeds the batch forward, then backpropagates (BP1-BP4) and adds the
 * gradient of the cost, summed over the batch, to `grad` (params layout). */
void RNAME(backprop_batch)(const nndl_net *net, const real *params,
                           batch_buffers *b, const uint8_t *labels, int batch,
                           real *grad, int threads);

#endif
