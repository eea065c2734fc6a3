/* The convolution's double products, which the gradient check uses,
 * against its direct loops. */
#define NNDL_REAL_DOUBLE
#include "conv_products.inc"

TEST(conv_double_products_match_the_direct_loops)
{
    check_conv_cases(1e-14);
}
