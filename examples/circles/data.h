/*
 * data.h - the example's data set: generating it from the data flags and dumping it as CSV.
 */
#ifndef CIRCLES_DATA_H
#define CIRCLES_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bnmlp.h"

/* Which scikit-learn generator makes the data set. */
typedef enum dataset_kind {
    DATASET_CIRCLES = 0, /* make_circles */
    DATASET_MOONS        /* make_moons */
} dataset_kind;

/* The data flags: --dataset, --n-samples, --noise, --random-state, --factor, --no-shuffle. */
typedef struct data_options {
    dataset_kind kind;     /* generator. Default circles */
    size_t n_samples;      /* rows in all (the first half trains, the rest tests). Default 1000 */
    double noise;          /* standard deviation of the Gaussian noise, 0 for none. Default 0.1 */
    uint32_t random_state; /* seed of the generator's RandomState. Default 1 */
    double factor;         /* inner over outer radius, circles only, in [0, 1). Default 0.8 */
    bool shuffle;          /* shuffle the rows. Default true */
} data_options;

/* The defaults: the tutorial's make_circles(n_samples=1000, noise=0.1, random_state=1). */
#define DATA_OPTIONS_DEFAULT                                                                                 \
    ((data_options){.kind = DATASET_CIRCLES,                                                                 \
                    .n_samples = 1000,                                                                       \
                    .noise = 0.1,                                                                            \
                    .random_state = 1,                                                                       \
                    .factor = 0.8,                                                                           \
                    .shuffle = true})

/* "circles" or "moons". */
const char *dataset_kind_name(dataset_kind kind);

/* Finds the generator called name ("circles" or "moons"); false when there is none. */
bool dataset_kind_from_name(const char *name, dataset_kind *out);

/* Generates the data set into *out (free with bnmlp_dataset_free). On failure reports the reason
 * on stderr and returns false. */
bool dataset_generate(const data_options *options, bnmlp_dataset *out);

/* Writes the generator call as text, e.g. "make_circles(n_samples=1000, noise=0.1, ...)". */
void dataset_describe(const data_options *options, char *buffer, size_t size);

/* Writes the data set as CSV: header "x0,x1,label" (one x column per feature), then one row per
 * sample, the floats with 9 significant digits. Reports a failure with the path; false then. */
bool dataset_write_csv(const bnmlp_dataset *dataset, const char *path);

#endif /* CIRCLES_DATA_H */
