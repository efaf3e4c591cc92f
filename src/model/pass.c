/* pass.c - sequencing the layers: forward, backward, moving statistics, the optimizer step. */
#include "model/model.h"

#include <math.h>
#include <string.h>

#include "core/core.h"
#include "layers/layers.h"

/* The array `which` of a layer in the parameter arena `arena`, or NULL when it has none. */
static float *layer_array(float *arena, const bnmlp_layer *layer, bnmlp_weight which) {
    const size_t offset = layer->offsets[which];
    return offset == BNMLP_NO_OFFSET ? NULL : arena + offset;
}

/* True when this batch-norm layer normalizes with batch statistics in this mode. */
static bool uses_batch_statistics(const bnmlp_layer *layer, bnmlp_mode mode) {
    return mode == BNMLP_MODE_TRAINING && layer->trainable;
}

/* Forward of one batch-norm layer. */
static void batchnorm_forward(bnmlp_model *model, const bnmlp_layer *layer, const float *x,
                              size_t rows, bnmlp_mode mode) {
    const size_t c = layer->out;
    const float *gamma = layer_array(model->params, layer, BNMLP_WEIGHT_GAMMA);
    const float *beta = layer_array(model->params, layer, BNMLP_WEIGHT_BETA);
    const float *moving = model->stats + layer->stats_offset; /* mean (c), then variance (c) */
    if (uses_batch_statistics(layer, mode))
        bnmlp_batchnorm_forward_training(layer->output, layer->cache, layer->cache + c,
                                         layer->cache + 2 * c, x, gamma, beta, rows, c,
                                         layer->batchnorm.epsilon);
    else
        bnmlp_batchnorm_forward_inference(layer->output, x, moving, moving + c, gamma, beta, rows, c,
                                          layer->batchnorm.epsilon);
}

const float *bnmlp_model_run_forward(bnmlp_model *model, const float *x, size_t rows, bnmlp_mode mode,
                                     size_t count) {
    const float *input = x;
    for (size_t i = 0; i < count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        switch (layer->kind) {
        case BNMLP_LAYER_DENSE:
            bnmlp_dense_forward(layer->output, input, model->params + layer->offsets[BNMLP_WEIGHT_KERNEL],
                                layer_array(model->params, layer, BNMLP_WEIGHT_BIAS), rows, layer->in,
                                layer->out);
            break;
        case BNMLP_LAYER_ACTIVATION:
            bnmlp_activation_forward(layer->output, input, rows * layer->out, layer->activation,
                                     layer->alpha);
            break;
        case BNMLP_LAYER_BATCHNORM: batchnorm_forward(model, layer, input, rows, mode); break;
        }
        input = layer->output;
    }
    return input;
}

/* Backward of one batch-norm layer; dx may be NULL. */
static void batchnorm_backward(bnmlp_model *model, const bnmlp_layer *layer, float *dx,
                               const float *dy, const float *x, size_t rows) {
    const size_t c = layer->out;
    const float *gamma = layer_array(model->params, layer, BNMLP_WEIGHT_GAMMA);
    float *dgamma = layer_array(model->grads, layer, BNMLP_WEIGHT_GAMMA);
    float *dbeta = layer_array(model->grads, layer, BNMLP_WEIGHT_BETA);
    const float *moving = model->stats + layer->stats_offset;
    if (uses_batch_statistics(layer, BNMLP_MODE_TRAINING))
        bnmlp_batchnorm_backward_training(dx, dgamma, dbeta, dy, x, layer->cache, layer->cache + 2 * c,
                                          gamma, rows, c);
    else
        bnmlp_batchnorm_backward_inference(dx, dgamma, dbeta, dy, x, moving, moving + c, gamma, rows, c,
                                           layer->batchnorm.epsilon);
}

void bnmlp_model_run_backward(bnmlp_model *model, const float *x, size_t rows, const float *delta,
                              size_t top) {
    if (model->param_count) memset(model->grads, 0, model->param_count * sizeof *model->grads);
    const float *dy = delta;
    int next = 0; /* which ping-pong buffer receives the next input gradient */
    for (size_t i = top; i-- > 0;) {
        const bnmlp_layer *layer = &model->layers[i];
        const float *input = i ? model->layers[i - 1].output : x;
        /* The first layer's input gradient is never needed. */
        float *dx = i ? model->delta[next] : NULL;
        switch (layer->kind) {
        case BNMLP_LAYER_DENSE:
            bnmlp_dense_backward(dx, model->grads + layer->offsets[BNMLP_WEIGHT_KERNEL],
                                 layer_array(model->grads, layer, BNMLP_WEIGHT_BIAS), dy, input,
                                 model->params + layer->offsets[BNMLP_WEIGHT_KERNEL], rows, layer->in,
                                 layer->out);
            break;
        case BNMLP_LAYER_ACTIVATION:
            if (dx)
                bnmlp_activation_backward(dx, dy, input, layer->output, rows * layer->out,
                                          layer->activation, layer->alpha);
            break;
        case BNMLP_LAYER_BATCHNORM: batchnorm_backward(model, layer, dx, dy, input, rows); break;
        }
        dy = dx;
        next ^= 1;
    }
}

void bnmlp_model_commit_statistics(bnmlp_model *model, size_t rows) {
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        if (layer->kind != BNMLP_LAYER_BATCHNORM || !layer->trainable) continue;
        const size_t c = layer->out;
        float *moving = model->stats + layer->stats_offset;
        bnmlp_batchnorm_update_moving(moving, moving + c, layer->cache, layer->cache + c, rows, c,
                                      layer->batchnorm.momentum, layer->batchnorm.epsilon,
                                      layer->batchnorm.moving_variance_estimator);
    }
}

bnmlp_status bnmlp_model_apply_sgd(bnmlp_model *model, const bnmlp_sgd_config *optimizer) {
    /* First make sure no weight or velocity would overflow, so a refused step changes nothing. */
    for (int apply = 0; apply < 2; apply++) {
        for (size_t i = 0; i < model->layer_count; i++) {
            const bnmlp_layer *layer = &model->layers[i];
            if (!layer->trainable || layer->param_count == 0) continue;
            float *w = model->params + layer->param_offset, *v = model->velocity + layer->param_offset;
            const float *g = model->grads + layer->param_offset;
            if (apply)
                bnmlp_sgd_update(w, v, g, layer->param_count, optimizer->learning_rate,
                                 optimizer->momentum, optimizer->nesterov);
            else if (!bnmlp_sgd_update_is_finite(w, v, g, layer->param_count, optimizer->learning_rate,
                                                 optimizer->momentum, optimizer->nesterov))
                return BNMLP_ERR_DIVERGED;
        }
    }
    return BNMLP_OK;
}

bnmlp_status bnmlp_check_sgd_config(const bnmlp_sgd_config *optimizer) {
    if (!optimizer) return BNMLP_ERR_NULL_ARGUMENT;
    if (!(optimizer->learning_rate > 0.0f) || !isfinite(optimizer->learning_rate) ||
        !(optimizer->momentum >= 0.0f && optimizer->momentum <= 1.0f))
        return BNMLP_ERR_INVALID_ARGUMENT;
    return BNMLP_OK;
}

bool bnmlp_model_needs_batch_statistics(const bnmlp_model *model) {
    for (size_t i = 0; i < model->layer_count; i++)
        if (model->layers[i].kind == BNMLP_LAYER_BATCHNORM && model->layers[i].trainable) return true;
    return false;
}

const float *bnmlp_model_logits(const bnmlp_model *model, const float *x) {
    const size_t count = model->layer_count;
    if (count == 0) return NULL;
    const bnmlp_layer *last = &model->layers[count - 1];
    if (last->kind != BNMLP_LAYER_ACTIVATION || last->activation != BNMLP_ACTIVATION_SIGMOID) return NULL;
    return count > 1 ? model->layers[count - 2].output : x;
}

/* BNMLP_OK when every label is exactly 0 or 1 (NaN and infinity are BNMLP_ERR_NOT_FINITE). */
static bnmlp_status check_labels(const float *y, size_t n) {
    if (!bnmlp_all_finite(y, n)) return BNMLP_ERR_NOT_FINITE;
    for (size_t i = 0; i < n; i++)
        if (y[i] != 0.0f && y[i] != 1.0f) return BNMLP_ERR_LABEL;
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_check_batch(const bnmlp_model *model, const bnmlp_tensor *x,
                                     const bnmlp_tensor *y, bool limit_rows) {
    if (!model->built) return BNMLP_ERR_NOT_BUILT;
    bnmlp_status status = bnmlp_tensor_check_shape(x, 0, model->input_width);
    if (status != BNMLP_OK) return status;
    if (y) {
        const size_t width = model->layers[model->layer_count - 1].out;
        status = bnmlp_tensor_check_shape(y, x->rows, width);
        if (status != BNMLP_OK) return status;
    }
    if (limit_rows && x->rows > model->max_batch) return BNMLP_ERR_BATCH_TOO_LARGE;
    if (!bnmlp_all_finite(x->data, x->rows * x->cols)) return BNMLP_ERR_NOT_FINITE;
    return y ? check_labels(y->data, y->rows * y->cols) : BNMLP_OK;
}
