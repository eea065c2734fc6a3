/* Any labelled images in IDX format, as MNIST is distributed: four files,
 * found in a directory under MNIST's names (or as many downloads unpack
 * them) or named one by one. The shape of the images and the number of
 * classes come from the files themselves. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "data/dataset.h"

/* What each of the four files is called, first as MNIST ships them; the
 * plain names and the "train-images.idx3-ubyte" spelling are what common
 * archives unpack to. */
static const char *const stems[4][2] = {
    {"train-images-idx3-ubyte", "train-images.idx3-ubyte"},
    {"train-labels-idx1-ubyte", "train-labels.idx1-ubyte"},
    {"t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"},
    {"t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"},
};
static const char *const roles[4] = {"training images", "training labels", "test images",
                                     "test labels"};

static int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The first of `dir`'s spellings of file `k` that is there. */
static nndl_status find_in_dir(const char *dir, int k, char *out, nndl_error *err)
{
    for (int s = 0; s < 2; s++)
        for (int gz = 1; gz >= 0; gz--) {
            int n = snprintf(out, NNDL_DATA_PATH_CAP, "%s/%s%s", dir, stems[k][s],
                             gz ? ".gz" : "");
            if (n < 0 || n >= NNDL_DATA_PATH_CAP)
                return error_set(err, NNDL_ERR_ARG, "%s: directory name too long", dir);
            if (is_regular(out)) return NNDL_OK;
        }
    return error_set(err, NNDL_ERR_NOT_FOUND,
                     "%s: no %s file (%s.gz, or %s or %s unpacked)", dir, roles[k],
                     stems[k][0], stems[k][0], stems[k][1]);
}

nndl_status nndl_data_files_find(const char *where, nndl_data_files *files, nndl_error *err)
{
    if (!where || !*where || !files)
        return error_set(err, NNDL_ERR_ARG, "data: no directory or files given");
    if (!strchr(where, ',')) {
        if (!is_directory(where))
            return error_set(err, NNDL_ERR_NOT_FOUND,
                             "%s: not a directory (give a directory holding the four IDX files, "
                             "or the four files comma-separated)", where);
        for (int k = 0; k < 4; k++) {
            nndl_status st = find_in_dir(where, k, files->path[k], err);
            if (st) return st;
        }
        return NNDL_OK;
    }
    /* four paths: training images, labels, test images, labels */
    const char *p = where;
    for (int k = 0; k < 4; k++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if ((k < 3) != (end != NULL) || len == 0)
            return error_set(err, NNDL_ERR_ARG,
                             "%s: expected four files, comma-separated: training images, "
                             "training labels, test images, test labels", where);
        if (len >= NNDL_DATA_PATH_CAP)
            return error_set(err, NNDL_ERR_ARG, "data: a file name of %zu bytes is too long", len);
        memcpy(files->path[k], p, len);
        files->path[k][len] = 0;
        if (!is_regular(files->path[k]))
            return error_set(err, NNDL_ERR_NOT_FOUND, "%s: no such file (the %s)",
                             files->path[k], roles[k]);
        p = end ? end + 1 : p + len;
    }
    return NNDL_OK;
}

/* The largest label of `ds` plus one. */
static int classes_of(const nndl_dataset *ds)
{
    int top = -1;
    for (size_t i = 0; i < ds->count; i++)
        if (ds->labels[i] > top) top = ds->labels[i];
    return top + 1;
}

long nndl_data_validation_default(size_t training)
{
    size_t sixth = training / 6;
    return (long)(sixth < 10000 ? sixth : 10000);
}

nndl_status nndl_data_load(const nndl_data_files *files, long validation,
                           nndl_dataset **training, nndl_dataset **validation_set,
                           nndl_dataset **test, nndl_data_info *info, nndl_error *err)
{
    if (!files) return error_set(err, NNDL_ERR_ARG, "data load: no files given");
    nndl_dataset *train = NULL, *valid = NULL, *t10k = NULL;
    nndl_error local;
    nndl_error *e = err ? err : &local;
    nndl_data_info in = {0};

    if (training || validation_set) {
        if (!(train = nndl_idx_load(files->path[0], files->path[1], e))) goto fail;
        in.training = train->count;
        in.rows = train->rows;
        in.cols = train->cols;
        in.classes = classes_of(train);
        long v = validation < 0 ? nndl_data_validation_default(train->count) : validation;
        if ((size_t)v >= train->count) {
            error_set(e, NNDL_ERR_ARG,
                      "%s: %zu training images leave none to train on after %ld for validation",
                      files->path[0], train->count, v);
            goto fail;
        }
        if (!(valid = nndl_dataset_split_off(train, train->count - (size_t)v, e))) goto fail;
        in.validation = (size_t)v;
    }
    if (test) {
        if (!(t10k = nndl_idx_load(files->path[2], files->path[3], e))) goto fail;
        in.test = t10k->count;
        if (train && (t10k->rows != in.rows || t10k->cols != in.cols)) {
            error_set(e, NNDL_ERR_FORMAT,
                      "%s: test images of %dx%d pixels, but the training images (%s) are %dx%d",
                      files->path[2], t10k->rows, t10k->cols, files->path[0], in.rows, in.cols);
            goto fail;
        }
        in.rows = t10k->rows;
        in.cols = t10k->cols;
        int c = classes_of(t10k);
        if (c > in.classes) in.classes = c;
    }
    if (train && in.classes < 2) {
        error_set(e, NNDL_ERR_FORMAT, "%s: every label is 0: there is only one class to learn",
                  files->path[1]);
        goto fail;
    }
    if (training) *training = train; else nndl_dataset_free(train);
    if (validation_set) *validation_set = valid; else nndl_dataset_free(valid);
    if (test) *test = t10k;
    if (info) *info = in;
    return NNDL_OK;
fail:
    nndl_dataset_free(train);
    nndl_dataset_free(valid);
    nndl_dataset_free(t10k);
    return e->status;
}
