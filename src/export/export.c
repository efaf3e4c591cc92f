/*
 * export.c - the export table's list and the public calls that read it: a format is found by
 * name, the options are checked once here against the row, and the row writes.
 */
#include "export/export.h"

#include <ctype.h>
#include <string.h>

#include "core/file.h"
#include "export/c_source.h"

/* The formats, in the order bnmlp_export_format_name lists them. Each row lives in its own file;
 * a new format is one line here. The NULL ends the list (C has no empty arrays). */
static const bnmlp_export_format_row *const FORMATS[] = {
    &bnmlp_export_c_row,
    &bnmlp_export_onnx,
    &bnmlp_export_safetensors,
    NULL,
};

static const size_t FORMAT_COUNT = sizeof FORMATS / sizeof FORMATS[0] - 1;

size_t bnmlp_export_format_count(void) { return FORMAT_COUNT; }

static const bnmlp_export_format_row *row_at(size_t index) {
    return index < FORMAT_COUNT ? FORMATS[index] : NULL;
}

const char *bnmlp_export_format_name(size_t index) {
    const bnmlp_export_format_row *row = row_at(index);
    return row == NULL ? NULL : row->name;
}

const char *bnmlp_export_format_summary(size_t index) {
    const bnmlp_export_format_row *row = row_at(index);
    return row == NULL ? NULL : row->summary;
}

bool bnmlp_export_format_writes_directory(size_t index) {
    const bnmlp_export_format_row *row = row_at(index);
    return row != NULL && row->writes_directory;
}

static bnmlp_status refuse(bnmlp_error_detail *detail, const char *message) {
    bnmlp_detail_set(detail, 0, 0, 0, "%s", message);
    return BNMLP_ERR_INVALID_ARGUMENT;
}

/* A C identifier of 1 to 64 characters. */
static bool valid_name(const char *name) {
    size_t length = name == NULL ? 0 : strlen(name);
    if (length == 0 || length > 64 || isdigit((unsigned char)name[0])) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 0x80 || !(isalnum(c) || c == '_')) {
            return false;
        }
    }
    return true;
}

bnmlp_status bnmlp_model_export(bnmlp_model *model, const char *format, const char *path,
                                const bnmlp_export_options *options, bnmlp_error_detail *detail) {
    if (model == NULL || format == NULL || path == NULL) {
        return BNMLP_ERR_NULL_ARGUMENT;
    }
    const bnmlp_export_options defaults = BNMLP_EXPORT_OPTIONS_DEFAULT;
    const bnmlp_export_options *o = options == NULL ? &defaults : options;
    const bnmlp_export_format_row *row = NULL;
    for (size_t i = 0; i < FORMAT_COUNT; i++) {
        if (strcmp(FORMATS[i]->name, format) == 0) {
            row = FORMATS[i];
        }
    }
    if (row == NULL) {
        return refuse(detail, "unknown export format");
    }
    if (bnmlp_model_is_quantized(model)) {
        bnmlp_detail_set(detail, 0, 0, 0,
                         "an int8 (quantized) model cannot be exported: export the float model");
        return BNMLP_ERR_UNSUPPORTED;
    }
    if (!valid_name(o->name)) {
        return refuse(detail, "the name must be a C identifier of at most 64 characters");
    }
    if (o->weights != BNMLP_EXPORT_WEIGHTS_FLOAT32 && o->weights != BNMLP_EXPORT_WEIGHTS_INT8) {
        return refuse(detail, "unknown weight storage");
    }
    if (o->weights == BNMLP_EXPORT_WEIGHTS_INT8 && !row->takes_int8) {
        return refuse(detail, "this format does not take int8 weights");
    }
    if (o->with_test && !row->takes_test) {
        return refuse(detail, "this format has no self-test");
    }
    if (o->with_test && o->test_rows == 0) {
        return refuse(detail, "a self-test needs at least one row");
    }
    if (!row->folds) {
        return row->write(model, model, path, o, detail);
    }
    bnmlp_status status = BNMLP_OK;
    bnmlp_model *folded = bnmlp_model_fold(model, NULL, &status);
    if (folded == NULL) {
        bnmlp_detail_set(detail, 0, 0, 0, "cannot fold the model's batch norm for export: %s",
                         bnmlp_status_string(status));
        return status;
    }
    status = row->write(folded, model, path, o, detail);
    bnmlp_model_free(folded);
    return status;
}
