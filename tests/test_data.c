/* The data layer: datasets, IDX files (good and every kind of bad), MNIST
 * on disk, and downloading it from a file:// mirror. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "nndl.h"

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

static void put_u32_be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Writes `n` bytes to `path`, gzip-compressed if `gz`. */
static int write_bytes(const char *path, const uint8_t *bytes, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f) return 0;
        int ok = n == 0 || gzwrite(f, bytes, (unsigned)n) == (int)n;
        return gzclose(f) == Z_OK && ok;
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = n == 0 || fwrite(bytes, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* An IDX file: header for `dims` (1 or 3) sizes, then `n` data bytes, then
 * `extra` bytes of trailing garbage. `magic` 0 means the right one. */
static int write_idx(const char *path, int gz, uint32_t magic, const uint32_t *sizes,
                     int dims, const uint8_t *data, size_t n, size_t extra)
{
    size_t head = 4 + 4 * (size_t)dims, total = head + n + extra;
    uint8_t *buf = calloc(total, 1);
    if (!buf) return 0;
    put_u32_be(buf, magic ? magic : 0x800u + (uint32_t)dims);
    for (int i = 0; i < dims; i++) put_u32_be(buf + 4 + 4 * i, sizes[i]);
    if (n) memcpy(buf + head, data, n);
    memset(buf + head + n, 0xAB, extra);
    int ok = write_bytes(path, buf, total, gz);
    free(buf);
    return ok;
}

/* The small good pair: 3 images of 2x3 pixels, labels 0, 9, 5. */
static const uint8_t px[18] = {0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255, 9, 8, 7, 6, 5, 4};
static const uint8_t lb[3] = {0, 9, 5};
static const uint32_t im_sizes[3] = {3, 2, 3};
static const uint32_t lb_sizes[1] = {3};

static int write_good_pair(const char *images, const char *labels, int gz)
{
    return write_idx(images, gz, 0, im_sizes, 3, px, sizeof px, 0) &&
           write_idx(labels, gz, 0, lb_sizes, 1, lb, sizeof lb, 0);
}

/* Loads a pair that must fail with `status`, with a message naming `who`
 * and containing `what` (if not NULL). */
static int fails_with(const char *images, const char *labels, nndl_status status,
                      const char *who, const char *what)
{
    nndl_error err = {0};
    nndl_dataset *ds = nndl_idx_load(images, labels, &err);
    int ok = !ds && err.status == status && strstr(err.message, who) &&
             (!what || strstr(err.message, what)) && !strchr(err.message, '\n');
    if (!ok)
        fprintf(stderr, "    got status %d, message \"%s\"; wanted %d naming %s and \"%s\"\n",
                err.status, err.message, status, who, what ? what : "");
    nndl_dataset_free(ds);
    return ok;
}

/* ---- datasets ----------------------------------------------------------- */

TEST(dataset_create_and_access)
{
    nndl_error err;
    nndl_dataset *ds = nndl_dataset_create(4, 2, 3, &err);
    REQUIRE(ds);
    CHECK(nndl_dataset_count(ds) == 4);
    CHECK(nndl_dataset_rows(ds) == 2 && nndl_dataset_cols(ds) == 3);
    CHECK(nndl_dataset_image(ds, 1) == nndl_dataset_image(ds, 0) + 6);
    CHECK(nndl_dataset_image(ds, 4) == NULL);
    for (int i = 0; i < 24; i++) CHECK(nndl_dataset_image(ds, 0)[i] == 0);
    nndl_dataset_image_mut(ds, 3)[5] = 77;
    nndl_dataset_labels_mut(ds)[3] = 8;
    CHECK(nndl_dataset_image(ds, 3)[5] == 77 && nndl_dataset_labels(ds)[3] == 8);
    nndl_dataset_free(ds);
    nndl_dataset_free(NULL);

    CHECK(!nndl_dataset_create(1, 0, 28, &err) && err.status == NNDL_ERR_ARG);
    CHECK(!nndl_dataset_create(1, 28, 5000, &err) && err.status == NNDL_ERR_ARG);
    CHECK(!nndl_dataset_create(SIZE_MAX / 2, 28, 28, &err) && err.status == NNDL_ERR_ARG);
}

TEST(dataset_split_off)
{
    nndl_error err;
    nndl_dataset *ds = nndl_dataset_create(10, 2, 2, &err);
    REQUIRE(ds);
    for (int i = 0; i < 10; i++) {
        for (int j = 0; j < 4; j++) nndl_dataset_image_mut(ds, (size_t)i)[j] = (uint8_t)(10 * i + j);
        nndl_dataset_labels_mut(ds)[i] = (uint8_t)i;
    }
    nndl_dataset *tail = nndl_dataset_split_off(ds, 7, &err);
    REQUIRE(tail);
    CHECK(nndl_dataset_count(ds) == 7 && nndl_dataset_count(tail) == 3);
    CHECK(nndl_dataset_rows(tail) == 2 && nndl_dataset_cols(tail) == 2);
    for (int i = 0; i < 7; i++) {
        CHECK(nndl_dataset_labels(ds)[i] == i);
        CHECK(nndl_dataset_image(ds, (size_t)i)[3] == 10 * i + 3);
    }
    for (int i = 0; i < 3; i++) {
        CHECK(nndl_dataset_labels(tail)[i] == 7 + i);
        for (int j = 0; j < 4; j++) CHECK(nndl_dataset_image(tail, (size_t)i)[j] == 10 * (7 + i) + j);
    }
    CHECK(nndl_dataset_image(ds, 7) == NULL);

    /* Splitting at the end gives an empty set; past the end is an error. */
    nndl_dataset *empty = nndl_dataset_split_off(ds, 7, &err);
    CHECK(empty && nndl_dataset_count(empty) == 0 && nndl_dataset_count(ds) == 7);
    nndl_dataset_free(empty);
    err.status = NNDL_OK;
    CHECK(!nndl_dataset_split_off(ds, 8, &err) && err.status == NNDL_ERR_ARG);
    CHECK(nndl_dataset_count(ds) == 7);
    /* Splitting at 0 moves everything. */
    nndl_dataset *all = nndl_dataset_split_off(tail, 0, &err);
    CHECK(all && nndl_dataset_count(all) == 3 && nndl_dataset_count(tail) == 0);
    CHECK(all && nndl_dataset_labels(all)[2] == 9);
    nndl_dataset_free(all);
    nndl_dataset_free(tail);
    nndl_dataset_free(ds);
}

/* --train-size's cut: the first images and labels stay, in place. */
TEST(dataset_truncate)
{
    nndl_error err;
    nndl_dataset *ds = nndl_dataset_create(10, 3, 2, &err);
    REQUIRE(ds);
    for (int i = 0; i < 10; i++) {
        for (int j = 0; j < 6; j++) nndl_dataset_image_mut(ds, (size_t)i)[j] = (uint8_t)(10 * i + j);
        nndl_dataset_labels_mut(ds)[i] = (uint8_t)(9 - i);
    }
    CHECK(nndl_dataset_truncate(ds, 4, &err) == NNDL_OK);
    CHECK(nndl_dataset_count(ds) == 4 && nndl_dataset_rows(ds) == 3);
    for (int i = 0; i < 4; i++) {
        CHECK(nndl_dataset_labels(ds)[i] == 9 - i);
        CHECK(nndl_dataset_image(ds, (size_t)i)[5] == 10 * i + 5);
    }
    CHECK(nndl_dataset_image(ds, 4) == NULL);
    CHECK(nndl_dataset_truncate(ds, 5, &err) == NNDL_ERR_ARG); /* more than it holds */
    CHECK(nndl_dataset_count(ds) == 4);
    CHECK(nndl_dataset_truncate(ds, 4, &err) == NNDL_OK && nndl_dataset_count(ds) == 4);
    CHECK(nndl_dataset_truncate(ds, 0, &err) == NNDL_OK && nndl_dataset_count(ds) == 0);
    CHECK(nndl_dataset_truncate(NULL, 0, &err) == NNDL_ERR_ARG);
    nndl_dataset_free(ds);
}

/* One dataset's images and labels after another's, in place; images of
 * another size are refused and leave it as it was. */
TEST(dataset_append)
{
    nndl_error err;
    nndl_dataset *ds = nndl_dataset_create(3, 2, 2, &err), *more = nndl_dataset_create(2, 2, 2, &err);
    nndl_dataset *other = nndl_dataset_create(1, 2, 3, &err);
    REQUIRE(ds && more && other);
    for (int i = 0; i < 3; i++) {
        memset(nndl_dataset_image_mut(ds, (size_t)i), 10 + i, 4);
        nndl_dataset_labels_mut(ds)[i] = (uint8_t)i;
    }
    for (int i = 0; i < 2; i++) {
        memset(nndl_dataset_image_mut(more, (size_t)i), 20 + i, 4);
        nndl_dataset_labels_mut(more)[i] = (uint8_t)(7 + i);
    }
    CHECK(nndl_dataset_append(ds, more, &err) == NNDL_OK && nndl_dataset_count(ds) == 5);
    for (int i = 0; i < 5; i++) {
        CHECK(nndl_dataset_image(ds, (size_t)i)[3] == (i < 3 ? 10 + i : 20 + i - 3));
        CHECK(nndl_dataset_labels(ds)[i] == (i < 3 ? i : 7 + i - 3));
    }
    CHECK(nndl_dataset_append(ds, other, &err) == NNDL_ERR_ARG &&
          strstr(err.message, "2x3 pixels onto images of 2x2"));
    CHECK(nndl_dataset_count(ds) == 5 && nndl_dataset_labels(ds)[4] == 8);
    CHECK(nndl_dataset_append(ds, NULL, &err) == NNDL_ERR_ARG);
    CHECK(nndl_dataset_append(NULL, more, &err) == NNDL_ERR_ARG);
    nndl_dataset_free(ds);
    nndl_dataset_free(more);
    nndl_dataset_free(other);
}

/* ---- IDX files ---------------------------------------------------------- */

static void check_good_pair(int gz)
{
    const char *im = tmp_path(gz ? "good-images.gz" : "good-images");
    const char *la = tmp_path(gz ? "good-labels.gz" : "good-labels");
    REQUIRE(write_good_pair(im, la, gz));
    nndl_error err;
    nndl_dataset *ds = nndl_idx_load(im, la, &err);
    REQUIRE(ds);
    CHECK(nndl_dataset_count(ds) == 3);
    CHECK(nndl_dataset_rows(ds) == 2 && nndl_dataset_cols(ds) == 3);
    CHECK(memcmp(nndl_dataset_image(ds, 0), px, sizeof px) == 0);
    CHECK(memcmp(nndl_dataset_labels(ds), lb, sizeof lb) == 0);
    nndl_dataset_free(ds);
}

TEST(idx_good_plain) { check_good_pair(0); }
TEST(idx_good_gzip) { check_good_pair(1); }

TEST(idx_empty_set)
{
    const char *im = tmp_path("none-images"), *la = tmp_path("none-labels");
    uint32_t zero[3] = {0, 28, 28};
    REQUIRE(write_idx(im, 1, 0, zero, 3, NULL, 0, 0) && write_idx(la, 1, 0, zero, 1, NULL, 0, 0));
    nndl_error err;
    nndl_dataset *ds = nndl_idx_load(im, la, &err);
    CHECK(ds && nndl_dataset_count(ds) == 0 && nndl_dataset_rows(ds) == 28);
    nndl_dataset_free(ds);
}

TEST(idx_truncated)
{
    for (int gz = 0; gz < 2; gz++) {
        const char *im = tmp_path("trunc-images"), *la = tmp_path("trunc-labels");
        const char *goodim = tmp_path("trunc-good-images"), *goodla = tmp_path("trunc-good-labels");
        REQUIRE(write_good_pair(goodim, goodla, gz));
        /* Two and a half images of the three declared. */
        REQUIRE(write_idx(im, gz, 0, im_sizes, 3, px, 15, 0));
        CHECK(fails_with(im, goodla, NNDL_ERR_FORMAT, im, "truncated"));
        CHECK(fails_with(im, goodla, NNDL_ERR_FORMAT, im, "3 images (18 bytes)"));
        CHECK(fails_with(im, goodla, NNDL_ERR_FORMAT, im, "15 bytes (2 whole images)"));
        REQUIRE(write_idx(la, gz, 0, lb_sizes, 1, lb, 2, 0));
        CHECK(fails_with(goodim, la, NNDL_ERR_FORMAT, la, "3 labels"));
        /* A header cut short. */
        uint8_t head[10] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0};
        REQUIRE(write_bytes(im, head, sizeof head, gz));
        CHECK(fails_with(im, goodla, NNDL_ERR_FORMAT, im, "header"));
    }
}

TEST(idx_truncated_gzip_stream)
{
    /* A real gzip file cut in the middle of its compressed data. */
    const char *full = tmp_path("cut-full.gz"), *cut = tmp_path("cut-images.gz");
    const char *la = tmp_path("cut-labels");
    enum { N = 2000 };
    static uint8_t pixels[N * 28 * 28];
    for (size_t i = 0; i < sizeof pixels; i++) pixels[i] = (uint8_t)(i * 2654435761u >> 13);
    uint32_t sizes[3] = {N, 28, 28};
    static uint8_t labels[N];
    REQUIRE(write_idx(full, 1, 0, sizes, 3, pixels, sizeof pixels, 0));
    REQUIRE(write_idx(la, 0, 0, sizes, 1, labels, N, 0));
    FILE *f = fopen(full, "rb");
    REQUIRE(f);
    static uint8_t bytes[2 * sizeof pixels];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    REQUIRE(n > 1000);
    REQUIRE(write_bytes(cut, bytes, n / 2, 0));
    CHECK(fails_with(cut, la, NNDL_ERR_FORMAT, cut, "truncated"));
}

TEST(idx_trailing_garbage)
{
    for (int gz = 0; gz < 2; gz++) {
        const char *im = tmp_path("trail-images"), *la = tmp_path("trail-labels");
        const char *goodim = tmp_path("trail-good-images"), *goodla = tmp_path("trail-good-labels");
        REQUIRE(write_good_pair(goodim, goodla, gz));
        REQUIRE(write_idx(im, gz, 0, im_sizes, 3, px, sizeof px, 1));
        CHECK(fails_with(im, goodla, NNDL_ERR_FORMAT, im, "trailing"));
        REQUIRE(write_idx(la, gz, 0, lb_sizes, 1, lb, sizeof lb, 100));
        CHECK(fails_with(goodim, la, NNDL_ERR_FORMAT, la, "trailing"));
    }
}

/* The bytes of `path` into buf (capacity cap); their count. */
static size_t read_all(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap, f) : 0;
    if (f) fclose(f);
    return n;
}

TEST(idx_gzip_streams_are_checked_to_their_end)
{
    /* 3000 labels, compressed at level 0: stored blocks, where the labels
     * stand as they are, 8 bytes of CRC-32 and length at the end */
    enum { N = 3000 };
    static uint8_t file[N + 8];
    memcpy(file, "\0\0\x08\x01", 4);
    put_u32_be(file + 4, N);
    for (int i = 0; i < N; i++) file[8 + i] = (uint8_t)(i * 7 % 10);
    const char *stored = tmp_path("stored-labels.gz"), *la = tmp_path("check-labels.gz");
    gzFile gz = gzopen(stored, "wb0");
    REQUIRE(gz && gzwrite(gz, file, sizeof file) == (int)sizeof file && gzclose(gz) == Z_OK);
    static uint8_t bytes[2 * N + 1000];
    size_t n = read_all(stored, bytes, sizeof bytes);
    REQUIRE(n > N + 18 && n < sizeof bytes - 100);
    uint32_t im_n[3] = {N, 1, 1};
    static uint8_t pixels[N];
    const char *im = tmp_path("check-images");
    REQUIRE(write_idx(im, 0, 0, im_n, 3, pixels, N, 0));
    REQUIRE(write_bytes(la, bytes, n, 0));
    nndl_error err;
    nndl_dataset *ds = nndl_idx_load(im, la, &err);
    CHECK(ds && nndl_dataset_count(ds) == N);
    nndl_dataset_free(ds);

    /* cut inside its trailer, or before it */
    for (size_t cut = 1; cut <= 8; cut++) {
        REQUIRE(write_bytes(la, bytes, n - cut, 0));
        if (!fails_with(im, la, NNDL_ERR_FORMAT, la, "truncated gzip stream"))
            fprintf(stderr, "    cut %zu bytes\n", cut);
    }
    /* a label changed from 7 to 8 in a stored block: the CRC-32 says so,
     * and without the trailer the stream is cut */
    uint8_t *label = memchr(bytes + 20, 7, n - 20);
    REQUIRE(label);
    *label = 8;
    REQUIRE(write_bytes(la, bytes, n, 0));
    CHECK(fails_with(im, la, NNDL_ERR_FORMAT, la, "incorrect data check"));
    REQUIRE(write_bytes(la, bytes, n - 8, 0));
    CHECK(fails_with(im, la, NNDL_ERR_FORMAT, la, "truncated gzip stream"));
    *label = 7;

    /* after the stream: garbage is refused, another member is read and
     * checked too */
    memcpy(bytes + n, "garbage", 7);
    REQUIRE(write_bytes(la, bytes, n + 7, 0));
    CHECK(fails_with(im, la, NNDL_ERR_FORMAT, la, "trailing bytes after the end of the gzip"));
    REQUIRE(write_bytes(la, bytes, n + 1, 0));
    CHECK(fails_with(im, la, NNDL_ERR_FORMAT, la, "trailing bytes"));
    const char *empty = tmp_path("empty-member.gz");
    gz = gzopen(empty, "wb");
    REQUIRE(gz && gzclose(gz) == Z_OK);
    size_t m = read_all(empty, bytes + n, sizeof bytes - n);
    REQUIRE(m > 18);
    REQUIRE(write_bytes(la, bytes, n + m, 0));
    ds = nndl_idx_load(im, la, &err);
    CHECK(ds && nndl_dataset_count(ds) == N);
    nndl_dataset_free(ds);
    bytes[n + m - 5] ^= 1; /* that member's CRC-32 */
    REQUIRE(write_bytes(la, bytes, n + m, 0));
    CHECK(fails_with(im, la, NNDL_ERR_FORMAT, la, "incorrect data check"));
}

TEST(idx_wrong_magic_and_dims)
{
    const char *im = tmp_path("magic-images.gz"), *la = tmp_path("magic-labels.gz");
    REQUIRE(write_good_pair(im, la, 1));
    /* The two files swapped: each has the other's magic. */
    CHECK(fails_with(la, im, NNDL_ERR_FORMAT, la, "wrong magic number 0x00000801"));
    CHECK(fails_with(la, im, NNDL_ERR_FORMAT, la, "expected 2051"));
    CHECK(fails_with(im, im, NNDL_ERR_FORMAT, im, "expected 2049"));
    /* Another element type (0x0D, float) with three dimensions. */
    const char *fl = tmp_path("float-images");
    REQUIRE(write_idx(fl, 0, 0x00000D03, im_sizes, 3, px, sizeof px, 0));
    CHECK(fails_with(fl, la, NNDL_ERR_FORMAT, fl, "wrong magic number 0x00000d03"));
    /* Unsigned bytes but two dimensions. */
    const char *two = tmp_path("two-dims");
    REQUIRE(write_idx(two, 0, 0x00000802, im_sizes, 2, px, sizeof px, 0));
    CHECK(fails_with(two, la, NNDL_ERR_FORMAT, two, "2 dimensions"));
}

TEST(idx_count_mismatch)
{
    const char *im = tmp_path("mis-images"), *la = tmp_path("mis-labels");
    uint32_t two[1] = {2};
    REQUIRE(write_idx(im, 0, 0, im_sizes, 3, px, sizeof px, 0));
    REQUIRE(write_idx(la, 0, 0, two, 1, lb, 2, 0));
    CHECK(fails_with(im, la, NNDL_ERR_FORMAT, la, "2 labels"));
    CHECK(fails_with(im, la, NNDL_ERR_FORMAT, im, "3 images"));
}

TEST(idx_labels_are_class_numbers_and_mnist_wants_digits)
{
    const char *im = tmp_path("ten-images"), *la = tmp_path("ten-labels");
    uint8_t eleven[3] = {0, 9, 10};
    REQUIRE(write_idx(im, 0, 0, im_sizes, 3, px, sizeof px, 0));
    REQUIRE(write_idx(la, 0, 0, lb_sizes, 1, eleven, 3, 0));
    nndl_error err;
    nndl_dataset *ds = nndl_idx_load(im, la, &err);
    REQUIRE(ds);
    CHECK(nndl_dataset_labels(ds)[2] == 10);
    nndl_dataset_free(ds);
    /* MNIST's own files must hold digits */
    nndl_data_files files;
    for (int k = 0; k < 4; k++)
        snprintf(files.path[k], sizeof files.path[k], "somewhere/%s", nndl_mnist_files[k]);
    nndl_data_info info = {.training = 60000, .validation = 10000, .rows = 28, .cols = 28,
                           .classes = 11};
    CHECK(nndl_mnist_check(&files, &info, &err) == NNDL_ERR_FORMAT);
    CHECK(strstr(err.message, "label 10 is not a digit") &&
          strstr(err.message, "somewhere/train-labels-idx1-ubyte.gz"));
    info.classes = 10;
    CHECK(nndl_mnist_check(&files, &info, &err) == NNDL_OK);
    info.rows = 32;
    CHECK(nndl_mnist_check(&files, &info, &err) == NNDL_ERR_FORMAT && strstr(err.message, "32x28"));
}

TEST(idx_bad_image_sides)
{
    const char *im = tmp_path("side-images"), *la = tmp_path("side-labels");
    REQUIRE(write_idx(la, 0, 0, lb_sizes, 1, lb, sizeof lb, 0));
    uint32_t zero_rows[3] = {3, 0, 3}, wide[3] = {3, 2, 5000};
    REQUIRE(write_idx(im, 0, 0, zero_rows, 3, NULL, 0, 0));
    CHECK(fails_with(im, la, NNDL_ERR_FORMAT, im, "0x3 pixels"));
    REQUIRE(write_idx(im, 0, 0, wide, 3, px, sizeof px, 0));
    CHECK(fails_with(im, la, NNDL_ERR_FORMAT, im, "2x5000 pixels"));
}

TEST(idx_oversized_header_rejected_quickly)
{
    const char *im = tmp_path("huge-images"), *la = tmp_path("huge-labels");
    uint32_t many[3] = {4000000000u, 28, 28}, big[3] = {10000000, 4096, 4096};
    REQUIRE(write_idx(la, 0, 0, lb_sizes, 1, lb, sizeof lb, 0));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    REQUIRE(write_idx(im, 0, 0, many, 3, px, sizeof px, 0));
    CHECK(fails_with(im, la, NNDL_ERR_FORMAT, im, "NNDL_MAX_IMAGES"));
    REQUIRE(write_idx(im, 1, 0, big, 3, px, sizeof px, 0));
    CHECK(fails_with(im, la, NNDL_ERR_FORMAT, im, "NNDL_MAX_DATA_BYTES"));
    uint32_t many_labels[1] = {4000000000u};
    const char *goodim = tmp_path("huge-good-images");
    REQUIRE(write_idx(goodim, 0, 0, im_sizes, 3, px, sizeof px, 0));
    REQUIRE(write_idx(la, 0, 0, many_labels, 1, lb, sizeof lb, 0));
    CHECK(fails_with(goodim, la, NNDL_ERR_FORMAT, la, "NNDL_MAX_IMAGES"));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK((double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9 < 1.0);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* A header within the limits (1.9 GB of pixels) on a file of a few bytes
 * must cost one read chunk, not the declared size: in a child process
 * whose address space is capped at 256 MiB more than it uses now, the
 * load must fail as "truncated", not as "out of memory". */
TEST(idx_hostile_header_small_allocation)
{
    const char *im = tmp_path("hostile-images"), *la = tmp_path("hostile-labels");
    uint32_t sizes[3] = {2400000, 28, 28};
    REQUIRE(write_idx(im, 1, 0, sizes, 3, px, sizeof px, 0));
    static uint8_t labels[2400000];
    REQUIRE(write_idx(la, 1, 0, sizes, 1, labels, sizeof labels, 0));
    CHECK(fails_with(im, la, NNDL_ERR_FORMAT, im, "2400000 images (1881600000 bytes)"));
#if defined(__linux__) && !defined(UNDER_ASAN)
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        long pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (!f || fscanf(f, "%ld", &pages) != 1) _exit(3);
        fclose(f);
        rlim_t cap = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (256u << 20);
        struct rlimit rl = {cap, cap};
        if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(4);
        nndl_error err;
        nndl_dataset *ds = nndl_idx_load(im, la, &err);
        _exit(!ds && err.status == NNDL_ERR_FORMAT ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#endif
}

TEST(idx_missing_empty_and_foreign_files)
{
    const char *goodim = tmp_path("good-images"), *goodla = tmp_path("good-labels");
    REQUIRE(write_good_pair(goodim, goodla, 0));
    const char *missing = tmp_path("no-such-file.gz");
    CHECK(fails_with(missing, goodla, NNDL_ERR_IO, missing, "cannot open"));
    CHECK(fails_with(goodim, missing, NNDL_ERR_IO, missing, "cannot open"));

    const char *empty = tmp_path("empty");
    REQUIRE(write_bytes(empty, NULL, 0, 0));
    CHECK(fails_with(empty, goodla, NNDL_ERR_FORMAT, empty, "empty"));
    const char *empty_gz = tmp_path("empty.gz");
    REQUIRE(write_bytes(empty_gz, NULL, 0, 1));
    CHECK(fails_with(empty_gz, goodla, NNDL_ERR_FORMAT, empty_gz, "empty"));

    /* Random bytes: zlib reads a non-gzip file as plain. */
    uint8_t noise[1000];
    for (size_t i = 0; i < sizeof noise; i++) noise[i] = (uint8_t)(i * 2654435761u >> 7 | 1);
    const char *rnd = tmp_path("random.gz");
    REQUIRE(write_bytes(rnd, noise, sizeof noise, 0));
    CHECK(fails_with(rnd, goodla, NNDL_ERR_FORMAT, rnd, "magic"));

    /* A gzip header followed by noise: damaged compressed data. */
    uint8_t fake[1000];
    memcpy(fake, noise, sizeof fake);
    memcpy(fake, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
    fake[10] = 0xff; /* a reserved block type: damaged whatever follows */
    const char *dam = tmp_path("damaged.gz");
    REQUIRE(write_bytes(dam, fake, sizeof fake, 0));
    CHECK(fails_with(dam, goodla, NNDL_ERR_FORMAT, dam, "gzip"));

    /* A directory is not a file. */
    CHECK(fails_with(test_tmpdir(), goodla, NNDL_ERR_IO, test_tmpdir(), NULL));
    nndl_error err;
    CHECK(!nndl_idx_load(NULL, goodla, &err) && err.status == NNDL_ERR_ARG);
}

/* ---- MNIST -------------------------------------------------------------- */

/* Copies `from` to `to`. */
static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    int ok = in && out;
    char buf[1 << 16];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, n, out) == n;
    if (in) fclose(in);
    if (out) ok = fclose(out) == 0 && ok;
    return ok;
}

/* A fresh directory in the scratch space. */
static const char *tmp_dir(const char *name)
{
    const char *d = tmp_path(name);
    return mkdir(d, 0777) == 0 || errno == EEXIST ? d : NULL;
}

/* Restores NNDL_DATA after a test changes it. */
static void set_data_env(const char *value, const char *saved)
{
    if (value) setenv("NNDL_DATA", value, 1);
    else if (saved) setenv("NNDL_DATA", saved, 1);
    else unsetenv("NNDL_DATA");
}

TEST(mnist_find_layouts)
{
    const char *real = test_mnist_dir();
    REQUIRE(real);
    char real_abs[4096];
    REQUIRE(realpath(real, real_abs));
    const char *env = getenv("NNDL_DATA");
    char saved[4096] = "";
    if (env) snprintf(saved, sizeof saved, "%s", env);
    const char *keep = env ? saved : NULL;
    char cwd[4096];
    REQUIRE(getcwd(cwd, sizeof cwd));

    /* A data root holding mnist/ (the files as symlinks). */
    const char *root = tmp_dir("root");
    REQUIRE(root && tmp_dir("root/mnist"));
    char from[4200], to[4200];
    for (int i = 0; i < 4; i++) {
        snprintf(from, sizeof from, "%s/%s", real_abs, nndl_mnist_files[i]);
        snprintf(to, sizeof to, "%s/mnist/%s", root, nndl_mnist_files[i]);
        CHECK(symlink(from, to) == 0 || errno == EEXIST);
    }
    char dir[4096], want[4200];
    nndl_error err;
    set_data_env(root, keep);
    CHECK(nndl_mnist_find(dir, sizeof dir, &err) == NNDL_OK);
    snprintf(want, sizeof want, "%s/mnist", root);
    CHECK(strcmp(dir, want) == 0);
    /* NNDL_DATA pointing at the MNIST directory itself, as CI sets it. */
    set_data_env(real_abs, keep);
    CHECK(nndl_mnist_find(dir, sizeof dir, &err) == NNDL_OK && strcmp(dir, real_abs) == 0);
    /* Unpacked, as many downloads leave them (here: links without .gz,
     * the reader tells gzip by its first bytes); and their MD5 sums. */
    const char *unpacked = tmp_dir("unpacked");
    REQUIRE(unpacked);
    for (int i = 0; i < 4; i++) {
        snprintf(from, sizeof from, "%s/%s", real_abs, nndl_mnist_files[i]);
        snprintf(to, sizeof to, "%s/%.*s", unpacked, (int)strlen(nndl_mnist_files[i]) - 3,
                 nndl_mnist_files[i]);
        CHECK(symlink(from, to) == 0 || errno == EEXIST);
    }
    set_data_env(unpacked, keep);
    CHECK(nndl_mnist_find(dir, sizeof dir, &err) == NNDL_OK && strcmp(dir, unpacked) == 0);
    CHECK(nndl_mnist_verify(dir, &err) == NNDL_OK);
    nndl_dataset *test_part = NULL;
    CHECK(nndl_mnist_load(dir, NULL, NULL, &test_part, &err) == NNDL_OK &&
          nndl_dataset_count(test_part) == 10000);
    nndl_dataset_free(test_part);
    set_data_env(real_abs, keep);
    /* Too small an output buffer. */
    char tiny[4] = "abc";
    CHECK(nndl_mnist_find(tiny, sizeof tiny, &err) == NNDL_ERR_ARG);
    CHECK(strcmp(tiny, "abc") == 0);

    /* Nowhere: run from an empty directory so ./data/mnist is absent too. */
    const char *empty = tmp_dir("nowhere");
    REQUIRE(empty && chdir(empty) == 0);
    set_data_env(empty, keep);
    nndl_status st = nndl_mnist_find(dir, sizeof dir, &err);
    CHECK(st == NNDL_ERR_NOT_FOUND && err.status == NNDL_ERR_NOT_FOUND);
    CHECK(strstr(err.message, "nndl data") && strstr(err.message, "data/mnist"));
    CHECK(strstr(err.message, empty) && strstr(err.message, "train-images-idx3-ubyte.gz"));
    unsetenv("NNDL_DATA");
    CHECK(nndl_mnist_find(dir, sizeof dir, &err) == NNDL_ERR_NOT_FOUND);
    CHECK(strstr(err.message, "nndl data") != NULL);
    /* ./data/mnist, relative to the working directory. */
    REQUIRE(tmp_dir("nowhere/data"));
    CHECK(symlink(real_abs, "data/mnist") == 0);
    CHECK(nndl_mnist_find(dir, sizeof dir, &err) == NNDL_OK && strcmp(dir, "data/mnist") == 0);
    CHECK(chdir(cwd) == 0);
    set_data_env(NULL, keep);
}

TEST(mnist_load_book_split)
{
    const char *dir = test_mnist_dir();
    REQUIRE(dir);
    nndl_dataset *train = NULL, *valid = NULL, *test = NULL;
    nndl_error err;
    REQUIRE(nndl_mnist_load(dir, &train, &valid, &test, &err) == NNDL_OK);
    CHECK(nndl_dataset_count(train) == 50000);
    CHECK(nndl_dataset_count(valid) == 10000);
    CHECK(nndl_dataset_count(test) == 10000);
    CHECK(nndl_dataset_rows(train) == 28 && nndl_dataset_cols(train) == 28);
    CHECK(nndl_dataset_rows(valid) == 28 && nndl_dataset_cols(test) == 28);
    CHECK(nndl_dataset_labels(train)[0] == 5);
    CHECK(nndl_dataset_labels(test)[0] == 7);

    /* Validation is images 50,000..59,999 of the training file. */
    char im[4200], la[4200];
    snprintf(im, sizeof im, "%s/%s", dir, nndl_mnist_files[0]);
    snprintf(la, sizeof la, "%s/%s", dir, nndl_mnist_files[1]);
    nndl_dataset *all = nndl_idx_load(im, la, &err);
    REQUIRE(all);
    CHECK(nndl_dataset_count(all) == 60000);
    CHECK(memcmp(nndl_dataset_image(valid, 9999), nndl_dataset_image(all, 59999), 784) == 0);
    CHECK(memcmp(nndl_dataset_image(valid, 0), nndl_dataset_image(all, 50000), 784) == 0);
    CHECK(memcmp(nndl_dataset_image(train, 49999), nndl_dataset_image(all, 49999), 784) == 0);
    CHECK(memcmp(nndl_dataset_labels(valid), nndl_dataset_labels(all) + 50000, 10000) == 0);
    CHECK(memcmp(nndl_dataset_labels(train), nndl_dataset_labels(all), 50000) == 0);
    nndl_dataset_free(all);
    nndl_dataset_free(train);
    nndl_dataset_free(valid);
    nndl_dataset_free(test);

    /* Only the parts asked for. */
    test = NULL;
    CHECK(nndl_mnist_load(dir, NULL, NULL, &test, &err) == NNDL_OK);
    CHECK(nndl_dataset_count(test) == 10000);
    nndl_dataset_free(test);
    valid = NULL;
    CHECK(nndl_mnist_load(dir, NULL, &valid, NULL, NULL) == NNDL_OK);
    CHECK(nndl_dataset_count(valid) == 10000 && nndl_dataset_labels(valid)[9999] == 8);
    nndl_dataset_free(valid);
}

TEST(mnist_load_wrong_sizes)
{
    /* Good IDX files under MNIST's names, but 3 images of 2x3. */
    const char *dir = tmp_dir("tiny-mnist");
    REQUIRE(dir);
    char im[600], la[600];
    for (int i = 0; i < 4; i += 2) {
        snprintf(im, sizeof im, "%s/%s", dir, nndl_mnist_files[i]);
        snprintf(la, sizeof la, "%s/%s", dir, nndl_mnist_files[i + 1]);
        REQUIRE(write_good_pair(im, la, 1));
    }
    nndl_dataset *train = NULL, *test = NULL;
    nndl_error err;
    CHECK(nndl_mnist_load(dir, &train, NULL, &test, &err) == NNDL_ERR_FORMAT);
    CHECK(strstr(err.message, "train-images-idx3-ubyte.gz") && strstr(err.message, "60000"));
    CHECK(train == NULL && test == NULL);
    CHECK(nndl_mnist_load(dir, NULL, NULL, &test, &err) == NNDL_ERR_FORMAT);
    CHECK(strstr(err.message, "t10k-images-idx3-ubyte.gz") && test == NULL);
    CHECK(nndl_mnist_load(tmp_path("no-dir"), &train, NULL, NULL, &err) == NNDL_ERR_NOT_FOUND);
    CHECK(strstr(err.message, "no-dir: not a directory") != NULL);
}

TEST(mnist_verify)
{
    const char *real = test_mnist_dir();
    REQUIRE(real);
    nndl_error err;
    CHECK(nndl_mnist_verify(real, &err) == NNDL_OK);

    /* One file replaced by a valid gzip of other content. */
    const char *dir = tmp_dir("verify");
    REQUIRE(dir);
    char from[4200], to[4200];
    for (int i = 0; i < 4; i++) {
        snprintf(from, sizeof from, "%s/%s", real, nndl_mnist_files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, nndl_mnist_files[i]);
        REQUIRE(i == 3 ? write_good_pair(tmp_path("unused"), to, 1) : copy_file(from, to));
    }
    CHECK(nndl_mnist_verify(dir, &err) == NNDL_ERR_FORMAT);
    CHECK(strstr(err.message, "t10k-labels-idx1-ubyte.gz") && strstr(err.message, "MD5"));
    CHECK(strstr(err.message, "27ae3e4e09519cfbb04c329615203637") != NULL);
    snprintf(to, sizeof to, "%s/%s", dir, nndl_mnist_files[0]);
    CHECK(unlink(to) == 0);
    CHECK(nndl_mnist_verify(dir, &err) == NNDL_ERR_NOT_FOUND);
    CHECK(strstr(err.message, "train-images-idx3-ubyte.gz") != NULL);
}

/* Sets the mirror to file://`dir`/ and allows no other. */
static void use_only_mirror(const char *dir)
{
    char url[4200];
    snprintf(url, sizeof url, "file://%s/", dir);
    setenv("NNDL_MNIST_MIRROR", url, 1);
    setenv("NNDL_MNIST_MIRROR_ONLY", "1", 1);
}

static void clear_mirror(void)
{
    unsetenv("NNDL_MNIST_MIRROR");
    unsetenv("NNDL_MNIST_MIRROR_ONLY");
}

TEST(mnist_download_from_file_mirror)
{
    const char *real = test_mnist_dir();
    REQUIRE(real);
    char real_abs[4096];
    REQUIRE(realpath(real, real_abs));
    use_only_mirror(real_abs);
    /* Into a directory that does not exist yet, parents included. */
    const char *dir = tmp_path("download/a/mnist");
    nndl_error err = {0};
    nndl_status st = nndl_mnist_download(dir, &err);
    CHECK(st == NNDL_OK);
    if (st) fprintf(stderr, "    %s\n", err.message);
    CHECK(nndl_mnist_verify(dir, &err) == NNDL_OK);
    char path[600];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, nndl_mnist_files[2]);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0444) == 0444);

    /* Present and correct files are kept: no mirror is needed now. */
    use_only_mirror(tmp_path("no-such-mirror"));
    CHECK(nndl_mnist_download(dir, &err) == NNDL_OK);
    clear_mirror();
}

TEST(mnist_download_failures)
{
    const char *real = test_mnist_dir();
    REQUIRE(real);
    char real_abs[4096];
    REQUIRE(realpath(real, real_abs));

    /* A mirror serving a wrong (but valid gzip) train-labels file. */
    const char *mirror = tmp_dir("bad-mirror");
    REQUIRE(mirror);
    char from[4200], to[4200];
    for (int i = 0; i < 4; i++) {
        snprintf(from, sizeof from, "%s/%s", real_abs, nndl_mnist_files[i]);
        snprintf(to, sizeof to, "%s/%s", mirror, nndl_mnist_files[i]);
        REQUIRE(i == 1 ? write_good_pair(tmp_path("unused"), to, 1) : symlink(from, to) == 0);
    }
    use_only_mirror(mirror);
    const char *dir = tmp_path("download-bad");
    nndl_error err = {0};
    CHECK(nndl_mnist_download(dir, &err) == NNDL_ERR_NETWORK);
    CHECK(strstr(err.message, "train-labels-idx1-ubyte.gz") && strstr(err.message, "MD5"));
    CHECK(strstr(err.message, mirror) && strstr(err.message, dir));
    /* Nothing is left under the real name, and no temporary file either. */
    snprintf(to, sizeof to, "%s/%s", dir, nndl_mnist_files[1]);
    CHECK(access(to, F_OK) != 0);
    snprintf(to, sizeof to, "%s/%s", dir, nndl_mnist_files[0]);
    CHECK(access(to, F_OK) == 0); /* the file before it did arrive */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep '^\\.')\"", dir);
    CHECK(system(cmd) == 0);

    /* A mirror that does not exist: one line saying where to put the files. */
    const char *gone = tmp_path("gone");
    use_only_mirror(gone);
    const char *dir2 = tmp_path("download-none");
    CHECK(nndl_mnist_download(dir2, &err) == NNDL_ERR_NETWORK);
    CHECK(strstr(err.message, "train-images-idx3-ubyte.gz") && strstr(err.message, gone));
    CHECK(strstr(err.message, dir2) && strstr(err.message, "by hand"));
    CHECK(strchr(err.message, '\n') == NULL);

    /* Without _ONLY the public mirrors follow the failed one; do not reach
     * for them here, but an unwritable target fails before any transfer. */
    setenv("NNDL_MNIST_MIRROR_ONLY", "0", 1);
    const char *file = tmp_path("a-file");
    REQUIRE(write_bytes(file, lb, sizeof lb, 0));
    char under[600];
    snprintf(under, sizeof under, "%s/mnist", file);
    CHECK(nndl_mnist_download(under, &err) == NNDL_ERR_IO);
    CHECK(strstr(err.message, file) != NULL);
    clear_mirror();
}
