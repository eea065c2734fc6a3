/* Chapter 3's pieces: softmax, the scaled initialization, early stopping
 * and the schedule on synthetic accuracy curves, and training with the
 * improved costs, regularization, momentum and dropout on MNIST. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "net/network.h"
#include "nndl.h"

TEST(softmax_is_stable_for_large_inputs)
{
    /* A [2,3] log-likelihood network whose weighted inputs are about 1e4:
     * exp(1e4) overflows, the shifted softmax does not. */
    int sizes[] = {2, 3};
    nndl_net_spec spec = nndl_net_spec_default(2, sizes);
    spec.cost = NNDL_COST_LOG_LIKELIHOOD;
    nndl_net *net = nndl_net_create(&spec, NULL);
    REQUIRE(net);
    REQUIRE(nndl_net_activation(net, 1) == NNDL_ACT_SOFTMAX);
    float *p = nndl_net_params(net);
    const float w[] = {1e4f, 0, 1e4f, 1e4f, -1e4f, 0}, b[] = {0, 1, 0};
    memcpy(p, w, sizeof w);
    memcpy(p + 6, b, sizeof b);
    float in[] = {1, 1}, out[3];
    REQUIRE(nndl_net_feedforward(net, in, 1, out, NULL) == NNDL_OK);
    /* z = (1e4, 2e4 + 1, 0): all the probability on neuron 1 */
    CHECK(isfinite(out[0]) && isfinite(out[1]) && isfinite(out[2]));
    CHECK_NEAR(out[0] + out[1] + out[2], 1.0, 1e-6);
    CHECK(out[1] == 1.0f && out[0] == 0.0f);
    /* moderate inputs: compare with e^z / sum e^z directly */
    const float w2[] = {1, 0, 0, 1, 0.5f, 0.5f}, b2[] = {0, 0, 0};
    memcpy(p, w2, sizeof w2);
    memcpy(p + 6, b2, sizeof b2);
    float in2[] = {1, 2};
    REQUIRE(nndl_net_feedforward(net, in2, 1, out, NULL) == NNDL_OK);
    double sum = exp(1.0) + exp(2.0) + exp(1.5);
    CHECK_NEAR(out[0], exp(1.0) / sum, 1e-6);
    CHECK_NEAR(out[1], exp(2.0) / sum, 1e-6);
    CHECK_NEAR(out[2], exp(1.5) / sum, 1e-6);
    nndl_net_free(net);
}

TEST(spec_rejects_softmax_in_hidden_layers)
{
    int sizes[] = {4, 3, 2};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.act = NNDL_ACT_SOFTMAX;
    nndl_error err;
    CHECK(!nndl_net_create(&spec, &err) && strstr(err.message, "softmax"));
    int one[] = {4, 1};
    spec = nndl_net_spec_default(2, one);
    spec.cost = NNDL_COST_LOG_LIKELIHOOD;
    CHECK(!nndl_net_create(&spec, &err) && strstr(err.message, "log-likelihood"));
}

TEST(per_layer_activations)
{
    int sizes[] = {4, 3, 3, 2};
    nndl_activation acts[] = {NNDL_ACT_TANH, NNDL_ACT_RELU};
    nndl_net_spec spec = nndl_net_spec_default(4, sizes);
    spec.hidden_acts = acts;
    nndl_net *net = nndl_net_create(&spec, NULL);
    REQUIRE(net);
    CHECK(nndl_net_activation(net, 1) == NNDL_ACT_TANH);
    CHECK(nndl_net_activation(net, 2) == NNDL_ACT_RELU);
    CHECK(nndl_net_activation(net, 3) == NNDL_ACT_SIGMOID);
    nndl_net_free(net);
}

TEST(scaled_init_has_variance_one_over_n_in)
{
    int sizes[] = {784, 100, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    nndl_net *net = nndl_net_create(&spec, NULL);
    REQUIRE(net);
    CHECK(nndl_net_init(net) == NNDL_INIT_SCALED);
    const float *p = nndl_net_params(net);
    const layer *l1 = &net->layers[0], *l2 = &net->layers[1];
    double w1 = 0, w2 = 0, b1 = 0;
    for (size_t i = 0; i < 78400; i++) w1 += (double)p[l1->weights + i] * p[l1->weights + i];
    for (size_t i = 0; i < 1000; i++) w2 += (double)p[l2->weights + i] * p[l2->weights + i];
    for (size_t i = 0; i < 100; i++) b1 += (double)p[l1->biases + i] * p[l1->biases + i];
    CHECK_NEAR(w1 / 78400, 1.0 / 784, 0.03 / 784);
    CHECK_NEAR(w2 / 1000, 1.0 / 100, 0.15 / 100);
    CHECK_NEAR(b1 / 100, 1.0, 0.4); /* biases stay N(0,1) */
    nndl_net_free(net);
}

TEST(kind_names_round_trip)
{
    for (int c = 0; c < NNDL_COST_COUNT; c++)
        CHECK(nndl_cost_parse(nndl_cost_name((nndl_cost)c)) == c);
    for (int a = 0; a < NNDL_ACT_COUNT; a++)
        CHECK(nndl_activation_parse(nndl_activation_name((nndl_activation)a)) == a);
    for (int i = 0; i < NNDL_INIT_COUNT; i++)
        CHECK(nndl_init_parse(nndl_init_name((nndl_init)i)) == i);
    CHECK(nndl_cost_parse("crossentropy") == -1);
    CHECK(nndl_activation_parse(NULL) == -1);
}

/* Feeds a synthetic accuracy curve; returns the epoch that asked to stop
 * (or -1) and records the epochs where eta was halved. */
static int run_curve(nndl_plateau *p, const double *curve, int n, int *halved, int *n_halved)
{
    *n_halved = 0;
    for (int e = 0; e < n; e++) {
        int flags = nndl_plateau_update(p, e, curve[e]);
        if (flags & NNDL_PLATEAU_HALVED) halved[(*n_halved)++] = e;
        if (flags & NNDL_PLATEAU_STOP) return e;
    }
    return -1;
}

TEST(early_stopping_on_a_synthetic_curve)
{
    nndl_plateau p;
    int halved[16], n_halved;
    const double curve[] = {0.50, 0.60, 0.60, 0.55, 0.58, 0.70, 0.71};
    nndl_plateau_init(&p, 3, 0, 0, 0.5f);
    /* best 0.60 at epoch 1; epochs 2, 3, 4 bring nothing better */
    CHECK(run_curve(&p, curve, 7, halved, &n_halved) == 4);
    CHECK(p.best_epoch == 1 && p.best == 0.60 && n_halved == 0);
    nndl_plateau_init(&p, 4, 0, 0, 0.5f);
    CHECK(run_curve(&p, curve, 7, halved, &n_halved) == -1);
    CHECK(p.best_epoch == 6);
    nndl_plateau_init(&p, 0, 0, 0, 0.5f); /* both rules off: never stops */
    CHECK(run_curve(&p, curve, 7, halved, &n_halved) == -1);
}

TEST(halving_schedule_on_a_synthetic_curve)
{
    nndl_plateau p;
    int halved[16], n_halved;
    /* halve after 2 epochs without improvement; stop at eta0/4 */
    const double curve[] = {0.5, 0.5, 0.5, 0.6, 0.6, 0.6, 0.9};
    nndl_plateau_init(&p, 0, 2, 4, 1.0f);
    CHECK(run_curve(&p, curve, 7, halved, &n_halved) == 5);
    CHECK(n_halved == 2 && halved[0] == 2 && halved[1] == 5);
    CHECK(p.eta == 0.25f);
    /* a rising curve never halves */
    const double rising[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
    nndl_plateau_init(&p, 0, 2, 4, 1.0f);
    CHECK(run_curve(&p, rising, 6, halved, &n_halved) == -1 && n_halved == 0);
    /* a flat curve halves every 2 epochs: 1/2 at epoch 2, ... 1/128 at 14 */
    double flat[20];
    for (int i = 0; i < 20; i++) flat[i] = 0.9;
    nndl_plateau_init(&p, 0, 2, 128, 1.0f);
    CHECK(run_curve(&p, flat, 20, halved, &n_halved) == 14);
    CHECK(n_halved == 7 && p.eta == 1.0f / 128);
}

/* The first n MNIST training images and the validation set. */
static int load_head(size_t n, nndl_dataset **training, nndl_dataset **validation)
{
    const char *dir = test_mnist_dir();
    if (!dir || nndl_mnist_load(dir, training, validation, NULL, NULL) != NNDL_OK) return 0;
    nndl_dataset_free(nndl_dataset_split_off(*training, n, NULL));
    return 1;
}

static size_t train_and_validate(const nndl_dataset *training, const nndl_dataset *validation,
                                 nndl_cost cost, nndl_activation act,
                                 const nndl_sgd_config *config, int epochs)
{
    int sizes[] = {784, 30, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.cost = cost;
    spec.act = act;
    spec.seed = 1;
    nndl_net *net = nndl_net_create(&spec, NULL);
    nndl_trainer *t = nndl_trainer_create(net, config, NULL);
    size_t correct = 0;
    for (int e = 0; t && e < epochs; e++)
        if (nndl_trainer_epoch(t, training, NULL, NULL, NULL) != NNDL_OK) goto out;
    if (t) nndl_net_evaluate(net, validation, &correct, NULL);
out:
    nndl_trainer_free(t);
    nndl_net_free(net);
    return correct;
}

TEST(cross_entropy_with_l2_learns_mnist)
{
    nndl_dataset *training = NULL, *validation = NULL;
    REQUIRE(load_head(50000, &training, &validation));
    nndl_sgd_config c = nndl_sgd_config_default(10, 0.5f);
    c.lambda = 5.0f;
    c.seed = 1;
    size_t correct = train_and_validate(training, validation, NNDL_COST_CROSS_ENTROPY,
                                        NNDL_ACT_SIGMOID, &c, 1);
    /* Measured after one epoch with `nndl train --cost cross-entropy --eta
     * 0.5 --lambda 5 --epochs 1 --eval validation`: 9388 to 9470 for seeds
     * 1-6 (9396 for seed 1). 9300 leaves room for rounding changes and
     * still fails for a broken cost or regularization (quadratic cost with
     * chapter-1 weights gets about 9150 here). */
    CHECK(correct >= 9300);
    nndl_dataset_free(training);
    nndl_dataset_free(validation);
}

TEST(every_technique_trains_on_mnist)
{
    nndl_dataset *training = NULL, *validation = NULL;
    REQUIRE(load_head(10000, &training, &validation));
    struct {
        const char *what;
        nndl_cost cost;
        nndl_activation act;
        float eta, lambda, l1, momentum, dropout;
        size_t at_least; /* measured 9140 to 9282 for seed 1; chance is 1000 */
    } cases[] = {
        {"log-likelihood", NNDL_COST_LOG_LIKELIHOOD, NNDL_ACT_SIGMOID, 0.5f, 0, 0, 0, 0, 8500},
        {"tanh", NNDL_COST_CROSS_ENTROPY, NNDL_ACT_TANH, 0.1f, 0, 0, 0, 0, 8500},
        {"relu", NNDL_COST_CROSS_ENTROPY, NNDL_ACT_RELU, 0.05f, 0, 0, 0, 0, 8500},
        {"l1", NNDL_COST_CROSS_ENTROPY, NNDL_ACT_SIGMOID, 0.5f, 0, 1.0f, 0, 0, 8500},
        {"momentum", NNDL_COST_CROSS_ENTROPY, NNDL_ACT_SIGMOID, 0.1f, 0, 0, 0.5f, 0, 8500},
        {"dropout", NNDL_COST_CROSS_ENTROPY, NNDL_ACT_SIGMOID, 0.5f, 0, 0, 0, 0.2f, 8500},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nndl_sgd_config c = nndl_sgd_config_default(10, cases[i].eta);
        c.lambda = cases[i].lambda;
        c.lambda_l1 = cases[i].l1;
        c.momentum = cases[i].momentum;
        c.dropout = cases[i].dropout;
        c.seed = 1;
        size_t correct = train_and_validate(training, validation, cases[i].cost, cases[i].act,
                                            &c, 2);
        fprintf(stderr, "    %s: %zu / 10000\n", cases[i].what, correct);
        if (correct < cases[i].at_least)
            test_fail(__FILE__, __LINE__, "%s: %zu / 10000, expected at least %zu",
                      cases[i].what, correct, cases[i].at_least);
    }
    nndl_dataset_free(training);
    nndl_dataset_free(validation);
}
