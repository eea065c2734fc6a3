/* The subcommands of nndl. Each takes argv with argv[0] = its own name and
 * returns the process exit status. */
#ifndef NNDL_CLI_COMMANDS_H
#define NNDL_CLI_COMMANDS_H

#include "nndl.h"

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_gradcheck(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_expand(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* Finds MNIST and loads the parts asked for (NULL pointers are skipped);
 * prints the error as `cmd` and returns 0 on failure. */
int load_mnist(const char *cmd, nndl_dataset **training, nndl_dataset **validation,
               nndl_dataset **test);

#endif
