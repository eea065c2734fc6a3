/* The dataset object, shared by the loaders in src/data.
 *
 * Pixels stay bytes (0..255): MNIST's 70,000 images then take 55 MB instead
 * of 220 MB as floats. All pixels are one allocation, image after image, so
 * splitting off the validation set is one copy and one realloc. */
#ifndef NNDL_DATA_DATASET_H
#define NNDL_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "nndl.h"

struct nndl_dataset {
    size_t count;    /* images, and labels */
    int rows, cols;  /* pixels of each image */
    uint8_t *pixels; /* count * rows * cols; image i starts at i * rows * cols */
    uint8_t *labels; /* count */
};

/* Bytes of one image. */
static inline size_t dataset_image_bytes(const nndl_dataset *ds)
{
    return (size_t)ds->rows * (size_t)ds->cols;
}

/* A dataset owning `pixels` and `labels` (both from common/alloc.h, sized as
 * in the struct above); the caller has checked the sizes. On failure both
 * buffers are freed, so the caller frees nothing either way. */
nndl_dataset *dataset_adopt(uint8_t *pixels, uint8_t *labels, size_t count,
                            int rows, int cols, nndl_error *err);

#endif
