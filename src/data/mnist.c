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

/* 1 if `dir` holds all four files, gzip-compressed or unpacked. */
static int holds_mnist(const char *dir)
{
    nndl_data_files files;
    nndl_error ignored;
    return nndl_data_files_find(dir, &files, &ignored) == NNDL_OK;
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
                         "download it, or put the four files (%s, %s, %s, %s, or unpacked "
                         "without .gz) in data/mnist",
                         cand[0], cand[1], nndl_mnist_files[0], nndl_mnist_files[1],
                         nndl_mnist_files[2], nndl_mnist_files[3]);
    return error_set(err, NNDL_ERR_NOT_FOUND,
                     "MNIST not found in data/mnist (and NNDL_DATA is not set): run `nndl data` "
                     "to download it, or put the four files (%s, %s, %s, %s, or unpacked "
                     "without .gz) in data/mnist",
                     nndl_mnist_files[0], nndl_mnist_files[1], nndl_mnist_files[2],
                     nndl_mnist_files[3]);
}

nndl_status nndl_mnist_files_in(const char *dir, nndl_data_files *files, nndl_error *err)
{
    if (!dir || !files) return error_set(err, NNDL_ERR_ARG, "mnist: no directory given");
    return nndl_data_files_find(dir, files, err);
}

nndl_status nndl_mnist_check(const nndl_data_files *files, const nndl_data_info *info,
                             nndl_error *err)
{
    if (!info->training && !info->test) return NNDL_OK; /* nothing was loaded */
    if (info->training && info->training != 60000)
        return error_set(err, NNDL_ERR_FORMAT, "%s: %zu images, but MNIST has 60000",
                         files->path[0], info->training);
    if (info->training && info->validation != 10000 && info->validation != 0)
        return error_set(err, NNDL_ERR_ARG, "MNIST: %zu validation images, but the book's split "
                         "has 10000 (or none, to train on all 60000)", info->validation);
    if (info->test && info->test != 10000)
        return error_set(err, NNDL_ERR_FORMAT, "%s: %zu images, but MNIST has 10000",
                         files->path[2], info->test);
    if (info->rows != 28 || info->cols != 28)
        return error_set(err, NNDL_ERR_FORMAT, "%s: images of %dx%d pixels, but MNIST's are 28x28",
                         files->path[info->training ? 0 : 2], info->rows, info->cols);
    if (info->classes > 10)
        return error_set(err, NNDL_ERR_FORMAT, "%s: label %d is not a digit 0..9",
                         files->path[info->training ? 1 : 3], info->classes - 1);
    return NNDL_OK;
}

nndl_status nndl_mnist_load(const char *dir, nndl_dataset **training,
                            nndl_dataset **validation, nndl_dataset **test, nndl_error *err)
{
    nndl_data_files files;
    nndl_data_info info;
    nndl_dataset *parts[3] = {NULL, NULL, NULL};
    nndl_error local; /* to learn the status when the caller passed no err */
    nndl_error *e = err ? err : &local;
    /* The book (mnist_loader.py) keeps the first 50,000 training images
     * for training and the last 10,000 for validation. */
    if (nndl_mnist_files_in(dir, &files, e) ||
        nndl_data_load(&files, -1, training ? &parts[0] : NULL,
                       validation ? &parts[1] : NULL, test ? &parts[2] : NULL, &info, e))
        return e->status;
    if (nndl_mnist_check(&files, &info, e)) {
        for (int i = 0; i < 3; i++) nndl_dataset_free(parts[i]);
        return e->status;
    }
    if (training) *training = parts[0];
    if (validation) *validation = parts[1];
    if (test) *test = parts[2];
    return NNDL_OK;
}
