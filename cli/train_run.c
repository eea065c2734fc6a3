#include "train_run.h"

#include <string.h>

#include "history.h"
#include "progress.h"

static const char *const eval_names[] = {"test", "validation", "none"};

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
} run_state;

static int fail(const run_state *r, const nndl_error *err) { return cli_fail(r->cmd, err); }

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
            fprintf(stderr, "%s: no better validation accuracy for %d epochs: eta halved to %g\n",
                    r->cmd, r->s->halve_after, (double)r->plateau.eta);
    }
    if (flags & NNDL_PLATEAU_STOP) {
        *stop = 1;
        if (r->out)
            fprintf(stderr, "%s: stopping after epoch %d (%s)\n", r->cmd, epoch,
                    r->plateau.early_stop && r->plateau.since_best >= r->plateau.early_stop
                        ? "early stopping"
                        : "eta fell by the schedule's factor");
    }
    return 0;
}

static int run_epoch(run_state *r, int epoch, train_result *res, int progress, int *stop)
{
    const train_settings *s = r->s;
    nndl_error err;
    const nndl_dataset *training = r->d->training;
    if (r->augmented) {
        if (nndl_dataset_augment(r->augmented, training, s->seed, (uint64_t)epoch, &err))
            return fail(r, &err);
        training = r->augmented;
    }
    char label[64];
    snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, s->epochs);
    progress_bar bar;
    progress_start(&bar, label);
    bar.enabled &= progress;
    epoch_record rec = epoch_record_empty(epoch);
    rec.eta = nndl_trainer_eta(r->trainer);
    double t0 = monotonic_seconds();
    nndl_status st = nndl_trainer_epoch(r->trainer, training, progress_update, &bar, &err);
    rec.seconds = monotonic_seconds() - t0;
    progress_finish(&bar);
    res->seconds_per_epoch += rec.seconds;
    if (st == NNDL_ERR_DIVERGED) {
        cli_error(r->cmd, "epoch %d: %s; try a smaller --eta than %g", epoch, err.message,
                  (double)rec.eta);
        return 1;
    }
    if (st != NNDL_OK) return fail(r, &err);

    if (r->d->evaluation) {
        size_t correct;
        if (nndl_net_evaluate(r->net, r->d->evaluation, &correct, &err)) return fail(r, &err);
        rec.evaluation_data = eval_names[s->eval];
        rec.evaluation_correct = res->last_correct = (long)correct;
        rec.evaluation_total = res->total = (long)nndl_dataset_count(r->d->evaluation);
        if (res->best_epoch < 0 || res->last_correct > res->best_correct) {
            res->best_correct = res->last_correct;
            res->best_epoch = epoch;
        }
        if (r->out) fprintf(r->out, "Epoch %d: %zu / %ld\n", epoch, correct, rec.evaluation_total);
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
    if (s->history && !(r->history = history_open(s->history, s, r->cmd))) return 1;
    return 0;
}

int train_run(const train_settings *s, nndl_net *net, const train_data *d, FILE *out,
              int progress, const char *cmd, train_result *result)
{
    run_state r = {s, net, d, out, cmd, NULL, NULL, NULL, NULL, {0}};
    train_result res = {0};
    res.best_epoch = -1;
    int status = prepare(&r), stop = 0;
    for (int epoch = 0; status == 0 && !stop && epoch < s->epochs; epoch++)
        status = run_epoch(&r, epoch, &res, progress, &stop);
    if (status == 0 && r.best) {
        /* Early stopping keeps the weights of the best validation epoch. */
        memcpy(nndl_net_params(net), nndl_net_params_const(r.best),
               nndl_net_param_count(net) * sizeof(float));
        if (out)
            fprintf(stderr, "%s: kept the weights of epoch %d (validation accuracy %.2f%%)\n",
                    cmd, r.plateau.best_epoch, 100 * r.plateau.best);
    }
    if (r.history && !history_close(r.history, s->history, cmd) && status == 0) status = 1;
    res.final_eta = r.trainer ? nndl_trainer_eta(r.trainer) : s->eta;
    if (res.epochs_run) res.seconds_per_epoch /= res.epochs_run;
    nndl_trainer_free(r.trainer);
    nndl_dataset_free(r.augmented);
    nndl_net_free(r.best);
    *result = res;
    return status;
}
