/* matmul_*_f32: the float products, on the fastest kernels this CPU runs. */
#include <stdatomic.h>
#include <stddef.h>

#include "kernels/matmul.h"
#include "kernels/matmul_kernels.h"

static int always(void) { return 1; }

const matmul_kernels matmul_kernels_ref = {
    .name = "reference",
    .supported = always,
    .forward = matmul_forward_ref_f32,
    .backward_params = matmul_backward_params_ref_f32,
    .backward_params_step = matmul_backward_params_step_ref_f32,
    .backward_input = matmul_backward_input_ref_f32,
    .backward_input_step = matmul_backward_input_step_ref_f32,
    .sigmoid = sigmoid_ref_f32,
    .forward_sparse = matmul_forward_sparse_ref_f32,
    .backward_params_step_sparse = matmul_backward_params_step_sparse_ref_f32,
};

static const matmul_kernels *const all_kernels[] = {
#if defined(__x86_64__) || defined(__i386__)
    &matmul_kernels_avx512,
    &matmul_kernels_avx2,
#endif
    &matmul_kernels_ref,
};

const matmul_kernels *const *matmul_kernels_all(int *count)
{
    *count = (int)(sizeof all_kernels / sizeof all_kernels[0]);
    return all_kernels;
}

const matmul_kernels *matmul_kernels_chosen(void)
{
    /* Chosen on the first call. Threads racing on it choose the same set. */
    static _Atomic(const matmul_kernels *) chosen;
    const matmul_kernels *k = atomic_load_explicit(&chosen, memory_order_acquire);
    if (k) return k;
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    for (int i = 0; i < n && !k; i++)
        if (all[i]->supported()) k = all[i];
    atomic_store_explicit(&chosen, k, memory_order_release);
    return k;
}

void matmul_forward_f32(float *out, const float *in, const float *w, const float *b,
                        int batch, int n_in, int n_out, parallel *par)
{
    matmul_kernels_chosen()->forward(out, in, w, b, batch, n_in, n_out, par);
}

void matmul_backward_params_f32(float *dw, float *db, const float *delta, const float *in,
                                int batch, int n_in, int n_out, parallel *par)
{
    matmul_kernels_chosen()->backward_params(dw, db, delta, in, batch, n_in, n_out, par);
}

void matmul_backward_params_step_f32(float *w, float *b, const float *delta, const float *in,
                                     float step, int batch, int n_in, int n_out, parallel *par)
{
    matmul_kernels_chosen()->backward_params_step(w, b, delta, in, step, batch, n_in, n_out, par);
}

void matmul_backward_input_f32(float *d_in, const float *delta, const float *w, int batch,
                               int n_in, int n_out, parallel *par)
{
    matmul_kernels_chosen()->backward_input(d_in, delta, w, batch, n_in, n_out, par);
}

void matmul_backward_input_step_f32(float *d_in, float *w, float *b, const float *delta,
                                    const float *in, float step, float shrink, int batch,
                                    int n_in, int n_out, parallel *par)
{
    matmul_kernels_chosen()->backward_input_step(d_in, w, b, delta, in, step, shrink, batch,
                                                 n_in, n_out, par);
}

void sigmoid_f32(float *values, size_t n) { matmul_kernels_chosen()->sigmoid(values, n); }

void matmul_forward_sparse_f32(float *out, const float *in, const float *wt, const float *b,
                               int batch, int n_in, int k0, int k1, int n_out, int stride,
                               parallel *par)
{
    matmul_kernels_chosen()->forward_sparse(out, in, wt, b, batch, n_in, k0, k1, n_out, stride,
                                            par);
}

void matmul_backward_params_step_sparse_f32(float *wt, float *b, const float *delta,
                                            const float *in, float step, int batch, int n_in,
                                            int k0, int k1, int n_out, int stride,
                                            parallel *par)
{
    matmul_kernels_chosen()->backward_params_step_sparse(wt, b, delta, in, step, batch, n_in,
                                                         k0, k1, n_out, stride, par);
}
