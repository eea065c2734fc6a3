/* Running out of memory: for every N, make the N-th allocation along a
 * load, train or save path fail (src/common/alloc.c) and check that the
 * call returns a clean error - NNDL_ERR_NOMEM with a message - instead of
 * crashing, and that a failed save leaves the previous file intact. The
 * sanitizer build (make sanitize) checks with LeakSanitizer that every
 * failure path frees what it allocated.
 *
 * Two outcomes besides NNDL_ERR_NOMEM are accepted, and counted:
 *   - success, when the result is checked to be right anyway: a thread pool
 *     that cannot be made leaves the work on one thread (with the same
 *     result, bit for bit), and syncing a file's directory after the rename
 *     is best effort;
 *   - a format error when the allocation that failed was cJSON's: cJSON
 *     returns NULL both for malformed text and when memory runs out, so the
 *     JSON readers cannot tell the two apart.
 * cJSON's allocations go through the same counter here (its hooks);
 * libpng's, libjpeg's and zlib's own do not. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jpeg_write.h"
#include "common/alloc.h"
#include "model/model_file.h"

static int cjson_failed; /* the injected failure hit one of cJSON's allocations */

static void *hooked_malloc(size_t n)
{
    int before = alloc_failure_injected();
    void *p = alloc_array(n, 1);
    if (!p && !before && alloc_failure_injected()) cjson_failed = 1;
    return p;
}
static void hooked_free(void *p) { alloc_free(p); }

typedef nndl_status (*scenario_fn)(nndl_error *err);
typedef int (*verify_fn)(void);

/* Runs `scenario` with the 1st, 2nd, ... allocation failing until it runs
 * through without reaching the failure, which must then succeed. `verify`
 * (or NULL) checks the result of a run that succeeded although an
 * allocation failed. Returns the number of allocations the path makes. */
static long fail_every_allocation(const char *name, scenario_fn scenario, verify_fn verify,
                                  int line)
{
    cJSON_Hooks hooks = {hooked_malloc, hooked_free};
    cJSON_InitHooks(&hooks);
    long n = 1;
    int degraded = 0, cjson = 0;
    for (;; n++) {
        nndl_error err;
        memset(&err, 0, sizeof err);
        cjson_failed = 0;
        alloc_fail_at(n);
        nndl_status st = scenario(&err);
        int injected = alloc_failure_injected();
        alloc_fail_at(0);
        if (!injected) {
            if (st != NNDL_OK)
                test_fail(__FILE__, line, "%s: fails without an injected failure: %s", name,
                          err.message);
            break;
        }
        int clean = err.message[0] && !strchr(err.message, '\n');
        if (st == NNDL_OK && verify && verify()) {
            degraded++;
        } else if (st != NNDL_OK && cjson_failed && clean) {
            cjson++;
        } else if (st != NNDL_ERR_NOMEM || !clean) {
            test_fail(__FILE__, line, "%s, allocation %ld failing: status %s, \"%s\"", name, n,
                      nndl_status_name(st), err.message);
            break;
        }
        if (n > 100000) {
            test_fail(__FILE__, line, "%s: over 100000 allocations", name);
            break;
        }
    }
    cJSON_InitHooks(NULL);
    printf("    %-36s %3ld allocations failed one at a time", name, n - 1);
    if (degraded) printf("; %d ran on, with the right result", degraded);
    if (cjson) printf("; %d in cJSON, reported as malformed JSON", cjson);
    printf("\n");
    return n - 1;
}

static char idx_images[512], idx_labels[512], model_path[512], meta_path[512],
    json_path[512], v3_path[512];

static nndl_dataset *small_dataset(size_t count, nndl_error *err)
{
    nndl_dataset *ds = nndl_dataset_create(count, 28, 28, err);
    if (!ds) return NULL;
    for (size_t i = 0; i < count; i++) {
        uint8_t *px = nndl_dataset_image_mut(ds, i);
        for (int p = 0; p < 784; p++) px[p] = (uint8_t)((i * 31 + (size_t)p * 7) % 256);
        nndl_dataset_labels_mut(ds)[i] = (uint8_t)(i % 10);
    }
    return ds;
}

static nndl_net *small_net(nndl_error *err)
{
    int sizes[] = {784, 16, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.cost = NNDL_COST_CROSS_ENTROPY;
    spec.seed = 3;
    return nndl_net_create(&spec, err);
}

static void make_files(void)
{
    nndl_error err;
    snprintf(idx_images, sizeof idx_images, "%s/oom-images.gz", test_tmpdir());
    snprintf(idx_labels, sizeof idx_labels, "%s/oom-labels.gz", test_tmpdir());
    snprintf(model_path, sizeof model_path, "%s/oom-model.nndl", test_tmpdir());
    snprintf(meta_path, sizeof meta_path, "%s/oom-meta.nndl", test_tmpdir());
    snprintf(json_path, sizeof json_path, "%s/oom-model.json", test_tmpdir());
    snprintf(v3_path, sizeof v3_path, "%s/oom-conv.nndl", test_tmpdir());
    nndl_dataset *ds = small_dataset(50, &err);
    nndl_net *net = small_net(&err);
    int ok = ds && net && nndl_idx_save(ds, idx_images, idx_labels, &err) == NNDL_OK &&
             nndl_net_save(net, model_path, &err) == NNDL_OK &&
             model_save_with_meta(net, meta_path, "{\"epochs_run\": 3, \"settings\": {}}", &err) == NNDL_OK &&
             nndl_net_save_json(net, json_path, &err) == NNDL_OK;
    /* a small network for the JSON reader, which makes one cJSON item per number */
    int tiny_sizes[] = {4, 3, 2};
    nndl_net_spec tiny_spec = nndl_net_spec_default(3, tiny_sizes);
    nndl_net *tiny = nndl_net_create(&tiny_spec, &err);
    ok = ok && tiny && nndl_net_save_json(tiny, json_path, &err) == NNDL_OK;
    nndl_net_free(tiny);
    /* a convolutional network, written as version 3, with metadata */
    nndl_layer_spec layers[] = {nndl_layer_conv(2, 5, 2, NNDL_ACT_RELU), nndl_layer_pool(2),
                                nndl_layer_fc(8, NNDL_ACT_LINEAR), nndl_layer_fc(10, 0)};
    layers[3].dropout = 0.5f;
    nndl_net_spec conv_spec = nndl_net_spec_default(0, NULL);
    conv_spec.layers = layers;
    conv_spec.n_layers = 4;
    conv_spec.input = (nndl_shape){1, 28, 28};
    conv_spec.cost = NNDL_COST_LOG_LIKELIHOOD;
    conv_spec.init = NNDL_INIT_NETWORK3;
    nndl_net *conv = nndl_net_create(&conv_spec, &err);
    ok = ok && conv &&
         model_save_with_meta(conv, v3_path, "{\"layers\": \"conv\"}", &err) == NNDL_OK;
    nndl_net_free(conv);
    if (!ok) test_fail(__FILE__, __LINE__, "setting up: %s", err.message);
    nndl_dataset_free(ds);
    nndl_net_free(net);
}

/* ---- load ---- */

static nndl_status load_idx(nndl_error *err)
{
    nndl_dataset *ds = nndl_idx_load(idx_images, idx_labels, err);
    nndl_dataset_free(ds);
    return ds ? NNDL_OK : err->status;
}

static nndl_status load_model(nndl_error *err)
{
    nndl_net *net = nndl_net_load(model_path, err);
    nndl_net_free(net);
    return net ? NNDL_OK : err->status;
}

static nndl_status load_model_with_meta(nndl_error *err)
{
    char *meta = NULL;
    nndl_net *net = model_load_with_meta(meta_path, &meta, err);
    int ok = net && meta;
    nndl_net_free(net);
    free(meta);
    return ok ? NNDL_OK : err->status;
}

static nndl_status load_model_v3(nndl_error *err)
{
    char *meta = NULL;
    nndl_net *net = model_load_with_meta(v3_path, &meta, err);
    int ok = net && meta && nndl_net_input_shape(net).height == 28;
    nndl_net_free(net);
    free(meta);
    return ok ? NNDL_OK : err->status;
}

static nndl_status load_json_model(nndl_error *err)
{
    nndl_net *net = nndl_net_load(json_path, err);
    nndl_net_free(net);
    return net ? NNDL_OK : err->status;
}

TEST(alloc_failure_while_loading)
{
    make_files();
    CHECK(fail_every_allocation("nndl_idx_load", load_idx, NULL, __LINE__) > 0);
    CHECK(fail_every_allocation("nndl_net_load (binary)", load_model, NULL, __LINE__) > 0);
    CHECK(fail_every_allocation("model_load_with_meta", load_model_with_meta, NULL, __LINE__) > 0);
    CHECK(fail_every_allocation("model_load_with_meta (version 3)", load_model_v3, NULL,
                                __LINE__) > 0);
    CHECK(fail_every_allocation("nndl_net_load (network2.py JSON)", load_json_model, NULL, __LINE__) > 0);
}

/* ---- train ---- */

static float trained[784 * 16 + 16 + 16 * 10 + 10], reference[784 * 16 + 16 + 16 * 10 + 10];

static int same_as_reference(void) { return memcmp(trained, reference, sizeof trained) == 0; }

static nndl_status train(nndl_error *err)
{
    nndl_dataset *ds = small_dataset(40, err);
    nndl_net *net = ds ? small_net(err) : NULL;
    nndl_sgd_config config = nndl_sgd_config_default(10, 0.5f);
    config.momentum = 0.5f;
    config.dropout = 0.2f;
    config.lambda = 1.0f;
    nndl_trainer *t = net ? nndl_trainer_create(net, &config, err) : NULL;
    size_t correct = 0;
    double cost = 0;
    nndl_status st = !t ? err->status
                 : nndl_trainer_epoch(t, ds, NULL, NULL, err) != NNDL_OK ? err->status
                 : nndl_net_evaluate(net, ds, &correct, err) != NNDL_OK ? err->status
                 : nndl_net_total_cost(net, ds, 1.0f, 0, &cost, err);
    memset(trained, 0, sizeof trained);
    if (st == NNDL_OK) memcpy(trained, nndl_net_params_const(net), sizeof trained);
    nndl_trainer_free(t);
    nndl_net_free(net);
    nndl_dataset_free(ds);
    return st;
}

static nndl_status expand(nndl_error *err)
{
    nndl_dataset *ds = small_dataset(10, err);
    nndl_dataset *big = ds ? nndl_dataset_expand(ds, err) : NULL;
    nndl_status st = big ? NNDL_OK : err->status;
    nndl_dataset_free(big);
    nndl_dataset_free(ds);
    return st;
}

TEST(alloc_failure_while_training)
{
    nndl_error err;
    REQUIRE(train(&err) == NNDL_OK);
    memcpy(reference, trained, sizeof reference);
    CHECK(fail_every_allocation("create, train an epoch, evaluate", train, same_as_reference,
                                __LINE__) > 0);
    CHECK(fail_every_allocation("nndl_dataset_expand", expand, NULL, __LINE__) > 0);
}

/* ---- save ---- */

static nndl_net *to_save;
static char save_path[512];

static nndl_status save_binary(nndl_error *err)
{
    return model_save_with_meta(to_save, save_path, "{\"epochs_run\": 1}", err);
}

static nndl_status save_json(nndl_error *err) { return nndl_net_save_json(to_save, save_path, err); }

static nndl_status save_idx(nndl_error *err)
{
    nndl_dataset *ds = small_dataset(5, err);
    nndl_status st = ds ? nndl_idx_save(ds, idx_images, idx_labels, err) : err->status;
    nndl_dataset_free(ds);
    return st;
}

/* The file at save_path holds `to_save` (a save that went on after a
 * failed allocation must still have written it). */
static int saved_right(void);

/* The file at save_path still holds the network `want` saved before. */
static int previous_file_intact(const nndl_net *want)
{
    nndl_error err;
    nndl_net *got = nndl_net_load(save_path, &err);
    int same = got && nndl_net_param_count(got) == nndl_net_param_count(want) &&
               memcmp(nndl_net_params_const(got), nndl_net_params_const(want),
                      nndl_net_param_count(want) * sizeof(float)) == 0;
    nndl_net_free(got);
    return same;
}

static int saved_right(void) { return previous_file_intact(to_save); }

static int idx_saved_right(void)
{
    nndl_error err;
    nndl_dataset *want = small_dataset(5, &err);
    nndl_dataset *got = nndl_idx_load(idx_images, idx_labels, &err);
    int same = want && got && nndl_dataset_count(got) == 5 &&
               memcmp(nndl_dataset_image(got, 0), nndl_dataset_image(want, 0), 5 * 784) == 0 &&
               memcmp(nndl_dataset_labels(got), nndl_dataset_labels(want), 5) == 0;
    nndl_dataset_free(want);
    nndl_dataset_free(got);
    return same;
}

TEST(alloc_failure_saving_keeps_the_old_file)
{
    make_files();
    nndl_error err;
    REQUIRE((to_save = small_net(&err)) != NULL);
    snprintf(save_path, sizeof save_path, "%s/oom-save.nndl", test_tmpdir());
    /* an older network is on disk; every failed save must leave it there */
    int sizes[] = {784, 16, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.seed = 99;
    nndl_net *old = nndl_net_create(&spec, &err);
    REQUIRE(old && nndl_net_save(old, save_path, &err) == NNDL_OK);
    long n = fail_every_allocation("model_save_with_meta", save_binary, saved_right, __LINE__);
    CHECK(n > 0);
    /* the last, successful, save wrote the new network; check the old one
     * survived each failure by failing them again one at a time */
    for (long k = 1; k <= n; k++) {
        REQUIRE(nndl_net_save(old, save_path, &err) == NNDL_OK);
        alloc_fail_at(k);
        nndl_status st = save_binary(&err);
        alloc_fail_at(0);
        CHECK(st == NNDL_OK ? saved_right() : previous_file_intact(old));
    }
    REQUIRE(nndl_net_save(old, save_path, &err) == NNDL_OK);
    n = fail_every_allocation("nndl_net_save_json", save_json, saved_right, __LINE__);
    CHECK(n > 0);
    for (long k = 1; k <= n; k++) {
        REQUIRE(nndl_net_save(old, save_path, &err) == NNDL_OK);
        cJSON_Hooks hooks = {hooked_malloc, hooked_free};
        cJSON_InitHooks(&hooks);
        alloc_fail_at(k);
        nndl_status st = save_json(&err);
        alloc_fail_at(0);
        cJSON_InitHooks(NULL);
        CHECK(st == NNDL_OK ? saved_right() : previous_file_intact(old));
    }
    CHECK(fail_every_allocation("nndl_idx_save", save_idx, idx_saved_right, __LINE__) > 0);
    nndl_net_free(old);
    nndl_net_free(to_save);
}

/* ---- pictures ---- */

static char png_path[512];

static nndl_status read_picture(nndl_error *err)
{
    nndl_image img;
    nndl_status st = nndl_image_load(png_path, &img, err);
    if (st != NNDL_OK) return st;
    float in[2 * 784];
    int found;
    st = nndl_image_to_mnist(&img, in, NULL, err);
    if (st == NNDL_OK) st = nndl_image_to_mnist_digits(&img, in, NULL, 2, &found, err);
    nndl_image_free(&img);
    return st;
}

TEST(alloc_failure_while_reading_pictures)
{
    snprintf(png_path, sizeof png_path, "%s/oom-digit.png", test_tmpdir());
    uint8_t gray[60 * 50];
    for (int i = 0; i < 60 * 50; i++) {
        int x = i % 60, y = i / 60;
        gray[i] = (x > 25 && x < 33 && y > 8 && y < 42) ? 0 : 255; /* a dark 1 on white */
    }
    nndl_error err;
    REQUIRE(nndl_image_save_png(png_path, gray, 60, 50, &err) == NNDL_OK);
    CHECK(fail_every_allocation("nndl_image_load, nndl_image_to_mnist", read_picture, NULL, __LINE__) > 0);
    /* the same picture as a JPEG */
    snprintf(png_path, sizeof png_path, "%s/oom-digit.jpg", test_tmpdir());
    REQUIRE(test_jpeg_write(png_path, gray, 60, 50, 1, 90, 0));
    CHECK(fail_every_allocation("nndl_image_load (JPEG), nndl_image_to_mnist", read_picture, NULL,
                                __LINE__) > 0);
}
