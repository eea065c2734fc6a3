/* The convolution's fast float products against its direct loops. */
#include "conv_products.inc"

TEST(conv_float_products_match_the_direct_loops)
{
    check_conv_cases(2e-6); /* float rounding, summed in other orders */
}
