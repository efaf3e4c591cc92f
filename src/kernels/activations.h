/*
 * activations.h - internal: THE activation table. One row per bnmlp_activation, and beside it
 * the row's formulas; everything else that needs "every activation" expands this list: the
 * element-wise loops of every instruction set (kernels/elementwise_body.h), their references
 * (kernels/reference.c), the names, validation and row-wise dispatch of the layer tier
 * (layers/activation.c), and through those the summary, the model file and the tool.
 *
 * A row: X(KIND, id, name, alias, alpha, backward_uses, shape)
 *   KIND           the bnmlp_activation value (include/bnmlp.h)
 *   id             the C identifier of the row's formulas: bnmlp_activation_<id>_...
 *   name           Keras's name, what bnmlp_activation_name returns
 *   alias          another accepted name for bnmlp_activation_from_name, or NULL
 *   alpha          Keras's default of the layer's alpha for a kind that reads it (leaky_relu's
 *                  slope, elu's scale), NAN for a kind that ignores it
 *   backward_uses  BNMLP_ACTIVATION_USES_INPUT / _OUTPUT / _BOTH / _NOTHING: what the backward
 *                  pass reads besides dy (the forward input x, its output y)
 *   shape          ELEMENTWISE: y = f(x) element by element, with
 *                    static inline float bnmlp_activation_<id>_forward(float x, float alpha)
 *                    static inline float bnmlp_activation_<id>_backward(float dy, float x, float y,
 *                                                                    float alpha)   (= dy f'(x))
 *                  ROWWISE: a function of each row of the batch, with
 *                    bnmlp_activation_<id>_rows_forward(float *y, const float *x, size_t rows,
 *                                                        size_t width)
 *                    bnmlp_activation_<id>_rows_backward(float *dx, const float *dy,
 *                                                         const float *y, size_t rows, size_t width)
 * alpha is the layer's alpha (leaky_relu's slope below 0, elu's scale below 0); other rows
 * ignore it.
 *
 * Adding an element-wise activation: its enum value in bnmlp.h, its row and two formulas here.
 * The formulas are float32 and are compiled once per instruction set (with no floating-point
 * contraction: gcc in ISO C mode, clang by the pragma below),
 * so every instruction set gives the same bits as the reference loops.
 */
#ifndef BNMLP_KERNELS_ACTIVATIONS_H
#define BNMLP_KERNELS_ACTIVATIONS_H

#include <math.h>
#include <stddef.h>

#include "bnmlp.h"

/* The formulas below are inlined into loops compiled with FMA (AVX2, AVX-512): clang would
 * contract them there (its default -ffp-contract=on follows the function's definition, not the
 * loop's), and they would no longer give the reference's bits. gcc does not contract in ISO C
 * mode. This stays in effect for the rest of a file that includes this header, as gcc's mode
 * does for every file. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* What an activation's backward pass reads besides dy. */
typedef enum bnmlp_activation_uses {
    BNMLP_ACTIVATION_USES_NOTHING = 0,
    BNMLP_ACTIVATION_USES_INPUT = 1,  /* the forward input x */
    BNMLP_ACTIVATION_USES_OUTPUT = 2, /* the forward output y */
    BNMLP_ACTIVATION_USES_BOTH = 3
} bnmlp_activation_uses;

/* clang-format off */
#define BNMLP_ACTIVATION_TABLE(X)                                                                                      \
    X(BNMLP_ACTIVATION_LINEAR,    linear,     "linear",     NULL,    NAN,  BNMLP_ACTIVATION_USES_NOTHING, ELEMENTWISE) \
    X(BNMLP_ACTIVATION_RELU,      relu,       "relu",       NULL,    NAN,  BNMLP_ACTIVATION_USES_INPUT,   ELEMENTWISE) \
    X(BNMLP_ACTIVATION_LEAKY_RELU,leaky_relu, "leaky_relu", NULL,    0.3f, BNMLP_ACTIVATION_USES_INPUT,   ELEMENTWISE) \
    X(BNMLP_ACTIVATION_SIGMOID,   sigmoid,    "sigmoid",    NULL,    NAN,  BNMLP_ACTIVATION_USES_OUTPUT,  ELEMENTWISE) \
    X(BNMLP_ACTIVATION_TANH,      tanh,       "tanh",       NULL,    NAN,  BNMLP_ACTIVATION_USES_OUTPUT,  ELEMENTWISE) \
    X(BNMLP_ACTIVATION_SOFTMAX,   softmax,    "softmax",    NULL,    NAN,  BNMLP_ACTIVATION_USES_OUTPUT,  ROWWISE)     \
    X(BNMLP_ACTIVATION_ELU,       elu,        "elu",        NULL,    1.0f, BNMLP_ACTIVATION_USES_INPUT,   ELEMENTWISE) \
    X(BNMLP_ACTIVATION_GELU,      gelu,       "gelu",       NULL,    NAN,  BNMLP_ACTIVATION_USES_INPUT,   ELEMENTWISE) \
    X(BNMLP_ACTIVATION_SILU,      silu,       "silu",       "swish", NAN,  BNMLP_ACTIVATION_USES_INPUT,   ELEMENTWISE)
/* clang-format on */

/* The number of rows, which is also one more than the largest kind: the kinds are 0, 1, ... in
 * table order (layers/activation.c checks it at compile time). The size of arrays indexed by
 * kind. */
#define BNMLP_ACTIVATION_SLOT_(KIND, id, name, alias, alpha, uses, shape) BNMLP_ACTIVATION_SLOT_##id,
enum { BNMLP_ACTIVATION_TABLE(BNMLP_ACTIVATION_SLOT_) BNMLP_ACTIVATION_KINDS };
#undef BNMLP_ACTIVATION_SLOT_

/* ---- the formulas -------------------------------------------------------------------------- */

/* The logistic function of x from e = exp(-|x|): 1 / (1 + e) for x >= 0, e / (1 + e) below, so
 * that exp never overflows; the one sigmoid of the library (the activation, and the loss's
 * gradient from a logit, which shares e with its log1p). float32 throughout. */
static inline float bnmlp_sigmoid_of(float x, float e) {
    return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

/* linear: f(x) = x, f' = 1. */
static inline float bnmlp_activation_linear_forward(float x, float alpha) {
    (void)alpha;
    return x;
}
static inline float bnmlp_activation_linear_backward(float dy, float x, float y, float alpha) {
    (void)x, (void)y, (void)alpha;
    return dy;
}

/* relu: f(x) = max(x, 0); f' = 1 above 0, else 0 (0 at the kink). */
static inline float bnmlp_activation_relu_forward(float x, float alpha) {
    (void)alpha;
    return x > 0.0f ? x : 0.0f;
}
static inline float bnmlp_activation_relu_backward(float dy, float x, float y, float alpha) {
    (void)y, (void)alpha;
    return x > 0.0f ? dy : 0.0f;
}

/* leaky_relu: f(x) = x above 0, alpha x otherwise; f' = 1 above 0, else alpha. */
static inline float bnmlp_activation_leaky_relu_forward(float x, float alpha) {
    return x > 0.0f ? x : alpha * x;
}
static inline float bnmlp_activation_leaky_relu_backward(float dy, float x, float y, float alpha) {
    (void)y;
    return x > 0.0f ? dy : alpha * dy;
}

/* sigmoid: f(x) = 1 / (1 + exp(-x)); f' = y (1 - y). */
static inline float bnmlp_activation_sigmoid_forward(float x, float alpha) {
    (void)alpha;
    return bnmlp_sigmoid_of(x, expf(-fabsf(x)));
}
static inline float bnmlp_activation_sigmoid_backward(float dy, float x, float y, float alpha) {
    (void)x, (void)alpha;
    return dy * y * (1.0f - y);
}

/* tanh: f(x) = tanh(x); f' = 1 - y^2. */
static inline float bnmlp_activation_tanh_forward(float x, float alpha) {
    (void)alpha;
    return tanhf(x);
}
static inline float bnmlp_activation_tanh_backward(float dy, float x, float y, float alpha) {
    (void)x, (void)alpha;
    return dy * (1.0f - y * y);
}

/* elu: f(x) = x above 0, alpha (exp(x) - 1) otherwise (expm1: exact near 0);
 * f' = 1 above 0, else alpha exp(x) (PyTorch's elu_backward from the input). */
static inline float bnmlp_activation_elu_forward(float x, float alpha) {
    return x > 0.0f ? x : alpha * expm1f(x);
}
static inline float bnmlp_activation_elu_backward(float dy, float x, float y, float alpha) {
    (void)y;
    return x > 0.0f ? dy : dy * (alpha * expf(x));
}

/* gelu, exact: f(x) = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2 the normal distribution;
 * f' = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi). */
#define BNMLP_SQRT1_2 0.707106781186547524f   /* 1 / sqrt 2 */
#define BNMLP_RSQRT_2PI 0.398942280401432678f /* 1 / sqrt(2 pi) */
static inline float bnmlp_activation_gelu_forward(float x, float alpha) {
    (void)alpha;
    return 0.5f * x * (1.0f + erff(x * BNMLP_SQRT1_2));
}
static inline float bnmlp_activation_gelu_backward(float dy, float x, float y, float alpha) {
    (void)y, (void)alpha;
    const float cdf = 0.5f * (1.0f + erff(x * BNMLP_SQRT1_2));
    const float pdf = BNMLP_RSQRT_2PI * expf(-0.5f * x * x);
    return dy * (cdf + x * pdf);
}

/* silu (swish): f(x) = x sigmoid(x); f' = s (1 + x (1 - s)), s = sigmoid(x). */
static inline float bnmlp_activation_silu_forward(float x, float alpha) {
    (void)alpha;
    return x * bnmlp_sigmoid_of(x, expf(-fabsf(x)));
}
static inline float bnmlp_activation_silu_backward(float dy, float x, float y, float alpha) {
    (void)y, (void)alpha;
    const float s = bnmlp_sigmoid_of(x, expf(-fabsf(x)));
    return dy * (s * (1.0f + x * (1.0f - s)));
}

/* softmax, per row: y_k = exp(x_k - max) / sum_j exp(x_j - max), in double. */
static inline void bnmlp_activation_softmax_rows_forward(float *y, const float *x, size_t rows,
                                                         size_t width) {
    for (size_t r = 0; r < rows; r++) {
        const float *in = x + r * width;
        float *out = y + r * width;
        double max = (double)in[0], sum = 0.0;
        for (size_t k = 1; k < width; k++)
            if ((double)in[k] > max) max = (double)in[k];
        for (size_t k = 0; k < width; k++) sum += exp((double)in[k] - max);
        for (size_t k = 0; k < width; k++) out[k] = (float)(exp((double)in[k] - max) / sum);
    }
}

/* dx = y (dy - sum_k dy_k y_k) per row, in double. */
static inline void bnmlp_activation_softmax_rows_backward(float *dx, const float *dy, const float *y,
                                                          size_t rows, size_t width) {
    for (size_t r = 0; r < rows; r++) {
        const float *g = dy + r * width, *out = y + r * width;
        double dot = 0.0; /* sum_k dy_k y_k: what moving one output takes from the others */
        for (size_t k = 0; k < width; k++) dot += (double)g[k] * (double)out[k];
        for (size_t k = 0; k < width; k++) dx[r * width + k] = (float)((double)out[k] * ((double)g[k] - dot));
    }
}

#endif /* BNMLP_KERNELS_ACTIVATIONS_H */
