/* libFuzzer target: checkpoints through `nndl inspect FILE` (cmd_inspect),
 * which reads the note, rebuilds the run's settings from it, checks every
 * field, makes the network and restores the weights and the trainer state
 * into it, as `nndl train --resume` does before it trains. The first byte
 * of the input chooses --json (bit 0); the rest is the file. Nothing it
 * reads may leak, crash or ask for more memory than the file could fill. */
#include <stdint.h>

#include "commands.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int json = data[0] & 1;
    const char *path = fuzz_file(0, data + 1, size - 1);
    if (!path) return 0;
    char *argv[] = {"inspect", (char *)path, json ? "--json" : NULL, NULL};
    int status = cmd_inspect(json ? 3 : 2, argv);
    if (status != 0 && status != 1) __builtin_trap(); /* 2 is for bad flags: none here */
    return 0;
}
