/* The max-pooling layer of chapter 6: each p x p region of each channel
 * becomes its largest value. No parameters; it remembers, per output,
 * which input won, so that BP2 sends the error back to that input alone. */
#include <string.h>

#include "common/error.h"
#include "net/layer.h"
#include "net/maxpool.h"

#ifndef NNDL_REAL_DOUBLE /* the shape rule: one build */
nndl_status pool_configure(layer *l, int index, nndl_error *err)
{
    int p = l->spec.pool;
    if (p < 1 || p > l->in.height || p > l->in.width)
        return error_set(err, NNDL_ERR_ARG,
                         "layer %d: pool %d over %d x %d inputs; need 1 to the smaller side",
                         index, p, l->in.height, l->in.width);
    l->out = max_pool_shape(l->in, p);
    l->memo = (size_t)l->out.channels * l->out.height * l->out.width;
    l->macs = (size_t)l->in.channels * l->in.height * l->in.width; /* comparisons */
    return NNDL_OK;
}
#endif

void RNAME(max_pool_forward)(real *out, int32_t *winners, const real *in, nndl_shape shape,
                             int p, int batch)
{
    const int C = shape.channels, W = shape.width;
    const nndl_shape o = max_pool_shape(shape, p);
    const size_t n_in = (size_t)C * shape.height * W, n_out = (size_t)C * o.height * o.width;
    for (int x = 0; x < batch; x++) {
        const real *img = in + (size_t)x * n_in;
        for (int py = 0; py < o.height; py++)
            for (int px = 0; px < o.width; px++) {
                /* a region's channels side by side: the comparisons run
                 * across channels as selects, without branches */
                size_t o_i = (size_t)x * n_out + ((size_t)py * o.width + px) * C;
                real *best = out + o_i;
                int32_t *won = winners + o_i;
                const int32_t corner = (int32_t)(((size_t)py * p * W + (size_t)px * p) * C);
                for (int c = 0; c < C; c++) {
                    best[c] = img[corner + c];
                    won[c] = corner + c;
                }
                for (int dy = 0; dy < p; dy++)
                    for (int dx = dy == 0; dx < p; dx++) {
                        const int32_t at = corner + (int32_t)(((size_t)dy * W + dx) * C);
                        const real *v = img + at;
                        for (int c = 0; c < C; c++) {
                            int larger = v[c] > best[c]; /* the first of equal ones stays */
                            best[c] = larger ? v[c] : best[c];
                            won[c] = larger ? at + c : won[c];
                        }
                    }
            }
    }
}

void RNAME(max_pool_backward)(real *d_in, const real *d_out, const int32_t *winners,
                              nndl_shape shape, int p, int batch)
{
    const nndl_shape o = max_pool_shape(shape, p);
    const size_t n_in = (size_t)shape.channels * shape.height * shape.width,
                 n_out = (size_t)o.channels * o.height * o.width;
    memset(d_in, 0, sizeof *d_in * n_in * (size_t)batch);
    for (int x = 0; x < batch; x++)
        for (size_t i = 0; i < n_out; i++)
            d_in[(size_t)x * n_in + winners[(size_t)x * n_out + i]] +=
                d_out[(size_t)x * n_out + i];
}

static void pool_forward(const layer *l, const real *params, const real *in, real *out,
                         real *ws, int32_t *memo, int batch, parallel *par)
{
    (void)params, (void)ws, (void)par;
    RNAME(max_pool_forward)(out, memo, in, l->in, l->spec.pool, batch);
}

static void pool_backward_input(const layer *l, const real *params, const real *delta,
                                real *d_in, real *ws, const int32_t *memo, int batch,
                                parallel *par)
{
    (void)params, (void)ws, (void)par;
    /* BP2 through a maximum: the error goes to the winner */
    RNAME(max_pool_backward)(d_in, delta, memo, l->in, l->spec.pool, batch);
}

const layer_ops RNAME(pool_ops) = {
    .forward = pool_forward,
    .backward_input = pool_backward_input,
};
