/* Trains the book's [784, 30, 10] network on MNIST and saves it to argv[1]. */
#include <stdio.h>

#include "nndl.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: train_mnist MODEL_FILE\n");
        return 2;
    }
    char dir[4096]; /* MNIST's: $NNDL_DATA/mnist or ./data/mnist (see `nndl data`) */
    nndl_error err;
    nndl_dataset *training = NULL, *test = NULL;
    int ok = !nndl_mnist_find(dir, sizeof dir, &err) &&
             !nndl_mnist_load(dir, &training, NULL, &test, &err);
    const int sizes[] = {784, 30, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.cost = NNDL_COST_CROSS_ENTROPY;                     /* chapter 3's cost */
    nndl_sgd_config sgd = nndl_sgd_config_default(10, 0.5f); /* m = 10, eta = 0.5 */
    nndl_net *net = ok ? nndl_net_create(&spec, &err) : NULL;
    nndl_trainer *trainer = net ? nndl_trainer_create(net, &sgd, &err) : NULL;
    for (int epoch = 0; trainer && ok && epoch < 2; epoch++) {
        size_t correct = 0; /* SGD over the 50,000 images, then the test score */
        ok = !nndl_trainer_epoch(trainer, training, NULL, NULL, &err) &&
             !nndl_net_evaluate(net, test, &correct, &err);
        if (ok) printf("Epoch %d: %zu / %zu\n", epoch, correct, nndl_dataset_count(test));
    }
    ok = trainer && ok && !nndl_net_save(net, argv[1], &err);
    if (ok)
        printf("saved %s\n", argv[1]);
    else
        fprintf(stderr, "train_mnist: %s\n", err.message);
    nndl_trainer_free(trainer);
    nndl_net_free(net);
    nndl_dataset_free(training);
    nndl_dataset_free(test);
    return ok ? 0 : 1;
}
