/*
 * batchnorm.c - batch normalization over the batch axis, one statistic per feature (column).
 *
 * Conventions (DESIGN.md, Keras): normalization uses the biased batch variance; epsilon sits
 * inside the square root in both modes, through bnmlp_batchnorm_rstd; the moving statistics are
 * moving = momentum * moving + (1 - momentum) * batch. Sums over the batch are in double.
 *
 * The passes come in phases (partial sums, finish) so that a layer can combine the partial sums
 * of several processes in between (synchronized batch norm); batchnorm_layer.c orders them, once,
 * for the layer and for the whole-layer functions. The loops over the batch are the kernel
 * tier's (the descriptor entries of kernels/isa.h), reached through the context. Phase functions
 * handle `width` features of rows that lie `stride` floats apart.
 */
#include "layers/layers.h"

#include <math.h>

#include "core/core.h"
#include "kernels/kernels.h"

float bnmlp_batchnorm_rstd(double variance, float epsilon) {
    return (float)(1.0 / sqrt(variance + (double)epsilon));
}

/* ---- training-mode statistics ------------------------------------------------------------- */

void bnmlp_batchnorm_partial_sum(const bnmlp_kernel_context *kernels, double *sum, const float *x,
                                 size_t batch, size_t stride, size_t width) {
    bnmlp_kernel_column_sums(kernels, sum, x, batch, stride, width);
}

void bnmlp_batchnorm_partial_squares(const bnmlp_kernel_context *kernels, double *squares, const float *x,
                                     const double *mean, size_t batch, size_t stride, size_t width) {
    BNMLP_KERNEL_ENTRY(kernels, batchnorm_squares)(squares, x, mean, batch, stride, width);
}

void bnmlp_batchnorm_finish_statistics(const bnmlp_kernel_context *kernels, float *mean, float *variance,
                                       float *rstd, const double *mean_sum, const double *squares,
                                       double count, size_t width, float epsilon) {
    /* variance = squares / count (biased: the normalization's variance), rstd as
     * bnmlp_batchnorm_rstd computes it */
    BNMLP_KERNEL_ENTRY(kernels, batchnorm_statistics)
    (mean, variance, rstd, mean_sum, squares, count, width, epsilon);
}

void bnmlp_batchnorm_normalize(const bnmlp_kernel_context *kernels, float *y, const float *x,
                               const float *mean, const float *rstd, const float *gamma, const float *beta,
                               size_t batch, size_t stride, size_t width) {
    BNMLP_KERNEL_ENTRY(kernels, batchnorm_normalize)(y, x, mean, rstd, gamma, beta, batch, stride, width);
}

void bnmlp_batchnorm_moving_rstd(float *rstd, const float *moving_variance, size_t width, float epsilon) {
    for (size_t c = 0; c < width; c++) rstd[c] = bnmlp_batchnorm_rstd((double)moving_variance[c], epsilon);
}

void bnmlp_batchnorm_moving_rstd_kernel(const bnmlp_kernel_context *kernels, float *rstd,
                                        const float *moving_variance, double *scratch, size_t width,
                                        float epsilon) {
    /* the statistics entry with the variance as its squares over 1 row: var / 1 is var, so rstd is
     * bnmlp_batchnorm_rstd's, computed as the batch statistics are (vectorized where the row is) */
    for (size_t c = 0; c < width; c++) scratch[c] = (double)moving_variance[c];
    BNMLP_KERNEL_ENTRY(kernels, batchnorm_statistics)(NULL, NULL, rstd, NULL, scratch, 1.0, width, epsilon);
}

/* ---- moving statistics ---------------------------------------------------------------------- */

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

size_t bnmlp_batchnorm_min_rows(float epsilon, bnmlp_variance_estimator estimator) {
    if (estimator != BNMLP_VARIANCE_KERAS2) return 2;
    /* N / (N - 1 - epsilon) needs N > 1 + epsilon: the least such whole N. */
    const double least = floor(1.0 + (double)epsilon) + 1.0;
    return least >= (double)SIZE_MAX ? SIZE_MAX : (size_t)least;
}

/* The moving mean and variance of one feature after an update that keeps `keep` of the old
 * value and takes `take` of the batch's: the one definition shared by the check and the update,
 * so that both compute the very same values. */
static inline void moving_step(float *moving_mean, float *moving_variance, float mean, float variance,
                               double keep, double take, double correction) {
    *moving_mean = (float)(keep * *moving_mean + take * mean);
    *moving_variance = (float)(keep * *moving_variance + take * (variance * correction));
}

/* One pass of an exponential update over the features: true when every new statistic is finite;
 * with apply it also writes them (the model applies it to a staging copy: src/model/pass.c). */
static inline bool moving_pass(float *moving_mean, float *moving_variance, const float *mean,
                               const float *variance, size_t channels, double keep, double take,
                               double correction, bool apply) {
    int bad = 0; /* NaN or infinity seen */
    for (size_t c = 0; c < channels; c++) {
        float m = moving_mean[c], v = moving_variance[c];
        moving_step(&m, &v, mean[c], variance[c], keep, take, correction);
        bad |= bnmlp_not_finite(m) | bnmlp_not_finite(v);
        if (apply) moving_mean[c] = m, moving_variance[c] = v;
    }
    return !bad;
}

void bnmlp_batchnorm_update_moving(float *moving_mean, float *moving_variance, const float *mean,
                                   const float *variance, size_t batch, size_t channels, float momentum,
                                   float epsilon, bnmlp_variance_estimator estimator) {
    moving_pass(moving_mean, moving_variance, mean, variance, channels, (double)momentum,
                1.0 - (double)momentum, variance_correction(batch, epsilon, estimator), true);
}

/* The debiased flavour: the hidden accumulators take the exponential update, then the moving
 * statistics are the accumulators over 1 - momentum^t (checked, and with apply written). */
static bool debiased_pass(float *moving_mean, float *moving_variance, float *biased_mean,
                          float *biased_variance, const float *mean, const float *variance, size_t channels,
                          double momentum, double correction, uint64_t t, bool apply) {
    const double debias = 1.0 - pow(momentum, (double)t);
    int bad = 0;
    for (size_t c = 0; c < channels; c++) {
        float a = biased_mean[c], b = biased_variance[c];
        moving_step(&a, &b, mean[c], variance[c], momentum, 1.0 - momentum, correction);
        const float m = (float)((double)a / debias), v = (float)((double)b / debias);
        bad |= bnmlp_not_finite(a) | bnmlp_not_finite(b) | bnmlp_not_finite(m) | bnmlp_not_finite(v);
        if (apply) {
            biased_mean[c] = a, biased_variance[c] = b;
            moving_mean[c] = m, moving_variance[c] = v;
        }
    }
    return !bad;
}

bool bnmlp_batchnorm_average(float *moving_mean, float *moving_variance, float *biased_mean,
                             float *biased_variance, const float *mean, const float *variance, size_t batch,
                             size_t channels, const bnmlp_batchnorm_config *bn, uint64_t t, bool apply) {
    const double correction = variance_correction(batch, bn->epsilon, bn->moving_variance_estimator);
    const double momentum = (double)bn->momentum;
    switch (bn->moving_average) {
    case BNMLP_AVERAGE_DEBIASED:
        return debiased_pass(moving_mean, moving_variance, biased_mean, biased_variance, mean, variance,
                             channels, momentum, correction, t, apply);
    case BNMLP_AVERAGE_CUMULATIVE: /* PyTorch: factor 1/t, running = (1 - factor) running + factor batch */
        return moving_pass(moving_mean, moving_variance, mean, variance, channels, 1.0 - 1.0 / (double)t,
                           1.0 / (double)t, correction, apply);
    case BNMLP_AVERAGE_EXPONENTIAL: break;
    }
    return moving_pass(moving_mean, moving_variance, mean, variance, channels, momentum, 1.0 - momentum,
                       correction, apply);
}

/* ---- backward ------------------------------------------------------------------------------- */

void bnmlp_batchnorm_partial_backward(const bnmlp_kernel_context *kernels, double *sum_dy,
                                      double *sum_dy_xhat, const float *dy, const float *x, const float *mean,
                                      const float *rstd, size_t batch, size_t stride, size_t width) {
    BNMLP_KERNEL_ENTRY(kernels, batchnorm_backward_sums)
    (sum_dy, sum_dy_xhat, dy, x, mean, rstd, batch, stride, width);
}

void bnmlp_batchnorm_parameter_gradients(float *dgamma, float *dbeta, const double *sum_dy,
                                         const double *sum_dy_xhat, size_t width) {
    for (size_t c = 0; c < width; c++) {
        if (dgamma) dgamma[c] += (float)sum_dy_xhat[c]; /* dgamma = sum(dy * xhat) */
        if (dbeta) dbeta[c] += (float)sum_dy[c];        /* dbeta = sum(dy) */
    }
}

void bnmlp_batchnorm_finish_backward(const bnmlp_kernel_context *kernels, float *dx, const double *sum_dy,
                                     const double *sum_dy_xhat, const float *dy, const float *x,
                                     const float *mean, const float *rstd, const float *gamma, double count,
                                     size_t batch, size_t stride, size_t width) {
    BNMLP_KERNEL_ENTRY(kernels, batchnorm_finish_backward)
    (dx, sum_dy, sum_dy_xhat, dy, x, mean, rstd, gamma, count, batch, stride, width);
}

void bnmlp_batchnorm_inference_input_gradient(const bnmlp_kernel_context *kernels, float *dx, const float *dy,
                                              const float *rstd, const float *gamma, size_t batch,
                                              size_t stride, size_t width) {
    BNMLP_KERNEL_ENTRY(kernels, batchnorm_inference_gradient)(dx, dy, rstd, gamma, batch, stride, width);
}

/* ---- with a ReLU fused after the layer -------------------------------------------------------- */

void bnmlp_batchnorm_normalize_relu(const bnmlp_kernel_context *kernels, float *z, const float *x,
                                    const float *mean, const float *rstd, const float *gamma,
                                    const float *beta, size_t batch, size_t stride, size_t width) {
    BNMLP_KERNEL_ENTRY(kernels, batchnorm_normalize_relu)
    (z, x, mean, rstd, gamma, beta, batch, stride, width);
}

void bnmlp_batchnorm_partial_backward_relu(const bnmlp_kernel_context *kernels, double *sum_dy,
                                           double *sum_dy_xhat, const float *dz, const float *z,
                                           const float *x, const float *mean, const float *rstd, size_t batch,
                                           size_t stride, size_t width) {
    BNMLP_KERNEL_ENTRY(kernels, batchnorm_backward_sums_relu)
    (sum_dy, sum_dy_xhat, dz, z, x, mean, rstd, batch, stride, width);
}

void bnmlp_batchnorm_finish_backward_relu(const bnmlp_kernel_context *kernels, float *dx,
                                          const double *sum_dy, const double *sum_dy_xhat, const float *dz,
                                          const float *z, const float *x, const float *mean,
                                          const float *rstd, const float *gamma, double count, size_t batch,
                                          size_t stride, size_t width) {
    BNMLP_KERNEL_ENTRY(kernels, batchnorm_finish_backward_relu)
    (dx, sum_dy, sum_dy_xhat, dz, z, x, mean, rstd, gamma, count, batch, stride, width);
}

void bnmlp_batchnorm_inference_input_gradient_relu(const bnmlp_kernel_context *kernels, float *dx,
                                                   const float *dz, const float *z, const float *rstd,
                                                   const float *gamma, size_t batch, size_t stride,
                                                   size_t width) {
    BNMLP_KERNEL_ENTRY(kernels, batchnorm_inference_gradient_relu)
    (dx, dz, z, rstd, gamma, batch, stride, width);
}
