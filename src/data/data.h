/*
 * data.h - internal: helpers shared by the data-set generators (datasets.c, blobs.c).
 * Not part of the public API.
 */
#ifndef BNMLP_DATA_H
#define BNMLP_DATA_H

#include "core/core.h"

/* Checks that rows x cols floats, rows labels and rows indices all have byte sizes that fit
 * size_t: BNMLP_OK or BNMLP_ERR_OVERFLOW. */
bnmlp_status bnmlp_data_check_sizes(size_t rows, size_t cols);

/* Allocates the arrays of a rows x cols data set into *made (sizes already checked by
 * bnmlp_data_check_sizes); on failure frees what it got and returns BNMLP_ERR_OUT_OF_MEMORY. */
bnmlp_status bnmlp_data_allocate(const bnmlp_allocator *allocator, size_t rows, size_t cols,
                                 bnmlp_dataset *made);

/* A new array of 0, 1, ..., n - 1 shuffled by rng as sklearn.utils.shuffle and
 * RandomState.permutation do (one RandomState.shuffle of arange(n)); rng is left after the
 * shuffle. NULL when allocation fails. Release it through the same allocator. */
size_t *bnmlp_data_shuffled_indices(const bnmlp_allocator *allocator, bnmlp_random *rng, size_t n);

/* Copies count rows of source into a new *made allocated through source's allocator: row r is
 * source row order[start + r], or start + r without order. */
bnmlp_status bnmlp_data_gather_rows(const bnmlp_dataset *source, const size_t *order, size_t start,
                                    size_t count, bnmlp_dataset *made);

#endif /* BNMLP_DATA_H */
