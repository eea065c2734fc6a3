/* Loading the MNIST sets a training run needs. */
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

int train_datasets_load(const train_settings *s, const char *cmd, train_datasets *ds)
{
    memset(ds, 0, sizeof *ds);
    char dir[4096];
    nndl_error err;
    if (nndl_mnist_find(dir, sizeof dir, &err) != NNDL_OK) return !cli_fail(cmd, &err);
    int need_validation = train_needs_validation(s);
    if (nndl_mnist_load(dir, s->expanded ? NULL : &ds->training,
                        need_validation ? &ds->validation : NULL,
                        s->eval == EVAL_TEST ? &ds->test : NULL, &err) != NNDL_OK ||
        (s->expanded && load_expanded(dir, &ds->training, &err) != NNDL_OK)) {
        cli_fail(cmd, &err);
        train_datasets_free(ds);
        return 0;
    }
    if (s->train_size && (size_t)s->train_size < nndl_dataset_count(ds->training)) {
        nndl_dataset *rest = nndl_dataset_split_off(ds->training, (size_t)s->train_size, &err);
        if (!rest) {
            cli_fail(cmd, &err);
            train_datasets_free(ds);
            return 0;
        }
        nndl_dataset_free(rest);
    }
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
