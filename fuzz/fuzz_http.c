/* libFuzzer target: nndl serve's request handling (cli/serve/api.c). The
 * input is a request in four lines and a body:
 *     METHOD\nPATH\nMODEL\nCONTENT-TYPE\nBODY...
 * (an empty MODEL or CONTENT-TYPE line means none). POST /api/train only
 * parses its settings here: starting threads per input would make the
 * fuzzer's runs depend on timing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_file.h"
#include "nndl.h"
#include "serve/serve.h"

static server srv;

static void setup(void)
{
    models_init(&srv.models);
    mnist_shared_init(&srv.mnist);
    srv.training = training_create(&srv);
    int sizes[] = {784, 12, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    nndl_error err;
    models_add(&srv.models, "fuzz", nndl_net_create(&spec, &err), 0, 0, "test");
}

/* The next line of [*p, end) as a NUL-terminated copy in `out`. */
static void next_line(const char **p, const char *end, char *out, size_t cap)
{
    size_t n = 0;
    while (*p < end && **p != '\n') {
        if (n + 1 < cap) out[n++] = **p;
        (*p)++;
    }
    if (*p < end) (*p)++;
    out[n] = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv.training) setup();
    const char *p = (const char *)data, *end = p + size;
    char method[16], path[256], model[32], type[128];
    next_line(&p, end, method, sizeof method);
    next_line(&p, end, path, sizeof path);
    next_line(&p, end, model, sizeof model);
    next_line(&p, end, type, sizeof type);
    size_t body_len = (size_t)(end - p);
    /* the body in its own allocation, so reading past it is caught */
    char *body = malloc(body_len ? body_len : 1);
    if (!body) return 0;
    memcpy(body, p, body_len);
    if (strcmp(method, "POST") == 0 && strcmp(path, "/api/train") == 0) {
        train_recipe r;
        char why[300];
        train_recipe_parse(body, body_len, &r, why, sizeof why);
    } else {
        api_response r = api_handle(&srv, method, path, model[0] ? model : NULL,
                                    type[0] ? type : NULL, body, body_len);
        if (r.status < 200 || r.status > 599) __builtin_trap();
        if (r.stream) training_stream_close(r.stream);
        api_response_free(&r);
    }
    free(body);
    return 0;
}
