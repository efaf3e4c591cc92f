/*
 * batchnorm_layer.c - the batch-normalization layer kind, and the one sequencing of its phases.
 *
 * A training-mode forward: partial sums; [combine]; mean = sum / count; partial squares around
 * it; [combine]; finish the statistics (mean, biased variance, rstd); normalize. Its backward:
 * partial sums of dy and dy * xhat; gamma and beta gradients from this process's sums;
 * [combine]; the input gradient. The bracketed seams add the sums of every process
 * (synchronized batch norm) through the caller's combine function; in one process there is
 * nothing to combine. Each phase runs over blocks of features on the kernel context's threads:
 * every feature's sums stay in one task, so results do not depend on the thread count. The
 * arithmetic of each phase is in batchnorm.c; this file only orders the phases.
 */
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "layers/layers.h"

/* ---- the phases over blocks of features ------------------------------------------------------ */

/* Features a piece holds a whole number of (64 bytes of floats), and elements (rows x features)
 * a piece holds at least: smaller phases stay on the calling thread. Every feature's sums stay
 * in one piece, so results do not depend on the threads. */
#define FEATURE_GROUP 16
#define PHASE_PIECE ((size_t)1 << 15)

/* What the pieces of one phase work on. */
typedef struct phase_job {
    const bnmlp_batchnorm_run *run;
    void (*phase)(const bnmlp_batchnorm_run *run, size_t c0, size_t width);
} phase_job;

/* Feature groups [begin, end) of one phase (a bnmlp_range_function). */
static void phase_range(void *arg, size_t begin, size_t end, size_t thread) {
    (void)thread;
    const phase_job *job = arg;
    const size_t c = job->run->channels;
    const size_t c0 = begin * FEATURE_GROUP, c1 = end * FEATURE_GROUP < c ? end * FEATURE_GROUP : c;
    job->phase(job->run, c0, c1 - c0);
}

/* Runs phase over every feature, in groups of features split over the context's threads; a
 * feature weighs `rows` elements (the phase's work per feature) when the pieces are sized. */
static void run_weighted_phase(const bnmlp_batchnorm_run *run, size_t rows,
                               void (*phase)(const bnmlp_batchnorm_run *run, size_t c0, size_t width)) {
    phase_job job = {.run = run, .phase = phase};
    const size_t group_elements = rows * FEATURE_GROUP;
    const size_t min_groups = group_elements ? (PHASE_PIECE + group_elements - 1) / group_elements : 1;
    bnmlp_parallel_for(run->kernels, (run->channels + FEATURE_GROUP - 1) / FEATURE_GROUP, min_groups,
                       phase_range, &job);
}

/* A phase over the batch's rows of every feature. */
static void run_phase(const bnmlp_batchnorm_run *run,
                      void (*phase)(const bnmlp_batchnorm_run *run, size_t c0, size_t width)) {
    run_weighted_phase(run, run->rows, phase);
}

/* A phase of a few operations per feature (the statistics' finish, the moving rstd): waking a
 * second thread for it cost more than the work (3.2 vs 0.8 us at 1024 features, measured). */
static void run_feature_phase(const bnmlp_batchnorm_run *run,
                              void (*phase)(const bnmlp_batchnorm_run *run, size_t c0, size_t width)) {
    run_weighted_phase(run, 1, phase);
}

/* The four sums of a pass, c doubles each. */
static double *sum_of_x(const bnmlp_batchnorm_run *run) { return run->sums; }
static double *squares_of(const bnmlp_batchnorm_run *run) { return run->sums + run->channels; }
static double *sum_of_dy(const bnmlp_batchnorm_run *run) { return run->sums + 2 * run->channels; }
static double *sum_of_dy_xhat(const bnmlp_batchnorm_run *run) { return run->sums + 3 * run->channels; }

static void phase_sum(const bnmlp_batchnorm_run *run, size_t c0, size_t width) {
    bnmlp_batchnorm_partial_sum(run->kernels, sum_of_x(run) + c0, run->x + c0, run->rows, run->stride, width);
}

static void phase_squares(const bnmlp_batchnorm_run *run, size_t c0, size_t width) {
    double *mean = sum_of_x(run) + c0; /* the combined sums become the mean, in place */
    for (size_t k = 0; k < width; k++) mean[k] /= run->count;
    bnmlp_batchnorm_partial_squares(run->kernels, squares_of(run) + c0, run->x + c0, mean, run->rows,
                                    run->stride, width);
}

static void phase_finish(const bnmlp_batchnorm_run *run, size_t c0, size_t width) {
    bnmlp_batchnorm_finish_statistics(run->kernels, run->batch_mean + c0, run->batch_variance + c0,
                                      run->batch_rstd + c0, sum_of_x(run) + c0, squares_of(run) + c0,
                                      run->count, width, run->epsilon);
}

static void phase_moving_rstd(const bnmlp_batchnorm_run *run, size_t c0, size_t width) {
    /* The sums of x are free without batch statistics: the doubles of the moving variance. */
    bnmlp_batchnorm_moving_rstd_kernel(run->kernels, run->rstd + c0, run->moving_variance + c0,
                                       sum_of_x(run) + c0, width, run->epsilon);
}

/* The mean and rstd that normalize: the batch's, or the moving mean and run->rstd. */
static const float *normalizing_mean(const bnmlp_batchnorm_run *run) {
    return run->batch_statistics ? run->batch_mean : run->moving_mean;
}
static const float *normalizing_rstd(const bnmlp_batchnorm_run *run) {
    return run->batch_statistics ? run->batch_rstd : run->rstd;
}

static void phase_normalize(const bnmlp_batchnorm_run *run, size_t c0, size_t width) {
    if (run->relu_output) { /* a fused ReLU: its output, and not the layer's */
        bnmlp_batchnorm_normalize_relu(run->kernels, run->relu_output + c0, run->x + c0,
                                       normalizing_mean(run) + c0, normalizing_rstd(run) + c0,
                                       run->gamma ? run->gamma + c0 : NULL, run->beta ? run->beta + c0 : NULL,
                                       run->rows, run->stride, width);
        return;
    }
    bnmlp_batchnorm_normalize(run->kernels, run->y + c0, run->x + c0, normalizing_mean(run) + c0,
                              normalizing_rstd(run) + c0, run->gamma ? run->gamma + c0 : NULL,
                              run->beta ? run->beta + c0 : NULL, run->rows, run->stride, width);
}

static void phase_backward_sums(const bnmlp_batchnorm_run *run, size_t c0, size_t width) {
    if (run->relu_output) { /* dy is the fused ReLU's dz, masked by its output */
        bnmlp_batchnorm_partial_backward_relu(run->kernels, sum_of_dy(run) + c0, sum_of_dy_xhat(run) + c0,
                                              run->dy + c0, run->relu_output + c0, run->x + c0,
                                              normalizing_mean(run) + c0, normalizing_rstd(run) + c0,
                                              run->rows, run->stride, width);
        return;
    }
    bnmlp_batchnorm_partial_backward(run->kernels, sum_of_dy(run) + c0, sum_of_dy_xhat(run) + c0,
                                     run->dy + c0, run->x + c0, normalizing_mean(run) + c0,
                                     normalizing_rstd(run) + c0, run->rows, run->stride, width);
}

static void phase_input_gradient(const bnmlp_batchnorm_run *run, size_t c0, size_t width) {
    const float *gamma = run->gamma ? run->gamma + c0 : NULL;
    if (run->relu_output) { /* dy is the fused ReLU's dz, masked by its output */
        const float *z = run->relu_output + c0;
        if (run->batch_statistics)
            bnmlp_batchnorm_finish_backward_relu(run->kernels, run->dx + c0, sum_of_dy(run) + c0,
                                                 sum_of_dy_xhat(run) + c0, run->dy + c0, z, run->x + c0,
                                                 run->batch_mean + c0, run->batch_rstd + c0, gamma,
                                                 run->count, run->rows, run->stride, width);
        else
            bnmlp_batchnorm_inference_input_gradient_relu(run->kernels, run->dx + c0, run->dy + c0, z,
                                                          run->rstd + c0, gamma, run->rows, run->stride,
                                                          width);
        return;
    }
    if (run->batch_statistics)
        bnmlp_batchnorm_finish_backward(run->kernels, run->dx + c0, sum_of_dy(run) + c0,
                                        sum_of_dy_xhat(run) + c0, run->dy + c0, run->x + c0,
                                        run->batch_mean + c0, run->batch_rstd + c0, gamma, run->count,
                                        run->rows, run->stride, width);
    else
        bnmlp_batchnorm_inference_input_gradient(run->kernels, run->dx + c0, run->dy + c0, run->rstd + c0,
                                                 gamma, run->rows, run->stride, width);
}

/* The seam: every process's sums added in place (nothing in one process). */
static void combine(const bnmlp_batchnorm_run *run, double *sums, size_t count) {
    if (run->combine) run->combine(run->combine_context, sums, count);
}

void bnmlp_batchnorm_run_forward(const bnmlp_batchnorm_run *run) {
    const size_t c = run->channels;
    if (run->batch_statistics) {
        memset(run->sums, 0, 2 * c * sizeof *run->sums);
        run_phase(run, phase_sum);
        combine(run, sum_of_x(run), c);
        run_phase(run, phase_squares); /* the mean, then the squares around it */
        combine(run, squares_of(run), c);
        run_feature_phase(run, phase_finish);
    } else {
        run_feature_phase(run, phase_moving_rstd);
    }
    run_phase(run, phase_normalize);
}

void bnmlp_batchnorm_run_backward(const bnmlp_batchnorm_run *run) {
    const size_t c = run->channels;
    if (!run->batch_statistics) run_feature_phase(run, phase_moving_rstd);
    memset(sum_of_dy(run), 0, 2 * c * sizeof *run->sums);
    run_phase(run, phase_backward_sums);
    /* dgamma and dbeta from this process's sums: a caller that trains on several processes adds
     * the gradients of every process afterwards. */
    bnmlp_batchnorm_parameter_gradients(run->dgamma, run->dbeta, sum_of_dy(run), sum_of_dy_xhat(run), c);
    if (!run->dx) return;
    if (run->batch_statistics) combine(run, sum_of_dy(run), 2 * c); /* sum_dy, sum_dy_xhat adjacent */
    run_phase(run, phase_input_gradient);
}

/* ---- whole layers over raw buffers, in one process ------------------------------------------------ */

/* Features a whole-layer call runs through at a time, with their scratch on the stack. */
#define WHOLE_BLOCK 64

/* p + c0, or NULL for NULL. */
static float *at(const float *p, size_t c0) { return p ? (float *)p + c0 : NULL; }

/* Runs `whole` (every array of every feature set, in one process) over blocks of WHOLE_BLOCK
 * features with their scratch on the stack: forward or backward. */
static void run_blocks(const bnmlp_batchnorm_run *whole, bool forward) {
    for (size_t c0 = 0; c0 < whole->channels; c0 += WHOLE_BLOCK) {
        double sums[4 * WHOLE_BLOCK];
        float rstd[WHOLE_BLOCK];
        bnmlp_batchnorm_run run = *whole;
        run.channels = whole->channels - c0 < WHOLE_BLOCK ? whole->channels - c0 : WHOLE_BLOCK;
        run.sums = sums, run.rstd = rstd;
        run.x = at(whole->x, c0), run.y = at(whole->y, c0), run.dy = at(whole->dy, c0),
        run.dx = at(whole->dx, c0);
        run.gamma = at(whole->gamma, c0), run.beta = at(whole->beta, c0);
        run.dgamma = at(whole->dgamma, c0), run.dbeta = at(whole->dbeta, c0);
        run.moving_mean = at(whole->moving_mean, c0), run.moving_variance = at(whole->moving_variance, c0);
        run.batch_mean = at(whole->batch_mean, c0), run.batch_variance = at(whole->batch_variance, c0);
        run.batch_rstd = at(whole->batch_rstd, c0);
        if (forward)
            bnmlp_batchnorm_run_forward(&run);
        else
            bnmlp_batchnorm_run_backward(&run);
    }
}

/* The run of a whole layer of channels features over batch rows, in one process, before its
 * arrays are set. */
static bnmlp_batchnorm_run whole_layer(const bnmlp_kernel_context *kernels, const float *x, size_t batch,
                                       size_t channels, float epsilon, bool batch_statistics) {
    return (bnmlp_batchnorm_run){.kernels = kernels,
                                 .x = x,
                                 .rows = batch,
                                 .stride = channels,
                                 .channels = channels,
                                 .count = (double)batch,
                                 .epsilon = epsilon,
                                 .batch_statistics = batch_statistics};
}

void bnmlp_batchnorm_forward_training(const bnmlp_kernel_context *kernels, float *y, float *mean,
                                      float *variance, float *rstd, const float *x, const float *gamma,
                                      const float *beta, size_t batch, size_t channels, float epsilon) {
    bnmlp_batchnorm_run whole = whole_layer(kernels, x, batch, channels, epsilon, true);
    whole.y = y, whole.gamma = gamma, whole.beta = beta;
    whole.batch_mean = mean, whole.batch_variance = variance, whole.batch_rstd = rstd;
    run_blocks(&whole, true);
}

void bnmlp_batchnorm_forward_inference(const bnmlp_kernel_context *kernels, float *y, const float *x,
                                       const float *moving_mean, const float *moving_variance,
                                       const float *gamma, const float *beta, size_t batch, size_t channels,
                                       float epsilon) {
    bnmlp_batchnorm_run whole = whole_layer(kernels, x, batch, channels, epsilon, false);
    whole.y = y, whole.gamma = gamma, whole.beta = beta;
    whole.moving_mean = moving_mean, whole.moving_variance = moving_variance;
    run_blocks(&whole, true);
}

void bnmlp_batchnorm_backward_training(const bnmlp_kernel_context *kernels, float *dx, float *dgamma,
                                       float *dbeta, const float *dy, const float *x, const float *mean,
                                       const float *rstd, const float *gamma, size_t batch, size_t channels) {
    bnmlp_batchnorm_run whole = whole_layer(kernels, x, batch, channels, 0.0f, true);
    whole.dy = dy, whole.dx = dx, whole.gamma = gamma, whole.dgamma = dgamma, whole.dbeta = dbeta;
    /* Backward only reads the caches a forward wrote. */
    whole.batch_mean = at(mean, 0), whole.batch_rstd = at(rstd, 0);
    run_blocks(&whole, false);
}

void bnmlp_batchnorm_backward_inference(const bnmlp_kernel_context *kernels, float *dx, float *dgamma,
                                        float *dbeta, const float *dy, const float *x,
                                        const float *moving_mean, const float *moving_variance,
                                        const float *gamma, size_t batch, size_t channels, float epsilon) {
    bnmlp_batchnorm_run whole = whole_layer(kernels, x, batch, channels, epsilon, false);
    whole.dy = dy, whole.dx = dx, whole.gamma = gamma, whole.dgamma = dgamma, whole.dbeta = dbeta;
    whole.moving_mean = moving_mean, whole.moving_variance = moving_variance;
    run_blocks(&whole, false);
}

/* ---- the layer kind ------------------------------------------------------------------------------ */

static bnmlp_status batchnorm_check(const bnmlp_layer *layer) {
    const bnmlp_batchnorm_config *config = &layer->config.batchnorm;
    const bnmlp_variance_estimator e = config->moving_variance_estimator;
    const bnmlp_moving_average a = config->moving_average;
    const bool ok =
        config->momentum >= 0.0f && config->momentum <= 1.0f && config->epsilon > 0.0f &&
        isfinite(config->epsilon) &&
        (e == BNMLP_VARIANCE_BIASED || e == BNMLP_VARIANCE_UNBIASED || e == BNMLP_VARIANCE_KERAS2) &&
        (a == BNMLP_AVERAGE_EXPONENTIAL || a == BNMLP_AVERAGE_DEBIASED || a == BNMLP_AVERAGE_CUMULATIVE) &&
        !(a == BNMLP_AVERAGE_DEBIASED && config->momentum == 1.0f); /* 1 - 1^t would divide by 0 */
    return ok ? BNMLP_OK : BNMLP_ERR_INVALID_ARGUMENT;
}

static bool batchnorm_plan(const bnmlp_layer *layer, size_t *out, size_t lengths[BNMLP_ARRAY_COUNT]) {
    const bnmlp_batchnorm_config *config = &layer->config.batchnorm;
    const size_t c = layer->in;
    *out = c;
    lengths[BNMLP_ARRAY_GAMMA] = config->scale ? c : 0;
    lengths[BNMLP_ARRAY_BETA] = config->center ? c : 0;
    lengths[BNMLP_ARRAY_MOVING_MEAN] = lengths[BNMLP_ARRAY_MOVING_VARIANCE] = c;
    const size_t accumulators = config->moving_average == BNMLP_AVERAGE_DEBIASED ? c : 0;
    lengths[BNMLP_ARRAY_BIASED_MEAN] = lengths[BNMLP_ARRAY_BIASED_VARIANCE] = accumulators;
    lengths[BNMLP_ARRAY_BATCH_MEAN] = lengths[BNMLP_ARRAY_BATCH_VARIANCE] = lengths[BNMLP_ARRAY_BATCH_RSTD] =
        c;
    return true;
}

static void batchnorm_initialize(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT],
                                 bnmlp_random *rng) {
    (void)rng;
    float *gamma = arrays[BNMLP_ARRAY_GAMMA], *moving_variance = arrays[BNMLP_ARRAY_MOVING_VARIANCE];
    for (size_t c = 0; c < layer->out; c++) {
        if (gamma) gamma[c] = 1.0f; /* beta stays 0 */
        moving_variance[c] = 1.0f;  /* the moving mean stays 0 */
    }
}

/* Scratch: the four double sums of the phases, then the inference rstd. */
static size_t batchnorm_scratch_bytes(const bnmlp_layer *layer) {
    const size_t per_feature = 4 * sizeof(double) + sizeof(float);
    /* A width whose bytes overflow asks for more than any allocator gives: build fails. */
    return layer->out > SIZE_MAX / per_feature ? SIZE_MAX : layer->out * per_feature;
}

static size_t batchnorm_min_training_rows(const bnmlp_layer *layer) {
    if (!layer->trainable) return 1; /* a frozen layer uses its moving statistics */
    return bnmlp_batchnorm_min_rows(layer->config.batchnorm.epsilon,
                                    layer->config.batchnorm.moving_variance_estimator);
}

/* The run of a pass of the layer. */
static bnmlp_batchnorm_run run_of(const bnmlp_layer_pass *pass) {
    const bnmlp_layer *layer = pass->layer;
    double *sums = pass->scratch;
    return (bnmlp_batchnorm_run){
        .kernels = pass->kernels,
        .x = pass->x,
        .y = pass->y,
        .dy = pass->dy,
        .dx = pass->dx,
        .gamma = pass->arrays[BNMLP_ARRAY_GAMMA],
        .beta = pass->arrays[BNMLP_ARRAY_BETA],
        .dgamma = pass->grads[BNMLP_ARRAY_GAMMA],
        .dbeta = pass->grads[BNMLP_ARRAY_BETA],
        .moving_mean = pass->arrays[BNMLP_ARRAY_MOVING_MEAN],
        .moving_variance = pass->arrays[BNMLP_ARRAY_MOVING_VARIANCE],
        .batch_mean = pass->arrays[BNMLP_ARRAY_BATCH_MEAN],
        .batch_variance = pass->arrays[BNMLP_ARRAY_BATCH_VARIANCE],
        .batch_rstd = pass->arrays[BNMLP_ARRAY_BATCH_RSTD],
        .relu_output = pass->fused_output,
        .sums = sums,
        .rstd = (float *)(sums + 4 * layer->out),
        .rows = pass->rows,
        .stride = layer->out,
        .channels = layer->out,
        .count = (double)pass->statistics_rows,
        .epsilon = layer->config.batchnorm.epsilon,
        .batch_statistics = pass->batch_statistics,
        .combine = pass->combine,
        .combine_context = pass->combine_context,
    };
}

static void batchnorm_forward_pass(const bnmlp_layer_pass *pass) {
    const bnmlp_batchnorm_run run = run_of(pass);
    bnmlp_batchnorm_run_forward(&run);
}

static void batchnorm_backward_pass(const bnmlp_layer_pass *pass) {
    const bnmlp_batchnorm_run run = run_of(pass);
    bnmlp_batchnorm_run_backward(&run);
}

/* A ReLU activation right after the layer runs inside its passes (bnmlp_layer_ops.fuse_next):
 * the forward writes relu(y) in one pass, the backward masks dz inside its own two. */
static bool batchnorm_fuse_next(const bnmlp_layer *layer, const bnmlp_layer *next) {
    return next->ops == &bnmlp_activation_ops && next->config.activation.function == BNMLP_ACTIVATION_RELU &&
           next->in == layer->out && next->out == layer->out;
}

static bool batchnorm_update_statistics(const bnmlp_layer_pass *pass, bool apply) {
    const bnmlp_layer *layer = pass->layer;
    float *const *a = pass->arrays;
    return bnmlp_batchnorm_average(
        a[BNMLP_ARRAY_MOVING_MEAN], a[BNMLP_ARRAY_MOVING_VARIANCE], a[BNMLP_ARRAY_BIASED_MEAN],
        a[BNMLP_ARRAY_BIASED_VARIANCE], a[BNMLP_ARRAY_BATCH_MEAN], a[BNMLP_ARRAY_BATCH_VARIANCE],
        pass->statistics_rows, layer->out, &layer->config.batchnorm, layer->steps + 1, apply);
}

/* After a moving statistic of a debiased layer is set: its accumulator becomes the value times
 * 1 - momentum^t, so that the debiased value is the one set and later steps continue from it. */
static void batchnorm_array_set(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT],
                                bnmlp_array array) {
    const bool mean = array == BNMLP_ARRAY_MOVING_MEAN;
    if (!arrays[BNMLP_ARRAY_BIASED_MEAN] || (!mean && array != BNMLP_ARRAY_MOVING_VARIANCE)) return;
    const double debias = 1.0 - pow((double)layer->config.batchnorm.momentum, (double)layer->steps);
    const float *value = arrays[mean ? BNMLP_ARRAY_MOVING_MEAN : BNMLP_ARRAY_MOVING_VARIANCE];
    float *biased = arrays[mean ? BNMLP_ARRAY_BIASED_MEAN : BNMLP_ARRAY_BIASED_VARIANCE];
    for (size_t c = 0; c < layer->out; c++) biased[c] = (float)((double)value[c] * debias);
}

/* Inference: y = gamma * ((x - mean) * rstd) + beta with rstd = bnmlp_batchnorm_rstd(moving
 * variance, epsilon) rounded to float as the pass rounds it; so scale = gamma * rstd and
 * shift = beta - mean * scale (gamma 1, beta 0 when scale / center is off). The moving variance
 * is used as stored: the estimator (biased, unbiased, keras2) and the average (exponential,
 * debiased, cumulative) only decide what training stores there. */
static bool batchnorm_inference_affine(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT],
                                       double *scale, double *shift) {
    const float *gamma = arrays[BNMLP_ARRAY_GAMMA], *beta = arrays[BNMLP_ARRAY_BETA];
    const float *mean = arrays[BNMLP_ARRAY_MOVING_MEAN], *variance = arrays[BNMLP_ARRAY_MOVING_VARIANCE];
    for (size_t c = 0; c < layer->out; c++) {
        const float rstd = bnmlp_batchnorm_rstd((double)variance[c], layer->config.batchnorm.epsilon);
        scale[c] = (gamma ? (double)gamma[c] : 1.0) * (double)rstd;
        shift[c] = (beta ? (double)beta[c] : 0.0) - (double)mean[c] * scale[c];
    }
    return true;
}

/* Every setting, in the CLI's layer language: "momentum=0.99 eps=0.001 variance=biased
 * average=exponential", with "nocenter" / "noscale" when beta / gamma are off. */
static void batchnorm_describe(const bnmlp_layer *layer, char *text, size_t size) {
    static const char *const variances[] = {[BNMLP_VARIANCE_BIASED] = "biased",
                                            [BNMLP_VARIANCE_UNBIASED] = "unbiased",
                                            [BNMLP_VARIANCE_KERAS2] = "keras2"};
    static const char *const averages[] = {[BNMLP_AVERAGE_EXPONENTIAL] = "exponential",
                                           [BNMLP_AVERAGE_DEBIASED] = "debiased",
                                           [BNMLP_AVERAGE_CUMULATIVE] = "cumulative"};
    const bnmlp_batchnorm_config *config = &layer->config.batchnorm;
    const size_t v = (size_t)config->moving_variance_estimator, a = (size_t)config->moving_average;
    snprintf(text, size, "momentum=%g eps=%g%s%s variance=%s average=%s", (double)config->momentum,
             (double)config->epsilon, config->center ? "" : " nocenter", config->scale ? "" : " noscale",
             v < sizeof variances / sizeof variances[0] ? variances[v] : "?",
             a < sizeof averages / sizeof averages[0] ? averages[a] : "?");
}

const bnmlp_layer_ops bnmlp_batchnorm_ops = {
    .kind = BNMLP_LAYER_BATCHNORM,
    .class_name = "BatchNormalization",
    .prefix = "batch_normalization",
    .check = batchnorm_check,
    .plan = batchnorm_plan,
    .initialize = batchnorm_initialize,
    .scratch_bytes = batchnorm_scratch_bytes,
    .min_training_rows = batchnorm_min_training_rows,
    .forward = batchnorm_forward_pass,
    .backward = batchnorm_backward_pass,
    .fuse_next = batchnorm_fuse_next,
    .update_statistics = batchnorm_update_statistics,
    .array_set = batchnorm_array_set,
    .describe = batchnorm_describe,
    .inference_affine = batchnorm_inference_affine,
};
