/*
 * layers.h - internal: each layer's forward/backward pair, the loss and the initializers, as
 * free functions over raw buffers (the optimizer lives in src/optim). Shapes: B = batch rows, IN/OUT = widths,
 * C = batch-norm features. Outputs come first, then caches, then inputs, then sizes.
 * Gradients of parameters are accumulated (+=); gradients of inputs are overwritten (=).
 */
#ifndef BNMLP_LAYERS_H
#define BNMLP_LAYERS_H

#include "bnmlp.h"
#include "kernels/activations.h"
#include "kernels/kernels.h"

#include <math.h>

/* ---- dense: y = x w + b ------------------------------------------------------------------- */

/* x (B, IN), w (IN, OUT), b (OUT) or NULL -> y (B, OUT), through the kernels of `kernels`.
 * Backward needs x kept alive. */
void bnmlp_dense_forward(const bnmlp_kernel_context *kernels, float *y, const float *x, const float *w,
                         const float *b, size_t batch, size_t in, size_t out);

/* dy (B, OUT), x (B, IN), w (IN, OUT) -> dw (IN, OUT) +=, db (OUT) += (NULL: no bias),
 * dx (B, IN) = (NULL: not needed, e.g. for the first layer). */
void bnmlp_dense_backward(const bnmlp_kernel_context *kernels, float *dx, float *dw, float *db,
                          const float *dy, const float *x, const float *w, size_t batch, size_t in,
                          size_t out);

/* ---- activation ---------------------------------------------------------------------------- */
/* The activation table is kernels/activations.h (one row per kind: name, formulas, what backward
 * uses, element-wise or row-wise); these read it. bnmlp_activation_name and
 * bnmlp_activation_from_name (include/bnmlp.h) are defined in activation.c. */

/* True when kind is a row of the activation table. */
bool bnmlp_activation_is_valid(bnmlp_activation kind);

/* True for a row-wise kind (softmax): a function of each row, run by bnmlp_activation_rows_*;
 * false for element-wise kinds and invalid values. */
bool bnmlp_activation_is_row_wise(bnmlp_activation kind);

/* What kind's backward reads besides dy (nothing for an invalid value). */
bnmlp_activation_uses bnmlp_activation_backward_uses(bnmlp_activation kind);

/* x (N) -> y (N) = f(x) for the element-wise kinds through the context's descriptor (row-wise
 * kinds: nothing); alpha is leaky_relu's slope below 0. y may alias x. */
void bnmlp_activation_forward(const bnmlp_kernel_context *kernels, float *y, const float *x, size_t n,
                              bnmlp_activation kind, float alpha);

/* dy (N), x (N) the forward input, y (N) the forward output -> dx (N) = dy * f'(x), element-wise
 * kinds (row-wise: nothing). dx may alias dy. x or y may be NULL when the kind's backward does
 * not use it (bnmlp_activation_backward_uses): relu and leaky_relu use x (derivative at 0 is the
 * one below 0), sigmoid and tanh use y. */
void bnmlp_activation_backward(const bnmlp_kernel_context *kernels, float *dx, const float *dy,
                               const float *x, const float *y, size_t n, bnmlp_activation kind, float alpha);

/* x (B, K) -> y (B, K) = kind of each row, for a row-wise kind (others: nothing). */
void bnmlp_activation_rows_forward(float *y, const float *x, size_t rows, size_t width,
                                   bnmlp_activation kind);

/* dy (B, K), y (B, K) the forward output -> dx (B, K), for a row-wise kind (others: nothing). */
void bnmlp_activation_rows_backward(float *dx, const float *dy, const float *y, size_t rows, size_t width,
                                    bnmlp_activation kind);

/* x (B, K) -> y (B, K) = softmax of each row, exp(x - max) / sum exp(x - max), in double. */
void bnmlp_softmax_forward(float *y, const float *x, size_t rows, size_t width);

/* dy (B, K), y (B, K) the forward output -> dx (B, K) = y * (dy - sum_k dy_k y_k) per row. */
void bnmlp_softmax_backward(float *dx, const float *dy, const float *y, size_t rows, size_t width);

/* ---- normalization -------------------------------------------------------------------------- */

/* std (width) = max(sqrt(variance), 1e-7) per feature, in float as Keras computes it: what the
 * normalization layer divides by (its forward and the C export use it). */
void bnmlp_normalization_std(float *std, const float *variance, size_t width);

/* ---- batch normalization --------------------------------------------------------------------- */
/*
 * A training-mode forward runs in phases: partial_sum; [combine sums across processes];
 * mean = sum / count; partial_squares; [combine]; finish_statistics; normalize. Its backward:
 * partial_backward; parameter_gradients (from this process's sums); [combine]; finish_backward.
 * The bracketed steps are the seam where synchronized batch norm all-reduces; in one process
 * there is nothing to combine. Phase functions take `width` features of rows `stride` floats
 * apart (x points at the first feature), so a caller may run them over any block of features;
 * those that loop over the batch take the kernel context whose descriptor runs them.
 */

/* The one place epsilon enters: 1 / sqrt(variance + epsilon), for both modes. */
float bnmlp_batchnorm_rstd(double variance, float epsilon);

/* sum (W) += sum over the B rows of x (B, stride) in double. */
void bnmlp_batchnorm_partial_sum(const bnmlp_kernel_context *kernels, double *sum, const float *x,
                                 size_t batch, size_t stride, size_t width);

/* squares (W) += sum over the rows of (x - mean)^2 in double; mean (W) the batch mean. */
void bnmlp_batchnorm_partial_squares(const bnmlp_kernel_context *kernels, double *squares, const float *x,
                                     const double *mean, size_t batch, size_t stride, size_t width);

/* From the batch mean (W, double) and the combined squares (W) of count rows: the caches mean (W),
 * variance (W) = squares / count (biased) and rstd (W) that normalize, backward and the moving
 * update use. */
void bnmlp_batchnorm_finish_statistics(const bnmlp_kernel_context *kernels, float *mean, float *variance,
                                       float *rstd, const double *mean_sum, const double *squares,
                                       double count, size_t width, float epsilon);

/* y (B, stride) = gamma * ((x - mean) * rstd) + beta per feature; gamma NULL means 1, beta NULL
 * means 0. Both modes normalize through it. */
void bnmlp_batchnorm_normalize(const bnmlp_kernel_context *kernels, float *y, const float *x,
                               const float *mean, const float *rstd, const float *gamma, const float *beta,
                               size_t batch, size_t stride, size_t width);

/* rstd (W) = bnmlp_batchnorm_rstd(moving_variance (W)): inference mode's scale. */
void bnmlp_batchnorm_moving_rstd(float *rstd, const float *moving_variance, size_t width, float epsilon);

/* The same through the kernel context's batchnorm_statistics entry (identical results), scratch
 * (W doubles) its workspace. */
void bnmlp_batchnorm_moving_rstd_kernel(const bnmlp_kernel_context *kernels, float *rstd,
                                        const float *moving_variance, double *scratch, size_t width,
                                        float epsilon);

/* The fewest rows a training-mode batch needs for the estimator: 2 (one row has no variance),
 * and for keras2's B/(B-1-epsilon) the least B above 1 + epsilon (SIZE_MAX if none fits). */
size_t bnmlp_batchnorm_min_rows(float epsilon, bnmlp_variance_estimator estimator);

/* moving = momentum * moving + (1 - momentum) * batch statistic, the variance first corrected
 * by the estimator (biased: none; unbiased: B/(B-1); keras2: B/(B-1-epsilon)). batch >= the
 * estimator's bnmlp_batchnorm_min_rows. */
void bnmlp_batchnorm_update_moving(float *moving_mean, float *moving_variance, const float *mean,
                                   const float *variance, size_t batch, size_t channels, float momentum,
                                   float epsilon, bnmlp_variance_estimator estimator);

/* One update of the moving statistics by the layer's moving_average, from the batch's mean and
 * biased variance (C) of batch rows: exponential (momentum), debiased (the accumulators
 * biased_mean and biased_variance (C) take the exponential update and moving = accumulator /
 * (1 - momentum^t)) or cumulative (keep 1 - 1/t). t is the layer's training steps including this
 * one (>= 1); the accumulators may be NULL unless debiased. True when every new value is finite;
 * apply false only checks, apply true also writes them (finite or not). */
bool bnmlp_batchnorm_average(float *moving_mean, float *moving_variance, float *biased_mean,
                             float *biased_variance, const float *mean, const float *variance, size_t batch,
                             size_t channels, const bnmlp_batchnorm_config *bn, uint64_t t, bool apply);

/* sum_dy (W) += sum(dy), sum_dy_xhat (W) += sum(dy * xhat) over the rows, xhat = (x - mean) *
 * rstd in double; mean and rstd are the batch's (training) or the moving ones (inference). */
void bnmlp_batchnorm_partial_backward(const bnmlp_kernel_context *kernels, double *sum_dy,
                                      double *sum_dy_xhat, const float *dy, const float *x, const float *mean,
                                      const float *rstd, size_t batch, size_t stride, size_t width);

/* dgamma (W) += sum_dy_xhat, dbeta (W) += sum_dy (either may be NULL: scale or center off). */
void bnmlp_batchnorm_parameter_gradients(float *dgamma, float *dbeta, const double *sum_dy,
                                         const double *sum_dy_xhat, size_t width);

/* Training mode: dx (B, stride) = gamma * rstd * (dy - sum_dy / count - xhat * sum_dy_xhat / count)
 * from the sums over all count rows of the batch; gamma NULL means 1. */
void bnmlp_batchnorm_finish_backward(const bnmlp_kernel_context *kernels, float *dx, const double *sum_dy,
                                     const double *sum_dy_xhat, const float *dy, const float *x,
                                     const float *mean, const float *rstd, const float *gamma, double count,
                                     size_t batch, size_t stride, size_t width);

/* Inference mode (frozen layer): dx (B, stride) = dy * (gamma * rstd), rstd the moving one. */
void bnmlp_batchnorm_inference_input_gradient(const bnmlp_kernel_context *kernels, float *dx, const float *dy,
                                              const float *rstd, const float *gamma, size_t batch,
                                              size_t stride, size_t width);

/* The four phases above with a ReLU fused after the layer (kernels/isa.h, the _relu entries):
 * normalize writes z = relu(y) in place of y; the backward phases take the ReLU's output
 * gradient dz and output z for dy (dy = z > 0 ? dz : 0). Bit for bit the unfused pair's. */
void bnmlp_batchnorm_normalize_relu(const bnmlp_kernel_context *kernels, float *z, const float *x,
                                    const float *mean, const float *rstd, const float *gamma,
                                    const float *beta, size_t batch, size_t stride, size_t width);
void bnmlp_batchnorm_partial_backward_relu(const bnmlp_kernel_context *kernels, double *sum_dy,
                                           double *sum_dy_xhat, const float *dz, const float *z,
                                           const float *x, const float *mean, const float *rstd, size_t batch,
                                           size_t stride, size_t width);
void bnmlp_batchnorm_finish_backward_relu(const bnmlp_kernel_context *kernels, float *dx,
                                          const double *sum_dy, const double *sum_dy_xhat, const float *dz,
                                          const float *z, const float *x, const float *mean,
                                          const float *rstd, const float *gamma, double count, size_t batch,
                                          size_t stride, size_t width);
void bnmlp_batchnorm_inference_input_gradient_relu(const bnmlp_kernel_context *kernels, float *dx,
                                                   const float *dz, const float *z, const float *rstd,
                                                   const float *gamma, size_t batch, size_t stride,
                                                   size_t width);

/* The phases that loop over the batch (partial_sum, partial_squares, normalize,
 * partial_backward, finish_backward, inference_input_gradient) run the entries of the context's
 * descriptor; their row-by-row references are in kernels/kernels.h. */

/* The whole layer in one process, the phases run over blocks of features. Training mode: x (B, C),
 * gamma (C) or NULL (scale off: 1), beta (C) or NULL (center off: 0) -> y (B, C) and the caches
 * mean (C), variance (C, biased 1/B) and rstd (C). B >= 2 (the caller checks). */
void bnmlp_batchnorm_forward_training(const bnmlp_kernel_context *kernels, float *y, float *mean,
                                      float *variance, float *rstd, const float *x, const float *gamma,
                                      const float *beta, size_t batch, size_t channels, float epsilon);

/* Inference mode: y (B, C) = gamma * (x - moving_mean) * rstd(moving_variance) + beta. */
void bnmlp_batchnorm_forward_inference(const bnmlp_kernel_context *kernels, float *y, const float *x,
                                       const float *moving_mean, const float *moving_variance,
                                       const float *gamma, const float *beta, size_t batch, size_t channels,
                                       float epsilon);

/* Training-mode backward. dy (B, C), x (B, C), mean (C), rstd (C) from the forward, gamma (C) or
 * NULL -> dx (B, C) (NULL: not needed), dgamma (C) += sum(dy * xhat) (NULL: scale off),
 * dbeta (C) += sum(dy) (NULL: center off). */
void bnmlp_batchnorm_backward_training(const bnmlp_kernel_context *kernels, float *dx, float *dgamma,
                                       float *dbeta, const float *dy, const float *x, const float *mean,
                                       const float *rstd, const float *gamma, size_t batch, size_t channels);

/* Inference-mode backward (frozen layer): dx = dy * gamma * rstd(moving_variance), dgamma +=
 * sum(dy * xhat), dbeta += sum(dy), xhat from the moving statistics. */
void bnmlp_batchnorm_backward_inference(const bnmlp_kernel_context *kernels, float *dx, float *dgamma,
                                        float *dbeta, const float *dy, const float *x,
                                        const float *moving_mean, const float *moving_variance,
                                        const float *gamma, size_t batch, size_t channels, float epsilon);

/* One batch-norm pass over x (rows, stride) of `channels` features, as the layer sequences it
 * (batchnorm_layer.c): the buffers, the scratch and the collective seam. */
typedef struct bnmlp_batchnorm_run {
    const bnmlp_kernel_context *kernels; /* instruction set and threads of the phases */
    const float *x;                      /* the input (rows, stride) */
    float *y;                            /* forward: the output (rows, stride) */
    const float *dy;                     /* backward: the output's gradient (rows, stride) */
    float *dx;                           /* backward: the input's gradient (rows, stride), or NULL */
    const float *gamma, *beta;           /* (C) or NULL: scale off (1), center off (0) */
    float *dgamma, *dbeta;               /* backward: += their gradients (C), or NULL */
    const float *moving_mean;            /* (C) */
    const float *moving_variance;        /* (C) */
    float *batch_mean;                   /* (C) the training-mode caches, written by forward */
    float *batch_variance;               /* (C, biased) */
    float *batch_rstd;                   /* (C) */
    float *relu_output;                  /* a ReLU fused after the layer, else NULL: forward
                                            writes z = relu(y) there (rows, stride) and not y;
                                            backward reads it, and dy is then dz, the gradient of
                                            z (dy = z > 0 ? dz : 0 inside the passes) */
    double *sums;                        /* scratch (4 C): sum, squares, sum_dy, sum_dy_xhat */
    float *rstd;                         /* scratch (C): rstd of the moving variance */
    size_t rows, stride, channels;       /* rows of this process, floats between rows, features */
    double count;                        /* rows of the whole batch (every process's) */
    float epsilon;                       /* the layer's epsilon */
    bool batch_statistics;               /* normalize with the batch's statistics (training mode,
                                      trainable) or the moving ones */
    void (*combine)(void *context, double *sums, size_t count); /* the seam; NULL: one process */
    void *combine_context;                                      /* passed to combine */
} bnmlp_batchnorm_run;

/* The layer's forward: with batch statistics, the phases from the sums to the caches, then
 * normalize; else normalize with the moving statistics. */
void bnmlp_batchnorm_run_forward(const bnmlp_batchnorm_run *run);

/* The layer's backward after its forward: gamma and beta gradients from this process's sums,
 * then (dx not NULL) the input gradient through the batch statistics (combined) or the moving
 * ones. */
void bnmlp_batchnorm_run_backward(const bnmlp_batchnorm_run *run);

/* ---- the losses: kernels over raw buffers, and the loss table (loss.c) ------------------------ */
/* Every kernel returns the mean loss over its n (or rows) predictions and writes the gradient
 * divided by `divisor` predictions (n or rows in one process; under a collective the global
 * batch's count, so that the ranks' gradients add up to the global mean's). */

#define BNMLP_BCE_CLIP 1e-7f /* Keras's epsilon(): probabilities are clipped to [clip, 1 - clip] */

/* p (N) probabilities, y (N) labels -> mean over N of -(y log p + (1-y) log(1-p)) with p clipped
 * as Keras clips; dp (N) = its gradient with respect to p over divisor (0 where p was clipped),
 * or NULL. */
double bnmlp_bce_probabilities(float *dp, const float *p, const float *y, size_t n, size_t divisor);

/* z (N) logits, y (N) labels 0 or 1 -> mean over N of softplus(z) for y = 0 and softplus(-z) for
 * y = 1 (= max(z,0) - z y + log(1 + exp(-|z|)), exact also for infinite z); dz (N) =
 * (sigmoid(z) - y) / divisor, or NULL. */
double bnmlp_bce_logits(float *dz, const float *z, const float *y, size_t n, size_t divisor);

/* How many of the N outputs p have (p > 0.5) == (y == 1): accuracy is this count over N, kept
 * as an integer so that sums over chunks stay exact. */
size_t bnmlp_binary_correct(const float *p, const float *y, size_t n);

/* Targets y of categorical cross-entropy come as one class index per row (width 1, exact
 * integers in [0, K)) or as K class probabilities per row (width K); the caller checks them. */

/* z (B, K) logits -> mean over rows of logsumexp(z) - sum_k t_k z_k (= -sum t log softmax(z)),
 * in double and stable for any finite logits; dz (B, K) = (softmax(z) - t) / divisor, or NULL. */
double bnmlp_categorical_logits(float *dz, const float *z, const float *y, size_t rows, size_t classes,
                                size_t width, size_t divisor);

/* p (B, K) probabilities -> Keras's categorical cross-entropy: q = p / sum(p) per row, clipped to
 * [1e-7, 1 - 1e-7], mean over rows of -sum_k t_k log q_k; dp (B, K) its gradient with respect to
 * p over divisor rows (the clipped entries pass none), or NULL. */
double bnmlp_categorical_probabilities(float *dp, const float *p, const float *y, size_t rows, size_t classes,
                                       size_t width, size_t divisor);

/* Rows whose first maximal output is the target class (the index, or the target row's first
 * maximum). */
size_t bnmlp_categorical_correct(const float *p, const float *y, size_t rows, size_t classes, size_t width);

/* out (N), y (N) -> mean of (out - y)^2 over N; dout (N) = 2 (out - y) / divisor, or NULL. */
double bnmlp_mse(float *dout, const float *out, const float *y, size_t n, size_t divisor);

/* One batch as the loss table's functions see it. */
typedef struct bnmlp_loss_batch {
    const float *output;   /* (rows, outputs) the model's output */
    const float *logits;   /* (rows, outputs) the fused final activation's input, or NULL: not fused */
    float *fused_output;   /* (rows, outputs) receives the fused activation of logits, which a row with
                              computes_fused computes alongside the loss (the values the activation
                              layer's forward gives, bit for bit); NULL: not written */
    const float *y;        /* (rows, width) the targets, checked */
    size_t rows;           /* rows of this batch (this rank's) */
    size_t outputs;        /* the model's output width */
    size_t width;          /* target columns per row */
    size_t divisor_rows;   /* the rows the gradient is averaged over: rows, or the global batch's */
    float *gradient;       /* (rows, outputs): d loss / d logits (fused) or d output; NULL: none */
    const float *weights;  /* (rows) each row's weight (class weight x sample weight), or NULL: every
                              row 1, the unweighted arithmetic bit for bit */
    double weight_divisor; /* with weights: the rows the weighted sum is divided by, for the loss and
                              the gradient (Keras: the batch's rows; PyTorch: the sum of its weights;
                              under a collective the global batch's), > 0 */
} bnmlp_loss_batch;

/* One loss: a row of the table in loss.c. */
typedef struct bnmlp_loss_row {
    bnmlp_loss kind;         /* its value */
    const char *names[4];    /* Keras's name, then the aliases, NULL-terminated */
    const char *description; /* for messages, e.g. "binary cross-entropy" */
    size_t min_outputs;      /* the fewest outputs the model may have (build checks it) */
    bool has_accuracy;       /* it has an accuracy metric */
    bool per_row;            /* one prediction per row (else one per output) */
    bnmlp_activation fused;  /* a final activation folded into the loss (taken from its input);
                                BNMLP_ACTIVATION_LINEAR for none */
    bool computes_fused;     /* its loss writes the fused activation's output (fused_output): the
                                forward pass may stop below that activation layer */
    bool (*width_ok)(size_t width, size_t outputs); /* target columns it accepts */
    /* BNMLP_OK when every target of y (rows, width), finite, suits it; else BNMLP_ERR_LABEL with
     * *detail (may be NULL) naming the first bad row and value. */
    bnmlp_status (*check)(const float *y, size_t rows, size_t width, size_t outputs,
                          bnmlp_error_detail *detail);
    double (*loss)(const bnmlp_loss_batch *batch);    /* the mean loss (and the gradient); with
                                                         weights sum(w l) / weight_divisor, l a
                                                         row's loss (its outputs' mean) */
    size_t (*correct)(const bnmlp_loss_batch *batch); /* right predictions (0 without accuracy) */
    /* The class of one checked target row y (width values) of a model with `outputs` outputs,
     * for class weights; NULL when the loss has no classes (class weights refused). */
    size_t (*target_class)(const float *y, size_t width, size_t outputs);
    bnmlp_metric_task metric_task; /* what its outputs and targets are, for the
                                                         metrics (bnmlp_loss_metric_task) */
} bnmlp_loss_row;

/* The row of loss, or NULL for a value that is no loss. */
const bnmlp_loss_row *bnmlp_loss_row_of(bnmlp_loss loss);

/* ---- initializers ------------------------------------------------------------------------------- */

/* Fills w (fan_in, fan_out) by kind, drawing row-major from rng (53-bit uniform doubles; normals
 * from the polar method, redrawn beyond 2 standard deviations). */
void bnmlp_initialize_kernel(float *w, size_t fan_in, size_t fan_out, bnmlp_initializer kind,
                             bnmlp_random *rng);

#endif /* BNMLP_LAYERS_H */
