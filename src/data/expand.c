/* The book's expanded training set (chapter 3, expand_mnist.py): every
 * training image followed by four copies of it moved by one pixel, and
 * loading that set back from the files `nndl expand` writes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "data/dataset.h"
#include "data/transform.h"

const char *const nndl_mnist_expanded_files[2] = {
    "expanded-train-images-idx3-ubyte.gz",
    "expanded-train-labels-idx1-ubyte.gz",
};

enum {
    EXPAND_COPIES = 5,          /* the original and four shifts */
    EXPANDED_COUNT = 250000,    /* 5 x MNIST's 50,000 training images */
    PATH_CAP = 4096
};

/* (dy, dx) of the four shifted copies, in the order of expand_mnist.py,
 * which rolls the 28x28 array by d along axis a for (d, a) = (1, 0),
 * (-1, 0), (1, 1), (-1, 1) and zeroes the row or column that wrapped
 * around: down, up, right, left. Keeping its order keeps image 5i + 1 of
 * our set equal to the book's (before its final shuffle, which we leave
 * out: the trainer shuffles every epoch anyway). */
static const int expand_shifts[EXPAND_COPIES - 1][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};

nndl_dataset *nndl_dataset_expand(const nndl_dataset *ds, nndl_error *err)
{
    if (!ds) {
        error_set(err, NNDL_ERR_ARG, "expand: no dataset given");
        return NULL;
    }
    if (ds->count > (size_t)-1 / EXPAND_COPIES) {
        error_set(err, NNDL_ERR_ARG, "expand: %zu images are too many to expand", ds->count);
        return NULL;
    }
    nndl_dataset *out = nndl_dataset_create(ds->count * EXPAND_COPIES, ds->rows, ds->cols, err);
    if (!out) return NULL;
    const size_t image = dataset_image_bytes(ds), count = ds->count;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++) {
        const uint8_t *src = ds->pixels + i * image;
        uint8_t *dst = out->pixels + i * EXPAND_COPIES * image;
        memcpy(dst, src, image);
        for (int s = 0; s < EXPAND_COPIES - 1; s++)
            shift_image(dst + (size_t)(s + 1) * image, src, ds->rows, ds->cols,
                        expand_shifts[s][0], expand_shifts[s][1]);
        memset(out->labels + i * EXPAND_COPIES, ds->labels[i], EXPAND_COPIES);
    }
    return out;
}

nndl_status nndl_mnist_load_expanded(const char *dir, nndl_dataset **training, nndl_error *err)
{
    if (!dir || !training)
        return error_set(err, NNDL_ERR_ARG, "load expanded MNIST: no directory or output given");
    char path[2][PATH_CAP];
    for (int i = 0; i < 2; i++) {
        int n = snprintf(path[i], PATH_CAP, "%s/%s", dir, nndl_mnist_expanded_files[i]);
        if (n < 0 || n >= PATH_CAP)
            return error_set(err, NNDL_ERR_ARG, "%s: directory name too long", dir);
        struct stat st;
        if (stat(path[i], &st) != 0 && (errno == ENOENT || errno == ENOTDIR))
            return error_set(err, NNDL_ERR_NOT_FOUND,
                             "%s: not found: run `nndl expand` to make the expanded training "
                             "set (250,000 images)",
                             path[i]);
    }
    nndl_error local; /* to learn the status when the caller passed no err */
    nndl_error *e = err ? err : &local;
    nndl_dataset *ds = nndl_idx_load(path[0], path[1], e);
    if (!ds) return e->status;
    if (ds->count != EXPANDED_COUNT || ds->rows != 28 || ds->cols != 28) {
        nndl_status st = error_set(err, NNDL_ERR_FORMAT,
                                   "%s: %zu images of %dx%d pixels, but the expanded MNIST "
                                   "training set has %d of 28x28 (run `nndl expand` again)",
                                   path[0], ds->count, ds->rows, ds->cols, EXPANDED_COUNT);
        nndl_dataset_free(ds);
        return st;
    }
    *training = ds;
    return NNDL_OK;
}
