/* A first layer fed by raw pixels: its sparse products, outside the
 * generic loop (sparse_input.c). Active when batch_buffers_init_w1t gave
 * the buffers b->w1t. */
#ifndef NNDL_NET_SPARSE_INPUT_H
#define NNDL_NET_SPARSE_INPUT_H

#include "net/backprop.h"

/* Layer 1's two parts of the weighted input for the whole batch, from the
 * inputs gathered into b->w1t_in. */
void RNAME(sparse_input_parts)(const nndl_net *net, batch_buffers *b, int batch, parallel *par);

/* a^1 for examples [x0, x1): the parts added up, the bias, the activation. */
void RNAME(sparse_input_finish)(const nndl_net *net, const real *params, batch_buffers *b,
                                int x0, int x1);

/* The plain step (eq. 20, 21) of every layer, layer 1's on its transposed
 * weights, each part by the thread that summed it. */
void RNAME(sparse_input_step)(const nndl_net *net, batch_buffers *b, int batch, real *params,
                              real step, parallel *par);

#endif
