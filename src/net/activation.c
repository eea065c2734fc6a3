#include "net/activation.h"

#include <assert.h>

#include "kernels/matmul.h"

/* Each row minus its largest entry before exp: e^(z - max) never
 * overflows, and the ratios e^z_j / sum_k e^z_k are unchanged. */
static void softmax_rows(real *values, int batch, int width)
{
    for (int x = 0; x < batch; x++) {
        real *z = values + (size_t)x * width;
        real largest = z[0];
        for (int j = 1; j < width; j++)
            if (z[j] > largest) largest = z[j];
        real sum = 0;
        for (int j = 0; j < width; j++) {
            z[j] = exp(z[j] - largest);
            sum += z[j];
        }
        for (int j = 0; j < width; j++) z[j] /= sum;
    }
}

void RNAME(activation_forward)(nndl_activation act, real *values, int batch, int width)
{
    size_t n = (size_t)batch * width;
    switch (act) {
    case NNDL_ACT_SIGMOID:
        RNAME(sigmoid)(values, n); /* eq. 3; vectorized where the CPU can */
        break;
    case NNDL_ACT_TANH:
        for (size_t i = 0; i < n; i++) values[i] = tanh(values[i]);
        break;
    case NNDL_ACT_RELU:
        for (size_t i = 0; i < n; i++) values[i] = values[i] > 0 ? values[i] : 0;
        break;
    case NNDL_ACT_SOFTMAX:
        softmax_rows(values, batch, width);
        break;
    case NNDL_ACT_LINEAR: /* a = z */
        break;
    }
}

void RNAME(activation_backward)(nndl_activation act, real *d, const real *a, size_t n)
{
    switch (act) {
    case NNDL_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) d[i] *= a[i] * (1 - a[i]);
        break;
    case NNDL_ACT_TANH:
        for (size_t i = 0; i < n; i++) d[i] *= 1 - a[i] * a[i];
        break;
    case NNDL_ACT_RELU:
        for (size_t i = 0; i < n; i++) d[i] = a[i] > 0 ? d[i] : 0;
        break;
    case NNDL_ACT_SOFTMAX:
        assert(!"softmax has no elementwise derivative");
        break;
    case NNDL_ACT_LINEAR: /* sigma'(z) = 1 */
        break;
    }
}
