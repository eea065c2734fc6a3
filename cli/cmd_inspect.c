/* nndl inspect: what a model file holds - the network (sizes, cost, each
 * layer's activation, initialization, seed, parameter count), the file's
 * format, and the metadata `nndl train --save` records (settings, accuracy,
 * date). With --json, all of it as one JSON object. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "layer_spec.h"
#include "commands.h"
#include "common/byteio.h"
#include "common/file.h"
#include "common/json_strict.h"
#include "history.h"
#include "model/model_file.h"
#include "train_run.h"

/* What the first bytes of the file say: "nndl" with its version, or
 * "json" (version 0) for network2.py's format. */
typedef struct file_kind {
    const char *format;
    unsigned version;
    long long bytes; /* -1 if unknown */
    int has_nndl_key; /* JSON: whether nndl's own key (kinds, seed) is there */
} file_kind;

static file_kind file_kind_of(const char *path)
{
    file_kind k = {"json", 0, -1, 0};
    uint64_t size;
    uint8_t head[12] = {0};
    FILE *f;
    /* a file that cannot be read is left to the loader to report */
    if (file_open_read(path, "file", NNDL_ERR_IO, &f, &size, NULL) != NNDL_OK) return k;
    k.bytes = (long long)size;
    if (fread(head, 1, sizeof head, f) == sizeof head && memcmp(head, "NNDLMODL", 8) == 0) {
        k.format = "nndl";
        k.version = read_u32_le(head + 8);
    } else if (memcmp(head, "NNDLCKPT", 8) == 0) {
        k.format = "checkpoint";
        k.version = read_u32_le(head + 8);
    }
    fclose(f);
    if (strcmp(k.format, "json") == 0 && k.bytes >= 0 && k.bytes < (64 << 20)) {
        /* its top-level keys, from a scan that builds no tree (the loader
         * checks the file itself) */
        FILE *j = NULL;
        file_open_read(path, "file", NNDL_ERR_IO, &j, NULL, NULL);
        char *text = j ? malloc((size_t)k.bytes + 1) : NULL;
        size_t n = text ? fread(text, 1, (size_t)k.bytes, j) : 0;
        json_scan scan;
        json_scan_text(text, n, &scan);
        const struct json_member *m = json_scan_member(&scan, "nndl");
        k.has_nndl_key = m && m->offset < n && text[m->offset] == '{';
        free(text);
        if (j) fclose(j);
    }
    return k;
}

/* 23860 -> "23,860" */
static const char *with_commas(unsigned long long v, char *buf, size_t cap)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", v), o = 0;
    for (int i = 0; i < n && (size_t)o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = 0;
    return buf;
}

/* ---- --json --------------------------------------------------------------- */

static cJSON *network_json(const char *path, const nndl_net *net, file_kind k)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", path);
    cJSON_AddStringToObject(o, "format", k.format);
    if (k.version) cJSON_AddNumberToObject(o, "version", k.version);
    if (k.bytes >= 0) cJSON_AddNumberToObject(o, "bytes", (double)k.bytes);
    int n = nndl_net_n_sizes(net);
    cJSON *sizes = cJSON_AddArrayToObject(o, "sizes");
    for (int l = 0; l < n; l++) cJSON_AddItemToArray(sizes, cJSON_CreateNumber(nndl_net_size(net, l)));
    cJSON_AddStringToObject(o, "cost", nndl_cost_name(nndl_net_cost(net)));
    cJSON *acts = cJSON_AddArrayToObject(o, "activations");
    for (int l = 1; l < n; l++)
        cJSON_AddItemToArray(acts, cJSON_CreateString(nndl_activation_name(nndl_net_activation(net, l))));
    if (strcmp(k.format, "json") == 0 && !k.has_nndl_key) {
        /* network2.py records neither */
        cJSON_AddNullToObject(o, "init");
        cJSON_AddNullToObject(o, "seed");
    } else {
        cJSON_AddStringToObject(o, "init", nndl_init_name(nndl_net_init(net)));
        char seed[32];
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)nndl_net_seed(net));
        cJSON_AddStringToObject(o, "seed", seed); /* a string: JSON numbers lose 64-bit values */
    }
    cJSON_AddNumberToObject(o, "parameters", (double)nndl_net_param_count(net));
    cJSON *layers = cJSON_AddArrayToObject(o, "layers");
    for (int l = 1; l < n; l++) {
        nndl_layer_info info;
        if (nndl_net_layer(net, l, &info, NULL) != NNDL_OK) break;
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "kind", nndl_layer_kind_name(info.spec.kind));
        const nndl_shape *shapes[2] = {&info.in, &info.out};
        for (int i = 0; i < 2; i++) {
            cJSON *shape = cJSON_AddArrayToObject(item, i ? "output" : "input");
            cJSON_AddItemToArray(shape, cJSON_CreateNumber(shapes[i]->channels));
            cJSON_AddItemToArray(shape, cJSON_CreateNumber(shapes[i]->height));
            cJSON_AddItemToArray(shape, cJSON_CreateNumber(shapes[i]->width));
        }
        if (info.spec.kind != NNDL_LAYER_POOL)
            cJSON_AddNumberToObject(item, info.spec.kind == NNDL_LAYER_CONV ? "maps" : "neurons",
                                    info.spec.size);
        if (info.spec.kind == NNDL_LAYER_CONV)
            cJSON_AddNumberToObject(item, "kernel", info.spec.kernel);
        if (info.spec.kind != NNDL_LAYER_FC) cJSON_AddNumberToObject(item, "pool", info.spec.pool);
        cJSON_AddStringToObject(item, "activation", nndl_activation_name(info.spec.act));
        if (info.spec.dropout > 0) {
            char p[32]; /* the float's shortest decimal, not its double expansion */
            snprintf(p, sizeof p, "%.6g", (double)info.spec.dropout);
            cJSON_AddNumberToObject(item, "dropout", strtod(p, NULL));
        }
        cJSON_AddNumberToObject(item, "parameters", (double)info.params);
        cJSON_AddItemToArray(layers, item);
    }
    return o;
}

static int print_json(const char *path, const nndl_net *net, file_kind k, const char *meta)
{
    cJSON *o = network_json(path, net, k);
    if (meta) {
        cJSON *m = cJSON_Parse(meta);
        /* metadata that is not JSON is shown as the text it is */
        cJSON_AddItemToObject(o, "metadata", m ? m : cJSON_CreateString(meta));
    } else {
        cJSON_AddNullToObject(o, "metadata");
    }
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) {
        cli_error("inspect", "out of memory");
        return 1;
    }
    printf("%s\n", text);
    free(text);
    return 0;
}

/* ---- Text ----------------------------------------------------------------- */

/* One row per layer: what it is, its input and output shapes, its
 * activation and parameters. */
static void print_layers(const nndl_net *net)
{
    for (int l = 1; l < nndl_net_n_sizes(net); l++) {
        nndl_layer_info info;
        if (nndl_net_layer(net, l, &info, NULL) != NNDL_OK) return;
        const nndl_layer_spec *s = &info.spec;
        char what[96], in[48], out[48], drop[32] = "", num[48];
        if (s->kind == NNDL_LAYER_CONV && s->pool > 1)
            snprintf(what, sizeof what, "conv %d maps %dx%d, max-pool %d", s->size, s->kernel,
                     s->kernel, s->pool);
        else if (s->kind == NNDL_LAYER_CONV)
            snprintf(what, sizeof what, "conv %d maps %dx%d", s->size, s->kernel, s->kernel);
        else if (s->kind == NNDL_LAYER_POOL)
            snprintf(what, sizeof what, "max-pool %d", s->pool);
        else
            snprintf(what, sizeof what, "fc %d%s", s->size, l + 1 == nndl_net_n_sizes(net)
                                                                ? " (output)" : "");
        if (s->dropout > 0) snprintf(drop, sizeof drop, ", inputs dropped %.6g", (double)s->dropout);
        shape_format(info.in, in, sizeof in);
        shape_format(info.out, out, sizeof out);
        printf("%-15s %-32s %9s -> %-9s %-8s %s parameters%s\n", l == 1 ? "layers" : "",
               what, in, out, nndl_activation_name(s->act),
               with_commas((unsigned long long)info.params, num, sizeof num), drop);
    }
}

static void print_network(const char *path, const nndl_net *net, file_kind k)
{
    char num[48];
    printf("file            %s: ", path);
    if (strcmp(k.format, "nndl") == 0)
        printf("nndl model, format version %u", k.version);
    else if (strcmp(k.format, "checkpoint") == 0)
        printf("nndl checkpoint of a training run, version %u", k.version);
    else
        printf("JSON model (network2.py's format)");
    if (k.bytes >= 0) printf(", %s bytes", with_commas((unsigned long long)k.bytes, num, sizeof num));
    int n = nndl_net_n_sizes(net);
    printf("\n");
    if (nndl_net_is_dense(net)) { /* a network of sizes; others show their layers below */
        printf("sizes           [");
        for (int l = 0; l < n; l++) printf("%s%d", l ? ", " : "", nndl_net_size(net, l));
        printf("]\n");
    }
    printf("cost            %s\n", nndl_cost_name(nndl_net_cost(net)));
    if (nndl_net_is_dense(net))
        for (int l = 1; l < n; l++)
            printf("%-15s layer %d: %d %s neurons%s\n", l == 1 ? "activations" : "", l,
                   nndl_net_size(net, l), nndl_activation_name(nndl_net_activation(net, l)),
                   l == n - 1 ? " (output)" : "");
    nndl_init init = nndl_net_init(net);
    if (strcmp(k.format, "json") == 0 && !k.has_nndl_key) {
        /* network2.py records neither: say so rather than print defaults */
        printf("initialization  not recorded (network2.py's default: weights N(0, 1/n_in))\n");
        printf("seed            not recorded\n");
    } else {
        printf("initialization  %s (%s)\n", nndl_init_name(init),
               init == NNDL_INIT_LARGE      ? "weights and biases N(0, 1)"
               : init == NNDL_INIT_NETWORK3 ? "network3.py's: weights N(0, 1/n_out), biases "
                                              "N(0, 1), softmax output at 0"
               : init == NNDL_INIT_HE       ? "weights N(0, 2/n_in), biases 0"
                                            : "weights N(0, 1/n_in), biases N(0, 1)");
        printf("seed            %llu\n", (unsigned long long)nndl_net_seed(net));
    }
    printf("parameters      %s (",
           with_commas((unsigned long long)nndl_net_param_count(net), num, sizeof num));
    for (int l = 1, first = 1; l < n; l++) {
        nndl_layer_info info;
        if (nndl_net_layer(net, l, &info, NULL) != NNDL_OK || !info.params) continue;
        if (info.spec.kind == NNDL_LAYER_CONV)
            printf("%sw%d %dx%dx%dx%d, b%d %d", first ? "" : ", ", l, info.spec.size,
                   info.spec.kernel, info.spec.kernel, info.in.channels, l, info.spec.size);
        else
            printf("%sw%d %dx%d, b%d %d", first ? "" : ", ", l, nndl_net_size(net, l),
                   nndl_net_size(net, l - 1), l, nndl_net_size(net, l));
        first = 0;
    }
    printf(")\n");
    print_layers(net);
}

/* A JSON value on one line: strings bare, arrays as "a, b, c". */
/* Prints text from a file with its control characters escaped (\n, \t,
 * \x1b, and \u009b for a C1 control in UTF-8), so that a terminal shows
 * them rather than obeys them; returns the characters printed. */
static int print_text(const char *s)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n' || *p == '\t' || *p == '\r') {
            n += printf("\\%c", *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r');
        } else if (*p < 0x20 || *p == 0x7f) {
            n += printf("\\x%02x", *p);
        } else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            n += printf("\\u%04x", p[1]);
            p++;
        } else {
            putchar(*p);
            n++;
        }
    }
    return n;
}

/* A key of the metadata, escaped, in a column of `width`. */
static void print_key(const char *key, int width)
{
    int n = print_text(key);
    printf("%*s", n < width ? width - n : 0, "");
}

static void print_value(const cJSON *v)
{
    if (cJSON_IsString(v)) {
        print_text(v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        printf("%.10g", v->valuedouble);
    } else if (cJSON_IsArray(v)) {
        const cJSON *item;
        int first = 1;
        cJSON_ArrayForEach(item, v)
        {
            printf("%s", first ? "" : ", ");
            print_value(item);
            first = 0;
        }
        if (first) printf("(none)");
    } else {
        char *text = cJSON_PrintUnformatted(v);
        printf("%s", text ? text : "?");
        free(text);
    }
}

/* "9470 / 10000 (94.70%) after epoch 2" */
static void print_accuracy(const cJSON *a, double total)
{
    const cJSON *correct = cJSON_GetObjectItemCaseSensitive(a, "correct");
    const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(a, "epoch");
    if (!cJSON_IsNumber(correct)) return;
    printf("%.0f / %.0f (%.2f%%)", correct->valuedouble, total,
           total > 0 ? 100 * correct->valuedouble / total : 0.0);
    if (cJSON_IsNumber(epoch)) printf(" after epoch %d", epoch->valueint);
}

/* What the model was trained on:
 *   data            MNIST: 60000 training images of 28x28 pixels, 10 classes (the last
 *                   10000 for validation)
 *                   fingerprint 3f2a...
 * with a line of class names when the data has them. */
static void print_data(const cJSON *d)
{
    if (!cJSON_IsObject(d)) return;
    const cJSON *source = cJSON_GetObjectItemCaseSensitive(d, "source");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(d, "shape");
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(d, "classes");
    const cJSON *images = cJSON_GetObjectItemCaseSensitive(d, "training_images");
    const cJSON *held = cJSON_GetObjectItemCaseSensitive(d, "validation_images");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(d, "class_names");
    const cJSON *fingerprint = cJSON_GetObjectItemCaseSensitive(d, "fingerprint");
    printf("data            ");
    print_text(cJSON_IsString(source) ? source->valuestring : "?");
    if (cJSON_IsNumber(images)) printf(": %.0f training images", images->valuedouble);
    if (cJSON_GetArraySize(shape) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(shape, 0)) &&
        cJSON_IsNumber(cJSON_GetArrayItem(shape, 1)))
        printf(" of %dx%d pixels", cJSON_GetArrayItem(shape, 0)->valueint,
               cJSON_GetArrayItem(shape, 1)->valueint);
    if (cJSON_IsNumber(classes)) printf(", %d classes", classes->valueint);
    if (cJSON_IsNumber(held)) printf(" (the last %.0f for validation)", held->valuedouble);
    printf("\n");
    if (cJSON_IsArray(names)) {
        printf("classes         ");
        print_value(names);
        printf("\n");
    }
    if (cJSON_IsString(fingerprint)) {
        printf("fingerprint     ");
        print_text(fingerprint->valuestring);
        printf(" (SHA-256 of the training images and labels)\n");
    }
}

static void print_metadata(const char *meta)
{
    if (!meta) {
        printf("metadata        none (only models saved by `nndl train --save` record their "
               "training)\n");
        return;
    }
    cJSON *m = cJSON_Parse(meta);
    if (!cJSON_IsObject(m)) {
        char head[201];
        snprintf(head, sizeof head, "%s", meta);
        printf("metadata        %zu bytes, not a JSON object: ", strlen(meta));
        print_text(head);
        printf("\n");
        cJSON_Delete(m);
        return;
    }
    const cJSON *saved = cJSON_GetObjectItemCaseSensitive(m, "saved");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(m, "nndl");
    const cJSON *epochs = cJSON_GetObjectItemCaseSensitive(m, "epochs_run");
    const cJSON *weights = cJSON_GetObjectItemCaseSensitive(m, "weights");
    const cJSON *eval = cJSON_GetObjectItemCaseSensitive(m, "evaluation");
    const cJSON *settings = cJSON_GetObjectItemCaseSensitive(m, "settings");
    if (cJSON_IsString(saved) || cJSON_IsString(version)) {
        printf("saved           ");
        if (cJSON_IsString(saved)) print_text(saved->valuestring);
        if (cJSON_IsString(version)) {
            printf(" by nndl ");
            print_text(version->valuestring);
        }
        printf("\n");
    }
    if (cJSON_IsNumber(epochs)) {
        printf("epochs run      %d", epochs->valueint);
        if (cJSON_IsString(weights)) {
            printf(", weights of the ");
            print_text(weights->valuestring);
        }
        printf("\n");
    }
    if (cJSON_IsObject(eval)) {
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(eval, "data");
        const cJSON *total = cJSON_GetObjectItemCaseSensitive(eval, "total");
        double t = cJSON_IsNumber(total) ? total->valuedouble : 0;
        const char *on = cJSON_IsString(data) ? data->valuestring : "evaluation";
        printf("accuracy        last  ");
        print_accuracy(cJSON_GetObjectItemCaseSensitive(eval, "last"), t);
        printf(" on ");
        print_text(on);
        printf(" data\n                best  ");
        print_accuracy(cJSON_GetObjectItemCaseSensitive(eval, "best"), t);
        printf("\n");
    }
    print_data(cJSON_GetObjectItemCaseSensitive(m, "data"));
    if (cJSON_IsObject(settings)) {
        printf("settings\n");
        const cJSON *item;
        cJSON_ArrayForEach(item, settings)
        {
            printf("  ");
            print_key(item->string, 20);
            printf(" ");
            print_value(item);
            printf("\n");
        }
    }
    /* anything else another writer put there */
    const cJSON *item;
    int other = 0;
    cJSON_ArrayForEach(item, m)
    {
        static const char *const known[] = {"saved",      "nndl",     "epochs_run", "weights",
                                            "evaluation", "settings", "data"};
        int is_known = 0;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            is_known |= strcmp(item->string, known[i]) == 0;
        if (is_known) continue;
        if (!other++) printf("other metadata\n");
        printf("  ");
        print_key(item->string, 20);
        printf(" ");
        print_value(item);
        printf("\n");
    }
    cJSON_Delete(m);
}

/* A checkpoint's network (rebuilt from the settings its note keeps, with
 * the weights it holds) and, as `meta`, what the note says of the run in
 * the shape of a model's metadata. NULL after printing an error. */
static nndl_net *load_checkpoint(const char *path, char **meta)
{
    train_settings s;
    cJSON *note = NULL;
    if (!checkpoint_settings(path, &s, &note, "inspect")) return NULL;
    float eta;
    nndl_net *net = checkpoint_network(path, &s, &eta, "inspect");
    if (!net) {
        cJSON_Delete(note);
        return NULL;
    }
    int done = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(note, "epochs_done"));
    cJSON *m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "epochs_run", done);
    cJSON_AddStringToObject(m, "weights", "last epoch");
    cJSON_AddItemToObject(m, "settings", history_settings_json(&s));
    cJSON *c = cJSON_AddObjectToObject(m, "checkpoint");
    cJSON_AddNumberToObject(c, "epochs_done", done);
    cJSON_AddNumberToObject(c, "epochs", s.epochs);
    cJSON_AddNumberToObject(c, "eta_now", eta);
    char resume[4200];
    snprintf(resume, sizeof resume, "nndl train --resume %s", path);
    cJSON_AddStringToObject(c, "continue_with", resume);
    *meta = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    cJSON_Delete(note);
    return net;
}

/* The first convolutional layer's filters as a PNG picture, as the book's
 * figure draws them: one block of kernel x kernel per map (a row of blocks
 * per input channel), darker for a larger weight, on one scale for the
 * whole layer. 1 after printing an error. */
static int write_filters(const nndl_net *net, const char *path)
{
    enum { CELL = 8, GAP = 4, PER_ROW = 10 };
    nndl_layer_info info;
    int l = 1;
    for (; l < nndl_net_n_sizes(net); l++)
        if (nndl_net_layer(net, l, &info, NULL) == NNDL_OK && info.spec.kind == NNDL_LAYER_CONV)
            break;
    if (l == nndl_net_n_sizes(net)) {
        cli_error("inspect", "--filters: the network has no convolutional layer");
        return 1;
    }
    const int maps = info.spec.size, k = info.spec.kernel, channels = info.in.channels;
    const float *w = nndl_net_params_const(net) + info.first_param;
    const size_t n = (size_t)maps * k * k * channels;
    float lo = w[0], hi = w[0];
    for (size_t i = 1; i < n; i++) lo = w[i] < lo ? w[i] : lo, hi = w[i] > hi ? w[i] : hi;
    const int per_row = maps < PER_ROW ? maps : PER_ROW, rows = (maps + per_row - 1) / per_row;
    const int block = k * CELL + GAP;
    const long width = (long)per_row * block + GAP, height = (long)rows * channels * block + GAP;
    if (width * height > 64L << 20) {
        cli_error("inspect", "--filters: %d maps of %dx%d over %d channels make too large a "
                  "picture", maps, k, k, channels);
        return 1;
    }
    uint8_t *px = malloc((size_t)(width * height));
    if (!px) {
        cli_error("inspect", "--filters: out of memory");
        return 1;
    }
    memset(px, 255, (size_t)(width * height));
    for (int f = 0; f < maps; f++)
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < k; y++)
                for (int x = 0; x < k; x++) {
                    float v = w[(((size_t)f * k + y) * k + x) * channels + c];
                    uint8_t g = (uint8_t)(255 - (hi > lo ? 255 * (v - lo) / (hi - lo) : 128));
                    long top = GAP + ((long)(f / per_row) * channels + c) * block + y * CELL;
                    long left = GAP + (long)(f % per_row) * block + x * CELL;
                    for (int dy = 0; dy < CELL; dy++)
                        memset(px + (top + dy) * width + left, g, CELL);
                }
    nndl_error err;
    int status = 0;
    if (nndl_image_save_png(path, px, (int)width, (int)height, &err) != NNDL_OK)
        status = cli_fail("inspect", &err);
    else
        fprintf(stderr, "nndl inspect: wrote %s: the %d filters of layer %d (%dx%d, darker "
                "for larger weights, from %.3g to %.3g)\n", path, maps, l, k, k, (double)lo,
                (double)hi);
    free(px);
    return status;
}

int cmd_inspect(int argc, char **argv)
{
    int json = 0;
    const char *filters = NULL;
    cli_option options[] = {
        {"--json", OPT_FLAG, &json, "", "print everything as one JSON object", 0, 0, NULL},
        {"--filters", OPT_STRING, &filters, "FILE.png",
         "draw the first convolutional layer's filters into a PNG picture", 0, 0, NULL},
    };
    cli_command cmd = {"inspect", "MODEL",
                       "Prints what MODEL (nndl or JSON) holds: sizes, cost, activations,\n"
                       "initialization, seed, parameter count, file format, and the training\n"
                       "settings and accuracy that `nndl train --save` recorded. MODEL may also\n"
                       "be a checkpoint of `nndl train --checkpoint`.",
                       options, 2, 1, 1};
    char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;

    nndl_error err;
    char *meta = NULL;
    file_kind k = file_kind_of(pos[0]);
    nndl_net *net = strcmp(k.format, "checkpoint") == 0
                        ? load_checkpoint(pos[0], &meta)
                        : model_load_with_meta(pos[0], &meta, &err);
    if (!net) return strcmp(k.format, "checkpoint") == 0 ? 1 : cli_fail("inspect", &err);
    int status = 0;
    if (json) {
        status = print_json(pos[0], net, k, meta);
    } else {
        print_network(pos[0], net, k);
        print_metadata(meta);
    }
    if (fflush(stdout) != 0) status = 1;
    if (status == 0 && filters) status = write_filters(net, filters);
    free(meta);
    nndl_net_free(net);
    return status;
}
