/* Chapter 1's support vector machine (the book's mnist_svm.py): an RBF
 * C-SVC trained with libsvm, the library scikit-learn's SVC wraps.
 *
 * Images go to libsvm as sparse vectors: only the nonzero pixels, as
 * (index, value) pairs with 1-based indices, ended by index -1. About 80% of
 * an MNIST image is background (150 of 784 pixels are nonzero on average),
 * so a kernel evaluation walks about 300 entries instead of 784 and the
 * data takes a fifth of the memory of dense libsvm vectors. */
#include <libsvm/svm.h>
#include <limits.h>
#include <math.h>

#include "common/alloc.h"
#include "common/error.h"
#include "nndl.h"

/* libsvm's kernel cache in MB. Training is one-vs-one: 45 binary problems,
 * the largest (digits 1 and 7) about 11,000 images of the 50,000, whose
 * whole kernel matrix in floats is 11,000^2 x 4 bytes = 0.5 GB. A 1 GB
 * cache holds it whole, so no row is computed twice, and more would not be
 * used; scikit-learn's default of 200 MB recomputes rows (the result is the
 * same). libsvm frees the cache after each binary problem. */
#define SVM_CACHE_MB 1000.0

/* libsvm's stopping tolerance, its and scikit-learn's default. */
#define SVM_EPS 1e-3

/* libsvm prints training progress on stdout; the library never prints. */
static void print_nothing(const char *s) { (void)s; }

/* The images of `ds` (the first `count`) as libsvm vectors: rows[i] points
 * into `*nodes`, one allocation the caller frees with alloc_free. */
static nndl_status to_sparse(const nndl_dataset *ds, size_t count, size_t pixels,
                             struct svm_node **nodes_out, struct svm_node ***rows_out,
                             nndl_error *err)
{
    size_t total = count; /* one terminator per image */
    for (size_t i = 0; i < count; i++) {
        const uint8_t *p = nndl_dataset_image(ds, i);
        for (size_t k = 0; k < pixels; k++) total += p[k] != 0;
    }
    struct svm_node *nodes = alloc_array(total, sizeof *nodes);
    struct svm_node **rows = alloc_array(count, sizeof *rows);
    if (!nodes || !rows) {
        alloc_free(nodes);
        alloc_free(rows);
        return error_set(err, NNDL_ERR_NOMEM, "svm: out of memory for %zu images", count);
    }
    struct svm_node *n = nodes;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *p = nndl_dataset_image(ds, i);
        rows[i] = n;
        for (size_t k = 0; k < pixels; k++)
            if (p[k]) {
                n->index = (int)k + 1;
                n->value = p[k] / 255.0; /* the network's scaling, to [0,1] */
                n++;
            }
        n->index = -1;
        n->value = 0;
        n++;
    }
    *nodes_out = nodes;
    *rows_out = rows;
    return NNDL_OK;
}

static nndl_status check_arguments(const nndl_dataset *training, const nndl_dataset *test,
                                   double gamma, double C, size_t pixels, nndl_error *err)
{
    if (!(gamma > 0) || !isfinite(gamma))
        return error_set(err, NNDL_ERR_ARG, "svm: gamma must be positive (got %g)", gamma);
    if (!(C > 0) || !isfinite(C))
        return error_set(err, NNDL_ERR_ARG, "svm: C must be positive (got %g)", C);
    size_t n = nndl_dataset_count(training);
    if (n == 0) return error_set(err, NNDL_ERR_ARG, "svm: the training set is empty");
    if (n > INT_MAX || nndl_dataset_count(test) > INT_MAX || pixels >= INT_MAX)
        return error_set(err, NNDL_ERR_ARG, "svm: more images or pixels than libsvm handles");
    if ((size_t)nndl_dataset_rows(test) * nndl_dataset_cols(test) != pixels)
        return error_set(err, NNDL_ERR_ARG, "svm: training and test images differ in size");
    const uint8_t *labels = nndl_dataset_labels(training);
    for (size_t i = 0; i < n; i++)
        if (labels[i] > 9)
            return error_set(err, NNDL_ERR_ARG, "svm: label %d of training image %zu is not a digit",
                             labels[i], i);
    return NNDL_OK;
}

/* Trains on the sparse training images and counts the test images the
 * model gets right. */
static nndl_status train_and_test(struct svm_problem *problem, double gamma, double C,
                                  struct svm_node *const *test_rows, const uint8_t *test_labels,
                                  size_t n_test, size_t *correct, nndl_error *err)
{
    struct svm_parameter param = {
        .svm_type = C_SVC,
        .kernel_type = RBF,
        .degree = 3, /* unused by RBF; libsvm's default */
        .gamma = gamma,
        .coef0 = 0,
        .cache_size = SVM_CACHE_MB,
        .eps = SVM_EPS,
        .C = C,
        .nr_weight = 0, /* every class weighs 1 */
        .weight_label = NULL,
        .weight = NULL,
        .nu = 0.5, /* unused by C-SVC */
        .p = 0.1,  /* unused by C-SVC */
        .shrinking = 1,
        .probability = 0,
    };
    const char *why = svm_check_parameter(problem, &param);
    if (why) return error_set(err, NNDL_ERR_ARG, "svm: libsvm rejects the settings: %s", why);
    /* A process-wide setting of libsvm: always the same function, so calls
     * from several threads at once store the same pointer. */
    svm_set_print_string_function(print_nothing);
    struct svm_model *model = svm_train(problem, &param);
    if (!model)
        return error_set(err, NNDL_ERR_NOMEM, "svm: libsvm could not train on %d images",
                         problem->l);

    /* svm_predict only reads the model and keeps its scratch in arrays it
     * allocates per call (svm_predict_values in libsvm's svm.cpp; checked
     * for libsvm 3.24: it calls only malloc, free and the static
     * Kernel::k_function), so test images can be classified by several
     * threads at once. */
    long right = 0, n = (long)n_test;
#pragma omp parallel for schedule(dynamic, 16) reduction(+ : right)
    for (long i = 0; i < n; i++) right += (long)svm_predict(model, test_rows[i]) == test_labels[i];
    *correct = (size_t)right;
    /* The model's support vectors point into the problem's nodes, which
     * outlive it; this frees only what svm_train allocated. */
    svm_free_and_destroy_model(&model);
    return NNDL_OK;
}

nndl_status nndl_baseline_svm(const nndl_dataset *training, const nndl_dataset *test,
                              double gamma, double C, size_t *correct, nndl_error *err)
{
    size_t pixels = (size_t)nndl_dataset_rows(training) * nndl_dataset_cols(training);
    nndl_status st = check_arguments(training, test, gamma, C, pixels, err);
    if (st != NNDL_OK) return st;
    size_t n_train = nndl_dataset_count(training), n_test = nndl_dataset_count(test);

    struct svm_node *train_nodes = NULL, *test_nodes = NULL, **train_rows = NULL,
                    **test_rows = NULL;
    double *y = alloc_array(n_train, sizeof *y);
    if (!y) return error_set(err, NNDL_ERR_NOMEM, "svm: out of memory for %zu labels", n_train);
    const uint8_t *labels = nndl_dataset_labels(training);
    for (size_t i = 0; i < n_train; i++) y[i] = labels[i];
    if ((st = to_sparse(training, n_train, pixels, &train_nodes, &train_rows, err)) == NNDL_OK &&
        (st = to_sparse(test, n_test, pixels, &test_nodes, &test_rows, err)) == NNDL_OK) {
        struct svm_problem problem = {.l = (int)n_train, .y = y, .x = train_rows};
        st = train_and_test(&problem, gamma, C, test_rows, nndl_dataset_labels(test), n_test,
                            correct, err);
    }
    alloc_free(y);
    alloc_free(train_nodes);
    alloc_free(train_rows);
    alloc_free(test_nodes);
    alloc_free(test_rows);
    return st;
}
