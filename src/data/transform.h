/* Geometric transforms of one image, behind chapter 3's "artificially
 * expanding the training data": the exact one-pixel shifts of the book's
 * expand_mnist.py (nndl_dataset_expand) and the random distortions of
 * nndl_dataset_augment (shift, rotation and elastic distortion, Simard,
 * Steinkraus and Platt 2003).
 *
 * Images are rows x cols bytes, row by row, background 0. Coordinates: x
 * runs right along a row, y runs down the rows. */
#ifndef NNDL_DATA_TRANSFORM_H
#define NNDL_DATA_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "common/rng.h"

/* out = in moved by whole pixels: out[y][x] = in[y - dy][x - dx], and 0
 * where that falls outside `in` (the vacated rows and columns). So dy = 1
 * moves the digit down, dx = 1 moves it right. `out` must not overlap `in`. */
void shift_image(uint8_t *out, const uint8_t *in, int rows, int cols, int dy, int dx);

enum { GAUSS_MAX_RADIUS = 16 };

/* A normalized Gaussian of standard deviation sigma, truncated at
 * radius = ceil(3 sigma) (at most GAUSS_MAX_RADIUS): weight w[k] belongs to
 * offset k - radius. */
typedef struct gauss_kernel {
    int radius;
    float w[2 * GAUSS_MAX_RADIUS + 1];
} gauss_kernel;

/* sigma in (0, GAUSS_MAX_RADIUS / 3]. */
void gauss_kernel_init(gauss_kernel *k, float sigma);

/* One distortion. Output pixel p reads the input, by bilinear interpolation,
 * at  c + R(angle)^-1 (p - c - d) + alpha * u(p),  where c is the image
 * centre, d = (dx, dy) and u a random displacement field: each component
 * uniform in [-1, 1] per pixel, then smoothed by the Gaussian kernel (Simard
 * et al.'s elastic distortion). Points outside the input read as 0. */
typedef struct transform_params {
    float dx, dy; /* shift in pixels: +dx moves the digit right, +dy down */
    float angle;  /* rotation about the centre, radians; + is counterclockwise */
    float alpha;  /* elastic strength in pixels; 0 for none */
} transform_params;

/* Floats of scratch space transform_image needs for rows x cols images
 * and a kernel of radius `radius`. */
size_t transform_scratch_floats(int rows, int cols, int radius);

/* Writes the distorted `in` to `out` (no overlap). `k` and `r` are used only
 * when p->alpha != 0 (they may otherwise be NULL): the random field is drawn
 * from `r`. `scratch` holds transform_scratch_floats(rows, cols, radius)
 * floats, radius = k->radius, or 0 when alpha == 0. With all parameters 0,
 * out equals in; with integer dx, dy and nothing else it equals shift_image. */
void transform_image(uint8_t *out, const uint8_t *in, int rows, int cols,
                     const transform_params *p, const gauss_kernel *k, rng *r,
                     float *scratch);

/* The random parameters nndl_dataset_augment uses (see transform.c). */
#define AUGMENT_MAX_SHIFT 2.0f      /* pixels, each direction */
#define AUGMENT_MAX_DEGREES 10.0f   /* rotation, each way */
#define AUGMENT_ELASTIC_ALPHA 24.0f /* about 1 pixel; Simard et al. used 34 */
#define AUGMENT_ELASTIC_SIGMA 4.0f  /* Simard et al.'s value for 28x28 */

/* The random generator of image `index` in epoch `epoch`: a function of
 * (seed, epoch, index) only, so augmentation does not depend on the order
 * or the threads the images are processed in. */
void augment_rng(rng *r, uint64_t seed, uint64_t epoch, size_t index);

#endif
