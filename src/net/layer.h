/* What every kind of layer provides: its shape rule (layer_kinds, one
 * build) and its arithmetic (layer_table, in float and in double).
 *
 * The loop in backprop.c sees only these tables, indexed by layer_kind: a
 * new kind of layer is a kind, a file (dense.c, conv.c, pool.c) and a row
 * in each table. */
#ifndef NNDL_NET_LAYER_H
#define NNDL_NET_LAYER_H

#include <stdint.h>

#include "net/network.h"
#include "net/real.h"

typedef struct layer_kind_info {
    const char *name; /* as the command line spells it */
    /* From l->spec and l->in: l->out, the weight and bias counts, fan-in
     * and fan-out, workspace and memo sizes; or NNDL_ERR_ARG saying why the
     * layer cannot take that input (named as layer `index`, 1-based). */
    nndl_status (*configure)(layer *l, int index, nndl_error *err);
} layer_kind_info;

extern const layer_kind_info layer_kinds[NNDL_LAYER_KIND_COUNT];

/* The arithmetic of a layer over `batch` examples. `in` (B, n_in) and `out`
 * (B, n_out) are activations; `ws` is the shared workspace, l->workspace
 * reals per example, free for the layer to use during one call; `memo` is
 * the layer's own l->memo int32s per example, written by forward and read
 * by the backward functions. */
typedef struct layer_ops {
    /* out = act(weighted input): eq. 25 for a dense layer. */
    void (*forward)(const layer *l, const real *params, const real *in, real *out, real *ws,
                    int32_t *memo, int batch, parallel *par);
    /* Accumulates dC/dw and dC/db, summed over the batch, into grad (same
     * layout as params): BP3 and BP4. delta = dC/dz (B, n_out), after the
     * layer's own activation. NULL for a kind without parameters. */
    void (*backward_params)(const layer *l, real *grad, const real *delta, const real *in,
                            real *ws, const int32_t *memo, int batch, parallel *par);
    /* Applies w -= step dC/dw, b -= step dC/db (eq. 20, 21; step = eta/m)
     * with the gradient of BP3 and BP4 summed over the batch, without
     * storing it: bit-identical to backward_params onto zeros followed by
     * that update. NULL for a kind without parameters. */
    void (*backward_params_step)(const layer *l, real *params, const real *delta,
                                 const real *in, real step, real *ws, const int32_t *memo,
                                 int batch, parallel *par);
    /* d_in = dC/da of the layer below: the (w^T delta) part of BP2. */
    void (*backward_input)(const layer *l, const real *params, const real *delta, real *d_in,
                           real *ws, const int32_t *memo, int batch, parallel *par);
    /* backward_input, then w -= shrink w (L2's decay; 0 for none), then
     * backward_params_step, in one pass over the weights
     * (matmul_backward_input_step): bit-identical to the three in turn.
     * For batches of at most MATMUL_FUSED_MAX_BATCH; NULL where a kind has
     * no such form. */
    void (*backward_input_step)(const layer *l, real *params, const real *delta,
                                const real *in, real *d_in, real step, real shrink, int batch,
                                parallel *par);
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

/* Indexed by layer_kind. */
extern const layer_ops *const RNAME(layer_table)[NNDL_LAYER_KIND_COUNT];

/* Each kind's file: its shape rule and its row. */
nndl_status dense_configure(layer *l, int index, nndl_error *err);
nndl_status conv_configure(layer *l, int index, nndl_error *err);
nndl_status pool_configure(layer *l, int index, nndl_error *err);
extern const layer_ops RNAME(dense_ops), RNAME(conv_ops), RNAME(pool_ops);

#endif
