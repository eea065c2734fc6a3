/* Convolutional and max-pooling layers: shapes, max-pool's ties,
 * finite-difference gradient checks of every kind and activation, and one
 * training step of a small convolutional network against the same step
 * written out by hand in this file. (The products against the direct
 * loops: conv_products.inc.) */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/rng.h"
#include "kernels/parallel.h"
#include "net/conv.h"
#include "net/layer.h"
#include "net/maxpool.h"
#include "net/network.h"
#include "nndl.h"

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

TEST(conv_rejects_shapes_that_do_not_fit)
{
    struct {
        nndl_layer_spec layer;
        nndl_shape input;
        const char *message;
    } bad[] = {
        {nndl_layer_conv(4, 6, 1, NNDL_ACT_RELU), {1, 5, 9}, "6 x 6 filters over 5 x 9"},
        {nndl_layer_conv(4, 3, 4, NNDL_ACT_RELU), {1, 5, 9}, "pool 4 over 3 x 7"},
        {nndl_layer_conv(0, 3, 1, NNDL_ACT_RELU), {1, 5, 9}, "0 feature maps"},
        {nndl_layer_pool(6), {2, 5, 9}, "pool 6 over 5 x 9"},
        {nndl_layer_conv(4, 3, 1, NNDL_ACT_SOFTMAX), {1, 5, 9}, "softmax is for the output"},
    };
    for (int i = 0; i < COUNT(bad); i++) {
        nndl_layer_spec layers[] = {bad[i].layer, nndl_layer_fc(3, NNDL_ACT_SIGMOID)};
        nndl_net_spec spec = nndl_net_spec_default(0, NULL);
        spec.layers = layers;
        spec.n_layers = 2;
        spec.input = bad[i].input;
        nndl_error err;
        nndl_net *net = nndl_net_create(&spec, &err);
        CHECK(!net);
        if (!net && !strstr(err.message, bad[i].message))
            test_fail(__FILE__, __LINE__, "case %d: \"%s\" lacks \"%s\"", i, err.message,
                      bad[i].message);
        nndl_net_free(net);
    }
    /* the output layer is fully connected */
    nndl_layer_spec last_conv[] = {nndl_layer_conv(4, 3, 1, NNDL_ACT_RELU)};
    nndl_net_spec spec = nndl_net_spec_default(0, NULL);
    spec.layers = last_conv;
    spec.n_layers = 1;
    spec.input = (nndl_shape){1, 8, 8};
    nndl_error err;
    CHECK(!nndl_net_create(&spec, &err) && strstr(err.message, "must be fully connected"));
}

TEST(conv_shapes_and_tensors_follow_network3)
{
    /* conv:20:5,pool:2,conv:40:5,pool:2,fc:100,softmax:10 on 28x28 */
    nndl_layer_spec layers[] = {nndl_layer_conv(20, 5, 2, NNDL_ACT_RELU),
                                nndl_layer_conv(40, 5, 2, NNDL_ACT_RELU),
                                nndl_layer_fc(100, NNDL_ACT_RELU),
                                nndl_layer_fc(10, NNDL_ACT_SIGMOID)};
    nndl_net_spec spec = nndl_net_spec_default(0, NULL);
    spec.layers = layers;
    spec.n_layers = 4;
    spec.input = (nndl_shape){1, 28, 28};
    spec.cost = NNDL_COST_LOG_LIKELIHOOD;
    spec.init = NNDL_INIT_NETWORK3;
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    REQUIRE(net);
    nndl_layer_info info;
    REQUIRE(nndl_net_layer(net, 1, &info, &err) == NNDL_OK);
    CHECK(info.out.channels == 20 && info.out.height == 12 && info.out.width == 12);
    CHECK(info.params == 20 * 25 + 20);
    REQUIRE(nndl_net_layer(net, 2, &info, &err) == NNDL_OK);
    CHECK(info.out.channels == 40 && info.out.height == 4 && info.out.width == 4);
    CHECK(info.params == 40 * 25 * 20 + 40);
    REQUIRE(nndl_net_layer(net, 4, &info, &err) == NNDL_OK);
    CHECK(info.spec.act == NNDL_ACT_SOFTMAX);
    CHECK(nndl_net_layer(net, 5, &info, &err) == NNDL_ERR_ARG);
    CHECK(nndl_net_size(net, 2) == 640 && nndl_net_size(net, 3) == 100);
    CHECK(nndl_net_param_count(net) == 520 + 20040 + 64100 + 1010);
    /* network3.py's initialization: N(0, 1/n_out) weights, n_out = 20*25/4
     * for the first layer; the softmax layer starts at zero */
    const float *p = nndl_net_params_const(net);
    double squares = 0;
    for (int i = 0; i < 500; i++) squares += (double)p[i] * p[i];
    CHECK_NEAR(squares / 500, 1.0 / 125, 0.25 / 125);
    for (size_t i = nndl_net_param_count(net) - 1010; i < nndl_net_param_count(net); i++)
        CHECK(p[i] == 0);
    CHECK(!nndl_net_is_dense(net));
    nndl_net_free(net);
}

/* One input channel takes the direct path, which pools 2 x 2 straight from
 * its own layout and sends the errors back by the winners without the
 * pooling layer's code. Against that code on the same layer unpooled: the same
 * maxima, the same winners (ties included: small integers make many) and
 * the same gradient, bit for bit. */
static nndl_net *one_channel_net(int maps, int kernel, int pool, nndl_shape input)
{
    nndl_layer_spec layers[] = {nndl_layer_conv(maps, kernel, pool, NNDL_ACT_LINEAR),
                                nndl_layer_fc(2, NNDL_ACT_SIGMOID)};
    nndl_net_spec spec = nndl_net_spec_default(0, NULL);
    spec.layers = layers;
    spec.n_layers = 2;
    spec.input = input;
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    if (!net) test_fail(__FILE__, __LINE__, "%s", err.message);
    return net;
}

static void check_direct_pool(int maps, int kernel, int pool, nndl_shape input, int batch)
{
    nndl_net *pooled_net = one_channel_net(maps, kernel, pool, input),
             *plain_net = one_channel_net(maps, kernel, 1, input);
    if (!pooled_net || !plain_net) goto done;
    const layer *pl = &pooled_net->layers[0], *l = &plain_net->layers[0];
    const layer_ops *ops = layer_table_f32[LAYER_CONV];
    const size_t n_in = (size_t)batch * l->n_in, n_z = (size_t)batch * l->n_out,
                 n_out = (size_t)batch * pl->n_out, n_p = l->n_params;
    float *in = malloc(n_in * sizeof *in), *params = malloc(n_p * sizeof *params),
          *z = malloc(n_z * sizeof *z), *want = malloc(n_out * sizeof *want),
          *got = malloc(n_out * sizeof *got), *delta = malloc(n_out * sizeof *delta),
          *dz = malloc(n_z * sizeof *dz), *g_want = calloc(n_p, sizeof *g_want),
          *g_got = calloc(n_p, sizeof *g_got),
          *ws = malloc((size_t)batch * (l->workspace + pl->workspace) * sizeof *ws);
    int32_t *won_want = malloc(n_out * sizeof *won_want), *won = malloc(n_out * sizeof *won);
    if (!in || !params || !z || !want || !got || !delta || !dz || !g_want || !g_got || !ws ||
        !won_want || !won) {
        test_fail(__FILE__, __LINE__, "out of memory");
        goto free_all;
    }
    rng r;
    rng_seed(&r, (uint64_t)maps * 7 + (uint64_t)pool, RNG_STREAM_TEST_DATA);
    for (size_t i = 0; i < n_in; i++) in[i] = (float)rng_below(&r, 3);
    for (size_t i = 0; i < n_p; i++) params[i] = (float)rng_below(&r, 3) - 1;
    /* zero biases: max(z) + b and max(z + b) may differ at ties rounding makes */
    for (size_t i = l->biases; i < n_p; i++) params[i] = 0;
    for (size_t i = 0; i < n_out; i++) delta[i] = (float)(rng_uniform(&r) * 2 - 1);

    ops->forward(l, params, in, z, ws, NULL, batch, NULL);
    max_pool_forward_f32(want, won_want, z, (nndl_shape){maps, l->out.height, l->out.width},
                         pool, batch);
    ops->forward(pl, params, in, got, ws, won, batch, NULL);
    CHECK(memcmp(got, want, n_out * sizeof *got) == 0);
    /* the winners, read back in the pooling code's form (the layer keeps
     * its own) */
    int same_winners = 1;
    for (int x = 0; x < batch; x++)
        for (int i = 0; i < pl->n_out; i++)
            same_winners &= conv_pool_winner_f32(pl, won + (size_t)x * pl->n_out, i) ==
                            won_want[(size_t)x * pl->n_out + i];
    CHECK(same_winners);

    max_pool_backward_f32(dz, delta, won_want, (nndl_shape){maps, l->out.height, l->out.width},
                          pool, batch);
    ops->backward_params(l, g_want, dz, in, ws, NULL, batch, NULL);
    ops->backward_params(pl, g_got, delta, in, ws, won, batch, NULL);
    /* BP4 bit for bit; BP3 sums the same errors in another order */
    CHECK(memcmp(g_got, g_want, l->n_weights * sizeof *g_got) == 0);
    for (size_t i = l->biases; i < n_p; i++) CHECK_NEAR(g_got[i], g_want[i], 1e-5);
free_all:
    free(in), free(params), free(z), free(want), free(got), free(delta), free(dz);
    free(g_want), free(g_got), free(ws), free(won_want), free(won);
done:
    nndl_net_free(pooled_net);
    nndl_net_free(plain_net);
}

TEST(conv_one_channel_pools_as_the_pooling_code_does)
{
    check_direct_pool(20, 5, 2, (nndl_shape){1, 28, 28}, 3); /* network3.py's first layer */
    check_direct_pool(6, 3, 2, (nndl_shape){1, 13, 12}, 2);  /* odd side: a row left out */
    check_direct_pool(5, 2, 3, (nndl_shape){1, 12, 15}, 2);  /* maps not a block of four */
    check_direct_pool(1, 1, 4, (nndl_shape){1, 9, 8}, 1);
    check_direct_pool(3, 3, 2, (nndl_shape){1, 7, 40}, 2);   /* rows too long for a vector */
}

TEST(conv_max_pool_sends_ties_to_the_first)
{
    /* one channel of 4x4, pooled 2x2: a tie of four, a tie of two, no tie
     * and a tie at the maximum after a larger first value */
    const float in[16] = {5, 5, 1, 3,  /* */
                           5, 5, 3, 0,  /* */
                           -1, 2, 7, 9, /* */
                           2, 0, 9, 8};
    float out[4], d_in[16], d_out[4] = {1, 10, 100, 1000};
    int32_t won[4];
    nndl_shape shape = {1, 4, 4};
    max_pool_forward_f32(out, won, in, shape, 2, 1);
    CHECK(out[0] == 5 && out[1] == 3 && out[2] == 2 && out[3] == 9);
    CHECK(won[0] == 0 && won[1] == 3 && won[2] == 9 && won[3] == 11);
    max_pool_backward_f32(d_in, d_out, won, shape, 2, 1);
    /* each region's error goes to exactly one input, its first maximum */
    double sums[4] = {0};
    int nonzero = 0;
    for (int i = 0; i < 16; i++) {
        int region = (i / 4 / 2) * 2 + (i % 4) / 2;
        sums[region] += d_in[i];
        nonzero += d_in[i] != 0;
    }
    CHECK(nonzero == 4 && d_in[0] == 1 && d_in[3] == 10 && d_in[9] == 100 && d_in[11] == 1000);
    /* At a tie the maximum has no derivative, but it has one along moving
     * the tied inputs together: 1, what the error sent back sums to. */
    const float h = 0.125f; /* exact in float */
    float moved[16], out_moved[4];
    memcpy(moved, in, sizeof moved);
    moved[0] += h, moved[1] += h, moved[4] += h, moved[5] += h; /* the tie of four */
    moved[3] += h, moved[6] += h;                               /* the tie of two */
    max_pool_forward_f32(out_moved, won, moved, shape, 2, 1);
    CHECK_NEAR((out_moved[0] - out[0]) / h, sums[0] / d_out[0], 1e-9);
    CHECK_NEAR((out_moved[1] - out[1]) / h, sums[1] / d_out[1], 1e-9);
    /* a channel that is NaN everywhere stays NaN and sends the error back
     * to one place */
    float nan_in[4] = {NAN, NAN, NAN, NAN}, nan_out, nan_d[4];
    max_pool_forward_f32(&nan_out, won, nan_in, (nndl_shape){1, 2, 2}, 2, 1);
    CHECK(isnan(nan_out) && won[0] == 0);
    max_pool_backward_f32(nan_d, d_out, won, (nndl_shape){1, 2, 2}, 2, 1);
    CHECK(nan_d[0] == 1 && nan_d[1] == 0 && nan_d[2] == 0 && nan_d[3] == 0);
}

/* A gradient check of a network given by layers. */
static void check_layers(const nndl_layer_spec *layers, int n, nndl_shape input, nndl_cost cost,
                         const nndl_gradcheck_options *opt, uint64_t seed, const char *what)
{
    nndl_net_spec spec = nndl_net_spec_default(0, NULL);
    spec.layers = layers;
    spec.n_layers = n;
    spec.input = input;
    spec.cost = cost;
    spec.seed = seed;
    nndl_gradcheck_result r;
    nndl_error err;
    if (nndl_gradcheck(&spec, opt, &r, &err) != NNDL_OK) {
        test_fail(__FILE__, __LINE__, "%s: %s", what, err.message);
        return;
    }
    /* a gradient of zeros would pass trivially; few parameters may sit at
     * a kink */
    if (!(r.max_rel_error < 1e-6) || !(r.max_abs_gradient > 1e-3) ||
        (r.n_skipped + r.n_kinked) * 10 > r.n_params)
        test_fail(__FILE__, __LINE__,
                  "%s, %s cost: worst relative error %g at %zu, largest gradient %g, %zu + %zu "
                  "of %zu skipped",
                  what, nndl_cost_name(cost), r.max_rel_error, r.worst_param,
                  r.max_abs_gradient, r.n_skipped, r.n_kinked, r.n_params);
}

TEST(gradcheck_conv_pool_every_activation_and_cost)
{
    static const nndl_gradcheck_options plain = {3, 0, 0, 0, 1000};
    static const nndl_gradcheck_options regularized = {3, 2.0f, 0.5f, 0.3f, 100};
    const nndl_shape input = {1, 12, 12};
    for (int act = 0; act < NNDL_ACT_COUNT; act++) {
        if (act == NNDL_ACT_SOFTMAX) continue;
        nndl_activation a = (nndl_activation)act;
        /* conv-pool fused as network3.py's ConvPoolLayer, then fc with its
         * inputs dropped out */
        nndl_layer_spec fused[] = {nndl_layer_conv(3, 3, 2, a), nndl_layer_fc(6, a),
                                   nndl_layer_fc(4, NNDL_ACT_SIGMOID)};
        /* conv, a pooling layer of its own, conv again */
        nndl_layer_spec apart[] = {nndl_layer_conv(2, 3, 1, a), nndl_layer_pool(2),
                                   nndl_layer_conv(3, 2, 1, a), nndl_layer_fc(4, NNDL_ACT_SIGMOID)};
        char what[64];
        for (int cost = 0; cost < NNDL_COST_COUNT; cost++) {
            snprintf(what, sizeof what, "conv-pool, %s", nndl_activation_name(a));
            check_layers(fused, 3, input, (nndl_cost)cost, &plain, 1, what);
            check_layers(fused, 3, input, (nndl_cost)cost, &regularized, 2, what);
            snprintf(what, sizeof what, "conv, pool, conv, %s", nndl_activation_name(a));
            check_layers(apart, 4, input, (nndl_cost)cost, &plain, 3, what);
        }
    }
    /* a one-channel conv-pool above another layer: its errors go down
     * through the winners it keeps in its own form */
    nndl_layer_spec above[] = {nndl_layer_conv(1, 3, 1, NNDL_ACT_TANH),
                               nndl_layer_conv(3, 3, 2, NNDL_ACT_RELU),
                               nndl_layer_fc(4, NNDL_ACT_SIGMOID)};
    check_layers(above, 3, input, NNDL_COST_CROSS_ENTROPY, &plain, 5, "one channel above");
    /* two channels in, pooling with a remainder (7x7 maps pooled by 3) */
    nndl_layer_spec odd[] = {nndl_layer_conv(2, 2, 1, NNDL_ACT_TANH),
                             nndl_layer_conv(3, 2, 3, NNDL_ACT_SIGMOID),
                             nndl_layer_fc(3, NNDL_ACT_SIGMOID)};
    check_layers(odd, 3, (nndl_shape){2, 9, 9}, NNDL_COST_CROSS_ENTROPY,
                 &(nndl_gradcheck_options){2, 0, 0, 0, 1000}, 4, "two channels, pool 3");
}

TEST(gradcheck_network3_layers_on_mnist_shapes)
{
    /* the check: conv:4:5,pool:2,fc:12,softmax:10 on 28x28 */
    nndl_layer_spec relu[] = {nndl_layer_conv(4, 5, 2, NNDL_ACT_RELU),
                              nndl_layer_fc(12, NNDL_ACT_RELU), nndl_layer_fc(10, 0)};
    nndl_layer_spec sigmoid[] = {nndl_layer_conv(4, 5, 2, NNDL_ACT_SIGMOID),
                                 nndl_layer_fc(12, NNDL_ACT_SIGMOID), nndl_layer_fc(10, 0)};
    static const nndl_gradcheck_options opt = {2, 0, 0, 0, 1000};
    check_layers(relu, 3, (nndl_shape){1, 28, 28}, NNDL_COST_LOG_LIKELIHOOD, &opt, 1, "relu");
    check_layers(sigmoid, 3, (nndl_shape){1, 28, 28}, NNDL_COST_LOG_LIKELIHOOD, &opt, 1,
                 "sigmoid");
}

/* ---- Model files of layer sequences (format version 3) ---- */

#include <zlib.h>

#include "common/byteio.h"

static nndl_net *layered_net(void)
{
    nndl_layer_spec layers[] = {nndl_layer_conv(3, 3, 2, NNDL_ACT_RELU), nndl_layer_pool(2),
                                nndl_layer_fc(5, NNDL_ACT_LINEAR), nndl_layer_fc(4, NNDL_ACT_TANH),
                                nndl_layer_fc(3, 0)};
    layers[3].dropout = 0.25f;
    nndl_net_spec spec = nndl_net_spec_default(0, NULL);
    spec.layers = layers;
    spec.n_layers = 5;
    spec.input = (nndl_shape){2, 10, 11};
    spec.cost = NNDL_COST_LOG_LIKELIHOOD;
    spec.init = NNDL_INIT_HE;
    spec.seed = 77;
    return nndl_net_create(&spec, NULL);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(1 << 16);
    *n = buf ? fread(buf, 1, 1 << 16, f) : 0;
    fclose(f);
    return buf;
}

static void spit(const char *path, const unsigned char *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(buf, 1, n, f);
        fclose(f);
    }
}

TEST(model_file_version3_round_trip_and_damage)
{
    nndl_net *net = layered_net();
    REQUIRE(net);
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/layers.nndl", test_tmpdir());
    snprintf(bad, sizeof bad, "%s/layers-bad.nndl", test_tmpdir());
    nndl_error err;
    REQUIRE(nndl_net_save(net, path, &err) == NNDL_OK);
    nndl_net *back = nndl_net_load(path, &err);
    REQUIRE(back);
    CHECK(nndl_net_param_count(back) == nndl_net_param_count(net));
    CHECK(memcmp(nndl_net_params(back), nndl_net_params(net),
                 nndl_net_param_count(net) * sizeof(float)) == 0);
    nndl_layer_info a, b;
    for (int l = 1; l <= 5; l++) {
        REQUIRE(nndl_net_layer(net, l, &a, &err) == NNDL_OK);
        REQUIRE(nndl_net_layer(back, l, &b, &err) == NNDL_OK);
        CHECK(memcmp(&a, &b, sizeof a) == 0);
    }
    CHECK(nndl_net_init(back) == NNDL_INIT_HE && nndl_net_seed(back) == 77);
    float in[220], out1[3], out2[3];
    for (int i = 0; i < 220; i++) in[i] = (float)((i * 7) % 13) / 13;
    REQUIRE(nndl_net_feedforward(net, in, 1, out1, &err) == NNDL_OK);
    REQUIRE(nndl_net_feedforward(back, in, 1, out2, &err) == NNDL_OK);
    CHECK(memcmp(out1, out2, sizeof out1) == 0);
    nndl_net_free(back);

    size_t n;
    unsigned char *file = slurp(path, &n);
    REQUIRE(file && n > 200);
    CHECK(read_u32_le(file + 8) == 3);
    /* every truncation is refused */
    for (size_t cut = 0; cut < n; cut += cut < 200 ? 1 : 97) {
        spit(bad, file, cut);
        nndl_net *t = nndl_net_load(bad, &err);
        CHECK(!t && err.status == NNDL_ERR_FORMAT);
        nndl_net_free(t);
    }
    /* damaged fields, with the checksum made right again */
    static const struct {
        size_t offset;
        uint32_t value;
        const char *message;
    } damage[] = {
        {24, 0, "0 layers"},               {24, 64, "64 layers"},
        {28, 0, "input shape"},            {32, 4, "pool 2 over 1 x 4"},
        {40, 9, "unknown kind"},           {44, 3, "softmax is for the output layer"},
        {52, 0, "filters"},                {52, 11, "11 x 11 filters"},
        {56, 0, "pool 0"},                 {48, 1000000, "feature maps"},
        {40 + 24 * 4 + 4, 0, "layer 5 is sigmoid"},
        {40 + 24 * 3 + 20, 0x7fc00000, "dropout"}, /* NaN */
        {40 + 20, 0x3f000000, "dropout applies"},
        {40 + 24 * 5 + 8, 12, "declares 12 parameters"},
    };
    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        unsigned char copy[1 << 16];
        memcpy(copy, file, n);
        write_u32_le(copy + damage[i].offset, damage[i].value);
        write_u32_le(copy + n - 4, (uint32_t)crc32(0, copy, (uInt)(n - 4)));
        spit(bad, copy, n);
        nndl_net *t = nndl_net_load(bad, &err);
        CHECK(!t);
        if (!t && (err.status != NNDL_ERR_FORMAT || !strstr(err.message, damage[i].message)))
            test_fail(__FILE__, __LINE__, "damage %zu: \"%s\" lacks \"%s\"", i, err.message,
                      damage[i].message);
        nndl_net_free(t);
    }
    free(file);
    /* a dense network of sizes is still written as version 2 */
    int sizes[] = {4, 3, 2};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    nndl_net *dense = nndl_net_create(&spec, &err);
    REQUIRE(dense && nndl_net_save(dense, path, &err) == NNDL_OK);
    file = slurp(path, &n);
    REQUIRE(file);
    CHECK(read_u32_le(file + 8) == 2);
    free(file);
    nndl_net_free(dense);
    nndl_net_free(net);
}

TEST(model_file_version3_example_matches_the_doc)
{
    /* docs/MODEL_FORMAT.md, "Version 3": the 140 bytes of the example */
    static const unsigned char want[140] = {
        0x4e, 0x4e, 0x44, 0x4c, 0x4d, 0x4f, 0x44, 0x4c, 3, 0, 0, 0, 0, 0, 0, 0, /* 0 */
        0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0,                         /* 16 */
        3, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0,                         /* 32 */
        1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,                         /* 48 */
        0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,                         /* 64 */
        0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0,                         /* 80 */
        7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x3f,                      /* 96 */
        0, 0, 0x80, 0xbe, 0, 0, 0x80, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x3e,          /* 112 */
        0, 0, 0, 0x40, 0, 0, 0x80, 0xbf, 0x11, 0x6f, 0x76, 0x6c,                /* 128 */
    };
    nndl_layer_spec layers[] = {nndl_layer_conv(1, 2, 2, NNDL_ACT_RELU),
                                nndl_layer_fc(1, NNDL_ACT_SIGMOID)};
    nndl_net_spec spec = nndl_net_spec_default(0, NULL);
    spec.layers = layers;
    spec.n_layers = 2;
    spec.input = (nndl_shape){1, 3, 3};
    spec.seed = 7;
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    REQUIRE(net && nndl_net_param_count(net) == 7);
    static const float values[7] = {0.5f, -0.25f, 1.0f, 0.0f, 0.125f, 2.0f, -1.0f};
    memcpy(nndl_net_params(net), values, sizeof values);
    char path[512];
    snprintf(path, sizeof path, "%s/example3.nndl", test_tmpdir());
    REQUIRE(nndl_net_save(net, path, &err) == NNDL_OK);
    size_t n;
    unsigned char *got = slurp(path, &n);
    REQUIRE(got);
    CHECK(n == sizeof want && memcmp(got, want, sizeof want) == 0);
    free(got);
    nndl_net_free(net);
}
