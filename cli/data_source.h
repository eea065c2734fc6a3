/* The labelled images a command reads: MNIST, found as `nndl data` finds
 * it, unless --data names another data set in IDX format; and what is
 * known of them (shape, classes and their names, a fingerprint), which
 * model files record. */
#ifndef NNDL_CLI_DATA_SOURCE_H
#define NNDL_CLI_DATA_SOURCE_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "nndl.h"

enum { CLASS_NAME_CAP = 32, MAX_CLASSES = 256 };

typedef struct data_source {
    const char *where; /* --data as given, or NULL for MNIST */
    char mnist_dir[NNDL_DATA_PATH_CAP]; /* MNIST's directory, when it is MNIST */
    nndl_data_files files;
    nndl_data_info info;
    char fingerprint[33]; /* of the training file (nndl_dataset_fingerprint), or "" */
    int n_names; /* class names read from classes.txt, or 0 */
    char names[MAX_CLASSES][CLASS_NAME_CAP];
} data_source;

/* Loads the parts asked for (NULL pointers are skipped) from `where`
 * (NULL: MNIST) into `src` (the caller's; large); `validation` images are
 * split off the training file (-1: nndl_data_validation_default). 0 after
 * printing a one-line error as `cmd`. */
int data_source_load(data_source *src, const char *cmd, const char *where, long validation,
                     nndl_dataset **training, nndl_dataset **validation_set,
                     nndl_dataset **test);

/* "MNIST", or the --data path. */
const char *data_source_name(const data_source *src);

/* Whether the data is MNIST's digits (no --data). */
int data_source_is_digits(const data_source *src);

/* The name of class k: its line of classes.txt, else the number. */
const char *data_source_class(const data_source *src, int k, char *buf, size_t cap);

/* One line on `out` saying what was loaded: path, counts, shape, classes. */
void data_source_summary(const data_source *src, const char *cmd, FILE *out);

/* {"source", "shape", "classes", "class_names", "training_images",
 * "validation_images" (when some were held out), "fingerprint"}: what a
 * model file records of its training data. */
cJSON *data_source_json(const data_source *src);

#endif
