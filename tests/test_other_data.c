/* Data sets other than MNIST: IDX files of any image size and number of
 * classes, found under MNIST's names or named one by one, with optional
 * class names; and what `nndl train --data`, `inspect`, `eval` and `data`
 * make of them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>

#include "check.h"
#include "nndl.h"

#ifndef NNDL_CLI_PATH
#define NNDL_CLI_PATH "build/nndl"
#endif

/* ---- a data set made here ---------------------------------------------- */

/* A directory under the scratch directory (created). */
static const char *make_dir(const char *name)
{
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", test_tmpdir(), name);
    mkdir(p, 0755);
    return p;
}

static void put_u32_be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An IDX file of `n` images of rows x cols (rows 0: labels), gzip or plain. */
static int write_idx(const char *path, int gz, uint32_t n, uint32_t rows, uint32_t cols,
                     const uint8_t *data)
{
    uint8_t head[16];
    int dims = rows ? 3 : 1;
    put_u32_be(head, 0x800u + (uint32_t)dims);
    put_u32_be(head + 4, n);
    put_u32_be(head + 8, rows);
    put_u32_be(head + 12, cols);
    size_t head_n = 4 + 4 * (size_t)dims, bytes = (size_t)n * (rows ? rows * cols : 1);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f) return 0;
        int ok = gzwrite(f, head, (unsigned)head_n) == (int)head_n &&
                 (bytes == 0 || gzwrite(f, data, (unsigned)bytes) == (int)bytes);
        return gzclose(f) == Z_OK && ok;
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(head, 1, head_n, f) == head_n && fwrite(data, 1, bytes, f) == bytes;
    return fclose(f) == 0 && ok;
}

/* Bars: class k is a bright horizontal bar in band k of the image (bands
 * of rows / classes rows), on faint noise; easy to learn, so a short run
 * must learn it. */
static void make_bars(uint8_t *pixels, uint8_t *labels, uint32_t n, int rows, int cols,
                      int classes, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1;
    for (uint32_t i = 0; i < n; i++) {
        int k = (int)(i % (uint32_t)classes);
        labels[i] = (uint8_t)k;
        uint8_t *img = pixels + (size_t)i * rows * cols;
        int band = rows / classes;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                s = s * 1103515245u + 12345u;
                int noise = (int)(s >> 27); /* 0..31 */
                img[r * cols + c] = (uint8_t)(r / band == k ? 200 + noise : noise);
            }
    }
}

/* Writes a bars data set into `dir`: `train` and `test` images of rows x
 * cols, under MNIST's names (gzip) or the dotted plain spelling. */
static int write_bars(const char *dir, uint32_t train, uint32_t test, int rows, int cols,
                      int classes, int mnist_names)
{
    static const char *const names[2][4] = {
        {"train-images.idx3-ubyte", "train-labels.idx1-ubyte", "t10k-images.idx3-ubyte",
         "t10k-labels.idx1-ubyte"},
        {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz"}};
    uint32_t counts[2] = {train, test};
    int ok = 1;
    for (int part = 0; part < 2 && ok; part++) {
        uint32_t n = counts[part];
        uint8_t *px = malloc((size_t)n * rows * cols + 1), *lb = malloc(n + 1);
        ok = px && lb;
        if (ok) make_bars(px, lb, n, rows, cols, classes, (uint32_t)part + 7);
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, names[mnist_names][2 * part]);
        ok = ok && write_idx(path, mnist_names, n, (uint32_t)rows, (uint32_t)cols, px);
        snprintf(path, sizeof path, "%s/%s", dir, names[mnist_names][2 * part + 1]);
        ok = ok && write_idx(path, mnist_names, n, 0, 0, lb);
        free(px);
        free(lb);
    }
    return ok;
}

static int write_text(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* ---- the library --------------------------------------------------------- */

TEST(data_set_of_any_shape_and_classes_loads_with_its_split)
{
    const char *dir = make_dir("bars-12x9");
    REQUIRE(write_bars(dir, 600, 120, 12, 9, 3, 0));
    nndl_error err;
    nndl_data_files files;
    REQUIRE(nndl_data_files_find(dir, &files, &err) == NNDL_OK);
    CHECK(strstr(files.path[0], "train-images.idx3-ubyte") &&
          strstr(files.path[3], "t10k-labels.idx1-ubyte"));
    nndl_dataset *tr = NULL, *va = NULL, *te = NULL;
    nndl_data_info info;
    REQUIRE(nndl_data_load(&files, -1, &tr, &va, &te, &info, &err) == NNDL_OK);
    CHECK(info.rows == 12 && info.cols == 9 && info.classes == 3);
    CHECK(info.training == 600 && info.validation == 100 && info.test == 120);
    CHECK(nndl_dataset_count(tr) == 500 && nndl_dataset_count(va) == 100 &&
          nndl_dataset_count(te) == 120);
    nndl_dataset_free(tr);
    nndl_dataset_free(va);
    nndl_dataset_free(te);

    /* --validation N, and too many of them */
    REQUIRE(nndl_data_load(&files, 50, &tr, &va, NULL, NULL, &err) == NNDL_OK);
    CHECK(nndl_dataset_count(tr) == 550 && nndl_dataset_count(va) == 50);
    nndl_dataset_free(tr);
    nndl_dataset_free(va);
    CHECK(nndl_data_load(&files, 600, &tr, NULL, NULL, NULL, &err) == NNDL_ERR_ARG &&
          strstr(err.message, "leave none to train on"));
    CHECK(nndl_data_validation_default(60000) == 10000);
    CHECK(nndl_data_validation_default(6000) == 1000);
}

/* The training file's fingerprint: the same for its gzip and plain copies
 * and whatever the validation split, another for other pixels. */
static int file_fingerprint(const char *dir, long validation, char out[33])
{
    nndl_error err;
    nndl_data_files files;
    nndl_dataset *tr = NULL, *va = NULL;
    if (nndl_data_files_find(dir, &files, &err) ||
        nndl_data_load(&files, validation, &tr, &va, NULL, NULL, &err))
        return 0;
    const nndl_dataset *parts[2] = {tr, va};
    int ok = nndl_dataset_fingerprint(parts, 2, out, &err) == NNDL_OK;
    nndl_dataset_free(tr);
    nndl_dataset_free(va);
    return ok;
}

TEST(data_set_fingerprint_is_the_content_not_the_compression)
{
    const char *plain = make_dir("fp-plain"), *gz = make_dir("fp-gz"), *other = make_dir("fp-o");
    REQUIRE(write_bars(plain, 60, 12, 8, 8, 4, 0));
    REQUIRE(write_bars(gz, 60, 12, 8, 8, 4, 1));
    REQUIRE(write_bars(other, 60, 12, 8, 8, 3, 0));
    char a[33], b[33], c[33], d[33];
    REQUIRE(file_fingerprint(plain, -1, a) && file_fingerprint(gz, 5, b) &&
            file_fingerprint(plain, 0, c) && file_fingerprint(other, -1, d));
    CHECK(strlen(a) == 32 && strcmp(a, b) == 0 && strcmp(a, c) == 0);
    CHECK(strcmp(a, d) != 0);
}

TEST(data_set_files_named_one_by_one_and_what_is_wrong_with_them)
{
    const char *dir = make_dir("named");
    REQUIRE(write_bars(dir, 60, 12, 10, 7, 2, 0));
    char list[3000];
    snprintf(list, sizeof list,
             "%s/train-images.idx3-ubyte,%s/train-labels.idx1-ubyte,%s/t10k-images.idx3-ubyte,"
             "%s/t10k-labels.idx1-ubyte", dir, dir, dir, dir);
    nndl_error err;
    nndl_data_files files;
    REQUIRE(nndl_data_files_find(list, &files, &err) == NNDL_OK);
    CHECK(strcmp(strrchr(files.path[2], '/'), "/t10k-images.idx3-ubyte") == 0);
    /* three files, a missing one, a directory without them */
    *strrchr(list, ',') = 0;
    CHECK(nndl_data_files_find(list, &files, &err) == NNDL_ERR_ARG &&
          strstr(err.message, "expected four files"));
    snprintf(list, sizeof list, "%s/train-images.idx3-ubyte,%s/nothing,%s/a,%s/b", dir, dir,
             dir, dir);
    CHECK(nndl_data_files_find(list, &files, &err) == NNDL_ERR_NOT_FOUND &&
          strstr(err.message, "nothing: no such file (the training labels)"));
    const char *empty = make_dir("no-files");
    CHECK(nndl_data_files_find(empty, &files, &err) == NNDL_ERR_NOT_FOUND &&
          strstr(err.message, "no training images file"));
    CHECK(nndl_data_files_find("/nonexistent/dir", &files, &err) == NNDL_ERR_NOT_FOUND &&
          strstr(err.message, "not a directory"));

    /* test images of another shape; a single class */
    const char *other = make_dir("other-shape");
    REQUIRE(write_bars(other, 60, 12, 10, 7, 2, 0));
    uint8_t px[12 * 7 * 7] = {0};
    char path[600];
    snprintf(path, sizeof path, "%s/t10k-images.idx3-ubyte", other);
    REQUIRE(write_idx(path, 0, 12, 7, 7, px));
    REQUIRE(nndl_data_files_find(other, &files, &err) == NNDL_OK);
    nndl_dataset *t = NULL, *te = NULL;
    CHECK(nndl_data_load(&files, -1, &t, NULL, &te, NULL, &err) == NNDL_ERR_FORMAT &&
          strstr(err.message, "7x7") && strstr(err.message, "10x7"));
    const char *one = make_dir("one-class");
    REQUIRE(write_bars(one, 60, 12, 10, 7, 2, 0));
    uint8_t zeros[60] = {0};
    snprintf(path, sizeof path, "%s/train-labels.idx1-ubyte", one);
    REQUIRE(write_idx(path, 0, 60, 0, 0, zeros));
    REQUIRE(nndl_data_files_find(one, &files, &err) == NNDL_OK);
    CHECK(nndl_data_load(&files, -1, &t, NULL, NULL, NULL, &err) == NNDL_ERR_FORMAT &&
          strstr(err.message, "only one class"));
}

/* ---- the command line ---------------------------------------------------- */

typedef struct cli_result {
    int status;
    char out[16384], err[8192];
} cli_result;

static void read_into(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = 0;
    if (f) fclose(f);
}

/* Runs a whole shell command line, `NAME=value ... 'nndl' ARGS`. */
static void run_env(const char *line, cli_result *r)
{
    char cmd[8192], out[512], err[512];
    snprintf(out, sizeof out, "%s/other.out", test_tmpdir());
    snprintf(err, sizeof err, "%s/other.err", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s >'%s' 2>'%s' </dev/null", line, out, err);
    int rc = system(cmd);
    r->status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
    read_into(out, r->out, sizeof r->out);
    read_into(err, r->err, sizeof r->err);
}

static void run(const char *args, cli_result *r)
{
    char line[8192];
    snprintf(line, sizeof line, "'%s' %s", NNDL_CLI_PATH, args);
    run_env(line, r);
}

/* Images of 12x16 pixels, 4 named classes: trained, saved, inspected,
 * evaluated; the model says what it was trained on. */
TEST(cli_train_on_another_data_set_records_it)
{
    const char *dir = make_dir("bars-cli");
    REQUIRE(write_bars(dir, 1200, 200, 12, 16, 4, 0));
    REQUIRE(write_text(dir, "classes.txt", "top\nupper middle\nlower middle\nbottom\n"));
    char args[4096], model[600];
    snprintf(model, sizeof model, "%s/bars.nndl", test_tmpdir());
    snprintf(args, sizeof args,
             "train --data '%s' --sizes 192,20,4 --epochs 3 --eta 0.5 --cost cross-entropy "
             "--save '%s' --threads 1", dir, model);
    cli_result r;
    run(args, &r);
    REQUIRE(r.status == 0);
    /* one line says what was loaded */
    CHECK(strstr(r.err, "1200 training images (200 of them for validation), 200 test images, "
                        "12x16 pixels, 4 classes (top, upper middle, lower middle, bottom)"));
    int correct = 0, total = 0;
    const char *last = strstr(r.out, "Epoch 2: ");
    REQUIRE(last && sscanf(last, "Epoch 2: %d / %d", &correct, &total) == 2);
    CHECK(total == 200 && correct >= 190); /* the bars are easy */

    /* the default sizes fit the data: 192 inputs, 4 outputs */
    char model2[600];
    snprintf(model2, sizeof model2, "%s/bars-default.nndl", test_tmpdir());
    snprintf(args, sizeof args, "train --data '%s' --epochs 1 --save '%s' --threads 1", dir,
             model2);
    run(args, &r);
    CHECK(r.status == 0);
    snprintf(args, sizeof args, "inspect '%s'", model2);
    run(args, &r);
    CHECK(r.status == 0 && strstr(r.out, "192") && strstr(r.out, "-> 4"));

    snprintf(args, sizeof args, "inspect '%s'", model);
    run(args, &r);
    CHECK(r.status == 0);
    CHECK(strstr(r.out, "training images of 12x16 pixels, 4 classes") != NULL);
    CHECK(strstr(r.out, "top, upper middle, lower middle, bottom") != NULL);
    CHECK(strstr(r.out, "fingerprint     ") != NULL);

    /* eval on the same data: classes in the confusion matrix, names listed */
    snprintf(args, sizeof args, "eval '%s' --data '%s' --confusion", model, dir);
    run(args, &r);
    CHECK(r.status == 0 && strstr(r.out, "rows are the true classes") &&
          strstr(r.out, "3 bottom") && !strstr(r.err, "warning"));

    /* data of the same shape with fewer classes: a warning, then the count */
    const char *fewer = make_dir("bars-fewer");
    REQUIRE(write_bars(fewer, 120, 60, 12, 16, 2, 1));
    snprintf(args, sizeof args, "eval '%s' --data '%s'", model, fewer);
    run(args, &r);
    CHECK(r.status == 0 && strstr(r.err, "warning") && strstr(r.err, "4 classes") &&
          strstr(r.err, "2 classes") && strstr(r.out, " / 60"));
    /* another shape of as many pixels: the network takes it, with a warning */
    const char *wide = make_dir("bars-wide");
    REQUIRE(write_bars(wide, 120, 60, 8, 24, 4, 1));
    snprintf(args, sizeof args, "eval '%s' --data '%s'", model, wide);
    run(args, &r);
    CHECK(r.status == 0 && strstr(r.err, "warning") && strstr(r.err, "12x16 pixels") &&
          strstr(r.err, "8x24"));

    /* more outputs than classes: said once, and training goes on */
    snprintf(args, sizeof args, "train --data '%s' --sizes 192,10,6 --epochs 1 --threads 1", dir);
    run(args, &r);
    CHECK(r.status == 0 &&
          strstr(r.err, "warning: the output layer has 6 neurons for 4 classes"));

    /* nndl data says what a data set holds */
    snprintf(args, sizeof args, "data --data '%s' --validation 300", dir);
    run(args, &r);
    CHECK(r.status == 0 && strstr(r.out, "(300 of them for validation)"));
}

/* A checkpoint of a run on 12x16 images, whose shape the arguments alone
 * do not give: inspected, and resumed to the same weights as a run that
 * was never stopped (a convolutional network, and default sizes). */
TEST(cli_checkpoint_of_another_data_set_resumes)
{
    const char *dir = make_dir("bars-ck");
    REQUIRE(write_bars(dir, 300, 60, 12, 16, 4, 0));
    static const char *const nets[] = {"--layers conv:4:5,pool:2,fc:30,softmax:4", ""};
    for (int i = 0; i < 2; i++) {
        char args[4096], ck[600], whole[600], resumed[600];
        snprintf(ck, sizeof ck, "%s/bars-%d.ck", test_tmpdir(), i);
        snprintf(whole, sizeof whole, "%s/bars-whole-%d.nndl", test_tmpdir(), i);
        snprintf(resumed, sizeof resumed, "%s/bars-resumed-%d.nndl", test_tmpdir(), i);
        cli_result r;
        snprintf(args, sizeof args, "train --data '%s' %s --epochs 2 --threads 1 --save '%s'",
                 dir, nets[i], whole);
        run(args, &r);
        REQUIRE(r.status == 0);
        snprintf(args, sizeof args,
                 "train --data '%s' %s --epochs 1 --threads 1 --checkpoint '%s' --save '%s'",
                 dir, nets[i], ck, resumed);
        run(args, &r);
        REQUIRE(r.status == 0);
        snprintf(args, sizeof args, "inspect '%s'", ck);
        run(args, &r);
        if (r.status != 0 || !strstr(r.out, "checkpoint"))
            test_fail(__FILE__, __LINE__, "net %d: inspect: %d, %s", i, r.status, r.err);
        snprintf(args, sizeof args, "train --resume '%s' --epochs 2", ck);
        run(args, &r);
        if (r.status != 0) test_fail(__FILE__, __LINE__, "net %d: --resume: %s", i, r.err);
        /* the same weights: the two models' evaluations agree to the count */
        char a[64] = "", b[64] = "";
        snprintf(args, sizeof args, "eval '%s' --data '%s'", whole, dir);
        run(args, &r);
        CHECK(r.status == 0);
        snprintf(a, sizeof a, "%.60s", r.out);
        snprintf(args, sizeof args, "eval '%s' --data '%s'", resumed, dir);
        run(args, &r);
        CHECK(r.status == 0);
        snprintf(b, sizeof b, "%.60s", r.out);
        if (strcmp(a, b) != 0)
            test_fail(__FILE__, __LINE__, "net %d: \"%s\" against \"%s\"", i, a, b);
    }
}

TEST(cli_other_data_errors_are_one_line)
{
    const char *dir = make_dir("bars-bad");
    REQUIRE(write_bars(dir, 120, 30, 8, 8, 4, 0));
    REQUIRE(write_text(dir, "classes.txt", "a\nb\nc\n"));
    char args[4096];
    cli_result r;
    snprintf(args, sizeof args, "train --data '%s' --epochs 1", dir);
    run(args, &r);
    CHECK(r.status == 1 && strstr(r.err, "classes.txt: 3 class names, but the labels are 0 to 3"));
    REQUIRE(write_text(dir, "classes.txt", "a\nb\n\nd\n"));
    run(args, &r);
    CHECK(r.status == 1 && strstr(r.err, "line 3: an empty class name"));
    snprintf(args, sizeof args, "train --data '%s' --expanded", dir);
    run(args, &r);
    CHECK(r.status == 2 && strstr(r.err, "--expanded: the expanded set is MNIST's"));
    run("train --validation 10", &r);
    CHECK(r.status == 2 && strstr(r.err, "--validation"));
    run("train --data /nonexistent/bars --epochs 1", &r);
    CHECK(r.status == 1 && strstr(r.err, "/nonexistent/bars: not a directory"));
}

/* Another 28x28 set of 10 classes, unpacked as plain files with the dotted
 * names: MNIST's images mirrored left to right, with the labels renamed.
 * It trains, and the model records it. */
TEST(cli_train_on_a_28x28_ten_class_set)
{
    nndl_dataset *test = NULL;
    nndl_dataset *train = test_mnist_head(6000, &test);
    REQUIRE(train && test);
    const char *dir = make_dir("mirrored-mnist");
    static const uint32_t counts[2] = {6000, 1000};
    const nndl_dataset *parts[2] = {train, test};
    static const char *const names[4] = {"train-images.idx3-ubyte", "train-labels.idx1-ubyte",
                                         "t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte"};
    for (int p = 0; p < 2; p++) {
        uint8_t *px = malloc((size_t)counts[p] * 784), *lb = malloc(counts[p]);
        REQUIRE(px && lb);
        for (uint32_t i = 0; i < counts[p]; i++) {
            const uint8_t *img = nndl_dataset_image(parts[p], i);
            for (int k = 0; k < 784; k++) px[(size_t)i * 784 + k] = img[k / 28 * 28 + 27 - k % 28];
            lb[i] = (uint8_t)((nndl_dataset_labels(parts[p])[i] + 3) % 10);
        }
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, names[2 * p]);
        CHECK(write_idx(path, 0, counts[p], 28, 28, px));
        snprintf(path, sizeof path, "%s/%s", dir, names[2 * p + 1]);
        CHECK(write_idx(path, 0, counts[p], 0, 0, lb));
        free(px);
        free(lb);
    }
    nndl_dataset_free(train);
    nndl_dataset_free(test);
    char args[4096], model[600];
    snprintf(model, sizeof model, "%s/mirrored.nndl", test_tmpdir());
    snprintf(args, sizeof args,
             "train --data '%s' --sizes 784,30,10 --cost cross-entropy --eta 0.5 --epochs 2 "
             "--save '%s' --threads 1", dir, model);
    cli_result r;
    run(args, &r);
    REQUIRE(r.status == 0);
    CHECK(strstr(r.err, "6000 training images (1000 of them for validation), 1000 test images, "
                        "28x28 pixels, 10 classes"));
    int correct = 0, total = 0;
    const char *last = strstr(r.out, "Epoch 1: ");
    REQUIRE(last && sscanf(last, "Epoch 1: %d / %d", &correct, &total) == 2);
    CHECK(total == 1000 && correct > 800);
    snprintf(args, sizeof args, "inspect '%s'", model);
    run(args, &r);
    CHECK(strstr(r.out, "mirrored-mnist: 6000 training images of 28x28 pixels, 10 classes"));
}

/* Files under MNIST's names that are not MNIST (labels shifted by one):
 * training says so; `nndl data` refuses them over their MD5 sums. */
TEST(cli_other_files_under_mnist_names_are_told_apart)
{
    const char *mnist = test_mnist_dir();
    REQUIRE(mnist);
    nndl_dataset *train = NULL, *valid = NULL, *test = NULL;
    nndl_error err;
    REQUIRE(nndl_mnist_load(mnist, &train, &valid, &test, &err) == NNDL_OK);
    const char *dir = make_dir("not-mnist");
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    /* training and validation together make the 60,000 of the training file */
    const nndl_dataset *files[2][2] = {{train, valid}, {test, NULL}};
    for (int p = 0; p < 2; p++) {
        size_t n = 0, at = 0;
        for (int k = 0; k < 2 && files[p][k]; k++) n += nndl_dataset_count(files[p][k]);
        uint8_t *px = malloc(n * 784), *lb = malloc(n);
        REQUIRE(px && lb);
        for (int k = 0; k < 2 && files[p][k]; k++) {
            size_t m = nndl_dataset_count(files[p][k]);
            memcpy(px + at * 784, nndl_dataset_image(files[p][k], 0), m * 784);
            for (size_t i = 0; i < m; i++)
                lb[at + i] = (uint8_t)((nndl_dataset_labels(files[p][k])[i] + 1) % 10);
            at += m;
        }
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, names[2 * p]);
        CHECK(write_idx(path, 0, (uint32_t)n, 28, 28, px));
        snprintf(path, sizeof path, "%s/%s", dir, names[2 * p + 1]);
        CHECK(write_idx(path, 0, (uint32_t)n, 0, 0, lb));
        free(px);
        free(lb);
    }
    nndl_dataset_free(train);
    nndl_dataset_free(valid);
    nndl_dataset_free(test);
    char args[4096];
    cli_result r;
    snprintf(args, sizeof args, "NNDL_DATA='%s' '%s' train --sizes 784,10 --epochs 1 "
             "--train-size 1000 --threads 1", dir, NNDL_CLI_PATH);
    run_env(args, &r);
    CHECK(r.status == 0 && strstr(r.err, "warning:") &&
          strstr(r.err, "not MNIST's training images"));
    snprintf(args, sizeof args, "NNDL_DATA='%s' '%s' data", dir, NNDL_CLI_PATH);
    run_env(args, &r);
    CHECK(r.status == 1 && strstr(r.err, "MD5"));
    /* and the real MNIST gets no warning */
    run("train --sizes 784,10 --epochs 1 --train-size 1000 --threads 1", &r);
    CHECK(r.status == 0 && !strstr(r.err, "warning"));
}
