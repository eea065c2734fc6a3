/* nndl demo unstable: chapter 5's chain of single neurons.
 *
 * Four sigmoid neurons in a row, input x = 1, quadratic cost with target
 * y = 0. Backpropagation (BP1, then BP2 three times) gives
 *   dC/db_1 = sigma'(z_1) w_2 sigma'(z_2) w_3 sigma'(z_3) w_4 sigma'(z_4) dC/da_4:
 * a product of one factor per neuron. With ordinary weights each
 * w_j sigma'(z_j) is under 1/4 in size (sigma'(z) <= sigma'(0) = 1/4), so
 * the gradient vanishes toward the first neuron; with w = 100 and biases
 * that put every z at 0, each factor is 100/4 = 25 and it explodes. The
 * demo prints each factor and their product, and checks the product against
 * the gradient the library's backpropagation computes. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "demos.h"

enum { CHAIN = 4 };

static double sigmoid(double z) { return 1 / (1 + exp(-z)); }
static double sigmoid_prime(double z) { return sigmoid(z) * (1 - sigmoid(z)); }

/* Prints one case: the neurons, the factors and the two gradients. */
static nndl_status show_chain(nndl_net *net, const nndl_dataset *one, const char *title,
                              nndl_error *err)
{
    const float *p = nndl_net_params_const(net); /* w1, b1, w2, b2, ... (1 x 1 layers) */
    double w[CHAIN + 1], b[CHAIN + 1], z[CHAIN + 1], a[CHAIN + 1];
    a[0] = 1.0; /* x: the image's one pixel, 255 */
    for (int j = 1; j <= CHAIN; j++) {
        w[j] = p[2 * (j - 1)];
        b[j] = p[2 * (j - 1) + 1];
        z[j] = w[j] * a[j - 1] + b[j];
        a[j] = sigmoid(z[j]);
    }
    printf("\n%s\n%8s %10s %10s %10s %10s %11s\n", title, "neuron", "w", "b", "z", "sigma'(z)",
           "factor");
    double product = 1;
    for (int j = 1; j <= CHAIN; j++) {
        double factor = (j == 1 ? 1 : w[j]) * sigmoid_prime(z[j]);
        product *= factor;
        printf("%8d %10.4f %10.4f %10.4f %10.4f %11.4f   %s\n", j, w[j], b[j], z[j],
               sigmoid_prime(z[j]), factor, j == 1 ? "sigma'(z_1)" : "w_j sigma'(z_j)");
    }
    double dc_da = a[CHAIN] - 0.0; /* quadratic cost, target 0: dC/da_4 = a_4 - y */
    product *= dc_da;
    printf("%8s %54.4f   dC/da_4 = a_4 - y\n", "", dc_da);
    printf("product: dC/db_1 = %.6g\n", product);

    float grad[2 * CHAIN];
    nndl_status st = nndl_net_gradient(net, one, 0, 1, grad, err);
    if (st != NNDL_OK) return st;
    double first = grad[1], last = grad[2 * CHAIN - 1];
    double ratio = fabs(first / last);
    printf("backpropagation: dC/db_1 = %.6g, dC/db_4 = %.6g: the first neuron learns %.0f "
           "times %s than the last\n", first, last, ratio < 1 ? 1 / ratio : ratio,
           ratio < 1 ? "more slowly" : "faster");
    return NNDL_OK;
}

int demo_unstable(int argc, char **argv)
{
    uint64_t seed = 1;
    cli_option options[] = {
        {"--seed", OPT_U64, &seed, "N", "seed of the vanishing case's weights (default 1)", 0,
         0, NULL},
    };
    cli_command cmd = {"demo unstable", "",
                       "Chapter 5's unstable gradient: a chain of four sigmoid neurons, the\n"
                       "gradient of the first bias as a product of one factor per neuron,\n"
                       "vanishing with ordinary weights and exploding with large ones.",
                       options, (int)(sizeof options / sizeof options[0]), 0, 0};
    int n_pos, rc = cli_parse(&cmd, argc, argv, NULL, &n_pos);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;

    static const int sizes[CHAIN + 1] = {1, 1, 1, 1, 1};
    nndl_net_spec spec = nndl_net_spec_default(CHAIN + 1, sizes);
    spec.init = NNDL_INIT_LARGE; /* weights and biases N(0, 1) */
    spec.seed = seed;
    nndl_error err;
    nndl_dataset *one = nndl_dataset_create(1, 1, 1, &err);
    nndl_net *net = one ? nndl_net_create(&spec, &err) : NULL;
    if (!net) {
        nndl_dataset_free(one);
        return cli_fail("demo unstable", &err);
    }
    nndl_dataset_image_mut(one, 0)[0] = 255; /* x = 1 */
    nndl_dataset_labels_mut(one)[0] = 0;     /* y = 0 */

    printf("Unstable gradients (chapter 5): four sigmoid neurons in a chain, input x = 1,\n"
           "quadratic cost, target y = 0. Backpropagation gives\n"
           "  dC/db_1 = sigma'(z_1) w_2 sigma'(z_2) w_3 sigma'(z_3) w_4 sigma'(z_4) dC/da_4\n"
           "one factor per neuron; |sigma'(z)| <= sigma'(0) = 1/4.\n");
    char title[128];
    snprintf(title, sizeof title,
             "Vanishing: weights and biases drawn from N(0,1) (seed %llu)",
             (unsigned long long)seed);
    nndl_status st = show_chain(net, one, title, &err);
    if (st == NNDL_OK) {
        /* Every z = 0: b_1 = -w x, and after it a = 1/2, so b_j = -w / 2. */
        float *p = nndl_net_params(net);
        for (int j = 0; j < CHAIN; j++) {
            p[2 * j] = 100;
            p[2 * j + 1] = j == 0 ? -100 : -50;
        }
        st = show_chain(net, one,
                        "Exploding: every w = 100, biases chosen so that every z = 0", &err);
    }
    nndl_net_free(net);
    nndl_dataset_free(one);
    return st == NNDL_OK ? 0 : cli_fail("demo unstable", &err);
}
