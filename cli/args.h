/* Command-line options: a table per command gives parsing, range checks,
 * error messages and --help text from one description. */
#ifndef NNDL_CLI_ARGS_H
#define NNDL_CLI_ARGS_H

#include <stdint.h>

#include "nndl.h"

typedef enum opt_kind {
    OPT_INT,    /* int within [min, max] */
    OPT_U64,    /* unsigned 64-bit integer */
    OPT_FLOAT,  /* finite float within [min, max] */
    OPT_STRING, /* const char * */
    OPT_SIZES,  /* comma-separated layer sizes, into a cli_sizes */
    OPT_CHOICE, /* one of `choices`, stored as its index (int) */
    OPT_LIST,   /* repeatable: every value kept, into a cli_list */
    OPT_FLAG    /* no value: sets an int to 1 (--flag=on|off also works) */
} opt_kind;

enum { CLI_LIST_MAX = 16 };
typedef struct cli_list {
    int n;
    const char *v[CLI_LIST_MAX];
} cli_list;

typedef struct cli_sizes {
    int n;
    int v[NNDL_MAX_LAYERS];
} cli_sizes;

typedef struct cli_option {
    const char *name; /* "--eta" */
    opt_kind kind;
    void *value;
    const char *metavar; /* "ETA" in the help text */
    const char *help;
    double min, max;             /* OPT_INT and OPT_FLOAT */
    const char *const *choices;  /* OPT_CHOICE: NULL-terminated */
} cli_option;

typedef struct cli_command {
    const char *name;     /* "train" */
    const char *args;     /* positional arguments in the usage line, or "" */
    const char *summary;  /* one line */
    cli_option *options;
    int n_options;
    int min_positional, max_positional;
} cli_command;

enum { CLI_PARSED = 0, CLI_ERROR = 1, CLI_HELP = 2 };

/* Parses argv[1..] (argv[0] is the command name) into the option values and
 * `positional`. Prints the help or a one-line error itself. */
int cli_parse(const cli_command *cmd, int argc, char **argv, char **positional,
              int *n_positional);

void cli_print_help(const cli_command *cmd);

/* Stores `text` as the value of option `o` of `cmd`, with the same checks
 * and messages as on the command line; 0 after printing an error. */
int cli_set_option(const cli_command *cmd, const cli_option *o, const char *text);

/* The option of `cmd` called `name` ("--eta"), or NULL. */
const cli_option *cli_find_option(const cli_command *cmd, const char *name, size_t name_len);

/* Prints "nndl CMD: message" on standard error. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints the library's error for `cmd` and returns exit status 1. */
int cli_fail(const char *cmd, const nndl_error *err);

#endif
