/*
 * outfile.c - checked text output: every fprintf and the fclose are checked, the first failure
 * is kept and reported once with the file's path.
 */
#include "outfile.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

/* The errno of a failed call, or EIO when the C library left errno at 0. */
static int failure_errno(void) { return errno != 0 ? errno : EIO; }

/* The name that starts every message (out_set_program_name). */
static const char *program_name = "program";

void out_set_program_name(const char *name) { program_name = name; }

void out_report_error(const char *path, int error) {
    fprintf(stderr, "%s: cannot write %s: %s\n", program_name, path, strerror(error));
}

bool out_open(out_file *out, const char *path) {
    out->path = path;
    out->error = 0;
    errno = 0;
    out->stream = fopen(path, "w");
    if (out->stream == NULL) {
        out->error = failure_errno();
        out_report_error(path, out->error);
        return false;
    }
    return true;
}

void out_printf(out_file *out, const char *format, ...) {
    if (out->stream == NULL || out->error != 0) {
        return;
    }
    va_list args;
    va_start(args, format);
    errno = 0;
    int written = vfprintf(out->stream, format, args);
    va_end(args);
    if (written < 0) {
        out->error = failure_errno();
    }
}

bool out_close(out_file *out) {
    if (out->stream == NULL) {
        return false;
    }
    errno = 0;
    if (fclose(out->stream) != 0 && out->error == 0) {
        out->error = failure_errno();
    }
    out->stream = NULL;
    if (out->error != 0) {
        out_report_error(out->path, out->error);
        return false;
    }
    return true;
}
