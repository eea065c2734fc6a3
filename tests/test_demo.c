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

/* ---- chapter 5: demo vanishing and demo unstable ---- */

/* The speeds of the --json line of `demo vanishing ARGS` for one network:
 * speeds[e][l] for recorded epoch e and hidden layer l. Returns the number
 * of epochs recorded, or 0 after recording a failure. */
enum { MAX_POINTS = 64 };
static int vanishing_speeds(const char *args, int hidden, double speeds[][8])
{
    char full[1024];
    snprintf(full, sizeof full, "vanishing --threads 1 --json %s", args);
    static demo_result r;
    run_demo(full, &r);
    if (r.status != 0 || r.err[0]) {
        test_fail(__FILE__, __LINE__, "demo %s: status %d, %s", full, r.status, r.err);
        return 0;
    }
    cJSON *o = cJSON_Parse(r.out);
    const cJSON *sizes = cJSON_GetObjectItemCaseSensitive(o, "sizes");
    const cJSON *epochs = cJSON_GetObjectItemCaseSensitive(o, "epochs");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(o, "speeds");
    int n = cJSON_GetArraySize(rows);
    int ok = cJSON_GetArraySize(sizes) == hidden + 2 && n > 0 && n <= MAX_POINTS &&
             cJSON_GetArraySize(epochs) == n;
    for (int e = 0; ok && e < n; e++) {
        const cJSON *row = cJSON_GetArrayItem(rows, e);
        ok = cJSON_GetArrayItem(epochs, e)->valueint == e && cJSON_GetArraySize(row) == hidden;
        for (int l = 0; ok && l < hidden; l++) speeds[e][l] = cJSON_GetArrayItem(row, l)->valuedouble;
    }
    cJSON_Delete(o);
    if (!ok) test_fail(__FILE__, __LINE__, "demo %s: unexpected JSON %.300s", full, r.out);
    return ok ? n : 0;
}

/* The book's figures start with each hidden layer learning several times
 * faster than the one below (0.0030, 0.0171, 0.0695, 0.2851 for four). */
TEST(demo_vanishing_starting_speeds_grow_layer_by_layer)
{
    for (int hidden = 2; hidden <= 4; hidden++) {
        char args[64];
        snprintf(args, sizeof args, "--hidden-layers %d --epochs 0", hidden);
        double speeds[MAX_POINTS][8];
        REQUIRE(vanishing_speeds(args, hidden, speeds) == 1);
        for (int l = 1; l < hidden; l++)
            if (!(speeds[0][l] >= 2 * speeds[0][l - 1]))
                test_fail(__FILE__, __LINE__, "%d hidden layers: layer %d %.4f, layer %d %.4f",
                          hidden, l, speeds[0][l - 1], l + 1, speeds[0][l]);
        CHECK(speeds[0][hidden - 1] > 0.1 && speeds[0][hidden - 1] < 0.6);
    }
}

/* Then every layer's speed falls as training goes on, and the history and
 * the figure hold every epoch. */
TEST(demo_vanishing_speeds_fall_as_the_network_trains)
{
    char history[512], args[1024];
    snprintf(history, sizeof history, "%s/vanishing.jsonl", test_tmpdir());
    snprintf(args, sizeof args, "--hidden-layers 2 --epochs 50 --history '%s'", history);
    double speeds[MAX_POINTS][8];
    REQUIRE(vanishing_speeds(args, 2, speeds) == 51);
    for (int l = 0; l < 2; l++) CHECK(speeds[50][l] < 0.5 * speeds[0][l]);

    FILE *f = fopen(history, "r");
    REQUIRE(f);
    char line[2048];
    int lines = 0, ok = 1;
    while (fgets(line, sizeof line, f)) {
        cJSON *o = cJSON_Parse(line);
        if (lines == 0) {
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "settings");
            ok &= cJSON_GetObjectItemCaseSensitive(s, "batch")->valueint == 1000;
        } else {
            const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(o, "epoch");
            const cJSON *row = cJSON_GetObjectItemCaseSensitive(o, "speeds");
            ok &= epoch->valueint == lines - 2 && cJSON_GetArraySize(row) == 2 &&
                  cJSON_GetArrayItem(row, 1)->valuedouble == speeds[lines - 1][1];
        }
        cJSON_Delete(o);
        lines++;
    }
    fclose(f);
    CHECK(ok && lines == 52);

    char svg[512], cmd[2048];
    snprintf(svg, sizeof svg, "%s/vanishing.svg", test_tmpdir());
    snprintf(cmd, sizeof cmd, "'%s' plot '%s' --metric speed -o '%s'", NNDL_CLI_PATH, history,
             svg);
    REQUIRE(system(cmd) == 0);
    static char text[1 << 16];
    slurp(svg, text, sizeof text);
    int curves = 0;
    for (const char *p = text; (p = strstr(p, "<polyline")); p++) curves++;
    CHECK(curves == 2 && strstr(text, ">layer 2</text>"));
}

/* ReLU with He's initialization and tanh spread the speed far more evenly
 * than the book's sigmoid network. */
TEST(demo_vanishing_compare_shows_what_helps)
{
    demo_result r;
    run_demo("vanishing --hidden-layers 4 --epochs 0 --compare --threads 1", &r);
    REQUIRE(r.status == 0 && r.err[0] == 0);
    const char *table = strstr(r.out, "What helps");
    REQUIRE(table);
    double spread[4];
    static const char *const rows[4] = {"(the book's)", "weights N(0,1) ",
                                        "tanh, weights N(0,1/n_in)",
                                        "ReLU, weights N(0,2/n_in), biases 0"};
    for (int i = 0; i < 4; i++) {
        const char *row = strstr(table, rows[i]);
        REQUIRE(row);
        REQUIRE(sscanf(row + strlen(rows[i]), "%lf", &spread[i]) == 1);
    }
    CHECK(spread[0] > 20);                       /* sigmoid: measured 102 */
    CHECK(spread[3] < 5 && spread[2] < 5);       /* ReLU 2.5, tanh 3.0 */
}

TEST(demo_unstable_prints_both_chains_factor_by_factor)
{
    demo_result r;
    run_demo("unstable", &r);
    REQUIRE(r.status == 0 && r.err[0] == 0);
    const char *exploding = strstr(r.out, "Exploding");
    REQUIRE(exploding && strstr(r.out, "Vanishing"));
    /* each case: its product of factors, then backpropagation's gradient */
    const char *p = r.out;
    for (int c = 0; c < 2; c++) {
        double product, bp, last;
        p = strstr(p, "product: dC/db_1 = ");
        REQUIRE(p && sscanf(p, "product: dC/db_1 = %lf", &product) == 1);
        p = strstr(p, "backpropagation: dC/db_1 = ");
        REQUIRE(p && sscanf(p, "backpropagation: dC/db_1 = %lf, dC/db_4 = %lf", &bp, &last) == 2);
        CHECK_NEAR(product, bp, 1e-5 * fabs(product));
        if (c == 0) CHECK(fabs(bp) < 0.1 * fabs(last)); /* vanishing */
        if (c == 1) {
            CHECK_NEAR(bp, 0.25 * 25 * 25 * 25 * 0.5, 0.01); /* sigma'(0) = 1/4, w = 100 */
            CHECK_NEAR(last, 0.125, 1e-6);
        }
        p++;
    }
    int twenty_fives = 0;
    for (const char *q = exploding; (q = strstr(q, " 25.0000 ")); q++) twenty_fives++;
    CHECK(twenty_fives == 3);
}

TEST(demo_chapter5_errors_are_one_line)
{
    check_demo_error("vanishing --hidden-layers 0", 2, "--hidden-layers: '0'");
    check_demo_error("vanishing --hidden-layers 2,,x", 2, "--hidden-layers");
    check_demo_error("vanishing --activation softmax", 2, "--activation: 'softmax'");
    check_demo_error("vanishing --init heavy", 2, "--init: 'heavy'");
    check_demo_error("vanishing --compare --activation relu", 2, "--compare");
    check_demo_error("vanishing --epochs -1", 2, "--epochs");
    check_demo_error("vanishing --epochs 1 --history /nonexistent/dir/v.jsonl", 1,
                     "/nonexistent/dir/v.jsonl");
    check_demo_error("unstable extra", 2, "unexpected argument 'extra'");
}
