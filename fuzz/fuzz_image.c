/* libFuzzer target: the PNG, JPEG and PGM readers (src/image/load.c,
 * jpeg.c) and the
 * preparation of a picture as MNIST input (src/image/preprocess.c). */
#include <math.h>
#include <stdint.h>

#include "fuzz_file.h"
#include "nndl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nndl_error err;
    nndl_image img;
    if (nndl_image_load_memory(data, size, "fuzz", &img, &err) != NNDL_OK) return 0;
    float in[784];
    uint8_t preview[784];
    if (nndl_image_to_mnist(&img, in, preview, &err) == NNDL_OK)
        for (int i = 0; i < 784; i++)
            if (!(in[i] >= 0 && in[i] <= 1)) __builtin_trap(); /* inputs stay in [0, 1] */
    nndl_image_free(&img);
    return 0;
}
