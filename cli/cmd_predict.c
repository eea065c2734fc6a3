/* nndl predict: what a saved network reads in pictures of handwritten
 * digits (PNG, JPEG or PGM, any size, dark ink on light paper or the reverse). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "common/file.h"

enum { N_PIXELS = 784, N_DIGITS = 10, MAX_MODELS = 64 };

/* Whether `path` starts as a model file does: nndl's magic, or '{'. */
static int is_model_file(const char *path)
{
    FILE *f;
    if (file_open_read(path, "file", NNDL_ERR_IO, &f, NULL, NULL) != NNDL_OK) return 0;
    char head[8] = {0};
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n == 8 && memcmp(head, "NNDLMODL", 8) == 0) return 1;
    for (size_t i = 0; i < n; i++)
        if (head[i] != ' ' && head[i] != '\n' && head[i] != '\r' && head[i] != '\t')
            return head[i] == '{';
    return 0;
}

/* The file --show writes for image `k` (1-based) of `n`: PATH itself for a
 * single image; for several, "-K" inserted before a ".png" ending, or
 * "-K.png" appended when PATH has none. NULL when out of memory. */
static char *show_path(const char *path, int k, int n)
{
    size_t len = strlen(path), cap = len + 32;
    char *out = malloc(cap);
    if (!out) return NULL;
    if (n == 1) {
        memcpy(out, path, len + 1);
    } else if (len >= 4 && strcmp(path + len - 4, ".png") == 0) {
        snprintf(out, cap, "%.*s-%d.png", (int)(len - 4), path, k);
    } else {
        snprintf(out, cap, "%s-%d.png", path, k);
    }
    return out;
}

/* Probabilities of the ten digits from the output activations: softmax
 * outputs already are; sigmoid outputs are divided by their sum. */
static void probabilities(const float *a, int softmax, double p[N_DIGITS])
{
    double sum = 0;
    for (int d = 0; d < N_DIGITS; d++) sum += a[d];
    for (int d = 0; d < N_DIGITS; d++)
        p[d] = softmax ? a[d] : sum > 0 ? a[d] / sum : 1.0 / N_DIGITS;
}

/* Reads, preprocesses and classifies one picture. Prints nothing; on
 * failure `err` holds one line naming the file. */
static nndl_status predict_one(nndl_net *net, const char *path, const char *show,
                               float outputs[N_DIGITS], nndl_error *err)
{
    nndl_image img;
    nndl_status status = nndl_image_load(path, &img, err);
    if (status != NNDL_OK) return status;
    float input[N_PIXELS];
    uint8_t preview[N_PIXELS];
    status = nndl_image_to_mnist(&img, input, preview, err);
    nndl_image_free(&img);
    if (status == NNDL_OK) status = nndl_net_feedforward(net, input, 1, outputs, err);
    if (status == NNDL_OK && show) status = nndl_image_save_png(show, preview, 28, 28, err);
    return status;
}

static void print_text(const char *path, int digit, const double p[N_DIGITS])
{
    printf("%s: %d  (", path, digit);
    for (int d = 0; d < N_DIGITS; d++) printf("%s%d: %.2f", d ? " " : "", d, p[d]);
    printf(")\n");
}

static cJSON *json_result(const char *path, int digit, const double p[N_DIGITS])
{
    cJSON *o = cJSON_CreateObject();
    cJSON *probs = o && cJSON_AddStringToObject(o, "file", path) &&
                           cJSON_AddNumberToObject(o, "digit", digit)
                       ? cJSON_AddArrayToObject(o, "probabilities")
                       : NULL;
    for (int d = 0; probs && d < N_DIGITS; d++) {
        cJSON *v = cJSON_CreateNumber(round(p[d] * 1e6) / 1e6);
        if (!v || !cJSON_AddItemToArray(probs, v)) {
            cJSON_Delete(v);
            probs = NULL;
        }
    }
    if (!probs) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int cmd_predict(int argc, char **argv)
{
    int json = 0;
    const char *show = NULL;
    cli_option options[] = {
        {"--json", OPT_FLAG, &json, "",
         "print a JSON array of {\"file\", \"digit\", \"probabilities\"}", 0, 0, NULL},
        {"--show", OPT_STRING, &show, "FILE",
         "write the 28x28 image the network saw as a PNG", 0, 0, NULL},
    };
    cli_command cmd = {
        "predict", "MODEL... IMAGE...",
        "Reads handwritten digits in PNG, JPEG or PGM pictures of any size (dark ink on\n"
        "light paper, or light on dark) and prints the digit MODEL sees in each and the\n"
        "ten probabilities. Each picture is made to look like MNIST first: background\n"
        "removed, the digit's box scaled to 20x20 and centered by its center of mass\n"
        "in 28x28. --show FILE writes that image; with several pictures it writes\n"
        "FILE-1.png, FILE-2.png, ... (a .png ending of FILE moves after the number).\n"
        "A softmax output layer gives the probabilities; sigmoid outputs are divided\n"
        "by their sum to make them add up to 1. A picture that cannot be read gets a\n"
        "line on standard error, the others are still read, and the exit status is 1.\n"
        "Several models (the leading arguments that are model files) vote: the digit\n"
        "most of them see, ties to the larger mean probability; the probabilities\n"
        "printed are their mean.",
        options, 2, 2, argc};
    char **pos = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *pos);
    if (!pos) {
        cli_error("predict", "out of memory");
        return 1;
    }
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc != CLI_PARSED) {
        free(pos);
        return rc == CLI_HELP ? 0 : 2;
    }

    /* the leading arguments that are model files are the models */
    int n_models = 1;
    while (n_models < MAX_MODELS && n_models < n_pos - 1 && is_model_file(pos[n_models]))
        n_models++;
    nndl_error err;
    nndl_net *nets[MAX_MODELS] = {0};
    int softmax[MAX_MODELS];
    for (int m = 0; m < n_models; m++) {
        nndl_net *net = nets[m] = nndl_net_load(pos[m], &err);
        int L = net ? nndl_net_n_sizes(net) : 0;
        if (!net) {
            cli_fail("predict", &err);
        } else if (nndl_net_size(net, 0) != N_PIXELS || nndl_net_size(net, L - 1) != N_DIGITS) {
            cli_error("predict", "%s: a network of %d inputs and %d outputs; predicting digits "
                      "needs 784 inputs (28x28) and 10 outputs", pos[m], nndl_net_size(net, 0),
                      nndl_net_size(net, L - 1));
        } else {
            softmax[m] = nndl_net_activation(net, L - 1) == NNDL_ACT_SOFTMAX;
            continue;
        }
        for (int i = 0; i <= m; i++) nndl_net_free(nets[i]);
        free(pos);
        return 1;
    }
    int n_images = n_pos - n_models, failed = 0;
    cJSON *results = json ? cJSON_CreateArray() : NULL;
    if (json && !results) failed = 1;
    for (int k = 1; k <= n_images && (!json || results); k++) {
        const char *path = pos[n_models + k - 1];
        char *show_file = show ? show_path(show, k, n_images) : NULL;
        float outputs[N_DIGITS];
        if (show && !show_file) {
            cli_error("predict", "%s: out of memory", path);
            failed = 1;
            continue;
        }
        /* each model's probabilities, their mean, and the models' votes */
        double p[N_DIGITS] = {0};
        int votes[N_DIGITS] = {0};
        nndl_status status = NNDL_OK;
        for (int m = 0; m < n_models && status == NNDL_OK; m++) {
            status = predict_one(nets[m], path, m == 0 ? show_file : NULL, outputs, &err);
            double q[N_DIGITS];
            probabilities(outputs, softmax[m], q);
            int answer = 0;
            for (int d = 0; d < N_DIGITS; d++) {
                p[d] += q[d] / n_models;
                if (q[d] > q[answer]) answer = d;
            }
            votes[answer]++;
        }
        free(show_file);
        if (status != NNDL_OK) {
            cli_fail("predict", &err);
            failed = 1;
            continue;
        }
        /* the plurality vote, ties to the larger mean probability */
        int digit = 0;
        for (int d = 1; d < N_DIGITS; d++)
            if (votes[d] > votes[digit] || (votes[d] == votes[digit] && p[d] > p[digit]))
                digit = d;
        if (!json) {
            print_text(path, digit, p);
            continue;
        }
        cJSON *o = json_result(path, digit, p);
        if (!o || !cJSON_AddItemToArray(results, o)) {
            cJSON_Delete(o);
            cli_error("predict", "%s: out of memory", path);
            failed = 1;
        }
    }
    if (results) {
        char *text = cJSON_Print(results);
        if (text) {
            printf("%s\n", text);
            free(text);
        } else {
            cli_error("predict", "out of memory");
            failed = 1;
        }
        cJSON_Delete(results);
    }
    if (fflush(stdout) != 0) {
        cli_error("predict", "cannot write to standard output");
        failed = 1;
    }
    for (int m = 0; m < n_models; m++) nndl_net_free(nets[m]);
    free(pos);
    return failed;
}
