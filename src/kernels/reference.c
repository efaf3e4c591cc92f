/*
 * reference.c - the row-by-row reference loops of the element-wise and column-reduction entries
 * of the instruction-set descriptors: the plainest form of each formula, which every
 * descriptor's entry must reproduce bit for bit (the blocked loops of elementwise_body.h do the
 * same operations per element in the same order; no floating-point contraction).
 */
#include "kernels/kernels.h"

#include <math.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

void bnmlp_kernel_column_sums_reference(double *sums, const float *x, size_t batch, size_t stride,
                                        size_t width) {
    for (size_t r = 0; r < batch; r++) {
        const float *row = x + r * stride;
        for (size_t c = 0; c < width; c++) sums[c] += (double)row[c];
    }
}

void bnmlp_batchnorm_partial_squares_reference(double *squares, const float *x, const double *mean,
                                               size_t batch, size_t stride, size_t width) {
    for (size_t r = 0; r < batch; r++) {
        const float *row = x + r * stride;
        for (size_t c = 0; c < width; c++) {
            const double d = (double)row[c] - mean[c];
            squares[c] += d * d;
        }
    }
}

void bnmlp_batchnorm_partial_backward_reference(double *sum_dy, double *sum_dy_xhat, const float *dy,
                                                const float *x, const float *mean, const float *rstd,
                                                size_t batch, size_t stride, size_t width) {
    for (size_t r = 0; r < batch; r++) {
        const float *g = dy + r * stride, *in = x + r * stride;
        for (size_t c = 0; c < width; c++) {
            const double xhat = ((double)in[c] - mean[c]) * rstd[c];
            sum_dy[c] += (double)g[c];
            sum_dy_xhat[c] += (double)g[c] * xhat;
        }
    }
}

void bnmlp_batchnorm_statistics_reference(float *mean, float *variance, float *rstd, const double *mean_sum,
                                          const double *squares, double count, size_t width, float epsilon) {
    for (size_t c = 0; c < width; c++) {
        const double var = squares[c] / count; /* biased: the normalization's variance */
        if (mean) mean[c] = (float)mean_sum[c];
        if (variance) variance[c] = (float)var;
        rstd[c] = (float)(1.0 / sqrt(var + (double)epsilon)); /* bnmlp_batchnorm_rstd */
    }
}

void bnmlp_batchnorm_normalize_reference(float *y, const float *x, const float *mean, const float *rstd,
                                         const float *gamma, const float *beta, size_t batch, size_t stride,
                                         size_t width) {
    for (size_t r = 0; r < batch; r++)
        for (size_t c = 0; c < width; c++) {
            const float scale = gamma ? gamma[c] : 1.0f, shift = beta ? beta[c] : 0.0f;
            y[r * stride + c] = scale * ((x[r * stride + c] - mean[c]) * rstd[c]) + shift;
        }
}

void bnmlp_batchnorm_finish_backward_reference(float *dx, const double *sum_dy, const double *sum_dy_xhat,
                                               const float *dy, const float *x, const float *mean,
                                               const float *rstd, const float *gamma, double count,
                                               size_t batch, size_t stride, size_t width) {
    for (size_t r = 0; r < batch; r++)
        for (size_t c = 0; c < width; c++) {
            const float scale = (float)((gamma ? (double)gamma[c] : 1.0) * rstd[c]);
            const float mean_dy = (float)(sum_dy[c] / count), mean_dy_xhat = (float)(sum_dy_xhat[c] / count);
            const float xhat = (x[r * stride + c] - mean[c]) * rstd[c];
            dx[r * stride + c] = scale * ((dy[r * stride + c] - mean_dy) - xhat * mean_dy_xhat);
        }
}

void bnmlp_batchnorm_inference_gradient_reference(float *dx, const float *dy, const float *rstd,
                                                  const float *gamma, size_t batch, size_t stride,
                                                  size_t width) {
    for (size_t r = 0; r < batch; r++)
        for (size_t c = 0; c < width; c++)
            dx[r * stride + c] = dy[r * stride + c] * ((gamma ? gamma[c] : 1.0f) * rstd[c]);
}

/* ---- batch norm with a ReLU fused after it: the unfused loops with relu's formulas inline ---- */

void bnmlp_batchnorm_normalize_relu_reference(float *z, const float *x, const float *mean, const float *rstd,
                                              const float *gamma, const float *beta, size_t batch,
                                              size_t stride, size_t width) {
    for (size_t r = 0; r < batch; r++)
        for (size_t c = 0; c < width; c++) {
            const float scale = gamma ? gamma[c] : 1.0f, shift = beta ? beta[c] : 0.0f;
            const float y = scale * ((x[r * stride + c] - mean[c]) * rstd[c]) + shift;
            z[r * stride + c] = bnmlp_activation_relu_forward(y, 0.0f);
        }
}

void bnmlp_batchnorm_partial_backward_relu_reference(double *sum_dy, double *sum_dy_xhat, const float *dz,
                                                     const float *z, const float *x, const float *mean,
                                                     const float *rstd, size_t batch, size_t stride,
                                                     size_t width) {
    for (size_t r = 0; r < batch; r++)
        for (size_t c = 0; c < width; c++) {
            /* relu's backward with its input's sign read from its output: z > 0 iff y > 0 */
            const float g = bnmlp_activation_relu_backward(dz[r * stride + c], z[r * stride + c], 0.0f, 0.0f);
            const double xhat = ((double)x[r * stride + c] - mean[c]) * rstd[c];
            sum_dy[c] += (double)g;
            sum_dy_xhat[c] += (double)g * xhat;
        }
}

void bnmlp_batchnorm_finish_backward_relu_reference(float *dx, const double *sum_dy,
                                                    const double *sum_dy_xhat, const float *dz,
                                                    const float *z, const float *x, const float *mean,
                                                    const float *rstd, const float *gamma, double count,
                                                    size_t batch, size_t stride, size_t width) {
    for (size_t r = 0; r < batch; r++)
        for (size_t c = 0; c < width; c++) {
            const float scale = (float)((gamma ? (double)gamma[c] : 1.0) * rstd[c]);
            const float mean_dy = (float)(sum_dy[c] / count), mean_dy_xhat = (float)(sum_dy_xhat[c] / count);
            const float g = bnmlp_activation_relu_backward(dz[r * stride + c], z[r * stride + c], 0.0f, 0.0f);
            const float xhat = (x[r * stride + c] - mean[c]) * rstd[c];
            dx[r * stride + c] = scale * ((g - mean_dy) - xhat * mean_dy_xhat);
        }
}

void bnmlp_batchnorm_inference_gradient_relu_reference(float *dx, const float *dz, const float *z,
                                                       const float *rstd, const float *gamma, size_t batch,
                                                       size_t stride, size_t width) {
    for (size_t r = 0; r < batch; r++)
        for (size_t c = 0; c < width; c++) {
            const float g = bnmlp_activation_relu_backward(dz[r * stride + c], z[r * stride + c], 0.0f, 0.0f);
            dx[r * stride + c] = g * ((gamma ? gamma[c] : 1.0f) * rstd[c]);
        }
}

/* One reference loop pair per element-wise row of the activation table, element by element. */
#define REFERENCE_LOOPS_ELEMENTWISE(KIND, id)                                                                \
    if (kind == KIND) {                                                                                      \
        for (size_t i = 0; i < n; i++) y[i] = bnmlp_activation_##id##_forward(x[i], alpha);                  \
        return;                                                                                              \
    }
#define REFERENCE_LOOPS_ROWWISE(KIND, id)
#define REFERENCE_FORWARD_(KIND, id, name, alias, alpha, uses, shape) REFERENCE_LOOPS_##shape(KIND, id)

void bnmlp_activation_forward_reference(float *y, const float *x, size_t n, bnmlp_activation kind,
                                        float alpha) {
    BNMLP_ACTIVATION_TABLE(REFERENCE_FORWARD_)
}

#undef REFERENCE_LOOPS_ELEMENTWISE
#define REFERENCE_LOOPS_ELEMENTWISE(KIND, id)                                                                \
    if (kind == KIND) {                                                                                      \
        for (size_t i = 0; i < n; i++)                                                                       \
            dx[i] = bnmlp_activation_##id##_backward(dy[i], x ? x[i] : 0.0f, y ? y[i] : 0.0f, alpha);        \
        return;                                                                                              \
    }
#define REFERENCE_BACKWARD_(KIND, id, name, alias, alpha, uses, shape) REFERENCE_LOOPS_##shape(KIND, id)

void bnmlp_activation_backward_reference(float *dx, const float *dy, const float *x, const float *y, size_t n,
                                         bnmlp_activation kind, float alpha) {
    BNMLP_ACTIVATION_TABLE(REFERENCE_BACKWARD_)
}

bool bnmlp_sgd_update_reference(float *w_out, float *v_out, const float *w, const float *v, const float *g,
                                size_t n, const bnmlp_sgd_step *step) {
    bool finite = true;
    for (size_t i = 0; i < n; i++) {
        const float wi = w[i], vi = step->fresh ? 0.0f : v[i];
        const float gi = step->decay != 0.0f ? g[i] + step->decay * wi : g[i];
        const float velocity = step->momentum * vi - step->learning_rate * gi;
        const float wn =
            step->nesterov ? wi + (step->momentum * velocity - step->learning_rate * gi) : wi + velocity;
        w_out[i] = wn;
        v_out[i] = velocity;
        if (!isfinite(wn) || !isfinite(velocity)) finite = false;
    }
    return finite;
}

bool bnmlp_adam_update_reference(float *w_out, float *m_out, float *v_out, const float *w, const float *m,
                                 const float *v, const float *g, size_t n, const bnmlp_adam_step *step) {
    bool finite = true;
    for (size_t i = 0; i < n; i++) {
        float wi = step->shrink != 1.0f ? w[i] * step->shrink : w[i];
        const float gi = step->l2 != 0.0f ? g[i] + step->l2 * w[i] : g[i];
        const float mi = (step->fresh ? 0.0f : m[i]) * step->beta1 + (1.0f - step->beta1) * gi;
        const float vi = (step->fresh ? 0.0f : v[i]) * step->beta2 + (1.0f - step->beta2) * gi * gi;
        if (step->pytorch_epsilon)
            wi = wi + -step->step_size * (mi / (sqrtf(vi) / step->correction2_sqrt + step->epsilon));
        else
            wi = wi - step->step_size * mi / (sqrtf(vi) + step->epsilon);
        w_out[i] = wi;
        m_out[i] = mi;
        v_out[i] = vi;
        if (!isfinite(wi) || !isfinite(mi) || !isfinite(vi)) finite = false;
    }
    return finite;
}

bool bnmlp_rmsprop_update_reference(float *w_out, float *s_out, float *a_out, float *b_out, const float *w,
                                    const float *s, const float *a, const float *b, const float *g, size_t n,
                                    const bnmlp_rmsprop_step *step) {
    const float alpha = step->alpha, rest = 1.0f - step->alpha, lr = step->learning_rate;
    const bool momentum = step->momentum > 0.0f;
    bool finite = true;
    for (size_t i = 0; i < n; i++) {
        const float gi = step->decay != 0.0f ? g[i] + step->decay * w[i] : g[i];
        const float si = (step->fresh ? 0.0f : s[i]) * alpha + rest * gi * gi;
        float ai = 0.0f, bi = 0.0f, wi, root;
        if (step->centered) {
            ai = (step->fresh ? 0.0f : a[i]) * alpha + rest * gi;
            root = sqrtf(si - ai * ai) + step->epsilon;
        } else {
            root = sqrtf(si) + step->epsilon;
        }
        if (momentum) {
            bi = (step->fresh ? 0.0f : b[i]) * step->momentum + gi / root;
            wi = w[i] + -lr * bi;
        } else {
            wi = w[i] + -lr * (gi / root);
        }
        if (!isfinite(wi) || !isfinite(si) || !isfinite(ai) || !isfinite(bi)) finite = false;
        w_out[i] = wi;
        s_out[i] = si;
        a_out[i] = step->centered ? ai : step->fresh ? 0.0f : a[i];
        b_out[i] = momentum ? bi : step->fresh ? 0.0f : b[i];
    }
    return finite;
}
