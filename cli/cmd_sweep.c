/* nndl sweep: a grid of training settings, run side by side on all cores
 * (one run per core, each single-threaded), then a table of the results.
 * With --save and --checkpoint each run keeps its own files, FILE-1,
 * FILE-2, ... (before the extension): an ensemble of five networks is a
 * sweep over --grid seed=1,2,3,4,5, and `--resume` continues every run
 * from its checkpoint after an interruption. */
#include <cjson/cJSON.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "progress.h"
#include "train_run.h"
#include "train_save.h"
#include "train_settings.h"

enum { MAX_RUNS = 256, MAX_AXES = CLI_LIST_MAX, MAX_VALUES = 32 };

/* One --grid NAME=V1,V2,...: an option of `nndl train` and its values. */
typedef struct grid_axis {
    char name[32]; /* "--eta" */
    int n_values;
    char *values[MAX_VALUES];
    char storage[512];
} grid_axis;

typedef struct sweep_run {
    train_settings s;
    char label[256];
    char history[4096], save[4096], checkpoint[4096];
    cJSON *args;   /* the run as `nndl train` options, kept in its checkpoints */
    cJSON *note;   /* the note of the checkpoint it continues, or NULL */
    train_result result;
    int status;
} sweep_run;

/* PATH with "-N" before its extension (the last dot of its last part), or
 * after it when it has none: runs.nndl -> runs-3.nndl. */
static void member_path(char *out, size_t cap, const char *path, int n)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (dot && (!slash || dot > slash + 1))
        snprintf(out, cap, "%.*s-%d%s", (int)(dot - path), path, n, dot);
    else
        snprintf(out, cap, "%s-%d", path, n);
}

/* Whether argv[i] is option `name`, as "--name" or "--name=...". */
static int is_option(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == 0 || arg[n] == '=');
}

/* The options of one run as `nndl train` would take them: the sweep's
 * own, without those only a sweep has, then the run's grid values and its
 * own files. */
static cJSON *run_args(int argc, char **argv, const grid_axis *axes, int n_axes, int r,
                       const sweep_run *run)
{
    static const char *const dropped[] = {"--grid", "--parallel", "--checkpoint", "--save",
                                           "--history", NULL};
    cJSON *a = cJSON_CreateArray();
    for (int i = 1; a && i < argc; i++) {
        int skip = is_option(argv[i], "--resume");
        for (int k = 0; !skip && dropped[k]; k++)
            if (is_option(argv[i], dropped[k])) {
                skip = 1;
                if (!strchr(argv[i], '=')) i++; /* and its value */
            }
        if (!skip) cJSON_AddItemToArray(a, cJSON_CreateString(argv[i]));
    }
    for (int k = 0, rest = r; a && k < n_axes; k++) {
        cJSON_AddItemToArray(a, cJSON_CreateString(axes[k].name));
        cJSON_AddItemToArray(a, cJSON_CreateString(axes[k].values[rest % axes[k].n_values]));
        rest /= axes[k].n_values;
    }
    if (a && run->s.save) {
        cJSON_AddItemToArray(a, cJSON_CreateString("--save"));
        cJSON_AddItemToArray(a, cJSON_CreateString(run->s.save));
    }
    if (a && run->s.history) {
        cJSON_AddItemToArray(a, cJSON_CreateString("--history"));
        cJSON_AddItemToArray(a, cJSON_CreateString(run->s.history));
    }
    return a;
}

/* The train options table, bound to `s`, as a command for parsing. */
static cli_command train_command(train_settings *s, cli_option *options)
{
    train_options(s, options);
    cli_command cmd = {"sweep", "", "", options, TRAIN_OPTION_COUNT, 0, 0};
    return cmd;
}

static int parse_axis(const char *text, grid_axis *axis)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text || (size_t)(eq - text) + 3 > sizeof axis->name || !eq[1]) {
        cli_error("sweep", "--grid: '%s' is not NAME=V1,V2,... (e.g. eta=0.025,0.25,2.5)", text);
        return 0;
    }
    snprintf(axis->name, sizeof axis->name, "--%.*s", (int)(eq - text), text);
    snprintf(axis->storage, sizeof axis->storage, "%s", eq + 1);
    axis->n_values = 0;
    for (char *save = NULL, *tok = strtok_r(axis->storage, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (axis->n_values == MAX_VALUES) {
            cli_error("sweep", "--grid: at most %d values for %s", MAX_VALUES, axis->name);
            return 0;
        }
        axis->values[axis->n_values++] = tok;
    }
    static const char *const not_swept[] = {"--save", "--history", "--threads", "--sizes",
                                             "--layers", NULL};
    for (int i = 0; not_swept[i]; i++)
        if (strcmp(axis->name, not_swept[i]) == 0) {
            cli_error("sweep", "--grid: %s cannot vary in a sweep", axis->name);
            return 0;
        }
    train_settings scratch = train_settings_default();
    cli_option options[TRAIN_OPTION_COUNT];
    cli_command cmd = train_command(&scratch, options);
    if (!cli_find_option(&cmd, axis->name, strlen(axis->name))) {
        cli_error("sweep", "--grid: %s is not an option of nndl train", axis->name);
        return 0;
    }
    if (axis->n_values == 0) {
        cli_error("sweep", "--grid: no values for %s", axis->name);
        return 0;
    }
    return 1;
}

/* Builds every combination of the axes' values on top of `base`. */
static int build_runs(const train_settings *base, const grid_axis *axes, int n_axes,
                      const char *history, const char *save, sweep_run *runs, int *n_runs)
{
    int total = 1;
    for (int a = 0; a < n_axes; a++) {
        total *= axes[a].n_values;
        if (total > MAX_RUNS) {
            cli_error("sweep", "--grid: more than %d runs", MAX_RUNS);
            return 0;
        }
    }
    for (int r = 0; r < total; r++) {
        sweep_run *run = &runs[r];
        run->s = *base;
        cli_option options[TRAIN_OPTION_COUNT];
        cli_command cmd = train_command(&run->s, options);
        run->label[0] = 0;
        for (int a = 0, rest = r; a < n_axes; a++) {
            const char *value = axes[a].values[rest % axes[a].n_values];
            rest /= axes[a].n_values;
            const cli_option *o = cli_find_option(&cmd, axes[a].name, strlen(axes[a].name));
            if (!cli_set_option(&cmd, o, value)) return 0;
            size_t used = strlen(run->label);
            snprintf(run->label + used, sizeof run->label - used, "%s%s=%s", a ? " " : "",
                     axes[a].name + 2, value);
        }
        if (!train_settings_finish(&run->s, "sweep")) return 0;
        run->s.run_label = run->label;
        run->s.history = NULL;
        if (history) {
            snprintf(run->history, sizeof run->history, "%s-%d.jsonl", history, r + 1);
            run->s.history = run->history;
        }
        run->s.save = NULL;
        if (save) {
            member_path(run->save, sizeof run->save, save, r + 1);
            run->s.save = run->save;
        }
    }
    *n_runs = total;
    return 1;
}

/* A copy of the first n images of ds (the run's --train-size). */
static nndl_dataset *head_copy(const nndl_dataset *ds, size_t n, nndl_error *err)
{
    int rows = nndl_dataset_rows(ds), cols = nndl_dataset_cols(ds);
    nndl_dataset *copy = nndl_dataset_create(n, rows, cols, err);
    if (!copy) return NULL;
    if (n) {
        memcpy(nndl_dataset_image_mut(copy, 0), nndl_dataset_image(ds, 0),
               n * (size_t)rows * cols);
        memcpy(nndl_dataset_labels_mut(copy), nndl_dataset_labels(ds), n);
    }
    return copy;
}

static void run_one(sweep_run *run, const train_datasets *ds)
{
    nndl_error err;
    nndl_net_spec spec = train_net_spec(&run->s);
    nndl_net *net = nndl_net_create(&spec, &err);
    if (!net) {
        run->status = cli_fail("sweep", &err);
        return;
    }
    nndl_net_set_threads(net, 1);
    train_data d = train_datasets_view(&run->s, ds);
    nndl_dataset *cut = NULL;
    if (run->s.train_size && (size_t)run->s.train_size < nndl_dataset_count(d.training)) {
        if (!(cut = head_copy(d.training, (size_t)run->s.train_size, &err))) {
            run->status = cli_fail("sweep", &err);
            nndl_net_free(net);
            return;
        }
        d.training = cut;
    }
    train_checkpoints ck = {run->checkpoint[0] ? run->checkpoint : NULL, run->args,
                            run->note ? run->checkpoint : NULL, run->note};
    run->status = train_run(&run->s, net, &d, NULL, 0, "sweep", &run->result, &ck);
    if (run->status == 0 && run->s.save && !train_save_model(net, &run->s, &run->result, &ds->source, "sweep"))
        run->status = 1;
    nndl_dataset_free(cut);
    nndl_net_free(net);
}

static void print_table(const sweep_run *runs, int n_runs)
{
    printf("%-36s %14s %6s %14s %9s\n", "run", "best", "epoch", "last", "s/epoch");
    for (int r = 0; r < n_runs; r++) {
        const sweep_run *run = &runs[r];
        if (run->status) {
            printf("%-36s %14s\n", run->label, "failed");
        } else if (run->result.total == 0) {
            printf("%-36s %14s %6s %14s %9.3f\n", run->label, "-", "-", "-",
                   run->result.seconds_per_epoch);
        } else {
            char best[32], last[32];
            snprintf(best, sizeof best, "%ld / %ld", run->result.best_correct, run->result.total);
            snprintf(last, sizeof last, "%ld / %ld", run->result.last_correct, run->result.total);
            printf("%-36s %14s %6d %14s %9.3f\n", run->label, best, run->result.best_epoch, last,
                   run->result.seconds_per_epoch);
        }
    }
}

/* --resume: the run continues from its checkpoint when it has one, which
 * must have been written by this same run. 0 after printing an error. */
static int resume_run(sweep_run *run)
{
    if (access(run->checkpoint, F_OK) != 0) return 1; /* not started: from the beginning */
    nndl_error err;
    char *text = nndl_checkpoint_note(run->checkpoint, &err);
    if (!text) return !cli_fail("sweep", &err);
    run->note = cJSON_Parse(text);
    free(text);
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(run->note, "args");
    if (!args || !cJSON_Compare(args, run->args, 1)) {
        cli_error("sweep", "%s: written by a run with other settings (%s); remove it or give "
                           "other --checkpoint names", run->checkpoint, run->label);
        return 0;
    }
    int done = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(run->note,
                                                                          "epochs_done"));
    fprintf(stderr, "nndl sweep: %s continues %s after epoch %d\n", run->label,
            run->checkpoint, done - 1);
    return 1;
}

int cmd_sweep(int argc, char **argv)
{
    train_settings base = train_settings_default();
    cli_option options[TRAIN_OPTION_COUNT + 4];
    train_options(&base, options);
    cli_list grids = {0};
    int parallel = 0, resume = 0;
    const char *checkpoint = NULL;
    options[TRAIN_OPTION_COUNT] = (cli_option){
        "--grid", OPT_LIST, &grids, "NAME=V1,V2,...",
        "an option of nndl train and its values; repeat for a grid", 0, 0, NULL};
    options[TRAIN_OPTION_COUNT + 1] = (cli_option){
        "--parallel", OPT_INT, &parallel, "N", "runs at once (default 0: one per core)", 0,
        1024, NULL};
    options[TRAIN_OPTION_COUNT + 2] = (cli_option){
        "--checkpoint", OPT_STRING, &checkpoint, "FILE",
        "each run writes its state to FILE-1, FILE-2, ... after every epoch", 0, 0, NULL};
    options[TRAIN_OPTION_COUNT + 3] = (cli_option){
        "--resume", OPT_FLAG, &resume, "",
        "continue each run from its checkpoint, if it has one (the same command again)", 0, 0,
        NULL};
    cli_command cmd = {"sweep", "",
                       "Trains one network per combination of --grid values, side by side,\n"
                       "and prints a table of their accuracies. Other options are those of\n"
                       "nndl train; --history FILE writes FILE-1.jsonl, FILE-2.jsonl, ...,\n"
                       "--save FILE.nndl saves FILE-1.nndl, FILE-2.nndl, ... An ensemble:\n"
                       "  nndl sweep --grid seed=1,2,3,4,5 --save net.nndl --checkpoint net.ckpt\n"
                       "then the same command with --resume after an interruption, and\n"
                       "nndl eval net-1.nndl ... net-5.nndl for their vote.",
                       options, TRAIN_OPTION_COUNT + 4, 0, 0};
    char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;
    if (grids.n == 0) {
        cli_error("sweep", "--grid: missing (e.g. --grid eta=0.025,0.25,2.5)");
        return 2;
    }
    if (resume && !checkpoint) {
        cli_error("sweep", "--resume: continues from --checkpoint FILE's files: give it too");
        return 2;
    }
    if (base.save && !save_path_usable(base.save, "sweep")) return 1;
    grid_axis axes[MAX_AXES];
    for (int a = 0; a < grids.n; a++)
        if (!parse_axis(grids.v[a], &axes[a])) return 2;
    sweep_run *runs = calloc(MAX_RUNS, sizeof *runs);
    if (!runs) {
        cli_error("sweep", "out of memory");
        return 1;
    }
    int n_runs = 0, status = 2;
    if (!build_runs(&base, axes, grids.n, base.history, base.save, runs, &n_runs)) goto done;
    for (int r = 0; r < n_runs; r++) {
        if (!(runs[r].args = run_args(argc, argv, axes, grids.n, r, &runs[r]))) {
            cli_error("sweep", "out of memory");
            status = 1;
            goto done;
        }
        if (checkpoint) member_path(runs[r].checkpoint, sizeof runs[r].checkpoint, checkpoint, r + 1);
        if (resume && !resume_run(&runs[r])) {
            status = 1;
            goto done;
        }
    }

    /* One load serves every run: the union of what the runs need. */
    train_settings needs = base;
    needs.train_size = 0;
    for (int r = 0; r < n_runs; r++) {
        if (runs[r].s.eval == EVAL_TEST) needs.eval = EVAL_TEST;
        if (train_needs_validation(&runs[r].s)) needs.early_stop = 1;
        if (runs[r].s.expanded != base.expanded) {
            cli_error("sweep", "--grid: --expanded cannot vary in a sweep");
            goto done;
        }
    }
    if (needs.eval != EVAL_TEST) needs.eval = EVAL_VALIDATION;
    train_datasets ds;
    status = 1;
    if (!train_datasets_load(&needs, "sweep", &ds)) goto done;
    for (int r = 0; r < n_runs; r++) train_settings_fit_data(&runs[r].s, &ds.source.info);
    if (n_runs > 0) train_warn_unused_outputs(&runs[0].s, &ds.source.info, "sweep");
    int workers = parallel > 0 ? parallel : omp_get_num_procs();
    fprintf(stderr, "nndl sweep: %d runs, %d at a time\n", n_runs, workers);
    double started = monotonic_seconds();
#pragma omp parallel for schedule(dynamic, 1) num_threads(workers)
    for (int r = 0; r < n_runs; r++) run_one(&runs[r], &ds);
    fprintf(stderr, "nndl sweep: %.1f s\n", monotonic_seconds() - started);
    print_table(runs, n_runs);
    train_datasets_free(&ds);
    status = 0;
    for (int r = 0; r < n_runs; r++)
        if (runs[r].status) status = 1;
done:
    for (int r = 0; r < n_runs; r++) {
        cJSON_Delete(runs[r].args);
        cJSON_Delete(runs[r].note);
    }
    free(runs);
    return status;
}
