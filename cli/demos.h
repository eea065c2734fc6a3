/* The experiments `nndl demo NAME` runs. Each takes argv with argv[0] =
 * its own name and returns the process exit status. */
#ifndef NNDL_CLI_DEMOS_H
#define NNDL_CLI_DEMOS_H

#include <cjson/cJSON.h>
#include <stdio.h>

int demo_slowdown(int argc, char **argv);  /* chapter 3: the learning slowdown */
int demo_vanishing(int argc, char **argv); /* chapter 5: speeds of learning per layer */
int demo_unstable(int argc, char **argv);  /* chapter 5: a chain of single neurons */

/* Writes `o` as one line of f and deletes it; -1 with errno set on
 * failure (the demos' --history and --json lines). */
int demo_json_line(FILE *f, cJSON *o);

#endif
