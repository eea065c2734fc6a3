/* Shifting, rotating and elastically distorting images (chapter 3,
 * "artificially expanding the training data"), and nndl_dataset_augment,
 * which gives every epoch its own randomly distorted copy of a training set.
 *
 * Elastic distortion (Simard, Steinkraus and Platt, "Best practices for
 * convolutional neural networks applied to visual document analysis",
 * 2003): draw a random displacement per pixel, uniform in [-1, 1] for each
 * component, smooth the field with a Gaussian of standard deviation sigma
 * and scale it by alpha. The smoothed field moves pixels by about
 * alpha / 24 pixels (root mean square, per component, for sigma = 4), in
 * a smooth, locally consistent way that bends strokes as another hand
 * would. Simard et al. used sigma = 4 and alpha = 34 for 28x28 digits; we
 * keep sigma = 4 but take alpha = 24 (about 1 pixel), because on top of it
 * every image is also shifted and rotated: with 34, about one image in a
 * hundred has its ink grow or shrink by half (a thin 1 bent into a blob, a
 * 9 opened into a 4), with 24 about one in a thousand.
 *
 * Each image gets, uniformly at random, a shift of up to 2 pixels in each
 * direction (MNIST digits sit in a 20x20 box centred in 28x28, so they stay
 * inside the frame), a rotation of up to 10 degrees either way, and a fresh
 * elastic field. */
#include "data/transform.h"

#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "common/alloc.h"
#include "common/error.h"
#include "data/dataset.h"

void shift_image(uint8_t *out, const uint8_t *in, int rows, int cols, int dy, int dx)
{
    memset(out, 0, (size_t)rows * (size_t)cols);
    /* Columns x in [x0, x1) of the output have a source column x - dx. */
    int x0 = dx > 0 ? dx : 0, x1 = dx < 0 ? cols + dx : cols;
    if (x0 >= x1) return;
    for (int y = 0; y < rows; y++) {
        int sy = y - dy;
        if (sy < 0 || sy >= rows) continue;
        memcpy(out + (size_t)y * cols + x0, in + (size_t)sy * cols + (x0 - dx),
               (size_t)(x1 - x0));
    }
}

void gauss_kernel_init(gauss_kernel *k, float sigma)
{
    int radius = (int)ceilf(3.0f * sigma);
    if (radius > GAUSS_MAX_RADIUS) radius = GAUSS_MAX_RADIUS;
    if (radius < 0) radius = 0;
    k->radius = radius;
    double sum = 0, w[2 * GAUSS_MAX_RADIUS + 1];
    for (int i = -radius; i <= radius; i++) {
        w[i + radius] = exp(-0.5 * (double)i * i / ((double)sigma * sigma));
        sum += w[i + radius];
    }
    for (int i = 0; i <= 2 * radius; i++) k->w[i] = (float)(w[i] / sum);
}

/* Scratch layout, each part a whole number of 64-byte lines:
 *   tall    (rows + 2r) x cols   a random field with r zero rows above and below
 *   mid     rows x cols          after smoothing along the columns
 *   wide    (cols + 2r) x rows   mid transposed, r zero rows around it
 *   ux, uy  cols x rows          the two smoothed, scaled components, transposed
 *   padded  (rows + 2) x (cols + 2) the input as floats in a blank border 1 pixel wide */
#define ALIGN16(n) (((n) + 15) / 16 * 16)
#define SCRATCH_FLOATS(rows, cols, rad)                                                    \
    (ALIGN16(((rows) + 2 * (rad)) * (cols)) + ALIGN16((rows) * (cols)) +                   \
     ALIGN16(((cols) + 2 * (rad)) * (rows)) + 2 * ALIGN16((rows) * (cols)) +               \
     ALIGN16(((rows) + 2) * ((cols) + 2)))

size_t transform_scratch_floats(int rows, int cols, int radius)
{
    size_t r = (size_t)rows, c = (size_t)cols, rad = (size_t)radius;
    return SCRATCH_FLOATS(r, c, rad);
}

/* Uniform in (-1, 1) from 16 random bits: plenty for a field that is then
 * averaged over hundreds of pixels, and four draws per 64-bit number. */
static inline float uniform_pm1(uint64_t bits16)
{
    return ((float)bits16 + 0.5f) * 0x1p-15f - 1.0f;
}

/* One pass of the separable Gaussian, along columns:
 *   out[y][x] = scale * sum_t w[t] in[y + t][x],  y < n_rows, x < width,
 * where `in` has n_rows + 2r rows of `width` floats. For one tap t, the
 * whole image is one contiguous run, so the loop over 16 outputs at a time
 * is a vector register summed over the taps in order. */
static void blur_columns(float *restrict out, const float *restrict in, int n_rows, int width,
                         const gauss_kernel *k, float scale)
{
    const size_t n = (size_t)n_rows * width, stride = (size_t)width;
    const int taps = 2 * k->radius + 1;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        float acc[16] = {0};
        for (int t = 0; t < taps; t++) {
            const float w = k->w[t], *src = in + i + (size_t)t * stride;
            for (int j = 0; j < 16; j++) acc[j] += w * src[j];
        }
        for (int j = 0; j < 16; j++) out[i + j] = scale * acc[j];
    }
    for (; i < n; i++) {
        float acc = 0;
        for (int t = 0; t < taps; t++) acc += k->w[t] * in[i + (size_t)t * stride];
        out[i] = scale * acc;
    }
}

/* One component of Simard et al.'s displacement field: uniform [-1, 1] per
 * pixel, smoothed by the Gaussian, scaled by alpha. Written transposed:
 * the displacement of pixel (y, x) is uT[x * rows + y]. */
static void elastic_component(float *restrict uT, int rows, int cols, float alpha,
                              const gauss_kernel *k, rng *r, float *restrict tall,
                              float *restrict mid, float *restrict wide)
{
    const int rad = k->radius;
    const size_t n = (size_t)rows * cols;
    memset(tall, 0, (size_t)rad * cols * sizeof *tall);
    memset(tall + (size_t)rad * cols + n, 0, (size_t)rad * cols * sizeof *tall);
    float *field = tall + (size_t)rad * cols;
    for (size_t i = 0; i < n; i += 4) {
        uint64_t b = rng_next(r);
        for (size_t j = 0; j < 4 && i + j < n; j++)
            field[i + j] = uniform_pm1((b >> (16 * j)) & 0xffff);
    }
    blur_columns(mid, tall, rows, cols, k, 1.0f);
    /* Transpose, so that the second pass is along columns too. */
    memset(wide, 0, (size_t)rad * rows * sizeof *wide);
    memset(wide + (size_t)(rad + cols) * rows, 0, (size_t)rad * rows * sizeof *wide);
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++)
            wide[(size_t)(x + rad) * rows + y] = mid[(size_t)y * cols + x];
    blur_columns(uT, wide, cols, rows, k, alpha);
}

/* Bilinear interpolation at (sy, sx) in `padded`, the image as floats in
 * a blank border one pixel wide; 0 outside the image. At integer
 * coordinates it returns the pixel exactly (a + 0 * (b - a) = a). */
static inline float bilinear(const float *padded, int rows, int cols, float sy, float sx)
{
    /* Also rejects NaN, before any conversion to int. */
    if (!(sx > -1.0f && sx < (float)cols && sy > -1.0f && sy < (float)rows)) return 0.0f;
    float fx = floorf(sx), fy = floorf(sy);
    float ax = sx - fx, ay = sy - fy;
    /* Pixel (y0, x0), y0 and x0 >= -1, is at padded row y0 + 1, column x0 + 1. */
    const size_t stride = (size_t)cols + 2;
    const float *p = padded + (size_t)((int)fy + 1) * stride + (size_t)((int)fx + 1);
    float top = p[0] + ax * (p[1] - p[0]);
    float bottom = p[stride] + ax * (p[stride + 1] - p[stride]);
    return top + ay * (bottom - top);
}

void transform_image(uint8_t *out, const uint8_t *in, int rows, int cols,
                     const transform_params *p, const gauss_kernel *k, rng *r,
                     float *scratch)
{
    const size_t n = (size_t)rows * cols, rad = p->alpha != 0.0f ? (size_t)k->radius : 0;
    float *tall = scratch, *mid = tall + ALIGN16(((size_t)rows + 2 * rad) * cols);
    float *wide = mid + ALIGN16(n), *ux = wide + ALIGN16(((size_t)cols + 2 * rad) * rows);
    float *uy = ux + ALIGN16(n), *padded = uy + ALIGN16(n);
    if (p->alpha != 0.0f) {
        elastic_component(ux, rows, cols, p->alpha, k, r, tall, mid, wide);
        elastic_component(uy, rows, cols, p->alpha, k, r, tall, mid, wide);
    }
    const size_t stride = (size_t)cols + 2;
    memset(padded, 0, stride * sizeof *padded);
    memset(padded + (size_t)(rows + 1) * stride, 0, stride * sizeof *padded);
    for (int y = 0; y < rows; y++) {
        float *row = padded + (size_t)(y + 1) * stride;
        row[0] = row[cols + 1] = 0.0f;
        for (int x = 0; x < cols; x++) row[x + 1] = (float)in[(size_t)y * cols + x];
    }

    /* Output pixel (x, y) reads the input at c + R^-1 (p - c - d) (+ u):
     * with (a, b) = p - c - d, R^-1 for a counterclockwise turn on screen
     * (y down) is  sx = cx + cos a - sin b,  sy = cy + sin a + cos b. */
    const float c = cosf(p->angle), s = sinf(p->angle);
    const float cx = 0.5f * (float)(cols - 1), cy = 0.5f * (float)(rows - 1);
    for (int y = 0; y < rows; y++) {
        const float b = (float)y - cy - p->dy;
        const float bx = cx - s * b, by = cy + c * b;
        for (int x = 0; x < cols; x++) {
            const float a = (float)x - cx - p->dx;
            float sx = bx + c * a, sy = by + s * a;
            if (p->alpha != 0.0f) {
                size_t t = (size_t)x * rows + y; /* the fields are transposed */
                sx += ux[t];
                sy += uy[t];
            }
            float v = bilinear(padded, rows, cols, sy, sx) + 0.5f;
            out[(size_t)y * cols + x] = v >= 255.0f ? 255 : (uint8_t)v; /* v >= 0.5 - rounding */
        }
    }
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull; /* so that epoch 0 does not map to 0 */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void augment_rng(rng *r, uint64_t seed, uint64_t epoch, size_t index)
{
    /* The stream's low byte says "augmentation"; the rest is the image. */
    rng_seed(r, seed ^ mix64(epoch), ((uint64_t)index << 8) | RNG_STREAM_AUGMENT);
}

/* Scratch kept on each thread's stack: enough for images up to 32x32 with
 * sigma 4 (radius 12), about 31 KB, so augmenting MNIST allocates nothing. */
enum { STACK_SCRATCH_FLOATS = SCRATCH_FLOATS(32, 32, 12) };

nndl_status nndl_dataset_augment(nndl_dataset *out, const nndl_dataset *in, uint64_t seed,
                                 uint64_t epoch, nndl_error *err)
{
    if (!out || !in) return error_set(err, NNDL_ERR_ARG, "augment: no dataset given");
    if (out == in || (out->pixels == in->pixels && in->count))
        return error_set(err, NNDL_ERR_ARG,
                         "augment: the output must be another dataset than the input");
    if (out->count != in->count || out->rows != in->rows || out->cols != in->cols)
        return error_set(err, NNDL_ERR_ARG,
                         "augment: output has %zu images of %dx%d pixels, input %zu of %dx%d "
                         "(create the output with the input's sizes)",
                         out->count, out->rows, out->cols, in->count, in->rows, in->cols);

    const int rows = in->rows, cols = in->cols;
    const size_t image = dataset_image_bytes(in), count = in->count;
    gauss_kernel k;
    gauss_kernel_init(&k, AUGMENT_ELASTIC_SIGMA);
    const size_t need = transform_scratch_floats(rows, cols, k.radius);

    /* Larger images get per-thread scratch from the heap, once per call. */
    float *heap = NULL;
    if (need > STACK_SCRATCH_FLOATS && count) {
        int threads = 1;
#ifdef _OPENMP
        threads = omp_get_max_threads();
#endif
        size_t total;
        if (size_mul_overflows(need, (size_t)threads, &total) ||
            !(heap = alloc_array(total, sizeof *heap)))
            return error_set(err, NNDL_ERR_NOMEM,
                             "augment: out of memory for scratch space of %dx%d images", rows,
                             cols);
    }

    const float max_angle = AUGMENT_MAX_DEGREES * 3.14159265358979f / 180.0f;
#pragma omp parallel
    {
        _Alignas(64) float stack[STACK_SCRATCH_FLOATS];
        int thread = 0;
#ifdef _OPENMP
        thread = omp_get_thread_num();
#endif
        float *scratch = heap ? heap + (size_t)thread * need : stack;
#pragma omp for schedule(static)
        for (size_t i = 0; i < count; i++) {
            rng r;
            augment_rng(&r, seed, epoch, i);
            transform_params p;
            p.dx = (float)(2 * rng_uniform(&r) - 1) * AUGMENT_MAX_SHIFT;
            p.dy = (float)(2 * rng_uniform(&r) - 1) * AUGMENT_MAX_SHIFT;
            p.angle = (float)(2 * rng_uniform(&r) - 1) * max_angle;
            p.alpha = AUGMENT_ELASTIC_ALPHA;
            transform_image(out->pixels + i * image, in->pixels + i * image, rows, cols, &p,
                            &k, &r, scratch);
        }
    }
    alloc_free(heap);
    if (count) memcpy(out->labels, in->labels, count);
    return NNDL_OK;
}
