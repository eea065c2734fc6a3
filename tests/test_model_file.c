/* Model files (src/model/model_file.c, docs/MODEL_FORMAT.md): round trips,
 * the byte layout the document promises (version 2, version 3 for layers
 * with shapes, and version 1 still loading), the metadata block, and
 * rejection of damaged, truncated, hostile and foreign files; atomic
 * saving. */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "common/byteio.h"
#include "model/model_file.h"
#include "nndl.h"

/* ---- Helpers ------------------------------------------------------------ */

/* A directory of our own, so that scanning it for temporary files sees only
 * what these tests made. */
static const char *model_dir(void)
{
    static char dir[512];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/model-file", test_tmpdir());
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            perror(dir);
            exit(2);
        }
    }
    return dir;
}

static const char *path_in(char *buf, size_t cap, const char *dir, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
    return buf;
}

/* The whole file, or NULL; *len receives its length. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (!bigger) free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static int spit(const char *path, const uint8_t *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t put = len ? fwrite(bytes, 1, len, f) : 0;
    return (fclose(f) == 0 && put == len) ? 0 : -1;
}

/* Stores the CRC-32 of everything before the last four bytes in them, as a
 * writer of a well-formed (if odd) file would. */
static void fix_crc(uint8_t *bytes, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, bytes, (uInt)(len - 4));
    write_u32_le(bytes + len - 4, (uint32_t)crc);
}

static nndl_net *make_net(int n, const int *sizes, uint64_t seed)
{
    nndl_net_spec spec = nndl_net_spec_default(n, sizes);
    spec.seed = seed;
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    if (!net) test_fail(__FILE__, __LINE__, "nndl_net_create: %s", err.message);
    return net;
}

/* Entries of dir whose name marks a temporary file of a save. */
static int count_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

/* Loading `path` must fail with `status`, and a one-line message that
 * names the file and contains `needle`. Returns 1 if it did. */
static int load_fails(const char *path, nndl_status status, const char *needle, int line)
{
    nndl_error err = {NNDL_OK, ""};
    nndl_net *net = nndl_net_load(path, &err);
    if (net) {
        nndl_net_free(net);
        test_fail(__FILE__, line, "%s: loaded, expected \"%s\"", path, needle);
        return 0;
    }
    if (err.status != status || !strstr(err.message, path) || !strstr(err.message, needle) ||
        strchr(err.message, '\n')) {
        test_fail(__FILE__, line, "status %s, message \"%s\"; expected %s and \"%s\"",
                  nndl_status_name(err.status), err.message, nndl_status_name(status), needle);
        return 0;
    }
    /* Without an error record the result is the same. */
    if ((net = nndl_net_load(path, NULL))) {
        nndl_net_free(net);
        test_fail(__FILE__, line, "%s: loaded when err was NULL", path);
        return 0;
    }
    return 1;
}
#define LOAD_FAILS(path, status, needle) load_fails(path, status, needle, __LINE__)

/* A model file saved from [5,4,3] with seed 42: 228 bytes (see the layout
 * test). The caller frees it. */
static const int small_sizes[3] = {5, 4, 3};
enum { SMALL_LEN = 228, SMALL_PARAMS = 39, SMALL_HEADER = 68 };

static uint8_t *small_model_bytes(void)
{
    char path[600];
    nndl_net *net = make_net(3, small_sizes, 42);
    if (!net) return NULL;
    nndl_error err;
    path_in(path, sizeof path, model_dir(), "small.nndl");
    nndl_status st = nndl_net_save(net, path, &err);
    nndl_net_free(net);
    if (st != NNDL_OK) {
        test_fail(__FILE__, __LINE__, "save: %s", err.message);
        return NULL;
    }
    size_t len = 0;
    uint8_t *bytes = slurp(path, &len);
    if (bytes && len != SMALL_LEN) {
        test_fail(__FILE__, __LINE__, "small model is %zu bytes, expected %d", len, SMALL_LEN);
        free(bytes);
        return NULL;
    }
    return bytes;
}

/* ---- Round trips -------------------------------------------------------- */

static void round_trip_net(nndl_net *net, const char *name)
{
    char path[600], again[620];
    path_in(path, sizeof path, model_dir(), name);
    snprintf(again, sizeof again, "%s.again", path);
    int n = nndl_net_n_sizes(net);

    /* Values that a careless encoding would change: signed zero, the
     * smallest subnormal, the extremes. */
    float *p = nndl_net_params(net);
    size_t count = nndl_net_param_count(net);
    REQUIRE(count >= 6);
    p[0] = -0.0f;
    p[1] = FLT_TRUE_MIN;
    p[2] = -FLT_TRUE_MIN;
    p[3] = FLT_MAX;
    p[4] = -FLT_MAX;
    p[count - 1] = FLT_MIN;

    nndl_error err;
    nndl_status st = nndl_net_save(net, path, &err);
    if (st != NNDL_OK) fprintf(stderr, "    %s\n", err.message);
    CHECK(st == NNDL_OK);
    nndl_net *back = nndl_net_load(path, &err);
    if (!back) fprintf(stderr, "    %s\n", err.message);
    if (back) {
        CHECK(nndl_net_n_sizes(back) == n);
        for (int l = 0; l < n; l++) CHECK(nndl_net_size(back, l) == nndl_net_size(net, l));
        CHECK(nndl_net_cost(back) == nndl_net_cost(net));
        for (int l = 1; l < n; l++)
            CHECK(nndl_net_activation(back, l) == nndl_net_activation(net, l));
        CHECK(nndl_net_init(back) == nndl_net_init(net));
        CHECK(nndl_net_seed(back) == nndl_net_seed(net));
        CHECK(nndl_net_param_count(back) == count);
        CHECK(memcmp(nndl_net_params_const(back), p, count * sizeof(float)) == 0);

        /* Saving what was loaded writes the same bytes. */
        CHECK(nndl_net_save(back, again, &err) == NNDL_OK);
        size_t len1 = 0, len2 = 0;
        uint8_t *b1 = slurp(path, &len1), *b2 = slurp(again, &len2);
        CHECK(b1 && b2 && len1 == len2 && memcmp(b1, b2, len1) == 0);
        CHECK(len1 == 48 + 8 * (size_t)n + 4 * count);
        free(b1);
        free(b2);
        nndl_net_free(back);
    }
    CHECK(count_temp_files(model_dir()) == 0);
}

static void round_trip(int n, const int *sizes, uint64_t seed, const char *name)
{
    nndl_net *net = make_net(n, sizes, seed);
    REQUIRE(net);
    round_trip_net(net, name);
    nndl_net_free(net);
}

TEST(model_round_trip_5_4_3) { round_trip(3, small_sizes, 42, "rt-small.nndl"); }

/* Chapter 3's kinds: each hidden layer its own activation, a softmax output
 * with the log-likelihood cost, either initialization. */
TEST(model_round_trip_tanh_relu_softmax)
{
    static const int sizes[5] = {6, 5, 4, 3, 3};
    static const nndl_activation hidden[3] = {NNDL_ACT_TANH, NNDL_ACT_RELU, NNDL_ACT_SIGMOID};
    static const struct {
        nndl_cost cost;
        nndl_init init;
        nndl_activation out;
    } kinds[] = {
        {NNDL_COST_LOG_LIKELIHOOD, NNDL_INIT_SCALED, NNDL_ACT_SOFTMAX},
        {NNDL_COST_CROSS_ENTROPY, NNDL_INIT_LARGE, NNDL_ACT_SIGMOID},
        {NNDL_COST_QUADRATIC, NNDL_INIT_SCALED, NNDL_ACT_SIGMOID},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        nndl_net_spec spec = nndl_net_spec_default(5, sizes);
        spec.cost = kinds[i].cost;
        spec.hidden_acts = hidden;
        spec.init = kinds[i].init;
        spec.seed = 1000 + i;
        nndl_error err;
        nndl_net *net = nndl_net_create(&spec, &err);
        if (!net) test_fail(__FILE__, __LINE__, "nndl_net_create: %s", err.message);
        REQUIRE(net);
        CHECK(nndl_net_activation(net, 1) == NNDL_ACT_TANH);
        CHECK(nndl_net_activation(net, 2) == NNDL_ACT_RELU);
        CHECK(nndl_net_activation(net, 3) == NNDL_ACT_SIGMOID);
        CHECK(nndl_net_activation(net, 4) == kinds[i].out);
        round_trip_net(net, "rt-kinds.nndl");

        /* The kinds are where the document puts them: init at 20, one
         * activation per layer after the sizes (28 + 4 * 5). */
        char path[600];
        path_in(path, sizeof path, model_dir(), "rt-kinds.nndl");
        size_t len = 0;
        uint8_t *b = slurp(path, &len);
        REQUIRE(b && len > 68);
        CHECK(read_u32_le(b + 16) == (uint32_t)kinds[i].cost);
        CHECK(read_u32_le(b + 20) == (uint32_t)kinds[i].init);
        CHECK(read_u32_le(b + 48) == NNDL_ACT_TANH && read_u32_le(b + 52) == NNDL_ACT_RELU &&
              read_u32_le(b + 56) == NNDL_ACT_SIGMOID &&
              read_u32_le(b + 60) == (uint32_t)kinds[i].out);
        free(b);
        nndl_net_free(net);
    }
}

TEST(model_round_trip_784_30_10)
{
    static const int sizes[3] = {784, 30, 10};
    round_trip(3, sizes, 0xfeedfacecafebeefull, "rt-mnist.nndl");
}

/* ---- The layout of docs/MODEL_FORMAT.md --------------------------------- */

TEST(model_file_layout_matches_doc)
{
    char path[600];
    path_in(path, sizeof path, model_dir(), "layout.nndl");
    nndl_net *net = make_net(3, small_sizes, 0x0123456789abcdefull);
    REQUIRE(net);
    nndl_error err;
    CHECK(nndl_net_save(net, path, &err) == NNDL_OK);
    size_t len = 0;
    uint8_t *b = slurp(path, &len);
    if (!b || len != SMALL_LEN) {
        test_fail(__FILE__, __LINE__, "length %zu, expected %d", len, SMALL_LEN);
        free(b);
        nndl_net_free(net);
        return;
    }
    /* Offsets as written in the document's table, spelled out here so that
     * the test checks the document, not the code's own constants. */
    static const uint8_t head[] = {
        'N', 'N', 'D', 'L', 'M', 'O', 'D', 'L', /* 0: magic */
        2, 0, 0, 0,                             /* 8: version */
        0, 0, 0, 0,                             /* 12: flags */
        0, 0, 0, 0,                             /* 16: cost, quadratic */
        0, 0, 0, 0,                             /* 20: initialization, scaled */
        3, 0, 0, 0,                             /* 24: number of sizes */
        5, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0,     /* 28: sizes */
        0, 0, 0, 0, 0, 0, 0, 0,                 /* 40: activations, sigmoid */
        0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, /* 48: seed */
        39, 0, 0, 0, 0, 0, 0, 0,                /* 56: parameter count */
        0, 0, 0, 0,                             /* 64: metadata length */
    };
    CHECK(sizeof head == SMALL_HEADER);
    CHECK(memcmp(b, head, sizeof head) == 0);
    /* 68: the parameters, w1 (4x5 row-major), b1, w2 (3x4), b2. */
    const float *p = nndl_net_params_const(net);
    int same = 1;
    for (int i = 0; i < SMALL_PARAMS; i++) {
        uint32_t bits;
        memcpy(&bits, &p[i], 4);
        const uint8_t *q = b + 68 + 4 * i;
        same &= q[0] == (uint8_t)bits && q[1] == (uint8_t)(bits >> 8) &&
                q[2] == (uint8_t)(bits >> 16) && q[3] == (uint8_t)(bits >> 24);
    }
    CHECK(same);
    /* 224: CRC-32 (zlib) of bytes 0..223, little-endian. */
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, 224);
    CHECK(b[224] == (uint8_t)crc && b[225] == (uint8_t)(crc >> 8) &&
          b[226] == (uint8_t)(crc >> 16) && b[227] == (uint8_t)(crc >> 24));
    free(b);
    nndl_net_free(net);
}

/* ---- Damaged files ------------------------------------------------------ */

TEST(model_rejects_every_single_byte_corruption)
{
    char path[600];
    path_in(path, sizeof path, model_dir(), "corrupt.nndl");
    uint8_t *good = small_model_bytes();
    REQUIRE(good);
    static const uint8_t flips[] = {0x01, 0x80, 0xff};
    int rejected = 0, tried = 0;
    /* Every byte: header, each size, each parameter, the CRC. A CRC-32
     * catches every error confined to one byte, and the header checks catch
     * them before the CRC is reached. */
    for (size_t pos = 0; pos < SMALL_LEN; pos++) {
        for (size_t k = 0; k < sizeof flips; k++) {
            good[pos] ^= flips[k];
            REQUIRE(spit(path, good, SMALL_LEN) == 0);
            good[pos] ^= flips[k];
            tried++;
            nndl_error err;
            nndl_net *net = nndl_net_load(path, &err);
            if (net) {
                test_fail(__FILE__, __LINE__, "byte %zu ^ 0x%02x was accepted", pos, flips[k]);
                nndl_net_free(net);
            } else if (err.status == NNDL_ERR_FORMAT && strstr(err.message, path)) {
                rejected++;
            } else {
                test_fail(__FILE__, __LINE__, "byte %zu: %s", pos, err.message);
            }
        }
    }
    CHECK(rejected == tried);

    /* What the user is told, for a few of them. */
    static const struct {
        size_t pos;
        const char *says;
    } cases[] = {
        {0, "not an nndl model file"},
        /* version 2 -> 3 reads the sizes as 3 layers over a 5 x 4 x 3 input,
         * and the parameter count as layer 1's pool */
        {8, "layer 1: a fully connected layer has no pool, but the record gives 39"},
        {12, "flags"},
        {16, "checksum mismatch, the file is damaged"}, /* quadratic -> cross-entropy */
        {19, "unknown cost function 16777216"},
        {20, "checksum mismatch, the file is damaged"}, /* init: scaled -> large */
        {32, "parameters"}, /* sizes[1]: 4 -> 5 disagrees with the count */
        {40, "checksum mismatch, the file is damaged"}, /* hidden layer: sigmoid -> tanh */
        {44, "output layer (layer 2) is tanh"},
        {49, "checksum mismatch, the file is damaged"}, /* the seed */
        {64, "truncated: expected 229 bytes, found 228"}, /* metadata length 0 -> 1 */
        {100, "checksum mismatch, the file is damaged"}, /* a parameter */
        {226, "checksum mismatch, the file is damaged"}, /* the CRC itself */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        good[cases[i].pos] ^= 0x01;
        REQUIRE(spit(path, good, SMALL_LEN) == 0);
        good[cases[i].pos] ^= 0x01;
        CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, cases[i].says));
    }
    free(good);
}

TEST(model_rejects_truncation)
{
    char path[600], expect[64];
    path_in(path, sizeof path, model_dir(), "truncated.nndl");
    uint8_t *good = small_model_bytes();
    REQUIRE(good);
    REQUIRE(spit(path, good, 0) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "empty file"));
    for (size_t len = 1; len < SMALL_LEN; len++) {
        REQUIRE(spit(path, good, len) == 0);
        /* Once the whole header is there, the message gives both lengths. */
        if (len >= SMALL_HEADER)
            snprintf(expect, sizeof expect, "truncated: expected 228 bytes, found %zu", len);
        else
            snprintf(expect, sizeof expect, "truncated");
        if (!LOAD_FAILS(path, NNDL_ERR_FORMAT, expect)) fprintf(stderr, "    at %zu\n", len);
    }
    free(good);
}

TEST(model_rejects_trailing_bytes)
{
    char path[600];
    path_in(path, sizeof path, model_dir(), "trailing.nndl");
    uint8_t *good = small_model_bytes();
    REQUIRE(good);
    uint8_t longer[SMALL_LEN + 100] = {0};
    memcpy(longer, good, SMALL_LEN);
    REQUIRE(spit(path, longer, SMALL_LEN + 1) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "trailing data: expected 228 bytes, found 229"));
    REQUIRE(spit(path, longer, SMALL_LEN + 100) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "trailing data: expected 228 bytes, found 328"));
    free(good);
}

TEST(model_rejects_foreign_files)
{
    char path[600];
    path_in(path, sizeof path, model_dir(), "foreign");
    uint8_t *good = small_model_bytes();
    REQUIRE(good);
    memcpy(good, "NNDLMODX", 8);
    REQUIRE(spit(path, good, SMALL_LEN) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "not an nndl model file"));
    free(good);

    /* network2.py's save() writes JSON, which goes to the JSON reader (the
     * JSON tests check it): here its error about the missing weights. */
    static const char json[] = "\n  {\"sizes\": [784, 30, 10], \"weights\": [], "
                               "\"biases\": [], \"cost\": \"CrossEntropyCost\"}";
    REQUIRE(spit(path, (const uint8_t *)json, sizeof json - 1) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "weights has 0 matrices, expected 2"));
    static const char spaces[] = "  \n\t ";
    REQUIRE(spit(path, (const uint8_t *)spaces, sizeof spaces - 1) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "not an nndl model file"));

    /* An MNIST file is not a model either. */
    static const uint8_t idx[16] = {0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28};
    REQUIRE(spit(path, idx, sizeof idx) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "not an nndl model file"));

    CHECK(LOAD_FAILS(model_dir(), NNDL_ERR_IO, "not a regular file"));
    path_in(path, sizeof path, model_dir(), "no-such-model.nndl");
    CHECK(LOAD_FAILS(path, NNDL_ERR_IO, "No such file or directory"));
}

/* Writes a file of the given header fields, `n_zero_params` zero
 * parameters and a correct CRC; returns the length. Version 1 takes `word20`
 * as the activation of every layer and ignores `acts` and `meta`; version 2
 * (and any other) takes it as the initialization, writes `acts` (n - 1
 * kinds; NULL: all sigmoid) and the metadata `meta` (NULL: none). */
static size_t craft(uint8_t *b, uint32_t version, uint32_t flags, uint32_t cost, uint32_t word20,
                    uint32_t n, const uint32_t *sizes, const uint32_t *acts, uint64_t count,
                    const char *meta, size_t n_zero_params)
{
    memcpy(b, "NNDLMODL", 8);
    write_u32_le(b + 8, version);
    write_u32_le(b + 12, flags);
    write_u32_le(b + 16, cost);
    write_u32_le(b + 20, word20);
    write_u32_le(b + 24, n);
    uint8_t *p = b + 28;
    for (uint32_t l = 0; l < n; l++, p += 4) write_u32_le(p, sizes[l]);
    if (version != 1)
        for (uint32_t l = 0; l + 1 < n; l++, p += 4) write_u32_le(p, acts ? acts[l] : 0);
    write_u64_le(p, 7);
    write_u64_le(p + 8, count);
    p += 16;
    if (version != 1) {
        size_t m = meta ? strlen(meta) : 0;
        write_u32_le(p, (uint32_t)m);
        memcpy(p + 4, meta ? meta : "", m);
        p += 4 + m;
    }
    memset(p, 0, 4 * n_zero_params + 4);
    size_t len = (size_t)(p - b) + 4 * n_zero_params + 4;
    fix_crc(b, len);
    return len;
}

/* Each field out of range, in a file whose CRC is right, so that the
 * header check itself must catch it. */
TEST(model_rejects_bad_header_fields)
{
    char path[600];
    path_in(path, sizeof path, model_dir(), "fields.nndl");
    static uint8_t b[1 << 12];
    enum { Q = NNDL_COST_QUADRATIC, CE = NNDL_COST_CROSS_ENTROPY, LL = NNDL_COST_LOG_LIKELIHOOD };
    enum { SIG = NNDL_ACT_SIGMOID, TANH = NNDL_ACT_TANH, RELU = NNDL_ACT_RELU,
           SOFT = NNDL_ACT_SOFTMAX };
    static const struct {
        uint32_t version, flags, cost, word20, n;
        uint32_t sizes[3], acts[2];
        uint64_t count;
        const char *says;
    } cases[] = {
        /* The controls: these load. */
        {2, 0, Q, 0, 3, {5, 4, 3}, {SIG, SIG}, 39, NULL},
        {2, 0, LL, 1, 3, {5, 4, 3}, {TANH, SOFT}, 39, NULL},
        {2, 0, CE, 0, 3, {5, 4, 3}, {RELU, SIG}, 39, NULL},
        {1, 0, Q, SIG, 3, {5, 4, 3}, {0, 0}, 39, NULL},
        /* Versions and flags. */
        {4, 0, Q, 0, 3, {5, 4, 3}, {SIG, SIG}, 39, "version 4 is not supported"},
        {0, 0, Q, 0, 3, {5, 4, 3}, {SIG, SIG}, 39, "version 0 is not supported"},
        {2, 1, Q, 0, 3, {5, 4, 3}, {SIG, SIG}, 39, "flags"},
        {1, 1, Q, 0, 3, {5, 4, 3}, {0, 0}, 39, "flags"},
        /* Kinds out of range. */
        {2, 0, 7, 0, 3, {5, 4, 3}, {SIG, SIG}, 39, "unknown cost function 7"},
        {2, 0, NNDL_COST_COUNT, 0, 3, {5, 4, 3}, {SIG, SIG}, 39, "unknown cost function"},
        {2, 0, Q, NNDL_INIT_COUNT, 3, {5, 4, 3}, {SIG, SIG}, 39, "unknown initialization"},
        {2, 0, Q, 0, 3, {5, 4, 3}, {9, SIG}, 39, "layer 1 has unknown activation function 9"},
        {2, 0, Q, 0, 3, {5, 4, 3}, {SIG, NNDL_ACT_COUNT}, 39,
         "layer 2 has unknown activation function"},
        {1, 0, Q, 9, 3, {5, 4, 3}, {0, 0}, 39, "unknown activation function 9"},
        /* Activations in the wrong place, or not matching the cost. */
        {2, 0, LL, 0, 3, {5, 4, 3}, {SOFT, SOFT}, 39, "hidden layer 1 is softmax"},
        {2, 0, Q, 0, 3, {5, 4, 3}, {SIG, TANH}, 39,
         "the output layer (layer 2) is tanh, but the quadratic cost needs a sigmoid"},
        {2, 0, CE, 0, 3, {5, 4, 3}, {SIG, SOFT}, 39, "output layer (layer 2) is softmax"},
        {2, 0, LL, 0, 3, {5, 4, 3}, {SIG, SIG}, 39,
         "is sigmoid, but the log-likelihood cost needs a softmax output layer"},
        {1, 0, LL, SIG, 3, {5, 4, 3}, {0, 0}, 39, "log-likelihood cost needs a softmax"},
        {1, 0, Q, TANH, 3, {5, 4, 3}, {0, 0}, 39, "output layer (layer 2) is tanh"},
        {1, 0, LL, SOFT, 3, {5, 4, 3}, {0, 0}, 39, "hidden layer 1 is softmax"},
        /* Sizes and the parameter count. */
        {2, 0, Q, 0, 1, {5}, {0, 0}, 0, "1 layer sizes"},
        {2, 0, Q, 0, 3, {5, 0, 3}, {SIG, SIG}, 3, "layer 1 has 0 neurons"},
        {2, 0, Q, 0, 3, {5, 1000001, 3}, {SIG, SIG}, 39, "layer 1 has 1000001 neurons"},
        {2, 0, Q, 0, 3, {5, 4, 3}, {SIG, SIG}, 40,
         "declares 40 parameters but the layer sizes imply 39"},
        {2, 0, Q, 0, 3, {5, 4, 3}, {SIG, SIG}, 38, "declares 38 parameters"},
        {1, 0, Q, 0, 3, {5, 4, 3}, {0, 0}, 38, "declares 38 parameters"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = craft(b, cases[i].version, cases[i].flags, cases[i].cost, cases[i].word20,
                           cases[i].n, cases[i].sizes, cases[i].acts, cases[i].count, NULL, 39);
        REQUIRE(spit(path, b, len) == 0);
        if (!cases[i].says) {
            nndl_error err;
            nndl_net *net = nndl_net_load(path, &err);
            if (!net) test_fail(__FILE__, __LINE__, "case %zu: %s", i, err.message);
            if (net) {
                CHECK(nndl_net_seed(net) == 7 && nndl_net_param_count(net) == 39);
                CHECK(nndl_net_cost(net) == (nndl_cost)cases[i].cost);
                uint32_t out = cases[i].version == 1 ? cases[i].word20 : cases[i].acts[1];
                uint32_t hidden = cases[i].version == 1 ? cases[i].word20 : cases[i].acts[0];
                CHECK(nndl_net_activation(net, 1) == (nndl_activation)hidden);
                CHECK(nndl_net_activation(net, 2) == (nndl_activation)out);
                CHECK(nndl_net_init(net) == (cases[i].version == 1
                                                 ? NNDL_INIT_LARGE
                                                 : (nndl_init)cases[i].word20));
            }
            nndl_net_free(net);
        } else if (!LOAD_FAILS(path, NNDL_ERR_FORMAT, cases[i].says)) {
            fprintf(stderr, "    case %zu\n", i);
        }
    }
    /* Too many layers: the count is checked before the sizes are read. */
    uint32_t many[NNDL_MAX_LAYERS + 1];
    for (int l = 0; l <= NNDL_MAX_LAYERS; l++) many[l] = 1;
    size_t len = craft(b, 2, 0, 0, 0, NNDL_MAX_LAYERS + 1, many, NULL, 2 * NNDL_MAX_LAYERS,
                       NULL, 0);
    REQUIRE(spit(path, b, len) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "layer sizes; a model has 2 to"));
}

/* ---- Version 1 ---------------------------------------------------------- */

/* The example file of version 1's document, byte for byte: a [2, 1]
 * network with seed 7, w^1 = (0.5, -0.25), b^1 = 1.0. Files like it, saved
 * by the chapter-1 nndl, must keep loading. */
TEST(model_loads_version_1)
{
    static const uint8_t v1[68] = {
        0x4e, 0x4e, 0x44, 0x4c, 0x4d, 0x4f, 0x44, 0x4c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f,
        0x00, 0x00, 0x80, 0xbe, 0x00, 0x00, 0x80, 0x3f, 0x1c, 0xd2, 0xdc, 0x1e,
    };
    char path[600], again[600];
    path_in(path, sizeof path, model_dir(), "v1.nndl");
    path_in(again, sizeof again, model_dir(), "v1-as-v2.nndl");
    REQUIRE(spit(path, v1, sizeof v1) == 0);
    nndl_error err;
    char *meta = (char *)"untouched";
    nndl_net *net = model_load_with_meta(path, &meta, &err);
    if (!net) test_fail(__FILE__, __LINE__, "%s", err.message);
    REQUIRE(net);
    CHECK(meta == NULL); /* version 1 has no metadata */
    CHECK(nndl_net_n_sizes(net) == 2 && nndl_net_size(net, 0) == 2 &&
          nndl_net_size(net, 1) == 1);
    CHECK(nndl_net_cost(net) == NNDL_COST_QUADRATIC);
    CHECK(nndl_net_activation(net, 1) == NNDL_ACT_SIGMOID);
    CHECK(nndl_net_init(net) == NNDL_INIT_LARGE); /* chapter 1's N(0,1) */
    CHECK(nndl_net_seed(net) == 7);
    REQUIRE(nndl_net_param_count(net) == 3);
    const float *p = nndl_net_params_const(net);
    CHECK(p[0] == 0.5f && p[1] == -0.25f && p[2] == 1.0f);

    /* Saving it writes version 2, which loads to the same network. */
    CHECK(nndl_net_save(net, again, &err) == NNDL_OK);
    size_t len = 0;
    uint8_t *b = slurp(again, &len);
    CHECK(b && len == 48 + 8 * 2 + 4 * 3 && read_u32_le(b + 8) == 2);
    free(b);
    nndl_net *back = nndl_net_load(again, &err);
    CHECK(back && nndl_net_init(back) == NNDL_INIT_LARGE && nndl_net_seed(back) == 7);
    if (back) CHECK(memcmp(nndl_net_params_const(back), p, 3 * sizeof(float)) == 0);
    nndl_net_free(back);
    nndl_net_free(net);

    /* Every damaged byte of it is still caught. */
    uint8_t bad[sizeof v1];
    int accepted = 0;
    for (size_t pos = 0; pos < sizeof v1; pos++) {
        memcpy(bad, v1, sizeof v1);
        bad[pos] ^= 0x01;
        REQUIRE(spit(path, bad, sizeof bad) == 0);
        nndl_net *n = nndl_net_load(path, NULL);
        accepted += n != NULL;
        nndl_net_free(n);
    }
    CHECK(accepted == 0);
}

/* ---- The example of docs/MODEL_FORMAT.md -------------------------------- */

TEST(model_doc_example_bytes)
{
    /* The hex dump of the document's "Example" section. */
    static const uint8_t doc[76] = {
        0x4e, 0x4e, 0x44, 0x4c, 0x4d, 0x4f, 0x44, 0x4c, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x80, 0xbe, 0x00, 0x00,
        0x80, 0x3f, 0x39, 0x5e, 0xdc, 0xc7,
    };
    static const int sizes[2] = {2, 1};
    nndl_net *net = make_net(2, sizes, 7);
    REQUIRE(net);
    float *p = nndl_net_params(net);
    p[0] = 0.5f;
    p[1] = -0.25f;
    p[2] = 1.0f;
    char path[600];
    path_in(path, sizeof path, model_dir(), "doc-example.nndl");
    nndl_error err;
    CHECK(nndl_net_save(net, path, &err) == NNDL_OK);
    size_t len = 0;
    uint8_t *b = slurp(path, &len);
    CHECK(b && len == sizeof doc && memcmp(b, doc, sizeof doc) == 0);
    free(b);
    nndl_net_free(net);
}

/* ---- Metadata ----------------------------------------------------------- */

static int load_fails_in_small_address_space(const char *path, const char *says);

TEST(model_metadata_round_trip)
{
    char path[600];
    path_in(path, sizeof path, model_dir(), "meta.nndl");
    nndl_net *net = make_net(3, small_sizes, 5);
    REQUIRE(net);
    nndl_error err;
    static const char meta[] = "{\"epochs\": 30, \"eta\": 0.5, \"accuracy\": 0.9649, "
                               "\"note\": \"caf\u00e9 \\u00e9\"}";
    CHECK(model_save_with_meta(net, path, meta, &err) == NNDL_OK);
    size_t len = 0;
    uint8_t *b = slurp(path, &len);
    size_t m = sizeof meta - 1;
    REQUIRE(b);
    CHECK(len == SMALL_LEN + m);
    CHECK(read_u32_le(b + 64) == m && memcmp(b + 68, meta, m) == 0);

    char *got = NULL;
    nndl_net *back = model_load_with_meta(path, &got, &err);
    REQUIRE(back);
    CHECK(got && strcmp(got, meta) == 0);
    CHECK(memcmp(nndl_net_params_const(back), nndl_net_params_const(net),
                 SMALL_PARAMS * sizeof(float)) == 0);
    free(got);
    nndl_net_free(back);

    /* nndl_net_load skips it; no metadata reads as NULL. */
    back = nndl_net_load(path, &err);
    CHECK(back != NULL);
    nndl_net_free(back);
    CHECK(model_save_with_meta(net, path, "", &err) == NNDL_OK);
    got = (char *)"untouched";
    back = model_load_with_meta(path, &got, &err);
    CHECK(back && got == NULL);
    nndl_net_free(back);

    /* The CRC covers the metadata. */
    uint8_t *bad = malloc(len);
    REQUIRE(bad);
    memcpy(bad, b, len);
    bad[70] ^= 0x20;
    REQUIRE(spit(path, bad, len) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "checksum mismatch"));

    /* A damaged length is caught by the file's length before the CRC. */
    memcpy(bad, b, len);
    write_u32_le(bad + 64, (uint32_t)m - 1);
    REQUIRE(spit(path, bad, len) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "trailing data"));
    write_u32_le(bad + 64, (uint32_t)m + 1);
    REQUIRE(spit(path, bad, len) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "truncated"));
    write_u32_le(bad + 64, 0xffffffffu);
    REQUIRE(spit(path, bad, len) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "metadata length is 4294967295 bytes; the limit"));
    CHECK(load_fails_in_small_address_space(path, "metadata length") == 0);

    /* Written that way (correct CRC) but not a JSON object: rejected. */
    memcpy(bad, b, len);
    memcpy(bad + 68, "[", 1);
    fix_crc(bad, len);
    REQUIRE(spit(path, bad, len) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "the metadata is malformed JSON"));
    memcpy(bad, b, len);
    bad[80] = 0;
    fix_crc(bad, len);
    REQUIRE(spit(path, bad, len) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "the metadata contains a NUL byte (at byte 12"));
    memcpy(bad, b, len);
    bad[80] = (uint8_t)0xc3; /* a lone lead byte */
    fix_crc(bad, len);
    REQUIRE(spit(path, bad, len) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "the metadata is not valid UTF-8 (at byte 12"));
    free(bad);
    free(b);
    nndl_net_free(net);
}

TEST(model_metadata_rejected_when_saving)
{
    char path[600];
    path_in(path, sizeof path, model_dir(), "meta-bad.nndl");
    nndl_net *net = make_net(3, small_sizes, 5);
    REQUIRE(net);
    static const struct {
        const char *meta, *says;
    } cases[] = {
        {"[1, 2]", "not a JSON object"},
        {"42", "not a JSON object"},
        {"{\"a\": 1", "malformed JSON"},
        {"{\"a\": 1} {}", "malformed JSON"},
        {"{\"a\": \"\xff\"}", "not valid UTF-8"},
        {"{\"a\": \"\xed\xa0\x80\"}", "not valid UTF-8"}, /* a surrogate */
        {"{\"a\": \"\xc0\xaf\"}", "not valid UTF-8"},       /* overlong '/' */
        /* what cJSON lets through */
        {"{\"a\": {\"b\": 1, \"b\": 2}}", "has a key twice in one object"},
        {"{\"a\": 01}", "has a number JSON does not allow"},
        {"{\"a\": 5.}", "has a number JSON does not allow"},
        {"{\"a\": \"x\\u0000y\"}", "has \\u0000 in a string"},
        {"{\"a\": \"x\ny\"}", "has a control character in a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nndl_error err = {NNDL_OK, ""};
        CHECK(model_save_with_meta(net, path, cases[i].meta, &err) == NNDL_ERR_ARG);
        if (!strstr(err.message, cases[i].says) || !strstr(err.message, path))
            test_fail(__FILE__, __LINE__, "case %zu: \"%s\"", i, err.message);
        CHECK(access(path, F_OK) != 0);
    }
    /* The size limit, and just under it. */
    size_t big = MODEL_MAX_META_BYTES + 1;
    char *text = malloc(big + 1);
    REQUIRE(text);
    memset(text, ' ', big);
    text[0] = '{';
    text[big - 1] = '}';
    text[big] = 0;
    nndl_error err;
    CHECK(model_save_with_meta(net, path, text, &err) == NNDL_ERR_ARG);
    CHECK(strstr(err.message, "the metadata is 65537 bytes; the limit is 65536") != NULL);
    text[big - 2] = '}';
    text[big - 1] = 0;
    CHECK(model_save_with_meta(net, path, text, &err) == NNDL_OK);
    char *got = NULL;
    nndl_net *back = model_load_with_meta(path, &got, &err);
    CHECK(back && got && strlen(got) == MODEL_MAX_META_BYTES);
    free(got);
    nndl_net_free(back);
    free(text);
    CHECK(count_temp_files(model_dir()) == 0);
    nndl_net_free(net);
}

/* VmSize of this process in bytes, or 0 if /proc does not say. */
static unsigned long long vm_size_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kb = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %llu kB", &kb) == 1) break;
    fclose(f);
    return kb * 1024;
}

/* Loads `path` in a child whose address space can grow by at most 256 MiB,
 * and expects a format error containing `says`: a loader that allocated
 * what the header asks for before checking the file's length would fail
 * with "out of memory" (or abort under AddressSanitizer). Returns the
 * child's verdict: 0 good, 1 loaded, 2 wrong error, 3 killed. */
static int load_fails_in_small_address_space(const char *path, const char *says)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return 4;
    if (pid == 0) {
        unsigned long long vm = vm_size_bytes();
        struct rlimit rl;
        if (vm && getrlimit(RLIMIT_AS, &rl) == 0) {
            rlim_t cap = (rlim_t)(vm + (256ull << 20));
            if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > cap) rl.rlim_cur = cap;
            (void)setrlimit(RLIMIT_AS, &rl);
        }
        nndl_error err;
        nndl_net *net = nndl_net_load(path, &err);
        /* _exit: the child must not run the parent's atexit cleanup. */
        if (net) _exit(1);
        if (err.status != NNDL_ERR_FORMAT || !strstr(err.message, says)) {
            fprintf(stderr, "    child: %s\n", err.message);
            _exit(2);
        }
        _exit(0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return 4;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

TEST(model_rejects_huge_header_without_allocating)
{
    char path[600];
    path_in(path, sizeof path, model_dir(), "huge.nndl");
    uint8_t b[512];

    /* Within every limit: 400,020,000 parameters, 1.6 GB of them declared,
     * but the file is 64 bytes. */
    static const uint32_t big[2] = {20000, 20000};
    size_t len = craft(b, 2, 0, 0, 0, 2, big, NULL, 400020000ull, NULL, 0);
    REQUIRE(len == 64);
    REQUIRE(spit(path, b, len) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "truncated: expected 1600080064 bytes, found 64"));
    CHECK(load_fails_in_small_address_space(path, "truncated") == 0);

    /* The same in version 1. */
    len = craft(b, 1, 0, 0, 0, 2, big, NULL, 400020000ull, NULL, 0);
    REQUIRE(len == 56);
    REQUIRE(spit(path, b, len) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "truncated: expected 1600080056 bytes, found 56"));
    CHECK(load_fails_in_small_address_space(path, "truncated") == 0);

    /* Past NNDL_MAX_PARAMS: 2e12 parameters. */
    static const uint32_t huge[3] = {1000000, 1000000, 1000000};
    len = craft(b, 2, 0, 0, 0, 3, huge, NULL, 2000002000000ull, NULL, 0);
    REQUIRE(spit(path, b, len) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "NNDL_MAX_PARAMS"));
    CHECK(load_fails_in_small_address_space(path, "NNDL_MAX_PARAMS") == 0);
}

TEST(model_rejects_nonfinite_parameters)
{
    char path[600];
    path_in(path, sizeof path, model_dir(), "nan.nndl");
    uint8_t *good = small_model_bytes();
    REQUIRE(good);
    uint8_t bad[SMALL_LEN];

    /* A NaN in w1[7] (parameter 7) with a correct CRC: written that way,
     * not damaged on the way. */
    memcpy(bad, good, SMALL_LEN);
    write_u32_le(bad + SMALL_HEADER + 4 * 7, 0x7fc00000u);
    fix_crc(bad, SMALL_LEN);
    REQUIRE(spit(path, bad, SMALL_LEN) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "parameter w1[7] is NaN"));

    /* +infinity in b2[2], the last parameter (38). */
    memcpy(bad, good, SMALL_LEN);
    write_u32_le(bad + SMALL_HEADER + 4 * 38, 0x7f800000u);
    fix_crc(bad, SMALL_LEN);
    REQUIRE(spit(path, bad, SMALL_LEN) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "parameter b2[2] is infinite"));
    free(good);

    /* Saving refuses to write what could not be loaded. */
    nndl_net *net = make_net(3, small_sizes, 1);
    REQUIRE(net);
    nndl_net_params(net)[20] = NAN; /* b1[0] */
    path_in(path, sizeof path, model_dir(), "nan-save.nndl");
    nndl_error err;
    CHECK(nndl_net_save(net, path, &err) == NNDL_ERR_ARG);
    CHECK(strstr(err.message, path) && strstr(err.message, "b1[0] is NaN"));
    CHECK(access(path, F_OK) != 0);
    CHECK(count_temp_files(model_dir()) == 0);
    nndl_net_free(net);
}

/* ---- Saving ------------------------------------------------------------- */

TEST(model_save_replaces_atomically)
{
    char dir[600], path[700];
    path_in(dir, sizeof dir, model_dir(), "replace");
    REQUIRE(mkdir(dir, 0755) == 0 || errno == EEXIST);
    path_in(path, sizeof path, dir, "net.nndl");
    nndl_net *a = make_net(3, small_sizes, 1);
    static const int other[4] = {3, 6, 6, 2};
    nndl_net *b = make_net(4, other, 2);
    REQUIRE(a && b);
    nndl_error err;
    CHECK(nndl_net_save(a, path, &err) == NNDL_OK);
    /* The replacement keeps the permissions of the file it replaces. */
    CHECK(chmod(path, 0640) == 0);
    CHECK(nndl_net_save(b, path, &err) == NNDL_OK);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    nndl_net *back = nndl_net_load(path, &err);
    CHECK(back && nndl_net_n_sizes(back) == 4 && nndl_net_seed(back) == 2);
    if (back)
        CHECK(memcmp(nndl_net_params_const(back), nndl_net_params_const(b),
                     nndl_net_param_count(b) * sizeof(float)) == 0);
    nndl_net_free(back);
    CHECK(count_temp_files(dir) == 0);
    nndl_net_free(a);
    nndl_net_free(b);
}

/* Checks that a save of `net` to `path` fails, names the path, says `says`,
 * leaves `path` as `old` (old_len bytes; NULL: absent) and leaves no
 * temporary file in `dir`. */
static int save_fails(const nndl_net *net, const char *path, const char *dir, const char *says,
                      const uint8_t *old, size_t old_len, int line)
{
    nndl_error err = {NNDL_OK, ""};
    int ok = 1;
    if (nndl_net_save(net, path, &err) == NNDL_OK) {
        test_fail(__FILE__, line, "%s: save succeeded", path);
        return 0;
    }
    if (err.status != NNDL_ERR_IO || !strstr(err.message, path) || !strstr(err.message, says)) {
        test_fail(__FILE__, line, "message \"%s\", expected \"%s\"", err.message, says);
        ok = 0;
    }
    size_t len = 0;
    uint8_t *now = slurp(path, &len);
    if (old && (!now || len != old_len || memcmp(now, old, len) != 0)) {
        test_fail(__FILE__, line, "%s changed", path);
        ok = 0;
    }
    free(now);
    if (count_temp_files(dir) > 0) {
        test_fail(__FILE__, line, "a temporary file was left in %s", dir);
        ok = 0;
    }
    return ok;
}
#define SAVE_FAILS(net, path, dir, says, old, len) \
    save_fails(net, path, dir, says, old, len, __LINE__)

TEST(model_save_failure_keeps_old_file)
{
    char dir[600], path[700];
    static const int mnist[3] = {784, 30, 10};
    nndl_net *small = make_net(3, small_sizes, 1), *big = make_net(3, mnist, 2);
    REQUIRE(small && big);
    nndl_error err;

    /* A directory that does not exist. */
    path_in(path, sizeof path, model_dir(), "no-such-dir/net.nndl");
    CHECK(SAVE_FAILS(small, path, model_dir(), "No such file or directory", NULL, 0));

    /* A "directory" that is a file. */
    path_in(dir, sizeof dir, model_dir(), "keep");
    REQUIRE(mkdir(dir, 0755) == 0 || errno == EEXIST);
    path_in(path, sizeof path, dir, "net.nndl");
    REQUIRE(nndl_net_save(small, path, &err) == NNDL_OK);
    size_t old_len = 0;
    uint8_t *old = slurp(path, &old_len);
    REQUIRE(old);
    char below[800];
    snprintf(below, sizeof below, "%s/net.nndl", path);
    CHECK(SAVE_FAILS(small, below, dir, "Not a directory", NULL, 0));

    /* The disk fills up halfway: a file size limit makes the writes fail
     * with EFBIG after 4 KiB, even for root. */
    struct rlimit saved_limit, small_limit;
    if (getrlimit(RLIMIT_FSIZE, &saved_limit) == 0 &&
        (saved_limit.rlim_cur == RLIM_INFINITY || saved_limit.rlim_cur > 4096)) {
        void (*saved_handler)(int) = signal(SIGXFSZ, SIG_IGN);
        small_limit = saved_limit;
        small_limit.rlim_cur = 4096;
        int limited = setrlimit(RLIMIT_FSIZE, &small_limit) == 0;
        int ok = !limited || SAVE_FAILS(big, path, dir, "File too large", old, old_len);
        /* Restore before any check can end the test. */
        (void)setrlimit(RLIMIT_FSIZE, &saved_limit);
        signal(SIGXFSZ, saved_handler);
        CHECK(limited);
        CHECK(ok);
    }

    /* A read-only directory (root may write anyway: then this part says
     * nothing, so skip it). */
    if (chmod(dir, 0555) == 0) {
        char probe[700];
        path_in(probe, sizeof probe, dir, "probe");
        FILE *f = fopen(probe, "wb");
        if (f) {
            fclose(f);
            unlink(probe);
        } else {
            CHECK(SAVE_FAILS(big, path, dir, "Permission denied", old, old_len));
        }
        CHECK(chmod(dir, 0755) == 0);
    }

    /* The target is a directory: everything is written, the rename fails,
     * and the temporary file must still go. */
    path_in(path, sizeof path, dir, "a-directory");
    REQUIRE(mkdir(path, 0755) == 0 || errno == EEXIST);
    CHECK(SAVE_FAILS(small, path, dir, "rename", NULL, 0));
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));

    free(old);
    nndl_net_free(small);
    nndl_net_free(big);
}

TEST(model_bad_arguments)
{
    nndl_error err;
    nndl_net *net = make_net(3, small_sizes, 1);
    REQUIRE(net);
    CHECK(nndl_net_save(NULL, "x.nndl", &err) == NNDL_ERR_ARG);
    CHECK(nndl_net_save(net, NULL, &err) == NNDL_ERR_ARG);
    CHECK(nndl_net_save(net, "", &err) == NNDL_ERR_ARG);
    CHECK(nndl_net_save(net, NULL, NULL) == NNDL_ERR_ARG);
    CHECK(nndl_net_load(NULL, &err) == NULL && err.status == NNDL_ERR_ARG);
    CHECK(nndl_net_load("", NULL) == NULL);
    nndl_net_free(net);
}

/* ---- Version 3: layers with shapes -------------------------------------- */

/* The offsets of the document's version 3 tables, spelled out here so that
 * the tests check the document: L at 24, the input shape at 28, then one
 * 24-byte record per layer (kind, activation, size, kernel, pool, dropout). */
enum { V3_L = 24, V3_INPUT = 28, V3_RECORDS = 40, V3_RECORD = 24 };
enum { F_KIND, F_ACT, F_SIZE, F_KERNEL, F_POOL, F_DROPOUT };
#define V3_FIELD(layer, field) (V3_RECORDS + V3_RECORD * ((layer) - 1) + 4 * (field))

static nndl_net *make_layers(const nndl_layer_spec *layers, int n, nndl_shape input,
                             nndl_cost cost, nndl_init init, uint64_t seed)
{
    nndl_net_spec spec = nndl_net_spec_default(0, NULL);
    spec.layers = layers;
    spec.n_layers = n;
    spec.input = input;
    spec.cost = cost;
    spec.init = init;
    spec.seed = seed;
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    if (!net) test_fail(__FILE__, __LINE__, "nndl_net_create: %s", err.message);
    return net;
}

/* Parameters no initialization gives (network3.py's starts its softmax
 * layer at zero, which would make every output equal), with a signed zero
 * and a subnormal among them. */
static void scramble(nndl_net *net)
{
    float *p = nndl_net_params(net);
    size_t n = nndl_net_param_count(net);
    for (size_t i = 0; i < n; i++) p[i] = (float)((i * 7919) % 2001) / 4000.0f - 0.25f;
    p[0] = -0.0f;
    p[n - 1] = FLT_TRUE_MIN;
}

/* network3.py's network of chapter 6: two convolutional layers with
 * pooling, a hidden fully connected layer and a softmax output. */
static nndl_net *chapter6_net(void)
{
    const nndl_layer_spec layers[] = {
        nndl_layer_conv(20, 5, 2, NNDL_ACT_RELU), nndl_layer_conv(40, 5, 2, NNDL_ACT_RELU),
        nndl_layer_fc(100, NNDL_ACT_RELU), nndl_layer_fc(10, NNDL_ACT_SOFTMAX)};
    return make_layers(layers, 4, (nndl_shape){1, 28, 28}, NNDL_COST_LOG_LIKELIHOOD,
                       NNDL_INIT_NETWORK3, 2015);
}

/* A standalone pooling layer, a linear layer and a layer's own dropout. */
static nndl_net *pool_linear_dropout_net(void)
{
    nndl_layer_spec layers[] = {nndl_layer_conv(3, 3, 1, NNDL_ACT_TANH), nndl_layer_pool(2),
                                nndl_layer_fc(12, NNDL_ACT_LINEAR),
                                nndl_layer_fc(8, NNDL_ACT_SIGMOID), nndl_layer_fc(4, 0)};
    layers[3].dropout = 0.5f;
    return make_layers(layers, 5, (nndl_shape){2, 9, 9}, NNDL_COST_CROSS_ENTROPY, NNDL_INIT_HE,
                       UINT64_MAX);
}

/* Saves `net` (with `meta`), checks the layout's fixed points, loads it back
 * and checks everything: layers, parameters bit for bit, the answers of a
 * forward pass, the metadata, and that saving again writes the same bytes. */
static void round_trip_layers(nndl_net *net, const char *name, const char *meta)
{
    char path[600], again[620];
    path_in(path, sizeof path, model_dir(), name);
    snprintf(again, sizeof again, "%s.again", path);
    const int n = nndl_net_n_sizes(net), L = n - 1;
    const size_t count = nndl_net_param_count(net), m = meta ? strlen(meta) : 0;
    const nndl_shape in = nndl_net_input_shape(net);
    nndl_error err;
    REQUIRE(model_save_with_meta(net, path, meta, &err) == NNDL_OK);

    size_t len = 0;
    uint8_t *b = slurp(path, &len);
    REQUIRE(b);
    CHECK(len == 64 + 24 * (size_t)L + m + 4 * count);
    CHECK(memcmp(b, "NNDLMODL", 8) == 0 && read_u32_le(b + 8) == 3 && read_u32_le(b + 12) == 0);
    CHECK(read_u32_le(b + 16) == (uint32_t)nndl_net_cost(net));
    CHECK(read_u32_le(b + 20) == (uint32_t)nndl_net_init(net));
    CHECK(read_u32_le(b + V3_L) == (uint32_t)L);
    CHECK(read_u32_le(b + V3_INPUT) == (uint32_t)in.channels &&
          read_u32_le(b + V3_INPUT + 4) == (uint32_t)in.height &&
          read_u32_le(b + V3_INPUT + 8) == (uint32_t)in.width);
    for (int l = 1; l <= L; l++) {
        nndl_layer_info info;
        REQUIRE(nndl_net_layer(net, l, &info, &err) == NNDL_OK);
        CHECK(read_u32_le(b + V3_FIELD(l, F_KIND)) == (uint32_t)info.spec.kind);
        CHECK(read_u32_le(b + V3_FIELD(l, F_ACT)) == (uint32_t)info.spec.act);
        CHECK(read_f32_le(b + V3_FIELD(l, F_DROPOUT)) == info.spec.dropout);
    }
    const size_t seed_at = 40 + 24 * (size_t)L;
    CHECK(read_u64_le(b + seed_at) == nndl_net_seed(net));
    CHECK(read_u64_le(b + seed_at + 8) == count && read_u32_le(b + seed_at + 16) == m);
    CHECK(memcmp(b + seed_at + 20, meta ? meta : "", m) == 0);
    CHECK(read_f32_le(b + seed_at + 20 + m) == nndl_net_params_const(net)[0]);
    CHECK(read_u32_le(b + len - 4) == (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, (uInt)(len - 4)));

    char *meta_back = NULL;
    nndl_net *back = model_load_with_meta(path, &meta_back, &err);
    if (!back) test_fail(__FILE__, __LINE__, "%s", err.message);
    REQUIRE(back);
    CHECK(nndl_net_n_sizes(back) == n && nndl_net_cost(back) == nndl_net_cost(net));
    CHECK(nndl_net_init(back) == nndl_net_init(net) && nndl_net_seed(back) == nndl_net_seed(net));
    nndl_shape in2 = nndl_net_input_shape(back);
    CHECK(memcmp(&in, &in2, sizeof in) == 0);
    for (int l = 1; l <= L; l++) {
        nndl_layer_info a, c;
        REQUIRE(nndl_net_layer(net, l, &a, &err) == NNDL_OK);
        REQUIRE(nndl_net_layer(back, l, &c, &err) == NNDL_OK);
        CHECK(memcmp(&a, &c, sizeof a) == 0);
    }
    CHECK(nndl_net_param_count(back) == count);
    CHECK(memcmp(nndl_net_params_const(back), nndl_net_params_const(net),
                 count * sizeof(float)) == 0);
    CHECK(meta ? meta_back && strcmp(meta, meta_back) == 0 : meta_back == NULL);
    free(meta_back);

    /* The same answers, bit for bit, for three different inputs. */
    const size_t n_in = (size_t)nndl_net_size(net, 0), n_out = (size_t)nndl_net_size(net, L);
    float *x = malloc(3 * n_in * sizeof *x), *y1 = malloc(3 * n_out * sizeof *y1),
          *y2 = malloc(3 * n_out * sizeof *y2);
    REQUIRE(x && y1 && y2);
    for (size_t i = 0; i < 3 * n_in; i++) x[i] = (float)((i * 31) % 17) / 17.0f;
    CHECK(nndl_net_feedforward(net, x, 3, y1, &err) == NNDL_OK);
    CHECK(nndl_net_feedforward(back, x, 3, y2, &err) == NNDL_OK);
    CHECK(memcmp(y1, y2, 3 * n_out * sizeof *y1) == 0);
    int varied = 0; /* a test that the outputs are not all one value */
    for (size_t i = 1; i < 3 * n_out; i++) varied |= y1[i] != y1[0];
    CHECK(varied);
    free(x);
    free(y1);
    free(y2);

    CHECK(model_save_with_meta(back, again, meta, &err) == NNDL_OK);
    size_t len2 = 0;
    uint8_t *b2 = slurp(again, &len2);
    CHECK(b2 && len2 == len && memcmp(b, b2, len) == 0);
    free(b2);
    free(b);
    nndl_net_free(back);
    CHECK(count_temp_files(model_dir()) == 0);
}

TEST(model_v3_round_trip_chapter6_conv_net)
{
    nndl_net *net = chapter6_net();
    REQUIRE(net);
    CHECK(nndl_net_param_count(net) == 520 + 20040 + 64100 + 1010);
    scramble(net);
    round_trip_layers(net, "v3-chapter6.nndl", NULL);
    nndl_net_free(net);
}

TEST(model_v3_round_trip_pool_linear_dropout)
{
    nndl_net *net = pool_linear_dropout_net();
    REQUIRE(net);
    scramble(net);
    round_trip_layers(net, "v3-pool.nndl", "{\"epochs\": 2, \"layers\": \"conv,pool,fc\"}");
    nndl_net_free(net);
}

/* Version 2 for what it holds exactly, byte for byte what a network of
 * sizes writes; version 3 as soon as one thing departs from it. */
TEST(model_v3_only_when_version2_cannot_hold_the_network)
{
    static const int sizes[4] = {6, 5, 4, 3};
    static const nndl_activation hidden[2] = {NNDL_ACT_TANH, NNDL_ACT_RELU};
    nndl_net_spec spec = nndl_net_spec_default(4, sizes);
    spec.cost = NNDL_COST_LOG_LIKELIHOOD;
    spec.hidden_acts = hidden;
    spec.seed = 5;
    nndl_error err;
    nndl_net *by_sizes = nndl_net_create(&spec, &err);
    REQUIRE(by_sizes);
    char path[600], other[600];
    path_in(path, sizeof path, model_dir(), "v2-sizes.nndl");
    path_in(other, sizeof other, model_dir(), "v2-layers.nndl");
    REQUIRE(nndl_net_save(by_sizes, path, &err) == NNDL_OK);
    size_t len = 0, len2 = 0;
    uint8_t *want = slurp(path, &len);
    REQUIRE(want && read_u32_le(want + 8) == 2);

    const nndl_layer_spec dense[3] = {nndl_layer_fc(5, NNDL_ACT_TANH),
                                      nndl_layer_fc(4, NNDL_ACT_RELU), nndl_layer_fc(3, 0)};
    nndl_net *by_layers = make_layers(dense, 3, (nndl_shape){6, 1, 1}, spec.cost, spec.init, 5);
    REQUIRE(by_layers);
    REQUIRE(nndl_net_save(by_layers, other, &err) == NNDL_OK);
    uint8_t *got = slurp(other, &len2);
    CHECK(got && len2 == len && memcmp(got, want, len) == 0);
    free(got);
    free(want);

    static const struct {
        const char *what;
        nndl_shape input;
        nndl_activation act1;
        float dropout2;
        nndl_init init;
    } departures[] = {
        {"an input with a shape", {1, 2, 3}, NNDL_ACT_TANH, 0, NNDL_INIT_SCALED},
        {"a linear layer", {6, 1, 1}, NNDL_ACT_LINEAR, 0, NNDL_INIT_SCALED},
        {"a layer's own dropout", {6, 1, 1}, NNDL_ACT_TANH, 0.5f, NNDL_INIT_LARGE},
        {"network3.py's init", {6, 1, 1}, NNDL_ACT_TANH, 0, NNDL_INIT_NETWORK3},
        {"He's init", {6, 1, 1}, NNDL_ACT_TANH, 0, NNDL_INIT_HE},
    };
    for (size_t i = 0; i < sizeof departures / sizeof departures[0]; i++) {
        nndl_layer_spec layers[3];
        memcpy(layers, dense, sizeof layers);
        layers[0].act = departures[i].act1;
        layers[1].dropout = departures[i].dropout2;
        nndl_net *net = make_layers(layers, 3, departures[i].input, spec.cost,
                                    departures[i].init, 5);
        REQUIRE(net);
        REQUIRE(nndl_net_save(net, other, &err) == NNDL_OK);
        got = slurp(other, &len2);
        if (!got || read_u32_le(got + 8) != 3)
            test_fail(__FILE__, __LINE__, "%s: not written as version 3", departures[i].what);
        free(got);
        scramble(net);
        round_trip_layers(net, "v3-departure.nndl", NULL);
        nndl_net_free(net);
    }
    nndl_net_free(by_layers);
    nndl_net_free(by_sizes);
}

/* A small version 3 file: input 1 x 4 x 4; layer 1 conv of 2 maps 3 x 3,
 * tanh; layer 2 max-pool 2; layer 3 fc 3, linear, dropout 0.25; layer 4
 * softmax 2; log-likelihood, He's init. 37 parameters, 308 bytes. */
enum { SMALL3_LEN = 308, SMALL3_HEADER = 156, SMALL3_PARAMS = 37 };

static uint8_t *small_v3_bytes(void)
{
    nndl_layer_spec layers[] = {nndl_layer_conv(2, 3, 1, NNDL_ACT_TANH), nndl_layer_pool(2),
                                nndl_layer_fc(3, NNDL_ACT_LINEAR), nndl_layer_fc(2, 0)};
    layers[2].dropout = 0.25f;
    nndl_net *net = make_layers(layers, 4, (nndl_shape){1, 4, 4}, NNDL_COST_LOG_LIKELIHOOD,
                                NNDL_INIT_HE, 9);
    if (!net) return NULL;
    scramble(net);
    char path[600];
    path_in(path, sizeof path, model_dir(), "small3.nndl");
    nndl_error err;
    nndl_status st = nndl_net_save(net, path, &err);
    size_t params = nndl_net_param_count(net);
    nndl_net_free(net);
    if (st != NNDL_OK || params != SMALL3_PARAMS) {
        test_fail(__FILE__, __LINE__, "save: %s, %zu parameters", err.message, params);
        return NULL;
    }
    size_t len = 0;
    uint8_t *b = slurp(path, &len);
    if (b && len != SMALL3_LEN) {
        test_fail(__FILE__, __LINE__, "small v3 model is %zu bytes", len);
        free(b);
        return NULL;
    }
    return b;
}

TEST(model_v3_rejects_truncation_at_every_byte)
{
    char path[600], expect[64];
    path_in(path, sizeof path, model_dir(), "truncated3.nndl");
    uint8_t *good = small_v3_bytes();
    REQUIRE(good);
    for (size_t len = 0; len < SMALL3_LEN; len++) {
        REQUIRE(spit(path, good, len) == 0);
        if (len >= SMALL3_HEADER)
            snprintf(expect, sizeof expect, "truncated: expected 308 bytes, found %zu", len);
        else
            snprintf(expect, sizeof expect, len ? "truncated" : "empty file");
        if (!LOAD_FAILS(path, NNDL_ERR_FORMAT, expect)) fprintf(stderr, "    at %zu\n", len);
    }
    REQUIRE(spit(path, good, SMALL3_LEN) == 0);
    nndl_error err;
    nndl_net *net = nndl_net_load(path, &err);
    CHECK(net != NULL);
    nndl_net_free(net);
    free(good);
}

TEST(model_v3_rejects_every_single_byte_corruption)
{
    char path[600];
    path_in(path, sizeof path, model_dir(), "corrupt3.nndl");
    uint8_t *good = small_v3_bytes();
    REQUIRE(good);
    static const uint8_t flips[] = {0x01, 0x80, 0xff};
    for (size_t pos = 0; pos < SMALL3_LEN; pos++) {
        for (size_t k = 0; k < sizeof flips; k++) {
            good[pos] ^= flips[k];
            REQUIRE(spit(path, good, SMALL3_LEN) == 0);
            good[pos] ^= flips[k];
            nndl_error err;
            nndl_net *net = nndl_net_load(path, &err);
            if (net)
                test_fail(__FILE__, __LINE__, "byte %zu ^ 0x%02x was accepted", pos, flips[k]);
            else if (err.status != NNDL_ERR_FORMAT || !strstr(err.message, path) ||
                     strchr(err.message, '\n'))
                test_fail(__FILE__, __LINE__, "byte %zu: %s", pos, err.message);
            nndl_net_free(net);
        }
    }
    free(good);
}

/* Each header field of the small file set to something wrong, with the CRC
 * made right again, so that the header checks themselves must refuse it. */
TEST(model_v3_rejects_bad_fields)
{
    char path[600];
    path_in(path, sizeof path, model_dir(), "fields3.nndl");
    uint8_t *good = small_v3_bytes();
    REQUIRE(good);
    enum { NAN_BITS = 0x7fc00000u, INF_BITS = 0x7f800000u, ONE_BITS = 0x3f800000u,
           HALF_BITS = 0x3f000000u, MINUS_ZERO_BITS = 0x80000000u };
    const size_t p_at = 40 + 24 * 4 + 8;
    static const struct {
        size_t at;
        uint32_t value;
        const char *says;
    } cases[] = {
        {12, 1, "unsupported header flags 0x00000001"},
        {16, 3, "unknown cost function 3"},
        {16, NNDL_COST_CROSS_ENTROPY,
         "layer 4 is softmax, but the cross-entropy cost needs a sigmoid output layer"},
        {20, 4, "unknown initialization 4"},
        {V3_L, 0, "0 layers; a model has 1 to 63"},
        {V3_L, 64, "64 layers; a model has 1 to 63"},
        {V3_L, 3, "layer 3 is linear, but the log-likelihood cost needs a softmax"},
        {V3_INPUT, 0, "the input shape 0 x 4 x 4 is out of range"},
        {V3_INPUT + 8, 1000001, "the input shape 1 x 4 x 1000001 is out of range"},
        {V3_INPUT, 1000000, "input: shape 1000000 x 4 x 4; need positive sides and at most"},
        {V3_INPUT + 4, 2, "layer 1: 3 x 3 filters over 2 x 4 inputs"},
        {V3_FIELD(1, F_KIND), 3, "layer 1: unknown kind 3"},
        {V3_FIELD(1, F_KIND), NNDL_LAYER_POOL, "layer 1: a max-pooling layer has no size"},
        {V3_FIELD(1, F_KIND), NNDL_LAYER_FC, "layer 1: a fully connected layer has no kernel"},
        {V3_FIELD(1, F_ACT), 5, "layer 1: unknown activation function 5"},
        {V3_FIELD(1, F_ACT), NNDL_ACT_SOFTMAX, "softmax is for the output layer"},
        {V3_FIELD(1, F_SIZE), 0, "layer 1: 0 feature maps"},
        {V3_FIELD(1, F_SIZE), 4000000000u, "layer 1: size 4000000000 is out of range"},
        {V3_FIELD(1, F_KERNEL), 0, "layer 1: 0 x 0 filters"},
        {V3_FIELD(1, F_KERNEL), 5, "layer 1: 5 x 5 filters over 4 x 4 inputs"},
        {V3_FIELD(1, F_POOL), 0, "layer 1: pool 0 over 2 x 2 feature maps"},
        {V3_FIELD(1, F_POOL), 3, "layer 1: pool 3 over 2 x 2 feature maps"},
        {V3_FIELD(1, F_DROPOUT), HALF_BITS, "layer 1: dropout applies to the inputs of a fully"},
        {V3_FIELD(2, F_ACT), NNDL_ACT_RELU, "layer 2 is a max-pooling layer, so linear, but the "
                                            "record says relu"},
        {V3_FIELD(2, F_SIZE), 2, "layer 2: a max-pooling layer has no size, but the record "
                                 "gives 2 (must be 0)"},
        {V3_FIELD(2, F_POOL), 3, "layer 2: pool 3 over 2 x 2 inputs"},
        {V3_FIELD(3, F_KERNEL), 1, "layer 3: a fully connected layer has no kernel"},
        {V3_FIELD(3, F_POOL), 2, "layer 3: a fully connected layer has no pool"},
        {V3_FIELD(3, F_DROPOUT), NAN_BITS, "layer 3: dropout nan; need 0 <= p < 1"},
        {V3_FIELD(3, F_DROPOUT), INF_BITS, "layer 3: dropout inf; need 0 <= p < 1"},
        {V3_FIELD(3, F_DROPOUT), ONE_BITS, "layer 3: dropout 1; need 0 <= p < 1"},
        {V3_FIELD(3, F_DROPOUT), MINUS_ZERO_BITS, "layer 3: dropout -0; need 0 <= p < 1"},
        {V3_FIELD(4, F_KIND), NNDL_LAYER_CONV, "layer 4: the output layer must be fully connected"},
        {V3_FIELD(4, F_ACT), NNDL_ACT_SIGMOID,
         "layer 4 is sigmoid, but the log-likelihood cost needs a softmax output layer"},
        {V3_FIELD(4, F_SIZE), 1, "log-likelihood needs at least 2 output neurons"},
        {V3_FIELD(3, F_SIZE), 4, "the header declares 37 parameters but the layer sizes imply 42"},
        {p_at, 36, "the header declares 36 parameters but the layer sizes imply 37"},
        {p_at + 8, 1, "truncated: expected 309 bytes, found 308"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t bad[SMALL3_LEN];
        memcpy(bad, good, SMALL3_LEN);
        write_u32_le(bad + cases[i].at, cases[i].value);
        fix_crc(bad, SMALL3_LEN);
        REQUIRE(spit(path, bad, SMALL3_LEN) == 0);
        if (!LOAD_FAILS(path, NNDL_ERR_FORMAT, cases[i].says)) fprintf(stderr, "    case %zu\n", i);
    }
    /* The control: the file itself loads. */
    REQUIRE(spit(path, good, SMALL3_LEN) == 0);
    nndl_error err;
    nndl_net *net = nndl_net_load(path, &err);
    if (!net) test_fail(__FILE__, __LINE__, "%s", err.message);
    nndl_net_free(net);
    free(good);
}

/* A version 3 header alone (no parameters, no CRC): what a hostile file
 * claims. Returns its length. */
static size_t craft_v3(uint8_t *b, uint32_t cost, nndl_shape in, const nndl_layer_spec *layers,
                       int n, uint64_t count)
{
    memcpy(b, "NNDLMODL", 8);
    write_u32_le(b + 8, 3);
    write_u32_le(b + 12, 0);
    write_u32_le(b + 16, cost);
    write_u32_le(b + 20, NNDL_INIT_SCALED);
    write_u32_le(b + V3_L, (uint32_t)n);
    write_u32_le(b + V3_INPUT, (uint32_t)in.channels);
    write_u32_le(b + V3_INPUT + 4, (uint32_t)in.height);
    write_u32_le(b + V3_INPUT + 8, (uint32_t)in.width);
    for (int l = 1; l <= n; l++) {
        const nndl_layer_spec *s = &layers[l - 1];
        write_u32_le(b + V3_FIELD(l, F_KIND), (uint32_t)s->kind);
        write_u32_le(b + V3_FIELD(l, F_ACT), (uint32_t)s->act);
        write_u32_le(b + V3_FIELD(l, F_SIZE), (uint32_t)s->size);
        write_u32_le(b + V3_FIELD(l, F_KERNEL), (uint32_t)s->kernel);
        write_u32_le(b + V3_FIELD(l, F_POOL), (uint32_t)s->pool);
        write_f32_le(b + V3_FIELD(l, F_DROPOUT), s->dropout);
    }
    uint8_t *p = b + V3_RECORDS + V3_RECORD * n;
    write_u64_le(p, 7);
    write_u64_le(p + 8, count);
    write_u32_le(p + 16, 0);
    return (size_t)(p + 20 - b);
}

TEST(model_v3_rejects_huge_header_without_allocating)
{
    char path[600];
    path_in(path, sizeof path, model_dir(), "huge3.nndl");
    uint8_t b[V3_RECORDS + V3_RECORD * 63 + 20];
    const nndl_shape megapixel = {1, 1000, 1000};

    /* Within every limit: 499,000,999 parameters, 2 GB declared, in a file
     * of 108 bytes. */
    nndl_layer_spec fc[2] = {nndl_layer_fc(499, NNDL_ACT_RELU), nndl_layer_fc(1, 0)};
    size_t len = craft_v3(b, NNDL_COST_QUADRATIC, megapixel, fc, 2, 499000999ull);
    REQUIRE(len == 108);
    REQUIRE(spit(path, b, len) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "truncated: expected 1996004108 bytes, found 108"));
    CHECK(load_fails_in_small_address_space(path, "truncated") == 0);

    /* Past NNDL_MAX_PARAMS. */
    fc[0].size = 600;
    len = craft_v3(b, NNDL_COST_QUADRATIC, megapixel, fc, 2, 600000601ull + 600);
    REQUIRE(spit(path, b, len) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "the limit is 500000000"));
    CHECK(load_fails_in_small_address_space(path, "the limit is") == 0);

    /* A convolution whose products would not fit: 65536 maps of 1 x 1
     * over a megapixel. */
    nndl_layer_spec conv[2] = {nndl_layer_conv(65536, 1, 1, NNDL_ACT_RELU), nndl_layer_fc(1, 0)};
    len = craft_v3(b, NNDL_COST_QUADRATIC, megapixel, conv, 2, 1);
    REQUIRE(spit(path, b, len) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "layer 1: 1 x 1 filters over 1 x 1000 x 1000 inputs "
                                            "are too large"));
    CHECK(load_fails_in_small_address_space(path, "too large") == 0);

    /* 63 layers of a megapixel each: every shape in range, far too many
     * parameters, refused from the header. */
    nndl_layer_spec deep[63];
    for (int l = 0; l < 63; l++) deep[l] = nndl_layer_conv(1, 1, 1, NNDL_ACT_RELU);
    deep[62] = nndl_layer_fc(1000000, 0);
    len = craft_v3(b, NNDL_COST_QUADRATIC, megapixel, deep, 63, 1);
    REQUIRE(len <= sizeof b);
    REQUIRE(spit(path, b, len) == 0);
    CHECK(LOAD_FAILS(path, NNDL_ERR_FORMAT, "the limit is 500000000"));
    CHECK(load_fails_in_small_address_space(path, "the limit is") == 0);
}
