/* What nndl serve answers, decided from the request's method, path, query,
 * Content-Type and body alone (http.c does the sockets), so that every
 * answer can be tested and fuzzed without a network. Errors are JSON,
 * {"error": "one line"}, with the 4xx status that says whose fault it is. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json_strict.h"
#include "serve.h"

enum { N_PIXELS = 784, N_DIGITS = 10 };

static const char json_type[] = "application/json";
static const char out_of_memory[] = "{\"error\":\"out of memory\"}";

static api_response respond_oom(void)
{
    api_response r = {0};
    r.status = 500;
    r.content_type = json_type;
    r.static_body = out_of_memory;
    r.length = sizeof out_of_memory - 1;
    return r;
}

/* Takes ownership of `json`. */
static api_response respond_json(int status, cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!text) return respond_oom();
    api_response r = {0};
    r.status = status;
    r.content_type = json_type;
    r.body = text;
    r.length = strlen(text);
    return r;
}

static api_response respond_error(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static api_response respond_error(int status, const char *fmt, ...)
{
    char message[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "error", message)) {
        cJSON_Delete(o);
        return respond_oom();
    }
    return respond_json(status, o);
}

static api_response respond_method_not_allowed(const char *method, const char *path,
                                               const char *allow)
{
    api_response r = respond_error(405, "%s is not allowed on %s (allowed: %s)", method, path,
                                   allow);
    r.allow = allow;
    return r;
}

void api_response_free(api_response *r)
{
    free(r->body);
    r->body = NULL;
}

/* Writes x rounded to `decimals` (1 to 6) places, without trailing zeros,
 * to `out` (room for 32 bytes); returns the length. A prediction sends a
 * thousand such numbers: formatting them as integers is several times
 * faster than cJSON's printf and scanf round trip. Huge values take
 * printf; NaN and infinity, which JSON lacks, become null. */
static int format_fixed(char *out, double x, int decimals)
{
    if (!isfinite(x)) return snprintf(out, 32, "null");
    if (fabs(x) >= 1e12) return snprintf(out, 32, "%.17g", x);
    long long scale = 1;
    for (int i = 0; i < decimals; i++) scale *= 10;
    long long q = llround(fabs(x) * (double)scale);
    int len = 0;
    if (x < 0 && q) out[len++] = '-';
    len += snprintf(out + len, 24, "%lld", q / scale);
    long long frac = q % scale;
    if (frac) {
        char digits[8];
        for (int i = decimals - 1; i >= 0; i--, frac /= 10) digits[i] = (char)('0' + frac % 10);
        int last = decimals;
        while (last > 0 && digits[last - 1] == '0') last--;
        out[len++] = '.';
        memcpy(out + len, digits, (size_t)last);
        len += last;
    }
    out[len] = 0;
    return len;
}

/* A JSON array of `n` numbers rounded to `decimals` places, as raw text. */
static cJSON *number_array(const float *v, int n, int decimals)
{
    char *text = malloc((size_t)n * 33 + 3);
    if (!text) return NULL;
    size_t len = 0;
    text[len++] = '[';
    for (int i = 0; i < n; i++) {
        if (i) text[len++] = ',';
        len += (size_t)format_fixed(text + len, v[i], decimals);
    }
    text[len++] = ']';
    text[len] = 0;
    cJSON *a = cJSON_CreateRaw(text);
    free(text);
    return a;
}

/* ---- GET /api/models ---- */

static cJSON *model_json(int index, served_model *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", index);
    cJSON_AddStringToObject(o, "name", m->name);
    int n = nndl_net_n_sizes(m->net);
    cJSON *sizes = cJSON_AddArrayToObject(o, "sizes");
    for (int l = 0; l < n; l++)
        cJSON_AddItemToArray(sizes, cJSON_CreateNumber(nndl_net_size(m->net, l)));
    cJSON_AddStringToObject(o, "cost", nndl_cost_name(nndl_net_cost(m->net)));
    cJSON_AddStringToObject(o, "activation", nndl_activation_name(nndl_net_activation(m->net, 1)));
    /* what the page shows for its hidden layers: neurons, or feature maps */
    cJSON_AddBoolToObject(o, "convolutional", !nndl_net_is_dense(m->net));
    char layers[2048];
    nndl_net_describe(m->net, layers, sizeof layers);
    cJSON_AddStringToObject(o, "layers", layers);
    cJSON_AddNumberToObject(o, "parameters", (double)nndl_net_param_count(m->net));
    if (m->total) {
        cJSON *acc = cJSON_AddObjectToObject(o, "accuracy");
        cJSON_AddStringToObject(acc, "data", m->accuracy_on);
        cJSON_AddNumberToObject(acc, "correct", (double)m->correct);
        cJSON_AddNumberToObject(acc, "total", (double)m->total);
        cJSON_AddNumberToObject(acc, "fraction", (double)m->correct / (double)m->total);
    } else {
        cJSON_AddNullToObject(o, "accuracy");
    }
    return o;
}

static api_response get_models(server *srv)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(root, "models");
    int n = models_count(&srv->models);
    for (int i = 0; list && i < n; i++) cJSON_AddItemToArray(list, model_json(i, models_get(&srv->models, i)));
    if (!list) {
        cJSON_Delete(root);
        return respond_oom();
    }
    return respond_json(200, root);
}

/* ---- POST /api/predict ---- */

/* The model a request names with ?model=N (default 0), or NULL with an
 * error response in *fail. */
static served_model *pick_model(server *srv, const char *query_model, api_response *fail)
{
    int n = models_count(&srv->models);
    long index = 0;
    if (query_model) {
        char *end;
        index = strtol(query_model, &end, 10);
        if (!*query_model || *end || index < 0 || index >= n) {
            *fail = respond_error(404, "model \"%.40s\": no such model (there %s %d, from 0)",
                                  query_model, n == 1 ? "is" : "are", n);
            return NULL;
        }
    }
    served_model *m = models_get(&srv->models, (int)index);
    if (!m) *fail = respond_error(503, "no model is loaded");
    return m;
}

/* {"pixels": [...]}: a square picture, row by row, 0..1 with ink high, as
 * 8-bit gray (ink white on black, which preprocessing recognizes). */
static int pixels_from_json(const char *body, size_t len, nndl_image *img, api_response *fail)
{
    /* read strictly, and at most a 512 x 512 picture's values (and a few
     * more) made into cJSON's tree: some 20 MB */
    json_problem problem;
    cJSON *json = json_parse_strict(body, len, (size_t)SERVE_MAX_SIDE * SERVE_MAX_SIDE + 16,
                                    &problem);
    if (!json) {
        char why[160];
        json_problem_describe(&problem, why, sizeof why);
        if (problem.kind == JSON_NOMEM)
            *fail = respond_oom();
        else if (problem.kind == JSON_TOO_MANY_VALUES)
            *fail = respond_error(400,
                                  "the body holds %zu JSON values; \"pixels\" is a square "
                                  "picture, n x n values with 1 <= n <= %d",
                                  problem.values, SERVE_MAX_SIDE);
        else
            *fail = respond_error(400, "the body is not valid JSON: %s", why);
        return 0;
    }
    const cJSON *pixels = cJSON_GetObjectItemCaseSensitive(json, "pixels");
    int ok = 0;
    if (!cJSON_IsObject(json) || !cJSON_IsArray(pixels)) {
        *fail = respond_error(400, "expected a JSON object {\"pixels\": [...]}");
    } else {
        int count = cJSON_GetArraySize(pixels);
        int side = (int)lround(sqrt((double)count));
        if (count == 0 || side * side != count || side > SERVE_MAX_SIDE) {
            *fail = respond_error(400,
                                  "\"pixels\" holds %d values; need a square picture, n x n "
                                  "values with 1 <= n <= %d",
                                  count, SERVE_MAX_SIDE);
        } else if (!(img->pixels = malloc((size_t)count))) {
            *fail = respond_oom();
        } else {
            img->width = img->height = side;
            img->name = strdup("the drawing");
            ok = 1;
            int i = 0;
            const cJSON *v;
            cJSON_ArrayForEach(v, pixels)
            {
                double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
                if (!(x >= 0 && x <= 1)) {
                    *fail = respond_error(400, "\"pixels\"[%d] is not a number from 0 to 1", i);
                    ok = 0;
                    break;
                }
                img->pixels[i++] = (uint8_t)lround(x * 255);
            }
            if (!ok) {
                free(img->pixels);
                free(img->name);
                img->pixels = NULL;
                img->name = NULL;
            }
        }
    }
    cJSON_Delete(json);
    return ok;
}

/* "image/png; charset=..." -> does it name `type`? */
static int content_type_is(const char *content_type, const char *type)
{
    size_t n = strlen(type);
    return content_type && strncasecmp(content_type, type, n) == 0 &&
           (content_type[n] == '\0' || content_type[n] == ';' || content_type[n] == ' ');
}

/* A layer's activations (height x width x channels) as one picture per
 * channel: [{"height", "width", "values": row by row}, ...]. */
static cJSON *feature_maps(const float *a, nndl_shape shape)
{
    cJSON *maps = cJSON_CreateArray();
    size_t n = (size_t)shape.height * shape.width;
    float *plane = malloc((n ? n : 1) * sizeof *plane);
    for (int c = 0; maps && plane && c < shape.channels; c++) {
        for (size_t i = 0; i < n; i++) plane[i] = a[i * (size_t)shape.channels + (size_t)c];
        cJSON *map = cJSON_CreateObject();
        cJSON_AddNumberToObject(map, "height", shape.height);
        cJSON_AddNumberToObject(map, "width", shape.width);
        cJSON_AddItemToObject(map, "values", number_array(plane, (int)n, 3));
        cJSON_AddItemToArray(maps, map);
    }
    free(plane);
    return maps;
}

/* Bytes no other body starts with: a PNG's signature, a JPEG's start of
 * image marker and the next marker's first byte. */
static int is_picture(const char *body, size_t len)
{
    static const char png[8] = {'\x89', 'P', 'N', 'G', '\r', '\n', '\x1a', '\n'};
    return (len >= 8 && memcmp(body, png, 8) == 0) ||
           (len >= 3 && body[0] == '\xFF' && body[1] == '\xD8' && body[2] == '\xFF');
}

static api_response post_predict(server *srv, const char *query_model, const char *content_type,
                                 const char *body, size_t len)
{
    api_response fail;
    served_model *m = pick_model(srv, query_model, &fail);
    if (!m) return fail;
    if (nndl_net_size(m->net, 0) != N_PIXELS || nndl_net_size(m->net, nndl_net_n_sizes(m->net) - 1) != N_DIGITS)
        return respond_error(409, "model %s is not a [784, ..., 10] digit classifier", m->name);

    nndl_image img = {0};
    nndl_error err = {0};
    const char *name = "the posted image";
    int from_form = 0;
    int is_json = content_type_is(content_type, "application/json");
    int is_image = content_type_is(content_type, "image/png") ||
                   content_type_is(content_type, "image/jpeg") ||
                   content_type_is(content_type, "image/x-portable-graymap") ||
                   content_type_is(content_type, "application/octet-stream");
    if (is_picture(body, len)) {
        /* curl --data-binary @digit.png says form-urlencoded: the bytes
         * are unmistakable, whatever the type says */
        is_json = 0;
        is_image = 1;
    } else if (content_type_is(content_type, "multipart/form-data")) {
        /* curl -F file=@digit.png, a browser's form: the first file in it */
        char why[300];
        if (!multipart_first_file(content_type, body, len, &body, &len, why, sizeof why))
            return respond_error(400, "%s", why);
        name = "the posted file";
        from_form = 1;
        is_json = 0;
        is_image = 1;
    } else if (!content_type) {
        /* no Content-Type: a JSON body starts with '{' */
        size_t i = 0;
        while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) i++;
        is_json = i < len && body[i] == '{';
        is_image = !is_json;
    }
    if (len == 0)
        return respond_error(400, "the %s is empty: send a PNG or JPEG, or {\"pixels\": [...]}",
                             from_form ? "posted file" : "body");
    if (is_json) {
        if (!pixels_from_json(body, len, &img, &fail)) return fail;
    } else if (is_image) {
        nndl_status st = nndl_image_load_memory(body, len, name, &img, &err);
        if (st == NNDL_ERR_NOMEM) return respond_oom();
        if (st != NNDL_OK) return respond_error(400, "%s", err.message);
    } else {
        return respond_error(415,
                             "Content-Type %.60s is not understood; send a PNG or JPEG "
                             "(as the body or multipart/form-data) or application/json",
                             content_type);
    }

    float input[N_PIXELS];
    int found = 1; /* separate digits in the picture ("42"): it is read as one */
    nndl_status st = nndl_image_to_mnist(&img, input, NULL, &err);
    if (st == NNDL_OK) st = nndl_image_to_mnist_digits(&img, NULL, NULL, 0, &found, &err);
    free(img.pixels);
    free(img.name);
    if (st == NNDL_ERR_NOMEM) return respond_oom();
    if (st != NNDL_OK) return respond_error(422, "%s", err.message);

    int n_sizes = nndl_net_n_sizes(m->net);
    size_t n_act = 0;
    for (int l = 1; l < n_sizes; l++) n_act += (size_t)nndl_net_size(m->net, l);
    float *act = malloc(n_act * sizeof *act);
    if (!act) return respond_oom();
    pthread_mutex_lock(&m->lock);
    st = nndl_net_feedforward_layers(m->net, input, act, &err);
    pthread_mutex_unlock(&m->lock);
    if (st != NNDL_OK) {
        free(act);
        return respond_oom();
    }

    /* probabilities: softmax outputs are; sigmoid outputs are normalized */
    const float *out = act + n_act - N_DIGITS;
    double sum = 0;
    for (int d = 0; d < N_DIGITS; d++) sum += out[d];
    float p[N_DIGITS];
    int digit = 0;
    for (int d = 0; d < N_DIGITS; d++) {
        p[d] = sum > 0 ? (float)(out[d] / sum) : 1.0f / N_DIGITS;
        if (out[d] > out[digit]) digit = d;
    }

    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "digit", digit);
    cJSON_AddItemToObject(o, "probabilities", number_array(p, N_DIGITS, 4));
    cJSON_AddNumberToObject(o, "digits_found", found);
    if (found > 1) {
        char warning[160];
        snprintf(warning, sizeof warning, "%d separate marks side by side, read as one digit; "
                 "write one digit at a time", found);
        cJSON_AddStringToObject(o, "warning", warning);
    }
    cJSON_AddItemToObject(o, "input", number_array(input, N_PIXELS, 3));
    /* fully connected hidden layers as neurons; the first convolutional
     * layer as its feature maps, one picture per map */
    cJSON *hidden = cJSON_AddArrayToObject(o, "hidden");
    cJSON *maps = NULL;
    const float *a = act;
    for (int l = 1; l < n_sizes - 1; l++) {
        nndl_layer_info info;
        nndl_net_layer(m->net, l, &info, NULL);
        if (info.spec.kind == NNDL_LAYER_FC)
            cJSON_AddItemToArray(hidden, number_array(a, nndl_net_size(m->net, l), 3));
        else if (info.spec.kind == NNDL_LAYER_CONV && !maps && !(maps = feature_maps(a, info.out)))
            break;
        a += nndl_net_size(m->net, l);
    }
    if (maps) cJSON_AddItemToObject(o, "maps", maps);
    free(act);
    return respond_json(200, o);
}

/* ---- POST /api/train, GET /api/train/ID/events ---- */

static api_response post_train(server *srv, const char *body, size_t len)
{
    train_recipe recipe;
    char why[300];
    if (!train_recipe_parse(body, len, &recipe, why, sizeof why)) return respond_error(400, "%s", why);
    int status = 0;
    int id = training_start(srv->training, &recipe, &status, why, sizeof why);
    if (!id) return respond_error(status, "%s", why);
    cJSON *o = cJSON_CreateObject();
    char events[64];
    snprintf(events, sizeof events, "/api/train/%d/events", id);
    cJSON_AddNumberToObject(o, "id", id);
    cJSON_AddStringToObject(o, "events", events);
    return respond_json(202, o);
}

/* "/api/train/12/events" -> 12; 0 if the path is not of that form. */
static int events_id(const char *path)
{
    static const char prefix[] = "/api/train/";
    if (strncmp(path, prefix, sizeof prefix - 1) != 0) return 0;
    const char *p = path + sizeof prefix - 1;
    long id = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 9) {
        id = id * 10 + (*p++ - '0');
        digits++;
    }
    return digits && id > 0 && strcmp(p, "/events") == 0 ? (int)id : 0;
}

static api_response get_events(server *srv, int id)
{
    event_stream *s = training_stream_open(srv->training, id);
    if (!s) return respond_error(404, "no training run %d (runs are numbered from 1; old ones are forgotten)", id);
    api_response r = {0};
    r.status = 200;
    r.content_type = "text/event-stream";
    r.stream = s;
    return r;
}

/* ---- routing ---- */

static int is(const char *a, const char *b) { return strcmp(a, b) == 0; }

api_response api_handle(server *srv, const char *method, const char *path,
                        const char *query_model, const char *content_type,
                        const char *body, size_t length)
{
    int get = is(method, "GET") || is(method, "HEAD"), post = is(method, "POST");
    if (!body) length = 0;
    if (!body) body = "";

    web_asset asset;
    if (web_asset_find(path, &asset)) {
        if (!get) return respond_method_not_allowed(method, path, "GET, HEAD");
        api_response r = {0};
        r.status = 200;
        r.content_type = asset.content_type;
        r.static_body = asset.data;
        r.length = asset.length;
        return r;
    }
    if (is(path, "/api/models")) {
        if (!get) return respond_method_not_allowed(method, path, "GET, HEAD");
        return get_models(srv);
    }
    if (is(path, "/api/predict")) {
        if (!post) return respond_method_not_allowed(method, path, "POST");
        return post_predict(srv, query_model, content_type, body, length);
    }
    if (is(path, "/api/train")) {
        if (!post) return respond_method_not_allowed(method, path, "POST");
        return post_train(srv, body, length);
    }
    int id = events_id(path);
    if (id) {
        if (!is(method, "GET")) return respond_method_not_allowed(method, path, "GET");
        return get_events(srv, id);
    }
    return respond_error(404, "%.200s: not found", path);
}
