/* libFuzzer target: the IDX reader (src/data/idx.c) on a pair of files,
 * gzip-compressed or plain. The first two bytes of the input give the
 * length of the labels file; the bytes after it are the images file. */
#include <stdint.h>

#include "fuzz_file.h"
#include "nndl.h"

/* Reads land here so the compiler keeps them. */
static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    size_t labels_len = (size_t)data[0] << 8 | data[1];
    data += 2;
    size -= 2;
    if (labels_len > size) labels_len = size;
    const char *labels = fuzz_file(0, data, labels_len);
    const char *images = fuzz_file(1, data + labels_len, size - labels_len);
    if (!labels || !images) return 0;
    nndl_error err;
    nndl_dataset *ds = nndl_idx_load(images, labels, &err);
    if (ds) {
        /* what was read must be usable: a shape and every image readable */
        size_t n = nndl_dataset_count(ds);
        size_t bytes = (size_t)nndl_dataset_rows(ds) * (size_t)nndl_dataset_cols(ds);
        if (bytes == 0) __builtin_trap();
        for (size_t i = 0; i < n; i++)
            sink ^= nndl_dataset_image(ds, i)[bytes - 1] ^ nndl_dataset_labels(ds)[i];
        nndl_dataset_free(ds);
    }
    return 0;
}
