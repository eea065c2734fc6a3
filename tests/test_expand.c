/* Chapter 3's expanded training data: the one-pixel shifts of
 * expand_mnist.py, random distortions per epoch, writing IDX files and the
 * `nndl expand` command. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "check.h"
#include "common/rng.h"
#include "data/transform.h"
#include "nndl.h"

#ifndef NNDL_CLI_PATH
#define NNDL_CLI_PATH "build/nndl"
#endif

/* ---- helpers ------------------------------------------------------------ */

/* A path in the scratch directory. Several may be alive at once. */
static const char *tmp_path(const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", test_tmpdir(), name);
    return p;
}

/* A new empty directory in the scratch directory. */
static const char *tmp_dir(const char *name)
{
    const char *p = tmp_path(name);
    return mkdir(p, 0755) == 0 ? p : NULL;
}

/* Entries of `dir`, "." and ".." not counted; -1 if it cannot be read. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

/* `count` images of rows x cols with every pixel distinct within an image
 * and never 0 (so a vacated 0 cannot pass for a moved pixel); labels 0..9. */
static nndl_dataset *numbered(size_t count, int rows, int cols)
{
    nndl_error err;
    nndl_dataset *ds = nndl_dataset_create(count, rows, cols, &err);
    if (!ds) return NULL;
    for (size_t i = 0; i < count; i++) {
        uint8_t *im = nndl_dataset_image_mut(ds, i);
        for (int p = 0; p < rows * cols; p++) im[p] = (uint8_t)(1 + (p + 7 * i) % 255);
        nndl_dataset_labels_mut(ds)[i] = (uint8_t)((3 * i + 1) % 10);
    }
    return ds;
}

/* The first `n` MNIST training images, or NULL after recording a failure. */
static nndl_dataset *mnist_head(size_t n)
{
    const char *dir = test_mnist_dir();
    if (!dir) return NULL;
    nndl_dataset *train = NULL;
    nndl_error err;
    if (nndl_mnist_load(dir, &train, NULL, NULL, &err) != NNDL_OK) {
        test_fail(__FILE__, __LINE__, "%s", err.message);
        return NULL;
    }
    nndl_dataset *rest = nndl_dataset_split_off(train, n, &err);
    nndl_dataset_free(rest);
    return train;
}

static int same_pixels(const nndl_dataset *a, const nndl_dataset *b)
{
    size_t n = nndl_dataset_count(a);
    return n == nndl_dataset_count(b) &&
           (n == 0 || memcmp(nndl_dataset_image(a, 0), nndl_dataset_image(b, 0),
                             n * (size_t)nndl_dataset_rows(a) * nndl_dataset_cols(a)) == 0);
}

static int same_labels(const nndl_dataset *a, const nndl_dataset *b)
{
    size_t n = nndl_dataset_count(a);
    return n == nndl_dataset_count(b) &&
           (n == 0 || memcmp(nndl_dataset_labels(a), nndl_dataset_labels(b), n) == 0);
}

/* (dy, dx) of copy s = 1..4 of each image, the order of expand_mnist.py. */
static const int shifts[4][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};

/* ---- expanding: the book's one-pixel shifts ---------------------------- */

TEST(expand_shifts_pixel_by_pixel)
{
    const int rows = 5, cols = 7; /* not square: rows and columns cannot be confused */
    nndl_dataset *ds = numbered(3, rows, cols);
    REQUIRE(ds);
    nndl_error err;
    nndl_dataset *ex = nndl_dataset_expand(ds, &err);
    REQUIRE(ex);
    CHECK(nndl_dataset_count(ex) == 15);
    CHECK(nndl_dataset_rows(ex) == rows && nndl_dataset_cols(ex) == cols);
    for (size_t i = 0; i < 3; i++) {
        const uint8_t *src = nndl_dataset_image(ds, i);
        for (int c = 0; c < 5; c++) {
            CHECK(nndl_dataset_labels(ex)[5 * i + c] == nndl_dataset_labels(ds)[i]);
            const uint8_t *im = nndl_dataset_image(ex, 5 * i + c);
            int dy = c ? shifts[c - 1][0] : 0, dx = c ? shifts[c - 1][1] : 0, bad = 0, zeros = 0;
            for (int y = 0; y < rows; y++) {
                for (int x = 0; x < cols; x++) {
                    int sy = y - dy, sx = x - dx;
                    int inside = sy >= 0 && sy < rows && sx >= 0 && sx < cols;
                    bad += im[y * cols + x] != (inside ? src[sy * cols + sx] : 0);
                    zeros += im[y * cols + x] == 0;
                }
            }
            CHECK(bad == 0);
            /* Exactly the vacated row (down, up) or column (right, left). */
            CHECK(zeros == (c == 0 ? 0 : c <= 2 ? cols : rows));
        }
        /* Down means row 0 is vacated; right means column 0 is. */
        CHECK(nndl_dataset_image(ex, 5 * i + 1)[0] == 0 &&
              nndl_dataset_image(ex, 5 * i + 1)[cols] == src[0]);
        CHECK(nndl_dataset_image(ex, 5 * i + 3)[0] == 0 &&
              nndl_dataset_image(ex, 5 * i + 3)[1] == src[0]);
    }
    nndl_dataset_free(ex);

    /* An empty set expands to an empty set; no set is an error. */
    nndl_dataset *empty = nndl_dataset_create(0, 28, 28, &err);
    REQUIRE(empty);
    ex = nndl_dataset_expand(empty, &err);
    CHECK(ex && nndl_dataset_count(ex) == 0);
    nndl_dataset_free(ex);
    nndl_dataset_free(empty);
    CHECK(!nndl_dataset_expand(NULL, &err) && err.status == NNDL_ERR_ARG);
    nndl_dataset_free(ds);
}

TEST(expand_one_pixel_images)
{
    /* 1x1 images: every shift vacates the only pixel. */
    nndl_dataset *ds = numbered(2, 1, 1);
    REQUIRE(ds);
    nndl_error err;
    nndl_dataset *ex = nndl_dataset_expand(ds, &err);
    REQUIRE(ex && nndl_dataset_count(ex) == 10);
    for (size_t i = 0; i < 10; i++)
        CHECK(nndl_dataset_image(ex, i)[0] == (i % 5 ? 0 : nndl_dataset_image(ds, i / 5)[0]));
    nndl_dataset_free(ex);
    nndl_dataset_free(ds);
}

TEST(expand_real_mnist)
{
    nndl_dataset *train = mnist_head(50000);
    REQUIRE(train);
    nndl_error err;
    nndl_dataset *ex = nndl_dataset_expand(train, &err);
    REQUIRE(ex);
    CHECK(nndl_dataset_count(ex) == 250000);
    CHECK(nndl_dataset_rows(ex) == 28 && nndl_dataset_cols(ex) == 28);
    size_t bad_orig = 0, bad_label = 0, bad_shift = 0;
    uint8_t want[784];
    for (size_t i = 0; i < 50000; i++) {
        const uint8_t *src = nndl_dataset_image(train, i);
        bad_orig += memcmp(nndl_dataset_image(ex, 5 * i), src, 784) != 0;
        for (int c = 0; c < 5; c++)
            bad_label += nndl_dataset_labels(ex)[5 * i + c] != nndl_dataset_labels(train)[i];
        if (i % 97 == 0) { /* the shifts are checked in full above */
            for (int c = 1; c < 5; c++) {
                shift_image(want, src, 28, 28, shifts[c - 1][0], shifts[c - 1][1]);
                bad_shift += memcmp(nndl_dataset_image(ex, 5 * i + c), want, 784) != 0;
            }
        }
    }
    CHECK(bad_orig == 0);
    CHECK(bad_label == 0);
    CHECK(bad_shift == 0);
    /* A shift moves ink, it does not erase it: MNIST's border is blank. */
    long ink0 = 0, ink1 = 0;
    for (int p = 0; p < 784; p++) {
        ink0 += nndl_dataset_image(ex, 0)[p];
        ink1 += nndl_dataset_image(ex, 1)[p];
    }
    CHECK(ink0 > 0 && ink0 == ink1);
    nndl_dataset_free(ex);
    nndl_dataset_free(train);
}

/* ---- the transform behind augmentation --------------------------------- */

/* Scratch space for transform_image on images up to about 40x40. */
static float *scratch_for(int rows, int cols, int radius)
{
    static float buf[1 << 14];
    return transform_scratch_floats(rows, cols, radius) <= sizeof buf / sizeof buf[0] ? buf : NULL;
}

TEST(transform_zero_parameters_is_identity)
{
    nndl_dataset *ds = numbered(2, 9, 13);
    REQUIRE(ds);
    gauss_kernel k;
    gauss_kernel_init(&k, AUGMENT_ELASTIC_SIGMA);
    rng r;
    rng_seed(&r, 1, RNG_STREAM_AUGMENT);
    uint8_t out[9 * 13];
    float *scratch = scratch_for(28, 28, 0);
    REQUIRE(scratch);
    transform_params zero = {0, 0, 0, 0};
    for (size_t i = 0; i < 2; i++) {
        memset(out, 0xEE, sizeof out);
        transform_image(out, nndl_dataset_image(ds, i), 9, 13, &zero, &k, &r, scratch);
        CHECK(memcmp(out, nndl_dataset_image(ds, i), sizeof out) == 0);
    }
    nndl_dataset_free(ds);

    /* Real digits, and every grey level. */
    nndl_dataset *mnist = mnist_head(200);
    REQUIRE(mnist);
    uint8_t im[784];
    size_t bad = 0;
    for (size_t i = 0; i < 200; i++) {
        transform_image(im, nndl_dataset_image(mnist, i), 28, 28, &zero, &k, &r, scratch);
        bad += memcmp(im, nndl_dataset_image(mnist, i), 784) != 0;
    }
    CHECK(bad == 0);
    uint8_t grey[256], grey_out[256];
    for (int p = 0; p < 256; p++) grey[p] = (uint8_t)p;
    transform_image(grey_out, grey, 16, 16, &zero, &k, &r, scratch);
    CHECK(memcmp(grey, grey_out, 256) == 0);
    nndl_dataset_free(mnist);
}

TEST(transform_integer_shift_equals_expand)
{
    const int rows = 6, cols = 8;
    nndl_dataset *ds = numbered(1, rows, cols);
    REQUIRE(ds);
    nndl_error err;
    nndl_dataset *ex = nndl_dataset_expand(ds, &err);
    REQUIRE(ex);
    const uint8_t *src = nndl_dataset_image(ds, 0);
    uint8_t out[6 * 8], want[6 * 8];
    float *scratch = scratch_for(rows, cols, 0);
    REQUIRE(scratch);
    for (int c = 1; c < 5; c++) {
        transform_params p = {(float)shifts[c - 1][1], (float)shifts[c - 1][0], 0, 0};
        transform_image(out, src, rows, cols, &p, NULL, NULL, scratch);
        CHECK(memcmp(out, nndl_dataset_image(ex, (size_t)c), sizeof out) == 0);
    }
    /* Larger and combined whole-pixel shifts too, off the image entirely included. */
    for (int dy = -7; dy <= 7; dy++) {
        for (int dx = -9; dx <= 9; dx += 2) {
            transform_params p = {(float)dx, (float)dy, 0, 0};
            transform_image(out, src, rows, cols, &p, NULL, NULL, scratch);
            shift_image(want, src, rows, cols, dy, dx);
            CHECK(memcmp(out, want, sizeof out) == 0);
        }
    }
    nndl_dataset_free(ex);
    nndl_dataset_free(ds);
}

TEST(transform_rotation_direction)
{
    /* +90 degrees turns the digit counterclockwise: the right edge goes to
     * the top, so out[y][x] = in[x][n-1-y]. Float pi/2 is not exact, but
     * the error is far below half a grey level. */
    enum { n = 10 };
    uint8_t in[n * n], out[n * n];
    float *scratch = scratch_for(n, n, 0);
    REQUIRE(scratch);
    for (int p = 0; p < n * n; p++) in[p] = (uint8_t)(2 * p + 1);
    transform_params p = {0, 0, 1.57079632679f, 0};
    transform_image(out, in, n, n, &p, NULL, NULL, scratch);
    int bad = 0;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) bad += out[y * n + x] != in[x * n + (n - 1 - y)];
    CHECK(bad == 0);
    /* And a half-pixel shift averages neighbours. */
    transform_params half = {0.5f, 0, 0, 0};
    transform_image(out, in, n, n, &half, NULL, NULL, scratch);
    CHECK(out[1] == (in[0] + in[1] + 1) / 2);
    CHECK(out[0] == (in[0] + 1) / 2); /* half of it from the blank outside */
}

TEST(transform_elastic_field)
{
    gauss_kernel k;
    gauss_kernel_init(&k, 4.0f);
    CHECK(k.radius == 12);
    double sum = 0;
    for (int i = 0; i <= 2 * k.radius; i++) sum += k.w[i];
    CHECK_NEAR(sum, 1.0, 1e-6);
    CHECK(k.w[0] == k.w[2 * k.radius] && k.w[k.radius] > k.w[k.radius - 1]);

    /* Same generator state, same distortion; a tiny strength changes nothing. */
    nndl_dataset *mnist = mnist_head(50);
    REQUIRE(mnist);
    float *scratch = scratch_for(28, 28, k.radius);
    REQUIRE(scratch);
    uint8_t a[784], b[784];
    int moved = 0, same = 0, unchanged = 0;
    for (size_t i = 0; i < 50; i++) {
        const uint8_t *src = nndl_dataset_image(mnist, i);
        transform_params p = {0, 0, 0, AUGMENT_ELASTIC_ALPHA};
        rng r1, r2;
        rng_seed(&r1, i, 9);
        rng_seed(&r2, i, 9);
        transform_image(a, src, 28, 28, &p, &k, &r1, scratch);
        transform_image(b, src, 28, 28, &p, &k, &r2, scratch);
        same += memcmp(a, b, 784) == 0;
        moved += memcmp(a, src, 784) != 0;
        p.alpha = 1e-3f;
        transform_image(b, src, 28, 28, &p, &k, &r1, scratch);
        unchanged += memcmp(b, src, 784) == 0;
    }
    CHECK(same == 50 && moved == 50 && unchanged == 50);
    nndl_dataset_free(mnist);
}

/* ---- augmentation ------------------------------------------------------- */

static void set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

static int max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* Augments `in` with (seed, epoch) on `threads` threads into a new set. */
static nndl_dataset *augmented(const nndl_dataset *in, uint64_t seed, uint64_t epoch,
                               int threads)
{
    nndl_error err;
    nndl_dataset *out = nndl_dataset_create(nndl_dataset_count(in), nndl_dataset_rows(in),
                                            nndl_dataset_cols(in), &err);
    if (!out) return NULL;
    int before = max_threads();
    set_threads(threads);
    nndl_status st = nndl_dataset_augment(out, in, seed, epoch, &err);
    set_threads(before);
    if (st != NNDL_OK) {
        fprintf(stderr, "    %s\n", err.message);
        nndl_dataset_free(out);
        return NULL;
    }
    return out;
}

TEST(augment_reproducible_and_thread_independent)
{
    nndl_dataset *in = mnist_head(2000);
    REQUIRE(in);
    nndl_dataset *a = augmented(in, 7, 3, 1), *b = augmented(in, 7, 3, 2);
    nndl_dataset *c = augmented(in, 7, 3, 1), *d = augmented(in, 7, 4, 2);
    nndl_dataset *e = augmented(in, 8, 3, 2);
    REQUIRE(a && b && c && d && e);
    CHECK(same_pixels(a, b)); /* 1 thread and 2 */
    CHECK(same_pixels(a, c)); /* same seed and epoch */
    CHECK(same_labels(a, in) && same_labels(d, in) && same_labels(e, in));

    /* Another epoch or seed distorts every image differently. */
    size_t differ_epoch = 0, differ_seed = 0, differ_input = 0;
    for (size_t i = 0; i < 2000; i++) {
        differ_epoch += memcmp(nndl_dataset_image(a, i), nndl_dataset_image(d, i), 784) != 0;
        differ_seed += memcmp(nndl_dataset_image(a, i), nndl_dataset_image(e, i), 784) != 0;
        differ_input += memcmp(nndl_dataset_image(a, i), nndl_dataset_image(in, i), 784) != 0;
    }
    CHECK(differ_epoch == 2000 && differ_seed == 2000 && differ_input == 2000);

    /* Image i depends on (seed, epoch, i) only, not on the rest of the set. */
    nndl_error err;
    nndl_dataset *tail = nndl_dataset_split_off(in, 1500, &err);
    REQUIRE(tail);
    nndl_dataset *f = augmented(in, 7, 3, 2);
    REQUIRE(f);
    CHECK(memcmp(nndl_dataset_image(f, 0), nndl_dataset_image(a, 0), 1500 * 784) == 0);
    nndl_dataset_free(f);
    nndl_dataset_free(tail);

    nndl_dataset_free(a);
    nndl_dataset_free(b);
    nndl_dataset_free(c);
    nndl_dataset_free(d);
    nndl_dataset_free(e);
    nndl_dataset_free(in);
}

TEST(augment_keeps_the_ink)
{
    nndl_dataset *in = mnist_head(2000);
    REQUIRE(in);
    nndl_dataset *out = augmented(in, 1, 0, 2);
    REQUIRE(out);
    /* Shifts, small turns and smooth bends move ink; they should neither
     * erase nor multiply it. Per image, |out - in| / in, averaged. */
    double rel = 0, ratio = 0;
    size_t blank = 0;
    for (size_t i = 0; i < 2000; i++) {
        long s_in = 0, s_out = 0;
        for (int p = 0; p < 784; p++) {
            s_in += nndl_dataset_image(in, i)[p];
            s_out += nndl_dataset_image(out, i)[p];
        }
        REQUIRE(s_in > 0);
        rel += fabs((double)(s_out - s_in)) / (double)s_in;
        ratio += (double)s_out / (double)s_in;
        blank += s_out < s_in / 2;
    }
    rel /= 2000;
    ratio /= 2000;
    CHECK(rel < 0.25);
    CHECK(ratio > 0.85 && ratio < 1.15);
    CHECK(blank == 0);
    if (rel >= 0.25 || ratio <= 0.85 || ratio >= 1.15)
        fprintf(stderr, "    mean |ink change| %.3f, mean ink ratio %.3f\n", rel, ratio);
    nndl_dataset_free(out);
    nndl_dataset_free(in);
}

TEST(augment_other_image_sizes)
{
    /* 40x30 needs scratch from the heap; 1x1 and 3x2 are degenerate. */
    static const int sizes[][2] = {{40, 30}, {1, 1}, {3, 2}, {32, 32}};
    for (int s = 0; s < 4; s++) {
        nndl_dataset *in = numbered(64, sizes[s][0], sizes[s][1]);
        REQUIRE(in);
        nndl_dataset *a = augmented(in, 5, 1, 1), *b = augmented(in, 5, 1, 2);
        REQUIRE(a && b);
        CHECK(same_pixels(a, b) && same_labels(a, in));
        nndl_dataset_free(a);
        nndl_dataset_free(b);
        nndl_dataset_free(in);
    }
}

TEST(augment_argument_errors)
{
    nndl_error err;
    nndl_dataset *in = numbered(4, 5, 5), *small = nndl_dataset_create(3, 5, 5, &err);
    nndl_dataset *wide = nndl_dataset_create(4, 5, 6, &err);
    REQUIRE(in && small && wide);
    CHECK(nndl_dataset_augment(in, in, 1, 0, &err) == NNDL_ERR_ARG);
    CHECK(nndl_dataset_augment(small, in, 1, 0, &err) == NNDL_ERR_ARG);
    CHECK(strstr(err.message, "3 images") && strstr(err.message, "4 of 5x5"));
    CHECK(nndl_dataset_augment(wide, in, 1, 0, &err) == NNDL_ERR_ARG);
    CHECK(nndl_dataset_augment(NULL, in, 1, 0, &err) == NNDL_ERR_ARG);
    CHECK(nndl_dataset_augment(small, NULL, 1, 0, NULL) == NNDL_ERR_ARG);
    nndl_dataset *empty = nndl_dataset_create(0, 28, 28, &err), *empty2 = nndl_dataset_create(0, 28, 28, &err);
    REQUIRE(empty && empty2);
    CHECK(nndl_dataset_augment(empty2, empty, 1, 0, &err) == NNDL_OK);
    nndl_dataset_free(empty);
    nndl_dataset_free(empty2);
    nndl_dataset_free(in);
    nndl_dataset_free(small);
    nndl_dataset_free(wide);
}

/* ---- writing IDX files -------------------------------------------------- */

TEST(idx_save_round_trip)
{
    const char *dir = tmp_dir("idx-save");
    REQUIRE(dir);
    char im[600], lb[600];
    snprintf(im, sizeof im, "%s/images.gz", dir);
    snprintf(lb, sizeof lb, "%s/labels.gz", dir);
    static const int sizes[][3] = {{3, 2, 3}, {500, 28, 28}, {0, 28, 28}, {2, 1, 4096}};
    for (int s = 0; s < 4; s++) {
        nndl_dataset *ds = numbered((size_t)sizes[s][0], sizes[s][1], sizes[s][2]);
        REQUIRE(ds);
        nndl_error err = {0};
        nndl_status st = nndl_idx_save(ds, im, lb, &err);
        CHECK(st == NNDL_OK);
        if (st) fprintf(stderr, "    %s\n", err.message);
        nndl_dataset *back = nndl_idx_load(im, lb, &err);
        REQUIRE(back);
        CHECK(nndl_dataset_rows(back) == sizes[s][1] && nndl_dataset_cols(back) == sizes[s][2]);
        CHECK(same_pixels(ds, back) && same_labels(ds, back));
        nndl_dataset_free(back);
        nndl_dataset_free(ds);
    }
    /* gzip-compressed, readable by all, and no temporary file left. */
    FILE *f = fopen(im, "rb");
    REQUIRE(f);
    unsigned char magic[2] = {0};
    CHECK(fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b);
    fclose(f);
    struct stat st;
    CHECK(stat(im, &st) == 0 && (st.st_mode & 0777) == 0644);
    CHECK(count_entries(dir) == 2);
}

TEST(idx_save_failures_leave_nothing)
{
    nndl_dataset *ds = numbered(4, 3, 3);
    REQUIRE(ds);
    nndl_error err;

    /* Into a directory that does not exist: one line naming the path. */
    const char *missing = tmp_path("no-such-dir");
    char im[600], lb[600];
    snprintf(im, sizeof im, "%s/images.gz", missing);
    snprintf(lb, sizeof lb, "%s/labels.gz", missing);
    CHECK(nndl_idx_save(ds, im, lb, &err) == NNDL_ERR_IO);
    CHECK(strstr(err.message, im) && !strchr(err.message, '\n'));
    CHECK(access(missing, F_OK) != 0);

    /* Images can be written but labels cannot: the images' directory gets
     * no file, and an older pair there survives. */
    const char *dir = tmp_dir("idx-save-half");
    REQUIRE(dir);
    snprintf(im, sizeof im, "%s/images.gz", dir);
    CHECK(nndl_idx_save(ds, im, lb, &err) == NNDL_ERR_IO);
    CHECK(strstr(err.message, lb) != NULL);
    CHECK(count_entries(dir) == 0);

    char good_lb[600];
    snprintf(good_lb, sizeof good_lb, "%s/labels.gz", dir);
    REQUIRE(nndl_idx_save(ds, im, good_lb, &err) == NNDL_OK);
    nndl_dataset *other = numbered(9, 3, 3);
    REQUIRE(other);
    CHECK(nndl_idx_save(other, im, lb, &err) == NNDL_ERR_IO);
    CHECK(count_entries(dir) == 2);
    nndl_dataset *back = nndl_idx_load(im, good_lb, &err);
    CHECK(back && same_pixels(back, ds));
    nndl_dataset_free(back);

    /* What the loader would refuse is not written. */
    nndl_dataset_labels_mut(other)[5] = 10;
    CHECK(nndl_idx_save(other, im, good_lb, &err) == NNDL_ERR_ARG);
    CHECK(strstr(err.message, "label 5 is 10") != NULL);
    CHECK(nndl_idx_save(ds, im, im, &err) == NNDL_ERR_ARG);
    CHECK(nndl_idx_save(NULL, im, good_lb, &err) == NNDL_ERR_ARG);
    CHECK(count_entries(dir) == 2);
    nndl_dataset_free(other);
    nndl_dataset_free(ds);
}

/* ---- the expanded set on disk, and `nndl expand` ------------------------ */

TEST(expand_load_errors)
{
    nndl_dataset *train = NULL;
    nndl_error err;
    const char *dir = tmp_dir("expanded-missing");
    REQUIRE(dir);
    CHECK(nndl_mnist_load_expanded(dir, &train, &err) == NNDL_ERR_NOT_FOUND);
    CHECK(strstr(err.message, "nndl expand") && strstr(err.message, dir));
    CHECK(strstr(err.message, nndl_mnist_expanded_files[0]) != NULL);
    CHECK(train == NULL);

    /* Good IDX files under the right names, but not 250,000 of 28x28. */
    nndl_dataset *ds = numbered(5, 28, 28);
    REQUIRE(ds);
    char im[600], lb[600];
    snprintf(im, sizeof im, "%s/%s", dir, nndl_mnist_expanded_files[0]);
    snprintf(lb, sizeof lb, "%s/%s", dir, nndl_mnist_expanded_files[1]);
    REQUIRE(nndl_idx_save(ds, im, lb, &err) == NNDL_OK);
    CHECK(nndl_mnist_load_expanded(dir, &train, &err) == NNDL_ERR_FORMAT);
    CHECK(strstr(err.message, "250000") && strstr(err.message, im));
    CHECK(train == NULL);
    CHECK(nndl_mnist_load_expanded(NULL, &train, &err) == NNDL_ERR_ARG);
    nndl_dataset_free(ds);
}

TEST(expand_command)
{
    const char *dir = tmp_path("expand-cli/out"); /* created by the command */
    char cmd[1200], out[600];
    snprintf(out, sizeof out, "%s/expand.out", test_tmpdir());
    snprintf(cmd, sizeof cmd, "'%s' expand --out '%s' >'%s' 2>/dev/null </dev/null",
             NNDL_CLI_PATH, dir, out);
    int rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    char text[2048] = "";
    FILE *f = fopen(out, "rb");
    if (f) {
        text[fread(text, 1, sizeof text - 1, f)] = 0;
        fclose(f);
    }
    CHECK(strstr(text, "250000 images") && strstr(text, nndl_mnist_expanded_files[0]) &&
          strstr(text, nndl_mnist_expanded_files[1]) && strstr(text, dir));

    nndl_dataset *loaded = NULL, *train = mnist_head(50000);
    nndl_error err;
    REQUIRE(train);
    nndl_status st = nndl_mnist_load_expanded(dir, &loaded, &err);
    CHECK(st == NNDL_OK);
    if (st) fprintf(stderr, "    %s\n", err.message);
    nndl_dataset *ex = nndl_dataset_expand(train, &err);
    CHECK(ex && loaded && same_pixels(ex, loaded) && same_labels(ex, loaded));
    CHECK(count_entries(dir) == 2);
    nndl_dataset_free(ex);
    nndl_dataset_free(loaded);
    nndl_dataset_free(train);
}

/* `nndl train --validation 0 --expanded` trains on the expanded set with
 * MNIST's validation images expanded after it: the 300,000 images that
 * expanding all 60,000 training images gives, by the model's fingerprint. */
TEST(expand_train_on_all_60000)
{
    const char *mnist = test_mnist_dir();
    if (!mnist) return;
    const char *work = tmp_dir("expand-all");
    REQUIRE(work);
    char cmd[3000];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' expand --out data/mnist >/dev/null 2>&1 && '%s' train "
             "--validation 0 --expanded --sizes 784,10 --epochs 1 --eval none --save all.nndl "
             ">/dev/null 2>&1 && '%s' inspect all.nndl >inspect.out 2>&1 && ! '%s' train "
             "--validation 0 --expanded --train-size 300001 2>/dev/null",
             work, NNDL_CLI_PATH, NNDL_CLI_PATH, NNDL_CLI_PATH, NNDL_CLI_PATH);
    int rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    char text[4096] = "";
    FILE *f = fopen(tmp_path("expand-all/inspect.out"), "rb");
    if (f) {
        text[fread(text, 1, sizeof text - 1, f)] = 0;
        fclose(f);
    }
    CHECK(strstr(text, "MNIST: 300000 training images") && !strstr(text, "for validation"));

    nndl_dataset *train = NULL, *valid = NULL, *all = NULL;
    nndl_error err;
    char fingerprint[33] = "";
    REQUIRE(nndl_mnist_load(mnist, &train, &valid, NULL, &err) == NNDL_OK);
    CHECK(nndl_dataset_append(train, valid, &err) == NNDL_OK &&
          (all = nndl_dataset_expand(train, &err)) &&
          nndl_dataset_fingerprint((const nndl_dataset *const[]){all}, 1, fingerprint, &err) ==
              NNDL_OK);
    CHECK(nndl_dataset_count(all) == 300000 && fingerprint[0] && strstr(text, fingerprint));
    nndl_dataset_free(all);
    nndl_dataset_free(valid);
    nndl_dataset_free(train);
}
