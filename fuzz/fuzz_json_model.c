/* libFuzzer target: the reader of network2.py's JSON model format
 * (src/model/json_model.c). */
#include <stdint.h>

#include "fuzz_file.h"
#include "model/json_model.h"
#include "nndl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(0, data, size);
    if (!path) return 0;
    nndl_error err;
    nndl_net *net = json_model_load(path, &err);
    if (net) {
        /* a model that loads can be written back */
        const char *again = fuzz_file(1, (const uint8_t *)"", 0);
        if (again) json_model_save(net, again, &err);
        nndl_net_free(net);
    }
    return 0;
}
