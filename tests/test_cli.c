/* The nndl command: its output formats, exit codes and one-line errors. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"

#ifndef NNDL_CLI_PATH
#define NNDL_CLI_PATH "build/nndl"
#endif

typedef struct cli_result {
    int status;
    char out[8192], err[8192];
} cli_result;

static void read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = 0;
    if (f) fclose(f);
}

/* Runs `nndl ARGS` through the shell from directory `cwd` with the
 * environment assignments `env` ("" for none). */
static void run_in(const char *cwd, const char *env, const char *args, cli_result *r)
{
    char cmd[4096], out[512], err[512];
    snprintf(out, sizeof out, "%s/cli.out", test_tmpdir());
    snprintf(err, sizeof err, "%s/cli.err", test_tmpdir());
    snprintf(cmd, sizeof cmd, "cd '%s' && %s '%s' %s >'%s' 2>'%s' </dev/null", cwd, env,
             NNDL_CLI_PATH, args, out, err);
    int rc = system(cmd);
    r->status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
    read_file(out, r->out, sizeof r->out);
    read_file(err, r->err, sizeof r->err);
}

static void run(const char *args, cli_result *r) { run_in(".", "", args, r); }

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* A failure: non-zero status, one line on stderr holding `needle`. */
static void check_error(const char *args, int status, const char *needle)
{
    cli_result r;
    run(args, &r);
    if (r.status != status || count_lines(r.err) != 1 || !strstr(r.err, needle) || r.out[0]) {
        test_fail(__FILE__, __LINE__, "nndl %s: status %d, stderr \"%s\", expected %d and \"%s\"",
                  args, r.status, r.err, status, needle);
    }
}

TEST(cli_help_and_usage)
{
    cli_result r;
    run("--help", &r);
    CHECK(r.status == 0 && strstr(r.out, "train") && strstr(r.out, "gradcheck"));
    run("train --help", &r);
    CHECK(r.status == 0 && strstr(r.out, "--sizes") && strstr(r.out, "--save"));
    run("", &r);
    CHECK(r.status == 2 && strstr(r.err, "usage"));
}

TEST(cli_bad_flags_get_one_line_errors)
{
    check_error("frobnicate", 2, "'frobnicate' is not a command");
    check_error("train --eta abc", 2, "--eta: 'abc' is not a number");
    check_error("train --eta -1", 2, "--eta");
    check_error("train --eta nan", 2, "--eta: 'nan' is not a number");
    check_error("train --epochs 0", 2, "--epochs: 0 is out of range");
    check_error("train --epochs 99999999999", 2, "--epochs");
    check_error("train --batch", 2, "--batch: missing value");
    check_error("train --sizes 784,x,10", 2, "--sizes");
    check_error("train --sizes 784", 2, "--sizes");
    check_error("train --eval train", 2, "--eval: 'train' is not one of test|validation|none");
    check_error("train --colour blue", 2, "--colour: unknown option");
    check_error("train extra", 2, "unexpected argument 'extra'");
    check_error("eval", 2, "missing argument MODEL");
    check_error("baseline svm", 2, "'svm' is not a baseline");
    check_error("gradcheck --sizes 0,3", 2, "--sizes");
}

TEST(cli_bad_files_get_one_line_errors)
{
    char path[512], args[1024];
    check_error("eval /nonexistent/model.nndl", 1, "/nonexistent/model.nndl");
    snprintf(path, sizeof path, "%s/garbage.nndl", test_tmpdir());
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fputs("this is not a model", f);
    fclose(f);
    snprintf(args, sizeof args, "eval '%s'", path);
    check_error(args, 1, "garbage.nndl");
    check_error("train --sizes 100,10 --epochs 1", 1, "784");
    check_error("train --epochs 1 --save /nonexistent/dir/x.nndl", 1, "/nonexistent/dir");
}

TEST(cli_missing_data_says_where_to_put_it)
{
    /* No $NNDL_DATA/mnist and no ./data/mnist in the scratch directory. */
    cli_result r;
    char env[1024];
    snprintf(env, sizeof env, "NNDL_DATA='%s/none'", test_tmpdir());
    run_in(test_tmpdir(), env, "train --epochs 1", &r);
    CHECK(r.status == 1);
    CHECK(count_lines(r.err) == 1);
    CHECK(strstr(r.err, "nndl data") && strstr(r.err, "train-images-idx3-ubyte.gz"));
}

TEST(cli_train_save_eval_agree)
{
    char model[512], args[1024];
    snprintf(model, sizeof model, "%s/small.nndl", test_tmpdir());
    cli_result r;
    snprintf(args, sizeof args, "train --epochs 2 --train-size 1000 --seed 1 --save '%s'", model);
    run(args, &r);
    REQUIRE(r.status == 0);
    /* Exactly network.py's lines: "Epoch N: correct / total" */
    int epoch, correct, total;
    const char *last = strstr(r.out, "Epoch 1: ");
    REQUIRE(strncmp(r.out, "Epoch 0: ", 9) == 0 && last);
    REQUIRE(sscanf(last, "Epoch %d: %d / %d\n", &epoch, &correct, &total) == 3);
    CHECK(epoch == 1 && total == 10000 && correct > 3000); /* chance: 1000 */
    CHECK(count_lines(r.out) == 2);

    snprintf(args, sizeof args, "eval '%s'", model);
    run(args, &r);
    int eval_correct = -1, eval_total = -1;
    CHECK(r.status == 0);
    CHECK(sscanf(r.out, "%d / %d", &eval_correct, &eval_total) == 2);
    CHECK(eval_correct == correct && eval_total == 10000);

    snprintf(args, sizeof args, "eval '%s' --data validation", model);
    run(args, &r);
    CHECK(r.status == 0 && sscanf(r.out, "%d / %d", &eval_correct, &eval_total) == 2);
    CHECK(eval_total == 10000 && eval_correct > 3000);
}

TEST(cli_gradcheck_and_baseline)
{
    cli_result r;
    run("gradcheck", &r);
    CHECK(r.status == 0 && strstr(r.out, "): ok") && strstr(r.out, "faster"));
    run("gradcheck --sizes 30,20,10 --batch 5 --seed 9", &r);
    CHECK(r.status == 0 && strstr(r.out, "[30,20,10], 830 weights and biases"));
    run("baseline darkness", &r);
    CHECK(r.status == 0 && strcmp(r.out, "2225 / 10000\n") == 0);
}
