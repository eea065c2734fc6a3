#include "data/dataset.h"

#include <string.h>

#include "common/alloc.h"
#include "common/error.h"

nndl_dataset *dataset_adopt(uint8_t *pixels, uint8_t *labels, size_t count,
                            int rows, int cols, nndl_error *err)
{
    nndl_dataset *ds = alloc_array(1, sizeof *ds);
    if (!ds) {
        alloc_free(pixels);
        alloc_free(labels);
        error_set(err, NNDL_ERR_NOMEM, "out of memory for a dataset");
        return NULL;
    }
    ds->count = count;
    ds->rows = rows;
    ds->cols = cols;
    ds->pixels = pixels;
    ds->labels = labels;
    return ds;
}

nndl_dataset *nndl_dataset_create(size_t count, int rows, int cols, nndl_error *err)
{
    if (rows < 1 || cols < 1 || (unsigned)rows > NNDL_MAX_IMAGE_SIDE ||
        (unsigned)cols > NNDL_MAX_IMAGE_SIDE) {
        error_set(err, NNDL_ERR_ARG, "dataset: image of %dx%d pixels (each side must be 1..%u)",
                  rows, cols, NNDL_MAX_IMAGE_SIDE);
        return NULL;
    }
    size_t bytes;
    if (size_mul_overflows(count, (size_t)rows * (size_t)cols, &bytes)) {
        error_set(err, NNDL_ERR_ARG, "dataset: %zu images of %dx%d pixels overflow memory sizes",
                  count, rows, cols);
        return NULL;
    }
    uint8_t *pixels = alloc_zeroed(bytes, 1);
    uint8_t *labels = alloc_zeroed(count, 1);
    if (!pixels || !labels) {
        alloc_free(pixels);
        alloc_free(labels);
        error_set(err, NNDL_ERR_NOMEM, "dataset: out of memory for %zu images of %dx%d pixels",
                  count, rows, cols);
        return NULL;
    }
    return dataset_adopt(pixels, labels, count, rows, cols, err);
}

void nndl_dataset_free(nndl_dataset *ds)
{
    if (!ds) return;
    alloc_free(ds->pixels);
    alloc_free(ds->labels);
    alloc_free(ds);
}

size_t nndl_dataset_count(const nndl_dataset *ds) { return ds ? ds->count : 0; }
int nndl_dataset_rows(const nndl_dataset *ds) { return ds ? ds->rows : 0; }
int nndl_dataset_cols(const nndl_dataset *ds) { return ds ? ds->cols : 0; }

const uint8_t *nndl_dataset_image(const nndl_dataset *ds, size_t i)
{
    if (!ds || i >= ds->count) return NULL;
    return ds->pixels + i * dataset_image_bytes(ds);
}

uint8_t *nndl_dataset_image_mut(nndl_dataset *ds, size_t i)
{
    if (!ds || i >= ds->count) return NULL;
    return ds->pixels + i * dataset_image_bytes(ds);
}

const uint8_t *nndl_dataset_labels(const nndl_dataset *ds) { return ds ? ds->labels : NULL; }
uint8_t *nndl_dataset_labels_mut(nndl_dataset *ds) { return ds ? ds->labels : NULL; }

nndl_status nndl_dataset_truncate(nndl_dataset *ds, size_t count, nndl_error *err)
{
    if (!ds) return error_set(err, NNDL_ERR_ARG, "dataset truncate: no dataset");
    if (count > ds->count)
        return error_set(err, NNDL_ERR_ARG, "dataset truncate: %zu images asked of %zu", count,
                         ds->count);
    /* If shrinking fails, the larger block is still valid: keep it. */
    uint8_t *p = alloc_resize(ds->pixels, count, dataset_image_bytes(ds));
    if (p) ds->pixels = p;
    p = alloc_resize(ds->labels, count, 1);
    if (p) ds->labels = p;
    ds->count = count;
    return NNDL_OK;
}

nndl_dataset *nndl_dataset_split_off(nndl_dataset *ds, size_t first, nndl_error *err)
{
    if (!ds) {
        error_set(err, NNDL_ERR_ARG, "dataset split: no dataset");
        return NULL;
    }
    if (first > ds->count) {
        error_set(err, NNDL_ERR_ARG, "dataset split: image %zu is past the end (%zu images)",
                  first, ds->count);
        return NULL;
    }
    /* Copy only the tail, then shrink the original in place: the peak is
     * the whole set plus the tail, never two whole sets. */
    size_t image = dataset_image_bytes(ds), tail = ds->count - first;
    nndl_dataset *rest = nndl_dataset_create(tail, ds->rows, ds->cols, err);
    if (!rest) return NULL;
    memcpy(rest->pixels, ds->pixels + first * image, tail * image);
    memcpy(rest->labels, ds->labels + first, tail);

    /* If shrinking fails, the larger block is still valid: keep it. */
    uint8_t *p = alloc_resize(ds->pixels, first, image);
    if (p) ds->pixels = p;
    p = alloc_resize(ds->labels, first, 1);
    if (p) ds->labels = p;
    ds->count = first;
    return rest;
}

nndl_status nndl_dataset_append(nndl_dataset *ds, const nndl_dataset *more, nndl_error *err)
{
    if (!ds || !more) return error_set(err, NNDL_ERR_ARG, "dataset append: no dataset");
    if (ds->rows != more->rows || ds->cols != more->cols)
        return error_set(err, NNDL_ERR_ARG,
                         "dataset append: images of %dx%d pixels onto images of %dx%d",
                         more->rows, more->cols, ds->rows, ds->cols);
    size_t image = dataset_image_bytes(ds), count = ds->count + more->count, bytes;
    if (count < ds->count || size_mul_overflows(count, image, &bytes))
        return error_set(err, NNDL_ERR_ARG, "dataset append: %zu and %zu images overflow "
                         "memory sizes", ds->count, more->count);
    /* each block grown in place; a failure leaves ds as it was (a larger
     * pixel block holds the same first images) */
    uint8_t *pixels = alloc_resize(ds->pixels, count, image);
    if (!pixels) goto nomem;
    ds->pixels = pixels;
    uint8_t *labels = alloc_resize(ds->labels, count, 1);
    if (!labels) goto nomem;
    ds->labels = labels;
    memcpy(ds->pixels + ds->count * image, more->pixels, more->count * image);
    memcpy(ds->labels + ds->count, more->labels, more->count);
    ds->count = count;
    return NNDL_OK;
nomem:
    return error_set(err, NNDL_ERR_NOMEM, "dataset append: out of memory for %zu images of "
                     "%dx%d pixels", count, ds->rows, ds->cols);
}
