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
 * Threads: a network splits each mini-batch over a small pool of threads of
 * its own (nndl_net_set_threads); results are bit-identical for every thread
 * count. Distinct objects may be used from distinct threads; one object must
 * not be used by two threads at once.
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

/* Appends the images and labels of `more` (images of the same size) to
 * `ds`, in place. On failure `ds` keeps its images. (`nndl train
 * --validation 0 --expanded` trains on the expanded set followed by the
 * validation images expanded.) */
NNDL_API nndl_status nndl_dataset_append(nndl_dataset *ds, const nndl_dataset *more,
                                         nndl_error *err);

/* Keeps the first `count` images of `ds` and frees the rest, in place:
 * no copy (`--train-size`). count at most the images ds holds. */
NNDL_API nndl_status nndl_dataset_truncate(nndl_dataset *ds, size_t count, nndl_error *err);

/* Reads a pair of IDX files (gzip-compressed or plain): images with magic
 * 2051 and labels with magic 2049. Every header field, the file lengths
 * and the count agreement are checked; labels may be any byte (a class
 * number). */
NNDL_API nndl_dataset *nndl_idx_load(const char *images_path,
                                     const char *labels_path, nndl_error *err);

/* ---- Any labelled images in IDX format ---------------------------------- */

enum { NNDL_DATA_PATH_CAP = 4096 };

/* The four files of a data set: training images, training labels, test
 * images, test labels (the order of nndl_mnist_files). */
typedef struct nndl_data_files {
    char path[4][NNDL_DATA_PATH_CAP];
} nndl_data_files;

/* Finds the four files `where` names: a directory holding them under
 * MNIST's names (train-images-idx3-ubyte, ..., t10k-labels-idx1-ubyte,
 * gzip-compressed with .gz or plain, or spelled train-images.idx3-ubyte as
 * common archives unpack them), or the four paths, comma-separated, in the
 * order above. */
NNDL_API nndl_status nndl_data_files_find(const char *where, nndl_data_files *files,
                                          nndl_error *err);

/* What nndl_data_load found. */
typedef struct nndl_data_info {
    size_t training;   /* images in the training file, validation included */
    size_t validation; /* the last ones of them, split off for validation */
    size_t test;       /* images in the test file */
    int rows, cols;    /* pixels of each image */
    int classes;       /* the largest label + 1: labels are 0 to classes - 1 */
} nndl_data_info;

/* 128 bits of the SHA-256 of the pixels and then the labels of the `n`
 * datasets `parts`, in order, as 32 hex digits: a file's training and
 * validation parts give the fingerprint of the whole file, however it was
 * stored. (Links OpenSSL's libcrypto.) */
NNDL_API nndl_status nndl_dataset_fingerprint(const nndl_dataset *const *parts, int n,
                                              char out[33], nndl_error *err);

/* The validation images split off `training` images when the caller does
 * not say: a sixth of them, at most 10,000 (MNIST's 60,000 give the book's
 * 10,000). */
NNDL_API long nndl_data_validation_default(size_t training);

/* Loads a data set: the last `validation` training images (-1: the
 * default above) become the validation set. Any output may be NULL when
 * that part is not wanted; `info` (or NULL) says what was loaded. The test
 * images must have the training images' shape; the training labels must
 * hold at least two classes. */
NNDL_API nndl_status nndl_data_load(const nndl_data_files *files, long validation,
                                    nndl_dataset **training, nndl_dataset **validation_set,
                                    nndl_dataset **test, nndl_data_info *info,
                                    nndl_error *err);

/* ---- MNIST ------------------------------------------------------------- */

/* The four files of MNIST, as distributed. */
extern NNDL_API const char *const nndl_mnist_files[4];

/* Finds the directory holding MNIST (gzip-compressed or unpacked):
 * $NNDL_DATA/mnist, $NNDL_DATA, then ./data/mnist.
 * Writes it to `dir` (capacity `cap`). NNDL_ERR_NOT_FOUND if none holds
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

/* The four MNIST files in `dir`: by their names in nndl_mnist_files, or
 * unpacked (without .gz) as nndl_data_files_find finds them. */
NNDL_API nndl_status nndl_mnist_files_in(const char *dir, nndl_data_files *files,
                                         nndl_error *err);

/* Whether what nndl_data_load loaded from `files` has MNIST's shape:
 * 60,000 training and 10,000 test images (the parts that were loaded) of
 * 28x28 pixels, labels 0 to 9, and the book's split: the last 10,000
 * training images for validation, or none (training on all 60,000). */
NNDL_API nndl_status nndl_mnist_check(const nndl_data_files *files, const nndl_data_info *info,
                                      nndl_error *err);

/* ---- Networks ---------------------------------------------------------- */

/* Kinds are stable numbers: model files store them. */
typedef enum nndl_cost {
    NNDL_COST_QUADRATIC = 0,     /* C = 1/2 ||y - a||^2 (eq. 6); sigmoid output */
    NNDL_COST_CROSS_ENTROPY = 1, /* eq. 63; sigmoid output, delta = a - y */
    NNDL_COST_LOG_LIKELIHOOD = 2 /* C = -ln a_y (eq. 80); softmax output */
} nndl_cost;
#define NNDL_COST_COUNT 3

typedef enum nndl_activation {
    NNDL_ACT_SIGMOID = 0, /* 1 / (1 + e^-z), eq. 3 */
    NNDL_ACT_TANH = 1,    /* tanh z, eq. 109 */
    NNDL_ACT_RELU = 2,    /* max(0, z), eq. 112 */
    NNDL_ACT_SOFTMAX = 3, /* e^z_j / sum_k e^z_k (eq. 78); output layer only */
    NNDL_ACT_LINEAR = 4   /* a = z: hidden layers, and max-pooling layers */
} nndl_activation;
#define NNDL_ACT_COUNT 5

typedef enum nndl_init {
    NNDL_INIT_SCALED = 0, /* weights N(0, 1/n_in), biases N(0,1): chapter 3 */
    NNDL_INIT_LARGE = 1,  /* weights and biases N(0,1): chapter 1 */
    /* network3.py's (chapter 6): weights N(0, 1/n_out), where n_out is a
     * fully connected layer's neurons and a convolutional layer's
     * maps * k^2 / p^2; biases N(0,1); the output layer starts at zero
     * with the log-likelihood cost (network3.py's SoftmaxLayer) */
    NNDL_INIT_NETWORK3 = 2,
    NNDL_INIT_HE = 3      /* weights N(0, 2/n_in), biases 0: for ReLU (He et al. 2015) */
} nndl_init;
#define NNDL_INIT_COUNT 4

/* Names used on the command line and in files ("cross-entropy", "relu",
 * "scaled"), and back; the parsers return -1 for an unknown name. */
NNDL_API const char *nndl_cost_name(nndl_cost cost);
NNDL_API const char *nndl_activation_name(nndl_activation act);
NNDL_API const char *nndl_init_name(nndl_init init);
NNDL_API int nndl_cost_parse(const char *name);
NNDL_API int nndl_activation_parse(const char *name);
NNDL_API int nndl_init_parse(const char *name);

/* Kinds of layer; stable numbers, as above. */
typedef enum nndl_layer_kind {
    NNDL_LAYER_FC = 0,   /* fully connected: a = act(w a_in + b), eq. 25 */
    /* `size` feature maps of kernel x kernel filters over every input
     * channel, stride 1, no padding; then, with pool > 1, max-pooling of
     * pool x pool regions (stride pool, any remainder of rows or columns
     * left out); then the activation: network3.py's ConvPoolLayer. The
     * bias of a map is added before the pooling, which, for an activation
     * that never decreases, gives what network3.py's order gives. */
    NNDL_LAYER_CONV = 1,
    NNDL_LAYER_POOL = 2  /* max-pooling of pool x pool regions per channel */
} nndl_layer_kind;
#define NNDL_LAYER_KIND_COUNT 3

/* The shape of a layer's activations: channels (feature maps) of height x
 * width. A fully connected layer of n neurons is {n, 1, 1}. */
typedef struct nndl_shape {
    int channels, height, width;
} nndl_shape;

/* One layer of a network given as a sequence of layers. */
typedef struct nndl_layer_spec {
    nndl_layer_kind kind;
    int size;            /* FC: neurons; CONV: feature maps; POOL: unused (0) */
    int kernel;          /* CONV: filters of kernel x kernel; else 0 */
    int pool;            /* CONV: 1 for no pooling, or the pool size; POOL: its size */
    /* FC and CONV hidden layers: any but softmax. The output layer's follows
     * from the cost; POOL layers are linear. */
    nndl_activation act;
    /* FC only: during training, each input of this layer (a neuron of the
     * layer below, never the network's input) is dropped with this
     * probability, as network3.py's p_dropout; 0 for none. */
    float dropout;
} nndl_layer_spec;

/* A layer spec of each kind, with everything else zero or default. */
NNDL_API nndl_layer_spec nndl_layer_fc(int neurons, nndl_activation act);
NNDL_API nndl_layer_spec nndl_layer_conv(int maps, int kernel, int pool, nndl_activation act);
NNDL_API nndl_layer_spec nndl_layer_pool(int pool);

/* Writes a layer as nndl train --layers spells it: "conv:20:5:relu,pool:2"
 * for a convolutional layer that pools, "pool:2", "fc:100:sigmoid",
 * "fc:30:relu:dropout=0.5", and for an output layer (`output`) with
 * softmax "softmax:10". Truncated to fit `cap` bytes. */
NNDL_API void nndl_layer_spec_format(const nndl_layer_spec *layer, int output, char *out,
                                     size_t cap);

/* The name of a layer kind, as the command line spells it: "fc", "conv",
 * "pool"; and back (-1 for an unknown name). */
NNDL_API const char *nndl_layer_kind_name(nndl_layer_kind kind);
NNDL_API int nndl_layer_kind_parse(const char *name);

/* Everything that defines a network before training. The output layer is
 * sigmoid, or softmax with the log-likelihood cost.
 *
 * A network is given either by `sizes` (fully connected layers: the book's
 * chapters 1-3) or, when `layers` is not NULL, as a sequence of layers
 * over inputs of shape `input` (chapter 6); `sizes`, `act` and
 * `hidden_acts` are then unused. The last layer must be fully connected. */
typedef struct nndl_net_spec {
    int n_sizes;          /* entries of `sizes`: input layer, hidden, output */
    const int *sizes;     /* neurons per layer, e.g. {784, 30, 10} */
    nndl_cost cost;       /* default: quadratic */
    nndl_activation act;  /* every hidden layer's activation; default sigmoid */
    /* Optional: one activation per hidden layer (n_sizes - 2 entries),
     * overriding `act`. Softmax is not allowed in hidden layers. */
    const nndl_activation *hidden_acts;
    nndl_init init;       /* default: scaled */
    uint64_t seed;        /* initial weights and biases come from this */
    int n_layers;                  /* entries of `layers` */
    const nndl_layer_spec *layers; /* NULL: use sizes */
    nndl_shape input;              /* with layers: e.g. {1, 28, 28} */
} nndl_net_spec;

/* A spec for `sizes` with the defaults: quadratic cost, sigmoid neurons,
 * scaled initialization, seed 0. */
NNDL_API nndl_net_spec nndl_net_spec_default(int n_sizes, const int *sizes);

typedef struct nndl_net nndl_net;

/* A network with weights and biases drawn as spec->init says. */
NNDL_API nndl_net *nndl_net_create(const nndl_net_spec *spec, nndl_error *err);
NNDL_API void nndl_net_free(nndl_net *net);
/* A deep copy (parameters and settings; scratch space is not shared). */
NNDL_API nndl_net *nndl_net_clone(const nndl_net *net, nndl_error *err);

/* Layer sizes as a list: entry 0 is the number of inputs and entry l the
 * number of activations of layer l (for a convolutional layer, maps x
 * height x width), so n_sizes is the number of layers plus one. */
NNDL_API int nndl_net_n_sizes(const nndl_net *net);
NNDL_API int nndl_net_size(const nndl_net *net, int layer);

/* What one layer is, for layer 1 <= l < n_sizes (as in the book, the
 * input is layer 0 and has no entry). */
typedef struct nndl_layer_info {
    nndl_layer_spec spec;  /* as created; the output layer's act filled in */
    nndl_shape in, out;    /* its input's and its activations' shapes */
    size_t params;         /* its weights and biases */
    size_t first_param;    /* where they start in nndl_net_params */
} nndl_layer_info;
/* NNDL_ERR_ARG when l is out of range. */
NNDL_API nndl_status nndl_net_layer(const nndl_net *net, int layer, nndl_layer_info *info,
                                    nndl_error *err);
/* The shape of the inputs: {sizes[0], 1, 1} for a network made from sizes. */
NNDL_API nndl_shape nndl_net_input_shape(const nndl_net *net);
/* The network's layers as nndl train --layers spells them, comma-separated
 * (see nndl_layer_spec_format). */
NNDL_API void nndl_net_describe(const nndl_net *net, char *out, size_t cap);

/* Whether every layer is fully connected (a network of chapters 1-3). */
NNDL_API int nndl_net_is_dense(const nndl_net *net);
NNDL_API nndl_cost nndl_net_cost(const nndl_net *net);
/* The activation of layer l, 1 <= l < n_sizes (the output layer included). */
NNDL_API nndl_activation nndl_net_activation(const nndl_net *net, int layer);
NNDL_API nndl_init nndl_net_init(const nndl_net *net);
NNDL_API uint64_t nndl_net_seed(const nndl_net *net);

/* All weights and biases in one buffer. Layer l (1-based, as in the book)
 * holds its weights w^l (sizes[l] x sizes[l-1], row j = neuron j) followed by
 * its biases b^l (sizes[l]). Layers follow each other in order. A
 * convolutional layer's weights are its maps' filters one after another,
 * each kernel rows of kernel columns of the input's channels (row, column,
 * channel; channel fastest), then one bias per map; a pooling layer has
 * none. Activations of a layer with a shape are stored row by row, each
 * position's channels together (height, width, channels). */
NNDL_API size_t nndl_net_param_count(const nndl_net *net);
NNDL_API float *nndl_net_params(nndl_net *net);
NNDL_API const float *nndl_net_params_const(const nndl_net *net);

/* Threads used inside each mini-batch: 0 (the default) means all cores,
 * and then each training epoch also tries its first mini-batches on one
 * thread and trains the rest on one if that was faster (at mini-batch 10 a
 * second core that shares no cache can slow training down; the results are
 * the same bits). A count given is used as it is. */
NNDL_API void nndl_net_set_threads(nndl_net *net, int threads);

/* Feeds `count` inputs (each sizes[0] floats, one after another; an input
 * with a shape row by row, a position's channels together) forward (eq. 25)
 * and writes the output activations (each sizes[L] floats). */
NNDL_API nndl_status nndl_net_feedforward(nndl_net *net, const float *inputs,
                                          size_t count, float *outputs,
                                          nndl_error *err);

/* Feeds one input forward and writes the activations of every layer after
 * the input, a^1 to a^L, one after another: sizes[1] + ... + sizes[L]
 * floats, the hidden layers' activations first and the output last. */
NNDL_API nndl_status nndl_net_feedforward_layers(nndl_net *net, const float *input,
                                                 float *activations, nndl_error *err);

/* The network's answer for one input: the most active output neuron, or,
 * for a single output neuron, 1 if its activation is at least 0.5, else 0.
 * Returns -1 on failure (only when memory runs out). */
NNDL_API int nndl_net_classify(nndl_net *net, const float *input);

/* Number of images of `ds` whose label is the network's answer.
 *
 * Labels and targets: with several output neurons, label d means the target
 * vector with 1 at neuron d and 0 elsewhere (one-hot); with a single output
 * neuron, the target is the label itself, 0 or 1. */
NNDL_API nndl_status nndl_net_evaluate(nndl_net *net, const nndl_dataset *ds,
                                       size_t *correct, nndl_error *err);

/* The mean cost over `ds` plus the regularization terms as network2.py's
 * total_cost reports them: C = (1/n) sum_x C_x + (lambda/2n) sum w^2
 * + (lambda_l1/n) sum |w|, with n the number of images in `ds`. */
NNDL_API nndl_status nndl_net_total_cost(nndl_net *net, const nndl_dataset *ds,
                                         float lambda, float lambda_l1,
                                         double *cost, nndl_error *err);

/* Model files: see docs/MODEL_FORMAT.md. Saving is atomic: the file is
 * written under a temporary name, flushed to disk and renamed, so an
 * interrupted save leaves the previous file intact. Loading reads nndl's
 * binary format and, for a file that starts with '{', the JSON format of
 * the book's network2.py. */
NNDL_API nndl_status nndl_net_save(const nndl_net *net, const char *path,
                                   nndl_error *err);
NNDL_API nndl_net *nndl_net_load(const char *path, nndl_error *err);

/* Saves in network2.py's JSON format: {"sizes", "weights", "biases",
 * "cost"}, plus an "nndl" key (activations, initialization, seed) that
 * network2.py ignores. network2.py itself can load the file when every
 * layer is sigmoid and the cost is quadratic or cross-entropy. */
NNDL_API nndl_status nndl_net_save_json(const nndl_net *net, const char *path,
                                        nndl_error *err);

/* ---- Training ---------------------------------------------------------- */

typedef struct nndl_sgd_config {
    int batch_size;  /* m, examples per mini-batch */
    float eta;       /* learning rate */
    uint64_t seed;   /* shuffling and dropout masks come from this */
    float lambda;    /* L2 regularization (eq. 87); 0 for none */
    float lambda_l1; /* L1 regularization (eq. 95); 0 for none */
    float momentum;  /* mu of momentum SGD (eq. 107); 0 for plain SGD */
    /* Probability of dropping each hidden neuron that feeds a fully
     * connected layer (every hidden neuron of a network of sizes); a
     * layer's own nndl_layer_spec.dropout takes precedence. 0 for none. */
    float dropout;
} nndl_sgd_config;

/* Plain SGD with batch size m and learning rate eta, everything else off. */
NNDL_API nndl_sgd_config nndl_sgd_config_default(int batch_size, float eta);

/* Called every few mini-batches during an epoch with the number of
 * examples done so far and the epoch's total. The network's parameters are
 * complete only between epochs (the trainer may keep some of them in its
 * own layout until the epoch returns): read or save them then. */
typedef void (*nndl_progress_fn)(size_t done, size_t total, void *user);

typedef struct nndl_trainer nndl_trainer;

/* A trainer for `net`, which must outlive it. Allocates all scratch space
 * up front: an epoch allocates nothing. */
NNDL_API nndl_trainer *nndl_trainer_create(nndl_net *net,
                                           const nndl_sgd_config *config,
                                           nndl_error *err);
NNDL_API void nndl_trainer_free(nndl_trainer *trainer);

/* One epoch of mini-batch stochastic gradient descent: shuffle the training
 * data, split it into mini-batches and take one step per mini-batch:
 *   g = (1/m) sum_x dC_x/dw + (lambda/n) w + (lambda_l1/n) sgn(w)
 *   v -> mu v - eta g,  w -> w + v
 * which for mu = 0 is eq. 20-21 with the weight decay of eq. 93 and the L1
 * rule of eq. 100; n is the size of `training`, and biases are never
 * decayed. Dropout is inverted: during training each hidden neuron is kept
 * with probability 1 - p and a kept activation is divided by 1 - p, so the
 * whole network is used unchanged for evaluation (the book instead halves
 * the outgoing weights at test time, and network3.py scales a layer's
 * weighted input by 1 - p; the ways are equivalent in expectation).
 * NNDL_ERR_DIVERGED if a weight became NaN or infinite. */
NNDL_API nndl_status nndl_trainer_epoch(nndl_trainer *trainer,
                                        const nndl_dataset *training,
                                        nndl_progress_fn progress, void *user,
                                        nndl_error *err);

/* Changes the learning rate, for schedules. */
NNDL_API void nndl_trainer_set_eta(nndl_trainer *trainer, float eta);
NNDL_API float nndl_trainer_eta(const nndl_trainer *trainer);
/* The threads that trained most of the last epoch's mini-batches (see
 * nndl_net_set_threads); 0 before the first epoch. */
NNDL_API int nndl_trainer_threads(const nndl_trainer *trainer);

/* ---- Gradients and the speed of learning (chapter 5) ------------------- */

/* The gradient of the mean cost over images first .. first+count-1 of
 * `ds`, dC/dp = (1/count) sum_x dC_x/dp for every weight and bias,
 * written to `grad` (nndl_net_param_count floats, the layout of
 * nndl_net_params). Backpropagation as in training, without the
 * regularization terms, dropout or a step; the network is unchanged. */
NNDL_API nndl_status nndl_net_gradient(nndl_net *net, const nndl_dataset *ds, size_t first,
                                       size_t count, float *grad, nndl_error *err);

/* The lengths of that gradient, layer by layer: for 1 <= l < n_sizes,
 * bias_norms[l] = ||dC/db^l||, what chapter 5 calls the speed of learning
 * of layer l, and weight_norms[l] = ||dC/dw^l|| (0 for a pooling layer,
 * which has neither). Entry 0, the input layer's, is set to 0. Each array
 * has n_sizes entries, or is NULL when not wanted. */
NNDL_API nndl_status nndl_net_gradient_norms(nndl_net *net, const nndl_dataset *ds,
                                             size_t first, size_t count, double *weight_norms,
                                             double *bias_norms, nndl_error *err);

/* ---- Checkpoints ------------------------------------------------------- */

/* Saves everything that continuing a training run needs to end exactly as
 * an uninterrupted run would: the parameters of `net`, the state of
 * `trainer` (learning rate, shuffling and dropout generators, momentum
 * velocities), the parameters of `best` (weights kept by early stopping,
 * or NULL) and `note`, text of the caller's own of up to 1 MiB (nndl train
 * keeps its settings and progress there as JSON). Atomic, as nndl_net_save;
 * the format is in docs/MODEL_FORMAT.md. */
NNDL_API nndl_status nndl_checkpoint_save(const char *path, const nndl_net *net,
                                          const nndl_trainer *trainer, const nndl_net *best,
                                          const char *note, nndl_error *err);

/* The note of a checkpoint, to rebuild the network and trainer it belongs
 * to; the caller frees it with free(). NULL on failure. */
NNDL_API char *nndl_checkpoint_note(const char *path, nndl_error *err);

/* Restores a checkpoint into `net` and `trainer`, which must be made as the
 * saved ones were (same sizes, same momentum setting), and its best
 * weights into `best` unless NULL. The whole file is read and its checksum
 * checked first: on failure nothing is changed. */
NNDL_API nndl_status nndl_checkpoint_restore(const char *path, nndl_net *net,
                                             nndl_trainer *trainer, nndl_net *best,
                                             nndl_error *err);

/* ---- Early stopping and learning-rate schedules (chapter 3) ------------ */

/* Watches the validation accuracy epoch by epoch. With early_stop N, asks
 * to stop once N epochs pass without a new best. With halve_after N, halves
 * eta every time N epochs pass without a new best, and asks to stop once eta
 * has fallen to eta_initial / halve_factor (the book suggests 128). Either
 * patience may be 0 to turn that rule off. */
typedef struct nndl_plateau {
    int early_stop;       /* patience of early stopping, 0 for off */
    int halve_after;      /* patience of the halving schedule, 0 for off */
    double halve_factor;  /* stop when eta_initial / eta reaches this */
    /* state, set by nndl_plateau_init */
    float eta_initial, eta;
    double best;          /* best accuracy so far */
    int best_epoch;       /* epoch of it, -1 before the first */
    int since_best;       /* epochs since the best */
    int since_change;     /* epochs since the best or the last halving */
} nndl_plateau;

enum {
    NNDL_PLATEAU_IMPROVED = 1, /* a new best: keep these weights */
    NNDL_PLATEAU_HALVED = 2,   /* eta was halved: see p->eta */
    NNDL_PLATEAU_STOP = 4      /* training should stop */
};

NNDL_API void nndl_plateau_init(nndl_plateau *p, int early_stop, int halve_after,
                                double halve_factor, float eta);
/* Records the accuracy after `epoch`; returns NNDL_PLATEAU_* flags. */
NNDL_API int nndl_plateau_update(nndl_plateau *p, int epoch, double accuracy);

/* ---- Gradient check (chapter 2, eq. 46) -------------------------------- */

typedef struct nndl_gradcheck_options {
    int batch;         /* examples of random data */
    float lambda;      /* L2 term of the cost */
    float lambda_l1;   /* L1 term of the cost */
    float dropout;     /* drop probability, one fixed random mask */
    size_t n_train;    /* the n of the regularization terms */
} nndl_gradcheck_options;

typedef struct nndl_gradcheck_result {
    size_t n_params;          /* weights and biases compared */
    size_t n_skipped;         /* weights at L1's kink |w| < 2h, not compared */
    /* parameters whose steps moved a ReLU across 0 or changed a max-pool's
     * winner, where the cost has no derivative: not compared either */
    size_t n_kinked;
    double max_rel_error;     /* worst |bp - fd| / max(|bp|, |fd|, 1e-4) */
    size_t worst_param;       /* index of that parameter in the buffer */
    double max_abs_gradient;  /* largest backpropagated component */
    double backprop_seconds;  /* one backpropagation of the batch */
    double numeric_seconds;   /* the centered differences for all params */
} nndl_gradcheck_result;

/* Builds a network of `spec` in double precision with random inputs and
 * labels for `options->batch` examples, and compares the gradient the
 * trainer uses (backpropagation plus the regularization terms) against
 * centered finite differences of the regularized mean cost (eq. 46,
 * centered and extrapolated to the five-point stencil, step h = 1e-3):
 * dC/dw ~ (C(w-2h) - 8 C(w-h) + 8 C(w+h) - C(w+2h)) / 12h.
 * Inputs are redrawn until no ReLU input of a fully connected layer is
 * within 0.01 of its kink; elsewhere, a parameter whose steps cross a kink
 * (n_kinked) is left out. */
NNDL_API nndl_status nndl_gradcheck(const nndl_net_spec *spec,
                                    const nndl_gradcheck_options *options,
                                    nndl_gradcheck_result *result,
                                    nndl_error *err);

/* ---- Expanding the training data (chapter 3) --------------------------- */

/* The book's expand_mnist.py: a new dataset of 5 x count images, each image
 * of `ds` followed by four copies moved by one pixel - down, up, right,
 * left, the order of expand_mnist.py - with the vacated row or column set
 * to 0 (background). Labels are copied. Image 5i is image i of `ds`. Unlike
 * the book's script the result is not shuffled (training shuffles anyway). */
NNDL_API nndl_dataset *nndl_dataset_expand(const nndl_dataset *ds, nndl_error *err);

/* Writes into `out` a randomly distorted copy of every image of `in`, for
 * training on fresh variations every epoch: a shift of up to 2 pixels in
 * each direction, a rotation of up to 10 degrees and an elastic distortion
 * (Simard et al. 2003; sigma 4, alpha 24: about one pixel), with bilinear
 * interpolation. Labels are copied. `out` must be another dataset with the
 * count and image size of `in` (nndl_dataset_create, once): for images up
 * to 32x32 nothing is allocated. The result depends only on (seed, epoch,
 * image index), so it is the same for any number of OpenMP threads. */
NNDL_API nndl_status nndl_dataset_augment(nndl_dataset *out, const nndl_dataset *in,
                                          uint64_t seed, uint64_t epoch, nndl_error *err);

/* Writes `ds` as a pair of gzip-compressed IDX files that nndl_idx_load
 * reads back exactly. Each file is written under a temporary name in its
 * directory, flushed to disk and renamed, so a failure leaves no partial
 * file behind and keeps the previous files. */
NNDL_API nndl_status nndl_idx_save(const nndl_dataset *ds, const char *images_path,
                                   const char *labels_path, nndl_error *err);

/* The two files `nndl expand` writes: MNIST's 50,000 training images
 * expanded to 250,000. It writes them into the MNIST directory, or into
 * ./data/mnist when that is not writable. */
extern NNDL_API const char *const nndl_mnist_expanded_files[2];

/* Loads the expanded training set from `dir` and checks it holds 250,000
 * images of 28x28. NNDL_ERR_NOT_FOUND (saying to run `nndl expand`) if the
 * files are not there. */
NNDL_API nndl_status nndl_mnist_load_expanded(const char *dir, nndl_dataset **training,
                                              nndl_error *err);

/* ---- Images (your own handwriting) ------------------------------------- */

/* Limits for pictures read by nndl_image_load, overridable at build time:
 * they keep a hostile header from asking for a huge allocation while
 * admitting any phone photo (a 48-megapixel photo is 8000 x 6000). */
#ifndef NNDL_MAX_PICTURE_SIDE
#define NNDL_MAX_PICTURE_SIDE 16384u /* width or height of a PNG, JPEG or PGM */
#endif
#ifndef NNDL_MAX_PICTURE_PIXELS
#define NNDL_MAX_PICTURE_PIXELS (64u << 20) /* width x height: 64 megapixels */
#endif

/* An 8-bit grayscale picture, row by row, width * height bytes: 0 is black
 * and 255 white, as in the file. `name` (the path it was read from, or
 * NULL) names it in error messages. nndl_image_free releases `pixels` and
 * `name`, both allocated by nndl_image_load. */
typedef struct nndl_image {
    int width, height;
    uint8_t *pixels;
    char *name;
} nndl_image;

/* Reads a PNG (any bit depth and color type: palette, RGB and 16-bit
 * images are converted to gray, and transparent pixels are composited onto
 * white, so dark ink on a transparent background reads as ink on paper), a
 * JPEG (gray or colour, baseline or progressive, through libjpeg; colour
 * becomes its luminance; CMYK is refused) or a PGM (P2 or P5, maxval up to
 * 65535) into `out`. The file is recognized by its first bytes, not its
 * name. NNDL_ERR_FORMAT for anything else, a damaged or truncated file, or
 * a picture over the limits above. */
NNDL_API nndl_status nndl_image_load(const char *path, nndl_image *out, nndl_error *err);
/* The same for a picture already in memory (`size` bytes of a PNG, JPEG or
 * PGM file); `name` (or "image" when NULL) names it in messages and in
 * out->name. */
NNDL_API nndl_status nndl_image_load_memory(const void *data, size_t size, const char *name,
                                            nndl_image *out, nndl_error *err);
NNDL_API void nndl_image_free(nndl_image *img);

/* Writes width x height gray bytes as an 8-bit grayscale PNG, atomically
 * (as nndl_net_save does). */
NNDL_API nndl_status nndl_image_save_png(const char *path, const uint8_t *gray, int width,
                                         int height, nndl_error *err);

/* Turns a picture of one handwritten digit into the network's 784 inputs,
 * following the way MNIST was made (see src/image/preprocess.c):
 *   - polarity: if the picture's border is lighter than its mean, the
 *     background is light and the picture is inverted, so ink is high;
 *   - background: a plane fitted to the border (even for light falling
 *     unevenly across a photo) goes to 0, and levels within the border's
 *     noise of it too; the ink's typical level goes to 1;
 *   - specks: small blobs away from the digit are erased;
 *   - the ink's bounding box is scaled, keeping its aspect ratio, so that
 *     its longer side is 20 pixels (area averaging when shrinking, bilinear
 *     when enlarging);
 *   - the result is placed in a 28x28 field with the ink's center of mass
 *     at pixel (14, 14).
 * Writes 784 floats in [0,1] to `out` (ink 1, background 0, row by row)
 * and, if `preview` is not NULL, the same as bytes 0..255. NNDL_ERR_ARG
 * with "NAME: no ink found (blank image)" when the picture holds no ink. */
NNDL_API nndl_status nndl_image_to_mnist(const nndl_image *img, float out[784],
                                         uint8_t preview[784], nndl_error *err);

/* For a picture that may hold several digits side by side ("42"): finds
 * them and prepares each as nndl_image_to_mnist prepares a picture. The
 * ink's 8-connected marks under 1/20 of the largest are specks (kept when
 * near a digit, erased elsewhere); the other marks that overlap
 * horizontally (by a quarter of the narrower one) are parts of one digit
 * (a 5 written in two strokes), and marks apart from each other are
 * separate digits. Sets *found to the number of digits and writes the
 * first `max` of them, left to right, to out[784 k ...] and, if not NULL,
 * preview[784 k ...]; *found may exceed max, and max 0 only counts (out
 * may then be NULL). Errors as nndl_image_to_mnist; *found is set only on
 * success. */
NNDL_API nndl_status nndl_image_to_mnist_digits(const nndl_image *img, float *out,
                                                uint8_t *preview, int max, int *found,
                                                nndl_error *err);

/* ---- Reports ----------------------------------------------------------- */

/* Which images a network gets wrong, and as what: counts[t * n_classes + a]
 * is the number of images labelled t that the network answered a (rows:
 * the true label, columns: the answer). n_classes is the number of output
 * neurons, or 2 for a single output neuron. The struct belongs to the
 * caller; nndl_confusion_free releases `counts`. */
typedef struct nndl_confusion {
    int n_classes;
    size_t *counts;  /* n_classes x n_classes, row by row */
    size_t total;    /* images counted: the sum of all counts */
    size_t correct;  /* the sum of the diagonal, as nndl_net_evaluate counts */
} nndl_confusion;

/* Feeds every image of `ds` through `net` and counts the network's answers
 * (those of nndl_net_classify) into `out`. If `answers` is not NULL, the
 * answer for image i is also written to answers[i], for all
 * nndl_dataset_count(ds) images. */
NNDL_API nndl_status nndl_confusion_compute(nndl_net *net, const nndl_dataset *ds,
                                            nndl_confusion *out, int *answers,
                                            nndl_error *err);
NNDL_API void nndl_confusion_free(nndl_confusion *c);

/* The confusion matrix of given answers (answers[i] for image i of `ds`,
 * each 0 to n_classes - 1), such as an ensemble's. */
NNDL_API nndl_status nndl_confusion_from_answers(const nndl_dataset *ds, const int *answers,
                                                 int n_classes, nndl_confusion *out,
                                                 nndl_error *err);

/* The plurality vote of `n_nets` networks (with the same number of
 * outputs) on every image of `ds`, as the book's ensemble of chapter 6:
 * answers[i] is the class most networks answer for image i; a tie goes to
 * the tied class whose outputs, summed over the networks, are largest
 * (the probabilities, for softmax networks), and then to the lowest. */
NNDL_API nndl_status nndl_ensemble_answers(nndl_net *const *nets, int n_nets,
                                           const nndl_dataset *ds, int *answers,
                                           nndl_error *err);
/* How an ensemble combines its networks' answers. */
typedef enum {
    NNDL_VOTE_PLURALITY, /* each network one vote, as nndl_ensemble_answers */
    NNDL_VOTE_MEAN       /* the class of largest mean output (for softmax
                          * networks, the mean probability), then the lowest */
} nndl_vote;
/* nndl_ensemble_answers with the rule `vote`. */
NNDL_API nndl_status nndl_ensemble_vote(nndl_net *const *nets, int n_nets,
                                        const nndl_dataset *ds, nndl_vote vote, int *answers,
                                        nndl_error *err);
/* Images labelled `label` answered `answer`; 0 outside the matrix. */
NNDL_API size_t nndl_confusion_count(const nndl_confusion *c, int label, int answer);
/* Precision of class k: of the images answered k, the fraction labelled k.
 * Recall: of the images labelled k, the fraction answered k. Each is NaN
 * when it would divide by zero (no image answered, or labelled, k). */
NNDL_API double nndl_confusion_precision(const nndl_confusion *c, int k);
NNDL_API double nndl_confusion_recall(const nndl_confusion *c, int k);

/* ---- Baselines (chapter 1) --------------------------------------------- */

/* The average-darkness classifier: for each digit, the mean total darkness
 * of its training images; an image is guessed as the digit whose mean is
 * closest to its own darkness. Returns the number correct on `test`. */
NNDL_API nndl_status nndl_baseline_darkness(const nndl_dataset *training,
                                            const nndl_dataset *test,
                                            size_t *correct, nndl_error *err);

/* The support vector machine of chapter 1 (the book's mnist_svm.py): a
 * C-SVC with the RBF kernel K(x, x') = exp(-gamma |x - x'|^2), one-vs-one
 * over the ten digits, trained with libsvm on `training`, pixels scaled to
 * [0,1]. The book used scikit-learn's defaults, gamma = 1/784 and C = 1,
 * and got 9,435 / 10,000 on MNIST's test set; this gets 9,433 with libsvm
 * 3.24, in 8 minutes. Training is single-threaded (libsvm); prediction uses
 * OpenMP threads. libsvm's training progress output is switched off for the
 * whole process. Returns the number correct on `test`. */
NNDL_API nndl_status nndl_baseline_svm(const nndl_dataset *training,
                                       const nndl_dataset *test, double gamma,
                                       double C, size_t *correct, nndl_error *err);

#ifdef __cplusplus
}
#endif

#endif /* NNDL_H */
