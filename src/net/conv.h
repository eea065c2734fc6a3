/* The convolution as direct loops: the reference that net/conv.c's
 * products are tested against (tests/test_conv.c); and the pooled winners
 * a conv layer records, read in the pooling code's form. */
#ifndef NNDL_NET_CONV_H
#define NNDL_NET_CONV_H

#include <stdint.h>

#include "net/network.h"
#include "net/real.h"
#include "nndl.h"

/* The winner of pooled output i (window i / maps, map i % maps) of one
 * example of conv layer l, from that example's memo: its index in z
 * (positions, maps), as max_pool_forward records it. A layer over one
 * input channel keeps its winners in a form of its own (net/conv.c). */
int32_t RNAME(conv_pool_winner)(const layer *l, const int32_t *memo, int i);

/* z (B, OH, OW, maps) = b + the maps' k x k filters w (maps, k, k, C) over
 * `in` (B, H, W, C) of the given shape; OH = H - k + 1, OW = W - k + 1. */
void RNAME(conv_reference_forward)(real *z, const real *in, const real *w, const real *b,
                                   nndl_shape shape, int maps, int k, int batch);

/* For the errors dz (B, OH, OW, maps) of that z: dw += dC/dw, db += dC/db
 * and, when d_in is not NULL, d_in = dC/d(in) (overwritten). */
void RNAME(conv_reference_backward)(real *dw, real *db, real *d_in, const real *dz,
                                    const real *in, const real *w, nndl_shape shape, int maps,
                                    int k, int batch);

#endif
