/* Activation functions, applied elementwise to a whole batch. */
#ifndef NNDL_NET_ACTIVATION_H
#define NNDL_NET_ACTIVATION_H

#include <stddef.h>

#include "net/real.h"
#include "nndl.h"

/* a = act(z), in place over n values (eq. 3 for the sigmoid). */
void RNAME(activation_forward)(nndl_activation act, real *values, size_t n);

/* d = d * act'(z), with act'(z) computed from the activation a = act(z):
 * for the sigmoid, sigma'(z) = sigma(z) (1 - sigma(z)) = a (1 - a). This is
 * the Hadamard product with sigma'(z) in BP1 and BP2. */
void RNAME(activation_backward)(nndl_activation act, real *d, const real *a, size_t n);

/* The name used on the command line and in files, e.g. "sigmoid". */
const char *activation_name(nndl_activation act);

#endif
