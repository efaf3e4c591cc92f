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

void bnmlp_batchnorm_forward_training(float *y, float *mean, float *variance, float *rstd,
                                      const float *x, const float *gamma, const float *beta,
                                      size_t batch, size_t channels, float epsilon) {
    for (size_t c = 0; c < channels; c++) {
        /* Two passes: the mean, then the biased variance around it (no cancellation). */
        double sum = 0.0;
        for (size_t r = 0; r < batch; r++) sum += (double)x[r * channels + c];
        const double mu = sum / (double)batch;
        double squares = 0.0;
        for (size_t r = 0; r < batch; r++) {
            const double d = (double)x[r * channels + c] - mu;
            squares += d * d;
        }
        const double var = squares / (double)batch;
        mean[c] = (float)mu;
        variance[c] = (float)var;
        rstd[c] = bnmlp_batchnorm_rstd(var, epsilon);
    }
    for (size_t r = 0; r < batch; r++) {
        for (size_t c = 0; c < channels; c++) {
            const float xhat = (x[r * channels + c] - mean[c]) * rstd[c];
            y[r * channels + c] = (gamma ? gamma[c] : 1.0f) * xhat + (beta ? beta[c] : 0.0f);
        }
    }
}

void bnmlp_batchnorm_forward_inference(float *y, const float *x, const float *moving_mean,
                                       const float *moving_variance, const float *gamma,
                                       const float *beta, size_t batch, size_t channels,
                                       float epsilon) {
    for (size_t r = 0; r < batch; r++) {
        for (size_t c = 0; c < channels; c++) {
            const float rstd = bnmlp_batchnorm_rstd((double)moving_variance[c], epsilon);
            const float xhat = (x[r * channels + c] - moving_mean[c]) * rstd;
            y[r * channels + c] = (gamma ? gamma[c] : 1.0f) * xhat + (beta ? beta[c] : 0.0f);
        }
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
    for (size_t c = 0; c < channels; c++) {
        /* sum_dy = sum(dy); sum_dy_xhat = sum(dy * xhat), both over the batch, in double. */
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (size_t r = 0; r < batch; r++) {
            const double g = (double)dy[r * channels + c];
            const double xhat = ((double)x[r * channels + c] - mean[c]) * rstd[c];
            sum_dy += g;
            sum_dy_xhat += g * xhat;
        }
        if (dgamma) dgamma[c] += (float)sum_dy_xhat; /* dgamma = sum(dy * xhat) */
        if (dbeta) dbeta[c] += (float)sum_dy;        /* dbeta = sum(dy) */
        if (!dx) continue;
        /* dx = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)):
         * the first term passes dy through, the second removes the part that moved the batch
         * mean, the third the part that moved the batch variance. */
        const double mean_dy = sum_dy / (double)batch;
        const double mean_dy_xhat = sum_dy_xhat / (double)batch;
        const double scale = (gamma ? (double)gamma[c] : 1.0) * rstd[c];
        for (size_t r = 0; r < batch; r++) {
            const double xhat = ((double)x[r * channels + c] - mean[c]) * rstd[c];
            dx[r * channels + c] =
                (float)(scale * ((double)dy[r * channels + c] - mean_dy - xhat * mean_dy_xhat));
        }
    }
}

void bnmlp_batchnorm_backward_inference(float *dx, float *dgamma, float *dbeta, const float *dy,
                                        const float *x, const float *moving_mean,
                                        const float *moving_variance, const float *gamma,
                                        size_t batch, size_t channels, float epsilon) {
    for (size_t c = 0; c < channels; c++) {
        /* With fixed statistics the layer is an affine map per feature. */
        const float rstd = bnmlp_batchnorm_rstd((double)moving_variance[c], epsilon);
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (size_t r = 0; r < batch; r++) {
            const double g = (double)dy[r * channels + c];
            sum_dy += g;
            sum_dy_xhat += g * (((double)x[r * channels + c] - moving_mean[c]) * rstd);
        }
        if (dgamma) dgamma[c] += (float)sum_dy_xhat;
        if (dbeta) dbeta[c] += (float)sum_dy;
        if (!dx) continue;
        const float scale = (gamma ? gamma[c] : 1.0f) * rstd; /* dx = dy * gamma * rstd */
        for (size_t r = 0; r < batch; r++) dx[r * channels + c] = dy[r * channels + c] * scale;
    }
}
