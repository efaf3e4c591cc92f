/* activation.c - element-wise activations and their derivatives. */
#include "layers/layers.h"

#include <math.h>

double bnmlp_sigmoid(double x) {
    if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
    const double e = exp(x);
    return e / (1.0 + e);
}

void bnmlp_activation_forward(float *y, const float *x, size_t n, bnmlp_activation kind, float alpha) {
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
        for (size_t i = 0; i < n; i++) y[i] = (float)bnmlp_sigmoid((double)x[i]);
        break;
    case BNMLP_ACTIVATION_TANH:
        for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
        break;
    }
}

void bnmlp_activation_backward(float *dx, const float *dy, const float *x, const float *y, size_t n,
                               bnmlp_activation kind, float alpha) {
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
    }
}
