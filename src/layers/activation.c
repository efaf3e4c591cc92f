/* activation.c - element-wise activations and their derivatives. */
#include "layers/layers.h"

#include "core/core.h"

#include <math.h>

BNMLP_VECTOR_CLONES void bnmlp_activation_forward(float *y, const float *x, size_t n, bnmlp_activation kind,
                                                  float alpha) {
    switch (kind) {
    case BNMLP_ACTIVATION_LINEAR:
        for (size_t i = 0; i < n; i++) y[i] = x[i];
        break;
    case BNMLP_ACTIVATION_RELU:
        for (size_t i = 0; i < n; i++) {
            const float v = x[i]; /* loaded once, so the select needs no branch */
            y[i] = v > 0.0f ? v : 0.0f;
        }
        break;
    case BNMLP_ACTIVATION_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) {
            const float v = x[i];
            y[i] = v > 0.0f ? v : alpha * v;
        }
        break;
    case BNMLP_ACTIVATION_SIGMOID:
        for (size_t i = 0; i < n; i++) y[i] = bnmlp_sigmoid_of(x[i], expf(-fabsf(x[i])));
        break;
    case BNMLP_ACTIVATION_TANH:
        for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
        break;
    case BNMLP_ACTIVATION_SOFTMAX: break; /* row-wise: bnmlp_softmax_forward */
    }
}

BNMLP_VECTOR_CLONES void bnmlp_activation_backward(float *dx, const float *dy, const float *x, const float *y,
                                                   size_t n, bnmlp_activation kind, float alpha) {
    switch (kind) {
    case BNMLP_ACTIVATION_LINEAR: /* f' = 1 */
        for (size_t i = 0; i < n; i++) dx[i] = dy[i];
        break;
    case BNMLP_ACTIVATION_RELU: /* f' = 1 above 0, else 0 */
        for (size_t i = 0; i < n; i++) {
            const float g = dy[i]; /* both operands loaded, so the select needs no branch */
            dx[i] = x[i] > 0.0f ? g : 0.0f;
        }
        break;
    case BNMLP_ACTIVATION_LEAKY_RELU: /* f' = 1 above 0, else alpha */
        for (size_t i = 0; i < n; i++) {
            const float g = dy[i];
            dx[i] = x[i] > 0.0f ? g : alpha * g;
        }
        break;
    case BNMLP_ACTIVATION_SIGMOID: /* f' = y (1 - y) */
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case BNMLP_ACTIVATION_TANH: /* f' = 1 - y^2 */
        for (size_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    case BNMLP_ACTIVATION_SOFTMAX: break; /* row-wise: bnmlp_softmax_backward */
    }
}

void bnmlp_softmax_forward(float *y, const float *x, size_t rows, size_t width) {
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

void bnmlp_softmax_backward(float *dx, const float *dy, const float *y, size_t rows, size_t width) {
    for (size_t r = 0; r < rows; r++) {
        const float *g = dy + r * width, *out = y + r * width;
        double dot = 0.0; /* sum_k dy_k y_k: what moving one output takes from the others */
        for (size_t k = 0; k < width; k++) dot += (double)g[k] * (double)out[k];
        for (size_t k = 0; k < width; k++) dx[r * width + k] = (float)((double)out[k] * ((double)g[k] - dot));
    }
}
