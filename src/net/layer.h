/* What every kind of layer provides to the training loop.
 *
 * The loop in backprop.c sees only this table, indexed by layer_kind: a
 * convolutional layer joins by adding a kind, a file and a row here. */
#ifndef NNDL_NET_LAYER_H
#define NNDL_NET_LAYER_H

#include "net/network.h"
#include "net/real.h"

typedef struct layer_ops {
    /* out = act(weighted input): eq. 25 for a dense layer.
     * in (B, n_in), out (B, n_out). */
    void (*forward)(const layer *l, const real *params, const real *in,
                    real *out, int batch, parallel *par);
    /* Accumulates dC/dw and dC/db, summed over the batch, into grad (same
     * layout as params): BP3 and BP4. delta = dC/dz (B, n_out). */
    void (*backward_params)(const layer *l, real *grad, const real *delta,
                            const real *in, int batch, parallel *par);
    /* Applies w -= step dC/dw, b -= step dC/db (eq. 20, 21; step = eta/m)
     * with the gradient of BP3 and BP4 summed over the batch, without
     * storing it: bit-identical to backward_params onto zeros followed by
     * that update. */
    void (*backward_params_step)(const layer *l, real *params, const real *delta,
                                 const real *in, real step, int batch, parallel *par);
    /* d_in = dC/da of the layer below: the (w^T delta) part of BP2. */
    void (*backward_input)(const layer *l, const real *params, const real *delta,
                           real *d_in, int batch, parallel *par);
    /* The forward product and the step of a first layer, whose input is
     * mostly zeros, with its weights transposed in wt (n_in, stride) and
     * its other parameters in params; they skip the zero inputs and work
     * on a part of the inputs, k in [k0, k1) (see matmul_forward_sparse),
     * which `in` (B, k1 - k0) holds alone.
     * NULL where a kind has no such form.
     * forward_sparse_part: part = that part of the weighted input, without
     * the bias. forward_sparse_finish: out = act((part1 + part2) + b), for
     * the two parts of matmul_sparse_split. backward_params_step_sparse:
     * the step of that part's weights, and of the biases if `biases`. */
    void (*forward_sparse_part)(const layer *l, const real *wt, int stride, const real *in,
                                real *part, int batch, int k0, int k1, parallel *par);
    void (*forward_sparse_finish)(const layer *l, const real *params, const real *part1,
                                  const real *part2, real *out, int batch);
    void (*backward_params_step_sparse)(const layer *l, real *params, real *wt, int stride,
                                        const real *delta, const real *in, real step,
                                        int batch, int k0, int k1, int biases, parallel *par);
} layer_ops;

extern const layer_ops RNAME(layer_table)[];

#endif
