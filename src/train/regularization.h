/* L2 and L1 regularization (chapter 3): the terms they add to the cost and
 * to its gradient. Only tensors marked `decay` (weights, not biases) take
 * part. Compiled in float and double like the numeric core. */
#ifndef NNDL_TRAIN_REGULARIZATION_H
#define NNDL_TRAIN_REGULARIZATION_H

#include <stddef.h>

#include "net/network.h"
#include "net/real.h"

/* (lambda/2n) sum w^2 + (lambda_l1/n) sum |w|: eq. 87 and eq. 95. */
double RNAME(regularization_cost)(const nndl_net *net, const real *params, double lambda,
                                  double lambda_l1, size_t n);

/* grad += (lambda/n) w + (lambda_l1/n) sgn(w), the derivatives of those
 * terms (eq. 88, 96), with sgn(0) = 0 as in the book. */
void RNAME(regularization_gradient)(const nndl_net *net, const real *params, real *grad,
                                    double lambda, double lambda_l1, size_t n);

#endif
