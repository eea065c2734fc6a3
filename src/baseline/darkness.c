/* Chapter 1's naive baseline: guess the digit whose training images are,
 * on average, about as dark as the image at hand (mnist_average_darkness.py
 * in the book's code). */
#include <math.h>

#include "common/error.h"
#include "nndl.h"

static uint64_t darkness(const uint8_t *pixels, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += pixels[i];
    return sum;
}

nndl_status nndl_baseline_darkness(const nndl_dataset *training, const nndl_dataset *test,
                                   size_t *correct, nndl_error *err)
{
    size_t pixels = (size_t)nndl_dataset_rows(training) * nndl_dataset_cols(training);
    if ((size_t)nndl_dataset_rows(test) * nndl_dataset_cols(test) != pixels)
        return error_set(err, NNDL_ERR_ARG,
                         "baseline: training and test images differ in size");
    double total[10] = {0}, count[10] = {0}, mean[10];
    const uint8_t *labels = nndl_dataset_labels(training);
    for (size_t i = 0; i < nndl_dataset_count(training); i++) {
        if (labels[i] > 9)
            return error_set(err, NNDL_ERR_ARG, "baseline: label %d is not a digit", labels[i]);
        total[labels[i]] += (double)darkness(nndl_dataset_image(training, i), pixels);
        count[labels[i]] += 1;
    }
    for (int d = 0; d < 10; d++) mean[d] = count[d] > 0 ? total[d] / count[d] : INFINITY;

    size_t right = 0;
    const uint8_t *test_labels = nndl_dataset_labels(test);
    for (size_t i = 0; i < nndl_dataset_count(test); i++) {
        double dark = (double)darkness(nndl_dataset_image(test, i), pixels);
        int guess = 0;
        for (int d = 1; d < 10; d++)
            if (fabs(mean[d] - dark) < fabs(mean[guess] - dark)) guess = d;
        right += guess == test_labels[i];
    }
    *correct = right;
    return NNDL_OK;
}
