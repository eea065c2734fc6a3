/* nndl train: mini-batch SGD on MNIST, printing accuracy after each epoch
 * in the format of the book's network.py. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "progress.h"

enum { EVAL_TEST, EVAL_VALIDATION, EVAL_NONE };

typedef struct train_options {
    cli_sizes sizes;
    int epochs, batch, threads, eval, train_size;
    float eta;
    uint64_t seed;
    const char *save;
} train_options;

static int parse_train(int argc, char **argv, train_options *o)
{
    static const char *const eval_choices[] = {"test", "validation", "none", NULL};
    cli_option options[] = {
        {"--sizes", OPT_SIZES, &o->sizes, "N,N,...", "layer sizes (default 784,30,10)", 0, 0,
         NULL},
        {"--epochs", OPT_INT, &o->epochs, "N", "epochs of training (default 30)", 1, 1000000,
         NULL},
        {"--batch", OPT_INT, &o->batch, "M", "mini-batch size (default 10)", 1, 1000000, NULL},
        {"--eta", OPT_FLOAT, &o->eta, "ETA", "learning rate (default 3.0)", 1e-30, 1e30, NULL},
        {"--seed", OPT_U64, &o->seed, "N", "seed for weights and shuffling (default 1)", 0, 0,
         NULL},
        {"--threads", OPT_INT, &o->threads, "N", "threads (default 0: all cores)", 0, 1024,
         NULL},
        {"--eval", OPT_CHOICE, &o->eval, "", "data for the accuracy after each epoch "
         "(default test)", 0, 0, eval_choices},
        {"--train-size", OPT_INT, &o->train_size, "N",
         "train on the first N training images (default all 50000)", 1, 50000, NULL},
        {"--save", OPT_STRING, &o->save, "FILE", "save the trained network to FILE", 0, 0, NULL},
    };
    cli_command cmd = {"train", "",
                       "Trains a sigmoid network with quadratic cost on MNIST (chapter 1).",
                       options, (int)(sizeof options / sizeof options[0]), 0, 0};
    char *pos[1];
    int n_pos;
    return cli_parse(&cmd, argc, argv, pos, &n_pos);
}

/* Loads the training data (cut to --train-size) and the evaluation data. */
static int load_data(const train_options *o, nndl_dataset **training, nndl_dataset **eval)
{
    if (!load_mnist("train", training, o->eval == EVAL_VALIDATION ? eval : NULL,
                    o->eval == EVAL_TEST ? eval : NULL))
        return 0;
    if (o->train_size && (size_t)o->train_size < nndl_dataset_count(*training)) {
        nndl_error err;
        nndl_dataset *rest = nndl_dataset_split_off(*training, (size_t)o->train_size, &err);
        if (!rest) {
            cli_fail("train", &err);
            return 0;
        }
        nndl_dataset_free(rest);
    }
    return 1;
}

static int train(const train_options *o, nndl_net *net, const nndl_dataset *training,
                 const nndl_dataset *eval)
{
    nndl_error err;
    nndl_sgd_config config = {o->batch, o->eta, o->seed};
    nndl_trainer *trainer = nndl_trainer_create(net, &config, &err);
    if (!trainer) return cli_fail("train", &err);

    double started = monotonic_seconds(), training_seconds = 0;
    int status = 0;
    for (int epoch = 0; epoch < o->epochs && status == 0; epoch++) {
        char label[64];
        snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, o->epochs);
        progress_bar bar;
        progress_start(&bar, label);
        double t0 = monotonic_seconds();
        nndl_status st = nndl_trainer_epoch(trainer, training, progress_update, &bar, &err);
        training_seconds += monotonic_seconds() - t0;
        progress_finish(&bar);
        if (st == NNDL_ERR_DIVERGED) {
            cli_error("train", "epoch %d: %s; try a smaller --eta", epoch, err.message);
            status = 1;
        } else if (st != NNDL_OK) {
            status = cli_fail("train", &err);
        } else if (eval) {
            size_t correct;
            if (nndl_net_evaluate(net, eval, &correct, &err) != NNDL_OK)
                status = cli_fail("train", &err);
            else
                printf("Epoch %d: %zu / %zu\n", epoch, correct, nndl_dataset_count(eval));
        } else {
            printf("Epoch %d complete\n", epoch);
        }
        fflush(stdout);
    }
    nndl_trainer_free(trainer);
    if (status == 0)
        fprintf(stderr, "nndl train: %d epochs in %.1f s (%.3f s per epoch of training)\n",
                o->epochs, monotonic_seconds() - started, training_seconds / o->epochs);
    return status;
}

/* Fails early when --save names a directory that cannot take the file,
 * rather than after hours of training. */
static int save_path_usable(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    if (access(dir, W_OK | X_OK) != 0) {
        cli_error("train", "--save: cannot write to directory %s: %s", dir, strerror(errno));
        return 0;
    }
    return 1;
}

int cmd_train(int argc, char **argv)
{
    train_options o = {.sizes = {3, {784, 30, 10}}, .epochs = 30, .batch = 10, .eta = 3.0f,
                       .seed = 1, .eval = EVAL_TEST};
    int rc = parse_train(argc, argv, &o);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;
    if (o.save && !save_path_usable(o.save)) return 1;

    nndl_error err;
    nndl_net_spec spec = nndl_net_spec_default(o.sizes.n, o.sizes.v);
    spec.seed = o.seed;
    nndl_net *net = nndl_net_create(&spec, &err);
    if (!net) return cli_fail("train", &err);
    nndl_net_set_threads(net, o.threads);

    nndl_dataset *training = NULL, *eval = NULL;
    int status = 1;
    if (load_data(&o, &training, &eval)) {
        status = train(&o, net, training, eval);
        if (status == 0 && o.save) {
            if (nndl_net_save(net, o.save, &err) != NNDL_OK)
                status = cli_fail("train", &err);
            else
                fprintf(stderr, "nndl train: saved %s\n", o.save);
        }
    }
    nndl_dataset_free(training);
    nndl_dataset_free(eval);
    nndl_net_free(net);
    return status;
}
