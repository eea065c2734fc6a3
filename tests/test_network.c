/* The network object, its random generator and the forward pass. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "common/rng.h"
#include "net/network.h"
#include "nndl.h"

TEST(rng_same_seed_same_sequence)
{
    rng a, b, c;
    rng_seed(&a, 42, RNG_STREAM_INIT);
    rng_seed(&b, 42, RNG_STREAM_INIT);
    rng_seed(&c, 42, RNG_STREAM_SHUFFLE);
    int differs_from_other_stream = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rng_next(&a);
        CHECK(x == rng_next(&b));
        differs_from_other_stream |= x != rng_next(&c);
    }
    CHECK(differs_from_other_stream);
}

TEST(rng_reference_values)
{
    /* xoshiro256** from the state {1, 2, 3, 4}: the first outputs of the
     * authors' reference implementation. */
    rng r = {{1, 2, 3, 4}};
    CHECK(rng_next(&r) == 11520ull);
    CHECK(rng_next(&r) == 0ull);
    CHECK(rng_next(&r) == 1509978240ull);
    CHECK(rng_next(&r) == 1215971899390074240ull);
}

/* Dropout's draws: the 16-bit slices of the generator's numbers, low bits
 * first, compared with p 2^16 rounded; a partial last number's slices
 * are used from the low bits up and the rest dropped. */
TEST(rng_bernoulli_compares_16_bit_slices_with_p)
{
    const double ps[] = {0, 1, 0.5, 0.3, 0.2, 1e-17, 0x1.0p-16, 0x1.0p-17 * 0.9,
                         0.999999999, 0.1 + 0x1.0p-60};
    const size_t counts[] = {4000, 4001, 4003, 3, 1};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            rng a, b;
            rng_seed(&a, 11, RNG_STREAM_DROPOUT);
            b = a;
            uint8_t out[4003];
            size_t n = counts[c];
            rng_bernoulli(&a, ps[i], out, n);
            const double below = floor(ps[i] * 65536 + 0.5);
            int ones = 0;
            uint64_t x = 0;
            for (size_t k = 0; k < n; k++) {
                if (k % 4 == 0) x = rng_next(&b);
                ones += out[k];
                if (out[k] != ((double)((x >> (16 * (k % 4))) & 0xffff) < below))
                    test_fail(__FILE__, __LINE__, "p = %a, draw %zu of %zu differs", ps[i], k, n);
            }
            CHECK(memcmp(a.s, b.s, sizeof a.s) == 0); /* ceil(n / 4) numbers used */
            if (n == 4000) {
                if (ps[i] == 0.5) CHECK(ones > 1800 && ones < 2200);
                if (ps[i] == 0.3) CHECK(ones > 1050 && ones < 1350);
                if (ps[i] <= 0x1.0p-17) CHECK(ones == 0);
                if (ps[i] >= 0.999999999) CHECK(ones == 4000);
            }
        }
    }
}

TEST(rng_normal_has_unit_moments)
{
    rng r;
    rng_seed(&r, 7, RNG_STREAM_INIT);
    double sum = 0, sum_sq = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double z = rng_normal(&r);
        sum += z;
        sum_sq += z * z;
    }
    CHECK_NEAR(sum / n, 0.0, 0.01);
    CHECK_NEAR(sum_sq / n, 1.0, 0.01);
}

TEST(rng_shuffle_is_a_permutation_and_unbiased)
{
    rng r;
    rng_seed(&r, 3, RNG_STREAM_SHUFFLE);
    int first_position[5] = {0};
    for (int trial = 0; trial < 50000; trial++) {
        uint32_t items[5] = {0, 1, 2, 3, 4};
        rng_shuffle(&r, items, 5);
        int seen = 0;
        for (int i = 0; i < 5; i++) seen |= 1 << items[i];
        REQUIRE(seen == 31);
        first_position[items[0]]++;
    }
    for (int i = 0; i < 5; i++) CHECK_NEAR(first_position[i] / 50000.0, 0.2, 0.01);
}

TEST(network_layout_is_contiguous)
{
    int sizes[] = {784, 30, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    nndl_net *net = nndl_net_create(&spec, NULL);
    REQUIRE(net);
    CHECK(nndl_net_param_count(net) == 784 * 30 + 30 + 30 * 10 + 10);
    CHECK(net->layers[0].weights == 0);
    CHECK(net->layers[0].biases == 784 * 30);
    CHECK(net->layers[1].weights == 784 * 30 + 30);
    CHECK(net->n_tensors == 4);
    CHECK(strcmp(net->tensors[2].name, "w2") == 0 && net->tensors[2].decay);
    CHECK(strcmp(net->tensors[3].name, "b2") == 0 && !net->tensors[3].decay);
    nndl_net_free(net);
}

TEST(network_init_is_standard_normal_and_seeded)
{
    int sizes[] = {784, 100, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.init = NNDL_INIT_LARGE;
    spec.seed = 5;
    nndl_net *a = nndl_net_create(&spec, NULL), *b = nndl_net_create(&spec, NULL);
    spec.seed = 6;
    nndl_net *c = nndl_net_create(&spec, NULL);
    REQUIRE(a && b && c);
    size_t n = nndl_net_param_count(a);
    CHECK(memcmp(a->params, b->params, n * sizeof(float)) == 0);
    CHECK(memcmp(a->params, c->params, n * sizeof(float)) != 0);
    double sum = 0, sum_sq = 0;
    for (size_t i = 0; i < n; i++) {
        sum += a->params[i];
        sum_sq += (double)a->params[i] * a->params[i];
    }
    CHECK_NEAR(sum / n, 0.0, 0.02);
    CHECK_NEAR(sum_sq / n, 1.0, 0.02);
    nndl_net_free(a);
    nndl_net_free(b);
    nndl_net_free(c);
}

TEST(network_rejects_bad_specs)
{
    nndl_error err;
    int one[] = {784};
    nndl_net_spec spec = nndl_net_spec_default(1, one);
    CHECK(!nndl_net_create(&spec, &err) && err.status == NNDL_ERR_ARG);
    int zero[] = {784, 0, 10};
    spec = nndl_net_spec_default(3, zero);
    CHECK(!nndl_net_create(&spec, &err) && strstr(err.message, "layer 1"));
    int huge[] = {1000000, 1000000, 10};
    spec = nndl_net_spec_default(3, huge);
    CHECK(!nndl_net_create(&spec, &err) && strstr(err.message, "limit"));
}

/* A [2,2,1] network with weights set by hand; the expected activations were
 * computed with a calculator from eq. 25. */
TEST(forward_pass_matches_hand_computation)
{
    int sizes[] = {2, 2, 1};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    nndl_net *net = nndl_net_create(&spec, NULL); /* every parameter set below */
    REQUIRE(net);
    float *p = nndl_net_params(net);
    const float w1[] = {0.1f, 0.2f, 0.3f, 0.4f}, b1[] = {0.5f, -0.5f};
    const float w2[] = {1.0f, -1.0f}, b2[] = {0.25f};
    memcpy(p + net->layers[0].weights, w1, sizeof w1);
    memcpy(p + net->layers[0].biases, b1, sizeof b1);
    memcpy(p + net->layers[1].weights, w2, sizeof w2);
    memcpy(p + net->layers[1].biases, b2, sizeof b2);

    /* z1 = (1.0, 0.6), a1 = (0.7310585786, 0.6456563062),
     * z2 = a1[0] - a1[1] + 0.25 = 0.3354022724, a2 = 0.5830732494 */
    float input[] = {1.0f, 2.0f}, output[1];
    REQUIRE(nndl_net_feedforward(net, input, 1, output, NULL) == NNDL_OK);
    CHECK_NEAR(output[0], 0.5830732494209175, 1e-6);

    /* A batch gives each example the answer it gets alone. */
    float inputs[6] = {1, 2, 0, 0, -3, 0.5f}, outputs[3], single[1];
    REQUIRE(nndl_net_feedforward(net, inputs, 3, outputs, NULL) == NNDL_OK);
    for (int i = 0; i < 3; i++) {
        REQUIRE(nndl_net_feedforward(net, inputs + 2 * i, 1, single, NULL) == NNDL_OK);
        CHECK(single[0] == outputs[i]);
    }
    nndl_net_free(net);
}

TEST(sigmoid_saturates_without_nan)
{
    int sizes[] = {1, 1};
    nndl_net_spec spec = nndl_net_spec_default(2, sizes);
    nndl_net *net = nndl_net_create(&spec, NULL);
    REQUIRE(net);
    float *p = nndl_net_params(net);
    float in[] = {1}, out[1];
    p[0] = 1e30f; /* weight */
    p[1] = 0;
    REQUIRE(nndl_net_feedforward(net, in, 1, out, NULL) == NNDL_OK);
    CHECK(out[0] == 1.0f);
    p[0] = -1e30f;
    REQUIRE(nndl_net_feedforward(net, in, 1, out, NULL) == NNDL_OK);
    CHECK(out[0] == 0.0f);
    nndl_net_free(net);
}
