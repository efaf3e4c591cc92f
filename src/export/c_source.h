/*
 * c_source.h - internal: the "c" export format (c_source.c), a model as dependency-free C99 source:
 * NAME.h, NAME.c and, with a self-test, NAME_test.c (docs/deploy.md shows the output). Not part of
 * the public API.
 */
#ifndef BNMLP_EXPORT_C_SOURCE_H
#define BNMLP_EXPORT_C_SOURCE_H

#include "core/file.h"
#include "export/export.h"

/* The files of the C format, in the order they are written and renamed into place. */
typedef enum bnmlp_c_export_file {
    BNMLP_C_EXPORT_HEADER = 0, /* NAME.h */
    BNMLP_C_EXPORT_SOURCE,     /* NAME.c */
    BNMLP_C_EXPORT_TEST,       /* NAME_test.c, only with options->with_test */
    BNMLP_C_EXPORT_FILES
} bnmlp_c_export_file;

/* The row of export.c's list. */
extern const bnmlp_export_format_row bnmlp_export_c_row;

/* The row's writer with injected failures, for tests: faults (NULL: none) holds one fault per
 * file, indexed by bnmlp_c_export_file. model is what the files describe (bnmlp_model_export
 * passes the folded model), original the caller's model: the self-test's inputs are spread as
 * its first layer's statistics say and its outputs are original's predictions (for int8, the
 * predictions of model with its kernels dequantized). directory must exist; options are checked
 * by the caller (bnmlp_model_export) as for the row. */
bnmlp_status bnmlp_export_c_write(bnmlp_model *model, bnmlp_model *original, const char *directory,
                                  const bnmlp_export_options *options, const bnmlp_file_fault *faults,
                                  bnmlp_error_detail *detail);

#endif /* BNMLP_EXPORT_C_SOURCE_H */
