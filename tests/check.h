/* A small test framework: TEST(name) defines a test that registers itself;
 * CHECK(cond) records a failure and goes on; REQUIRE(cond) records a failure
 * and ends the test. The runner (run_tests.c) ends with "N passed, N failed"
 * and exits non-zero when any test failed. */
#ifndef NNDL_TESTS_CHECK_H
#define NNDL_TESTS_CHECK_H

#include <math.h>
#include <stddef.h>
#include <stdio.h>

typedef void (*test_fn)(void);
void test_register(const char *name, const char *file, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int test_failed_now(void);

#define TEST(name)                                                          \
    static void test_##name(void);                                          \
    __attribute__((constructor)) static void register_##name(void)          \
    {                                                                       \
        test_register(#name, __FILE__, test_##name);                        \
    }                                                                       \
    static void test_##name(void)

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);     \
    } while (0)

#define REQUIRE(cond)                                                       \
    do {                                                                    \
        if (!(cond)) {                                                      \
            test_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);            \
            return;                                                         \
        }                                                                   \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                               \
    do {                                                                    \
        double a_ = (a), b_ = (b);                                          \
        if (!(fabs(a_ - b_) <= (tol)))                                      \
            test_fail(__FILE__, __LINE__, "%s = %.9g, %s = %.9g, tolerance %g", \
                      #a, a_, #b, b_, (double)(tol));                       \
    } while (0)

/* A scratch directory for this run, removed at exit. */
const char *test_tmpdir(void);
/* Directory holding MNIST, or NULL after recording a failure. */
const char *test_mnist_dir(void);
/* The first n of MNIST's training images, and the test set into *test
 * unless test is NULL; NULL after saying why. The caller frees both. */
struct nndl_dataset *test_mnist_head(size_t n, struct nndl_dataset **test);

/* What a piece of work costs, for tests that bound it: test_cost_start()
 * notes the time and resets the process's peak resident memory;
 * test_cost_end() gives the seconds since and how far the peak rose above
 * the memory resident at the start, in MiB. */
typedef struct test_cost {
    double seconds, peak_mib;
} test_cost;
void test_cost_start(void);
test_cost test_cost_end(void);

#endif
