/* nndl predict: what a saved network reads in pictures of handwritten
 * digits (PNG, JPEG or PGM, any size, dark ink on light paper or the reverse). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "common/error.h"
#include "common/file.h"

enum {
    N_PIXELS = 784, N_DIGITS = 10, MAX_MODELS = 64,
    MAX_SPLIT = 32 /* digits --split reads in one picture */
};

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

/* Reads a picture and prepares it: as one digit, or with `split` as each
 * of its digits, left to right, into inputs[784 k] (and preview[784 k]);
 * *n is the number of inputs written, *found the number of separate digits
 * in the picture. Prints nothing; on failure `err` holds one line naming
 * the file. */
static nndl_status prepare(const char *path, int split, float *inputs, uint8_t *preview, int *n,
                           int *found, nndl_error *err)
{
    nndl_image img;
    nndl_status status = nndl_image_load(path, &img, err);
    if (status != NNDL_OK) return status;
    status = nndl_image_to_mnist_digits(&img, inputs, preview, split ? MAX_SPLIT : 0, found, err);
    if (status == NNDL_OK && split && *found > MAX_SPLIT)
        status = error_set(err, NNDL_ERR_ARG,
                           "%s: %d separate marks; --split reads at most %d digits", path, *found,
                           MAX_SPLIT);
    if (status == NNDL_OK && !split) status = nndl_image_to_mnist(&img, inputs, preview, err);
    if (status == NNDL_OK) *n = split ? *found : 1;
    nndl_image_free(&img);
    return status;
}

/* The models' answer for one input: each model's probabilities, their
 * mean in p, and the plurality vote, ties to the larger mean probability
 * (or, by_mean, the digit of the largest mean probability). */
static nndl_status vote(nndl_net *const *nets, const int *softmax, int n_models, int by_mean,
                        const float *input, double p[N_DIGITS], int *digit, nndl_error *err)
{
    int votes[N_DIGITS] = {0};
    for (int d = 0; d < N_DIGITS; d++) p[d] = 0;
    for (int m = 0; m < n_models; m++) {
        float outputs[N_DIGITS];
        nndl_status status = nndl_net_feedforward(nets[m], input, 1, outputs, err);
        if (status != NNDL_OK) return status;
        double q[N_DIGITS];
        probabilities(outputs, softmax[m], q);
        int answer = 0;
        for (int d = 0; d < N_DIGITS; d++) {
            p[d] += q[d] / n_models;
            if (q[d] > q[answer]) answer = d;
        }
        votes[answer]++;
    }
    *digit = 0;
    for (int d = 1; d < N_DIGITS; d++)
        if ((!by_mean && votes[d] > votes[*digit]) ||
            ((by_mean || votes[d] == votes[*digit]) && p[d] > p[*digit]))
            *digit = d;
    return NNDL_OK;
}

/* The 28x28 images of `n` digits side by side, as one PNG. */
static nndl_status save_previews(const char *path, const uint8_t *preview, int n, nndl_error *err)
{
    uint8_t *row = malloc((size_t)n * N_PIXELS);
    if (!row) return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory", path);
    for (int k = 0; k < n; k++)
        for (int y = 0; y < 28; y++)
            memcpy(row + (size_t)y * 28 * (size_t)n + (size_t)k * 28,
                   preview + (size_t)k * N_PIXELS + (size_t)y * 28, 28);
    nndl_status status = nndl_image_save_png(path, row, 28 * n, 28, err);
    free(row);
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
    static const char *const vote_choices[] = {"plurality", "mean", NULL};
    int json = 0, split = 0, by_mean = 0;
    const char *show = NULL;
    cli_option options[] = {
        {"--json", OPT_FLAG, &json, "",
         "print a JSON array of {\"file\", \"digit\", \"probabilities\"}", 0, 0, NULL},
        {"--show", OPT_STRING, &show, "FILE",
         "write the 28x28 image the network saw as a PNG", 0, 0, NULL},
        {"--split", OPT_FLAG, &split, "",
         "read each of several digits side by side, left to right (\"42\")", 0, 0, NULL},
        {"--vote", OPT_CHOICE, &by_mean, "",
         "with several models: one vote each (default), or the digit of largest mean "
         "probability", 0, 0, vote_choices},
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
        "most of them see, ties to the larger mean probability (--vote mean: the digit\n"
        "of the largest mean probability); the probabilities printed are their mean.\n"
        "A picture holding several separate marks side by side (\"42\") is read as one\n"
        "digit with a warning on standard error; --split reads each digit, left to\n"
        "right (marks that overlap horizontally are one digit), and prints them as one\n"
        "number with each digit's probability: \"FILE: 42  (4: 0.97, 2: 0.88)\"; with\n"
        "--json, {\"file\", \"number\", \"digits\": [{\"digit\", \"probabilities\"}, ...]};\n"
        "--show then writes the digits' 28x28 images side by side.",
        options, (int)(sizeof options / sizeof options[0]), 2, argc};
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
    float *inputs = malloc((size_t)MAX_SPLIT * N_PIXELS * sizeof *inputs);
    uint8_t *preview = malloc((size_t)MAX_SPLIT * N_PIXELS);
    if ((json && !results) || !inputs || !preview) {
        cli_error("predict", "out of memory");
        failed = 1;
        n_images = 0;
    }
    for (int k = 1; k <= n_images && (!json || results); k++) {
        const char *path = pos[n_models + k - 1];
        char *show_file = show ? show_path(show, k, n_images) : NULL;
        if (show && !show_file) {
            cli_error("predict", "%s: out of memory", path);
            failed = 1;
            continue;
        }
        int n = 0, found = 0, digits[MAX_SPLIT];
        double p[MAX_SPLIT][N_DIGITS];
        nndl_status status = prepare(path, split, inputs, preview, &n, &found, &err);
        for (int d = 0; d < n && status == NNDL_OK; d++)
            status = vote(nets, softmax, n_models, by_mean, inputs + (size_t)d * N_PIXELS, p[d],
                          &digits[d], &err);
        if (status == NNDL_OK && show_file) status = save_previews(show_file, preview, n, &err);
        free(show_file);
        if (status != NNDL_OK) {
            cli_fail("predict", &err);
            failed = 1;
            continue;
        }
        if (!split && found > 1)
            fprintf(stderr, "nndl predict: warning: %s: %d separate marks side by side, read as "
                    "one digit (--split reads each)\n", path, found);
        cJSON *o = NULL;
        if (!split && !json) {
            print_text(path, digits[0], p[0]);
        } else if (!json) {
            printf("%s: ", path);
            for (int d = 0; d < n; d++) printf("%d", digits[d]);
            for (int d = 0; d < n; d++)
                printf("%s%d: %.2f", d ? ", " : "  (", digits[d], p[d][digits[d]]);
            printf(")\n");
        } else if (!split) {
            o = json_result(path, digits[0], p[0]);
            if (!o || !cJSON_AddItemToArray(results, o)) goto no_memory;
        } else {
            /* {"file", "number": "42", "digits": [{"digit", "probabilities"}, ...]} */
            char number[MAX_SPLIT + 1];
            for (int d = 0; d < n; d++) number[d] = (char)('0' + digits[d]);
            number[n] = 0;
            o = cJSON_CreateObject();
            cJSON *each = o && cJSON_AddStringToObject(o, "file", path) &&
                                  cJSON_AddStringToObject(o, "number", number)
                              ? cJSON_AddArrayToObject(o, "digits")
                              : NULL;
            for (int d = 0; each && d < n; d++) {
                cJSON *one = json_result(path, digits[d], p[d]);
                cJSON_DeleteItemFromObjectCaseSensitive(one, "file");
                if (!one || !cJSON_AddItemToArray(each, one)) {
                    cJSON_Delete(one);
                    each = NULL;
                }
            }
            if (!each || !cJSON_AddItemToArray(results, o)) goto no_memory;
        }
        continue;
    no_memory:
        cJSON_Delete(o);
        cli_error("predict", "%s: out of memory", path);
        failed = 1;
    }
    free(inputs);
    free(preview);
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
