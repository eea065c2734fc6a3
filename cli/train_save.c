#include "train_save.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "history.h"
#include "model/model_file.h"

int save_path_usable(const char *path, const char *cmd)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    if (access(dir, W_OK | X_OK) != 0) {
        cli_error(cmd, "--save: cannot write to directory %s: %s", dir, strerror(errno));
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

/* The metadata block: the settings as in --history, what the run reached
 * and when. NULL if memory ran out. */
static char *train_metadata(const train_settings *s, const train_result *res,
                            const data_source *data)
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
    cJSON_AddItemToObject(o, "data", data_source_json(data));
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

int train_save_model(const nndl_net *net, const train_settings *s, const train_result *res,
                     const data_source *data, const char *cmd)
{
    nndl_error err;
    char *meta = train_metadata(s, res, data);
    int ok = 1;
    if (!meta) {
        cli_error(cmd, "out of memory");
        ok = 0;
    } else if (model_save_with_meta(net, s->save, meta, &err) != NNDL_OK) {
        cli_fail(cmd, &err);
        ok = 0;
    } else {
        fprintf(stderr, "nndl %s: saved %s\n", cmd, s->save);
    }
    free(meta);
    return ok;
}
