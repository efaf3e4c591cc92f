/*
 * core.h - internal: the one allocation path and small helpers shared by every tier.
 * Not part of the public API.
 */
#ifndef BNMLP_CORE_H
#define BNMLP_CORE_H

#include <float.h>
#include <math.h>

#include "bnmlp.h"

/* The allocator used when the caller gives none: malloc and free. */
extern const bnmlp_allocator bnmlp_default_allocator;

/* allocator itself, or the default when it is NULL or all zero (a view's or a default data set's). */
const bnmlp_allocator *bnmlp_allocator_or_default(const bnmlp_allocator *allocator);

/* True for NULL or all zero (the default) or an allocator with both functions; false for one
 * function without the other. */
bool bnmlp_allocator_is_valid(const bnmlp_allocator *allocator);

/* size bytes from allocator (NULL or all zero: the default), or NULL. size 0 returns NULL. */
void *bnmlp_alloc(const bnmlp_allocator *allocator, size_t size);

/* count * size zeroed bytes, or NULL (also on overflow of count * size). */
void *bnmlp_alloc_zeroed(const bnmlp_allocator *allocator, size_t count, size_t size);

/* Gives back what bnmlp_alloc returned; NULL is a no-op. */
void bnmlp_release(const bnmlp_allocator *allocator, void *pointer);

/* *product = a * b; false (and *product untouched) if it would overflow size_t. */
bool bnmlp_size_mul(size_t a, size_t b, size_t *product);

/* *sum = a + b; false (and *sum untouched) if it would overflow size_t. */
bool bnmlp_size_add(size_t a, size_t b, size_t *sum);

/* 1 when x is NaN or infinite, else 0: branch-free, so that OR-ing it over a loop vectorizes
 * (a float sum of x - x would not, since float addition may not be reordered). */
static inline int bnmlp_not_finite(float x) { return !(fabsf(x) <= FLT_MAX); }

/* True when every one of the n floats is finite (no NaN, no infinity). */
bool bnmlp_all_finite(const float *values, size_t n);

/* The CRC-32 (zlib's, IEEE) of size more bytes, continuing crc (0 to start). */
uint32_t bnmlp_crc32_update(uint32_t crc, const void *data, size_t size);

/* Rows of the chunk of at most `chunk` rows that starts at row start of total rows. */
static inline size_t bnmlp_chunk_rows(size_t total, size_t start, size_t chunk) {
    return total - start < chunk ? total - start : chunk;
}

/* ---- random.c: the counter-based generator ------------------------------------------------------
 * A stateless generator for draws that must not depend on the order they are made in (dropout's
 * masks): a draw is a pure function of a 64-bit key and a counter, so any thread may make any
 * draw. A key is built from words one at a time (bnmlp_counter_key(bnmlp_counter_key(seed, step),
 * layer) ...); the draws of one key are splitmix64's stream started at that key. */

/* The key extended by one more word: a mixing of both, unrelated for different (key, word). */
uint64_t bnmlp_counter_key(uint64_t key, uint64_t word);

/* Draw number counter of key: 64 well-mixed bits (splitmix64's counter-th output from key). */
uint64_t bnmlp_counter_bits(uint64_t key, uint64_t counter);

/* Draw number counter of key as a double uniform in [0, 1), 53 bits. */
static inline double bnmlp_counter_uniform(uint64_t key, uint64_t counter) {
    return (double)(bnmlp_counter_bits(key, counter) >> 11) * 0x1p-53;
}

/* Appends the printf-style text at text + *used (text holds size bytes in all; NULL with size 0
 * only counts) as snprintf would, and adds its whole length to *used, what did not fit included:
 * the documents the tables write (docs/model-format.md's) are measured and written by one pass. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 4, 5)))
#endif
void bnmlp_text_appendf(char *text, size_t size, size_t *used, const char *format, ...);

/* Writes status into *out when out is not NULL; returns status. */
bnmlp_status bnmlp_set_status(bnmlp_status *out, bnmlp_status status);

#endif /* BNMLP_CORE_H */
