/* Loading the sets a training run needs: MNIST's, expanded or not, or
 * those --data names. */
#include <string.h>

#include "train_run.h"

/* `nndl expand` writes beside MNIST, or into ./data/mnist when MNIST's
 * directory is read-only: look in both. */
static nndl_status load_expanded(const char *dir, nndl_dataset **training, nndl_error *err)
{
    nndl_status st = nndl_mnist_load_expanded(dir, training, err);
    if (st == NNDL_ERR_NOT_FOUND && strcmp(dir, "data/mnist") != 0) {
        nndl_error second;
        if (nndl_mnist_load_expanded("data/mnist", training, &second) == NNDL_OK) return NNDL_OK;
    }
    return st;
}

/* The expanded set, and with --validation 0 MNIST's validation images
 * expanded after it: all 60,000 training images and their shifts. */
static nndl_status load_training_expanded(const char *dir, nndl_dataset *held,
                                          nndl_dataset **training, nndl_error *err)
{
    nndl_status st = load_expanded(dir, training, err);
    if (st != NNDL_OK || !held) return st;
    nndl_dataset *shifted = nndl_dataset_expand(held, err);
    if (!shifted) return err->status;
    st = nndl_dataset_append(*training, shifted, err);
    nndl_dataset_free(shifted);
    return st;
}

int train_datasets_load(const train_settings *s, const char *cmd, train_datasets *ds)
{
    memset(ds, 0, sizeof *ds);
    nndl_error err;
    data_source *src = &ds->source;
    int need_validation = train_needs_validation(s);
    /* --validation 0 on MNIST trains on all 60,000 images; with
     * --expanded the last 10,000 come apart, to be expanded */
    int hold_back = !s->data && s->validation == 0 && s->expanded;
    nndl_dataset *held = NULL;
    if (!data_source_load(src, cmd, s->data, hold_back ? -1 : s->validation,
                          s->expanded ? NULL : &ds->training,
                          need_validation ? &ds->validation : hold_back ? &held : NULL,
                          s->eval == EVAL_TEST ? &ds->test : NULL))
        return 0;
    if (s->expanded) {
        /* the expanded set is MNIST's training images: record it as what was trained on */
        nndl_status st = load_training_expanded(src->mnist_dir, held, &ds->training, &err);
        nndl_dataset_free(held);
        if (st != NNDL_OK ||
            nndl_dataset_fingerprint((const nndl_dataset *const[]){ds->training}, 1,
                                     src->fingerprint, &err) != NNDL_OK) {
            cli_fail(cmd, &err);
            train_datasets_free(ds);
            return 0;
        }
        src->info.training = nndl_dataset_count(ds->training);
        src->info.validation = 0;
        src->info.rows = nndl_dataset_rows(ds->training);
        src->info.cols = nndl_dataset_cols(ds->training);
        if (!src->info.classes) src->info.classes = 10; /* MNIST's digits */
    }
    if (s->train_size && (size_t)s->train_size > nndl_dataset_count(ds->training)) {
        cli_error(cmd, "--train-size: %d is more than the %zu training images", s->train_size,
                  nndl_dataset_count(ds->training));
        train_datasets_free(ds);
        return 0;
    }
    if (s->train_size && (size_t)s->train_size < nndl_dataset_count(ds->training)) {
        if (nndl_dataset_truncate(ds->training, (size_t)s->train_size, &err) != NNDL_OK) {
            cli_fail(cmd, &err);
            train_datasets_free(ds);
            return 0;
        }
    }
    if (s->data) data_source_summary(src, cmd, stderr);
    return 1;
}

void train_datasets_free(train_datasets *ds)
{
    nndl_dataset_free(ds->training);
    nndl_dataset_free(ds->validation);
    nndl_dataset_free(ds->test);
    memset(ds, 0, sizeof *ds);
}

train_data train_datasets_view(const train_settings *s, const train_datasets *ds)
{
    train_data d = {ds->training, NULL, ds->validation};
    if (s->eval == EVAL_TEST) d.evaluation = ds->test;
    if (s->eval == EVAL_VALIDATION) d.evaluation = ds->validation;
    return d;
}
