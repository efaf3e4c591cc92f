/* numbers.c - strict parsing of command-line numbers. */
#include "numbers.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

bool parse_decimal(const char *text, double min, double max, unsigned long long *out) {
    if (!isdigit((unsigned char)text[0])) return false;
    char *end = NULL;
    errno = 0;
    const unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || (double)value < min || (double)value > max) return false;
    *out = value;
    return true;
}

bool parse_real(const char *text, double min, double max, int open, double *out) {
    char *end = NULL;
    errno = 0;
    const double value = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !isfinite(value) || isspace((unsigned char)text[0]))
        return false;
    const bool below = (open & MIN_OPEN) ? value <= min : value < min;
    const bool above = (open & MAX_OPEN) ? value >= max : value > max;
    if (below || above) return false;
    *out = value;
    return true;
}
