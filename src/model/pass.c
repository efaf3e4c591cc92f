/* pass.c - sequencing the layers: forward, backward, moving statistics, and the public forward. */
#include "model/model.h"

#include <string.h>

#include "core/core.h"
#include "layers/layers.h"

/* True when this batch-norm layer normalizes with batch statistics in this mode. */
static bool uses_batch_statistics(const bnmlp_layer *layer, bnmlp_mode mode) {
    return mode == BNMLP_MODE_TRAINING && layer->trainable;
}

/* ---- batch norm, in phases over blocks of features on the model's threads ---------------------- */

/* What the phases of one batch-norm layer's pass work on. */
typedef struct batchnorm_job {
    const bnmlp_layer *layer;
    bnmlp_model *model;
    const float *x, *dy; /* the layer's input (rows, c), and in backward the gradient of its output */
    float *dx;           /* backward: the gradient of its input, or NULL */
    const float *mean, *rstd, *gamma; /* what normalizes: the batch's or the moving statistics */
    double *sums;                     /* model->sums: mean, squares, sum_dy, sum_dy_xhat (c each) */
    size_t rows, c;                   /* rows of this process, features */
    double count;                     /* rows of the whole batch (every process's) */
    void (*phase)(const struct batchnorm_job *job, size_t c0, size_t width);
} batchnorm_job;

/* Features a piece holds a whole number of (64 bytes of floats), and elements (rows x features)
 * a piece holds at least: smaller phases stay on the calling thread. Every feature's sums stay
 * in one piece, so results do not depend on the threads. */
#define FEATURE_GROUP 16
#define PHASE_PIECE ((size_t)1 << 15)

/* Features [begin, end) groups of one phase (a bnmlp_range_function). */
static void batchnorm_range(void *arg, size_t begin, size_t end, size_t thread) {
    (void)thread;
    const batchnorm_job *job = arg;
    const size_t c0 = begin * FEATURE_GROUP, c1 = end * FEATURE_GROUP < job->c ? end * FEATURE_GROUP : job->c;
    job->phase(job, c0, c1 - c0);
}

/* Runs phase over every feature, in groups of features split over the model's threads. */
static void run_phase(batchnorm_job *job, void (*phase)(const batchnorm_job *job, size_t c0, size_t width)) {
    job->phase = phase;
    const size_t group_elements = job->rows * FEATURE_GROUP;
    const size_t min_groups = group_elements ? (PHASE_PIECE + group_elements - 1) / group_elements : 1;
    bnmlp_parallel_for(&job->model->kernels, (job->c + FEATURE_GROUP - 1) / FEATURE_GROUP, min_groups,
                       batchnorm_range, job);
}

static void phase_sum(const batchnorm_job *job, size_t c0, size_t width) {
    bnmlp_batchnorm_partial_sum(&job->model->kernels, job->sums + c0, job->x + c0, job->rows, job->c, width);
}

static void phase_squares(const batchnorm_job *job, size_t c0, size_t width) {
    double *mean = job->sums + c0;
    for (size_t k = 0; k < width; k++) mean[k] /= job->count;
    bnmlp_batchnorm_partial_squares(&job->model->kernels, job->sums + job->c + c0, job->x + c0, mean,
                                    job->rows, job->c, width);
}

static void phase_finish(const batchnorm_job *job, size_t c0, size_t width) {
    const bnmlp_layer *layer = job->layer;
    float *caches = job->model->caches;
    bnmlp_batchnorm_finish_statistics(bnmlp_slice_in(caches, layer->batch_mean) + c0,
                                      bnmlp_slice_in(caches, layer->batch_variance) + c0,
                                      bnmlp_slice_in(caches, layer->batch_rstd) + c0, job->sums + c0,
                                      job->sums + job->c + c0, job->count, width, layer->batchnorm.epsilon);
}

static void phase_normalize(const batchnorm_job *job, size_t c0, size_t width) {
    const bnmlp_layer *layer = job->layer;
    const float *gamma = bnmlp_slice_in(job->model->params, layer->gamma);
    const float *beta = bnmlp_slice_in(job->model->params, layer->beta);
    bnmlp_batchnorm_normalize(&job->model->kernels, layer->output + c0, job->x + c0, job->mean + c0,
                              job->rstd + c0, gamma ? gamma + c0 : NULL, beta ? beta + c0 : NULL, job->rows,
                              job->c, width);
}

/* Training-mode statistics of one batch-norm layer over x (rows, c), in phases; the seam between
 * the phases is where several processes would combine their sums. */
static void batchnorm_statistics(batchnorm_job *job) {
    bnmlp_model *model = job->model;
    memset(job->sums, 0, 2 * job->c * sizeof *job->sums);
    run_phase(job, phase_sum);
    bnmlp_model_combine_sums(model, job->sums, job->c);
    run_phase(job, phase_squares); /* the mean, then the squares around it */
    bnmlp_model_combine_sums(model, job->sums + job->c, job->c);
    run_phase(job, phase_finish);
}

/* Forward of one batch-norm layer: batch statistics in training mode, moving ones otherwise. */
static void batchnorm_forward(bnmlp_model *model, const bnmlp_layer *layer, const float *x, size_t rows,
                              bnmlp_mode mode) {
    const size_t c = layer->out;
    batchnorm_job job = {.layer = layer,
                         .model = model,
                         .x = x,
                         .sums = model->sums,
                         .rows = rows,
                         .c = c,
                         .count = (double)bnmlp_model_statistics_rows(model, rows), /* every rank's rows */
                         .mean = bnmlp_slice_in(model->stats, layer->moving_mean),
                         .rstd = model->rstd};
    if (uses_batch_statistics(layer, mode)) {
        batchnorm_statistics(&job);
        job.mean = bnmlp_slice_in(model->caches, layer->batch_mean);
        job.rstd = bnmlp_slice_in(model->caches, layer->batch_rstd);
    } else {
        bnmlp_batchnorm_moving_rstd(model->rstd, bnmlp_slice_in(model->stats, layer->moving_variance), c,
                                    layer->batchnorm.epsilon);
    }
    run_phase(&job, phase_normalize);
}

/* ---- element-wise passes, in pieces on the model's threads -------------------------------------- */

/* An element-wise pass over n elements: an activation (forward when dy is NULL) or zeroing. */
typedef struct elementwise_job {
    const bnmlp_model *model;
    const bnmlp_layer *layer; /* the activation layer; NULL: zero `out` */
    float *out;               /* y (forward), dx (backward) or the array to zero */
    const float *x, *y, *dy;  /* the activation's input, output and output gradient (backward) */
    size_t n;                 /* elements in all */
} elementwise_job;

/* Elements of one piece at least: below twice this a pass stays on the calling thread. */
#define ELEMENTWISE_PIECE ((size_t)1 << 16)

/* Elements [begin, end) of an element-wise pass (a bnmlp_range_function). */
static void elementwise_range(void *arg, size_t begin, size_t end, size_t thread) {
    (void)thread;
    const elementwise_job *job = arg;
    const size_t count = end - begin;
    const bnmlp_layer *layer = job->layer;
    const bnmlp_kernel_context *kernels = &job->model->kernels;
    if (!layer)
        memset(job->out + begin, 0, count * sizeof *job->out);
    else if (!job->dy)
        bnmlp_activation_forward(kernels, job->out + begin, job->x + begin, count, layer->activation,
                                 layer->alpha);
    else
        bnmlp_activation_backward(kernels, job->out + begin, job->dy + begin, job->x + begin, job->y + begin,
                                  count, layer->activation, layer->alpha);
}

/* Runs job over its n elements, split over the model's threads when worth it. */
static void run_elementwise(const bnmlp_model *model, elementwise_job *job) {
    job->model = model;
    bnmlp_parallel_for(&model->kernels, job->n, ELEMENTWISE_PIECE, elementwise_range, job);
}

const float *bnmlp_model_run_forward(bnmlp_model *model, const float *x, size_t rows, bnmlp_mode mode,
                                     size_t count) {
    const float *input = x;
    for (size_t i = 0; i < count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        switch (layer->kind) {
        case BNMLP_LAYER_DENSE:
            bnmlp_dense_forward(&model->kernels, layer->output, input,
                                bnmlp_slice_in(model->params, layer->kernel),
                                bnmlp_slice_in(model->params, layer->bias), rows, layer->in, layer->out);
            break;
        case BNMLP_LAYER_ACTIVATION:
            if (layer->activation == BNMLP_ACTIVATION_SOFTMAX)
                bnmlp_softmax_forward(layer->output, input, rows, layer->out);
            else
                run_elementwise(
                    model, &(elementwise_job){
                               .layer = layer, .out = layer->output, .x = input, .n = rows * layer->out});
            break;
        case BNMLP_LAYER_BATCHNORM: batchnorm_forward(model, layer, input, rows, mode); break;
        }
        input = layer->output;
    }
    return input;
}

static void phase_backward_sums(const batchnorm_job *job, size_t c0, size_t width) {
    double *sum_dy = job->sums + 2 * job->c, *sum_dy_xhat = job->sums + 3 * job->c;
    bnmlp_batchnorm_partial_backward(&job->model->kernels, sum_dy + c0, sum_dy_xhat + c0, job->dy + c0,
                                     job->x + c0, job->mean + c0, job->rstd + c0, job->rows, job->c, width);
}

static void phase_input_gradient(const batchnorm_job *job, size_t c0, size_t width) {
    const double *sum_dy = job->sums + 2 * job->c, *sum_dy_xhat = job->sums + 3 * job->c;
    const float *gamma = job->gamma ? job->gamma + c0 : NULL;
    if (job->layer->trainable) /* backward only follows a training-mode forward */
        bnmlp_batchnorm_finish_backward(&job->model->kernels, job->dx + c0, sum_dy + c0, sum_dy_xhat + c0,
                                        job->dy + c0, job->x + c0, job->mean + c0, job->rstd + c0, gamma,
                                        job->count, job->rows, job->c, width);
    else
        bnmlp_batchnorm_inference_input_gradient(&job->model->kernels, job->dx + c0, job->dy + c0,
                                                 job->rstd + c0, gamma, job->rows, job->c, width);
}

/* Backward of one batch-norm layer: the training-mode gradient through the batch statistics,
 * or, for a frozen layer, through the fixed affine map of the moving ones. */
static void batchnorm_backward(bnmlp_model *model, const bnmlp_layer *layer, float *dx, const float *dy,
                               const float *x, size_t rows) {
    const size_t c = layer->out;
    batchnorm_job job = {.layer = layer,
                         .model = model,
                         .x = x,
                         .dy = dy,
                         .dx = dx,
                         .sums = model->sums,
                         .rows = rows,
                         .c = c,
                         .count = (double)bnmlp_model_statistics_rows(model, rows),
                         .gamma = bnmlp_slice_in(model->params, layer->gamma),
                         .mean = bnmlp_slice_in(model->caches, layer->batch_mean),
                         .rstd = bnmlp_slice_in(model->caches, layer->batch_rstd)};
    if (!layer->trainable) {
        job.mean = bnmlp_slice_in(model->stats, layer->moving_mean);
        job.rstd = model->rstd;
        bnmlp_batchnorm_moving_rstd(model->rstd, bnmlp_slice_in(model->stats, layer->moving_variance), c,
                                    layer->batchnorm.epsilon);
    }
    double *sum_dy = model->sums + 2 * c, *sum_dy_xhat = model->sums + 3 * c;
    memset(sum_dy, 0, 2 * c * sizeof *sum_dy);
    run_phase(&job, phase_backward_sums);
    /* dgamma and dbeta from this rank's sums: the gradient arena is summed over the ranks later. */
    bnmlp_batchnorm_parameter_gradients(bnmlp_slice_in(model->grads, layer->gamma),
                                        bnmlp_slice_in(model->grads, layer->beta), sum_dy, sum_dy_xhat, c);
    if (!dx) return;
    if (layer->trainable) bnmlp_model_combine_sums(model, sum_dy, 2 * c); /* sum_dy, sum_dy_xhat adjacent */
    run_phase(&job, phase_input_gradient);
}

void bnmlp_model_run_backward(bnmlp_model *model, const float *x, size_t rows, const float *delta,
                              size_t top) {
    run_elementwise(model, &(elementwise_job){.out = model->grads, .n = model->param_count});
    const float *dy = delta;
    int next = 0; /* which ping-pong buffer receives the next input gradient */
    for (size_t i = top; i-- > 0;) {
        const bnmlp_layer *layer = &model->layers[i];
        const float *input = i ? model->layers[i - 1].output : x;
        /* The first layer's input gradient is never needed. */
        float *dx = i ? model->delta[next] : NULL;
        switch (layer->kind) {
        case BNMLP_LAYER_DENSE:
            bnmlp_dense_backward(&model->kernels, dx, bnmlp_slice_in(model->grads, layer->kernel),
                                 bnmlp_slice_in(model->grads, layer->bias), dy, input,
                                 bnmlp_slice_in(model->params, layer->kernel), rows, layer->in, layer->out);
            break;
        case BNMLP_LAYER_ACTIVATION:
            if (dx && layer->activation == BNMLP_ACTIVATION_SOFTMAX)
                bnmlp_softmax_backward(dx, dy, layer->output, rows, layer->out);
            else if (dx)
                run_elementwise(model, &(elementwise_job){.layer = layer,
                                                          .out = dx,
                                                          .x = input,
                                                          .y = layer->output,
                                                          .dy = dy,
                                                          .n = rows * layer->out});
            break;
        case BNMLP_LAYER_BATCHNORM: batchnorm_backward(model, layer, dx, dy, input, rows); break;
        }
        dy = dx;
        next ^= 1;
    }
}

/* ---- moving statistics ------------------------------------------------------------------------- */

/* Checks (apply false) or applies (apply true) the moving update of one trainable batch-norm
 * layer from its caches; true when the update is (would be) finite. */
static bool update_moving(const bnmlp_model *model, const bnmlp_layer *layer, size_t rows, bool apply) {
    float *stats = model->stats;
    return bnmlp_batchnorm_average(
        bnmlp_slice_in(stats, layer->moving_mean), bnmlp_slice_in(stats, layer->moving_variance),
        bnmlp_slice_in(stats, layer->biased_mean), bnmlp_slice_in(stats, layer->biased_variance),
        bnmlp_slice_in(model->caches, layer->batch_mean),
        bnmlp_slice_in(model->caches, layer->batch_variance), rows, layer->out, &layer->batchnorm,
        layer->average_steps + 1, apply);
}

bnmlp_status bnmlp_model_check_statistics(const bnmlp_model *model, size_t rows) {
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        if (layer->kind == BNMLP_LAYER_BATCHNORM && layer->trainable &&
            !update_moving(model, layer, rows, false))
            return BNMLP_ERR_DIVERGED;
    }
    return BNMLP_OK;
}

void bnmlp_model_commit_statistics(bnmlp_model *model, size_t rows) {
    for (size_t i = 0; i < model->layer_count; i++) {
        bnmlp_layer *layer = &model->layers[i];
        if (layer->kind != BNMLP_LAYER_BATCHNORM || !layer->trainable) continue;
        update_moving(model, layer, rows, true);
        layer->average_steps++;
    }
}

/* ---- the public forward ------------------------------------------------------------------------- */

/* The training-mode forward under a collective, once every rank's checks agreed (status): every
 * rank runs the pass (synchronized batch norm communicates), then all agree on the outputs' and
 * moving statistics' finiteness before any writes. */
static bnmlp_status forward_training_collective(bnmlp_model *model, const bnmlp_tensor *x, bnmlp_tensor *out,
                                                bnmlp_status status) {
    size_t global_rows;
    status = bnmlp_model_begin_batch(model, status, status == BNMLP_OK ? x->rows : 0, &global_rows);
    if (status == BNMLP_OK && bnmlp_model_batchnorm_is_synchronized(model))
        status = bnmlp_model_check_training_rows(model, global_rows);
    if (status != BNMLP_OK) return status;
    const size_t rows = bnmlp_model_statistics_rows(model, x->rows), n = x->rows * out->cols;
    const float *y =
        bnmlp_model_run_forward(model, x->data, x->rows, BNMLP_MODE_TRAINING, model->layer_count);
    status = bnmlp_model_take_failure(model);
    if (status == BNMLP_OK && !bnmlp_all_finite(y, n)) status = BNMLP_ERR_DIVERGED;
    if (status == BNMLP_OK) status = bnmlp_model_check_statistics(model, rows);
    status = bnmlp_model_agree(model, status);
    if (status != BNMLP_OK) return status;
    memcpy(out->data, y, n * sizeof *out->data);
    bnmlp_model_commit_statistics(model, rows);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_forward(bnmlp_model *model, const bnmlp_tensor *x, bnmlp_mode mode,
                                 bnmlp_tensor *out) {
    if (model && bnmlp_model_is_built(model) && bnmlp_model_is_distributed(model) &&
        mode == BNMLP_MODE_TRAINING) {
        bnmlp_status status =
            x && out ? bnmlp_model_check_batch(model, x, NULL, true) : BNMLP_ERR_NULL_ARGUMENT;
        if (status == BNMLP_OK)
            status = bnmlp_tensor_check_shape(out, x->rows, bnmlp_model_output_width(model));
        if (status == BNMLP_OK && !bnmlp_model_batchnorm_is_synchronized(model))
            status = bnmlp_model_check_training_rows(model, x->rows);
        return forward_training_collective(model, x, out, status);
    }
    if (!model || !x || !out) return BNMLP_ERR_NULL_ARGUMENT;
    if (mode != BNMLP_MODE_INFERENCE && mode != BNMLP_MODE_TRAINING) return BNMLP_ERR_INVALID_ARGUMENT;
    bnmlp_status status = bnmlp_model_check_batch(model, x, NULL, true);
    if (status != BNMLP_OK) return status;
    status = bnmlp_tensor_check_shape(out, x->rows, bnmlp_model_output_width(model));
    if (status != BNMLP_OK) return status;
    if (mode == BNMLP_MODE_TRAINING) status = bnmlp_model_check_training_rows(model, x->rows);
    if (status != BNMLP_OK) return status;
    const float *y = bnmlp_model_run_forward(model, x->data, x->rows, mode, model->layer_count);
    const size_t n = x->rows * out->cols;
    /* Nothing is written or committed unless every output and moving statistic is finite. */
    if (!bnmlp_all_finite(y, n)) return BNMLP_ERR_DIVERGED;
    if (mode == BNMLP_MODE_TRAINING && bnmlp_model_check_statistics(model, x->rows) != BNMLP_OK)
        return BNMLP_ERR_DIVERGED;
    memcpy(out->data, y, n * sizeof *out->data);
    if (mode == BNMLP_MODE_TRAINING) bnmlp_model_commit_statistics(model, x->rows);
    return BNMLP_OK;
}
