/* nndl sweep as an ensemble: one model file and one checkpoint per run,
 * and --resume continuing runs killed midway to the same weights. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "nndl.h"

#ifndef NNDL_CLI_PATH
#define NNDL_CLI_PATH "build/nndl"
#endif

#define SWEEP_ARGS                                                                        \
    "sweep --layers conv:4:5:relu,pool:2,fc:20:relu,softmax:10 --eta 0.05 --lambda 0.1 " \
    "--epochs 4 --train-size 3000 --eval validation --grid seed=1,2"

static int shell(const char *fmt, const char *a, const char *b)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* Whether two model files hold the same network, parameter for parameter. */
static int same_network(const char *a, const char *b)
{
    nndl_net *x = nndl_net_load(a, NULL), *y = nndl_net_load(b, NULL);
    int same = x && y && nndl_net_param_count(x) == nndl_net_param_count(y) &&
               memcmp(nndl_net_params_const(x), nndl_net_params_const(y),
                      nndl_net_param_count(x) * sizeof(float)) == 0;
    nndl_net_free(x);
    nndl_net_free(y);
    return same;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

TEST(sweep_ensemble_saves_each_run_and_resumes_after_a_kill)
{
    const char *tmp = test_tmpdir();
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ensemble", tmp);
    REQUIRE(mkdir(dir, 0700) == 0);
    /* the runs uninterrupted */
    REQUIRE(shell("cd '%s' && '%s' " SWEEP_ARGS " --save ref.nndl >/dev/null 2>&1", dir,
                  NNDL_CLI_PATH) == 0);
    char ref1[600], ref2[600], ck1[600], e1[600], e2[600];
    snprintf(ref1, sizeof ref1, "%s/ref-1.nndl", dir);
    snprintf(ref2, sizeof ref2, "%s/ref-2.nndl", dir);
    snprintf(ck1, sizeof ck1, "%s/e-1.ckpt", dir);
    snprintf(e1, sizeof e1, "%s/e-1.nndl", dir);
    snprintf(e2, sizeof e2, "%s/e-2.nndl", dir);
    REQUIRE(exists(ref1) && exists(ref2));
    CHECK(!same_network(ref1, ref2)); /* two seeds, two networks */

    /* the same with checkpoints, killed once the first one is written */
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (chdir(dir) != 0) _exit(127);
        execl("/bin/sh", "sh", "-c",
              "exec '" NNDL_CLI_PATH "' " SWEEP_ARGS
              " --save e.nndl --checkpoint e.ckpt >/dev/null 2>&1",
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 3000 && !exists(ck1); i++) {
        struct timespec ms = {0, 2000000};
        nanosleep(&ms, NULL);
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    REQUIRE(exists(ck1));

    /* the same command with --resume ends where the uninterrupted runs did */
    REQUIRE(shell("cd '%s' && '%s' " SWEEP_ARGS " --save e.nndl --checkpoint e.ckpt --resume "
                  ">/dev/null 2>resumed.err",
                  dir, NNDL_CLI_PATH) == 0);
    char said[4096] = "", resumed[600];
    snprintf(resumed, sizeof resumed, "%s/resumed.err", dir);
    FILE *r = fopen(resumed, "r");
    if (r) {
        size_t n = fread(said, 1, sizeof said - 1, r);
        said[n] = 0;
        fclose(r);
    }
    CHECK(strstr(said, "nndl sweep: seed=1 continues e-1.ckpt after epoch"));
    CHECK(same_network(ref1, e1));
    CHECK(same_network(ref2, e2));

    /* a checkpoint of other settings is refused, in one line */
    char err[600];
    snprintf(err, sizeof err, "%s/resume.err", dir);
    CHECK(shell("cd '%s' && '%s' " SWEEP_ARGS " --eta 0.04 --checkpoint e.ckpt --resume "
                ">/dev/null 2>resume.err",
                dir, NNDL_CLI_PATH) == 1);
    FILE *f = fopen(err, "r");
    char line[1024] = "", extra[16];
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = 0;
        CHECK(!fgets(extra, sizeof extra, f));
        fclose(f);
    }
    CHECK(strstr(line, "e-1.ckpt: written by a run with other settings"));
}

TEST(sweep_checkpoint_flag_errors)
{
    char cmd[1024], err[512];
    snprintf(err, sizeof err, "%s/sweep.err", test_tmpdir());
    snprintf(cmd, sizeof cmd, "'%s' sweep --grid seed=1,2 --resume >/dev/null 2>'%s'",
             NNDL_CLI_PATH, err);
    int rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 2);
    FILE *f = fopen(err, "r");
    char line[512] = "";
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = 0;
        fclose(f);
    }
    CHECK(strstr(line, "--resume: continues from --checkpoint"));
}
