/* Finding MNIST on disk and loading the book's split of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "data/dataset.h"

const char *const nndl_mnist_files[4] = {
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
};

enum { PATH_CAP = 4096 };

/* 1 if `dir` holds all four files as regular files. */
static int holds_mnist(const char *dir)
{
    char path[PATH_CAP];
    struct stat st;
    for (int i = 0; i < 4; i++) {
        int n = snprintf(path, sizeof path, "%s/%s", dir, nndl_mnist_files[i]);
        if (n < 0 || (size_t)n >= sizeof path) return 0;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    }
    return 1;
}

nndl_status nndl_mnist_find(char *dir, size_t cap, nndl_error *err)
{
    if (!dir || cap == 0) return error_set(err, NNDL_ERR_ARG, "mnist find: no output buffer");
    /* $NNDL_DATA is a data root holding mnist/, or (as CI sets it) the
     * MNIST directory itself. */
    char cand[3][PATH_CAP];
    int n = 0;
    const char *root = getenv("NNDL_DATA");
    if (root && *root) {
        snprintf(cand[n++], PATH_CAP, "%s/mnist", root);
        snprintf(cand[n++], PATH_CAP, "%s", root);
    }
    snprintf(cand[n++], PATH_CAP, "data/mnist");

    for (int i = 0; i < n; i++) {
        if (!holds_mnist(cand[i])) continue;
        size_t len = strlen(cand[i]);
        if (len >= cap) /* checked first: `dir` is left untouched on failure */
            return error_set(err, NNDL_ERR_ARG, "%s: directory name longer than %zu bytes",
                             cand[i], cap - 1);
        memcpy(dir, cand[i], len + 1);
        return NNDL_OK;
    }
    if (n == 3)
        return error_set(err, NNDL_ERR_NOT_FOUND,
                         "MNIST not found in %s, %s or data/mnist: run `nndl data` to "
                         "download it, or put the four files (%s, %s, %s, %s) in data/mnist",
                         cand[0], cand[1], nndl_mnist_files[0], nndl_mnist_files[1],
                         nndl_mnist_files[2], nndl_mnist_files[3]);
    return error_set(err, NNDL_ERR_NOT_FOUND,
                     "MNIST not found in data/mnist (and NNDL_DATA is not set): run `nndl data` "
                     "to download it, or put the four files (%s, %s, %s, %s) in data/mnist",
                     nndl_mnist_files[0], nndl_mnist_files[1], nndl_mnist_files[2],
                     nndl_mnist_files[3]);
}

/* Loads one pair of files and checks it has the size MNIST has. */
static nndl_dataset *load_part(const char *dir, int first_file, size_t count, nndl_error *err)
{
    char images[PATH_CAP], labels[PATH_CAP];
    int a = snprintf(images, sizeof images, "%s/%s", dir, nndl_mnist_files[first_file]);
    int b = snprintf(labels, sizeof labels, "%s/%s", dir, nndl_mnist_files[first_file + 1]);
    if (a < 0 || b < 0 || (size_t)a >= sizeof images || (size_t)b >= sizeof labels) {
        error_set(err, NNDL_ERR_ARG, "%s: directory name too long", dir);
        return NULL;
    }
    nndl_dataset *ds = nndl_idx_load(images, labels, err);
    if (ds && (ds->count != count || ds->rows != 28 || ds->cols != 28)) {
        error_set(err, NNDL_ERR_FORMAT,
                  "%s: %zu images of %dx%d pixels, but MNIST has %zu of 28x28", images,
                  ds->count, ds->rows, ds->cols, count);
        nndl_dataset_free(ds);
        return NULL;
    }
    return ds;
}

nndl_status nndl_mnist_load(const char *dir, nndl_dataset **training,
                            nndl_dataset **validation, nndl_dataset **test, nndl_error *err)
{
    if (!dir) return error_set(err, NNDL_ERR_ARG, "mnist load: no directory given");
    nndl_dataset *train = NULL, *valid = NULL, *t10k = NULL;
    nndl_error local; /* to learn the status when the caller passed no err */
    nndl_error *e = err ? err : &local;

    /* The book (mnist_loader.py) keeps the first 50,000 training images
     * for training and the last 10,000 for validation. */
    if (training || validation) {
        if (!(train = load_part(dir, 0, 60000, e))) goto fail;
        if (!(valid = nndl_dataset_split_off(train, 50000, e))) goto fail;
    }
    if (test && !(t10k = load_part(dir, 2, 10000, e))) goto fail;

    if (training) *training = train; else nndl_dataset_free(train);
    if (validation) *validation = valid; else nndl_dataset_free(valid);
    if (test) *test = t10k;
    return NNDL_OK;
fail:
    nndl_dataset_free(train);
    nndl_dataset_free(valid);
    nndl_dataset_free(t10k);
    return e->status;
}
