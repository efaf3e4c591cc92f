/*
 * export.h - internal: the export table. Each format (C source, ONNX, safetensors, ...) is one
 * row: its name, a sentence for help texts, whether it writes a directory, and its writer. The
 * export tier reads a model through the model tier's accessors only; nothing below it knows
 * export exists. Not part of the public API.
 */
#ifndef BNMLP_EXPORT_H
#define BNMLP_EXPORT_H

#include "core/core.h"

/* One export format. */
typedef struct bnmlp_export_format_row {
    const char *name;      /* as --format takes it, e.g. "c" */
    const char *summary;   /* one English sentence */
    bool writes_directory; /* path is an existing directory that receives several files */
    bool takes_int8;       /* accepts BNMLP_EXPORT_WEIGHTS_INT8 */
    bool takes_test;       /* accepts with_test */
    bool folds;            /* describes the model with batch norm folded (bnmlp_model_fold) */
    /* Writes model to path with options (already checked against the row's flags: name valid,
     * test_rows >= 1). model is the folded model for a row that folds, else the caller's;
     * original is always the caller's (a self-test's reference). Leaves no file behind on
     * error; detail's message says what. */
    bnmlp_status (*write)(bnmlp_model *model, bnmlp_model *original, const char *path,
                          const bnmlp_export_options *options, bnmlp_error_detail *detail);
} bnmlp_export_format_row;

/* The rows, each in its own file. */
extern const bnmlp_export_format_row bnmlp_export_onnx;        /* onnx.c */
extern const bnmlp_export_format_row bnmlp_export_safetensors; /* safetensors.c */

/* bnmlp_model_fold (fold.c), with step 2 (a batch norm or normalization folded into the next
 * dense layer, W' = diag(s) W) only when into_next: the int8 form (quantize.c) keeps such a layer
 * in float, since scaling W's rows would spread them over one per-column int8 scale. */
bnmlp_model *bnmlp_export_fold(const bnmlp_model *model, const bnmlp_allocator *allocator, bool into_next,
                               bnmlp_status *status);

#endif /* BNMLP_EXPORT_H */
