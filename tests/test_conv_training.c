/* Training convolutional networks: one step against the same step written
 * out by hand, bit-identical weights for any number of threads and across
 * a checkpoint, a vote of several networks, and an epoch on real MNIST. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "net/backprop.h"
#include "nndl.h"

/* A network of `layers` on 28x28 images, seed 3. */
static nndl_net *net_of(nndl_layer_spec *layers, int n_layers)
{
    nndl_net_spec spec = nndl_net_spec_default(0, NULL);
    spec.layers = layers;
    spec.n_layers = n_layers;
    spec.input = (nndl_shape){1, 28, 28};
    spec.cost = NNDL_COST_LOG_LIKELIHOOD;
    spec.init = NNDL_INIT_NETWORK3;
    spec.seed = 3;
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    if (!net) test_fail(__FILE__, __LINE__, "%s", err.message);
    return net;
}

/* conv:4:5,pool:2,fc:20,softmax:10 (with dropout 0.3 on the fc's inputs
 * when `dropout`) on 28x28, seed 3. */
static nndl_net *small_conv_net(nndl_activation act, int dropout)
{
    nndl_layer_spec layers[] = {nndl_layer_conv(4, 5, 2, act), nndl_layer_fc(20, act),
                                nndl_layer_fc(10, NNDL_ACT_SIGMOID)};
    if (dropout) layers[1].dropout = 0.3f;
    return net_of(layers, 3);
}

static int train(nndl_net *net, const nndl_dataset *ds, int epochs, int batch, float lambda,
                 float momentum, int threads)
{
    nndl_net_set_threads(net, threads);
    nndl_sgd_config c = nndl_sgd_config_default(batch, 0.1f);
    c.seed = 9;
    c.lambda = lambda;
    c.momentum = momentum;
    nndl_error err;
    nndl_trainer *t = nndl_trainer_create(net, &c, &err);
    int ok = t != NULL;
    for (int e = 0; ok && e < epochs; e++)
        ok = nndl_trainer_epoch(t, ds, NULL, NULL, &err) == NNDL_OK;
    if (!ok) test_fail(__FILE__, __LINE__, "%s", err.message);
    nndl_trainer_free(t);
    return ok;
}

static int same_params(const nndl_net *a, const nndl_net *b)
{
    return nndl_net_param_count(a) == nndl_net_param_count(b) &&
           memcmp(nndl_net_params_const(a), nndl_net_params_const(b),
                  nndl_net_param_count(a) * sizeof(float)) == 0;
}

TEST(conv_training_is_bit_identical_for_1_and_2_threads)
{
    nndl_dataset *ds = test_mnist_head(600, NULL);
    REQUIRE(ds);
    /* batch 100 splits the examples over the threads, batch 10 does not;
     * dropout and momentum go through the other step */
    static const struct {
        int batch, dropout;
        float lambda, momentum;
    } runs[] = {{10, 0, 0, 0}, {100, 0, 0, 0}, {100, 1, 1.0f, 0.5f}};
    for (int r = 0; r < 3; r++) {
        nndl_net *one = small_conv_net(NNDL_ACT_RELU, runs[r].dropout);
        nndl_net *two = small_conv_net(NNDL_ACT_RELU, runs[r].dropout);
        REQUIRE(one && two);
        REQUIRE(train(one, ds, 1, runs[r].batch, runs[r].lambda, runs[r].momentum, 1));
        REQUIRE(train(two, ds, 1, runs[r].batch, runs[r].lambda, runs[r].momentum, 2));
        if (!same_params(one, two))
            test_fail(__FILE__, __LINE__, "run %d: threads change the weights", r);
        nndl_net_free(one);
        nndl_net_free(two);
    }
    nndl_dataset_free(ds);
}

/* At mini-batch 10 the large fully connected layers take BP2 and their step
 * in one pass, split by inputs, and their forward products split by
 * neurons over the whole batch (backprop.c): the final network's shape in
 * small, conv:4:5,pool:2, fc:64 and fc:600 (fused, with dropout on their
 * inputs), softmax:10 (not fused, on top of them). */
TEST(conv_training_with_fused_layers_is_bit_identical_for_1_and_2_threads)
{
    nndl_dataset *ds = test_mnist_head(300, NULL);
    REQUIRE(ds);
    nndl_net *nets[2];
    for (int i = 0; i < 2; i++) {
        nndl_layer_spec layers[] = {nndl_layer_conv(4, 5, 2, NNDL_ACT_RELU),
                                    nndl_layer_fc(64, NNDL_ACT_RELU),
                                    nndl_layer_fc(600, NNDL_ACT_RELU),
                                    nndl_layer_fc(10, NNDL_ACT_SIGMOID)};
        layers[1].dropout = layers[2].dropout = 0.5f;
        nets[i] = net_of(layers, 4);
        REQUIRE(nets[i]);
    }
    /* 576 x 64 and 64 x 600 weights: both at least the fused pass's minimum */
    REQUIRE(backprop_fuse_min_weights_f32 <= 576 * 64 &&
            backprop_fuse_min_weights_f32 <= 64 * 600);
    REQUIRE(train(nets[0], ds, 1, 10, 1.0f, 0, 1));
    REQUIRE(train(nets[1], ds, 1, 10, 1.0f, 0, 2));
    CHECK(same_params(nets[0], nets[1]));
    for (int i = 0; i < 2; i++) nndl_net_free(nets[i]);
    nndl_dataset_free(ds);
}

/* With the default thread count each epoch trains its first 96 batches in
 * turns on two threads and on one, then the rest the faster way: the same
 * weights as one thread throughout, for a convolutional network with
 * dropout and momentum and a dense one whose first layer takes the sparse
 * products. */
TEST(training_with_threads_chosen_each_epoch_is_bit_identical)
{
    nndl_dataset *ds = test_mnist_head(4000, NULL); /* 400 batches: probed */
    REQUIRE(ds);
    const int omp_threads = omp_get_max_threads();
    omp_set_num_threads(2); /* "all cores" is two here, whatever the machine */
    int sizes[] = {784, 30, 10};
    for (int r = 0; r < 2; r++) {
        nndl_net *one, *chosen;
        if (r == 0) {
            one = small_conv_net(NNDL_ACT_RELU, 1);
            chosen = small_conv_net(NNDL_ACT_RELU, 1);
        } else {
            nndl_net_spec spec = nndl_net_spec_default(3, sizes);
            spec.seed = 3;
            one = nndl_net_create(&spec, NULL);
            chosen = nndl_net_create(&spec, NULL);
        }
        REQUIRE(one && chosen);
        REQUIRE(train(one, ds, 2, 10, r ? 0 : 1.0f, r ? 0 : 0.5f, 1));
        REQUIRE(train(chosen, ds, 2, 10, r ? 0 : 1.0f, r ? 0 : 0.5f, 0));
        if (!same_params(one, chosen))
            test_fail(__FILE__, __LINE__, "run %d: choosing the threads changes the weights", r);
        nndl_net_free(one);
        nndl_net_free(chosen);
    }
    omp_set_num_threads(omp_threads);
    nndl_dataset_free(ds);
}

/* BP2 and the step in one pass over a layer's weights (at batches up to
 * MATMUL_FUSED_MAX_BATCH, for large layers) or in separate passes: the
 * same weights, with dropout and L2, on a convolutional network and on a
 * dense one whose first layer takes the sparse products. */
TEST(training_fused_pass_changes_no_weight)
{
    nndl_dataset *ds = test_mnist_head(300, NULL);
    REQUIRE(ds);
    static const struct {
        int conv, batch, dropout, threads;
        float lambda;
    } runs[] = {{1, 10, 0, 1, 0}, {1, 10, 1, 2, 1.0f}, {1, 7, 1, 1, 1.0f},
                {0, 10, 1, 1, 1.0f}, {0, 9, 0, 2, 0.5f}};
    const size_t saved = backprop_fuse_min_weights_f32;
    for (int r = 0; r < (int)(sizeof runs / sizeof runs[0]); r++) {
        nndl_net *nets[2];
        for (int fused = 0; fused < 2; fused++) {
            nndl_layer_spec conv[] = {nndl_layer_conv(4, 5, 2, NNDL_ACT_RELU),
                                      nndl_layer_fc(40, NNDL_ACT_RELU),
                                      nndl_layer_fc(30, NNDL_ACT_RELU),
                                      nndl_layer_fc(10, NNDL_ACT_SOFTMAX)};
            nndl_layer_spec dense[] = {nndl_layer_fc(50, NNDL_ACT_SIGMOID),
                                       nndl_layer_fc(40, NNDL_ACT_SIGMOID),
                                       nndl_layer_fc(10, NNDL_ACT_SOFTMAX)};
            nndl_layer_spec *layers = runs[r].conv ? conv : dense;
            int n_layers = runs[r].conv ? 4 : 3;
            for (int l = 1; runs[r].dropout && l < n_layers; l++) /* on their inputs */
                layers[l].dropout = 0.5f;
            nets[fused] = net_of(layers, n_layers);
            REQUIRE(nets[fused]);
            /* every layer with BP2 fused, or none */
            backprop_fuse_min_weights_f32 = fused ? 0 : (size_t)-1;
            train(nets[fused], ds, 1, runs[r].batch, runs[r].lambda, 0, runs[r].threads);
        }
        backprop_fuse_min_weights_f32 = saved;
        if (!same_params(nets[0], nets[1]))
            test_fail(__FILE__, __LINE__, "run %d: the fused pass changes the weights", r);
        nndl_net_free(nets[0]);
        nndl_net_free(nets[1]);
    }
    nndl_dataset_free(ds);
}

TEST(conv_checkpoint_resumes_bit_identically)
{
    nndl_dataset *ds = test_mnist_head(500, NULL);
    REQUIRE(ds);
    char path[512];
    snprintf(path, sizeof path, "%s/conv.ckpt", test_tmpdir());
    nndl_sgd_config c = nndl_sgd_config_default(10, 0.1f);
    c.momentum = 0.5f; /* velocities go into the checkpoint too */
    nndl_error err;
    nndl_net *straight = small_conv_net(NNDL_ACT_RELU, 1), *first = small_conv_net(NNDL_ACT_RELU, 1),
             *resumed = small_conv_net(NNDL_ACT_RELU, 1);
    REQUIRE(straight && first && resumed);
    nndl_trainer *t1 = nndl_trainer_create(straight, &c, &err),
                 *t2 = nndl_trainer_create(first, &c, &err),
                 *t3 = nndl_trainer_create(resumed, &c, &err);
    REQUIRE(t1 && t2 && t3);
    for (int e = 0; e < 2; e++) REQUIRE(nndl_trainer_epoch(t1, ds, NULL, NULL, &err) == NNDL_OK);
    REQUIRE(nndl_trainer_epoch(t2, ds, NULL, NULL, &err) == NNDL_OK);
    REQUIRE(nndl_checkpoint_save(path, first, t2, NULL, "{}", &err) == NNDL_OK);
    REQUIRE(nndl_checkpoint_restore(path, resumed, t3, NULL, &err) == NNDL_OK);
    REQUIRE(nndl_trainer_epoch(t3, ds, NULL, NULL, &err) == NNDL_OK);
    CHECK(same_params(straight, resumed));
    nndl_trainer_free(t1), nndl_trainer_free(t2), nndl_trainer_free(t3);
    nndl_net_free(straight), nndl_net_free(first), nndl_net_free(resumed);
    nndl_dataset_free(ds);
}

static double sigmoid(double z) { return 1 / (1 + exp(-z)); }

TEST(conv_one_step_matches_the_step_by_hand)
{
    /* 5x5 images, conv 2 maps of 2x2 (4x4), max-pool 2 (2x2x2), softmax
     * of 3; sigmoid; both images in one mini-batch; eta 0.5 */
    enum { S = 5, K = 2, F = 2, C = 4, P = 2, Q = 2, N = F * Q * Q, CLASSES = 3, B = 2 };
    nndl_error err;
    nndl_dataset *ds = nndl_dataset_create(B, S, S, &err);
    REQUIRE(ds);
    for (int x = 0; x < B; x++)
        for (int i = 0; i < S * S; i++)
            nndl_dataset_image_mut(ds, x)[i] = (uint8_t)((i * 37 + x * 101 + i * i * 3) % 256);
    nndl_dataset_labels_mut(ds)[0] = 2;
    nndl_dataset_labels_mut(ds)[1] = 0;
    nndl_layer_spec layers[] = {nndl_layer_conv(F, K, P, NNDL_ACT_SIGMOID),
                                nndl_layer_fc(CLASSES, NNDL_ACT_SIGMOID)};
    nndl_net_spec spec = nndl_net_spec_default(0, NULL);
    spec.layers = layers;
    spec.n_layers = 2;
    spec.input = (nndl_shape){1, S, S};
    spec.cost = NNDL_COST_LOG_LIKELIHOOD;
    spec.seed = 5;
    nndl_net *net = nndl_net_create(&spec, &err);
    REQUIRE(net);
    REQUIRE(nndl_net_param_count(net) == F * K * K + F + CLASSES * N + CLASSES);
    /* the parameters as nndl.h lays them out */
    const float *p = nndl_net_params_const(net);
    double w[F][K][K], b[F], v[CLASSES][N], c[CLASSES];
    for (int f = 0; f < F; f++)
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) w[f][i][j] = p[(f * K + i) * K + j];
    for (int f = 0; f < F; f++) b[f] = p[F * K * K + f];
    for (int j = 0; j < CLASSES; j++)
        for (int k = 0; k < N; k++) v[j][k] = p[F * K * K + F + j * N + k];
    for (int j = 0; j < CLASSES; j++) c[j] = p[F * K * K + F + CLASSES * N + j];

    double gw[F][K][K] = {{{0}}}, gb[F] = {0}, gv[CLASSES][N] = {{0}}, gc[CLASSES] = {0};
    for (int x = 0; x < B; x++) {
        const uint8_t *img = nndl_dataset_image(ds, x);
        double z[F][C][C], a[N];
        int wy[N], wx[N];
        for (int f = 0; f < F; f++)
            for (int y = 0; y < C; y++)
                for (int xx = 0; xx < C; xx++) {
                    z[f][y][xx] = b[f];
                    for (int i = 0; i < K; i++)
                        for (int j = 0; j < K; j++)
                            z[f][y][xx] += w[f][i][j] * img[(y + i) * S + xx + j] / 255.0;
                }
        /* pool, then sigmoid; feature (py, px, f) at (py * Q + px) * F + f */
        for (int py = 0; py < Q; py++)
            for (int px = 0; px < Q; px++)
                for (int f = 0; f < F; f++) {
                    int k = (py * Q + px) * F + f, by = 2 * py, bx = 2 * px;
                    for (int i = 0; i < P; i++)
                        for (int j = 0; j < P; j++)
                            if (z[f][2 * py + i][2 * px + j] > z[f][by][bx])
                                by = 2 * py + i, bx = 2 * px + j;
                    a[k] = sigmoid(z[f][by][bx]);
                    wy[k] = by, wx[k] = bx;
                }
        double out[CLASSES], sum = 0;
        for (int j = 0; j < CLASSES; j++) {
            out[j] = c[j];
            for (int k = 0; k < N; k++) out[j] += v[j][k] * a[k];
            out[j] = exp(out[j]);
            sum += out[j];
        }
        int label = nndl_dataset_labels(ds)[x];
        double delta[CLASSES], d_a[N] = {0};
        for (int j = 0; j < CLASSES; j++) {
            delta[j] = out[j] / sum - (j == label); /* BP1 for softmax and -ln a_y */
            gc[j] += delta[j];
            for (int k = 0; k < N; k++) {
                gv[j][k] += delta[j] * a[k];
                d_a[k] += v[j][k] * delta[j];
            }
        }
        for (int k = 0; k < N; k++) {
            int f = k % F;
            double d = d_a[k] * a[k] * (1 - a[k]); /* through the sigmoid, to the winner */
            gb[f] += d;
            for (int i = 0; i < K; i++)
                for (int j = 0; j < K; j++)
                    gw[f][i][j] += d * img[(wy[k] + i) * S + wx[k] + j] / 255.0;
        }
    }
    nndl_sgd_config config = nndl_sgd_config_default(B, 0.5f);
    nndl_trainer *t = nndl_trainer_create(net, &config, &err);
    REQUIRE(t);
    REQUIRE(nndl_trainer_epoch(t, ds, NULL, NULL, &err) == NNDL_OK);
    nndl_trainer_free(t);
    /* w -> w - (eta/m) sum_x dC_x/dw: eq. 20, 21 */
    const double step = 0.5 / B, tol = 2e-6;
    int i = 0;
    for (int f = 0; f < F; f++)
        for (int y = 0; y < K; y++)
            for (int x = 0; x < K; x++, i++) CHECK_NEAR(p[i], w[f][y][x] - step * gw[f][y][x], tol);
    for (int f = 0; f < F; f++, i++) CHECK_NEAR(p[i], b[f] - step * gb[f], tol);
    for (int j = 0; j < CLASSES; j++)
        for (int k = 0; k < N; k++, i++) CHECK_NEAR(p[i], v[j][k] - step * gv[j][k], tol);
    for (int j = 0; j < CLASSES; j++, i++) CHECK_NEAR(p[i], c[j] - step * gc[j], tol);
    /* and the step moved something: a gradient of zeros passes the above */
    double largest = 0;
    for (int f = 0; f < F; f++) largest = fmax(largest, fabs(gb[f]));
    CHECK(largest > 1e-3);
    nndl_net_free(net);
    nndl_dataset_free(ds);
}

TEST(conv_one_epoch_on_mnist_and_a_vote)
{
    nndl_dataset *test = NULL, *ds = test_mnist_head(10000, &test);
    REQUIRE(ds && test);
    nndl_net *nets[3];
    size_t correct[3];
    nndl_error err;
    for (int k = 0; k < 3; k++) {
        nndl_layer_spec layers[] = {nndl_layer_conv(6, 5, 2, NNDL_ACT_RELU),
                                    nndl_layer_fc(30, NNDL_ACT_RELU), nndl_layer_fc(10, 0)};
        nndl_net_spec spec = nndl_net_spec_default(0, NULL);
        spec.layers = layers;
        spec.n_layers = 3;
        spec.input = (nndl_shape){1, 28, 28};
        spec.cost = NNDL_COST_LOG_LIKELIHOOD;
        spec.init = NNDL_INIT_NETWORK3;
        spec.seed = 20 + (uint64_t)k;
        REQUIRE((nets[k] = nndl_net_create(&spec, &err)));
        REQUIRE(train(nets[k], ds, 1, 10, 0, 0, 0));
        REQUIRE(nndl_net_evaluate(nets[k], test, &correct[k], &err) == NNDL_OK);
        fprintf(stderr, "    network %d: %zu / 10000 after one epoch of 10,000 images\n", k + 1,
                correct[k]);
        CHECK(correct[k] >= 9000); /* 92-93% here */
    }
    int *answers = malloc(10000 * sizeof *answers), *single = malloc(10000 * sizeof *single);
    REQUIRE(answers && single);
    nndl_confusion vote = {0}, one = {0};
    REQUIRE(nndl_ensemble_answers(nets, 3, test, answers, &err) == NNDL_OK);
    REQUIRE(nndl_confusion_from_answers(test, answers, 10, &vote, &err) == NNDL_OK);
    /* a vote of one network is that network */
    REQUIRE(nndl_ensemble_answers(nets, 1, test, single, &err) == NNDL_OK);
    REQUIRE(nndl_confusion_from_answers(test, single, 10, &one, &err) == NNDL_OK);
    CHECK(one.correct == correct[0]);
    fprintf(stderr, "    vote of three: %zu / 10000\n", vote.correct);
    size_t best = correct[0] > correct[1] ? correct[0] : correct[1];
    best = best > correct[2] ? best : correct[2];
    CHECK(vote.correct + 30 >= best); /* a vote is about as good as its best member, or better */

    /* the mean vote: the class of largest summed output, from each
     * network's outputs as nndl_net_feedforward gives them */
    enum { SHOWN = 2000 };
    float *inputs = malloc((size_t)SHOWN * 784 * sizeof *inputs);
    float *outputs = malloc((size_t)SHOWN * 10 * sizeof *outputs);
    double *sums = calloc((size_t)SHOWN * 10, sizeof *sums);
    REQUIRE(inputs && outputs && sums);
    for (size_t i = 0; i < SHOWN; i++)
        for (int k = 0; k < 784; k++)
            inputs[i * 784 + k] = nndl_dataset_image(test, i)[k] * (1.0f / 255.0f);
    for (int k = 0; k < 3; k++) {
        REQUIRE(nndl_net_feedforward(nets[k], inputs, SHOWN, outputs, &err) == NNDL_OK);
        for (size_t i = 0; i < (size_t)SHOWN * 10; i++) sums[i] += outputs[i];
    }
    REQUIRE(nndl_ensemble_vote(nets, 3, test, NNDL_VOTE_MEAN, single, &err) == NNDL_OK);
    int same = 0, differs_from_plurality = 0;
    for (size_t i = 0; i < SHOWN; i++) {
        int top = 0;
        for (int c = 1; c < 10; c++)
            if (sums[i * 10 + c] > sums[i * 10 + top]) top = c;
        same += single[i] == top;
        differs_from_plurality += single[i] != answers[i];
    }
    CHECK(same == SHOWN);
    /* three networks after one epoch disagree on a few images, and there
     * the two rules can part */
    fprintf(stderr, "    mean vote and plurality differ on %d of %d images\n",
            differs_from_plurality, SHOWN);
    CHECK(differs_from_plurality > 0); /* 31 here: the rule was applied */
    CHECK(nndl_ensemble_vote(nets, 3, test, (nndl_vote)7, single, &err) == NNDL_ERR_ARG);
    free(inputs);
    free(outputs);
    free(sums);
    nndl_confusion_free(&vote);
    nndl_confusion_free(&one);
    free(answers);
    free(single);
    for (int k = 0; k < 3; k++) nndl_net_free(nets[k]);
    nndl_dataset_free(ds);
    nndl_dataset_free(test);
}
