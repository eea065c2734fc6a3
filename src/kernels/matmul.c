/* Plain C matrix kernels, written so that the compiler vectorizes the inner
 * loops: each runs over contiguous memory. Compiled in float and double
 * (see net/real.h). Threads split the rows of the output. */
#include "kernels/matmul.h"

#include <stddef.h>

/* Below this many multiply-adds a product runs on one thread: starting the
 * team would cost more than it saves. The choice never changes results. */
enum { PARALLEL_MIN_WORK = 32768 };

static int team_size(long work, int threads)
{
    return work < PARALLEL_MIN_WORK ? 1 : threads;
}

void RNAME(matmul_forward)(real *out, const real *in, const real *w, const real *b,
                           int batch, int n_in, int n_out, int threads)
{
    long work = (long)batch * n_in * n_out;
#pragma omp parallel for num_threads(team_size(work, threads)) schedule(static)
    for (int j = 0; j < n_out; j++) {
        const real *wj = w + (size_t)j * n_in;
        for (int x = 0; x < batch; x++) {
            const real *a = in + (size_t)x * n_in;
            real z = 0;
#pragma omp simd reduction(+ : z)
            for (int k = 0; k < n_in; k++) z += wj[k] * a[k];
            out[(size_t)x * n_out + j] = z + b[j];
        }
    }
}

void RNAME(matmul_backward_params)(real *dw, real *db, const real *delta, const real *in,
                                   int batch, int n_in, int n_out, int threads)
{
    long work = (long)batch * n_in * n_out;
#pragma omp parallel for num_threads(team_size(work, threads)) schedule(static)
    for (int j = 0; j < n_out; j++) {
        real *dwj = dw + (size_t)j * n_in;
        real dbj = 0;
        for (int x = 0; x < batch; x++) {
            real d = delta[(size_t)x * n_out + j];
            const real *a = in + (size_t)x * n_in;
#pragma omp simd
            for (int k = 0; k < n_in; k++) dwj[k] += d * a[k];
            dbj += d;
        }
        db[j] += dbj;
    }
}

void RNAME(matmul_backward_input)(real *d_in, const real *delta, const real *w,
                                  int batch, int n_in, int n_out, int threads)
{
    long work = (long)batch * n_in * n_out;
#pragma omp parallel for num_threads(team_size(work, threads)) schedule(static)
    for (int x = 0; x < batch; x++) {
        real *g = d_in + (size_t)x * n_in;
        for (int k = 0; k < n_in; k++) g[k] = 0;
        for (int j = 0; j < n_out; j++) {
            real d = delta[(size_t)x * n_out + j];
            const real *wj = w + (size_t)j * n_in;
#pragma omp simd
            for (int k = 0; k < n_in; k++) g[k] += d * wj[k];
        }
    }
}
