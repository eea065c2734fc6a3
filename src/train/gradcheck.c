/* The gradient check of chapter 2: backpropagation against centered finite
 * differences, using the double-precision build of the numeric core (the
 * same source that trains in float; see net/real.h). */
#define NNDL_REAL_DOUBLE
#include <math.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/rng.h"
#include "net/backprop.h"
#include "net/cost.h"
#include "net/network.h"

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

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Mean cost C over the batch whose inputs are in b->a[0]. */
static double mean_cost(const nndl_net *net, const double *params, batch_buffers *b,
                        const uint8_t *labels, int batch)
{
    feedforward_batch_f64(net, params, b, batch, 1);
    return cost_total_f64(net->cost, b->a[net->n_layers], labels, batch,
                          net->sizes[net->n_sizes - 1]) / batch;
}

nndl_status nndl_gradcheck(const nndl_net_spec *spec, int batch,
                           nndl_gradcheck_result *result, nndl_error *err)
{
    if (batch < 1 || batch > 100000)
        return error_set(err, NNDL_ERR_ARG, "batch: %d; need 1 to 100000", batch);
    nndl_net *net = nndl_net_create(spec, err);
    if (!net) return err ? err->status : NNDL_ERR_NOMEM;
    int n_in = net->sizes[0], n_out = net->sizes[net->n_sizes - 1];
    if (n_out > 256) {
        nndl_net_free(net);
        return error_set(err, NNDL_ERR_ARG, "sizes: gradcheck takes at most 256 outputs");
    }

    size_t n = net->n_params;
    double *params = alloc_array(n, sizeof(double));
    double *grad = alloc_zeroed(n, sizeof(double));
    uint8_t *labels = alloc_array((size_t)batch, 1);
    batch_buffers b = {0};
    nndl_status st = NNDL_OK;
    if (!params || !grad || !labels) {
        st = error_set(err, NNDL_ERR_NOMEM, "out of memory for the gradient check");
        goto done;
    }
    if ((st = batch_buffers_init_f64(&b, net, batch, err)) != NNDL_OK) goto done;

    /* The network's own initial weights, widened to double. */
    for (size_t i = 0; i < n; i++) params[i] = net->params[i];
    rng r;
    rng_seed(&r, spec->seed, RNG_STREAM_TEST_DATA);
    for (size_t i = 0; i < (size_t)batch * n_in; i++) b.a[0][i] = rng_uniform(&r);
    for (int x = 0; x < batch; x++) labels[x] = (uint8_t)rng_below(&r, (uint64_t)n_out);
    /* feedforward overwrites every a^l with l >= 1 but never a^0: keep it. */

    /* The fastest of a few runs: the first one also warms the caches. */
    double t_backprop = INFINITY, t0;
    for (int run = 0; run < 5; run++) {
        memset(grad, 0, n * sizeof *grad);
        t0 = seconds_now();
        backprop_batch_f64(net, params, &b, labels, batch, grad, 1);
        t_backprop = fmin(t_backprop, seconds_now() - t0);
    }
    for (size_t i = 0; i < n; i++) grad[i] /= batch; /* C is the mean over x */

    double worst = 0, largest = 0;
    size_t worst_at = 0;
    t0 = seconds_now();
    for (size_t i = 0; i < n; i++) {
        static const double offsets[4] = {-2, -1, 1, 2};
        double saved = params[i], c[4];
        for (int k = 0; k < 4; k++) {
            params[i] = saved + offsets[k] * STEP;
            c[k] = mean_cost(net, params, &b, labels, batch);
        }
        params[i] = saved;
        double numeric = (c[0] - 8 * c[1] + 8 * c[2] - c[3]) / (12 * STEP);
        double scale = fmax(fmax(fabs(grad[i]), fabs(numeric)), FLOOR);
        double rel = fabs(grad[i] - numeric) / scale;
        if (!(rel <= worst)) { /* also catches NaN */
            worst = rel;
            worst_at = i;
        }
        largest = fmax(largest, fabs(grad[i]));
    }
    double t_numeric = seconds_now() - t0;

    result->n_params = n;
    result->max_rel_error = worst;
    result->worst_param = worst_at;
    result->max_abs_gradient = largest;
    result->backprop_seconds = t_backprop;
    result->numeric_seconds = t_numeric;
done:
    batch_buffers_free_f64(&b);
    alloc_free(params);
    alloc_free(grad);
    alloc_free(labels);
    nndl_net_free(net);
    return st;
}
