/* nndl: train and run the networks of "Neural Networks and Deep Learning". */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"train", cmd_train, "train a network on MNIST (or other IDX data, --data) by mini-batch SGD"},
    {"eval", cmd_eval, "accuracy of saved models and their vote; confusion matrix, mistakes"},
    {"predict", cmd_predict, "read handwritten digits in your own PNG, JPEG or PGM pictures"},
    {"sweep", cmd_sweep, "train a grid of settings side by side, one run per core"},
    {"gradcheck", cmd_gradcheck, "check backpropagation against finite differences"},
    {"baseline", cmd_baseline, "chapter 1's baselines: average darkness, an SVM"},
    {"demo", cmd_demo, "small experiments of the book: slowdown (ch. 3), vanishing, unstable (ch. 5)"},
    {"plot", cmd_plot, "learning curves of --history files as an SVG or PNG picture"},
    {"data", cmd_data, "find MNIST, or download and verify it; say what other IDX data holds"},
    {"expand", cmd_expand, "expand the training set to 250,000 images (chapter 3)"},
    {"export", cmd_export, "write a model as network2.py's JSON, nndl's format, or standalone C source"},
    {"inspect", cmd_inspect, "what a model file holds, and how it was trained"},
    {"serve", cmd_serve, "a web page to draw digits on and watch a network learn"},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void print_usage(FILE *out)
{
    fprintf(out, "usage: nndl COMMAND [options]   (nndl COMMAND --help for its options)\n\n"
                 "commands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nMNIST is read from $NNDL_DATA/mnist or ./data/mnist.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("nndl %s\n", NNDL_VERSION);
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "nndl: '%s' is not a command (see nndl --help)\n", argv[1]);
    return 2;
}
