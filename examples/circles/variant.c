/*
 * variant.c - names of the variants and the layers each one stacks.
 */
#include "variant.h"

#include <string.h>

/* Name and description of every variant, indexed by enum variant. */
static const struct {
    const char *name;  /* command-line and file name */
    const char *title; /* description for plots */
} VARIANTS[VARIANT_COUNT] = {
    [VARIANT_NONE] = {"none", "no batch norm"},
    [VARIANT_AFTER] = {"after", "BN after ReLU"},
    [VARIANT_BEFORE] = {"before", "BN before ReLU"},
    [VARIANT_NOGAMMABETA] = {"nogammabeta", "BN after ReLU, no gamma/beta"},
    [VARIANT_MOMENTUM0] = {"momentum0", "BN after ReLU, momentum 0"},
    [VARIANT_INPUT] = {"input", "BN on the input"},
};

const char *variant_name(variant v) { return (unsigned)v < VARIANT_COUNT ? VARIANTS[v].name : "?"; }

const char *variant_title(variant v) { return (unsigned)v < VARIANT_COUNT ? VARIANTS[v].title : "?"; }

bool variant_from_name(const char *name, variant *out) {
    for (int v = 0; v < VARIANT_COUNT; v++) {
        if (strcmp(name, VARIANTS[v].name) == 0) {
            *out = (variant)v;
            return true;
        }
    }
    return false;
}

/* Looks up the length-byte name starting at text; false when it names no variant. */
static bool variant_from_span(const char *text, size_t length, variant *out) {
    char name[32];
    if (length == 0 || length >= sizeof name) {
        return false;
    }
    memcpy(name, text, length);
    name[length] = '\0';
    return variant_from_name(name, out);
}

bool variant_set_parse(const char *text, variant_set *out) {
    if (strcmp(text, "all") == 0) {
        *out = VARIANT_SET_ALL;
        return true;
    }
    variant_set set = 0;
    for (;;) {
        size_t length = strcspn(text, ",");
        variant v;
        if (!variant_from_span(text, length, &v)) {
            return false;
        }
        set |= 1u << v;
        if (text[length] == '\0') {
            break;
        }
        text += length + 1;
    }
    *out = set;
    return true;
}

/* Adds a batch-normalization layer with the given momentum, center and scale. */
static bnmlp_status add_batchnorm(bnmlp_model *model, float momentum, bnmlp_moving_average average,
                                  bool learn_gamma_beta) {
    bnmlp_batchnorm_config config = BNMLP_BATCHNORM_DEFAULT;
    config.momentum = momentum;
    config.moving_average = average;
    config.center = learn_gamma_beta;
    config.scale = learn_gamma_beta;
    return bnmlp_model_add_batchnorm(model, &config);
}

/* Adds the hidden layer Dense(50, he_uniform) with the given activation. */
static bnmlp_status add_hidden(bnmlp_model *model, bnmlp_activation activation) {
    bnmlp_dense_config config = BNMLP_DENSE_DEFAULT(VARIANT_HIDDEN_UNITS);
    config.kernel_initializer = BNMLP_INIT_HE_UNIFORM;
    config.activation = activation;
    return bnmlp_model_add_dense(model, &config);
}

/* Adds the output layer Dense(1, sigmoid, glorot_uniform). */
static bnmlp_status add_output(bnmlp_model *model) {
    bnmlp_dense_config config = BNMLP_DENSE_DEFAULT(1);
    config.kernel_initializer = BNMLP_INIT_GLOROT_UNIFORM;
    config.activation = BNMLP_ACTIVATION_SIGMOID;
    return bnmlp_model_add_dense(model, &config);
}

/* Adds everything up to and including the hidden ReLU, batch norm where the variant wants it. */
static bnmlp_status add_hidden_block(bnmlp_model *model, variant v, float bn_momentum,
                                     bnmlp_moving_average bn_average) {
    bnmlp_status status = BNMLP_OK;
    switch (v) {
    case VARIANT_NONE: return add_hidden(model, BNMLP_ACTIVATION_RELU);
    case VARIANT_AFTER:
    case VARIANT_NOGAMMABETA:
    case VARIANT_MOMENTUM0:
        status = add_hidden(model, BNMLP_ACTIVATION_RELU);
        if (status == BNMLP_OK) {
            status = add_batchnorm(model, v == VARIANT_MOMENTUM0 ? 0.0f : bn_momentum, bn_average,
                                   v != VARIANT_NOGAMMABETA);
        }
        return status;
    case VARIANT_BEFORE:
        status = add_hidden(model, BNMLP_ACTIVATION_LINEAR);
        if (status == BNMLP_OK) {
            status = add_batchnorm(model, bn_momentum, bn_average, true);
        }
        if (status == BNMLP_OK) {
            status = bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f);
        }
        return status;
    case VARIANT_INPUT:
        status = add_batchnorm(model, bn_momentum, bn_average, true);
        if (status == BNMLP_OK) {
            status = add_hidden(model, BNMLP_ACTIVATION_RELU);
        }
        return status;
    case VARIANT_COUNT: break;
    }
    return BNMLP_ERR_INVALID_ARGUMENT;
}

bnmlp_status variant_create_model(variant v, size_t input_width, float bn_momentum,
                                  bnmlp_moving_average bn_average, size_t max_batch, uint32_t seed,
                                  bnmlp_model **out) {
    *out = NULL;
    bnmlp_status status = BNMLP_OK;
    bnmlp_model *model = bnmlp_model_create(input_width, &status);
    if (model == NULL) {
        return status;
    }
    status = add_hidden_block(model, v, bn_momentum, bn_average);
    if (status == BNMLP_OK) {
        status = add_output(model);
    }
    if (status == BNMLP_OK) {
        status = bnmlp_model_build(model, max_batch, seed);
    }
    if (status != BNMLP_OK) {
        bnmlp_model_free(model);
        return status;
    }
    *out = model;
    return BNMLP_OK;
}
