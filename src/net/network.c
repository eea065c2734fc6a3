#include "net/network.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "net/backprop.h"
#include "net/cost.h"

nndl_net_spec nndl_net_spec_default(int n_sizes, const int *sizes)
{
    nndl_net_spec spec = {0};
    spec.n_sizes = n_sizes;
    spec.sizes = sizes;
    spec.cost = NNDL_COST_QUADRATIC;
    spec.act = NNDL_ACT_SIGMOID;
    spec.hidden_acts = NULL;
    spec.init = NNDL_INIT_SCALED;
    spec.seed = 0;
    return spec;
}

/* The activation of hidden layer l (1 <= l <= n_sizes - 2). */
static nndl_activation hidden_activation(const nndl_net_spec *spec, int l)
{
    return spec->hidden_acts ? spec->hidden_acts[l - 1] : spec->act;
}

nndl_status net_spec_check(const nndl_net_spec *spec, nndl_error *err)
{
    if (!spec || !spec->sizes)
        return error_set(err, NNDL_ERR_ARG, "sizes: missing");
    if (spec->n_sizes < 2 || spec->n_sizes > NNDL_MAX_LAYERS)
        return error_set(err, NNDL_ERR_ARG,
                         "sizes: %d layers given; need 2 to %d (input and output at least)",
                         spec->n_sizes, NNDL_MAX_LAYERS);
    uint64_t total = 0;
    for (int l = 0; l < spec->n_sizes; l++) {
        int n = spec->sizes[l];
        if (n < 1 || n > NNDL_MAX_LAYER_SIZE)
            return error_set(err, NNDL_ERR_ARG,
                             "sizes: layer %d has %d neurons; need 1 to %d", l, n,
                             NNDL_MAX_LAYER_SIZE);
        /* Each term is at most 1e6 * (1e6 + 1): no overflow in 64 bits. */
        if (l > 0) total += (uint64_t)n * ((uint64_t)spec->sizes[l - 1] + 1);
    }
    if (total > NNDL_MAX_PARAMS)
        return error_set(err, NNDL_ERR_ARG,
                         "sizes: %llu weights and biases; the limit is %llu",
                         (unsigned long long)total, (unsigned long long)NNDL_MAX_PARAMS);
    if ((unsigned)spec->cost >= NNDL_COST_COUNT)
        return error_set(err, NNDL_ERR_ARG, "cost: unknown kind %d", (int)spec->cost);
    if ((unsigned)spec->init >= NNDL_INIT_COUNT)
        return error_set(err, NNDL_ERR_ARG, "init: unknown kind %d", (int)spec->init);
    if (spec->cost == NNDL_COST_LOG_LIKELIHOOD && spec->sizes[spec->n_sizes - 1] < 2)
        return error_set(err, NNDL_ERR_ARG,
                         "cost: log-likelihood needs at least 2 output neurons (softmax)");
    for (int l = 1; l < spec->n_sizes - 1; l++) {
        nndl_activation act = hidden_activation(spec, l);
        if ((unsigned)act >= NNDL_ACT_COUNT)
            return error_set(err, NNDL_ERR_ARG, "activation: unknown kind %d", (int)act);
        if (act == NNDL_ACT_SOFTMAX)
            return error_set(err, NNDL_ERR_ARG,
                             "activation: softmax is for the output layer (use the "
                             "log-likelihood cost), not hidden layer %d", l);
    }
    return NNDL_OK;
}

/* Lays out layers and tensors: per layer, weights then biases. */
static void net_layout(nndl_net *net, const nndl_net_spec *spec)
{
    size_t offset = 0;
    net->n_layers = net->n_sizes - 1;
    net->n_tensors = 0;
    for (int l = 0; l < net->n_layers; l++) {
        layer *ly = &net->layers[l];
        ly->kind = LAYER_DENSE;
        ly->act = l + 1 < net->n_layers ? hidden_activation(spec, l + 1)
                                        : cost_output_activation(spec->cost);
        ly->n_in = net->sizes[l];
        ly->n_out = net->sizes[l + 1];
        ly->weights = offset;
        ly->biases = offset + (size_t)ly->n_out * ly->n_in;
        ly->n_params = (size_t)ly->n_out * ly->n_in + ly->n_out;
        offset += ly->n_params;

        param_tensor *w = &net->tensors[net->n_tensors++];
        snprintf(w->name, sizeof w->name, "w%d", l + 1);
        w->offset = ly->weights;
        w->count = (size_t)ly->n_out * ly->n_in;
        w->decay = 1;
        param_tensor *b = &net->tensors[net->n_tensors++];
        snprintf(b->name, sizeof b->name, "b%d", l + 1);
        b->offset = ly->biases;
        b->count = ly->n_out;
        b->decay = 0;
    }
    net->n_params = offset;
}

nndl_net *net_create_zeroed(const nndl_net_spec *spec, nndl_error *err)
{
    if (net_spec_check(spec, err) != NNDL_OK) return NULL;
    nndl_net *net = alloc_zeroed(1, sizeof *net);
    if (!net) {
        error_set(err, NNDL_ERR_NOMEM, "out of memory for a network");
        return NULL;
    }
    net->n_sizes = spec->n_sizes;
    memcpy(net->sizes, spec->sizes, sizeof(int) * (size_t)spec->n_sizes);
    net->cost = spec->cost;
    net->init = spec->init;
    net->seed = spec->seed;
    net_layout(net, spec);
    net->params = alloc_aligned(net->n_params, sizeof(float));
    if (!net->params) {
        error_set(err, NNDL_ERR_NOMEM, "out of memory for %zu weights and biases",
                  net->n_params);
        alloc_free(net);
        return NULL;
    }
    return net;
}

nndl_net *nndl_net_create(const nndl_net_spec *spec, nndl_error *err)
{
    nndl_net *net = net_create_zeroed(spec, err);
    if (!net) return NULL;
    /* Biases from N(0,1); weights from N(0,1) (chapter 1, "large") or
     * N(0, 1/n_in) (chapter 3, "scaled", so that z = sum w a + b starts with
     * a standard deviation near 1 and neurons do not start saturated).
     * Drawn in the order of network.py: all biases, then all weights. */
    rng r;
    rng_seed(&r, spec->seed, RNG_STREAM_INIT);
    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        for (int j = 0; j < ly->n_out; j++) net->params[ly->biases + j] = (float)rng_normal(&r);
    }
    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        double scale = spec->init == NNDL_INIT_SCALED ? 1.0 / sqrt((double)ly->n_in) : 1.0;
        size_t n = (size_t)ly->n_out * ly->n_in;
        for (size_t i = 0; i < n; i++)
            net->params[ly->weights + i] = (float)(scale * rng_normal(&r));
    }
    return net;
}

void nndl_net_free(nndl_net *net)
{
    if (!net) return;
    if (net->scratch) {
        batch_buffers_free_f32(net->scratch);
        alloc_free(net->scratch);
    }
    parallel_free(net->pool);
    alloc_free(net->params);
    alloc_free(net);
}

nndl_net_spec net_spec_of(const nndl_net *net, nndl_activation *hidden_acts)
{
    nndl_net_spec spec = nndl_net_spec_default(net->n_sizes, net->sizes);
    spec.cost = net->cost;
    spec.init = net->init;
    spec.seed = net->seed;
    for (int l = 0; l + 1 < net->n_layers; l++) hidden_acts[l] = net->layers[l].act;
    spec.hidden_acts = hidden_acts;
    if (net->n_layers > 1) spec.act = hidden_acts[0];
    return spec;
}

nndl_net *nndl_net_clone(const nndl_net *net, nndl_error *err)
{
    nndl_activation acts[NNDL_MAX_LAYERS];
    nndl_net_spec spec = net_spec_of(net, acts);
    nndl_net *copy = net_create_zeroed(&spec, err);
    if (!copy) return NULL;
    memcpy(copy->params, net->params, net->n_params * sizeof(float));
    copy->threads = net->threads;
    return copy;
}

int nndl_net_n_sizes(const nndl_net *net) { return net->n_sizes; }

int nndl_net_size(const nndl_net *net, int layer_index)
{
    return layer_index >= 0 && layer_index < net->n_sizes ? net->sizes[layer_index] : 0;
}

nndl_cost nndl_net_cost(const nndl_net *net) { return net->cost; }
nndl_activation nndl_net_activation(const nndl_net *net, int layer_index)
{
    return layer_index >= 1 && layer_index <= net->n_layers ? net->layers[layer_index - 1].act
                                                            : NNDL_ACT_SIGMOID;
}
nndl_init nndl_net_init(const nndl_net *net) { return net->init; }
uint64_t nndl_net_seed(const nndl_net *net) { return net->seed; }
size_t nndl_net_param_count(const nndl_net *net) { return net->n_params; }
float *nndl_net_params(nndl_net *net) { return net->params; }
const float *nndl_net_params_const(const nndl_net *net) { return net->params; }

void nndl_net_set_threads(nndl_net *net, int threads)
{
    net->threads = threads < 0 ? 0 : threads;
    parallel_free(net->pool);
    net->pool = NULL;
}

parallel *net_parallel(nndl_net *net)
{
    int threads = net->threads > 0 ? net->threads : omp_get_max_threads();
    if (!net->pool && threads > 1) net->pool = parallel_create(threads, NULL);
    return net->pool;
}

struct batch_buffers_f32 *net_scratch(nndl_net *net, int batch, nndl_error *err)
{
    if (net->scratch && net->scratch->capacity >= batch) return net->scratch;
    batch_buffers fresh;
    if (batch_buffers_init_f32(&fresh, net, batch, 0, err) != NNDL_OK) return NULL;
    if (!net->scratch) {
        net->scratch = alloc_zeroed(1, sizeof *net->scratch);
        if (!net->scratch) {
            batch_buffers_free_f32(&fresh);
            error_set(err, NNDL_ERR_NOMEM, "out of memory for inference buffers");
            return NULL;
        }
    } else {
        batch_buffers_free_f32(net->scratch);
    }
    *net->scratch = fresh;
    return net->scratch;
}

int net_answer(const float *outputs, int n_out)
{
    if (n_out == 1) return outputs[0] >= 0.5f;
    return argmax_f32(outputs, n_out);
}

int argmax_f32(const float *values, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (values[i] > values[best]) best = i;
    return best;
}

/* Inference runs in chunks of this many examples. */
enum { FEEDFORWARD_CHUNK = 256 };

nndl_status nndl_net_feedforward(nndl_net *net, const float *inputs, size_t count,
                                 float *outputs, nndl_error *err)
{
    int n_in = net->sizes[0], n_out = net->sizes[net->n_sizes - 1];
    int chunk = count < FEEDFORWARD_CHUNK ? (int)count : FEEDFORWARD_CHUNK;
    if (count == 0) return NNDL_OK;
    batch_buffers *b = net_scratch(net, chunk, err);
    if (!b) return err ? err->status : NNDL_ERR_NOMEM;
    parallel *par = net_parallel(net);
    for (size_t first = 0; first < count; first += (size_t)chunk) {
        int n = count - first < (size_t)chunk ? (int)(count - first) : chunk;
        memcpy(b->a[0], inputs + first * n_in, sizeof(float) * (size_t)n * n_in);
        feedforward_batch_f32(net, net->params, b, n, par);
        memcpy(outputs + first * n_out, b->a[net->n_layers], sizeof(float) * (size_t)n * n_out);
    }
    return NNDL_OK;
}

nndl_status nndl_net_feedforward_layers(nndl_net *net, const float *input,
                                        float *activations, nndl_error *err)
{
    batch_buffers *b = net_scratch(net, 1, err);
    if (!b) return err ? err->status : NNDL_ERR_NOMEM;
    memcpy(b->a[0], input, sizeof(float) * (size_t)net->sizes[0]);
    feedforward_batch_f32(net, net->params, b, 1, net_parallel(net));
    for (int l = 1; l <= net->n_layers; l++) {
        memcpy(activations, b->a[l], sizeof(float) * (size_t)net->sizes[l]);
        activations += net->sizes[l];
    }
    return NNDL_OK;
}

int nndl_net_classify(nndl_net *net, const float *input)
{
    batch_buffers *b = net_scratch(net, 1, NULL);
    if (!b) return -1;
    memcpy(b->a[0], input, sizeof(float) * (size_t)net->sizes[0]);
    feedforward_batch_f32(net, net->params, b, 1, net_parallel(net));
    return net_answer(b->a[net->n_layers], net->sizes[net->n_sizes - 1]);
}
