/* The experiments `nndl demo NAME` runs. Each takes argv with argv[0] =
 * its own name and returns the process exit status. */
#ifndef NNDL_CLI_DEMOS_H
#define NNDL_CLI_DEMOS_H

int demo_slowdown(int argc, char **argv);  /* chapter 3: the learning slowdown */
int demo_vanishing(int argc, char **argv); /* chapter 5: speeds of learning per layer */
int demo_unstable(int argc, char **argv);  /* chapter 5: a chain of single neurons */

#endif
