/* nndl data: make sure MNIST is on disk and intact. */
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "commands.h"
#include "data_source.h"

int load_mnist(const char *cmd, nndl_dataset **training, nndl_dataset **validation,
               nndl_dataset **test)
{
    char dir[4096];
    nndl_error err;
    if (nndl_mnist_find(dir, sizeof dir, &err) != NNDL_OK ||
        nndl_mnist_load(dir, training, validation, test, &err) != NNDL_OK) {
        cli_fail(cmd, &err);
        return 0;
    }
    return 1;
}

int cmd_data(int argc, char **argv)
{
    const char *target = NULL, *data = NULL;
    int validation = -1;
    cli_option options[] = {
        {"--dir", OPT_STRING, &target, "DIR",
         "download into DIR (default $NNDL_DATA/mnist, else ./data/mnist)", 0, 0, NULL},
        {"--data", OPT_STRING, &data, "DIR",
         "check other labelled images in IDX format instead (a directory, or the four files "
         "comma-separated) and say what they hold", 0, 0, NULL},
        {"--validation", OPT_INT, &validation, "N",
         "with --data: the last N training images for validation (default a sixth, at most "
         "10000)", 0, 10000000, NULL},
    };
    cli_command cmd = {"data", "",
                       "Finds MNIST and checks its MD5 sums; downloads it if it is missing.\n"
                       "With --data, loads the IDX files named and says what they hold.",
                       options, 3, 0, 0};
    char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;
    if (data) {
        if (target) {
            cli_error("data", "--dir: downloads MNIST; it does not go with --data");
            return 2;
        }
        data_source *src = calloc(1, sizeof *src);
        nndl_dataset *parts[3] = {NULL, NULL, NULL};
        int ok = src && data_source_load(src, "data", data, validation, &parts[0], &parts[1],
                                         &parts[2]);
        if (ok) data_source_summary(src, "data", stdout);
        for (int i = 0; i < 3; i++) nndl_dataset_free(parts[i]);
        free(src);
        if (!src) cli_error("data", "out of memory");
        return ok ? 0 : 1;
    }

    char dir[4096];
    nndl_error err;
    if (!target && nndl_mnist_find(dir, sizeof dir, &err) == NNDL_OK) {
        if (nndl_mnist_verify(dir, &err) != NNDL_OK) return cli_fail("data", &err);
        printf("MNIST: %s (MD5 sums verified)\n", dir);
        return 0;
    }
    if (!target) {
        const char *env = getenv("NNDL_DATA");
        snprintf(dir, sizeof dir, "%s/mnist", env && env[0] ? env : "data");
        target = dir;
    }
    fprintf(stderr, "nndl data: downloading MNIST into %s\n", target);
    if (nndl_mnist_download(target, &err) != NNDL_OK) return cli_fail("data", &err);
    printf("MNIST: %s (downloaded, MD5 sums verified)\n", target);
    return 0;
}
