/* activation_layer.c - the activation layer kind: a row-wise or element-wise function of its input. */
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/threadpool.h"
#include "layers/layers.h"

/* An element-wise pass over n elements: forward when dy is NULL, else backward. */
typedef struct elementwise_job {
    const bnmlp_layer *layer;
    float *out;              /* y (forward) or dx (backward) */
    const float *x, *y, *dy; /* the input, the output and the output's gradient (backward) */
    size_t piece;            /* elements per task */
    size_t n;                /* elements in all */
} elementwise_job;

/* Elements of one task at least: below twice this a pass stays on the calling thread. */
#define ELEMENTWISE_PIECE ((size_t)1 << 16)

static void elementwise_task(void *context, size_t task, size_t thread) {
    (void)thread;
    const elementwise_job *job = context;
    const size_t b = task * job->piece, count = job->n - b < job->piece ? job->n - b : job->piece;
    const bnmlp_activation function = job->layer->config.activation.function;
    const float alpha = job->layer->config.activation.alpha;
    if (!job->dy)
        bnmlp_activation_forward(job->out + b, job->x + b, count, function, alpha);
    else
        bnmlp_activation_backward(job->out + b, job->dy + b, job->x + b, job->y + b, count, function, alpha);
}

/* Runs job over its n elements, cut into pieces for the pool's threads when worth it. */
static void run_elementwise(bnmlp_threadpool *pool, elementwise_job *job) {
    if (job->n < 2 * ELEMENTWISE_PIECE) pool = NULL;
    const size_t threads = bnmlp_threadpool_threads(pool);
    job->piece = pool ? (job->n + threads - 1) / threads : job->n;
    if (job->piece < ELEMENTWISE_PIECE) job->piece = ELEMENTWISE_PIECE;
    if (job->n) bnmlp_threadpool_run(pool, elementwise_task, job, (job->n + job->piece - 1) / job->piece);
}

static bnmlp_status activation_check(const bnmlp_layer *layer) {
    const bnmlp_activation function = layer->config.activation.function;
    const bool known = strcmp(bnmlp_activation_name(function), "unknown") != 0;
    return known && isfinite(layer->config.activation.alpha) ? BNMLP_OK : BNMLP_ERR_INVALID_ARGUMENT;
}

static bool activation_plan(const bnmlp_layer *layer, size_t *out, size_t lengths[BNMLP_ARRAY_COUNT]) {
    (void)lengths; /* no arrays */
    *out = layer->in;
    return true;
}

static void activation_forward_pass(const bnmlp_layer_pass *pass) {
    const bnmlp_layer *layer = pass->layer;
    if (layer->config.activation.function == BNMLP_ACTIVATION_SOFTMAX) {
        bnmlp_softmax_forward(pass->y, pass->x, pass->rows, layer->out);
        return;
    }
    run_elementwise(
        pass->kernels->pool,
        &(elementwise_job){.layer = layer, .out = pass->y, .x = pass->x, .n = pass->rows * layer->out});
}

static void activation_backward_pass(const bnmlp_layer_pass *pass) {
    const bnmlp_layer *layer = pass->layer;
    if (!pass->dx) return; /* no parameters: only the input gradient */
    if (layer->config.activation.function == BNMLP_ACTIVATION_SOFTMAX) {
        bnmlp_softmax_backward(pass->dx, pass->dy, pass->y, pass->rows, layer->out);
        return;
    }
    run_elementwise(pass->kernels->pool, &(elementwise_job){.layer = layer,
                                                            .out = pass->dx,
                                                            .x = pass->x,
                                                            .y = pass->y,
                                                            .dy = pass->dy,
                                                            .n = pass->rows * layer->out});
}

static void activation_describe(const bnmlp_layer *layer, char *text, size_t size) {
    snprintf(text, size, "%s", bnmlp_activation_name(layer->config.activation.function));
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
};
