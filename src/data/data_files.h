/*
 * data_files.h - internal: shared helpers of csv.c and npy.c, and their entry points with an
 * injected I/O failure for tests. Not part of the public API.
 */
#ifndef BNMLP_DATA_FILES_H
#define BNMLP_DATA_FILES_H

#include "bnmlp.h"
#include "core/file.h"

/* bnmlp_csv_write with fault injected into its writer (NULL: none). */
bnmlp_status bnmlp_csv_write_with_fault(const char *path, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                        const bnmlp_csv_write_config *config, bnmlp_error_detail *detail,
                                        const bnmlp_file_fault *fault);

/* bnmlp_npy_write with fault injected into its writer (NULL: none). */
bnmlp_status bnmlp_npy_write_with_fault(const char *path, const bnmlp_tensor *tensor,
                                        const bnmlp_npy_write_config *config, bnmlp_error_detail *detail,
                                        const bnmlp_file_fault *fault);

/* Rounds a finite double to float: false (and *out untouched) when it is NaN, infinite, or
 * would round to infinity (|value| >= FLT_MAX + half an ulp). */
bool bnmlp_double_to_float(double value, float *out);

/* Copies up to room - 1 bytes of text[0..length) into out for a message, each byte outside
 * printable ASCII replaced by '?', and "..." when cut; out is always terminated. */
void bnmlp_printable(char *out, size_t room, const char *text, size_t length);

#endif /* BNMLP_DATA_FILES_H */
