/* `nndl export --format c`: the generated C compiles on its own with the
 * system compiler in strict C99 and gives the library's answers on every
 * one of MNIST's 10,000 test images. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "nndl.h"

#ifndef NNDL_CLI_PATH
#define NNDL_CLI_PATH "build/nndl"
#endif

/* Runs a shell command built like printf; returns its exit status. */
__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* The test driver: reads images (bytes) from argv[1] and writes, for each,
 * the answer (one byte) and the output activations (floats) to argv[2]. */
static const char driver_code[] =
    "#include <stdio.h>\n"
    "#include \"%s.h\"\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    unsigned char px[%s_INPUTS], answer;\n"
    "    float x[%s_INPUTS], y[%s_OUTPUTS];\n"
    "    FILE *in = argc == 3 ? fopen(argv[1], \"rb\") : NULL;\n"
    "    FILE *out = argc == 3 ? fopen(argv[2], \"wb\") : NULL;\n"
    "    if (!in || !out) return 1;\n"
    "    while (fread(px, 1, sizeof px, in) == sizeof px) {\n"
    "        for (int i = 0; i < %s_INPUTS; i++) x[i] = px[i] * (1.0f / 255.0f);\n"
    "        answer = (unsigned char)%s_predict(x, y);\n"
    "        if (fwrite(&answer, 1, 1, out) != 1 || fwrite(y, sizeof y, 1, out) != 1) return 1;\n"
    "    }\n"
    "    fclose(in);\n"
    "    return fclose(out) != 0;\n"
    "}\n";

/* MNIST loaded once for every test of this file. */
static nndl_dataset *training, *test;

static int load_mnist_once(void)
{
    if (test) return 1;
    const char *dir = test_mnist_dir();
    nndl_error err;
    if (!dir || nndl_mnist_load(dir, &training, NULL, &test, &err) != NNDL_OK) return 0;
    return 1;
}

__attribute__((destructor)) static void free_mnist(void)
{
    nndl_dataset_free(training);
    nndl_dataset_free(test);
}

/* a followed by b, as one new dataset */
static nndl_dataset *join_sets(const nndl_dataset *a, const nndl_dataset *b)
{
    size_t na = nndl_dataset_count(a), nb = nndl_dataset_count(b);
    int rows = nndl_dataset_rows(a), cols = nndl_dataset_cols(a);
    nndl_dataset *ds = nndl_dataset_create(na + nb, rows, cols, NULL);
    if (!ds) return NULL;
    size_t px = (size_t)rows * cols;
    memcpy(nndl_dataset_image_mut(ds, 0), nndl_dataset_image(a, 0), na * px);
    memcpy(nndl_dataset_image_mut(ds, na), nndl_dataset_image(b, 0), nb * px);
    memcpy(nndl_dataset_labels_mut(ds), nndl_dataset_labels(a), na);
    memcpy(nndl_dataset_labels_mut(ds) + na, nndl_dataset_labels(b), nb);
    return ds;
}

static nndl_net *trained(const nndl_net_spec *spec, float eta, const nndl_dataset *ds)
{
    nndl_error err;
    nndl_net *net = nndl_net_create(spec, &err);
    if (!net) return NULL;
    nndl_sgd_config config = nndl_sgd_config_default(10, eta);
    nndl_trainer *t = nndl_trainer_create(net, &config, &err);
    if (!t || nndl_trainer_epoch(t, ds, NULL, NULL, &err) != NNDL_OK) {
        nndl_trainer_free(t);
        nndl_net_free(net);
        return NULL;
    }
    nndl_trainer_free(t);
    return net;
}

/* Exports `model` (the file `net` was saved to) as C named `name` (NULL:
 * the default), compiles it with the driver and checks the answers on
 * every image of `ds` against nndl_net_classify and nndl_net_evaluate.
 * Returns the largest difference of an output activation. */
static double check_exported(nndl_net *net, const char *model, const char *name,
                             const nndl_dataset *ds)
{
    const char *tmp = test_tmpdir(), *base = name ? name : "nndl_model";
    char dir[512], upper[128];
    snprintf(dir, sizeof dir, "%s/c-%s", tmp, base);
    size_t i = 0;
    for (; base[i] && i + 1 < sizeof upper; i++) upper[i] = (char)toupper((unsigned char)base[i]);
    upper[i] = 0;

    char name_opt[128] = "";
    if (name) snprintf(name_opt, sizeof name_opt, "--name %s", name);
    int rc = sh("'%s' export '%s' --format c -o '%s' %s", NNDL_CLI_PATH, model, dir, name_opt);
    if (rc != 0) {
        test_fail(__FILE__, __LINE__, "nndl export --format c: status %d", rc);
        return -1;
    }

    char path[600];
    snprintf(path, sizeof path, "%s/driver.c", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, driver_code, base, upper, upper, upper, upper, base);
    fclose(f);
    rc = sh("cd '%s' && cc -std=c99 -pedantic -O2 -Wall -Wextra -Werror -c %s.c && "
            "cc -std=c99 -O2 -Wall -Wextra -Werror -c driver.c && "
            "cc -o driver driver.o %s.o -lm",
            dir, base, base);
    if (rc != 0) {
        test_fail(__FILE__, __LINE__, "compiling %s/%s.c: status %d", dir, base, rc);
        return -1;
    }

    size_t n = nndl_dataset_count(ds);
    int n_in = nndl_dataset_rows(ds) * nndl_dataset_cols(ds);
    int n_out = nndl_net_size(net, nndl_net_n_sizes(net) - 1);
    snprintf(path, sizeof path, "%s/images.bin", dir);
    f = fopen(path, "wb");
    if (!f) return -1;
    for (size_t k = 0; k < n; k++) fwrite(nndl_dataset_image(ds, k), 1, (size_t)n_in, f);
    fclose(f);
    rc = sh("cd '%s' && ./driver images.bin answers.bin", dir);
    if (rc != 0) {
        test_fail(__FILE__, __LINE__, "%s/driver: status %d", dir, rc);
        return -1;
    }

    snprintf(path, sizeof path, "%s/answers.bin", dir);
    f = fopen(path, "rb");
    if (!f) return -1;
    float *x = malloc(sizeof *x * (size_t)n_in), *y = malloc(sizeof *y * (size_t)n_out);
    float *lib = malloc(sizeof *lib * (size_t)n_out);
    size_t mismatches = 0, exported_correct = 0, read = 0;
    double max_diff = 0;
    nndl_error err;
    for (size_t k = 0; x && y && lib && k < n; k++) {
        unsigned char answer;
        if (fread(&answer, 1, 1, f) != 1 || fread(y, sizeof *y, (size_t)n_out, f) != (size_t)n_out)
            break;
        read++;
        const uint8_t *px = nndl_dataset_image(ds, k);
        for (int j = 0; j < n_in; j++) x[j] = px[j] * (1.0f / 255.0f);
        if (nndl_net_feedforward(net, x, 1, lib, &err) != NNDL_OK) break;
        mismatches += answer != nndl_net_classify(net, x);
        exported_correct += answer == nndl_dataset_labels(ds)[k];
        for (int j = 0; j < n_out; j++) {
            double d = fabs((double)y[j] - lib[j]);
            if (d > max_diff) max_diff = d;
        }
    }
    fclose(f);
    free(x);
    free(y);
    free(lib);
    size_t correct = 0;
    CHECK(nndl_net_evaluate(net, ds, &correct, &err) == NNDL_OK);
    CHECK(read == n);
    CHECK(mismatches == 0);
    CHECK(exported_correct == correct);
    CHECK(max_diff < 1e-5);
    if (mismatches || max_diff >= 1e-5)
        fprintf(stderr, "%s: %zu of %zu answers differ, largest output difference %.3g\n",
                base, mismatches, n, max_diff);
    return max_diff;
}

TEST(c_export_sigmoid_network_gives_the_library_answers)
{
    REQUIRE(load_mnist_once());
    /* chapter 1's network: N(0,1) weights, so outputs saturate near 0 and 1 */
    const int sizes[] = {784, 30, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.init = NNDL_INIT_LARGE;
    spec.seed = 3;
    nndl_net *net = trained(&spec, 3.0f, training);
    REQUIRE(net);
    char model[512], json[512];
    snprintf(model, sizeof model, "%s/cexp.nndl", test_tmpdir());
    snprintf(json, sizeof json, "%s/cexp.json", test_tmpdir());
    CHECK(nndl_net_save(net, model, NULL) == NNDL_OK);
    CHECK(nndl_net_save_json(net, json, NULL) == NNDL_OK);
    check_exported(net, model, NULL, test);
    /* the same network read from network2.py's JSON, under another name */
    check_exported(net, json, "digits_json", test);
    nndl_net_free(net);
}

TEST(c_export_tanh_relu_softmax_network_gives_the_library_answers)
{
    REQUIRE(load_mnist_once());
    const int sizes[] = {784, 40, 20, 10};
    const nndl_activation hidden[] = {NNDL_ACT_TANH, NNDL_ACT_RELU};
    nndl_net_spec spec = nndl_net_spec_default(4, sizes);
    spec.cost = NNDL_COST_LOG_LIKELIHOOD;
    spec.hidden_acts = hidden;
    spec.seed = 5;
    nndl_net *net = trained(&spec, 0.1f, training);
    REQUIRE(net);
    char model[512];
    snprintf(model, sizeof model, "%s/deep.nndl", test_tmpdir());
    CHECK(nndl_net_save(net, model, NULL) == NNDL_OK);
    check_exported(net, model, "deep", test);
    nndl_net_free(net);
}

TEST(c_export_convolutional_networks_give_the_library_answers)
{
    REQUIRE(load_mnist_once());
    nndl_error err;
    /* network3.py's shape, smaller: conv-pool, fc, softmax; every test image */
    nndl_layer_spec small[] = {nndl_layer_conv(6, 5, 2, NNDL_ACT_RELU),
                               nndl_layer_fc(30, NNDL_ACT_SIGMOID), nndl_layer_fc(10, 0)};
    nndl_net_spec spec = nndl_net_spec_default(0, NULL);
    spec.layers = small;
    spec.n_layers = 3;
    spec.input = (nndl_shape){1, 28, 28};
    spec.cost = NNDL_COST_LOG_LIKELIHOOD;
    spec.init = NNDL_INIT_NETWORK3;
    spec.seed = 8;
    nndl_dataset *part = nndl_dataset_split_off(training, 45000, &err); /* train on 5,000 */
    REQUIRE(part);
    nndl_net *net = trained(&spec, 0.1f, training);
    REQUIRE(net);
    char model[512];
    snprintf(model, sizeof model, "%s/conv.nndl", test_tmpdir());
    CHECK(nndl_net_save(net, model, NULL) == NNDL_OK);
    check_exported(net, model, "conv", test);
    nndl_net_free(net);
    /* every kind: two convolutions, a pooling layer of its own, tanh and a
     * linear layer, a sigmoid output; the first 1,000 test images */
    nndl_layer_spec every[] = {nndl_layer_conv(4, 3, 1, NNDL_ACT_TANH), nndl_layer_pool(2),
                               nndl_layer_conv(5, 4, 2, NNDL_ACT_RELU),
                               nndl_layer_fc(12, NNDL_ACT_LINEAR), nndl_layer_fc(10, 0)};
    spec.layers = every;
    spec.n_layers = 5;
    spec.cost = NNDL_COST_CROSS_ENTROPY;
    spec.init = NNDL_INIT_HE;
    net = trained(&spec, 0.05f, training);
    REQUIRE(net);
    nndl_dataset *rest = nndl_dataset_split_off(test, 1000, &err);
    REQUIRE(rest);
    snprintf(model, sizeof model, "%s/every.nndl", test_tmpdir());
    CHECK(nndl_net_save(net, model, NULL) == NNDL_OK);
    check_exported(net, model, "every_kind", test);
    nndl_net_free(net);
    /* put the sets back together for the other tests */
    nndl_dataset *whole_test = join_sets(test, rest), *whole_training = join_sets(training, part);
    REQUIRE(whole_test && whole_training);
    nndl_dataset_free(test), nndl_dataset_free(rest), nndl_dataset_free(training);
    nndl_dataset_free(part);
    test = whole_test, training = whole_training;
}

TEST(c_export_single_output_neuron_answers_0_or_1)
{
    /* XOR's four inputs on an untrained [2,3,1] network: the answer is
     * whether the output is at least 0.5, as nndl_net_classify says */
    const int sizes[] = {2, 3, 1};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.init = NNDL_INIT_LARGE;
    spec.seed = 2;
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    nndl_dataset *ds = nndl_dataset_create(4, 1, 2, &err);
    REQUIRE(net && ds);
    for (size_t i = 0; i < 4; i++) {
        uint8_t *px = nndl_dataset_image_mut(ds, i);
        px[0] = (i & 1) ? 255 : 0;
        px[1] = (i & 2) ? 255 : 0;
        nndl_dataset_labels_mut(ds)[i] = (uint8_t)((i & 1) ^ (i >> 1));
    }
    char model[512];
    snprintf(model, sizeof model, "%s/xor.nndl", test_tmpdir());
    CHECK(nndl_net_save(net, model, NULL) == NNDL_OK);
    check_exported(net, model, "xor", ds);
    nndl_dataset_free(ds);
    nndl_net_free(net);
}

TEST(c_export_rejects_bad_names)
{
    char model[512];
    snprintf(model, sizeof model, "%s/names.nndl", test_tmpdir());
    const int sizes[] = {4, 2};
    nndl_net_spec spec = nndl_net_spec_default(2, sizes);
    nndl_net *net = nndl_net_create(&spec, NULL);
    REQUIRE(net);
    CHECK(nndl_net_save(net, model, NULL) == NNDL_OK);
    nndl_net_free(net);
    const char *tmp = test_tmpdir();
    CHECK(sh("'%s' export '%s' --format c -o '%s/bad' --name 9lives 2>/dev/null",
             NNDL_CLI_PATH, model, tmp) == 1);
    CHECK(sh("'%s' export '%s' --format c -o '%s/bad' --name 'a-b' 2>/dev/null",
             NNDL_CLI_PATH, model, tmp) == 1);
    CHECK(sh("'%s' export '%s' -o '%s/x.json' --name ok 2>/dev/null", NNDL_CLI_PATH, model,
             tmp) == 2);
    CHECK(sh("test -e '%s/bad/9lives.c' || test -e '%s/bad/a-b.c'", tmp, tmp) == 1);
}

/* Both files are written before either is replaced: when the disk fills up
 * while writing the source (a file size limit makes the writes fail with
 * EFBIG after 8 KiB: the header is 1 KB, the source hundreds), the header
 * must not be the new one beside the old source. */
TEST(c_export_failed_write_keeps_the_old_pair)
{
    const char *tmp = test_tmpdir();
    char first[512], second[512];
    snprintf(first, sizeof first, "%s/pair-30.nndl", tmp);
    snprintf(second, sizeof second, "%s/pair-20.nndl", tmp);
    const int sizes30[] = {784, 30, 10}, sizes20[] = {784, 20, 10};
    nndl_net_spec spec30 = nndl_net_spec_default(3, sizes30);
    nndl_net_spec spec20 = nndl_net_spec_default(3, sizes20);
    nndl_net *net30 = nndl_net_create(&spec30, NULL), *net20 = nndl_net_create(&spec20, NULL);
    REQUIRE(net30 && net20);
    CHECK(nndl_net_save(net30, first, NULL) == NNDL_OK);
    CHECK(nndl_net_save(net20, second, NULL) == NNDL_OK);
    nndl_net_free(net30);
    nndl_net_free(net20);

    REQUIRE(sh("rm -rf '%s/pair' && '%s' export '%s' --format c -o '%s/pair' --name pair && "
               "cp '%s/pair/pair.h' '%s/pair.h.old' && cp '%s/pair/pair.c' '%s/pair.c.old'",
               tmp, NNDL_CLI_PATH, first, tmp, tmp, tmp, tmp, tmp) == 0);
    CHECK(sh("trap '' XFSZ; ulimit -f 8; '%s' export '%s' --format c -o '%s/pair' --name pair "
             "2>'%s/pair.err'",
             NNDL_CLI_PATH, second, tmp, tmp) == 1);
    CHECK(sh("grep -q 'pair.c: cannot write C source file: File too large' '%s/pair.err'",
             tmp) == 0);
    CHECK(sh("cmp -s '%s/pair/pair.h' '%s/pair.h.old' && cmp -s '%s/pair/pair.c' '%s/pair.c.old'",
             tmp, tmp, tmp, tmp) == 0);
    CHECK(sh("ls '%s/pair' | grep -q tmp", tmp) == 1); /* no temporary file left */
    /* without the limit the same export goes through, and changes the header */
    CHECK(sh("'%s' export '%s' --format c -o '%s/pair' --name pair", NNDL_CLI_PATH, second,
             tmp) == 0);
    CHECK(sh("cmp -s '%s/pair/pair.h' '%s/pair.h.old'", tmp, tmp) == 1);
}
