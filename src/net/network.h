/* The network object: layer list, parameter layout and scratch space.
 *
 * All weights and biases live in one float buffer (`params`), and a layer
 * only knows the offsets of its tensors in it. A gradient buffer of the same
 * layout therefore makes the update (eq. 20, 21), saving, loading and the
 * gradient check each a single loop over n_params floats. */
#ifndef NNDL_NET_NETWORK_H
#define NNDL_NET_NETWORK_H

#include <stddef.h>

#include "common/rng.h"
#include "kernels/parallel.h"
#include "nndl.h"

/* Kinds of layer: the public numbers, which model files store. */
typedef enum layer_kind {
    LAYER_DENSE = NNDL_LAYER_FC, /* fully connected: a = act(w a_in + b), eq. 25 */
    LAYER_CONV = NNDL_LAYER_CONV, /* convolution, max-pool, bias, activation */
    LAYER_POOL = NNDL_LAYER_POOL  /* max-pooling */
} layer_kind;

/* One layer: what it was made from, its shapes, and where its parameters
 * and scratch lie. Activations with a shape are stored height x width x
 * channels (a position's channels together), so that a dense layer reads
 * any of them as a flat vector and a convolution's input rows are
 * contiguous (net/conv.c). */
typedef struct layer {
    layer_kind kind;
    nndl_activation act;
    nndl_layer_spec spec; /* maps or neurons, kernel, pool, dropout */
    nndl_shape in, out;
    int n_in, n_out;      /* in and out, flattened */
    size_t weights;       /* offset of w (n_out x n_in, row j = neuron j, for dense) */
    size_t biases;        /* offset of b */
    size_t n_weights, n_biases, n_params;
    int fan_in, fan_out;  /* of one weight's neuron, for initialization */
    size_t macs;          /* multiply-adds of its forward pass per example */
    size_t workspace;     /* reals of the shared workspace per example */
    size_t memo;          /* int32s remembered from forward to backward per
                             example (max-pool's winners) */
} layer;

/* One entry per tensor of the parameter buffer. Regularization will decay
 * weights but not biases (chapter 3); `decay` keeps that rule with the data. */
typedef struct param_tensor {
    char name[16]; /* "w1", "b1", ... numbered by layer as in the book */
    size_t offset, count;
    int fan_in;    /* inputs of the neuron a weight feeds (0 for biases) */
    int decay;
} param_tensor;

struct batch_buffers_f32; /* net/backprop.h */

struct nndl_net {
    int n_sizes;
    int sizes[NNDL_MAX_LAYERS]; /* flattened widths: inputs, then each layer */
    nndl_shape input;
    nndl_cost cost;
    nndl_init init;
    uint64_t seed;

    int n_layers; /* n_sizes - 1: the input layer has no parameters */
    layer layers[NNDL_MAX_LAYERS - 1];
    int n_tensors;
    param_tensor tensors[2 * (NNDL_MAX_LAYERS - 1)];

    size_t n_params;
    float *params;

    int threads;     /* 0: all cores */
    parallel *pool;  /* started on first use when threads > 1 */
    /* Activations for inference (feedforward, evaluate), grown on demand. */
    struct batch_buffers_f32 *scratch;
};

/* Checks a spec: sizes count, each size, parameter total, enum values,
 * no softmax in hidden layers. */
nndl_status net_spec_check(const nndl_net_spec *spec, nndl_error *err);

/* The same, and the number of weights and biases the spec implies. */
nndl_status net_spec_count(const nndl_net_spec *spec, size_t *n_params, nndl_error *err);

/* A network of `spec` with all parameters zero: the layout without the
 * random initialization, for loading a model file into. Each layer's
 * activation is layers[l].act (the output layer's follows from the cost). */
nndl_net *net_create_zeroed(const nndl_net_spec *spec, nndl_error *err);

/* The thread pool for `net`'s products, started on first use; NULL for one
 * thread (or if threads cannot be started: the work then runs serially). */
parallel *net_parallel(nndl_net *net);

/* Inference scratch with room for at least `batch` examples. */
struct batch_buffers_f32 *net_scratch(nndl_net *net, int batch, nndl_error *err);

/* Index of the largest of n values; the first one on ties. */
int argmax_f32(const float *values, int n);

/* The network's answer for one output vector: argmax, or for a single
 * output neuron, whether it is at least 0.5. */
int net_answer(const float *outputs, int n_out);

/* The spec `net` was made from, as a sequence of layers; `layers` must
 * have room for NNDL_MAX_LAYERS entries and backs spec.layers. */
nndl_net_spec net_spec_of(const nndl_net *net, nndl_layer_spec *layers);

/* The probability of dropping each neuron of a^l in training, for every l
 * (drop[0] and the output's are 0): a layer's own dropout, else p for the
 * hidden neurons that feed a fully connected layer. Returns whether any is
 * non-zero. */
int net_dropout(const nndl_net *net, double p, double drop[NNDL_MAX_LAYERS]);

/* Workspace reals per example: the largest of any layer's. */
size_t net_workspace(const nndl_net *net);

#endif
