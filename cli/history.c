#include "history.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const eval_names[] = {"test", "validation", "none"};

/* The shortest decimal that reads back as f, as a double: 0.025f is written
 * 0.025, not 0.02500000037252903. */
static double float_value(float f)
{
    char text[32];
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, (double)f);
        if ((float)strtod(text, NULL) == f) break;
    }
    return strtod(text, NULL);
}

cJSON *history_settings_json(const train_settings *s)
{
    cJSON *o = cJSON_CreateObject();
    if (s->data) cJSON_AddStringToObject(o, "data", s->data);
    if (s->validation >= 0) cJSON_AddNumberToObject(o, "validation", s->validation);
    if (s->layers) {
        char layers[2048];
        train_settings_network(s, layers, sizeof layers);
        cJSON_AddStringToObject(o, "layers", layers);
    } else {
        cJSON *sizes = cJSON_AddArrayToObject(o, "sizes");
        for (int i = 0; i < s->sizes.n; i++)
            cJSON_AddItemToArray(sizes, cJSON_CreateNumber(s->sizes.v[i]));
    }
    cJSON_AddNumberToObject(o, "epochs", s->epochs);
    cJSON_AddNumberToObject(o, "batch", s->batch);
    cJSON_AddNumberToObject(o, "eta", float_value(s->eta));
    cJSON_AddStringToObject(o, "cost", nndl_cost_name((nndl_cost)s->cost));
    cJSON_AddStringToObject(o, "init", nndl_init_name((nndl_init)s->init));
    cJSON *acts = cJSON_AddArrayToObject(o, "hidden_activations");
    if (s->layers) { /* each layer's own, named in --layers or filled from --activation */
        const layer_list *l = &s->layer_list;
        for (int i = 0; i + 1 < l->n; i++)
            if (l->v[i].kind != NNDL_LAYER_POOL)
                cJSON_AddItemToArray(acts, cJSON_CreateString(nndl_activation_name(l->v[i].act)));
    } else {
        for (int l = 0; l < s->sizes.n - 2; l++)
            cJSON_AddItemToArray(acts,
                                 cJSON_CreateString(nndl_activation_name(s->hidden_acts[l])));
    }
    cJSON_AddNumberToObject(o, "lambda", float_value(s->lambda));
    cJSON_AddNumberToObject(o, "l1", float_value(s->l1));
    cJSON_AddNumberToObject(o, "momentum", float_value(s->momentum));
    cJSON_AddNumberToObject(o, "dropout", float_value(s->dropout));
    cJSON_AddNumberToObject(o, "early_stop", s->early_stop);
    if (s->eta_schedule) cJSON_AddStringToObject(o, "eta_schedule", s->eta_schedule);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)s->seed);
    cJSON_AddStringToObject(o, "seed", seed); /* a string: JSON numbers lose 64-bit values */
    cJSON_AddStringToObject(o, "evaluation_data", eval_names[s->eval]);
    cJSON_AddNumberToObject(o, "train_size", s->train_size);
    cJSON_AddBoolToObject(o, "expanded", s->expanded);
    cJSON_AddBoolToObject(o, "augment", s->augment);
    return o;
}

static int write_line(FILE *f, const char *path, cJSON *o, const char *cmd)
{
    char *text = cJSON_PrintUnformatted(o);
    int ok = text && fprintf(f, "%s\n", text) >= 0 && fflush(f) == 0;
    free(text);
    if (!ok) cli_error(cmd, "--history: cannot write %s: %s", path, strerror(errno));
    return ok;
}

/* Opens `path` for writing (creating it with `create`) and takes a write
 * lock on the whole file, so that two runs never write one history (the
 * second would cut the first's lines); the lock lasts until the file is
 * closed. A file that takes no locks (a pipe, a terminal) is written
 * without. Cuts a regular file to `keep` bytes. NULL after
 * printing an error. */
static FILE *open_locked(const char *path, int create, long keep, const char *cmd)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0) {
        cli_error(cmd, "--history: cannot %s %s: %s", create ? "create" : "reopen", path,
                  strerror(errno));
        return NULL;
    }
    struct flock lock;
    memset(&lock, 0, sizeof lock);
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET; /* l_start 0, l_len 0: the whole file */
    if (fcntl(fd, F_SETLK, &lock) != 0 && (errno == EACCES || errno == EAGAIN)) {
        cli_error(cmd, "--history: %s is being written by another run; give each run its own "
                  "file", path);
        close(fd);
        return NULL;
    }
    struct stat st;
    int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    FILE *f = NULL;
    if (regular && keep >= 0 && (st.st_size < keep || ftruncate(fd, keep) != 0)) {
        cli_error(cmd, "--history: %s is shorter than the checkpoint recorded (%ld bytes)", path,
                  keep);
    } else if (!(f = fdopen(fd, "w"))) {
        cli_error(cmd, "--history: cannot write %s: %s", path, strerror(errno));
    } else if (regular && fseek(f, keep > 0 ? keep : 0, SEEK_SET) != 0) {
        cli_error(cmd, "--history: cannot write %s: %s", path, strerror(errno));
        fclose(f);
        return NULL;
    }
    if (!f) close(fd);
    return f;
}

FILE *history_open(const char *path, const train_settings *s, const char *cmd)
{
    FILE *f = open_locked(path, 1, 0, cmd);
    if (!f) return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "nndl", NNDL_VERSION);
    if (s->run_label) cJSON_AddStringToObject(o, "run", s->run_label);
    cJSON_AddItemToObject(o, "settings", history_settings_json(s));
    int ok = write_line(f, path, o, cmd);
    cJSON_Delete(o);
    if (!ok) {
        fclose(f);
        return NULL;
    }
    return f;
}

FILE *history_resume(const char *path, long bytes, const char *cmd)
{
    /* lines written after the checkpoint belong to epochs that run again */
    return open_locked(path, 0, bytes, cmd);
}

epoch_record epoch_record_empty(int epoch)
{
    epoch_record r = {0};
    r.epoch = epoch;
    r.evaluation_correct = r.training_correct = -1;
    r.evaluation_cost = r.training_cost = r.validation_accuracy = -1;
    return r;
}

/* Norms as a JSON array, null where a layer has no parameters (NaN). */
static cJSON *norm_array(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, isnan(v[i]) ? cJSON_CreateNull() : cJSON_CreateNumber(v[i]));
    return a;
}

int history_write(FILE *f, const char *path, const epoch_record *r, const char *cmd)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "epoch", r->epoch);
    cJSON_AddNumberToObject(o, "eta", float_value((float)r->eta));
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    if (r->threads > 0) cJSON_AddNumberToObject(o, "threads", r->threads);
    if (r->evaluation_data) cJSON_AddStringToObject(o, "evaluation_data", r->evaluation_data);
    if (r->evaluation_correct >= 0) {
        cJSON_AddNumberToObject(o, "evaluation_correct", (double)r->evaluation_correct);
        cJSON_AddNumberToObject(o, "evaluation_total", (double)r->evaluation_total);
        cJSON_AddNumberToObject(o, "evaluation_accuracy",
                                (double)r->evaluation_correct / (double)r->evaluation_total);
    }
    if (r->evaluation_cost >= 0) cJSON_AddNumberToObject(o, "evaluation_cost", r->evaluation_cost);
    if (r->training_correct >= 0) {
        cJSON_AddNumberToObject(o, "training_correct", (double)r->training_correct);
        cJSON_AddNumberToObject(o, "training_total", (double)r->training_total);
        cJSON_AddNumberToObject(o, "training_accuracy",
                                (double)r->training_correct / (double)r->training_total);
    }
    if (r->training_cost >= 0) cJSON_AddNumberToObject(o, "training_cost", r->training_cost);
    if (r->validation_accuracy >= 0)
        cJSON_AddNumberToObject(o, "validation_accuracy", r->validation_accuracy);
    if (r->n_gradients) {
        cJSON_AddItemToObject(o, "speeds", norm_array(r->speeds, r->n_gradients));
        cJSON_AddItemToObject(o, "weight_gradient_norms",
                              norm_array(r->weight_norms, r->n_gradients));
    }
    int ok = write_line(f, path, o, cmd);
    cJSON_Delete(o);
    return ok;
}

int history_close(FILE *f, const char *path, const char *cmd)
{
    if (fclose(f) != 0) {
        cli_error(cmd, "--history: cannot write %s: %s", path, strerror(errno));
        return 0;
    }
    return 1;
}
