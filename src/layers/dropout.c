/*
 * dropout.c - the dropout layer kind (inverted dropout, Keras's Dropout and PyTorch's Dropout):
 * in training mode each element is kept with probability 1 - rate and divided by 1 - rate, or
 * zeroed; in inference mode the identity.
 *
 * The mask is drawn from the counter-based generator (src/core/random.c), keyed by
 *   key(seed, step, layer index) -> key(.., global row) -> draw number column,
 * kept when the draw (uniform in [0, 1)) >= rate, as Keras compares. step is the layer's count
 * of committed training steps (bnmlp_layer.steps, advanced by the model after a step that
 * succeeds, saved in the model file). An element's mask depends only on its indices, so the
 * threads may split rows in any way and a resumed run draws the same masks; backward draws the
 * forward's mask again (the model commits the step only after both), so nothing is cached.
 */
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"

/* Elements of one piece at least: below twice this a pass stays on the calling thread. */
#define DROPOUT_PIECE ((size_t)1 << 15)

/* What the pieces of one masked pass work on: out = mask ? in / keep : 0. */
typedef struct dropout_job {
    float *out;       /* y (forward) or dx (backward), (rows, width) */
    const float *in;  /* x or dy, (rows, width) */
    uint64_t key;     /* the pass's key: seed, step, layer index */
    size_t first_row; /* the global index of row 0 */
    size_t width;     /* features */
    double rate;      /* dropped when the draw is below it */
    float keep;       /* 1 - rate: the kept elements are divided by it */
} dropout_job;

/* Rows [begin, end) of a masked pass (a bnmlp_range_function). */
static void dropout_range(void *arg, size_t begin, size_t end, size_t thread) {
    (void)thread;
    const dropout_job *job = arg;
    for (size_t r = begin; r < end; r++) {
        const uint64_t row_key = bnmlp_counter_key(job->key, (uint64_t)(job->first_row + r));
        const float *in = job->in + r * job->width;
        float *out = job->out + r * job->width;
        for (size_t c = 0; c < job->width; c++)
            out[c] = bnmlp_counter_uniform(row_key, c) >= job->rate ? in[c] / job->keep : 0.0f;
    }
}

/* out = the pass's mask applied to in (rows, width), scaled by 1 / (1 - rate). */
static void apply_mask(const bnmlp_layer_pass *pass, float *out, const float *in) {
    const bnmlp_layer *layer = pass->layer;
    const size_t width = layer->out;
    const float rate = layer->config.dropout.rate;
    if (rate == 0.0f) { /* every element kept and divided by 1: the identity, exactly */
        memcpy(out, in, pass->rows * width * sizeof *out);
        return;
    }
    const uint64_t step_key = bnmlp_counter_key(layer->config.dropout.seed, layer->steps);
    dropout_job job = {.out = out,
                       .in = in,
                       .key = bnmlp_counter_key(step_key, (uint64_t)pass->index),
                       .first_row = pass->first_row,
                       .width = width,
                       .rate = (double)rate,
                       .keep = 1.0f - rate};
    const size_t min_rows = width ? (DROPOUT_PIECE + width - 1) / width : 1;
    bnmlp_parallel_for(pass->kernels, pass->rows, min_rows, dropout_range, &job);
}

static bnmlp_status dropout_check(const bnmlp_layer *layer) {
    const float rate = layer->config.dropout.rate;
    return rate >= 0.0f && rate < 1.0f ? BNMLP_OK : BNMLP_ERR_INVALID_ARGUMENT; /* NaN fails too */
}

static bool dropout_plan(const bnmlp_layer *layer, size_t *out, size_t lengths[BNMLP_ARRAY_COUNT]) {
    (void)lengths; /* no arrays */
    *out = layer->in;
    return true;
}

static void dropout_forward_pass(const bnmlp_layer_pass *pass) {
    /* y (rows, c) = mask * x / (1 - rate) in training mode, else x. */
    if (pass->batch_statistics)
        apply_mask(pass, pass->y, pass->x);
    else
        memcpy(pass->y, pass->x, pass->rows * pass->layer->out * sizeof *pass->y);
}

static void dropout_backward_pass(const bnmlp_layer_pass *pass) {
    /* dL/dx = mask * dy / (1 - rate): the same mask, drawn again from the same key. */
    if (!pass->dx) return;
    if (pass->batch_statistics)
        apply_mask(pass, pass->dx, pass->dy);
    else
        memcpy(pass->dx, pass->dy, pass->rows * pass->layer->out * sizeof *pass->dx);
}

/* Nothing to update or check: the model counts the committed step in layer->steps. */
static bool dropout_count_step(const bnmlp_layer_pass *pass, bool apply) {
    (void)pass, (void)apply;
    return true;
}

static void dropout_describe(const bnmlp_layer *layer, char *text, size_t size) {
    snprintf(text, size, "rate %g", (double)layer->config.dropout.rate);
}

/* The identity in inference mode: scale 1, shift 0. */
static bool dropout_inference_affine(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT],
                                     double *scale, double *shift) {
    (void)arrays;
    for (size_t c = 0; c < layer->out; c++) scale[c] = 1.0, shift[c] = 0.0;
    return true;
}

const bnmlp_layer_ops bnmlp_dropout_ops = {
    .kind = BNMLP_LAYER_DROPOUT,
    .class_name = "Dropout",
    .prefix = "dropout",
    .ignores_trainable = true,
    .check = dropout_check,
    .plan = dropout_plan,
    .forward = dropout_forward_pass,
    .backward = dropout_backward_pass,
    .update_statistics = dropout_count_step,
    .describe = dropout_describe,
    .inference_affine = dropout_inference_affine,
};
