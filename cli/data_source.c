#include "data_source.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "common/file.h"

enum { NAMES_MAX_BYTES = 64 * 1024 };

/* nndl_dataset_fingerprint of MNIST's 60,000 training images and labels:
 * other files under MNIST's names are told apart from it at no extra cost. */
static const char mnist_fingerprint[] = "edc0d1098aa497be14ace79ddd5171e5";

/* classes.txt beside the training (or test) images: one name per line,
 * as many lines as classes. Absent: the classes are numbers. */
static int read_class_names(data_source *src, const char *cmd)
{
    char dir[NNDL_DATA_PATH_CAP], path[NNDL_DATA_PATH_CAP + 16];
    snprintf(dir, sizeof dir, "%s", src->files.path[src->info.training ? 0 : 2]);
    snprintf(path, sizeof path, "%s/classes.txt", dirname(dir));
    FILE *f;
    uint64_t size;
    nndl_error err;
    nndl_status st = file_open_read(path, "class names file", NNDL_ERR_NOT_FOUND, &f, &size, &err);
    if (st == NNDL_ERR_NOT_FOUND) return 1;
    if (st) return !cli_fail(cmd, &err);
    char *text = size <= NAMES_MAX_BYTES ? malloc((size_t)size + 1) : NULL;
    size_t got = text ? fread(text, 1, (size_t)size, f) : 0;
    fclose(f);
    if (!text || got != size) {
        cli_error(cmd, "%s: %s", path, text ? "cannot read it" : "more than 64 KiB of class names");
        free(text);
        return 0;
    }
    text[got] = 0;
    int n = 0, ok = 1;
    for (char *line = text, *next; ok && *line; line = next) {
        next = strchr(line, '\n');
        next = next ? (*next = 0, next + 1) : line + strlen(line);
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r') line[--len] = 0;
        if (len == 0 && *next == 0) break; /* a blank last line */
        for (size_t i = 0; i < len && ok; i++)
            ok = (unsigned char)line[i] >= 0x20 && line[i] != 0x7f;
        if (!ok || len == 0 || len >= CLASS_NAME_CAP) {
            cli_error(cmd, "%s: line %d: %s", path, n + 1,
                      !ok ? "a control character in a class name"
                          : len ? "a class name longer than 31 bytes" : "an empty class name");
            ok = 0;
        } else if (n < MAX_CLASSES) {
            memcpy(src->names[n], line, len + 1);
        }
        n++;
    }
    free(text);
    if (ok && n != src->info.classes) {
        cli_error(cmd, "%s: %d class name%s, but the labels are 0 to %d (%d classes)", path, n,
                  n == 1 ? "" : "s", src->info.classes - 1, src->info.classes);
        ok = 0;
    }
    src->n_names = ok ? n : 0;
    return ok;
}

int data_source_load(data_source *src, const char *cmd, const char *where, long validation,
                     nndl_dataset **training, nndl_dataset **validation_set, nndl_dataset **test)
{
    memset(src, 0, sizeof *src);
    src->where = where;
    nndl_error err;
    nndl_dataset *parts[3] = {NULL, NULL, NULL};
    nndl_status st;
    if (where) {
        st = nndl_data_files_find(where, &src->files, &err);
    } else {
        st = nndl_mnist_find(src->mnist_dir, sizeof src->mnist_dir, &err);
        if (!st) st = nndl_mnist_files_in(src->mnist_dir, &src->files, &err);
        if (validation != 0) validation = -1; /* MNIST's split is the book's, or none */
    }
    /* the validation part too, for the training file's fingerprint */
    int train_file = training || validation_set;
    if (!st)
        st = nndl_data_load(&src->files, validation, training ? &parts[0] : NULL,
                            train_file ? &parts[1] : NULL, test ? &parts[2] : NULL, &src->info,
                            &err);
    if (!st && !where) st = nndl_mnist_check(&src->files, &src->info, &err);
    if (!st && training) {
        const nndl_dataset *file[2] = {parts[0], parts[1]};
        st = nndl_dataset_fingerprint(file, 2, src->fingerprint, &err);
    }
    if (!st && training && !where && strcmp(src->fingerprint, mnist_fingerprint) != 0)
        fprintf(stderr, "nndl %s: warning: %s holds files under MNIST's names that are not "
                        "MNIST's training images (`nndl data` checks their MD5 sums); other "
                        "data goes in with --data DIR\n",
                cmd, src->mnist_dir);
    if (!st && !validation_set) {
        nndl_dataset_free(parts[1]);
        parts[1] = NULL;
    }
    int ok = st == NNDL_OK || !cli_fail(cmd, &err);
    if (ok && where) ok = read_class_names(src, cmd);
    if (!ok) {
        for (int i = 0; i < 3; i++) nndl_dataset_free(parts[i]);
        return 0;
    }
    if (training) *training = parts[0];
    if (validation_set) *validation_set = parts[1];
    if (test) *test = parts[2];
    return 1;
}

const char *data_source_name(const data_source *src)
{
    return src->where ? src->where : "MNIST";
}

int data_source_is_digits(const data_source *src) { return src->where == NULL; }

const char *data_source_class(const data_source *src, int k, char *buf, size_t cap)
{
    if (k >= 0 && k < src->n_names) return src->names[k];
    snprintf(buf, cap, "%d", k);
    return buf;
}

void data_source_summary(const data_source *src, const char *cmd, FILE *out)
{
    const nndl_data_info *in = &src->info;
    fprintf(out, "nndl %s: data %s: ", cmd, data_source_name(src));
    if (in->training)
        fprintf(out, "%zu training images (%zu of them for validation), ", in->training,
                in->validation);
    if (in->test) fprintf(out, "%zu test images, ", in->test);
    fprintf(out, "%dx%d pixels, %d classes", in->rows, in->cols, in->classes);
    if (src->n_names) {
        char buf[16];
        fprintf(out, " (%s", data_source_class(src, 0, buf, sizeof buf));
        for (int k = 1; k < src->n_names && k < 4; k++)
            fprintf(out, ", %s", data_source_class(src, k, buf, sizeof buf));
        fprintf(out, "%s)", src->n_names > 4 ? ", ..." : "");
    }
    fprintf(out, "\n");
}

cJSON *data_source_json(const data_source *src)
{
    const nndl_data_info *in = &src->info;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", data_source_name(src));
    cJSON *shape = cJSON_AddArrayToObject(o, "shape");
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(in->rows));
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(in->cols));
    cJSON_AddNumberToObject(o, "classes", in->classes);
    if (src->n_names) {
        cJSON *names = cJSON_AddArrayToObject(o, "class_names");
        for (int k = 0; k < src->n_names; k++)
            cJSON_AddItemToArray(names, cJSON_CreateString(src->names[k]));
    }
    if (in->training) {
        cJSON_AddNumberToObject(o, "training_images", (double)in->training);
        /* the last of them, held out (none with --validation 0) */
        if (in->validation) cJSON_AddNumberToObject(o, "validation_images", (double)in->validation);
        cJSON_AddStringToObject(o, "fingerprint", src->fingerprint);
    }
    return o;
}
