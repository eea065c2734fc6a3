/* Reports: the confusion matrix, the montage of misclassified digits with
 * its bitmap font, `nndl eval --confusion` and `nndl plot`'s SVG. */
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "nndl.h"
#include "report/font.h"
#include "report/montage.h"

#ifndef NNDL_CLI_PATH
#define NNDL_CLI_PATH "build/nndl"
#endif

/* ---- Helpers ------------------------------------------------------------ */

typedef struct report_result {
    int status;
    char out[16384], err[4096];
} report_result;

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = 0;
    if (f) fclose(f);
}

/* Runs `nndl ARGS` with MNIST where the tests find it. */
static void run_nndl(const char *args, report_result *r)
{
    char cmd[4096], out[512], err[512];
    snprintf(out, sizeof out, "%s/report.out", test_tmpdir());
    snprintf(err, sizeof err, "%s/report.err", test_tmpdir());
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s' </dev/null", NNDL_CLI_PATH, args, out, err);
    int rc = system(cmd);
    r->status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static int count_substrings(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* The first n training images and the test set of MNIST; 0 after a failure. */
static int load_head(size_t n, nndl_dataset **training, nndl_dataset **test)
{
    const char *dir = test_mnist_dir();
    nndl_error err;
    if (!dir) return 0;
    if (nndl_mnist_load(dir, training, NULL, test, &err) != NNDL_OK) {
        fprintf(stderr, "    %s\n", err.message);
        return 0;
    }
    nndl_dataset_free(nndl_dataset_split_off(*training, n, NULL));
    return 1;
}

/* [784,30,10] trained one epoch on `ds`: right on most digits, not all. */
static nndl_net *train_small(const nndl_dataset *ds)
{
    int sizes[] = {784, 30, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.cost = NNDL_COST_CROSS_ENTROPY;
    spec.seed = 3;
    nndl_net *net = nndl_net_create(&spec, NULL);
    if (!net) return NULL;
    nndl_sgd_config config = nndl_sgd_config_default(10, 0.5f);
    nndl_trainer *t = nndl_trainer_create(net, &config, NULL);
    if (!t || nndl_trainer_epoch(t, ds, NULL, NULL, NULL) != NNDL_OK) {
        nndl_net_free(net);
        net = NULL;
    }
    nndl_trainer_free(t);
    return net;
}

/* Reads a PNG back through libpng's simplified API as 8-bit gray; the
 * caller frees *pixels. 0 on failure. */
static int load_png_gray(const char *path, uint8_t **pixels, int *width, int *height)
{
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path)) return 0;
    image.format = PNG_FORMAT_GRAY;
    uint8_t *buf = malloc(PNG_IMAGE_SIZE(image));
    if (!buf || !png_image_finish_read(&image, NULL, buf, 0, NULL)) {
        free(buf);
        png_image_free(&image);
        return 0;
    }
    *pixels = buf;
    *width = (int)image.width;
    *height = (int)image.height;
    return 1;
}

/* ---- Confusion matrix ---------------------------------------------------- */

TEST(report_confusion_of_a_trained_network_adds_up)
{
    nndl_dataset *training = NULL, *test = NULL;
    REQUIRE(load_head(2000, &training, &test));
    nndl_net *net = train_small(training);
    REQUIRE(net);
    size_t n = nndl_dataset_count(test), correct = 0;
    REQUIRE(nndl_net_evaluate(net, test, &correct, NULL) == NNDL_OK);
    int *answers = malloc(n * sizeof *answers);
    nndl_confusion c = {0};
    REQUIRE(answers);
    nndl_error err;
    REQUIRE(nndl_confusion_compute(net, test, &c, answers, &err) == NNDL_OK);
    CHECK(c.n_classes == 10 && c.total == n && c.correct == correct);

    size_t sum = 0, diagonal = 0, recount[10][10] = {{0}};
    for (int t = 0; t < 10; t++)
        for (int a = 0; a < 10; a++) {
            sum += nndl_confusion_count(&c, t, a);
            if (t == a) diagonal += nndl_confusion_count(&c, t, a);
        }
    CHECK(sum == n);
    CHECK(diagonal == correct);
    CHECK(correct > n / 2 && correct < n); /* learned something, not everything */

    /* the answers list agrees with the matrix and with nndl_net_classify */
    const uint8_t *labels = nndl_dataset_labels(test);
    int answers_ok = 1;
    for (size_t i = 0; i < n; i++) {
        answers_ok &= answers[i] >= 0 && answers[i] < 10;
        if (answers_ok) recount[labels[i]][answers[i]]++;
    }
    CHECK(answers_ok);
    for (int t = 0; t < 10; t++)
        for (int a = 0; a < 10; a++) CHECK(recount[t][a] == nndl_confusion_count(&c, t, a));
    float input[784];
    for (size_t i = 0; i < 50; i++) {
        for (int k = 0; k < 784; k++) input[k] = nndl_dataset_image(test, i)[k] / 255.0f;
        CHECK(nndl_net_classify(net, input) == answers[i]);
    }

    /* a network that does not fit the data is refused, and `out` untouched */
    int wrong_sizes[] = {100, 10};
    nndl_net_spec spec = nndl_net_spec_default(2, wrong_sizes);
    nndl_net *wrong = nndl_net_create(&spec, NULL);
    nndl_confusion untouched = {.n_classes = -7};
    CHECK(wrong && nndl_confusion_compute(wrong, test, &untouched, NULL, &err) == NNDL_ERR_ARG);
    CHECK(untouched.n_classes == -7 && untouched.counts == NULL && strstr(err.message, "784"));

    nndl_net_free(wrong);
    nndl_confusion_free(&c);
    CHECK(c.counts == NULL);
    nndl_confusion_free(NULL);
    free(answers);
    nndl_net_free(net);
    nndl_dataset_free(training);
    nndl_dataset_free(test);
}

TEST(report_precision_and_recall_by_hand)
{
    /* rows: true label, columns: answer.
     *   label 0: 5 right, 1 answered 1
     *   label 1: 2 answered 0, 3 right, 1 answered 2
     *   label 2: none */
    size_t counts[9] = {5, 1, 0, 2, 3, 1, 0, 0, 0};
    nndl_confusion c = {.n_classes = 3, .counts = counts, .total = 12, .correct = 8};
    CHECK_NEAR(nndl_confusion_precision(&c, 0), 5.0 / 7.0, 1e-15); /* column 0: 5 + 2 */
    CHECK_NEAR(nndl_confusion_recall(&c, 0), 5.0 / 6.0, 1e-15);    /* row 0: 5 + 1 */
    CHECK_NEAR(nndl_confusion_precision(&c, 1), 3.0 / 4.0, 1e-15);
    CHECK_NEAR(nndl_confusion_recall(&c, 1), 3.0 / 6.0, 1e-15);
    CHECK(nndl_confusion_precision(&c, 2) == 0); /* answered 2 once, wrongly */
    CHECK(isnan(nndl_confusion_recall(&c, 2)));  /* never labelled 2 */
    CHECK(nndl_confusion_count(&c, 1, 2) == 1 && nndl_confusion_count(&c, 3, 0) == 0 &&
          nndl_confusion_count(&c, 0, -1) == 0);

    /* a single output neuron answers 0 or 1: a 2 x 2 matrix */
    nndl_dataset *ds = nndl_dataset_create(4, 1, 1, NULL);
    int sizes[] = {1, 1};
    nndl_net_spec spec = nndl_net_spec_default(2, sizes);
    nndl_net *net = nndl_net_create(&spec, NULL);
    REQUIRE(ds && net);
    float *p = nndl_net_params(net); /* output sigmoid(10 x - 5): 1 for ink, 0 for none */
    p[0] = 10;
    p[1] = -5;
    uint8_t *labels = nndl_dataset_labels_mut(ds);
    for (int i = 0; i < 4; i++) {
        nndl_dataset_image_mut(ds, (size_t)i)[0] = i < 2 ? 255 : 0;
        labels[i] = i == 0 || i == 2; /* image 2 is labelled 1 but has no ink */
    }
    nndl_confusion bin = {0};
    REQUIRE(nndl_confusion_compute(net, ds, &bin, NULL, NULL) == NNDL_OK);
    CHECK(bin.n_classes == 2 && bin.total == 4 && bin.correct == 2);
    CHECK(nndl_confusion_count(&bin, 1, 1) == 1 && nndl_confusion_count(&bin, 0, 1) == 1 &&
          nndl_confusion_count(&bin, 1, 0) == 1 && nndl_confusion_count(&bin, 0, 0) == 1);
    nndl_confusion_free(&bin);
    nndl_net_free(net);
    nndl_dataset_free(ds);
}

/* ---- Font and montage ---------------------------------------------------- */

TEST(report_font_has_every_glyph_it_needs)
{
    /* what the montage and its title draw (cli/cmd_eval.c) */
    CHECK(font_covers("0123456789#\xe2\x86\x92"));
    CHECK(font_covers("220 of 10000 test images misclassified; the first 400 shown, 23 left "
                      "out (true\xe2\x86\x92" "answer, #image)"));
    CHECK(font_covers("validation"));
    /* all of printable ASCII, each glyph well formed and stored under its code */
    for (uint32_t c = ' '; c <= '~'; c++) {
        const font_glyph *g = font_find(c);
        REQUIRE(g && g->code == c);
        int ink = 0, well_formed = 1;
        for (int y = 0; y < FONT_HEIGHT; y++) {
            well_formed &= strlen(g->rows[y]) == FONT_WIDTH;
            for (int x = 0; x < FONT_WIDTH && g->rows[y][x]; x++) {
                well_formed &= g->rows[y][x] == '#' || g->rows[y][x] == '.';
                ink += g->rows[y][x] == '#';
            }
        }
        if (!well_formed || (c != ' ') != (ink > 0))
            test_fail(__FILE__, __LINE__, "glyph '%c': malformed or wrongly blank", (int)c);
    }
    CHECK(font_find(0x2192) && !font_find(0x2190) && !font_find('\n'));

    const char *s = "a\xe2\x86\x92\xff";
    CHECK(font_next_char(&s) == 'a' && font_next_char(&s) == 0x2192);
    CHECK(font_next_char(&s) == 0xFFFD && *s == 0); /* a stray byte */
    CHECK(font_text_width("", 2) == 0 && font_text_width("4\xe2\x86\x92" "9", 2) == 34);
}

/* A dataset of n 28x28 images: image i is all ink in column i % 28. */
static nndl_dataset *striped_dataset(size_t n)
{
    nndl_dataset *ds = nndl_dataset_create(n, 28, 28, NULL);
    for (size_t i = 0; ds && i < n; i++) {
        uint8_t *img = nndl_dataset_image_mut(ds, i);
        for (int r = 0; r < 28; r++) img[r * 28 + (int)(i % 28)] = 255;
        nndl_dataset_labels_mut(ds)[i] = (uint8_t)(i % 10);
    }
    return ds;
}

TEST(report_montage_png_has_the_layout_and_labels)
{
    nndl_dataset *ds = striped_dataset(30);
    REQUIRE(ds);
    montage_tile tiles[25];
    for (int i = 0; i < 25; i++) tiles[i] = (montage_tile){(size_t)i + 5, (i + 5) % 10, 9 - i % 10};
    const int box = 28 * 3 + 2, cell_w = box + MONTAGE_GAP;
    const int cell_h = box + MONTAGE_LABEL_HEIGHT + MONTAGE_GAP;
    const int title_h = FONT_HEIGHT * 2 + MONTAGE_GAP;
    char path[512];
    snprintf(path, sizeof path, "%s/montage.png", test_tmpdir());

    /* 3 tiles: one row of three; 25 tiles: rows of 20 and 5 */
    static const struct {
        size_t n;
        int columns, rows;
    } cases[] = {{3, 3, 1}, {25, 20, 2}};
    for (int k = 0; k < 2; k++) {
        nndl_error err;
        REQUIRE(montage_save_png(path, ds, tiles, cases[k].n, "4\xe2\x86\x92" "9", &err) ==
                NNDL_OK);
        uint8_t *pixels = NULL, *drawn = NULL;
        int w = 0, h = 0;
        REQUIRE(load_png_gray(path, &pixels, &w, &h));
        CHECK(w == 2 * MONTAGE_MARGIN + cases[k].columns * cell_w - MONTAGE_GAP);
        CHECK(h == 2 * MONTAGE_MARGIN + title_h + cases[k].rows * cell_h - MONTAGE_GAP);
        montage_layout l;
        REQUIRE(montage_render(ds, tiles, cases[k].n, "4\xe2\x86\x92" "9", &drawn, &l, &err) ==
                NNDL_OK);
        CHECK(l.width == w && l.height == h && memcmp(drawn, pixels, (size_t)w * h) == 0);

        /* every tile: the ink column of its image, dark; the label strip
         * has ink where "5→9" is drawn and the space right of it is blank */
        for (size_t i = 0; i < cases[k].n; i++) {
            int x0, y0;
            montage_tile_origin(&l, i, &x0, &y0);
            int stripe = (int)(tiles[i].index % 28);
            CHECK(pixels[(size_t)(y0 + 40) * w + (size_t)(x0 + 1 + 3 * stripe + 1)] == 0);
            CHECK(pixels[(size_t)(y0 + 40) * w + (size_t)(x0 + 1 + 3 * ((stripe + 5) % 28))] ==
                  255);
            int label_ink = 0, gap_ink = 0;
            for (int y = y0 + box; y < y0 + box + MONTAGE_LABEL_HEIGHT; y++) {
                for (int x = x0; x < x0 + 34; x++) label_ink += pixels[(size_t)y * w + x] < 128;
                for (int x = x0 + 36; x < x0 + 44; x++) gap_ink += pixels[(size_t)y * w + x] < 255;
            }
            CHECK(label_ink > 40);
            CHECK(gap_ink == 0);
        }
        free(pixels);
        free(drawn);
    }

    /* a tile naming an image the dataset does not have is refused */
    montage_tile bad = {30, 0, 1};
    nndl_error err;
    CHECK(montage_save_png(path, ds, &bad, 1, NULL, &err) == NNDL_ERR_ARG &&
          strstr(err.message, "image 30"));
    nndl_dataset_free(ds);
}

/* ---- The command line ---------------------------------------------------- */

/* A small model saved for the command-line tests; 0 after a failure. */
static int save_small_model(char *path, size_t cap)
{
    static int saved;
    snprintf(path, cap, "%s/report-small.nndl", test_tmpdir());
    if (saved) return 1;
    nndl_dataset *training = NULL, *test = NULL;
    if (!load_head(1000, &training, &test)) return 0;
    nndl_net *net = train_small(training);
    saved = net && nndl_net_save(net, path, NULL) == NNDL_OK;
    nndl_net_free(net);
    nndl_dataset_free(training);
    nndl_dataset_free(test);
    return saved;
}

TEST(report_cli_eval_confusion_prints_an_aligned_table)
{
    char model[512], args[1024];
    REQUIRE(save_small_model(model, sizeof model));
    report_result r;
    snprintf(args, sizeof args, "eval '%s' --confusion", model);
    run_nndl(args, &r);
    REQUIRE(r.status == 0);
    int correct = -1, total = -1;
    CHECK(sscanf(r.out, "%d / %d\n", &correct, &total) == 2 && total == 10000);

    /* the header, ten rows "true d  c0 .. c9  recall", a precision row */
    const char *header = strstr(r.out, "\nanswer ");
    REQUIRE(header);
    header++;
    const char *line = strchr(header, '\n');
    REQUIRE(line);
    int row_sum_total = 0, diagonal = 0, col_sum[10] = {0};
    for (int t = 0; t < 10; t++) {
        line++;
        int label, c[10];
        double recall;
        int n = sscanf(line, "true %d %d %d %d %d %d %d %d %d %d %d %lf", &label, &c[0], &c[1],
                       &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &c[8], &c[9], &recall);
        REQUIRE(n == 12 && label == t);
        int row = 0;
        for (int a = 0; a < 10; a++) row += c[a], col_sum[a] += c[a];
        row_sum_total += row;
        diagonal += c[t];
        CHECK_NEAR(recall, 100.0 * c[t] / row, 0.05 + 1e-9);
        /* aligned: every row as long as the header */
        CHECK(strchr(line, '\n') - line == strchr(header, '\n') - header);
        line = strchr(line, '\n');
        REQUIRE(line);
    }
    CHECK(row_sum_total == 10000 && diagonal == correct);
    line++;
    CHECK(strncmp(line, "precision ", 10) == 0);
    double precision[10];
    CHECK(sscanf(line + 9, "%lf %lf %lf %lf %lf %lf %lf %lf %lf %lf", &precision[0],
                 &precision[1], &precision[2], &precision[3], &precision[4], &precision[5],
                 &precision[6], &precision[7], &precision[8], &precision[9]) == 10);
    char accuracy[128];
    snprintf(accuracy, sizeof accuracy, "\naccuracy %.2f%% (%d / 10000)\n", correct / 100.0,
             correct);
    CHECK(strstr(r.out, accuracy) != NULL);
    CHECK(r.err[0] == 0);
}

TEST(report_cli_eval_errors_draws_a_capped_montage)
{
    char model[512], png[512], args[1200];
    REQUIRE(save_small_model(model, sizeof model));
    snprintf(png, sizeof png, "%s/errors.png", test_tmpdir());
    report_result r;
    snprintf(args, sizeof args, "eval '%s' --errors '%s' --data validation", model, png);
    run_nndl(args, &r);
    REQUIRE(r.status == 0);
    int correct = -1, total = -1;
    REQUIRE(sscanf(r.out, "%d / %d\n", &correct, &total) == 2 && total == 10000);
    int wrong = total - correct, shown = wrong < MONTAGE_MAX_TILES ? wrong : MONTAGE_MAX_TILES;
    REQUIRE(wrong > MONTAGE_MAX_TILES); /* a one-epoch network on 1,000 images */
    char note[128];
    snprintf(note, sizeof note,
             "%d misclassified validation images; the first %d shown, %d left out", wrong, shown,
             wrong - shown);
    CHECK(strstr(r.err, note) && count_lines(r.err) == 1);

    uint8_t *pixels = NULL;
    int w = 0, h = 0;
    REQUIRE(load_png_gray(png, &pixels, &w, &h));
    const int box = 28 * 3 + 2, rows = (shown + MONTAGE_COLUMNS - 1) / MONTAGE_COLUMNS;
    CHECK(w == 2 * MONTAGE_MARGIN + MONTAGE_COLUMNS * (box + MONTAGE_GAP) - MONTAGE_GAP);
    CHECK(h == 2 * MONTAGE_MARGIN + FONT_HEIGHT * 2 + MONTAGE_GAP +
                   rows * (box + MONTAGE_LABEL_HEIGHT + MONTAGE_GAP) - MONTAGE_GAP);
    free(pixels);

    snprintf(args, sizeof args, "eval '%s' --errors /nonexistent/dir/e.png", model);
    run_nndl(args, &r);
    CHECK(r.status == 1 && count_lines(r.err) == 1 && strstr(r.err, "/nonexistent/dir"));
}

/* ---- nndl plot ----------------------------------------------------------- */

/* Two runs in a sweep-style file (header lines with "run"), all four
 * measurements; epochs 0..2. */
static const char runs_history[] =
    "{\"nndl\":\"0.1.0\",\"run\":\"alpha\",\"settings\":{\"eta\":0.5}}\n"
    "{\"epoch\":0,\"evaluation_data\":\"test\",\"evaluation_accuracy\":0.90,"
    "\"evaluation_cost\":1.1,\"training_accuracy\":0.91,\"training_cost\":1.5}\n"
    "{\"epoch\":1,\"evaluation_data\":\"test\",\"evaluation_accuracy\":0.93,"
    "\"evaluation_cost\":0.9,\"training_accuracy\":0.95,\"training_cost\":0.8}\n"
    "\n"
    "{\"epoch\":2,\"evaluation_data\":\"test\",\"evaluation_accuracy\":0.94,"
    "\"evaluation_cost\":0.8,\"training_accuracy\":0.97,\"training_cost\":0.5}\n"
    "{\"nndl\":\"0.1.0\",\"run\":\"beta & <b>\",\"settings\":{\"eta\":3}}\n"
    "{\"epoch\":0,\"evaluation_data\":\"test\",\"evaluation_accuracy\":0.85,"
    "\"evaluation_cost\":1.2,\"training_accuracy\":0.86,\"training_cost\":1.3}\n"
    "{\"epoch\":1,\"evaluation_data\":\"test\",\"evaluation_accuracy\":0.88,"
    "\"evaluation_cost\":1.0,\"training_accuracy\":0.90,\"training_cost\":1.0}\n";

/* No "run" key: labelled by its file name. Training cost only. */
static const char plain_history[] =
    "{\"nndl\":\"0.1.0\",\"settings\":{\"eta\":0.1}}\n"
    "{\"epoch\":0,\"training_cost\":1.0}\n"
    "{\"epoch\":1,\"training_cost\":0.7}\n"
    "{\"epoch\":2,\"training_cost\":0.6}\n";

/* The demo's format: "run" on every line, epoch -1 the start. */
static const char demo_history[] =
    "{\"run\":\"quadratic\",\"settings\":{\"cost\":\"quadratic\"}}\n"
    "{\"run\":\"quadratic\",\"epoch\":-1,\"training_cost\":0.4,\"w\":0.6}\n"
    "{\"run\":\"quadratic\",\"epoch\":0,\"training_cost\":0.3,\"w\":0.5}\n"
    "{\"run\":\"cross-entropy\",\"settings\":{\"cost\":\"cross-entropy\"}}\n"
    "{\"run\":\"cross-entropy\",\"epoch\":-1,\"training_cost\":2.0,\"w\":0.6}\n"
    "{\"run\":\"cross-entropy\",\"epoch\":0,\"training_cost\":1.0,\"w\":0.4}\n";

TEST(report_plot_draws_every_series_with_legend_and_ticks)
{
    char runs[512], plain[512], demo[512], svg[512], args[2048];
    const char *tmp = test_tmpdir();
    snprintf(runs, sizeof runs, "%s/runs.jsonl", tmp);
    snprintf(plain, sizeof plain, "%s/gamma.jsonl", tmp);
    snprintf(demo, sizeof demo, "%s/demo.jsonl", tmp);
    snprintf(svg, sizeof svg, "%s/plot.svg", tmp);
    write_text(runs, runs_history);
    write_text(plain, plain_history);
    write_text(demo, demo_history);
    static char text[65536];
    report_result r;

    snprintf(args, sizeof args, "plot '%s' '%s' -o '%s' --title 'Learning <fast>'", runs, plain,
             svg);
    run_nndl(args, &r);
    CHECK(r.status == 0 && r.out[0] == 0 && r.err[0] == 0);
    slurp(svg, text, sizeof text);
    CHECK(strncmp(text, "<?xml", 5) == 0);
    CHECK(strstr(text, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    CHECK(strstr(text, "</svg>\n") && strstr(text, "Learning &lt;fast&gt;"));
    /* legend: the run names (escaped), the file name, the two kinds of data */
    CHECK(strstr(text, ">alpha</text>") && strstr(text, ">beta &amp; &lt;b&gt;</text>"));
    CHECK(strstr(text, ">gamma.jsonl</text>"));
    CHECK(strstr(text, ">training data</text>") && strstr(text, ">test data</text>"));
    /* alpha and beta: 2 costs + 2 accuracies each; gamma: its training cost */
    CHECK(count_substrings(text, "<polyline") == 9);
    /* ticks: epochs 0, 1, 2; costs 0.4 .. 1.6 by 0.2; accuracy (%) 85 .. 100 by 5 */
    CHECK(strstr(text, ">0</text>") && strstr(text, ">1</text>") && strstr(text, ">2</text>"));
    CHECK(strstr(text, ">0.4</text>") && strstr(text, ">1.0</text>"));
    CHECK(strstr(text, ">1.6</text>"));
    CHECK(strstr(text, ">85</text>") && strstr(text, ">90</text>") && strstr(text, ">100</text>"));
    CHECK(strstr(text, ">epoch</text>") && strstr(text, ">accuracy (%)</text>"));

    snprintf(args, sizeof args, "plot '%s' '%s' --metric accuracy -o '%s'", runs, plain, svg);
    run_nndl(args, &r);
    CHECK(r.status == 0);
    slurp(svg, text, sizeof text);
    CHECK(count_substrings(text, "<polyline") == 4 && !strstr(text, "gamma.jsonl"));
    CHECK(!strstr(text, ">cost</text>"));

    /* the demo's runs, and the same labels twice told apart by file */
    snprintf(args, sizeof args, "plot '%s' '%s' --metric cost -o '%s'", demo, demo, svg);
    run_nndl(args, &r);
    CHECK(r.status == 0);
    slurp(svg, text, sizeof text);
    CHECK(count_substrings(text, "<polyline") == 4);
    CHECK(strstr(text, ">quadratic</text>") && strstr(text, ">cross-entropy</text>"));
    CHECK(strstr(text, ">quadratic (demo.jsonl)</text>"));
    CHECK(strstr(text, ">Cost on the training data</text>"));

    /* -o FILE.png: the same picture, drawn: a PNG of the SVG's size, with
     * ink of the curves' colors on a white page */
    int svg_w = 0, svg_h = 0;
    const char *size = strstr(text, "width=\"");
    REQUIRE(size && sscanf(size, "width=\"%d\" height=\"%d\"", &svg_w, &svg_h) == 2);
    char png[512];
    snprintf(png, sizeof png, "%s/plot.PNG", tmp);
    snprintf(args, sizeof args, "plot '%s' '%s' --metric cost -o '%s'", demo, demo, png);
    run_nndl(args, &r);
    CHECK(r.status == 0 && r.err[0] == 0);
    nndl_image img;
    nndl_error err;
    REQUIRE(nndl_image_load(png, &img, &err) == NNDL_OK);
    CHECK(img.width == svg_w && img.height == svg_h);
    size_t white = 0, dark = 0, n = (size_t)img.width * (size_t)img.height;
    for (size_t i = 0; i < n; i++) {
        white += img.pixels[i] == 255;
        dark += img.pixels[i] < 128;
    }
    CHECK(white > n / 2 && dark > 200); /* a page, with text and lines on it */
    nndl_image_free(&img);
}

TEST(report_plot_bad_inputs_get_one_line_errors)
{
    char bad[512], empty[512], costless[512], missing[512], speedless[512], twice[512],
        svg[512], args[2048];
    const char *tmp = test_tmpdir();
    snprintf(bad, sizeof bad, "%s/bad.jsonl", tmp);
    snprintf(empty, sizeof empty, "%s/empty.jsonl", tmp);
    snprintf(costless, sizeof costless, "%s/costless.jsonl", tmp);
    snprintf(missing, sizeof missing, "%s/missing.jsonl", tmp);
    snprintf(speedless, sizeof speedless, "%s/speedless.jsonl", tmp);
    snprintf(twice, sizeof twice, "%s/twice.jsonl", tmp);
    snprintf(svg, sizeof svg, "%s/bad.svg", tmp);
    write_text(twice, "{\"settings\":{}}\n{\"epoch\":0,\"training_cost\":1,\"training_cost\":2}\n");
    write_text(bad, "{\"settings\":{}}\n{\"epoch\":0,\"training_cost\":1}\n{\"epoch\":1,\"tr\n");
    write_text(empty, "{\"settings\":{}}\n");
    write_text(costless, "{\"epoch\":0,\"training_accuracy\":0.5}\n");
    write_text(speedless, "{\"epoch\":0,\"speeds\":0.5}\n");
    /* plot FILE [-o SVG] EXTRA */
    static const struct {
        int file, out; /* which file (-1: none); whether -o is given */
        const char *extra;
        int status;
        const char *needle;
    } cases[] = {
        {0, 1, "", 1, "bad.jsonl:3: not a JSON object"},
        {1, 1, "", 1, "empty.jsonl: no epochs"},
        {2, 1, "--metric cost", 1, "the histories hold no cost"},
        {3, 1, "", 1, "cannot open"},
        {0, 0, "", 2, "missing -o"},
        {0, 1, "--metric loss", 2, "--metric: 'loss' is not one of"},
        {2, 1, "--metric speed", 1, "the histories hold no speeds of learning"},
        {4, 1, "--metric speed", 1, "speedless.jsonl:1: \"speeds\" is not a list"},
        {-1, 1, "", 2, "missing argument HISTORY"},
        {5, 1, "", 1, "twice.jsonl:2: the key \"training_cost\" appears twice"},
    };
    const char *files[] = {bad, empty, costless, missing, speedless, twice};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].file < 0)
            snprintf(args, sizeof args, "plot -o '%s'", svg);
        else
            snprintf(args, sizeof args, "plot '%s' %s%s%s %s", files[cases[i].file],
                     cases[i].out ? "-o '" : "", cases[i].out ? svg : "", cases[i].out ? "'" : "",
                     cases[i].extra);
        report_result r;
        run_nndl(args, &r);
        if (r.status != cases[i].status || count_lines(r.err) != 1 ||
            !strstr(r.err, cases[i].needle) || r.out[0])
            test_fail(__FILE__, __LINE__, "nndl %s: status %d, stderr \"%s\"; expected %d, \"%s\"",
                      args, r.status, r.err, cases[i].status, cases[i].needle);
    }
    FILE *f = fopen(svg, "r"); /* no picture from failed runs */
    CHECK(f == NULL);
    if (f) fclose(f);
}
