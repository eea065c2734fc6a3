/* The float kernels behind matmul.h, and how one set is chosen.
 *
 * The float build of matmul_forward_f32 and its siblings dispatches, once
 * per process, to the fastest set of kernels this CPU runs: hand-vectorized
 * AVX-512 or AVX2+FMA (matmul_avx512.c, matmul_avx2.c), else the plain C
 * kernels of matmul.c, which stay the algorithmic reference and the
 * fallback. The double build (the gradient check) always uses the
 * reference.
 *
 * Every set keeps the determinism rule of matmul.h: each output element is
 * computed inside one chunk, in an order that depends neither on the chunk
 * boundaries nor on the number of threads. The sets differ from each other
 * in summation order (they vectorize differently), so their results agree
 * only to rounding; within one process the chosen set never changes. */
#ifndef NNDL_KERNELS_MATMUL_KERNELS_H
#define NNDL_KERNELS_MATMUL_KERNELS_H

#include <stddef.h>

#include "kernels/parallel.h"

/* A product of fewer multiply-adds than this, some 10 us at 200 GFLOP/s,
 * runs on the calling thread: handing a chunk to another core costs
 * microseconds, and with 16,384 two threads were slower than one at
 * mini-batch 10 (0.054 against 0.044 s/epoch for [784,30,10]). */
#ifndef MATMUL_MIN_PARALLEL_WORK
#define MATMUL_MIN_PARALLEL_WORK (1L << 20)
#endif
/* A larger product is cut into one chunk per thread, or into a multiple
 * of that so that no chunk exceeds this many multiply-adds (some 80 us).
 * Chunks of 15 neurons (2^20 multiply-adds) left one thread 4 of 7 at batch
 * 100, for 1.47x on two threads; chunks of 10, 5 each, still cost a claim
 * and a wait for the last one each: halves were 1-2% faster again. */
#ifndef MATMUL_MAX_CHUNK_WORK
#define MATMUL_MAX_CHUNK_WORK (1L << 23)
#endif

typedef void (*matmul_forward_fn)(float *out, const float *in, const float *w, const float *b,
                                  int batch, int n_in, int n_out, parallel *par);
typedef void (*matmul_backward_params_fn)(float *dw, float *db, const float *delta,
                                          const float *in, int batch, int n_in, int n_out,
                                          parallel *par);
typedef void (*matmul_backward_params_step_fn)(float *w, float *b, const float *delta,
                                               const float *in, float step, int batch, int n_in,
                                               int n_out, parallel *par);
typedef void (*sigmoid_fn)(float *values, size_t n);
typedef void (*matmul_forward_sparse_fn)(float *out, const float *in, const float *wt,
                                         const float *b, int batch, int n_in, int k0, int k1,
                                         int n_out, int stride, parallel *par);
typedef void (*matmul_backward_params_step_sparse_fn)(float *wt, float *b, const float *delta,
                                                      const float *in, float step, int batch,
                                                      int n_in, int k0, int k1, int n_out,
                                                      int stride, parallel *par);
typedef void (*matmul_backward_input_fn)(float *d_in, const float *delta, const float *w,
                                         int batch, int n_in, int n_out, parallel *par);
typedef void (*matmul_backward_input_step_fn)(float *d_in, float *w, float *b,
                                              const float *delta, const float *in, float step,
                                              float shrink, int batch, int n_in, int n_out,
                                              parallel *par);

/* One implementation of the products and the sigmoid, with the semantics of matmul.h. */
typedef struct matmul_kernels {
    const char *name;
    int (*supported)(void); /* does this CPU run it? */
    matmul_forward_fn forward;
    matmul_backward_params_fn backward_params;
    matmul_backward_params_step_fn backward_params_step;
    matmul_backward_input_fn backward_input;
    matmul_backward_input_step_fn backward_input_step;
    sigmoid_fn sigmoid; /* the activation after the forward product */
    matmul_forward_sparse_fn forward_sparse;
    matmul_backward_params_step_sparse_fn backward_params_step_sparse;
} matmul_kernels;

/* The plain C kernels of matmul.c in float, under their own names. */
void matmul_forward_ref_f32(float *out, const float *in, const float *w, const float *b,
                            int batch, int n_in, int n_out, parallel *par);
void matmul_backward_params_ref_f32(float *dw, float *db, const float *delta, const float *in,
                                    int batch, int n_in, int n_out, parallel *par);
void matmul_backward_params_step_ref_f32(float *w, float *b, const float *delta,
                                         const float *in, float step, int batch, int n_in,
                                         int n_out, parallel *par);
void matmul_backward_input_ref_f32(float *d_in, const float *delta, const float *w, int batch,
                                   int n_in, int n_out, parallel *par);
void matmul_backward_input_step_ref_f32(float *d_in, float *w, float *b, const float *delta,
                                        const float *in, float step, float shrink, int batch,
                                        int n_in, int n_out, parallel *par);
void sigmoid_ref_f32(float *values, size_t n);
void matmul_forward_sparse_ref_f32(float *out, const float *in, const float *wt, const float *b,
                                   int batch, int n_in, int k0, int k1, int n_out, int stride,
                                   parallel *par);
void matmul_backward_params_step_sparse_ref_f32(float *wt, float *b, const float *delta,
                                                const float *in, float step, int batch,
                                                int n_in, int k0, int k1, int n_out, int stride,
                                                parallel *par);

extern const matmul_kernels matmul_kernels_ref;
#if defined(__x86_64__) || defined(__i386__)
extern const matmul_kernels matmul_kernels_avx512;
extern const matmul_kernels matmul_kernels_avx2;
#endif

/* The implementations of this build, fastest first, the reference last;
 * `*count` receives their number. Some may not run on this CPU. */
const matmul_kernels *const *matmul_kernels_all(int *count);

/* The set matmul_*_f32 use: the first supported one of matmul_kernels_all. */
const matmul_kernels *matmul_kernels_chosen(void);

/* The grain (items per chunk) for n items costing `item_work`
 * multiply-adds each on the threads of `par`: all n if the product is
 * small, else an even share per thread (see MATMUL_MAX_CHUNK_WORK), rounded
 * up to a multiple of `block` so that a kernel's register tiles are whole
 * inside every chunk but the last. Results never depend on it (matmul.h). */
static inline int matmul_grain(const parallel *par, int n, long item_work, int block)
{
    int grain = parallel_split(par, n, item_work, MATMUL_MIN_PARALLEL_WORK);
    if (grain >= n) return grain;
    long total = (long)n * item_work, per_thread = total / parallel_threads(par);
    if (per_thread > MATMUL_MAX_CHUNK_WORK) { /* several chunks a thread */
        long pieces = (per_thread + MATMUL_MAX_CHUNK_WORK - 1) / MATMUL_MAX_CHUNK_WORK;
        grain = (int)((grain + pieces - 1) / pieces);
    }
    return grain > (1 << 30) - block ? grain : (grain + block - 1) / block * block;
}

#endif
