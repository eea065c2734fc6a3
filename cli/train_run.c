#include "train_run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "progress.h"

static const char *const eval_names[] = {"test", "validation", "none"};

volatile sig_atomic_t train_stop_signal;

/* Everything a run holds besides the network. */
typedef struct run_state {
    const train_settings *s;
    nndl_net *net;
    const train_data *d;
    FILE *out;
    const char *cmd;
    nndl_trainer *trainer;
    nndl_dataset *augmented; /* this epoch's distorted copy, or NULL */
    nndl_net *best;          /* best weights so far, when a plateau rule is on */
    FILE *history;
    nndl_plateau plateau;
    int warned_one_answer;
} run_state;

static int fail(const run_state *r, const nndl_error *err) { return cli_fail(r->cmd, err); }

/* The gradient norms are measured on this many training images, as
 * chapter 5 measures its speeds of learning on 1,000. */
enum { GRADIENT_IMAGES = 1000 };

static void print_norms(FILE *out, const char *what, const double *v, int n)
{
    fprintf(out, "%s", what);
    for (int l = 0; l < n; l++)
        if (isnan(v[l]))
            fprintf(out, " -");
        else
            fprintf(out, " %.4g", v[l]);
    fprintf(out, "\n");
}

/* --monitor gradient-norms: each layer's ||dC/db^l|| (its speed of
 * learning) and ||dC/dw^l||, the gradient averaged over the first training
 * images, without regularization. */
static int monitor_gradients(run_state *r, epoch_record *rec)
{
    const nndl_dataset *training = r->d->training;
    size_t n = nndl_dataset_count(training);
    if (n > GRADIENT_IMAGES) n = GRADIENT_IMAGES;
    double weights[NNDL_MAX_LAYERS], biases[NNDL_MAX_LAYERS];
    nndl_error err;
    if (nndl_net_gradient_norms(r->net, training, 0, n, weights, biases, &err))
        return fail(r, &err);
    int layers = nndl_net_n_sizes(r->net) - 1;
    for (int l = 1; l <= layers; l++) {
        nndl_layer_info info;
        int has_params = nndl_net_layer(r->net, l, &info, NULL) == NNDL_OK && info.params;
        rec->speeds[l - 1] = has_params ? biases[l] : NAN;
        rec->weight_norms[l - 1] = has_params ? weights[l] : NAN;
    }
    rec->n_gradients = layers;
    if (r->out) {
        print_norms(r->out, "Speed of learning ||dC/db|| by layer:", rec->speeds, layers);
        print_norms(r->out, "Gradient ||dC/dw|| by layer:", rec->weight_norms, layers);
    }
    return 0;
}

/* Measures and prints what --monitor asks for, and fills the record. */
static int monitor(run_state *r, const nndl_dataset *training, epoch_record *rec)
{
    const train_settings *s = r->s;
    nndl_error err;
    unsigned m = s->monitor_flags;
    if (m & MONITOR_TRAINING_COST) {
        if (nndl_net_total_cost(r->net, training, s->lambda, s->l1, &rec->training_cost, &err))
            return fail(r, &err);
        if (r->out) fprintf(r->out, "Cost on training data: %.6f\n", rec->training_cost);
    }
    if (m & MONITOR_TRAINING_ACCURACY) {
        size_t correct;
        if (nndl_net_evaluate(r->net, training, &correct, &err)) return fail(r, &err);
        rec->training_correct = (long)correct;
        rec->training_total = (long)nndl_dataset_count(training);
        if (r->out)
            fprintf(r->out, "Accuracy on training data: %ld / %ld\n", rec->training_correct,
                    rec->training_total);
    }
    if (m & MONITOR_EVALUATION_COST) {
        if (nndl_net_total_cost(r->net, r->d->evaluation, s->lambda, s->l1,
                                &rec->evaluation_cost, &err))
            return fail(r, &err);
        if (r->out) fprintf(r->out, "Cost on evaluation data: %.6f\n", rec->evaluation_cost);
    }
    if ((m & MONITOR_EVALUATION_ACCURACY) && r->out)
        fprintf(r->out, "Accuracy on evaluation data: %ld / %ld\n", rec->evaluation_correct,
                rec->evaluation_total);
    if ((m & MONITOR_GRADIENT_NORMS) && monitor_gradients(r, rec)) return 1;
    return 0;
}

/* Before the first epoch: the gradient norms at the start, as epoch -1. */
static int monitor_start(run_state *r)
{
    if (!(r->s->monitor_flags & MONITOR_GRADIENT_NORMS)) return 0;
    epoch_record rec = epoch_record_empty(-1);
    rec.eta = r->s->eta;
    if (r->out) fprintf(r->out, "Before training:\n");
    if (monitor_gradients(r, &rec)) return 1;
    if (r->history && !history_write(r->history, r->s->history, &rec, r->cmd)) return 1;
    return 0;
}

/* Early stopping and the schedule look at the validation accuracy. */
static int watch_plateau(run_state *r, int epoch, epoch_record *rec, int *stop)
{
    nndl_error err;
    size_t correct = (size_t)rec->evaluation_correct;
    if (r->d->validation != r->d->evaluation &&
        nndl_net_evaluate(r->net, r->d->validation, &correct, &err))
        return fail(r, &err);
    double accuracy = (double)correct / (double)nndl_dataset_count(r->d->validation);
    rec->validation_accuracy = accuracy;
    int flags = nndl_plateau_update(&r->plateau, epoch, accuracy);
    if (flags & NNDL_PLATEAU_IMPROVED)
        memcpy(nndl_net_params(r->best), nndl_net_params_const(r->net),
               nndl_net_param_count(r->net) * sizeof(float));
    if (flags & NNDL_PLATEAU_HALVED) {
        nndl_trainer_set_eta(r->trainer, r->plateau.eta);
        if (r->out)
            fprintf(stderr, "nndl %s: no better validation accuracy for %d epochs: eta halved to %g\n",
                    r->cmd, r->s->halve_after, (double)r->plateau.eta);
    }
    if (flags & NNDL_PLATEAU_STOP) {
        *stop = 1;
        if (r->out)
            fprintf(stderr, "nndl %s: stopping after epoch %d (%s)\n", r->cmd, epoch,
                    r->plateau.early_stop && r->plateau.since_best >= r->plateau.early_stop
                        ? "early stopping"
                        : "eta fell by the schedule's factor");
    }
    return 0;
}

/* A network that gives every image the same answer has usually died:
 * ReLUs that output 0 for every input get no gradient and never learn
 * again (seen with network3.py's initialization of wider convolutions at
 * eta 0.03). A warning, once, not an error: a sigmoid network can start
 * so and recover. */
static void warn_if_one_answer(run_state *r, int epoch, const nndl_confusion *c)
{
    if (r->warned_one_answer || c->total < 2) return;
    for (int a = 0; a < c->n_classes; a++) {
        size_t answered = 0;
        for (int t = 0; t < c->n_classes; t++) answered += c->counts[(size_t)t * c->n_classes + a];
        if (answered == c->total) {
            fprintf(stderr,
                    "nndl %s: warning: epoch %d: the network answers %d for all %zu %s images; "
                    "if it stays so, its neurons have died: try a smaller --eta than %g, or "
                    "--init he\n",
                    r->cmd, epoch, a, c->total, eval_names[r->s->eval],
                    (double)nndl_trainer_eta(r->trainer));
            r->warned_one_answer = 1;
            return;
        }
    }
}

/* --eta-schedule steps:E,E,...: eta halved once for each step at or before
 * this epoch, from the epoch's number alone, so that a resumed run has it
 * as the run that was never stopped. */
static void apply_eta_steps(run_state *r, int epoch)
{
    const train_settings *s = r->s;
    int k = 0;
    while (k < s->n_eta_steps && s->eta_steps[k] <= epoch) k++;
    float eta = ldexpf(s->eta, -k);
    if (eta == nndl_trainer_eta(r->trainer)) return;
    nndl_trainer_set_eta(r->trainer, eta);
    if (r->out && k > 0 && s->eta_steps[k - 1] == epoch)
        fprintf(stderr, "nndl %s: epoch %d: eta halved to %g (--eta-schedule %s)\n", r->cmd,
                epoch, (double)eta, s->eta_schedule);
}

static int run_epoch(run_state *r, int epoch, train_result *res, int progress, int *stop)
{
    const train_settings *s = r->s;
    nndl_error err;
    if (s->n_eta_steps) apply_eta_steps(r, epoch);
    const nndl_dataset *training = r->d->training;
    if (r->augmented) {
        if (nndl_dataset_augment(r->augmented, training, s->seed, (uint64_t)epoch, &err))
            return fail(r, &err);
        training = r->augmented;
    }
    char label[64];
    /* numbered from 0 as the result lines are ("Epoch 0: ..."), as in the book */
    snprintf(label, sizeof label, "epoch %d (%d of %d)", epoch, epoch + 1, s->epochs);
    progress_bar bar;
    progress_start(&bar, label);
    bar.enabled &= progress;
    epoch_record rec = epoch_record_empty(epoch);
    rec.eta = nndl_trainer_eta(r->trainer);
    double t0 = monotonic_seconds();
    nndl_status st = nndl_trainer_epoch(r->trainer, training, progress_update, &bar, &err);
    rec.seconds = monotonic_seconds() - t0;
    rec.threads = nndl_trainer_threads(r->trainer);
    progress_finish(&bar);
    res->seconds_per_epoch += rec.seconds;
    if (st == NNDL_ERR_DIVERGED) {
        cli_error(r->cmd, "epoch %d: %s; try a smaller --eta than %g", epoch, err.message,
                  (double)rec.eta);
        return 1;
    }
    if (st != NNDL_OK) return fail(r, &err);

    if (r->d->evaluation) {
        nndl_confusion answers;
        if (nndl_confusion_compute(r->net, r->d->evaluation, &answers, NULL, &err))
            return fail(r, &err);
        size_t correct = answers.correct;
        rec.evaluation_data = eval_names[s->eval];
        rec.evaluation_correct = res->last_correct = (long)correct;
        rec.evaluation_total = res->total = (long)nndl_dataset_count(r->d->evaluation);
        if (res->best_epoch < 0 || res->last_correct > res->best_correct) {
            res->best_correct = res->last_correct;
            res->best_epoch = epoch;
        }
        if (r->out) {
            fprintf(r->out, "Epoch %d: %zu / %ld\n", epoch, correct, rec.evaluation_total);
            fflush(r->out);
        }
        warn_if_one_answer(r, epoch, &answers);
        nndl_confusion_free(&answers);
    } else if (r->out) {
        fprintf(r->out, "Epoch %d training complete\n", epoch);
    }
    if (monitor(r, training, &rec)) return 1;
    if (r->best && watch_plateau(r, epoch, &rec, stop)) return 1;
    if (r->out) fflush(r->out);
    if (r->history && !history_write(r->history, s->history, &rec, r->cmd)) return 1;
    res->epochs_run = epoch + 1;
    return 0;
}

static int prepare(run_state *r)
{
    const train_settings *s = r->s;
    nndl_error err;
    nndl_sgd_config config = train_sgd_config(s);
    if (!(r->trainer = nndl_trainer_create(r->net, &config, &err))) return fail(r, &err);
    if (s->augment) {
        const nndl_dataset *t = r->d->training;
        r->augmented = nndl_dataset_create(nndl_dataset_count(t), nndl_dataset_rows(t),
                                           nndl_dataset_cols(t), &err);
        if (!r->augmented) return fail(r, &err);
    }
    if (s->early_stop || s->halve_after) {
        if (!(r->best = nndl_net_clone(r->net, &err))) return fail(r, &err);
        nndl_plateau_init(&r->plateau, s->early_stop, s->halve_after, s->halve_factor, s->eta);
    }
    return 0;
}

/* ---- checkpoints ---- */

static double number(const cJSON *o, const char *key, double fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

/* Whether o[key] is a number from lo to hi (a whole one if `whole`), or
 * absent when not `required`; prints why not, naming `path`. */
static int note_field(const cJSON *o, const char *key, double lo, double hi, int whole,
                      int required, const char *path, const char *cmd)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v && !required) return 1;
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (x >= lo && x <= hi && (!whole || x == floor(x))) return 1;
    cli_error(cmd, "%s: the checkpoint's note is damaged: \"%s\" is not %s from %.17g to %.17g",
              path, key, whole ? "a whole number" : "a number", lo, hi);
    return 0;
}

int checkpoint_note_check(const cJSON *note, const char *path, const char *cmd)
{
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(note, "result");
    const cJSON *po = cJSON_GetObjectItemCaseSensitive(note, "plateau");
    const cJSON *stopped = cJSON_GetObjectItemCaseSensitive(note, "stopped");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(note, "data_shape");
    if (!note_field(note, "epochs_done", 1, 1000000, 1, 1, path, cmd)) return 0;
    double done = number(note, "epochs_done", 1);
    if (!cJSON_IsObject(rs) || (stopped && !cJSON_IsBool(stopped)) ||
        (po && !cJSON_IsObject(po)) || (shape && !cJSON_IsObject(shape))) {
        cli_error(cmd, "%s: the checkpoint's note is damaged (\"result\", \"stopped\", "
                  "\"plateau\" or \"data_shape\" is of the wrong type)", path);
        return 0;
    }
    if (shape && !(note_field(shape, "rows", 1, NNDL_MAX_IMAGE_SIDE, 1, 1, path, cmd) &&
                   note_field(shape, "cols", 1, NNDL_MAX_IMAGE_SIDE, 1, 1, path, cmd) &&
                   note_field(shape, "classes", 1, 256, 1, 0, path, cmd)))
        return 0;
    /* counts of images; epochs before `done`; a float learning rate */
    const double images = NNDL_MAX_IMAGES, eta_max = 3.4028234663852886e38;
    int ok = note_field(rs, "total", 0, images, 1, 0, path, cmd) &&
             note_field(rs, "last_correct", 0, number(rs, "total", 0), 1, 0, path, cmd) &&
             note_field(rs, "best_correct", 0, number(rs, "total", 0), 1, 0, path, cmd) &&
             note_field(rs, "best_epoch", -1, done - 1, 1, 0, path, cmd) &&
             note_field(rs, "seconds", 0, 1e12, 0, 0, path, cmd) &&
             note_field(note, "history_bytes", 0, 9007199254740992.0, 1, 0, path, cmd);
    if (ok && po)
        ok = note_field(po, "eta_initial", 1e-45, eta_max, 0, 1, path, cmd) &&
             note_field(po, "eta", 1e-45, eta_max, 0, 1, path, cmd) &&
             note_field(po, "best", 0, 1, 0, 1, path, cmd) &&
             note_field(po, "best_epoch", -1, done - 1, 1, 1, path, cmd) &&
             note_field(po, "since_best", 0, done, 1, 1, path, cmd) &&
             note_field(po, "since_change", 0, done, 1, 1, path, cmd);
    return ok;
}

/* The note of a checkpoint written after epoch `done` - 1. */
static char *checkpoint_note(const run_state *r, const train_checkpoints *ck, int done,
                             int stopped, const train_result *res, long history_bytes)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "nndl", NNDL_VERSION);
    cJSON_AddStringToObject(o, "command", "train");
    cJSON_AddItemToObject(o, "args", cJSON_Duplicate(ck->args, 1));
    cJSON_AddNumberToObject(o, "epochs_done", done);
    /* early stopping or the schedule ended the run: a resumption stops too */
    cJSON_AddBoolToObject(o, "stopped", stopped);
    cJSON *rs = cJSON_AddObjectToObject(o, "result");
    cJSON_AddNumberToObject(rs, "last_correct", (double)res->last_correct);
    cJSON_AddNumberToObject(rs, "best_correct", (double)res->best_correct);
    cJSON_AddNumberToObject(rs, "total", (double)res->total);
    cJSON_AddNumberToObject(rs, "best_epoch", res->best_epoch);
    cJSON_AddNumberToObject(rs, "seconds", res->seconds_per_epoch);
    if (r->best) {
        const nndl_plateau *p = &r->plateau;
        cJSON *po = cJSON_AddObjectToObject(o, "plateau");
        cJSON_AddNumberToObject(po, "eta_initial", p->eta_initial);
        cJSON_AddNumberToObject(po, "eta", p->eta);
        cJSON_AddNumberToObject(po, "best", p->best);
        cJSON_AddNumberToObject(po, "best_epoch", p->best_epoch);
        cJSON_AddNumberToObject(po, "since_best", p->since_best);
        cJSON_AddNumberToObject(po, "since_change", p->since_change);
    }
    if (history_bytes >= 0) cJSON_AddNumberToObject(o, "history_bytes", (double)history_bytes);
    /* the shape the data gave the network, which the arguments alone do
     * not tell when they name other data (--data) */
    const train_settings *s = r->s;
    cJSON *shape = cJSON_AddObjectToObject(o, "data_shape");
    cJSON_AddNumberToObject(shape, "rows", s->input.height);
    cJSON_AddNumberToObject(shape, "cols", s->input.width);
    if (s->sizes_from_data) cJSON_AddNumberToObject(shape, "classes", s->sizes.v[s->sizes.n - 1]);
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

static int write_checkpoint(run_state *r, const train_checkpoints *ck, int done, int stopped,
                            const train_result *res)
{
    long history_bytes = r->history ? ftell(r->history) : -1;
    char *note = checkpoint_note(r, ck, done, stopped, res, history_bytes);
    nndl_error err;
    int status = 0;
    if (!note) {
        cli_error(r->cmd, "out of memory for a checkpoint");
        status = 1;
    } else if (nndl_checkpoint_save(ck->path, r->net, r->trainer, r->best, note, &err)) {
        status = fail(r, &err);
    }
    free(note);
    return status;
}

/* Restores what the checkpoint's note and file hold; returns the number of
 * epochs already done, or -1 after printing an error. *stopped says
 * whether early stopping or the schedule had ended the run. */
static int resume(run_state *r, const train_checkpoints *ck, train_result *res, int *stopped)
{
    const cJSON *n = ck->resume_note;
    *stopped = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(n, "stopped"));
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(n, "result");
    int done = (int)number(n, "epochs_done", -1);
    if (done < 1 || !cJSON_IsObject(rs)) {
        cli_error(r->cmd, "%s: the checkpoint's note has no progress", ck->resume_path);
        return -1;
    }
    res->epochs_run = done;
    res->last_correct = (long)number(rs, "last_correct", 0);
    res->best_correct = (long)number(rs, "best_correct", 0);
    res->total = (long)number(rs, "total", 0);
    res->best_epoch = (int)number(rs, "best_epoch", -1);
    res->seconds_per_epoch = number(rs, "seconds", 0);
    if (r->best) {
        const cJSON *po = cJSON_GetObjectItemCaseSensitive(n, "plateau");
        if (!cJSON_IsObject(po)) {
            cli_error(r->cmd, "%s: the checkpoint's note has no early-stopping state",
                      ck->resume_path);
            return -1;
        }
        nndl_plateau *p = &r->plateau;
        p->eta_initial = (float)number(po, "eta_initial", p->eta_initial);
        p->eta = (float)number(po, "eta", p->eta);
        p->best = number(po, "best", p->best);
        p->best_epoch = (int)number(po, "best_epoch", p->best_epoch);
        p->since_best = (int)number(po, "since_best", p->since_best);
        p->since_change = (int)number(po, "since_change", p->since_change);
    }
    nndl_error err;
    if (nndl_checkpoint_restore(ck->resume_path, r->net, r->trainer, r->best, &err)) {
        fail(r, &err);
        return -1;
    }
    fprintf(stderr, "nndl %s: continuing %s after epoch %d of %d\n", r->cmd, ck->resume_path,
            done - 1, r->s->epochs);
    return done;
}

static int open_history(run_state *r, const train_checkpoints *ck)
{
    const train_settings *s = r->s;
    if (!s->history) return 0;
    if (ck && ck->resume_note) {
        double bytes = number(ck->resume_note, "history_bytes", -1);
        if (bytes < 0) {
            cli_error(r->cmd, "%s: the checkpoint recorded no --history file", ck->resume_path);
            return 1;
        }
        r->history = history_resume(s->history, (long)bytes, r->cmd);
    } else {
        r->history = history_open(s->history, s, r->cmd);
    }
    return r->history ? 0 : 1;
}

int train_run(const train_settings *s, nndl_net *net, const train_data *d, FILE *out,
              int progress, const char *cmd, train_result *result,
              const train_checkpoints *ck)
{
    run_state r = {.s = s, .net = net, .d = d, .out = out, .cmd = cmd};
    train_result res = {0};
    res.best_epoch = -1;
    int status = prepare(&r), stop = 0, first = 0;
    if (status == 0 && ck && ck->resume_note && (first = resume(&r, ck, &res, &stop)) < 0)
        status = 1;
    if (status == 0) status = open_history(&r, ck);
    if (status == 0 && first == 0) status = monitor_start(&r);
    for (int epoch = first; status == 0 && !stop && epoch < s->epochs; epoch++) {
        status = run_epoch(&r, epoch, &res, progress, &stop);
        if (status == 0 && ck && ck->path)
            status = write_checkpoint(&r, ck, epoch + 1, stop, &res);
        if (status == 0 && ck && ck->path && train_stop_signal && !stop &&
            epoch + 1 < s->epochs) {
            cli_error(cmd, "%s after epoch %d of %d; continue with: nndl train --resume %s",
                      train_stop_signal == SIGINT ? "interrupted" : "terminated", epoch,
                      s->epochs, ck->path);
            status = 128 + train_stop_signal;
        }
    }
    if (status == 0 && r.best) {
        /* Early stopping keeps the weights of the best validation epoch. */
        memcpy(nndl_net_params(net), nndl_net_params_const(r.best),
               nndl_net_param_count(net) * sizeof(float));
        if (out)
            fprintf(stderr, "nndl %s: kept the weights of epoch %d (validation accuracy %.2f%%)\n",
                    cmd, r.plateau.best_epoch, 100 * r.plateau.best);
    }
    if (r.history && !history_close(r.history, s->history, cmd) && status == 0) status = 1;
    res.final_eta = r.trainer ? nndl_trainer_eta(r.trainer) : s->eta;
    res.first_epoch = first;
    if (res.epochs_run) res.seconds_per_epoch /= res.epochs_run;
    nndl_trainer_free(r.trainer);
    nndl_dataset_free(r.augmented);
    nndl_net_free(r.best);
    *result = res;
    return status;
}
