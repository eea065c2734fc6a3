/* Checkpoints and interrupted runs: a run continued from a checkpoint ends
 * with the same weights, bit for bit, as one never stopped; SIGINT writes a
 * checkpoint and stops; SIGKILL at any moment leaves a checkpoint and a
 * model that load. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "nndl.h"

#ifndef NNDL_CLI_PATH
#define NNDL_CLI_PATH "build/nndl"
#endif

static nndl_dataset *small_training(size_t n)
{
    const char *dir = test_mnist_dir();
    if (!dir) return NULL;
    nndl_error err;
    nndl_dataset *training = NULL;
    if (nndl_mnist_load(dir, &training, NULL, NULL, &err) != NNDL_OK) return NULL;
    nndl_dataset *rest = nndl_dataset_split_off(training, n, &err);
    nndl_dataset_free(rest);
    return training;
}

typedef struct run {
    nndl_net *net;
    nndl_trainer *trainer;
} run;

static run start(int momentum)
{
    int sizes[] = {784, 20, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.cost = NNDL_COST_CROSS_ENTROPY;
    spec.seed = 5;
    nndl_error err;
    run r = {nndl_net_create(&spec, &err), NULL};
    nndl_sgd_config c = nndl_sgd_config_default(10, 0.5f);
    c.seed = 9;
    c.dropout = 0.2f;
    c.lambda = 2.0f;
    c.momentum = momentum ? 0.5f : 0;
    if (r.net) r.trainer = nndl_trainer_create(r.net, &c, &err);
    return r;
}

static void stop(run *r)
{
    nndl_trainer_free(r->trainer);
    nndl_net_free(r->net);
}

static int epochs(run *r, const nndl_dataset *ds, int n)
{
    nndl_error err;
    for (int i = 0; i < n; i++)
        if (nndl_trainer_epoch(r->trainer, ds, NULL, NULL, &err) != NNDL_OK) return 0;
    return 1;
}

static int same_params(const nndl_net *a, const nndl_net *b)
{
    return nndl_net_param_count(a) == nndl_net_param_count(b) &&
           memcmp(nndl_net_params_const(a), nndl_net_params_const(b),
                  nndl_net_param_count(a) * sizeof(float)) == 0;
}

TEST(checkpoint_restores_a_run_bit_for_bit)
{
    nndl_dataset *ds = small_training(1000);
    REQUIRE(ds);
    char path[512];
    snprintf(path, sizeof path, "%s/lib.ckpt", test_tmpdir());
    nndl_error err;
    run a = start(1);
    REQUIRE(a.trainer && epochs(&a, ds, 2));
    nndl_trainer_set_eta(a.trainer, 0.25f); /* a schedule's change is kept too */
    REQUIRE(nndl_checkpoint_save(path, a.net, a.trainer, NULL, "{\"mine\": 1}", &err) == NNDL_OK);
    REQUIRE(epochs(&a, ds, 2));

    run b = start(1);
    REQUIRE(b.trainer);
    char *note = nndl_checkpoint_note(path, &err);
    CHECK(note && strcmp(note, "{\"mine\": 1}") == 0);
    free(note);
    REQUIRE(nndl_checkpoint_restore(path, b.net, b.trainer, NULL, &err) == NNDL_OK);
    CHECK(nndl_trainer_eta(b.trainer) == 0.25f);
    REQUIRE(epochs(&b, ds, 2));
    CHECK(same_params(a.net, b.net));

    /* another configuration, a damaged or cut file: refused, nothing changed */
    run c = start(0);
    REQUIRE(c.trainer);
    nndl_net *before = nndl_net_clone(c.net, &err);
    CHECK(nndl_checkpoint_restore(path, c.net, c.trainer, NULL, &err) == NNDL_ERR_FORMAT &&
          strstr(err.message, "momentum"));
    FILE *f = fopen(path, "r+b");
    REQUIRE(f);
    fseek(f, 1000, SEEK_SET);
    int byte = fgetc(f);
    fseek(f, 1000, SEEK_SET);
    fputc(byte ^ 0x10, f);
    fclose(f);
    CHECK(nndl_checkpoint_restore(path, b.net, b.trainer, NULL, &err) == NNDL_ERR_FORMAT &&
          strstr(err.message, "checksum mismatch"));
    CHECK(truncate(path, 5000) == 0);
    CHECK(nndl_checkpoint_restore(path, c.net, c.trainer, NULL, &err) == NNDL_ERR_FORMAT &&
          strstr(err.message, "truncated"));
    CHECK(same_params(c.net, before));
    CHECK(nndl_checkpoint_note("/nonexistent/x.ckpt", &err) == NULL && err.status == NNDL_ERR_IO);
    nndl_net_free(before);
    stop(&a);
    stop(&b);
    stop(&c);
    nndl_dataset_free(ds);
}

/* ---- the command ---- */

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[4096];
    char inner[3000];
    snprintf(inner, sizeof inner, fmt, a, b);
    snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>&1", NNDL_CLI_PATH, inner);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static int same_model_params(const char *a, const char *b)
{
    nndl_error err;
    nndl_net *x = nndl_net_load(a, &err), *y = nndl_net_load(b, &err);
    int same = x && y && same_params(x, y);
    nndl_net_free(x);
    nndl_net_free(y);
    return same;
}

#define RECIPE "--sizes 784,20,10 --cost cross-entropy --eta 0.5 --train-size 2000 " \
               "--momentum 0.3 --dropout 0.1 --lambda 1 --eta-schedule halve:2:8 --eval validation"

/* No schedule here: it would end the run early, and the kills need time. */
#define LONG_RECIPE "--sizes 784,20,10 --cost cross-entropy --eta 0.5 --train-size 5000 " \
                    "--momentum 0.3 --dropout 0.1 --lambda 1 --eval none --epochs 40"

static char dir_path[512];
static const char *file(const char *name)
{
    static char buf[8][600];
    static int k;
    char *p = buf[k++ & 7];
    snprintf(p, 600, "%s/%s", dir_path, name);
    return p;
}

TEST(cli_resume_ends_as_an_uninterrupted_run)
{
    if (!test_mnist_dir()) return;
    snprintf(dir_path, sizeof dir_path, "%s", test_tmpdir());
    REQUIRE(sh("train " RECIPE " --epochs 6 --save '%s' --history '%s'", file("whole.nndl"),
               file("whole.jsonl")) == 0);
    REQUIRE(sh("train " RECIPE " --epochs 2 --checkpoint '%s' --save '%s'", file("ck"),
               file("parts.nndl")) == 0);
    CHECK(sh("train --resume '%s' --epochs 4%s", file("ck"), "") == 0);
    CHECK(sh("train --resume '%s' --epochs 6%s", file("ck"), "") == 0);
    CHECK(same_model_params(file("whole.nndl"), file("parts.nndl")));
    /* a run the schedule ended stays ended when continued */
    REQUIRE(sh("train " RECIPE " --epochs 100 --checkpoint '%s' --save '%s'", file("ended.ck"),
               file("ended.nndl")) == 0);
    REQUIRE(sh("export '%s' --format nndl -o '%s'", file("ended.nndl"), file("ended-copy.nndl")) == 0);
    CHECK(sh("train --resume '%s'%s", file("ended.ck"), "") == 0);
    CHECK(same_model_params(file("ended.nndl"), file("ended-copy.nndl")));
    /* what --resume refuses */
    CHECK(sh("train --resume '%s' --epochs 3%s", file("ck"), "") == 2);
    CHECK(sh("train --resume '%s' --eta 1%s", file("ck"), "") == 2);
    CHECK(sh("train --resume '%s'%s", file("whole.nndl"), "") == 1);
    CHECK(sh("inspect '%s'%s", file("ck"), "") == 0);
}

/* A fixed schedule on all 60,000 training images: no validation set. */
#define STEPS_RECIPE "--sizes 784,20,10 --cost cross-entropy --eta 0.5 --train-size 2000 " \
                     "--validation 0 --eval none --eta-schedule steps:2,3"

/* eta halves as epochs 2 and 3 begin, in a run continued across them too. */
TEST(cli_resume_keeps_the_step_schedule)
{
    if (!test_mnist_dir()) return;
    snprintf(dir_path, sizeof dir_path, "%s", test_tmpdir());
    REQUIRE(sh("train " STEPS_RECIPE " --epochs 5 --save '%s' --history '%s'",
               file("steps.nndl"), file("steps.jsonl")) == 0);
    REQUIRE(sh("train " STEPS_RECIPE " --epochs 2 --checkpoint '%s' --save '%s'",
               file("steps.ck"), file("steps-parts.nndl")) == 0);
    CHECK(sh("train --resume '%s' --epochs 5%s", file("steps.ck"), "") == 0);
    CHECK(same_model_params(file("steps.nndl"), file("steps-parts.nndl")));
    REQUIRE(sh("train " STEPS_RECIPE " --epochs 5 --eta-schedule steps:4 --save '%s'%s",
               file("other-steps.nndl"), "") == 0);
    CHECK(!same_model_params(file("steps.nndl"), file("other-steps.nndl")));
    /* the history's eta of each epoch */
    static const char *const want[5] = {"\"epoch\":0,\"eta\":0.5,", "\"epoch\":1,\"eta\":0.5,",
                                        "\"epoch\":2,\"eta\":0.25,", "\"epoch\":3,\"eta\":0.125,",
                                        "\"epoch\":4,\"eta\":0.125,"};
    FILE *f = fopen(file("steps.jsonl"), "r");
    REQUIRE(f);
    char line[4096];
    int found = 0;
    while (fgets(line, sizeof line, f))
        for (int e = 0; e < 5; e++) found += strstr(line, want[e]) != NULL;
    fclose(f);
    CHECK(found == 5);
}

/* Starts `nndl train ARGS` in the background; its stderr goes to `err`. */
static pid_t spawn_train(const char *args, const char *err)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) dup2(fd, 2);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 1);
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "exec '%s' %s", NNDL_CLI_PATH, args);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

TEST(cli_sigint_writes_a_checkpoint_and_stops)
{
    if (!test_mnist_dir()) return;
    snprintf(dir_path, sizeof dir_path, "%s", test_tmpdir());
    char args[2048];
    snprintf(args, sizeof args, "train " RECIPE " --epochs 100 --checkpoint '%s' --save '%s'",
             file("int.ck"), file("int.nndl"));
    pid_t pid = spawn_train(args, file("int.err"));
    REQUIRE(pid > 0);
    for (int i = 0; i < 400 && !exists(file("int.ck")); i++) sleep_ms(25);
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 130);
    FILE *f = fopen(file("int.err"), "r");
    char text[2048] = "";
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = 0;
    if (f) fclose(f);
    CHECK(strstr(text, "nndl train: interrupted after epoch ") != NULL);
    CHECK(strstr(text, "continue with: nndl train --resume ") != NULL);
    CHECK(!exists(file("int.nndl"))); /* an interrupted run saves no model */

    /* continue to 3 epochs more than it had, and compare with one run */
    nndl_error err;
    char *note = nndl_checkpoint_note(file("int.ck"), &err);
    REQUIRE(note);
    const char *p = strstr(note, "\"epochs_done\":");
    int done = p ? atoi(p + 14) : 0;
    free(note);
    CHECK(done >= 1 && done < 100);
    char total[32];
    snprintf(total, sizeof total, "%d", done + 3);
    CHECK(sh("train --resume '%s' --epochs %s", file("int.ck"), total) == 0);
    snprintf(args, sizeof args, RECIPE " --epochs %d --save '%s'", done + 3, file("int-ref.nndl"));
    CHECK(sh("train %s%s", args, "") == 0);
    CHECK(same_model_params(file("int.nndl"), file("int-ref.nndl")));
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

TEST(cli_sigkill_leaves_files_that_load)
{
    if (!test_mnist_dir()) return;
    snprintf(dir_path, sizeof dir_path, "%s", test_tmpdir());
    /* the uninterrupted run, timed: kills fall anywhere in its first 70% */
    double t0 = now_seconds();
    REQUIRE(sh("train " LONG_RECIPE " --save '%s'%s", file("kill-ref.nndl"), "") == 0);
    long span_ms = (long)(700 * (now_seconds() - t0)) + 1;
    char args[2048];
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    int kills = 0, checkpoints = 0;
    for (int round = 0; round < 12; round++) {
        if (exists(file("kill.ck")))
            snprintf(args, sizeof args, "train --resume '%s'", file("kill.ck"));
        else
            snprintf(args, sizeof args, "train " LONG_RECIPE " --checkpoint '%s' --save '%s'",
                     file("kill.ck"), file("kill.nndl"));
        pid_t pid = spawn_train(args, file("kill.err"));
        REQUIRE(pid > 0);
        sleep_ms(rand() % span_ms);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        kills += WIFSIGNALED(status);
        nndl_error err;
        if (exists(file("kill.ck"))) {
            checkpoints++;
            char *note = nndl_checkpoint_note(file("kill.ck"), &err);
            if (!note)
                test_fail(__FILE__, __LINE__, "round %d (seed %u): %s", round, seed, err.message);
            free(note);
            CHECK(sh("inspect '%s'%s", file("kill.ck"), "") == 0);
        }
        if (exists(file("kill.nndl"))) {
            nndl_net *net = nndl_net_load(file("kill.nndl"), &err);
            if (!net)
                test_fail(__FILE__, __LINE__, "round %d (seed %u): %s", round, seed, err.message);
            nndl_net_free(net);
        }
    }
    printf("    %d runs killed, %d times with a checkpoint on disk (seed %u)\n", kills, checkpoints,
           seed);
    /* finished, the run is the uninterrupted run */
    if (exists(file("kill.ck")))
        CHECK(sh("train --resume '%s'%s", file("kill.ck"), "") == 0);
    else
        CHECK(sh("train " LONG_RECIPE " --checkpoint '%s' --save '%s'", file("kill.ck"),
                 file("kill.nndl")) == 0);
    CHECK(same_model_params(file("kill.nndl"), file("kill-ref.nndl")));
}

static int same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int x = fgetc(fa), y = fgetc(fb);
        same = x == y;
        if (x == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

TEST(cli_divergence_keeps_the_previous_files)
{
    if (!test_mnist_dir()) return;
    snprintf(dir_path, sizeof dir_path, "%s", test_tmpdir());
    /* a model and a checkpoint from a sound run */
    REQUIRE(sh("train --sizes 784,10,10 --epochs 1 --train-size 500 --checkpoint '%s' --save '%s'",
               file("div.ck"), file("div.nndl")) == 0);
    REQUIRE(sh("export '%s' --format nndl -o '%s'", file("div.nndl"), file("div-copy.nndl")) == 0);
    FILE *in = fopen(file("div.ck"), "rb"), *out = fopen(file("div-copy.ck"), "wb");
    REQUIRE(in && out);
    for (int c; (c = fgetc(in)) != EOF;) fputc(c, out);
    fclose(in);
    fclose(out);
    /* ReLU neurons with a learning rate of 1e30 blow up in the first epoch */
    char err_path[600], text[1024] = "";
    snprintf(err_path, sizeof err_path, "%s", file("div.err"));
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "'%s' train --sizes 784,10,10 --activation relu --eta 1e30 --epochs 3 "
             "--train-size 500 --checkpoint '%s' --save '%s' >/dev/null 2>'%s'",
             NNDL_CLI_PATH, file("div.ck"), file("div.nndl"), err_path);
    int rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
    FILE *f = fopen(err_path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = 0;
    if (f) fclose(f);
    CHECK(strcmp(text, "nndl train: epoch 0: weights became NaN or infinite; try a smaller "
                       "--eta than 1e+30\n") == 0);
    CHECK(same_model_params(file("div.nndl"), file("div-copy.nndl")));
    CHECK(same_bytes(file("div.ck"), file("div-copy.ck")));
}

/* ---- damaged state, and a second signal ---- */

static void put_u32_le(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++) p[k] = (uint8_t)(v >> (8 * k));
}

/* Copies checkpoint `from` to `to` with `note` (or the same note if NULL)
 * and, if `zero` is 1 or 2, the shuffling or dropout generator's state
 * set to zeros; the checksum is made to match. 0 on failure. */
static int rewrite_checkpoint(const char *from, const char *to, const char *note, int zero)
{
    static uint8_t in[1 << 20], out[(1 << 20) + 4096];
    FILE *f = fopen(from, "rb");
    size_t n = f ? fread(in, 1, sizeof in, f) : 0;
    if (f) fclose(f);
    if (n < 20 || n == sizeof in) return 0;
    uint32_t old_len = (uint32_t)in[12] | (uint32_t)in[13] << 8 | (uint32_t)in[14] << 16 |
                       (uint32_t)in[15] << 24;
    size_t new_len = note ? strlen(note) : old_len;
    if (new_len > 4096 + old_len) return 0;
    memcpy(out, in, 12);
    put_u32_le(out + 12, (uint32_t)new_len);
    memcpy(out + 16, note ? (const uint8_t *)note : in + 16, new_len);
    size_t rest = n - 16 - old_len - 4; /* from the state length to the checksum */
    memcpy(out + 16 + new_len, in + 16 + old_len, rest);
    uint8_t *state = out + 16 + new_len + 8; /* eta, shuffle, dropout, ... */
    if (zero) memset(state + 4 + 32 * (zero - 1), 0, 32);
    size_t m = 16 + new_len + rest;
    put_u32_le(out + m, (uint32_t)crc32(0, out, (uInt)m));
    f = fopen(to, "wb");
    int ok = f && fwrite(out, 1, m + 4, f) == m + 4;
    return f && fclose(f) == 0 && ok;
}

/* Runs `nndl ARGS`, killing it if it is still running after `limit`
 * seconds; its exit status (128 + signal if killed), the seconds it took,
 * and its stderr in `err_text`. */
static int run_bounded(const char *args, double limit, double *seconds, char *err_text,
                       size_t cap)
{
    pid_t pid = spawn_train(args, file("bounded.err"));
    double t0 = now_seconds();
    int status = 0, killed = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (now_seconds() - t0 > limit && !killed) {
            kill(pid, SIGKILL);
            killed = 1;
        }
        sleep_ms(10);
    }
    *seconds = now_seconds() - t0;
    FILE *f = fopen(file("bounded.err"), "r");
    size_t n = f ? fread(err_text, 1, cap - 1, f) : 0;
    err_text[n] = 0;
    if (f) fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

TEST(cli_resume_refuses_impossible_states)
{
    if (!test_mnist_dir()) return;
    snprintf(dir_path, sizeof dir_path, "%s", test_tmpdir());
    REQUIRE(sh("train --sizes 784,10,10 --epochs 1 --train-size 500 --dropout 0.2 "
               "--eta-schedule halve:2:8 --eval validation --checkpoint '%s'%s",
               file("sound.ck"), "") == 0);
    nndl_error err;
    char *note = nndl_checkpoint_note(file("sound.ck"), &err);
    REQUIRE(note);
    static const struct {
        const char *from, *to; /* a change to the note, or NULL */
        int zero;              /* 1: the shuffling generator, 2: dropout's */
        const char *says;
    } cases[] = {
        {NULL, NULL, 1, "the shuffling generator's state is all zeros"},
        {NULL, NULL, 2, "the dropout generator's state is all zeros"},
        {"\"epochs_done\":1", "\"epochs_done\":1e300", 0, "\"epochs_done\" is not a whole number"},
        {"\"epochs_done\":1", "\"epochs_done\":-3", 0, "\"epochs_done\""},
        {"\"epochs_done\":1", "\"epochs_done\":1.5", 0, "\"epochs_done\""},
        {"\"best_epoch\":0", "\"best_epoch\":4e9", 0, "\"best_epoch\""},
        {"\"total\":", "\"total\":-", 0, "\"total\""},
        {"\"since_best\":0", "\"since_best\":\"0\"", 0, "\"since_best\""},
        {"\"eta\":", "\"eta\":-", 0, "\"eta\" is not a number"},
        {"\"stopped\":false", "\"stopped\":0", 0, "wrong type"},
        {"\"epochs_done\":1", "\"epochs_done\":1,\"epochs_done\":5", 0,
         "the key \"epochs_done\" appears twice"},
        /* a network of 100 million parameters in a file of a few KB */
        {"\"784,10,10\"", "\"784,100000,200\"", 0, "too few for the 98500200 parameters"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *changed = NULL;
        if (cases[i].from) {
            const char *at = strstr(note, cases[i].from);
            REQUIRE(at);
            size_t head = (size_t)(at - note), from = strlen(cases[i].from);
            changed = malloc(strlen(note) + strlen(cases[i].to) + 1);
            REQUIRE(changed);
            sprintf(changed, "%.*s%s%s", (int)head, note, cases[i].to, at + from);
        }
        REQUIRE(rewrite_checkpoint(file("sound.ck"), file("bad.ck"), changed, cases[i].zero));
        free(changed);
        /* inspect and --resume: one line, exit status 1, at once (before,
         * an all-zero generator made --resume shuffle forever) */
        const char *commands[] = {"inspect '%s'", "train --resume '%s' --epochs 3"};
        for (int c = 0; c < 2; c++) {
            char args[1024], text[4096];
            snprintf(args, sizeof args, commands[c], file("bad.ck"));
            double seconds;
            int status = run_bounded(args, 5, &seconds, text, sizeof text);
            if (status != 1 || count_lines(text) != 1 || !strstr(text, cases[i].says) ||
                seconds > 2)
                test_fail(__FILE__, __LINE__, "case %zu, nndl %s: status %d after %.1f s, \"%s\"",
                          i, args, status, seconds, text);
        }
    }
    free(note);
    /* the sound one is still taken */
    CHECK(sh("train --resume '%s' --epochs 2%s", file("sound.ck"), "") == 0);
}

/* Whether process `pid` has a handler for signal `sig` (Linux: SigCgt in
 * /proc/PID/status). */
static int catches(pid_t pid, int sig)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long long mask = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "SigCgt:", 7) == 0) mask = strtoull(line + 7, NULL, 16);
    if (f) fclose(f);
    return (int)(mask >> (sig - 1) & 1);
}

TEST(cli_second_signal_quits_at_once)
{
    if (!test_mnist_dir()) return;
    snprintf(dir_path, sizeof dir_path, "%s", test_tmpdir());
    /* epochs of a few seconds; SIGTERM, then SIGINT: the second of either
     * kind ends the run at once, in the middle of its epoch */
    char args[2048];
    snprintf(args, sizeof args, "train --sizes 784,1000,1000,10 --epochs 5 --threads 1 "
             "--eval none --checkpoint '%s'", file("second.ck"));
    pid_t pid = spawn_train(args, file("second.err"));
    REQUIRE(pid > 0);
    for (int i = 0; i < 500 && !catches(pid, SIGTERM); i++) sleep_ms(10);
    CHECK(catches(pid, SIGTERM) && catches(pid, SIGINT));
    sleep_ms(200);
    kill(pid, SIGTERM);
    char text[2048] = "";
    for (int i = 0; i < 500 && !strstr(text, "again to quit at once"); i++) {
        sleep_ms(10);
        FILE *f = fopen(file("second.err"), "r");
        size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
        text[n] = 0;
        if (f) fclose(f);
    }
    CHECK(strstr(text, "stopping after this epoch") != NULL);
    double t0 = now_seconds();
    kill(pid, SIGINT);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0 && now_seconds() - t0 < 30) sleep_ms(5);
    double seconds = now_seconds() - t0;
    if (seconds >= 30) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
    if (seconds > 0.5) test_fail(__FILE__, __LINE__, "%.2f s after the second signal", seconds);
    CHECK(!exists(file("second.ck"))); /* stopped within its first epoch */
}
