/* nndl train: mini-batch SGD on MNIST, printing accuracy after each epoch
 * in the format of the book's network.py. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "common/json_strict.h"
#include "history.h"
#include "model/model_file.h"
#include "net/network.h"
#include "progress.h"
#include "train_run.h"
#include "train_save.h"
#include "train_settings.h"

/* ---- checkpoints ---- */

/* Both stop signals back to their default action: the next one of either
 * kind ends the process at once, wherever it is (sigaction is safe in a
 * handler). */
static void default_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void on_stop_signal(int sig)
{
    static const char msg[] = "\nnndl train: stopping after this epoch to write the checkpoint "
                              "(again to quit at once)\n";
    int saved = errno; /* the interrupted code may be about to read it */
    train_stop_signal = sig;
    default_stop_signals();
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    errno = saved;
}

/* SIGINT and SIGTERM let the epoch finish and the checkpoint be written;
 * a second one, of either kind, kills at once. */
static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT); /* one handler at a time */
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* The command line as a JSON array of strings, without argv[0]. */
static cJSON *args_json(int argc, char **argv)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 1; a && i < argc; i++) cJSON_AddItemToArray(a, cJSON_CreateString(argv[i]));
    return a;
}

enum { OPTIONS = TRAIN_OPTION_COUNT + 2 };

static void all_options(train_settings *s, const char **checkpoint, const char **resume,
                        cli_option *options)
{
    train_options(s, options);
    options[TRAIN_OPTION_COUNT] = (cli_option){
        "--checkpoint", OPT_STRING, (void *)checkpoint, "FILE",
        "write the run's state to FILE after every epoch; Ctrl-C then stops after the epoch "
        "and leaves FILE to continue from",
        0, 0, NULL};
    options[TRAIN_OPTION_COUNT + 1] = (cli_option){
        "--resume", OPT_STRING, (void *)resume, "FILE",
        "continue the run of checkpoint FILE, with its settings (only --epochs N, the total, "
        "and --threads may be given)",
        0, 0, NULL};
}

/* With --resume only --epochs and --threads may be given. */
static int resume_options_only(int argc, char **argv)
{
    static const char *const allowed[] = {"--resume", "--epochs", "--threads"};
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) continue;
        size_t len = strcspn(argv[i], "=");
        int ok = 0;
        for (int k = 0; k < 3; k++)
            ok |= strlen(allowed[k]) == len && strncmp(argv[i], allowed[k], len) == 0;
        if (!ok) {
            cli_error("train", "%.*s: with --resume the settings come from the checkpoint; only "
                      "--epochs and --threads may be given", (int)len, argv[i]);
            return 0;
        }
    }
    return 1;
}

/* Whether the checkpoint at `path` has room for the parameters of the
 * network its settings describe (4 bytes each): checked before that
 * network is made, so that a note of a few bytes cannot ask for
 * gigabytes. */
static int holds_its_network(const char *path, const train_settings *s, const char *cmd)
{
    nndl_net_spec spec = train_net_spec(s);
    size_t n_params;
    nndl_error err;
    if (net_spec_count(&spec, &n_params, &err) != NNDL_OK) {
        cli_error(cmd, "%s: the checkpoint's network: %s", path, err.message);
        return 0;
    }
    struct stat st;
    if (stat(path, &st) != 0 || (uint64_t)st.st_size < 4 * (uint64_t)n_params) {
        cli_error(cmd, "%s: %lld bytes, too few for the %zu parameters of the network its "
                  "settings describe", path, (long long)st.st_size, n_params);
        return 0;
    }
    return 1;
}

/* Rebuilds the settings of the run a checkpoint holds from its note's
 * "args" and parses them into `s`; `note` receives the parsed note. */
int checkpoint_settings(const char *path, train_settings *s, cJSON **note, const char *cmd)
{
    nndl_error err;
    char *text = nndl_checkpoint_note(path, &err);
    if (!text) return !cli_fail(cmd, &err);
    json_problem problem;
    *note = json_parse_strict(text, strlen(text), 100000, &problem);
    free(text);
    if (!*note) {
        char why[160];
        json_problem_describe(&problem, why, sizeof why);
        cli_error(cmd, "%s: the checkpoint's note is not as nndl writes it: %s", path, why);
        return 0;
    }
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(*note, "args");
    int n = cJSON_GetArraySize(args);
    if (!cJSON_IsArray(args) || n > 4096) {
        cli_error(cmd, "%s: the checkpoint's note holds no settings", path);
        cJSON_Delete(*note);
        *note = NULL;
        return 0;
    }
    if (!checkpoint_note_check(*note, path, cmd)) {
        cJSON_Delete(*note);
        *note = NULL;
        return 0;
    }
    char **argv = calloc((size_t)n + 1, sizeof *argv);
    const char *ignored_checkpoint = NULL, *ignored_resume = NULL;
    cli_option options[OPTIONS];
    *s = train_settings_default();
    all_options(s, &ignored_checkpoint, &ignored_resume, options);
    cli_command c = {"train", "", "", options, OPTIONS, 0, 0};
    int ok = argv != NULL;
    if (ok) argv[0] = (char *)"train";
    for (int i = 0; ok && i < n; i++) {
        const cJSON *a = cJSON_GetArrayItem(args, i);
        ok = cJSON_IsString(a);
        if (ok) argv[i + 1] = a->valuestring;
    }
    char *pos[1];
    int n_pos;
    ok = ok && cli_parse(&c, n + 1, argv, pos, &n_pos) == CLI_PARSED && !ignored_resume &&
         train_settings_finish(s, cmd);
    free(argv);
    if (!ok) cli_error(cmd, "%s: the checkpoint's settings do not parse", path);
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(*note, "data_shape");
    if (ok && shape) { /* checked by checkpoint_note_check */
        const cJSON *classes = cJSON_GetObjectItemCaseSensitive(shape, "classes");
        nndl_data_info info = {
            .rows = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(shape, "rows")),
            .cols = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(shape, "cols")),
            .classes = classes ? (int)cJSON_GetNumberValue(classes) : 0};
        if (s->sizes_from_data && !classes) {
            cli_error(cmd, "%s: the checkpoint's note is damaged: \"data_shape\" has no "
                      "\"classes\"", path);
            ok = 0;
        } else {
            train_settings_fit_data(s, &info);
        }
    }
    if (ok) ok = holds_its_network(path, s, cmd);
    if (!ok) {
        cJSON_Delete(*note);
        *note = NULL;
    }
    return ok;
}

nndl_net *checkpoint_network(const char *path, const train_settings *s, float *eta,
                             const char *cmd)
{
    nndl_error err;
    nndl_net_spec spec = train_net_spec(s);
    nndl_sgd_config config = train_sgd_config(s);
    nndl_net *net = nndl_net_create(&spec, &err);
    nndl_trainer *t = net ? nndl_trainer_create(net, &config, &err) : NULL;
    if (!t || nndl_checkpoint_restore(path, net, t, NULL, &err) != NNDL_OK) {
        cli_fail(cmd, &err);
        nndl_trainer_free(t);
        nndl_net_free(net);
        return NULL;
    }
    if (eta) *eta = nndl_trainer_eta(t);
    nndl_trainer_free(t);
    return net;
}

int cmd_train(int argc, char **argv)
{
    train_settings s = train_settings_default();
    const char *checkpoint = NULL, *resume_path = NULL;
    cli_option options[OPTIONS];
    all_options(&s, &checkpoint, &resume_path, options);
    cli_command cmd = {"train", "",
                       "Trains a network on MNIST (or the IDX files --data names) by mini-batch\n"
                       "stochastic gradient descent and\n"
                       "prints the accuracy after each epoch. With --checkpoint FILE the state of\n"
                       "the run is saved after every epoch, and Ctrl-C (or SIGTERM) stops it after\n"
                       "the epoch it is in; nndl train --resume FILE continues it and ends with\n"
                       "the same weights as a run that was never stopped.",
                       options, OPTIONS, 0, 0};
    char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;

    cJSON *args = NULL, *note = NULL;
    if (resume_path) {
        int epochs = s.epochs, threads = s.threads;
        if (!resume_options_only(argc, argv)) return 2;
        if (!checkpoint_settings(resume_path, &s, &note, "train")) return 1;
        /* restored once before the data is loaded, so that a damaged
         * checkpoint is refused at once rather than seconds later */
        nndl_net *check = checkpoint_network(resume_path, &s, NULL, "train");
        if (!check) {
            cJSON_Delete(note);
            return 1;
        }
        nndl_net_free(check);
        int done = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(note, "epochs_done"));
        args = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(note, "args"), 1);
        /* --epochs given now is the new total, kept for later resumptions */
        for (int i = 1; i < argc; i++)
            if (strncmp(argv[i], "--epochs", 8) == 0 && (argv[i][8] == 0 || argv[i][8] == '=')) {
                char text[16];
                snprintf(text, sizeof text, "%d", epochs);
                cJSON_AddItemToArray(args, cJSON_CreateString("--epochs"));
                cJSON_AddItemToArray(args, cJSON_CreateString(text));
                s.epochs = epochs;
            }
        s.threads = threads;
        if (s.epochs < done) {
            cli_error("train", "--epochs %d: %s already holds %d epochs", s.epochs, resume_path,
                      done);
            cJSON_Delete(note);
            cJSON_Delete(args);
            return 2;
        }
        checkpoint = resume_path;
    } else {
        if (!train_settings_finish(&s, "train")) return 2;
        args = args_json(argc, argv);
    }
    if (s.save && !save_path_usable(s.save, "train")) {
        cJSON_Delete(note);
        cJSON_Delete(args);
        return 1;
    }
    if (checkpoint) catch_stop_signals();
    train_checkpoints ck = {checkpoint, args, resume_path, note};

    train_datasets ds;
    if (!train_datasets_load(&s, "train", &ds)) {
        cJSON_Delete(note);
        cJSON_Delete(args);
        return 1;
    }
    train_settings_fit_data(&s, &ds.source.info);
    nndl_error err;
    nndl_net_spec spec = train_net_spec(&s);
    nndl_net *net = nndl_net_create(&spec, &err);
    int status = 1;
    if (!net) {
        status = cli_fail("train", &err);
    } else {
        nndl_net_set_threads(net, s.threads);
        if (!resume_path) train_warn_unused_outputs(&s, &ds.source.info, "train");
        train_data d = train_datasets_view(&s, &ds);
        train_result res;
        double started = monotonic_seconds();
        status = train_run(&s, net, &d, stdout, 1, "train", &res, &ck);
        int ran = res.epochs_run - res.first_epoch; /* by this process */
        if (status == 0 && res.first_epoch == 0)
            fprintf(stderr, "nndl train: %d epoch%s in %.1f s (%.3f s per epoch of training)\n",
                    ran, ran == 1 ? "" : "s", monotonic_seconds() - started,
                    res.seconds_per_epoch);
        else if (status == 0)
            fprintf(stderr, "nndl train: %d epoch%s (%d to %d) in %.1f s, after %d before the "
                    "checkpoint (%.3f s per epoch of training)\n",
                    ran, ran == 1 ? "" : "s", res.first_epoch, res.epochs_run - 1,
                    monotonic_seconds() - started, res.first_epoch, res.seconds_per_epoch);
        if (status == 0 && s.save && !train_save_model(net, &s, &res, &ds.source, "train")) status = 1;
    }
    train_datasets_free(&ds);
    nndl_net_free(net);
    cJSON_Delete(note);
    cJSON_Delete(args);
    return status;
}
