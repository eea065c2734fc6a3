/* The tables of layer kinds (net/layer.h). */
#include "net/layer.h"

#ifndef NNDL_REAL_DOUBLE /* precision-independent: defined once */
const layer_kind_info layer_kinds[NNDL_LAYER_KIND_COUNT] = {
    [LAYER_DENSE] = {"fully connected", dense_configure},
    [LAYER_CONV] = {"convolutional", conv_configure},
    [LAYER_POOL] = {"max-pooling", pool_configure},
};
#endif

const layer_ops *const RNAME(layer_table)[NNDL_LAYER_KIND_COUNT] = {
    [LAYER_DENSE] = &RNAME(dense_ops),
    [LAYER_CONV] = &RNAME(conv_ops),
    [LAYER_POOL] = &RNAME(pool_ops),
};
