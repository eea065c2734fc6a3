#include "net/network.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "net/backprop.h"
#include "net/cost.h"
#include "net/layer.h"

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

nndl_layer_spec nndl_layer_fc(int neurons, nndl_activation act)
{
    nndl_layer_spec l = {NNDL_LAYER_FC, neurons, 0, 0, act, 0};
    return l;
}

nndl_layer_spec nndl_layer_conv(int maps, int kernel, int pool, nndl_activation act)
{
    nndl_layer_spec l = {NNDL_LAYER_CONV, maps, kernel, pool, act, 0};
    return l;
}

nndl_layer_spec nndl_layer_pool(int pool)
{
    nndl_layer_spec l = {NNDL_LAYER_POOL, 0, 0, pool, NNDL_ACT_LINEAR, 0};
    return l;
}

/* The activation of hidden layer l (1 <= l <= n_sizes - 2). */
static nndl_activation hidden_activation(const nndl_net_spec *spec, int l)
{
    return spec->hidden_acts ? spec->hidden_acts[l - 1] : spec->act;
}

/* A spec given by sizes as a sequence of fully connected layers. */
static nndl_status layers_of_sizes(const nndl_net_spec *spec, nndl_layer_spec *out,
                                   int *n_layers, nndl_shape *input, nndl_error *err)
{
    if (!spec->sizes) return error_set(err, NNDL_ERR_ARG, "sizes: missing");
    if (spec->n_sizes < 2 || spec->n_sizes > NNDL_MAX_LAYERS)
        return error_set(err, NNDL_ERR_ARG,
                         "sizes: %d layers given; need 2 to %d (input and output at least)",
                         spec->n_sizes, NNDL_MAX_LAYERS);
    for (int l = 0; l < spec->n_sizes; l++) {
        int n = spec->sizes[l];
        if (n < 1 || n > NNDL_MAX_LAYER_SIZE)
            return error_set(err, NNDL_ERR_ARG, "sizes: layer %d has %d neurons; need 1 to %d",
                             l, n, NNDL_MAX_LAYER_SIZE);
    }
    *input = (nndl_shape){spec->sizes[0], 1, 1};
    *n_layers = spec->n_sizes - 1;
    for (int l = 1; l < spec->n_sizes; l++)
        out[l - 1] = nndl_layer_fc(spec->sizes[l],
                                   l + 1 < spec->n_sizes ? hidden_activation(spec, l)
                                                         : NNDL_ACT_SIGMOID);
    return NNDL_OK;
}

/* Fills layers[0 .. n) from the spec: kinds, activations, shapes, and
 * the offsets of their tensors in the parameter buffer (per layer, weights
 * then biases); `*n_params` receives the total. Checks everything. */
static nndl_status plan_layers(const nndl_net_spec *spec, layer *layers, int *n_layers,
                               nndl_shape *input, size_t *n_params, nndl_error *err)
{
    nndl_layer_spec given[NNDL_MAX_LAYERS];
    int n = 0;
    if (!spec) return error_set(err, NNDL_ERR_ARG, "sizes: missing");
    if ((unsigned)spec->cost >= NNDL_COST_COUNT)
        return error_set(err, NNDL_ERR_ARG, "cost: unknown kind %d", (int)spec->cost);
    if ((unsigned)spec->init >= NNDL_INIT_COUNT)
        return error_set(err, NNDL_ERR_ARG, "init: unknown kind %d", (int)spec->init);
    if (!spec->layers) {
        nndl_status st = layers_of_sizes(spec, given, &n, input, err);
        if (st != NNDL_OK) return st;
    } else {
        if (spec->n_layers < 1 || spec->n_layers > NNDL_MAX_LAYERS - 1)
            return error_set(err, NNDL_ERR_ARG, "layers: %d given; need 1 to %d",
                             spec->n_layers, NNDL_MAX_LAYERS - 1);
        n = spec->n_layers;
        memcpy(given, spec->layers, sizeof *given * (size_t)n);
        *input = spec->input;
        const nndl_shape *in = input;
        if (in->channels < 1 || in->height < 1 || in->width < 1 ||
            (uint64_t)in->channels * (uint64_t)in->height * (uint64_t)in->width >
                NNDL_MAX_LAYER_SIZE)
            return error_set(err, NNDL_ERR_ARG,
                             "input: shape %d x %d x %d; need positive sides and at most %d "
                             "values",
                             in->channels, in->height, in->width, NNDL_MAX_LAYER_SIZE);
    }
    uint64_t total = 0;
    nndl_shape shape = *input;
    for (int l = 0; l < n; l++) {
        layer *ly = &layers[l];
        const nndl_layer_spec *g = &given[l];
        int output = l == n - 1;
        memset(ly, 0, sizeof *ly);
        if ((unsigned)g->kind >= NNDL_LAYER_KIND_COUNT)
            return error_set(err, NNDL_ERR_ARG, "layer %d: unknown kind %d", l + 1,
                             (int)g->kind);
        if (output && g->kind != NNDL_LAYER_FC)
            return error_set(err, NNDL_ERR_ARG,
                             "layer %d: the output layer must be fully connected, not %s",
                             l + 1, layer_kinds[g->kind].name);
        ly->kind = (layer_kind)g->kind;
        ly->spec = *g;
        if (output)
            ly->spec.act = cost_output_activation(spec->cost);
        else if (g->kind == NNDL_LAYER_POOL)
            ly->spec.act = NNDL_ACT_LINEAR;
        else if ((unsigned)g->act >= NNDL_ACT_COUNT)
            return error_set(err, NNDL_ERR_ARG, "activation: unknown kind %d", (int)g->act);
        else if (g->act == NNDL_ACT_SOFTMAX)
            return error_set(err, NNDL_ERR_ARG,
                             "activation: softmax is for the output layer (use the "
                             "log-likelihood cost), not hidden layer %d", l + 1);
        ly->act = ly->spec.act;
        if (!(g->dropout >= 0 && g->dropout < 1))
            return error_set(err, NNDL_ERR_ARG, "layer %d: dropout %g; need 0 <= p < 1", l + 1,
                             (double)g->dropout);
        if (g->dropout > 0 && (g->kind != NNDL_LAYER_FC || l == 0))
            return error_set(err, NNDL_ERR_ARG,
                             "layer %d: dropout applies to the inputs of a fully connected "
                             "layer above the first", l + 1);
        ly->in = shape;
        nndl_status st = layer_kinds[g->kind].configure(ly, l + 1, err);
        if (st != NNDL_OK) return st;
        ly->n_in = shape.channels * shape.height * shape.width;
        uint64_t out = (uint64_t)ly->out.channels * ly->out.height * ly->out.width;
        if (out < 1 || out > NNDL_MAX_LAYER_SIZE)
            return error_set(err, NNDL_ERR_ARG, "layer %d: %llu outputs; need 1 to %d", l + 1,
                             (unsigned long long)out, NNDL_MAX_LAYER_SIZE);
        ly->n_out = (int)out;
        ly->n_params = ly->n_weights + ly->n_biases;
        ly->weights = (size_t)total;
        ly->biases = (size_t)total + ly->n_weights;
        /* Each term is at most 1e6 * (1e6 + 1): no overflow in 64 bits. */
        total += ly->n_params;
        if (total > NNDL_MAX_PARAMS)
            return error_set(err, NNDL_ERR_ARG,
                             "sizes: %llu weights and biases; the limit is %llu",
                             (unsigned long long)total, (unsigned long long)NNDL_MAX_PARAMS);
        shape = ly->out;
    }
    if (spec->cost == NNDL_COST_LOG_LIKELIHOOD && layers[n - 1].n_out < 2)
        return error_set(err, NNDL_ERR_ARG,
                         "cost: log-likelihood needs at least 2 output neurons (softmax)");
    *n_layers = n;
    *n_params = (size_t)total;
    return NNDL_OK;
}

nndl_status net_spec_count(const nndl_net_spec *spec, size_t *n_params, nndl_error *err)
{
    layer layers[NNDL_MAX_LAYERS];
    int n;
    nndl_shape input;
    return plan_layers(spec, layers, &n, &input, n_params, err);
}

nndl_status net_spec_check(const nndl_net_spec *spec, nndl_error *err)
{
    size_t n_params;
    return net_spec_count(spec, &n_params, err);
}

/* The tensor table and sizes of a planned network. */
static void net_layout(nndl_net *net)
{
    net->n_tensors = 0;
    net->n_sizes = net->n_layers + 1;
    net->sizes[0] = net->input.channels * net->input.height * net->input.width;
    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        net->sizes[l + 1] = ly->n_out;
        if (!ly->n_params) continue;
        param_tensor *w = &net->tensors[net->n_tensors++];
        snprintf(w->name, sizeof w->name, "w%d", l + 1);
        w->offset = ly->weights;
        w->count = ly->n_weights;
        w->fan_in = ly->fan_in;
        w->decay = 1;
        param_tensor *b = &net->tensors[net->n_tensors++];
        snprintf(b->name, sizeof b->name, "b%d", l + 1);
        b->offset = ly->biases;
        b->count = ly->n_biases;
        b->fan_in = 0;
        b->decay = 0;
    }
}

int net_dropout(const nndl_net *net, double p, double drop[NNDL_MAX_LAYERS])
{
    int any = 0;
    for (int l = 0; l < NNDL_MAX_LAYERS; l++) drop[l] = 0;
    for (int l = 1; l < net->n_layers; l++) {
        const layer *reader = &net->layers[l]; /* the layer a^l feeds */
        drop[l] = reader->spec.dropout > 0 ? reader->spec.dropout
                  : reader->kind == LAYER_DENSE ? p : 0;
        any |= drop[l] > 0;
    }
    return any;
}

size_t net_workspace(const nndl_net *net)
{
    size_t most = 0;
    for (int l = 0; l < net->n_layers; l++)
        if (net->layers[l].workspace > most) most = net->layers[l].workspace;
    return most;
}

nndl_net *net_create_zeroed(const nndl_net_spec *spec, nndl_error *err)
{
    if (net_spec_check(spec, err) != NNDL_OK) return NULL;
    nndl_net *net = alloc_zeroed(1, sizeof *net);
    if (!net) {
        error_set(err, NNDL_ERR_NOMEM, "out of memory for a network");
        return NULL;
    }
    if (plan_layers(spec, net->layers, &net->n_layers, &net->input, &net->n_params, err) !=
        NNDL_OK) { /* checked above: only if the spec changed meanwhile */
        alloc_free(net);
        return NULL;
    }
    net->cost = spec->cost;
    net->init = spec->init;
    net->seed = spec->seed;
    net_layout(net);
    net->params = alloc_aligned(net->n_params, sizeof(float));
    if (!net->params) {
        error_set(err, NNDL_ERR_NOMEM, "out of memory for %zu weights and biases",
                  net->n_params);
        alloc_free(net);
        return NULL;
    }
    return net;
}

/* network3.py starts its softmax output layer at zero. */
static int init_starts_at_zero(const nndl_net *net, int l)
{
    return net->init == NNDL_INIT_NETWORK3 && l == net->n_layers - 1 &&
           net->cost == NNDL_COST_LOG_LIKELIHOOD;
}

/* The standard deviation of a layer's initial weights. */
static double init_weight_scale(nndl_init init, const layer *ly)
{
    switch (init) {
    case NNDL_INIT_SCALED: return 1.0 / sqrt((double)ly->fan_in);
    case NNDL_INIT_LARGE: return 1.0;
    case NNDL_INIT_NETWORK3: return 1.0 / sqrt((double)ly->fan_out);
    case NNDL_INIT_HE: return sqrt(2.0 / ly->fan_in);
    }
    return 1.0;
}

nndl_net *nndl_net_create(const nndl_net_spec *spec, nndl_error *err)
{
    nndl_net *net = net_create_zeroed(spec, err);
    if (!net) return NULL;
    /* Biases from N(0,1); weights from N(0,1) (chapter 1, "large") or
     * N(0, 1/n_in) (chapter 3, "scaled", so that z = sum w a + b starts with
     * a standard deviation near 1 and neurons do not start saturated), or
     * as network3.py or He et al. draw them (nndl.h). Drawn in the order of
     * network.py: all biases, then all weights; parameters that start at
     * zero draw nothing. */
    rng r;
    rng_seed(&r, spec->seed, RNG_STREAM_INIT);
    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        if (init_starts_at_zero(net, l) || spec->init == NNDL_INIT_HE) continue;
        for (size_t j = 0; j < ly->n_biases; j++)
            net->params[ly->biases + j] = (float)rng_normal(&r);
    }
    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        if (init_starts_at_zero(net, l)) continue;
        double scale = init_weight_scale(spec->init, ly);
        for (size_t i = 0; i < ly->n_weights; i++)
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

nndl_net_spec net_spec_of(const nndl_net *net, nndl_layer_spec *layers)
{
    nndl_net_spec spec = nndl_net_spec_default(net->n_sizes, net->sizes);
    spec.cost = net->cost;
    spec.init = net->init;
    spec.seed = net->seed;
    for (int l = 0; l < net->n_layers; l++) layers[l] = net->layers[l].spec;
    spec.n_layers = net->n_layers;
    spec.layers = layers;
    spec.input = net->input;
    return spec;
}

nndl_net *nndl_net_clone(const nndl_net *net, nndl_error *err)
{
    nndl_layer_spec layers[NNDL_MAX_LAYERS];
    nndl_net_spec spec = net_spec_of(net, layers);
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

nndl_status nndl_net_layer(const nndl_net *net, int layer_index, nndl_layer_info *info,
                           nndl_error *err)
{
    if (layer_index < 1 || layer_index > net->n_layers)
        return error_set(err, NNDL_ERR_ARG, "layer %d: the network has layers 1 to %d",
                         layer_index, net->n_layers);
    const layer *ly = &net->layers[layer_index - 1];
    info->spec = ly->spec;
    info->in = ly->in;
    info->out = ly->out;
    info->params = ly->n_params;
    info->first_param = ly->weights;
    return NNDL_OK;
}

nndl_shape nndl_net_input_shape(const nndl_net *net) { return net->input; }

int nndl_net_is_dense(const nndl_net *net)
{
    for (int l = 0; l < net->n_layers; l++)
        if (net->layers[l].kind != LAYER_DENSE) return 0;
    return 1;
}
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
    if (batch_buffers_init_f32(&fresh, net, batch, NULL, err) != NNDL_OK) return NULL;
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
