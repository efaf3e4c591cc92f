/*
 * c_source.c - the "c" export format: a model as dependency-free C99 source (docs/deploy.md).
 *
 * The directory receives NAME.h (sizes, the predict function, class names, all documented),
 * NAME.c (the weights as static const arrays, the layers as small loops, NAME_predict) and, with
 * a self-test, NAME_test.c (stored inputs and the library's outputs, a main() that compares).
 * The generated code has no malloc, no global mutable state and no stdio; it needs libm only for
 * the activations whose formulas call it, and the header says whether it does.
 *
 * Exactness: float weights are written as hexadecimal literals (the exact float32 bits, by our own
 * formatter, so the bytes do not depend on the C library); batch norm, normalization and every
 * activation are written with the same float32 expressions as the library's inference (the
 * tables below, one entry per layer kind and per activation of kernels/activations.h). Only the
 * dense products' summation order differs from the library's blocked GEMM.
 *
 * int8 weights: each dense kernel column (an output channel) is stored as q = round(w / scale),
 * half away from zero (roundf), clamped to [-127, 127], with scale = max|w| / 127 (float32; 0 for
 * a zero column); the product uses (float)q * scale, so the self-test's reference is the library's
 * bnmlp_model_predict on a copy of the model whose kernels hold exactly those values.
 *
 * Everything is written to temporary files first and renamed into place only when all are
 * complete and flushed (bnmlp_file_writer_seal, then _publish).
 */
#include "export/c_source.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "core/core.h"
#include "layers/layers.h"
#include "model/model.h"

/* The tolerance of the self-test: |library - exported| <= TOLERANCE (1 + |library|). */
#define TOLERANCE_TEXT "1e-5"

/* Values per line in the weight arrays. */
#define VALUES_PER_LINE 6

/* ---- writing text ------------------------------------------------------------------------------ */

/* One output file: its atomic writer. Errors are sticky in the writer (checked when sealing). */
typedef struct c_file {
    bnmlp_file_writer writer; /* open while writing, then sealed, then published */
    bool open;                /* the writer has a temporary file to publish or discard */
    bool cut;                 /* a formatted piece did not fit putf's buffer (a bug: the export fails) */
} c_file;

static void put(c_file *file, const char *text) {
    bnmlp_file_writer_write(&file->writer, text, strlen(text));
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void
putf(c_file *file, const char *format, ...) {
    char text[2048]; /* every format below fits: names are at most 64 characters */
    va_list args;
    va_start(args, format);
    int n = vsnprintf(text, sizeof text, format, args);
    va_end(args);
    if (n < 0 || (size_t)n >= sizeof text) file->cut = true;
    if (n > 0 && !file->cut) bnmlp_file_writer_write(&file->writer, text, (size_t)n);
}

/* The exact C99 literal of a finite float: hexadecimal, e.g. "-0x1.8p+1f", "0x0p+0f". Our own
 * formatter, so that the text is the same with every C library. text has room for 24. */
static void hex_float(char text[24], float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    const char *sign = bits >> 31 ? "-" : "";
    const unsigned biased = (bits >> 23) & 0xffu;
    uint32_t fraction = (bits & 0x7fffffu) << 1; /* 24 bits: six hexadecimal digits */
    if (biased == 0 && fraction == 0) {
        snprintf(text, 24, "%s0x0p+0f", sign);
        return;
    }
    int digits = 6;
    while (digits > 0 && (fraction & 0xfu) == 0) {
        fraction >>= 4;
        digits--;
    }
    const int exponent = biased == 0 ? -126 : (int)biased - 127;
    const char *lead = biased == 0 ? "0" : "1"; /* subnormal: 0.fraction */
    if (digits == 0)
        snprintf(text, 24, "%s0x%sp%+df", sign, lead, exponent);
    else
        snprintf(text, 24, "%s0x%s.%0*lxp%+df", sign, lead, digits, (unsigned long)fraction, exponent);
}

static void put_float(c_file *file, float value) {
    char text[24];
    hex_float(text, isfinite(value) ? value : 0.0f);
    put(file, text);
}

/* A C string literal of text (UTF-8 bytes): printable ASCII as is, except " \ and ? (no
 * trigraphs), everything else as a three-digit octal escape. */
static void put_string(c_file *file, const char *text) {
    put(file, "\"");
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\' || *p == '?')
            putf(file, "\\%c", *p);
        else if (*p >= 0x20 && *p < 0x7f)
            putf(file, "%c", *p);
        else
            putf(file, "\\%03o", *p);
    }
    put(file, "\"");
}

/* count floats as the body of an array initializer, indented, VALUES_PER_LINE per line. */
static void put_floats(c_file *file, const float *values, size_t count, const char *indent) {
    for (size_t i = 0; i < count; i++) {
        put(file, i % VALUES_PER_LINE == 0 ? indent : " ");
        put_float(file, values[i]);
        put(file, i + 1 < count ? "," : "");
        if (i % VALUES_PER_LINE == VALUES_PER_LINE - 1 || i + 1 == count) put(file, "\n");
    }
}

/* ---- activations: one C formula per row of the activation table -------------------------------- */

/* The C99 text of an activation, as the library computes it (kernels/activations.h). An
 * element-wise kind is the body of `static float activation_ID(float x, float alpha)`; a row-wise
 * kind the body of `static void activation_ID(float *y, const float *x, size_t width)`, which
 * may run in place. */
typedef struct c_activation {
    const char *id;   /* the table's identifier: the generated function is activation_<id> */
    bool row_wise;    /* a function of each row (softmax) */
    bool needs_libm;  /* the formula calls libm */
    const char *body; /* the function's body */
} c_activation;

#define C_ROW_WISE_ELEMENTWISE false
#define C_ROW_WISE_ROWWISE true

#define C_LIBM_linear false
#define C_BODY_linear "    (void)alpha;\n    return x;\n"
#define C_LIBM_relu false
#define C_BODY_relu "    (void)alpha;\n    return x > 0.0f ? x : 0.0f;\n"
#define C_LIBM_leaky_relu false
#define C_BODY_leaky_relu "    return x > 0.0f ? x : alpha * x;\n"
#define C_LIBM_sigmoid true
#define C_BODY_sigmoid                                                                                       \
    "    const float e = expf(-fabsf(x)); /* never overflows */\n"                                           \
    "    (void)alpha;\n"                                                                                     \
    "    return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);\n"
#define C_LIBM_tanh true
#define C_BODY_tanh "    (void)alpha;\n    return tanhf(x);\n"
#define C_LIBM_softmax true
#define C_BODY_softmax                                                                                       \
    "    /* exp(x - max) / sum exp(x - max), in double */\n"                                                 \
    "    double max = (double)x[0], sum = 0.0;\n"                                                            \
    "    for (size_t k = 1; k < width; k++)\n"                                                               \
    "        if ((double)x[k] > max) max = (double)x[k];\n"                                                  \
    "    for (size_t k = 0; k < width; k++) sum += exp((double)x[k] - max);\n"                               \
    "    for (size_t k = 0; k < width; k++) y[k] = (float)(exp((double)x[k] - max) / sum);\n"
#define C_LIBM_elu true
#define C_BODY_elu "    return x > 0.0f ? x : alpha * expm1f(x);\n"
#define C_LIBM_gelu true
#define C_BODY_gelu                                                                                          \
    "    /* exact: x Phi(x), Phi the normal distribution function */\n"                                      \
    "    (void)alpha;\n"                                                                                     \
    "    return 0.5f * x * (1.0f + erff(x * 0.707106781186547524f));\n"
#define C_LIBM_silu true
#define C_BODY_silu                                                                                          \
    "    const float e = expf(-fabsf(x));\n"                                                                 \
    "    (void)alpha;\n"                                                                                     \
    "    return x * (x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e));\n"

/* A row of the activation table without a C_BODY_<id> above does not compile. */
#define C_ACTIVATION_(KIND, id, name, alias, alpha, uses, shape)                                             \
    [KIND] = {#id, C_ROW_WISE_##shape, C_LIBM_##id, C_BODY_##id},
static const c_activation ACTIVATIONS[BNMLP_ACTIVATION_KINDS] = {BNMLP_ACTIVATION_TABLE(C_ACTIVATION_)};
#undef C_ACTIVATION_

/* ---- helpers of the generated code --------------------------------------------------------------- */

/* The generated static functions besides the activations; each is written once when used. */
typedef enum c_helper {
    HELPER_DENSE = 0,
    HELPER_DENSE_INT8,
    HELPER_BATCHNORM,
    HELPER_NORMALIZE,
    HELPER_COUNT
} c_helper;

static const char *const HELPERS[HELPER_COUNT] = {
    [HELPER_DENSE] =
        "/* y (out) = x (in) W + b, with W stored transposed: kernel (out, in); bias may be null. */\n"
        "static void dense(float *y, const float *x, const float *kernel, const float *bias, "
        "size_t in,\n"
        "                  size_t out) {\n"
        "    for (size_t o = 0; o < out; o++) {\n"
        "        const float *w = kernel + o * in;\n"
        "        float sum = 0.0f;\n"
        "        for (size_t i = 0; i < in; i++) sum += x[i] * w[i];\n"
        "        y[o] = bias ? sum + bias[o] : sum;\n"
        "    }\n"
        "}\n",
    [HELPER_DENSE_INT8] =
        "/* y (out) = x (in) W + b, with W stored transposed as int8: W[i][o] = kernel[o][i] * scale[o]\n"
        " * (per-output-channel symmetric quantization); bias may be null. */\n"
        "static void dense_int8(float *y, const float *x, const int8_t *kernel, const float *scale,\n"
        "                       const float *bias, size_t in, size_t out) {\n"
        "    for (size_t o = 0; o < out; o++) {\n"
        "        const int8_t *q = kernel + o * in;\n"
        "        float sum = 0.0f;\n"
        "        for (size_t i = 0; i < in; i++) sum += x[i] * ((float)q[i] * scale[o]);\n"
        "        y[o] = bias ? sum + bias[o] : sum;\n"
        "    }\n"
        "}\n",
    [HELPER_BATCHNORM] =
        "/* Batch normalization in inference mode, per feature: y = gamma ((x - mean) rstd) + beta with\n"
        " * rstd = 1 / sqrt(moving_variance + epsilon) precomputed; gamma, beta may be null (scale or\n"
        " * center off). May run in place. */\n"
        "static void batchnorm(float *y, const float *x, const float *mean, const float *rstd, const float "
        "*gamma,\n"
        "                      const float *beta, size_t width) {\n"
        "    for (size_t c = 0; c < width; c++) {\n"
        "        const float scale = gamma ? gamma[c] : 1.0f, shift = beta ? beta[c] : 0.0f;\n"
        "        y[c] = scale * ((x[c] - mean[c]) * rstd[c]) + shift;\n"
        "    }\n"
        "}\n",
    [HELPER_NORMALIZE] =
        "/* The input standardization: y = (x - mean) / std per feature, std = max(sqrt(variance), "
        "1e-7)\n"
        " * precomputed. May run in place. */\n"
        "static void normalize(float *y, const float *x, const float *mean, const float *std, "
        "size_t width) {\n"
        "    for (size_t c = 0; c < width; c++) y[c] = (x[c] - mean[c]) / std[c];\n"
        "}\n",
};

/* ---- layer kinds: one row per kind the format writes ---------------------------------------------- */

/* What a layer row writes with. */
typedef struct c_context {
    c_file *file;                        /* NAME.c */
    const bnmlp_layer *layer;            /* the layer */
    size_t index;                        /* its position in the model */
    const bnmlp_export_options *options; /* name, weights */
    float *scratch;                      /* room for max(in x out, 2 out) floats */
    int8_t *quantized;                   /* room for in x out int8 */
} c_context;

/* One kind of layer. */
typedef struct c_layer_row {
    bnmlp_layer_kind kind;
    /* True when the layer computes nothing at inference (dropout, a linear activation). */
    bool (*is_identity)(const bnmlp_layer *layer);
    /* True when its function may write over its input. */
    bool in_place;
    /* The helpers (bit HELPER_*) and activations (bit kind) its call uses. */
    void (*uses)(const bnmlp_layer *layer, const bnmlp_export_options *options, unsigned *helpers,
                 unsigned *activations);
    /* Writes its constant arrays into NAME.c (NULL: none). */
    void (*arrays)(const c_context *c);
    /* Writes the statement that applies it from src to dst (C expressions). */
    void (*call)(const c_context *c, const char *dst, const char *src);
} c_layer_row;

static bool never_identity(const bnmlp_layer *layer) {
    (void)layer;
    return false;
}

/* Per-output-channel symmetric int8 of the kernel W (in, out) column o: q (in) and *scale. */
static void quantize_channel(const float *kernel, size_t in, size_t out, size_t o, int8_t *q, float *scale) {
    float largest = 0.0f;
    for (size_t i = 0; i < in; i++) largest = fmaxf(largest, fabsf(kernel[i * out + o]));
    *scale = largest / 127.0f;
    for (size_t i = 0; i < in; i++) {
        const float r = *scale > 0.0f ? roundf(kernel[i * out + o] / *scale) : 0.0f; /* half away from 0 */
        q[i] = (int8_t)(r > 127.0f ? 127 : r < -127.0f ? -127 : (int)r);
    }
}

static void dense_uses(const bnmlp_layer *layer, const bnmlp_export_options *options, unsigned *helpers,
                       unsigned *activations) {
    (void)layer, (void)activations;
    *helpers |= 1u << (options->weights == BNMLP_EXPORT_WEIGHTS_INT8 ? HELPER_DENSE_INT8 : HELPER_DENSE);
}

static void dense_arrays(const c_context *c) {
    const bnmlp_layer *l = c->layer;
    const float *kernel = l->data[BNMLP_ARRAY_KERNEL], *bias = l->data[BNMLP_ARRAY_BIAS];
    putf(c->file, "/* layer %zu: Dense, %zu -> %zu; the kernel transposed, (out, in) */\n", c->index, l->in,
         l->out);
    if (c->options->weights == BNMLP_EXPORT_WEIGHTS_INT8) {
        float *scales = c->scratch;
        putf(c->file, "static const int8_t layer%zu_kernel[%zu][%zu] = {\n", c->index, l->out, l->in);
        for (size_t o = 0; o < l->out; o++) {
            quantize_channel(kernel, l->in, l->out, o, c->quantized, &scales[o]);
            for (size_t i = 0; i < l->in; i++) {
                put(c->file, i % 16 == 0 ? (i == 0 ? "    {" : "\n     ") : " ");
                putf(c->file, "%d%s", c->quantized[i], i + 1 < l->in ? "," : "");
            }
            put(c->file, o + 1 < l->out ? "},\n" : "}\n");
        }
        put(c->file, "};\n");
        putf(c->file, "static const float layer%zu_scale[%zu] = {\n", c->index, l->out);
        put_floats(c->file, scales, l->out, "    ");
        put(c->file, "};\n");
    } else {
        putf(c->file, "static const float layer%zu_kernel[%zu][%zu] = {\n", c->index, l->out, l->in);
        for (size_t o = 0; o < l->out; o++) {
            for (size_t i = 0; i < l->in; i++) c->scratch[i] = kernel[i * l->out + o];
            put(c->file, "    {\n");
            put_floats(c->file, c->scratch, l->in, "        ");
            put(c->file, o + 1 < l->out ? "    },\n" : "    }\n");
        }
        put(c->file, "};\n");
    }
    if (bias) {
        putf(c->file, "static const float layer%zu_bias[%zu] = {\n", c->index, l->out);
        put_floats(c->file, bias, l->out, "    ");
        put(c->file, "};\n");
    }
    put(c->file, "\n");
}

static void dense_call(const c_context *c, const char *dst, const char *src) {
    const bnmlp_layer *l = c->layer;
    char bias[48];
    snprintf(bias, sizeof bias, l->data[BNMLP_ARRAY_BIAS] ? "layer%zu_bias" : "(const float *)0", c->index);
    if (c->options->weights == BNMLP_EXPORT_WEIGHTS_INT8)
        putf(c->file, "        dense_int8(%s, %s, &layer%zu_kernel[0][0], layer%zu_scale, %s, %zu, %zu);\n",
             dst, src, c->index, c->index, bias, l->in, l->out);
    else
        putf(c->file, "        dense(%s, %s, &layer%zu_kernel[0][0], %s, %zu, %zu);\n", dst, src, c->index,
             bias, l->in, l->out);
}

static bool activation_is_identity(const bnmlp_layer *layer) {
    return layer->config.activation.function == BNMLP_ACTIVATION_LINEAR;
}

static void activation_uses(const bnmlp_layer *layer, const bnmlp_export_options *options, unsigned *helpers,
                            unsigned *activations) {
    (void)options, (void)helpers;
    *activations |= 1u << layer->config.activation.function;
}

static void activation_call(const c_context *c, const char *dst, const char *src) {
    const c_activation *a = &ACTIVATIONS[c->layer->config.activation.function];
    putf(c->file, "        /* layer %zu: %s */\n", c->index,
         bnmlp_activation_name(c->layer->config.activation.function));
    if (a->row_wise) {
        putf(c->file, "        activation_%s(%s, %s, %zu);\n", a->id, dst, src, c->layer->out);
        return;
    }
    putf(c->file, "        for (size_t i = 0; i < %zu; i++) %s[i] = activation_%s(%s[i], ", c->layer->out,
         dst, a->id, src);
    put_float(c->file, c->layer->config.activation.alpha);
    put(c->file, ");\n");
}

static void batchnorm_uses(const bnmlp_layer *layer, const bnmlp_export_options *options, unsigned *helpers,
                           unsigned *activations) {
    (void)layer, (void)options, (void)activations;
    *helpers |= 1u << HELPER_BATCHNORM;
}

/* Writes a float array `layerINDEX_what` of count values. */
static void put_array(const c_context *c, const char *what, const float *values, size_t count) {
    putf(c->file, "static const float layer%zu_%s[%zu] = {\n", c->index, what, count);
    put_floats(c->file, values, count, "    ");
    put(c->file, "};\n");
}

static void batchnorm_arrays(const c_context *c) {
    const bnmlp_layer *l = c->layer;
    putf(c->file, "/* layer %zu: BatchNormalization (%zu features, epsilon ", c->index, l->out);
    put_float(c->file, l->config.batchnorm.epsilon);
    put(c->file, "): moving mean, rstd = 1 / sqrt(moving variance + epsilon)");
    put(c->file, l->data[BNMLP_ARRAY_GAMMA] ? ", gamma" : "");
    put(c->file, l->data[BNMLP_ARRAY_BETA] ? ", beta" : "");
    put(c->file, " */\n");
    put_array(c, "mean", l->data[BNMLP_ARRAY_MOVING_MEAN], l->out);
    bnmlp_batchnorm_moving_rstd(c->scratch, l->data[BNMLP_ARRAY_MOVING_VARIANCE], l->out,
                                l->config.batchnorm.epsilon);
    put_array(c, "rstd", c->scratch, l->out);
    if (l->data[BNMLP_ARRAY_GAMMA]) put_array(c, "gamma", l->data[BNMLP_ARRAY_GAMMA], l->out);
    if (l->data[BNMLP_ARRAY_BETA]) put_array(c, "beta", l->data[BNMLP_ARRAY_BETA], l->out);
    put(c->file, "\n");
}

static void batchnorm_call(const c_context *c, const char *dst, const char *src) {
    const bnmlp_layer *l = c->layer;
    char gamma[48], beta[48];
    snprintf(gamma, sizeof gamma, l->data[BNMLP_ARRAY_GAMMA] ? "layer%zu_gamma" : "(const float *)0",
             c->index);
    snprintf(beta, sizeof beta, l->data[BNMLP_ARRAY_BETA] ? "layer%zu_beta" : "(const float *)0", c->index);
    putf(c->file, "        batchnorm(%s, %s, layer%zu_mean, layer%zu_rstd, %s, %s, %zu);\n", dst, src,
         c->index, c->index, gamma, beta, l->out);
}

static void normalization_uses(const bnmlp_layer *layer, const bnmlp_export_options *options,
                               unsigned *helpers, unsigned *activations) {
    (void)layer, (void)options, (void)activations;
    *helpers |= 1u << HELPER_NORMALIZE;
}

static void normalization_arrays(const c_context *c) {
    const bnmlp_layer *l = c->layer;
    putf(c->file, "/* layer %zu: Normalization (%zu features): mean, std = max(sqrt(variance), 1e-7) */\n",
         c->index, l->out);
    put_array(c, "mean", l->data[BNMLP_ARRAY_MOVING_MEAN], l->out);
    bnmlp_normalization_std(c->scratch, l->data[BNMLP_ARRAY_MOVING_VARIANCE], l->out);
    put_array(c, "std", c->scratch, l->out);
    put(c->file, "\n");
}

static void normalization_call(const c_context *c, const char *dst, const char *src) {
    putf(c->file, "        normalize(%s, %s, layer%zu_mean, layer%zu_std, %zu);\n", dst, src, c->index,
         c->index, c->layer->out);
}

static bool always_identity(const bnmlp_layer *layer) {
    (void)layer;
    return true;
}

static void no_uses(const bnmlp_layer *layer, const bnmlp_export_options *options, unsigned *helpers,
                    unsigned *activations) {
    (void)layer, (void)options, (void)helpers, (void)activations;
}

static void no_call(const c_context *c, const char *dst, const char *src) { (void)c, (void)dst, (void)src; }

/* The kinds the format writes; a layer of a kind not listed makes the export BNMLP_ERR_UNSUPPORTED. */
static const c_layer_row LAYER_ROWS[] = {
    {BNMLP_LAYER_DENSE, never_identity, false, dense_uses, dense_arrays, dense_call},
    {BNMLP_LAYER_ACTIVATION, activation_is_identity, true, activation_uses, NULL, activation_call},
    {BNMLP_LAYER_BATCHNORM, never_identity, true, batchnorm_uses, batchnorm_arrays, batchnorm_call},
    {BNMLP_LAYER_NORMALIZATION, never_identity, true, normalization_uses, normalization_arrays,
     normalization_call},
    {BNMLP_LAYER_DROPOUT, always_identity, true, no_uses, NULL, no_call}, /* the identity at inference */
};

static const c_layer_row *layer_row(const bnmlp_layer *layer) {
    for (size_t k = 0; k < sizeof LAYER_ROWS / sizeof LAYER_ROWS[0]; k++)
        if (LAYER_ROWS[k].kind == layer->kind) return &LAYER_ROWS[k];
    return NULL;
}

/* ---- the plan: what the model needs ------------------------------------------------------------- */

typedef struct c_plan {
    size_t inputs, outputs; /* widths */
    size_t workspace_width; /* floats of each of the two workspace halves */
    size_t largest_kernel;  /* most floats of a dense kernel (or 2 x widest layer) */
    unsigned helpers;       /* HELPER_* bits used */
    unsigned activations;   /* activation kinds used */
    bool needs_libm;        /* some formula calls libm */
    size_t test_rows;       /* 0 without a self-test */
    float *test_inputs;     /* (test_rows, inputs), from the model's allocator */
    float *test_outputs;    /* (test_rows, outputs) the library's predictions */
} c_plan;

static bnmlp_status plan_model(const bnmlp_model *model, const bnmlp_export_options *options, c_plan *plan,
                               bnmlp_error_detail *detail) {
    if (!bnmlp_model_is_built(model)) {
        bnmlp_detail_set(detail, 0, 0, 0, "the model is not built");
        return BNMLP_ERR_NOT_BUILT;
    }
    if (bnmlp_model_layer_count(model) == 0) {
        bnmlp_detail_set(detail, 0, 0, 0, "the model has no layers");
        return BNMLP_ERR_EMPTY_MODEL;
    }
    *plan = (c_plan){.inputs = bnmlp_model_input_width(model), .outputs = bnmlp_model_output_width(model)};
    size_t widest = bnmlp_model_input_width(model);
    plan->largest_kernel = 1;
    for (size_t k = 0; k < bnmlp_model_layer_count(model); k++) {
        const bnmlp_layer *layer = bnmlp_model_layer_at(model, k);
        const c_layer_row *row = layer_row(layer);
        if (!row) {
            bnmlp_detail_set(detail, 0, 0, 0, "layer %zu (%s) has no C form", k, layer->ops->class_name);
            return BNMLP_ERR_UNSUPPORTED;
        }
        row->uses(layer, options, &plan->helpers, &plan->activations);
        widest = layer->out > widest ? layer->out : widest;
        size_t kernel = 0;
        if (!bnmlp_size_mul(layer->in, layer->out, &kernel)) return BNMLP_ERR_OVERFLOW;
        plan->largest_kernel = kernel > plan->largest_kernel ? kernel : plan->largest_kernel;
    }
    if (widest > SIZE_MAX / 4) return BNMLP_ERR_OVERFLOW;
    plan->largest_kernel = 2 * widest > plan->largest_kernel ? 2 * widest : plan->largest_kernel;
    plan->workspace_width = widest;
    for (size_t a = 0; a < BNMLP_ACTIVATION_KINDS; a++)
        if (plan->activations >> a & 1u) plan->needs_libm |= ACTIVATIONS[a].needs_libm;
    return BNMLP_OK;
}

/* ---- the self-test's data ----------------------------------------------------------------------- */

/* SplitMix64: the inputs' generator (our own, so that the inputs do not depend on anything else). */
static uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Inputs in a plausible range: center + spread u with u uniform in [-2, 2), where center and spread
 * are the first layer's mean and standard deviation when it standardizes (normalization or batch
 * norm), else 0 and 1. */
static void test_inputs(const bnmlp_model *model, uint64_t seed, float *x, size_t rows, float *spread) {
    const bnmlp_layer *first = bnmlp_model_layer_at(model, 0);
    const float *mean = NULL;
    if (first->kind == BNMLP_LAYER_NORMALIZATION) {
        mean = first->data[BNMLP_ARRAY_MOVING_MEAN];
        bnmlp_normalization_std(spread, first->data[BNMLP_ARRAY_MOVING_VARIANCE], first->in);
    } else if (first->kind == BNMLP_LAYER_BATCHNORM) {
        mean = first->data[BNMLP_ARRAY_MOVING_MEAN];
        for (size_t c = 0; c < first->in; c++)
            spread[c] = sqrtf(first->data[BNMLP_ARRAY_MOVING_VARIANCE][c] + first->config.batchnorm.epsilon);
    } else {
        for (size_t c = 0; c < bnmlp_model_input_width(model); c++) spread[c] = 1.0f;
    }
    uint64_t state = seed;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < bnmlp_model_input_width(model); c++) {
            const float u = (float)(next_random(&state) >> 40) * 0x1p-24f * 4.0f - 2.0f;
            x[r * bnmlp_model_input_width(model) + c] = (mean ? mean[c] : 0.0f) + spread[c] * u;
        }
}

/* A copy of model whose dense kernels hold their int8 values dequantized ((float)q * scale): the
 * library's computation of the int8 export. NULL with *status on failure. */
static bnmlp_model *dequantized_copy(const bnmlp_model *model, float *scratch, int8_t *quantized,
                                     bnmlp_status *status) {
    size_t size = 0;
    *status = bnmlp_model_save_buffer(model, false, NULL, 0, &size);
    void *bytes = *status == BNMLP_OK ? bnmlp_alloc(bnmlp_model_allocator(model), size) : NULL;
    if (*status == BNMLP_OK && !bytes) *status = BNMLP_ERR_OUT_OF_MEMORY;
    if (*status == BNMLP_OK) *status = bnmlp_model_save_buffer(model, false, bytes, size, &size);
    bnmlp_model *copy = *status == BNMLP_OK
                            ? bnmlp_model_load_buffer(bytes, size, bnmlp_model_allocator(model), NULL, status)
                            : NULL;
    bnmlp_release(bnmlp_model_allocator(model), bytes);
    if (!copy) return NULL;
    *status = bnmlp_model_set_threads(copy, 1);
    for (size_t k = 0; k < bnmlp_model_layer_count(model) && *status == BNMLP_OK; k++) {
        const bnmlp_layer *l = bnmlp_model_layer_at(model, k);
        if (l->kind != BNMLP_LAYER_DENSE) continue;
        const size_t count = l->in * l->out;
        float *values = scratch; /* (in, out), after the scales */
        float *scales = scratch + count;
        for (size_t o = 0; o < l->out; o++) {
            quantize_channel(l->data[BNMLP_ARRAY_KERNEL], l->in, l->out, o, quantized, &scales[o]);
            for (size_t i = 0; i < l->in; i++) values[i * l->out + o] = (float)quantized[i] * scales[o];
        }
        *status = bnmlp_model_set_weights(copy, k, BNMLP_WEIGHT_KERNEL, values, count);
    }
    if (*status != BNMLP_OK) {
        bnmlp_model_free(copy);
        return NULL;
    }
    return copy;
}

/* The self-test's inputs and the library's outputs for them, into plan (allocated from the model's
 * allocator; released by release_plan). */
static bnmlp_status plan_test(bnmlp_model *model, bnmlp_model *original, const bnmlp_export_options *options,
                              c_plan *plan, float *scratch, int8_t *quantized, bnmlp_error_detail *detail) {
    const bnmlp_allocator *a = bnmlp_model_allocator(model);
    size_t in_count, out_count;
    if (!bnmlp_size_mul(options->test_rows, plan->inputs, &in_count) ||
        !bnmlp_size_mul(options->test_rows, plan->outputs, &out_count))
        return BNMLP_ERR_OVERFLOW;
    plan->test_inputs = bnmlp_alloc_zeroed(a, in_count, sizeof *plan->test_inputs);
    plan->test_outputs = bnmlp_alloc_zeroed(a, out_count, sizeof *plan->test_outputs);
    if (!plan->test_inputs || !plan->test_outputs) {
        bnmlp_detail_set(detail, 0, 0, 0, "out of memory for the self-test's %zu rows", options->test_rows);
        return BNMLP_ERR_OUT_OF_MEMORY;
    }
    plan->test_rows = options->test_rows;
    test_inputs(original, options->test_seed, plan->test_inputs, plan->test_rows, scratch);
    bnmlp_tensor x = bnmlp_tensor_view(plan->test_inputs, plan->test_rows, plan->inputs);
    bnmlp_tensor y = bnmlp_tensor_view(plan->test_outputs, plan->test_rows, plan->outputs);
    bnmlp_status status = BNMLP_OK;
    bnmlp_model *reference = original;
    if (options->weights == BNMLP_EXPORT_WEIGHTS_INT8)
        reference = dequantized_copy(model, scratch, quantized, &status);
    if (reference) status = bnmlp_model_predict(reference, &x, &y);
    if (reference && reference != original) bnmlp_model_free(reference);
    if (status != BNMLP_OK)
        bnmlp_detail_set(detail, 0, 0, 0, "computing the self-test's outputs failed: %s",
                         bnmlp_status_string(status));
    return status;
}

/* ---- the files ---------------------------------------------------------------------------------- */

/* "2 inputs -> Dense(50) -> relu -> BatchNormalization -> ... -> 1 output" as a comment line. */
static void put_architecture(c_file *file, const bnmlp_model *model) {
    putf(file, " * Model: %zu inputs", bnmlp_model_input_width(model));
    for (size_t k = 0; k < bnmlp_model_layer_count(model); k++) {
        const bnmlp_layer *l = bnmlp_model_layer_at(model, k);
        if (l->kind == BNMLP_LAYER_DENSE)
            putf(file, " -> Dense(%zu)", l->out);
        else if (l->kind == BNMLP_LAYER_ACTIVATION)
            putf(file, " -> %s", bnmlp_activation_name(l->config.activation.function));
        else
            putf(file, " -> %s", l->ops->class_name);
        if (k % 6 == 5 && k + 1 < bnmlp_model_layer_count(model)) put(file, "\n *       ");
    }
    putf(file, " -> %zu outputs\n", bnmlp_model_output_width(model));
}

/* What the outputs are, from the last layer that computes something. */
static const char *output_meaning(const bnmlp_model *model) {
    for (size_t k = bnmlp_model_layer_count(model); k-- > 0;) {
        const bnmlp_layer *l = bnmlp_model_layer_at(model, k);
        if (l->kind == BNMLP_LAYER_DROPOUT) continue;
        if (l->kind != BNMLP_LAYER_ACTIVATION) break;
        if (l->config.activation.function == BNMLP_ACTIVATION_SIGMOID)
            return "probabilities (the sigmoid's, one per output), as bnmlp_model_predict gives them";
        if (l->config.activation.function == BNMLP_ACTIVATION_SOFTMAX)
            return "class probabilities (the softmax's, summing to 1), as bnmlp_model_predict gives them";
        break;
    }
    return "the model's outputs, as bnmlp_model_predict gives them";
}

static void write_header(c_file *file, const bnmlp_model *model, const bnmlp_export_options *o,
                         const c_plan *plan) {
    const char *n = o->name;
    putf(file,
         "/*\n * %s.h - a trained multilayer perceptron as dependency-free C99, generated by libbnmlp %s\n",
         n, bnmlp_version());
    put(file, " * (bnmlp_model_export, format \"c\"). Do not edit: export the model again.\n *\n");
    put_architecture(file, model);
    putf(file, " * Weights: %s.\n",
         o->weights == BNMLP_EXPORT_WEIGHTS_INT8
             ? "dense kernels as int8 with a float scale per output channel (symmetric, q in\n"
               " *   [-127, 127], scale = max|w| / 127, q = round(w / scale) half away from zero); biases,\n"
               " *   batch norm and activations in float32"
             : "float32, the model's values exactly (hexadecimal literals)");
    put(file, " * Batch norm runs with its moving statistics (inference mode); dropout is the identity.\n");
    putf(file, " *\n * Build: cc -std=c99 -c %s.c%s\n", n,
         plan->needs_libm ? "   and link with -lm (the activations call libm)" : "   (no libm needed)");
    put(file, " * The code has no malloc, no global mutable state and no stdio: calls from several threads\n"
              " * are safe as long as each passes its own workspace and output.\n */\n");
    putf(file, "#ifndef %s_H_INCLUDED\n#define %s_H_INCLUDED\n\n#include <stddef.h>\n\n", n, n);
    put(file, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    putf(file, "/* Features of one input row. */\n#define %s_INPUTS %zu\n\n", n, plan->inputs);
    putf(file, "/* Values of one output row: %s. */\n#define %s_OUTPUTS %zu\n\n", output_meaning(model), n,
         plan->outputs);
    putf(file,
         "/* Floats of the workspace %s_predict needs, whatever the number of rows (it works row by\n"
         " * row): twice the widest layer. */\n#define %s_WORKSPACE_FLOATS %zu\n\n",
         n, n, 2 * plan->workspace_width);
    putf(file, "/* 1 when %s.c calls libm (link with -lm), else 0. */\n#define %s_NEEDS_LIBM %d\n\n", n, n,
         plan->needs_libm ? 1 : 0);
    const size_t classes = bnmlp_model_class_name(model, 0) ? bnmlp_model_class_count(model) : 0;
    if (classes) {
        putf(file,
             "/* The classes: output k (or, for one sigmoid output, the classes 0 and 1) is class "
             "%s_CLASS_NAMES[k]. */\n",
             n);
        putf(file,
             "#define %s_CLASSES %zu\n\n/* Their names, UTF-8. */\nextern const char *const "
             "%s_CLASS_NAMES[%s_CLASSES];\n\n",
             n, classes, n, n);
    }
    putf(file,
         "/* Runs the model on rows rows: x (rows x %s_INPUTS floats, row-major) -> out (rows x\n"
         " * %s_OUTPUTS floats, row-major; must not overlap x). workspace: %s_WORKSPACE_FLOATS floats the\n"
         " * call may overwrite. Returns 0, or 1 (nothing written) when x, out or workspace is null. */\n"
         "int %s_predict(const float *x, size_t rows, float *out, float *workspace);\n\n",
         n, n, n, n);
    putf(file, "#ifdef __cplusplus\n}\n#endif\n\n#endif /* %s_H_INCLUDED */\n", n);
}

/* Where a row's values are between layers. */
typedef enum c_place { PLACE_INPUT = 0, PLACE_A, PLACE_B } c_place;

static const char *const PLACE_NAMES[] = {"in", "a", "b"};

static void write_source(c_file *file, const bnmlp_model *model, const bnmlp_export_options *o,
                         const c_plan *plan, float *scratch, int8_t *quantized) {
    const char *n = o->name;
    putf(file, "/* %s.c - generated by libbnmlp %s; see %s.h. Do not edit. */\n#include \"%s.h\"\n\n", n,
         bnmlp_version(), n, n);
    if (plan->needs_libm) put(file, "#include <math.h>\n");
    if (o->weights == BNMLP_EXPORT_WEIGHTS_INT8) put(file, "#include <stdint.h>\n");
    put(file, "\n");
    const size_t classes = bnmlp_model_class_name(model, 0) ? bnmlp_model_class_count(model) : 0;
    if (classes) {
        putf(file, "const char *const %s_CLASS_NAMES[%s_CLASSES] = {\n", n, n);
        for (size_t k = 0; k < classes; k++) {
            put(file, "    ");
            put_string(file, bnmlp_model_class_name(model, k));
            put(file, k + 1 < classes ? ",\n" : "\n");
        }
        put(file, "};\n\n");
    }
    for (size_t k = 0; k < bnmlp_model_layer_count(model); k++) {
        const c_layer_row *row = layer_row(bnmlp_model_layer_at(model, k));
        const c_context c = {file, bnmlp_model_layer_at(model, k), k, o, scratch, quantized};
        if (row->arrays && !row->is_identity(bnmlp_model_layer_at(model, k))) row->arrays(&c);
    }
    for (size_t h = 0; h < HELPER_COUNT; h++)
        if (plan->helpers >> h & 1u) {
            put(file, HELPERS[h]);
            put(file, "\n");
        }
    for (size_t a = 0; a < BNMLP_ACTIVATION_KINDS; a++) {
        if (!(plan->activations >> a & 1u) || a == BNMLP_ACTIVATION_LINEAR) continue;
        const c_activation *act = &ACTIVATIONS[a];
        if (act->row_wise)
            putf(file,
                 "/* %s, per row; may run in place */\nstatic void activation_%s(float *y, const float *x, "
                 "size_t width) {\n",
                 bnmlp_activation_name((bnmlp_activation)a), act->id);
        else
            putf(file, "/* %s */\nstatic float activation_%s(float x, float alpha) {\n",
                 bnmlp_activation_name((bnmlp_activation)a), act->id);
        put(file, act->body);
        put(file, "}\n\n");
    }
    /* The statements, tracking where the row is: the input, or one of the workspace's halves. */
    size_t last = bnmlp_model_layer_count(model); /* the last layer that computes something */
    for (size_t k = 0; k < bnmlp_model_layer_count(model); k++)
        if (!layer_row(bnmlp_model_layer_at(model, k))->is_identity(bnmlp_model_layer_at(model, k))) last = k;
    bool used[3] = {true, false, false};
    c_place place = PLACE_INPUT;
    /* Two passes: the first finds which halves are used, the second writes the statements. */
    for (int pass = 0; pass < 2; pass++) {
        place = PLACE_INPUT;
        if (pass == 1) {
            putf(file, "int %s_predict(const float *x, size_t rows, float *out, float *workspace) {\n", n);
            put(file, "    if (!x || !out || !workspace) return 1;\n");
            if (used[PLACE_A]) put(file, "    float *a = workspace;\n");
            if (used[PLACE_B]) putf(file, "    float *b = workspace + %zu;\n", plan->workspace_width);
            if (!used[PLACE_A] && !used[PLACE_B]) put(file, "    (void)workspace;\n");
            put(file, "    for (size_t r = 0; r < rows; r++) {\n");
            putf(file, "        const float *in = x + r * %s_INPUTS;\n", n);
            putf(file, "        float *y = out + r * %s_OUTPUTS;\n", n);
        }
        for (size_t k = 0; k < bnmlp_model_layer_count(model); k++) {
            const bnmlp_layer *l = bnmlp_model_layer_at(model, k);
            const c_layer_row *row = layer_row(l);
            if (row->is_identity(l)) continue;
            c_place to = row->in_place && place != PLACE_INPUT ? place : place == PLACE_A ? PLACE_B : PLACE_A;
            const char *dst = k == last ? "y" : PLACE_NAMES[to];
            if (pass == 0 && k != last) used[to] = true;
            if (pass == 1) {
                const c_context c = {file, l, k, o, scratch, quantized};
                row->call(&c, dst, PLACE_NAMES[place]);
            }
            place = to;
        }
    }
    if (last == bnmlp_model_layer_count(model)) /* every layer is the identity */
        putf(file, "        for (size_t i = 0; i < %s_OUTPUTS; i++) y[i] = in[i];\n", n);
    put(file, "    }\n    return 0;\n}\n");
}

static void write_test(c_file *file, const bnmlp_export_options *o, const c_plan *plan) {
    const char *n = o->name;
    putf(file,
         "/*\n * %s_test.c - the self-test of %s.c, generated by libbnmlp %s: %zu stored input rows (seed "
         "%llu)\n"
         " * and the library's outputs for them (bnmlp_model_predict%s). Fails (exit 1) when an\n"
         " * output differs by more than " TOLERANCE_TEXT " (1 + |expected|); prints the worst difference.\n"
         " * Build and run: cc -std=c99 %s.c %s_test.c%s && ./a.out\n */\n",
         n, n, bnmlp_version(), plan->test_rows, (unsigned long long)o->test_seed,
         o->weights == BNMLP_EXPORT_WEIGHTS_INT8
             ? " with the dense kernels dequantized: the int8\n * model's exact values"
             : "",
         n, n, plan->needs_libm ? " -lm" : "");
    putf(file, "#include <stdio.h>\n#include <stdlib.h>\n\n#include \"%s.h\"\n\n#define ROWS %zu\n\n", n,
         plan->test_rows);
    putf(file, "static const float inputs[ROWS][%s_INPUTS] = {\n", n);
    for (size_t r = 0; r < plan->test_rows; r++) {
        put(file, "    {\n");
        put_floats(file, plan->test_inputs + r * plan->inputs, plan->inputs, "        ");
        put(file, r + 1 < plan->test_rows ? "    },\n" : "    }\n");
    }
    put(file, "};\n\n");
    putf(file, "static const float expected[ROWS][%s_OUTPUTS] = {\n", n);
    for (size_t r = 0; r < plan->test_rows; r++) {
        put(file, "    {\n");
        put_floats(file, plan->test_outputs + r * plan->outputs, plan->outputs, "        ");
        put(file, r + 1 < plan->test_rows ? "    },\n" : "    }\n");
    }
    put(file, "};\n\n");
    putf(file,
         "int main(void) {\n"
         "    static float out[ROWS][%s_OUTPUTS];\n"
         "    static float workspace[%s_WORKSPACE_FLOATS];\n"
         "    if (%s_predict(&inputs[0][0], ROWS, (float *)0, workspace) == 0 ||\n"
         "        %s_predict(&inputs[0][0], ROWS, &out[0][0], (float *)0) == 0) {\n"
         "        fprintf(stdout, \"%s self-test: FAILED: a null argument was accepted\\n\");\n"
         "        return EXIT_FAILURE;\n"
         "    }\n",
         n, n, n, n, n);
    putf(file,
         "    if (%s_predict(&inputs[0][0], ROWS, &out[0][0], workspace) != 0) {\n"
         "        fprintf(stdout, \"%s self-test: FAILED: %s_predict returned an error\\n\");\n"
         "        return EXIT_FAILURE;\n"
         "    }\n",
         n, n, n);
    putf(file,
         "    double worst = 0.0;\n"
         "    size_t worst_row = 0, worst_output = 0, failures = 0;\n"
         "    for (size_t r = 0; r < ROWS; r++)\n"
         "        for (size_t k = 0; k < %s_OUTPUTS; k++) {\n"
         "            const double want = (double)expected[r][k], got = (double)out[r][k];\n"
         "            const double difference = got > want ? got - want : want - got;\n"
         "            const double tolerance = " TOLERANCE_TEXT " * (1.0 + (want < 0.0 ? -want : want));\n"
         "            if (!(difference <= tolerance)) failures++; /* NaN fails too */\n"
         "            if (!(difference <= worst)) {\n"
         "                worst = difference;\n"
         "                worst_row = r, worst_output = k;\n"
         "            }\n"
         "        }\n",
         n);
    putf(file,
         "    fprintf(stdout, \"%s self-test: %%d rows x %%d outputs, worst difference %%.3g (row %%lu, "
         "output %%lu), "
         "\"\n"
         "                    \"%%lu beyond " TOLERANCE_TEXT " (1 + |y|): %%s\\n\",\n"
         "                    ROWS, %s_OUTPUTS, worst, (unsigned long)worst_row, (unsigned "
         "long)worst_output,\n"
         "                    (unsigned long)failures, failures ? \"FAILED\" : \"ok\");\n"
         "    return failures ? EXIT_FAILURE : EXIT_SUCCESS;\n"
         "}\n",
         n, n);
}

/* ---- the writer --------------------------------------------------------------------------------- */

static const char *const SUFFIXES[BNMLP_C_EXPORT_FILES] = {".h", ".c", "_test.c"};

/* Opens file f's writer at directory/NAME<suffix>. */
static bnmlp_status open_file(c_file *file, const char *directory, const char *name, bnmlp_c_export_file f,
                              const bnmlp_allocator *allocator, const bnmlp_file_fault *faults,
                              bnmlp_error_detail *detail) {
    const size_t length = strlen(directory), room = length + strlen(name) + 16;
    if (length > SIZE_MAX - 128) return BNMLP_ERR_OVERFLOW;
    char *path = bnmlp_alloc(allocator, room);
    if (!path) return BNMLP_ERR_OUT_OF_MEMORY;
    const bool slash = length > 0 && directory[length - 1] == '/';
    snprintf(path, room, "%s%s%s%s", directory, slash || length == 0 ? "" : "/", name, SUFFIXES[f]);
    bnmlp_status status =
        bnmlp_file_writer_open(&file->writer, path, allocator, faults ? &faults[f] : NULL, detail);
    bnmlp_release(allocator, path);
    file->open = status == BNMLP_OK;
    return status;
}

static void release_plan(const bnmlp_model *model, c_plan *plan) {
    bnmlp_release(bnmlp_model_allocator(model), plan->test_inputs);
    bnmlp_release(bnmlp_model_allocator(model), plan->test_outputs);
}

bnmlp_status bnmlp_export_c_write(bnmlp_model *model, bnmlp_model *original, const char *directory,
                                  const bnmlp_export_options *options, const bnmlp_file_fault *faults,
                                  bnmlp_error_detail *detail) {
    if (!model || !original || !directory || !options) return BNMLP_ERR_NULL_ARGUMENT;
    c_plan plan;
    bnmlp_status status = plan_model(model, options, &plan, detail);
    if (status != BNMLP_OK) return status;
    const bnmlp_allocator *a = bnmlp_model_allocator(model);
    float *scratch =
        bnmlp_alloc_zeroed(a, plan.largest_kernel + plan.workspace_width + plan.inputs, sizeof *scratch);
    int8_t *quantized = scratch ? bnmlp_alloc_zeroed(a, plan.largest_kernel, 1) : NULL;
    if (!quantized) {
        bnmlp_release(a, scratch);
        bnmlp_detail_set(detail, 0, 0, 0, "out of memory");
        return BNMLP_ERR_OUT_OF_MEMORY;
    }
    if (options->with_test) status = plan_test(model, original, options, &plan, scratch, quantized, detail);
    c_file files[BNMLP_C_EXPORT_FILES] = {{.open = false}};
    const size_t count = options->with_test ? 3 : 2;
    for (size_t f = 0; f < count && status == BNMLP_OK; f++)
        status = open_file(&files[f], directory, options->name, (bnmlp_c_export_file)f, a, faults, detail);
    if (status == BNMLP_OK) {
        write_header(&files[BNMLP_C_EXPORT_HEADER], model, options, &plan);
        write_source(&files[BNMLP_C_EXPORT_SOURCE], model, options, &plan, scratch, quantized);
        if (options->with_test) write_test(&files[BNMLP_C_EXPORT_TEST], options, &plan);
    }
    /* Every file complete and flushed before the first is renamed into place. */
    for (size_t f = 0; f < count && status == BNMLP_OK; f++)
        if (files[f].cut) {
            bnmlp_detail_set(detail, 0, 0, 0, "internal error: a line of %s%s did not fit", options->name,
                             SUFFIXES[f]);
            status = BNMLP_ERR_OVERFLOW;
        }
    for (size_t f = 0; f < count && status == BNMLP_OK; f++) {
        status = bnmlp_file_writer_seal(&files[f].writer, detail);
        files[f].open = status == BNMLP_OK;
    }
    for (size_t f = 0; f < count && status == BNMLP_OK; f++) {
        status = bnmlp_file_writer_publish(&files[f].writer, detail);
        files[f].open = false;
    }
    for (size_t f = 0; f < count; f++)
        if (files[f].open) bnmlp_file_writer_discard(&files[f].writer);
    release_plan(model, &plan);
    bnmlp_release(a, scratch);
    bnmlp_release(a, quantized);
    return status;
}

static bnmlp_status write_c(bnmlp_model *model, bnmlp_model *original, const char *path,
                            const bnmlp_export_options *options, bnmlp_error_detail *detail) {
    return bnmlp_export_c_write(model, original, path, options, NULL, detail);
}

const bnmlp_export_format_row bnmlp_export_c_row = {
    .name = "c",
    .summary = "dependency-free C99 source: NAME.h, NAME.c and, with a self-test, NAME_test.c",
    .writes_directory = true,
    .takes_int8 = true,
    .takes_test = true,
    .folds = true,
    .write = write_c,
};
