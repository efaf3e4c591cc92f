/*
 * model.h - internal: the sequential model's layout, and what the training tier may call.
 *
 * The model owns every buffer, planned at build time for max_batch rows:
 *   params / grads / velocity  flat arenas of param_count floats, layer by layer, each layer's
 *                              arrays in bnmlp_weight order (kernel, bias, gamma, beta);
 *   stats                      moving statistics (mean then variance per batch-norm layer), apart
 *                              from the arenas so the optimizer never touches them;
 *   outputs                    every layer's output (max_batch x width), kept for backward;
 *   caches                     batch-norm mean, variance, rstd (3 x width) from the last
 *                              training-mode forward, kept for backward and the moving update;
 *   delta[2]                   ping-pong gradients with respect to layer outputs;
 *   batch_x / batch_y          staging rows that fit gathers a shuffled batch into.
 * The model sequences layers; the arithmetic lives in src/layers and src/kernels.
 */
#ifndef BNMLP_MODEL_H
#define BNMLP_MODEL_H

#include "bnmlp.h"

#define BNMLP_NO_OFFSET ((size_t)-1) /* an array the layer does not have */

/* One layer: its configuration, where its arrays live, and its buffers once built. */
typedef struct bnmlp_layer {
    bnmlp_layer_kind kind;           /* dense, activation or batch norm */
    size_t in;                       /* input width */
    size_t out;                      /* output width */
    bool trainable;                  /* false: frozen */
    bnmlp_activation activation;     /* activation layers: the function */
    float alpha;                     /* activation layers: leaky_relu slope */
    bnmlp_initializer initializer;   /* dense layers: kernel initializer */
    bnmlp_batchnorm_config batchnorm; /* batch-norm layers: configuration */
    size_t param_offset;             /* first float of this layer in the parameter arena */
    size_t param_count;              /* floats of this layer in the parameter arena */
    size_t offsets[4];               /* kernel, bias, gamma, beta offsets in the arena, or BNMLP_NO_OFFSET */
    size_t stats_offset;             /* batch norm: moving mean at stats[offset], variance after it */
    float *output;                   /* (max_batch, out) once built */
    float *cache;                    /* batch norm: mean, variance, rstd (3 x out) once built */
} bnmlp_layer;

/* The sequential model (opaque to users). */
struct bnmlp_model {
    bnmlp_allocator allocator; /* every allocation goes through it */
    size_t input_width;        /* features in */
    bnmlp_layer *layers;       /* layer_count layers in order */
    size_t layer_count;        /* layers added */
    size_t layer_capacity;     /* room in layers */
    size_t param_count;        /* floats in each arena */
    size_t stats_count;        /* floats of moving statistics */
    size_t cache_count;        /* floats of batch-norm caches */
    size_t output_count;       /* floats of all layer outputs for one row */
    size_t max_width;          /* widest layer input or output */
    bool built;                /* buffers exist and weights are initialized */
    size_t max_batch;          /* rows per batch at most, once built */
    float *params;             /* parameter arena */
    float *grads;              /* gradient arena, same layout */
    float *velocity;           /* SGD velocity arena, same layout */
    float *stats;              /* moving statistics */
    float *outputs;            /* all layer outputs */
    float *caches;             /* all batch-norm caches */
    float *delta[2];           /* (max_batch, max_width) each */
    float *batch_x;            /* (max_batch, input_width) */
    float *batch_y;            /* (max_batch, output width) */
    bnmlp_random rng;          /* seeded at build: initialization, then fit's shuffles */
};

/* BNMLP_OK when x is (rows <= max_batch, input width) and finite, and y (if not NULL) is
 * (x->rows, output width) with labels exactly 0 or 1. The model must be built. */
bnmlp_status bnmlp_model_check_batch(const bnmlp_model *model, const bnmlp_tensor *x,
                                     const bnmlp_tensor *y, bool limit_rows);

/* True when a training-mode pass needs batch statistics (a trainable batch-norm layer exists),
 * so that a batch must have at least 2 rows. */
bool bnmlp_model_needs_batch_statistics(const bnmlp_model *model);

/* When the last layer is a sigmoid, its input (the logit) from the last forward of x, whose
 * loss is then taken from the logit; NULL otherwise. */
const float *bnmlp_model_logits(const bnmlp_model *model, const float *x);

/* Forward x (rows, input width) through layers [0, count) in the given mode; training mode
 * caches batch statistics but does not update the moving ones (bnmlp_model_commit_statistics
 * does). Returns the output of layer count - 1 (x itself when count is 0). No checks. */
const float *bnmlp_model_run_forward(bnmlp_model *model, const float *x, size_t rows, bnmlp_mode mode,
                                     size_t count);

/* Zeroes the gradient arena, then back-propagates delta (rows, width of layer top - 1's output)
 * through layers top - 1 down to 0, accumulating parameter gradients. x is the forward's input.
 * Must follow a training-mode bnmlp_model_run_forward of the same x. */
void bnmlp_model_run_backward(bnmlp_model *model, const float *x, size_t rows, const float *delta,
                              size_t top);

/* Applies the moving-statistics update of every trainable batch-norm layer from the caches of
 * the last training-mode forward of rows rows. */
void bnmlp_model_commit_statistics(bnmlp_model *model, size_t rows);

/* One SGD update of every trainable layer's parameters from the gradient arena; if any weight
 * or velocity would stop being finite, BNMLP_ERR_DIVERGED and nothing changes. */
bnmlp_status bnmlp_model_apply_sgd(bnmlp_model *model, const bnmlp_sgd_config *optimizer);

/* BNMLP_OK when the optimizer's values are in range (lr > 0 finite, momentum in [0, 1]). */
bnmlp_status bnmlp_check_sgd_config(const bnmlp_sgd_config *optimizer);

#endif /* BNMLP_MODEL_H */
