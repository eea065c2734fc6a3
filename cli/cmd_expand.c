/* nndl expand: chapter 3's expanded training set, as the book's
 * expand_mnist.py makes it: the 50,000 training images, each followed by
 * its four one-pixel shifts, written as two gzip-compressed IDX files.
 *
 * They go beside MNIST (the directory nndl_mnist_find returns), where
 * training looks for them; if that directory is not writable (a shared,
 * read-only copy of MNIST), into ./data/mnist instead. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"

enum { PATH_CAP = 4096 };

/* mkdir -p; prints the error itself. */
static int make_dirs(const char *dir)
{
    char path[PATH_CAP];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        cli_error("expand", "%s: directory name too long", dir);
        return 0;
    }
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != 0) continue;
        char c = *p;
        *p = 0;
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            cli_error("expand", "%s: cannot create directory (%s)", path, strerror(errno));
            return 0;
        }
        *p = c;
        if (!c) break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error("expand", "%s: not a directory", dir);
        return 0;
    }
    return 1;
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int cmd_expand(int argc, char **argv)
{
    const char *out = NULL;
    cli_option options[] = {
        {"--out", OPT_STRING, &out, "DIR",
         "write into DIR (default: beside MNIST, or ./data/mnist if that is read-only)",
         0, 0, NULL},
    };
    cli_command cmd = {"expand", "",
                       "Expands MNIST's 50,000 training images to 250,000 (chapter 3): each\n"
                       "image and its four one-pixel shifts (down, up, right, left), written as\n"
                       "expanded-train-images-idx3-ubyte.gz and expanded-train-labels-idx1-ubyte.gz.",
                       options, 1, 0, 0};
    char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;

    char dir[PATH_CAP];
    nndl_error err;
    if (out) {
        if (snprintf(dir, sizeof dir, "%s", out) >= (int)sizeof dir) {
            cli_error("expand", "--out: directory name too long");
            return 2;
        }
    } else {
        if (nndl_mnist_find(dir, sizeof dir, &err) != NNDL_OK) return cli_fail("expand", &err);
        if (access(dir, W_OK) != 0) snprintf(dir, sizeof dir, "data/mnist");
    }
    char images[PATH_CAP + 64], labels[PATH_CAP + 64];
    snprintf(images, sizeof images, "%s/%s", dir, nndl_mnist_expanded_files[0]);
    snprintf(labels, sizeof labels, "%s/%s", dir, nndl_mnist_expanded_files[1]);

    double t0 = seconds();
    nndl_dataset *training = NULL;
    if (!load_mnist("expand", &training, NULL, NULL)) return 1;
    nndl_dataset *expanded = nndl_dataset_expand(training, &err);
    nndl_dataset_free(training);
    if (!expanded) return cli_fail("expand", &err);
    int status = 0;
    if (!make_dirs(dir)) {
        status = 1;
    } else if (nndl_idx_save(expanded, images, labels, &err) != NNDL_OK) {
        status = cli_fail("expand", &err);
    } else {
        printf("%zu images (50000 training images and their one-pixel shifts)\n%s\n%s\n",
               nndl_dataset_count(expanded), images, labels);
        fprintf(stderr, "nndl expand: %.1f s\n", seconds() - t0);
    }
    nndl_dataset_free(expanded);
    return status;
}
