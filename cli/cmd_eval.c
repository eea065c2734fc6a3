/* nndl eval: accuracy of a saved model, its confusion matrix, and a picture
 * of the images it gets wrong. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "data_source.h"
#include "model/model_file.h"
#include "report/montage.h"

/* Models in one ensemble. */
enum { MAX_MODELS = 64 };

/* "digits", or "classes" for data that is not MNIST's. */
static const char *kind_of(const data_source *src)
{
    return data_source_is_digits(src) ? "digits" : "classes";
}

/* The matrix with each class's recall (end of its row) and precision (last
 * row), in percent; "-" where there is nothing to divide by. Named classes
 * are listed first, the columns keep their numbers. */
static void print_confusion(const nndl_confusion *c, const char *data, const data_source *src)
{
    printf("\nConfusion matrix, %s data: rows are the true %s, columns the network's\n"
           "answers. Recall and precision in %%.\n\n",
           data, kind_of(src));
    if (src->n_names) {
        printf("classes:");
        for (int k = 0; k < src->n_names; k++) printf("%s %d %s", k ? "," : "", k, src->names[k]);
        printf("\n\n");
    }
    printf("%-9s", "answer");
    for (int a = 0; a < c->n_classes; a++) printf("%6d", a);
    printf("%9s\n", "recall");
    for (int t = 0; t < c->n_classes; t++) {
        printf("true %-4d", t);
        for (int a = 0; a < c->n_classes; a++) printf("%6zu", nndl_confusion_count(c, t, a));
        double r = nndl_confusion_recall(c, t);
        if (isnan(r))
            printf("%9s\n", "-");
        else
            printf("%9.1f\n", 100 * r);
    }
    printf("%-9s", "precision");
    for (int a = 0; a < c->n_classes; a++) {
        double p = nndl_confusion_precision(c, a);
        if (isnan(p))
            printf("%6s", "-");
        else
            printf("%6.1f", 100 * p);
    }
    printf("\n\naccuracy %.2f%% (%zu / %zu)\n",
           c->total ? 100.0 * (double)c->correct / (double)c->total : 0.0, c->correct, c->total);
}

/* A warning when `model` was trained on data of another shape or number of
 * classes than `src` holds (its metadata says; models without it are not
 * checked). */
static void warn_other_data(const char *model, const char *meta, const data_source *src)
{
    cJSON *m = meta ? cJSON_Parse(meta) : NULL;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(m, "data");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(d, "shape");
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(d, "classes");
    const cJSON *source = cJSON_GetObjectItemCaseSensitive(d, "source");
    if (cJSON_GetArraySize(shape) == 2 && cJSON_IsNumber(classes)) {
        int rows = cJSON_GetArrayItem(shape, 0)->valueint;
        int cols = cJSON_GetArrayItem(shape, 1)->valueint;
        const nndl_data_info *in = &src->info;
        if (rows != in->rows || cols != in->cols || classes->valueint != in->classes)
            fprintf(stderr,
                    "nndl eval: warning: %s was trained on %s (%dx%d pixels, %d classes), "
                    "but %s holds %dx%d pixels and %d classes\n",
                    model, cJSON_IsString(source) ? source->valuestring : "other data", rows, cols,
                    classes->valueint, data_source_name(src), in->rows, in->cols, in->classes);
    }
    cJSON_Delete(m);
}

/* The misclassified images of `ds`, the first MONTAGE_MAX_TILES of them,
 * as a PNG picture at `path`; 1 after printing an error. */
static int write_errors(const char *path, const nndl_dataset *ds, const int *answers,
                        const char *data, const data_source *src)
{
    size_t count = nndl_dataset_count(ds), wrong = 0, shown = 0;
    const uint8_t *labels = nndl_dataset_labels(ds);
    for (size_t i = 0; i < count; i++) wrong += answers[i] != labels[i];
    shown = wrong < MONTAGE_MAX_TILES ? wrong : MONTAGE_MAX_TILES;
    montage_tile *tiles = malloc((shown ? shown : 1) * sizeof *tiles);
    if (!tiles) {
        cli_error("eval", "--errors: out of memory");
        return 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < count && n < shown; i++)
        if (answers[i] != labels[i])
            tiles[n++] = (montage_tile){.index = i, .label = labels[i], .answer = answers[i]};

    char title[512], left_out[64] = "", names[200] = "";
    if (shown < wrong)
        snprintf(left_out, sizeof left_out, "; the first %zu shown, %zu left out", shown,
                 wrong - shown);
    /* named classes: the names of as many as fit on the title line */
    for (int k = 0, used = 0; k < src->n_names; k++) {
        int w = snprintf(names + used, sizeof names - (size_t)used, "%s%d %s", k ? ", " : "; ", k,
                         src->names[k]);
        if (w < 0 || (size_t)(used + w) >= sizeof names - 5) {
            snprintf(names + used, sizeof names - (size_t)used, ", ...");
            break;
        }
        used += w;
    }
    snprintf(title, sizeof title,
             "%zu of %zu %s images misclassified%s (true\xe2\x86\x92" "answer, #image%s)", wrong,
             count, data, left_out, names);
    nndl_error err;
    int status = 0;
    if (montage_save_png(path, ds, tiles, n, title, &err) != NNDL_OK)
        status = cli_fail("eval", &err);
    else
        fprintf(stderr, "nndl eval: wrote %s: %zu misclassified %s images%s\n", path, wrong, data,
                left_out);
    free(tiles);
    return status;
}

int cmd_eval(int argc, char **argv)
{
    static const char *const set_choices[] = {"test", "validation", NULL};
    static const char *const vote_choices[] = {"plurality", "mean", NULL};
    int set = 0, vote = 0, threads = 0, confusion = 0, validation = -1;
    const char *errors = NULL, *data = NULL;
    cli_option options[] = {
        {"--data", OPT_STRING, &data, "DIR",
         "labelled images in IDX format instead of MNIST, as nndl train takes them", 0, 0, NULL},
        {"--set", OPT_CHOICE, &set, "", "the data's part to evaluate on (default test)", 0, 0,
         set_choices},
        {"--validation", OPT_INT, &validation, "N",
         "with --data: the last N training images are the validation set (default a sixth, "
         "at most 10000)", 0, 10000000, NULL},
        {"--confusion", OPT_FLAG, &confusion, "",
         "also print the confusion matrix, precision and recall", 0, 0, NULL},
        {"--errors", OPT_STRING, &errors, "FILE.png",
         "draw the misclassified images (at most 400) into a PNG picture", 0, 0, NULL},
        {"--vote", OPT_CHOICE, &vote, "",
         "with several models: one vote each (default), or the class of largest mean output "
         "(mean probability)", 0, 0, vote_choices},
        {"--threads", OPT_INT, &threads, "N", "threads (default 0: all cores)", 0, 1024, NULL},
    };
    cli_command cmd = {"eval", "MODEL...",
                       "Prints how many test (or validation) images MODEL classifies correctly;\n"
                       "--confusion and --errors show which classes it gets wrong, and as what.\n"
                       "With several models, each one's count and then their plurality vote's\n"
                       "(a tie goes to the larger summed output, then the lower class), or\n"
                       "with --vote mean the class of their largest mean output;\n"
                       "--confusion and --errors then show the vote's. (--data test and\n"
                       "--data validation, as earlier versions took them, mean --set.)",
                       options, (int)(sizeof options / sizeof options[0]), 1, MAX_MODELS};
    char *pos[MAX_MODELS];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc != CLI_PARSED) return rc == CLI_HELP ? 0 : 2;
    for (int k = 0; data && set_choices[k]; k++)
        if (strcmp(data, set_choices[k]) == 0) {
            set = k;
            data = NULL;
            break;
        }
    if (!data && validation >= 0) {
        cli_error("eval", "--validation: MNIST's split is the book's; the option is for --data");
        return 2;
    }

    nndl_error err;
    nndl_net *nets[MAX_MODELS] = {0};
    char *metas[MAX_MODELS] = {0};
    nndl_dataset *ds = NULL;
    data_source *src = calloc(1, sizeof *src);
    int status = src ? 0 : cli_fail("eval", &(nndl_error){NNDL_ERR_NOMEM, "out of memory"});
    for (int k = 0; k < n_pos && status == 0; k++) {
        if (!(nets[k] = model_load_with_meta(pos[k], &metas[k], &err)))
            status = cli_fail("eval", &err);
        else
            nndl_net_set_threads(nets[k], threads);
    }
    if (status == 0 && !data_source_load(src, "eval", data, validation, NULL,
                                         set == 1 ? &ds : NULL, set == 0 ? &ds : NULL))
        status = 1;
    for (int k = 0; k < n_pos && status == 0; k++) warn_other_data(pos[k], metas[k], src);
    const char *data_name = set_choices[set];
    if (status == 0 && n_pos == 1 && !confusion && !errors) {
        size_t correct;
        if (nndl_net_evaluate(nets[0], ds, &correct, &err) != NNDL_OK)
            status = cli_fail("eval", &err);
        else
            printf("%zu / %zu\n", correct, nndl_dataset_count(ds));
    } else if (status == 0) {
        size_t count = nndl_dataset_count(ds);
        int *answers = malloc((count ? count : 1) * sizeof *answers);
        nndl_confusion c = {0};
        if (!answers) {
            cli_error("eval", "out of memory for %zu answers", count);
            status = 1;
        }
        /* each model's count, then the vote's */
        for (int k = 0; k < n_pos && n_pos > 1 && status == 0; k++) {
            size_t correct;
            if (nndl_net_evaluate(nets[k], ds, &correct, &err) != NNDL_OK)
                status = cli_fail("eval", &err);
            else
                printf("%s: %zu / %zu\n", pos[k], correct, count);
        }
        int n_out = nets[0] ? nndl_net_size(nets[0], nndl_net_n_sizes(nets[0]) - 1) : 0;
        if (status == 0 &&
            (nndl_ensemble_vote(nets, n_pos, ds, vote ? NNDL_VOTE_MEAN : NNDL_VOTE_PLURALITY,
                                answers, &err) != NNDL_OK ||
             nndl_confusion_from_answers(ds, answers, n_out == 1 ? 2 : n_out, &c, &err) !=
                 NNDL_OK)) {
            status = cli_fail("eval", &err);
        } else if (status == 0) {
            if (n_pos > 1)
                printf("ensemble of %d (%s): %zu / %zu\n", n_pos,
                       vote ? "mean of outputs" : "plurality vote", c.correct, c.total);
            else
                printf("%zu / %zu\n", c.correct, c.total);
            if (confusion) print_confusion(&c, data_name, src);
            if (errors) status = write_errors(errors, ds, answers, data_name, src);
        }
        nndl_confusion_free(&c);
        free(answers);
    }
    nndl_dataset_free(ds);
    for (int k = 0; k < n_pos; k++) {
        nndl_net_free(nets[k]);
        free(metas[k]);
    }
    free(src);
    return status;
}
