/*
 * normalization.c - the normalization layer kind (Keras's Normalization): a fixed per-feature
 * standardization y = (x - mean) / max(sqrt(variance), 1e-7), its mean and variance set from
 * data by adapt (population variance, ddof 0) or by the caller. The same in both modes; nothing
 * trainable, nothing updated by training.
 */
#include "layers/layer.h"
#include "layers/layers.h"

#include <math.h>
#include <string.h>

#include "core/core.h"

/* The floor of the standard deviation (Keras's backend.epsilon()). */
#define NORMALIZATION_MIN_STD 1e-7f

/* Elements of one piece at least: below twice this a pass stays on the calling thread. */
#define NORMALIZATION_PIECE ((size_t)1 << 16)

/* What the pieces of one pass work on: forward (y from x) or backward (dx from dy). */
typedef struct normalization_job {
    float *out;        /* y or dx (rows, width) */
    const float *in;   /* x or dy (rows, width) */
    const float *mean; /* (width), NULL in backward: nothing is subtracted */
    const float *std;  /* (width) max(sqrt(variance), 1e-7) */
    size_t width;      /* features */
} normalization_job;

/* Elements [begin, end) of a pass (a bnmlp_range_function): every element is computed alone, so
 * the split does not change a bit. */
static void normalization_range(void *arg, size_t begin, size_t end, size_t thread) {
    (void)thread;
    const normalization_job *job = arg;
    for (size_t i = begin; i < end; i++) {
        const size_t c = i % job->width;
        const float centered = job->mean ? job->in[i] - job->mean[c] : job->in[i];
        job->out[i] = centered / job->std[c]; /* a division, as Keras divides */
    }
}

void bnmlp_normalization_std(float *std, const float *variance, size_t width) {
    for (size_t c = 0; c < width; c++) {
        const float root = sqrtf(variance[c]);
        std[c] = root > NORMALIZATION_MIN_STD ? root : NORMALIZATION_MIN_STD;
    }
}

static bnmlp_status normalization_check(const bnmlp_layer *layer) {
    (void)layer; /* nothing to configure */
    return BNMLP_OK;
}

static bool normalization_plan(const bnmlp_layer *layer, size_t *out, size_t lengths[BNMLP_ARRAY_COUNT]) {
    *out = layer->in;
    lengths[BNMLP_ARRAY_MOVING_MEAN] = lengths[BNMLP_ARRAY_MOVING_VARIANCE] = layer->in;
    return true;
}

static void normalization_initialize(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT],
                                     bnmlp_random *rng) {
    (void)rng;
    /* Mean 0 (already), variance 1: the identity until adapted or set. */
    for (size_t c = 0; c < layer->out; c++) arrays[BNMLP_ARRAY_MOVING_VARIANCE][c] = 1.0f;
}

/* Scratch: the standard deviations, one float per feature. */
static size_t normalization_scratch_bytes(const bnmlp_layer *layer) {
    return layer->out > SIZE_MAX / sizeof(float) ? SIZE_MAX : layer->out * sizeof(float);
}

/* Runs a pass: out = (in - mean) / std, or in / std without a mean. */
static void run(const bnmlp_layer_pass *pass, float *out, const float *in, const float *mean) {
    const size_t width = pass->layer->out;
    float *std = pass->scratch;
    bnmlp_normalization_std(std, pass->arrays[BNMLP_ARRAY_MOVING_VARIANCE], width);
    normalization_job job = {.out = out, .in = in, .mean = mean, .std = std, .width = width};
    bnmlp_parallel_for(pass->kernels, pass->rows * width, NORMALIZATION_PIECE, normalization_range, &job);
}

static void normalization_forward_pass(const bnmlp_layer_pass *pass) {
    /* y (rows, c) = (x - mean) / std. */
    run(pass, pass->y, pass->x, pass->arrays[BNMLP_ARRAY_MOVING_MEAN]);
}

static void normalization_backward_pass(const bnmlp_layer_pass *pass) {
    /* dL/dx = dL/dy * dy/dx = dy / std: mean and variance are constants here. */
    if (pass->dx) run(pass, pass->dx, pass->dy, NULL);
}

static bnmlp_status normalization_adapt(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT],
                                        const float *x, size_t rows, const bnmlp_allocator *allocator) {
    const size_t width = layer->in;
    double *sums = bnmlp_alloc_zeroed(allocator, width, 2 * sizeof *sums);
    if (!sums) return BNMLP_ERR_OUT_OF_MEMORY;
    double *mean = sums, *squares = sums + width;
    /* Two passes in double: the mean, then the squares around it (no cancellation). */
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < width; c++) mean[c] += (double)x[r * width + c];
    for (size_t c = 0; c < width; c++) mean[c] /= (double)rows;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < width; c++) {
            const double d = (double)x[r * width + c] - mean[c];
            squares[c] += d * d;
        }
    bnmlp_status status = BNMLP_OK;
    for (size_t c = 0; c < width; c++) /* rounded once to float: must stay finite */
        if (bnmlp_not_finite((float)(squares[c] / (double)rows))) status = BNMLP_ERR_NOT_FINITE;
    if (status == BNMLP_OK)
        for (size_t c = 0; c < width; c++) {
            arrays[BNMLP_ARRAY_MOVING_MEAN][c] = (float)mean[c];
            arrays[BNMLP_ARRAY_MOVING_VARIANCE][c] = (float)(squares[c] / (double)rows);
        }
    bnmlp_release(allocator, sums);
    return status;
}

/* y = (x - mean) / std with std = max(sqrt(variance), 1e-7) in float, as the pass computes it:
 * scale = 1 / std, shift = -mean / std. */
static bool normalization_inference_affine(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT],
                                           double *scale, double *shift) {
    const float *mean = arrays[BNMLP_ARRAY_MOVING_MEAN], *variance = arrays[BNMLP_ARRAY_MOVING_VARIANCE];
    for (size_t c = 0; c < layer->out; c++) {
        float std;
        bnmlp_normalization_std(&std, variance + c, 1);
        scale[c] = 1.0 / (double)std;
        shift[c] = -(double)mean[c] / (double)std;
    }
    return true;
}

const bnmlp_layer_ops bnmlp_normalization_ops = {
    .kind = BNMLP_LAYER_NORMALIZATION,
    .class_name = "Normalization",
    .prefix = "normalization",
    .check = normalization_check,
    .plan = normalization_plan,
    .initialize = normalization_initialize,
    .scratch_bytes = normalization_scratch_bytes,
    .forward = normalization_forward_pass,
    .backward = normalization_backward_pass,
    .adapt = normalization_adapt,
    .inference_affine = normalization_inference_affine,
};
