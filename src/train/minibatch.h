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
 * by examples over the threads of `par` (which may be NULL). With an
 * order, it also asks the memory system for the next n images of the
 * order, which the next batch will gather. */
void gather_batch(float *x, uint8_t *labels, const nndl_dataset *ds,
                  const uint32_t *order, size_t first, int n, parallel *par);

/* The same in two parts, the two of a first layer's sparse products:
 * pixels [0, split) of every example as the rows of parts[0] (n, split),
 * the others as the rows of parts[1] (n, rows*cols - split). With `par`
 * each part goes to a thread of its own, which then writes only the pixels
 * it will read. */
void gather_batch_parts(float *const parts[2], int split, uint8_t *labels,
                        const nndl_dataset *ds, const uint32_t *order, size_t first, int n,
                        parallel *par);

/* NNDL_ERR_ARG unless the network fits the data: input layer of rows*cols
 * neurons and an output neuron for every label. `what` names the data. */
nndl_status check_net_fits_data(const nndl_net *net, const nndl_dataset *ds,
                                const char *what, nndl_error *err);

#endif
