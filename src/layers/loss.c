/* loss.c - binary cross-entropy (Keras's), from probabilities or from logits, and accuracy. */
#include "layers/layers.h"

#include <math.h>

double bnmlp_bce_probabilities(float *dp, const float *p, const float *y, size_t n) {
    const float lo = BNMLP_BCE_CLIP, hi = 1.0f - BNMLP_BCE_CLIP;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        /* Keras clips p to [1e-7, 1 - 1e-7] before the logs; the clip has zero gradient. */
        const float clipped = p[i] < lo ? lo : (p[i] > hi ? hi : p[i]);
        const double q = (double)clipped, t = (double)y[i];
        total -= t * log(q) + (1.0 - t) * log(1.0 - q);
        if (dp) {
            const int inside = p[i] >= lo && p[i] <= hi;
            dp[i] = inside ? (float)((-t / q + (1.0 - t) / (1.0 - q)) / (double)n) : 0.0f;
        }
    }
    return total / (double)n;
}

double bnmlp_bce_logits(float *dz, const float *z, const float *y, size_t n) {
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double v = (double)z[i], t = (double)y[i];
        /* -(t log s(v) + (1-t) log(1-s(v))) = max(v,0) - v t + log(1 + exp(-|v|)) (TF's
         * sigmoid_cross_entropy_with_logits), written per label so that an infinite logit on
         * the right side gives 0 rather than inf - inf: softplus(-v) for t = 1, softplus(v)
         * for t = 0. */
        const double margin = t == 1.0 ? -v : v;
        total += (margin > 0.0 ? margin : 0.0) + log1p(exp(-fabs(v)));
        if (dz) dz[i] = (float)((bnmlp_sigmoid(v) - t) / (double)n); /* d/dv = (sigmoid(v) - t) / n */
    }
    return total / (double)n;
}

size_t bnmlp_binary_correct(const float *p, const float *y, size_t n) {
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) correct += (p[i] > 0.5f) == (y[i] == 1.0f);
    return correct;
}
