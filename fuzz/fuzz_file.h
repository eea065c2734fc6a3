/* Shared by the fuzz targets whose readers take a path: the input goes to a
 * file of this process's own in /dev/shm (or /tmp), rewritten per input. */
#ifndef NNDL_FUZZ_FILE_H
#define NNDL_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* libFuzzer calls this for each input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes `data` to the file `slot` (0, 1, ...) of this process and returns
 * its path, or NULL if it cannot be written. */
static inline const char *fuzz_file(int slot, const uint8_t *data, size_t size)
{
    static char paths[4][128];
    char *path = paths[slot & 3];
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof paths[0], "%s/nndl-fuzz-%ld-%d", dir, (long)getpid(), slot);
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    size_t written = size ? fwrite(data, 1, size, f) : 0;
    if (fclose(f) != 0 || written != size) return NULL;
    return path;
}

#endif
