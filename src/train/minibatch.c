#include "train/minibatch.h"

#include "common/error.h"
#include "net/network.h"

void gather_batch(float *x, uint8_t *labels, const nndl_dataset *ds,
                  const uint32_t *order, size_t first, int n)
{
    size_t pixels = (size_t)nndl_dataset_rows(ds) * nndl_dataset_cols(ds);
    const uint8_t *all_labels = nndl_dataset_labels(ds);
    for (int i = 0; i < n; i++) {
        size_t idx = order ? order[first + i] : first + i;
        const uint8_t *img = nndl_dataset_image(ds, idx);
        float *row = x + (size_t)i * pixels;
        for (size_t k = 0; k < pixels; k++) row[k] = img[k] * (1.0f / 255.0f);
        labels[i] = all_labels[idx];
    }
}

void prefetch_batch(const nndl_dataset *ds, const uint32_t *order, size_t first, int n)
{
    size_t pixels = (size_t)nndl_dataset_rows(ds) * nndl_dataset_cols(ds);
    size_t count = nndl_dataset_count(ds);
    for (int i = 0; i < n && first + (size_t)i < count; i++) {
        const uint8_t *img = nndl_dataset_image(ds, order[first + i]);
        for (size_t k = 0; k < pixels; k += 64) __builtin_prefetch(img + k);
    }
}

nndl_status check_net_fits_data(const nndl_net *net, const nndl_dataset *ds,
                                const char *what, nndl_error *err)
{
    long pixels = (long)nndl_dataset_rows(ds) * nndl_dataset_cols(ds);
    int n_out = net->sizes[net->n_sizes - 1];
    if (net->sizes[0] != pixels)
        return error_set(err, NNDL_ERR_ARG,
                         "sizes: the input layer has %d neurons but %s images have "
                         "%d x %d = %ld pixels",
                         net->sizes[0], what, nndl_dataset_rows(ds), nndl_dataset_cols(ds),
                         pixels);
    /* One output neuron is a binary classifier: labels 0 and 1. */
    int classes = n_out == 1 ? 2 : n_out;
    const uint8_t *labels = nndl_dataset_labels(ds);
    size_t count = nndl_dataset_count(ds);
    for (size_t i = 0; i < count; i++)
        if (labels[i] >= classes)
            return error_set(err, NNDL_ERR_ARG,
                             "sizes: the output layer has %d neuron%s but %s has label %d",
                             n_out, n_out == 1 ? "" : "s", what, labels[i]);
    return NNDL_OK;
}
