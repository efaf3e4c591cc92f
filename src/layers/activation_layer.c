/* activation_layer.c - the activation layer kind: a row-wise or element-wise function of its input. */
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/layers.h"

/* An element-wise pass over n elements: forward when dy is NULL, else backward. */
typedef struct elementwise_job {
    const bnmlp_kernel_context *kernels;
    const bnmlp_layer *layer;
    float *out;              /* y (forward) or dx (backward) */
    const float *x, *y, *dy; /* the input, the output and the output's gradient (backward) */
} elementwise_job;

/* Elements of one piece at least: below twice this a pass stays on the calling thread. */
#define ELEMENTWISE_PIECE ((size_t)1 << 16)

/* Elements [begin, end) of an element-wise pass (a bnmlp_range_function). */
static void elementwise_range(void *arg, size_t begin, size_t end, size_t thread) {
    (void)thread;
    const elementwise_job *job = arg;
    const size_t count = end - begin;
    const bnmlp_activation function = job->layer->config.activation.function;
    const float alpha = job->layer->config.activation.alpha;
    if (!job->dy)
        bnmlp_activation_forward(job->kernels, job->out + begin, job->x + begin, count, function, alpha);
    else
        bnmlp_activation_backward(job->kernels, job->out + begin, job->dy + begin,
                                  job->x ? job->x + begin : NULL, job->y ? job->y + begin : NULL, count,
                                  function, alpha);
}

static bnmlp_status activation_check(const bnmlp_layer *layer) {
    const bnmlp_activation function = layer->config.activation.function;
    const bool known = bnmlp_activation_is_valid(function);
    return known && isfinite(layer->config.activation.alpha) ? BNMLP_OK : BNMLP_ERR_INVALID_ARGUMENT;
}

static bool activation_plan(const bnmlp_layer *layer, size_t *out, size_t lengths[BNMLP_ARRAY_COUNT]) {
    (void)lengths; /* no arrays */
    *out = layer->in;
    return true;
}

static void activation_forward_pass(const bnmlp_layer_pass *pass) {
    const bnmlp_layer *layer = pass->layer;
    const bnmlp_activation function = layer->config.activation.function;
    if (bnmlp_activation_is_row_wise(function)) {
        bnmlp_activation_rows_forward(pass->y, pass->x, pass->rows, layer->out, function);
        return;
    }
    elementwise_job job = {.kernels = pass->kernels, .layer = layer, .out = pass->y, .x = pass->x};
    bnmlp_parallel_for(pass->kernels, pass->rows * layer->out, ELEMENTWISE_PIECE, elementwise_range, &job);
}

static void activation_backward_pass(const bnmlp_layer_pass *pass) {
    const bnmlp_layer *layer = pass->layer;
    if (!pass->dx) return; /* no parameters: only the input gradient */
    const bnmlp_activation function = layer->config.activation.function;
    if (bnmlp_activation_is_row_wise(function)) {
        bnmlp_activation_rows_backward(pass->dx, pass->dy, pass->y, pass->rows, layer->out, function);
        return;
    }
    elementwise_job job = {.kernels = pass->kernels,
                           .layer = layer,
                           .out = pass->dx,
                           .x = pass->x,
                           .y = pass->y,
                           .dy = pass->dy};
    bnmlp_parallel_for(pass->kernels, pass->rows * layer->out, ELEMENTWISE_PIECE, elementwise_range, &job);
}

/* The function, with its alpha when it takes one: "relu", "leaky_relu alpha=0.3". */
static void activation_describe(const bnmlp_layer *layer, char *text, size_t size) {
    const bnmlp_activation function = layer->config.activation.function;
    if (isnan(bnmlp_activation_default_alpha(function))) {
        snprintf(text, size, "%s", bnmlp_activation_name(function));
    } else {
        snprintf(text, size, "%s alpha=%g", bnmlp_activation_name(function),
                 (double)layer->config.activation.alpha);
    }
}

/* Only the linear activation is a per-feature scale and shift: the identity. */
static bool activation_inference_affine(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT],
                                        double *scale, double *shift) {
    (void)arrays;
    if (layer->config.activation.function != BNMLP_ACTIVATION_LINEAR) return false;
    for (size_t c = 0; c < layer->out; c++) scale[c] = 1.0, shift[c] = 0.0;
    return true;
}

const bnmlp_layer_ops bnmlp_activation_ops = {
    .kind = BNMLP_LAYER_ACTIVATION,
    .class_name = "Activation",
    .prefix = "activation",
    .check = activation_check,
    .plan = activation_plan,
    .forward = activation_forward_pass,
    .backward = activation_backward_pass,
    .describe = activation_describe,
    .inference_affine = activation_inference_affine,
};
