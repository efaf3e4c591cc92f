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

/* log(1 + e) for e = exp(-|v|) in [0, 1], float32: logf(1 + e) where 1 + e keeps e's digits
 * that matter (absolute error below 1e-7), the series e - e^2/2 below 1e-4 (error below 4e-13).
 * Several times faster than log1pf, the loss's most expensive function. */
static float log1p_of_exp(float e) { return e < 1e-4f ? e - 0.5f * e * e : logf(1.0f + e); }

double bnmlp_bce_logits(float *dz, const float *z, const float *y, size_t n) {
    double total = 0.0; /* the terms in float32, their sum in double */
    for (size_t i = 0; i < n; i++) {
        const float v = z[i], t = y[i];
        /* -(t log s(v) + (1-t) log(1-s(v))) = max(v,0) - v t + log(1 + exp(-|v|)) (TF's
         * sigmoid_cross_entropy_with_logits), written per label so that an infinite logit on
         * the right side gives 0 rather than inf - inf: softplus(-v) for t = 1, softplus(v)
         * for t = 0. exp(-|v|) serves both the loss and the sigmoid of the gradient. */
        const float margin = t == 1.0f ? -v : v, e = expf(-fabsf(v));
        total += (double)(margin > 0.0f ? margin : 0.0f) + (double)log1p_of_exp(e);
        if (dz) dz[i] = (bnmlp_sigmoid_of(v, e) - t) / (float)n; /* d/dv = (sigmoid(v) - t) / n */
    }
    return total / (double)n;
}

size_t bnmlp_binary_correct(const float *p, const float *y, size_t n) {
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) correct += (p[i] > 0.5f) == (y[i] == 1.0f);
    return correct;
}

/* ---- categorical cross-entropy -------------------------------------------------------------- */

/* The target probability of class k in row r: one-hot from a class index (width 1) or the
 * row's probabilities (width = classes). */
static double target_of(const float *y, size_t r, size_t k, size_t classes, size_t width) {
    return width == 1 ? (double)((size_t)y[r] == k) : (double)y[r * classes + k];
}

double bnmlp_categorical_logits(float *dz, const float *z, const float *y, size_t rows, size_t classes,
                                size_t width) {
    double total = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const float *row = z + r * classes;
        /* logsumexp(z) = max + log sum exp(z - max): no exp overflows. */
        double max = (double)row[0], sum = 0.0, dot = 0.0, mass = 0.0;
        for (size_t k = 1; k < classes; k++)
            if ((double)row[k] > max) max = (double)row[k];
        for (size_t k = 0; k < classes; k++) sum += exp((double)row[k] - max);
        const double lse = max + log(sum);
        /* -sum t log softmax = (sum t) lse - sum t z; sum t is 1 for valid targets. */
        for (size_t k = 0; k < classes; k++) {
            const double t = target_of(y, r, k, classes, width);
            dot += t * (double)row[k];
            mass += t;
        }
        total += mass * lse - dot;
        if (!dz) continue;
        for (size_t k = 0; k < classes; k++) {
            const double softmax = exp((double)row[k] - lse);
            dz[r * classes + k] = (float)((softmax - target_of(y, r, k, classes, width)) / (double)rows);
        }
    }
    return total / (double)rows;
}

double bnmlp_categorical_probabilities(float *dp, const float *p, const float *y, size_t rows, size_t classes,
                                       size_t width) {
    const double lo = (double)BNMLP_BCE_CLIP, hi = 1.0 - (double)BNMLP_BCE_CLIP;
    double total = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const float *row = p + r * classes;
        /* Keras: q = p / sum(p), clipped to [1e-7, 1 - 1e-7], loss -sum t log q. */
        double scale = 0.0, inside_mass = 0.0;
        for (size_t k = 0; k < classes; k++) scale += (double)row[k];
        for (size_t k = 0; k < classes; k++) {
            const double q = (double)row[k] / scale, t = target_of(y, r, k, classes, width);
            const double clipped = q < lo ? lo : (q > hi ? hi : q);
            total -= t * log(clipped);
            if (q >= lo && q <= hi) inside_mass += t; /* sum over unclipped j of t_j q_j / q_j */
        }
        if (!dp) continue;
        /* d/dp_k = (-t_k / q_k [k unclipped] + sum_j unclipped t_j) / scale, per row, over rows. */
        for (size_t k = 0; k < classes; k++) {
            const double q = (double)row[k] / scale, t = target_of(y, r, k, classes, width);
            const double own = q >= lo && q <= hi ? -t / q : 0.0;
            dp[r * classes + k] = (float)((own + inside_mass) / scale / (double)rows);
        }
    }
    return total / (double)rows;
}

size_t bnmlp_categorical_correct(const float *p, const float *y, size_t rows, size_t classes, size_t width) {
    size_t correct = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *row = p + r * classes;
        size_t predicted = 0, truth = 0;
        for (size_t k = 1; k < classes; k++) {
            if (row[k] > row[predicted]) predicted = k; /* the first maximum, as numpy's argmax */
            if (width > 1 && y[r * classes + k] > y[r * classes + truth]) truth = k;
        }
        if (width == 1) truth = (size_t)y[r];
        correct += predicted == truth;
    }
    return correct;
}

/* ---- mean squared error ---------------------------------------------------------------------------- */

double bnmlp_mse(float *dout, const float *out, const float *y, size_t n) {
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = (double)out[i] - (double)y[i];
        total += d * d;
        if (dout) dout[i] = (float)(2.0 * d / (double)n);
    }
    return total / (double)n;
}
