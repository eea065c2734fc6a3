/* The convolutional layer of chapter 6 (network3.py's ConvPoolLayer):
 * `maps` feature maps, each a k x k filter over every input channel
 * (stride 1, no padding), then p x p max-pooling when p > 1, then the
 * activation.
 *
 * The convolution is a matrix product: im2col copies each output
 * position's k x k x C input patch into a row of the workspace, and
 * the dense layer's kernels do the rest, the positions of every example
 * of the batch taking the place of examples:
 *   z (B P, maps) = cols (B P, k k C) w^T + b       eq. 125, all positions
 * with P = the output positions of one example. Activations are stored
 * height x width x channels, so a patch's rows are contiguous in the input
 * and z is already in that layout. BP3 and BP4 are the same products as a
 * dense layer's over those rows, and BP2 is (w^T delta) per row, added
 * back into the input positions each row came from (col2im).
 *
 * The bias of a map is added before the pooling rather than after: for a
 * given map it is the same at every position, so max(z + b) = max(z) + b,
 * also in floating point (rounding never reverses an order), and the
 * activation, which never decreases, commutes with the max too. The
 * network is network3.py's; the activation runs on the pooled values
 * only. conv_reference_f64 and friends below are the direct loops, kept as
 * the reference the tests hold this against. */
#include <assert.h>
#include <limits.h>
#include <string.h>

#include "common/error.h"
#include "kernels/matmul.h"
#include "net/activation.h"
#include "net/conv.h"
#include "net/layer.h"
#include "net/maxpool.h"

#ifndef NNDL_REAL_DOUBLE /* the shape rule: one build */
nndl_status conv_configure(layer *l, int index, nndl_error *err)
{
    const int k = l->spec.kernel, maps = l->spec.size, p = l->spec.pool;
    const nndl_shape in = l->in;
    if (maps < 1 || maps > 65536)
        return error_set(err, NNDL_ERR_ARG, "layer %d: %d feature maps; need 1 to 65536", index,
                         maps);
    if (k < 1 || k > in.height || k > in.width)
        return error_set(err, NNDL_ERR_ARG,
                         "layer %d: %d x %d filters over %d x %d inputs; need 1 to the "
                         "smaller side", index, k, k, in.height, in.width);
    nndl_shape conv = {maps, in.height - k + 1, in.width - k + 1};
    if (p < 1 || p > conv.height || p > conv.width)
        return error_set(err, NNDL_ERR_ARG,
                         "layer %d: pool %d over %d x %d feature maps; need 1 to the smaller "
                         "side", index, p, conv.height, conv.width);
    uint64_t positions = (uint64_t)conv.height * conv.width,
             patch = (uint64_t)k * k * in.channels;
    /* one example's rows of the products must count in an int */
    if (patch > NNDL_MAX_LAYER_SIZE || positions * (patch + maps) > INT_MAX / 4)
        return error_set(err, NNDL_ERR_ARG,
                         "layer %d: %d x %d filters over %d x %d x %d inputs are too large",
                         index, k, k, in.channels, in.height, in.width);
    l->out = max_pool_shape(conv, p);
    l->n_weights = (size_t)maps * patch;
    l->n_biases = (size_t)maps;
    l->fan_in = (int)patch;
    /* network3.py: n_out = maps * k^2 / p^2 (integer division, as there) */
    l->fan_out = maps * k * k / (p * p) > 0 ? maps * k * k / (p * p) : 1;
    /* the patches (or, going back, their errors), and z before pooling */
    l->workspace = (size_t)(positions * patch + (p > 1 ? positions * maps : 0));
    l->macs = (size_t)(positions * patch * maps);
    l->memo = p > 1 ? (size_t)l->out.channels * l->out.height * l->out.width : 0;
    return NNDL_OK;
}
#endif

/* The shape of the convolution's output, before pooling. */
static nndl_shape conv_shape(const layer *l)
{
    return (nndl_shape){l->spec.size, l->in.height - l->spec.kernel + 1,
                        l->in.width - l->spec.kernel + 1};
}

/* Patch row length k k C, and output positions per example. */
static int patch_size(const layer *l) { return l->spec.kernel * l->spec.kernel * l->in.channels; }
static int positions(const layer *l)
{
    nndl_shape s = conv_shape(l);
    return s.height * s.width;
}

/* dst[0..n) = src[0..n). A first layer's runs are a few floats (k of one
 * channel), where a call to memcpy costs more than the copy: those are
 * copied inline (and GCC is told not to turn the loop back into memcpy). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static inline void copy_run(real *dst, const real *src, size_t n)
{
    if (n > 16) {
        memcpy(dst, src, n * sizeof *dst);
        return;
    }
    for (size_t i = 0; i < n; i++) dst[i] = src[i];
}

/* cols (B P, k k C): row (x, oy, ox) holds the inputs under the filter
 * at output position (oy, ox) of example x, in (dy, dx, c) order: the
 * filter's own layout, so each output is one dot product. */
static void im2col(const layer *l, const real *in, real *cols, int batch)
{
    const int k = l->spec.kernel, C = l->in.channels, W = l->in.width;
    const nndl_shape o = conv_shape(l);
    const size_t run = (size_t)k * C, row = (size_t)k * run;
    for (int x = 0; x < batch; x++) {
        const real *img = in + (size_t)x * l->n_in;
        real *dst = cols + (size_t)x * positions(l) * row;
        for (int oy = 0; oy < o.height; oy++)
            for (int ox = 0; ox < o.width; ox++, dst += row)
                for (int dy = 0; dy < k; dy++)
                    copy_run(dst + dy * run, img + ((size_t)(oy + dy) * W + ox) * C, run);
    }
}

/* d_in = the rows of d_cols added back where im2col took them from. */
static void col2im(const layer *l, const real *d_cols, real *d_in, int batch)
{
    const int k = l->spec.kernel, C = l->in.channels, W = l->in.width;
    const nndl_shape o = conv_shape(l);
    const size_t run = (size_t)k * C, row = (size_t)k * run;
    memset(d_in, 0, sizeof *d_in * (size_t)batch * l->n_in);
    for (int x = 0; x < batch; x++) {
        real *img = d_in + (size_t)x * l->n_in;
        const real *src = d_cols + (size_t)x * positions(l) * row;
        for (int oy = 0; oy < o.height; oy++)
            for (int ox = 0; ox < o.width; ox++, src += row)
                for (int dy = 0; dy < k; dy++) {
                    real *dst = img + ((size_t)(oy + dy) * W + ox) * C;
                    const real *from = src + dy * run;
                    for (size_t i = 0; i < run; i++) dst[i] += from[i];
                }
    }
}

/* The workspace of `batch` examples: their patches, then (when the layer
 * pools) their z before pooling, or its error. */
static real *ws_cols(const layer *l, real *ws) { (void)l; return ws; }
static real *ws_z(const layer *l, real *ws, int batch)
{
    return ws + (size_t)batch * positions(l) * patch_size(l);
}

static void conv_forward(const layer *l, const real *params, const real *in, real *out,
                         real *ws, int32_t *memo, int batch, parallel *par)
{
    const int P = positions(l), rows = batch * P;
    real *cols = ws_cols(l, ws);
    im2col(l, in, cols, batch);
    /* z = w * a + b at every position (eq. 125), pooled into out when p > 1 */
    real *z = l->spec.pool > 1 ? ws_z(l, ws, batch) : out;
    RNAME(matmul_forward)(z, cols, params + l->weights, params + l->biases, rows,
                          patch_size(l), l->spec.size, par);
    if (l->spec.pool > 1)
        RNAME(max_pool_forward)(out, memo, z, conv_shape(l), l->spec.pool, batch);
    RNAME(activation_forward)(l->act, out, batch, l->n_out);
}

/* dC/dz before pooling: delta at each pool's winner, 0 elsewhere; or
 * delta itself without pooling. */
static const real *z_errors(const layer *l, const real *delta, real *ws, const int32_t *memo,
                            int batch)
{
    if (l->spec.pool == 1) return delta;
    real *dz = ws_z(l, ws, batch);
    RNAME(max_pool_backward)(dz, delta, memo, conv_shape(l), l->spec.pool, batch);
    return dz;
}

static void conv_backward_params(const layer *l, real *grad, const real *delta,
                                 const real *in, real *ws, const int32_t *memo, int batch,
                                 parallel *par)
{
    const real *dz = z_errors(l, delta, ws, memo, batch);
    real *cols = ws_cols(l, ws);
    im2col(l, in, cols, batch);
    /* BP4: dC/dw = sum over examples and positions of delta a_patch;
     * BP3: dC/db = sum of delta over them */
    RNAME(matmul_backward_params)(grad + l->weights, grad + l->biases, dz, cols,
                                  batch * positions(l), patch_size(l), l->spec.size, par);
}

static void conv_backward_params_step(const layer *l, real *params, const real *delta,
                                      const real *in, real step, real *ws,
                                      const int32_t *memo, int batch, parallel *par)
{
    const real *dz = z_errors(l, delta, ws, memo, batch);
    real *cols = ws_cols(l, ws);
    im2col(l, in, cols, batch);
    /* BP3, BP4 as above, and eq. 20, 21 at once */
    RNAME(matmul_backward_params_step)(params + l->weights, params + l->biases, dz, cols, step,
                                       batch * positions(l), patch_size(l), l->spec.size,
                                       par);
}

static void conv_backward_input(const layer *l, const real *params, const real *delta,
                                real *d_in, real *ws, const int32_t *memo, int batch,
                                parallel *par)
{
    const real *dz = z_errors(l, delta, ws, memo, batch);
    real *d_cols = ws_cols(l, ws);
    /* BP2's w^T delta for every patch, then added back into the inputs */
    RNAME(matmul_backward_input)(d_cols, dz, params + l->weights, batch * positions(l),
                                 patch_size(l), l->spec.size, par);
    col2im(l, d_cols, d_in, batch);
}

const layer_ops RNAME(conv_ops) = {
    .forward = conv_forward,
    .backward_params = conv_backward_params,
    .backward_params_step = conv_backward_params_step,
    .backward_input = conv_backward_input,
};

/* ---- The reference: the convolution as direct loops ---- */

void RNAME(conv_reference_forward)(real *z, const real *in, const real *w, const real *b,
                                   nndl_shape shape, int maps, int k, int batch)
{
    const int C = shape.channels, W = shape.width, OH = shape.height - k + 1,
              OW = shape.width - k + 1;
    const size_t n_in = (size_t)C * shape.height * W;
    for (int x = 0; x < batch; x++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                for (int f = 0; f < maps; f++) {
                    real sum = b[f];
                    for (int dy = 0; dy < k; dy++)
                        for (int dx = 0; dx < k; dx++)
                            for (int c = 0; c < C; c++)
                                sum += w[(((size_t)f * k + dy) * k + dx) * C + c] *
                                       in[x * n_in + ((size_t)(oy + dy) * W + ox + dx) * C + c];
                    z[(((size_t)x * OH + oy) * OW + ox) * maps + f] = sum;
                }
}

void RNAME(conv_reference_backward)(real *dw, real *db, real *d_in, const real *dz,
                                    const real *in, const real *w, nndl_shape shape, int maps,
                                    int k, int batch)
{
    const int C = shape.channels, W = shape.width, OH = shape.height - k + 1,
              OW = shape.width - k + 1;
    const size_t n_in = (size_t)C * shape.height * W;
    if (d_in) memset(d_in, 0, sizeof *d_in * n_in * (size_t)batch);
    for (int x = 0; x < batch; x++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                for (int f = 0; f < maps; f++) {
                    real d = dz[(((size_t)x * OH + oy) * OW + ox) * maps + f];
                    db[f] += d;
                    for (int dy = 0; dy < k; dy++)
                        for (int dx = 0; dx < k; dx++)
                            for (int c = 0; c < C; c++) {
                                size_t wi = (((size_t)f * k + dy) * k + dx) * C + c;
                                size_t ii = x * n_in + ((size_t)(oy + dy) * W + ox + dx) * C + c;
                                dw[wi] += d * in[ii];
                                if (d_in) d_in[ii] += d * w[wi];
                            }
                }
}
