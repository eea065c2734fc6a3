/* What a trainer carries from one epoch to the next, as bytes for a
 * checkpoint (src/train/checkpoint.c): the learning rate, the states of the
 * shuffling and dropout generators and, with momentum, the velocities.
 * Layout, little-endian: f32 eta, 4 x u64 shuffle state, 4 x u64 dropout
 * state, u64 V (0, or the parameter count), V x f32 velocities. */
#ifndef NNDL_TRAIN_TRAINER_STATE_H
#define NNDL_TRAIN_TRAINER_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "nndl.h"

size_t trainer_state_size(const nndl_trainer *t);
/* Writes trainer_state_size(t) bytes. */
void trainer_state_write(const nndl_trainer *t, uint8_t *out);
/* Restores a state written by a trainer of the same configuration; errors
 * name `path`. */
nndl_status trainer_state_read(nndl_trainer *t, const uint8_t *in, size_t size,
                               const char *path, nndl_error *err);

#endif
