/* The scalar type of the numeric core.
 *
 * The files that do arithmetic on activations and parameters (the matrix
 * kernels, activations, costs, layers and backpropagation) are compiled
 * twice: in float, which trains and runs the networks, and in double, which
 * the gradient check needs: a centered difference (eq. 46) resolves a
 * gradient to about 1e-10 in double but only to about 1e-3 in float. The
 * double build checks the very code that trains, not a copy of it.
 *
 * RNAME(x) gives each function the suffix of its build: x_f32 or x_f64.
 * <tgmath.h> makes exp() and friends pick the matching precision. */
#ifndef NNDL_NET_REAL_H
#define NNDL_NET_REAL_H

#include <tgmath.h>

#ifdef NNDL_REAL_DOUBLE
typedef double real;
#define RNAME(name) name##_f64
#else
typedef float real;
#define RNAME(name) name##_f32
#endif

#endif
