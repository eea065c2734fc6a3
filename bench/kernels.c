/* nndl's matrix products against OpenBLAS and libxsmm, shape by shape.
 *
 *     build/bench/kernels   (on Zen 4 and 5: OPENBLAS_CORETYPE=SkylakeX build/bench/kernels)
 *
 * The products of one training step, on one thread, for every layer shape
 * of the benchmark's recipes (layer n_in -> n_out, mini-batch B):
 *   forward    out = in w^T          (eq. 25 without bias and activation)
 *   step       w -= s delta^T in     (BP4 and eq. 20; nndl also steps b)
 *   BP2        d_in = delta w        (layers above the first)
 * through nndl's kernels (the set this CPU runs, no thread pool), OpenBLAS's
 * cblas_sgemm and libxsmm (a JIT kernel from libxsmm_smmdispatch where it
 * makes one for the shape, else libxsmm_sgemm). For the first layer, whose
 * inputs are MNIST images, nndl's rows are its sparse products on real
 * images of the training set, which skip the zero pixels, as training runs
 * them; the libraries compute the dense product. The last rows feed the
 * backward products errors with as many zeros as training gives them,
 * which nndl's kernels skip. Each time is the median
 * of 7 runs of enough calls to take some 5 ms. Before timing, each
 * library's forward product is checked against nndl's.
 *
 * Prints one Markdown table (and a line on the libraries) for bench/run.py. */
#include <cblas.h>
#include <libxsmm.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matmul.h"
#include "kernels/matmul_kernels.h"
#include "net/layer.h"
#include "net/network.h"
#include "nndl.h"
#include "timing.h"

/* OpenBLAS's own, not in cblas.h */
extern char *openblas_get_config(void);
extern void openblas_set_num_threads(int);

enum { RUNS = 7 };
static const double RUN_SECONDS = 0.005;

enum { CONV_BATCH = 10 }; /* the mini-batch of the convolutions' rows */

typedef struct shape {
    int n_in, n_out, batch;
    const char *what; /* NULL: a dense layer */
    double nonzero;   /* the share of nonzero errors; 0: all (random) */
} shape;

/* The layers of [784,30,10] b10, [784,100,10] b10 and b100,
 * [784,100,100,100,10] b10; then chapter 6's at mini-batch 10. A
 * convolution is its im2col product: a row per output position of each
 * example (24 x 24 and 8 x 8), a patch of k k C inputs per row, a column
 * per map (src/net/conv.c). */
static const shape SHAPES[] = {
    {784, 30, 10, NULL, 0},   {784, 100, 10, NULL, 0}, {784, 100, 100, NULL, 0},
    {30, 10, 10, NULL, 0},    {100, 10, 10, NULL, 0},  {100, 10, 100, NULL, 0},
    {100, 100, 10, NULL, 0},
    {25, 20, 5760, "conv 1, 5 x 5 x 1 -> 20 maps: 5,760 rows of 25 (nndl trains it directly)",
     0},
    {500, 40, 640, "conv 2, 5 x 5 x 20 -> 40 maps: 640 rows of 500", 0},
    {640, 100, 10, NULL, 0},  {640, 1000, 10, NULL, 0}, {1000, 1000, 10, NULL, 0},
    {1000, 10, 10, NULL, 0},
    /* The backward products on errors as training makes them, mostly
     * zero behind max-pool, ReLU and dropout (the shares counted over the
     * first two epochs of 10,000 images, docs/PERFORMANCE.md): nndl sums
     * only the nonzero ones, the libraries all. */
    {500, 40, 640, "conv 2 of the two-conv network (sigmoid): 25% of the errors nonzero", 0.25},
    {500, 40, 640, "conv 2 of the final network (ReLU, dropout): 2% of the errors nonzero", 0.02},
    {640, 1000, 10, "640 -> 1000 of the final network: 21% of the errors nonzero", 0.21},
    {1000, 1000, 10, "1000 -> 1000 of the final network: 9% of the errors nonzero", 0.09},
};

/* Everything one shape's products read and write. */
/* One product as libxsmm takes it: C (m, n) = alpha op(A) op(B) + beta C. */
typedef struct xsmm_gemm {
    char ta, tb; /* 't' for a transposed operand */
    libxsmm_blasint m, n, k, lda, ldb, ldc;
    float alpha, beta;
} xsmm_gemm;

typedef struct operands {
    shape s;
    float *in, *w, *b, *out, *delta, *d_in;
    float *wt; /* w transposed for nndl's sparse products (n_in, stride) */
    int stride, split;
    xsmm_gemm gemm[3];           /* forward, step, BP2 */
    libxsmm_smmfunction xsmm[3]; /* their JIT kernels; NULL: libxsmm_sgemm */
} operands;

enum { FORWARD, STEP, BP2, N_OPS };
static const char *const OP_NAMES[N_OPS] = {"forward", "step", "BP2"};
enum { NNDL, OPENBLAS, LIBXSMM, N_IMPLS };

static const float STEP_SIZE = 1e-6f; /* small: the weights barely move */

static float *floats(size_t n)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "kernels: out of memory\n");
        exit(1);
    }
    return p;
}

static float uniform(void) { return (float)rand() / (float)RAND_MAX - 0.5f; }

/* libxsmm is column-major: a row-major (r, c) matrix is its (c, r). So
 *   forward  out^T (n_out, B) = w^T' (n_in, n_out)^T in^T (n_in, B)
 *   step     w^T (n_in, n_out) -= s in^T (n_in, B) delta (B, n_out)
 *   BP2      d_in^T (n_in, B) = w^T (n_in, n_out) delta^T (n_out, B) */
static xsmm_gemm xsmm_gemm_of(const shape *s, int op)
{
    switch (op) {
    case FORWARD: return (xsmm_gemm){'t', 'n', s->n_out, s->batch, s->n_in,
                                     s->n_in, s->n_in, s->n_out, 1, 0};
    case STEP: return (xsmm_gemm){'n', 't', s->n_in, s->n_out, s->batch,
                                  s->n_in, s->n_out, s->n_in, -STEP_SIZE, 1};
    default: return (xsmm_gemm){'n', 'n', s->n_in, s->batch, s->n_out,
                                s->n_in, s->n_out, s->n_in, 1, 0};
    }
}

static void xsmm_call(operands *o, int op)
{
    const xsmm_gemm *g = &o->gemm[op];
    const float *a = op == STEP ? o->in : o->w;
    const float *b = op == FORWARD ? o->in : o->delta;
    float *c = op == FORWARD ? o->out : op == STEP ? o->w : o->d_in;
    if (o->xsmm[op])
        o->xsmm[op](a, b, c);
    else
        libxsmm_sgemm(&g->ta, &g->tb, &g->m, &g->n, &g->k, &g->alpha, a, &g->lda, b, &g->ldb,
                      &g->beta, c, &g->ldc);
}

static void blas_call(operands *o, int op)
{
    const shape *s = &o->s;
    switch (op) {
    case FORWARD:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->batch, s->n_out, s->n_in, 1,
                    o->in, s->n_in, o->w, s->n_in, 0, o->out, s->n_out);
        break;
    case STEP:
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s->n_out, s->n_in, s->batch,
                    -STEP_SIZE, o->delta, s->n_out, o->in, s->n_in, 1, o->w, s->n_in);
        break;
    default:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->batch, s->n_in, s->n_out, 1,
                    o->delta, s->n_out, o->w, s->n_in, 0, o->d_in, s->n_in);
    }
}

/* nndl as training runs it: a first layer (784 inputs) by its sparse
 * products in two parts of the pixels, the others by the dense ones. */
static void nndl_call(operands *o, int op)
{
    const shape *s = &o->s;
    const matmul_kernels *kern = matmul_kernels_chosen();
    int first = s->n_in == 784;
    switch (op) {
    case FORWARD:
        if (first) {
            kern->forward_sparse(o->out, o->in, o->wt, NULL, s->batch, s->n_in, 0, o->split,
                                 s->n_out, o->stride, NULL);
            kern->forward_sparse(o->d_in, o->in, o->wt, NULL, s->batch, s->n_in, o->split,
                                 s->n_in, s->n_out, o->stride, NULL);
        } else {
            kern->forward(o->out, o->in, o->w, o->b, s->batch, s->n_in, s->n_out, NULL);
        }
        break;
    case STEP:
        if (first)
            kern->backward_params_step_sparse(o->wt, o->b, o->delta, o->in, STEP_SIZE, s->batch,
                                              s->n_in, 0, s->n_in, s->n_out, o->stride, NULL);
        else
            kern->backward_params_step(o->w, o->b, o->delta, o->in, STEP_SIZE, s->batch,
                                       s->n_in, s->n_out, NULL);
        break;
    default: kern->backward_input(o->d_in, o->delta, o->w, s->batch, s->n_in, s->n_out, NULL);
    }
}

static void call(operands *o, int impl, int op)
{
    if (impl == NNDL) nndl_call(o, op);
    else if (impl == OPENBLAS) blas_call(o, op);
    else xsmm_call(o, op);
}

/* Median seconds per call of fn(ctx). */
static double time_calls(void (*fn)(void *), void *ctx)
{
    int calls = 1;
    for (;;) { /* calls enough for RUN_SECONDS */
        double t0 = now();
        for (int i = 0; i < calls; i++) fn(ctx);
        double t = now() - t0;
        if (t >= RUN_SECONDS || calls >= 1 << 24) break;
        calls = t > 0 ? (int)(calls * RUN_SECONDS / t * 1.2) + 1 : calls * 8;
    }
    double runs[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = now();
        for (int i = 0; i < calls; i++) fn(ctx);
        runs[r] = (now() - t0) / calls;
    }
    return median(runs, RUNS);
}

typedef struct op_call {
    operands *o;
    int impl, op;
} op_call;

static void call_op(void *ctx)
{
    op_call *c = ctx;
    call(c->o, c->impl, c->op);
}

static double time_op(operands *o, int impl, int op)
{
    op_call c = {o, impl, op};
    return time_calls(call_op, &c);
}

/* MNIST images, as training gathers them: pixels / 255. */
static void images_as_inputs(float *in, const nndl_dataset *train, int batch, size_t first)
{
    for (int x = 0; x < batch; x++) {
        const uint8_t *img = nndl_dataset_image(train, first + (size_t)x);
        for (int k = 0; k < 784; k++) in[(size_t)x * 784 + k] = img[k] * (1.0f / 255.0f);
    }
}

static void operands_init(operands *o, shape s, const nndl_dataset *train)
{
    memset(o, 0, sizeof *o);
    o->s = s;
    size_t big = (size_t)s.batch * (s.n_in > s.n_out ? s.n_in : s.n_out);
    o->in = floats((size_t)s.batch * s.n_in);
    o->w = floats((size_t)s.n_out * s.n_in);
    o->b = floats((size_t)s.n_out);
    o->out = floats(big);
    o->delta = floats((size_t)s.batch * s.n_out);
    o->d_in = floats(big);
    for (size_t i = 0; i < (size_t)s.n_out * s.n_in; i++) o->w[i] = uniform();
    for (int j = 0; j < s.n_out; j++) o->b[j] = 0;
    for (size_t i = 0; i < (size_t)s.batch * s.n_out; i++)
        o->delta[i] = s.nonzero && (double)rand() / RAND_MAX >= s.nonzero ? 0 : uniform();
    if (s.n_in == 784) {
        images_as_inputs(o->in, train, s.batch, 0);
        o->stride = matmul_sparse_align(s.n_out);
        o->split = matmul_sparse_split(s.n_in);
        o->wt = floats((size_t)s.n_in * o->stride);
        memset(o->wt, 0, (size_t)s.n_in * o->stride * sizeof *o->wt);
        for (int j = 0; j < s.n_out; j++)
            for (int k = 0; k < s.n_in; k++)
                o->wt[(size_t)k * o->stride + j] = o->w[(size_t)j * s.n_in + k];
    } else {
        for (size_t i = 0; i < (size_t)s.batch * s.n_in; i++) o->in[i] = uniform();
    }
    for (int op = 0; op < N_OPS; op++) {
        const xsmm_gemm *g = &o->gemm[op];
        o->gemm[op] = xsmm_gemm_of(&s, op);
        int flags = (g->ta == 't' ? LIBXSMM_GEMM_FLAG_TRANS_A : 0) |
                    (g->tb == 't' ? LIBXSMM_GEMM_FLAG_TRANS_B : 0);
        o->xsmm[op] = libxsmm_smmdispatch(g->m, g->n, g->k, &g->lda, &g->ldb, &g->ldc,
                                          &g->alpha, &g->beta, &flags, NULL);
    }
}

static void operands_free(operands *o)
{
    free(o->in), free(o->w), free(o->b), free(o->out), free(o->delta), free(o->d_in);
    free(o->wt);
}

/* Largest difference between a library's forward product and nndl's (the
 * first layer's two parts added): rounding only, or the call is wrong. */
static double forward_difference(operands *o, int impl)
{
    const shape *s = &o->s;
    size_t n = (size_t)s->batch * s->n_out;
    float *want = floats(n);
    nndl_call(o, FORWARD);
    for (size_t i = 0; i < n; i++) want[i] = o->out[i] + (s->n_in == 784 ? o->d_in[i] : 0);
    call(o, impl, FORWARD);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)o->out[i] - want[i]));
    free(want);
    return worst;
}

/* The first convolution as nndl trains it (src/net/conv.c, one input
 * channel: the filters slid over each image, no im2col): the layer's
 * forward pass with its 2 x 2 pooling and ReLU, and its BP3, BP4 and step
 * from errors at the pool's outputs, over a mini-batch of MNIST images. */
typedef struct direct_conv {
    const layer *l;
    float *params, *in, *out, *delta, *ws;
    int32_t *memo;
} direct_conv;

static void direct_forward_call(void *ctx)
{
    direct_conv *d = ctx;
    layer_table_f32[NNDL_LAYER_CONV]->forward(d->l, d->params, d->in, d->out, d->ws, d->memo,
                                              CONV_BATCH, NULL);
}

static void direct_step_call(void *ctx)
{
    direct_conv *d = ctx;
    layer_table_f32[NNDL_LAYER_CONV]->backward_params_step(d->l, d->params, d->delta, d->in,
                                                           STEP_SIZE, d->ws, d->memo,
                                                           CONV_BATCH, NULL);
}

static int time_direct_conv1(const nndl_dataset *train, double *forward, double *step)
{
    nndl_layer_spec layers[2] = {nndl_layer_conv(20, 5, 2, NNDL_ACT_RELU),
                                 nndl_layer_fc(10, NNDL_ACT_SIGMOID)};
    nndl_net_spec spec = nndl_net_spec_default(0, NULL);
    spec.n_layers = 2, spec.layers = layers, spec.input = (nndl_shape){1, 28, 28};
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    if (!net) {
        fprintf(stderr, "kernels: %s\n", err.message);
        return 1;
    }
    const layer *l = &net->layers[0];
    direct_conv d = {l, net->params, floats((size_t)CONV_BATCH * 784),
                     floats((size_t)CONV_BATCH * l->n_out), floats((size_t)CONV_BATCH * l->n_out),
                     floats(l->workspace * CONV_BATCH),
                     malloc(sizeof(int32_t) * (l->memo * CONV_BATCH + 1))};
    if (!d.memo) {
        fprintf(stderr, "kernels: out of memory\n");
        exit(1);
    }
    images_as_inputs(d.in, train, CONV_BATCH, 0);
    for (size_t i = 0; i < (size_t)CONV_BATCH * l->n_out; i++) d.delta[i] = uniform();
    direct_forward_call(&d); /* the pool's winners, for the step */
    *forward = time_calls(direct_forward_call, &d);
    *step = time_calls(direct_step_call, &d);
    free(d.in), free(d.out), free(d.delta), free(d.ws), free(d.memo);
    nndl_net_free(net);
    return 0;
}

int main(void)
{
    nndl_error err;
    char dir[4096];
    nndl_dataset *train = NULL;
    if (nndl_mnist_find(dir, sizeof dir, &err) ||
        nndl_mnist_load(dir, &train, NULL, NULL, &err)) {
        fprintf(stderr, "kernels: %s\n", err.message);
        return 1;
    }
    openblas_set_num_threads(1);
    libxsmm_init();
    printf("nndl kernels: %s. OpenBLAS: %s. libxsmm %s, code for %s.\n\n",
           matmul_kernels_chosen()->name, openblas_get_config(), LIBXSMM_VERSION,
           libxsmm_get_target_arch());
    printf("| Layer | Batch | Product | nndl, us | OpenBLAS, us | libxsmm, us | "
           "OpenBLAS / nndl | libxsmm / nndl |\n|---|---:|---|---:|---:|---:|---:|---:|\n");
    int status = 0;
    for (size_t i = 0; i < sizeof SHAPES / sizeof *SHAPES; i++) {
        operands o;
        operands_init(&o, SHAPES[i], train);
        const shape *s = &o.s;
        for (int impl = OPENBLAS; impl < N_IMPLS; impl++) {
            double diff = forward_difference(&o, impl);
            if (!(diff < 1e-3)) {
                fprintf(stderr, "kernels: %d -> %d, batch %d: %s's forward product is %g "
                        "away from nndl's\n", s->n_in, s->n_out, s->batch,
                        impl == OPENBLAS ? "OpenBLAS" : "libxsmm", diff);
                status = 1;
            }
        }
        for (int op = 0; op < N_OPS; op++) {
            /* the input layer has no error; the forward product none at all */
            if (op == BP2 && (s->n_in == 784 || s->n_in == 25)) continue;
            if (op == FORWARD && s->nonzero) continue;
            double t[N_IMPLS];
            for (int impl = 0; impl < N_IMPLS; impl++) t[impl] = time_op(&o, impl, op);
            char name[160];
            if (s->what)
                snprintf(name, sizeof name, "%s", s->what);
            else
                snprintf(name, sizeof name, "%d -> %d%s", s->n_in, s->n_out,
                         s->n_in == 784 ? " (MNIST images)" : "");
            printf("| %s | %d | %s%s | %.2f | %.2f | %.2f%s | %.1fx | %.1fx |\n", name,
                   s->what && s->batch > CONV_BATCH ? CONV_BATCH : s->batch, OP_NAMES[op],
                   s->n_in == 784 && op != BP2 ? " (nndl: sparse)"
                   : s->nonzero                ? " (nndl: nonzero errors)"
                                               : "",
                   t[NNDL] * 1e6, t[OPENBLAS] * 1e6, t[LIBXSMM] * 1e6,
                   o.xsmm[op] ? "" : " (no JIT kernel)", t[OPENBLAS] / t[NNDL],
                   t[LIBXSMM] / t[NNDL]);
        }
        operands_free(&o);
    }
    double forward, step;
    if (time_direct_conv1(train, &forward, &step) == 0)
        printf("\nThe first convolution as nndl trains it (directly, mini-batch %d): forward "
               "with its pooling and ReLU %.2f us, BP3, BP4 and the step from the errors at "
               "the pool's outputs %.2f us.\n", CONV_BATCH, forward * 1e6, step * 1e6);
    else
        status = 1;
    libxsmm_finalize();
    nndl_dataset_free(train);
    return status;
}
