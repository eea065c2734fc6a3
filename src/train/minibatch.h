/* Turning stored images into the input matrix of a batch. */
#ifndef NNDL_TRAIN_MINIBATCH_H
#define NNDL_TRAIN_MINIBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/parallel.h"
#include "nndl.h"

/* Writes images order[first .. first+n) of ds (or first .. first+n when
 * order is NULL) as rows of x, pixels scaled from 0..255 to [0,1], and
 * their labels to `labels`. x is (n, rows*cols). Large batches are split
 * over the threads of `par` (which may be NULL): by examples, or with
 * `split` > 0 into pixels [0, split) and [split, rows*cols) of every
 * example, the two parts of a first layer's sparse products (each thread
 * then writes only the pixels it will read). With an order, it also asks
 * the memory system for the next n images of the order, which the next
 * batch will gather. */
void gather_batch(float *x, uint8_t *labels, const nndl_dataset *ds,
                  const uint32_t *order, size_t first, int n, int split, parallel *par);

/* NNDL_ERR_ARG unless the network fits the data: input layer of rows*cols
 * neurons and an output neuron for every label. `what` names the data. */
nndl_status check_net_fits_data(const nndl_net *net, const nndl_dataset *ds,
                                const char *what, nndl_error *err);

#endif
