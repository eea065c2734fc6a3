/* nndl plot: learning curves from --history files, as an SVG picture.
 *
 * Reads the JSON lines of `nndl train --history`, `nndl sweep --history`
 * and `nndl demo slowdown --history` (see history.h and cmd_demo.c): a
 * header line with "settings" (and "run", the label, in sweeps and demos)
 * starts a run; epoch lines carry "epoch" and the measured values. Each run
 * becomes one color; training data is drawn solid and evaluation data
 * dashed. Cost and accuracy each get a panel, one above the other, like
 * the figures of chapter 3. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "common/file.h"
#include "common/json_strict.h"
#include "model/atomic_file.h"
#include "plot_png.h"

enum { MAX_FILES = 64 };

/* Larger values (a diverged run's cost) are left out of the curves: the
 * axes could not hold them beside the others. */
static const double MAX_VALUE = 1e15;

/* ---- Reading histories -------------------------------------------------- */

typedef enum metric { COST = 0, ACCURACY = 1 } metric;
typedef enum data_kind { TRAINING = 0, EVALUATION = 1 } data_kind;

/* The history keys of each (metric, data) pair. */
static const char *const series_keys[2][2] = {
    {"training_cost", "evaluation_cost"},
    {"training_accuracy", "evaluation_accuracy"},
};

typedef struct curve {
    double *x, *y;
    size_t n, cap;
} curve;

typedef struct run {
    char *name;  /* the "run" key, or the file's name */
    char *label; /* in the legend: the name, made unique */
    curve curves[2][2]; /* [metric][data_kind] */
    curve *speeds;      /* "speeds": one curve per layer (chapter 5) */
    int n_speeds;
} run;

typedef struct plot_data {
    run *runs;
    size_t n_runs, cap;
    char eval_name[16]; /* "test", "validation", or "evaluation" if they differ */
} plot_data;

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int curve_add(curve *c, double x, double y)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        double *nx = realloc(c->x, cap * sizeof *nx);
        if (!nx) return 0;
        c->x = nx;
        double *ny = realloc(c->y, cap * sizeof *ny);
        if (!ny) return 0;
        c->y = ny;
        c->cap = cap;
    }
    c->x[c->n] = x;
    c->y[c->n] = y;
    c->n++;
    return 1;
}

static void plot_data_free(plot_data *d)
{
    for (size_t i = 0; i < d->n_runs; i++) {
        free(d->runs[i].name);
        free(d->runs[i].label);
        for (int m = 0; m < 2; m++)
            for (int k = 0; k < 2; k++) {
                free(d->runs[i].curves[m][k].x);
                free(d->runs[i].curves[m][k].y);
            }
        for (int l = 0; l < d->runs[i].n_speeds; l++) {
            free(d->runs[i].speeds[l].x);
            free(d->runs[i].speeds[l].y);
        }
        free(d->runs[i].speeds);
    }
    free(d->runs);
}

/* A new run named `name`, labelled `name (FILE)` when another run has the
 * label already; NULL when memory runs out. */
static run *add_run(plot_data *d, const char *name, const char *path)
{
    if (d->n_runs == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 8;
        run *runs = realloc(d->runs, cap * sizeof *runs);
        if (!runs) return NULL;
        d->runs = runs;
        d->cap = cap;
    }
    int taken = 0;
    for (size_t i = 0; i < d->n_runs; i++) taken |= strcmp(d->runs[i].label, name) == 0;
    size_t len = strlen(name) + (taken ? strlen(base_name(path)) + 3 : 0) + 1;
    char *label = malloc(len), *copy = strdup(name);
    if (!label || !copy) {
        free(label);
        free(copy);
        return NULL;
    }
    snprintf(label, len, taken ? "%s (%s)" : "%s", name, base_name(path));
    run *r = &d->runs[d->n_runs++];
    memset(r, 0, sizeof *r);
    r->name = copy;
    r->label = label;
    return r;
}

/* The run an epoch line belongs to: the one named by its "run" key among
 * this file's runs (demo histories repeat it on every line), else the
 * current one, else a new run named after the file. NULL when memory runs
 * out. */
static run *run_for_line(plot_data *d, size_t file_first, run *current, const cJSON *o,
                         const char *path)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "run");
    if (cJSON_IsString(name)) {
        if (current && strcmp(current->name, name->valuestring) == 0) return current;
        for (size_t i = file_first; i < d->n_runs; i++)
            if (strcmp(d->runs[i].name, name->valuestring) == 0) return &d->runs[i];
        return add_run(d, name->valuestring, path);
    }
    return current ? current : add_run(d, base_name(path), path);
}

/* The "speeds" array of an epoch line (demo vanishing, train --monitor
 * gradient-norms): point `epoch` of each layer's curve. Nulls (layers
 * without parameters) and zeros, which a logarithmic axis cannot show, are
 * left out. 0 when memory runs out. */
static int add_speeds(run *r, const cJSON *speeds, double epoch)
{
    int n = cJSON_GetArraySize(speeds);
    if (n > NNDL_MAX_LAYERS) n = NNDL_MAX_LAYERS;
    if (n > r->n_speeds) {
        curve *more = realloc(r->speeds, (size_t)n * sizeof *more);
        if (!more) return 0;
        memset(more + r->n_speeds, 0, (size_t)(n - r->n_speeds) * sizeof *more);
        r->speeds = more;
        r->n_speeds = n;
    }
    for (int l = 0; l < n; l++) {
        const cJSON *v = cJSON_GetArrayItem(speeds, l);
        if (cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble <= MAX_VALUE &&
            !curve_add(&r->speeds[l], epoch, v->valuedouble))
            return 0;
    }
    return 1;
}

/* Remembers which data the evaluation curves are on ("test" or
 * "validation"), or "evaluation" when runs differ. */
static void note_eval_name(plot_data *d, const cJSON *o)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "evaluation_data");
    if (!cJSON_IsString(name) || (!cJSON_GetObjectItemCaseSensitive(o, "evaluation_cost") &&
                                  !cJSON_GetObjectItemCaseSensitive(o, "evaluation_accuracy")))
        return;
    if (!d->eval_name[0])
        snprintf(d->eval_name, sizeof d->eval_name, "%s", name->valuestring);
    else if (strcmp(d->eval_name, name->valuestring) != 0)
        snprintf(d->eval_name, sizeof d->eval_name, "evaluation");
}

/* Reads one history file into `d`; 0 after printing an error. */
static int read_history(plot_data *d, const char *path)
{
    FILE *f;
    nndl_error err;
    if (file_open_read(path, "history file", NNDL_ERR_IO, &f, NULL, &err) != NNDL_OK)
        return !cli_fail("plot", &err);
    size_t file_first = d->n_runs, line_no = 0, epochs = 0;
    run *current = NULL;
    char *line = NULL;
    size_t line_cap = 0;
    int ok = 1, oom = 0;
    while (ok && getline(&line, &line_cap, f) >= 0) {
        line_no++;
        if (line[strspn(line, " \t\r\n")] == 0) continue; /* blank */
        /* strictly (no key twice, ...), at most a few thousand values a line */
        json_problem problem;
        cJSON *o = json_parse_strict(line, strlen(line), 10000, &problem);
        if (!o && problem.kind != JSON_MALFORMED && problem.kind != JSON_TRAILING) {
            char why[160];
            json_problem_describe(&problem, why, sizeof why);
            cli_error("plot", "%s:%zu: %s", path, line_no, why);
            ok = 0;
        } else if (!cJSON_IsObject(o)) {
            cli_error("plot", "%s:%zu: not a JSON object (is this a --history file?)", path,
                      line_no);
            ok = 0;
        } else if (cJSON_GetObjectItemCaseSensitive(o, "settings")) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "run");
            current = add_run(d, cJSON_IsString(name) ? name->valuestring : base_name(path), path);
            if (!current) ok = 0, oom = 1;
        } else {
            const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(o, "epoch");
            if (epoch && !(cJSON_IsNumber(epoch) && fabs(epoch->valuedouble) <= MAX_VALUE)) {
                cli_error("plot", "%s:%zu: \"epoch\" is not a number", path, line_no);
                ok = 0;
            } else if (epoch) {
                run *r = current = run_for_line(d, file_first, current, o, path);
                if (!r) ok = 0, oom = 1;
                for (int m = 0; ok && m < 2; m++)
                    for (int k = 0; ok && k < 2; k++) {
                        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, series_keys[m][k]);
                        if (!v || cJSON_IsNull(v)) continue;
                        if (!cJSON_IsNumber(v)) {
                            cli_error("plot", "%s:%zu: \"%s\" is not a number", path, line_no,
                                      series_keys[m][k]);
                            ok = 0;
                        } else if (fabs(v->valuedouble) <= MAX_VALUE) { /* not inf, NaN */
                            double y = m == ACCURACY ? 100 * v->valuedouble : v->valuedouble;
                            if (!curve_add(&r->curves[m][k], epoch->valuedouble, y))
                                ok = 0, oom = 1;
                        }
                    }
                const cJSON *speeds = cJSON_GetObjectItemCaseSensitive(o, "speeds");
                if (ok && speeds && !cJSON_IsArray(speeds)) {
                    cli_error("plot", "%s:%zu: \"speeds\" is not a list", path, line_no);
                    ok = 0;
                } else if (ok && speeds && !add_speeds(r, speeds, epoch->valuedouble)) {
                    ok = 0, oom = 1;
                }
                if (ok) {
                    epochs++;
                    note_eval_name(d, o);
                }
            }
        }
        cJSON_Delete(o);
        if (oom) cli_error("plot", "out of memory reading %s", path);
    }
    if (ok && ferror(f)) {
        cli_error("plot", "cannot read %s: %s", path, strerror(errno));
        ok = 0;
    }
    if (ok && epochs == 0) {
        cli_error("plot", "%s: no epochs (a history file holds one JSON line per epoch)", path);
        ok = 0;
    }
    free(line);
    fclose(f);
    return ok;
}

/* ---- Axes ---------------------------------------------------------------- */

typedef struct axis {
    double lo, hi, step;
} axis;

/* 1, 2 or 5 times a power of ten, near range / target. */
static double nice_step(double range, int target)
{
    double rough = range / target;
    double mag = pow(10, floor(log10(rough)));
    double f = rough / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* Values: widened to whole ticks at both ends. */
static axis value_axis(double min, double max)
{
    if (!(max > min)) {
        double d = min != 0 ? fabs(min) * 0.1 : 1;
        min -= d;
        max += d;
    }
    double step = nice_step(max - min, 5);
    return (axis){floor(min / step + 1e-9) * step, ceil(max / step - 1e-9) * step, step};
}

/* Epochs: whole steps, widened to a tick only when that is close by (the
 * demo's curves start at epoch -1, which should not become -50). */
static axis epoch_axis(double min, double max)
{
    if (!(max > min)) max = min + 1;
    double step = nice_step(max - min, 6);
    if (step < 1) step = 1;
    double lo = floor(min / step + 1e-9) * step, hi = ceil(max / step - 1e-9) * step;
    if (min - lo > 0.15 * (max - min)) lo = min;
    if (hi - max > 0.15 * (max - min)) hi = max;
    return (axis){lo, hi, step};
}

/* The ticks of `a`, calling back with each value. */
static int tick_count(const axis *a)
{
    double first = ceil(a->lo / a->step - 1e-9);
    return (int)(floor(a->hi / a->step + 1e-9) - first) + 1;
}

static double tick_value(const axis *a, int i)
{
    double v = (ceil(a->lo / a->step - 1e-9) + i) * a->step;
    return fabs(v) < a->step * 1e-6 ? 0 : v; /* never "-0" */
}

static void format_tick(char *buf, size_t cap, double v, double step)
{
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (step >= 1e6 || decimals > 6)
        snprintf(buf, cap, "%g", v);
    else
        snprintf(buf, cap, "%.*f", decimals, v);
}

/* ---- Writing SVG ------------------------------------------------------- */

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
enum { N_COLORS = sizeof palette / sizeof palette[0] };

enum {
    PANEL_W = 640, PANEL_H = 380, /* one panel, axis labels included */
    PLOT_LEFT = 78, PLOT_RIGHT = 16, PLOT_TOP = 40, PLOT_BOTTOM = 52,
    TITLE_H = 40, LEGEND_ROW = 22, FONT_PX = 13
};

typedef struct plot_job {
    const plot_data *d;
    int speed;               /* --metric speed: a panel per run with speeds */
    int max_layers;          /* the most layers of any run drawn so */
    int panels[2], n_panels; /* metrics drawn, top to bottom */
    int has_data[2];         /* some curve of training / evaluation data is drawn */
    const char *title;
    int width, height, legend_x;
    char why[256];           /* why the PNG could not be drawn */
} plot_job;

static int max_int(int a, int b) { return a > b ? a : b; }

/* Writes `s` with XML's special characters escaped. */
static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
}

static int run_drawn(const plot_job *job, const run *r)
{
    for (int p = 0; p < job->n_panels; p++)
        if (r->curves[job->panels[p]][TRAINING].n || r->curves[job->panels[p]][EVALUATION].n)
            return 1;
    return 0;
}

/* Grid, ticks, frame and axis names of a panel whose plot area is
 * (x0, y0) to (x1, y1). With log_y the values of `ay` are powers of ten:
 * tick v is labelled 10^v. */
static void draw_axes(FILE *f, const axis *pax, const axis *pay, double x0, double x1, double y0,
                      double y1, int log_y, const char *y_name)
{
    const axis ax = *pax, ay = *pay;
#define SX(v) (x0 + ((v) - ax.lo) / (ax.hi - ax.lo) * (x1 - x0))
#define SY(v) (y1 - ((v) - ay.lo) / (ay.hi - ay.lo) * (y1 - y0))
    char label[64];
    fprintf(f, "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n");
    for (int i = 0; i < tick_count(&ay); i++)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0,
                SY(tick_value(&ay, i)), x1, SY(tick_value(&ay, i)));
    fprintf(f, "</g>\n<g font-size=\"%d\" fill=\"#333\">\n", FONT_PX - 1);
    for (int i = 0; i < tick_count(&ay); i++) {
        if (log_y)
            snprintf(label, sizeof label, "%g", pow(10, tick_value(&ay, i)));
        else
            format_tick(label, sizeof label, tick_value(&ay, i), ay.step);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", x0 - 8,
                SY(tick_value(&ay, i)) + 4, label);
    }
    for (int i = 0; i < tick_count(&ax); i++) {
        double sx = SX(tick_value(&ax, i));
        format_tick(label, sizeof label, tick_value(&ax, i), ax.step);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                sx, y1, sx, y1 + 5);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", sx, y1 + 19,
                label);
    }
    fprintf(f, "</g>\n");
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#333\"/>\n", x0, y0, x1 - x0, y1 - y0);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">epoch</text>\n", (x0 + x1) / 2,
            y1 + 40);
    fprintf(f,
            "<text transform=\"translate(%d %.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
            22, (y0 + y1) / 2, y_name);
#undef SX
#undef SY
}

static void write_panel(FILE *f, const plot_job *job, int m, int top)
{
    const plot_data *d = job->d;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    int kinds[2] = {0, 0};
    for (size_t i = 0; i < d->n_runs; i++)
        for (int k = 0; k < 2; k++) {
            const curve *c = &d->runs[i].curves[m][k];
            kinds[k] |= c->n > 0;
            for (size_t j = 0; j < c->n; j++) {
                xmin = fmin(xmin, c->x[j]);
                xmax = fmax(xmax, c->x[j]);
                ymin = fmin(ymin, c->y[j]);
                ymax = fmax(ymax, c->y[j]);
            }
        }
    axis ax = epoch_axis(xmin, xmax), ay = value_axis(ymin, ymax);
    double x0 = PLOT_LEFT, x1 = PANEL_W - PLOT_RIGHT;
    double y0 = top + PLOT_TOP, y1 = top + PANEL_H - PLOT_BOTTOM;
#define SX(v) (x0 + ((v) - ax.lo) / (ax.hi - ax.lo) * (x1 - x0))
#define SY(v) (y1 - ((v) - ay.lo) / (ay.hi - ay.lo) * (y1 - y0))

    /* the panel's title says what is plotted, and on which data when
     * there is only one kind */
    const char *what = m == COST ? "Cost" : "Accuracy";
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"15\" font-weight=\"bold\" "
               "text-anchor=\"middle\">%s", (x0 + x1) / 2, top + 24, what);
    if (kinds[TRAINING] != kinds[EVALUATION])
        fprintf(f, " on the %s data", kinds[TRAINING] ? "training" : d->eval_name);
    fprintf(f, "</text>\n");

    draw_axes(f, &ax, &ay, x0, x1, y0, y1, 0, m == COST ? "cost" : "accuracy (%)");

    /* the curves: one polyline each */
    for (size_t i = 0; i < d->n_runs; i++)
        for (int k = 0; k < 2; k++) {
            const curve *c = &d->runs[i].curves[m][k];
            if (!c->n) continue;
            const char *color = palette[i % N_COLORS];
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
                       "stroke-linejoin=\"round\" points=\"", color,
                    k == EVALUATION ? " stroke-dasharray=\"7 4\"" : "");
            for (size_t j = 0; j < c->n; j++)
                fprintf(f, "%s%.2f,%.2f", j ? " " : "", SX(c->x[j]), SY(c->y[j]));
            fprintf(f, "\"><title>");
            put_escaped(f, d->runs[i].label);
            fprintf(f, ", %s data</title></polyline>\n", k == TRAINING ? "training" : d->eval_name);
            if (c->n == 1) /* a lone point draws no line */
                fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n",
                        SX(c->x[0]), SY(c->y[0]), color);
        }
#undef SX
#undef SY
}

/* One run's speeds of learning, a curve per layer on a logarithmic axis,
 * as chapter 5's figures draw them. */
static void write_speed_panel(FILE *f, const run *r, int top)
{
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (int l = 0; l < r->n_speeds; l++)
        for (size_t j = 0; j < r->speeds[l].n; j++) {
            xmin = fmin(xmin, r->speeds[l].x[j]);
            xmax = fmax(xmax, r->speeds[l].x[j]);
            ymin = fmin(ymin, log10(r->speeds[l].y[j]));
            ymax = fmax(ymax, log10(r->speeds[l].y[j]));
        }
    axis ax = epoch_axis(xmin, xmax);
    axis ay = {floor(ymin), ceil(ymax), 1};
    if (ay.hi <= ay.lo) ay.hi = ay.lo + 1;
    if (ay.hi - ay.lo > 8) ay.step = ceil((ay.hi - ay.lo) / 8);
    double x0 = PLOT_LEFT, x1 = PANEL_W - PLOT_RIGHT;
    double y0 = top + PLOT_TOP, y1 = top + PANEL_H - PLOT_BOTTOM;
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"15\" font-weight=\"bold\" "
               "text-anchor=\"middle\">", (x0 + x1) / 2, top + 24);
    put_escaped(f, r->label);
    fprintf(f, "</text>\n");
    draw_axes(f, &ax, &ay, x0, x1, y0, y1, 1, "speed of learning ||dC/db||");
    for (int l = 0; l < r->n_speeds; l++) {
        const curve *c = &r->speeds[l];
        if (!c->n) continue;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                   "stroke-linejoin=\"round\" points=\"", palette[l % N_COLORS]);
        for (size_t j = 0; j < c->n; j++)
            fprintf(f, "%s%.2f,%.2f", j ? " " : "",
                    x0 + (c->x[j] - ax.lo) / (ax.hi - ax.lo) * (x1 - x0),
                    y1 - (log10(c->y[j]) - ay.lo) / (ay.hi - ay.lo) * (y1 - y0));
        fprintf(f, "\"><title>layer %d</title></polyline>\n", l + 1);
    }
}

/* One legend entry: a line sample and its label. */
static void legend_entry(FILE *f, int x, int y, const char *color, int dashed, const char *label)
{
    fprintf(f,
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
            x, y - 4, x + 28, y - 4, color, dashed ? " stroke-dasharray=\"7 4\"" : "");
    fprintf(f, "<text x=\"%d\" y=\"%d\">", x + 36, y);
    put_escaped(f, label);
    fprintf(f, "</text>\n");
}

/* atomic_write_fn: the whole picture. */
static int write_svg(FILE *f, const void *ctx)
{
    const plot_job *job = ctx;
    const plot_data *d = job->d;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
               "font-size=\"%d\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            job->width, job->height, job->width, job->height, FONT_PX);
    int top = 0;
    if (job->title) {
        fprintf(f, "<text x=\"%d\" y=\"27\" font-size=\"18\" font-weight=\"bold\" "
                   "text-anchor=\"middle\">", job->width / 2);
        put_escaped(f, job->title);
        fprintf(f, "</text>\n");
        top = TITLE_H;
    }
    int x = job->legend_x, y = top + PLOT_TOP + 14;
    if (job->speed) {
        /* a panel per run, and the legend: layers by color */
        int p = 0;
        for (size_t i = 0; i < d->n_runs; i++)
            if (d->runs[i].n_speeds) write_speed_panel(f, &d->runs[i], top + p++ * PANEL_H);
        fprintf(f, "<g font-size=\"%d\" fill=\"#222\">\n", FONT_PX);
        for (int l = 0; l < job->max_layers; l++, y += LEGEND_ROW) {
            char label[32];
            snprintf(label, sizeof label, "layer %d", l + 1);
            legend_entry(f, x, y, palette[l % N_COLORS], 0, label);
        }
        fprintf(f, "</g>\n</svg>\n");
        return ferror(f) ? -1 : 0;
    }
    for (int p = 0; p < job->n_panels; p++) write_panel(f, job, job->panels[p], top + p * PANEL_H);

    /* the legend, right of the top panel: runs by color, data by dashes */
    fprintf(f, "<g font-size=\"%d\" fill=\"#222\">\n", FONT_PX);
    for (size_t i = 0; i < d->n_runs; i++) {
        if (!run_drawn(job, &d->runs[i])) continue;
        legend_entry(f, x, y, palette[i % N_COLORS], 0, d->runs[i].label);
        y += LEGEND_ROW;
    }
    if (job->has_data[TRAINING] && job->has_data[EVALUATION]) {
        char eval_label[64];
        snprintf(eval_label, sizeof eval_label, "%s data", d->eval_name);
        y += LEGEND_ROW / 2;
        legend_entry(f, x, y, "#555", 0, "training data");
        legend_entry(f, x, y + LEGEND_ROW, "#555", 1, eval_label);
    }
    fprintf(f, "</g>\n</svg>\n");
    return ferror(f) ? -1 : 0;
}

/* atomic_write_fn: the picture as PNG, through librsvg. */
static int write_png(FILE *f, const void *ctx)
{
    plot_job *job = (plot_job *)ctx;
    char *svg = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&svg, &len);
    int rc = mem && write_svg(mem, job) == 0 ? 0 : -1;
    if (mem && fclose(mem) != 0) rc = -1;
    if (rc == 0) rc = plot_svg_to_png(svg, len, f, job->why, sizeof job->why);
    free(svg);
    return rc;
}

/* The picture, as PNG when `out` ends in .png, else as SVG; 0 or 1 after
 * printing an error. */
static int write_picture(const char *out, plot_job *job)
{
    nndl_error err;
    int png = plot_wants_png(out);
    job->why[0] = 0;
    if (atomic_file_write(out, png ? "PNG picture" : "SVG picture", png ? write_png : write_svg,
                          job, &err) == NNDL_OK)
        return 0;
    if (job->why[0]) {
        cli_error("plot", "%s: %s", out, job->why);
        return 1;
    }
    return cli_fail("plot", &err);
}

/* ---- The command --------------------------------------------------------- */

int cmd_plot(int argc, char **argv)
{
    static const char *const metric_choices[] = {"both", "cost", "accuracy", "speed", NULL};
    int metric_choice = 0;
    const char *out = NULL, *title = NULL;
    cli_option options[] = {
        {"--out", OPT_STRING, &out, "FILE.svg",
         "the picture to write (also -o): PNG if FILE ends in .png, else SVG; required", 0, 0,
         NULL},
        {"--metric", OPT_CHOICE, &metric_choice, "",
         "what to plot (default both: a cost and an accuracy panel; speed: each "
         "layer's speed of learning, a panel per run)", 0, 0, metric_choices},
        {"--title", OPT_STRING, &title, "TEXT", "a title above the picture", 0, 0, NULL},
    };
    cli_command cmd = {"plot", "HISTORY...",
                       "Draws the learning curves of --history files (nndl train, sweep, demo)\n"
                       "as a standalone SVG (or PNG) picture: cost and accuracy per epoch on the\n"
                       "training data (solid) and the evaluation data (dashed), one color per\n"
                       "run, labelled with the run's name or the file's. With --metric speed,\n"
                       "the speed of learning of each layer (nndl demo vanishing, or train\n"
                       "--monitor gradient-norms) on a logarithmic axis, as in chapter 5.",
                       options, (int)(sizeof options / sizeof options[0]), 1, MAX_FILES};

    /* The option parser knows long options only: -o is --out. */
    char **args = malloc(sizeof *args * ((size_t)argc + 1));
    if (!args) {
        cli_error("plot", "out of memory");
        return 1;
    }
    for (int i = 0; i < argc; i++) args[i] = strcmp(argv[i], "-o") == 0 ? "--out" : argv[i];
    args[argc] = NULL;
    char *files[MAX_FILES];
    int n_files, rc = cli_parse(&cmd, argc, args, files, &n_files);
    free(args);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;
    if (!out) {
        cli_error("plot", "missing -o FILE.svg, the picture to write (see nndl plot --help)");
        return 2;
    }

    plot_data d = {0};
    int status = 0;
    for (int i = 0; i < n_files && !status; i++)
        if (!read_history(&d, files[i])) status = 1;
    if (!d.eval_name[0]) snprintf(d.eval_name, sizeof d.eval_name, "evaluation");

    plot_job job = {.d = &d, .title = title && *title ? title : NULL};
    if (metric_choice == 3 && !status) {
        job.speed = 1;
        for (size_t i = 0; i < d.n_runs; i++) {
            run *r = &d.runs[i];
            int points = 0;
            for (int l = 0; l < r->n_speeds; l++) points += r->speeds[l].n > 0;
            if (!points) r->n_speeds = 0; /* nothing to draw: no panel */
            if (r->n_speeds) job.n_panels++;
            job.max_layers = max_int(job.max_layers, r->n_speeds);
        }
        if (!job.n_panels) {
            cli_error("plot", "the histories hold no speeds of learning (nndl demo vanishing "
                              "--history and nndl train --monitor gradient-norms record them)");
            status = 1;
        } else {
            job.legend_x = PANEL_W + 4;
            job.width = job.legend_x + 36 + 10 * 8 + 16;
            job.height = (job.title ? TITLE_H : 0) +
                         max_int(job.n_panels * PANEL_H,
                                 PLOT_TOP + (job.max_layers + 1) * LEGEND_ROW);
            status = write_picture(out, &job);
        }
        plot_data_free(&d);
        return status;
    }
    for (int m = 0; m < 2 && !status; m++) {
        if (metric_choice != 0 && metric_choice != m + 1) continue;
        int found = 0;
        for (size_t i = 0; i < d.n_runs; i++)
            for (int k = 0; k < 2; k++)
                if (d.runs[i].curves[m][k].n) found = job.has_data[k] = 1;
        if (found) job.panels[job.n_panels++] = m;
    }
    if (!status && job.n_panels == 0) {
        const char *what = metric_choice == 1 ? "cost" : metric_choice == 2 ? "accuracy"
                                                                           : "cost or accuracy";
        cli_error("plot", "the histories hold no %s (train with --monitor to record it)", what);
        status = 1;
    }
    if (!status) {
        size_t longest = strlen(d.eval_name) + 5;
        for (size_t i = 0; i < d.n_runs; i++)
            if (run_drawn(&job, &d.runs[i]) && strlen(d.runs[i].label) > longest)
                longest = strlen(d.runs[i].label);
        job.legend_x = PANEL_W + 4;
        job.width = job.legend_x + 36 + (int)(longest > 100 ? 100 : longest) * 8 + 16;
        int entries = 0;
        for (size_t i = 0; i < d.n_runs; i++) entries += run_drawn(&job, &d.runs[i]);
        if (job.has_data[TRAINING] && job.has_data[EVALUATION]) entries += 3;
        job.height = (job.title ? TITLE_H : 0) +
                     max_int(job.n_panels * PANEL_H, PLOT_TOP + (entries + 1) * LEGEND_ROW);
        status = write_picture(out, &job);
    }
    plot_data_free(&d);
    return status;
}
