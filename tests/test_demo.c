/* nndl demo slowdown: chapter 3's learning slowdown, run through the
 * command line, its table and its JSON-lines history. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"

#ifndef NNDL_CLI_PATH
#define NNDL_CLI_PATH "build/nndl"
#endif

enum { N_RUNS = 4, EPOCHS = 300 };

typedef struct demo_result {
    int status;
    char out[8192], err[8192];
} demo_result;

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = 0;
    if (f) fclose(f);
}

static void run_demo(const char *args, demo_result *r)
{
    char cmd[4096], out[512], err[512];
    snprintf(out, sizeof out, "%s/demo.out", test_tmpdir());
    snprintf(err, sizeof err, "%s/demo.err", test_tmpdir());
    snprintf(cmd, sizeof cmd, "'%s' demo %s >'%s' 2>'%s' </dev/null", NNDL_CLI_PATH, args, out,
             err);
    int rc = system(cmd);
    r->status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
}

/* One run of the history: its points, epoch -1 (the start) to EPOCHS - 1. */
typedef struct run_points {
    char name[64];
    int headers, n;
    double cost[EPOCHS + 1], output[EPOCHS + 1];
} run_points;

static const char *const run_names[N_RUNS] = {
    "quadratic, w=0.6, b=0.9", "quadratic, w=2.0, b=2.0", "cross-entropy, w=0.6, b=0.9",
    "cross-entropy, w=2.0, b=2.0"};

static int run_index(const char *name)
{
    for (int i = 0; i < N_RUNS; i++)
        if (strcmp(name, run_names[i]) == 0) return i;
    return -1;
}

/* Reads the history file line by line into runs[]; 0 after recording a
 * failure. Each line must parse on its own and belong to a known run. */
static int read_history(const char *path, run_points *runs)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        test_fail(__FILE__, __LINE__, "cannot open %s", path);
        return 0;
    }
    char line[1024];
    int ok = 1, lineno = 0;
    while (ok && fgets(line, sizeof line, f)) {
        lineno++;
        cJSON *o = cJSON_Parse(line);
        const cJSON *run = cJSON_GetObjectItemCaseSensitive(o, "run");
        int i = cJSON_IsString(run) ? run_index(run->valuestring) : -1;
        if (i < 0) {
            test_fail(__FILE__, __LINE__, "line %d: not JSON of a known run: %s", lineno, line);
            ok = 0;
        } else if (cJSON_GetObjectItemCaseSensitive(o, "settings")) {
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "settings");
            const cJSON *eta = cJSON_GetObjectItemCaseSensitive(st, "eta");
            const cJSON *epochs = cJSON_GetObjectItemCaseSensitive(st, "epochs");
            const cJSON *cost = cJSON_GetObjectItemCaseSensitive(st, "cost");
            ok = cJSON_IsNumber(eta) && eta->valuedouble == 0.15 && cJSON_IsNumber(epochs) &&
                 epochs->valueint == EPOCHS && cJSON_IsString(cost) &&
                 strncmp(run_names[i], cost->valuestring, strlen(cost->valuestring)) == 0 &&
                 runs[i].n == 0; /* the header comes first */
            if (!ok) test_fail(__FILE__, __LINE__, "line %d: bad header %s", lineno, line);
            runs[i].headers++;
        } else {
            const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(o, "epoch");
            const cJSON *cost = cJSON_GetObjectItemCaseSensitive(o, "training_cost");
            const cJSON *out = cJSON_GetObjectItemCaseSensitive(o, "output");
            int k = runs[i].n;
            ok = k <= EPOCHS && cJSON_IsNumber(epoch) && epoch->valueint == k - 1 &&
                 cJSON_IsNumber(cost) && cJSON_IsNumber(out) &&
                 cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "w")) &&
                 cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "b"));
            if (!ok) {
                test_fail(__FILE__, __LINE__, "line %d: bad point %s", lineno, line);
            } else {
                runs[i].cost[k] = cost->valuedouble;
                runs[i].output[k] = out->valuedouble;
                runs[i].n++;
            }
        }
        cJSON_Delete(o);
    }
    fclose(f);
    return ok;
}

TEST(demo_slowdown_shows_the_book_s_point)
{
    char path[512], args[1024];
    snprintf(path, sizeof path, "%s/slowdown.jsonl", test_tmpdir());
    snprintf(args, sizeof args, "slowdown --history '%s'", path);
    demo_result r;
    run_demo(args, &r);
    REQUIRE(r.status == 0 && r.err[0] == 0);
    for (int i = 0; i < N_RUNS; i++) CHECK(strstr(r.out, run_names[i]) != NULL);

    static run_points runs[N_RUNS];
    memset(runs, 0, sizeof runs);
    REQUIRE(read_history(path, runs));
    /* 4 header lines and 4 x 301 points: epoch -1 (the start) to 299. */
    for (int i = 0; i < N_RUNS; i++) REQUIRE(runs[i].headers == 1 && runs[i].n == EPOCHS + 1);
    const run_points *q_easy = &runs[0], *q_sat = &runs[1], *ce_easy = &runs[2],
                     *ce_sat = &runs[3];

    /* Points are indexed by epochs done: [0] is the start, [50] after 50.
     * Starting values: sigma(1.5) = 0.8176, sigma(4) = 0.9820. */
    CHECK_NEAR(q_easy->output[0], 0.8176, 1e-4);
    CHECK_NEAR(q_sat->output[0], 0.9820, 1e-4);
    CHECK_NEAR(q_sat->cost[0], 0.5 * 0.9820 * 0.9820, 1e-4);
    CHECK_NEAR(ce_sat->cost[0], 4.0181, 1e-3); /* -ln(1 - sigma(4)) */

    /* From (2, 2) the quadratic cost barely moves for 50 epochs (measured:
     * 0.4822 to 0.4762, output still 0.976), while cross-entropy falls from
     * 4.02 to 0.10. */
    CHECK(q_sat->output[50] > 0.97);
    CHECK(q_sat->cost[0] - q_sat->cost[50] < 0.02);
    CHECK(ce_sat->cost[50] < 0.2 && ce_sat->output[50] < 0.15);
    /* From (0.6, 0.9) both learn quickly (measured after 50 epochs: 0.0749
     * from 0.3342, 0.0825 from 1.70). */
    CHECK(q_easy->cost[50] < 0.3 * q_easy->cost[0]);
    CHECK(ce_easy->cost[50] < 0.1 * ce_easy->cost[0]);
    /* After 300 epochs (measured: quadratic 0.0206 with output 0.20, as the
     * book's figure; cross-entropy 0.0121) cross-entropy is ahead. */
    CHECK(ce_sat->cost[EPOCHS] < q_sat->cost[EPOCHS]);
    CHECK_NEAR(q_sat->output[EPOCHS], 0.20, 0.01);
    CHECK_NEAR(q_easy->output[EPOCHS], 0.09, 0.01);
    /* Every run lowers its cost at every epoch: one example, full steps. */
    for (int i = 0; i < N_RUNS; i++)
        for (int k = 1; k <= EPOCHS; k++)
            if (!(runs[i].cost[k] <= runs[i].cost[k - 1])) {
                test_fail(__FILE__, __LINE__, "%s: cost rose at epoch %d", run_names[i], k - 1);
                break;
            }
}

TEST(demo_slowdown_without_history_writes_nothing)
{
    demo_result r;
    run_demo("slowdown --epochs 20", &r);
    CHECK(r.status == 0 && r.err[0] == 0);
    /* Columns for the start and after 10 and 20 epochs; no history file. */
    CHECK(strstr(r.out, "start") && strstr(r.out, "      10") && strstr(r.out, "      20"));
    CHECK(!strstr(r.out, "     100"));
}

static void check_demo_error(const char *args, int status, const char *needle)
{
    demo_result r;
    run_demo(args, &r);
    const char *nl = strchr(r.err, '\n');
    if (r.status != status || !nl || nl[1] || !strstr(r.err, needle) || r.out[0])
        test_fail(__FILE__, __LINE__, "nndl demo %s: status %d, stderr \"%s\", expected %d, \"%s\"",
                  args, r.status, r.err, status, needle);
}

TEST(demo_slowdown_errors_are_one_line)
{
    check_demo_error("", 2, "missing argument");
    check_demo_error("frobnicate", 2, "'frobnicate' is not a demo");
    check_demo_error("slowdown --epochs 0", 2, "--epochs");
    check_demo_error("slowdown --history", 2, "--history: missing value");
    check_demo_error("slowdown --history /nonexistent/dir/h.jsonl", 1, "/nonexistent/dir/h.jsonl");
}
