/*
 * outfile.h - writing a text file whose first failure is remembered and reported with its path.
 *
 * Every write goes through out_printf, which checks its result; out_close checks fclose too and
 * reports the first failure as "PROGRAM: cannot write PATH: reason" on stderr, PROGRAM being the
 * name given to out_set_program_name. Shared by the example programs and the bnmlp tool (target
 * bnmlp_program_support; not part of libbnmlp).
 */
#ifndef BNMLP_PROGRAM_OUTFILE_H
#define BNMLP_PROGRAM_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

#if defined(__GNUC__)
#define PROGRAM_PRINTF_LIKE(format_index, first_arg) __attribute__((format(printf, format_index, first_arg)))
#else
#define PROGRAM_PRINTF_LIKE(format_index, first_arg)
#endif

/* A file being written. */
typedef struct out_file {
    FILE *stream;     /* the open file; NULL when opening failed */
    const char *path; /* its path, for messages (not copied: must outlive the out_file) */
    int error;        /* errno of the first failure; 0 while every call has succeeded */
} out_file;

/* Opens path for writing (truncating it). On failure reports the path and reason on stderr and
 * returns false (then out_close must not be called). */
bool out_open(out_file *out, const char *path);

/* printf into the file; a failure is remembered (later calls do nothing) and reported by out_close. */
void out_printf(out_file *out, const char *format, ...) PROGRAM_PRINTF_LIKE(2, 3);

/* Closes the file. Returns true when every write and the close succeeded; otherwise reports the
 * first failure with the path on stderr and returns false. */
bool out_close(out_file *out);

/* Sets the program name that starts every message (a static string; default "program"). Call it
 * once at start-up, before any thread writes files. */
void out_set_program_name(const char *name);

/* Reports "PROGRAM: cannot write PATH: strerror(error)" on stderr. */
void out_report_error(const char *path, int error);

#endif /* BNMLP_PROGRAM_OUTFILE_H */
