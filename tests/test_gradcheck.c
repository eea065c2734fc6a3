/* Backpropagation against centered finite differences (chapter 2), for
 * every cost and activation of chapter 3, with regularization and dropout. */
#include "check.h"
#include "nndl.h"

typedef struct case_spec {
    int n_sizes;
    const int *sizes;
    nndl_cost cost;
    nndl_activation act;
    nndl_init init;
    nndl_gradcheck_options opt;
    uint64_t seed;
} case_spec;

static void check_case(const case_spec *c)
{
    nndl_net_spec spec = nndl_net_spec_default(c->n_sizes, c->sizes);
    spec.cost = c->cost;
    spec.act = c->act;
    spec.init = c->init;
    spec.seed = c->seed;
    nndl_gradcheck_result r;
    nndl_error err;
    if (nndl_gradcheck(&spec, &c->opt, &r, &err) != NNDL_OK) {
        test_fail(__FILE__, __LINE__, "%s", err.message);
        return;
    }
    /* A gradient of zeros would pass trivially; few weights may sit at
     * L1's kink. */
    if (!(r.max_rel_error < 1e-6) || !(r.max_abs_gradient > 1e-3) || r.n_skipped * 10 > r.n_params)
        test_fail(__FILE__, __LINE__,
                  "%s cost, %s: worst relative error %g at %zu, largest gradient %g, "
                  "%zu of %zu skipped",
                  nndl_cost_name(c->cost), nndl_activation_name(c->act), r.max_rel_error,
                  r.worst_param, r.max_abs_gradient, r.n_skipped, r.n_params);
}

static const nndl_gradcheck_options PLAIN = {4, 0, 0, 0, 1000};

TEST(gradcheck_chapter1_network)
{
    int sizes[] = {5, 4, 3};
    case_spec c = {3, sizes, NNDL_COST_QUADRATIC, NNDL_ACT_SIGMOID, NNDL_INIT_LARGE, PLAIN, 1};
    check_case(&c);
}

TEST(gradcheck_every_cost_and_activation)
{
    int sizes[] = {6, 5, 4, 3};
    for (int cost = 0; cost < NNDL_COST_COUNT; cost++)
        for (int act = 0; act < NNDL_ACT_COUNT; act++) {
            if (act == NNDL_ACT_SOFTMAX) continue; /* output only */
            for (uint64_t seed = 1; seed <= 3; seed++) {
                case_spec c = {4, sizes, (nndl_cost)cost, (nndl_activation)act,
                               NNDL_INIT_SCALED, PLAIN, seed};
                check_case(&c);
            }
        }
}

TEST(gradcheck_l2_and_l1_terms)
{
    int sizes[] = {6, 5, 3};
    /* lambda large against n so that the terms matter in the gradient */
    nndl_gradcheck_options l2 = {4, 5.0f, 0, 0, 10};
    nndl_gradcheck_options l1 = {4, 0, 3.0f, 0, 10};
    nndl_gradcheck_options both = {4, 2.0f, 1.0f, 0, 7};
    for (int cost = 0; cost < NNDL_COST_COUNT; cost++) {
        case_spec a = {3, sizes, (nndl_cost)cost, NNDL_ACT_SIGMOID, NNDL_INIT_SCALED, l2, 2};
        case_spec b = {3, sizes, (nndl_cost)cost, NNDL_ACT_TANH, NNDL_INIT_SCALED, l1, 3};
        case_spec c = {3, sizes, (nndl_cost)cost, NNDL_ACT_RELU, NNDL_INIT_SCALED, both, 4};
        check_case(&a);
        check_case(&b);
        check_case(&c);
    }
}

TEST(gradcheck_dropout_with_a_fixed_mask)
{
    int sizes[] = {6, 8, 8, 3};
    nndl_gradcheck_options drop = {5, 0, 0, 0.5f, 1000};
    for (int act = 0; act < NNDL_ACT_SOFTMAX; act++) {
        case_spec c = {4, sizes, NNDL_COST_CROSS_ENTROPY, (nndl_activation)act,
                       NNDL_INIT_SCALED, drop, 5};
        check_case(&c);
    }
    case_spec ll = {4, sizes, NNDL_COST_LOG_LIKELIHOOD, NNDL_ACT_RELU, NNDL_INIT_SCALED, drop, 6};
    check_case(&ll);
}

TEST(gradcheck_deep_network_several_seeds)
{
    int sizes[] = {6, 5, 4, 4, 3};
    for (uint64_t seed = 1; seed <= 5; seed++) {
        case_spec c = {5, sizes, NNDL_COST_QUADRATIC, NNDL_ACT_SIGMOID, NNDL_INIT_LARGE,
                       (nndl_gradcheck_options){7, 0, 0, 0, 1000}, seed};
        check_case(&c);
    }
}

TEST(gradcheck_single_output_and_single_layer)
{
    int one_layer[] = {8, 3}, binary[] = {4, 3, 1};
    case_spec a = {2, one_layer, NNDL_COST_CROSS_ENTROPY, NNDL_ACT_SIGMOID, NNDL_INIT_SCALED,
                   (nndl_gradcheck_options){1, 0, 0, 0, 1000}, 2};
    case_spec b = {3, binary, NNDL_COST_CROSS_ENTROPY, NNDL_ACT_TANH, NNDL_INIT_SCALED,
                   (nndl_gradcheck_options){6, 0, 0, 0, 1000}, 2};
    check_case(&a);
    check_case(&b);
}

TEST(gradcheck_mnist_shaped_network)
{
    int sizes[] = {784, 12, 10};
    case_spec c = {3, sizes, NNDL_COST_QUADRATIC, NNDL_ACT_SIGMOID, NNDL_INIT_LARGE,
                   (nndl_gradcheck_options){3, 0, 0, 0, 1000}, 3};
    check_case(&c);
}

TEST(gradcheck_rejects_bad_options)
{
    int sizes[] = {5, 4, 3};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    nndl_gradcheck_result r;
    nndl_error err;
    nndl_gradcheck_options empty = {0, 0, 0, 0, 1000}, negative = {4, -1, 0, 0, 1000};
    CHECK(nndl_gradcheck(&spec, &empty, &r, &err) == NNDL_ERR_ARG);
    CHECK(nndl_gradcheck(&spec, &negative, &r, &err) == NNDL_ERR_ARG);
}
