/* Max-pooling, shared by the pooling layer and the convolutional layer
 * that pools its own output (network3.py's ConvPoolLayer). */
#ifndef NNDL_NET_MAXPOOL_H
#define NNDL_NET_MAXPOOL_H

#include <stdint.h>

#include "net/real.h"
#include "nndl.h"

/* The shape of p x p max-pooling (stride p) of `in`: each side divided by
 * p, any remainder left out, as network3.py's pool (ignore_border). */
static inline nndl_shape max_pool_shape(nndl_shape in, int p)
{
    return (nndl_shape){in.channels, in.height / p, in.width / p};
}

/* out = the largest value of each p x p region of each channel, for
 * `batch` examples of shape `in` (height x width x channels) and out in
 * max_pool_shape. winners[i] receives the index, within its example's
 * input, of the value out[i] is: the first of equal ones, in row order. */
void RNAME(max_pool_forward)(real *out, int32_t *winners, const real *in, nndl_shape shape,
                             int p, int batch);

/* d_in = d_out at each winner and 0 elsewhere: the derivative of a maximum
 * is 1 for the input that is the maximum and 0 for the others. */
void RNAME(max_pool_backward)(real *d_in, const real *d_out, const int32_t *winners,
                              nndl_shape shape, int p, int batch);

#endif
