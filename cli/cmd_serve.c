/* nndl serve: a web page to draw digits on for the networks in MODEL files,
 * and to watch small networks learn (cli/serve/ holds the server). */
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "model/model_file.h"
#include "serve/serve.h"

/* The last accuracy `nndl train --save` recorded in the file's metadata:
 * {"evaluation": {"data", "total", "last": {"correct"}}}. */
static void recorded_accuracy(const char *meta, size_t *correct, size_t *total,
                              const char **on)
{
    cJSON *m = meta ? cJSON_Parse(meta) : NULL;
    const cJSON *eval = cJSON_GetObjectItemCaseSensitive(m, "evaluation");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(eval, "total");
    const cJSON *last = cJSON_GetObjectItemCaseSensitive(eval, "last");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(last, "correct");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(eval, "data");
    if (cJSON_IsNumber(t) && cJSON_IsNumber(c) && t->valuedouble >= 1 &&
        c->valuedouble >= 0 && c->valuedouble <= t->valuedouble) {
        *total = (size_t)t->valuedouble;
        *correct = (size_t)c->valuedouble;
        *on = cJSON_IsString(data) && strcmp(data->valuestring, "test") == 0 ? "test"
                                                                           : "validation";
    }
    cJSON_Delete(m);
}

/* Loads a model and works out its accuracy: on the MNIST test set when
 * MNIST is at hand, else as the file recorded it. */
static int add_model(server *srv, const char *path)
{
    nndl_error err;
    char *meta = NULL;
    nndl_net *net = model_load_with_meta(path, &meta, &err);
    if (!net) return !cli_fail("serve", &err);
    size_t correct = 0, total = 0;
    const char *on = "test";
    int digits = nndl_net_size(net, 0) == 784 &&
                 nndl_net_size(net, nndl_net_n_sizes(net) - 1) == 10;
    if (!digits) {
        cli_error("serve", "%s: a [784, ..., 10] network is needed to read digits", path);
        nndl_net_free(net);
        free(meta);
        return 0;
    }
    if (mnist_shared_get(&srv->mnist, NULL) == NNDL_OK &&
        nndl_net_evaluate(net, srv->mnist.test, &correct, &err) == NNDL_OK)
        total = nndl_dataset_count(srv->mnist.test);
    else
        recorded_accuracy(meta, &correct, &total, &on);
    free(meta);
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (models_add(&srv->models, name, net, correct, total, on) < 0) {
        cli_error("serve", "%s: cannot serve more than %d models", path, SERVE_MAX_MODELS);
        return 0;
    }
    return 1;
}

int cmd_serve(int argc, char **argv)
{
    int port = 8080, timeout = SERVE_TIMEOUT_SECONDS;
    const char *host = "127.0.0.1";
    cli_option options[] = {
        {"--port", OPT_INT, &port, "N", "TCP port; 0 picks a free one (default 8080)", 0, 65535,
         NULL},
        {"--host", OPT_STRING, &host, "ADDR",
         "address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 or :: for every "
         "network)",
         0, 0, NULL},
        {"--timeout", OPT_INT, &timeout, "SECONDS",
         "close a connection idle this long (default 30)", 1, 3600, NULL},
    };
    cli_command cmd = {
        "serve", "[MODEL...]",
        "Serves a web page where you draw a digit and see what each MODEL reads in it:\n"
        "the ten probabilities, the 28x28 image the network saw and its hidden neurons.\n"
        "The page can also train a small network on MNIST and plot its accuracy epoch\n"
        "by epoch; the trained network joins the models. The API is described in\n"
        "docs/SERVE.md. Ctrl-C stops the server.",
        options, 3, 0, SERVE_MAX_MODELS};
    char **pos = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *pos);
    if (!pos) {
        cli_error("serve", "out of memory");
        return 1;
    }
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc != CLI_PARSED) {
        free(pos);
        return rc == CLI_HELP ? 0 : 2;
    }

    /* Signals are taken by sigwait below, in this thread only: block them
     * before any other thread starts, so that every thread inherits it. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    server srv;
    memset(&srv, 0, sizeof srv);
    models_init(&srv.models);
    mnist_shared_init(&srv.mnist);
    int status = 1;
    http_server *http = NULL;
    for (int i = 0; i < n_pos; i++)
        if (!add_model(&srv, pos[i])) goto out;
    if (!(srv.training = training_create(&srv))) {
        cli_error("serve", "out of memory");
        goto out;
    }
    nndl_error err;
    int bound = 0;
    if (!(http = http_start(&srv, host, port, timeout, &bound, &err))) {
        cli_fail("serve", &err);
        goto out;
    }
    int ipv6 = strchr(host, ':') != NULL;
    printf("nndl serve: http://%s%s%s:%d/ with %d model%s; Ctrl-C stops\n", ipv6 ? "[" : "",
           host, ipv6 ? "]" : "", bound, n_pos, n_pos == 1 ? "" : "s");
    fflush(stdout);
    int sig = 0;
    sigwait(&stop_signals, &sig);
    fprintf(stderr, "nndl serve: %s: stopping\n", sig == SIGINT ? "interrupted" : "terminated");
    status = 0;
out:
    if (srv.training) {
        training_stop(srv.training);
        /* the event streams send their last event before the connections close */
        training_wait_streams(srv.training, 2);
    }
    http_stop(http);
    training_free(srv.training);
    models_free(&srv.models);
    mnist_shared_free(&srv.mnist);
    free(pos);
    return status;
}
