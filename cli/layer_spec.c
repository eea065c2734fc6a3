#include "layer_spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A whole positive decimal number of at most `max`, or -1. */
static long whole(const char *text, long max)
{
    if (!*text || *text == '-' || *text == '+') return -1;
    errno = 0;
    char *end;
    long v = strtol(text, &end, 10);
    return *end || errno || v < 1 || v > max ? -1 : v;
}

/* Applies the optional parts of an item after its numbers: an activation
 * name, or dropout=P. */
static int item_option(const char *part, nndl_layer_spec *l, int *act_given, int may_act,
                       const char *item, char *why, size_t cap)
{
    if (strncmp(part, "dropout=", 8) == 0) {
        char *end;
        errno = 0;
        double p = strtod(part + 8, &end);
        if (l->kind != NNDL_LAYER_FC || *end || errno || !(p >= 0 && p < 1)) {
            snprintf(why, cap, "'%s': dropout=P takes 0 <= P < 1, on fc and softmax", item);
            return -1;
        }
        l->dropout = (float)p;
        return 0;
    }
    int act = nndl_activation_parse(part);
    if (!may_act || act < 0 || act == NNDL_ACT_SOFTMAX) {
        snprintf(why, cap,
                 "'%s': '%s' is not %s", item, part,
                 may_act ? "sigmoid, tanh, relu, linear or dropout=P" : "dropout=P");
        return -1;
    }
    l->act = (nndl_activation)act;
    *act_given = 1;
    return 0;
}

/* One item, "conv:20:5:relu". */
static int parse_item(char *item, layer_list *out, int last, char *why, size_t cap)
{
    char original[128];
    snprintf(original, sizeof original, "%s", item);
    char *parts[6];
    int n = 0;
    for (char *save = NULL, *p = strtok_r(item, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
        if (n == 6) {
            snprintf(why, cap, "'%s': too many parts", original);
            return -1;
        }
        parts[n++] = p;
    }
    if (n == 0) {
        snprintf(why, cap, "an empty item (two commas?)");
        return -1;
    }
    if (out->n == NNDL_MAX_LAYERS - 1) {
        snprintf(why, cap, "more than %d layers", NNDL_MAX_LAYERS - 1);
        return -1;
    }
    nndl_layer_spec l = {0};
    int act_given = 0, numbers, may_act = 1;
    long a = n > 1 ? whole(parts[1], NNDL_MAX_LAYER_SIZE) : -1;
    if (strcmp(parts[0], "conv") == 0) {
        long k = n > 2 ? whole(parts[2], 4096) : -1;
        if (a < 0 || k < 0) {
            snprintf(why, cap, "'%s': conv:MAPS:K takes two positive numbers", original);
            return -1;
        }
        l = nndl_layer_conv((int)a, (int)k, 1, NNDL_ACT_SIGMOID);
        numbers = 3;
    } else if (strcmp(parts[0], "pool") == 0) {
        if (a < 0 || a > 4096) {
            snprintf(why, cap, "'%s': pool:P takes a positive number", original);
            return -1;
        }
        numbers = 2;
        may_act = 0;
        nndl_layer_spec *prev = out->n ? &out->v[out->n - 1] : NULL;
        if (n == numbers && prev && prev->kind == NNDL_LAYER_CONV && prev->pool == 1) {
            prev->pool = (int)a; /* conv, max-pool, bias, activation */
            return 0;
        }
        l = nndl_layer_pool((int)a);
    } else if (strcmp(parts[0], "fc") == 0 || strcmp(parts[0], "softmax") == 0) {
        if (a < 0) {
            snprintf(why, cap, "'%s': %s:N takes a positive number of neurons", original,
                     parts[0]);
            return -1;
        }
        l = nndl_layer_fc((int)a, NNDL_ACT_SIGMOID);
        numbers = 2;
        if (parts[0][0] == 's') {
            if (!last) {
                snprintf(why, cap, "'%s': softmax is the output layer: it comes last",
                         original);
                return -1;
            }
            out->softmax = 1;
            l.act = NNDL_ACT_SOFTMAX;
            may_act = 0;
        }
    } else {
        snprintf(why, cap, "'%s': not conv:MAPS:K, pool:P, fc:N or softmax:N", original);
        return -1;
    }
    for (int i = numbers; i < n; i++)
        if (item_option(parts[i], &l, &act_given, may_act, original, why, cap)) return -1;
    out->act_given[out->n] = act_given;
    out->v[out->n++] = l;
    return 0;
}

int layer_list_parse(const char *spec, layer_list *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(spec);
    char *copy = malloc(len + 1);
    if (!copy) {
        snprintf(why, cap, "out of memory");
        return -1;
    }
    memcpy(copy, spec, len + 1);
    int status = 0;
    if (!len || copy[0] == ',' || copy[len - 1] == ',' || strstr(copy, ",,")) {
        snprintf(why, cap, "an empty item (a stray comma?)");
        status = -1;
    }
    char *save = NULL;
    for (char *item = status ? NULL : strtok_r(copy, ",", &save); item;) {
        char *next = strtok_r(NULL, ",", &save);
        if (parse_item(item, out, next == NULL, why, cap)) {
            status = -1;
            break;
        }
        item = next;
    }
    free(copy);
    if (status == 0 && (out->n == 0 || out->v[out->n - 1].kind != NNDL_LAYER_FC)) {
        snprintf(why, cap, "the last layer must be fc:N or softmax:N (the output)");
        status = -1;
    }
    return status;
}

int layer_list_hidden(const layer_list *l)
{
    int n = 0;
    for (int i = 0; i + 1 < l->n; i++) n += l->v[i].kind != NNDL_LAYER_POOL;
    return n;
}

void shape_format(nndl_shape s, char *out, size_t cap)
{
    if (s.height == 1 && s.width == 1)
        snprintf(out, cap, "%d", s.channels);
    else
        snprintf(out, cap, "%dx%dx%d", s.channels, s.height, s.width);
}
