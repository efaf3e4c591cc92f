/*
 * dataio.h - reading the tool's data files: numeric CSV (label column by name or index, the last
 * by default) or NumPy .npy (labels from a second file, or a column of the array). The labels are
 * checked against the model's loss by the library (bnmlp_loss_check_targets).
 */
#ifndef BNMLP_CLI_DATAIO_H
#define BNMLP_CLI_DATAIO_H

#include <stdbool.h>
#include <stddef.h>

#include "bnmlp.h"

/* Where a data set's features and labels come from. */
typedef struct data_source {
    const char *path;                /* the features (and, without labels_path, the labels): .npy or CSV */
    const char *labels_path;         /* a separate labels file (.npy or one-column CSV), or NULL */
    const char *label_column;        /* the label column by header name or 0-based index; NULL: the last */
    bnmlp_class_names **class_names; /* not NULL: a CSV label column of text is read as class names
                                        (*class_names set, NULL for numbers; freed by the caller) */
} data_source;

/* True when path ends in ".npy" (then it is read as .npy, else as CSV). */
bool data_is_npy(const char *path);

/* True when text is a 0-based column index (digits only), not a name. */
bool data_column_is_index(const char *text);

/* Reads features *x and labels *y (rows x 1, or the labels file's columns). Failures are
 * reported on stderr with the path, line and column ("bnmlp COMMAND: ..."); false then. */
bool data_read_labelled(const char *command, const data_source *source, bnmlp_tensor **x, bnmlp_tensor **y);

/* Reads features only, for a model taking width features: the whole file, or, when it has one
 * column more than width (or label_column is given), the file without its label column. */
bool data_read_features(const char *command, const data_source *source, size_t width, bnmlp_tensor **x);

/* Maps y, read from path with the class names file_names, onto the model's class names: each row's
 * index becomes that of the model's class of the same name. A name the model does not know, or a
 * model without names, is reported (with the name and the line of its first row); false then. */
bool data_map_class_names(const char *command, const char *path, bnmlp_tensor *y,
                          const bnmlp_class_names *file_names, const bnmlp_model *model);

/* Writes where data row `row` (1-based) of path is, as every message of the tool numbers it:
 * "line N" of a CSV file (the header line counted, as the readers count lines), "row N" of a .npy
 * array. */
void data_locate(const char *path, size_t row, char *buffer, size_t size);

#endif /* BNMLP_CLI_DATAIO_H */
