/* nndl serve: every answer of the API (api_handle, without sockets), a
 * training run streamed to the end, and the HTTP layer's limits through a
 * real server on a free port, driven by libcurl. */
#include <cjson/cJSON.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "jpeg_write.h"
#include "serve/serve.h"

enum { N_PIXELS = 784 };

static const char json[] = "application/json";

/* A server with one untrained [784,30,10] network (its answers are as
 * deterministic as a trained one's). */
static void server_open(server *srv)
{
    memset(srv, 0, sizeof *srv);
    models_init(&srv->models);
    mnist_shared_init(&srv->mnist);
    srv->training = training_create(srv);
    int sizes[] = {784, 30, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.seed = 7;
    nndl_error err;
    models_add(&srv->models, "untrained", nndl_net_create(&spec, &err), 0, 0, "test");
}

static void server_close(server *srv)
{
    training_stop(srv->training);
    training_free(srv->training);
    models_free(&srv->models);
    mnist_shared_free(&srv->mnist);
}

static api_response call(server *srv, const char *method, const char *path, const char *model,
                         const char *type, const char *body, size_t len)
{
    return api_handle(srv, method, path, model, type, body, len);
}

/* The status and, for an error, that the body is {"error": "..."} holding
 * `needle`. */
static int is_error(api_response *r, int status, const char *needle)
{
    cJSON *o = cJSON_ParseWithLength(r->body ? r->body : r->static_body, r->length);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    int ok = r->status == status && cJSON_IsString(e) && strstr(e->valuestring, needle) &&
             !strchr(e->valuestring, '\n');
    if (!ok)
        test_fail(__FILE__, __LINE__, "status %d body %.*s; expected %d with \"%s\"", r->status,
                  (int)r->length, r->body ? r->body : r->static_body, status, needle);
    cJSON_Delete(o);
    api_response_free(r);
    return ok;
}

static void expect_error(server *srv, const char *method, const char *path, const char *model,
                         const char *type, const char *body, int status, const char *needle)
{
    api_response r = call(srv, method, path, model, type, body, body ? strlen(body) : 0);
    if (!is_error(&r, status, needle)) fprintf(stderr, "  (%s %s)\n", method, path);
}

TEST(serve_pages_and_routing)
{
    server srv;
    server_open(&srv);
    const char *paths[] = {"/", "/index.html", "/app.js", "/style.css"};
    const char *types[] = {"text/html", "text/html", "text/javascript", "text/css"};
    for (int i = 0; i < 4; i++) {
        api_response r = call(&srv, "GET", paths[i], NULL, NULL, NULL, 0);
        CHECK(r.status == 200 && strncmp(r.content_type, types[i], strlen(types[i])) == 0);
        CHECK(r.length > 100 && r.static_body);
        /* assets.S ends each file with a NUL, so it is also a C string */
        CHECK(strlen(r.static_body) == r.length);
        if (i == 0) CHECK(strstr(r.static_body, "<canvas id=\"pad\"") != NULL);
        api_response_free(&r);
    }
    api_response r = call(&srv, "POST", "/", NULL, NULL, "x", 1);
    CHECK(r.allow && strcmp(r.allow, "GET, HEAD") == 0);
    is_error(&r, 405, "POST is not allowed on /");
    expect_error(&srv, "GET", "/nope", NULL, NULL, NULL, 404, "/nope: not found");
    expect_error(&srv, "GET", "/api/predict", NULL, NULL, NULL, 405, "allowed: POST");
    expect_error(&srv, "DELETE", "/api/models", NULL, NULL, NULL, 405, "allowed: GET");
    expect_error(&srv, "GET", "/api/train", NULL, NULL, NULL, 405, "allowed: POST");
    expect_error(&srv, "POST", "/api/train/1/events", NULL, NULL, NULL, 405, "allowed: GET");
    expect_error(&srv, "GET", "/api/train/0/events", NULL, NULL, NULL, 404, "not found");
    expect_error(&srv, "GET", "/api/train/12x/events", NULL, NULL, NULL, 404, "not found");
    expect_error(&srv, "GET", "/api/train/5/events", NULL, NULL, NULL, 404, "no training run 5");

    r = call(&srv, "GET", "/api/models", NULL, NULL, NULL, 0);
    cJSON *o = cJSON_ParseWithLength(r.body, r.length);
    const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "models"), 0);
    CHECK(r.status == 200 && m);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "sizes")) == 3);
    CHECK(cJSON_GetObjectItemCaseSensitive(m, "parameters")->valuedouble == 23860);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m, "accuracy")));
    cJSON_Delete(o);
    api_response_free(&r);
    server_close(&srv);
}

/* {"pixels": [...]} of a picture of side n: a bar of ink ("1"), or none,
 * on a background of `paper`. */
static char *pixels_body_on(int n, int ink, const char *paper)
{
    size_t cap = (size_t)n * n * (strlen(paper) + 2) + 32, len = 0;
    char *s = malloc(cap);
    len += (size_t)snprintf(s, cap, "{\"pixels\":[");
    for (int i = 0; i < n * n; i++) {
        int y = i / n, x = i % n;
        int on = ink && x > n / 2 - n / 10 && x < n / 2 + n / 10 && y > n / 8 && y < n - n / 8;
        len += (size_t)snprintf(s + len, cap - len, "%s%s", i ? "," : "", on ? "1" : paper);
    }
    snprintf(s + len, cap - len, "]}");
    return s;
}

static char *pixels_body(int n, int ink) { return pixels_body_on(n, ink, "0"); }

TEST(serve_predict_answers_and_errors)
{
    server srv;
    server_open(&srv);
    nndl_net *net = models_get(&srv.models, 0)->net;

    /* a JSON drawing: the answer is the network's own on the same input */
    char *body = pixels_body(100, 1);
    api_response r = call(&srv, "POST", "/api/predict", NULL, json, body, strlen(body));
    REQUIRE(r.status == 200);
    cJSON *o = cJSON_ParseWithLength(r.body, r.length);
    const cJSON *digit = cJSON_GetObjectItemCaseSensitive(o, "digit");
    const cJSON *probs = cJSON_GetObjectItemCaseSensitive(o, "probabilities");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(o, "input");
    const cJSON *hidden = cJSON_GetObjectItemCaseSensitive(o, "hidden");
    CHECK(cJSON_GetArraySize(probs) == 10 && cJSON_GetArraySize(input) == N_PIXELS);
    CHECK(cJSON_GetArraySize(hidden) == 1 && cJSON_GetArraySize(cJSON_GetArrayItem(hidden, 0)) == 30);
    double sum = 0;
    for (int d = 0; d < 10; d++) sum += cJSON_GetArrayItem(probs, d)->valuedouble;
    CHECK_NEAR(sum, 1.0, 1e-3);
    float in[N_PIXELS];
    for (int i = 0; i < N_PIXELS; i++) in[i] = (float)cJSON_GetArrayItem(input, i)->valuedouble;
    CHECK(cJSON_IsNumber(digit) && digit->valueint == nndl_net_classify(net, in));
    int json_digit = digit->valueint;
    const cJSON *found = cJSON_GetObjectItemCaseSensitive(o, "digits_found");
    CHECK(cJSON_IsNumber(found) && found->valueint == 1 && !cJSON_GetObjectItemCaseSensitive(o, "warning"));
    cJSON_Delete(o);
    api_response_free(&r);

    /* the same drawing as a PNG, with and without a Content-Type, and ?model=0 */
    uint8_t gray[100 * 100];
    const char *p = strchr(body, '[') + 1;
    for (int i = 0; i < 100 * 100; i++, p += 2) gray[i] = *p == '1' ? 0 : 255; /* ink dark */
    char path[512];
    snprintf(path, sizeof path, "%s/drawing.png", test_tmpdir());
    nndl_error err;
    REQUIRE(nndl_image_save_png(path, gray, 100, 100, &err) == NNDL_OK);
    FILE *f = fopen(path, "rb");
    char png[65536];
    size_t png_len = f ? fread(png, 1, sizeof png, f) : 0;
    if (f) fclose(f);
    const char *png_types[] = {"image/png", NULL};
    for (int k = 0; k < 2; k++) {
        r = call(&srv, "POST", "/api/predict", "0", png_types[k], png, png_len);
        o = cJSON_ParseWithLength(r.body, r.length);
        digit = cJSON_GetObjectItemCaseSensitive(o, "digit");
        CHECK(r.status == 200 && cJSON_IsNumber(digit) && digit->valueint == json_digit);
        cJSON_Delete(o);
        api_response_free(&r);
    }
    free(body);

    expect_error(&srv, "POST", "/api/predict", NULL, json, "", 400, "empty");
    expect_error(&srv, "POST", "/api/predict", NULL, json, "{\"pixels\":[0,1", 400, "not valid JSON");
    expect_error(&srv, "POST", "/api/predict", NULL, json, "[0,1,0,1]", 400, "expected a JSON object");
    expect_error(&srv, "POST", "/api/predict", NULL, json, "{\"pixel\":[1]}", 400, "expected a JSON object");
    expect_error(&srv, "POST", "/api/predict", NULL, json, "{\"pixels\":[0,1,0]}", 400, "square");
    expect_error(&srv, "POST", "/api/predict", NULL, json, "{\"pixels\":[]}", 400, "square");
    expect_error(&srv, "POST", "/api/predict", NULL, json, "{\"pixels\":[0,1,2,0]}", 400, "[2] is not a number from 0 to 1");
    expect_error(&srv, "POST", "/api/predict", NULL, json, "{\"pixels\":[0,\"a\",0,0]}", 400, "[1] is not");
    expect_error(&srv, "POST", "/api/predict", NULL, json, "{\"pixels\":[0,0,0,0]}", 422, "no ink");
    char *blank = pixels_body(28, 0);
    expect_error(&srv, "POST", "/api/predict", NULL, json, blank, 422, "the drawing: no ink found");
    free(blank);
    /* more values than a 512 x 512 square: refused before parsing */
    char *huge = pixels_body(600, 0);
    expect_error(&srv, "POST", "/api/predict", NULL, json, huge, 400, "360002 JSON values");
    free(huge);
    /* read strictly: nothing after the object, no key twice, JSON's numbers */
    expect_error(&srv, "POST", "/api/predict", NULL, json, "{\"pixels\":[0,1,1,0]} junk", 400,
                 "not valid JSON: text after the JSON value, at byte 21");
    expect_error(&srv, "POST", "/api/predict", NULL, json, "{\"pixels\":[0,1,1,0]}{}", 400,
                 "text after the JSON value");
    expect_error(&srv, "POST", "/api/predict", NULL, json,
                 "{\"pixels\":[0,1,1,0],\"pixels\":[0,0,0,0]}", 400,
                 "the key \"pixels\" appears twice");
    expect_error(&srv, "POST", "/api/predict", NULL, json, "{\"pixels\":[0,01,1,0]}", 400,
                 "a number JSON does not allow");
    expect_error(&srv, "POST", "/api/predict", NULL, "text/plain", "7", 415, "text/plain is not understood");
    expect_error(&srv, "POST", "/api/predict", NULL, "image/png", "\x89PNG\r\n\x1a\nnot really", 400, "the posted image");
    expect_error(&srv, "POST", "/api/predict", NULL, "image/png", "GIF89a", 400, "not a PNG, JPEG or PGM");
    expect_error(&srv, "POST", "/api/predict", "1", json, "{}", 404, "no such model");
    expect_error(&srv, "POST", "/api/predict", "-1", json, "{}", 404, "no such model");
    expect_error(&srv, "POST", "/api/predict", "", json, "{}", 404, "no such model");
    expect_error(&srv, "POST", "/api/predict", "0x", json, "{}", 404, "no such model");
    server_close(&srv);
}

/* ---- pictures posted as curl posts them ---- */

/* A 100 x 100 drawing (a dark bar on white) as a PNG and as a JPEG, each
 * with the digit the served network reads in it through the library. */
typedef struct posted {
    char png[8192], *jpeg;
    size_t png_len, jpeg_len;
    int png_digit, jpeg_digit;
} posted;

static int digit_of(server *srv, const void *bytes, size_t len)
{
    nndl_image img;
    nndl_error err;
    float in[N_PIXELS];
    if (nndl_image_load_memory(bytes, len, NULL, &img, &err) != NNDL_OK) return -1;
    nndl_status st = nndl_image_to_mnist(&img, in, NULL, &err);
    nndl_image_free(&img);
    return st == NNDL_OK ? nndl_net_classify(models_get(&srv->models, 0)->net, in) : -1;
}

static int posted_make(server *srv, posted *p)
{
    enum { S = 100 };
    static uint8_t gray[S * S];
    for (int i = 0; i < S * S; i++) {
        int x = i % S, y = i / S;
        gray[i] = (x > 40 && x < 58 && y > 12 && y < 88) || (y > 12 && y < 24 && x > 30 && x < 58) ? 0 : 255;
    }
    char path[512];
    nndl_error err;
    snprintf(path, sizeof path, "%s/posted.png", test_tmpdir());
    if (nndl_image_save_png(path, gray, S, S, &err) != NNDL_OK) return 0;
    FILE *f = fopen(path, "rb");
    p->png_len = f ? fread(p->png, 1, sizeof p->png, f) : 0;
    if (f) fclose(f);
    p->jpeg = (char *)test_jpeg_encode(gray, S, S, 1, 90, 0, &p->jpeg_len);
    p->png_digit = digit_of(srv, p->png, p->png_len);
    p->jpeg_digit = p->jpeg ? digit_of(srv, p->jpeg, p->jpeg_len) : -1;
    return p->png_len > 100 && p->png_len < sizeof p->png && p->png_digit >= 0 && p->jpeg_digit >= 0;
}

/* The digit of a 200 answer, or -1 (after recording why) for any other. */
static int answered_digit(api_response *r, int line)
{
    cJSON *o = cJSON_ParseWithLength(r->body ? r->body : r->static_body, r->length);
    const cJSON *digit = cJSON_GetObjectItemCaseSensitive(o, "digit");
    int d = r->status == 200 && cJSON_IsNumber(digit) ? digit->valueint : -1;
    if (d < 0)
        test_fail(__FILE__, line, "status %d: %.*s", r->status, (int)r->length,
                  r->body ? r->body : r->static_body);
    cJSON_Delete(o);
    api_response_free(r);
    return d;
}

TEST(serve_predict_takes_pictures_whatever_their_type)
{
    server srv;
    server_open(&srv);
    posted p;
    REQUIRE(posted_make(&srv, &p));
    /* curl --data-binary sends application/x-www-form-urlencoded; other
     * clients send anything: a PNG's or JPEG's first bytes decide */
    const char *types[] = {"application/x-www-form-urlencoded", "text/plain", json,
                           "image/png", "image/jpeg", "application/octet-stream", NULL};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        api_response r = call(&srv, "POST", "/api/predict", NULL, types[t], p.png, p.png_len);
        CHECK(answered_digit(&r, __LINE__) == p.png_digit);
        r = call(&srv, "POST", "/api/predict", NULL, types[t], p.jpeg, p.jpeg_len);
        CHECK(answered_digit(&r, __LINE__) == p.jpeg_digit);
    }
    /* bodies that are not pictures keep their answers */
    expect_error(&srv, "POST", "/api/predict", NULL, "application/x-www-form-urlencoded",
                 "digit=7", 415, "x-www-form-urlencoded is not understood");
    expect_error(&srv, "POST", "/api/predict", NULL, "text/plain", "GIF89a", 415, "not understood");
    expect_error(&srv, "POST", "/api/predict", NULL, "image/jpeg", "\xFF\xD8\xFF\xE0 cut", 400,
                 "the posted image: truncated JPEG image");
    expect_error(&srv, "POST", "/api/predict", NULL, "text/plain", "\x89PNG\r\n\x1a\n cut", 400,
                 "the posted image: truncated PNG");
    free(p.jpeg);
    server_close(&srv);
}

/* A multipart/form-data body as curl -F writes it, of parts given as
 * (headers, content, content length); `end` adds the closing delimiter. */
static size_t form_body(char *out, size_t cap, const char *boundary, const char *const *headers,
                        const char *const *contents, const size_t *lens, int n, int end)
{
    size_t len = 0;
    for (int k = 0; k < n; k++) {
        len += (size_t)snprintf(out + len, cap - len, "--%s\r\n%s\r\n\r\n", boundary, headers[k]);
        if (len + lens[k] + 2 > cap) return 0;
        memcpy(out + len, contents[k], lens[k]);
        len += lens[k];
        len += (size_t)snprintf(out + len, cap - len, "\r\n");
    }
    if (end) len += (size_t)snprintf(out + len, cap - len, "--%s--\r\n", boundary);
    return len < cap ? len : 0;
}

TEST(serve_predict_takes_multipart_uploads)
{
    server srv;
    server_open(&srv);
    posted p;
    REQUIRE(posted_make(&srv, &p));
    static char body[1 << 16];
    const char *b = "------------------------d74496d66958873e";
    char type[256];
    snprintf(type, sizeof type, "multipart/form-data; boundary=%s", b);
    const char *file_png = "Content-Disposition: form-data; name=\"file\"; filename=\"digit.png\"\r\n"
                           "Content-Type: image/png";
    const char *file_jpeg = "Content-Disposition: form-data; name=\"photo\"; filename=\"7.jpg\"\r\n"
                            "Content-Type: image/jpeg";
    const char *field = "Content-Disposition: form-data; name=\"note\"";

    /* curl -F file=@digit.png */
    const char *h1[] = {file_png};
    const char *c1[] = {p.png};
    size_t l1[] = {p.png_len};
    size_t len = form_body(body, sizeof body, b, h1, c1, l1, 1, 1);
    REQUIRE(len > 0);
    api_response r = call(&srv, "POST", "/api/predict", NULL, type, body, len);
    CHECK(answered_digit(&r, __LINE__) == p.png_digit);

    /* every cut of that body: a 400 saying so until the file's part has
     * ended, then the answer; never anything else */
    size_t file_end = 10; /* the end of the boundary after the file */
    while (file_end < len && memcmp(body + file_end, b, strlen(b)) != 0) file_end++;
    file_end += strlen(b);
    for (size_t cut = 0; cut < len; cut++) {
        r = call(&srv, "POST", "/api/predict", NULL, type, body, cut);
        if (cut < file_end) {
            if (!is_error(&r, 400, "multipart/form-data")) {
                fprintf(stderr, "  (cut at %zu of %zu)\n", cut, len);
                break;
            }
        } else {
            CHECK(answered_digit(&r, __LINE__) == p.png_digit);
        }
    }

    /* a text field first, then a JPEG; the boundary quoted, a preamble,
     * other parameters around it */
    const char *h2[] = {field, file_jpeg};
    const char *c2[] = {"a seven", p.jpeg};
    size_t l2[] = {7, p.jpeg_len};
    memcpy(body, "a preamble\r\n", 12);
    len = form_body(body + 12, sizeof body - 12, "a b:c", h2, c2, l2, 2, 1);
    REQUIRE(len > 0);
    r = call(&srv, "POST", "/api/predict", NULL,
             "Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\"; x=\"y;z\"", body, len + 12);
    CHECK(answered_digit(&r, __LINE__) == p.jpeg_digit);

    /* bad bodies: one line each, 400 */
    len = form_body(body, sizeof body, b, h1, c1, l1, 1, 1);
    expect_error(&srv, "POST", "/api/predict", NULL, "multipart/form-data", body, 400,
                 "without a boundary");
    char long_type[200];
    snprintf(long_type, sizeof long_type, "multipart/form-data; boundary=%071d", 7);
    expect_error(&srv, "POST", "/api/predict", NULL, long_type, body, 400, "boundary is not valid");
    expect_error(&srv, "POST", "/api/predict", NULL, "multipart/form-data; boundary=x\x01y", body,
                 400, "boundary is not valid");
    expect_error(&srv, "POST", "/api/predict", NULL, "multipart/form-data; boundary=other", body,
                 400, "does not hold its boundary \"other\"");
    const char *h3[] = {field};
    const char *c3[] = {"only text"};
    size_t l3[] = {9};
    len = form_body(body, sizeof body, b, h3, c3, l3, 1, 1);
    r = call(&srv, "POST", "/api/predict", NULL, type, body, len);
    is_error(&r, 400, "no file in the body");
    const char *c4[] = {"not a picture"};
    size_t l4[] = {13};
    len = form_body(body, sizeof body, b, h1, c4, l4, 1, 1);
    r = call(&srv, "POST", "/api/predict", NULL, type, body, len);
    is_error(&r, 400, "the posted file: not a PNG, JPEG or PGM image");
    size_t l5[] = {0};
    len = form_body(body, sizeof body, b, h1, c4, l5, 1, 1);
    r = call(&srv, "POST", "/api/predict", NULL, type, body, len);
    is_error(&r, 400, "the posted file is empty");
    /* a part whose headers go on and on */
    len = (size_t)snprintf(body, sizeof body, "--%s\r\n", b);
    while (len < 20000) len += (size_t)snprintf(body + len, sizeof body - len, "X-Pad: 0123456789\r\n");
    r = call(&srv, "POST", "/api/predict", NULL, type, body, len);
    is_error(&r, 400, "the headers of part 1 are over 8192 bytes");
    free(p.jpeg);
    server_close(&srv);
}

/* Two bars apart ("11"): read as one digit, with the count and a warning. */
TEST(serve_predict_warns_about_several_digits)
{
    server srv;
    server_open(&srv);
    char body[60000];
    size_t len = (size_t)snprintf(body, sizeof body, "{\"pixels\":[");
    for (int i = 0; i < 100 * 100; i++) {
        int x = i % 100, y = i / 100;
        int ink = y > 20 && y < 80 && ((x > 20 && x < 28) || (x > 70 && x < 78));
        len += (size_t)snprintf(body + len, sizeof body - len, "%s%d", i ? "," : "", ink);
    }
    len += (size_t)snprintf(body + len, sizeof body - len, "]}");
    api_response r = call(&srv, "POST", "/api/predict", NULL, json, body, len);
    cJSON *o = cJSON_ParseWithLength(r.body, r.length);
    const cJSON *found = cJSON_GetObjectItemCaseSensitive(o, "digits_found");
    const cJSON *warning = cJSON_GetObjectItemCaseSensitive(o, "warning");
    CHECK(r.status == 200 && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "digit")));
    CHECK(cJSON_IsNumber(found) && found->valueint == 2);
    CHECK(cJSON_IsString(warning) && strstr(warning->valuestring, "2 separate marks"));
    cJSON_Delete(o);
    api_response_free(&r);
    server_close(&srv);
}

TEST(serve_predict_reports_every_hidden_layer)
{
    /* tanh and ReLU layers: negative and large activations survive the
     * JSON (rounded to 3 decimals) */
    server srv;
    server_open(&srv);
    int sizes[] = {784, 12, 7, 10};
    nndl_activation acts[] = {NNDL_ACT_TANH, NNDL_ACT_RELU};
    nndl_net_spec spec = nndl_net_spec_default(4, sizes);
    spec.hidden_acts = acts;
    spec.init = NNDL_INIT_LARGE;
    spec.seed = 11;
    nndl_error err;
    REQUIRE(models_add(&srv.models, "deep", nndl_net_create(&spec, &err), 0, 0, "test") == 1);
    char *body = pixels_body(40, 1);
    api_response r = call(&srv, "POST", "/api/predict", "1", json, body, strlen(body));
    REQUIRE(r.status == 200);
    cJSON *o = cJSON_ParseWithLength(r.body, r.length);
    REQUIRE(o);
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(o, "input");
    const cJSON *hidden = cJSON_GetObjectItemCaseSensitive(o, "hidden");
    REQUIRE(cJSON_GetArraySize(hidden) == 2);
    CHECK(cJSON_GetArraySize(input) == N_PIXELS);
    /* the same picture through the library: the exact activations */
    uint8_t gray[40 * 40];
    const char *p = strchr(body, '[') + 1;
    for (int i = 0; i < 40 * 40; i++, p += 2) gray[i] = *p == '1' ? 255 : 0;
    nndl_image img = {40, 40, gray, NULL};
    float in[N_PIXELS], act[12 + 7 + 10];
    REQUIRE(nndl_image_to_mnist(&img, in, NULL, &err) == NNDL_OK);
    REQUIRE(nndl_net_feedforward_layers(models_get(&srv.models, 1)->net, in, act, &err) == NNDL_OK);
    int negative = 0, large = 0;
    for (int l = 0, k = 0; l < 2; l++) {
        const cJSON *layer = cJSON_GetArrayItem(hidden, l);
        CHECK(cJSON_GetArraySize(layer) == sizes[l + 1]);
        for (int j = 0; j < sizes[l + 1]; j++, k++) {
            double got = cJSON_GetArrayItem(layer, j)->valuedouble;
            CHECK_NEAR(got, act[k], 5.01e-4);
            negative += got < 0;
            large += got > 1;
        }
    }
    CHECK(negative > 0 && large > 0);
    free(body);
    cJSON_Delete(o);
    api_response_free(&r);
    server_close(&srv);
}

TEST(serve_training_recipes_are_checked)
{
    server srv;
    server_open(&srv);
    const char *bad[][2] = {
        {"[1]", "must be a JSON object"},
        {"{\"epochs\":0}", "\"epochs\": 0 is out of range"},
        {"{\"epochs\":2.5}", "whole number"},
        {"{\"hidden\":100000}", "\"hidden\""},
        {"{\"eta\":-1}", "\"eta\""},
        {"{\"eta\":\"fast\"}", "\"eta\" must be a number"},
        {"{\"train_size\":60000}", "\"train_size\""},
        {"{\"cost\":\"hinge\"}", "\"cost\" must be"},
        {"{\"layers\":3}", "unknown setting \"layers\""},
        {"{\"epochs\":", "not valid JSON"},
        {"{\"epochs\":2} x", "text after the JSON value"},
        {"{\"epochs\":2,\"epochs\":3}", "the key \"epochs\" appears twice"},
        {"{\"epochs\":02}", "a number JSON does not allow"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(&srv, "POST", "/api/train", NULL, json, bad[i][0], 400, bad[i][1]);
    train_recipe r;
    char why[200];
    CHECK(train_recipe_parse("", 0, &r, why, sizeof why) && r.hidden == 30 && r.epochs == 10);
    CHECK(train_recipe_parse(" {\"hidden\": 5, \"cost\": \"quadratic\"} ", 36, &r, why, sizeof why));
    CHECK(r.hidden == 5 && r.cost == NNDL_COST_QUADRATIC);
    server_close(&srv);
}

/* Reads a whole event stream. */
static char *read_stream(event_stream *s)
{
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    size_t n;
    while ((n = training_stream_read(s, text + len, 100)) > 0) /* small reads: events span calls */
        if ((len += n) + 100 >= cap) text = realloc(text, cap *= 2);
    text[len] = 0;
    training_stream_close(s);
    return text;
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++) n++;
    return n;
}

TEST(serve_training_run_streams_every_epoch)
{
    if (!test_mnist_dir()) return;
    server srv;
    server_open(&srv);
    const char *recipe = "{\"hidden\":20,\"epochs\":3,\"train_size\":2000,\"eta\":1}";
    api_response r = call(&srv, "POST", "/api/train", NULL, json, recipe, strlen(recipe));
    REQUIRE(r.status == 202);
    CHECK(strstr(r.body, "\"events\":\"/api/train/1/events\"") != NULL);
    api_response_free(&r);
    /* two readers, the second after the first saw the end: both get it all */
    for (int reader = 0; reader < 2; reader++) {
        r = call(&srv, "GET", "/api/train/1/events", NULL, NULL, NULL, 0);
        REQUIRE(r.status == 200 && r.stream && strcmp(r.content_type, "text/event-stream") == 0);
        char *text = read_stream(r.stream);
        CHECK(count(text, "event: start\ndata: {\"sizes\":[784,20,10]") == 1);
        CHECK(count(text, "event: epoch\n") == 3);
        CHECK(count(text, "\"epoch\":2,\"epochs\":3") == 1);
        CHECK(count(text, "event: done\ndata: {\"model\":1,") == 1);
        CHECK(count(text, "\n\n") == 5);
        free(text);
    }
    /* the trained network is served, with its validation accuracy */
    CHECK(models_count(&srv.models) == 2);
    served_model *m = models_get(&srv.models, 1);
    CHECK(m && m->total == 10000 && m->correct > 8000 && strcmp(m->accuracy_on, "validation") == 0);

    /* at most SERVE_MAX_ACTIVE_RUNS at once */
    const char *slow = "{\"epochs\":200,\"train_size\":50000}";
    for (int i = 0; i < SERVE_MAX_ACTIVE_RUNS; i++) {
        r = call(&srv, "POST", "/api/train", NULL, json, slow, strlen(slow));
        CHECK(r.status == 202);
        api_response_free(&r);
    }
    expect_error(&srv, "POST", "/api/train", NULL, json, slow, 429, "already going");
    /* stopping ends the runs after their epoch and ends their streams */
    r = call(&srv, "GET", "/api/train/2/events", NULL, NULL, NULL, 0);
    REQUIRE(r.stream);
    training_stop(srv.training);
    char *text = read_stream(r.stream);
    CHECK(count(text, "event: done") == 0);
    /* the stream's last event says why it ends */
    static const char stopping[] = "event: error\ndata: {\"error\":\"the server is stopping\"}\n\n";
    size_t n = strlen(text);
    CHECK(count(text, "event: error") == 1 && n >= sizeof stopping - 1 &&
          strcmp(text + n - (sizeof stopping - 1), stopping) == 0);
    free(text);
    expect_error(&srv, "POST", "/api/train", NULL, json, "{}", 503, "stopping");
    server_close(&srv);
}

/* ---- over HTTP ---- */

typedef struct http_result {
    long status;
    char body[4096];
    size_t len;
    char allow[64];
} http_result;

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    http_result *r = user;
    size_t len = size * n, room = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, data, len < room ? len : room);
    r->len += len < room ? len : room;
    r->body[r->len] = 0;
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    http_result *r = user;
    size_t len = size * n;
    if (len > 7 && strncasecmp(data, "Allow: ", 7) == 0)
        snprintf(r->allow, sizeof r->allow, "%.*s", (int)(len - 9), data + 7);
    return len;
}

static http_result http(int port, const char *method, const char *path, const char *type,
                        const char *body, size_t len, int chunked)
{
    http_result r = {0};
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    struct curl_slist *headers = NULL;
    char content_type[128];
    snprintf(content_type, sizeof content_type, "Content-Type: %s", type ? type : "");
    if (type) headers = curl_slist_append(headers, content_type);
    if (chunked) headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return r;
}

TEST(serve_http_limits_and_errors)
{
    server srv;
    server_open(&srv);
    nndl_error err;
    int port = 0;
    http_server *h = http_start(&srv, "127.0.0.1", 0, 30, &port, &err);
    REQUIRE(h && port > 0);

    http_result r = http(port, "GET", "/api/models", NULL, NULL, 0, 0);
    CHECK(r.status == 200 && strstr(r.body, "\"name\":\"untrained\""));
    r = http(port, "HEAD", "/", NULL, NULL, 0, 0);
    CHECK(r.status == 200 && r.len == 0);
    r = http(port, "PUT", "/api/predict", json, "{}", 2, 0);
    CHECK(r.status == 405 && strcmp(r.allow, "POST") == 0 && strstr(r.body, "\"error\""));
    r = http(port, "GET", "/../../etc/passwd", NULL, NULL, 0, 0);
    CHECK(r.status == 404);
    char *drawing = pixels_body(28, 1);
    r = http(port, "POST", "/api/predict?model=0", json, drawing, strlen(drawing), 0);
    CHECK(r.status == 200 && strstr(r.body, "\"digit\":"));
    r = http(port, "POST", "/api/predict", json, drawing, strlen(drawing), 1);
    CHECK(r.status == 200 && strstr(r.body, "\"digit\":"));
    free(drawing);
    /* the largest picture docs/SERVE.md allows, 512 x 512 values of up to 4
     * decimals, fits in the body limit */
    drawing = pixels_body_on(SERVE_MAX_SIDE, 1, "0.1234");
    REQUIRE(strlen(drawing) > (size_t)SERVE_MAX_BODY * 3 / 4 && strlen(drawing) <= SERVE_MAX_BODY);
    r = http(port, "POST", "/api/predict", json, drawing, strlen(drawing), 0);
    CHECK(r.status == 200 && strstr(r.body, "\"digit\":"));
    free(drawing);

    /* over the body limit: announced by Content-Length, or found while
     * reading a chunked body */
    size_t big = (size_t)SERVE_MAX_BODY + 1;
    char *junk = malloc(big);
    REQUIRE(junk);
    memset(junk, 'x', big);
    r = http(port, "POST", "/api/predict", "image/png", junk, big, 0);
    CHECK(r.status == 413 && strstr(r.body, "over the limit"));
    r = http(port, "POST", "/api/predict", "image/png", junk, big, 1);
    CHECK(r.status == 413 && strstr(r.body, "over the limit"));
    free(junk);
    /* the server still answers */
    r = http(port, "GET", "/api/models", NULL, NULL, 0, 0);
    CHECK(r.status == 200);

    training_stop(srv.training);
    http_stop(h);
    server_close(&srv);
}

/* The two commands a user tries first, as libcurl sends them through a
 * real server: `curl --data-binary @digit.png URL` (no type given, so
 * application/x-www-form-urlencoded) and `curl -F file=@digit.jpg URL`. */
TEST(serve_http_takes_what_curl_sends)
{
    server srv;
    server_open(&srv);
    posted p;
    REQUIRE(posted_make(&srv, &p));
    nndl_error err;
    int port = 0;
    http_server *h = http_start(&srv, "127.0.0.1", 0, 30, &port, &err);
    REQUIRE(h && port > 0);

    http_result r = http(port, "POST", "/api/predict", NULL, p.png, p.png_len, 0);
    char want[32];
    snprintf(want, sizeof want, "{\"digit\":%d,", p.png_digit);
    CHECK(r.status == 200 && strncmp(r.body, want, strlen(want)) == 0);

    char path[512], url[256];
    snprintf(path, sizeof path, "%s/upload.jpg", test_tmpdir());
    FILE *f = fopen(path, "wb");
    REQUIRE(f && fwrite(p.jpeg, 1, p.jpeg_len, f) == p.jpeg_len && fclose(f) == 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/predict", port);
    for (int with_field = 0; with_field <= 1; with_field++) {
        http_result form = {0};
        CURL *c = curl_easy_init();
        curl_mime *mime = curl_mime_init(c);
        if (with_field) { /* -F note=hello -F file=@upload.jpg */
            curl_mimepart *text = curl_mime_addpart(mime);
            curl_mime_name(text, "note");
            curl_mime_data(text, "hello", CURL_ZERO_TERMINATED);
        }
        curl_mimepart *part = curl_mime_addpart(mime);
        curl_mime_name(part, "file");
        curl_mime_filedata(part, path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &form);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &form.status);
        curl_mime_free(mime);
        curl_easy_cleanup(c);
        snprintf(want, sizeof want, "{\"digit\":%d,", p.jpeg_digit);
        if (!(form.status == 200 && strncmp(form.body, want, strlen(want)) == 0))
            test_fail(__FILE__, __LINE__, "-F (field first: %d): %ld %.200s", with_field,
                      form.status, form.body);
    }
    /* text with curl's default type is still refused */
    r = http(port, "POST", "/api/predict", NULL, "digit=7", 7, 0);
    CHECK(r.status == 415 && strstr(r.body, "x-www-form-urlencoded"));
    free(p.jpeg);
    http_stop(h);
    server_close(&srv);
}

/* A TCP connection to 127.0.0.1:port that has sent `text`; -1 on failure. */
static int raw_connect(int port, const char *text)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

/* A TCP connection from `from` (an address of 127.0.0.0/8) to
 * 127.0.0.1:port that has sent `text`; -1 on failure. */
static int connect_from(const char *from, int port, const char *text)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in me = {0}, a = {0};
    me.sin_family = a.sin_family = AF_INET;
    inet_pton(AF_INET, from, &me.sin_addr);
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof me) != 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        send(fd, text, strlen(text), MSG_NOSIGNAL) != (ssize_t)strlen(text)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

/* Whether the server has closed `fd` (read gives 0 or an error at once). */
static int closed_by_server(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return 0;
    char buf[512];
    return recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0;
}

static double seconds_since(struct timespec t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
}

/* Seconds until the server closes `fd`, or -1 if it is still open after
 * `limit` seconds; what it sent goes to `got` (capacity `cap`). */
static double seconds_to_close(int fd, double limit, char *got, size_t cap)
{
    struct timespec t0, t1;
    size_t len = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double spent = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        if (spent > limit) return -1;
        if (poll(&p, 1, 100) > 0) {
            char buf[4096];
            ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0) return spent;
            if (got && len + (size_t)n < cap) {
                memcpy(got + len, buf, (size_t)n);
                got[len += (size_t)n] = 0;
            }
        }
    }
}

TEST(serve_http_drops_idle_connections)
{
    server srv;
    server_open(&srv);
    nndl_error err;
    int port = 0;
    http_server *h = http_start(&srv, "127.0.0.1", 0, 1, &port, &err);
    REQUIRE(h && port > 0);
    /* a client that stops half way through its body is dropped after the
     * timeout (1 s here), not waited for */
    int slow = raw_connect(port, "POST /api/predict HTTP/1.1\r\nHost: x\r\n"
                                 "Content-Length: 100\r\n\r\nabc");
    REQUIRE(slow >= 0);
    double t = seconds_to_close(slow, 5, NULL, 0);
    CHECK(t > 0.5 && t < 4);
    close(slow);

    /* With every connection taken by idle clients (SERVE_MAX_PER_ADDRESS
     * from each of four addresses), a new request waits (the server stops
     * accepting) until idle ones are dropped, and is then answered. */
    int fds[SERVE_MAX_CONNECTIONS + 1];
    static const char *const from[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"};
    /* timed from before the idle clients connect: a loaded machine may
     * take longer than the pause below to let the server accept them */
    struct timespec idle_since;
    clock_gettime(CLOCK_MONOTONIC, &idle_since);
    for (int i = 0; i < SERVE_MAX_CONNECTIONS; i++)
        fds[i] = connect_from(from[i / SERVE_MAX_PER_ADDRESS % 4], port, "GET ");
    poll(NULL, 0, 200); /* let the server accept them */
    fds[SERVE_MAX_CONNECTIONS] = connect_from(
        "127.0.0.5", port, "GET /api/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    REQUIRE(fds[SERVE_MAX_CONNECTIONS] >= 0);
    char got[8192] = "";
    t = seconds_to_close(fds[SERVE_MAX_CONNECTIONS], 5, got, sizeof got);
    CHECK(t >= 0 && seconds_since(idle_since) > 0.9); /* answered once the idle ones went */
    CHECK(strncmp(got, "HTTP/1.1 200", 12) == 0);
    for (int i = 0; i <= SERVE_MAX_CONNECTIONS; i++)
        if (fds[i] >= 0) close(fds[i]);
    /* and once they are gone, the server answers again */
    http_result r = {0};
    for (int attempt = 0; attempt < 50 && r.status != 200; attempt++) {
        r = http(port, "GET", "/api/models", NULL, NULL, 0, 0);
        if (r.status != 200) poll(NULL, 0, 100);
    }
    CHECK(r.status == 200);
    training_stop(srv.training);
    http_stop(h);
    server_close(&srv);
}

TEST(serve_slow_headers_cannot_take_the_server)
{
    server srv;
    server_open(&srv);
    nndl_error err;
    int port = 0;
    /* 1. A client that sends a header line every 0.2 s is never idle, but
     * its head must arrive within the timeout (1 s here). */
    http_server *h = http_start(&srv, "127.0.0.1", 0, 1, &port, &err);
    REQUIRE(h && port > 0);
    int slow = connect_from("127.0.0.1", port, "GET /api/models HTTP/1.1\r\n");
    REQUIRE(slow >= 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!closed_by_server(slow) && seconds_since(t0) < 4) {
        send(slow, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL);
        poll(NULL, 0, 200);
    }
    double t = seconds_since(t0);
    CHECK(t > 0.8 && t < 2);
    close(slow);
    http_stop(h);

    /* 2. A slowloris from several addresses, with the timeout at 30 s: 70
     * connections from 127.0.0.1 and 16 from each of three others, every
     * one sending a header line every 0.3 s. One address holds at most
     * SERVE_MAX_PER_ADDRESS places, and when the server is nearly full the
     * slowest heads are cut off: a request from yet another address is
     * answered within two seconds. */
    h = http_start(&srv, "127.0.0.1", 0, 30, &port, &err);
    REQUIRE(h && port > 0);
    enum { FROM_ONE = 70, FROM_OTHERS = 16, N = FROM_ONE + 3 * FROM_OTHERS };
    static const char *const others[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4"};
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = connect_from(i < FROM_ONE ? "127.0.0.1" : others[(i - FROM_ONE) / FROM_OTHERS],
                              port, "GET /api/models HTTP/1.1\r\nHost: x\r\n");
    int normal = -1, answered = 0, kept_from_one = 0;
    char got[8192] = "";
    size_t got_len = 0;
    double asked_at = 0, answered_after = -1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (seconds_since(t0) < 5 && !answered) {
        for (int i = 0; i < N; i++)
            if (fds[i] >= 0 && send(fds[i], "X-Slow: 1\r\n", 11, MSG_NOSIGNAL) < 0) {
                close(fds[i]);
                fds[i] = -1;
            }
        if (normal < 0 && seconds_since(t0) > 0.5) {
            kept_from_one = 0;
            for (int i = 0; i < FROM_ONE; i++) kept_from_one += fds[i] >= 0 && !closed_by_server(fds[i]);
            normal = connect_from("127.0.0.9", port,
                                  "GET /api/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            asked_at = seconds_since(t0);
        }
        for (int k = 0; k < 3; k++) { /* 0.3 s, watching for the answer */
            struct pollfd p = {normal, POLLIN, 0};
            if (normal >= 0 && poll(&p, 1, 100) > 0) {
                ssize_t n = recv(normal, got + got_len, sizeof got - 1 - got_len, 0);
                if (n > 0) got[got_len += (size_t)n] = 0;
                if (strstr(got, "\"models\"") || n <= 0) {
                    answered = 1;
                    answered_after = seconds_since(t0) - asked_at;
                    break;
                }
            } else if (normal < 0) {
                poll(NULL, 0, 100);
            }
        }
    }
    CHECK(normal >= 0);
    CHECK(kept_from_one <= SERVE_MAX_PER_ADDRESS);
    if (!answered || strncmp(got, "HTTP/1.1 200", 12) != 0 || answered_after > 2)
        test_fail(__FILE__, __LINE__, "the request was %s after %.1f s: \"%.40s\"",
                  answered ? "answered" : "not answered", answered ? answered_after : 5.0, got);
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0) close(fds[i]);
    if (normal >= 0) close(normal);
    http_stop(h);
    server_close(&srv);
}

TEST(serve_refuses_two_content_lengths)
{
    /* two different lengths: which body is meant is ambiguous (a proxy may
     * take the other one), so the request is refused and the connection
     * closed; the same length twice is taken */
    server srv;
    server_open(&srv);
    nndl_error err;
    int port = 0;
    http_server *h = http_start(&srv, "127.0.0.1", 0, 5, &port, &err);
    REQUIRE(h && port > 0);
    static const char body[] = "{\"pixels\":[0,1,1,0]}";
    char request[512], got[4096];
    for (int same = 0; same < 2; same++) {
        snprintf(request, sizeof request,
                 "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Connection: close\r\nContent-Length: %zu\r\nContent-Length: %zu\r\n\r\n%s",
                 sizeof body - 1, same ? sizeof body - 1 : (size_t)4, body);
        int fd = raw_connect(port, request);
        REQUIRE(fd >= 0);
        got[0] = 0;
        double t = seconds_to_close(fd, 3, got, sizeof got);
        close(fd);
        if (same) {
            CHECK(strncmp(got, "HTTP/1.1 400", 12) != 0 && strncmp(got, "HTTP/1.1 ", 9) == 0);
        } else {
            CHECK(strncmp(got, "HTTP/1.1 400", 12) == 0 && strstr(got, "Content-Length"));
            CHECK(t >= 0 && t < 1); /* closed at once */
        }
    }
    http_stop(h);
    server_close(&srv);
}

/* ---- the command ---- */

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NNDL_CLI_PATH
#define NNDL_CLI_PATH "build/nndl"
#endif

TEST(serve_command_stops_on_sigterm)
{
    char model[512];
    snprintf(model, sizeof model, "%s/serve-model.nndl", test_tmpdir());
    int sizes[] = {784, 16, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    REQUIRE(net && nndl_net_save(net, model, &err) == NNDL_OK);
    nndl_net_free(net);

    int out[2];
    REQUIRE(pipe(out) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        freopen("/dev/null", "w", stderr); /* its "stopping" line */
        close(out[0]);
        close(out[1]);
        execl(NNDL_CLI_PATH, "nndl", "serve", "--port", "0", model, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[256] = "";
    int port = 0;
    if (f && fgets(line, sizeof line, f))
        sscanf(line, "nndl serve: http://127.0.0.1:%d/ with 1 model;", &port);
    CHECK(port > 0);
    if (port > 0) {
        http_result r = http(port, "GET", "/api/models", NULL, NULL, 0, 0);
        CHECK(r.status == 200 && strstr(r.body, "\"name\":\"serve-model.nndl\"") &&
              strstr(r.body, "\"sizes\":[784,16,10]"));
    }
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (f) fclose(f);
}

TEST(serve_predict_shows_a_conv_model_s_feature_maps)
{
    server srv;
    server_open(&srv);
    nndl_layer_spec layers[] = {nndl_layer_conv(3, 5, 2, NNDL_ACT_RELU),
                                nndl_layer_fc(8, NNDL_ACT_SIGMOID), nndl_layer_fc(10, 0)};
    nndl_net_spec spec = nndl_net_spec_default(0, NULL);
    spec.layers = layers;
    spec.n_layers = 3;
    spec.input = (nndl_shape){1, 28, 28};
    spec.cost = NNDL_COST_LOG_LIKELIHOOD;
    spec.init = NNDL_INIT_HE;
    spec.seed = 4;
    nndl_error err;
    REQUIRE(models_add(&srv.models, "conv", nndl_net_create(&spec, &err), 0, 0, "test") == 1);
    char *body = pixels_body(40, 1);
    api_response r = call(&srv, "POST", "/api/predict", "1", json, body, strlen(body));
    REQUIRE(r.status == 200);
    cJSON *o = cJSON_ParseWithLength(r.body, r.length);
    REQUIRE(o);
    const cJSON *maps = cJSON_GetObjectItemCaseSensitive(o, "maps");
    const cJSON *hidden = cJSON_GetObjectItemCaseSensitive(o, "hidden");
    REQUIRE(cJSON_GetArraySize(maps) == 3);
    CHECK(cJSON_GetArraySize(hidden) == 1); /* the fully connected layer's neurons */
    /* map c, pixel (y, x) is the layer's activation (y, x, c) */
    uint8_t gray[40 * 40];
    const char *p = strchr(body, '[') + 1;
    for (int i = 0; i < 40 * 40; i++, p += 2) gray[i] = *p == '1' ? 255 : 0;
    nndl_image img = {40, 40, gray, NULL};
    float in[N_PIXELS], act[3 * 12 * 12 + 8 + 10];
    REQUIRE(nndl_image_to_mnist(&img, in, NULL, &err) == NNDL_OK);
    REQUIRE(nndl_net_feedforward_layers(models_get(&srv.models, 1)->net, in, act, &err) == NNDL_OK);
    int active = 0;
    for (int c = 0; c < 3; c++) {
        const cJSON *map = cJSON_GetArrayItem(maps, c);
        CHECK(cJSON_GetObjectItemCaseSensitive(map, "height")->valueint == 12);
        const cJSON *values = cJSON_GetObjectItemCaseSensitive(map, "values");
        REQUIRE(cJSON_GetArraySize(values) == 144);
        for (int i = 0; i < 144; i++) {
            CHECK_NEAR(cJSON_GetArrayItem(values, i)->valuedouble, act[i * 3 + c], 5.01e-4);
            active += act[i * 3 + c] > 0;
        }
    }
    CHECK(active > 0);
    free(body);
    cJSON_Delete(o);
    api_response_free(&r);
    server_close(&srv);
}

TEST(serve_command_ends_event_streams_with_their_error)
{
    /* SIGTERM during a training run: its event stream, read over HTTP,
     * ends with "event: error" saying the server is stopping */
    if (!test_mnist_dir()) return;
    int out[2];
    REQUIRE(pipe(out) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        freopen("/dev/null", "w", stderr);
        close(out[0]);
        close(out[1]);
        execl(NNDL_CLI_PATH, "nndl", "serve", "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[256] = "";
    int port = 0;
    if (f && fgets(line, sizeof line, f))
        sscanf(line, "nndl serve: http://127.0.0.1:%d/", &port);
    CHECK(port > 0);
    char got[16384] = "";
    if (port > 0) {
        const char *slow = "{\"epochs\":200,\"train_size\":20000}";
        http_result r = http(port, "POST", "/api/train", json, slow, strlen(slow), 0);
        CHECK(r.status == 202);
        int fd = raw_connect(port, "GET /api/train/1/events HTTP/1.1\r\nHost: x\r\n\r\n");
        REQUIRE(fd >= 0);
        size_t len = 0;
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (!strstr(got, "event: epoch") && seconds_since(t0) < 20) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 100) > 0) {
                ssize_t n = read(fd, got + len, sizeof got - 1 - len);
                if (n <= 0) break;
                got[len += (size_t)n] = 0;
            }
        }
        CHECK(strstr(got, "event: epoch") != NULL);
        kill(pid, SIGTERM);
        double t = seconds_to_close(fd, 10, got + len, sizeof got - len);
        CHECK(t >= 0 && t < 5);
        close(fd);
        const char *error = strstr(got, "event: error\r\n") ? NULL : strstr(got, "event: error\n");
        CHECK(error && strstr(error, "the server is stopping"));
        CHECK(!strstr(got, "event: done"));
    } else {
        kill(pid, SIGTERM);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (f) fclose(f);
}
