/* nndl export: converts a model between nndl's binary format and the JSON
 * of the book's network2.py (docs/MODEL_FORMAT.md), or writes it as C source
 * to embed in another program (src/model/c_export.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "commands.h"
#include "model/c_export.h"
#include "model/json_model.h"
#include "model/model_file.h"

enum { FORMAT_JSON = 0, FORMAT_NNDL = 1, FORMAT_C = 2 };

/* 1 if `path` ends in `ext`. */
static int has_extension(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcmp(path + n - e, ext) == 0;
}

int cmd_export(int argc, char **argv)
{
    static const char *const format_choices[] = {"json", "nndl", "c", NULL};
    int format = -1;
    const char *out = NULL, *name = NULL;
    cli_option options[] = {
        {"--format", OPT_CHOICE, &format, "",
         "format of OUT (default: from its name, .json or .nndl)", 0, 0, format_choices},
        {"--out", OPT_STRING, &out, "OUT",
         "file to write, replaced atomically (or -o OUT); for c, a directory", 0, 0, NULL},
        {"--name", OPT_STRING, &name, "NAME",
         "c: write NAME.c and NAME.h, functions NAME_... (default " C_EXPORT_DEFAULT_NAME ")",
         0, 0, NULL},
    };
    cli_command cmd = {"export", "MODEL",
                       "Reads MODEL (nndl or JSON, told apart by content) and writes it to OUT.\n"
                       "json is the format of network2.py's save(), which its load() reads for\n"
                       "sigmoid networks with the quadratic or cross-entropy cost; nndl is\n"
                       "nndl's binary format (docs/MODEL_FORMAT.md); c writes OUT/NAME.c and\n"
                       "OUT/NAME.h, standalone C99 needing only libm, with the weights and\n"
                       "int NAME_predict(const float input[N], float output[K]) for a network\n"
                       "of N inputs (784 for MNIST) and K outputs.",
                       options, 3, 1, 1};

    /* The option parser knows long options only: -o is --out. */
    char **args = malloc(sizeof *args * ((size_t)argc + 1));
    if (!args) {
        cli_error("export", "out of memory");
        return 1;
    }
    for (int i = 0; i < argc; i++) args[i] = strcmp(argv[i], "-o") == 0 ? "--out" : argv[i];
    args[argc] = NULL;
    char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, args, pos, &n_pos);
    free(args);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;

    if (!out) {
        cli_error("export", "missing --out OUT, the file to write (see nndl export --help)");
        return 2;
    }
    if (name && format != FORMAT_C) {
        cli_error("export", "--name: only for --format c");
        return 2;
    }
    if (format < 0) {
        if (has_extension(out, ".json"))
            format = FORMAT_JSON;
        else if (has_extension(out, ".nndl"))
            format = FORMAT_NNDL;
        else {
            cli_error("export", "--format: cannot tell the format from the name '%s'; give "
                      "--format json, nndl or c", out);
            return 2;
        }
    }

    nndl_error err;
    char *meta = NULL;
    nndl_net *net = model_load_with_meta(pos[0], &meta, &err);
    if (!net) return cli_fail("export", &err);
    nndl_status st;
    if (format == FORMAT_C) {
        /* OUT is a directory: made if missing (its parent must exist). */
        if (mkdir(out, 0777) != 0 && errno != EEXIST) {
            cli_error("export", "--out: cannot create directory %s: %s", out, strerror(errno));
            free(meta);
            nndl_net_free(net);
            return 1;
        }
        st = c_export_write(net, out, name, pos[0], &err);
    } else if (format == FORMAT_JSON) {
        /* JSON has no place for the metadata block. */
        st = json_model_save(net, out, &err);
    } else {
        st = model_save_with_meta(net, out, meta, &err);
    }
    int status = 0;
    char why[160];
    if (st != NNDL_OK)
        status = cli_fail("export", &err);
    else if (format == FORMAT_JSON && !json_model_network2_compatible(net, why, sizeof why))
        fprintf(stderr, "nndl export: note: %s: network2.py cannot load this file (%s); "
                "nndl can\n", out, why);
    free(meta);
    nndl_net_free(net);
    return status;
}
