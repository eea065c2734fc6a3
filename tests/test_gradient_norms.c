/* nndl_net_gradient and nndl_net_gradient_norms (chapter 5's speed of
 * learning): against finite differences of the cost, against per-image
 * gradients, for every layer kind; and train --monitor gradient-norms. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "common/rng.h"
#include "nndl.h"

#ifndef NNDL_CLI_PATH
#define NNDL_CLI_PATH "build/nndl"
#endif

/* `count` images of rows x cols random pixels and labels below `classes`. */
static nndl_dataset *random_data(size_t count, int rows, int cols, int classes, uint64_t seed)
{
    nndl_dataset *ds = nndl_dataset_create(count, rows, cols, NULL);
    if (!ds) return NULL;
    rng r;
    rng_seed(&r, seed, 0);
    for (size_t i = 0; i < count; i++) {
        uint8_t *px = nndl_dataset_image_mut(ds, i);
        for (int p = 0; p < rows * cols; p++) px[p] = (uint8_t)rng_below(&r, 256);
        nndl_dataset_labels_mut(ds)[i] = (uint8_t)rng_below(&r, (uint64_t)classes);
    }
    return ds;
}

/* Compares nndl_net_gradient with centered differences of the mean cost,
 * C(p + h) - C(p - h) / 2h, every parameter in turn. The network runs in
 * float, so h is large and the tolerance loose; a missing 1/n or a wrong
 * layer would still be off by far more. */
static void check_against_differences(nndl_net *net, const nndl_dataset *ds, const char *what)
{
    size_t n = nndl_net_param_count(net), count = nndl_dataset_count(ds);
    float *grad = malloc(n * sizeof *grad);
    REQUIRE(grad);
    nndl_error err;
    REQUIRE(nndl_net_gradient(net, ds, 0, count, grad, &err) == NNDL_OK);
    float *p = nndl_net_params(net);
    const float h = 1e-2f;
    double largest = 0;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float saved = p[i];
        double up, down;
        p[i] = saved + h;
        REQUIRE(nndl_net_total_cost(net, ds, 0, 0, &up, &err) == NNDL_OK);
        p[i] = saved - h;
        REQUIRE(nndl_net_total_cost(net, ds, 0, 0, &down, &err) == NNDL_OK);
        p[i] = saved;
        double fd = (up - down) / (2.0 * h);
        largest = fmax(largest, fabs(grad[i]));
        if (!(fabs(fd - grad[i]) <= 2e-3 + 2e-2 * fabs(fd)) && bad++ < 3)
            test_fail(__FILE__, __LINE__, "%s: parameter %zu: backprop %.6g, differences %.6g",
                      what, i, (double)grad[i], fd);
    }
    CHECK(largest > 0.01); /* not passing on a gradient of zeros */
    free(grad);
}

TEST(gradient_matches_finite_differences_dense)
{
    static const int sizes[] = {4, 5, 3};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.cost = NNDL_COST_CROSS_ENTROPY;
    spec.seed = 3;
    nndl_net *net = nndl_net_create(&spec, NULL);
    nndl_dataset *ds = random_data(8, 2, 2, 3, 5);
    REQUIRE(net && ds);
    check_against_differences(net, ds, "[4,5,3]");
    nndl_net_free(net);
    nndl_dataset_free(ds);
}

TEST(gradient_matches_finite_differences_conv_pool_softmax)
{
    nndl_layer_spec layers[] = {nndl_layer_conv(2, 3, 1, NNDL_ACT_TANH), nndl_layer_pool(2),
                                nndl_layer_fc(3, NNDL_ACT_SOFTMAX)};
    static const int none[] = {0};
    nndl_net_spec spec = nndl_net_spec_default(0, none);
    spec.layers = layers;
    spec.n_layers = 3;
    spec.input = (nndl_shape){1, 6, 6};
    spec.cost = NNDL_COST_LOG_LIKELIHOOD;
    spec.init = NNDL_INIT_SCALED; /* network3's would start the softmax layer at 0 */
    spec.seed = 7;
    nndl_net *net = nndl_net_create(&spec, NULL);
    nndl_dataset *ds = random_data(6, 6, 6, 3, 9);
    REQUIRE(net && ds);
    check_against_differences(net, ds, "conv:2:3:tanh,pool:2,softmax:3");
    nndl_net_free(net);
    nndl_dataset_free(ds);
}

/* Over 300 images (more than one chunk of the computation) the gradient is
 * the mean of the 300 single-image gradients, for one thread or two. */
TEST(gradient_is_the_mean_of_single_image_gradients)
{
    static const int sizes[] = {9, 6, 4, 3};
    nndl_net_spec spec = nndl_net_spec_default(4, sizes);
    spec.seed = 11;
    nndl_net *net = nndl_net_create(&spec, NULL);
    nndl_dataset *ds = random_data(300, 3, 3, 3, 13);
    REQUIRE(net && ds);
    size_t n = nndl_net_param_count(net);
    float *all = malloc(n * sizeof *all), *two = malloc(n * sizeof *two),
          *one = malloc(n * sizeof *one);
    double *sum = calloc(n, sizeof *sum);
    REQUIRE(all && two && one && sum);
    nndl_net_set_threads(net, 1);
    REQUIRE(nndl_net_gradient(net, ds, 0, 300, all, NULL) == NNDL_OK);
    for (size_t x = 0; x < 300; x++) {
        REQUIRE(nndl_net_gradient(net, ds, x, 1, one, NULL) == NNDL_OK);
        for (size_t i = 0; i < n; i++) sum[i] += one[i];
    }
    for (size_t i = 0; i < n; i++) CHECK_NEAR(all[i], sum[i] / 300, 1e-6 + 1e-5 * fabs(sum[i] / 300));
    nndl_net_set_threads(net, 2);
    REQUIRE(nndl_net_gradient(net, ds, 0, 300, two, NULL) == NNDL_OK);
    CHECK(memcmp(all, two, n * sizeof *all) == 0);
    free(all);
    free(two);
    free(one);
    free(sum);
    nndl_net_free(net);
    nndl_dataset_free(ds);
}

/* The norms are the lengths of the gradient's tensors; a pooling layer has
 * none; entry 0 is 0. */
TEST(gradient_norms_are_lengths_of_each_layers_tensors)
{
    nndl_layer_spec layers[] = {nndl_layer_conv(3, 3, 1, NNDL_ACT_RELU), nndl_layer_pool(2),
                                nndl_layer_fc(5, NNDL_ACT_SIGMOID),
                                nndl_layer_fc(2, NNDL_ACT_SIGMOID)};
    static const int none[] = {0};
    nndl_net_spec spec = nndl_net_spec_default(0, none);
    spec.layers = layers;
    spec.n_layers = 4;
    spec.input = (nndl_shape){1, 7, 7};
    spec.cost = NNDL_COST_CROSS_ENTROPY;
    spec.init = NNDL_INIT_HE;
    spec.seed = 17;
    nndl_net *net = nndl_net_create(&spec, NULL);
    nndl_dataset *ds = random_data(20, 7, 7, 2, 19);
    REQUIRE(net && ds);
    size_t n = nndl_net_param_count(net);
    float *grad = malloc(n * sizeof *grad);
    REQUIRE(grad);
    REQUIRE(nndl_net_gradient(net, ds, 0, 20, grad, NULL) == NNDL_OK);
    double w[5] = {-1, -1, -1, -1, -1}, b[5] = {-1, -1, -1, -1, -1};
    REQUIRE(nndl_net_gradient_norms(net, ds, 0, 20, w, b, NULL) == NNDL_OK);
    CHECK(w[0] == 0 && b[0] == 0);
    CHECK(w[2] == 0 && b[2] == 0); /* the pooling layer */
    for (int l = 1; l <= 4; l++) {
        nndl_layer_info info;
        REQUIRE(nndl_net_layer(net, l, &info, NULL) == NNDL_OK);
        size_t n_biases = info.spec.kind == NNDL_LAYER_POOL ? 0 : (size_t)info.spec.size;
        double sw = 0, sb = 0;
        for (size_t i = 0; i < info.params; i++) {
            double g = grad[info.first_param + i];
            if (i < info.params - n_biases)
                sw += g * g;
            else
                sb += g * g;
        }
        CHECK_NEAR(w[l], sqrt(sw), 1e-5 * sqrt(sw) + 1e-9);
        CHECK_NEAR(b[l], sqrt(sb), 1e-5 * sqrt(sb) + 1e-9);
        if (info.params) CHECK(w[l] > 0 && b[l] > 0);
    }
    /* only the norms asked for; ranges checked */
    REQUIRE(nndl_net_gradient_norms(net, ds, 5, 15, NULL, b, NULL) == NNDL_OK);
    nndl_error err;
    CHECK(nndl_net_gradient_norms(net, ds, 5, 16, w, b, &err) == NNDL_ERR_ARG);
    CHECK(strstr(err.message, "gradient: images 5 to 21 asked of a data set of 20"));
    CHECK(nndl_net_gradient(net, ds, 0, 0, grad, &err) == NNDL_ERR_ARG);
    nndl_dataset *wrong = random_data(4, 5, 5, 2, 1);
    CHECK(nndl_net_gradient(net, wrong, 0, 4, grad, &err) == NNDL_ERR_ARG);
    nndl_dataset_free(wrong);
    free(grad);
    nndl_net_free(net);
    nndl_dataset_free(ds);
}

/* ---- train --monitor gradient-norms ---- */

static int run_cli(const char *args, char *out, size_t cap)
{
    char cmd[4096], path[512];
    snprintf(path, sizeof path, "%s/monitor.out", test_tmpdir());
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>&1 </dev/null", NNDL_CLI_PATH, args, path);
    int rc = system(cmd);
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;
    out[n] = 0;
    if (f) fclose(f);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

TEST(train_monitor_gradient_norms_records_every_layer)
{
    char history[512], args[2048], out[8192];
    snprintf(history, sizeof history, "%s/norms.jsonl", test_tmpdir());
    snprintf(args, sizeof args,
             "train --layers conv:4:5:relu,pool:2,pool:2,fc:20,softmax:10 --init he --eta 0.05 "
             "--epochs 2 --train-size 600 --eval validation --threads 1 "
             "--monitor gradient-norms --history '%s'", history);
    REQUIRE(run_cli(args, out, sizeof out) == 0);
    CHECK(strstr(out, "Before training:"));
    CHECK(strstr(out, "Speed of learning ||dC/db|| by layer: "));
    FILE *f = fopen(history, "r");
    REQUIRE(f);
    char line[4096];
    int epochs_seen = 0;
    double first_speed[2] = {0, 0};
    while (fgets(line, sizeof line, f)) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(o, "epoch");
        if (cJSON_IsNumber(epoch)) {
            const cJSON *speeds = cJSON_GetObjectItemCaseSensitive(o, "speeds");
            const cJSON *weights = cJSON_GetObjectItemCaseSensitive(o, "weight_gradient_norms");
            CHECK(epoch->valueint == epochs_seen - 1);
            /* four layers: conv (and its pool), pool (no parameters: null), fc,
             * softmax */
            CHECK(cJSON_GetArraySize(speeds) == 4 && cJSON_GetArraySize(weights) == 4);
            CHECK(cJSON_IsNull(cJSON_GetArrayItem(speeds, 1)));
            CHECK(cJSON_IsNull(cJSON_GetArrayItem(weights, 1)));
            for (int l = 0; l < 4; l += l == 0 ? 2 : 1) {
                CHECK(cJSON_IsNumber(cJSON_GetArrayItem(speeds, l)));
                CHECK(cJSON_GetArrayItem(weights, l)->valuedouble > 0);
            }
            if (epochs_seen < 2) first_speed[epochs_seen] = cJSON_GetArrayItem(speeds, 0)->valuedouble;
            epochs_seen++;
        }
        cJSON_Delete(o);
    }
    fclose(f);
    CHECK(epochs_seen == 3); /* the start, then two epochs */
    CHECK(first_speed[0] > 0 && first_speed[0] != first_speed[1]);

    /* nndl plot draws it: one panel, three curves (the pool has none) */
    char svg[512];
    snprintf(svg, sizeof svg, "%s/norms.svg", test_tmpdir());
    snprintf(args, sizeof args, "plot '%s' --metric speed -o '%s'", history, svg);
    REQUIRE(run_cli(args, out, sizeof out) == 0);
    f = fopen(svg, "r");
    REQUIRE(f);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    int curves = 0;
    for (const char *p = text; (p = strstr(p, "<polyline")); p++) curves++;
    CHECK(curves == 3);
    CHECK(strstr(text, ">layer 1</text>") && strstr(text, ">layer 4</text>"));

    /* the monitor list names it when a name is wrong */
    REQUIRE(run_cli("train --monitor gradient-norm --epochs 1", out, sizeof out) == 2);
    CHECK(strstr(out, "gradient-norms"));
}
