/* Model files inside the library: the binary format of docs/MODEL_FORMAT.md
 * with its optional metadata block, and helpers shared with the JSON format
 * (json_model.c). nndl_net_save and nndl_net_load (nndl.h) are these
 * functions without metadata. */
#ifndef NNDL_MODEL_MODEL_FILE_H
#define NNDL_MODEL_MODEL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "nndl.h"

/* Longest metadata block a model file may hold, in bytes. Metadata is a
 * small JSON object (training settings, accuracy at save time), not data. */
#ifndef MODEL_MAX_META_BYTES
#define MODEL_MAX_META_BYTES 65536u
#endif

/* Saves `net` to `path` in the binary format, atomically: version 2 when
 * it holds the network exactly (so that older nndl reads the file), else
 * version 3. `meta_json` is NULL or "" for no metadata, or a JSON object as
 * UTF-8 text of at most MODEL_MAX_META_BYTES bytes, stored verbatim;
 * anything else is NNDL_ERR_ARG and nothing is written. */
nndl_status model_save_with_meta(const nndl_net *net, const char *path, const char *meta_json,
                                 nndl_error *err);

/* Loads a model file: the binary format (versions 1 to 3), or a JSON model
 * (json_model.c) when the first character other than white space is '{'.
 * When `meta_json` is not NULL it receives, on success only, the file's
 * metadata as a NUL-terminated string the caller releases with free(), or
 * NULL when the file has none (version 1, an empty block, JSON models). */
nndl_net *model_load_with_meta(const char *path, char **meta_json, nndl_error *err);

/* NNDL_OK if every parameter of `net` is finite; otherwise NNDL_ERR_ARG,
 * "PATH: not saved: parameter w2[17] is NaN (training diverged?)". Every
 * writer calls this first: the loaders reject NaN and infinity. */
nndl_status model_check_finite(const nndl_net *net, const char *path, nndl_error *err);

/* A name for parameter i of `net`, such as "w2[17]", for messages. */
void model_param_name(const nndl_net *net, size_t i, char *out, size_t cap);

/* NNDL_OK if `net`'s activations are a combination nndl can build: softmax
 * only in the output layer, and the output layer softmax with the
 * log-likelihood cost and sigmoid with the others. Otherwise NNDL_ERR_FORMAT
 * naming `path` and the layer. `acts` holds n_sizes - 1 kinds, layer 1
 * first; each must already be a known kind. */
nndl_status model_check_activations(const char *path, nndl_cost cost, int n_sizes,
                                    const nndl_activation *acts, nndl_error *err);

/* Whether model_net_create would build that network, without allocating
 * anything: NNDL_OK, or its error naming `path`. */
nndl_status model_net_check(const char *path, int n_sizes, const int *sizes, nndl_cost cost,
                            nndl_init init, const nndl_activation *acts, nndl_error *err);

/* The network a model file describes, all parameters zero, built with
 * net_create_zeroed; errors name `path`. Shared by both file formats. */
nndl_net *model_net_create(const char *path, int n_sizes, const int *sizes, nndl_cost cost,
                           nndl_init init, uint64_t seed, const nndl_activation *acts,
                           nndl_error *err);

#endif
