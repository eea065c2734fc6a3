/* The fully connected layer of chapters 1-3. */
#include "common/error.h"
#include "kernels/matmul.h"
#include "net/activation.h"
#include "net/layer.h"

#ifndef NNDL_REAL_DOUBLE /* the shape rule: one build */
nndl_status dense_configure(layer *l, int index, nndl_error *err)
{
    int n_in = l->in.channels * l->in.height * l->in.width;
    if (l->spec.size < 1 || l->spec.size > NNDL_MAX_LAYER_SIZE)
        return error_set(err, NNDL_ERR_ARG, "layer %d: %d neurons; need 1 to %d", index,
                         l->spec.size, NNDL_MAX_LAYER_SIZE);
    l->out = (nndl_shape){l->spec.size, 1, 1};
    l->n_weights = (size_t)l->spec.size * (size_t)n_in;
    l->n_biases = (size_t)l->spec.size;
    l->fan_in = n_in;
    l->fan_out = l->spec.size;
    l->macs = l->n_weights;
    return NNDL_OK;
}
#endif

typedef struct activation_job {
    nndl_activation act;
    real *values;
    int width;
} activation_job;

/* Examples [x0, x1) of the batch: their activations are independent. */
static void activate_rows(void *ctx, int x0, int x1)
{
    const activation_job *job = ctx;
    RNAME(activation_forward)(job->act, job->values + (size_t)x0 * job->width, x1 - x0,
                              job->width);
}

/* An exp costs some 20 cycles: 4096 of them are worth a second thread. */
enum { MIN_PARALLEL_ACTIVATIONS = 4096 };

static void dense_forward(const layer *l, const real *params, const real *in, real *out,
                          real *ws, int32_t *memo, int batch, parallel *par)
{
    (void)ws, (void)memo;
    /* z = w a + b, then a = sigma(z): eq. 25 */
    RNAME(matmul_forward)(out, in, params + l->weights, params + l->biases,
                          batch, l->n_in, l->n_out, par);
    activation_job job = {l->act, out, l->n_out};
    parallel_for(par, batch, parallel_split(par, batch, l->n_out, MIN_PARALLEL_ACTIVATIONS),
                 activate_rows, &job);
}

static void dense_forward_sparse_part(const layer *l, const real *wt, int stride,
                                      const real *in, real *part, int batch, int k0, int k1,
                                      parallel *par)
{
    /* a part of w a in eq. 25, the zero inputs skipped */
    RNAME(matmul_forward_sparse)(part, in, wt + (size_t)k0 * stride, NULL, batch, k1 - k0, 0,
                                 k1 - k0, l->n_out, stride, par);
}

static void dense_forward_sparse_finish(const layer *l, const real *params, const real *part1,
                                        const real *part2, real *out, int batch)
{
    /* z = (w a over part 1 + w a over part 2) + b, then a = sigma(z): eq. 25 */
    const real *b = params + l->biases;
    for (int x = 0; x < batch; x++) {
        size_t row = (size_t)x * l->n_out;
        for (int j = 0; j < l->n_out; j++) out[row + j] = (part1[row + j] + part2[row + j]) + b[j];
    }
    RNAME(activation_forward)(l->act, out, batch, l->n_out);
}

static void dense_backward_params(const layer *l, real *grad, const real *delta,
                                  const real *in, real *ws, const int32_t *memo, int batch,
                                  parallel *par)
{
    (void)ws, (void)memo;
    /* BP4: dC/dw_jk = a_k^{l-1} delta_j;  BP3: dC/db_j = delta_j */
    RNAME(matmul_backward_params)(grad + l->weights, grad + l->biases, delta, in,
                                  batch, l->n_in, l->n_out, par);
}

static void dense_backward_params_step(const layer *l, real *params, const real *delta,
                                       const real *in, real step, real *ws,
                                       const int32_t *memo, int batch, parallel *par)
{
    (void)ws, (void)memo;
    /* BP3, BP4 as above, and w -> w - step dC/dw, b -> b - step dC/db: eq. 20, 21 */
    RNAME(matmul_backward_params_step)(params + l->weights, params + l->biases, delta, in,
                                       step, batch, l->n_in, l->n_out, par);
}

static void dense_backward_params_step_sparse(const layer *l, real *params, real *wt,
                                              int stride, const real *delta, const real *in,
                                              real step, int batch, int k0, int k1, int biases,
                                              parallel *par)
{
    /* eq. 20, 21 as above, on the transposed weights */
    RNAME(matmul_backward_params_step_sparse)(wt + (size_t)k0 * stride,
                                              biases ? params + l->biases : NULL, delta, in,
                                              step, batch, k1 - k0, 0, k1 - k0, l->n_out,
                                              stride, par);
}

static void dense_backward_input(const layer *l, const real *params, const real *delta,
                                 real *d_in, real *ws, const int32_t *memo, int batch,
                                 parallel *par)
{
    (void)ws, (void)memo;
    RNAME(matmul_backward_input)(d_in, delta, params + l->weights, batch, l->n_in,
                                 l->n_out, par);
}

static void dense_backward_input_step(const layer *l, real *params, const real *delta,
                                      const real *in, real *d_in, real step, real shrink,
                                      int batch, parallel *par)
{
    /* BP2 with the weights as they are; then eq. 93's decay and eq. 20, 21 */
    RNAME(matmul_backward_input_step)(d_in, params + l->weights, params + l->biases, delta, in,
                                      step, shrink, batch, l->n_in, l->n_out, par);
}

const layer_ops RNAME(dense_ops) = {
    .forward = dense_forward,
    .backward_params = dense_backward_params,
    .backward_params_step = dense_backward_params_step,
    .backward_input = dense_backward_input,
    .backward_input_step = dense_backward_input_step,
    .forward_sparse_part = dense_forward_sparse_part,
    .forward_sparse_finish = dense_forward_sparse_finish,
    .backward_params_step_sparse = dense_backward_params_step_sparse,
};
