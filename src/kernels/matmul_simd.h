/* The hand-vectorized float kernels, written once for any vector width.
 *
 * Not an ordinary header: matmul_avx512.c and matmul_avx2.c each define a
 * vector type and a few operations on it, then include this file, which
 * turns them into the products of matmul.h and a matmul_kernels table
 * named SIMD_TABLE. Before including it, a file defines:
 *
 *   vec, W                    the vector type and its number of float lanes
 *   vzero, vset1              all lanes 0; all lanes x
 *   vload, vstore             W lanes, unaligned
 *   vload_n, vstore_n         the first n lanes (1 <= n <= W); vload_n
 *                             zeroes the others and touches no memory past n
 *   vfma(a, b, c)             a * b + c, fused
 *   vmul, vsub                a * b and a - b, each rounded
 *   vsum                      the sum of the lanes, in a fixed order
 *   FWD_J, FWD_X              forward tile: neurons x examples
 *   BP_J, BP_V                backward_params tile: neurons x vectors of k
 *   BI_X, BI_V                backward_input tile: examples x vectors of k
 *                             (FWD_J, FWD_X, BP_J and BI_X at most TILE_MAX)
 *   SIMD_NAME(x), SIMD_TABLE  names for the entry points and the table
 *
 * Tiles keep a block of outputs in registers while the shared dimension is
 * streamed, so each loaded vector feeds several multiply-adds. Every tile
 * size (including the smaller ones at the edges) computes each output with
 * exactly the same sequence of operations, so how a chunk of rows is cut
 * into tiles, and so the number of threads, never changes a result.
 *
 * Alignment: malloc gives 16 bytes, and a split 64-byte load costs about
 * twice a whole one. In the backward products each lane is an output of its
 * own, so they start with a partial vector that aligns the operand loaded
 * most often; that changes no result. In the forward product the lanes are
 * partial sums of one output, so where vectors start would change the
 * rounding; instead its tiles are large enough (few loads per multiply-add)
 * that split loads hardly slow it. */
#include <stddef.h>
#include <stdint.h>

#include "kernels/matmul_kernels.h"

#define SIMD_ALWAYS_INLINE static inline __attribute__((always_inline))

enum { TILE_MAX = 5 }; /* the largest tile side the switches below cover */

typedef struct simd_product {
    float *out, *db; /* out is dw in backward_params, w in its step form */
    const float *in, *w, *b, *delta;
    float step;
    int batch, n_in, n_out;
} simd_product;

/* How many floats from p to the next multiple of the vector size, at most
 * n: 0 if p is aligned, or cannot be (not float-aligned). */
static inline int lanes_to_alignment(const float *p, int n)
{
    uintptr_t misaligned = (uintptr_t)p % sizeof(vec);
    if (misaligned == 0 || misaligned % sizeof(float)) return 0;
    int lanes = (int)((sizeof(vec) - misaligned) / sizeof(float));
    return lanes < n ? lanes : n;
}

/* ---- forward: out = in w^T + b ---------------------------------------- */

/* out[x..x+nx) [j..j+nj) for nj neurons by nx examples.
 * out (B, n_out), in (B, n_in), w (n_out, n_in), b (n_out).
 * Lane l of each accumulator sums the products with k = l (mod W) in order
 * of k; vsum then adds the lanes. That order depends on k alone. */
SIMD_ALWAYS_INLINE void forward_tile(const simd_product *p, int j, int x, int nj, int nx)
{
    const int n = p->n_in;
    const float *w = p->w + (size_t)j * n, *in = p->in + (size_t)x * n;
    vec acc[TILE_MAX][TILE_MAX];
    for (int a = 0; a < nj; a++)
        for (int e = 0; e < nx; e++) acc[a][e] = vzero();
    int k = 0;
    for (; k + W <= n; k += W) {
        vec wv[TILE_MAX];
        for (int a = 0; a < nj; a++) wv[a] = vload(w + (size_t)a * n + k);
        for (int e = 0; e < nx; e++) {
            vec iv = vload(in + (size_t)e * n + k);
            for (int a = 0; a < nj; a++) acc[a][e] = vfma(wv[a], iv, acc[a][e]);
        }
    }
    if (k < n) { /* the last n - k < W inputs: the other lanes load zeros */
        vec wv[TILE_MAX];
        for (int a = 0; a < nj; a++) wv[a] = vload_n(w + (size_t)a * n + k, n - k);
        for (int e = 0; e < nx; e++) {
            vec iv = vload_n(in + (size_t)e * n + k, n - k);
            for (int a = 0; a < nj; a++) acc[a][e] = vfma(wv[a], iv, acc[a][e]);
        }
    }
    for (int e = 0; e < nx; e++)
        for (int a = 0; a < nj; a++)
            p->out[(size_t)(x + e) * p->n_out + j + a] = vsum(acc[a][e]) + p->b[j + a];
}

/* One copy of forward_tile for each tile shape, so that its accumulators
 * live in registers. */
static void forward_tile_any(const simd_product *p, int j, int x, int nj, int nx)
{
#define FWD_CASE(A, X)                                                      \
    case (A) * 8 + (X):                                                     \
        if ((A) <= FWD_J && (X) <= FWD_X) forward_tile(p, j, x, A, X);      \
        break;
#define FWD_CASES(A) FWD_CASE(A, 1) FWD_CASE(A, 2) FWD_CASE(A, 3) FWD_CASE(A, 4) FWD_CASE(A, 5)
    switch (nj * 8 + nx) {
        FWD_CASES(1) FWD_CASES(2) FWD_CASES(3) FWD_CASES(4) FWD_CASES(5)
    }
#undef FWD_CASES
#undef FWD_CASE
}

/* Neurons j in [j0, j1) for every example. */
static void forward_rows(void *ctx, int j0, int j1)
{
    const simd_product *p = ctx;
    for (int j = j0; j < j1; j += FWD_J) {
        int nj = j1 - j < FWD_J ? j1 - j : FWD_J;
        for (int x = 0; x < p->batch; x += FWD_X)
            forward_tile_any(p, j, x, nj, p->batch - x < FWD_X ? p->batch - x : FWD_X);
    }
}

/* out (B, n_out), in (B, n_in), w (n_out, n_in), b (n_out) */
static void SIMD_NAME(matmul_forward)(float *out, const float *in, const float *w,
                                      const float *b, int batch, int n_in, int n_out,
                                      parallel *par)
{
    simd_product p = {.out = out, .in = in, .w = w, .b = b, .batch = batch, .n_in = n_in,
                      .n_out = n_out};
    parallel_for(par, n_out, matmul_grain((long)batch * n_in, FWD_J), forward_rows, &p);
}

/* ---- backward_params: dw += delta^T in, db += sum_x delta --------------- */

/* dw[j..j+nj) [k..k+nv W) (the last vector only `last` lanes) += the batch.
 * dw (n_out, n_in), delta (B, n_out), in (B, n_in).
 * dw is loaded once and stored once; in between, each element adds
 * delta_xj in_xk for x = 0, 1, ... in order.
 *
 * With `step` (a constant in each inlined copy), dw is the weights w: the
 * tile's gradient is summed from zero in the same order, then
 * w -= step * gradient (eq. 20) is applied before the tile is stored. That
 * is exactly what backward_params onto zeros and a separate update loop
 * compute, without writing the gradient of a whole layer and reading it
 * back. */
SIMD_ALWAYS_INLINE void backward_params_tile(const simd_product *p, float *dw, int j, int k,
                                             int nj, int nv, int last, int step)
{
    const int n = p->n_in;
    vec acc[TILE_MAX][BP_V];
    for (int a = 0; a < nj; a++) {
        float *row = dw + (size_t)(j + a) * n + k;
        for (int v = 0; v < nv - 1; v++) acc[a][v] = step ? vzero() : vload(row + v * W);
        acc[a][nv - 1] = step ? vzero()
                         : last == W ? vload(row + (nv - 1) * W)
                                     : vload_n(row + (nv - 1) * W, last);
    }
    for (int x = 0; x < p->batch; x++) {
        const float *in = p->in + (size_t)x * n + k;
        vec iv[BP_V];
        for (int v = 0; v < nv - 1; v++) iv[v] = vload(in + v * W);
        iv[nv - 1] = last == W ? vload(in + (nv - 1) * W) : vload_n(in + (nv - 1) * W, last);
        const float *d = p->delta + (size_t)x * p->n_out + j;
        for (int a = 0; a < nj; a++) {
            vec da = vset1(d[a]);
            for (int v = 0; v < nv; v++) acc[a][v] = vfma(da, iv[v], acc[a][v]);
        }
    }
    if (step) {
        /* w - step * g, rounded twice as in the plain update loop */
        const vec s = vset1(p->step);
        for (int a = 0; a < nj; a++) {
            float *row = dw + (size_t)(j + a) * n + k;
            for (int v = 0; v < nv - 1; v++)
                acc[a][v] = vsub(vload(row + v * W), vmul(s, acc[a][v]));
            vec wl = last == W ? vload(row + (nv - 1) * W) : vload_n(row + (nv - 1) * W, last);
            acc[a][nv - 1] = vsub(wl, vmul(s, acc[a][nv - 1]));
        }
    }
    for (int a = 0; a < nj; a++) {
        float *row = dw + (size_t)(j + a) * n + k;
        for (int v = 0; v < nv - 1; v++) vstore(row + v * W, acc[a][v]);
        if (last == W) vstore(row + (nv - 1) * W, acc[a][nv - 1]);
        else vstore_n(row + (nv - 1) * W, acc[a][nv - 1], last);
    }
}

/* Whole tiles of BP_V vectors, or a single vector of `last` lanes. */
SIMD_ALWAYS_INLINE void backward_params_tile_any(const simd_product *p, float *dw, int j,
                                                 int k, int nj, int nv, int last, int step)
{
#define BP_CASE(A)                                                                  \
    case A:                                                                         \
        if ((A) <= BP_J) {                                                          \
            if (nv == BP_V) backward_params_tile(p, dw, j, k, A, BP_V, W, step);    \
            else backward_params_tile(p, dw, j, k, A, 1, last, step);               \
        }                                                                           \
        break;
    switch (nj) {
        BP_CASE(1) BP_CASE(2) BP_CASE(3) BP_CASE(4) BP_CASE(5)
    }
#undef BP_CASE
}

/* Neurons j in [j0, j1): their rows of dw, and db_j; or with `step`, of
 * w and b. */
SIMD_ALWAYS_INLINE void backward_params_rows_any(const simd_product *p, int j0, int j1,
                                                 int step)
{
    float *dw = p->out;
    const int n = p->n_in;
    /* A first, partial vector makes the loads of in aligned (when its rows
     * are), which matters more than the alignment of dw: in is loaded once
     * per example, dw once in all. Lanes hold separate elements, so where
     * the vectors start changes no result. */
    int k = lanes_to_alignment(p->in, n);
    if (k > 0)
        for (int j = j0; j < j1; j += BP_J)
            backward_params_tile_any(p, dw, j, 0, j1 - j < BP_J ? j1 - j : BP_J, 1, k, step);
    /* k outermost: the slab in[.][k..k + BP_V W) stays in L1 for all j */
    for (; k + BP_V * W <= n; k += BP_V * W)
        for (int j = j0; j < j1; j += BP_J)
            backward_params_tile_any(p, dw, j, k, j1 - j < BP_J ? j1 - j : BP_J, BP_V, W,
                                     step);
    for (; k < n; k += W)
        for (int j = j0; j < j1; j += BP_J)
            backward_params_tile_any(p, dw, j, k, j1 - j < BP_J ? j1 - j : BP_J, 1,
                                     n - k < W ? n - k : W, step);
    /* BP3: the same order as the reference; eq. 21 with `step` */
    for (int j = j0; j < j1; j++) {
        float s = 0;
        for (int x = 0; x < p->batch; x++) s += p->delta[(size_t)x * p->n_out + j];
        if (step) p->db[j] -= p->step * s;
        else p->db[j] += s;
    }
}

static void backward_params_rows(void *ctx, int j0, int j1)
{
    backward_params_rows_any(ctx, j0, j1, 0);
}

static void backward_params_step_rows(void *ctx, int j0, int j1)
{
    backward_params_rows_any(ctx, j0, j1, 1);
}

/* dw (n_out, n_in), db (n_out), delta (B, n_out), in (B, n_in); accumulates */
static void SIMD_NAME(matmul_backward_params)(float *dw, float *db, const float *delta,
                                              const float *in, int batch, int n_in, int n_out,
                                              parallel *par)
{
    simd_product p = {.out = dw, .db = db, .delta = delta, .in = in, .batch = batch,
                      .n_in = n_in, .n_out = n_out};
    parallel_for(par, n_out, matmul_grain((long)batch * n_in, BP_J), backward_params_rows,
                 &p);
}

/* w (n_out, n_in), b (n_out), delta (B, n_out), in (B, n_in); updates w and b */
static void SIMD_NAME(matmul_backward_params_step)(float *w, float *b, const float *delta,
                                                   const float *in, float step, int batch,
                                                   int n_in, int n_out, parallel *par)
{
    simd_product p = {.out = w, .db = b, .delta = delta, .in = in, .step = step,
                      .batch = batch, .n_in = n_in, .n_out = n_out};
    parallel_for(par, n_out, matmul_grain((long)batch * n_in, BP_J), backward_params_step_rows,
                 &p);
}

/* ---- backward_input: d_in = delta w ------------------------------------ */

/* d_in[x..x+nx) [k..k+nv W) (the last vector only `last` lanes).
 * d_in (B, n_in), delta (B, n_out), w (n_out, n_in).
 * Each element sums delta_xj w_jk for j = 0, 1, ... in order. */
SIMD_ALWAYS_INLINE void backward_input_tile(const simd_product *p, int x, int k, int nx,
                                            int nv, int last)
{
    const int n = p->n_in;
    vec acc[TILE_MAX][BI_V];
    for (int e = 0; e < nx; e++)
        for (int v = 0; v < nv; v++) acc[e][v] = vzero();
    for (int j = 0; j < p->n_out; j++) {
        const float *wj = p->w + (size_t)j * n + k;
        vec wv[BI_V];
        for (int v = 0; v < nv - 1; v++) wv[v] = vload(wj + v * W);
        wv[nv - 1] = last == W ? vload(wj + (nv - 1) * W) : vload_n(wj + (nv - 1) * W, last);
        for (int e = 0; e < nx; e++) {
            vec d = vset1(p->delta[(size_t)(x + e) * p->n_out + j]);
            for (int v = 0; v < nv; v++) acc[e][v] = vfma(d, wv[v], acc[e][v]);
        }
    }
    for (int e = 0; e < nx; e++) {
        float *row = p->out + (size_t)(x + e) * n + k;
        for (int v = 0; v < nv - 1; v++) vstore(row + v * W, acc[e][v]);
        if (last == W) vstore(row + (nv - 1) * W, acc[e][nv - 1]);
        else vstore_n(row + (nv - 1) * W, acc[e][nv - 1], last);
    }
}

static void backward_input_tile_any(const simd_product *p, int x, int k, int nx, int nv,
                                    int last)
{
#define BI_CASE(X)                                                                  \
    case X:                                                                         \
        if ((X) <= BI_X) {                                                          \
            if (nv == BI_V) backward_input_tile(p, x, k, X, BI_V, W);               \
            else backward_input_tile(p, x, k, X, 1, last);                          \
        }                                                                           \
        break;
    switch (nx) {
        BI_CASE(1) BI_CASE(2) BI_CASE(3) BI_CASE(4) BI_CASE(5)
    }
#undef BI_CASE
}

/* Inputs k in [k0, k1) of every example. */
static void backward_input_columns(void *ctx, int k0, int k1)
{
    const simd_product *p = ctx;
    for (int x = 0; x < p->batch; x += BI_X) {
        int nx = p->batch - x < BI_X ? p->batch - x : BI_X;
        /* A partial first vector aligns the loads of w, as in backward_params */
        int k = k0 + lanes_to_alignment(p->w + k0, k1 - k0);
        if (k > k0) backward_input_tile_any(p, x, k0, nx, 1, k - k0);
        for (; k + BI_V * W <= k1; k += BI_V * W) backward_input_tile_any(p, x, k, nx, BI_V, W);
        for (; k < k1; k += W)
            backward_input_tile_any(p, x, k, nx, 1, k1 - k < W ? k1 - k : W);
    }
}

/* d_in (B, n_in), delta (B, n_out), w (n_out, n_in); overwrites d_in */
static void SIMD_NAME(matmul_backward_input)(float *d_in, const float *delta, const float *w,
                                             int batch, int n_in, int n_out, parallel *par)
{
    simd_product p = {.out = d_in, .delta = delta, .w = w, .batch = batch, .n_in = n_in,
                      .n_out = n_out};
    /* Columns in blocks of at least 64 keep the vectors full. */
    int grain = matmul_grain((long)batch * n_out, 64);
    parallel_for(par, n_in, grain, backward_input_columns, &p);
}

const matmul_kernels SIMD_TABLE = {
    .name = SIMD_KERNELS_NAME,
    .supported = SIMD_NAME(supported),
    .forward = SIMD_NAME(matmul_forward),
    .backward_params = SIMD_NAME(matmul_backward_params),
    .backward_params_step = SIMD_NAME(matmul_backward_params_step),
    .backward_input = SIMD_NAME(matmul_backward_input),
};
