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
 *   vmul, vsub, vadd          a * b, a - b and a + b, each rounded
 *   vnonzero                  whether any lane is nonzero (or NaN)
 *   vnonzero_lanes            bit l set for each nonzero (or NaN) lane l
 *   vnonzero_indices(d, v, k) k + l for the nonzero (or NaN) lanes l of v,
 *                             in order, into d[0..W); returns their count
 *   vor                       the bitwise or of the lanes' bits
 *   dvec, DW                  a vector of doubles and its number of lanes
 *   dset1, dmul, dsub         as for vec
 *   dfma(a, b, c), dfms       a * b + c and a * b - c, fused
 *   dload_f, dstore_f         DW floats widened to doubles; DW doubles
 *                             rounded to floats (to nearest)
 *   dany_large(x, limit)      whether any lane has |x| >= limit, or is NaN
 *   dexp2_table(z, table)     the doubles with bits table[k % 32] + (k << 47),
 *                             k the low bits of each lane of z
 *   vsum_each(v)              lane m = the sum of v[m]'s lanes, m < W: halves,
 *                             then quarters, ... (a fixed order)
 *   FWD_J, FWD_X              forward tile: neurons x examples
 *   BP_J, BP_V                backward_params tile: neurons x vectors of k
 *   BI_X, BI_V                backward_input tile: examples x vectors of k
 *   FUSED_V                   backward_input_step tile: vectors of k (by
 *                             every example of the batch)
 *   FUSED_ROWS                its rows of w at a time: 1 or 2
 *   SPARSE_V, SPARSE_ACC      sparse tiles: 4 chains or columns x SPARSE_V
 *                             vectors of outputs (SPARSE_V 1 to 4), and the
 *                             accumulators of the step's tiles
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
 * that split loads slow it little. The network's parameters and batch
 * buffers start on 64 bytes (alloc_aligned), so for 784-pixel rows every
 * load is whole anyway: some 2% of a [784,30,10] epoch. */
#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matmul.h"
#include "kernels/matmul_kernels.h"

#define SIMD_ALWAYS_INLINE static inline __attribute__((always_inline))

enum { TILE_MAX = 5 }; /* the largest tile side the switches below cover */
enum { FWD_BLOCK_BYTES = 1 << 18 }; /* the forward product's examples per block: 256 kB */
/* backward_params takes more than BP_ROWS examples in chunks of BP_ROWS,
 * for up to BP_PART_ROWS neurons per thread (the sums between chunks live
 * on the stack: 16 kB with AVX-512) */
enum { BP_ROWS = 64, BP_PART_ROWS = 64 };
/* The products on mostly zero errors take columns in blocks of NONZERO_V
 * vectors: as many accumulators, the rest of 16 registers for operands. */
enum { NONZERO_V = 8 };
/* Products of fewer multiply-adds (some 3 us) always run dense. */
enum { NONZERO_MIN_WORK = 1 << 18 };
/* Columns [k0, k1) in blocks of NONZERO_V vectors, the last block shorter
 * (nv vectors, the last of them `last` lanes): BLOCK(k, NV, last) with NV a
 * constant in each copy, so that the accumulators live in registers. A
 * tail of single vectors would walk the nonzero errors once per vector. */
#define NONZERO_COLUMNS(k0, k1, BLOCK)                                              \
    for (int k_ = (k0); k_ < (k1); k_ += NONZERO_V * W) {                          \
        const int rest_ = (k1) - k_;                                                \
        if (rest_ >= NONZERO_V * W) {                                               \
            BLOCK(k_, NONZERO_V, W);                                                \
            continue;                                                               \
        }                                                                           \
        const int last_ = rest_ - (rest_ - 1) / W * W;                              \
        switch ((rest_ + W - 1) / W) {                                              \
        case 1: BLOCK(k_, 1, last_); break;                                         \
        case 2: BLOCK(k_, 2, last_); break;                                         \
        case 3: BLOCK(k_, 3, last_); break;                                         \
        case 4: BLOCK(k_, 4, last_); break;                                         \
        case 5: BLOCK(k_, 5, last_); break;                                         \
        case 6: BLOCK(k_, 6, last_); break;                                         \
        case 7: BLOCK(k_, 7, last_); break;                                         \
        case 8: BLOCK(k_, 8, last_); break;                                         \
        }                                                                           \
    }
/* A last block of 1 to NONZERO_V vectors: without case 8, a rest of 7 and
 * a partial vector (113-127 columns with AVX-512, 57-63 with AVX2) was
 * left undone, as a second convolution's 500 columns were with AVX-512. */
_Static_assert(NONZERO_V == 8, "NONZERO_COLUMNS's cases");

typedef struct simd_product {
    float *out, *db; /* out is dw in backward_params, w in its step form */
    const float *in, *w, *b, *delta;
    float step;
    int batch, n_in, n_out;
    int k_lo, k_hi; /* forward and backward_params: see nonzero_columns */
    int stride;     /* the sparse products: of the transposed weights */
    int k0, k1;     /* the sparse products: their inputs */
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

/* Whether any example has a nonzero input in columns [k, k + lanes):
 * the bits of all of them or'ed, then one test, so that a column of
 * vectors costs a single branch. (Or-ing only ever gives +-0 from +-0.) */
static int column_nonzero(const simd_product *p, int k, int lanes)
{
    vec any = vzero();
    const float *in = p->in + k;
    for (int x = 0; x < p->batch; x++, in += p->n_in)
        any = vor(any, lanes == W ? vload(in) : vload_n(in, lanes));
    return vnonzero(any);
}

/* Sets p->k_lo and p->k_hi so that every input in (B, n_in) is zero outside
 * columns [k_lo, k_hi): k_lo is a multiple of W, k_hi one or n_in. MNIST
 * digits leave the first and last few rows of their 28 x 28 pixels blank,
 * some 15% of the columns of a batch of 10 images (8% of 100), and the
 * products of layer 1 skip them.
 *
 * Skipping changes no result. In the forward product each lane's sum
 * starts at +0, and adding w * 0 = +-0 to +0 gives +0: a blank prefix adds
 * nothing. After it, x + (+-0) = x for every nonzero x, so a blank suffix
 * adds nothing either; only a sum that is exactly -0 would become +0, which
 * needs every product before it to underflow. In backward_params the
 * skipped elements receive d * 0 = +-0 summed from +0, that is +0:
 * dw + (+0) = dw, and w - step * (+0) = w. A NaN input counts as nonzero. */
static void nonzero_columns(simd_product *p)
{
    const int n = p->n_in, full = n - n % W;
    int lo = 0, hi = n;
    while (lo < full && !column_nonzero(p, lo, W)) lo += W;
    if (full == n || !column_nonzero(p, full, n - full))
        for (hi = full; hi > lo && !column_nonzero(p, hi - W, W);) hi -= W;
    p->k_lo = lo < hi ? lo : 0;
    p->k_hi = lo < hi ? hi : 0;
}

/* ---- forward: out = in w^T + b ---------------------------------------- */

/* out[x..x+nx) [j..j+nj) for nj neurons by nx examples.
 * out (B, n_out), in (B, n_in), w (n_out, n_in), b (n_out).
 * Lane l of each accumulator sums the products with k = l (mod W) in order
 * of k; vsum_each then adds the lanes of each (tests/test_kernels.c writes
 * the order out). That order depends on k alone. */
SIMD_ALWAYS_INLINE void forward_tile(const simd_product *p, int j, int x, int nj, int nx)
{
    const int n = p->n_in;
    const float *w = p->w + (size_t)j * n, *in = p->in + (size_t)x * n;
    vec acc[TILE_MAX][TILE_MAX];
    for (int a = 0; a < nj; a++)
        for (int e = 0; e < nx; e++) acc[a][e] = vzero();
    int k = p->k_lo;
    for (; k + W <= p->k_hi; k += W) {
        vec wv[TILE_MAX];
        for (int a = 0; a < nj; a++) wv[a] = vload(w + (size_t)a * n + k);
        for (int e = 0; e < nx; e++) {
            vec iv = vload(in + (size_t)e * n + k);
            /* in a register: else compilers fold the load into each
             * multiply-add, nj loads where one does */
            __asm__("" : "+x"(iv));
            for (int a = 0; a < nj; a++) acc[a][e] = vfma(wv[a], iv, acc[a][e]);
        }
    }
    if (k < p->k_hi) { /* the last n - k < W inputs: the other lanes load zeros */
        vec wv[TILE_MAX];
        for (int a = 0; a < nj; a++) wv[a] = vload_n(w + (size_t)a * n + k, n - k);
        for (int e = 0; e < nx; e++) {
            vec iv = vload_n(in + (size_t)e * n + k, n - k);
            for (int a = 0; a < nj; a++) acc[a][e] = vfma(wv[a], iv, acc[a][e]);
        }
    }
    /* vsum of each accumulator, W at a time (vsum_each) */
    float sums[TILE_MAX * TILE_MAX + W];
    for (int c = 0; c < nj * nx; c += W) {
        vec group[W];
        for (int i = 0; i < W; i++)
            group[i] = c + i < nj * nx ? acc[(c + i) % nj][(c + i) / nj] : vzero();
        vstore(sums + c, vsum_each(group));
    }
    for (int e = 0; e < nx; e++)
        for (int a = 0; a < nj; a++)
            p->out[(size_t)(x + e) * p->n_out + j + a] = sums[e * nj + a] + p->b[j + a];
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

/* Neurons j in [j0, j1) for every example. The larger operand is streamed
 * once and the smaller one kept in cache: the weights, in the outer loop,
 * for the fully connected layers (a mini-batch of 10 examples by 1,000
 * neurons); the examples for a convolution's patches (640 rows by 40 maps
 * at a mini-batch of 10, the patches 1.3 MB, the weights 80 kB), which
 * were read from L3 once for each pair of neurons. The order of the tiles
 * changes no result. */
static void forward_rows(void *ctx, int j0, int j1)
{
    const simd_product *p = ctx;
    if (p->batch > j1 - j0) {
        for (int x = 0; x < p->batch; x += FWD_X)
            for (int j = j0; j < j1; j += FWD_J)
                forward_tile_any(p, j, x, j1 - j < FWD_J ? j1 - j : FWD_J,
                                 p->batch - x < FWD_X ? p->batch - x : FWD_X);
        return;
    }
    /* Many examples (an evaluation's chunk of 256) go in blocks whose
     * inputs stay in L2 while the weights stream by once per block: all
     * 256 examples' inputs (1 MB for 1,000 of them) were read from L3 for
     * each pair of neurons. A mini-batch of 10 is one block. */
    int block = FWD_BLOCK_BYTES / (p->n_in * (int)sizeof(float)) / FWD_X * FWD_X;
    if (block < FWD_X) block = FWD_X;
    for (int x0 = 0; x0 < p->batch; x0 += block) {
        const int x1 = p->batch - x0 < block ? p->batch : x0 + block;
        for (int j = j0; j < j1; j += FWD_J) {
            int nj = j1 - j < FWD_J ? j1 - j : FWD_J;
            for (int x = x0; x < x1; x += FWD_X)
                forward_tile_any(p, j, x, nj, x1 - x < FWD_X ? x1 - x : FWD_X);
        }
    }
}

/* out (B, n_out), in (B, n_in), w (n_out, n_in), b (n_out) */
static void SIMD_NAME(matmul_forward)(float *out, const float *in, const float *w,
                                      const float *b, int batch, int n_in, int n_out,
                                      parallel *par)
{
    simd_product p = {.out = out, .in = in, .w = w, .b = b, .batch = batch, .n_in = n_in,
                      .n_out = n_out};
    nonzero_columns(&p);
    parallel_for(par, n_out, matmul_grain(par, n_out, (long)batch * n_in, FWD_J), forward_rows, &p);
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
 * back.
 *
 * The examples [x0, x1): a tile whose x0 > 0 continues the sums that the
 * tile of the examples before it left in `part` (nj rows of BP_V W
 * floats), and one whose x1 < batch leaves its sums there (part NULL:
 * all the examples at once): the same additions in the same order, cut
 * where backward_params_rows_any cuts the examples. */
SIMD_ALWAYS_INLINE void backward_params_tile(const simd_product *p, float *dw, int j, int k,
                                             int nj, int nv, int last, int step, int x0,
                                             int x1, float *part)
{
    const int n = p->n_in;
    vec acc[TILE_MAX][BP_V];
    for (int a = 0; a < nj; a++) {
        float *row = dw + (size_t)(j + a) * n + k;
        if (part && x0 > 0) {
            for (int v = 0; v < nv; v++) acc[a][v] = vload(part + (a * BP_V + v) * W);
            continue;
        }
        for (int v = 0; v < nv - 1; v++) acc[a][v] = step ? vzero() : vload(row + v * W);
        acc[a][nv - 1] = step ? vzero()
                         : last == W ? vload(row + (nv - 1) * W)
                                     : vload_n(row + (nv - 1) * W, last);
    }
    for (int x = x0; x < x1; x++) {
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
    if (part && x1 < p->batch) {
        for (int a = 0; a < nj; a++)
            for (int v = 0; v < nv; v++) vstore(part + (a * BP_V + v) * W, acc[a][v]);
        return;
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
                                                 int k, int nj, int nv, int last, int step,
                                                 int x0, int x1, float *part)
{
#define BP_CASE(A)                                                                  \
    case A:                                                                         \
        if ((A) <= BP_J) {                                                          \
            if (nv == BP_V)                                                         \
                backward_params_tile(p, dw, j, k, A, BP_V, W, step, x0, x1, part);  \
            else backward_params_tile(p, dw, j, k, A, 1, last, step, x0, x1, part); \
        }                                                                           \
        break;
    switch (nj) {
        BP_CASE(1) BP_CASE(2) BP_CASE(3) BP_CASE(4) BP_CASE(5)
    }
#undef BP_CASE
}

/* BP3: db_j += the sum of delta_xj over x in order, as the reference adds
 * them; with `step`, eq. 21 in two statements so that no compiler fuses
 * them, as in the tiles. 64 neurons at a time, so that their sums go side
 * by side rather than one long chain of additions after another. */
static void bias_sums(const simd_product *p, int j0, int j1, int step)
{
    for (int j = j0; j < j1; j += 64) {
        const int nj = j1 - j < 64 ? j1 - j : 64;
        float s[64] = {0};
        for (int x = 0; x < p->batch; x++) {
            const float *d = p->delta + (size_t)x * p->n_out + j;
            for (int a = 0; a < nj; a++) s[a] += d[a];
        }
        for (int a = 0; a < nj; a++) {
            if (step) {
                float change = p->step * s[a];
                p->db[j + a] -= change;
            } else {
                p->db[j + a] += s[a];
            }
        }
    }
}

/* Neurons j in [j0, j1): their rows of dw, and db_j; or with `step`, of
 * w and b. */
SIMD_ALWAYS_INLINE void backward_params_rows_any(const simd_product *p, int j0, int j1,
                                                 int step)
{
    float *dw = p->out;
    /* A first, partial vector makes the loads of in aligned (when its rows
     * are), which matters more than the alignment of dw: in is loaded once
     * per example, dw once in all. Lanes hold separate elements, so where
     * the vectors start changes no result. */
    const int lo = p->k_lo, hi = p->k_hi; /* the columns in is not all zero */
    int k = lo + lanes_to_alignment(p->in + lo, hi - lo);
    const int batch = p->batch;
    if (k > lo)
        for (int j = j0; j < j1; j += BP_J)
            backward_params_tile_any(p, dw, j, lo, j1 - j < BP_J ? j1 - j : BP_J, 1, k - lo,
                                     step, 0, batch, NULL);
    /* k outermost: the slab in[.][k..k + BP_V W) stays in cache for all j.
     * Many examples (a convolution's patches: 640 rows at a mini-batch of
     * 10, the slab 40-80 kB) go in chunks of BP_ROWS whose slab stays in
     * L1, each tile's sums kept in `part` between chunks: the second
     * convolution's BP4 and step on a Zen 3 core went from 57 to 76
     * GFLOPS (451 to 335 us per mini-batch of 10). */
    float part[BP_PART_ROWS * BP_V * W];
    if (batch > BP_ROWS && j1 - j0 <= BP_PART_ROWS) {
        for (; k + BP_V * W <= hi; k += BP_V * W)
            for (int x0 = 0; x0 < batch; x0 += BP_ROWS) {
                const int x1 = batch - x0 < BP_ROWS ? batch : x0 + BP_ROWS;
                for (int j = j0; j < j1; j += BP_J)
                    backward_params_tile_any(p, dw, j, k, j1 - j < BP_J ? j1 - j : BP_J, BP_V,
                                             W, step, x0, x1,
                                             part + (size_t)(j - j0) * BP_V * W);
            }
    }
    for (; k + BP_V * W <= hi; k += BP_V * W)
        for (int j = j0; j < j1; j += BP_J)
            backward_params_tile_any(p, dw, j, k, j1 - j < BP_J ? j1 - j : BP_J, BP_V, W,
                                     step, 0, batch, NULL);
    for (; k < hi; k += W)
        for (int j = j0; j < j1; j += BP_J)
            backward_params_tile_any(p, dw, j, k, j1 - j < BP_J ? j1 - j : BP_J, 1,
                                     hi - k < W ? hi - k : W, step, 0, batch, NULL);
    bias_sums(p, j0, j1, step);
}

static void backward_params_rows(void *ctx, int j0, int j1)
{
    backward_params_rows_any(ctx, j0, j1, 0);
}

static void backward_params_step_rows(void *ctx, int j0, int j1)
{
    backward_params_rows_any(ctx, j0, j1, 1);
}

/* ---- backward_params and backward_input on mostly zero errors --------- */

/* A max-pool passes each window's error to its winner alone, and ReLU and
 * dropout zero the errors of inactive and dropped neurons: at the second
 * convolution of chapter 6's networks three quarters of the errors or
 * more are exactly zero. Where at most half of them are nonzero, the
 * backward products visit only those. Each sum keeps the dense order, less
 * terms that are exactly +-0, which change no sum that is not itself zero:
 * the results are the dense products' (a zero's sign aside). */

/* Whether looking for the nonzero errors may pay: not for a product of a
 * few microseconds (chapter 1's 30 -> 10), where it would cost a tenth,
 * nor where the first errors are mostly nonzero (a sigmoid's never are
 * zero), which the first 64 say at the cost of a few nanoseconds. */
static int worth_skipping_zeros(const float *delta, int batch, int n_in, int n_out)
{
    if ((long)batch * n_in * n_out < NONZERO_MIN_WORK) return 0;
    const long total = (long)batch * n_out, head = total < 64 ? total : 64;
    int nonzero = 0;
    for (long i = 0; i < head; i++) nonzero += delta[i] != 0;
    return 4 * nonzero <= 3 * head;
}

/* The masks of a second convolution (640 examples by 40 filters) or of a
 * layer of 1,000 at a mini-batch of 10 fit in `local`: no allocation per
 * mini-batch; larger products allocate theirs. */
enum { NONZERO_LOCAL_WORDS = 2048 };

typedef struct nonzero_errors {
    int words;           /* 64-bit words per example in `rows` */
    int blocks;          /* blocks of 64 examples in `columns` */
    uint64_t *rows;      /* example x, neuron j: bit j % 64 of rows[x words + j / 64] */
    uint64_t *columns;   /* bit x % 64 of columns[(x / 64) n_out + j] */
    uint64_t *heap;      /* rows and columns when they do not fit in local, else NULL */
    uint64_t local[NONZERO_LOCAL_WORDS];
} nonzero_errors;

static void nonzero_errors_free(nonzero_errors *z) { free(z->heap); }

/* Eight 64-bit words as one vector (two or one registers), and its lanes'
 * numbers: column j of a block is lane j % 8 of vector j / 8. */
typedef uint64_t bits64x8 __attribute__((vector_size(64)));
#define BITS_LANES ((bits64x8){0, 1, 2, 3, 4, 5, 6, 7})

/* Finds delta's nonzero errors (NaN counts as nonzero), `columns` too if
 * asked for. 0 where more than half are nonzero, or without the memory:
 * the dense products run then. */
static int nonzero_errors_find(nonzero_errors *z, const float *delta, int batch, int n_in,
                               int n_out, int columns)
{
    if (!worth_skipping_zeros(delta, batch, n_in, n_out)) return 0;
    z->words = (n_out + 63) / 64;
    z->blocks = (batch + 63) / 64;
    const size_t n_rows = (size_t)batch * z->words,
                 n_words = n_rows + (columns ? (size_t)z->blocks * n_out : 0);
    z->heap = n_words > NONZERO_LOCAL_WORDS ? calloc(n_words, sizeof *z->heap) : NULL;
    if (n_words > NONZERO_LOCAL_WORDS && !z->heap) return 0;
    z->rows = z->heap ? z->heap : z->local;
    z->columns = columns ? z->rows + n_rows : NULL;
    long nonzero = 0;
    for (int x = 0; x < batch; x++) {
        const float *d = delta + (size_t)x * n_out;
        for (int w = 0; w < z->words; w++) {
            /* a word's bits gathered in a register, then stored once */
            uint64_t word = 0;
            const int end = n_out - 64 * w < 64 ? n_out : 64 * w + 64;
            for (int j = 64 * w; j < end; j += W) { /* W divides 64 */
                vec v = end - j >= W ? vload(d + j) : vload_n(d + j, end - j);
                word |= (uint64_t)vnonzero_lanes(v) << (j % 64);
            }
            z->rows[(size_t)x * z->words + w] = word;
            nonzero += __builtin_popcountll(word);
        }
    }
    if (2 * nonzero > (long)batch * n_out) {
        nonzero_errors_free(z);
        return 0;
    }
    /* The rows' bits transposed, 64 examples by 64 neurons at a time: each
     * example's word spread over the 64 columns at once, with vector
     * shifts. Setting each column's bit one at a time, a
     * load and a store per nonzero error, took some 15 us of a mini-batch
     * of the final network, on the calling thread. */
    if (columns)
        for (int c = 0; c < z->blocks; c++)
            for (int w = 0; w < z->words; w++) {
                bits64x8 bits[8] = {{0}};
                const int x0 = 64 * c, nx = batch - x0 < 64 ? batch - x0 : 64,
                          nj = n_out - 64 * w < 64 ? n_out - 64 * w : 64;
                for (int i = 0; i < nx; i++) {
                    const uint64_t row = z->rows[(size_t)(x0 + i) * z->words + w];
                    for (int v = 0; v < 8; v++)
                        bits[v] |= ((row >> (BITS_LANES + 8 * v)) & 1) << i;
                }
                memcpy(z->columns + (size_t)c * n_out + 64 * w, bits,
                       (size_t)nj * sizeof(uint64_t));
            }
    return 1;
}

typedef struct product_on_nonzero {
    simd_product p;
    const nonzero_errors *z;
    int step;
} product_on_nonzero;

/* Row j of dw (or of w, with `step`), columns [k, k + nv W) (the last
 * vector only `last` lanes): as backward_params_tile, over the examples
 * whose error delta_xj is nonzero, in order; those of blocks [c0, c1) of
 * 64 examples. A call with c0 > 0 continues the sums that the call for the
 * blocks before it left in `part` (nv vectors), and one with c1 short of
 * the last block leaves its sums there (part NULL: all blocks at once). */
SIMD_ALWAYS_INLINE void params_on_nonzero_block(const product_on_nonzero *f, int j, int k,
                                                int nv, int last, int c0, int c1, float *part)
{
    const simd_product *p = &f->p;
    const int n = p->n_in;
    float *row = p->out + (size_t)j * n + k;
    vec acc[NONZERO_V];
    for (int v = 0; v < nv; v++) {
        const int lanes = v < nv - 1 ? W : last;
        acc[v] = part && c0 > 0 ? vload(part + v * W)
                 : f->step      ? vzero()
                 : lanes == W   ? vload(row + v * W)
                                : vload_n(row + v * W, lanes);
    }
    for (int c = c0; c < c1; c++)
        for (uint64_t m = f->z->columns[(size_t)c * p->n_out + j]; m; m &= m - 1) {
            const int x = 64 * c + __builtin_ctzll(m);
            const vec d = vset1(p->delta[(size_t)x * p->n_out + j]);
            const float *in = p->in + (size_t)x * n + k;
            for (int v = 0; v < nv - 1; v++) acc[v] = vfma(d, vload(in + v * W), acc[v]);
            vec il = last == W ? vload(in + (nv - 1) * W) : vload_n(in + (nv - 1) * W, last);
            acc[nv - 1] = vfma(d, il, acc[nv - 1]);
        }
    if (part && c1 < f->z->blocks) {
        for (int v = 0; v < nv; v++) vstore(part + v * W, acc[v]);
        return;
    }
    const vec s = vset1(p->step);
    for (int v = 0; v < nv; v++) {
        const int lanes = v < nv - 1 ? W : last;
        if (f->step) /* w - step * g, rounded twice as in the plain update loop */
            acc[v] = vsub(lanes == W ? vload(row + v * W) : vload_n(row + v * W, lanes),
                          vmul(s, acc[v]));
        if (lanes == W) vstore(row + v * W, acc[v]);
        else vstore_n(row + v * W, acc[v], lanes);
    }
}

/* Neurons [j0, j1), columns [k, k + nv W). Many examples (a convolution's
 * 640 patches at a mini-batch of 10) go block by block, so that a block's
 * slice of in stays in L1 while every neuron takes its nonzero rows from
 * it, each neuron's sums kept in `part` in between. */
SIMD_ALWAYS_INLINE void params_on_nonzero_columns(const product_on_nonzero *f, int j0, int j1,
                                                  int k, int nv, int last)
{
    float part[BP_PART_ROWS * NONZERO_V * W];
    if (f->z->blocks > 1 && j1 - j0 <= BP_PART_ROWS) {
        for (int c = 0; c < f->z->blocks; c++)
            for (int j = j0; j < j1; j++)
                params_on_nonzero_block(f, j, k, nv, last, c, c + 1,
                                        part + (size_t)(j - j0) * NONZERO_V * W);
        return;
    }
    for (int j = j0; j < j1; j++)
        params_on_nonzero_block(f, j, k, nv, last, 0, f->z->blocks, NULL);
}

/* Neurons j in [j0, j1), columns in blocks of NONZERO_V vectors. */
static void params_on_nonzero_rows(void *ctx, int j0, int j1)
{
    const product_on_nonzero *f = ctx;
    const simd_product *p = &f->p;
#define PARAMS_BLOCK(k, NV, last) params_on_nonzero_columns(f, j0, j1, k, NV, last)
    NONZERO_COLUMNS(p->k_lo, p->k_hi, PARAMS_BLOCK)
#undef PARAMS_BLOCK
    bias_sums(p, j0, j1, f->step); /* over every example */
}

/* Examples' d_in, columns [k, k + nv W): as backward_input_tile, over the
 * neurons whose error delta_xj is nonzero, in order. */
SIMD_ALWAYS_INLINE void input_on_nonzero_block(const product_on_nonzero *f, int x, int k,
                                               int nv, int last)
{
    const simd_product *p = &f->p;
    const int n = p->n_in;
    vec acc[NONZERO_V];
    for (int v = 0; v < nv; v++) acc[v] = vzero();
    const float *dx = p->delta + (size_t)x * p->n_out;
    const uint64_t *words = f->z->rows + (size_t)x * f->z->words;
    for (int w = 0; w < f->z->words; w++)
        for (uint64_t m = words[w]; m; m &= m - 1) {
            const int j = 64 * w + __builtin_ctzll(m);
            const vec d = vset1(dx[j]);
            const float *wj = p->w + (size_t)j * n + k;
            for (int v = 0; v < nv - 1; v++) acc[v] = vfma(d, vload(wj + v * W), acc[v]);
            vec wl = last == W ? vload(wj + (nv - 1) * W) : vload_n(wj + (nv - 1) * W, last);
            acc[nv - 1] = vfma(d, wl, acc[nv - 1]);
        }
    float *row = p->out + (size_t)x * n + k;
    for (int v = 0; v < nv - 1; v++) vstore(row + v * W, acc[v]);
    if (last == W) vstore(row + (nv - 1) * W, acc[nv - 1]);
    else vstore_n(row + (nv - 1) * W, acc[nv - 1], last);
}

/* Inputs k in [k0, k1) of every example: a block of w's columns stays in
 * cache for all the examples. */
static void input_on_nonzero_columns(void *ctx, int k0, int k1)
{
    const product_on_nonzero *f = ctx;
    const simd_product *p = &f->p;
#define INPUT_BLOCK(k, NV, last)                                                        \
    for (int x = 0; x < p->batch; x++) input_on_nonzero_block(f, x, k, NV, last)
    NONZERO_COLUMNS(k0, k1, INPUT_BLOCK)
#undef INPUT_BLOCK
}

/* backward_params, or with `step` its step form: on the nonzero errors
 * where most are zero, else dense. */
static void backward_params_any(simd_product *p, int step, parallel *par)
{
    nonzero_columns(p);
    int grain = matmul_grain(par, p->n_out, (long)p->batch * p->n_in, BP_J);
    nonzero_errors z;
    if (nonzero_errors_find(&z, p->delta, p->batch, p->n_in, p->n_out, 1)) {
        product_on_nonzero f = {*p, &z, step};
        parallel_for(par, p->n_out, grain, params_on_nonzero_rows, &f);
        nonzero_errors_free(&z);
        return;
    }
    parallel_for(par, p->n_out, grain, step ? backward_params_step_rows : backward_params_rows,
                 p);
}

/* dw (n_out, n_in), db (n_out), delta (B, n_out), in (B, n_in); accumulates */
static void SIMD_NAME(matmul_backward_params)(float *dw, float *db, const float *delta,
                                              const float *in, int batch, int n_in, int n_out,
                                              parallel *par)
{
    simd_product p = {.out = dw, .db = db, .delta = delta, .in = in, .batch = batch,
                      .n_in = n_in, .n_out = n_out};
    backward_params_any(&p, 0, par);
}

/* w (n_out, n_in), b (n_out), delta (B, n_out), in (B, n_in); updates w and b */
static void SIMD_NAME(matmul_backward_params_step)(float *w, float *b, const float *delta,
                                                   const float *in, float step, int batch,
                                                   int n_in, int n_out, parallel *par)
{
    simd_product p = {.out = w, .db = b, .delta = delta, .in = in, .step = step,
                      .batch = batch, .n_in = n_in, .n_out = n_out};
    backward_params_any(&p, 1, par);
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
    int grain = matmul_grain(par, n_in, (long)batch * n_out, 64);
    nonzero_errors z;
    if (nonzero_errors_find(&z, delta, batch, n_in, n_out, 0)) {
        product_on_nonzero f = {p, &z, 0};
        parallel_for(par, n_in, grain, input_on_nonzero_columns, &f);
        nonzero_errors_free(&z);
        return;
    }
    parallel_for(par, n_in, grain, backward_input_columns, &p);
}

/* ---- backward_input_step: BP2 and the step in one pass ----------------- */

/* Steps one row's vectors of w by its gradient g and stores them: w - shrink
 * w, then w - step g, each rounded twice as the separate loops round them. */
SIMD_ALWAYS_INLINE void fused_row_step(float *wj, vec *wv, const vec *g, vec s, vec sh,
                                       int decay, int nv, int last)
{
    for (int v = 0; v < nv; v++) {
        if (decay) wv[v] = vsub(wv[v], vmul(sh, wv[v])); /* eq. 93 */
        wv[v] = vsub(wv[v], vmul(s, g[v]));                     /* eq. 20 */
    }
    for (int v = 0; v < nv - 1; v++) vstore(wj + v * W, wv[v]);
    if (last == W) vstore(wj + (nv - 1) * W, wv[nv - 1]);
    else vstore_n(wj + (nv - 1) * W, wv[nv - 1], last);
}

SIMD_ALWAYS_INLINE void fused_row_load(vec *wv, const float *wj, int nv, int last)
{
    for (int v = 0; v < nv - 1; v++) wv[v] = vload(wj + v * W);
    wv[nv - 1] = last == W ? vload(wj + (nv - 1) * W) : vload_n(wj + (nv - 1) * W, last);
}

/* Rows [j, j + rows) of w (rows 1 or 2, a constant in each copy), columns
 * [k, k + nv W): each weight vector loaded once feeds every example's BP2
 * sum in acc (row j, then row j + 1) and its row's gradient, which then
 * steps it. */
SIMD_ALWAYS_INLINE void fused_rows(const simd_product *p, vec acc[][FUSED_V], vec s, vec sh,
                                   float shrink, int j, int rows, int k, int nx, int nv,
                                   int last)
{
    const int n = p->n_in;
    float *w = p->out + (size_t)j * n + k;
    vec wv[2][FUSED_V], g[2][FUSED_V];
    for (int r = 0; r < rows; r++) {
        fused_row_load(wv[r], w + (size_t)r * n, nv, last);
        for (int v = 0; v < nv; v++) g[r][v] = vzero();
    }
    for (int e = 0; e < nx; e++) {
        const float *de = p->delta + (size_t)e * p->n_out + j;
        vec d[2];
        for (int r = 0; r < rows; r++) d[r] = vset1(de[r]);
        const float *in = p->in + (size_t)e * n + k;
        for (int v = 0; v < nv; v++) {
            for (int r = 0; r < rows; r++) acc[e][v] = vfma(d[r], wv[r][v], acc[e][v]); /* BP2 */
            vec iv = v < nv - 1 || last == W ? vload(in + v * W) : vload_n(in + v * W, last);
            for (int r = 0; r < rows; r++) g[r][v] = vfma(d[r], iv, g[r][v]); /* BP4 */
        }
    }
    for (int r = 0; r < rows; r++)
        fused_row_step(w + (size_t)r * n, wv[r], g[r], s, sh, shrink != 0, nv, last);
}

/* Columns [k, k + nv W) of w (the last vector only `last` lanes), for all
 * nx examples: row by row, each weight vector is loaded once, feeds
 * d_in_xk += delta_xj w_jk for every example (j = 0, 1, ... in order, as
 * backward_input_tile sums), and its gradient, summed from zero over x in
 * order (as backward_params_tile), then steps it (fused_row_step).
 *
 * A row's gradient is a chain of nx dependent multiply-adds; with
 * FUSED_ROWS 2, two rows go through the loop together, so that two chains
 * interleave (on AVX2, whose 16 registers allow only one vector of
 * columns, a lone chain left the multiply-add units waiting). The sums are
 * the same: each d_in lane still adds row j, then row j + 1. */
SIMD_ALWAYS_INLINE void backward_input_step_tile(const simd_product *p, float shrink, int k,
                                                 int nx, int nv, int last)
{
    const int n = p->n_in;
    const vec s = vset1(p->step), sh = vset1(shrink);
    vec acc[MATMUL_FUSED_MAX_BATCH][FUSED_V];
    for (int e = 0; e < nx; e++)
        for (int v = 0; v < nv; v++) acc[e][v] = vzero();
    int j = 0;
    for (; FUSED_ROWS == 2 && j + 2 <= p->n_out; j += 2)
        fused_rows(p, acc, s, sh, shrink, j, 2, k, nx, nv, last);
    for (; j < p->n_out; j++) fused_rows(p, acc, s, sh, shrink, j, 1, k, nx, nv, last);
    for (int e = 0; e < nx; e++) {
        float *row = p->db /* d_in here */ + (size_t)e * n + k;
        for (int v = 0; v < nv - 1; v++) vstore(row + v * W, acc[e][v]);
        if (last == W) vstore(row + (nv - 1) * W, acc[e][nv - 1]);
        else vstore_n(row + (nv - 1) * W, acc[e][nv - 1], last);
    }
}

/* One copy per batch size, so that the accumulators live in registers. */
static void backward_input_step_tile_any(const simd_product *p, float shrink, int k, int nv,
                                         int last)
{
#define FS_TILE(X)                                                                  \
    case X:                                                                         \
        if (nv == FUSED_V && last == W)                                             \
            backward_input_step_tile(p, shrink, k, X, FUSED_V, W);                  \
        else backward_input_step_tile(p, shrink, k, X, 1, last);                    \
        break;
    switch (p->batch) {
        FS_TILE(1) FS_TILE(2) FS_TILE(3) FS_TILE(4) FS_TILE(5)
        FS_TILE(6) FS_TILE(7) FS_TILE(8) FS_TILE(9) FS_TILE(10)
    }
#undef FS_TILE
}
_Static_assert(MATMUL_FUSED_MAX_BATCH == 10, "backward_input_step_tile_any's cases");

/* ---- backward_input_step on mostly zero errors ------------------------- */

/* Behind ReLU and dropout most errors are exactly zero: in the book's final
 * network 79-91% of delta at the layers of 1,000 (a dropped or inactive
 * neuron passes no error back). Where at most half of delta is nonzero,
 * the fused pass visits only the nonzero errors. The sums are those of
 * the dense pass in the same order, less terms that are exactly +-0:
 * adding them changes no sum that is not itself zero, so the results are
 * the dense pass's (a zero's sign aside). */
enum { PREFETCH_ROWS = 8 }; /* rows of w asked for ahead of BP2's sums */

/* The next set bit of words[0..n) after the cursor (*w, *m): its index, or
 * -1 past the last. */
static inline int next_bit(const uint64_t *words, int n, int *w, uint64_t *m)
{
    while (*m == 0) {
        if (++*w >= n) return -1;
        *m = words[*w];
    }
    const int j = 64 * *w + __builtin_ctzll(*m);
    *m &= *m - 1;
    return j;
}

typedef struct fused_product {
    simd_product p;
    float shrink;
    const nonzero_errors *sparse; /* NULL: the dense pass */
} fused_product;

/* Columns [k, k + nv W) of w (the last vector only `last` lanes): BP2 for
 * each example from the weights as they are, then each row's gradient
 * and step (fused_row_step). The block of w, n_out rows of nv vectors,
 * stays in L2 between the two. */
SIMD_ALWAYS_INLINE void sparse_step_block(const fused_product *f, int k, int nv, int last,
                                          int decay)
{
    const simd_product *p = &f->p;
    const nonzero_errors *z = f->sparse;
    const int n = p->n_in;
    const vec s = vset1(p->step), sh = vset1(f->shrink);
    for (int x = 0; x < p->batch; x++) { /* BP2: d_in_xk = sum over j of delta_xj w_jk */
        vec acc[NONZERO_V];
        for (int v = 0; v < nv; v++) acc[v] = vzero();
        const float *dx = p->delta + (size_t)x * p->n_out;
        const uint64_t *words = z->rows + (size_t)x * z->words;
        /* the rows come in no order a prefetcher follows: ask for one
         * some rows ahead, most of them the first time from L3 */
        int w = 0, wa = 0;
        uint64_t m = words[0], ma = words[0];
        for (int i = 0; i < PREFETCH_ROWS; i++) next_bit(words, z->words, &wa, &ma);
        for (int j; (j = next_bit(words, z->words, &w, &m)) >= 0;) {
            const int ahead = next_bit(words, z->words, &wa, &ma);
            if (ahead >= 0)
                for (int l = 0; l < nv * W; l += 64 / (int)sizeof(float))
                    __builtin_prefetch(p->out + (size_t)ahead * n + k + l);
            const vec d = vset1(dx[j]);
            const float *wj = p->out + (size_t)j * n + k;
            for (int v = 0; v < nv - 1; v++) acc[v] = vfma(d, vload(wj + v * W), acc[v]);
            vec wl = last == W ? vload(wj + (nv - 1) * W) : vload_n(wj + (nv - 1) * W, last);
            acc[nv - 1] = vfma(d, wl, acc[nv - 1]);
        }
        float *row = p->db /* d_in here */ + (size_t)x * n + k;
        for (int v = 0; v < nv - 1; v++) vstore(row + v * W, acc[v]);
        if (last == W) vstore(row + (nv - 1) * W, acc[nv - 1]);
        else vstore_n(row + (nv - 1) * W, acc[nv - 1], last);
    }
    for (int j = 0; j < p->n_out; j++) { /* BP4 over the examples in order, then the step */
        vec g[NONZERO_V];
        for (int v = 0; v < nv; v++) g[v] = vzero();
        for (uint64_t m = z->columns[j]; m; m &= m - 1) { /* batch <= 10: one block */
            const int x = __builtin_ctzll(m);
            const vec d = vset1(p->delta[(size_t)x * p->n_out + j]);
            const float *in = p->in + (size_t)x * n + k;
            for (int v = 0; v < nv - 1; v++) g[v] = vfma(d, vload(in + v * W), g[v]);
            vec il = last == W ? vload(in + (nv - 1) * W) : vload_n(in + (nv - 1) * W, last);
            g[nv - 1] = vfma(d, il, g[nv - 1]);
        }
        float *wj = p->out + (size_t)j * n + k;
        for (int v = 0; v < nv; v++) {
            const int lanes = v < nv - 1 ? W : last;
            vec wv;
            fused_row_load(&wv, wj + v * W, 1, lanes);
            fused_row_step(wj + v * W, &wv, &g[v], s, sh, decay, 1, lanes);
        }
    }
}

/* Columns k in [k0, k1) of w and d_in. */
static void backward_input_step_columns(void *ctx, int k0, int k1)
{
    const fused_product *f = ctx;
    const simd_product *p = &f->p;
    if (f->sparse) {
#define DECAY_BLOCK(k, NV, last) sparse_step_block(f, k, NV, last, 1)
#define STEP_BLOCK(k, NV, last) sparse_step_block(f, k, NV, last, 0)
        if (f->shrink != 0) NONZERO_COLUMNS(k0, k1, DECAY_BLOCK)
        else NONZERO_COLUMNS(k0, k1, STEP_BLOCK)
#undef DECAY_BLOCK
#undef STEP_BLOCK
        return;
    }
    /* A partial first vector aligns the loads and stores of w */
    int k = k0 + lanes_to_alignment(p->out + k0, k1 - k0);
    if (k > k0) backward_input_step_tile_any(p, f->shrink, k0, 1, k - k0);
    for (; k + FUSED_V * W <= k1; k += FUSED_V * W)
        backward_input_step_tile_any(p, f->shrink, k, FUSED_V, W);
    for (; k < k1; k += W)
        backward_input_step_tile_any(p, f->shrink, k, 1, k1 - k < W ? k1 - k : W);
}

/* d_in (B, n_in), w (n_out, n_in), b (n_out), delta (B, n_out), in (B, n_in) */
static void SIMD_NAME(matmul_backward_input_step)(float *d_in, float *w, float *b,
                                                  const float *delta, const float *in,
                                                  float step, float shrink, int batch,
                                                  int n_in, int n_out, parallel *par)
{
    assert(batch >= 1 && batch <= MATMUL_FUSED_MAX_BATCH);
    /* out is w, as in the step form of backward_params; db carries d_in */
    nonzero_errors z;
    const int sparse = nonzero_errors_find(&z, delta, batch, n_in, n_out, 1);
    fused_product f = {{.out = w, .db = d_in, .delta = delta, .in = in, .step = step,
                        .batch = batch, .n_in = n_in, .n_out = n_out},
                       shrink,
                       sparse ? &z : NULL};
    int grain = matmul_grain(par, n_in, 2L * batch * n_out, 64);
    parallel_for(par, n_in, grain, backward_input_step_columns, &f);
    if (sparse) nonzero_errors_free(&z);
    /* eq. 21: the biases, in the order of backward_params_rows_any */
    for (int j = 0; j < n_out; j++) {
        float sum = 0;
        for (int x = 0; x < batch; x++) sum += delta[(size_t)x * n_out + j];
        float change = step * sum;
        b[j] -= change;
    }
}

/* ---- the sparse products of a first layer (matmul.h) ------------------- */

enum { SPARSE_CHAINS = 4 };
/* the tile switches below handle 1 to 4 vectors */
_Static_assert(SPARSE_V >= 1 && SPARSE_V <= 4 && SPARSE_ACC >= SPARSE_V,
               "sparse tiles of 1 to 4 vectors");

/* The indices of the nonzero (or NaN) values of row[0..n), in order, into
 * idx (room for n + W); returns their number. */
static int nonzero_indices(int *idx, const float *row, int n)
{
    int m = 0, k = 0;
    for (; k + W <= n; k += W) m += vnonzero_indices(idx + m, vload(row + k), k);
    if (k < n) m += vnonzero_indices(idx + m, vload_n(row + k, n - k), k);
    return m;
}

/* acc[c][v] += row[k] wt[k][v0 + v] for one nonzero input k, in chain c. */
#define SPARSE_TERM(c, k)                                                         \
    do {                                                                          \
        const float *wk_ = wt + (size_t)(k) * p->stride;                          \
        vec a_ = vset1(row[k]);                                                   \
        for (int v = 0; v < nv; v++) acc[c][v] = vfma(a_, vload(wk_ + v * W), acc[c][v]); \
    } while (0)

/* z of one example for output vectors [v0, v0 + nv) (the last one `last`
 * lanes), from its m nonzero inputs idx into row and w (the rows of wt
 * from the first input of the part on): the i-th into chain i mod 4. */
SIMD_ALWAYS_INLINE void forward_sparse_tile(const simd_product *p, const float *row,
                                            const float *w, const int *idx, int m, float *out,
                                            int v0, int nv, int last)
{
    const float *wt = w + (size_t)v0 * W;
    vec acc[SPARSE_CHAINS][SPARSE_V];
    for (int c = 0; c < SPARSE_CHAINS; c++)
        for (int v = 0; v < nv; v++) acc[c][v] = vzero();
    int i = 0;
    for (; i + SPARSE_CHAINS <= m; i += SPARSE_CHAINS) {
        SPARSE_TERM(0, idx[i]);
        SPARSE_TERM(1, idx[i + 1]);
        SPARSE_TERM(2, idx[i + 2]);
        SPARSE_TERM(3, idx[i + 3]);
    }
    if (i < m) SPARSE_TERM(0, idx[i]);
    if (i + 1 < m) SPARSE_TERM(1, idx[i + 1]);
    if (i + 2 < m) SPARSE_TERM(2, idx[i + 2]);
    for (int v = 0; v < nv; v++) {
        int j = (v0 + v) * W, lanes = v == nv - 1 ? last : W;
        vec z = vadd(vadd(acc[0][v], acc[1][v]), vadd(acc[2][v], acc[3][v]));
        if (p->b) z = vadd(z, lanes == W ? vload(p->b + j) : vload_n(p->b + j, lanes));
        if (lanes == W) vstore(out + j, z);
        else vstore_n(out + j, z, lanes);
    }
}
#undef SPARSE_TERM

/* Examples x in [x0, x1). */
static void forward_sparse_rows(void *ctx, int x0, int x1)
{
    const simd_product *p = ctx;
    const int n_vec = (p->n_out + W - 1) / W, last = p->n_out - (n_vec - 1) * W;
    int idx[MATMUL_SPARSE_MAX_IN + W];
    const float *w = p->w + (size_t)p->k0 * p->stride;
    for (int x = x0; x < x1; x++) {
        const float *row = p->in + (size_t)x * p->n_in + p->k0;
        float *out = p->out + (size_t)x * p->n_out;
        int m = nonzero_indices(idx, row, p->k1 - p->k0);
        for (int v0 = 0; v0 < n_vec; v0 += SPARSE_V) {
            int nv = n_vec - v0 < SPARSE_V ? n_vec - v0 : SPARSE_V;
            int lanes = v0 + nv == n_vec ? last : W;
#define FS_CASE(V)                                                                  \
    case V:                                                                         \
        if ((V) <= SPARSE_V) forward_sparse_tile(p, row, w, idx, m, out, v0, V, lanes); \
        break;
            switch (nv) {
                FS_CASE(1) FS_CASE(2) FS_CASE(3) FS_CASE(4)
            }
#undef FS_CASE
        }
    }
}

/* out (B, n_out), in (B, n_in), wt (n_in, stride), b (n_out) or NULL */
static void SIMD_NAME(matmul_forward_sparse)(float *out, const float *in, const float *wt,
                                             const float *b, int batch, int n_in, int k0,
                                             int k1, int n_out, int stride, parallel *par)
{
    assert(k1 - k0 <= MATMUL_SPARSE_MAX_IN); /* idx lives on the stack */
    simd_product p = {.out = out, .in = in, .w = wt, .b = b, .batch = batch, .n_in = n_in,
                      .n_out = n_out, .stride = stride, .k0 = k0, .k1 = k1};
    /* work: a quarter of the inputs nonzero, as in MNIST */
    parallel_for(par, batch, matmul_grain(par, batch, (long)(k1 - k0) * n_out / 4, 1),
                 forward_sparse_rows, &p);
}

/* Columns cols[0..nc) of wt, output vectors [v0, v0 + nv) (the last one
 * `last` lanes): g = sum_x in_xk delta_x in order of x from zero, then
 * wt_k -= step g, rounded twice: backward_params_tile's operations. Only
 * the first `stored` columns are written back: the others pad a short
 * tile (full tiles keep enough additions in flight). */
SIMD_ALWAYS_INLINE void step_sparse_tile(const simd_product *p, const int *cols, int nc,
                                         int stored, int v0, int nv, int last)
{
    vec acc[SPARSE_ACC][SPARSE_V];
    for (int c = 0; c < nc; c++)
        for (int v = 0; v < nv; v++) acc[c][v] = vzero();
    for (int x = 0; x < p->batch; x++) {
        const float *d = p->delta + (size_t)x * p->n_out + (size_t)v0 * W;
        const float *row = p->in + (size_t)x * p->n_in;
        vec dv[SPARSE_V];
        for (int v = 0; v < nv - 1; v++) dv[v] = vload(d + v * W);
        dv[nv - 1] = last == W ? vload(d + (nv - 1) * W) : vload_n(d + (nv - 1) * W, last);
        for (int c = 0; c < nc; c++) {
            vec a = vset1(row[cols[c]]);
            for (int v = 0; v < nv; v++) acc[c][v] = vfma(dv[v], a, acc[c][v]);
        }
    }
    const vec s = vset1(p->step);
    for (int c = 0; c < nc; c++) {
        if (c >= stored) break;
        float *wk = p->out + (size_t)cols[c] * p->stride + (size_t)v0 * W;
        for (int v = 0; v < nv; v++) vstore(wk + v * W, vsub(vload(wk + v * W), vmul(s, acc[c][v])));
    }
}

/* Columns cols[0..nc) for every output vector, SPARSE_ACC / nv at a time
 * (accumulators enough to hide the latency of the additions). cols has
 * room for SPARSE_ACC more entries, which pad the last tile. */
static void step_sparse_columns_list(const simd_product *p, int *cols, int nc)
{
    if (nc == 0) return;
    for (int c = nc; c < nc + SPARSE_ACC; c++) cols[c] = cols[nc - 1];
    const int n_vec = (p->n_out + W - 1) / W, last = p->n_out - (n_vec - 1) * W;
    for (int v0 = 0; v0 < n_vec; v0 += SPARSE_V) {
        int nv = n_vec - v0 < SPARSE_V ? n_vec - v0 : SPARSE_V;
        int lanes = v0 + nv == n_vec ? last : W;
#define SS_CASE(V)                                                                   \
    case V:                                                                          \
        if ((V) <= SPARSE_V)                                                         \
            for (int c = 0; c < nc; c += SPARSE_ACC / (V))                           \
                step_sparse_tile(p, cols + c, SPARSE_ACC / (V), nc - c, v0, V, lanes); \
        break;
        switch (nv) {
            SS_CASE(1) SS_CASE(2) SS_CASE(3) SS_CASE(4)
        }
#undef SS_CASE
    }
}

/* Inputs p->k0 + [c0, c1) that are nonzero in some example. */
static void step_sparse_columns(void *ctx, int c0, int c1)
{
    const simd_product *p = ctx;
    const int k0 = p->k0 + c0, k1 = p->k0 + c1;
    int cols[MATMUL_SPARSE_MAX_IN + W + SPARSE_ACC], nc = 0;
    for (int k = k0; k < k1; k += W) {
        int lanes = k1 - k < W ? k1 - k : W;
        /* two chains of or's, for the latency */
        vec any0 = vzero(), any1 = vzero();
        const float *in = p->in + k;
        int x = 0;
        for (; x + 2 <= p->batch; x += 2, in += 2 * (size_t)p->n_in) {
            any0 = vor(any0, lanes == W ? vload(in) : vload_n(in, lanes));
            any1 = vor(any1, lanes == W ? vload(in + p->n_in) : vload_n(in + p->n_in, lanes));
        }
        if (x < p->batch) any0 = vor(any0, lanes == W ? vload(in) : vload_n(in, lanes));
        nc += vnonzero_indices(cols + nc, vor(any0, any1), k);
    }
    step_sparse_columns_list(p, cols, nc);
}

/* wt (n_in, stride), b (n_out) or NULL, delta (B, n_out), in (B, n_in);
 * updates wt's rows [k0, k1) and b */
static void SIMD_NAME(matmul_backward_params_step_sparse)(float *wt, float *b,
                                                          const float *delta, const float *in,
                                                          float step, int batch, int n_in,
                                                          int k0, int k1, int n_out,
                                                          int stride, parallel *par)
{
    simd_product p = {.out = wt, .delta = delta, .in = in, .step = step, .batch = batch,
                      .n_in = n_in, .n_out = n_out, .stride = stride, .k0 = k0, .k1 = k1};
    /* work: counted at a quarter of the dense step's (some half of the
     * columns are nonzero in a batch of 10, more in larger ones). (Training
     * calls this per part without a pool; when it split the step itself,
     * [784,30,10] at batch 100 took 0.040 s/epoch split against 0.036 whole.) */
    assert(k1 - k0 <= MATMUL_SPARSE_MAX_IN);
    parallel_for(par, k1 - k0, matmul_grain(par, k1 - k0, (long)batch * n_out / 4, 64),
                 step_sparse_columns, &p);
    if (!b) return;
    /* eq. 21 as in backward_params_rows_any, W biases at a time: each lane
     * sums its delta_xj from zero in order of x, then b_j -= step sum */
    const vec s = vset1(step);
    for (int j = 0; j < n_out; j += W) {
        int lanes = n_out - j < W ? n_out - j : W;
        vec sum = vzero();
        for (int x = 0; x < batch; x++) {
            const float *d = delta + (size_t)x * n_out + j;
            sum = vadd(sum, lanes == W ? vload(d) : vload_n(d, lanes));
        }
        vec bj = vsub(lanes == W ? vload(b + j) : vload_n(b + j, lanes), vmul(s, sum));
        if (lanes == W) vstore(b + j, bj);
        else vstore_n(b + j, bj, lanes);
    }
}

/* ---- sigmoid: 1 / (1 + e^-z) ------------------------------------------- */

/* e^x for float x, computed as glibc's expf (2.27 and later, whose
 * FMA-capable build runs on every CPU these kernels do; musl uses the same
 * code) computes it, operation for operation, so that the fast sigmoid
 * gives the reference's results bit for bit: the tests compare the two.
 * The method is that of ARM's optimized-routines: x = (k + r) ln2 / 32
 * with |r| <= 1/2, e^x = 2^(k/32) 2^(r/32), 2^(k/32) from a table of 32 and
 * 2^(r/32) from a cubic, in double, rounded once to float at the end.
 * Table entry i is the bits of 2^(i/32) minus i << 47, so that adding
 * k << 47 puts k/32 in the exponent. Valid for |x| < 88; the caller sends
 * other values to expf itself. */
static const uint64_t expf_table[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
};

SIMD_ALWAYS_INLINE dvec expf_lanes(dvec x)
{
    const dvec inv_ln2_32 = dset1(0x1.71547652b82fep+5); /* 32 / ln 2 */
    const dvec shift = dset1(0x1.8p+52);  /* adding it rounds to an integer */
    dvec z = dfma(inv_ln2_32, x, shift);  /* k in the low bits */
    dvec k = dsub(z, shift);
    dvec r = dfms(inv_ln2_32, x, k);      /* x 32/ln2 - k, in [-1/2, 1/2] */
    dvec s = dexp2_table(z, expf_table);  /* 2^(k/32) */
    /* 2^(r/32) ~ c0 r^3 + c1 r^2 + c2 r + 1 */
    dvec c = dfma(r, dset1(0x1.c6af84b912394p-20), dset1(0x1.ebfce50fac4f3p-13));
    dvec r2 = dmul(r, r);
    dvec y = dfma(r, dset1(0x1.62e42ff0c52d6p-6), dset1(1.0));
    return dmul(dfma(c, r2, y), s);
}

/* z[0..DW) = e^-z[0..DW) */
SIMD_ALWAYS_INLINE void exp_minus_lanes(float *z)
{
    dvec x = dmul(dload_f(z), dset1(-1.0));
    if (dany_large(x, 88.0)) { /* overflow, underflow, NaN: expf's own paths */
        for (int l = 0; l < DW; l++) z[l] = expf(-z[l]);
        return;
    }
    dstore_f(z, expf_lanes(x));
}

/* values = 1 / (1 + e^-values): eq. 3. First every e^-z (in float, as expf
 * returns it), then 1 / (1 + e) in float, as the reference does. */
static void SIMD_NAME(sigmoid)(float *values, size_t n)
{
    size_t i = 0;
    for (; i + DW <= n; i += DW) exp_minus_lanes(values + i);
    if (i < n) { /* the last n - i values, padded with zeros */
        float tail[DW] = {0};
        memcpy(tail, values + i, (n - i) * sizeof(float));
        exp_minus_lanes(tail);
        memcpy(values + i, tail, (n - i) * sizeof(float));
    }
    for (i = 0; i < n; i++) values[i] = 1.0f / (1.0f + values[i]);
}

const matmul_kernels SIMD_TABLE = {
    .name = SIMD_KERNELS_NAME,
    .supported = SIMD_NAME(supported),
    .forward = SIMD_NAME(matmul_forward),
    .backward_params = SIMD_NAME(matmul_backward_params),
    .backward_params_step = SIMD_NAME(matmul_backward_params_step),
    .backward_input = SIMD_NAME(matmul_backward_input),
    .backward_input_step = SIMD_NAME(matmul_backward_input_step),
    .sigmoid = SIMD_NAME(sigmoid),
    .forward_sparse = SIMD_NAME(matmul_forward_sparse),
    .backward_params_step_sparse = SIMD_NAME(matmul_backward_params_step_sparse),
};
