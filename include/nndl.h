/*
 * nndl.h - neural networks and deep learning, in C11.
 *
 * The networks of Michael Nielsen's "Neural Networks and Deep Learning":
 * feedforward networks trained by mini-batch stochastic gradient descent and
 * backpropagation on MNIST.
 *
 * Ownership: every object returned by a *_create or *_load function belongs to
 * the caller, who releases it with the matching *_free function (passing NULL
 * is allowed). Pointers returned by accessors point into the object and live
 * as long as it does.
 *
 * Errors: the library never prints and never exits. A function that can fail
 * returns NULL or a non-zero nndl_status and, when its `err` argument is not
 * NULL, writes a one-line reason (naming the file or parameter) into it. On
 * failure, output arguments are left untouched and files on disk keep their
 * previous contents.
 *
 * Threads: a network uses OpenMP threads inside each mini-batch; results are
 * bit-identical for every thread count. Distinct objects may be used from
 * distinct threads; one object must not be used by two threads at once.
 */
#ifndef NNDL_H
#define NNDL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNDL_VERSION_MAJOR 0
#define NNDL_VERSION_MINOR 1
#define NNDL_VERSION_PATCH 0
#define NNDL_VERSION "0.1.0"

#ifndef NNDL_API
#define NNDL_API
#endif

/* Limits, overridable at build time. They keep a hostile file header from
 * asking for a huge allocation: MNIST needs 60,000 images of 28x28. */
#ifndef NNDL_MAX_IMAGES
#define NNDL_MAX_IMAGES 10000000u /* images or labels in one IDX file */
#endif
#ifndef NNDL_MAX_IMAGE_SIDE
#define NNDL_MAX_IMAGE_SIDE 4096u /* rows or columns of one image */
#endif
#ifndef NNDL_MAX_DATA_BYTES
#define NNDL_MAX_DATA_BYTES (2048ull << 20) /* pixels in one IDX file: 2 GiB */
#endif
#ifndef NNDL_MAX_LAYERS
#define NNDL_MAX_LAYERS 64 /* entries of a sizes list, input layer included */
#endif
#ifndef NNDL_MAX_LAYER_SIZE
#define NNDL_MAX_LAYER_SIZE 1000000 /* neurons in one layer */
#endif
#ifndef NNDL_MAX_PARAMS
#define NNDL_MAX_PARAMS 500000000ull /* weights and biases in one network */
#endif

/* ---- Errors ------------------------------------------------------------ */

typedef enum nndl_status {
    NNDL_OK = 0,
    NNDL_ERR_ARG,       /* an argument or setting is out of range */
    NNDL_ERR_IO,        /* a file could not be opened, read or written */
    NNDL_ERR_FORMAT,    /* a file is damaged, truncated or of another kind */
    NNDL_ERR_NOMEM,     /* an allocation failed */
    NNDL_ERR_NOT_FOUND, /* data files are missing */
    NNDL_ERR_NETWORK,   /* a download failed */
    NNDL_ERR_DIVERGED   /* training produced NaN or infinity */
} nndl_status;

typedef struct nndl_error {
    nndl_status status;
    char message[512]; /* one line, no trailing newline */
} nndl_error;

/* A short constant name for a status, such as "format error". */
NNDL_API const char *nndl_status_name(nndl_status status);

/* ---- Datasets ---------------------------------------------------------- */

/* Labelled images, pixels kept as bytes (0..255) to keep memory small; the
 * network sees them scaled to [0,1]. */
typedef struct nndl_dataset nndl_dataset;

/* An empty dataset of `count` images of rows x cols pixels, all zero. */
NNDL_API nndl_dataset *nndl_dataset_create(size_t count, int rows, int cols,
                                           nndl_error *err);
NNDL_API void nndl_dataset_free(nndl_dataset *ds);
NNDL_API size_t nndl_dataset_count(const nndl_dataset *ds);
NNDL_API int nndl_dataset_rows(const nndl_dataset *ds);
NNDL_API int nndl_dataset_cols(const nndl_dataset *ds);
/* Pixels of image i, row by row; rows*cols bytes. */
NNDL_API const uint8_t *nndl_dataset_image(const nndl_dataset *ds, size_t i);
NNDL_API uint8_t *nndl_dataset_image_mut(nndl_dataset *ds, size_t i);
NNDL_API const uint8_t *nndl_dataset_labels(const nndl_dataset *ds);
NNDL_API uint8_t *nndl_dataset_labels_mut(nndl_dataset *ds);

/* Moves the images from `first` on into a new dataset and shrinks `ds` to
 * the images before it. MNIST's validation set is split off this way. */
NNDL_API nndl_dataset *nndl_dataset_split_off(nndl_dataset *ds, size_t first,
                                              nndl_error *err);

/* Reads a pair of IDX files (gzip-compressed or plain): images with magic
 * 2051 and labels with magic 2049. Every header field, the file lengths,
 * the count agreement and each label (0..9) are checked. */
NNDL_API nndl_dataset *nndl_idx_load(const char *images_path,
                                     const char *labels_path, nndl_error *err);

/* ---- MNIST ------------------------------------------------------------- */

/* The four files of MNIST, as distributed. */
extern NNDL_API const char *const nndl_mnist_files[4];

/* Finds the directory holding MNIST: $NNDL_DATA/mnist, then ./data/mnist.
 * Writes it to `dir` (capacity `cap`). NNDL_ERR_NOT_FOUND if neither holds
 * all four files. */
NNDL_API nndl_status nndl_mnist_find(char *dir, size_t cap, nndl_error *err);

/* Downloads the four files into `dir` (created if needed) from a public
 * mirror with libcurl and checks the MD5 of each decompressed file. The
 * environment variable NNDL_MNIST_MIRROR, if set, is tried first; it may be
 * a file:// URL. Files already present and correct are kept. */
NNDL_API nndl_status nndl_mnist_download(const char *dir, nndl_error *err);

/* Checks the MD5 sums of the decompressed files in `dir`. */
NNDL_API nndl_status nndl_mnist_verify(const char *dir, nndl_error *err);

/* Loads the book's split from `dir`: training = first 50,000 training
 * images, validation = last 10,000, test = the 10,000 t10k images. Any of
 * the output pointers may be NULL when that part is not wanted. */
NNDL_API nndl_status nndl_mnist_load(const char *dir, nndl_dataset **training,
                                     nndl_dataset **validation,
                                     nndl_dataset **test, nndl_error *err);

/* ---- Networks ---------------------------------------------------------- */

typedef enum nndl_cost {
    NNDL_COST_QUADRATIC = 0 /* C = 1/2 ||y - a||^2, eq. 6 */
} nndl_cost;

typedef enum nndl_activation {
    NNDL_ACT_SIGMOID = 0 /* sigma(z) = 1 / (1 + e^-z), eq. 3 */
} nndl_activation;

/* Everything that defines a network before training. */
typedef struct nndl_net_spec {
    int n_sizes;          /* entries of `sizes`: input layer, hidden, output */
    const int *sizes;     /* neurons per layer, e.g. {784, 30, 10} */
    nndl_cost cost;       /* default: quadratic */
    nndl_activation act;  /* activation of every layer; default sigmoid */
    uint64_t seed;        /* initial weights and biases come from this */
} nndl_net_spec;

/* A spec for `sizes` with the chapter-1 defaults. */
NNDL_API nndl_net_spec nndl_net_spec_default(int n_sizes, const int *sizes);

typedef struct nndl_net nndl_net;

/* A network with weights and biases drawn from N(0,1), as in chapter 1. */
NNDL_API nndl_net *nndl_net_create(const nndl_net_spec *spec, nndl_error *err);
NNDL_API void nndl_net_free(nndl_net *net);
/* A deep copy (parameters and settings; scratch space is not shared). */
NNDL_API nndl_net *nndl_net_clone(const nndl_net *net, nndl_error *err);

NNDL_API int nndl_net_n_sizes(const nndl_net *net);
NNDL_API int nndl_net_size(const nndl_net *net, int layer);
NNDL_API nndl_cost nndl_net_cost(const nndl_net *net);
NNDL_API nndl_activation nndl_net_activation(const nndl_net *net);

/* All weights and biases in one buffer. Layer l (1-based, as in the book)
 * holds its weights w^l (sizes[l] x sizes[l-1], row j = neuron j) followed by
 * its biases b^l (sizes[l]). Layers follow each other in order. */
NNDL_API size_t nndl_net_param_count(const nndl_net *net);
NNDL_API float *nndl_net_params(nndl_net *net);
NNDL_API const float *nndl_net_params_const(const nndl_net *net);

/* Threads used inside each mini-batch: 0 (the default) means all cores. */
NNDL_API void nndl_net_set_threads(nndl_net *net, int threads);

/* Feeds `count` inputs (each sizes[0] floats, one after another) forward
 * (eq. 25) and writes the output activations (each sizes[L] floats). */
NNDL_API nndl_status nndl_net_feedforward(nndl_net *net, const float *inputs,
                                          size_t count, float *outputs,
                                          nndl_error *err);

/* The index of the most active output neuron for one input. Returns -1 on
 * failure (only when memory runs out). */
NNDL_API int nndl_net_classify(nndl_net *net, const float *input);

/* Number of images of `ds` whose label is the most active output neuron. */
NNDL_API nndl_status nndl_net_evaluate(nndl_net *net, const nndl_dataset *ds,
                                       size_t *correct, nndl_error *err);

/* Model files: see docs/MODEL_FORMAT.md. Saving is atomic: the file is
 * written under a temporary name, flushed to disk and renamed, so an
 * interrupted save leaves the previous file intact. */
NNDL_API nndl_status nndl_net_save(const nndl_net *net, const char *path,
                                   nndl_error *err);
NNDL_API nndl_net *nndl_net_load(const char *path, nndl_error *err);

/* ---- Training ---------------------------------------------------------- */

typedef struct nndl_sgd_config {
    int batch_size; /* m, examples per mini-batch */
    float eta;      /* learning rate */
    uint64_t seed;  /* shuffling each epoch comes from this */
} nndl_sgd_config;

/* Called every few mini-batches during an epoch with the number of
 * examples done so far and the epoch's total. */
typedef void (*nndl_progress_fn)(size_t done, size_t total, void *user);

typedef struct nndl_trainer nndl_trainer;

/* A trainer for `net`, which must outlive it. Allocates all scratch space
 * up front: an epoch allocates nothing. */
NNDL_API nndl_trainer *nndl_trainer_create(nndl_net *net,
                                           const nndl_sgd_config *config,
                                           nndl_error *err);
NNDL_API void nndl_trainer_free(nndl_trainer *trainer);

/* One epoch of mini-batch stochastic gradient descent (eq. 20, 21): shuffle
 * the training data, split it into mini-batches and take one step per
 * mini-batch. NNDL_ERR_DIVERGED if a weight became NaN or infinite. */
NNDL_API nndl_status nndl_trainer_epoch(nndl_trainer *trainer,
                                        const nndl_dataset *training,
                                        nndl_progress_fn progress, void *user,
                                        nndl_error *err);

/* ---- Gradient check (chapter 2, eq. 46) -------------------------------- */

typedef struct nndl_gradcheck_result {
    size_t n_params;          /* weights and biases compared */
    double max_rel_error;     /* worst |bp - fd| / max(|bp|, |fd|, 1e-4) */
    size_t worst_param;       /* index of that parameter in the buffer */
    double max_abs_gradient;  /* largest backpropagated component */
    double backprop_seconds;  /* one backpropagation of the batch */
    double numeric_seconds;   /* the centered differences for all params */
} nndl_gradcheck_result;

/* Builds a network of `spec` in double precision with random inputs and
 * labels for `batch` examples, and compares the backpropagated gradient of
 * the mean cost against centered finite differences (eq. 46, centered and
 * extrapolated to the five-point stencil, step h = 1e-3):
 * dC/dw ~ (C(w-2h) - 8 C(w-h) + 8 C(w+h) - C(w+2h)) / 12h. */
NNDL_API nndl_status nndl_gradcheck(const nndl_net_spec *spec, int batch,
                                    nndl_gradcheck_result *result,
                                    nndl_error *err);

/* ---- Baselines (chapter 1) --------------------------------------------- */

/* The average-darkness classifier: for each digit, the mean total darkness
 * of its training images; an image is guessed as the digit whose mean is
 * closest to its own darkness. Returns the number correct on `test`. */
NNDL_API nndl_status nndl_baseline_darkness(const nndl_dataset *training,
                                            const nndl_dataset *test,
                                            size_t *correct, nndl_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NNDL_H */
