/* The programs of examples/: each runs and prints what its comments promise. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "nndl.h"

#ifndef NNDL_CLI_PATH
#define NNDL_CLI_PATH "build/nndl"
#endif

/* The examples are built beside the nndl command, in examples/. */
static const char *example_path(const char *name, char *buf, size_t cap)
{
    const char *slash = strrchr(NNDL_CLI_PATH, '/');
    int dir_len = slash ? (int)(slash - NNDL_CLI_PATH) : 1;
    snprintf(buf, cap, "%.*s/examples/%s", dir_len, slash ? NNDL_CLI_PATH : ".", name);
    return buf;
}

/* Runs example `name` with `args` (shell words); its standard output goes to
 * `out` (cap bytes). Returns the exit status. */
__attribute__((format(printf, 4, 5))) static int run_example(const char *name, char *out,
                                                             size_t cap, const char *args, ...)
{
    char path[512], argv_text[2048], cmd[4096], out_path[512];
    va_list ap;
    va_start(ap, args);
    vsnprintf(argv_text, sizeof argv_text, args, ap);
    va_end(ap);
    snprintf(out_path, sizeof out_path, "%s/example.out", test_tmpdir());
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' </dev/null", example_path(name, path, sizeof path),
             argv_text, out_path);
    int rc = system(cmd);
    FILE *f = fopen(out_path, "rb");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;
    out[n] = 0;
    if (f) fclose(f);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

TEST(example_perceptrons_print_the_truth_tables)
{
    char out[4096];
    REQUIRE(run_example("perceptrons", out, sizeof out, "%s", "") == 0);
    static const char tables[] = "x1 x2 | NAND AND OR | sum carry\n"
                                 " 0  0 |   1   0   0 |  0    0\n"
                                 " 0  1 |   1   0   1 |  1    0\n"
                                 " 1  0 |   1   0   1 |  1    0\n"
                                 " 1  1 |   0   1   1 |  0    1\n";
    CHECK(strncmp(out, tables, strlen(tables)) == 0);
    CHECK(strstr(out, " 0  0 | 1.0000\n 0  1 | 1.0000\n 1  0 | 1.0000\n 1  1 | 0.0000\n"));
}

TEST(example_xor_learns_xor)
{
    char out[4096];
    REQUIRE(run_example("xor", out, sizeof out, "%s", "") == 0);
    const char *table = strstr(out, "x1 x2 | output  answer\n");
    REQUIRE(table);
    table = strchr(table, '\n') + 1;
    for (int i = 0; i < 4; i++) {
        int x1, x2, answer;
        double a;
        REQUIRE(sscanf(table, " %d %d | %lf %d", &x1, &x2, &a, &answer) == 4);
        CHECK(x1 == i >> 1 && x2 == (i & 1));
        CHECK(answer == (x1 ^ x2));
        CHECK_NEAR(a, x1 ^ x2, 0.05);
        table = strchr(table, '\n') + 1;
    }
}

/* Writes image i of `ds` as a binary PGM: white ink on black, as in MNIST. */
static int write_pgm(const char *path, const nndl_dataset *ds, size_t i)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fprintf(f, "P5\n%d %d\n255\n", nndl_dataset_cols(ds), nndl_dataset_rows(ds));
    fwrite(nndl_dataset_image(ds, i), 1, (size_t)(nndl_dataset_rows(ds) * nndl_dataset_cols(ds)), f);
    return fclose(f) == 0;
}

TEST(example_train_mnist_then_classify)
{
    char out[8192], model[512];
    snprintf(model, sizeof model, "%s/example.nndl", test_tmpdir());
    REQUIRE(run_example("train_mnist", out, sizeof out, "'%s'", model) == 0);
    int epoch, correct = -1, total;
    const char *last = strstr(out, "Epoch 1: ");
    REQUIRE(strncmp(out, "Epoch 0: ", 9) == 0 && last);
    REQUIRE(sscanf(last, "Epoch %d: %d / %d\n", &epoch, &correct, &total) == 3);
    CHECK(total == 10000 && correct > 9200);
    CHECK(strstr(out, "saved "));

    /* the saved network scores what the example printed */
    nndl_error err;
    nndl_net *net = nndl_net_load(model, &err);
    nndl_dataset *test = NULL;
    const char *dir = test_mnist_dir();
    REQUIRE(net && dir);
    REQUIRE(nndl_mnist_load(dir, NULL, NULL, &test, &err) == NNDL_OK);
    size_t right = 0;
    CHECK(nndl_net_evaluate(net, test, &right, &err) == NNDL_OK && right == (size_t)correct);

    /* classify gives the network's answer for pictures of test digits */
    int agree = 0, labelled = 0;
    for (size_t i = 0; i < 5; i++) {
        char pgm[512];
        snprintf(pgm, sizeof pgm, "%s/digit%zu.pgm", test_tmpdir(), i);
        REQUIRE(write_pgm(pgm, test, i));
        int digit = -1;
        CHECK(run_example("classify", out, sizeof out, "'%s' '%s'", model, pgm) == 0);
        const char *line = strstr(out, pgm);
        CHECK(line && sscanf(line + strlen(pgm), ": %d", &digit) == 1);
        CHECK(strstr(out, "  output 9: "));
        nndl_image image;
        float input[784];
        REQUIRE(nndl_image_load(pgm, &image, &err) == NNDL_OK);
        CHECK(nndl_image_to_mnist(&image, input, NULL, &err) == NNDL_OK);
        nndl_image_free(&image);
        agree += digit == nndl_net_classify(net, input);
        labelled += digit == nndl_dataset_labels(test)[i];
    }
    CHECK(agree == 5);
    CHECK(labelled >= 4);
    nndl_dataset_free(test);
    nndl_net_free(net);
}
