/* Plain C matrix kernels, written so that the compiler vectorizes the inner
 * loops: each runs over contiguous memory. Compiled in float and double
 * (see net/real.h).
 *
 * They are the algorithmic reference: in double they are the kernels of the
 * gradient check; in float they are the fallback and the yardstick of the
 * hand-vectorized kernels, named matmul_*_ref_f32, and matmul_*_f32
 * dispatch between them (matmul_dispatch.c). */
#include "kernels/matmul.h"

#include <assert.h>
#include <stddef.h>

#include "kernels/matmul_kernels.h"
#include "net/real.h" /* <tgmath.h>: exp of the build's precision */

#ifdef NNDL_REAL_DOUBLE
#define KERNEL(name) RNAME(name)
#else
#define KERNEL(name) name##_ref_f32
#endif

typedef struct product {
    real *out, *dw, *db;
    const real *in, *w, *b, *delta;
    real step;
    int batch, n_in, n_out;
    int stride; /* of the transposed weights of the sparse products */
    int k0, k1; /* the inputs of a sparse product */
} product;

/* Neurons j in [j0, j1): z_j = w_j . a + b_j for every example. */
static void forward_rows(void *ctx, int j0, int j1)
{
    const product *p = ctx;
    for (int j = j0; j < j1; j++) {
        const real *wj = p->w + (size_t)j * p->n_in;
        for (int x = 0; x < p->batch; x++) {
            const real *a = p->in + (size_t)x * p->n_in;
            real z = 0;
#pragma omp simd reduction(+ : z)
            for (int k = 0; k < p->n_in; k++) z += wj[k] * a[k];
            p->out[(size_t)x * p->n_out + j] = z + p->b[j];
        }
    }
}

/* out (B, n_out), in (B, n_in), w (n_out, n_in), b (n_out) */
void KERNEL(matmul_forward)(real *out, const real *in, const real *w, const real *b,
                            int batch, int n_in, int n_out, parallel *par)
{
    product p = {.out = out, .in = in, .w = w, .b = b, .batch = batch, .n_in = n_in,
                 .n_out = n_out};
    parallel_for(par, n_out, matmul_grain(par, n_out, (long)batch * n_in, 1), forward_rows,
                 &p);
}

/* Neurons j in [j0, j1): dw_j += sum_x delta_xj a_x, db_j += sum_x delta_xj. */
static void backward_params_rows(void *ctx, int j0, int j1)
{
    const product *p = ctx;
    for (int j = j0; j < j1; j++) {
        real *dwj = p->dw + (size_t)j * p->n_in;
        real dbj = 0;
        for (int x = 0; x < p->batch; x++) {
            real d = p->delta[(size_t)x * p->n_out + j];
            const real *a = p->in + (size_t)x * p->n_in;
#pragma omp simd
            for (int k = 0; k < p->n_in; k++) dwj[k] += d * a[k];
            dbj += d;
        }
        p->db[j] += dbj;
    }
}

/* dw (n_out, n_in), db (n_out), delta (B, n_out), in (B, n_in); accumulates */
void KERNEL(matmul_backward_params)(real *dw, real *db, const real *delta, const real *in,
                                    int batch, int n_in, int n_out, parallel *par)
{
    product p = {.dw = dw, .db = db, .delta = delta, .in = in, .batch = batch, .n_in = n_in,
                 .n_out = n_out};
    parallel_for(par, n_out, matmul_grain(par, n_out, (long)batch * n_in, 1),
                 backward_params_rows, &p);
}

/* Neurons j in [j0, j1): w_j -= step sum_x delta_xj a_x, b_j -= step sum_x
 * delta_xj. The gradient of a block of a row is summed in g, from zero and
 * in order of x as in backward_params_rows, then applied. */
static void backward_params_step_rows(void *ctx, int j0, int j1)
{
    enum { BLOCK = 64 };
    const product *p = ctx;
    for (int j = j0; j < j1; j++) {
        real *wj = p->dw + (size_t)j * p->n_in;
        for (int k0 = 0; k0 < p->n_in; k0 += BLOCK) {
            int n = p->n_in - k0 < BLOCK ? p->n_in - k0 : BLOCK;
            real g[BLOCK] = {0};
            for (int x = 0; x < p->batch; x++) {
                real d = p->delta[(size_t)x * p->n_out + j];
                const real *a = p->in + (size_t)x * p->n_in + k0;
#pragma omp simd
                for (int k = 0; k < n; k++) g[k] += d * a[k];
            }
            /* eq. 20; two statements, so that no compiler fuses the
             * multiply and the subtraction: the vector kernels round both */
#pragma omp simd
            for (int k = 0; k < n; k++) {
                real change = p->step * g[k];
                wj[k0 + k] -= change;
            }
        }
        real dbj = 0;
        for (int x = 0; x < p->batch; x++) dbj += p->delta[(size_t)x * p->n_out + j];
        real change = p->step * dbj;
        p->db[j] -= change; /* eq. 21 */
    }
}

/* w (n_out, n_in), b (n_out), delta (B, n_out), in (B, n_in); updates w and b */
void KERNEL(matmul_backward_params_step)(real *w, real *b, const real *delta, const real *in,
                                         real step, int batch, int n_in, int n_out,
                                         parallel *par)
{
    product p = {.dw = w, .db = b, .delta = delta, .in = in, .step = step, .batch = batch,
                 .n_in = n_in, .n_out = n_out};
    parallel_for(par, n_out, matmul_grain(par, n_out, (long)batch * n_in, 1),
                 backward_params_step_rows, &p);
}

/* Inputs k in [k0, k1) of every example: d_in_xk = sum_j delta_xj w_jk. */
static void backward_input_columns(void *ctx, int k0, int k1)
{
    const product *p = ctx;
    for (int x = 0; x < p->batch; x++) {
        real *g = p->out + (size_t)x * p->n_in;
        for (int k = k0; k < k1; k++) g[k] = 0;
        for (int j = 0; j < p->n_out; j++) {
            real d = p->delta[(size_t)x * p->n_out + j];
            const real *wj = p->w + (size_t)j * p->n_in;
#pragma omp simd
            for (int k = k0; k < k1; k++) g[k] += d * wj[k];
        }
    }
}

/* d_in (B, n_in), delta (B, n_out), w (n_out, n_in); overwrites d_in */
void KERNEL(matmul_backward_input)(real *d_in, const real *delta, const real *w,
                                   int batch, int n_in, int n_out, parallel *par)
{
    product p = {.out = d_in, .delta = delta, .w = w, .batch = batch, .n_in = n_in,
                 .n_out = n_out};
    /* Columns in blocks of at least 64 keep the inner loop long. */
    int grain = matmul_grain(par, n_in, (long)batch * n_out, 1);
    parallel_for(par, n_in, grain < 64 ? 64 : grain, backward_input_columns, &p);
}

/* The reference of the fused pass: the three steps it stands for, in turn. */
void KERNEL(matmul_backward_input_step)(real *d_in, real *w, real *b, const real *delta,
                                        const real *in, real step, real shrink, int batch,
                                        int n_in, int n_out, parallel *par)
{
    assert(batch <= MATMUL_FUSED_MAX_BATCH);
    KERNEL(matmul_backward_input)(d_in, delta, w, batch, n_in, n_out, par);
    if (shrink != 0) {
        size_t n = (size_t)n_out * (size_t)n_in;
        for (size_t i = 0; i < n; i++) {
            real change = shrink * w[i]; /* rounded apart, as the vector kernels do */
            w[i] -= change;
        }
    }
    KERNEL(matmul_backward_params_step)(w, b, delta, in, step, batch, n_in, n_out, par);
}

/* Examples x in [x0, x1): out_xj = the sum over the nonzero in_xk, k in
 * [k0, k1), of in_xk w_jk, the i-th nonzero term into partial sum i mod 4;
 * plus b_j if there is b. */
static void forward_sparse_rows(void *ctx, int x0, int x1)
{
    const product *p = ctx;
    int nonzero[MATMUL_SPARSE_MAX_IN];
    for (int x = x0; x < x1; x++) {
        const real *a = p->in + (size_t)x * p->n_in;
        int m = 0;
        for (int k = p->k0; k < p->k1; k++)
            if (a[k] != 0) nonzero[m++] = k;
        for (int j = 0; j < p->n_out; j++) {
            real s[4] = {0, 0, 0, 0};
            for (int i = 0; i < m; i++) {
                int k = nonzero[i];
                s[i % 4] += a[k] * p->w[(size_t)k * p->stride + j];
            }
            real z = (s[0] + s[1]) + (s[2] + s[3]);
            p->out[(size_t)x * p->n_out + j] = p->b ? z + p->b[j] : z;
        }
    }
}

/* out (B, n_out), in (B, n_in), wt (n_in, stride), b (n_out) or NULL */
void KERNEL(matmul_forward_sparse)(real *out, const real *in, const real *wt, const real *b,
                                   int batch, int n_in, int k0, int k1, int n_out, int stride,
                                   parallel *par)
{
    assert(k1 - k0 <= MATMUL_SPARSE_MAX_IN); /* nonzero lives on the stack */
    product p = {.out = out, .in = in, .w = wt, .b = b, .batch = batch, .n_in = n_in,
                 .n_out = n_out, .stride = stride, .k0 = k0, .k1 = k1};
    /* work: a quarter of the inputs nonzero, as in MNIST */
    parallel_for(par, batch, matmul_grain(par, batch, (long)(k1 - k0) * n_out / 4, 1),
                 forward_sparse_rows, &p);
}

/* Inputs k0 + [c0, c1) that are nonzero in some example: w_.k -= step
 * sum_x in_xk delta_x., summed and applied as in backward_params_step_rows,
 * a block of neurons at a time. */
static void backward_params_step_sparse_columns(void *ctx, int c0, int c1)
{
    enum { BLOCK = 64 };
    const product *p = ctx;
    for (int k = p->k0 + c0; k < p->k0 + c1; k++) {
        int any = 0;
        for (int x = 0; x < p->batch; x++) any |= p->in[(size_t)x * p->n_in + k] != 0;
        if (!any) continue;
        real *wk = p->dw + (size_t)k * p->stride;
        for (int j0 = 0; j0 < p->n_out; j0 += BLOCK) {
            int n = p->n_out - j0 < BLOCK ? p->n_out - j0 : BLOCK;
            real g[BLOCK] = {0};
            for (int x = 0; x < p->batch; x++) {
                real a = p->in[(size_t)x * p->n_in + k];
                const real *d = p->delta + (size_t)x * p->n_out + j0;
#pragma omp simd
                for (int j = 0; j < n; j++) g[j] += d[j] * a;
            }
#pragma omp simd
            for (int j = 0; j < n; j++) {
                real change = p->step * g[j]; /* eq. 20, rounded twice */
                wk[j0 + j] -= change;
            }
        }
    }
}

/* eq. 21 for the sparse step: b_j -= step sum_x delta_xj, as in
 * backward_params_step_rows. */
static void step_biases(real *b, const real *delta, real step, int batch, int n_out)
{
    for (int j = 0; j < n_out; j++) {
        real dbj = 0;
        for (int x = 0; x < batch; x++) dbj += delta[(size_t)x * n_out + j];
        real change = step * dbj;
        b[j] -= change;
    }
}

/* wt (n_in, stride), b (n_out) or NULL, delta (B, n_out), in (B, n_in);
 * updates wt's rows [k0, k1) and b */
void KERNEL(matmul_backward_params_step_sparse)(real *wt, real *b, const real *delta,
                                                const real *in, real step, int batch, int n_in,
                                                int k0, int k1, int n_out, int stride,
                                                parallel *par)
{
    product p = {.dw = wt, .delta = delta, .in = in, .step = step, .batch = batch,
                 .n_in = n_in, .n_out = n_out, .stride = stride, .k0 = k0, .k1 = k1};
    /* work: counted at a quarter of the dense step's (some half of the
     * columns are nonzero in a batch of 10, more in larger ones). (Training
     * calls this per part without a pool; when it split the step itself,
     * [784,30,10] at batch 100 took 0.040 s/epoch split against 0.036 whole.) */
    parallel_for(par, k1 - k0, matmul_grain(par, k1 - k0, (long)batch * n_out / 4, 64),
                 backward_params_step_sparse_columns, &p);
    if (b) step_biases(b, delta, step, batch, n_out);
}

/* For z below about -88 (float), exp(-z) is +inf and 1/inf = 0: the limit,
 * and never NaN. */
void KERNEL(sigmoid)(real *values, size_t n)
{
    for (size_t i = 0; i < n; i++) values[i] = 1 / (1 + exp(-values[i]));
}
