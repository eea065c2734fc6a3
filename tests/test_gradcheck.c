/* Backpropagation against centered finite differences (chapter 2). */
#include "check.h"
#include "nndl.h"

static void check_gradient(int n_sizes, const int *sizes, int batch, uint64_t seed)
{
    nndl_net_spec spec = nndl_net_spec_default(n_sizes, sizes);
    spec.seed = seed;
    nndl_gradcheck_result r;
    nndl_error err;
    REQUIRE(nndl_gradcheck(&spec, batch, &r, &err) == NNDL_OK);
    CHECK(r.max_rel_error < 1e-6);
    /* A gradient of zeros would pass trivially. */
    CHECK(r.max_abs_gradient > 1e-3);
    if (test_failed_now())
        fprintf(stderr, "    worst relative error %g at %zu, largest gradient %g\n",
                r.max_rel_error, r.worst_param, r.max_abs_gradient);
}

TEST(gradcheck_small_network)
{
    int sizes[] = {5, 4, 3};
    check_gradient(3, sizes, 4, 1);
}

TEST(gradcheck_deep_network_several_seeds)
{
    int sizes[] = {6, 5, 4, 4, 3};
    for (uint64_t seed = 1; seed <= 5; seed++) check_gradient(5, sizes, 7, seed);
}

TEST(gradcheck_single_example_and_single_layer)
{
    int one_layer[] = {8, 3};
    check_gradient(2, one_layer, 1, 2);
}

TEST(gradcheck_mnist_shaped_network)
{
    int sizes[] = {784, 12, 10};
    check_gradient(3, sizes, 3, 3);
}

TEST(gradcheck_rejects_an_empty_batch)
{
    int sizes[] = {5, 4, 3};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    nndl_gradcheck_result r;
    nndl_error err;
    CHECK(nndl_gradcheck(&spec, 0, &r, &err) == NNDL_ERR_ARG);
}
