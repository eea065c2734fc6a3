/* Pictures of handwriting: reading PNG and PGM files (load.c) and JPEG
 * (jpeg.c), writing PNG
 * (save.c) and turning a picture into MNIST's 28x28 input (preprocess.c).
 * The public functions are in nndl.h; these are shared between the files. */
#ifndef NNDL_IMAGE_IMAGE_H
#define NNDL_IMAGE_IMAGE_H

#include <stdint.h>
#include <stdio.h>

#include "nndl.h"

/* Checks width x height against NNDL_MAX_PICTURE_SIDE and
 * NNDL_MAX_PICTURE_PIXELS ("PATH: image of W x H pixels is too large ...")
 * and that both are at least 1. */
nndl_status image_check_size(const char *path, uint64_t width, uint64_t height,
                             nndl_error *err);

/* A picture file being read, whose first bytes were already read to
 * recognize it: they are served again before the rest, so nothing needs to
 * seek (load.c). */
enum { IMAGE_HEAD_MAX = 24 };
typedef struct image_source {
    FILE *f;
    const char *path;
    uint64_t size; /* bytes in the file */
    uint64_t pos;  /* bytes served so far */
    uint8_t head[IMAGE_HEAD_MAX];
    size_t head_len, head_pos;
} image_source;

/* Up to `len` bytes of the file; fewer only at its end or on a read error. */
size_t image_source_read(image_source *s, uint8_t *data, size_t len);

/* Decodes a JPEG (jpeg.c) into 8-bit gray, w x h bytes in *pixels. */
nndl_status image_load_jpeg(image_source *src, uint8_t **pixels, uint32_t *w, uint32_t *h,
                            nndl_error *err);

/* The name for error messages: img->name, or "image". */
const char *image_name(const nndl_image *img);

#endif
