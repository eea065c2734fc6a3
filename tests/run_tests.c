/* Test runner: runs every registered test, or those whose name contains one
 * of the command-line arguments. */
#define _GNU_SOURCE
#include "check.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nndl.h"

enum { MAX_TESTS = 512 };
static struct {
    const char *name, *file;
    test_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static int current_failed;

void test_register(const char *name, const char *file, test_fn fn)
{
    if (n_tests == MAX_TESTS) {
        fprintf(stderr, "too many tests: raise MAX_TESTS\n");
        exit(2);
    }
    tests[n_tests].name = name;
    tests[n_tests].file = file;
    tests[n_tests].fn = fn;
    n_tests++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    current_failed = 1;
}

int test_failed_now(void) { return current_failed; }

static char tmpdir[256];

static void remove_tmpdir(void)
{
    if (!tmpdir[0]) return;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

const char *test_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/nndl-tests-XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(2);
        }
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

const char *test_mnist_dir(void)
{
    static char dir[4096];
    nndl_error err;
    if (dir[0]) return dir;
    if (nndl_mnist_find(dir, sizeof dir, &err) != NNDL_OK) {
        dir[0] = 0;
        test_fail(__FILE__, __LINE__, "%s (run `build/nndl data`)", err.message);
        return NULL;
    }
    return dir;
}

nndl_dataset *test_mnist_head(size_t n, nndl_dataset **test)
{
    const char *dir = test_mnist_dir();
    if (!dir) return NULL;
    nndl_dataset *training = NULL;
    nndl_error err;
    if (nndl_mnist_load(dir, &training, NULL, test, &err) != NNDL_OK) {
        fprintf(stderr, "    %s\n", err.message);
        return NULL;
    }
    nndl_dataset_free(nndl_dataset_split_off(training, n, NULL));
    return training;
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A line "Vm...:  N kB" of /proc/self/status, in KiB; -1 if missing. */
static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') v = atol(line + n + 1);
    if (f) fclose(f);
    return v;
}

static double cost_t0;
static long cost_rss0;

void test_cost_start(void)
{
    /* "5" resets the peak resident set size (VmHWM) to the current one */
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f || fputs("5", f) < 0) {
        fprintf(stderr, "cannot reset the peak memory (/proc/self/clear_refs)\n");
        exit(2);
    }
    fclose(f);
    cost_rss0 = status_kib("VmRSS");
    cost_t0 = now_seconds();
}

test_cost test_cost_end(void)
{
    test_cost c;
    c.seconds = now_seconds() - cost_t0;
    c.peak_mib = (double)(status_kib("VmHWM") - cost_rss0) / 1024.0;
    return c;
}

static int selected(const char *name, int argc, char **argv)
{
    if (argc < 2) return 1;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i])) return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (int i = 0; i < n_tests; i++) {
        if (!selected(tests[i].name, argc, argv)) continue;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        current_failed = 0;
        tests[i].fn();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
        printf("%s %-44s %7.2fs  (%s)\n", current_failed ? "FAIL" : "ok  ",
               tests[i].name, s, tests[i].file);
        fflush(stdout);
        if (current_failed)
            failed++;
        else
            passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
