#include "net/activation.h"

void RNAME(activation_forward)(nndl_activation act, real *values, size_t n)
{
    switch (act) {
    case NNDL_ACT_SIGMOID:
        /* For z below about -88 (float), exp(-z) is +inf and 1/inf = 0:
         * the limit, and never NaN. */
        for (size_t i = 0; i < n; i++) values[i] = 1 / (1 + exp(-values[i]));
        break;
    }
}

void RNAME(activation_backward)(nndl_activation act, real *d, const real *a, size_t n)
{
    switch (act) {
    case NNDL_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) d[i] *= a[i] * (1 - a[i]);
        break;
    }
}

#ifndef NNDL_REAL_DOUBLE /* precision-independent: defined once */
const char *activation_name(nndl_activation act)
{
    switch (act) {
    case NNDL_ACT_SIGMOID: return "sigmoid";
    }
    return "unknown";
}
#endif
