/* --layers SPEC: a network as one word, such as
 * conv:20:5,pool:2,conv:40:5,pool:2,fc:100,softmax:10. */
#ifndef NNDL_CLI_LAYER_SPEC_H
#define NNDL_CLI_LAYER_SPEC_H

#include <stddef.h>

#include "nndl.h"

typedef struct layer_list {
    int n;
    nndl_layer_spec v[NNDL_MAX_LAYERS - 1];
    /* which layers named their activation (conv:20:5:relu); the others
     * take --activation's */
    int act_given[NNDL_MAX_LAYERS - 1];
    int softmax; /* the last item was softmax:N */
} layer_list;

/* Parses SPEC: items conv:MAPS:K[:ACT], pool:P, fc:N[:ACT][:dropout=P]
 * and, last only, softmax:N[:dropout=P], separated by commas. A pool
 * right after a conv joins it, as network3.py's ConvPoolLayer (conv, max-
 * pool, then bias and activation); elsewhere it is a layer of its own.
 * Returns 0, or -1 with a reason in `why`. */
int layer_list_parse(const char *spec, layer_list *out, char *why, size_t cap);

/* The hidden layers that take an activation (conv and fc before the last). */
int layer_list_hidden(const layer_list *l);

/* "1x28x28" for a shape with height or width, else "100". */
void shape_format(nndl_shape s, char *out, size_t cap);

#endif
