#include "train/minibatch.h"

#include <assert.h>

#include "common/error.h"
#include "net/network.h"

typedef struct gather_job {
    float *const *dst; /* where pixels [0, split) go, and [split, pixels) */
    uint8_t *labels;
    const nndl_dataset *ds;
    const uint32_t *order;
    size_t first, pixels;
    int n; /* examples in this batch */
    int prefetch; /* whether to prefetch the next batch */
    int split; /* the first pixel of dst[1]; `pixels` when there is one part */
} gather_job;

/* Pixels [k0, k1) of examples [i0, i1) of the batch, each example its own
 * row of dst (k1 - k0 wide), and their labels if `with_labels`; then, with
 * an order, a request for the same block of the next batch's images:
 * shuffled images are scattered over tens of megabytes, and asking for
 * them now hides the wait. */
static void gather_block(const gather_job *job, float *dst, int i0, int i1, size_t k0,
                         size_t k1, int with_labels)
{
    const uint8_t *all_labels = nndl_dataset_labels(job->ds);
    for (int i = i0; i < i1; i++) {
        size_t idx = job->order ? job->order[job->first + i] : job->first + i;
        const uint8_t *img = nndl_dataset_image(job->ds, idx) + k0;
        float *row = dst + (size_t)i * (k1 - k0);
        for (size_t k = 0; k < k1 - k0; k++) row[k] = img[k] * (1.0f / 255.0f);
        if (with_labels) job->labels[i] = all_labels[idx];
    }
    if (!job->prefetch) return;
    size_t count = nndl_dataset_count(job->ds);
    for (int i = i0; i < i1 && job->first + (size_t)job->n + (size_t)i < count; i++) {
        const uint8_t *img = nndl_dataset_image(job->ds, job->order[job->first + job->n + i]);
        for (size_t k = k0; k < k1; k += 64) __builtin_prefetch(img + k);
    }
}

/* Examples [i0, i1), whole. */
static void gather_rows(void *ctx, int i0, int i1)
{
    const gather_job *job = ctx;
    gather_block(job, job->dst[0], i0, i1, 0, job->pixels, 1);
}

/* Parts [p0, p1) of two: the pixels [0, split) or [split, pixels) of
 * every example, and from part 0 the labels. */
static void gather_parts(void *ctx, int p0, int p1)
{
    const gather_job *job = ctx;
    for (int part = p0; part < p1; part++)
        gather_block(job, job->dst[part], 0, job->n, part == 0 ? 0 : (size_t)job->split,
                     part == 0 ? (size_t)job->split : job->pixels, part == 0);
}

/* A batch of fewer pixels, a few microseconds of work, is copied on the
 * calling thread: at mini-batch 10 (7,840 pixels) it is. */
enum { MIN_PARALLEL_PIXELS = 32768 };

void gather_batch(float *x, uint8_t *labels, const nndl_dataset *ds,
                  const uint32_t *order, size_t first, int n, parallel *par)
{
    size_t pixels = (size_t)nndl_dataset_rows(ds) * nndl_dataset_cols(ds);
    float *const dst[2] = {x, NULL};
    gather_job job = {dst, labels, ds, order, first, pixels, n, order != NULL, (int)pixels};
    parallel_for(par, n, parallel_split(par, n, (long)pixels, MIN_PARALLEL_PIXELS), gather_rows,
                 &job);
}

void gather_batch_parts(float *const parts[2], int split, uint8_t *labels,
                        const nndl_dataset *ds, const uint32_t *order, size_t first, int n,
                        parallel *par)
{
    size_t pixels = (size_t)nndl_dataset_rows(ds) * nndl_dataset_cols(ds);
    assert(split >= 0 && (size_t)split <= pixels); /* a part may be empty */
    gather_job job = {parts, labels, ds, order, first, pixels, n, order != NULL, split};
    parallel_for(par, 2, parallel_split(par, 2, (long)n * split, MIN_PARALLEL_PIXELS),
                 gather_parts, &job);
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
