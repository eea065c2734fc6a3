/* JSON models (src/model/json_model.c): network2.py's save() format read
 * from a fixture, parameters landing in the right places, a feedforward
 * pass against values computed in Python, bit-exact round trips, the
 * structure of what is written, rejection of bad files, and
 * `nndl export`. */
#include <errno.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "model/json_model.h"
#include "model/model_file.h"
#include "nndl.h"

#ifndef NNDL_CLI_PATH
#define NNDL_CLI_PATH "build/nndl"
#endif

/* ---- Helpers ------------------------------------------------------------ */

static const char *json_dir(void)
{
    static char dir[512];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/json-model", test_tmpdir());
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            perror(dir);
            exit(2);
        }
    }
    return dir;
}

static const char *tmp_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", json_dir(), name);
    return buf;
}

/* The whole file as a NUL-terminated string, or NULL. */
static char *slurp_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, (cap *= 2) + 1);
            if (!bigger) free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (buf) buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static int spit_text(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t put = len ? fwrite(text, 1, len, f) : 0;
    return (fclose(f) == 0 && put == len) ? 0 : -1;
}

/* tests/fixtures/NAME: beside this source file, or found from the tool's
 * path (BUILD/nndl, so ../tests/fixtures) when run from elsewhere. */
static const char *fixture(char *buf, size_t cap, const char *name)
{
    const char *src = __FILE__, *slash = strrchr(src, '/');
    snprintf(buf, cap, "%.*sfixtures/%s", slash ? (int)(slash - src + 1) : 0, src, name);
    if (access(buf, R_OK) == 0) return buf;
    char root[512];
    snprintf(root, sizeof root, "%s", NNDL_CLI_PATH);
    for (int up = 0; up < 2; up++) { /* drop "/nndl", then "/build" */
        char *cut = strrchr(root, '/');
        if (cut) *cut = 0;
    }
    snprintf(buf, cap, "%s/tests/fixtures/%s", root[0] ? root : ".", name);
    return buf;
}

/* The fixture's text, written by Python's json.dump as network2.py's
 * save() writes it (see the comment in json_loads_network2_fixture). */
static char *fixture_text(size_t *len)
{
    char path[1024];
    char *text = slurp_text(fixture(path, sizeof path, "network2_small.json"), len);
    if (!text) test_fail(__FILE__, __LINE__, "cannot read %s", path);
    return text;
}

/* Loading `path` (with json_model_load and with nndl_net_load, which must
 * hand it over) fails with `status` and a one-line message naming the file
 * and containing `needle`. */
static int json_load_fails(const char *path, nndl_status status, const char *needle, int line)
{
    for (int via = 0; via < 2; via++) {
        nndl_error err = {NNDL_OK, ""};
        nndl_net *net = via ? nndl_net_load(path, &err) : json_model_load(path, &err);
        if (net) {
            nndl_net_free(net);
            test_fail(__FILE__, line, "%s: loaded, expected \"%s\"", path, needle);
            return 0;
        }
        if (err.status != status || !strstr(err.message, path) ||
            !strstr(err.message, needle) || strchr(err.message, '\n')) {
            test_fail(__FILE__, line, "status %s, message \"%s\"; expected %s and \"%s\"",
                      nndl_status_name(err.status), err.message, nndl_status_name(status),
                      needle);
            return 0;
        }
        net = via ? nndl_net_load(path, NULL) : json_model_load(path, NULL);
        if (net) {
            nndl_net_free(net);
            test_fail(__FILE__, line, "%s: loaded when err was NULL", path);
            return 0;
        }
    }
    return 1;
}
#define JSON_LOAD_FAILS(path, status, needle) json_load_fails(path, status, needle, __LINE__)

/* `text` with the first `from` replaced by `to`; the caller frees it. */
static char *replaced(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (!at) {
        test_fail(__FILE__, __LINE__, "\"%s\" not in the text", from);
        return NULL;
    }
    size_t head = (size_t)(at - text), nf = strlen(from), nt = strlen(to);
    char *out = malloc(strlen(text) - nf + nt + 1);
    if (!out) return NULL;
    memcpy(out, text, head);
    memcpy(out + head, to, nt);
    strcpy(out + head + nt, at + nf);
    return out;
}

static int count_temp_files_in(const char *dir)
{
    char cmd[700], line[64] = "";
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c '\\.tmp\\.'", dir);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    if (!fgets(line, sizeof line, p)) line[0] = 0;
    pclose(p);
    return atoi(line);
}

static uint64_t next_random(uint64_t *s)
{
    /* xorshift64*: enough to spread bit patterns. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

/* ---- The fixture -------------------------------------------------------- */

/* tests/fixtures/network2_small.json was written by Python 3's json.dump
 * from the dictionary network2.py's save() builds, for sizes [4, 3, 2] and
 * these weights and biases (as lists, which is what .tolist() gives):
 *
 *   w1 = [[0.1, -0.2, 0.3, -0.4], [0.5, 0.6, -0.7, 0.8], [-0.9, 1.0, 1.1, -1.2]]
 *   b1 = [[0.01], [-0.02], [0.03]]
 *   w2 = [[1.5, -2.5, 0.25], [-0.75, 2.0, 3.0]]
 *   b2 = [[-0.5], [0.125]]
 *   json.dump({"sizes": [4, 3, 2], "weights": [w1, w2], "biases": [b1, b2],
 *              "cost": "CrossEntropyCost"}, f)
 */
static const float fixture_params[23] = {
    0.1f, -0.2f, 0.3f, -0.4f, 0.5f, 0.6f, -0.7f, 0.8f, -0.9f, 1.0f, 1.1f, -1.2f, /* w1 */
    0.01f, -0.02f, 0.03f,                                                        /* b1 */
    1.5f, -2.5f, 0.25f, -0.75f, 2.0f, 3.0f,                                      /* w2 */
    -0.5f, 0.125f,                                                               /* b2 */
};

TEST(json_loads_network2_fixture)
{
    char path[1024];
    fixture(path, sizeof path, "network2_small.json");
    for (int via = 0; via < 2; via++) {
        nndl_error err;
        /* json_model_load directly, and nndl_net_load telling JSON apart. */
        nndl_net *net = via ? nndl_net_load(path, &err) : json_model_load(path, &err);
        if (!net) test_fail(__FILE__, __LINE__, "%s", err.message);
        REQUIRE(net);
        CHECK(nndl_net_n_sizes(net) == 3);
        CHECK(nndl_net_size(net, 0) == 4 && nndl_net_size(net, 1) == 3 &&
              nndl_net_size(net, 2) == 2);
        CHECK(nndl_net_cost(net) == NNDL_COST_CROSS_ENTROPY);
        CHECK(nndl_net_activation(net, 1) == NNDL_ACT_SIGMOID);
        CHECK(nndl_net_activation(net, 2) == NNDL_ACT_SIGMOID);
        CHECK(nndl_net_init(net) == NNDL_INIT_SCALED);
        CHECK(nndl_net_seed(net) == 0);

        /* Every number in its place: w^l row-major (row j = neuron j), then
         * b^l, layer after layer (docs/MODEL_FORMAT.md, "Parameters").
         * Python's doubles round to the nearest float, as (float)0.1 does. */
        REQUIRE(nndl_net_param_count(net) == 23);
        const float *p = nndl_net_params_const(net);
        for (int i = 0; i < 23; i++)
            if (memcmp(&p[i], &fixture_params[i], sizeof(float)) != 0)
                test_fail(__FILE__, __LINE__, "parameter %d is %.9g, expected %.9g", i,
                          (double)p[i], (double)fixture_params[i]);

        /* network2.py's feedforward, a = sigmoid(np.dot(w, a) + b) per layer,
         * evaluated in Python (double precision, math.exp) on these inputs:
         *   [0, 0.25, 0.5, 1] -> [0.2044797328750876, 0.9098459132004356]
         *   [1, 0, 0, 0]      -> [0.2351695098922811, 0.864203921941034]
         * nndl computes in float: agreement to 1e-6. */
        static const float inputs[8] = {0.0f, 0.25f, 0.5f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f};
        static const double expected[4] = {0.2044797328750876, 0.9098459132004356,
                                           0.2351695098922811, 0.864203921941034};
        float outputs[4] = {0};
        CHECK(nndl_net_feedforward(net, inputs, 2, outputs, &err) == NNDL_OK);
        for (int i = 0; i < 4; i++) CHECK_NEAR(outputs[i], expected[i], 1e-6);
        CHECK(nndl_net_classify(net, inputs) == 1);
        nndl_net_free(net);
    }
}

/* ---- Writing ------------------------------------------------------------ */

/* What json_model_save writes for the fixture's network: the fixture's own
 * bytes (Python's json.dump separators, key order and number style), with
 * the "nndl" key added at the end. */
TEST(json_save_writes_network2_structure)
{
    size_t flen = 0;
    char *want_head = fixture_text(&flen);
    REQUIRE(want_head && flen > 2 && want_head[flen - 1] == '}');
    want_head[flen - 1] = 0; /* drop the closing brace */

    char path[1024], out[600];
    nndl_error err;
    nndl_net *net = json_model_load(fixture(path, sizeof path, "network2_small.json"), &err);
    REQUIRE(net);
    tmp_path(out, sizeof out, "structure.json");
    CHECK(json_model_save(net, out, &err) == NNDL_OK);
    size_t len = 0;
    char *text = slurp_text(out, &len);
    REQUIRE(text);
    static const char tail[] = ", \"nndl\": {\"format\": 1, \"activations\": [\"sigmoid\", "
                               "\"sigmoid\"], \"init\": \"scaled\", \"seed\": \"0\"}}";
    size_t head = strlen(want_head);
    CHECK(len == head + strlen(tail));
    CHECK(strncmp(text, want_head, head) == 0);
    CHECK(strcmp(text + (len >= head ? head : 0), tail) == 0);
    if (test_failed_now()) fprintf(stderr, "    wrote: %s\n", text);

    /* The shapes, read back with cJSON as network2.py's load() would see
     * them: biases are columns [[b1], [b2], ...]. */
    cJSON *root = cJSON_Parse(text);
    REQUIRE(root);
    const char *keys[] = {"sizes", "weights", "biases", "cost", "nndl"};
    int k = 0;
    for (const cJSON *c = root->child; c; c = c->next, k++)
        CHECK(k < 5 && strcmp(c->string, keys[k]) == 0);
    CHECK(k == 5);
    const cJSON *biases = cJSON_GetObjectItem(root, "biases");
    CHECK(cJSON_GetArraySize(biases) == 2);
    const cJSON *b2 = cJSON_GetArrayItem(biases, 1);
    CHECK(cJSON_GetArraySize(b2) == 2);
    CHECK(cJSON_IsArray(cJSON_GetArrayItem(b2, 1)) &&
          cJSON_GetArraySize(cJSON_GetArrayItem(b2, 1)) == 1 &&
          cJSON_GetArrayItem(cJSON_GetArrayItem(b2, 1), 0)->valuedouble == 0.125);
    const cJSON *w1 = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "weights"), 0);
    CHECK(cJSON_GetArraySize(w1) == 3 && cJSON_GetArraySize(cJSON_GetArrayItem(w1, 2)) == 4);
    CHECK(strcmp(cJSON_GetObjectItem(root, "cost")->valuestring, "CrossEntropyCost") == 0);
    cJSON_Delete(root);
    free(text);
    free(want_head);
    nndl_net_free(net);
}

/* Save then load gives the same bits for every float: signed zeros,
 * subnormals, the extremes and 200,000 random bit patterns. */
TEST(json_round_trip_is_bit_exact)
{
    static const int sizes[3] = {1000, 190, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.seed = 3;
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    REQUIRE(net);
    float *p = nndl_net_params(net);
    size_t count = nndl_net_param_count(net);
    static const float special[] = {-0.0f, 0.0f, FLT_TRUE_MIN, -FLT_TRUE_MIN, FLT_MIN,
                                    -FLT_MIN, FLT_MAX, -FLT_MAX, 0.1f, 1.0f / 3.0f,
                                    16777216.0f, 16777215.0f, 1e-30f, 3.0f, 1e30f,
                                    0x1.fffffcp-127f /* the largest subnormal */, 123456.7f};
    enum { N_SPECIAL = sizeof special / sizeof special[0] };
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < count; i++) {
        if (i < N_SPECIAL) {
            p[i] = special[i];
            continue;
        }
        uint32_t bits;
        do bits = (uint32_t)(next_random(&s) >> 32);
        while ((bits & 0x7f800000u) == 0x7f800000u); /* NaN and infinity: not saved */
        memcpy(&p[i], &bits, sizeof bits);
    }
    char path[600], again[600];
    tmp_path(path, sizeof path, "exact.json");
    tmp_path(again, sizeof again, "exact-again.json");
    CHECK(json_model_save(net, path, &err) == NNDL_OK);
    nndl_net *back = json_model_load(path, &err);
    if (!back) test_fail(__FILE__, __LINE__, "%s", err.message);
    REQUIRE(back);
    REQUIRE(nndl_net_param_count(back) == count);
    const float *q = nndl_net_params_const(back);
    size_t differ = 0;
    for (size_t i = 0; i < count; i++) {
        if (memcmp(&p[i], &q[i], sizeof(float)) != 0 && differ++ < 5)
            test_fail(__FILE__, __LINE__, "parameter %zu: wrote %a, read %a", i, (double)p[i],
                      (double)q[i]);
    }
    CHECK(differ == 0);
    /* And writing what was read gives the same text. */
    CHECK(json_model_save(back, again, &err) == NNDL_OK);
    size_t l1 = 0, l2 = 0;
    char *t1 = slurp_text(path, &l1), *t2 = slurp_text(again, &l2);
    CHECK(t1 && t2 && l1 == l2 && memcmp(t1, t2, l1) == 0);
    /* Python's style: -0.0 keeps its sign, an integral value gets ".0". */
    static const char head[] = "\"weights\": [[[-0.0, 0.0, 1.4013e-45, -1.4013e-45, "
                               "1.1754944e-38, -1.1754944e-38, 3.4028235e+38, -3.4028235e+38, "
                               "0.1, 0.33333334, 16777216.0, 16777215.0, 1e-30, 3.0, 1e+30, "
                               "1.1754942e-38, 123456.7, ";
    const char *w = t1 ? strstr(t1, "\"weights\": [[[") : NULL;
    CHECK(w && strncmp(w, head, sizeof head - 1) == 0);
    if (w && strncmp(w, head, sizeof head - 1) != 0) fprintf(stderr, "    %.200s\n", w);
    free(t1);
    free(t2);
    nndl_net_free(back);
    nndl_net_free(net);
}

/* Chapter 3's networks: the "nndl" key keeps what network2.py's four keys
 * cannot say. */
TEST(json_round_trip_keeps_nndl_kinds)
{
    static const int sizes[4] = {5, 4, 3, 3};
    static const nndl_activation hidden[2] = {NNDL_ACT_TANH, NNDL_ACT_RELU};
    nndl_net_spec spec = nndl_net_spec_default(4, sizes);
    spec.cost = NNDL_COST_LOG_LIKELIHOOD;
    spec.hidden_acts = hidden;
    spec.init = NNDL_INIT_LARGE;
    spec.seed = UINT64_MAX;
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    REQUIRE(net);
    char path[600];
    tmp_path(path, sizeof path, "kinds.json");
    CHECK(json_model_save(net, path, &err) == NNDL_OK);
    char why[160];
    CHECK(!json_model_network2_compatible(net, why, sizeof why));
    CHECK(strstr(why, "log-likelihood") != NULL);
    nndl_net *back = nndl_net_load(path, &err);
    if (!back) test_fail(__FILE__, __LINE__, "%s", err.message);
    REQUIRE(back);
    CHECK(nndl_net_cost(back) == NNDL_COST_LOG_LIKELIHOOD);
    CHECK(nndl_net_activation(back, 1) == NNDL_ACT_TANH);
    CHECK(nndl_net_activation(back, 2) == NNDL_ACT_RELU);
    CHECK(nndl_net_activation(back, 3) == NNDL_ACT_SOFTMAX);
    CHECK(nndl_net_init(back) == NNDL_INIT_LARGE);
    CHECK(nndl_net_seed(back) == UINT64_MAX);
    CHECK(memcmp(nndl_net_params_const(back), nndl_net_params_const(net),
                 nndl_net_param_count(net) * sizeof(float)) == 0);
    size_t len = 0;
    char *text = slurp_text(path, &len);
    CHECK(text && strstr(text, "\"cost\": \"LogLikelihoodCost\"") &&
          strstr(text, "\"activations\": [\"tanh\", \"relu\", \"softmax\"]") &&
          strstr(text, "\"seed\": \"18446744073709551615\""));
    free(text);
    nndl_net_free(back);

    /* A tanh hidden layer alone is what stops network2.py. */
    spec.cost = NNDL_COST_CROSS_ENTROPY;
    nndl_net *ce = nndl_net_create(&spec, &err);
    REQUIRE(ce);
    CHECK(!json_model_network2_compatible(ce, why, sizeof why) && strstr(why, "layer 1 is tanh"));
    nndl_net_free(ce);
    static const int plain[3] = {4, 3, 2};
    nndl_net_spec ps = nndl_net_spec_default(3, plain);
    nndl_net *sig = nndl_net_create(&ps, &err);
    REQUIRE(sig);
    CHECK(json_model_network2_compatible(sig, why, sizeof why) && why[0] == 0);
    CHECK(json_model_network2_compatible(sig, NULL, 0));
    nndl_net_free(sig);
    nndl_net_free(net);
}

TEST(json_save_failures)
{
    static const int sizes[3] = {4, 3, 2};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    REQUIRE(net);
    char path[600];
    tmp_path(path, sizeof path, "no-such-dir/m.json");
    CHECK(json_model_save(net, path, &err) == NNDL_ERR_IO);
    CHECK(strstr(err.message, path) && strstr(err.message, "No such file or directory"));

    /* NaN: refused (network2.py's json.dump would write the invalid token
     * NaN), and an existing file is left as it was. */
    tmp_path(path, sizeof path, "nan.json");
    CHECK(json_model_save(net, path, &err) == NNDL_OK);
    size_t before = 0;
    char *old = slurp_text(path, &before);
    nndl_net_params(net)[13] = NAN; /* b1[1] */
    CHECK(json_model_save(net, path, &err) == NNDL_ERR_ARG);
    CHECK(strstr(err.message, path) && strstr(err.message, "b1[1] is NaN"));
    size_t after = 0;
    char *now = slurp_text(path, &after);
    CHECK(old && now && before == after && memcmp(old, now, before) == 0);
    free(old);
    free(now);
    CHECK(json_model_save(NULL, path, &err) == NNDL_ERR_ARG);
    CHECK(json_model_save(net, "", &err) == NNDL_ERR_ARG);
    CHECK(json_model_load(NULL, &err) == NULL && err.status == NNDL_ERR_ARG);
    CHECK(count_temp_files_in(json_dir()) == 0);
    nndl_net_free(net);
}

/* A network of layers, or NULL after a test failure. */
static nndl_net *layered(const nndl_layer_spec *layers, int n, nndl_shape input, nndl_init init)
{
    nndl_net_spec spec = nndl_net_spec_default(0, NULL);
    spec.layers = layers;
    spec.n_layers = n;
    spec.input = input;
    spec.cost = NNDL_COST_LOG_LIKELIHOOD;
    spec.init = init;
    spec.seed = 11;
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    if (!net) test_fail(__FILE__, __LINE__, "nndl_net_create: %s", err.message);
    return net;
}

/* What the format cannot hold is refused with the layer that stops it, and
 * nothing is written; the rest of what version 3 added (linear layers,
 * network3.py's and He's initializations) goes through the "nndl" key. */
TEST(json_save_refuses_what_it_cannot_hold)
{
    static const struct {
        nndl_layer_spec layers[4];
        int n;
        nndl_shape input;
        const char *says;
    } cases[] = {
        {{{NNDL_LAYER_CONV, 2, 3, 2, NNDL_ACT_RELU, 0}, {NNDL_LAYER_FC, 3, 0, 0, 0, 0}},
         2, {1, 8, 8}, "; layer 1 is convolutional (use the nndl format)"},
        {{{NNDL_LAYER_FC, 4, 0, 0, NNDL_ACT_RELU, 0}, {NNDL_LAYER_FC, 3, 0, 0, 0, 0}},
         2, {1, 8, 8}, "; the input is 1 x 8 x 8, not flat"},
        {{{NNDL_LAYER_POOL, 0, 0, 2, NNDL_ACT_LINEAR, 0}, {NNDL_LAYER_FC, 3, 0, 0, 0, 0}},
         2, {1, 4, 4}, "; layer 1 is a max-pooling layer (use"},
        {{{NNDL_LAYER_FC, 4, 0, 0, NNDL_ACT_TANH, 0}, {NNDL_LAYER_FC, 5, 0, 0, NNDL_ACT_RELU, 0},
          {NNDL_LAYER_FC, 3, 0, 0, 0, 0.5f}},
         3, {6, 1, 1}, "; layer 3 drops its inputs out"},
        {{{NNDL_LAYER_FC, 4, 0, 0, NNDL_ACT_RELU, 0}, {NNDL_LAYER_FC, 3, 0, 0, 0, 0}},
         2, {2, 3, 1}, "the input is 2 x 3 x 1, not flat"},
    };
    char path[600];
    tmp_path(path, sizeof path, "refused.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        remove(path);
        nndl_net *net = layered(cases[i].layers, cases[i].n, cases[i].input, NNDL_INIT_SCALED);
        if (!net) continue;
        nndl_error err = {NNDL_OK, ""};
        CHECK(nndl_net_save_json(net, path, &err) == NNDL_ERR_ARG);
        if (!strstr(err.message, path) || !strstr(err.message, cases[i].says) ||
            !strstr(err.message, "network2.py's JSON holds fully connected networks") ||
            strchr(err.message, '\n'))
            test_fail(__FILE__, __LINE__, "case %zu: \"%s\"", i, err.message);
        CHECK(access(path, F_OK) != 0);
        nndl_net_free(net);
    }
    CHECK(count_temp_files_in(json_dir()) == 0);
}

TEST(json_round_trip_linear_network3_he)
{
    nndl_layer_spec layers[] = {nndl_layer_fc(5, NNDL_ACT_LINEAR), nndl_layer_fc(4, NNDL_ACT_RELU),
                                nndl_layer_fc(3, NNDL_ACT_SOFTMAX)};
    static const nndl_init inits[] = {NNDL_INIT_NETWORK3, NNDL_INIT_HE};
    for (size_t i = 0; i < sizeof inits / sizeof inits[0]; i++) {
        nndl_net *net = layered(layers, 3, (nndl_shape){6, 1, 1}, inits[i]);
        REQUIRE(net);
        float *p = nndl_net_params(net);
        for (size_t k = 0; k < nndl_net_param_count(net); k++) p[k] = (float)(k % 7) / 8 - 0.3f;
        char path[600];
        tmp_path(path, sizeof path, "linear.json");
        nndl_error err;
        CHECK(nndl_net_save_json(net, path, &err) == NNDL_OK);
        nndl_net *back = nndl_net_load(path, &err);
        if (!back) test_fail(__FILE__, __LINE__, "%s", err.message);
        REQUIRE(back);
        CHECK(nndl_net_init(back) == inits[i] && nndl_net_seed(back) == 11);
        CHECK(nndl_net_activation(back, 1) == NNDL_ACT_LINEAR);
        CHECK(nndl_net_activation(back, 2) == NNDL_ACT_RELU);
        CHECK(nndl_net_activation(back, 3) == NNDL_ACT_SOFTMAX);
        CHECK(nndl_net_param_count(back) == nndl_net_param_count(net));
        CHECK(memcmp(nndl_net_params_const(back), p, nndl_net_param_count(net) * sizeof *p) == 0);
        static const float in[6] = {0.5f, -1, 0.25f, 2, 0, -0.125f};
        float a[3], b[3];
        CHECK(nndl_net_feedforward(net, in, 1, a, &err) == NNDL_OK &&
              nndl_net_feedforward(back, in, 1, b, &err) == NNDL_OK && memcmp(a, b, sizeof a) == 0);
        size_t len = 0;
        char *text = slurp_text(path, &len);
        const char *init = inits[i] == NNDL_INIT_HE ? "\"init\": \"he\"" : "\"init\": \"network3\"";
        CHECK(text && strstr(text, "\"activations\": [\"linear\", \"relu\", \"softmax\"]") &&
              strstr(text, init));
        free(text);
        nndl_net_free(back);
        nndl_net_free(net);
    }
}

/* ---- Rejecting bad files ------------------------------------------------ */

TEST(json_rejects_truncated_files)
{
    size_t len = 0;
    char *good = fixture_text(&len);
    REQUIRE(good);
    char path[600];
    tmp_path(path, sizeof path, "truncated.json");
    /* Every proper prefix that starts the object. */
    for (size_t n = 1; n < len; n++) {
        REQUIRE(spit_text(path, good, n) == 0);
        if (!JSON_LOAD_FAILS(path, NNDL_ERR_FORMAT, "malformed JSON near byte")) {
            fprintf(stderr, "    at length %zu\n", n);
            break;
        }
    }
    REQUIRE(spit_text(path, good, len / 2) == 0);
    CHECK(JSON_LOAD_FAILS(path, NNDL_ERR_FORMAT, "the text ends early (truncated?)"));
    free(good);
}

TEST(json_rejects_bad_content)
{
    size_t len = 0;
    char *good = fixture_text(&len);
    REQUIRE(good);
    static const struct {
        const char *from, *to, *says;
    } cases[] = {
        /* Not network2.py's object. */
        {"{\"sizes\"", "{{\"sizes\"", "malformed JSON near byte"},
        {"\"cost\": \"CrossEntropyCost\"}", "\"cost\": \"CrossEntropyCost\"} x",
         "malformed JSON near byte"},
        {"\"cost\": \"CrossEntropyCost\"", "\"cost\": \"CrossEntropyCost\", \"sizes\": [4, 3, 2]",
         "the key \"sizes\" appears twice"},
        {", \"cost\": \"CrossEntropyCost\"", "", "no \"cost\" key"},
        {"\"weights\":", "\"Weights\":", "no \"weights\" key"},
        /* sizes */
        {"[4, 3, 2]", "[4]", "sizes has 1 entries; a network has 2 to"},
        {"[4, 3, 2]", "\"4,3,2\"", "sizes is a string, expected a list"},
        {"[4, 3, 2]", "[4, 0, 2]", "sizes[1] is not a whole number from 1 to"},
        {"[4, 3, 2]", "[4, 3.5, 2]", "sizes[1] is not a whole number"},
        {"[4, 3, 2]", "[4, \"3\", 2]", "sizes[1] is not a whole number"},
        {"[4, 3, 2]", "[4, 3, -2]", "sizes[2] is not a whole number"},
        {"[4, 3, 2]", "[4, 3, 1e300]", "sizes[2] is not a whole number"},
        {"[4, 3, 2]", "[1000000, 1000000, 1000000]", "weights and biases; the limit is"},
        {"[4, 3, 2]", "[4, 3, 2, 5]", "weights has 2 matrices, expected 3"},
        {"[4, 3, 2]", "[4, 3, 3]", "weights[1] has 2 rows, expected 3"},
        {"[4, 3, 2]", "[5, 3, 2]", "weights[0][0] has 4 numbers, expected 5"},
        /* weights and biases: shapes */
        {"[[[0.1, -0.2, 0.3, -0.4], ", "[[[0.1, -0.2, 0.3], ",
         "weights[0][0] has 3 numbers, expected 4"},
        {"[-0.75, 2.0, 3.0]", "[-0.75, 2.0]", "weights[1][1] has 2 numbers, expected 3"},
        {"[-0.75, 2.0, 3.0]", "{\"a\": 1}", "weights[1][1] is an object, expected a list"},
        {"[[[0.1, ", "[[[[0.1], ", "weights[0][0][0] is a list, expected a number"},
        {"\"biases\": [[[0.01], [-0.02], [0.03]]", "\"biases\": [[0.01, -0.02, 0.03]",
         "biases[0][0] is not a one-number list such as [0.5]"},
        {"[[-0.5], [0.125]]", "[[-0.5, 1], [0.125]]", "biases[1][0] is not a one-number list"},
        {"[[-0.5], [0.125]]", "[[-0.5]]", "biases[1] has 1 rows, expected 2"},
        {"\"biases\": [[[0.01]", "\"biases\": [[[\"0.01\"]", "biases[0][0][0] is a string"},
        {"\"biases\": [", "\"biases\": [[], ", "biases has 3 vectors, expected 2"},
        /* numbers */
        {"0.125", "NaN", "NaN or Infinity near byte"},
        {"1.1", "Infinity", "NaN or Infinity near byte"},
        {"-0.9", "-Infinity", "NaN or Infinity near byte"},
        {"1.1", "null", "weights[0][2][2] is null, expected a number"},
        {"1.1", "true", "weights[0][2][2] is a boolean"},
        {"1.1", "\"1.1\"", "weights[0][2][2] is a string, expected a number"},
        {"1.1", "1e39", "weights[0][2][2] is 1e+39, outside the range of a float"},
        {"-0.9", "-1e999", "weights[0][2][0] is -inf, outside the range of a float"},
        {"0.125", "3.4028236e38", "biases[1][1][0] is 3.4028236e+38, outside the range"},
        /* cost */
        {"\"CrossEntropyCost\"", "\"SoftmaxCost\"", "unknown cost \"SoftmaxCost\""},
        {"\"CrossEntropyCost\"", "3", "cost is a number, expected a name"},
        {"\"CrossEntropyCost\"", "\"LogLikelihoodCost\"",
         "the output layer (layer 2) is sigmoid, but the log-likelihood cost needs a softmax"},
        /* the "nndl" key */
        {"\"CrossEntropyCost\"", "\"CrossEntropyCost\", \"nndl\": 1", "nndl is a number"},
        {"\"CrossEntropyCost\"", "\"CrossEntropyCost\", \"nndl\": {\"format\": 2}",
         "nndl.format is not 1"},
        {"\"CrossEntropyCost\"", "\"CrossEntropyCost\", \"nndl\": {\"format\": 1}",
         "nndl has no \"activations\" key"},
        {"\"CrossEntropyCost\"",
         "\"CrossEntropyCost\", \"nndl\": {\"format\": 1, \"activations\": [\"tanh\"]}",
         "nndl.activations has 1 activations, expected 2"},
        {"\"CrossEntropyCost\"",
         "\"CrossEntropyCost\", \"nndl\": {\"format\": 1, \"activations\": [\"swish\", "
         "\"sigmoid\"]}", "nndl.activations[0] is not sigmoid, tanh, relu, softmax or linear"},
        {"\"CrossEntropyCost\"",
         "\"CrossEntropyCost\", \"nndl\": {\"format\": 1, \"activations\": [\"softmax\", "
         "\"sigmoid\"]}", "hidden layer 1 is softmax"},
        {"\"CrossEntropyCost\"",
         "\"CrossEntropyCost\", \"nndl\": {\"format\": 1, \"activations\": [\"relu\", "
         "\"relu\"]}", "the output layer (layer 2) is relu, but the cross-entropy cost"},
        {"\"CrossEntropyCost\"",
         "\"CrossEntropyCost\", \"nndl\": {\"format\": 1, \"activations\": [\"relu\", "
         "\"sigmoid\"], \"init\": \"xavier\"}",
         "nndl.init is not \"scaled\", \"large\", \"network3\" or \"he\""},
        {"\"CrossEntropyCost\"",
         "\"CrossEntropyCost\", \"nndl\": {\"format\": 1, \"activations\": [\"relu\", "
         "\"sigmoid\"], \"seed\": 42}", "nndl.seed is not a string of decimal digits"},
        {"\"CrossEntropyCost\"",
         "\"CrossEntropyCost\", \"nndl\": {\"format\": 1, \"activations\": [\"relu\", "
         "\"sigmoid\"], \"seed\": \"18446744073709551616\"}", "below 2^64"},
        {"\"CrossEntropyCost\"",
         "\"CrossEntropyCost\", \"nndl\": {\"format\": 1, \"activations\": [\"relu\", "
         "\"sigmoid\"], \"seed\": \"-1\"}", "nndl.seed is not a string of decimal digits"},
    };
    char path[600];
    tmp_path(path, sizeof path, "bad.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = replaced(good, cases[i].from, cases[i].to);
        if (!text) continue;
        REQUIRE(spit_text(path, text, strlen(text)) == 0);
        free(text);
        if (!JSON_LOAD_FAILS(path, NNDL_ERR_FORMAT, cases[i].says))
            fprintf(stderr, "    case %zu\n", i);
    }

    /* Where cJSON stopped: at the stray "x" after the object. */
    char *stray = malloc(len + 3);
    REQUIRE(stray);
    memcpy(stray, good, len);
    memcpy(stray + len, " x", 3);
    REQUIRE(spit_text(path, stray, len + 2) == 0);
    free(stray);
    char near[64];
    snprintf(near, sizeof near, "malformed JSON near byte %zu", len + 1);
    CHECK(JSON_LOAD_FAILS(path, NNDL_ERR_FORMAT, near));

    /* The control: a valid "nndl" key loads. */
    char *text = replaced(good, "\"CrossEntropyCost\"",
                          "\"CrossEntropyCost\", \"nndl\": {\"format\": 1, \"activations\": "
                          "[\"relu\", \"sigmoid\"], \"seed\": \"12\", \"future\": true}");
    REQUIRE(text);
    REQUIRE(spit_text(path, text, strlen(text)) == 0);
    free(text);
    nndl_error err;
    nndl_net *net = nndl_net_load(path, &err);
    CHECK(net && nndl_net_activation(net, 1) == NNDL_ACT_RELU && nndl_net_seed(net) == 12 &&
          nndl_net_init(net) == NNDL_INIT_SCALED);
    nndl_net_free(net);

    /* Extra keys are ignored, as network2.py's load() ignores them. */
    text = replaced(good, "{\"sizes\"", "{\"comment\": [1, {\"x\": null}], \"sizes\"");
    REQUIRE(text);
    REQUIRE(spit_text(path, text, strlen(text)) == 0);
    free(text);
    net = nndl_net_load(path, &err);
    CHECK(net != NULL);
    nndl_net_free(net);
    free(good);
}

TEST(json_rejects_odd_files)
{
    char path[600];
    tmp_path(path, sizeof path, "odd.json");
    static const struct {
        const char *text;
        int len; /* -1: strlen */
        const char *says;
    } cases[] = {
        {"", 0, "the text ends early"},
        {"   \n", -1, "the text ends early"},
        {"[1, 2]", -1, "the JSON text is a list, not an object"},
        {"\"sizes\"", -1, "the JSON text is a string"},
        {"{}", -1, "no \"sizes\" key"},
        {"{\"sizes\": [2, 1]\0}", 18, "a NUL byte at byte 16"},
        {"{\"sizes\": [2, 1], \"weights\": [[[1, 2]]], \"biases\": [[[0]]], \"cost\": "
         "\"QuadraticCost\"", -1, "the text ends early"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = cases[i].len < 0 ? strlen(cases[i].text) : (size_t)cases[i].len;
        REQUIRE(spit_text(path, cases[i].text, n) == 0);
        nndl_error err = {NNDL_OK, ""};
        nndl_net *net = json_model_load(path, &err);
        CHECK(net == NULL && err.status == NNDL_ERR_FORMAT);
        if (!strstr(err.message, cases[i].says) || !strstr(err.message, path))
            test_fail(__FILE__, __LINE__, "case %zu: \"%s\"", i, err.message);
        nndl_net_free(net);
    }
    /* Deep nesting is cJSON's to refuse (its limit is 1000 levels), without
     * overflowing the stack. */
    size_t deep = 3000, head = strlen("{\"sizes\": ");
    char *text = malloc(head + 2 * deep + 2);
    REQUIRE(text);
    memcpy(text, "{\"sizes\": ", head);
    memset(text + head, '[', deep);
    memset(text + head + deep, ']', deep);
    text[head + 2 * deep] = '}';
    REQUIRE(spit_text(path, text, head + 2 * deep + 1) == 0);
    free(text);
    CHECK(JSON_LOAD_FAILS(path, NNDL_ERR_FORMAT, "malformed JSON"));

    /* A quadratic-cost model with no "nndl" key loads as network2.py's. */
    static const char tiny[] = "{\"sizes\": [2, 1], \"weights\": [[[1, -2.5]]], "
                               "\"biases\": [[[0]]], \"cost\": \"QuadraticCost\"}";
    REQUIRE(spit_text(path, tiny, sizeof tiny - 1) == 0);
    nndl_error err;
    nndl_net *net = json_model_load(path, &err);
    CHECK(net && nndl_net_cost(net) == NNDL_COST_QUADRATIC);
    if (net) CHECK(nndl_net_params_const(net)[1] == -2.5f);
    nndl_net_free(net);

    /* Past the size limit: refused from its length alone (a sparse file). */
    tmp_path(path, sizeof path, "huge.json");
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fputc('{', f);
    int big = fseeko(f, (off_t)JSON_MODEL_MAX_BYTES, SEEK_SET) == 0 && fputc('}', f) != EOF;
    CHECK(fclose(f) == 0 && big);
    CHECK(JSON_LOAD_FAILS(path, NNDL_ERR_FORMAT, "too large for a JSON model"));
    unlink(path);

    CHECK(JSON_LOAD_FAILS(json_dir(), NNDL_ERR_IO, "not a regular file"));
    tmp_path(path, sizeof path, "absent.json");
    nndl_error e2;
    CHECK(json_model_load(path, &e2) == NULL && e2.status == NNDL_ERR_IO &&
          strstr(e2.message, "No such file or directory"));
}

/* ---- nndl export -------------------------------------------------------- */

/* Runs `nndl export ARGS`; returns the exit status and the first line of
 * standard error in `err_line`. */
static int run_export(const char *args, char *err_line, size_t cap, int *err_lines)
{
    char cmd[4096], err_path[600];
    tmp_path(err_path, sizeof err_path, "export.err");
    snprintf(cmd, sizeof cmd, "'%s' export %s >/dev/null 2>'%s' </dev/null", NNDL_CLI_PATH,
             args, err_path);
    int rc = system(cmd);
    size_t len = 0;
    char *text = slurp_text(err_path, &len);
    *err_lines = 0;
    err_line[0] = 0;
    if (text) {
        for (size_t i = 0; i < len; i++) *err_lines += text[i] == '\n';
        snprintf(err_line, cap, "%s", text);
        free(text);
    }
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

TEST(json_cli_export_converts_both_ways)
{
    char src[1024], bin[600], json[600], args[4096], line[1024];
    int lines;
    fixture(src, sizeof src, "network2_small.json");
    tmp_path(bin, sizeof bin, "cli.nndl");
    tmp_path(json, sizeof json, "cli.json");

    /* JSON -> nndl, the format from the name; then nndl -> JSON with -o. */
    snprintf(args, sizeof args, "'%s' --out '%s'", src, bin);
    CHECK(run_export(args, line, sizeof line, &lines) == 0 && lines == 0);
    snprintf(args, sizeof args, "'%s' --format json -o '%s'", bin, json);
    CHECK(run_export(args, line, sizeof line, &lines) == 0 && lines == 0);
    nndl_error err;
    nndl_net *a = json_model_load(src, &err), *b = nndl_net_load(bin, &err),
             *c = json_model_load(json, &err);
    REQUIRE(a && b && c);
    CHECK(nndl_net_cost(b) == NNDL_COST_CROSS_ENTROPY && nndl_net_cost(c) == nndl_net_cost(a));
    CHECK(memcmp(nndl_net_params_const(a), nndl_net_params_const(b), 23 * sizeof(float)) == 0);
    CHECK(memcmp(nndl_net_params_const(a), nndl_net_params_const(c), 23 * sizeof(float)) == 0);
    nndl_net_free(a);
    nndl_net_free(b);
    nndl_net_free(c);

    /* The binary file's metadata survives nndl -> nndl. */
    char meta_in[600], meta_out[600];
    tmp_path(meta_in, sizeof meta_in, "cli-meta.nndl");
    tmp_path(meta_out, sizeof meta_out, "cli-meta-copy.nndl");
    static const int sizes[3] = {4, 3, 2};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    static const nndl_activation hidden[1] = {NNDL_ACT_TANH};
    spec.hidden_acts = hidden;
    nndl_net *t = nndl_net_create(&spec, &err);
    REQUIRE(t);
    CHECK(model_save_with_meta(t, meta_in, "{\"epochs\": 3}", &err) == NNDL_OK);
    nndl_net_free(t);
    snprintf(args, sizeof args, "'%s' -o '%s' --format nndl", meta_in, meta_out);
    CHECK(run_export(args, line, sizeof line, &lines) == 0);
    char *meta = NULL;
    t = model_load_with_meta(meta_out, &meta, &err);
    CHECK(t && meta && strcmp(meta, "{\"epochs\": 3}") == 0);
    free(meta);
    nndl_net_free(t);

    /* A tanh network exports, with a note that network2.py cannot read it. */
    snprintf(args, sizeof args, "'%s' -o '%s'", meta_in, json);
    CHECK(run_export(args, line, sizeof line, &lines) == 0);
    CHECK(lines == 1 && strstr(line, "network2.py cannot load") && strstr(line, "tanh"));
}

TEST(json_cli_export_errors)
{
    char src[1024], out[600], args[4096], line[1024];
    int lines;
    fixture(src, sizeof src, "network2_small.json");
    tmp_path(out, sizeof out, "cli-err.bin");
    static const struct {
        const char *args;
        int status;
        const char *says;
    } cases[] = {
        {"", 2, "missing argument MODEL"},
        {"SRC", 2, "missing --out OUT"},
        {"SRC -o OUT", 2, "--format: cannot tell the format from the name"},
        {"SRC -o OUT --format xml", 2, "--format: 'xml' is not one of json|nndl"},
        {"SRC -o", 2, "--out: missing value"},
        {"SRC extra -o OUT --format json", 2, "unexpected argument 'extra'"},
        {"/nonexistent/m.json -o OUT --format nndl", 1, "/nonexistent/m.json"},
        {"SRC -o /nonexistent/dir/m.nndl", 1, "/nonexistent/dir/m.nndl"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* SRC and OUT stand for the fixture and a scratch file. */
        char expanded[2048] = "";
        for (const char *p = cases[i].args; *p;) {
            const char *word = !strncmp(p, "SRC", 3) ? src : !strncmp(p, "OUT", 3) ? out : NULL;
            if (word) {
                strncat(expanded, word, sizeof expanded - strlen(expanded) - 1);
                p += 3;
            } else {
                strncat(expanded, p, 1);
                p++;
            }
        }
        snprintf(args, sizeof args, "%s", expanded);
        int status = run_export(args, line, sizeof line, &lines);
        if (status != cases[i].status || lines != 1 || !strstr(line, cases[i].says) ||
            strncmp(line, "nndl export: ", 13) != 0)
            test_fail(__FILE__, __LINE__, "nndl export %s: status %d, stderr \"%s\"", args,
                      status, line);
    }
    CHECK(access(out, F_OK) != 0);
    int help = run_export("--help", line, sizeof line, &lines);
    CHECK(help == 0 && lines == 0);
}

/* Loading `path` fails holding `needle`, in under a second and with the
 * peak memory under `mib` MiB. */
static void fails_cheaply(const char *path, const char *needle, double mib, int line)
{
    test_cost_start();
    nndl_error err = {NNDL_OK, ""};
    nndl_net *net = nndl_net_load(path, &err);
    test_cost c = test_cost_end();
    if (net || !strstr(err.message, needle) || c.seconds > 1 || c.peak_mib > mib)
        test_fail(__FILE__, line, "\"%s\" after %.2f s and %.0f MiB; expected \"%s\" within "
                  "1 s and %.0f MiB", err.message, c.seconds, c.peak_mib, needle, mib);
    nndl_net_free(net);
}

TEST(json_hostile_files_cost_what_they_hold)
{
    char path[600];
    tmp_path(path, sizeof path, "hostile.json");
    /* 82 bytes declaring a network of half a billion parameters: the
     * shapes are checked before anything is made for them. */
    static const char sizes_only[] = "{\"sizes\": [1000000, 499, 1], \"weights\": [], "
                                     "\"biases\": [], \"cost\": \"QuadraticCost\"}";
    REQUIRE(sizeof sizes_only - 1 == 82 && spit_text(path, sizes_only, 82) == 0);
    fails_cheaply(path, "weights has 0 matrices, expected 2", 50, __LINE__);

    /* A sound [4,3,2] model whose extra key holds 3 million zeros: cJSON's
     * tree of them would take some 250 MB. */
    size_t len;
    char *good = fixture_text(&len);
    REQUIRE(good);
    size_t zeros = 3000000, big_len = len + 2 * zeros + 32;
    char *big = malloc(big_len);
    REQUIRE(big);
    size_t n = (size_t)snprintf(big, big_len, "{\"padding\": [0");
    for (size_t i = 1; i < zeros; i++, n += 2) memcpy(big + n, ",0", 2);
    n += (size_t)snprintf(big + n, big_len - n, "], %s", good + 1);
    REQUIRE(spit_text(path, big, n) == 0);
    fails_cheaply(path, "JSON values, more than a network of its sizes needs", 2 * n / 1e6 + 20,
                  __LINE__);
    /* the same zeros in "sizes", where they cannot be read first */
    n = (size_t)snprintf(big, big_len, "{\"sizes\": [0");
    for (size_t i = 1; i < zeros; i++, n += 2) memcpy(big + n, ",0", 2);
    n += (size_t)snprintf(big + n, big_len - n, "]}");
    REQUIRE(spit_text(path, big, n) == 0);
    fails_cheaply(path, "no \"sizes\" that can be read first", 2 * n / 1e6 + 20, __LINE__);
    free(big);

    /* a few thousand values of extra keys are read, and ignored */
    char *text = replaced(good, "{\"sizes\"", "{\"history\": [0.5, 0.75, 0.875], \"sizes\"");
    REQUIRE(text);
    REQUIRE(spit_text(path, text, strlen(text)) == 0);
    free(text);
    nndl_error err;
    nndl_net *net = nndl_net_load(path, &err);
    CHECK(net != NULL);
    nndl_net_free(net);
    free(good);
}

TEST(json_rejects_what_cjson_lets_through)
{
    /* cJSON takes the first of two equal keys (Python's json the last),
     * reads numbers with strtod ("01" and "5." pass) and ends a string at
     * \u0000 ("QuadraticCost\u0000junk" would read as QuadraticCost) */
    size_t len;
    char *good = fixture_text(&len);
    REQUIRE(good);
    static const char nndl_key[] =
        "\"CrossEntropyCost\", \"nndl\": {\"format\": 1, \"activations\": [\"relu\", "
        "\"sigmoid\"], \"activations\": [\"tanh\", \"sigmoid\"]}";
    static const struct {
        const char *from, *to, *says;
    } cases[] = {
        {"\"CrossEntropyCost\"", nndl_key, "the key \"activations\" appears twice"},
        {"{\"sizes\"", "{\"extra\": [{\"a\": 1, \"a\": 1}], \"sizes\"",
         "the key \"a\" appears twice"},
        {"0.125", "01", "a number JSON does not allow at byte"},
        {"0.125", "5.", "a number JSON does not allow"},
        {"0.125", "-.5", "a number JSON does not allow"},
        {"0.125", "1e", "a number JSON does not allow"},
        {"[4, 3, 2]", "[04, 3, 2]", "a number JSON does not allow"},
        {"\"CrossEntropyCost\"", "\"CrossEntropyCost\\u0000junk\"", "\\u0000 in a string"},
        {"\"CrossEntropyCost\"", "\"CrossEntropy\tCost\"", "a control character in a string"},
    };
    char path[600];
    tmp_path(path, sizeof path, "strict.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = replaced(good, cases[i].from, cases[i].to);
        REQUIRE(text);
        REQUIRE(spit_text(path, text, strlen(text)) == 0);
        free(text);
        if (!JSON_LOAD_FAILS(path, NNDL_ERR_FORMAT, cases[i].says))
            fprintf(stderr, "    case %zu\n", i);
    }
    /* what JSON does allow still loads: exponents, escapes, -0 */
    char *text = replaced(good, "0.125", "1.25e-1");
    char *more = text ? replaced(text, "\"CrossEntropyCost\"", "\"CrossEntropy\\u0043ost\"") : NULL;
    free(text);
    text = more ? replaced(more, "-0.5", "-0.5E0") : NULL;
    free(more);
    REQUIRE(text);
    REQUIRE(spit_text(path, text, strlen(text)) == 0);
    free(text);
    nndl_error err;
    nndl_net *net = nndl_net_load(path, &err);
    CHECK(net && nndl_net_cost(net) == NNDL_COST_CROSS_ENTROPY);
    if (!net) fprintf(stderr, "    %s\n", err.message);
    nndl_net_free(net);
    free(good);
}
