/* nndl demo NAME: small experiments of the book, run with the library. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "demos.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} demos[] = {
    {"slowdown", demo_slowdown,
     "chapter 3: one sigmoid neuron learns slowly from a saturated start with the\n"
     "             quadratic cost, and at once with cross-entropy"},
    {"vanishing", demo_vanishing,
     "chapter 5: in deep sigmoid networks the early layers learn far more slowly\n"
     "             (the speed of learning, ||dC/db||, per layer); what helps"},
    {"unstable", demo_unstable,
     "chapter 5: the gradient through a chain of single neurons, factor by\n"
     "             factor, vanishing and exploding"},
};
enum { N_DEMOS = sizeof demos / sizeof demos[0] };

int demo_json_line(FILE *f, cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    int rc = fprintf(f, "%s\n", text) < 0 ? -1 : 0;
    free(text);
    return rc;
}

static void print_help(void)
{
    printf("usage: nndl demo NAME [options]   (nndl demo NAME --help for its options)\n"
           "Runs a small experiment of the book and prints what it shows.\n\ndemos:\n");
    for (int i = 0; i < N_DEMOS; i++) printf("  %-10s %s\n", demos[i].name, demos[i].summary);
}

int cmd_demo(int argc, char **argv)
{
    if (argc < 2) {
        cli_error("demo", "missing argument NAME (see nndl demo --help)");
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_help();
        return 0;
    }
    for (int i = 0; i < N_DEMOS; i++)
        if (strcmp(argv[1], demos[i].name) == 0) return demos[i].run(argc - 1, argv + 1);
    cli_error("demo", "'%s' is not a demo (known: slowdown, vanishing, unstable)", argv[1]);
    return 2;
}
