#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "nndl %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_fail(const char *cmd, const nndl_error *err)
{
    cli_error(cmd, "%s", err->message);
    return 1;
}

static int parse_long(const char *text, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end) return 0;
    *out = v;
    return 1;
}

static int parse_sizes(const char *text, cli_sizes *sizes)
{
    cli_sizes s = {0};
    const char *p = text;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || v < 1 || v > NNDL_MAX_LAYER_SIZE || s.n == NNDL_MAX_LAYERS)
            return 0;
        s.v[s.n++] = (int)v;
        if (*end == 0) break;
        if (*end != ',') return 0;
        p = end + 1;
    }
    if (s.n < 2) return 0;
    *sizes = s;
    return 1;
}

static void choices_text(const cli_option *o, char *buf, size_t cap)
{
    buf[0] = 0;
    for (int i = 0; o->choices[i]; i++) {
        if (i) strncat(buf, "|", cap - strlen(buf) - 1);
        strncat(buf, o->choices[i], cap - strlen(buf) - 1);
    }
}

/* Stores `text` as the value of option o; 0 after printing an error. */
int cli_set_option(const cli_command *cmd, const cli_option *o, const char *text)
{
    switch (o->kind) {
    case OPT_INT: {
        long long v;
        if (!parse_long(text, &v)) {
            cli_error(cmd->name, "%s: '%s' is not a whole number", o->name, text);
            return 0;
        }
        if (v < o->min || v > o->max) {
            cli_error(cmd->name, "%s: %lld is out of range (%.0f to %.0f)", o->name, v,
                      o->min, o->max);
            return 0;
        }
        *(int *)o->value = (int)v;
        return 1;
    }
    case OPT_U64: {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno || end == text || *end || text[0] == '-') {
            cli_error(cmd->name, "%s: '%s' is not a non-negative whole number", o->name, text);
            return 0;
        }
        *(uint64_t *)o->value = v;
        return 1;
    }
    case OPT_FLOAT: {
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(v)) {
            cli_error(cmd->name, "%s: '%s' is not a number", o->name, text);
            return 0;
        }
        if (v < o->min || v > o->max) {
            cli_error(cmd->name, "%s: %g is out of range (%g to %g)", o->name, v, o->min, o->max);
            return 0;
        }
        *(float *)o->value = (float)v;
        return 1;
    }
    case OPT_STRING:
        if (!text[0]) {
            cli_error(cmd->name, "%s: empty value", o->name);
            return 0;
        }
        *(const char **)o->value = text;
        return 1;
    case OPT_SIZES:
        if (!parse_sizes(text, o->value)) {
            cli_error(cmd->name,
                      "%s: '%s' is not a list of 2 to %d layer sizes like 784,30,10 "
                      "(each 1 to %d)",
                      o->name, text, NNDL_MAX_LAYERS, NNDL_MAX_LAYER_SIZE);
            return 0;
        }
        return 1;
    case OPT_CHOICE:
        for (int i = 0; o->choices[i]; i++)
            if (strcmp(text, o->choices[i]) == 0) {
                *(int *)o->value = i;
                return 1;
            }
        char list[256];
        choices_text(o, list, sizeof list);
        cli_error(cmd->name, "%s: '%s' is not one of %s", o->name, text, list);
        return 0;
    case OPT_FLAG:
        if (strcmp(text, "on") == 0 || strcmp(text, "1") == 0) {
            *(int *)o->value = 1;
            return 1;
        }
        if (strcmp(text, "off") == 0 || strcmp(text, "0") == 0) {
            *(int *)o->value = 0;
            return 1;
        }
        cli_error(cmd->name, "%s: '%s' is not on or off", o->name, text);
        return 0;
    case OPT_LIST: {
        cli_list *list_value = o->value;
        if (list_value->n == CLI_LIST_MAX) {
            cli_error(cmd->name, "%s: at most %d times", o->name, CLI_LIST_MAX);
            return 0;
        }
        list_value->v[list_value->n++] = text;
        return 1;
    }
    }
    return 0;
}

const cli_option *cli_find_option(const cli_command *cmd, const char *name, size_t name_len)
{
    for (int k = 0; k < cmd->n_options; k++)
        if (strlen(cmd->options[k].name) == name_len &&
            strncmp(cmd->options[k].name, name, name_len) == 0)
            return &cmd->options[k];
    return NULL;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, char **positional,
              int *n_positional)
{
    int n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli_print_help(cmd);
            return CLI_HELP;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == 0) {
            if (n_pos == cmd->max_positional) {
                cli_error(cmd->name, "unexpected argument '%s' (see nndl %s --help)", arg,
                          cmd->name);
                return CLI_ERROR;
            }
            positional[n_pos++] = argv[i];
            continue;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const cli_option *o = cli_find_option(cmd, arg, name_len);
        if (!o) {
            cli_error(cmd->name, "%.*s: unknown option (see nndl %s --help)", (int)name_len,
                      arg, cmd->name);
            return CLI_ERROR;
        }
        const char *text = eq ? eq + 1 : NULL;
        if (!text && o->kind == OPT_FLAG) text = "on";
        if (!text) {
            if (i + 1 == argc) {
                cli_error(cmd->name, "%s: missing value %s", o->name, o->metavar);
                return CLI_ERROR;
            }
            text = argv[++i];
        }
        if (!cli_set_option(cmd, o, text)) return CLI_ERROR;
    }
    if (n_pos < cmd->min_positional) {
        cli_error(cmd->name, "missing argument %s (see nndl %s --help)", cmd->args, cmd->name);
        return CLI_ERROR;
    }
    *n_positional = n_pos;
    return CLI_PARSED;
}

void cli_print_help(const cli_command *cmd)
{
    printf("usage: nndl %s%s%s%s\n%s\n", cmd->name, cmd->args[0] ? " " : "", cmd->args,
           cmd->n_options ? " [options]" : "", cmd->summary);
    if (cmd->n_options) printf("\noptions:\n");
    for (int k = 0; k < cmd->n_options; k++) {
        const cli_option *o = &cmd->options[k];
        char left[300], list[256];
        const char *meta = o->metavar;
        if (o->kind == OPT_CHOICE) {
            choices_text(o, list, sizeof list);
            meta = list;
        }
        snprintf(left, sizeof left, "%s%s%s", o->name, o->kind == OPT_FLAG ? "" : " ", meta);
        /* a long option name gets its help on the next line */
        if (strlen(left) > 26)
            printf("  %s\n  %-26s %s\n", left, "", o->help);
        else
            printf("  %-26s %s\n", left, o->help);
    }
}
