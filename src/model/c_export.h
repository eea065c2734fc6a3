/* A network as C source to embed: `nndl export MODEL --format c -o DIR`.
 *
 * Writes DIR/NAME.h and DIR/NAME.c, standalone C99 that needs nothing but
 * libm: the weights and biases as `static const float` arrays (printed with
 * %.9g, so each reads back to the same float), the layer sizes, and
 *
 *     int NAME_predict(const float input[N_IN], float output[N_OUT]);
 *
 * which runs the forward pass (eq. 25) with the network's activations and
 * returns its answer as nndl_net_classify does (argmax, or for a single
 * output neuron whether it is at least 0.5). Inputs are the pixels scaled
 * to [0, 1] as the library scales them: byte * (1.0f / 255.0f).
 *
 * Each dot product is summed in double and rounded to float once; the
 * library sums in float in a vectorized order, so outputs can differ in the
 * last bits (tests/test_c_export.c measures this: the answers agree on all
 * of MNIST's test images). */
#ifndef NNDL_MODEL_C_EXPORT_H
#define NNDL_MODEL_C_EXPORT_H

#include "nndl.h"

/* Longest NAME accepted, in characters. */
#define C_EXPORT_MAX_NAME 64

/* The NAME used when none is given: nndl_model.c, nndl_model_predict. */
#define C_EXPORT_DEFAULT_NAME "nndl_model"

/* Writes DIR/NAME.h and then DIR/NAME.c, each atomically (atomic_file.h).
 * `dir` must exist. `name` (NULL for C_EXPORT_DEFAULT_NAME) must be a C
 * identifier of at most C_EXPORT_MAX_NAME characters, else NNDL_ERR_ARG;
 * it names the files and prefixes every external symbol. `source`, which
 * may be NULL, is mentioned in the files' first comment (a model's path). */
nndl_status c_export_write(const nndl_net *net, const char *dir, const char *name,
                           const char *source, nndl_error *err);

#endif
