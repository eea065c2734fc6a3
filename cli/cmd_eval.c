/* nndl eval: accuracy of a saved model. */
#include <stdio.h>

#include "args.h"
#include "commands.h"

int cmd_eval(int argc, char **argv)
{
    static const char *const data_choices[] = {"test", "validation", NULL};
    int data = 0, threads = 0;
    cli_option options[] = {
        {"--data", OPT_CHOICE, &data, "", "data to evaluate on (default test)", 0, 0,
         data_choices},
        {"--threads", OPT_INT, &threads, "N", "threads (default 0: all cores)", 0, 1024, NULL},
    };
    cli_command cmd = {"eval", "MODEL",
                       "Prints how many test (or validation) images MODEL classifies correctly.",
                       options, 2, 1, 1};
    char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;

    nndl_error err;
    nndl_net *net = nndl_net_load(pos[0], &err);
    if (!net) return cli_fail("eval", &err);
    nndl_net_set_threads(net, threads);
    nndl_dataset *ds = NULL;
    if (!load_mnist("eval", NULL, data == 1 ? &ds : NULL, data == 0 ? &ds : NULL)) {
        nndl_net_free(net);
        return 1;
    }
    size_t correct;
    int status = 0;
    if (nndl_net_evaluate(net, ds, &correct, &err) != NNDL_OK)
        status = cli_fail("eval", &err);
    else
        printf("%zu / %zu\n", correct, nndl_dataset_count(ds));
    nndl_dataset_free(ds);
    nndl_net_free(net);
    return status;
}
