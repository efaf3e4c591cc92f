/* text.c - appending formatted text to a caller's buffer, counting what does not fit. */
#include "core/core.h"

#include <stdarg.h>
#include <stdio.h>

void bnmlp_text_appendf(char *text, size_t size, size_t *used, const char *format, ...) {
    va_list args;
    va_start(args, format);
    const int n =
        vsnprintf(*used < size ? text + *used : NULL, *used < size ? size - *used : 0, format, args);
    va_end(args);
    if (n > 0) *used += (size_t)n;
}
