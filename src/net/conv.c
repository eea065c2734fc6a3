/* The convolutional layer of chapter 6 (network3.py's ConvPoolLayer):
 * `maps` feature maps, each a k x k filter over every input channel
 * (stride 1, no padding), then p x p max-pooling when p > 1, then the
 * activation.
 *
 * The convolution is a matrix product: im2col copies each output
 * position's k x k x C input patch into a row of the workspace, and
 * the dense layer's kernels do the rest, the positions of every example
 * of the batch taking the place of examples:
 *   z (B P, maps) = cols (B P, k k C) w^T + b       eq. 125, all positions
 * with P = the output positions of one example. Activations are stored
 * height x width x channels, so a patch's rows are contiguous in the input
 * and z is already in that layout. BP3 and BP4 are the same products as a
 * dense layer's over those rows, and BP2 is (w^T delta) per row, added
 * back into the input positions each row came from (col2im).
 *
 * The bias of a map is added before the pooling rather than after: for a
 * given map it is the same at every position, so max(z + b) = max(z) + b,
 * also in floating point (rounding never reverses an order), and the
 * activation, which never decreases, commutes with the max too. The
 * network is network3.py's; the activation runs on the pooled values
 * only. conv_reference_f64 and friends below are the direct loops, kept as
 * the reference the tests hold this against. */
#include <assert.h>
#include <limits.h>
#include <string.h>

#include "common/error.h"
#include "kernels/matmul.h"
#include "kernels/parallel.h"
#include "net/activation.h"
#include "net/conv.h"
#include "net/layer.h"
#include "net/maxpool.h"

/* Zeros after each image in the direct path (below): at least a forward
 * block of positions, in either build. */
enum { DIRECT_PAD = 32 };

#ifndef NNDL_REAL_DOUBLE /* the shape rule: one build */
nndl_status conv_configure(layer *l, int index, nndl_error *err)
{
    const int k = l->spec.kernel, maps = l->spec.size, p = l->spec.pool;
    const nndl_shape in = l->in;
    if (maps < 1 || maps > 65536)
        return error_set(err, NNDL_ERR_ARG, "layer %d: %d feature maps; need 1 to 65536", index,
                         maps);
    if (k < 1 || k > in.height || k > in.width)
        return error_set(err, NNDL_ERR_ARG,
                         "layer %d: %d x %d filters over %d x %d inputs; need 1 to the "
                         "smaller side", index, k, k, in.height, in.width);
    nndl_shape conv = {maps, in.height - k + 1, in.width - k + 1};
    if (p < 1 || p > conv.height || p > conv.width)
        return error_set(err, NNDL_ERR_ARG,
                         "layer %d: pool %d over %d x %d feature maps; need 1 to the smaller "
                         "side", index, p, conv.height, conv.width);
    uint64_t positions = (uint64_t)conv.height * conv.width,
             patch = (uint64_t)k * k * in.channels;
    /* one example's rows of the products must count in an int */
    if (patch > NNDL_MAX_LAYER_SIZE || positions * (patch + maps) > INT_MAX / 4)
        return error_set(err, NNDL_ERR_ARG,
                         "layer %d: %d x %d filters over %d x %d x %d inputs are too large",
                         index, k, k, in.channels, in.height, in.width);
    l->out = max_pool_shape(conv, p);
    l->n_weights = (size_t)maps * patch;
    l->n_biases = (size_t)maps;
    l->fan_in = (int)patch;
    /* network3.py: n_out = maps * k^2 / p^2 (integer division, as there) */
    l->fan_out = maps * k * k / (p * p) > 0 ? maps * k * k / (p * p) : 1;
    /* the patches (or, going back, their errors), and z before pooling */
    l->workspace = (size_t)(positions * patch + (p > 1 ? positions * maps : 0));
    if (in.channels == 1) {
        /* the direct path (below): per example, z over the flattened image
         * (maps x span), the padded image and z as the products lay it
         * out; for the gradient, the sums, dz like z and the padded
         * images of the batch (at most this much per example) */
        uint64_t span = ((uint64_t)(conv.height - 1) * in.width + conv.width + DIRECT_PAD - 1) /
                        DIRECT_PAD * DIRECT_PAD;
        uint64_t reach = span + (uint64_t)(k - 1) * (in.width + 1), n_in = (uint64_t)in.height * in.width;
        uint64_t image = (reach > n_in ? reach : n_in) + DIRECT_PAD;
        uint64_t forward = span * maps + image + positions * maps;
        uint64_t backward = (uint64_t)maps * (patch + 1) + span * maps + image;
        if (forward > l->workspace) l->workspace = (size_t)forward;
        if (backward > l->workspace) l->workspace = (size_t)backward;
    }
    l->macs = (size_t)(positions * patch * maps);
    l->memo = p > 1 ? (size_t)l->out.channels * l->out.height * l->out.width : 0;
    return NNDL_OK;
}
#endif

/* The shape of the convolution's output, before pooling. */
static nndl_shape conv_shape(const layer *l)
{
    return (nndl_shape){l->spec.size, l->in.height - l->spec.kernel + 1,
                        l->in.width - l->spec.kernel + 1};
}

/* Patch row length k k C, and output positions per example. */
static int patch_size(const layer *l) { return l->spec.kernel * l->spec.kernel * l->in.channels; }
static int positions(const layer *l)
{
    nndl_shape s = conv_shape(l);
    return s.height * s.width;
}

/* dst[0..n) = src[0..n). A first layer's runs are a few floats (k of one
 * channel), where a call to memcpy costs more than the copy: those are
 * copied inline (and GCC is told not to turn the loop back into memcpy). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static inline void copy_run(real *dst, const real *src, size_t n)
{
    if (n > 16) {
        memcpy(dst, src, n * sizeof *dst);
        return;
    }
    for (size_t i = 0; i < n; i++) dst[i] = src[i];
}

/* cols (B P, k k C): row (x, oy, ox) holds the inputs under the filter
 * at output position (oy, ox) of example x, in (dy, dx, c) order: the
 * filter's own layout, so each output is one dot product. */
static void im2col(const layer *l, const real *in, real *cols, int batch)
{
    const int k = l->spec.kernel, C = l->in.channels, W = l->in.width;
    const nndl_shape o = conv_shape(l);
    const size_t run = (size_t)k * C, row = (size_t)k * run;
    for (int x = 0; x < batch; x++) {
        const real *img = in + (size_t)x * l->n_in;
        real *dst = cols + (size_t)x * positions(l) * row;
        for (int oy = 0; oy < o.height; oy++)
            for (int ox = 0; ox < o.width; ox++, dst += row)
                for (int dy = 0; dy < k; dy++)
                    copy_run(dst + dy * run, img + ((size_t)(oy + dy) * W + ox) * C, run);
    }
}

/* d_in = the rows of d_cols added back where im2col took them from. */
static void col2im(const layer *l, const real *d_cols, real *d_in, int batch)
{
    const int k = l->spec.kernel, C = l->in.channels, W = l->in.width;
    const nndl_shape o = conv_shape(l);
    const size_t run = (size_t)k * C, row = (size_t)k * run;
    memset(d_in, 0, sizeof *d_in * (size_t)batch * l->n_in);
    for (int x = 0; x < batch; x++) {
        real *img = d_in + (size_t)x * l->n_in;
        const real *src = d_cols + (size_t)x * positions(l) * row;
        for (int oy = 0; oy < o.height; oy++)
            for (int ox = 0; ox < o.width; ox++, src += row)
                for (int dy = 0; dy < k; dy++) {
                    real *dst = img + ((size_t)(oy + dy) * W + ox) * C;
                    const real *from = src + dy * run;
                    for (size_t i = 0; i < run; i++) dst[i] += from[i];
                }
    }
}

/* The workspace of `batch` examples: their patches, then (when the layer
 * pools) their z before pooling, or its error. */
static real *ws_cols(const layer *l, real *ws) { (void)l; return ws; }
static real *ws_z(const layer *l, real *ws, int batch)
{
    return ws + (size_t)batch * positions(l) * patch_size(l);
}


/* ---- A layer over one input channel: the convolution done directly ----
 *
 * With one channel (MNIST's first layer) a patch is k x k = 25 floats, too
 * short a row for the products above: two vector loads, then a horizontal
 * sum, for each output. Here each filter slides over the image instead, as
 * a correlation along the flattened image: output position q = oy W + ox
 * (W the image's width) sees input q + dy W + dx under tap (dy, dx), so
 *   z_f[q] = b_f + sum over taps of w_f[dy, dx] in[q + dy W + dx]   (eq. 125)
 * for q < span = (OH - 1) W + OW: whole vectors of neighbouring positions
 * load contiguous inputs, and each tap's weight is broadcast. The k - 1
 * positions past the end of each output row are computed and left unused.
 * The image is first copied into a buffer with DIRECT_PAD zeros after it,
 * so that vectors running past `span` read zeros, never another image.
 *
 * BP4 is the same correlation the other way round: with the errors dz laid
 * out like z (maps, positions q, 0 in the unused ones),
 *   dC/dw_f[dy, dx] = sum over q of dz_f[q] in[q + dy W + dx],
 * a dot product per weight, vectorized over q; BP3 sums dz_f. */

/* The machine's vector width. A GCC vector wider than the machine's
 * registers lives in memory: with 64-byte vectors on AVX2 every multiply-add
 * of direct_block was a load, two half operations and a store, and the
 * first convolution took 40% of the final network's training. So are the
 * register blocks: AVX-512 has 32 vector registers, AVX2 and SSE 16. */
#if defined(__AVX512F__)
#define DIRECT_BYTES 64
#define DIRECT_REGISTERS 32
#elif defined(__AVX__)
#define DIRECT_BYTES 32
#define DIRECT_REGISTERS 16
#else
#define DIRECT_BYTES 16
#define DIRECT_REGISTERS 16
#endif
#ifdef NNDL_REAL_DOUBLE
#define DIRECT_LANE_COUNT (DIRECT_BYTES / 8)
#else
#define DIRECT_LANE_COUNT (DIRECT_BYTES / 4)
#endif

typedef real direct_vec
    __attribute__((vector_size(DIRECT_BYTES), aligned(sizeof(real)), may_alias));
enum {
    DIRECT_LANES = DIRECT_LANE_COUNT, /* positions per vector */
    DIRECT_BLOCK = 2 * DIRECT_LANES,  /* positions per forward block */
    DIRECT_MAPS = 4,                  /* filters per forward block: 8 accumulators */
    /* filters and taps per gradient block: 20 accumulators, or 10 */
    DIRECT_DW_MAPS = DIRECT_REGISTERS == 32 ? 4 : 2,
    DIRECT_TAPS = 5,
    DIRECT_WINDOW_MAPS = 64 /* maps per step of direct_errors */
};

static int direct_conv(const layer *l) { return l->in.channels == 1; }
/* Positions computed per map: span rounded up to whole blocks. */
static int direct_span(const layer *l)
{
    const nndl_shape o = conv_shape(l);
    int span = (o.height - 1) * l->in.width + o.width;
    return (span + DIRECT_PAD - 1) / DIRECT_PAD * DIRECT_PAD;
}

/* The padded image's length: every input a vector of positions below
 * span may read, at least the image. */
static size_t direct_padded(const layer *l)
{
    size_t reach = (size_t)direct_span(l) + (size_t)(l->spec.kernel - 1) * (l->in.width + 1);
    return (reach > (size_t)l->n_in ? reach : (size_t)l->n_in) + DIRECT_PAD;
}

/* The image into `pad`, then zeros. */
static const real *direct_image(const layer *l, const real *img, real *pad)
{
    memcpy(pad, img, sizeof *pad * (size_t)l->n_in);
    memset(pad + l->n_in, 0, sizeof *pad * (direct_padded(l) - (size_t)l->n_in));
    return pad;
}

/* The vector at p (any alignment of a real). A macro, not a function: a
 * function returning a 64-byte vector changes the ABI in builds without
 * AVX-512 (the sanitizer builds), which GCC warns about. */
#define vec_at(p) (*(const direct_vec *)(p))

/* Keeps a vector loaded once in a register. Without it GCC folds the load
 * into each multiply-add that uses the vector, loading it again for every
 * filter: 12 loads for 8 multiply-adds in direct_block (perf annotate),
 * misaligned ones at that, and the forward pass took 1.45 times as long. */
#if defined(__x86_64__) || defined(__i386__)
#define direct_in_register(v) __asm__("" : "+v"(v))
#else
#define direct_in_register(v) ((void)0)
#endif

/* Four filters over DIRECT_BLOCK positions from q, 8 accumulators in
 * registers. GCC is allowed to fuse the multiply-adds (ISO C mode would
 * forbid it). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=fast")))
#endif
static void direct_block(real *zw, int span, const real *w, int kk, const real *img, int q, int k,
                         int W)
{
    direct_vec acc[DIRECT_MAPS][2] = {{{0}}};
    for (int dy = 0, t = 0; dy < k; dy++)
        for (int dx = 0; dx < k; dx++, t++) {
            const real *src = img + q + dy * W + dx;
            direct_vec a = vec_at(src), b = vec_at(src + DIRECT_LANES);
            direct_in_register(a);
            direct_in_register(b);
            for (int m = 0; m < DIRECT_MAPS; m++) {
                real wt = w[(size_t)m * kk + t];
                acc[m][0] += wt * a;
                acc[m][1] += wt * b;
            }
        }
    for (int m = 0; m < DIRECT_MAPS; m++) {
        *(direct_vec *)(zw + (size_t)m * span + q) = acc[m][0];
        *(direct_vec *)(zw + (size_t)m * span + q + DIRECT_LANES) = acc[m][1];
    }
}

/* One filter, for the maps left over by the blocks of four. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=fast")))
#endif
static void direct_one(real *zw, const real *w, const real *img, int q, int k, int W)
{
    direct_vec acc[2] = {{0}};
    for (int dy = 0, t = 0; dy < k; dy++)
        for (int dx = 0; dx < k; dx++, t++) {
            const real *src = img + q + dy * W + dx;
            acc[0] += w[t] * vec_at(src);
            acc[1] += w[t] * vec_at(src + DIRECT_LANES);
        }
    *(direct_vec *)(zw + q) = acc[0];
    *(direct_vec *)(zw + q + DIRECT_LANES) = acc[1];
}

/* zw (maps, span): the sums without bias for one (padded) image. */
static void direct_sums(const layer *l, const real *w, const real *img, real *zw)
{
    const int k = l->spec.kernel, kk = k * k, W = l->in.width, maps = l->spec.size,
              span = direct_span(l);
    int f = 0;
    for (; f + DIRECT_MAPS <= maps; f += DIRECT_MAPS)
        for (int q = 0; q < span; q += DIRECT_BLOCK)
            direct_block(zw + (size_t)f * span, span, w + (size_t)f * kk, kk, img, q, k, W);
    for (; f < maps; f++)
        for (int q = 0; q < span; q += DIRECT_BLOCK)
            direct_one(zw + (size_t)f * span, w + (size_t)f * kk, img, q, k, W);
}

/* z in the products' layout (positions, maps), from zw. */
static void direct_transpose(const layer *l, const real *zw, real *z)
{
    const nndl_shape o = conv_shape(l);
    const int maps = l->spec.size, W = l->in.width, span = direct_span(l);
    for (int oy = 0; oy < o.height; oy++)
        for (int ox = 0; ox < o.width; ox++) {
            real *dst = z + ((size_t)oy * o.width + ox) * maps;
            const real *src = zw + oy * W + ox;
            for (int f = 0; f < maps; f++) dst[f] = src[(size_t)f * span];
        }
}

/* 2 x 2 pooling (the book's) of output rows of at most DIRECT_ROW
 * positions is done on zw's rows, where a row pair's windows lie side by
 * side: their four values are gathered into four vectors of neighbouring
 * windows (DIRECT_LANES windows at a time) and compared as vectors, and
 * only the maxima are moved into the products' layout (before, all of z
 * was, then pooled there). The same comparisons in the same order as
 * max_pool_forward after direct_transpose: the same maxima and winners,
 * the first of equal values staying. */
enum { DIRECT_ROW = 32 };

static int direct_pools_in_rows(const layer *l)
{
    return l->spec.pool == 2 && conv_shape(l).width <= DIRECT_ROW;
}

/* Whether the memo holds the winners as direct_pool_rows keeps them
 * (places in a map's row), not as the pooling code does. */
static int winners_as_places(const layer *l) { return direct_conv(l) && direct_pools_in_rows(l); }

/* Lanes of direct_vec as integers: what its comparisons give, and its
 * selects (bitwise, as C has no ?: over vectors). */
#ifdef NNDL_REAL_DOUBLE
typedef int64_t direct_lane;
#else
typedef int32_t direct_lane;
#endif
typedef direct_lane direct_mask __attribute__((vector_size(DIRECT_BYTES)));
#define direct_select(m, a, b) \
    ((direct_vec)(((m) & (direct_mask)(a)) | (~(m) & (direct_mask)(b))))

/* The left and the right columns of a row's windows: the even and the
 * odd of the 2 DIRECT_LANES reals from p. A lane past the row's windows
 * holds whatever follows, compared and never stored. */
#if DIRECT_LANE_COUNT == 16
#define DIRECT_EVEN 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define DIRECT_ODD 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#elif DIRECT_LANE_COUNT == 8
#define DIRECT_EVEN 0, 2, 4, 6, 8, 10, 12, 14
#define DIRECT_ODD 1, 3, 5, 7, 9, 11, 13, 15
#elif DIRECT_LANE_COUNT == 4
#define DIRECT_EVEN 0, 2, 4, 6
#define DIRECT_ODD 1, 3, 5, 7
#else
#define DIRECT_EVEN 0, 2
#define DIRECT_ODD 1, 3
#endif
static inline void direct_columns(const real *p, direct_vec *left, direct_vec *right)
{
    direct_vec a = vec_at(p), b = vec_at(p + DIRECT_LANES);
    *left = __builtin_shufflevector(a, b, DIRECT_EVEN);
    *right = __builtin_shufflevector(a, b, DIRECT_ODD);
}

/* zw's rows are read 2 DIRECT_LANES reals at a time, up to DIRECT_ROW
 * from a row's start: the last map's last rows read up to that many past
 * zw, into the padded image that follows it in the workspace
 * (direct_forward).
 *
 * The winners are kept in the layer's own form (the memo is the layer's):
 * map by map, each window's winner's place in the map's row of zw,
 * (2 py + dy) W + 2 px + dx, which direct_errors writes the error to as it
 * is. The pooling code's form, the winner's index in z (positions, maps),
 * took a multiplication per window here and a search per window there. */
static void direct_pool_rows(const layer *l, const real *zw, real *out, int32_t *winners)
{
    const nndl_shape pooled = l->out;
    const int maps = l->spec.size, W = l->in.width, span = direct_span(l),
              windows = pooled.height * pooled.width;
    /* each window's winner's place from its top left: 0, 1, W or W + 1 */
    const direct_lane step[4] = {0, 1, W, W + 1};
    direct_mask lane; /* 0, 2, 4, ...: the windows' left columns */
    for (int j = 0; j < DIRECT_LANES; j++) lane[j] = 2 * j;
    for (int f = 0; f < maps; f++)
        for (int py = 0; py < pooled.height; py++) {
            const real *top = zw + (size_t)f * span + (size_t)2 * py * W, *bottom = top + W;
            int32_t *places = winners + (size_t)f * windows + (size_t)py * pooled.width;
            for (int px0 = 0; px0 < pooled.width; px0 += DIRECT_LANES) {
                direct_vec v[4];
                direct_columns(top + 2 * px0, &v[0], &v[1]);
                direct_columns(bottom + 2 * px0, &v[2], &v[3]);
                direct_vec best = v[0];
                direct_mask won = {0};
                for (int k = 1; k < 4; k++) {
                    direct_vec value = v[k];
                    direct_mask larger = value > best;
                    best = direct_select(larger, value, best);
                    won = (larger & step[k]) | (~larger & won);
                }
                const int n = pooled.width - px0 < DIRECT_LANES ? pooled.width - px0
                                                                  : DIRECT_LANES;
                const direct_mask place = won + lane + (2 * py * W + 2 * px0);
                for (int j = 0; j < n; j++) {
                    out[((size_t)py * pooled.width + px0 + j) * maps + f] = best[j];
                    places[px0 + j] = (int32_t)place[j];
                }
            }
        }
}

static void direct_forward(const layer *l, const real *params, const real *in, real *out,
                           real *ws, int32_t *memo, int batch)
{
    const int maps = l->spec.size;
    const size_t zw_size = (size_t)maps * direct_span(l);
    real *zw = ws, *pad = ws + zw_size, *z = pad + direct_padded(l);
    const real *b = params + l->biases;
    for (int x = 0; x < batch; x++) {
        direct_sums(l, params + l->weights, direct_image(l, in + (size_t)x * l->n_in, pad), zw);
        real *dst = out + (size_t)x * l->n_out;
        if (direct_pools_in_rows(l)) {
            direct_pool_rows(l, zw, dst, memo + (size_t)x * l->n_out);
        } else if (l->spec.pool > 1) {
            /* the bias after the maximum: the same (see the top of the file) */
            direct_transpose(l, zw, z);
            RNAME(max_pool_forward)(dst, memo + (size_t)x * l->n_out, z, conv_shape(l),
                                    l->spec.pool, 1);
        } else {
            direct_transpose(l, zw, dst);
        }
        for (int i = 0; i < l->n_out; i += maps)
            for (int f = 0; f < maps; f++) dst[i + f] += b[f];
    }
    RNAME(activation_forward)(l->act, out, batch, l->n_out);
}

/* places[m] = where, in a map's row of zw, the winner won[m] of map
 * first + m of one window is: at plus its row in the window times W plus
 * its column. won[m] - first - m is (dy o.width + dx) maps, dy and dx
 * below p: each found by p - 1 comparisons, without branches (a winner's
 * place is random) and without dividing. */
static inline void window_places(int *places, const int32_t *won, int n, int first, int at,
                                 int p, int row, int maps, int W)
{
    for (int m = 0; m < n; m++) {
        int rest = won[m] - first - m, place = at;
        for (int step = 1; step < p; step++) {
            int below = rest >= row;
            rest -= below * row;
            place += below * W;
        }
        for (int step = 1; step < p; step++) {
            int right = rest >= maps;
            rest -= right * maps;
            place += right;
        }
        places[m] = place;
    }
}

/* dzw (maps, span), the rows of maps [m0, m1): dC/dz of one example laid
 * out like zw, zeros where no output is: at each pool's winner its
 * output's error (BP2 through the maximum), or every position's error
 * without pooling. */
static void direct_errors(const layer *l, const real *delta, const int32_t *winners, real *dzw,
                          int m0, int m1)
{
    const nndl_shape o = conv_shape(l);
    const int maps = l->spec.size, W = l->in.width, span = direct_span(l);
    memset(dzw + (size_t)m0 * span, 0, sizeof *dzw * (size_t)(m1 - m0) * span);
    if (winners_as_places(l)) {
        const int windows = l->out.height * l->out.width;
        for (int f = m0; f < m1; f++) {
            const int32_t *places = winners + (size_t)f * windows;
            real *row = dzw + (size_t)f * span;
            for (int i = 0; i < windows; i++) row[places[i]] = delta[(size_t)i * maps + f];
        }
    } else if (l->spec.pool > 1) {
        /* Each window's winners' places for its maps at once (dividing
         * the winners' indices instead cost more than the rest of the
         * gradient), then their errors. */
        const nndl_shape pooled = l->out;
        const int p = l->spec.pool, row = o.width * maps;
        for (int py = 0, i = 0; py < pooled.height; py++)
            for (int px = 0; px < pooled.width; px++, i += maps) {
                const int corner = (py * p * o.width + px * p) * maps;
                for (int f0 = m0; f0 < m1; f0 += DIRECT_WINDOW_MAPS) {
                    const int n = m1 - f0 < DIRECT_WINDOW_MAPS ? m1 - f0 : DIRECT_WINDOW_MAPS;
                    int places[DIRECT_WINDOW_MAPS];
                    const int32_t *won = winners + i + f0;
                    const int first = corner + f0, at = py * p * W + px * p;
                    if (p == 2) /* the book's: the steps unrolled, the maps vectorized */
                        window_places(places, won, n, first, at, 2, row, maps, W);
                    else
                        window_places(places, won, n, first, at, p, row, maps, W);
                    /* windows never overlap: each place is written once */
                    for (int m = 0; m < n; m++)
                        dzw[(size_t)(f0 + m) * span + places[m]] = delta[i + f0 + m];
                }
            }
    } else {
        for (int pos = 0; pos < o.height * o.width; pos++)
            for (int f = m0; f < m1; f++)
                dzw[(size_t)f * span + (pos / o.width) * W + pos % o.width] =
                    delta[(size_t)pos * maps + f];
    }
}

/* g[f kk + t] += dC/dw_f[t] of one example, for up to DIRECT_DW_MAPS filters
 * from f and DIRECT_TAPS taps from t (n of them): a block of dot products
 * over the positions, each lane summing every DIRECT_LANES-th one. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=fast"), always_inline))
#endif
static inline void direct_dw_block(real *g, int kk, const real *dzw, int span, const real *img,
                                   const int *offsets, int nf, int nt)
{
    direct_vec acc[DIRECT_DW_MAPS][DIRECT_TAPS] = {{{0}}};
    for (int q = 0; q < span; q += DIRECT_LANES) {
        direct_vec d[DIRECT_DW_MAPS];
        for (int m = 0; m < DIRECT_DW_MAPS; m++)
            d[m] = m < nf ? vec_at(dzw + (size_t)m * span + q) : (direct_vec){0};
        for (int t = 0; t < DIRECT_TAPS; t++) {
            if (t >= nt) break;
            direct_vec a = vec_at(img + q + offsets[t]);
            direct_in_register(a);
            for (int m = 0; m < DIRECT_DW_MAPS; m++) acc[m][t] += d[m] * a;
        }
    }
    for (int m = 0; m < nf; m++)
        for (int t = 0; t < nt; t++) {
            real sum = 0;
            for (int i = 0; i < DIRECT_LANES; i++) sum += acc[m][t][i];
            g[(size_t)m * kk + t] += sum;
        }
}

/* direct_dw_block, compiled apart for whole blocks (the book's 5 x 5
 * filters, maps in fours): without the tests of nf and nt in its loop. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=fast")))
#endif
static void direct_dw_blocks(real *g, int kk, const real *dzw, int span, const real *img,
                             const int *offsets, int nf, int nt)
{
    if (nf == DIRECT_DW_MAPS && nt == DIRECT_TAPS)
        direct_dw_block(g, kk, dzw, span, img, offsets, DIRECT_DW_MAPS, DIRECT_TAPS);
    else
        direct_dw_block(g, kk, dzw, span, img, offsets, nf, nt);
}

typedef struct direct_gradient_job {
    const layer *l;
    const real *delta, *pads;
    const int32_t *memo;
    real *g, *dzw;
    int batch;
} direct_gradient_job;

/* The filters [m0, m1) of direct_gradient, over every example in order. */
static void direct_gradient_maps(void *ctx, int m0, int m1)
{
    const direct_gradient_job *job = ctx;
    const layer *l = job->l;
    const int k = l->spec.kernel, kk = k * k, W = l->in.width, maps = l->spec.size,
              span = direct_span(l);
    const size_t padded = direct_padded(l);
    real *g = job->g, *gb = job->g + (size_t)maps * kk, *dzw = job->dzw;
    int offsets[DIRECT_TAPS];
    memset(g + (size_t)m0 * kk, 0, sizeof *g * (size_t)(m1 - m0) * kk);
    memset(gb + m0, 0, sizeof *gb * (size_t)(m1 - m0));
    for (int x = 0; x < job->batch; x++) {
        const real *d = job->delta + (size_t)x * l->n_out;
        direct_errors(l, d, l->spec.pool > 1 ? job->memo + (size_t)x * l->n_out : NULL, dzw, m0,
                      m1);
        const real *img = job->pads + (size_t)x * padded;
        for (int t = 0; t < kk; t += DIRECT_TAPS) {
            int nt = kk - t < DIRECT_TAPS ? kk - t : DIRECT_TAPS;
            for (int i = 0; i < nt; i++) offsets[i] = (t + i) / k * W + (t + i) % k;
            for (int f = m0; f < m1; f += DIRECT_DW_MAPS)
                direct_dw_blocks(g + (size_t)f * kk + t, kk, dzw + (size_t)f * span, span, img,
                                 offsets, m1 - f < DIRECT_DW_MAPS ? m1 - f : DIRECT_DW_MAPS, nt);
        }
        /* BP3: each map's errors, which are its outputs' (the winners') */
        for (int i = 0; i < l->n_out; i += maps)
            for (int f = m0; f < m1; f++) gb[f] += d[i + f];
    }
}

/* g (maps k k, then maps): dC/dw and dC/db summed over the batch (BP4,
 * BP3), example by example in order. The threads split the filters, each
 * taking whole blocks: every weight's sum is the same for any split. The
 * batch's padded images come first, shared by the threads, then each
 * thread writes its filters' rows of dz (work: dz, then the images). */
enum { DIRECT_MIN_PARALLEL = 1 << 18 }; /* multiply-adds worth a hand-over */

static void direct_gradient(const layer *l, const real *delta, const int32_t *memo,
                            const real *in, real *g, real *work, int batch, parallel *par)
{
    const int maps = l->spec.size;
    const size_t padded = direct_padded(l);
    real *dzw = work, *pads = work + (size_t)maps * direct_span(l);
    for (int x = 0; x < batch; x++)
        direct_image(l, in + (size_t)x * l->n_in, pads + (size_t)x * padded);
    direct_gradient_job job = {l, delta, pads, memo, g, dzw, batch};
    long per_map = (long)batch * l->spec.kernel * l->spec.kernel * direct_span(l);
    int grain = parallel_split(par, maps, per_map, DIRECT_MIN_PARALLEL);
    grain = (grain + DIRECT_DW_MAPS - 1) / DIRECT_DW_MAPS * DIRECT_DW_MAPS;
    parallel_for(par, maps, grain, direct_gradient_maps, &job);
}

/* The gradient of direct_gradient, then its scratch, in the workspace. */
static real *direct_g(const layer *l, real *ws) { (void)l; return ws; }
static real *direct_work(const layer *l, real *ws)
{
    return ws + (size_t)l->spec.size * (patch_size(l) + 1);
}

/* The patches of the examples in one forward product: 512 kB (4 examples
 * of the second convolution: their 1.3 MB at a mini-batch of 10 did not
 * stay in a core's 1 MB of L2). */
enum { CONV_FORWARD_BYTES = 1 << 19 };
static int forward_examples(const layer *l)
{
    const size_t per_example = (size_t)positions(l) * patch_size(l) * sizeof(real);
    return per_example >= CONV_FORWARD_BYTES ? 1 : (int)(CONV_FORWARD_BYTES / per_example);
}

static void conv_forward(const layer *l, const real *params, const real *in, real *out,
                         real *ws, int32_t *memo, int batch, parallel *par)
{
    if (direct_conv(l)) {
        direct_forward(l, params, in, out, ws, memo, batch);
        return;
    }
    const int P = positions(l);
    real *cols = ws_cols(l, ws);
    /* z = w * a + b at every position (eq. 125), pooled into out when p > 1 */
    real *z = l->spec.pool > 1 ? ws_z(l, ws, batch) : out;
    /* A few examples at a time, so that their patches stay in cache: the
     * 256 examples of an evaluation chunk are 33 MB of patches at the
     * second convolution, which both threads then read from memory. Each
     * output's sum is the same for any split of the batch. */
    const int chunk = forward_examples(l);
    for (int x = 0; x < batch; x += chunk) {
        const int n = batch - x < chunk ? batch - x : chunk;
        im2col(l, in + (size_t)x * l->n_in, cols, n);
        RNAME(matmul_forward)(z + (size_t)x * P * l->spec.size, cols, params + l->weights,
                              params + l->biases, n * P, patch_size(l), l->spec.size, par);
    }
    if (l->spec.pool > 1)
        RNAME(max_pool_forward)(out, memo, z, conv_shape(l), l->spec.pool, batch);
    RNAME(activation_forward)(l->act, out, batch, l->n_out);
}

int32_t RNAME(conv_pool_winner)(const layer *l, const int32_t *memo, int i)
{
    if (!winners_as_places(l)) return memo[i];
    const int maps = l->spec.size, W = l->in.width, place =
        memo[(size_t)(i % maps) * l->out.height * l->out.width + i / maps];
    return ((place / W) * conv_shape(l).width + place % W) * maps + i % maps;
}

/* dz for examples [x0, x1) of a pooling layer: delta at each pool's
 * winner, 0 elsewhere (dz and delta from the batch's first example). */
static void pool_errors_rows(const layer *l, const real *delta, const int32_t *memo, real *dz,
                             int x0, int x1)
{
    if (winners_as_places(l)) { /* BP2 below a one-channel layer that is not the first */
        const size_t n_z = (size_t)positions(l) * l->spec.size;
        for (int x = x0; x < x1; x++) {
            real *d = dz + (size_t)x * n_z;
            memset(d, 0, sizeof *d * n_z);
            for (int i = 0; i < l->n_out; i++) /* as max_pool_backward adds */
                d[RNAME(conv_pool_winner)(l, memo + (size_t)x * l->n_out, i)] +=
                    delta[(size_t)x * l->n_out + i];
        }
        return;
    }
    const size_t out = (size_t)x0 * l->n_out;
    RNAME(max_pool_backward)(dz + (size_t)x0 * positions(l) * l->spec.size, delta + out,
                             memo + out, conv_shape(l), l->spec.pool, x1 - x0);
}

/* dC/dz before pooling: delta at each pool's winner, 0 elsewhere; or
 * delta itself without pooling. */
static const real *z_errors(const layer *l, const real *delta, real *ws, const int32_t *memo,
                            int batch)
{
    if (l->spec.pool == 1) return delta;
    real *dz = ws_z(l, ws, batch);
    pool_errors_rows(l, delta, memo, dz, 0, batch);
    return dz;
}

/* BP4's operands for examples [x0, x1): their errors before pooling (dz
 * NULL without pooling) and their patches (im2col again: BP2 wrote its own rows over the forward
 * pass's). */
typedef struct bp4_operands_job {
    const layer *l;
    const real *delta, *in;
    const int32_t *memo;
    real *dz, *cols;
} bp4_operands_job;

static void bp4_operands_rows(void *ctx, int x0, int x1)
{
    const bp4_operands_job *job = ctx;
    const layer *l = job->l;
    if (job->dz) pool_errors_rows(l, job->delta, job->memo, job->dz, x0, x1);
    im2col(l, job->in + (size_t)x0 * l->n_in,
           job->cols + (size_t)x0 * positions(l) * patch_size(l), x1 - x0);
}

/* Copies worth a second thread: the copying runs at the speed of the
 * caches, and otherwise one thread would do it while the other waits. */
enum { BP4_OPERANDS_MIN_PARALLEL = 1 << 16 };

/* The batch's BP4 operands, split by examples; returns dz (delta itself
 * without pooling). Patches in ws_cols. */
static const real *bp4_operands(const layer *l, const real *delta, const real *in, real *ws,
                                const int32_t *memo, int batch, parallel *par)
{
    bp4_operands_job job = {l, delta, in, memo, l->spec.pool > 1 ? ws_z(l, ws, batch) : NULL,
                            ws_cols(l, ws)};
    const long per_example = (long)positions(l) * (patch_size(l) + l->spec.size);
    parallel_for(par, batch,
                 parallel_split(par, batch, per_example, BP4_OPERANDS_MIN_PARALLEL),
                 bp4_operands_rows, &job);
    return job.dz ? job.dz : delta;
}

static void conv_backward_params(const layer *l, real *grad, const real *delta,
                                 const real *in, real *ws, const int32_t *memo, int batch,
                                 parallel *par)
{
    if (direct_conv(l)) {
        real *g = direct_g(l, ws);
        direct_gradient(l, delta, memo, in, g, direct_work(l, ws), batch, par);
        for (size_t i = 0; i < l->n_params; i++) grad[l->weights + i] += g[i];
        return;
    }
    const real *dz = bp4_operands(l, delta, in, ws, memo, batch, par);
    real *cols = ws_cols(l, ws);
    /* BP4: dC/dw = sum over examples and positions of delta a_patch;
     * BP3: dC/db = sum of delta over them */
    RNAME(matmul_backward_params)(grad + l->weights, grad + l->biases, dz, cols,
                                  batch * positions(l), patch_size(l), l->spec.size, par);
}

static void conv_backward_params_step(const layer *l, real *params, const real *delta,
                                      const real *in, real step, real *ws,
                                      const int32_t *memo, int batch, parallel *par)
{
    if (direct_conv(l)) {
        real *g = direct_g(l, ws);
        direct_gradient(l, delta, memo, in, g, direct_work(l, ws), batch, par);
        for (size_t i = 0; i < l->n_params; i++) { /* eq. 20, 21, rounded as the products do */
            real change = step * g[i];
            params[l->weights + i] -= change;
        }
        return;
    }
    const real *dz = bp4_operands(l, delta, in, ws, memo, batch, par);
    real *cols = ws_cols(l, ws);
    /* BP3, BP4 as above, and eq. 20, 21 at once */
    RNAME(matmul_backward_params_step)(params + l->weights, params + l->biases, dz, cols, step,
                                       batch * positions(l), patch_size(l), l->spec.size,
                                       par);
}

static void conv_backward_input(const layer *l, const real *params, const real *delta,
                                real *d_in, real *ws, const int32_t *memo, int batch,
                                parallel *par)
{
    const real *dz = z_errors(l, delta, ws, memo, batch);
    real *d_cols = ws_cols(l, ws);
    const int P = positions(l);
    /* BP2's w^T delta for every patch, then added back into the inputs,
     * an example at a time: its patches' errors (128 kB at the second
     * convolution) stay in cache for col2im, where the batch's (1.3 MB)
     * went out to L3 on cores with 1 MB of L2. Each row's sums are the
     * same in any split (matmul.h), and col2im adds them in the same order. */
    for (int x = 0; x < batch; x++) {
        RNAME(matmul_backward_input)(d_cols, dz + (size_t)x * P * l->spec.size,
                                     params + l->weights, P, patch_size(l), l->spec.size, par);
        col2im(l, d_cols, d_in + (size_t)x * l->n_in, 1);
    }
}

const layer_ops RNAME(conv_ops) = {
    .forward = conv_forward,
    .backward_params = conv_backward_params,
    .backward_params_step = conv_backward_params_step,
    .backward_input = conv_backward_input,
};

/* ---- The reference: the convolution as direct loops ---- */

void RNAME(conv_reference_forward)(real *z, const real *in, const real *w, const real *b,
                                   nndl_shape shape, int maps, int k, int batch)
{
    const int C = shape.channels, W = shape.width, OH = shape.height - k + 1,
              OW = shape.width - k + 1;
    const size_t n_in = (size_t)C * shape.height * W;
    for (int x = 0; x < batch; x++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                for (int f = 0; f < maps; f++) {
                    real sum = b[f];
                    for (int dy = 0; dy < k; dy++)
                        for (int dx = 0; dx < k; dx++)
                            for (int c = 0; c < C; c++)
                                sum += w[(((size_t)f * k + dy) * k + dx) * C + c] *
                                       in[x * n_in + ((size_t)(oy + dy) * W + ox + dx) * C + c];
                    z[(((size_t)x * OH + oy) * OW + ox) * maps + f] = sum;
                }
}

void RNAME(conv_reference_backward)(real *dw, real *db, real *d_in, const real *dz,
                                    const real *in, const real *w, nndl_shape shape, int maps,
                                    int k, int batch)
{
    const int C = shape.channels, W = shape.width, OH = shape.height - k + 1,
              OW = shape.width - k + 1;
    const size_t n_in = (size_t)C * shape.height * W;
    if (d_in) memset(d_in, 0, sizeof *d_in * n_in * (size_t)batch);
    for (int x = 0; x < batch; x++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                for (int f = 0; f < maps; f++) {
                    real d = dz[(((size_t)x * OH + oy) * OW + ox) * maps + f];
                    db[f] += d;
                    for (int dy = 0; dy < k; dy++)
                        for (int dx = 0; dx < k; dx++)
                            for (int c = 0; c < C; c++) {
                                size_t wi = (((size_t)f * k + dy) * k + dx) * C + c;
                                size_t ii = x * n_in + ((size_t)(oy + dy) * W + ox + dx) * C + c;
                                dw[wi] += d * in[ii];
                                if (d_in) d_in[ii] += d * w[wi];
                            }
                }
}
