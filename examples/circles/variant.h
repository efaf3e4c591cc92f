/*
 * variant.h - the model variants of the tutorial's case study and its extensions.
 *
 * Every variant is Dense(50, relu, he_uniform) -> Dense(1, sigmoid, glorot_uniform) with batch
 * normalization placed (or left out) as its name says.
 */
#ifndef CIRCLES_VARIANT_H
#define CIRCLES_VARIANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bnmlp.h"

/* The variants, in the fixed order in which they are run, printed and written. */
typedef enum variant {
    VARIANT_NONE = 0,    /* no batch norm */
    VARIANT_AFTER,       /* batch norm after the hidden ReLU */
    VARIANT_BEFORE,      /* Dense -> batch norm -> ReLU */
    VARIANT_NOGAMMABETA, /* as after, with center and scale off */
    VARIANT_MOMENTUM0,   /* as after, with batch-norm momentum 0 */
    VARIANT_INPUT,       /* batch norm on the raw input, before the first Dense */
    VARIANT_COUNT        /* number of variants */
} variant;

/* A set of variants: bit (1u << v) for variant v. */
typedef unsigned variant_set;

/* The variants run when --variants is not given: none, after, before. */
#define VARIANT_SET_DEFAULT ((1u << VARIANT_NONE) | (1u << VARIANT_AFTER) | (1u << VARIANT_BEFORE))

/* Every variant (--variants all). */
#define VARIANT_SET_ALL ((1u << VARIANT_COUNT) - 1u)

/* Units of the hidden Dense layer (the tutorial's 50). */
#define VARIANT_HIDDEN_UNITS 50

/* The variant's command-line and file name, e.g. "after". */
const char *variant_name(variant v);

/* A short English description for plot titles, e.g. "BN after ReLU". */
const char *variant_title(variant v);

/* Finds the variant called name; false when there is none. */
bool variant_from_name(const char *name, variant *out);

/* Parses "all" or a comma-separated list of variant names into *out; false on an empty list, an
 * empty item or an unknown name. */
bool variant_set_parse(const char *text, variant_set *out);

/* Creates the variant's model for input_width features and builds it for batches of up to
 * max_batch rows from seed. bn_momentum is the batch-norm momentum (momentum0 uses 0) and
 * bn_average how its moving statistics average the batches. On failure *out is NULL and the
 * status says why. */
bnmlp_status variant_create_model(variant v, size_t input_width, float bn_momentum,
                                  bnmlp_moving_average bn_average, size_t max_batch, uint32_t seed,
                                  bnmlp_model **out);

#endif /* CIRCLES_VARIANT_H */
