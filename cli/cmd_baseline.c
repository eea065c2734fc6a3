/* nndl baseline: chapter 1's comparison classifiers. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"

int cmd_baseline(int argc, char **argv)
{
    cli_command cmd = {"baseline", "darkness",
                       "Runs a baseline classifier on MNIST; prints its test accuracy.\n"
                       "  darkness   guess the digit whose average darkness is closest",
                       NULL, 0, 1, 1};
    char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;
    if (strcmp(pos[0], "darkness") != 0) {
        cli_error("baseline", "'%s' is not a baseline (known: darkness)", pos[0]);
        return 2;
    }
    nndl_dataset *training = NULL, *test = NULL;
    if (!load_mnist("baseline", &training, NULL, &test)) return 1;
    size_t correct;
    nndl_error err;
    int status = 0;
    if (nndl_baseline_darkness(training, test, &correct, &err) != NNDL_OK)
        status = cli_fail("baseline", &err);
    else
        printf("%zu / %zu\n", correct, nndl_dataset_count(test));
    nndl_dataset_free(training);
    nndl_dataset_free(test);
    return status;
}
