/*
 * spec.c - parsing the layer language: layers separated by ',', parts of a layer by ':'. Every
 * error records the offset and length of the part it is about, so that it can be underlined.
 */
#include "spec.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Most units a dense layer may have. */
#define MAX_UNITS 1000000

/* A slice of the SPEC text. */
typedef struct part {
    const char *text; /* start of the whole SPEC */
    size_t offset;    /* where the part starts */
    size_t length;    /* its length */
} part;

/* Names of the initializers, indexed by bnmlp_initializer. */
static const char *const INITIALIZER_NAMES[] = {
    [BNMLP_INIT_GLOROT_UNIFORM] = "glorot_uniform",
    [BNMLP_INIT_GLOROT_NORMAL] = "glorot_normal",
    [BNMLP_INIT_HE_UNIFORM] = "he_uniform",
    [BNMLP_INIT_HE_NORMAL] = "he_normal",
    [BNMLP_INIT_ZEROS] = "zeros",
};

/* Names of the moving-variance estimators and moving averages. */
static const char *const VARIANCE_NAMES[] = {[BNMLP_VARIANCE_BIASED] = "biased",
                                             [BNMLP_VARIANCE_UNBIASED] = "unbiased",
                                             [BNMLP_VARIANCE_KERAS2] = "keras2"};
static const char *const AVERAGE_NAMES[] = {[BNMLP_AVERAGE_EXPONENTIAL] = "exponential",
                                            [BNMLP_AVERAGE_DEBIASED] = "debiased",
                                            [BNMLP_AVERAGE_CUMULATIVE] = "cumulative"};

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

/* Records an error about part p; returns false for the caller to return. */
static bool fail(spec_error *error, part p, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static bool fail(spec_error *error, part p, const char *format, ...) {
    error->offset = p.offset;
    error->length = p.length > 0 ? p.length : 1;
    va_list args;
    va_start(args, format);
    vsnprintf(error->message, sizeof error->message, format, args);
    va_end(args);
    return false;
}

/* The first character of a part. */
static const char *text_of(part p) { return p.text + p.offset; }

/* True when the part is exactly word. */
static bool part_is(part p, const char *word) {
    return strlen(word) == p.length && strncmp(p.text + p.offset, word, p.length) == 0;
}

/* Index of the part in names (count entries), or -1. */
static int part_index(part p, const char *const *names, size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (part_is(p, names[i])) {
            return (int)i;
        }
    }
    return -1;
}

/* The activation p names (a name or alias the library knows), or -1. */
static int activation_index(part p) {
    char name[48];
    if (p.length >= sizeof name) return -1;
    memcpy(name, text_of(p), p.length);
    name[p.length] = '\0';
    bnmlp_activation activation;
    return bnmlp_activation_from_name(name, &activation) == BNMLP_OK ? (int)activation : -1;
}

/* The library's activation names, "linear, relu, ...", into list (size bytes). */
static const char *activation_list(char *list, size_t size) {
    size_t used = 0;
    list[0] = '\0';
    for (int a = 0; strcmp(bnmlp_activation_name((bnmlp_activation)a), "unknown") != 0; a++) {
        const int n = snprintf(list + used, size - used, "%s%s", a ? ", " : "",
                               bnmlp_activation_name((bnmlp_activation)a));
        if (n < 0 || (size_t)n >= size - used) break;
        used += (size_t)n;
    }
    return list;
}

/* True when the activation reads the layer's alpha (the library gives it a default). */
static bool takes_alpha(bnmlp_activation activation) {
    return !isnan(bnmlp_activation_default_alpha(activation));
}

/* The alpha a layer of this activation gets when none is given: the library's default for one
 * that reads it, else the dense default's (stored, never read). */
static float default_alpha(bnmlp_activation activation) {
    return takes_alpha(activation) ? bnmlp_activation_default_alpha(activation)
                                   : BNMLP_DENSE_DEFAULT(1).activation_alpha;
}

/* Splits "key=value": *key and *value get the two sides; false when there is no '='. */
static bool split_key_value(part p, part *key, part *value) {
    const char *equals = memchr(p.text + p.offset, '=', p.length);
    if (equals == NULL) {
        return false;
    }
    size_t key_length = (size_t)(equals - (p.text + p.offset));
    *key = (part){p.text, p.offset, key_length};
    *value = (part){p.text, p.offset + key_length + 1, p.length - key_length - 1};
    return true;
}

/* Parses a finite real number that fills the whole part. */
static bool part_real(part p, double *out) {
    char buffer[64];
    if (p.length == 0 || p.length >= sizeof buffer) {
        return false;
    }
    memcpy(buffer, p.text + p.offset, p.length);
    buffer[p.length] = '\0';
    char *end = NULL;
    errno = 0;
    double value = strtod(buffer, &end);
    if (end == buffer || *end != '\0' || errno != 0 || !isfinite(value) || buffer[0] == ' ') {
        return false;
    }
    *out = value;
    return true;
}

/* Parses a decimal integer (digits only) that fills the whole part, within [1, max]. */
static bool part_count(part p, size_t max, size_t *out) {
    if (p.length == 0 || p.length > 9) {
        return false;
    }
    size_t value = 0;
    for (size_t i = 0; i < p.length; i++) {
        char c = p.text[p.offset + i];
        if (c < '0' || c > '9') {
            return false;
        }
        value = value * 10 + (size_t)(c - '0');
    }
    if (value < 1 || value > max) {
        return false;
    }
    *out = value;
    return true;
}

/* Parses "alpha=A" (finite) into *alpha; false (recorded) when malformed. */
static bool parse_alpha(part value, float *alpha, spec_error *error) {
    double real = 0.0;
    if (!part_real(value, &real)) {
        return fail(error, value, "alpha must be a finite number");
    }
    *alpha = (float)real;
    return true;
}

/* Parses the parts of "dense:UNITS[:...]" after "dense". */
static bool parse_dense(const part *parts, size_t count, spec_layer *layer, spec_error *error) {
    layer->kind = SPEC_DENSE;
    if (count < 2) {
        return fail(error, parts[0], "dense needs a number of units, e.g. dense:32");
    }
    size_t units = 0;
    if (!part_count(parts[1], MAX_UNITS, &units)) {
        return fail(error, parts[1], "the number of units must be an integer from 1 to %d", MAX_UNITS);
    }
    layer->dense = BNMLP_DENSE_DEFAULT(units);
    bool have_activation = false, have_initializer = false, have_alpha = false;
    for (size_t i = 2; i < count; i++) {
        part key, value;
        int index;
        if ((index = activation_index(parts[i])) >= 0) {
            if (have_activation) {
                return fail(error, parts[i], "a second activation for one dense layer");
            }
            layer->dense.activation = (bnmlp_activation)index;
            have_activation = true;
        } else if ((index = part_index(parts[i], INITIALIZER_NAMES, COUNT_OF(INITIALIZER_NAMES))) >= 0) {
            if (have_initializer) {
                return fail(error, parts[i], "a second initializer for one dense layer");
            }
            layer->dense.kernel_initializer = (bnmlp_initializer)index;
            have_initializer = true;
        } else if (part_is(parts[i], "nobias")) {
            layer->dense.use_bias = false;
        } else if (split_key_value(parts[i], &key, &value) && part_is(key, "alpha")) {
            if (!parse_alpha(value, &layer->dense.activation_alpha, error)) {
                return false;
            }
            have_alpha = true;
        } else {
            char list[256];
            return fail(error, parts[i],
                        "unknown dense option '%.*s' (expected an activation (%s), an initializer such as "
                        "he_uniform, nobias or alpha=A)",
                        (int)parts[i].length, text_of(parts[i]), activation_list(list, sizeof list));
        }
    }
    if (have_alpha && !takes_alpha(layer->dense.activation)) {
        return fail(error, parts[0], "alpha= applies only to an activation that takes one (%s takes none)",
                    bnmlp_activation_name(layer->dense.activation));
    }
    if (!have_alpha) {
        layer->dense.activation_alpha = default_alpha(layer->dense.activation);
    }
    return true;
}

/* Parses a standalone activation token. */
static bool parse_activation(const part *parts, size_t count, int index, spec_layer *layer,
                             spec_error *error) {
    layer->kind = SPEC_ACTIVATION;
    layer->activation = (bnmlp_activation)index;
    layer->alpha = default_alpha(layer->activation);
    for (size_t i = 1; i < count; i++) {
        part key, value;
        if (takes_alpha(layer->activation) && split_key_value(parts[i], &key, &value) &&
            part_is(key, "alpha")) {
            if (!parse_alpha(value, &layer->alpha, error)) {
                return false;
            }
            continue;
        }
        return fail(error, parts[i], "unknown option '%.*s' of %s%s", (int)parts[i].length, text_of(parts[i]),
                    bnmlp_activation_name((bnmlp_activation)index),
                    takes_alpha(layer->activation) ? " (expected alpha=A)" : " (it takes none)");
    }
    return true;
}

/* Parses one "key=value" option of bn into the config; false (recorded) when bad. */
static bool parse_batchnorm_value(part key, part value, bnmlp_batchnorm_config *config, spec_error *error) {
    double real = 0.0;
    int index;
    if (part_is(key, "momentum")) {
        if (!part_real(value, &real) || real < 0.0 || real > 1.0) {
            return fail(error, value, "momentum must be a number from 0 to 1");
        }
        config->momentum = (float)real;
    } else if (part_is(key, "eps") || part_is(key, "epsilon")) {
        if (!part_real(value, &real) || !(real > 0.0) || !isfinite((float)real)) {
            return fail(error, value, "eps must be a finite number above 0");
        }
        config->epsilon = (float)real;
    } else if (part_is(key, "variance")) {
        if ((index = part_index(value, VARIANCE_NAMES, COUNT_OF(VARIANCE_NAMES))) < 0) {
            return fail(error, value, "variance must be biased, unbiased or keras2");
        }
        config->moving_variance_estimator = (bnmlp_variance_estimator)index;
    } else if (part_is(key, "average")) {
        if ((index = part_index(value, AVERAGE_NAMES, COUNT_OF(AVERAGE_NAMES))) < 0) {
            return fail(error, value, "average must be exponential, debiased or cumulative");
        }
        config->moving_average = (bnmlp_moving_average)index;
    } else {
        return fail(error, key,
                    "unknown bn option '%.*s' (expected momentum=, eps=, variance=, average=, nocenter or "
                    "noscale)",
                    (int)key.length, text_of(key));
    }
    return true;
}

/* Parses the parts of "bn[:...]" after "bn". */
static bool parse_batchnorm(const part *parts, size_t count, spec_layer *layer, spec_error *error) {
    layer->kind = SPEC_BATCHNORM;
    layer->batchnorm = BNMLP_BATCHNORM_DEFAULT;
    for (size_t i = 1; i < count; i++) {
        part key, value;
        if (part_is(parts[i], "nocenter")) {
            layer->batchnorm.center = false;
        } else if (part_is(parts[i], "noscale")) {
            layer->batchnorm.scale = false;
        } else if (split_key_value(parts[i], &key, &value)) {
            if (!parse_batchnorm_value(key, value, &layer->batchnorm, error)) {
                return false;
            }
        } else {
            return fail(
                error, parts[i],
                "unknown bn option '%.*s' (expected momentum=, eps=, variance=, average=, nocenter or "
                "noscale)",
                (int)parts[i].length, text_of(parts[i]));
        }
    }
    if (layer->batchnorm.moving_average == BNMLP_AVERAGE_DEBIASED && !(layer->batchnorm.momentum < 1.0f)) {
        return fail(error, parts[0], "average=debiased needs momentum below 1");
    }
    return true;
}

/* Parses the parts of "dropout:RATE" after "dropout". */
static bool parse_dropout(const part *parts, size_t count, spec_layer *layer, spec_error *error) {
    layer->kind = SPEC_DROPOUT;
    if (count < 2) {
        return fail(error, parts[0], "dropout needs a rate, e.g. dropout:0.2");
    }
    double rate = 0.0;
    if (!part_real(parts[1], &rate) || !(rate >= 0.0 && (float)rate < 1.0f)) {
        return fail(error, parts[1], "the dropout rate must be a number from 0 up to (not including) 1");
    }
    if (count > 2) {
        return fail(error, parts[2], "dropout takes only a rate");
    }
    layer->rate = (float)rate;
    return true;
}

/* Parses "norm" (no options). */
static bool parse_normalization(const part *parts, size_t count, spec_layer *layer, spec_error *error) {
    layer->kind = SPEC_NORMALIZATION;
    if (count > 1) {
        return fail(error, parts[1], "norm takes no options (it is adapted on the training rows)");
    }
    return true;
}

/* True for the blanks tolerated around layers and parts. */
static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* The part without the blanks at its ends. */
static part trimmed(part p) {
    while (p.length > 0 && is_blank(p.text[p.offset])) {
        p.offset++, p.length--;
    }
    while (p.length > 0 && is_blank(p.text[p.offset + p.length - 1])) {
        p.length--;
    }
    return p;
}

/* Parses one layer token [offset, offset + length) of text. */
static bool parse_layer(const char *text, size_t offset, size_t length, spec_layer *layer,
                        spec_error *error) {
    part parts[16];
    size_t count = 0;
    size_t start = offset, end = offset + length;
    for (size_t i = offset; i <= end; i++) {
        if (i == end || text[i] == ':') {
            if (count == sizeof parts / sizeof parts[0]) {
                return fail(error, (part){text, offset, length}, "too many options in one layer");
            }
            parts[count++] = trimmed((part){text, start, i - start});
            start = i + 1;
        }
    }
    for (size_t i = 0; i < count; i++) {
        if (parts[i].length == 0) {
            return fail(error, parts[i], "empty option (two ':' in a row, or a ':' at an end)");
        }
    }
    int index;
    if (part_is(parts[0], "dense")) {
        return parse_dense(parts, count, layer, error);
    }
    if (part_is(parts[0], "bn") || part_is(parts[0], "batchnorm")) {
        return parse_batchnorm(parts, count, layer, error);
    }
    if (part_is(parts[0], "dropout")) {
        return parse_dropout(parts, count, layer, error);
    }
    if (part_is(parts[0], "norm") || part_is(parts[0], "normalization")) {
        return parse_normalization(parts, count, layer, error);
    }
    if ((index = activation_index(parts[0])) >= 0) {
        return parse_activation(parts, count, index, layer, error);
    }
    char list[256];
    return fail(error, parts[0],
                "unknown layer '%.*s' (expected dense:UNITS, bn, dropout:RATE, norm, or an activation: %s)",
                (int)parts[0].length, text_of(parts[0]), activation_list(list, sizeof list));
}

bool spec_parse(const char *text, layer_spec *out, spec_error *error) {
    out->count = 0;
    size_t length = strlen(text);
    size_t start = 0;
    for (size_t i = 0; i <= length; i++) {
        if (i < length && text[i] != ',') {
            continue;
        }
        const part token = trimmed((part){text, start, i - start});
        if (token.length == 0) {
            return fail(error, (part){text, start, i - start},
                        "empty layer (two ',' in a row, or a ',' at an end)");
        }
        if (out->count == SPEC_MAX_LAYERS) {
            return fail(error, (part){text, start, i - start}, "more than %d layers", SPEC_MAX_LAYERS);
        }
        if (!parse_layer(text, token.offset, token.length, &out->layers[out->count], error)) {
            return false;
        }
        if (out->layers[out->count].kind == SPEC_NORMALIZATION && out->count > 0) {
            return fail(error, token, "norm must be the first layer (it is adapted on the training rows)");
        }
        out->count++;
        start = i + 1;
    }
    if (spec_output_width(out) == 0) {
        return fail(error, (part){text, 0, length},
                    "no dense layer: a model needs at least one, e.g. dense:1");
    }
    return true;
}

void spec_print_error(FILE *stream, const char *command, const char *text, const spec_error *error) {
    fprintf(stream, "bnmlp %s: bad --layers SPEC at column %zu: %s\n", command, error->offset + 1,
            error->message);
    fprintf(stream, "    %s\n    ", text);
    for (size_t i = 0; i < error->offset; i++) {
        fputc(text[i] == '\t' ? '\t' : ' ', stream);
    }
    fputc('^', stream);
    for (size_t i = 1; i < error->length; i++) {
        fputc('~', stream);
    }
    fputc('\n', stream);
}

size_t spec_output_width(const layer_spec *spec) {
    for (size_t i = spec->count; i-- > 0;) {
        if (spec->layers[i].kind == SPEC_DENSE) {
            return spec->layers[i].dense.units;
        }
    }
    return 0;
}

bnmlp_activation spec_last_activation(const layer_spec *spec) {
    for (size_t i = spec->count; i-- > 0;) {
        const spec_layer *layer = &spec->layers[i];
        if (layer->kind == SPEC_ACTIVATION) {
            return layer->activation;
        }
        if (layer->kind == SPEC_DENSE) {
            return layer->dense.activation;
        }
    }
    return BNMLP_ACTIVATION_LINEAR;
}

bnmlp_status spec_add_layers(const layer_spec *spec, bnmlp_model *model, uint64_t seed) {
    for (size_t i = 0; i < spec->count; i++) {
        const spec_layer *layer = &spec->layers[i];
        bnmlp_status status = BNMLP_OK;
        switch (layer->kind) {
        case SPEC_DENSE: status = bnmlp_model_add_dense(model, &layer->dense); break;
        case SPEC_ACTIVATION:
            status = bnmlp_model_add_activation(model, layer->activation, layer->alpha);
            break;
        case SPEC_BATCHNORM: status = bnmlp_model_add_batchnorm(model, &layer->batchnorm); break;
        case SPEC_DROPOUT: status = bnmlp_model_add_dropout(model, layer->rate, seed); break;
        case SPEC_NORMALIZATION: status = bnmlp_model_add_normalization(model); break;
        }
        if (status != BNMLP_OK) {
            return status;
        }
    }
    return BNMLP_OK;
}

bnmlp_status spec_adapt(const layer_spec *spec, bnmlp_model *model, const bnmlp_tensor *x) {
    if (spec->count == 0 || spec->layers[0].kind != SPEC_NORMALIZATION) {
        return BNMLP_OK;
    }
    return bnmlp_model_adapt(model, 0, x);
}
