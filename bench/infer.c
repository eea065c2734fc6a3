/* Inference throughput of a trained network over MNIST's 10,000 test
 * images, timed inside the process so that loading the data and the model
 * is not counted.
 *
 *     build/bench/infer MODEL [THREADS] [REPEATS]
 *
 * Times, REPEATS times each (median reported):
 *   evaluate:    nndl_net_evaluate over the test set (bytes to floats,
 *                forward pass, argmax, count), as `nndl eval` does;
 *   feedforward: nndl_net_feedforward of the 10,000 images already as floats,
 *                in one call (the forward pass alone).
 * Prints one JSON line. Uses only the public header, like examples/. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nndl.h"
#include "timing.h"

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: infer MODEL [THREADS] [REPEATS]\n");
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    int repeats = argc > 3 ? atoi(argv[3]) : 7;
    if (repeats < 1 || repeats > 1000) repeats = 7;

    nndl_error err;
    char dir[4096];
    nndl_dataset *test = NULL;
    float *inputs = NULL, *outputs = NULL;
    double t_eval[1000], t_ff[1000];
    int status = 1;
    nndl_net *net = nndl_net_load(argv[1], &err);
    if (!net) goto fail;
    nndl_net_set_threads(net, threads);
    if (nndl_mnist_find(dir, sizeof dir, &err) ||
        nndl_mnist_load(dir, NULL, NULL, &test, &err))
        goto fail;

    size_t n = nndl_dataset_count(test);
    size_t n_in = (size_t)nndl_net_size(net, 0);
    size_t n_out = (size_t)nndl_net_size(net, nndl_net_n_sizes(net) - 1);
    inputs = malloc(n * n_in * sizeof *inputs);
    outputs = malloc(n * n_out * sizeof *outputs);
    if (!inputs || !outputs) {
        fprintf(stderr, "infer: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *px = nndl_dataset_image(test, i);
        for (size_t k = 0; k < n_in; k++) inputs[i * n_in + k] = (float)px[k] / 255.0f;
    }

    size_t correct = 0;
    for (int r = -1; r < repeats; r++) { /* r = -1: warm-up */
        double t0 = now();
        if (nndl_net_evaluate(net, test, &correct, &err)) goto fail;
        double t1 = now();
        if (nndl_net_feedforward(net, inputs, n, outputs, &err)) goto fail;
        double t2 = now();
        if (r >= 0) {
            t_eval[r] = t1 - t0;
            t_ff[r] = t2 - t1;
        }
    }
    double se = median(t_eval, repeats), sf = median(t_ff, repeats);
    printf("{\"images\": %zu, \"threads\": %d, \"repeats\": %d, \"correct\": %zu, "
           "\"evaluate_seconds\": %.6g, \"evaluate_images_per_second\": %.6g, "
           "\"feedforward_seconds\": %.6g, \"feedforward_images_per_second\": %.6g}\n",
           n, threads, repeats, correct, se, (double)n / se, sf, (double)n / sf);
    status = 0;
    goto done;

fail:
    fprintf(stderr, "infer: %s\n", err.message);
done:
    free(inputs);
    free(outputs);
    nndl_dataset_free(test);
    nndl_net_free(net);
    return status;
}
