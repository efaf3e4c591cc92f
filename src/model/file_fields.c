/*
 * file_fields.c - the fields of a layer record in the model file, one table row each.
 *
 * The row names the field as the file stores it, which kinds of layer have it, its type, where
 * it lives in bnmlp_layer, its default and its meaning. Writing, reading (both the tagged
 * records of version 2 and the fixed records of version 1), defaults for missing fields and the
 * table of docs/model-format.md all come from these rows. A new field is a new row with a
 * default: files written before it still load, with the default.
 */
#include "model/model.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/bytes.h"
#include "core/core.h"

/* A field of every kind of layer. */
#define EVERY_KIND (-1)

/* offsetof and size of a member of bnmlp_layer. */
#define AT(member) offsetof(bnmlp_layer, member), sizeof(((bnmlp_layer *)0)->member)

/* Enumerations are stored as u32 and live in int-sized C enums. */
_Static_assert(sizeof(bnmlp_activation) == sizeof(int) && sizeof(bnmlp_initializer) == sizeof(int) &&
                   sizeof(bnmlp_precision) == sizeof(int) &&
                   sizeof(bnmlp_variance_estimator) == sizeof(int) &&
                   sizeof(bnmlp_moving_average) == sizeof(int),
               "enumerations are int-sized");

/* Version 1 stored exactly the rows marked v1, in table order, without names. */
const bnmlp_file_field bnmlp_file_fields[] = {
    {"trainable", EVERY_KIND, BNMLP_FIELD_BOOL, AT(trainable), 1.0, true,
     "false: frozen (`bnmlp_model_set_trainable`)", false},
    {"use_bias", BNMLP_LAYER_DENSE, BNMLP_FIELD_BOOL, AT(config.dense.use_bias), 1.0, true, "a bias array",
     false},
    {"kernel_initializer", BNMLP_LAYER_DENSE, BNMLP_FIELD_ENUM, AT(config.dense.initializer), 0.0, true,
     "`bnmlp_initializer` (kept for the record: the weights come from `PARM`)", false},
    {"precision", BNMLP_LAYER_DENSE, BNMLP_FIELD_ENUM, AT(config.dense.precision), 0.0, false,
     "`bnmlp_precision` of its products: 0 fp32, 1 bf16 (`bnmlp_model_set_precision`); written only when not "
     "0",
     true},
    {"activation", BNMLP_LAYER_ACTIVATION, BNMLP_FIELD_ENUM, AT(config.activation.function), 0.0, true,
     "`bnmlp_activation`", false},
    {"alpha", BNMLP_LAYER_ACTIVATION, BNMLP_FIELD_F32, AT(config.activation.alpha), 0.3, true,
     "the activation's parameter (leaky ReLU's slope)", false},
    {"momentum", BNMLP_LAYER_BATCHNORM, BNMLP_FIELD_F32, AT(config.batchnorm.momentum), 0.99, true,
     "moving = momentum moving + (1 - momentum) batch", false},
    {"epsilon", BNMLP_LAYER_BATCHNORM, BNMLP_FIELD_F32, AT(config.batchnorm.epsilon), 1e-3, true,
     "added to the variance inside the square root", false},
    {"center", BNMLP_LAYER_BATCHNORM, BNMLP_FIELD_BOOL, AT(config.batchnorm.center), 1.0, true,
     "a beta array", false},
    {"scale", BNMLP_LAYER_BATCHNORM, BNMLP_FIELD_BOOL, AT(config.batchnorm.scale), 1.0, true, "a gamma array",
     false},
    {"moving_variance_estimator", BNMLP_LAYER_BATCHNORM, BNMLP_FIELD_ENUM,
     AT(config.batchnorm.moving_variance_estimator), 0.0, true, "`bnmlp_variance_estimator`", false},
    {"moving_average", BNMLP_LAYER_BATCHNORM, BNMLP_FIELD_ENUM, AT(config.batchnorm.moving_average), 0.0,
     true, "`bnmlp_moving_average`", false},
    {"steps", BNMLP_LAYER_BATCHNORM, BNMLP_FIELD_U64, AT(steps), 0.0, true,
     "updates of the moving statistics so far (t)", false},
    {"rate", BNMLP_LAYER_DROPOUT, BNMLP_FIELD_F32, AT(config.dropout.rate), 0.5, false,
     "the fraction of elements dropped in training mode, in [0, 1)", false},
    {"seed", BNMLP_LAYER_DROPOUT, BNMLP_FIELD_U64, AT(config.dropout.seed), 0.0, false,
     "the key of the masks", false},
    {"steps", BNMLP_LAYER_DROPOUT, BNMLP_FIELD_U64, AT(steps), 0.0, false,
     "committed training steps so far (the masks' step: a resumed run draws the same masks)", false},
};

const size_t bnmlp_file_field_count = sizeof bnmlp_file_fields / sizeof bnmlp_file_fields[0];

/* The reader keeps a bit per row (file.c, get_fields_v2). */
_Static_assert(sizeof bnmlp_file_fields / sizeof bnmlp_file_fields[0] < 64, "at most 63 fields");

bool bnmlp_file_field_applies(const bnmlp_file_field *field, bnmlp_layer_kind kind) {
    return field->kind == EVERY_KIND || field->kind == (int)kind;
}

bool bnmlp_file_field_written(const bnmlp_file_field *field, const bnmlp_layer *layer) {
    if (!bnmlp_file_field_applies(field, layer->kind)) return false;
    if (!field->omit_default) return true;
    bnmlp_layer defaults = *layer;
    bnmlp_file_field_default(field, &defaults);
    return bnmlp_file_field_get(field, layer) != bnmlp_file_field_get(field, &defaults);
}

size_t bnmlp_file_field_bytes(const bnmlp_file_field *field) {
    switch (field->type) {
    case BNMLP_FIELD_BOOL: return 1;
    case BNMLP_FIELD_ENUM:
    case BNMLP_FIELD_F32: return 4;
    case BNMLP_FIELD_U64: return 8;
    }
    return 0;
}

uint64_t bnmlp_file_field_get(const bnmlp_file_field *field, const bnmlp_layer *layer) {
    const unsigned char *at = (const unsigned char *)layer + field->offset;
    switch (field->type) {
    case BNMLP_FIELD_BOOL: {
        bool value;
        memcpy(&value, at, sizeof value);
        return value;
    }
    case BNMLP_FIELD_ENUM: {
        int value;
        memcpy(&value, at, sizeof value);
        return (uint32_t)value;
    }
    case BNMLP_FIELD_F32: {
        float value;
        memcpy(&value, at, sizeof value);
        return bnmlp_float_bits(value);
    }
    case BNMLP_FIELD_U64: {
        uint64_t value;
        memcpy(&value, at, sizeof value);
        return value;
    }
    }
    return 0;
}

bool bnmlp_file_field_set(const bnmlp_file_field *field, bnmlp_layer *layer, uint64_t stored) {
    unsigned char *at = (unsigned char *)layer + field->offset;
    switch (field->type) {
    case BNMLP_FIELD_BOOL: {
        if (stored > 1) return false;
        const bool value = stored == 1;
        memcpy(at, &value, sizeof value);
        return true;
    }
    case BNMLP_FIELD_ENUM: {
        /* Out-of-range values are left to the layer's check; ones beyond int are refused here. */
        if (stored > 0x7fffffffu) return false;
        const int value = (int)stored;
        memcpy(at, &value, sizeof value);
        return true;
    }
    case BNMLP_FIELD_F32: {
        const float value = bnmlp_float_from_bits((uint32_t)stored);
        memcpy(at, &value, sizeof value);
        return true;
    }
    case BNMLP_FIELD_U64: memcpy(at, &stored, sizeof stored); return true;
    }
    return false;
}

void bnmlp_file_field_default(const bnmlp_file_field *field, bnmlp_layer *layer) {
    const double value = field->default_value;
    uint64_t stored = (uint64_t)value;
    if (field->type == BNMLP_FIELD_F32) stored = bnmlp_float_bits((float)value);
    bnmlp_file_field_set(field, layer, stored);
}

/* The type's name in the document. */
static const char *type_name(bnmlp_field_type type) {
    switch (type) {
    case BNMLP_FIELD_BOOL: return "`bool`";
    case BNMLP_FIELD_ENUM: return "`u32`";
    case BNMLP_FIELD_F32: return "`f32`";
    case BNMLP_FIELD_U64: return "`u64`";
    }
    return "?";
}

size_t bnmlp_file_fields_document(char *text, size_t size) {
    size_t used = 0;
#define APPEND(...) bnmlp_text_appendf(text, size, &used, __VA_ARGS__)
    APPEND("| field | layers | type | default | version 1 | meaning |\n|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < bnmlp_file_field_count; i++) {
        const bnmlp_file_field *f = &bnmlp_file_fields[i];
        const char *layers =
            f->kind == EVERY_KIND ? "every" : bnmlp_layer_ops_of((bnmlp_layer_kind)f->kind)->prefix;
        APPEND("| `%s` | %s | %s | %g | %s | %s |\n", f->name, layers, type_name(f->type), f->default_value,
               f->version1 ? "yes" : "no", f->meaning);
    }
#undef APPEND
    return used;
}
