#include "net/cost.h"

#include "net/activation.h"

double RNAME(cost_total)(nndl_cost cost, const real *a, const uint8_t *labels,
                         int batch, int n_out)
{
    double total = 0;
    switch (cost) {
    case NNDL_COST_QUADRATIC: /* C_x = 1/2 ||y(x) - a||^2 */
        for (int x = 0; x < batch; x++)
            for (int j = 0; j < n_out; j++) {
                double y = labels[x] == j ? 1.0 : 0.0;
                double e = y - (double)a[(size_t)x * n_out + j];
                total += 0.5 * e * e;
            }
        break;
    }
    return total;
}

void RNAME(cost_output_delta)(nndl_cost cost, nndl_activation act, real *delta,
                              const real *a, const uint8_t *labels, int batch,
                              int n_out)
{
    size_t n = (size_t)batch * n_out;
    switch (cost) {
    case NNDL_COST_QUADRATIC: /* grad_a C = a - y (eq. 30) */
        for (int x = 0; x < batch; x++)
            for (int j = 0; j < n_out; j++) {
                size_t i = (size_t)x * n_out + j;
                delta[i] = a[i] - (labels[x] == j ? 1 : 0);
            }
        RNAME(activation_backward)(act, delta, a, n);
        break;
    }
}

#ifndef NNDL_REAL_DOUBLE /* precision-independent: defined once */
const char *cost_name(nndl_cost cost)
{
    switch (cost) {
    case NNDL_COST_QUADRATIC: return "quadratic";
    }
    return "unknown";
}
#endif
