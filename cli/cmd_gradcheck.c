/* nndl gradcheck: backpropagation against finite differences (eq. 46). */
#include <stdio.h>

#include "args.h"
#include "commands.h"
#include "train_settings.h"

/* The check passes below this worst relative error. */
static const double LIMIT = 1e-6;

int cmd_gradcheck(int argc, char **argv)
{
    static const char *const cost_choices[] = {"quadratic", "cross-entropy", "log-likelihood",
                                               NULL};
    static const char *const init_choices[] = {"scaled", "large", "network3", "he", NULL};
    train_settings s = train_settings_default();
    s.init = NNDL_INIT_LARGE;
    int batch = 4, n_train = 1000;
    cli_option options[] = {
        {"--sizes", OPT_SIZES, &s.sizes, "N,N,...", "network layer sizes (default 5,4,3)", 0, 0,
         NULL},
        {"--layers", OPT_STRING, &s.layers, "SPEC",
         "layers instead of sizes, as nndl train takes them, over 1x28x28 inputs", 0, 0, NULL},
        {"--cost", OPT_CHOICE, &s.cost, "", "cost function (default quadratic)", 0, 0,
         cost_choices},
        {"--activation", OPT_STRING, &s.activation, "A[,A...]",
         "sigmoid, tanh or relu, for all or each hidden layer (default sigmoid)", 0, 0, NULL},
        {"--init", OPT_CHOICE, &s.init, "", "weight initialization (default large)", 0, 0,
         init_choices},
        {"--lambda", OPT_FLOAT, &s.lambda, "L", "L2 term in the cost (default 0)", 0, 1e30, NULL},
        {"--l1", OPT_FLOAT, &s.l1, "L", "L1 term in the cost (default 0)", 0, 1e30, NULL},
        {"--n-train", OPT_INT, &n_train, "N", "the n of the regularization terms (default 1000)",
         1, 1000000000, NULL},
        {"--dropout", OPT_FLOAT, &s.dropout, "P", "dropout with one fixed mask (default 0)", 0,
         0.99, NULL},
        {"--batch", OPT_INT, &batch, "M", "examples in the batch (default 4)", 1, 10000, NULL},
        {"--seed", OPT_U64, &s.seed, "N", "random seed for weights and data (default 1)", 0, 0,
         NULL},
    };
    cli_command cmd = {"gradcheck", "",
                       "Compares the gradient from backpropagation with centered finite\n"
                       "differences of the cost, in double precision, and times both.",
                       options, (int)(sizeof options / sizeof options[0]), 0, 0};
    char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;
    if (!s.layers && !s.sizes.n) s.sizes = (cli_sizes){3, {5, 4, 3}};
    if (!train_settings_finish(&s, "gradcheck")) return 2;

    nndl_net_spec spec = train_net_spec(&s);
    nndl_gradcheck_options opt = {batch, s.lambda, s.l1, s.dropout, (size_t)n_train};
    nndl_gradcheck_result r;
    nndl_error err;
    if (nndl_gradcheck(&spec, &opt, &r, &err) != NNDL_OK) return cli_fail("gradcheck", &err);

    char network[2048];
    train_settings_network(&s, network, sizeof network);
    printf("network %s%s%s, %s cost, %zu weights and biases, batch of %d\n",
           s.layers ? "" : "[", network, s.layers ? "" : "]",
           nndl_cost_name((nndl_cost)s.cost), r.n_params, batch);
    if (r.n_skipped)
        printf("%zu weights within 2h of L1's kink at 0 were not compared\n", r.n_skipped);
    if (r.n_kinked)
        printf("%zu parameters whose steps moved a ReLU across 0 or changed a max-pool's "
               "winner were not compared\n", r.n_kinked);
    printf("worst relative error %.3g at parameter %zu (limit %g): %s\n", r.max_rel_error,
           r.worst_param, LIMIT, r.max_rel_error < LIMIT ? "ok" : "FAILED");
    printf("backpropagation %.3g s, finite differences %.3g s: backpropagation was %.0fx faster\n",
           r.backprop_seconds, r.numeric_seconds,
           r.backprop_seconds > 0 ? r.numeric_seconds / r.backprop_seconds : 0.0);
    return r.max_rel_error < LIMIT ? 0 : 1;
}
