/* Training: determinism across runs and thread counts, and learning on
 * real MNIST. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nndl.h"

/* The first n training images of MNIST, or NULL after a failure. */
/* Trains [784,hidden,10] with eta 3.0 on `ds` for `epochs` with `threads`. */
static nndl_net *train_hidden(const nndl_dataset *ds, int hidden, int epochs, int batch,
                              int threads, uint64_t seed)
{
    int sizes[] = {784, hidden, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.init = NNDL_INIT_LARGE; /* chapter 1 */
    spec.seed = seed;
    nndl_net *net = nndl_net_create(&spec, NULL);
    if (!net) return NULL;
    nndl_net_set_threads(net, threads);
    nndl_sgd_config config = nndl_sgd_config_default(batch, 3.0f);
    config.seed = seed;
    nndl_trainer *t = nndl_trainer_create(net, &config, NULL);
    for (int e = 0; t && e < epochs; e++)
        if (nndl_trainer_epoch(t, ds, NULL, NULL, NULL) != NNDL_OK) {
            nndl_net_free(net);
            net = NULL;
            break;
        }
    nndl_trainer_free(t);
    return net;
}

/* The same for chapter 1's [784,30,10]. */
static nndl_net *train_chapter1(const nndl_dataset *ds, int epochs, int batch, int threads,
                                uint64_t seed)
{
    return train_hidden(ds, 30, epochs, batch, threads, seed);
}

TEST(training_is_bit_identical_for_1_and_2_threads)
{
    nndl_dataset *ds = test_mnist_head(3000, NULL);
    REQUIRE(ds);
    /* batch 100 of [784,100,10] is large enough for the threads to split
     * the batch's examples and then the weights; batch 10 is not */
    static const int runs[][2] = {{30, 10}, {30, 100}, {100, 100}};
    for (int r = 0; r < 3; r++) {
        int hidden = runs[r][0], batch = runs[r][1];
        nndl_net *one = train_hidden(ds, hidden, 2, batch, 1, 11);
        nndl_net *two = train_hidden(ds, hidden, 2, batch, 2, 11);
        nndl_net *again = train_hidden(ds, hidden, 2, batch, 2, 11);
        REQUIRE(one && two && again);
        size_t n = nndl_net_param_count(one) * sizeof(float);
        if (memcmp(nndl_net_params(one), nndl_net_params(two), n) != 0 ||
            memcmp(nndl_net_params(two), nndl_net_params(again), n) != 0)
            test_fail(__FILE__, __LINE__, "[784,%d,10] at batch %d: threads change the weights",
                      hidden, batch);
        nndl_net_free(one);
        nndl_net_free(two);
        nndl_net_free(again);
    }
    nndl_dataset_free(ds);
}

/* One epoch of [784,30,10] (cross-entropy, eta 0.5, seed 5) on `ds` with
 * this momentum and dropout. */
static nndl_net *train_one_epoch(const nndl_dataset *ds, float momentum, float dropout)
{
    int sizes[] = {784, 30, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.cost = NNDL_COST_CROSS_ENTROPY;
    spec.seed = 5;
    nndl_net *net = nndl_net_create(&spec, NULL);
    if (!net) return NULL;
    nndl_sgd_config config = nndl_sgd_config_default(10, 0.5f);
    config.seed = 5;
    config.momentum = momentum;
    config.dropout = dropout;
    nndl_trainer *t = nndl_trainer_create(net, &config, NULL);
    if (!t || nndl_trainer_epoch(t, ds, NULL, NULL, NULL) != NNDL_OK) {
        nndl_net_free(net);
        net = NULL;
    }
    nndl_trainer_free(t);
    return net;
}

TEST(training_plain_step_on_sparse_inputs_matches_the_dense_step)
{
    /* The plain step trains layer 1 through its transposed weights and the
     * sparse products; with momentum, however small, the trainer takes the
     * dense path. A momentum of 1e-30 changes no weight (mu v is below
     * float's resolution of eta g), so the two runs differ by rounding only:
     * the order of the forward sums, and the dense step's update loop. The network must hold the
     * sparse run's weights after the epoch, and they must have moved. */
    nndl_dataset *ds = test_mnist_head(1000, NULL);
    REQUIRE(ds);
    for (int with_dropout = 0; with_dropout <= 1; with_dropout++) {
        float dropout = with_dropout ? 0.3f : 0;
        nndl_net *sparse = train_one_epoch(ds, 0, dropout);
        nndl_net *dense = train_one_epoch(ds, 1e-30f, dropout);
        REQUIRE(sparse && dense);
        int sizes[] = {784, 30, 10};
        nndl_net_spec spec = nndl_net_spec_default(3, sizes);
        spec.cost = NNDL_COST_CROSS_ENTROPY;
        spec.seed = 5;
        nndl_net *init = nndl_net_create(&spec, NULL);
        REQUIRE(init);
        const float *a = nndl_net_params(sparse), *b = nndl_net_params(dense),
                    *w0 = nndl_net_params(init);
        double most_apart = 0, most_moved = 0;
        for (size_t i = 0; i < nndl_net_param_count(sparse); i++) {
            double apart = fabs((double)a[i] - b[i]), moved = fabs((double)a[i] - w0[i]);
            if (apart > most_apart) most_apart = apart;
            if (moved > most_moved) most_moved = moved;
        }
        fprintf(stderr, "    dropout %.1f: sparse and dense %.2g apart, moved %.2g\n",
                (double)dropout, most_apart, most_moved);
        CHECK(most_apart < 1e-5);
        CHECK(most_moved > 0.1);
        nndl_net_free(sparse);
        nndl_net_free(dense);
        nndl_net_free(init);
    }
    nndl_dataset_free(ds);
}

TEST(training_reduces_error_on_a_small_set)
{
    nndl_dataset *test = NULL;
    nndl_dataset *ds = test_mnist_head(2000, &test);
    REQUIRE(ds && test);
    int sizes[] = {784, 30, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    nndl_net *net = nndl_net_create(&spec, NULL);
    REQUIRE(net);
    size_t before, after;
    REQUIRE(nndl_net_evaluate(net, test, &before, NULL) == NNDL_OK);
    nndl_sgd_config config = nndl_sgd_config_default(10, 3.0f);
    config.seed = 1;
    nndl_trainer *t = nndl_trainer_create(net, &config, NULL);
    REQUIRE(t);
    REQUIRE(nndl_trainer_epoch(t, ds, NULL, NULL, NULL) == NNDL_OK);
    REQUIRE(nndl_net_evaluate(net, test, &after, NULL) == NNDL_OK);
    /* Random weights are near chance (about 1,000 right); one epoch on
     * 2,000 images gets about half right (4,816 to 5,817 for seeds 1-3). */
    CHECK(before < 2000);
    CHECK(after > 4000);
    nndl_trainer_free(t);
    nndl_net_free(net);
    nndl_dataset_free(ds);
    nndl_dataset_free(test);
}

TEST(training_one_epoch_of_chapter1_reaches_90_percent)
{
    nndl_dataset *test = NULL;
    nndl_dataset *ds = test_mnist_head(50000, &test);
    REQUIRE(ds && test);
    /* With chapter 1's N(0,1) weights some seeds leave an output neuron
     * saturated and stall near 82% after the first epoch (seeds 2, 6, 7, 8
     * of 1-11); seed 1 is the default of `nndl train`. */
    nndl_net *net = train_chapter1(ds, 1, 10, 0, 1);
    REQUIRE(net);
    size_t correct;
    REQUIRE(nndl_net_evaluate(net, test, &correct, NULL) == NNDL_OK);
    fprintf(stderr, "    one epoch: %zu / 10000\n", correct);
    CHECK(correct >= 9000);
    nndl_net_free(net);
    nndl_dataset_free(ds);
    nndl_dataset_free(test);
}

TEST(training_stops_on_divergence)
{
    /* One NaN weight spreads through every product it touches. */
    nndl_dataset *ds = test_mnist_head(100, NULL);
    REQUIRE(ds);
    int sizes[] = {784, 30, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    nndl_net *net = nndl_net_create(&spec, NULL);
    nndl_sgd_config config = nndl_sgd_config_default(10, 3.0f);
    config.seed = 1;
    nndl_trainer *t = nndl_trainer_create(net, &config, NULL);
    REQUIRE(net && t);
    nndl_net_params(net)[0] = NAN;
    nndl_error err;
    CHECK(nndl_trainer_epoch(t, ds, NULL, NULL, &err) == NNDL_ERR_DIVERGED);
    CHECK(strstr(err.message, "NaN") != NULL);
    nndl_trainer_free(t);
    nndl_net_free(net);
    nndl_dataset_free(ds);
}

TEST(training_rejects_mismatched_network)
{
    nndl_dataset *ds = test_mnist_head(100, NULL);
    REQUIRE(ds);
    int sizes[] = {100, 30, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    nndl_net *net = nndl_net_create(&spec, NULL);
    nndl_sgd_config config = nndl_sgd_config_default(10, 3.0f);
    config.seed = 1;
    nndl_trainer *t = nndl_trainer_create(net, &config, NULL);
    REQUIRE(net && t);
    nndl_error err;
    CHECK(nndl_trainer_epoch(t, ds, NULL, NULL, &err) == NNDL_ERR_ARG);
    CHECK(strstr(err.message, "784") != NULL);
    nndl_trainer_free(t);
    nndl_net_free(net);
    nndl_dataset_free(ds);
}

TEST(baseline_darkness_matches_the_book)
{
    nndl_dataset *test = NULL;
    nndl_dataset *ds = test_mnist_head(50000, &test);
    REQUIRE(ds && test);
    size_t correct;
    REQUIRE(nndl_baseline_darkness(ds, test, &correct, NULL) == NNDL_OK);
    CHECK(correct == 2225); /* chapter 1: "2,225 of the 10,000 test images" */
    nndl_dataset_free(ds);
    nndl_dataset_free(test);
}
