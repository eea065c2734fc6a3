/* The float matrix kernels: every implementation this CPU runs agrees with
 * the reference, accumulates where it should, and gives bit-identical
 * results with one thread or two; their sigmoids match the reference's;
 * their sparse products of a first layer match their dense ones. */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/matmul.h"
#include "kernels/matmul_kernels.h"

static const int batches[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 100};
static const int n_ins[] = {1, 7, 16, 31, 784};
static const int n_outs[] = {1, 3, 10, 30, 100};
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Fills x[0..n) with values in [-1, 1) from a small fixed generator. */
static void fill(float *x, size_t n, unsigned seed)
{
    unsigned s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / (float)(1u << 23) - 1.0f;
    }
}

/* Inputs of one product, each in its own allocation so that ASan sees any
 * access past the end; `offset` floats shift every buffer off 64-byte
 * alignment, as malloc may. */
typedef struct operands {
    float *in, *w, *b, *delta, *out, *dw, *db, *d_in;
    float *blocks[8];
    int batch, n_in, n_out;
} operands;

static float *take(operands *o, int i, size_t n, int offset, unsigned seed)
{
    o->blocks[i] = malloc((n + (size_t)offset) * sizeof(float));
    if (!o->blocks[i]) return NULL;
    fill(o->blocks[i] + offset, n, seed);
    return o->blocks[i] + offset;
}

static int operands_init(operands *o, int batch, int n_in, int n_out, int offset)
{
    memset(o, 0, sizeof *o);
    o->batch = batch, o->n_in = n_in, o->n_out = n_out;
    size_t bi = (size_t)batch * n_in, bo = (size_t)batch * n_out, oi = (size_t)n_out * n_in;
    o->in = take(o, 0, bi, offset, 1);
    o->w = take(o, 1, oi, offset, 2);
    o->b = take(o, 2, (size_t)n_out, offset, 3);
    o->delta = take(o, 3, bo, offset, 4);
    o->out = take(o, 4, bo, offset, 5);
    o->dw = take(o, 5, oi, offset, 6);
    o->db = take(o, 6, (size_t)n_out, offset, 7);
    o->d_in = take(o, 7, bi, offset, 8);
    return o->in && o->w && o->b && o->delta && o->out && o->dw && o->db && o->d_in;
}

static void operands_free(operands *o)
{
    for (int i = 0; i < 8; i++) free(o->blocks[i]);
}

/* |got - want| within 1e-5 of the sum of |terms| behind each element
 * (plus |start| for an accumulation), the bound on any order of summing. */
static int close_enough(const float *got, const float *want, const double *scale, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= 1e-5 * scale[i] + 1e-30)) {
            fprintf(stderr, "    element %zu: %.9g, reference %.9g\n", i, (double)got[i],
                    (double)want[i]);
            return 0;
        }
    return 1;
}

/* Zeroes all but about `kept` of delta's errors (deterministically). */
static void keep_errors(float *delta, size_t n, double kept, uint32_t seed)
{
    uint32_t state = 12345u + seed;
    for (size_t i = 0; i < n; i++) {
        state = state * 1664525u + 1013904223u;
        if ((state >> 8) / 16777216.0 >= kept) delta[i] = 0;
    }
}

/* Runs all three products of `k` and of the reference on the same operands
 * and compares. With `kept` below 1, only about that share of the errors is
 * nonzero, which the SIMD kernels take through their sparse passes. */
static void compare_with_reference(const matmul_kernels *k, int batch, int n_in, int n_out,
                                   int offset, double kept)
{
    operands o;
    REQUIRE(operands_init(&o, batch, n_in, n_out, offset));
    if (kept < 1)
        keep_errors(o.delta, (size_t)batch * n_out, kept,
                    (uint32_t)(batch * 7919 + n_in * 31 + n_out));
    size_t bi = (size_t)batch * n_in, bo = (size_t)batch * n_out, oi = (size_t)n_out * n_in;
    float *want = malloc((oi + bi + bo + (size_t)n_out) * sizeof(float));
    double *scale = malloc((oi + bi + bo + (size_t)n_out) * sizeof(double));
    REQUIRE(want && scale);

    /* forward: out = in w^T + b */
    matmul_forward_ref_f32(want, o.in, o.w, o.b, batch, n_in, n_out, NULL);
    k->forward(o.out, o.in, o.w, o.b, batch, n_in, n_out, NULL);
    for (int x = 0; x < batch; x++)
        for (int j = 0; j < n_out; j++) {
            double s = fabs(o.b[j]);
            for (int i = 0; i < n_in; i++)
                s += fabs((double)o.in[(size_t)x * n_in + i] * o.w[(size_t)j * n_in + i]);
            scale[(size_t)x * n_out + j] = s;
        }
    if (!close_enough(o.out, want, scale, bo))
        test_fail(__FILE__, __LINE__, "%s forward, batch %d, %d -> %d, offset %d", k->name,
                  batch, n_in, n_out, offset);

    /* backward_params accumulates onto what dw and db hold */
    float *dw0 = malloc((oi + (size_t)n_out) * sizeof(float));
    REQUIRE(dw0);
    memcpy(dw0, o.dw, oi * sizeof(float));
    memcpy(dw0 + oi, o.db, (size_t)n_out * sizeof(float));
    memcpy(want, o.dw, oi * sizeof(float));
    memcpy(want + oi, o.db, (size_t)n_out * sizeof(float));
    matmul_backward_params_ref_f32(want, want + oi, o.delta, o.in, batch, n_in, n_out, NULL);
    k->backward_params(o.dw, o.db, o.delta, o.in, batch, n_in, n_out, NULL);
    for (int j = 0; j < n_out; j++) {
        double sb = fabs(dw0[oi + j]);
        for (int i = 0; i < n_in; i++) {
            double s = fabs(dw0[(size_t)j * n_in + i]);
            for (int x = 0; x < batch; x++)
                s += fabs((double)o.delta[(size_t)x * n_out + j] * o.in[(size_t)x * n_in + i]);
            scale[(size_t)j * n_in + i] = s;
        }
        for (int x = 0; x < batch; x++) sb += fabs(o.delta[(size_t)x * n_out + j]);
        scale[oi + j] = sb;
    }
    if (!close_enough(o.dw, want, scale, oi) || !close_enough(o.db, want + oi, scale + oi,
                                                              (size_t)n_out))
        test_fail(__FILE__, __LINE__, "%s backward_params, batch %d, %d -> %d, offset %d",
                  k->name, batch, n_in, n_out, offset);
    free(dw0);

    /* backward_input overwrites d_in */
    matmul_backward_input_ref_f32(want, o.delta, o.w, batch, n_in, n_out, NULL);
    k->backward_input(o.d_in, o.delta, o.w, batch, n_in, n_out, NULL);
    for (int x = 0; x < batch; x++)
        for (int i = 0; i < n_in; i++) {
            double s = 0;
            for (int j = 0; j < n_out; j++)
                s += fabs((double)o.delta[(size_t)x * n_out + j] * o.w[(size_t)j * n_in + i]);
            scale[(size_t)x * n_in + i] = s;
        }
    if (!close_enough(o.d_in, want, scale, bi))
        test_fail(__FILE__, __LINE__, "%s backward_input, batch %d, %d -> %d, offset %d",
                  k->name, batch, n_in, n_out, offset);

    free(want);
    free(scale);
    operands_free(&o);
}

TEST(kernels_dispatcher_chooses_a_supported_set)
{
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    const matmul_kernels *chosen = matmul_kernels_chosen();
    REQUIRE(chosen && n >= 1);
    CHECK(chosen->supported());
    CHECK(chosen->forward && chosen->backward_params && chosen->backward_params_step &&
          chosen->backward_input && chosen->forward_sparse &&
          chosen->backward_params_step_sparse);
    CHECK(all[n - 1] == &matmul_kernels_ref);
    /* the first supported set in the list, and the same one every time */
    int first = 0;
    while (first < n && !all[first]->supported()) first++;
    CHECK(first < n && all[first] == chosen);
    CHECK(matmul_kernels_chosen() == chosen);
}

TEST(kernels_agree_with_the_reference)
{
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    for (int i = 0; i < n; i++) {
        if (!all[i]->supported()) continue;
        for (int bi = 0; bi < COUNT(batches); bi++)
            for (int ii = 0; ii < COUNT(n_ins); ii++)
                for (int oi = 0; oi < COUNT(n_outs); oi++)
                    compare_with_reference(all[i], batches[bi], n_ins[ii], n_outs[oi],
                                           (bi + ii + oi) % 3 == 0 ? 0 : 1 + (bi + oi) % 15,
                                           1);
    }
}

/* The sparse passes take columns in blocks of 8 vectors, the last block
 * shorter: every length of it, 1 to 8 vectors with the last full or not,
 * for AVX-512 (16 lanes) and AVX2 (8). A second convolution's 500 columns
 * end in 7 vectors and 4 lanes with AVX-512, which once were left undone.
 * 640 rows by 40 errors, a quarter of them nonzero, as behind its pooling;
 * then the dense passes, whose tiles end in other shapes, on 10 rows. */
TEST(kernels_passes_cover_every_last_block)
{
    static const int columns[] = {1,   8,   9,   15,  16,  17,  57,  60,  63,  64,  65,  100,
                                  112, 113, 116, 120, 127, 128, 129, 241, 250, 500, 1000};
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    for (int i = 0; i < n; i++) {
        if (!all[i]->supported()) continue;
        for (int c = 0; c < COUNT(columns); c++) {
            compare_with_reference(all[i], 640, columns[c], 40, c % 3, 0.25);
            /* and the dense passes, at the final network's mini-batch */
            compare_with_reference(all[i], 10, columns[c], 40, c % 3, 1);
        }
    }
}

TEST(kernels_backward_params_accumulates)
{
    /* Twice onto zeros is 2 x once; exact for small integers. */
    enum { B = 7, N_IN = 37, N_OUT = 11 };
    static float in[B * N_IN], delta[B * N_OUT], once[N_OUT * N_IN], twice[N_OUT * N_IN];
    static float db_once[N_OUT], db_twice[N_OUT];
    for (int i = 0; i < B * N_IN; i++) in[i] = (float)(i % 5 - 2);
    for (int i = 0; i < B * N_OUT; i++) delta[i] = (float)(i % 3 - 1);
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    for (int i = 0; i < n; i++) {
        if (!all[i]->supported()) continue;
        memset(once, 0, sizeof once), memset(twice, 0, sizeof twice);
        memset(db_once, 0, sizeof db_once), memset(db_twice, 0, sizeof db_twice);
        all[i]->backward_params(once, db_once, delta, in, B, N_IN, N_OUT, NULL);
        all[i]->backward_params(twice, db_twice, delta, in, B, N_IN, N_OUT, NULL);
        all[i]->backward_params(twice, db_twice, delta, in, B, N_IN, N_OUT, NULL);
        int nonzero = 0;
        for (int k = 0; k < N_OUT * N_IN; k++) {
            CHECK(twice[k] == 2 * once[k]);
            nonzero += once[k] != 0;
        }
        for (int j = 0; j < N_OUT; j++) CHECK(db_twice[j] == 2 * db_once[j]);
        CHECK(nonzero > N_OUT * N_IN / 2); /* not trivially zero */
    }
}

/* backward_params sums each weight's gradient over the examples in order,
 * so the batch in two calls gives the same weights' gradient bit for bit
 * as in one, wherever it is cut: also where the kernels cut the examples
 * of a convolution's patches into chunks themselves (640 rows). */
TEST(kernels_backward_params_sums_the_examples_in_order)
{
    static const int shapes[][4] = {{640, 500, 40, 37}, {640, 500, 40, 300}, {130, 33, 7, 64},
                                    {100, 784, 30, 1}};
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    for (int i = 0; i < n; i++) {
        if (!all[i]->supported()) continue;
        for (int s = 0; s < COUNT(shapes); s++) {
            const int batch = shapes[s][0], n_in = shapes[s][1], n_out = shapes[s][2],
                      cut = shapes[s][3];
            operands o;
            REQUIRE(operands_init(&o, batch, n_in, n_out, s % 2));
            size_t oi = (size_t)n_out * n_in;
            float *split = malloc(oi * sizeof(float)), *db = malloc((size_t)n_out * sizeof(float));
            REQUIRE(split && db);
            memcpy(split, o.dw, oi * sizeof(float));
            all[i]->backward_params(o.dw, o.db, o.delta, o.in, batch, n_in, n_out, NULL);
            all[i]->backward_params(split, db, o.delta, o.in, cut, n_in, n_out, NULL);
            all[i]->backward_params(split, db, o.delta + (size_t)cut * n_out,
                                    o.in + (size_t)cut * n_in, batch - cut, n_in, n_out, NULL);
            if (memcmp(o.dw, split, oi * sizeof(float)))
                test_fail(__FILE__, __LINE__, "%s backward_params, batch %d cut at %d, %d -> %d",
                          all[i]->name, batch, cut, n_in, n_out);
            free(split);
            free(db);
            operands_free(&o);
        }
    }
}

/* The step form of `k` against its own backward_params onto zeros followed
 * by the plain update loop: bit-identical, on every shape and alignment. */
static void check_step(const matmul_kernels *k, int batch, int n_in, int n_out, int offset)
{
    operands o;
    REQUIRE(operands_init(&o, batch, n_in, n_out, offset));
    size_t oi = (size_t)n_out * n_in;
    float *w = malloc((oi + (size_t)n_out) * sizeof(float));
    float *g = calloc(oi + (size_t)n_out, sizeof(float));
    REQUIRE(w && g);
    const float step = 0.37f / (float)batch;
    memcpy(w, o.w, oi * sizeof(float));
    memcpy(w + oi, o.b, (size_t)n_out * sizeof(float));
    k->backward_params(g, g + oi, o.delta, o.in, batch, n_in, n_out, NULL);
    for (size_t i = 0; i < oi + (size_t)n_out; i++) {
        float change = step * g[i]; /* rounded apart, as no compiler fuses across statements */
        w[i] -= change;
    }
    k->backward_params_step(o.w, o.b, o.delta, o.in, step, batch, n_in, n_out, NULL);
    if (memcmp(o.w, w, oi * sizeof(float)) || memcmp(o.b, w + oi, (size_t)n_out * sizeof(float)))
        test_fail(__FILE__, __LINE__, "%s backward_params_step, batch %d, %d -> %d, offset %d",
                  k->name, batch, n_in, n_out, offset);
    free(w);
    free(g);
    operands_free(&o);
}

TEST(kernels_step_equals_gradient_then_update)
{
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    for (int i = 0; i < n; i++) {
        if (!all[i]->supported()) continue;
        for (int bi = 0; bi < COUNT(batches); bi++)
            for (int ii = 0; ii < COUNT(n_ins); ii++)
                for (int oi = 0; oi < COUNT(n_outs); oi++)
                    check_step(all[i], batches[bi], n_ins[ii], n_outs[oi],
                               (bi + ii + oi) % 3 == 0 ? 0 : 1 + (bi + oi) % 15);
    }
}


/* The fused pass of `k` against its own backward_input, the decay loop and
 * backward_params_step in turn, with 1 thread or 2: bit-identical. With
 * `kept` below 1, only about that share of the errors is nonzero (the
 * others exactly 0, as ReLU and dropout leave them), which the SIMD
 * kernels take through their sparse pass. */
static void check_fused(const matmul_kernels *k, parallel *par, int batch, int n_in, int n_out,
                        int offset, float shrink, double kept)
{
    operands o;
    REQUIRE(operands_init(&o, batch, n_in, n_out, offset));
    if (kept < 1)
        keep_errors(o.delta, (size_t)batch * n_out, kept,
                    (uint32_t)(batch * 7919 + n_in * 31 + n_out));
    size_t oi = (size_t)n_out * n_in, bi = (size_t)batch * n_in;
    float *w = malloc(oi * sizeof(float)), *b = malloc((size_t)n_out * sizeof(float));
    float *d_in = malloc(bi * sizeof(float));
    REQUIRE(w && b && d_in);
    const float step = 0.37f / (float)batch;
    memcpy(w, o.w, oi * sizeof(float));
    memcpy(b, o.b, (size_t)n_out * sizeof(float));
    k->backward_input(d_in, o.delta, w, batch, n_in, n_out, NULL);
    if (shrink != 0)
        for (size_t i = 0; i < oi; i++) {
            float change = shrink * w[i]; /* rounded apart: no compiler fuses statements */
            w[i] -= change;
        }
    k->backward_params_step(w, b, o.delta, o.in, step, batch, n_in, n_out, NULL);
    k->backward_input_step(o.d_in, o.w, o.b, o.delta, o.in, step, shrink, batch, n_in, n_out,
                           par);
    if (memcmp(o.w, w, oi * sizeof(float)) || memcmp(o.b, b, (size_t)n_out * sizeof(float)) ||
        memcmp(o.d_in, d_in, bi * sizeof(float)))
        test_fail(__FILE__, __LINE__,
                  "%s backward_input_step, batch %d, %d -> %d, offset %d, shrink %g, %s",
                  k->name, batch, n_in, n_out, offset, (double)shrink,
                  par ? "2 threads" : "1 thread");
    CHECK(memcmp(o.w, o.dw, sizeof(float)) != 0 || n_in * n_out == 0); /* it did step */
    free(w);
    free(b);
    free(d_in);
    operands_free(&o);
}

TEST(kernels_fused_pass_equals_bp2_decay_then_step)
{
    parallel *par = parallel_create(2, NULL);
    REQUIRE(par);
    static const int fused_n_ins[] = {1, 7, 16, 31, 33, 640, 1000};
    static const int fused_n_outs[] = {1, 3, 10, 100, 1000};
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    for (int i = 0; i < n; i++) {
        if (!all[i]->supported()) continue;
        for (int batch = 1; batch <= MATMUL_FUSED_MAX_BATCH; batch++)
            for (int ii = 0; ii < COUNT(fused_n_ins); ii++)
                for (int oi = 0; oi < COUNT(fused_n_outs); oi++) {
                    int offset = (batch + ii + oi) % 3 == 0 ? 0 : 1 + (batch + oi) % 15;
                    float shrink = (batch + ii) % 2 ? 0 : 3e-5f;
                    check_fused(all[i], (batch + oi) % 4 ? NULL : par, batch,
                                fused_n_ins[ii], fused_n_outs[oi], offset, shrink, 1);
                }
    }
    parallel_free(par);
}

/* The same on errors mostly zero: 15% nonzero, as behind the final
 * network's layers of 1,000, 50% (the most the sparse pass takes), and
 * none at all; the last shape's masks are too large for the stack. */
TEST(kernels_fused_pass_on_sparse_errors_equals_bp2_decay_then_step)
{
    parallel *par = parallel_create(2, NULL);
    REQUIRE(par);
    static const int shapes[][2] = {{640, 1000}, {1000, 1000}, {300, 1000}, {1000, 10},
                                    {33, 100},   {7, 3},       {200, 5000}};
    static const double kept[] = {0.15, 0.5, 0};
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    for (int i = 0; i < n; i++) {
        if (!all[i]->supported()) continue;
        for (int s = 0; s < COUNT(shapes); s++)
            for (int c = 0; c < COUNT(kept); c++)
                for (int batch = 1; batch <= MATMUL_FUSED_MAX_BATCH; batch += 3)
                    check_fused(all[i], (s + c) % 2 ? par : NULL, batch, shapes[s][0],
                                shapes[s][1], (s + batch) % 5, c == 1 ? 3e-5f : 0, kept[c]);
    }
    parallel_free(par);
}

/* One product with a pool of 2 threads and without: bit-identical. The two
 * sets of operands also differ in alignment, which must not matter either. */
static void check_threads(const matmul_kernels *k, parallel *par, int batch, int n_in,
                          int n_out)
{
    operands one, two;
    REQUIRE(operands_init(&one, batch, n_in, n_out, 0));
    if (!operands_init(&two, batch, n_in, n_out, 3)) {
        operands_free(&one);
        REQUIRE(0);
    }
    /* several calls, so that the pool hands out chunks more than once */
    for (int rep = 0; rep < 3; rep++) {
        k->forward(one.out, one.in, one.w, one.b, batch, n_in, n_out, NULL);
        k->forward(two.out, two.in, two.w, two.b, batch, n_in, n_out, par);
        k->backward_params(one.dw, one.db, one.delta, one.in, batch, n_in, n_out, NULL);
        k->backward_params(two.dw, two.db, two.delta, two.in, batch, n_in, n_out, par);
        k->backward_input(one.d_in, one.delta, one.w, batch, n_in, n_out, NULL);
        k->backward_input(two.d_in, two.delta, two.w, batch, n_in, n_out, par);
        /* the step form updates w and b, which the next round then reads */
        k->backward_params_step(one.w, one.b, one.delta, one.in, 0.01f, batch, n_in, n_out,
                                NULL);
        k->backward_params_step(two.w, two.b, two.delta, two.in, 0.01f, batch, n_in, n_out,
                                par);
    }
    size_t bo = (size_t)batch * n_out, oi = (size_t)n_out * n_in, bi = (size_t)batch * n_in;
    if (memcmp(one.out, two.out, bo * sizeof(float)) ||
        memcmp(one.w, two.w, oi * sizeof(float)) ||
        memcmp(one.b, two.b, (size_t)n_out * sizeof(float)) ||
        memcmp(one.dw, two.dw, oi * sizeof(float)) ||
        memcmp(one.db, two.db, (size_t)n_out * sizeof(float)) ||
        memcmp(one.d_in, two.d_in, bi * sizeof(float)))
        test_fail(__FILE__, __LINE__, "%s: 2 threads differ from 1, batch %d, %d -> %d",
                  k->name, batch, n_in, n_out);
    operands_free(&one);
    operands_free(&two);
}

TEST(kernels_are_bit_identical_for_1_and_2_threads)
{
    parallel *par = parallel_create(2, NULL);
    REQUIRE(par);
    /* shapes large enough to split into several chunks, with edge tiles */
    static const int shapes[][3] = {
        {10, 784, 30}, {100, 784, 100}, {17, 784, 31}, {13, 1000, 7}, {100, 100, 100},
        {3, 33, 1000}, {11, 4099, 3}, {100, 784, 37}, {300, 4099, 3},
    };
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    for (int i = 0; i < n; i++) {
        if (!all[i]->supported()) continue;
        for (int s = 0; s < COUNT(shapes); s++)
            check_threads(all[i], par, shapes[s][0], shapes[s][1], shapes[s][2]);
    }
    parallel_free(par);
}

/* Whether two sigmoid results agree: bit for bit where the C library is
 * glibc 2.27 or later (whose expf the vector kernels reproduce, see
 * matmul_simd.h), else to a few units in the last place. */
static int same_sigmoid(float got, float want)
{
    if (isnan(got) || isnan(want)) return isnan(got) && isnan(want);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 27))
    return memcmp(&got, &want, sizeof got) == 0;
#else
    return fabsf(got - want) <= 4 * FLT_EPSILON * fabsf(want) + FLT_MIN;
#endif
}

TEST(kernels_sigmoid_matches_the_reference)
{
    /* Every 997th bit pattern of a float (some 4.3 million values: both
     * signs, denormals, the saturated ranges, infinities and NaNs), plus the
     * edges of expf's fast path, in runs of every length up to 40 and at
     * every offset, so that the scalar tails and mixed vectors are used. */
    enum { N = 1 << 16, STRIDE = 997 };
    static const float edges[] = {0.0f, -0.0f, 88.0f, -88.0f, 87.99999f, -87.99999f,
                                  88.72284f, 88.72285f, -103.97208f, -103.28f, -104.0f,
                                  1e-30f, -1e-30f, 0.5f, -0.5f, 1.0f, -1.0f};
    float *x = malloc((N + 64) * sizeof(float)), *want = malloc((N + 64) * sizeof(float));
    REQUIRE(x && want);
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    for (int i = 0; i < n; i++) {
        if (!all[i]->supported()) continue;
        long bad = 0;
        for (uint64_t u = 0; u < (1ull << 32) && bad == 0; u += (uint64_t)STRIDE * N) {
            for (int e = 0; e < N; e++) {
                uint32_t bits = (uint32_t)(u + (uint64_t)e * STRIDE);
                memcpy(&x[e], &bits, sizeof bits);
            }
            memcpy(want, x, N * sizeof(float));
            sigmoid_ref_f32(want, N);
            all[i]->sigmoid(x, N);
            for (int e = 0; e < N; e++) bad += !same_sigmoid(x[e], want[e]);
        }
        for (int len = 1; len <= 40; len++)
            for (int off = 0; off < 16; off++) {
                for (int e = 0; e < len; e++) {
                    int which = (e + off + len) % (COUNT(edges) + 3);
                    x[off + e] = which < COUNT(edges) ? edges[which] : (float)(e - 20) * 0.37f;
                }
                memcpy(want + off, x + off, (size_t)len * sizeof(float));
                sigmoid_ref_f32(want + off, (size_t)len);
                all[i]->sigmoid(x + off, (size_t)len);
                for (int e = 0; e < len; e++) bad += !same_sigmoid(x[off + e], want[off + e]);
            }
        if (bad) test_fail(__FILE__, __LINE__, "%s sigmoid: %ld values differ", all[i]->name, bad);
    }
    free(x);
    free(want);
}

/* The fast products skip input columns that are zero in every example
 * (blank margins of images). Against the same product where one more
 * example, last and with delta 0, makes every column nonzero, so that
 * nothing is skipped: the same bits. Its terms add +0 to every sum. */
static void check_blank_columns(const matmul_kernels *k, int batch, int n_in, int n_out,
                                int lead, int trail, int offset)
{
    operands o;
    REQUIRE(operands_init(&o, batch + 1, n_in, n_out, offset));
    size_t oi = (size_t)n_out * n_in, bo = (size_t)batch * n_out;
    for (int x = 0; x < batch; x++)
        for (int i = 0; i < n_in; i++)
            if (i < lead || i >= n_in - trail) o.in[(size_t)x * n_in + i] = 0;
    memset(o.delta + bo, 0, (size_t)n_out * sizeof(float));
    float *copy = malloc((2 * oi + bo + 3 * (size_t)n_out) * sizeof(float));
    REQUIRE(copy);
    float *dw = copy, *w = dw + oi, *out = w + oi, *db = out + bo, *b = db + n_out,
          *b0 = b + n_out;
    memcpy(dw, o.dw, oi * sizeof(float));
    memcpy(db, o.db, (size_t)n_out * sizeof(float));
    memcpy(w, o.w, oi * sizeof(float));
    memcpy(b, o.b, (size_t)n_out * sizeof(float));
    memcpy(b0, o.b, (size_t)n_out * sizeof(float));

    /* skipping: the blank examples alone */
    k->forward(out, o.in, o.w, b0, batch, n_in, n_out, NULL);
    k->backward_params(dw, db, o.delta, o.in, batch, n_in, n_out, NULL);
    k->backward_params_step(w, b, o.delta, o.in, 0.01f, batch, n_in, n_out, NULL);
    /* not skipping: with the full example */
    k->forward(o.out, o.in, o.w, b0, batch + 1, n_in, n_out, NULL);
    k->backward_params(o.dw, o.db, o.delta, o.in, batch + 1, n_in, n_out, NULL);
    k->backward_params_step(o.w, o.b, o.delta, o.in, 0.01f, batch + 1, n_in, n_out, NULL);
    if (memcmp(out, o.out, bo * sizeof(float)) || memcmp(dw, o.dw, oi * sizeof(float)) ||
        memcmp(db, o.db, (size_t)n_out * sizeof(float)) ||
        memcmp(w, o.w, oi * sizeof(float)) || memcmp(b, o.b, (size_t)n_out * sizeof(float)))
        test_fail(__FILE__, __LINE__, "%s: skipping blank columns changed a result, batch %d, "
                  "%d -> %d, blank %d + %d, offset %d", k->name, batch, n_in, n_out, lead,
                  trail, offset);
    free(copy);
    operands_free(&o);
}

TEST(kernels_skipping_blank_columns_changes_no_result)
{
    static const int shapes[][3] = {{10, 784, 30}, {100, 784, 100}, {7, 31, 13}, {3, 100, 5}};
    static const int blanks[][2] = {{0, 0}, {80, 80}, {100, 90}, {5, 3}, {16, 0}, {0, 17}};
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    for (int i = 0; i < n; i++) {
        if (!all[i]->supported()) continue;
        for (int s = 0; s < COUNT(shapes); s++)
            for (int e = 0; e < COUNT(blanks); e++) {
                int lead = blanks[e][0], trail = blanks[e][1];
                if (lead + trail > shapes[s][1]) lead = trail = shapes[s][1] / 3;
                check_blank_columns(all[i], shapes[s][0], shapes[s][1], shapes[s][2], lead,
                                    trail, (s + e) % 2 ? 5 : 0);
            }
    }
    /* a whole batch of blank inputs: z = b, and no weight moves */
    check_blank_columns(matmul_kernels_chosen(), 4, 784, 10, 784, 0, 0);
}

/* ---- The sparse products of a first layer ---- */

/* Zeroes about 4 in 5 of x[0..n), as a digit's blank pixels, and whole
 * runs of them, so that some columns are zero in every example. */
static void make_sparse(float *x, size_t n, unsigned seed)
{
    unsigned s = seed * 2654435761u + 7;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        if ((s >> 16) % 5 != 0 || (i / 13) % 3 == 0) x[i] = 0;
    }
}

/* w (n_out, n_in) transposed into wt (n_in, stride), padding lanes 0. */
static float *transposed(const float *w, int n_in, int n_out, int stride)
{
    float *wt = calloc((size_t)n_in * stride, sizeof(float));
    if (!wt) return NULL;
    for (int j = 0; j < n_out; j++)
        for (int k = 0; k < n_in; k++) wt[(size_t)k * stride + j] = w[(size_t)j * n_in + k];
    return wt;
}

/* The sparse products of `k` against its dense ones and the reference's
 * sparse forward: the forward agrees to rounding (another order of
 * summing), the step bit for bit (the same operations). */
static void check_sparse(const matmul_kernels *k, int batch, int n_in, int n_out, int offset)
{
    operands o;
    REQUIRE(operands_init(&o, batch, n_in, n_out, offset));
    make_sparse(o.in, (size_t)batch * n_in, (unsigned)(batch + n_in + n_out));
    const int stride = matmul_sparse_align(n_out);
    size_t bo = (size_t)batch * n_out, oi = (size_t)n_out * n_in;
    float *wt = transposed(o.w, n_in, n_out, stride);
    float *want = malloc(bo * sizeof(float)), *b = malloc((size_t)n_out * sizeof(float));
    double *scale = malloc(bo * sizeof(double));
    REQUIRE(wt && want && b && scale);

    /* forward: the dense product, the reference's sparse one and k's */
    for (int x = 0; x < batch; x++)
        for (int j = 0; j < n_out; j++) {
            double s = fabs(o.b[j]);
            for (int i = 0; i < n_in; i++)
                s += fabs((double)o.in[(size_t)x * n_in + i] * o.w[(size_t)j * n_in + i]);
            scale[(size_t)x * n_out + j] = s;
        }
    matmul_forward_ref_f32(want, o.in, o.w, o.b, batch, n_in, n_out, NULL);
    k->forward_sparse(o.out, o.in, wt, o.b, batch, n_in, 0, n_in, n_out, stride, NULL);
    if (!close_enough(o.out, want, scale, bo))
        test_fail(__FILE__, __LINE__, "%s forward_sparse against forward, batch %d, %d -> %d",
                  k->name, batch, n_in, n_out);
    /* in the two parts of training, added up with the bias */
    const int split = matmul_sparse_split(n_in);
    float *part2 = malloc(bo * sizeof(float));
    REQUIRE(part2);
    k->forward_sparse(o.out, o.in, wt, NULL, batch, n_in, 0, split, n_out, stride, NULL);
    k->forward_sparse(part2, o.in, wt, NULL, batch, n_in, split, n_in, n_out, stride, NULL);
    for (size_t i = 0; i < bo; i++) o.out[i] = (o.out[i] + part2[i]) + o.b[i % n_out];
    if (!close_enough(o.out, want, scale, bo))
        test_fail(__FILE__, __LINE__, "%s forward_sparse in two parts against forward, "
                  "batch %d, %d -> %d", k->name, batch, n_in, n_out);
    free(part2);
    matmul_forward_sparse_ref_f32(want, o.in, wt, o.b, batch, n_in, 0, n_in, n_out, stride,
                                  NULL);
    k->forward_sparse(o.out, o.in, wt, o.b, batch, n_in, 0, n_in, n_out, stride, NULL);
    if (!close_enough(o.out, want, scale, bo))
        test_fail(__FILE__, __LINE__, "%s forward_sparse against the reference's, batch %d, "
                  "%d -> %d", k->name, batch, n_in, n_out);

    /* step: the dense step of the same set, transposed, bit for bit */
    const float step = 0.37f / (float)batch;
    memcpy(b, o.b, (size_t)n_out * sizeof(float));
    k->backward_params_step(o.w, o.b, o.delta, o.in, step, batch, n_in, n_out, NULL);
    /* in training's two parts of the weights, then the biases */
    k->backward_params_step_sparse(wt, NULL, o.delta, o.in, step, batch, n_in, 0,
                                   matmul_sparse_split(n_in), n_out, stride, NULL);
    k->backward_params_step_sparse(wt, NULL, o.delta, o.in, step, batch, n_in,
                                   matmul_sparse_split(n_in), n_in, n_out, stride, NULL);
    k->backward_params_step_sparse(wt, b, o.delta, o.in, step, batch, n_in, 0, 0, n_out,
                                   stride, NULL);
    float *back = transposed(wt, stride, n_in, n_in); /* (stride, n_in): w and padding */
    REQUIRE(back);
    int same = memcmp(back, o.w, oi * sizeof(float)) == 0 &&
               memcmp(b, o.b, (size_t)n_out * sizeof(float)) == 0;
    for (size_t i = oi; i < (size_t)stride * n_in; i++) same &= back[i] == 0;
    if (!same)
        test_fail(__FILE__, __LINE__, "%s backward_params_step_sparse differs from the dense "
                  "step, batch %d, %d -> %d, offset %d", k->name, batch, n_in, n_out, offset);
    free(back);
    free(wt);
    free(want);
    free(b);
    free(scale);
    operands_free(&o);
}

TEST(kernels_sparse_products_match_the_dense_ones)
{
    static const int sparse_n_ins[] = {1, 7, 16, 31, 784, 1000};
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    for (int i = 0; i < n; i++) {
        if (!all[i]->supported()) continue;
        for (int bi = 0; bi < COUNT(batches); bi++)
            for (int ii = 0; ii < COUNT(sparse_n_ins); ii++)
                for (int oi = 0; oi < COUNT(n_outs); oi++)
                    check_sparse(all[i], batches[bi], sparse_n_ins[ii], n_outs[oi],
                                 (bi + ii + oi) % 3 == 0 ? 0 : 1 + (bi + oi) % 15);
    }
}

TEST(kernels_sparse_products_are_bit_identical_for_1_and_2_threads)
{
    parallel *par = parallel_create(2, NULL);
    REQUIRE(par);
    static const int shapes[][3] = {{10, 784, 30}, {100, 784, 100}, {17, 784, 31},
                                    {300, 1000, 7}, {300, 4096, 10}, {100, 33, 130}};
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    for (int i = 0; i < n; i++) {
        if (!all[i]->supported()) continue;
        for (int s = 0; s < COUNT(shapes); s++) {
            int batch = shapes[s][0], n_in = shapes[s][1], n_out = shapes[s][2];
            int stride = matmul_sparse_align(n_out);
            operands o;
            REQUIRE(operands_init(&o, batch, n_in, n_out, 0));
            make_sparse(o.in, (size_t)batch * n_in, (unsigned)s);
            float *wt1 = transposed(o.w, n_in, n_out, stride);
            float *wt2 = transposed(o.w, n_in, n_out, stride);
            float *b2 = malloc((size_t)n_out * sizeof(float));
            float *out2 = malloc((size_t)batch * n_out * sizeof(float));
            REQUIRE(wt1 && wt2 && b2 && out2);
            memcpy(b2, o.b, (size_t)n_out * sizeof(float));
            int same = 1;
            for (int rep = 0; rep < 3; rep++) { /* the step changes what the next reads */
                all[i]->forward_sparse(o.out, o.in, wt1, o.b, batch, n_in, 0, n_in, n_out,
                                       stride, NULL);
                all[i]->forward_sparse(out2, o.in, wt2, b2, batch, n_in, 0, n_in, n_out, stride,
                                       par);
                same &= memcmp(o.out, out2, (size_t)batch * n_out * sizeof(float)) == 0;
                all[i]->backward_params_step_sparse(wt1, o.b, o.delta, o.in, 0.01f, batch,
                                                    n_in, 0, n_in, n_out, stride, NULL);
                all[i]->backward_params_step_sparse(wt2, b2, o.delta, o.in, 0.01f, batch,
                                                    n_in, 0, n_in, n_out, stride, par);
            }
            same &= memcmp(wt1, wt2, (size_t)n_in * stride * sizeof(float)) == 0 &&
                    memcmp(o.b, b2, (size_t)n_out * sizeof(float)) == 0;
            if (!same)
                test_fail(__FILE__, __LINE__, "%s: sparse products differ with 2 threads, "
                          "batch %d, %d -> %d", all[i]->name, batch, n_in, n_out);
            free(wt1);
            free(wt2);
            free(b2);
            free(out2);
            operands_free(&o);
        }
    }
    parallel_free(par);
}

/* out (batch, width) of the product `which` (0 forward, 1 forward_sparse,
 * 2 backward_input) for rows [x0, x1) of o, written at their place in out. */
static void rows_of(const matmul_kernels *k, int which, const operands *o, const float *wt,
                    int stride, float *out, int x0, int x1)
{
    int n = x1 - x0;
    if (which == 0)
        k->forward(out + (size_t)x0 * o->n_out, o->in + (size_t)x0 * o->n_in, o->w, o->b, n,
                   o->n_in, o->n_out, NULL);
    else if (which == 1)
        k->forward_sparse(out + (size_t)x0 * o->n_out, o->in + (size_t)x0 * o->n_in, wt, o->b,
                          n, o->n_in, 0, o->n_in, o->n_out, stride, NULL);
    else
        k->backward_input(out + (size_t)x0 * o->n_in, o->delta + (size_t)x0 * o->n_out, o->w,
                          n, o->n_in, o->n_out, NULL);
}

TEST(kernels_give_an_example_the_same_sums_in_any_split_of_a_batch)
{
    /* The trainer hands each thread whole examples (backprop.c): every
     * example must come out the same whichever examples share its call. */
    static const int shapes[][3] = {{100, 784, 100}, {10, 784, 30}, {17, 100, 10},
                                    {33, 31, 130}};
    static const char *const names[] = {"forward", "forward_sparse", "backward_input"};
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    for (int i = 0; i < n; i++) {
        if (!all[i]->supported()) continue;
        for (int s = 0; s < COUNT(shapes); s++) {
            int batch = shapes[s][0], n_in = shapes[s][1], n_out = shapes[s][2];
            int stride = matmul_sparse_align(n_out);
            operands o;
            REQUIRE(operands_init(&o, batch, n_in, n_out, 0));
            make_sparse(o.in, (size_t)batch * n_in, (unsigned)s + 3);
            float *wt = transposed(o.w, n_in, n_out, stride);
            size_t size = (size_t)batch * (n_in > n_out ? n_in : n_out) * sizeof(float);
            float *whole = malloc(size), *split = malloc(size);
            REQUIRE(wt && whole && split);
            for (int which = 0; which < 3; which++) {
                size_t used = (size_t)batch * (which == 2 ? n_in : n_out) * sizeof(float);
                rows_of(all[i], which, &o, wt, stride, whole, 0, batch);
                for (int cut = 1; cut < batch; cut += batch / 3 + 1) {
                    memset(split, 0xff, size);
                    rows_of(all[i], which, &o, wt, stride, split, 0, cut);
                    rows_of(all[i], which, &o, wt, stride, split, cut, batch);
                    if (memcmp(whole, split, used) != 0)
                        test_fail(__FILE__, __LINE__,
                                  "%s %s: rows differ when batch %d is cut at %d, %d -> %d",
                                  all[i]->name, names[which], batch, cut, n_in, n_out);
                }
            }
            free(wt);
            free(whole);
            free(split);
            operands_free(&o);
        }
    }
}

/* The backward products of a vector set sum each output in the order
 * matmul_simd.h documents, each term fused (fmaf): BP2's d_in_xk over j in
 * order from +0, BP4's dw_jk onto dw over x in order, and the step's
 * gradient over x from +0, then w - step g rounded twice. Bit for bit,
 * on dense errors and on mostly zero ones (max-pool, ReLU and dropout's),
 * which the kernels take through their products on the nonzero errors. */
TEST(kernels_backward_products_sum_in_the_documented_order)
{
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    /* the second convolution; a layer of 1,000; blocks of 64 examples with a
     * shorter last one and columns ending in part of a vector; more than
     * 64 neurons; masks too large for the stack; and products too small
     * to look for zeros at all */
    static const int shapes[][3] = {{640, 500, 40}, {10, 1000, 1000}, {650, 37, 40},
                                    {100, 70, 130}, {130, 45, 50},    {300, 20, 500},
                                    {7, 33, 5},     {130, 20, 3}};
    static const double kept[] = {1, 0.25, 0.5, 0};
    parallel *par = parallel_create(2, NULL);
    REQUIRE(par);
    for (int i = 0; i < n; i++) {
        const matmul_kernels *k = all[i];
        if (strcmp(k->name, "reference") == 0 || !k->supported()) continue;
        for (int s = 0; s < COUNT(shapes); s++)
            for (int c = 0; c < COUNT(kept); c++) {
                const int batch = shapes[s][0], n_in = shapes[s][1], n_out = shapes[s][2];
                operands o;
                REQUIRE(operands_init(&o, batch, n_in, n_out, (s + c) % 3));
                keep_errors(o.delta, (size_t)batch * n_out, kept[c], (uint32_t)(s * 7 + c));
                parallel *p = (s + c) % 2 ? par : NULL;
                size_t oi = (size_t)n_out * n_in;
                float *dw = malloc(oi * sizeof(float)), *w = malloc(oi * sizeof(float));
                float *b = malloc((size_t)n_out * sizeof(float));
                REQUIRE(dw && w && b);
                memcpy(dw, o.dw, oi * sizeof(float));
                memcpy(w, o.w, oi * sizeof(float));
                memcpy(b, o.b, (size_t)n_out * sizeof(float));
                const float step = 0.01f;
                k->backward_input(o.d_in, o.delta, o.w, batch, n_in, n_out, p);
                k->backward_params(o.dw, o.db, o.delta, o.in, batch, n_in, n_out, p);
                k->backward_params_step(w, b, o.delta, o.in, step, batch, n_in, n_out, p);
                int same_in = 1, same_dw = 1, same_w = 1;
                for (int x = 0; x < batch; x++)
                    for (int kk = 0; kk < n_in; kk++) {
                        float want = 0;
                        for (int j = 0; j < n_out; j++)
                            want = fmaf(o.delta[(size_t)x * n_out + j],
                                        o.w[(size_t)j * n_in + kk], want);
                        same_in &= memcmp(&want, &o.d_in[(size_t)x * n_in + kk], 4) == 0;
                    }
                for (int j = 0; j < n_out; j++)
                    for (int kk = 0; kk < n_in; kk++) {
                        float acc = dw[(size_t)j * n_in + kk], g = 0;
                        for (int x = 0; x < batch; x++) {
                            float d = o.delta[(size_t)x * n_out + j], a = o.in[(size_t)x * n_in + kk];
                            acc = fmaf(d, a, acc);
                            g = fmaf(d, a, g);
                        }
                        float change = step * g, want = o.w[(size_t)j * n_in + kk];
                        want -= change;
                        same_dw &= memcmp(&acc, &o.dw[(size_t)j * n_in + kk], 4) == 0;
                        same_w &= memcmp(&want, &w[(size_t)j * n_in + kk], 4) == 0;
                    }
                if (!same_in || !same_dw || !same_w)
                    test_fail(__FILE__, __LINE__,
                              "%s, batch %d, %d -> %d, %.0f%% of the errors nonzero:%s%s%s",
                              k->name, batch, n_in, n_out, 100 * kept[c],
                              same_in ? "" : " backward_input", same_dw ? "" : " backward_params",
                              same_w ? "" : " backward_params_step");
                free(dw);
                free(w);
                free(b);
                operands_free(&o);
            }
    }
    parallel_free(par);
}

/* The forward product of a vector set, written out one lane at a time: lane
 * l of width w sums in_xk w_jk for k = l (mod w) in order of k, each term
 * fused (fmaf), from +0; then the lanes are added in halves (l with l +
 * w/2, then w/4, ... as vsum does) and b_j comes last. */
static float forward_in_lanes(const float *in, const float *w, float b, int n_in, int width)
{
    float lane[16] = {0};
    for (int k = 0; k < n_in; k++) lane[k % width] = fmaf(w[k], in[k], lane[k % width]);
    for (int h = width / 2; h >= 1; h /= 2)
        for (int l = 0; l < h; l++) lane[l] = lane[l] + lane[l + h];
    return lane[0] + b;
}

/* matmul_simd.h's forward product sums each output in exactly that order,
 * bit for bit, whatever its tile (5 x 5 down to 1 x 1) and however it adds
 * the lanes of many outputs at once. */
TEST(kernels_forward_sums_in_the_documented_order)
{
    int n;
    const matmul_kernels *const *all = matmul_kernels_all(&n);
    static const int shapes[][3] = {{1, 1, 1},   {5, 30, 10}, {7, 100, 10}, {10, 17, 3},
                                    {13, 64, 6}, {4, 33, 25}, {100, 100, 10}};
    for (int i = 0; i < n; i++) {
        const matmul_kernels *k = all[i];
        int width = strcmp(k->name, "avx512") == 0 ? 16 : strcmp(k->name, "avx2") == 0 ? 8 : 0;
        if (!width || !k->supported()) continue;
        for (int s = 0; s < COUNT(shapes); s++) {
            int batch = shapes[s][0], n_in = shapes[s][1], n_out = shapes[s][2];
            operands o;
            REQUIRE(operands_init(&o, batch, n_in, n_out, s % 2));
            k->forward(o.out, o.in, o.w, o.b, batch, n_in, n_out, NULL);
            int same = 1;
            for (int x = 0; x < batch; x++)
                for (int j = 0; j < n_out; j++) {
                    float want = forward_in_lanes(o.in + (size_t)x * n_in,
                                                  o.w + (size_t)j * n_in, o.b[j], n_in, width);
                    float got = o.out[(size_t)x * n_out + j];
                    if (memcmp(&got, &want, sizeof got) != 0) {
                        if (same)
                            fprintf(stderr, "    %s, %d x %d -> %d: out[%d][%d] %.9g, "
                                    "in lanes %.9g\n", k->name, batch, n_in, n_out, x, j,
                                    (double)got, (double)want);
                        same = 0;
                    }
                }
            CHECK(same);
            operands_free(&o);
        }
    }
}
