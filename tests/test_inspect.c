/* nndl inspect, and the metadata nndl train --save records for it. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "model/model_file.h"
#include "nndl.h"

#ifndef NNDL_CLI_PATH
#define NNDL_CLI_PATH "build/nndl"
#endif

/* Runs `nndl ARGS`; stdout into out[cap]. Returns the exit status. */
__attribute__((format(printf, 3, 4))) static int nndl(char *out, size_t cap, const char *fmt, ...)
{
    char args[2048], cmd[4096], path[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "%s/inspect.out", test_tmpdir());
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>/dev/null </dev/null", NNDL_CLI_PATH, args, path);
    int rc = system(cmd);
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;
    out[n] = 0;
    if (f) fclose(f);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

TEST(inspect_shows_the_network_and_how_it_was_trained)
{
    char model[512], json[512], out[16384];
    snprintf(model, sizeof model, "%s/inspect.nndl", test_tmpdir());
    snprintf(json, sizeof json, "%s/inspect.json", test_tmpdir());
    REQUIRE(nndl(out, sizeof out,
                 "train --sizes 784,20,10 --activation relu --cost log-likelihood --eta 0.1 "
                 "--epochs 2 --train-size 1000 --seed 7 --save '%s'", model) == 0);
    int correct = -1;
    const char *last = strstr(out, "Epoch 1: ");
    REQUIRE(last && sscanf(last, "Epoch 1: %d", &correct) == 1);

    REQUIRE(nndl(out, sizeof out, "inspect '%s'", model) == 0);
    CHECK(strstr(out, "nndl model, format version 2"));
    CHECK(strstr(out, "sizes           [784, 20, 10]\n"));
    CHECK(strstr(out, "cost            log-likelihood\n"));
    CHECK(strstr(out, "layer 1: 20 relu neurons\n"));
    CHECK(strstr(out, "layer 2: 10 softmax neurons (output)\n"));
    CHECK(strstr(out, "initialization  scaled"));
    CHECK(strstr(out, "seed            7\n"));
    CHECK(strstr(out, "parameters      15,910 (w1 20x784, b1 20, w2 10x20, b2 10)\n"));
    CHECK(strstr(out, "epochs run      2, weights of the last epoch\n"));
    char accuracy[128];
    snprintf(accuracy, sizeof accuracy, "last  %d / 10000 (%.2f%%) after epoch 1 on test data",
             correct, correct / 100.0);
    CHECK(strstr(out, accuracy));
    CHECK(strstr(out, "  eta                  0.1\n") && strstr(out, "  train_size           1000\n"));
    CHECK(strstr(out, "saved           20") && strstr(out, " by nndl " NNDL_VERSION));

    /* --json: everything, as JSON */
    REQUIRE(nndl(out, sizeof out, "inspect --json '%s'", model) == 0);
    cJSON *o = cJSON_Parse(out);
    REQUIRE(o);
    const cJSON *meta = cJSON_GetObjectItem(o, "metadata");
    const cJSON *eval = cJSON_GetObjectItem(meta, "evaluation");
    const cJSON *settings = cJSON_GetObjectItem(meta, "settings");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "parameters")) == 15910);
    CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "format")), "nndl") == 0);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "version")) == 2);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(eval, "last"),
                                                   "correct")) == correct);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(meta, "epochs_run")) == 2);
    CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(settings, "cost")),
                 "log-likelihood") == 0);
    cJSON_Delete(o);

    /* export to nndl keeps the metadata; JSON models have none */
    char copy[512];
    snprintf(copy, sizeof copy, "%s/inspect-copy.nndl", test_tmpdir());
    REQUIRE(nndl(out, sizeof out, "export '%s' -o '%s'", model, copy) == 0);
    REQUIRE(nndl(out, sizeof out, "inspect '%s'", copy) == 0);
    CHECK(strstr(out, accuracy));
    REQUIRE(nndl(out, sizeof out, "export '%s' -o '%s'", model, json) == 0);
    REQUIRE(nndl(out, sizeof out, "inspect '%s'", json) == 0);
    CHECK(strstr(out, "JSON model (network2.py's format)"));
    CHECK(strstr(out, "layer 1: 20 relu neurons\n"));
    CHECK(strstr(out, "seed            ") && !strstr(out, "not recorded"));
    CHECK(strstr(out, "metadata        none"));
    REQUIRE(nndl(out, sizeof out, "inspect --json '%s'", json) == 0);
    CHECK(strstr(out, "\"metadata\":\tnull"));

    /* a file of network2.py itself records no initialization or seed */
    char plain[512];
    snprintf(plain, sizeof plain, "%s/inspect-network2.json", test_tmpdir());
    FILE *f = fopen(plain, "w");
    REQUIRE(f);
    fputs("{\"sizes\": [2, 1], \"weights\": [[[0.5, -0.5]]], \"biases\": [[[0.1]]], "
          "\"cost\": \"QuadraticCost\"}", f);
    fclose(f);
    REQUIRE(nndl(out, sizeof out, "inspect '%s'", plain) == 0);
    CHECK(strstr(out, "initialization  not recorded") && strstr(out, "seed            not recorded"));
    REQUIRE(nndl(out, sizeof out, "inspect --json '%s'", plain) == 0);
    CHECK(strstr(out, "\"init\":\tnull") && strstr(out, "\"seed\":\tnull"));
}

TEST(inspect_errors)
{
    char out[1024], path[512];
    snprintf(path, sizeof path, "%s/not-a-model.nndl", test_tmpdir());
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs("hello\n", f);
    fclose(f);
    CHECK(nndl(out, sizeof out, "inspect '%s'", path) == 1 && out[0] == 0);
    CHECK(nndl(out, sizeof out, "inspect") == 2);
    CHECK(nndl(out, sizeof out, "inspect --help") == 0 && strstr(out, "--json"));
}

TEST(inspect_escapes_control_characters_in_metadata)
{
    /* metadata another writer put there, with terminal escapes (ESC, and
     * CSI as the C1 control U+009B), a newline and a tab, in values and
     * in a key: printed escaped, so that the terminal shows them instead
     * of obeying them */
    char model[512], out[16384];
    snprintf(model, sizeof model, "%s/escapes.nndl", test_tmpdir());
    int sizes[] = {4, 3};
    nndl_net_spec spec = nndl_net_spec_default(2, sizes);
    nndl_error err;
    nndl_net *net = nndl_net_create(&spec, &err);
    REQUIRE(net);
    static const char meta[] =
        "{\"saved\": \"\\u001b]0;owned\\u0007\", \"nndl\": \"1\\u009b2J\", "
        "\"weights\": \"x\", \"epochs_run\": 1, "
        "\"settings\": {\"eta\": \"\\u001b[31mred\\u001b[0m\", \"line\\nbreak\": \"a\\tb\"}, "
        "\"note\": [\"\\u001b[2J\", \"\\u007f\"]}";
    REQUIRE(model_save_with_meta(net, model, meta, &err) == NNDL_OK);
    nndl_net_free(net);
    REQUIRE(nndl(out, sizeof out, "inspect '%s'", model) == 0);
    for (const char *p = out; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c < 0x20 && c != '\n') || c == 0x7f || (c == 0xc2 && (unsigned char)p[1] >= 0x80 &&
                                                     (unsigned char)p[1] <= 0x9f)) {
            test_fail(__FILE__, __LINE__, "a control character 0x%02x at byte %zu", c,
                      (size_t)(p - out));
            break;
        }
    }
    CHECK(strstr(out, "saved           \\x1b]0;owned\\x07 by nndl 1\\u009b2J\n"));
    CHECK(strstr(out, "  eta                  \\x1b[31mred\\x1b[0m\n"));
    CHECK(strstr(out, "  line\\nbreak          a\\tb\n"));
    CHECK(strstr(out, "  note                 \\x1b[2J, \\x7f\n"));
}
