/* The gradient check of chapter 2: the gradient the trainer uses against
 * centered finite differences of the cost, in the double-precision build of
 * the numeric core (the same source that trains in float; net/real.h). */
#define NNDL_REAL_DOUBLE
#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/rng.h"
#include "kernels/matmul.h"
#include "net/backprop.h"
#include "net/cost.h"
#include "net/network.h"
#include "train/regularization.h"

/* Eq. 46 made centered and extrapolated: the five-point stencil
 *   dC/dw ~ (C(w-2h) - 8 C(w-h) + 8 C(w+h) - C(w+2h)) / 12h
 * has a truncation error of order h^4 instead of the h^2 of
 * (C(w+h) - C(w-h)) / 2h. Rounding noise in C (sums of hundreds of terms)
 * grows as 1/h, so a large step wins: with h = 1e-3 a [784,30,10] network
 * checks to about 3e-8, where the two-point difference stalls near 2e-7. */
static const double STEP = 1e-3;
/* Components smaller than this are compared against it instead of their
 * own size: a relative error of 1e-6 then means an absolute one of 1e-10. */
static const double FLOOR = 1e-4;
/* ReLU has a kink at z = 0 where no derivative exists; the stencil moves z
 * by far less than this, so inputs keeping every |z| above it are smooth. */
static const double RELU_MARGIN = 0.01;
enum { MAX_DRAWS = 1000 };

typedef struct problem {
    const nndl_net *net;
    const nndl_gradcheck_options *opt;
    batch_buffers b;
    uint8_t *labels;
    double *z; /* scratch for pre-activations */
} problem;

/* The cost the trainer minimizes: mean over the batch plus the
 * regularization terms, with the fixed dropout masks applied. */
static double cost_of(problem *p, const double *params)
{
    const nndl_net *net = p->net;
    int batch = p->opt->batch;
    feedforward_training_f64(net, params, &p->b, batch, NULL);
    double c = cost_total_f64(net->cost, p->b.a[net->n_layers], p->labels, batch,
                              net->sizes[net->n_sizes - 1]) / batch;
    return c + regularization_cost_f64(net, params, p->opt->lambda, p->opt->lambda_l1,
                                       p->opt->n_train);
}

/* The smallest |z| over every ReLU neuron of the batch's fully connected
 * layers. (The kinks of other layers, too many to draw clear of, are
 * caught parameter by parameter: see kink_signature.) */
static double relu_margin(problem *p, const double *params)
{
    const nndl_net *net = p->net;
    double smallest = INFINITY;
    feedforward_training_f64(net, params, &p->b, p->opt->batch, NULL);
    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        if (ly->act != NNDL_ACT_RELU || ly->kind != LAYER_DENSE) continue;
        matmul_forward_f64(p->z, layer_input_f64(&p->b, l), params + ly->weights,
                           params + ly->biases, p->opt->batch, ly->n_in, ly->n_out, NULL);
        for (size_t i = 0; i < (size_t)p->opt->batch * ly->n_out; i++)
            smallest = fmin(smallest, fabs(p->z[i]));
    }
    return smallest;
}

/* Random inputs in [0,1), labels and dropout masks, away from ReLU kinks. */
static nndl_status draw_data(problem *p, const double *params, uint64_t seed, nndl_error *err)
{
    const nndl_net *net = p->net;
    int batch = p->opt->batch, n_in = net->sizes[0], n_out = net->sizes[net->n_sizes - 1];
    int classes = n_out == 1 ? 2 : n_out;
    rng r;
    rng_seed(&r, seed, RNG_STREAM_TEST_DATA);
    for (int draw = 0; draw < MAX_DRAWS; draw++) {
        for (size_t i = 0; i < (size_t)batch * n_in; i++) p->b.a[0][i] = rng_uniform(&r);
        for (int x = 0; x < batch; x++) p->labels[x] = (uint8_t)rng_below(&r, (uint64_t)classes);
        dropout_draw_masks_f64(&p->b, net, batch, &r);
        if (relu_margin(p, params) >= RELU_MARGIN) return NNDL_OK;
    }
    return error_set(err, NNDL_ERR_ARG,
                     "gradcheck: no random batch kept every ReLU input 0.01 away from 0 "
                     "(try a smaller --batch)");
}

/* A hash of the choices the last forward pass made where the cost has a
 * kink: which ReLU neurons were active and which input won each max-pool.
 * When a finite difference's steps change it, the cost is not smooth
 * across them and that difference means nothing. */
static uint64_t kink_signature(const problem *p)
{
    const nndl_net *net = p->net;
    const int batch = p->opt->batch;
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        if (ly->act == NNDL_ACT_RELU)
            for (size_t i = 0; i < (size_t)batch * ly->n_out; i++)
                h = (h ^ (uint64_t)(p->b.a[l + 1][i] > 0)) * 1099511628211u;
        if (p->b.memo[l])
            for (size_t i = 0; i < (size_t)batch * ly->memo; i++)
                h = (h ^ (uint64_t)(uint32_t)p->b.memo[l][i]) * 1099511628211u;
    }
    return h;
}

static nndl_status check_options(const nndl_gradcheck_options *o, int n_out, nndl_error *err)
{
    if (o->batch < 1 || o->batch > 100000)
        return error_set(err, NNDL_ERR_ARG, "batch: %d; need 1 to 100000", o->batch);
    if (n_out > 256)
        return error_set(err, NNDL_ERR_ARG, "sizes: gradcheck takes at most 256 outputs");
    if (!(o->lambda >= 0) || !(o->lambda_l1 >= 0) || !isfinite(o->lambda) ||
        !isfinite(o->lambda_l1))
        return error_set(err, NNDL_ERR_ARG, "lambda: need finite values of 0 or more");
    if (!(o->dropout >= 0 && o->dropout < 1))
        return error_set(err, NNDL_ERR_ARG, "dropout: %g; need 0 <= p < 1", (double)o->dropout);
    if (o->n_train < 1) return error_set(err, NNDL_ERR_ARG, "n_train: need at least 1");
    return NNDL_OK;
}

static void compare(problem *p, double *params, const double *grad, size_t n,
                    nndl_gradcheck_result *r)
{
    const nndl_net *net = p->net;
    static const double offsets[4] = {-2, -1, 1, 2};
    cost_of(p, params);
    const uint64_t smooth = kink_signature(p);
    /* Which parameters L1 may decay, from the tensor table. */
    for (int t = 0; t < net->n_tensors; t++) {
        const param_tensor *tensor = &net->tensors[t];
        for (size_t i = tensor->offset; i < tensor->offset + tensor->count; i++) {
            double saved = params[i], c[4];
            /* |w| has no derivative at 0: skip weights the stencil would
             * carry across it. */
            if (tensor->decay && p->opt->lambda_l1 > 0 && fabs(saved) < 2 * STEP) {
                r->n_skipped++;
                continue;
            }
            int kinked = 0;
            for (int k = 0; k < 4; k++) {
                params[i] = saved + offsets[k] * STEP;
                c[k] = cost_of(p, params);
                kinked |= kink_signature(p) != smooth;
            }
            params[i] = saved;
            if (kinked) {
                r->n_kinked++;
                continue;
            }
            double numeric = (c[0] - 8 * c[1] + 8 * c[2] - c[3]) / (12 * STEP);
            double scale = fmax(fmax(fabs(grad[i]), fabs(numeric)), FLOOR);
            double rel = fabs(grad[i] - numeric) / scale;
            if (!(rel <= r->max_rel_error)) { /* also catches NaN */
                r->max_rel_error = rel;
                r->worst_param = i;
            }
            r->max_abs_gradient = fmax(r->max_abs_gradient, fabs(grad[i]));
        }
    }
    (void)n;
}

nndl_status nndl_gradcheck(const nndl_net_spec *spec, const nndl_gradcheck_options *options,
                           nndl_gradcheck_result *result, nndl_error *err)
{
    nndl_net *net = nndl_net_create(spec, err);
    if (!net) return err ? err->status : NNDL_ERR_NOMEM;
    nndl_status st = check_options(options, net->sizes[net->n_sizes - 1], err);
    if (st != NNDL_OK) {
        nndl_net_free(net);
        return st;
    }
    int batch = options->batch, widest = 0;
    for (int l = 0; l < net->n_sizes; l++) widest = net->sizes[l] > widest ? net->sizes[l] : widest;

    size_t n = net->n_params;
    problem p = {net, options, {0}, NULL, NULL};
    double *params = alloc_array(n, sizeof(double));
    double *grad = alloc_zeroed(n, sizeof(double));
    p.labels = alloc_array((size_t)batch, 1);
    p.z = alloc_array((size_t)batch * widest, sizeof(double));
    if (!params || !grad || !p.labels || !p.z) {
        st = error_set(err, NNDL_ERR_NOMEM, "out of memory for the gradient check");
        goto done;
    }
    double drop[NNDL_MAX_LAYERS];
    int drops = net_dropout(net, options->dropout, drop);
    if ((st = batch_buffers_init_f64(&p.b, net, batch, drops ? drop : NULL, err)) != NNDL_OK)
        goto done;
    /* The network's own initial weights, widened to double. */
    for (size_t i = 0; i < n; i++) params[i] = net->params[i];
    if ((st = draw_data(&p, params, spec->seed, err)) != NNDL_OK) goto done;

    /* The trainer's gradient: backprop summed over the batch, averaged, plus
     * the regularization terms. The fastest of a few runs is timed: the
     * first one also warms the caches. */
    double t_backprop = INFINITY;
    for (int run = 0; run < 5; run++) {
        memset(grad, 0, n * sizeof *grad);
        double t0 = monotonic_seconds();
        backprop_batch_f64(net, params, &p.b, p.labels, batch, grad, NULL);
        t_backprop = fmin(t_backprop, monotonic_seconds() - t0);
    }
    for (size_t i = 0; i < n; i++) grad[i] /= batch; /* C is the mean over x */
    regularization_gradient_f64(net, params, grad, options->lambda, options->lambda_l1,
                                options->n_train);

    nndl_gradcheck_result r = {0};
    r.n_params = n;
    double t0 = monotonic_seconds();
    compare(&p, params, grad, n, &r);
    r.numeric_seconds = monotonic_seconds() - t0;
    r.backprop_seconds = t_backprop;
    *result = r;
done:
    batch_buffers_free_f64(&p.b);
    alloc_free(params);
    alloc_free(grad);
    alloc_free(p.labels);
    alloc_free(p.z);
    nndl_net_free(net);
    return st;
}
