/*
 * spec.h - the layer language of `bnmlp train --layers SPEC`: comma-separated layers, each a
 * colon-separated token (docs/cli.md has the grammar):
 *   dense:UNITS[:ACTIVATION][:INITIALIZER][:nobias][:alpha=A]
 *   relu | sigmoid | tanh | softmax | linear | leaky_relu[:alpha=A]
 *   bn[:momentum=M][:eps=E][:nocenter][:noscale][:variance=biased|unbiased|keras2]
 *     [:average=exponential|debiased|cumulative]
 *   dropout:RATE                (RATE in [0, 1))
 *   norm                        (first layer only: adapted on the training rows)
 * e.g. "norm,dense:50:relu:he_uniform,bn,dropout:0.2,dense:1:sigmoid". Spaces and tabs around a
 * layer or one of its parts are ignored ("dense:64:relu, bn").
 */
#ifndef BNMLP_CLI_SPEC_H
#define BNMLP_CLI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bnmlp.h"

/* Most layers a SPEC may have. */
#define SPEC_MAX_LAYERS 64

/* Kinds of layer token. */
typedef enum spec_kind {
    SPEC_DENSE = 0,    /* dense:... (its activation, if any, is part of the dense config) */
    SPEC_ACTIVATION,   /* a standalone activation */
    SPEC_BATCHNORM,    /* bn:... */
    SPEC_DROPOUT,      /* dropout:RATE */
    SPEC_NORMALIZATION /* norm */
} spec_kind;

/* One layer of a SPEC. */
typedef struct spec_layer {
    spec_kind kind;                   /* which union member applies */
    bnmlp_dense_config dense;         /* SPEC_DENSE */
    bnmlp_activation activation;      /* SPEC_ACTIVATION */
    float alpha;                      /* SPEC_ACTIVATION: leaky_relu's slope. Default 0.3 */
    bnmlp_batchnorm_config batchnorm; /* SPEC_BATCHNORM */
    float rate;                       /* SPEC_DROPOUT: the fraction dropped, in [0, 1) */
} spec_layer;

/* A parsed SPEC. */
typedef struct layer_spec {
    spec_layer layers[SPEC_MAX_LAYERS]; /* in order */
    size_t count;                       /* layers used */
} layer_spec;

/* Where and why a SPEC is wrong. */
typedef struct spec_error {
    size_t offset;     /* byte offset of the offending part in the SPEC */
    size_t length;     /* its length (at least 1) */
    char message[320]; /* what is wrong */
} spec_error;

/* Parses text into *out; false with *error filled for a bad SPEC. */
bool spec_parse(const char *text, layer_spec *out, spec_error *error);

/* Prints the error as a compiler does: the message, the SPEC, and a caret under the bad part. */
void spec_print_error(FILE *stream, const char *command, const char *text, const spec_error *error);

/* Width of the last dense layer (the model's output width). */
size_t spec_output_width(const layer_spec *spec);

/* The last activation of the SPEC (a dense layer's or a standalone one; linear when none). */
bnmlp_activation spec_last_activation(const layer_spec *spec);

/* Adds the layers to a model that has none yet; seed keys the dropout layers' masks (each layer's
 * index is in its key too, so one seed serves them all). */
bnmlp_status spec_add_layers(const layer_spec *spec, bnmlp_model *model, uint64_t seed);

/* Adapts a leading norm layer of the built model (layer 0) on x, the training rows; BNMLP_OK
 * (nothing done) when the SPEC has none, else bnmlp_model_adapt's status. */
bnmlp_status spec_adapt(const layer_spec *spec, bnmlp_model *model, const bnmlp_tensor *x);

#endif /* BNMLP_CLI_SPEC_H */
