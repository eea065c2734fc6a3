/* The matrix products of a dense layer, over a whole mini-batch.
 *
 * Matrices are row-major. A batch of activations is (B, n): one example per
 * row. Weights are (n_out, n_in): row j holds neuron j's incoming weights,
 * as w_jk in the book.
 *
 * The work is split into fixed chunks of output rows or columns (see
 * parallel.h); each output element is summed by one thread in a fixed
 * order, so the results are bit-identical for every thread count. `par`
 * may be NULL for one thread.
 *
 * In double these are the plain C kernels of matmul.c; in float they run
 * the fastest kernels the CPU supports (see matmul_kernels.h), whose
 * summation order differs from the plain ones by rounding only. */
#ifndef NNDL_KERNELS_MATMUL_H
#define NNDL_KERNELS_MATMUL_H

#include <stddef.h>

#include "kernels/parallel.h"
#include "net/real.h"

/* out = in w^T + b.   out (B, n_out), in (B, n_in), w (n_out, n_in), b (n_out).
 * The weighted inputs z of eq. 25 for every example of the batch. */
void RNAME(matmul_forward)(real *out, const real *in, const real *w, const real *b,
                           int batch, int n_in, int n_out, parallel *par);

/* dw += delta^T in,  db += column sums of delta.
 * dw (n_out, n_in), db (n_out), delta (B, n_out), in (B, n_in).
 * BP3 and BP4 summed over the batch. Accumulates. */
void RNAME(matmul_backward_params)(real *dw, real *db, const real *delta, const real *in,
                                   int batch, int n_in, int n_out, parallel *par);

/* w -= step delta^T in,  b -= step (column sums of delta).
 * w (n_out, n_in), b (n_out), delta (B, n_out), in (B, n_in).
 * BP3 and BP4 summed over the batch, and at once the plain step of eq. 20
 * and 21 with step = eta/m: the gradient is never stored. Each element
 * takes the same operations, in the same order, as matmul_backward_params
 * onto zeros followed by w -= step * dw, so the two ways agree bit for bit. */
void RNAME(matmul_backward_params_step)(real *w, real *b, const real *delta, const real *in,
                                        real step, int batch, int n_in, int n_out,
                                        parallel *par);

/* d_in = delta w.   d_in (B, n_in), delta (B, n_out), w (n_out, n_in).
 * The (w^T delta) factor of BP2 for every example. Overwrites d_in. */
void RNAME(matmul_backward_input)(real *d_in, const real *delta, const real *w,
                                  int batch, int n_in, int n_out, parallel *par);

/* values = sigma(values) = 1 / (1 + e^-values), elementwise: the sigmoid
 * of eq. 3 that follows the forward product. In float every kernel set
 * gives the reference's results bit for bit (see matmul_simd.h). */
void RNAME(sigmoid)(real *values, size_t n);

#endif
