/* libFuzzer target: an MNIST folder through `nndl eval MODEL` (cmd_eval),
 * which finds the folder from $NNDL_DATA, checks its four files are there
 * and regular, reads the test (or training) images and labels, plain or
 * gzip, and checks their sizes against MNIST's.
 *
 * The input: a byte of flags (bit 0: --data validation, which reads the
 * training files), a byte giving each of the four files' kind (2 bits
 * each, the training images first: 0 or 1 a file, 2 missing, 3 a FIFO),
 * three 3-byte big-endian lengths, then the four files' bytes (the last
 * takes the rest). The model is a fixed [784, 10, 10] network. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "fuzz_file.h"

static char dir[256], mnist[300], model[320];

static void setup(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/nndl-fuzz-%ld-data", base, (long)getpid());
    snprintf(mnist, sizeof mnist, "%s/mnist", dir);
    snprintf(model, sizeof model, "%s/model.nndl", dir);
    mkdir(dir, 0700);
    mkdir(mnist, 0700);
    int sizes[] = {784, 10, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    if (!net || nndl_net_save(net, model, &err) != NNDL_OK) abort();
    nndl_net_free(net);
    setenv("NNDL_DATA", dir, 1);
    /* nndl looks in ./data/mnist too: make sure there is none */
    if (chdir(dir) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) setup();
    if (size < 11) return 0;
    int validation = data[0] & 1;
    unsigned kinds = data[1];
    size_t len[4], rest = size - 11;
    const uint8_t *p = data + 11;
    for (int i = 0; i < 3; i++) {
        len[i] = (size_t)data[2 + 3 * i] << 16 | (size_t)data[3 + 3 * i] << 8 | data[4 + 3 * i];
        if (len[i] > rest) len[i] = rest;
        rest -= len[i];
    }
    len[3] = rest;
    for (int i = 0; i < 4; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", mnist, nndl_mnist_files[i]);
        unlink(path);
        unsigned kind = kinds >> (2 * i) & 3;
        if (kind == 3) {
            mkfifo(path, 0600);
        } else if (kind != 2) {
            FILE *f = fopen(path, "wb");
            if (!f) return 0;
            if (len[i]) fwrite(p, 1, len[i], f);
            fclose(f);
        }
        p += len[i];
    }
    char *argv[] = {"eval", model, "--data", validation ? "validation" : "test", "--threads",
                    "1", NULL};
    int status = cmd_eval(6, argv);
    if (status != 0 && status != 1) __builtin_trap();
    return 0;
}
