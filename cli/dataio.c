/*
 * dataio.c - reading data files through the library's CSV and .npy readers.
 */
#include "dataio.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

bool data_is_npy(const char *path) {
    size_t length = strlen(path);
    return length >= 4 && strcmp(path + length - 4, ".npy") == 0;
}

bool data_column_is_index(const char *text) {
    if (text[0] == '\0') {
        return false;
    }
    for (const char *c = text; *c != '\0'; c++) {
        if (*c < '0' || *c > '9') {
            return false;
        }
    }
    return true;
}

/* True when a field (start to end, blanks around it allowed) is empty or a number, as the CSV
 * reader's header detection counts it (nan and inf are numbers). */
static bool field_is_number(const char *start, const char *end) {
    while (start < end && isspace((unsigned char)*start)) start++;
    while (end > start && isspace((unsigned char)end[-1])) end--;
    if (start == end) {
        return true;
    }
    char field[128];
    size_t length = (size_t)(end - start) < sizeof field - 1 ? (size_t)(end - start) : sizeof field - 1;
    memcpy(field, start, length);
    field[length] = '\0';
    char *stop = NULL;
    strtod(field, &stop);
    return stop != field && *stop == '\0';
}

/* 1 when the CSV file's first line is a header (a field neither empty nor a number, the reader's
 * BNMLP_CSV_HEADER_AUTO rule), else 0 (also when the file cannot be read). */
static size_t csv_header_lines(const char *path) {
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        return 0;
    }
    char line[4096];
    bool header = false;
    if (fgets(line, sizeof line, file) != NULL) {
        const char *start = line;
        for (const char *c = line;; c++) {
            if (*c == ',' || *c == ';' || *c == '\t' || *c == '\n' || *c == '\r' || *c == '\0') {
                header = header || !field_is_number(start, c);
                start = c + 1;
                if (*c == '\n' || *c == '\r' || *c == '\0') break;
            }
        }
    }
    fclose(file);
    return header ? 1 : 0;
}

void data_locate(const char *path, size_t row, char *buffer, size_t size) {
    if (data_is_npy(path)) {
        snprintf(buffer, size, "row %zu", row);
    } else {
        snprintf(buffer, size, "line %zu", row + csv_header_lines(path));
    }
}

/* Reports a reader's failure with the path and, when known, the line, column or offset. */
static void report_read_error(const char *command, const char *path, bnmlp_status status,
                              const bnmlp_error_detail *detail) {
    if (detail->line > 0) {
        cli_failure(command, "cannot read %s: line %zu, column %zu: %s", path, detail->line, detail->column,
                    detail->message[0] != '\0' ? detail->message : bnmlp_status_string(status));
    } else if (status == BNMLP_ERR_FILE_OPEN || detail->message[0] == '\0') {
        cli_failure(command, "cannot read %s: %s", path,
                    detail->message[0] != '\0' ? detail->message : bnmlp_status_string(status));
    } else {
        cli_failure(command, "cannot read %s: at byte %llu: %s", path, (unsigned long long)detail->offset,
                    detail->message);
    }
}

/* Reads a whole file (no label column) into *out. */
static bool read_all_columns(const char *command, const char *path, bnmlp_tensor **out) {
    bnmlp_error_detail detail = {0};
    bnmlp_status status;
    if (data_is_npy(path)) {
        status = bnmlp_npy_read(path, NULL, out, &detail);
    } else {
        bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
        config.label = BNMLP_CSV_LABEL_NONE;
        status = bnmlp_csv_read(path, &config, out, NULL, &detail);
    }
    if (status != BNMLP_OK) {
        report_read_error(command, path, status, &detail);
        return false;
    }
    return true;
}

/* Splits column `column` of all off: *x gets the other columns, *y that one. Frees all. */
static bool split_column(const char *command, const char *path, bnmlp_tensor *all, size_t column,
                         bnmlp_tensor **x, bnmlp_tensor **y) {
    bnmlp_status status = BNMLP_OK;
    bnmlp_tensor *features = NULL, *labels = NULL;
    if (all->cols < 2) {
        cli_failure(command, "%s has one column: no features are left besides the label", path);
        bnmlp_tensor_free(all);
        return false;
    }
    features = bnmlp_tensor_create(all->rows, all->cols - 1, &status);
    labels = features != NULL ? bnmlp_tensor_create(all->rows, 1, &status) : NULL;
    if (labels == NULL) {
        cli_failure(command, "cannot read %s: %s", path, bnmlp_status_string(status));
        bnmlp_tensor_free(features);
        bnmlp_tensor_free(all);
        return false;
    }
    for (size_t r = 0; r < all->rows; r++) {
        const float *row = all->data + r * all->cols;
        float *out = features->data + r * features->cols;
        for (size_t c = 0, k = 0; c < all->cols; c++) {
            if (c == column) {
                labels->data[r] = row[c];
            } else {
                out[k++] = row[c];
            }
        }
    }
    bnmlp_tensor_free(all);
    *x = features;
    *y = labels;
    return true;
}

/* The label column of a .npy array (by index; the last by default); false (reported) when the
 * column is a name or out of range. */
static bool npy_label_column(const char *command, const data_source *source, size_t cols, size_t *column) {
    if (source->label_column == NULL) {
        *column = cols - 1;
        return true;
    }
    if (!data_column_is_index(source->label_column)) {
        cli_failure(command,
                    "--label-column '%s': %s is a .npy file, whose columns have no names; give an index",
                    source->label_column, source->path);
        return false;
    }
    unsigned long long index = strtoull(source->label_column, NULL, 10);
    if (index >= cols) {
        cli_failure(command, "--label-column %s: %s has only %zu columns (0 to %zu)", source->label_column,
                    source->path, cols, cols - 1);
        return false;
    }
    *column = (size_t)index;
    return true;
}

/* Reads a CSV file with its label column as the library selects it. */
static bool read_csv_labelled(const char *command, const data_source *source, bnmlp_tensor **x,
                              bnmlp_tensor **y) {
    bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
    if (source->label_column != NULL && data_column_is_index(source->label_column)) {
        config.label = BNMLP_CSV_LABEL_INDEX;
        config.label_index = (size_t)strtoull(source->label_column, NULL, 10);
    } else if (source->label_column != NULL) {
        config.label = BNMLP_CSV_LABEL_NAME;
        config.label_name = source->label_column;
    }
    config.class_names = source->class_names;
    bnmlp_error_detail detail = {0};
    bnmlp_status status = bnmlp_csv_read(source->path, &config, x, y, &detail);
    if (status != BNMLP_OK) {
        report_read_error(command, source->path, status, &detail);
        return false;
    }
    return true;
}

/* Reads the CSV file at path as width features and a last column of class names, quietly: true
 * when that is what it holds (then *x is set), else false with nothing allocated. */
static bool read_text_labelled(const char *path, size_t width, bnmlp_tensor **x) {
    bnmlp_csv_read_config config = BNMLP_CSV_READ_DEFAULT;
    bnmlp_class_names *names = NULL;
    config.class_names = &names;
    bnmlp_tensor *features = NULL, *labels = NULL;
    if (bnmlp_csv_read(path, &config, &features, &labels, NULL) != BNMLP_OK) {
        return false;
    }
    bool text = names != NULL && features->cols == width;
    bnmlp_class_names_free(names);
    bnmlp_tensor_free(labels);
    if (!text) {
        bnmlp_tensor_free(features);
        return false;
    }
    *x = features;
    return true;
}

/* Copies text into out (room bytes) for a message: bytes outside printable ASCII as '?', cut with
 * "..." when long. UTF-8 names keep their length in bytes. */
static void printable(char *out, size_t room, const char *text) {
    size_t n = 0, length = strlen(text);
    for (; n < length && n + 4 < room; n++) {
        unsigned char ch = (unsigned char)text[n];
        out[n] = ch >= 0x20 && ch != 0x7F ? (char)ch : '?';
    }
    if (n < length) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* The model's index of the class named name, or SIZE_MAX. */
static size_t model_class_index(const bnmlp_model *model, const char *name) {
    for (size_t i = 0; bnmlp_model_class_name(model, i) != NULL; i++) {
        if (strcmp(bnmlp_model_class_name(model, i), name) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

bool data_map_class_names(const char *command, const char *path, bnmlp_tensor *y,
                          const bnmlp_class_names *file_names, const bnmlp_model *model) {
    size_t *map = calloc(file_names->count, sizeof *map);
    if (map == NULL) {
        cli_failure(command, "out of memory");
        return false;
    }
    bool ok = true;
    for (size_t c = 0; ok && c < file_names->count; c++) {
        map[c] = model_class_index(model, file_names->names[c]);
        if (map[c] != SIZE_MAX) {
            continue;
        }
        size_t row = 0;
        while (row < y->rows && y->data[row] != (float)c) {
            row++;
        }
        char where[64], shown[48];
        data_locate(path, row + 1, where, sizeof where);
        printable(shown, sizeof shown, file_names->names[c]);
        if (bnmlp_model_class_name(model, 0) == NULL) {
            cli_failure(command,
                        "%s: %s: label '%s' is text, but the model has no class names (it was trained "
                        "on numeric labels): give class indices",
                        path, where, shown);
        } else {
            cli_failure(command, "%s: %s: class '%s' is not one of the model's classes", path, where, shown);
        }
        ok = false;
    }
    for (size_t r = 0; ok && r < y->rows; r++) {
        y->data[r] = (float)map[(size_t)y->data[r]];
    }
    free(map);
    return ok;
}

bool data_read_labelled(const char *command, const data_source *source, bnmlp_tensor **x, bnmlp_tensor **y) {
    if (source->labels_path != NULL) {
        bnmlp_tensor *features = NULL, *labels = NULL;
        if (!read_all_columns(command, source->path, &features)) {
            return false;
        }
        if (!read_all_columns(command, source->labels_path, &labels)) {
            bnmlp_tensor_free(features);
            return false;
        }
        if (labels->rows != features->rows) {
            cli_failure(command, "%s has %zu rows but %s has %zu labels", source->path, features->rows,
                        source->labels_path, labels->rows);
            bnmlp_tensor_free(features);
            bnmlp_tensor_free(labels);
            return false;
        }
        *x = features;
        *y = labels;
        return true;
    }
    if (!data_is_npy(source->path)) {
        return read_csv_labelled(command, source, x, y);
    }
    bnmlp_tensor *all = NULL;
    size_t column = 0;
    if (!read_all_columns(command, source->path, &all)) {
        return false;
    }
    if (!npy_label_column(command, source, all->cols, &column)) {
        bnmlp_tensor_free(all);
        return false;
    }
    return split_column(command, source->path, all, column, x, y);
}

bool data_read_features(const char *command, const data_source *source, size_t width, bnmlp_tensor **x) {
    bnmlp_tensor *features = NULL, *labels = NULL;
    if (source->label_column != NULL && !data_is_npy(source->path)) {
        /* A named or numbered label column: the CSV reader leaves it out of the features. */
        if (!read_csv_labelled(command, source, &features, &labels)) {
            return false;
        }
        bnmlp_tensor_free(labels);
    } else if (!data_is_npy(source->path) && source->label_column == NULL &&
               read_text_labelled(source->path, width, &features)) {
        /* a last column of class names, left out */
    } else {
        bnmlp_tensor *all = NULL;
        if (!read_all_columns(command, source->path, &all)) {
            return false;
        }
        if (source->label_column == NULL && all->cols != width + 1) {
            features = all; /* no label column: checked below */
        } else {
            size_t column = all->cols - 1;
            if (!npy_label_column(command, source, all->cols, &column)) {
                bnmlp_tensor_free(all);
                return false;
            }
            if (!split_column(command, source->path, all, column, &features, &labels)) {
                return false;
            }
            bnmlp_tensor_free(labels);
        }
    }
    if (features->cols != width) {
        cli_failure(command,
                    "%s has %zu feature columns; the model takes %zu (a label column may come on top)",
                    source->path, features->cols, width);
        bnmlp_tensor_free(features);
        return false;
    }
    *x = features;
    return true;
}
