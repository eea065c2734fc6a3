#include "train/regularization.h"

double RNAME(regularization_cost)(const nndl_net *net, const real *params, double lambda,
                                  double lambda_l1, size_t n)
{
    double squares = 0, absolutes = 0;
    for (int t = 0; t < net->n_tensors; t++) {
        const param_tensor *tensor = &net->tensors[t];
        if (!tensor->decay) continue;
        const real *w = params + tensor->offset;
        for (size_t i = 0; i < tensor->count; i++) {
            squares += (double)w[i] * w[i];
            absolutes += fabs((double)w[i]);
        }
    }
    return lambda / (2.0 * n) * squares + lambda_l1 / n * absolutes;
}

void RNAME(regularization_gradient)(const nndl_net *net, const real *params, real *grad,
                                    double lambda, double lambda_l1, size_t n)
{
    const real l2 = (real)(lambda / n), l1 = (real)(lambda_l1 / n);
    for (int t = 0; t < net->n_tensors; t++) {
        const param_tensor *tensor = &net->tensors[t];
        if (!tensor->decay) continue;
        const real *w = params + tensor->offset;
        real *g = grad + tensor->offset;
        for (size_t i = 0; i < tensor->count; i++) {
            real sign = (real)((w[i] > 0) - (w[i] < 0));
            g[i] += l2 * w[i] + l1 * sign;
        }
    }
}
