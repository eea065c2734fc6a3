/* The fully connected layer of chapters 1-3. */
#include "kernels/matmul.h"
#include "net/activation.h"
#include "net/layer.h"

static void dense_forward(const layer *l, const real *params, const real *in,
                          real *out, int batch, parallel *par)
{
    /* z = w a + b, then a = sigma(z): eq. 25 */
    RNAME(matmul_forward)(out, in, params + l->weights, params + l->biases,
                          batch, l->n_in, l->n_out, par);
    RNAME(activation_forward)(l->act, out, batch, l->n_out);
}

static void dense_backward_params(const layer *l, real *grad, const real *delta,
                                  const real *in, int batch, parallel *par)
{
    /* BP4: dC/dw_jk = a_k^{l-1} delta_j;  BP3: dC/db_j = delta_j */
    RNAME(matmul_backward_params)(grad + l->weights, grad + l->biases, delta, in,
                                  batch, l->n_in, l->n_out, par);
}

static void dense_backward_input(const layer *l, const real *params, const real *delta,
                                 real *d_in, int batch, parallel *par)
{
    RNAME(matmul_backward_input)(d_in, delta, params + l->weights, batch, l->n_in,
                                 l->n_out, par);
}

const layer_ops RNAME(layer_table)[] = {
    [LAYER_DENSE] = {dense_forward, dense_backward_params, dense_backward_input},
};
