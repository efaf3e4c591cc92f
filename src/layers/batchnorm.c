/*
 * batchnorm.c - batch normalization over the batch axis, one statistic per feature (column).
 *
 * Conventions (DESIGN.md, Keras): normalization uses the biased batch variance; epsilon sits
 * inside the square root in both modes, through bnmlp_batchnorm_rstd; the moving statistics are
 * moving = momentum * moving + (1 - momentum) * batch. Sums over the batch are in double.
 */
#include "layers/layers.h"

#include <math.h>

float bnmlp_batchnorm_rstd(double variance, float epsilon) {
    return (float)(1.0 / sqrt(variance + (double)epsilon));
}

/* Features are processed in blocks of this many, with per-feature accumulators on the stack, so
 * that every loop walks the row-major (B, C) buffers contiguously. */
#define BLOCK 64

/* Width of the block of features starting at c0. */
static size_t block_width(size_t c0, size_t channels) {
    return channels - c0 < BLOCK ? channels - c0 : BLOCK;
}

/* y = gamma * xhat + beta, xhat = (x - mean) * rstd, for features [c0, c0 + w) of every row;
 * mean and rstd point at the block's first feature. Shared by both modes. */
static void normalize_block(float *y, const float *x, const float *mean, const float *rstd,
                            const float *gamma, const float *beta, size_t batch, size_t channels,
                            size_t c0, size_t w) {
    float scale[BLOCK], shift[BLOCK]; /* gamma and beta, or their defaults 1 and 0 */
    for (size_t c = 0; c < w; c++) {
        scale[c] = gamma ? gamma[c0 + c] : 1.0f;
        shift[c] = beta ? beta[c0 + c] : 0.0f;
    }
    for (size_t r = 0; r < batch; r++) {
        const float *in = x + r * channels + c0;
        float *out = y + r * channels + c0;
        for (size_t c = 0; c < w; c++) out[c] = scale[c] * ((in[c] - mean[c]) * rstd[c]) + shift[c];
    }
}

void bnmlp_batchnorm_forward_training(float *y, float *mean, float *variance, float *rstd,
                                      const float *x, const float *gamma, const float *beta,
                                      size_t batch, size_t channels, float epsilon) {
    for (size_t c0 = 0; c0 < channels; c0 += BLOCK) {
        const size_t w = block_width(c0, channels);
        /* Two passes over the batch: the mean, then the biased variance around it. */
        double sum[BLOCK] = {0}, squares[BLOCK] = {0}, mu[BLOCK];
        for (size_t r = 0; r < batch; r++) {
            const float *row = x + r * channels + c0;
            for (size_t c = 0; c < w; c++) sum[c] += (double)row[c];
        }
        for (size_t c = 0; c < w; c++) mu[c] = sum[c] / (double)batch;
        for (size_t r = 0; r < batch; r++) {
            const float *row = x + r * channels + c0;
            for (size_t c = 0; c < w; c++) {
                const double d = (double)row[c] - mu[c];
                squares[c] += d * d;
            }
        }
        for (size_t c = 0; c < w; c++) {
            const double var = squares[c] / (double)batch;
            mean[c0 + c] = (float)mu[c];
            variance[c0 + c] = (float)var;
            rstd[c0 + c] = bnmlp_batchnorm_rstd(var, epsilon);
        }
        normalize_block(y, x, mean + c0, rstd + c0, gamma, beta, batch, channels, c0, w);
    }
}

void bnmlp_batchnorm_forward_inference(float *y, const float *x, const float *moving_mean,
                                       const float *moving_variance, const float *gamma,
                                       const float *beta, size_t batch, size_t channels,
                                       float epsilon) {
    for (size_t c0 = 0; c0 < channels; c0 += BLOCK) {
        const size_t w = block_width(c0, channels);
        float rstd[BLOCK];
        for (size_t c = 0; c < w; c++) rstd[c] = bnmlp_batchnorm_rstd((double)moving_variance[c0 + c], epsilon);
        normalize_block(y, x, moving_mean + c0, rstd, gamma, beta, batch, channels, c0, w);
    }
}

/* The factor that turns the biased batch variance into the chosen estimator's. */
static double variance_correction(size_t batch, float epsilon, bnmlp_variance_estimator estimator) {
    const double n = (double)batch;
    switch (estimator) {
    case BNMLP_VARIANCE_UNBIASED: return n / (n - 1.0);
    case BNMLP_VARIANCE_KERAS2: return n / (n - (1.0 + (double)epsilon));
    case BNMLP_VARIANCE_BIASED: break;
    }
    return 1.0;
}

void bnmlp_batchnorm_update_moving(float *moving_mean, float *moving_variance, const float *mean,
                                   const float *variance, size_t batch, size_t channels,
                                   float momentum, float epsilon,
                                   bnmlp_variance_estimator estimator) {
    const double m = (double)momentum;
    const double correction = variance_correction(batch, epsilon, estimator);
    for (size_t c = 0; c < channels; c++) {
        moving_mean[c] = (float)(m * moving_mean[c] + (1.0 - m) * mean[c]);
        moving_variance[c] = (float)(m * moving_variance[c] + (1.0 - m) * (variance[c] * correction));
    }
}

void bnmlp_batchnorm_backward_training(float *dx, float *dgamma, float *dbeta, const float *dy,
                                       const float *x, const float *mean, const float *rstd,
                                       const float *gamma, size_t batch, size_t channels) {
    for (size_t c0 = 0; c0 < channels; c0 += BLOCK) {
        const size_t w = block_width(c0, channels);
        const float *m = mean + c0, *s = rstd + c0;
        /* sum_dy = sum(dy); sum_dy_xhat = sum(dy * xhat), over the batch, in double. */
        double sum_dy[BLOCK] = {0}, sum_dy_xhat[BLOCK] = {0};
        for (size_t r = 0; r < batch; r++) {
            const float *g = dy + r * channels + c0, *in = x + r * channels + c0;
            for (size_t c = 0; c < w; c++) {
                const double xhat = ((double)in[c] - m[c]) * s[c];
                sum_dy[c] += (double)g[c];
                sum_dy_xhat[c] += (double)g[c] * xhat;
            }
        }
        for (size_t c = 0; c < w; c++) {
            if (dgamma) dgamma[c0 + c] += (float)sum_dy_xhat[c]; /* dgamma = sum(dy * xhat) */
            if (dbeta) dbeta[c0 + c] += (float)sum_dy[c];        /* dbeta = sum(dy) */
        }
        if (!dx) continue;
        /* dx = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)): the first term passes dy
         * through, the second removes what moved the batch mean, the third what moved the batch
         * variance. */
        double scale[BLOCK], mean_dy[BLOCK], mean_dy_xhat[BLOCK];
        for (size_t c = 0; c < w; c++) {
            scale[c] = (gamma ? (double)gamma[c0 + c] : 1.0) * s[c];
            mean_dy[c] = sum_dy[c] / (double)batch;
            mean_dy_xhat[c] = sum_dy_xhat[c] / (double)batch;
        }
        for (size_t r = 0; r < batch; r++) {
            const float *g = dy + r * channels + c0, *in = x + r * channels + c0;
            float *out = dx + r * channels + c0;
            for (size_t c = 0; c < w; c++) {
                const double xhat = ((double)in[c] - m[c]) * s[c];
                out[c] = (float)(scale[c] * ((double)g[c] - mean_dy[c] - xhat * mean_dy_xhat[c]));
            }
        }
    }
}

void bnmlp_batchnorm_backward_inference(float *dx, float *dgamma, float *dbeta, const float *dy,
                                        const float *x, const float *moving_mean,
                                        const float *moving_variance, const float *gamma,
                                        size_t batch, size_t channels, float epsilon) {
    for (size_t c0 = 0; c0 < channels; c0 += BLOCK) {
        const size_t w = block_width(c0, channels);
        /* With fixed statistics the layer is an affine map per feature. */
        float rstd[BLOCK], scale[BLOCK];
        double sum_dy[BLOCK] = {0}, sum_dy_xhat[BLOCK] = {0};
        for (size_t c = 0; c < w; c++) {
            rstd[c] = bnmlp_batchnorm_rstd((double)moving_variance[c0 + c], epsilon);
            scale[c] = (gamma ? gamma[c0 + c] : 1.0f) * rstd[c]; /* dx = dy * gamma * rstd */
        }
        for (size_t r = 0; r < batch; r++) {
            const float *g = dy + r * channels + c0, *in = x + r * channels + c0;
            for (size_t c = 0; c < w; c++) {
                sum_dy[c] += (double)g[c];
                sum_dy_xhat[c] += (double)g[c] * (((double)in[c] - moving_mean[c0 + c]) * rstd[c]);
            }
            if (dx) {
                float *out = dx + r * channels + c0;
                for (size_t c = 0; c < w; c++) out[c] = g[c] * scale[c];
            }
        }
        for (size_t c = 0; c < w; c++) {
            if (dgamma) dgamma[c0 + c] += (float)sum_dy_xhat[c];
            if (dbeta) dbeta[c0 + c] += (float)sum_dy[c];
        }
    }
}
