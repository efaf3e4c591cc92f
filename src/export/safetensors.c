/*
 * safetensors.c - the "safetensors" export row: a model's arrays as PyTorch's nn.Sequential
 * names them, in Hugging Face's safetensors layout, and the architecture in __metadata__:
 *
 *   8 bytes      N, the header's length, little-endian u64
 *   N bytes      a JSON object: "__metadata__" (a string-to-string map), then one entry per
 *                tensor {"dtype": "F32"|"I64", "shape": [...], "data_offsets": [begin, end]},
 *                padded with spaces so that the data starts at a multiple of 8
 *   the data     every tensor's bytes, little-endian, in the header's order, with no gap
 *
 * The tensors are ordered by alignment first (the I64 step counts, then the F32 arrays, as the
 * safetensors library orders them) and then by layer index and the table's order within a layer,
 * so every tensor is aligned to its size and the same model always gives the same bytes. The
 * names (bnmlp_st_names), the metadata keys and the rules for what PyTorch lacks are in
 * docs/deploy.md.
 */
#include "export/safetensors.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/file.h"
#include "export/export.h"

const bnmlp_st_name bnmlp_st_names[] = {
    {BNMLP_LAYER_DENSE, "weight", BNMLP_ARRAY_KERNEL, true, 0, 0.0f},
    {BNMLP_LAYER_DENSE, "bias", BNMLP_ARRAY_BIAS, false, 0, 0.0f},
    {BNMLP_LAYER_BATCHNORM, "weight", BNMLP_ARRAY_GAMMA, false, 1, 1.0f},
    {BNMLP_LAYER_BATCHNORM, "bias", BNMLP_ARRAY_BETA, false, 1, 0.0f},
    {BNMLP_LAYER_BATCHNORM, "running_mean", BNMLP_ARRAY_MOVING_MEAN, false, 0, 0.0f},
    {BNMLP_LAYER_BATCHNORM, "running_var", BNMLP_ARRAY_MOVING_VARIANCE, false, 0, 0.0f},
    {BNMLP_LAYER_BATCHNORM, "num_batches_tracked", -1, false, 0, 0.0f},
    /* No nn.Sequential twin: the buffers of the small module docs/deploy.md shows (Keras's
     * Normalization names them mean and variance too). */
    {BNMLP_LAYER_NORMALIZATION, "mean", BNMLP_ARRAY_MOVING_MEAN, false, 0, 0.0f},
    {BNMLP_LAYER_NORMALIZATION, "variance", BNMLP_ARRAY_MOVING_VARIANCE, false, 0, 0.0f},
};

const size_t bnmlp_st_name_count = sizeof bnmlp_st_names / sizeof bnmlp_st_names[0];

bool bnmlp_st_layer_has(const bnmlp_layer *layer, const bnmlp_st_name *row) {
    if (row->kind != layer->kind) return false;
    if (row->array < 0) return true;
    if (row->group == 0) return layer->arrays[row->array].length > 0;
    for (size_t i = 0; i < bnmlp_st_name_count; i++) {
        const bnmlp_st_name *other = &bnmlp_st_names[i];
        if (other->kind == row->kind && other->group == row->group && layer->arrays[other->array].length > 0)
            return true;
    }
    return false;
}

size_t bnmlp_st_elements(const bnmlp_layer *layer, const bnmlp_st_name *row) {
    if (row->array < 0) return 0;
    return row->transposed ? layer->in * layer->out : layer->out;
}

/* ---- text helpers ---------------------------------------------------------------------------- */

/* A growing text in the caller's allocator; failures are sticky. */
typedef struct text {
    char *bytes;
    size_t length, capacity;
    const bnmlp_allocator *allocator;
    bool failed;
} text;

static void text_add(text *t, const char *bytes, size_t length) {
    if (t->failed) return;
    if (length > t->capacity - t->length) {
        size_t capacity = t->capacity ? t->capacity : 256;
        while (capacity - t->length < length) {
            if (capacity > SIZE_MAX / 2) {
                t->failed = true;
                return;
            }
            capacity *= 2;
        }
        char *grown = bnmlp_alloc(t->allocator, capacity);
        if (!grown) {
            t->failed = true;
            return;
        }
        if (t->length) memcpy(grown, t->bytes, t->length);
        bnmlp_release(t->allocator, t->bytes);
        t->bytes = grown;
        t->capacity = capacity;
    }
    memcpy(t->bytes + t->length, bytes, length);
    t->length += length;
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void
text_format(text *t, const char *format, ...) {
    char buffer[256];
    va_list args;
    va_start(args, format);
    const int n = vsnprintf(buffer, sizeof buffer, format, args);
    va_end(args);
    if (n < 0 || (size_t)n >= sizeof buffer) {
        t->failed = true;
        return;
    }
    text_add(t, buffer, (size_t)n);
}

/* s as a JSON string, quoted: '"', '\\' and control characters escaped. */
static void text_json_string(text *t, const char *s, size_t length) {
    text_add(t, "\"", 1);
    for (size_t i = 0; i < length; i++) {
        const unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            const char escaped[2] = {'\\', (char)c};
            text_add(t, escaped, 2);
        } else if (c < 0x20) {
            text_format(t, "\\u%04x", c);
        } else {
            text_add(t, (const char *)&s[i], 1);
        }
    }
    text_add(t, "\"", 1);
}

/* raw with the C locale's decimal point replaced by '.', into out (40 bytes). */
static void point_to_dot(const char *raw, char out[40]) {
    const char *point = localeconv()->decimal_point;
    const size_t point_length = point ? strlen(point) : 0;
    size_t n = 0;
    for (size_t i = 0; raw[i] != '\0' && n < 39;) {
        if (point_length > 0 && strncmp(raw + i, point, point_length) == 0) {
            out[n++] = '.';
            i += point_length;
        } else {
            out[n++] = raw[i++];
        }
    }
    out[n] = '\0';
}

/* value with the fewest significant digits (at most 9) that read back to the same float, in the
 * C locale's notation, into raw (40 bytes). */
static void shortest(float value, char raw[40]) {
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(raw, 40, "%.*g", digits, (double)value);
        if (strtof(raw, NULL) == value) return;
    }
}

/* value as shortest writes it, with '.' as the decimal point whatever the locale: 0.001f is
 * "0.001". */
static void format_float(float value, char out[40]) {
    char raw[40];
    shortest(value, raw);
    point_to_dot(raw, out);
}

/* PyTorch's momentum: 1 - the Keras momentum as shortest writes it, in double, with at most 15
 * significant digits (Keras's 0.99f gives 0.01). */
static void format_torch_momentum(float keras, char out[40]) {
    char raw[40];
    shortest(keras, raw);
    snprintf(raw, sizeof raw, "%.15g", 1.0 - strtod(raw, NULL));
    point_to_dot(raw, out);
}

/* ---- the architecture's text ------------------------------------------------------------------ */

size_t bnmlp_st_describe_layers(const bnmlp_model *model, char *out, size_t size) {
    size_t used = 0;
#define APPEND(...) bnmlp_text_appendf(out, size, &used, __VA_ARGS__)
    if (size > 0) out[0] = '\0';
    for (size_t i = 0; i < bnmlp_model_layer_count(model); i++) {
        const bnmlp_layer *layer = bnmlp_model_layer_at(model, i);
        APPEND("%s%s width=%zu", i ? ";" : "", layer->ops->prefix, layer->out);
        for (size_t f = 0; f < bnmlp_file_field_count; f++) {
            const bnmlp_file_field *field = &bnmlp_file_fields[f];
            if (!bnmlp_file_field_written(field, layer)) continue;
            const uint64_t stored = bnmlp_file_field_get(field, layer);
            if (field->type == BNMLP_FIELD_F32) {
                char number[40];
                format_float(bnmlp_float_from_bits((uint32_t)stored), number);
                APPEND(" %s=%s", field->name, number);
            } else {
                APPEND(" %s=%llu", field->name, (unsigned long long)stored);
            }
        }
    }
#undef APPEND
    return used;
}

/* Reads a decimal float of the grammar format_float writes ([-]digits[.digits][e[+-]digits])
 * into *value; false for anything else or a value beyond float's range. */
static bool parse_float(const char *s, size_t length, float *value) {
    size_t i = 0, digits = 0;
    if (i < length && s[i] == '-') i++;
    while (i < length && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < length && s[i] == '.') {
        i++;
        while (i < length && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (digits == 0) return false;
    if (i < length && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < length && (s[i] == '+' || s[i] == '-')) i++;
        size_t exponent = 0;
        while (i < length && s[i] >= '0' && s[i] <= '9') i++, exponent++;
        if (exponent == 0) return false;
    }
    if (i != length || length > 64) return false;
    char buffer[64 + 16];
    const char *point = localeconv()->decimal_point;
    size_t point_length = point ? strlen(point) : 0;
    if (point_length == 0 || point_length > 8) point = ".", point_length = 1;
    size_t n = 0;
    for (size_t k = 0; k < length; k++) {
        if (s[k] == '.') {
            memcpy(buffer + n, point, point_length);
            n += point_length;
        } else {
            buffer[n++] = s[k];
        }
    }
    buffer[n] = '\0';
    char *end = NULL;
    const double parsed = strtod(buffer, &end);
    if (end != buffer + n || !(parsed >= -FLT_MAX && parsed <= FLT_MAX)) return false;
    *value = (float)parsed;
    return true;
}

/* Reads a decimal unsigned integer (no sign, no leading zeros but "0") into *value. */
static bool parse_unsigned(const char *s, size_t length, uint64_t *value) {
    if (length == 0 || length > 20 || (length > 1 && s[0] == '0')) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < length; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        const uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *value = v;
    return true;
}

/* The kind whose row's prefix is name, or -1. */
static int kind_named(const char *name, size_t length) {
    for (int kind = 0; bnmlp_layer_ops_of((bnmlp_layer_kind)kind); kind++) {
        const char *prefix = bnmlp_layer_ops_of((bnmlp_layer_kind)kind)->prefix;
        if (strlen(prefix) == length && memcmp(prefix, name, length) == 0) return kind;
    }
    return -1;
}

/* Most layers a text may describe (the model file's limit is larger; this bounds the work of a
 * hostile header). */
#define MAX_DESCRIBED_LAYERS 4096

/* Most units a described layer may have, and all of its layers together (each unit is a float
 * of every row of the model's buffers: the bound keeps a hostile text from planning gigabytes). */
#define MAX_DESCRIBED_WIDTH ((size_t)1 << 24)

bnmlp_status bnmlp_st_add_layers(bnmlp_model *model, const char *s, size_t length,
                                 bnmlp_error_detail *detail) {
    size_t at = 0, record = 0, units = 0;
    if (length == 0) {
        bnmlp_detail_set(detail, 0, 0, 0, "the layer description is empty");
        return BNMLP_ERR_FORMAT;
    }
    while (at <= length) {
        size_t end = at;
        while (end < length && s[end] != ';') end++;
        units += record ? bnmlp_model_layer_at(model, bnmlp_model_layer_count(model) - 1)->out : 0;
        if (units > MAX_DESCRIBED_WIDTH) {
            bnmlp_detail_set(detail, 0, record, at, "the layer description has more than 2^24 units in all");
            return BNMLP_ERR_FORMAT;
        }
        if (++record > MAX_DESCRIBED_LAYERS) {
            bnmlp_detail_set(detail, 0, record, at, "the layer description has more than %d layers",
                             MAX_DESCRIBED_LAYERS);
            return BNMLP_ERR_FORMAT;
        }
        /* The record's words, separated by single spaces: the kind, then name=value. */
        size_t word = at, word_end = at;
        while (word_end < end && s[word_end] != ' ') word_end++;
        const int kind = kind_named(s + word, word_end - word);
        if (kind < 0) {
            bnmlp_detail_set(detail, 0, record, at, "layer %zu of the description: unknown kind '%.*s'",
                             record - 1, (int)(word_end - word > 40 ? 40 : word_end - word), s + word);
            return BNMLP_ERR_FORMAT;
        }
        bnmlp_layer layer = {.kind = (bnmlp_layer_kind)kind, .trainable = true};
        for (size_t f = 0; f < bnmlp_file_field_count; f++)
            if (bnmlp_file_field_applies(&bnmlp_file_fields[f], layer.kind))
                bnmlp_file_field_default(&bnmlp_file_fields[f], &layer);
        uint64_t seen = 0, width = 0;
        bool has_width = false;
        while (word_end < end) {
            word = word_end + 1;
            word_end = word;
            while (word_end < end && s[word_end] != ' ') word_end++;
            size_t equals = word;
            while (equals < word_end && s[equals] != '=') equals++;
            const char *name = s + word, *value = s + equals + 1;
            const size_t name_length = equals - word;
            const size_t value_length = equals < word_end ? word_end - equals - 1 : 0;
            bool ok = equals < word_end;
            if (ok && name_length == 5 && memcmp(name, "width", 5) == 0) {
                ok = !has_width && parse_unsigned(value, value_length, &width) && width > 0 &&
                     width <= MAX_DESCRIBED_WIDTH;
                has_width = true;
            } else if (ok) {
                size_t f = 0;
                while (f < bnmlp_file_field_count &&
                       !(bnmlp_file_field_applies(&bnmlp_file_fields[f], layer.kind) &&
                         strlen(bnmlp_file_fields[f].name) == name_length &&
                         memcmp(bnmlp_file_fields[f].name, name, name_length) == 0))
                    f++;
                ok = f < bnmlp_file_field_count && !(seen >> f & 1u);
                if (ok) {
                    seen |= (uint64_t)1 << f;
                    const bnmlp_file_field *field = &bnmlp_file_fields[f];
                    uint64_t stored = 0;
                    float number;
                    if (field->type == BNMLP_FIELD_F32) {
                        ok = parse_float(value, value_length, &number);
                        stored = bnmlp_float_bits(number);
                    } else {
                        ok = parse_unsigned(value, value_length, &stored);
                    }
                    ok = ok && bnmlp_file_field_set(field, &layer, stored);
                }
            }
            if (!ok) {
                bnmlp_detail_set(detail, 0, record, word, "layer %zu of the description: bad setting '%.*s'",
                                 record - 1, (int)(word_end - word > 60 ? 60 : word_end - word), s + word);
                return BNMLP_ERR_FORMAT;
            }
        }
        if (!has_width) {
            bnmlp_detail_set(detail, 0, record, at, "layer %zu of the description has no width", record - 1);
            return BNMLP_ERR_FORMAT;
        }
        layer.out = (size_t)width;
        const bnmlp_status status = bnmlp_model_append_layer(model, layer);
        if (status != BNMLP_OK) {
            bnmlp_detail_set(detail, 0, record, at, "layer %zu of the description is not a valid %s layer",
                             record - 1, bnmlp_layer_ops_of(layer.kind)->prefix);
            return status;
        }
        const size_t index = bnmlp_model_layer_count(model) - 1;
        if (bnmlp_model_layer_at(model, index)->out != width) {
            bnmlp_detail_set(detail, 0, record, at,
                             "layer %zu of the description: width %llu, but it gives %zu", record - 1,
                             (unsigned long long)width, bnmlp_model_layer_at(model, index)->out);
            return BNMLP_ERR_FORMAT;
        }
        at = end + 1;
    }
    return BNMLP_OK;
}

/* ---- the PyTorch twin, for the metadata ---------------------------------------------------------- */

/* PyTorch's module of each activation, with "%s" where its alpha goes (indexed by
 * bnmlp_activation; a new activation without an entry gets no twin and the export refuses it). */
static const char *const TORCH_ACTIVATIONS[] = {
    [BNMLP_ACTIVATION_LINEAR] = "nn.Identity()",
    [BNMLP_ACTIVATION_RELU] = "nn.ReLU()",
    [BNMLP_ACTIVATION_LEAKY_RELU] = "nn.LeakyReLU(negative_slope=%s)",
    [BNMLP_ACTIVATION_SIGMOID] = "nn.Sigmoid()",
    [BNMLP_ACTIVATION_TANH] = "nn.Tanh()",
    [BNMLP_ACTIVATION_SOFTMAX] = "nn.Softmax(dim=1)",
    [BNMLP_ACTIVATION_ELU] = "nn.ELU(alpha=%s)",
    [BNMLP_ACTIVATION_GELU] = "nn.GELU()",
    [BNMLP_ACTIVATION_SILU] = "nn.SiLU()",
};

/* Each kind's module: one function per kind, in a table. */
typedef bool (*torch_module_function)(const bnmlp_layer *layer, text *t);

static bool torch_dense(const bnmlp_layer *layer, text *t) {
    text_format(t, "nn.Linear(%zu, %zu%s)", layer->in, layer->out,
                layer->config.dense.use_bias ? "" : ", bias=False");
    return true;
}

static bool torch_activation(const bnmlp_layer *layer, text *t) {
    const size_t function = (size_t)layer->config.activation.function;
    if (function >= sizeof TORCH_ACTIVATIONS / sizeof TORCH_ACTIVATIONS[0] || !TORCH_ACTIVATIONS[function])
        return false;
    const char *module = TORCH_ACTIVATIONS[function];
    const char *slot = strstr(module, "%s");
    if (!slot) {
        text_add(t, module, strlen(module));
        return true;
    }
    char alpha[40];
    format_float(layer->config.activation.alpha, alpha);
    text_add(t, module, (size_t)(slot - module));
    text_add(t, alpha, strlen(alpha));
    text_add(t, slot + 2, strlen(slot + 2));
    return true;
}

static bool torch_batchnorm(const bnmlp_layer *layer, text *t) {
    const bnmlp_batchnorm_config *c = &layer->config.batchnorm;
    char epsilon[40], momentum[40];
    format_float(c->epsilon, epsilon);
    format_torch_momentum(c->momentum, momentum);
    const bool affine = layer->arrays[BNMLP_ARRAY_GAMMA].length || layer->arrays[BNMLP_ARRAY_BETA].length;
    text_format(t, "nn.BatchNorm1d(%zu, eps=%s, momentum=%s%s)", layer->out, epsilon,
                c->moving_average == BNMLP_AVERAGE_CUMULATIVE ? "None" : momentum,
                affine ? "" : ", affine=False");
    return true;
}

static bool torch_normalization(const bnmlp_layer *layer, text *t) {
    text_format(t, "Normalization(%zu)", layer->out);
    return true;
}

static bool torch_dropout(const bnmlp_layer *layer, text *t) {
    char rate[40];
    format_float(layer->config.dropout.rate, rate);
    text_format(t, "nn.Dropout(p=%s)", rate);
    return true;
}

static const struct {
    bnmlp_layer_kind kind;
    torch_module_function module;
} TORCH_MODULES[] = {
    {BNMLP_LAYER_DENSE, torch_dense},         {BNMLP_LAYER_ACTIVATION, torch_activation},
    {BNMLP_LAYER_BATCHNORM, torch_batchnorm}, {BNMLP_LAYER_NORMALIZATION, torch_normalization},
    {BNMLP_LAYER_DROPOUT, torch_dropout},
};

/* "nn.Sequential(...)" of the model's twin into t; false (and *refused the layer) when a layer
 * has none. */
static bool torch_sequential(const bnmlp_model *model, text *t, size_t *refused) {
    text_add(t, "nn.Sequential(", 14);
    for (size_t i = 0; i < bnmlp_model_layer_count(model); i++) {
        const bnmlp_layer *layer = bnmlp_model_layer_at(model, i);
        if (i) text_add(t, ", ", 2);
        size_t k = 0;
        while (k < sizeof TORCH_MODULES / sizeof TORCH_MODULES[0] && TORCH_MODULES[k].kind != layer->kind)
            k++;
        if (k == sizeof TORCH_MODULES / sizeof TORCH_MODULES[0] || !TORCH_MODULES[k].module(layer, t)) {
            *refused = i;
            return false;
        }
    }
    text_add(t, ")", 1);
    return true;
}

/* ---- the writer ----------------------------------------------------------------------------------- */

/* One tensor to write. */
typedef struct entry {
    size_t layer;              /* index in the model */
    const bnmlp_st_name *name; /* its row */
    uint64_t begin, end;       /* data offsets */
} entry;

static void add_metadata(text *t, const char *key, const char *value, size_t length) {
    text_json_string(t, key, strlen(key));
    text_add(t, ":", 1);
    text_json_string(t, value, length);
}

/* Writes the tensor's bytes. */
static void write_tensor(bnmlp_file_writer *w, const bnmlp_model *model, const entry *e) {
    const bnmlp_layer *layer = bnmlp_model_layer_at(model, e->layer);
    unsigned char bytes[8 * 256];
    if (e->name->array < 0) {
        bnmlp_store_le64(bytes, layer->steps);
        bnmlp_file_writer_write(w, bytes, 8);
        return;
    }
    const float *data = bnmlp_layer_array(model, layer, (bnmlp_array)e->name->array);
    const size_t count = bnmlp_st_elements(layer, e->name);
    size_t filled = 0;
    for (size_t k = 0; k < count; k++) {
        float value = e->name->fill;
        if (data && e->name->transposed) /* element (o, i) of the (out, in) weight is kernel[i][o] */
            value = data[(k % layer->in) * layer->out + k / layer->in];
        else if (data)
            value = data[k];
        bnmlp_store_le32(bytes + 4 * filled++, bnmlp_float_bits(value));
        if (filled == 256 || k + 1 == count) {
            bnmlp_file_writer_write(w, bytes, 4 * filled);
            filled = 0;
        }
    }
}

/* The header (without its length prefix) into t, and the tensors into *entries (allocated). */
static bnmlp_status make_header(const bnmlp_model *model, text *t, entry **entries, size_t *count,
                                bnmlp_error_detail *detail) {
    const bnmlp_allocator *allocator = bnmlp_model_allocator(model);
    size_t n = 0;
    for (size_t i = 0; i < bnmlp_model_layer_count(model); i++)
        for (size_t r = 0; r < bnmlp_st_name_count; r++)
            n += bnmlp_st_layer_has(bnmlp_model_layer_at(model, i), &bnmlp_st_names[r]);
    entry *list = n ? bnmlp_alloc_zeroed(allocator, n, sizeof *list) : NULL;
    if (n && !list) return BNMLP_ERR_OUT_OF_MEMORY;
    size_t k = 0;
    uint64_t offset = 0;
    for (int pass = 0; pass < 2; pass++) /* the 8-byte step counts first, then the floats */
        for (size_t i = 0; i < bnmlp_model_layer_count(model); i++)
            for (size_t r = 0; r < bnmlp_st_name_count; r++) {
                const bnmlp_st_name *row = &bnmlp_st_names[r];
                const bnmlp_layer *layer = bnmlp_model_layer_at(model, i);
                if ((row->array < 0) != (pass == 0) || !bnmlp_st_layer_has(layer, row)) continue;
                const uint64_t bytes = row->array < 0 ? 8 : 4 * (uint64_t)bnmlp_st_elements(layer, row);
                list[k++] = (entry){.layer = i, .name = row, .begin = offset, .end = offset + bytes};
                offset += bytes;
            }

    text_add(t, "{\"__metadata__\":{", 17);
    char width[32];
    snprintf(width, sizeof width, "%zu", bnmlp_model_input_width(model));
    add_metadata(t, "bnmlp.input_width", width, strlen(width));
    text_add(t, ",", 1);
    char *layers = NULL;
    const size_t layers_length = bnmlp_st_describe_layers(model, NULL, 0);
    layers = bnmlp_alloc(allocator, layers_length + 1);
    if (!layers) {
        bnmlp_release(allocator, list);
        return BNMLP_ERR_OUT_OF_MEMORY;
    }
    bnmlp_st_describe_layers(model, layers, layers_length + 1);
    add_metadata(t, "bnmlp.layers", layers, layers_length);
    bnmlp_release(allocator, layers);
    text_add(t, ",", 1);
    const char *loss = bnmlp_loss_name(bnmlp_model_loss(model));
    add_metadata(t, "bnmlp.loss", loss, strlen(loss));
    text_add(t, ",", 1);
    text torch = {.allocator = allocator};
    size_t refused = 0;
    if (!torch_sequential(model, &torch, &refused)) {
        bnmlp_release(allocator, torch.bytes);
        bnmlp_release(allocator, list);
        bnmlp_detail_set(detail, 0, 0, 0, "layer %zu has no PyTorch equivalent", refused);
        return BNMLP_ERR_UNSUPPORTED;
    }
    add_metadata(t, "bnmlp.pytorch", torch.bytes, torch.length);
    const bool torch_failed = torch.failed;
    bnmlp_release(allocator, torch.bytes);
    text_add(t, ",", 1);
    const char *version = bnmlp_version();
    add_metadata(t, "bnmlp.version", version, strlen(version));
    text_add(t, ",", 1);
    add_metadata(t, "format", "pt", 2);
    text_add(t, "}", 1);
    for (size_t e = 0; e < n; e++) {
        const bnmlp_layer *layer = bnmlp_model_layer_at(model, list[e].layer);
        const bnmlp_st_name *row = list[e].name;
        text_format(t, ",\"%zu.%s\":{\"dtype\":\"%s\",\"shape\":[", list[e].layer, row->suffix,
                    row->array < 0 ? "I64" : "F32");
        if (row->transposed)
            text_format(t, "%zu,%zu", layer->out, layer->in);
        else if (row->array >= 0)
            text_format(t, "%zu", layer->out);
        text_format(t, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)list[e].begin,
                    (unsigned long long)list[e].end);
    }
    text_add(t, "}", 1);
    while ((8 + t->length) % 8 != 0) text_add(t, " ", 1);
    if (t->failed || torch_failed) {
        bnmlp_release(allocator, list);
        return BNMLP_ERR_OUT_OF_MEMORY;
    }
    *entries = list;
    *count = n;
    return BNMLP_OK;
}

/* The row does not fold (folds false): model is the caller's, the layers as they are. */
static bnmlp_status write_safetensors(bnmlp_model *model, bnmlp_model *original, const char *path,
                                      const bnmlp_export_options *options, bnmlp_error_detail *detail) {
    (void)original;
    (void)options;
    if (!bnmlp_model_is_built(model)) {
        bnmlp_detail_set(detail, 0, 0, 0, "the model is not built");
        return BNMLP_ERR_NOT_BUILT;
    }
    for (size_t i = 0; i < bnmlp_model_layer_count(model); i++)
        if (bnmlp_model_layer_at(model, i)->steps > (uint64_t)INT64_MAX) {
            bnmlp_detail_set(detail, 0, 0, 0, "layer %zu's step count does not fit an I64", i);
            return BNMLP_ERR_UNSUPPORTED;
        }
    const bnmlp_allocator *allocator = bnmlp_model_allocator(model);
    text header = {.allocator = allocator};
    entry *entries = NULL;
    size_t count = 0;
    bnmlp_status status = make_header(model, &header, &entries, &count, detail);
    if (status != BNMLP_OK) {
        bnmlp_release(allocator, header.bytes);
        if (status == BNMLP_ERR_OUT_OF_MEMORY) bnmlp_detail_set(detail, 0, 0, 0, "out of memory");
        return status;
    }
    bnmlp_file_writer w;
    status = bnmlp_file_writer_open(&w, path, allocator, NULL, detail);
    if (status == BNMLP_OK) {
        unsigned char prefix[8];
        bnmlp_store_le64(prefix, header.length);
        bnmlp_file_writer_write(&w, prefix, 8);
        bnmlp_file_writer_write(&w, header.bytes, header.length);
        for (size_t e = 0; e < count; e++) write_tensor(&w, model, &entries[e]);
        status = bnmlp_file_writer_commit(&w, detail);
    }
    bnmlp_release(allocator, entries);
    bnmlp_release(allocator, header.bytes);
    return status;
}

const bnmlp_export_format_row bnmlp_export_safetensors = {
    .name = "safetensors",
    .summary = "one safetensors file: PyTorch's nn.Sequential names, the architecture in its metadata",
    .writes_directory = false,
    .takes_int8 = false,
    .takes_test = false,
    .folds = false, /* the file is the state of the same nn.Sequential: every layer kept */
    .write = write_safetensors,
};
