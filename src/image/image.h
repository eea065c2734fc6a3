/* Pictures of handwriting: reading PNG and PGM files (load.c), writing PNG
 * (save.c) and turning a picture into MNIST's 28x28 input (preprocess.c).
 * The public functions are in nndl.h; these are shared between the files. */
#ifndef NNDL_IMAGE_IMAGE_H
#define NNDL_IMAGE_IMAGE_H

#include <stdint.h>

#include "nndl.h"

/* Checks width x height against NNDL_MAX_PICTURE_SIDE and
 * NNDL_MAX_PICTURE_PIXELS ("PATH: image of W x H pixels is too large ...")
 * and that both are at least 1. */
nndl_status image_check_size(const char *path, uint64_t width, uint64_t height,
                             nndl_error *err);

/* The name for error messages: img->name, or "image". */
const char *image_name(const nndl_image *img);

#endif
