/*
 * outfile.h - writing a text file whose first failure is remembered and reported with its path.
 *
 * Every write goes through out_printf, which checks its result; out_close checks fclose too and
 * reports the first failure as "circles: cannot write PATH: reason" on stderr.
 */
#ifndef CIRCLES_OUTFILE_H
#define CIRCLES_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

#if defined(__GNUC__)
#define CIRCLES_PRINTF_LIKE(format_index, first_arg) __attribute__((format(printf, format_index, first_arg)))
#else
#define CIRCLES_PRINTF_LIKE(format_index, first_arg)
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
void out_printf(out_file *out, const char *format, ...) CIRCLES_PRINTF_LIKE(2, 3);

/* Closes the file. Returns true when every write and the close succeeded; otherwise reports the
 * first failure with the path on stderr and returns false. */
bool out_close(out_file *out);

/* Reports "circles: cannot write PATH: strerror(error)" on stderr. */
void out_report_error(const char *path, int error);

#endif /* CIRCLES_OUTFILE_H */
