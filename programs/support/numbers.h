/*
 * numbers.h - strict parsing of the numbers the programs take on their command lines: the whole
 * text must be the number (no leading blanks, no trailing characters), within a range.
 */
#ifndef PROGRAM_NUMBERS_H
#define PROGRAM_NUMBERS_H

#include <stdbool.h>

/* Which ends of a number's range are excluded (bits of `open`). */
enum { CLOSED = 0, MIN_OPEN = 1, MAX_OPEN = 2 };

/* A decimal integer (digits only) within [min, max] into *out; false otherwise. */
bool parse_decimal(const char *text, double min, double max, unsigned long long *out);

/* A finite real number within [min, max], the ends excluded as open says, into *out; false
 * otherwise. */
bool parse_real(const char *text, double min, double max, int open, double *out);

#endif /* PROGRAM_NUMBERS_H */
