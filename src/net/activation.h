/* Activation functions, applied to a whole batch. */
#ifndef NNDL_NET_ACTIVATION_H
#define NNDL_NET_ACTIVATION_H

#include <stddef.h>

#include "net/real.h"
#include "nndl.h"

/* a = act(z), in place over a (batch, width) matrix. Softmax works on each
 * row (one example); the others work elementwise. */
void RNAME(activation_forward)(nndl_activation act, real *values, int batch, int width);

/* d = d (.) act'(z), computed from the activation a = act(z) alone:
 *   sigmoid  a (1 - a)       tanh  1 - a^2       ReLU  1 if a > 0, else 0
 *   linear   1
 * This is the Hadamard product with sigma'(z) in BP1 and BP2. Softmax has
 * no elementwise derivative: the log-likelihood cost's BP1 covers it. */
void RNAME(activation_backward)(nndl_activation act, real *d, const real *a, size_t n);

#endif
