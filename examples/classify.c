/* Reads a picture of one handwritten digit and asks a trained network which
 * digit it is.
 *
 *     build/examples/train_mnist digits.nndl
 *     build/examples/classify digits.nndl my-digit.png
 *
 * The picture (PNG, JPEG or PGM, dark ink on light paper or the other way round)
 * is turned into 28 x 28 inputs the way MNIST's digits were made: the ink
 * scaled to fit a 20 x 20 box and centered by its center of mass. */
#include <stdio.h>

#include "nndl.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: classify MODEL_FILE IMAGE\n");
        return 2;
    }
    nndl_error err;
    nndl_image image = {0};
    float input[784], output[10];

    /* 1. The network: 784 inputs (28 x 28 pixels), 10 outputs (digits). */
    nndl_net *net = nndl_net_load(argv[1], &err);
    if (!net) goto fail;
    if (nndl_net_size(net, 0) != 784 || nndl_net_size(net, nndl_net_n_sizes(net) - 1) != 10) {
        snprintf(err.message, sizeof err.message, "%s: not a network for MNIST", argv[1]);
        goto fail;
    }
    /* 2. The picture, as the network's 784 inputs: ink 1, background 0. */
    if (nndl_image_load(argv[2], &image, &err) || nndl_image_to_mnist(&image, input, NULL, &err))
        goto fail;
    /* 3. What the network sees, drawn in characters. */
    for (int row = 0; row < 28; row++) {
        for (int col = 0; col < 28; col++)
            putchar(" .:-=+*#%@"[(int)(input[row * 28 + col] * 9.99f)]);
        putchar('\n');
    }
    /* 4. Forward through the network (eq. 25); the answer is the most
     *    active output neuron. */
    if (nndl_net_feedforward(net, input, 1, output, &err)) goto fail;
    printf("%s: %d\n", argv[2], nndl_net_classify(net, input));
    for (int j = 0; j < 10; j++) printf("  output %d: %.4f\n", j, (double)output[j]);
    nndl_image_free(&image);
    nndl_net_free(net);
    return 0;

fail:
    fprintf(stderr, "classify: %s\n", err.message);
    nndl_image_free(&image);
    nndl_net_free(net);
    return 1;
}
