/* Cost functions: their value and the output error they give (BP1). */
#ifndef NNDL_NET_COST_H
#define NNDL_NET_COST_H

#include <stdint.h>

#include "net/real.h"
#include "nndl.h"

/* The target y_j for output neuron j of an example labelled `label`:
 * one-hot with several outputs, the label itself (0 or 1) with one. */
static inline int target_value(int label, int j, int n_out)
{
    return n_out == 1 ? label : label == j;
}

/* The activation of the output layer that goes with a cost. */
nndl_activation cost_output_activation(nndl_cost cost);

/* Sum over the batch of the per-example cost C_x, for outputs a (B, n_out)
 * and the targets given by labels (B). The mean cost C is this divided by
 * B. Summed in double whatever the build. */
double RNAME(cost_total)(nndl_cost cost, const real *a, const uint8_t *labels,
                         int batch, int n_out);

/* BP1: delta^L = dC/dz^L for every example of the batch, from the output
 * activations a (B, n_out) of an output layer with activation `act`. */
void RNAME(cost_output_delta)(nndl_cost cost, nndl_activation act, real *delta,
                              const real *a, const uint8_t *labels, int batch,
                              int n_out);

#endif
