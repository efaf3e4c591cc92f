/*
 * class_names.h - internal: making and checking bnmlp_class_names (the CSV reader's text labels,
 * the model's class names). Not part of the public API.
 */
#ifndef BNMLP_CLASS_NAMES_H
#define BNMLP_CLASS_NAMES_H

#include "bnmlp.h"

/* Makes *out, one allocation from allocator, holding count names (texts[i], lengths[i] bytes, no
 * NUL inside) in the order given. BNMLP_ERR_OVERFLOW or BNMLP_ERR_OUT_OF_MEMORY (*out untouched). */
bnmlp_status bnmlp_class_names_create(const char *const *texts, const size_t *lengths, size_t count,
                                      const bnmlp_allocator *allocator, bnmlp_class_names **out);

/* BNMLP_OK when the count names are distinct; BNMLP_ERR_INVALID_ARGUMENT when two are equal (*first
 * gets the index of the later one), BNMLP_ERR_OUT_OF_MEMORY when the scratch (count pointers,
 * from allocator) cannot be had. */
bnmlp_status bnmlp_class_names_distinct(const char *const *names, size_t count,
                                        const bnmlp_allocator *allocator, size_t *first);

#endif /* BNMLP_CLASS_NAMES_H */
