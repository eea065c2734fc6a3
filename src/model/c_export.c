/* A network as standalone C source (c_export.h). The generated code is the
 * library's forward pass written out for one network: the same float
 * activation functions (expf, tanhf), softmax with the same max-subtraction
 * and float sums, and the same answer rule. Only the dot products differ:
 * they are summed in double, which agrees with the library's vectorized
 * float sums to a few ulps whatever order those use. */
#include "model/c_export.h"

#include <ctype.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "model/atomic_file.h"
#include "model/model_file.h"
#include "net/network.h"

/* Numbers per line of a weight array. */
enum { VALUES_PER_LINE = 6 };

typedef struct c_export {
    const nndl_net *net;
    const char *name;        /* symbol prefix and file name */
    char upper[C_EXPORT_MAX_NAME + 1]; /* macro prefix */
    char source[256];        /* for the first comment, made comment-safe */
    char point;              /* the locale's decimal point */
} c_export;

static int name_is_identifier(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > C_EXPORT_MAX_NAME) return 0;
    if (!(isalpha((unsigned char)name[0]) || name[0] == '_')) return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)name[i]) || name[i] == '_')) return 0;
    return 1;
}

/* Printable ASCII only, and nothing that could end the comment ("*" + "/")
 * or form a trigraph ("??/"). */
static void comment_safe(char *out, size_t cap, const char *text)
{
    size_t n = 0;
    for (; *text && n + 1 < cap; text++) {
        char c = *text;
        out[n++] = (c < 0x20 || c > 0x7e || c == '*' || c == '?') ? '_' : c;
    }
    out[n] = 0;
}

static char locale_decimal_point(void)
{
    const char *point = localeconv()->decimal_point;
    return point && point[0] && !point[1] ? point[0] : '.';
}

/* x as a float literal that reads back to the same float: %.9g, with ".0"
 * added to integral values (so "-0.0f" keeps its sign) and the suffix f. */
static void format_float(char *buf, size_t cap, float x, char point)
{
    snprintf(buf, cap, "%.9g", (double)x);
    if (point != '.') {
        char *p = strchr(buf, point);
        if (p) *p = '.';
    }
    if (!strpbrk(buf, ".e")) strncat(buf, ".0", cap - strlen(buf) - 1);
    strncat(buf, "f", cap - strlen(buf) - 1);
}

/* fprintf that reports failure as -1 (errno set by the failed write). */
__attribute__((format(printf, 2, 3))) static int emit(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(f, fmt, ap);
    va_end(ap);
    return n < 0 ? -1 : 0;
}

static int uses_activation(const nndl_net *net, nndl_activation act)
{
    for (int l = 0; l < net->n_layers; l++)
        if (net->layers[l].act == act) return 1;
    return 0;
}

static int uses_kind(const nndl_net *net, layer_kind kind)
{
    for (int l = 0; l < net->n_layers; l++)
        if (net->layers[l].kind == kind) return 1;
    return 0;
}

static int n_outputs(const nndl_net *net) { return net->sizes[net->n_sizes - 1]; }

/* "784 inputs -> 30 sigmoid -> 10 softmax"; a layer with a shape as
 * "20x12x12 relu (conv 5x5, max-pool 2)" */
static int emit_shape(FILE *f, const nndl_net *net)
{
    if (net->input.height == 1 && net->input.width == 1 ? emit(f, "%d inputs", net->sizes[0])
                                                        : emit(f, "%dx%dx%d inputs",
                                                               net->input.channels,
                                                               net->input.height,
                                                               net->input.width))
        return -1;
    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        int st = 0;
        if (ly->kind == LAYER_DENSE)
            st = emit(f, " -> %d %s", ly->n_out, nndl_activation_name(ly->act));
        else if (ly->kind == LAYER_POOL)
            st = emit(f, " -> %dx%dx%d (max-pool %d)", ly->out.channels, ly->out.height,
                      ly->out.width, ly->spec.pool);
        else if (ly->spec.pool > 1)
            st = emit(f, " -> %dx%dx%d %s (conv %dx%d, max-pool %d)", ly->out.channels,
                      ly->out.height, ly->out.width, nndl_activation_name(ly->act),
                      ly->spec.kernel, ly->spec.kernel, ly->spec.pool);
        else
            st = emit(f, " -> %dx%dx%d %s (conv %dx%d)", ly->out.channels, ly->out.height,
                      ly->out.width, nndl_activation_name(ly->act), ly->spec.kernel,
                      ly->spec.kernel);
        if (st) return -1;
    }
    return 0;
}

static int write_header(FILE *f, const void *ctx)
{
    const c_export *c = ctx;
    const nndl_net *net = c->net;
    const char *N = c->name, *U = c->upper;
    int n_out = n_outputs(net);
    size_t stack = 0;
    for (int l = 0; l + 1 < net->n_layers; l++) stack += (size_t)net->layers[l].n_out * 4;
    if (emit(f, "/* %s.h - a network exported by nndl %s.\n", N, NNDL_VERSION) ||
        (c->source[0] && emit(f, " * From %s.\n", c->source)) ||
        emit(f, " * Standalone C99: compile %s.c with it and link with -lm.\n *\n * Layers: ",
             N) ||
        emit_shape(f, net) ||
        emit(f, ".\n * Cost %s, initialization %s, seed %llu; %zu weights and biases.\n",
             nndl_cost_name(net->cost), nndl_init_name(net->init),
             (unsigned long long)net->seed, net->n_params) ||
        emit(f, " *\n * %s_predict feeds `input` (%d values; for MNIST the pixels row by\n"
                " * row, each byte scaled to [0, 1] as byte * (1.0f / 255.0f)) forward,\n"
                " * writes the %d output activations to `output` and returns the answer:\n",
             N, net->sizes[0], n_out) ||
        emit(f, "%s", n_out > 1 ? " * the most active output neuron, the first one on ties.\n"
                                : " * 1 if the output neuron's activation is at least 0.5, "
                                  "else 0.\n") ||
        emit(f, " * It uses %zu bytes of stack and no other memory; it is reentrant. */\n",
             stack) ||
        emit(f, "#ifndef %s_H\n#define %s_H\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
             U, U) ||
        emit(f, "#define %s_INPUTS %d\n#define %s_OUTPUTS %d\n#define %s_N_SIZES %d\n", U,
             net->sizes[0], U, n_out, U, net->n_sizes) ||
        emit(f, "/* The inputs' shape; they are stored row by row, a position's channels\n"
                " * together. */\n#define %s_CHANNELS %d\n#define %s_HEIGHT %d\n"
                "#define %s_WIDTH %d\n\n", U, net->input.channels, U, net->input.height, U,
             net->input.width) ||
        emit(f, "/* Activations per layer, the inputs first. */\n"
                "extern const int %s_sizes[%s_N_SIZES];\n\n", N, U) ||
        emit(f, "int %s_predict(const float input[%d], float output[%d]);\n\n", N,
             net->sizes[0], n_out) ||
        emit(f, "#ifdef __cplusplus\n}\n#endif\n\n#endif\n"))
        return -1;
    return 0;
}

/* static const float NAME[count] = { ... }; */
static int write_array(FILE *f, const char *name, const char *count, const float *v, size_t n,
                       char point)
{
    char num[48];
    if (emit(f, "static const float %s[%s] = {", name, count)) return -1;
    for (size_t i = 0; i < n; i++) {
        format_float(num, sizeof num, v[i], point);
        if (emit(f, "%s%s", i % VALUES_PER_LINE ? " " : "\n    ", num)) return -1;
        if (i + 1 < n && emit(f, ",")) return -1;
    }
    return emit(f, "\n};\n");
}

static const char dense_code[] =
    "/* z = w a + b (eq. 25) for a layer of n_out neurons; row j of w holds the\n"
    " * weights into neuron j. Each dot product is summed in double and rounded\n"
    " * to float once, then the bias is added in float. */\n"
    "static void dense(float *out, const float *in, const float *w, const float *b,\n"
    "                  int n_in, int n_out)\n"
    "{\n"
    "    for (int j = 0; j < n_out; j++) {\n"
    "        const float *wj = w + (size_t)j * (size_t)n_in;\n"
    "        double z = 0;\n"
    "        for (int k = 0; k < n_in; k++) z += (double)wj[k] * (double)in[k];\n"
    "        out[j] = (float)z + b[j];\n"
    "    }\n"
    "}\n";

static const char conv_code[] =
    "/* Feature maps (eq. 125): at each output position, each map's k x k\n"
    " * filter over every input channel, plus the map's bias; with pool > 1,\n"
    " * the largest of each pool x pool block of those (network3.py's\n"
    " * max-pooling: a map's bias is the same at every position, so adding it\n"
    " * first changes nothing). Activations are stored row by row, a position's\n"
    " * channels together; a filter is k rows of k x channels weights. */\n"
    "static void conv(float *out, const float *in, const float *w, const float *b,\n"
    "                 int height, int width, int channels, int maps, int k, int pool)\n"
    "{\n"
    "    int oh = (height - k + 1) / pool, ow = (width - k + 1) / pool, run = k * channels;\n"
    "    for (int py = 0; py < oh; py++)\n"
    "        for (int px = 0; px < ow; px++)\n"
    "            for (int f = 0; f < maps; f++) {\n"
    "                float best = 0;\n"
    "                for (int dy = 0; dy < pool; dy++)\n"
    "                    for (int dx = 0; dx < pool; dx++) {\n"
    "                        int y = py * pool + dy, x = px * pool + dx;\n"
    "                        double z = 0;\n"
    "                        for (int i = 0; i < k; i++) {\n"
    "                            const float *wi = w + ((size_t)f * k + i) * run;\n"
    "                            const float *ai = in + ((size_t)(y + i) * width + x) * channels;\n"
    "                            for (int j = 0; j < run; j++) z += (double)wi[j] * (double)ai[j];\n"
    "                        }\n"
    "                        float zf = (float)z + b[f];\n"
    "                        if ((dy == 0 && dx == 0) || zf > best) best = zf;\n"
    "                    }\n"
    "                out[((size_t)py * ow + px) * maps + f] = best;\n"
    "            }\n"
    "}\n";

static const char maxpool_code[] =
    "/* The largest value of each pool x pool block of each channel. */\n"
    "static void maxpool(float *out, const float *in, int height, int width, int channels,\n"
    "                    int pool)\n"
    "{\n"
    "    int oh = height / pool, ow = width / pool;\n"
    "    for (int py = 0; py < oh; py++)\n"
    "        for (int px = 0; px < ow; px++)\n"
    "            for (int c = 0; c < channels; c++) {\n"
    "                float best = in[((size_t)py * pool * width + (size_t)px * pool) * channels + c];\n"
    "                for (int dy = 0; dy < pool; dy++)\n"
    "                    for (int dx = 0; dx < pool; dx++) {\n"
    "                        float v = in[(((size_t)py * pool + dy) * width + (size_t)px * pool + dx) *\n"
    "                                     channels + c];\n"
    "                        if (v > best) best = v;\n"
    "                    }\n"
    "                out[((size_t)py * ow + px) * channels + c] = best;\n"
    "            }\n"
    "}\n";

static const char *const activation_code[NNDL_ACT_COUNT] = {
    [NNDL_ACT_SIGMOID] =
        "/* sigma(z) = 1 / (1 + e^-z) (eq. 3) */\n"
        "static void sigmoid(float *a, int n)\n"
        "{\n"
        "    for (int i = 0; i < n; i++) a[i] = 1.0f / (1.0f + expf(-a[i]));\n"
        "}\n",
    [NNDL_ACT_TANH] =
        "/* tanh z (eq. 109) */\n"
        "static void tanh_layer(float *a, int n)\n"
        "{\n"
        "    for (int i = 0; i < n; i++) a[i] = tanhf(a[i]);\n"
        "}\n",
    [NNDL_ACT_RELU] =
        "/* max(0, z) (eq. 112) */\n"
        "static void relu(float *a, int n)\n"
        "{\n"
        "    for (int i = 0; i < n; i++) a[i] = a[i] > 0 ? a[i] : 0.0f;\n"
        "}\n",
    [NNDL_ACT_SOFTMAX] =
        "/* e^z_j / sum_k e^z_k (eq. 78), each z minus the largest first so that\n"
        " * exp never overflows. */\n"
        "static void softmax(float *a, int n)\n"
        "{\n"
        "    float largest = a[0], sum = 0;\n"
        "    for (int j = 1; j < n; j++)\n"
        "        if (a[j] > largest) largest = a[j];\n"
        "    for (int j = 0; j < n; j++) {\n"
        "        a[j] = expf(a[j] - largest);\n"
        "        sum += a[j];\n"
        "    }\n"
        "    for (int j = 0; j < n; j++) a[j] /= sum;\n"
        "}\n",
};

static const char *const activation_function[NNDL_ACT_COUNT] = {
    [NNDL_ACT_SIGMOID] = "sigmoid",
    [NNDL_ACT_TANH] = "tanh_layer",
    [NNDL_ACT_RELU] = "relu",
    [NNDL_ACT_SOFTMAX] = "softmax",
};

static int write_source(FILE *f, const void *ctx)
{
    const c_export *c = ctx;
    const nndl_net *net = c->net;
    const char *N = c->name, *U = c->upper;
    int n_out = n_outputs(net);
    if (emit(f, "/* %s.c - generated by nndl %s; see %s.h. Do not edit: export the\n"
                " * model again instead. */\n#include \"%s.h\"\n\n#include <math.h>\n"
                "#include <stddef.h>\n\nconst int %s_sizes[%s_N_SIZES] = {",
             N, NNDL_VERSION, N, N, N, U))
        return -1;
    for (int i = 0; i < net->n_sizes; i++)
        if (emit(f, "%s%d", i ? ", " : "", net->sizes[i])) return -1;
    if (emit(f, "};\n")) return -1;

    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        char name[16], count[48];
        if (ly->kind == LAYER_POOL) {
            if (emit(f, "\n/* Layer %d: max-pool %d, %dx%dx%d. */\n", l + 1, ly->spec.pool,
                     ly->out.channels, ly->out.height, ly->out.width))
                return -1;
            continue;
        }
        int st = ly->kind == LAYER_CONV
                     ? emit(f, "\n/* Layer %d: %d %s feature maps of %dx%d%s. w%d is %d filters "
                               "of %d x %d x %d. */\n",
                            l + 1, ly->spec.size, nndl_activation_name(ly->act), ly->out.height,
                            ly->out.width, ly->spec.pool > 1 ? " after max-pooling" : "", l + 1,
                            ly->spec.size, ly->spec.kernel, ly->spec.kernel, ly->in.channels)
                     : emit(f, "\n/* Layer %d: %d %s neurons%s. w%d is %d x %d, row j = the "
                               "weights into neuron j. */\n",
                            l + 1, ly->n_out, nndl_activation_name(ly->act),
                            l + 1 == net->n_layers ? " (output)" : "", l + 1, ly->n_out,
                            ly->n_in);
        if (st) return -1;
        snprintf(name, sizeof name, "w%d", l + 1);
        snprintf(count, sizeof count, "%zu", ly->n_weights);
        if (write_array(f, name, count, net->params + ly->weights, ly->n_weights, c->point))
            return -1;
        snprintf(name, sizeof name, "b%d", l + 1);
        snprintf(count, sizeof count, "%zu", ly->n_biases);
        if (write_array(f, name, count, net->params + ly->biases, ly->n_biases, c->point))
            return -1;
    }

    /* Only the helpers this network calls: unused static functions would
     * be warnings. */
    if (uses_kind(net, LAYER_DENSE) && emit(f, "\n%s", dense_code)) return -1;
    if (uses_kind(net, LAYER_CONV) && emit(f, "\n%s", conv_code)) return -1;
    if (uses_kind(net, LAYER_POOL) && emit(f, "\n%s", maxpool_code)) return -1;
    for (int act = 0; act < NNDL_ACT_COUNT; act++)
        if (activation_code[act] && uses_activation(net, (nndl_activation)act) &&
            emit(f, "\n%s", activation_code[act]))
            return -1;
    if (n_out > 1 && emit(f, "\n/* The index of the largest value, the first one on ties. */\n"
                             "static int argmax(const float *v, int n)\n{\n"
                             "    int best = 0;\n    for (int i = 1; i < n; i++)\n"
                             "        if (v[i] > v[best]) best = i;\n    return best;\n}\n"))
        return -1;

    if (emit(f, "\nint %s_predict(const float input[%d], float output[%d])\n{\n", N,
             net->sizes[0], n_out))
        return -1;
    for (int l = 0; l + 1 < net->n_layers; l++)
        if (emit(f, "    float a%d[%d];\n", l + 1, net->layers[l].n_out)) return -1;
    for (int l = 0; l < net->n_layers; l++) {
        const layer *ly = &net->layers[l];
        char in[16], out[16];
        snprintf(in, sizeof in, l == 0 ? "input" : "a%d", l);
        snprintf(out, sizeof out, l + 1 == net->n_layers ? "output" : "a%d", l + 1);
        int st = ly->kind == LAYER_DENSE
                     ? emit(f, "    dense(%s, %s, w%d, b%d, %d, %d);\n", out, in, l + 1, l + 1,
                            ly->n_in, ly->n_out)
                 : ly->kind == LAYER_CONV
                     ? emit(f, "    conv(%s, %s, w%d, b%d, %d, %d, %d, %d, %d, %d);\n", out, in,
                            l + 1, l + 1, ly->in.height, ly->in.width, ly->in.channels,
                            ly->spec.size, ly->spec.kernel, ly->spec.pool)
                     : emit(f, "    maxpool(%s, %s, %d, %d, %d, %d);\n", out, in, ly->in.height,
                            ly->in.width, ly->in.channels, ly->spec.pool);
        if (st || (activation_function[ly->act] &&
                   emit(f, "    %s(%s, %d);\n", activation_function[ly->act], out, ly->n_out)))
            return -1;
    }
    if (n_out > 1 ? emit(f, "    return argmax(output, %d);\n}\n", n_out)
                  : emit(f, "    return output[0] >= 0.5f;\n}\n"))
        return -1;
    return 0;
}

nndl_status c_export_write(const nndl_net *net, const char *dir, const char *name,
                           const char *source, nndl_error *err)
{
    if (!name) name = C_EXPORT_DEFAULT_NAME;
    if (!name_is_identifier(name))
        return error_set(err, NNDL_ERR_ARG,
                         "C export: name '%s' is not a C identifier of 1 to %d letters, "
                         "digits and underscores (not starting with a digit)",
                         name, C_EXPORT_MAX_NAME);
    char header[4096], code[4096];
    int nh = snprintf(header, sizeof header, "%s/%s.h", dir, name);
    int nc = snprintf(code, sizeof code, "%s/%s.c", dir, name);
    if (nh < 0 || nc < 0 || (size_t)nh >= sizeof header || (size_t)nc >= sizeof code)
        return error_set(err, NNDL_ERR_ARG, "C export: directory name too long: %s", dir);
    nndl_status st = model_check_finite(net, code, err);
    if (st != NNDL_OK) return st;

    c_export c = {.net = net, .name = name, .point = locale_decimal_point()};
    size_t i = 0;
    for (; name[i]; i++) c.upper[i] = (char)toupper((unsigned char)name[i]);
    c.upper[i] = 0;
    comment_safe(c.source, sizeof c.source, source ? source : "");

    /* Both files are written in full before either replaces its old self:
     * a write that fails (a full disk) leaves the old pair as it was. */
    atomic_file h, s;
    st = atomic_file_prepare(&h, header, "C header", write_header, &c, err);
    if (st != NNDL_OK) return st;
    st = atomic_file_prepare(&s, code, "C source file", write_source, &c, err);
    if (st != NNDL_OK) {
        atomic_file_discard(&h);
        return st;
    }
    st = atomic_file_commit(&h, "C header", err);
    if (st != NNDL_OK) {
        atomic_file_discard(&s);
        return st;
    }
    return atomic_file_commit(&s, "C source file", err);
}
