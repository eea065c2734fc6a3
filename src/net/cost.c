#include "net/cost.h"

#include <float.h>

#include "net/activation.h"

#ifndef NNDL_REAL_DOUBLE /* precision-independent: defined once */
nndl_activation cost_output_activation(nndl_cost cost)
{
    return cost == NNDL_COST_LOG_LIKELIHOOD ? NNDL_ACT_SOFTMAX : NNDL_ACT_SIGMOID;
}
#endif

/* -ln(p), finite even where p has rounded to 0, as network2.py's
 * np.nan_to_num keeps its cross-entropy finite. */
static double neg_log(double p) { return -log(p > DBL_MIN ? p : DBL_MIN); }

double RNAME(cost_total)(nndl_cost cost, const real *a, const uint8_t *labels,
                         int batch, int n_out)
{
    double total = 0;
    for (int x = 0; x < batch; x++) {
        const real *ax = a + (size_t)x * n_out;
        for (int j = 0; j < n_out; j++) {
            int y = target_value(labels[x], j, n_out);
            double aj = (double)ax[j];
            switch (cost) {
            case NNDL_COST_QUADRATIC: /* C_x = 1/2 ||y - a||^2, eq. 6 */
                total += 0.5 * (y - aj) * (y - aj);
                break;
            case NNDL_COST_CROSS_ENTROPY: /* -[y ln a + (1-y) ln(1-a)], eq. 63 */
                total += y ? neg_log(aj) : neg_log(1 - aj);
                break;
            case NNDL_COST_LOG_LIKELIHOOD: /* -ln a_y, eq. 80 */
                if (y) total += neg_log(aj);
                break;
            }
        }
    }
    return total;
}

void RNAME(cost_output_delta)(nndl_cost cost, nndl_activation act, real *delta,
                              const real *a, const uint8_t *labels, int batch,
                              int n_out)
{
    /* Every cost here starts from a - y: for quadratic cost it is grad_a C
     * (eq. 30); for cross-entropy with sigmoid (eq. 66) and log-likelihood
     * with softmax (eq. 84) sigma'(z) cancels and a - y is all of delta. */
    for (int x = 0; x < batch; x++)
        for (int j = 0; j < n_out; j++) {
            size_t i = (size_t)x * n_out + j;
            delta[i] = a[i] - target_value(labels[x], j, n_out);
        }
    if (cost == NNDL_COST_QUADRATIC) /* BP1: delta = (a - y) (.) sigma'(z) */
        RNAME(activation_backward)(act, delta, a, (size_t)batch * n_out);
}
