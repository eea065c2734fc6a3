/* nndl gradcheck: backpropagation against finite differences (eq. 46). */
#include <stdio.h>

#include "args.h"
#include "commands.h"

/* The check passes below this worst relative error. */
static const double LIMIT = 1e-6;

int cmd_gradcheck(int argc, char **argv)
{
    cli_sizes sizes = {3, {5, 4, 3}};
    int batch = 4;
    uint64_t seed = 1;
    cli_option options[] = {
        {"--sizes", OPT_SIZES, &sizes, "N,N,...", "network layer sizes (default 5,4,3)", 0, 0,
         NULL},
        {"--batch", OPT_INT, &batch, "M", "examples in the batch (default 4)", 1, 10000, NULL},
        {"--seed", OPT_U64, &seed, "N", "random seed for weights and data (default 1)", 0, 0,
         NULL},
    };
    cli_command cmd = {"gradcheck", "",
                       "Compares the backpropagated gradient with centered finite differences\n"
                       "in double precision, and times both.",
                       options, 3, 0, 0};
    char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;

    nndl_net_spec spec = nndl_net_spec_default(sizes.n, sizes.v);
    spec.seed = seed;
    nndl_gradcheck_result r;
    nndl_error err;
    if (nndl_gradcheck(&spec, batch, &r, &err) != NNDL_OK) return cli_fail("gradcheck", &err);

    printf("network [");
    for (int i = 0; i < sizes.n; i++) printf("%s%d", i ? "," : "", sizes.v[i]);
    printf("], %zu weights and biases, batch of %d\n", r.n_params, batch);
    printf("worst relative error %.3g at parameter %zu (limit %g): %s\n", r.max_rel_error,
           r.worst_param, LIMIT, r.max_rel_error < LIMIT ? "ok" : "FAILED");
    printf("backpropagation %.3g s, finite differences %.3g s: backpropagation was %.0fx faster\n",
           r.backprop_seconds, r.numeric_seconds,
           r.backprop_seconds > 0 ? r.numeric_seconds / r.backprop_seconds : 0.0);
    return r.max_rel_error < LIMIT ? 0 : 1;
}
