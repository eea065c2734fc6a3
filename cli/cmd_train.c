/* nndl train: mini-batch SGD on MNIST, printing accuracy after each epoch
 * in the format of the book's network.py. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "history.h"
#include "model/model_file.h"
#include "progress.h"
#include "train_run.h"
#include "train_settings.h"

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

/* {"correct": c, "accuracy": c / total, "epoch": e} */
static cJSON *accuracy_json(long correct, long total, int epoch)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "epoch", epoch);
    cJSON_AddNumberToObject(o, "correct", (double)correct);
    cJSON_AddNumberToObject(o, "accuracy", (double)correct / (double)total);
    return o;
}

/* The metadata block of the saved model (docs/MODEL_FORMAT.md, "Metadata"),
 * which `nndl inspect` prints: the settings as in --history, what the run
 * reached and when. NULL if memory ran out. */
static char *train_metadata(const train_settings *s, const train_result *res)
{
    char date[32];
    time_t now = time(NULL);
    struct tm utc;
    if (!gmtime_r(&now, &utc) || !strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc))
        snprintf(date, sizeof date, "unknown");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "nndl", NNDL_VERSION);
    cJSON_AddStringToObject(o, "saved", date);
    cJSON_AddItemToObject(o, "settings", history_settings_json(s));
    cJSON_AddNumberToObject(o, "epochs_run", res->epochs_run);
    /* early stopping and the schedule keep the best validation epoch */
    cJSON_AddStringToObject(o, "weights", s->early_stop || s->halve_after
                                              ? "best validation epoch" : "last epoch");
    if (res->best_epoch >= 0 && res->total > 0) {
        cJSON *e = cJSON_AddObjectToObject(o, "evaluation");
        cJSON_AddStringToObject(e, "data", s->eval == EVAL_VALIDATION ? "validation" : "test");
        cJSON_AddNumberToObject(e, "total", (double)res->total);
        cJSON_AddItemToObject(e, "last",
                              accuracy_json(res->last_correct, res->total, res->epochs_run - 1));
        cJSON_AddItemToObject(e, "best",
                              accuracy_json(res->best_correct, res->total, res->best_epoch));
    }
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

int cmd_train(int argc, char **argv)
{
    train_settings s = train_settings_default();
    cli_option options[TRAIN_OPTION_COUNT];
    train_options(&s, options);
    cli_command cmd = {"train", "",
                       "Trains a network on MNIST by mini-batch stochastic gradient descent and\n"
                       "prints the accuracy after each epoch.",
                       options, TRAIN_OPTION_COUNT, 0, 0};
    char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;
    if (!train_settings_finish(&s, "train")) return 2;
    if (s.save && !save_path_usable(s.save)) return 1;

    nndl_error err;
    nndl_net_spec spec = train_net_spec(&s);
    nndl_net *net = nndl_net_create(&spec, &err);
    if (!net) return cli_fail("train", &err);
    nndl_net_set_threads(net, s.threads);

    train_datasets ds;
    int status = 1;
    if (train_datasets_load(&s, "train", &ds)) {
        train_data d = train_datasets_view(&s, &ds);
        train_result res;
        double started = monotonic_seconds();
        status = train_run(&s, net, &d, stdout, 1, "train", &res);
        if (status == 0)
            fprintf(stderr, "nndl train: %d epoch%s in %.1f s (%.3f s per epoch of training)\n",
                    res.epochs_run, res.epochs_run == 1 ? "" : "s",
                    monotonic_seconds() - started, res.seconds_per_epoch);
        if (status == 0 && s.save) {
            char *meta = train_metadata(&s, &res);
            if (!meta) {
                cli_error("train", "out of memory");
                status = 1;
            } else if (model_save_with_meta(net, s.save, meta, &err) != NNDL_OK) {
                status = cli_fail("train", &err);
            } else {
                fprintf(stderr, "nndl train: saved %s\n", s.save);
            }
            free(meta);
        }
        train_datasets_free(&ds);
    }
    nndl_net_free(net);
    return status;
}
