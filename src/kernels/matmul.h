/* The matrix products of a dense layer, over a whole mini-batch.
 *
 * Matrices are row-major. A batch of activations is (B, n): one example per
 * row. Weights are (n_out, n_in): row j holds neuron j's incoming weights,
 * as w_jk in the book.
 *
 * The work is split into fixed chunks of output rows or columns (see
 * parallel.h); each output element is summed by one thread in a fixed
 * order, so the results are bit-identical for every thread count. `par`
 * may be NULL for one thread. An example's outputs (forward products,
 * backward_input) are also the same whichever examples share its call, so
 * a caller may split a batch by examples and call each share alone.
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

/* The largest batch matmul_backward_input_step takes: its tiles keep a
 * vector of d_in for every example of the batch in registers. */
#define MATMUL_FUSED_MAX_BATCH 10

/* BP2 and the step of one layer in a single pass over its weights:
 *   d_in = delta w, with the weights as they were (BP2's factor), then
 *   w -= shrink w when shrink is not 0 (L2's decay, eq. 93), then
 *   w -= step delta^T in, b -= step (column sums of delta) (eq. 20, 21).
 * d_in (B, n_in), w (n_out, n_in), b (n_out), delta (B, n_out), in (B, n_in);
 * batch at most MATMUL_FUSED_MAX_BATCH. Bit for bit what
 * matmul_backward_input, the decay w[i] -= shrink * w[i] and
 * matmul_backward_params_step compute in turn, but the weights are read
 * and written once instead of five times: at mini-batch 10 the large
 * layers of chapter 6 are bound by that traffic, not by the arithmetic. */
void RNAME(matmul_backward_input_step)(real *d_in, real *w, real *b, const real *delta,
                                       const real *in, real step, real shrink, int batch,
                                       int n_in, int n_out, parallel *par);

/* The two products of a first layer, whose inputs are mostly zeros (some
 * 80% of MNIST's pixels are 0), with the weights transposed so that an
 * input's weights to every neuron lie together: wt (n_in, stride) holds
 * w_jk at wt[k stride + j]. stride is at least n_out and a multiple of
 * MATMUL_SPARSE_ALIGN; the padding lanes j >= n_out are read but reach no
 * output (keep them finite). n_in is at most MATMUL_SPARSE_MAX_IN (the fast
 * kernels keep one example's nonzero columns on the stack). */
#define MATMUL_SPARSE_ALIGN 16
#define MATMUL_SPARSE_MAX_IN 4096

/* A part of the product of a first layer: for the inputs k in [k0, k1),
 * out_xj = sum over the nonzero in_xk of in_xk w_jk (plus b_j, when b is
 * not NULL). out (B, n_out), in (B, n_in), wt (n_in, stride), b (n_out).
 * The sum runs over the nonzero in_xk in order of k, the i-th of them
 * into partial sum s_(i mod 4), then ((s0 + s1) + (s2 + s3)): four chains
 * of additions in flight rather than one, in an order that depends on the
 * example alone. A zero input adds nothing, so over all inputs and with b
 * this differs from matmul_forward only by rounding. Training sums a first
 * layer in the two parts of matmul_sparse_split and adds them,
 * z = (part 1 + part 2) + b, so that each of two threads can take one
 * part, and the weights of its inputs, all the way through a batch. */
void RNAME(matmul_forward_sparse)(real *out, const real *in, const real *wt, const real *b,
                                  int batch, int n_in, int k0, int k1, int n_out, int stride,
                                  parallel *par);

/* matmul_backward_params_step on the transposed weights, for the inputs k
 * in [k0, k1) and (when b is not NULL) the biases, visiting only the
 * columns where some in_xk is nonzero (elsewhere the step changes
 * nothing). wt (n_in, stride), b (n_out), delta (B, n_out), in (B, n_in).
 * Each weight takes the same operations in the same order as in that
 * kernel of the same set (matmul_kernels.h), so the two agree bit for bit:
 * the dense and the sparse training steps only differ in the forward sum. */
void RNAME(matmul_backward_params_step_sparse)(real *wt, real *b, const real *delta,
                                               const real *in, real step, int batch, int n_in,
                                               int k0, int k1, int n_out, int stride,
                                               parallel *par);

/* n rounded up to a multiple of MATMUL_SPARSE_ALIGN: the stride of the
 * transposed weights of n_out neurons. */
static inline int matmul_sparse_align(int n)
{
    return (n + MATMUL_SPARSE_ALIGN - 1) / MATMUL_SPARSE_ALIGN * MATMUL_SPARSE_ALIGN;
}

/* Where a first layer of n_in inputs splits into the two parts of its
 * sparse products: about half of the inputs, rounded up to a multiple of
 * MATMUL_SPARSE_ALIGN (400 of MNIST's 784, with 48% of the nonzero
 * pixels). The same for any number of threads, so that results are too. */
static inline int matmul_sparse_split(int n_in)
{
    int half = matmul_sparse_align(n_in / 2);
    return half < n_in ? half : n_in;
}

/* values = sigma(values) = 1 / (1 + e^-values), elementwise: the sigmoid
 * of eq. 3 that follows the forward product. In float every kernel set
 * gives the reference's results bit for bit (see matmul_simd.h). */
void RNAME(sigmoid)(real *values, size_t n);

#endif
