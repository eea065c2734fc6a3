/* Cost functions: their value and the output error they give (BP1). */
#ifndef NNDL_NET_COST_H
#define NNDL_NET_COST_H

#include <stdint.h>

#include "net/real.h"
#include "nndl.h"

/* Sum over the batch of the per-example cost C_x, for outputs a (B, n_out)
 * and one-hot targets y given by labels (B). The mean cost C of eq. 6 is
 * this divided by B. Summed in double whatever the build. */
double RNAME(cost_total)(nndl_cost cost, const real *a, const uint8_t *labels,
                         int batch, int n_out);

/* BP1: delta^L = grad_a C (.) act'(z^L), for every example of the batch.
 * delta (B, n_out); a (B, n_out) the output activations. */
void RNAME(cost_output_delta)(nndl_cost cost, nndl_activation act, real *delta,
                              const real *a, const uint8_t *labels, int batch,
                              int n_out);

const char *cost_name(nndl_cost cost);

#endif
