/* nndl baseline: chapter 1's comparison classifiers. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "commands.h"

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int cmd_baseline(int argc, char **argv)
{
    /* 0 means "not given": the parser's ranges exclude it. */
    int train_size = 0;
    float gamma = 0, C = 0;
    cli_option options[] = {
        {"--train-size", OPT_INT, &train_size, "N",
         "train on the first N training images (default all 50000)", 1, 50000, NULL},
        {"--gamma", OPT_FLOAT, &gamma, "G", "svm: RBF kernel width (default 1/784)", 1e-12, 1e12,
         NULL},
        {"--C", OPT_FLOAT, &C, "C", "svm: penalty of the soft margin (default 1)", 1e-12, 1e12,
         NULL},
    };
    cli_command cmd = {"baseline", "darkness|svm",
                       "Runs a baseline classifier on MNIST; prints its test accuracy.\n"
                       "  darkness   guess the digit whose average darkness is closest\n"
                       "  svm        a support vector machine with the RBF kernel (libsvm), as\n"
                       "             the book's mnist_svm.py (9435 / 10000): 9433 / 10000 after\n"
                       "             about 8 minutes of training on one core",
                       options, (int)(sizeof options / sizeof options[0]), 1, 1};
    char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;
    int svm = strcmp(pos[0], "svm") == 0;
    if (!svm && strcmp(pos[0], "darkness") != 0) {
        cli_error("baseline", "'%s' is not a baseline (known: darkness, svm)", pos[0]);
        return 2;
    }
    if (!svm && (gamma > 0 || C > 0)) {
        cli_error("baseline", "%s: only the svm baseline has this setting",
                  gamma > 0 ? "--gamma" : "--C");
        return 2;
    }

    nndl_dataset *training = NULL, *test = NULL;
    if (!load_mnist("baseline", &training, NULL, &test)) return 1;
    nndl_error err;
    int status = 0;
    if (train_size && (size_t)train_size < nndl_dataset_count(training)) {
        nndl_dataset *rest = nndl_dataset_split_off(training, (size_t)train_size, &err);
        if (!rest) status = cli_fail("baseline", &err);
        nndl_dataset_free(rest);
    }
    size_t correct = 0;
    if (status == 0 && !svm) {
        if (nndl_baseline_darkness(training, test, &correct, &err) != NNDL_OK)
            status = cli_fail("baseline", &err);
    } else if (status == 0) {
        /* Defaults of scikit-learn's SVC when the book ran it: gamma =
         * 1/n_features, C = 1. */
        double g = gamma > 0 ? gamma : 1.0 / (nndl_dataset_rows(training) *
                                              nndl_dataset_cols(training));
        double t0 = seconds();
        if (nndl_baseline_svm(training, test, g, C > 0 ? C : 1.0, &correct, &err) != NNDL_OK)
            status = cli_fail("baseline", &err);
        else
            fprintf(stderr, "nndl baseline: svm trained on %zu images and tested in %.1f s\n",
                    nndl_dataset_count(training), seconds() - t0);
    }
    if (status == 0) printf("%zu / %zu\n", correct, nndl_dataset_count(test));
    nndl_dataset_free(training);
    nndl_dataset_free(test);
    return status;
}
