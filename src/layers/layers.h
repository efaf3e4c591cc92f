/*
 * layers.h - internal: each layer's forward/backward pair, the loss, the optimizer and the
 * initializers, as free functions over raw buffers. Shapes: B = batch rows, IN/OUT = widths,
 * C = batch-norm features. Outputs come first, then caches, then inputs, then sizes.
 * Gradients of parameters are accumulated (+=); gradients of inputs are overwritten (=).
 */
#ifndef BNMLP_LAYERS_H
#define BNMLP_LAYERS_H

#include "bnmlp.h"

/* ---- dense: y = x w + b ------------------------------------------------------------------- */

/* x (B, IN), w (IN, OUT), b (OUT) or NULL -> y (B, OUT). Backward needs x kept alive. */
void bnmlp_dense_forward(float *y, const float *x, const float *w, const float *b, size_t batch,
                         size_t in, size_t out);

/* dy (B, OUT), x (B, IN), w (IN, OUT) -> dw (IN, OUT) +=, db (OUT) += (NULL: no bias),
 * dx (B, IN) = (NULL: not needed, e.g. for the first layer). */
void bnmlp_dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                          const float *w, size_t batch, size_t in, size_t out);

/* ---- activation ---------------------------------------------------------------------------- */

/* x (N) -> y (N) = f(x); alpha is leaky_relu's slope below 0. y may alias x. */
void bnmlp_activation_forward(float *y, const float *x, size_t n, bnmlp_activation kind, float alpha);

/* dy (N), x (N) the forward input, y (N) the forward output -> dx (N) = dy * f'(x). dx may alias dy.
 * relu and leaky_relu use x (derivative at 0 is the one below 0), sigmoid and tanh use y. */
void bnmlp_activation_backward(float *dx, const float *dy, const float *x, const float *y, size_t n,
                               bnmlp_activation kind, float alpha);

/* ---- batch normalization --------------------------------------------------------------------- */

/* The one place epsilon enters: 1 / sqrt(variance + epsilon), for both modes. */
float bnmlp_batchnorm_rstd(double variance, float epsilon);

/* Training mode. x (B, C), gamma (C) or NULL (scale off: 1), beta (C) or NULL (center off: 0)
 * -> y (B, C) = gamma * (x - mean) * rstd + beta, and the caches mean (C), variance (C, biased
 * 1/B) and rstd (C) that backward and the moving update need. B >= 2 (the caller checks). */
void bnmlp_batchnorm_forward_training(float *y, float *mean, float *variance, float *rstd,
                                      const float *x, const float *gamma, const float *beta,
                                      size_t batch, size_t channels, float epsilon);

/* Inference mode: y (B, C) = gamma * (x - moving_mean) * rstd(moving_variance) + beta. */
void bnmlp_batchnorm_forward_inference(float *y, const float *x, const float *moving_mean,
                                       const float *moving_variance, const float *gamma,
                                       const float *beta, size_t batch, size_t channels,
                                       float epsilon);

/* moving = momentum * moving + (1 - momentum) * batch statistic, the variance first corrected
 * by the estimator (biased: none; unbiased: B/(B-1); keras2: B/(B-1-epsilon)). */
void bnmlp_batchnorm_update_moving(float *moving_mean, float *moving_variance, const float *mean,
                                   const float *variance, size_t batch, size_t channels,
                                   float momentum, float epsilon,
                                   bnmlp_variance_estimator estimator);

/* Training-mode backward. dy (B, C), x (B, C), mean (C), rstd (C) from the forward, gamma (C) or
 * NULL -> dx (B, C) = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)), dgamma (C) +=
 * sum(dy * xhat) (NULL: scale off), dbeta (C) += sum(dy) (NULL: center off). dx may be NULL. */
void bnmlp_batchnorm_backward_training(float *dx, float *dgamma, float *dbeta, const float *dy,
                                       const float *x, const float *mean, const float *rstd,
                                       const float *gamma, size_t batch, size_t channels);

/* Inference-mode backward (frozen layer): dx = dy * gamma * rstd(moving_variance), dgamma +=
 * sum(dy * xhat), dbeta += sum(dy), xhat from the moving statistics. */
void bnmlp_batchnorm_backward_inference(float *dx, float *dgamma, float *dbeta, const float *dy,
                                        const float *x, const float *moving_mean,
                                        const float *moving_variance, const float *gamma,
                                        size_t batch, size_t channels, float epsilon);

/* ---- binary cross-entropy ---------------------------------------------------------------------- */

#define BNMLP_BCE_CLIP 1e-7f /* Keras's epsilon(): probabilities are clipped to [clip, 1 - clip] */

/* p (N) probabilities, y (N) labels -> mean over N of -(y log p + (1-y) log(1-p)) with p clipped
 * as Keras clips; dp (N) = its gradient with respect to p (0 where p was clipped), or NULL. */
double bnmlp_bce_probabilities(float *dp, const float *p, const float *y, size_t n);

/* z (N) logits, y (N) labels -> mean over N of max(z,0) - z y + log(1 + exp(-|z|)); dz (N) =
 * (sigmoid(z) - y) / N, or NULL. */
double bnmlp_bce_logits(float *dz, const float *z, const float *y, size_t n);

/* How many of the N outputs p have (p > 0.5) == (y == 1): accuracy is this count over N, kept
 * as an integer so that sums over chunks stay exact. */
size_t bnmlp_binary_correct(const float *p, const float *y, size_t n);

/* ---- SGD -------------------------------------------------------------------------------------- */

/* w (N), v (N), g (N): v = momentum * v - lr * g; w += v (nesterov: w += momentum * v - lr * g). */
void bnmlp_sgd_update(float *w, float *v, const float *g, size_t n, float learning_rate,
                      float momentum, bool nesterov);

/* True when bnmlp_sgd_update with the same arguments would leave every w and v finite; changes
 * nothing (it evaluates the same expressions, so the answer is exact). */
bool bnmlp_sgd_update_is_finite(const float *w, const float *v, const float *g, size_t n,
                                float learning_rate, float momentum, bool nesterov);

/* ---- initializers ------------------------------------------------------------------------------- */

/* Fills w (fan_in, fan_out) by kind, drawing row-major from rng (53-bit uniform doubles; normals
 * from the polar method, redrawn beyond 2 standard deviations). */
void bnmlp_initialize_kernel(float *w, size_t fan_in, size_t fan_out, bnmlp_initializer kind,
                             bnmlp_random *rng);

#endif /* BNMLP_LAYERS_H */
