/* libFuzzer target: finding the file in a multipart/form-data body
 * (cli/serve/multipart.c). The input is a Content-Type line, then the body:
 *     CONTENT-TYPE\nBODY...
 * Beyond the sanitizers' checks: a file found lies inside the body, and a
 * refusal gives a reason of one line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_file.h"
#include "serve/serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t type_len = nl ? (size_t)(nl - data) : size;
    if (type_len > 512) type_len = 512;
    char type[513];
    memcpy(type, data, type_len);
    type[type_len] = 0;
    size_t skip = nl ? (size_t)(nl - data) + 1 : size;
    size_t body_len = size - skip;
    /* the body in its own allocation, so reading past it is caught */
    char *body = malloc(body_len ? body_len : 1);
    if (!body) return 0;
    memcpy(body, data + skip, body_len);
    const char *file = NULL;
    size_t file_len = 0;
    char why[300] = "";
    if (multipart_first_file(type, body, body_len, &file, &file_len, why, sizeof why)) {
        if (file < body || file_len > body_len || (size_t)(file - body) > body_len - file_len)
            __builtin_trap();
    } else if (!why[0] || strchr(why, '\n')) {
        __builtin_trap();
    }
    free(body);
    return 0;
}
