/* Saving a trained network with the metadata `nndl inspect` shows: shared
 * by nndl train and nndl sweep. */
#ifndef NNDL_CLI_TRAIN_SAVE_H
#define NNDL_CLI_TRAIN_SAVE_H

#include "train_run.h"
#include "train_settings.h"

/* Whether --save PATH's directory can take the file: checked before
 * training, rather than after hours of it. 0 after printing an error as
 * `cmd`. */
int save_path_usable(const char *path, const char *cmd);

/* Saves `net` to s->save with the run's settings, results and training
 * data as metadata (docs/MODEL_FORMAT.md, "Metadata"); 0 after printing an
 * error as `cmd`. */
int train_save_model(const nndl_net *net, const train_settings *s, const train_result *res,
                     const data_source *data, const char *cmd);

#endif
