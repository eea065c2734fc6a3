/* The nndl command: its output formats, exit codes and one-line errors. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "nndl.h"

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
    check_error("baseline forest", 2, "'forest' is not a baseline");
    check_error("gradcheck --sizes 0,3", 2, "--sizes");
    check_error("serve --port 70000", 2, "--port: 70000 is out of range");
    check_error("serve --port http", 2, "--port");
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
    check_error("serve /nonexistent/model.nndl", 1, "/nonexistent/model.nndl");
    snprintf(args, sizeof args, "serve --port 0 '%s'", path);
    check_error(args, 1, "garbage.nndl");
    check_error("serve --port 0 --host no-such-host.invalid", 1, "host: cannot use 'no-such-host.invalid'");
}

/* Runs `nndl ARGS` killed after 5 seconds (status 137 then); the seconds
 * it took in *seconds. */
static void run_bounded(const char *args, cli_result *r, double *seconds)
{
    char bounded[2048];
    snprintf(bounded, sizeof bounded, "%s", args);
    test_cost_start();
    run_in(".", "timeout -s KILL 5", bounded, r);
    *seconds = test_cost_end().seconds;
}

TEST(cli_fifos_and_devices_are_refused_at_once)
{
    /* A FIFO nobody writes to blocks whoever opens it for reading: every
     * command that reads a file must refuse it (and other files that are
     * not regular) instead of waiting for ever. */
    char fifo[512], model[512], picture[512], args[2048];
    snprintf(fifo, sizeof fifo, "%s/fifo", test_tmpdir());
    snprintf(model, sizeof model, "%s/fifo-model.nndl", test_tmpdir());
    snprintf(picture, sizeof picture, "%s/fifo-picture.pgm", test_tmpdir());
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -f '%s' && mkfifo '%s'", fifo, fifo);
    REQUIRE(system(cmd) == 0);
    int sizes[] = {784, 10, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    REQUIRE(net && nndl_net_save(net, model, &err) == NNDL_OK);
    nndl_net_free(net);
    FILE *f = fopen(picture, "wb");
    REQUIRE(f);
    fprintf(f, "P2 2 2 1\n0 1\n1 0\n");
    fclose(f);

    const char *const commands[] = {
        "eval '%1$s'", "inspect '%1$s'", "export '%1$s' -o '%1$s.json' --format json",
        "predict '%2$s' '%1$s'", "predict '%1$s' '%3$s'", "train --resume '%1$s'",
        "plot '%1$s' -o '%1$s.svg'", "serve --port 0 '%1$s'",
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        snprintf(args, sizeof args, commands[i], fifo, model, picture);
        cli_result r;
        double seconds;
        run_bounded(args, &r, &seconds);
        if (r.status != 1 || count_lines(r.err) != 1 || !strstr(r.err, "not a regular file") ||
            seconds > 1)
            test_fail(__FILE__, __LINE__, "nndl %s: status %d after %.1f s, \"%s\"", args,
                      r.status, seconds, r.err);
    }
    /* the library's readers, and a character device */
    const char *const paths[] = {fifo, "/dev/zero"};
    for (int k = 0; k < 2; k++) {
        test_cost_start();
        nndl_image img;
        CHECK(nndl_image_load(paths[k], &img, &err) == NNDL_ERR_IO &&
              strstr(err.message, "not a regular file"));
        CHECK(!nndl_net_load(paths[k], &err) && strstr(err.message, "not a regular file"));
        CHECK(!nndl_idx_load(paths[k], paths[k], &err) && strstr(err.message, "not a regular file"));
        CHECK(!nndl_checkpoint_note(paths[k], &err) && strstr(err.message, "not a regular file"));
        CHECK(test_cost_end().seconds < 1);
    }
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

/* --validation 0 trains on all 60,000 training images, and the model says
 * so; the book's split holds the last 10,000 back. */
TEST(cli_train_on_all_60000)
{
    char model[512], args[1024];
    cli_result r;
    for (int all = 0; all < 2; all++) {
        snprintf(model, sizeof model, "%s/all-%d.nndl", test_tmpdir(), all);
        snprintf(args, sizeof args, "train --sizes 784,10 --epochs 1 --eval none --train-size "
                 "%d%s --save '%s'", all ? 60000 : 50000, all ? " --validation 0" : "", model);
        run(args, &r);
        REQUIRE(r.status == 0);
        snprintf(args, sizeof args, "inspect '%s'", model);
        run(args, &r);
        CHECK(r.status == 0 && strstr(r.out, "MNIST: 60000 training images"));
        CHECK((strstr(r.out, "(the last 10000 for validation)") == NULL) == all);
    }
}

/* In a terminal the progress bar and the result lines count epochs alike,
 * from 0 as the book does; after --resume the summary counts only the
 * epochs this process ran. */
TEST(cli_epochs_are_counted_alike_and_a_resumed_run_counts_its_own)
{
    char args[2048], ckpt[512], typescript[512];
    snprintf(ckpt, sizeof ckpt, "%s/count.ckpt", test_tmpdir());
    snprintf(typescript, sizeof typescript, "%s/typescript", test_tmpdir());
    /* script(1) gives the command a terminal, where the bar is drawn */
    snprintf(args, sizeof args,
             "script -qec \"'%s' train --sizes 784,10 --epochs 2 --train-size 20000 "
             "--checkpoint '%s'\" '%s' >/dev/null 2>&1", NNDL_CLI_PATH, ckpt, typescript);
    int rc = system(args);
    REQUIRE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    static char text[65536];
    read_file(typescript, text, sizeof text);
    CHECK(strstr(text, "epoch 0 (1 of 2) [") && strstr(text, "epoch 1 (2 of 2) ["));
    CHECK(strstr(text, "Epoch 0: ") && strstr(text, "Epoch 1: "));
    CHECK(!strstr(text, "epoch 2 ("));

    cli_result r;
    snprintf(args, sizeof args, "train --resume '%s' --epochs 5", ckpt);
    run(args, &r);
    CHECK(r.status == 0);
    CHECK(strstr(r.err, "3 epochs (2 to 4)") && strstr(r.err, "after 2 before the checkpoint"));
    CHECK(!strstr(r.err, "5 epochs"));
}

/* make run and make install build the command alone, in parallel: never
 * the test suite. (make -n prints what the sub-make would compile.) */
TEST(cli_make_run_builds_only_the_command_in_parallel)
{
    static const char *const targets[] = {"run", "install"};
    for (int t = 0; t < 2; t++) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -n --no-print-directory "
                 "BUILD='%s/fresh' PREFIX='%s/prefix' %s 2>&1",
                 test_tmpdir(), test_tmpdir(), targets[t]);
        FILE *p = popen(cmd, "r");
        REQUIRE(p);
        static char line[8192];
        int compiles = 0, tests = 0, parallel = 0;
        while (fgets(line, sizeof line, p)) {
            compiles += strstr(line, " -c -o ") != NULL;
            tests += strstr(line, "tests/") != NULL && strstr(line, " -c ") != NULL;
            parallel += strstr(line, "make") && strstr(line, " -j") != NULL;
        }
        int rc = pclose(p);
        CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
        if (compiles < 20 || tests != 0)
            test_fail(__FILE__, __LINE__, "make %s: %d compiles, %d of them tests", targets[t],
                      compiles, tests);
        CHECK(parallel > 0);
    }
}

TEST(cli_gradcheck_and_baseline)
{
    cli_result r;
    run("gradcheck", &r);
    CHECK(r.status == 0 && strstr(r.out, "): ok") && strstr(r.out, "faster"));
    run("gradcheck --sizes 30,20,10 --batch 5 --seed 9", &r);
    CHECK(r.status == 0 && strstr(r.out, "[30,20,10], quadratic cost, 830 weights and biases"));
    run("baseline darkness", &r);
    CHECK(r.status == 0 && strcmp(r.out, "2225 / 10000\n") == 0);
}

TEST(cli_chapter3_flags_get_one_line_errors)
{
    check_error("train --cost entropy", 2, "--cost: 'entropy' is not one of");
    check_error("train --init xavier", 2, "--init: 'xavier' is not one of scaled|large");
    check_error("train --activation softmax", 2, "--activation: 'softmax' is not one of");
    check_error("train --activation relu,tanh", 2, "--activation: 2 activations given for 1");
    check_error("train --eta-schedule halve:0:128", 2, "--eta-schedule: 'halve:0:128'");
    check_error("train --eta-schedule halve:10", 2, "--eta-schedule");
    check_error("train --eta-schedule steps:3,2", 2, "--eta-schedule: 'steps:3,2' is not steps:");
    check_error("train --eta-schedule steps:0", 2, "--eta-schedule: 'steps:0'");
    check_error("train --eta-schedule steps:4,", 2, "--eta-schedule: 'steps:4,'");
    check_error("train --validation 0 --eval validation", 2, "--validation 0: no validation");
    check_error("train --validation 0 --eta-schedule halve:2:8", 2, "--validation 0");
    check_error("train --validation 0 --train-size 60001", 2,
                "--train-size: 60001 is more than the 60000 training images");
    check_error("train --validation 10", 2, "--validation: MNIST's split is the book's");
    check_error("train --monitor everything", 2, "--monitor: 'everything' is not one of");
    check_error("train --eval none --monitor evaluation-cost", 2, "--monitor: evaluation data");
    check_error("train --dropout 1", 2, "--dropout: 1 is out of range");
    check_error("train --momentum -0.5", 2, "--momentum");
    check_error("train --lambda -1", 2, "--lambda");
    check_error("train --train-size 60000", 2, "--train-size");
    check_error("sweep --epochs 1", 2, "--grid: missing");
    check_error("sweep --grid eta", 2, "--grid: 'eta' is not NAME=V1,V2");
    check_error("sweep --grid colour=1,2", 2, "--grid: --colour is not an option of nndl train");
    check_error("sweep --grid eta=1,x", 2, "--eta: 'x' is not a number");
    check_error("sweep --grid save=a,b", 2, "--grid: --save cannot vary");
}

TEST(cli_monitor_and_history)
{
    char history[512], args[1024];
    snprintf(history, sizeof history, "%s/run.jsonl", test_tmpdir());
    snprintf(args, sizeof args,
             "train --epochs 2 --train-size 1000 --cost cross-entropy --eta 0.5 --lambda 0.1 "
             "--monitor all --history '%s'", history);
    cli_result r;
    run(args, &r);
    REQUIRE(r.status == 0);
    /* network2.py's monitor lines follow each "Epoch N: c / total" line */
    const char *epoch1 = strstr(r.out, "Epoch 1: ");
    REQUIRE(epoch1);
    CHECK(strncmp(r.out, "Epoch 0: ", 9) == 0);
    CHECK(strstr(r.out, "Cost on training data: ") && strstr(r.out, "Accuracy on training data: "));
    CHECK(strstr(r.out, "Cost on evaluation data: "));
    CHECK(strstr(epoch1, "Accuracy on evaluation data: ") &&
          strstr(epoch1, " / 10000\n") && strstr(epoch1, "Accuracy on training data: ") &&
          strstr(epoch1, " / 1000\n"));
    CHECK(count_lines(r.out) == 10);

    char text[8192];
    read_file(history, text, sizeof text);
    CHECK(count_lines(text) == 3);
    CHECK(strncmp(text, "{\"nndl\":", 8) == 0 && strstr(text, "\"cost\":\"cross-entropy\"") &&
          strstr(text, "\"lambda\":0.1,"));
    const char *line2 = strchr(text, '\n');
    REQUIRE(line2);
    CHECK(strstr(line2, "{\"epoch\":0,") && strstr(line2, "\"training_cost\":") &&
          strstr(line2, "\"evaluation_accuracy\":") && strstr(line2, "\"training_accuracy\":"));
}

TEST(cli_history_names_each_layers_activation)
{
    /* the activations of --layers, not --activation's default for dense nets */
    char history[512], args[1024];
    snprintf(history, sizeof history, "%s/layers.jsonl", test_tmpdir());
    snprintf(args, sizeof args,
             "train --layers conv:4:5:relu,pool:2,fc:20,softmax:10 --activation tanh --epochs 1 "
             "--train-size 100 --eval none --history '%s'", history);
    cli_result r;
    run(args, &r);
    REQUIRE(r.status == 0);
    char text[8192];
    read_file(history, text, sizeof text);
    CHECK(strstr(text, "\"hidden_activations\":[\"relu\",\"tanh\"],") != NULL);
}

TEST(cli_early_stopping_keeps_the_best_epoch)
{
    char model[512], args[1024];
    snprintf(model, sizeof model, "%s/early.nndl", test_tmpdir());
    /* eta 30 with quadratic cost on 1,000 images wanders: validation
     * accuracy stops improving within a few epochs */
    snprintf(args, sizeof args,
             "train --epochs 40 --train-size 1000 --eta 30 --eval validation --early-stop 2 "
             "--save '%s'", model);
    cli_result r;
    run(args, &r);
    REQUIRE(r.status == 0);
    int lines = count_lines(r.out);
    CHECK(lines < 40);
    CHECK(strstr(r.err, "early stopping") && strstr(r.err, "kept the weights of epoch"));
    /* the saved model scores the best epoch's validation accuracy */
    int best = 0, epoch, c, t;
    for (const char *p = r.out; (p = strstr(p, "Epoch ")); p++)
        if (sscanf(p, "Epoch %d: %d / %d", &epoch, &c, &t) == 3 && c > best) best = c;
    snprintf(args, sizeof args, "eval '%s' --data validation", model);
    run(args, &r);
    int saved = -1;
    CHECK(r.status == 0 && sscanf(r.out, "%d / %d", &saved, &t) == 2);
    CHECK(saved == best);
}

TEST(cli_a_network_that_died_is_named_once)
{
    /* ReLUs at eta 30 die within an epoch of 1,000 images: every image
     * then gets one answer, which a warning says once, not every epoch */
    cli_result r;
    run("train --sizes 784,30,10 --activation relu --cost cross-entropy --eta 30 --epochs 3 "
        "--train-size 1000 --eval validation", &r);
    REQUIRE(r.status == 0);
    CHECK(strstr(r.err, "warning: epoch 0: the network answers") &&
          strstr(r.err, "for all 10000 validation images") && strstr(r.err, "--init he"));
    CHECK(count_lines(r.err) == 2); /* the warning and the closing time */
    /* a network that learns gets no such warning */
    run("train --sizes 784,30,10 --activation relu --cost cross-entropy --eta 0.1 --epochs 1 "
        "--train-size 1000 --eval validation", &r);
    REQUIRE(r.status == 0);
    CHECK(!strstr(r.err, "warning"));
}

TEST(cli_sweep_prints_a_table)
{
    cli_result r;
    run("sweep --grid eta=0.5,3 --cost cross-entropy --epochs 1 --train-size 1000", &r);
    CHECK(r.status == 0);
    CHECK(strstr(r.out, "eta=0.5 ") && strstr(r.out, "eta=3 ") && strstr(r.out, "best"));
    CHECK(count_lines(r.out) == 3);
}

/* A convolutional network from the command line: train and save it, then
 * every command that reads a model works on it, and a vote of two. */
TEST(cli_conv_network_end_to_end)
{
    char cmd[2048], a[512], b[512], png[512];
    snprintf(a, sizeof a, "%s/conv-a.nndl", test_tmpdir());
    snprintf(b, sizeof b, "%s/conv-b.nndl", test_tmpdir());
    snprintf(png, sizeof png, "%s/filters.png", test_tmpdir());
    cli_result r;
    long last[2];
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd,
                 "train --layers conv:4:5,pool:2,fc:20:dropout=0.1,softmax:10 --activation "
                 "relu --eta 0.1 --epochs 1 --train-size 3000 --seed %d --save %s",
                 k + 1, k ? b : a);
        run(cmd, &r);
        REQUIRE(r.status == 0);
        REQUIRE(sscanf(r.out, "Epoch 0: %ld / 10000", &last[k]) == 1);
        CHECK(last[k] > 8000);
    }
    /* the saved model scores what training reported */
    snprintf(cmd, sizeof cmd, "eval %s", a);
    run(cmd, &r);
    char want[64];
    snprintf(want, sizeof want, "%ld / 10000\n", last[0]);
    CHECK(r.status == 0 && strcmp(r.out, want) == 0);
    snprintf(cmd, sizeof cmd, "eval %s %s", a, b);
    run(cmd, &r);
    CHECK(r.status == 0 && strstr(r.out, "ensemble of 2 (plurality vote): "));
    snprintf(want, sizeof want, "conv-b.nndl: %ld / 10000\n", last[1]);
    CHECK(strstr(r.out, want));
    snprintf(cmd, sizeof cmd, "eval %s %s --vote mean", a, b);
    run(cmd, &r);
    CHECK(r.status == 0 && strstr(r.out, "ensemble of 2 (mean of outputs): "));
    snprintf(cmd, sizeof cmd, "eval %s %s --vote most", a, b);
    run(cmd, &r);
    CHECK(r.status == 2 && strstr(r.err, "--vote"));
    snprintf(cmd, sizeof cmd, "inspect %s --filters %s", a, png);
    run(cmd, &r);
    CHECK(r.status == 0 && strstr(r.out, "format version 3") &&
          strstr(r.out, "conv 4 maps 5x5, max-pool 2        1x28x28 -> 4x12x12   relu") &&
          strstr(r.out, "inputs dropped 0.1"));
    FILE *f = fopen(png, "rb");
    CHECK(f != NULL);
    if (f) fclose(f);
    snprintf(cmd, sizeof cmd, "export %s --format json -o %s/x.json", a, test_tmpdir());
    run(cmd, &r);
    CHECK(r.status == 1 && strstr(r.err, "layer 1 is convolutional"));
    check_error("train --layers conv:4:5,pool:2 --epochs 1", 2, "--layers: the last layer");
    check_error("train --layers conv:4:5,softmax:10 --cost quadratic --epochs 1", 2,
                "softmax:N goes with the log-likelihood cost");
    check_error("train --layers fc:10,conv:4:5,softmax:10 --epochs 1", 1,
                "layer 2: 5 x 5 filters over 1 x 1 inputs");
    check_error("train --sizes 784,10 --layers fc:10 --epochs 1", 2, "give one of them");
    check_error("gradcheck --layers conv:4:5:softmax,fc:10", 2, "'softmax' is not sigmoid");
    check_error("inspect --filters x.png", 2, "MODEL");
}

/* A model file of format version 2, written by nndl before networks had
 * layers with shapes (`nndl train --sizes 784,20,10 --epochs 1 --seed 3
 * --save` at commit 343424f, which evaluated it to 9269): it loads, scores
 * the same, and is written back byte for byte. */
TEST(cli_version2_model_from_before_layers_still_scores_the_same)
{
    cli_result r;
    run("eval tests/fixtures/v2-784-20-10.nndl", &r);
    CHECK(r.status == 0 && strcmp(r.out, "9269 / 10000\n") == 0);
    char cmd[1024], path[512];
    snprintf(path, sizeof path, "%s/v2-again.nndl", test_tmpdir());
    snprintf(cmd, sizeof cmd, "export tests/fixtures/v2-784-20-10.nndl --format nndl -o %s", path);
    run(cmd, &r);
    REQUIRE(r.status == 0);
    snprintf(cmd, sizeof cmd, "cmp -s tests/fixtures/v2-784-20-10.nndl '%s'", path);
    CHECK(system(cmd) == 0);
}

TEST(cli_two_runs_never_write_one_history)
{
    /* a second run asking for the --history file a running one writes is
     * refused; the first one's file stays whole, line by line */
    if (!test_mnist_dir()) return;
    char history[512], args[2048], cmd[4096];
    snprintf(history, sizeof history, "%s/shared.jsonl", test_tmpdir());
    remove(history);
    /* a run of many short epochs, stopped by the test */
    snprintf(cmd, sizeof cmd,
             "exec '%s' train --sizes 784,10,10 --epochs 100000 --train-size 1000 --threads 1 "
             "--eval none --history '%s' >/dev/null 2>&1", NNDL_CLI_PATH, history);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* wait for its first epochs */
    char text[1 << 16] = "";
    for (int i = 0; i < 3000 && count_lines(text) < 3; i++) {
        struct timespec t = {0, 10000000L};
        nanosleep(&t, NULL);
        read_file(history, text, sizeof text);
    }
    CHECK(count_lines(text) >= 3);
    snprintf(args, sizeof args,
             "train --sizes 784,10,10 --epochs 2 --train-size 500 --eval none --history '%s'",
             history);
    check_error(args, 1, "is being written by another run");
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);
    /* every line of the first run's file is whole, and no byte is NUL (a
     * writer at an offset past the end of the file leaves a hole of them) */
    FILE *f = fopen(history, "rb");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    text[n] = 0;
    int lines = 0, whole = memchr(text, 0, n) == NULL;
    for (char *line = text, *end; (end = strchr(line, '\n')); line = end + 1, lines++) {
        *end = 0;
        cJSON *o = cJSON_Parse(line);
        whole &= cJSON_IsObject(o);
        cJSON_Delete(o);
    }
    CHECK(lines >= 3 && whole);
    /* once it has ended, the file is free again */
    cli_result r;
    run(args, &r);
    CHECK(r.status == 0);
}
