/* Names of the kinds of cost, activation and initialization, as the
 * command line and files spell them. */
#include <stdio.h>
#include <string.h>

#include "nndl.h"

static const char *const cost_names[NNDL_COST_COUNT] = {
    [NNDL_COST_QUADRATIC] = "quadratic",
    [NNDL_COST_CROSS_ENTROPY] = "cross-entropy",
    [NNDL_COST_LOG_LIKELIHOOD] = "log-likelihood",
};

static const char *const activation_names[NNDL_ACT_COUNT] = {
    [NNDL_ACT_SIGMOID] = "sigmoid",
    [NNDL_ACT_TANH] = "tanh",
    [NNDL_ACT_RELU] = "relu",
    [NNDL_ACT_SOFTMAX] = "softmax",
    [NNDL_ACT_LINEAR] = "linear",
};

static const char *const init_names[NNDL_INIT_COUNT] = {
    [NNDL_INIT_SCALED] = "scaled",
    [NNDL_INIT_LARGE] = "large",
    [NNDL_INIT_NETWORK3] = "network3",
    [NNDL_INIT_HE] = "he",
};

static const char *const layer_kind_names[NNDL_LAYER_KIND_COUNT] = {
    [NNDL_LAYER_FC] = "fc",
    [NNDL_LAYER_CONV] = "conv",
    [NNDL_LAYER_POOL] = "pool",
};

static const char *name_of(const char *const *names, int count, int value)
{
    return value >= 0 && value < count ? names[value] : "unknown";
}

static int parse_name(const char *const *names, int count, const char *name)
{
    for (int i = 0; name && i < count; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

const char *nndl_cost_name(nndl_cost c) { return name_of(cost_names, NNDL_COST_COUNT, (int)c); }
const char *nndl_activation_name(nndl_activation a)
{
    return name_of(activation_names, NNDL_ACT_COUNT, (int)a);
}
const char *nndl_init_name(nndl_init i) { return name_of(init_names, NNDL_INIT_COUNT, (int)i); }
int nndl_cost_parse(const char *name) { return parse_name(cost_names, NNDL_COST_COUNT, name); }
int nndl_activation_parse(const char *name)
{
    return parse_name(activation_names, NNDL_ACT_COUNT, name);
}
int nndl_init_parse(const char *name) { return parse_name(init_names, NNDL_INIT_COUNT, name); }
const char *nndl_layer_kind_name(nndl_layer_kind k)
{
    return name_of(layer_kind_names, NNDL_LAYER_KIND_COUNT, (int)k);
}
int nndl_layer_kind_parse(const char *name)
{
    return parse_name(layer_kind_names, NNDL_LAYER_KIND_COUNT, name);
}

void nndl_layer_spec_format(const nndl_layer_spec *l, int output, char *out, size_t cap)
{
    char drop[32] = "";
    if (l->dropout > 0) snprintf(drop, sizeof drop, ":dropout=%g", (double)l->dropout);
    switch (l->kind) {
    case NNDL_LAYER_CONV:
        if (l->pool > 1)
            snprintf(out, cap, "conv:%d:%d:%s,pool:%d", l->size, l->kernel,
                     nndl_activation_name(l->act), l->pool);
        else
            snprintf(out, cap, "conv:%d:%d:%s", l->size, l->kernel, nndl_activation_name(l->act));
        return;
    case NNDL_LAYER_POOL:
        snprintf(out, cap, "pool:%d", l->pool);
        return;
    case NNDL_LAYER_FC:
        if (output && l->act == NNDL_ACT_SOFTMAX)
            snprintf(out, cap, "softmax:%d%s", l->size, drop);
        else
            snprintf(out, cap, "fc:%d:%s%s", l->size, nndl_activation_name(l->act), drop);
        return;
    }
    snprintf(out, cap, "?");
}

void nndl_net_describe(const nndl_net *net, char *out, size_t cap)
{
    size_t used = 0;
    int n = nndl_net_n_sizes(net);
    if (cap) out[0] = 0;
    for (int l = 1; l < n && used < cap; l++) {
        nndl_layer_info info;
        char item[96];
        if (nndl_net_layer(net, l, &info, NULL) != NNDL_OK) return;
        nndl_layer_spec_format(&info.spec, l == n - 1, item, sizeof item);
        used += (size_t)snprintf(out + used, cap - used, "%s%s", l > 1 ? "," : "", item);
    }
}
