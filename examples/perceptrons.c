/* Chapter 1's perceptrons: logic gates, and adding two bits with NAND gates.
 *
 * A perceptron takes binary inputs x_j and outputs 1 if w . x + b > 0, and 0
 * otherwise (eq. 2). It is a step function, not a sigmoid, so it is written
 * out here in three lines; at the end an nndl network shows that a sigmoid
 * neuron with the same weights, multiplied by 100, behaves the same way.
 *
 *     build/examples/perceptrons
 */
#include <stdio.h>

#include "nndl.h"

/* A perceptron with two inputs: 1 if w1 x1 + w2 x2 + b > 0, else 0. */
static int perceptron(double w1, double w2, double b, int x1, int x2)
{
    return w1 * x1 + w2 * x2 + b > 0;
}

/* The book's NAND gate: weights -2 and -2, bias 3. */
static int nand(int x1, int x2) { return perceptron(-2, -2, 3, x1, x2); }
/* AND and OR with weights of our choosing: 2 and 2, biases -3 and -1. */
static int and_gate(int x1, int x2) { return perceptron(2, 2, -3, x1, x2); }
static int or_gate(int x1, int x2) { return perceptron(2, 2, -1, x1, x2); }

/* The adder of chapter 1's figure, built only from NAND perceptrons:
 * five gates give the bitwise sum x1 XOR x2 and the carry x1 AND x2. */
static void add_bits(int x1, int x2, int *sum, int *carry)
{
    int a = nand(x1, x2);
    *sum = nand(nand(x1, a), nand(x2, a));
    *carry = nand(a, a);
}

int main(void)
{
    printf("x1 x2 | NAND AND OR | sum carry\n");
    for (int x1 = 0; x1 <= 1; x1++)
        for (int x2 = 0; x2 <= 1; x2++) {
            int sum, carry;
            add_bits(x1, x2, &sum, &carry);
            printf(" %d  %d |   %d   %d   %d |  %d    %d\n", x1, x2, nand(x1, x2),
                   and_gate(x1, x2), or_gate(x1, x2), sum, carry);
        }

    /* A [2, 1] sigmoid network with the NAND weights times 100: sigma(z) is
     * then within e^-100 of the step function wherever z != 0. */
    const int sizes[] = {2, 1};
    nndl_net_spec spec = nndl_net_spec_default(2, sizes);
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    if (!net) {
        fprintf(stderr, "perceptrons: %s\n", err.message);
        return 1;
    }
    float *p = nndl_net_params(net); /* w_11, w_12, then b_1 */
    p[0] = -200, p[1] = -200, p[2] = 300;
    printf("\nsigmoid neuron, NAND's weights x 100:\n");
    for (int x1 = 0; x1 <= 1; x1++)
        for (int x2 = 0; x2 <= 1; x2++) {
            float x[2] = {(float)x1, (float)x2}, a;
            nndl_net_feedforward(net, x, 1, &a, NULL);
            printf(" %d  %d | %.4f\n", x1, x2, (double)a);
        }
    nndl_net_free(net);
    return 0;
}
