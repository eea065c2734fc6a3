/* libFuzzer target: the binary model loader with its metadata block
 * (src/model/model_file.c). A file that loads must describe a network
 * that can run: it is fed one input forward. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_file.h"
#include "model/model_file.h"
#include "nndl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(0, data, size);
    if (!path) return 0;
    nndl_error err;
    char *meta = NULL;
    nndl_net *net = model_load_with_meta(path, &meta, &err);
    if (net) {
        size_t n_in = (size_t)nndl_net_size(net, 0);
        size_t n_out = (size_t)nndl_net_size(net, nndl_net_n_sizes(net) - 1);
        if (n_in <= 4096 && n_out <= 4096 && nndl_net_param_count(net) <= (1u << 22)) {
            float *in = calloc(n_in, sizeof *in), *out = calloc(n_out, sizeof *out);
            if (in && out) nndl_net_feedforward(net, in, 1, out, &err);
            free(in);
            free(out);
        }
        nndl_net_free(net);
        free(meta);
    }
    return 0;
}
