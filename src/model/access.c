/* access.c - what a model says about itself, its weights, its summary, and the public forward. */
#include "model/model.h"

#include <math.h>
#include <string.h>

#include "core/core.h"

bool bnmlp_model_is_built(const bnmlp_model *model) { return model && model->built; }

size_t bnmlp_model_max_batch(const bnmlp_model *model) { return model ? model->max_batch : 0; }

size_t bnmlp_model_layer_count(const bnmlp_model *model) { return model ? model->layer_count : 0; }

size_t bnmlp_model_input_width(const bnmlp_model *model) { return model ? model->input_width : 0; }

size_t bnmlp_model_output_width(const bnmlp_model *model) {
    if (!model) return 0;
    return model->layer_count ? model->layers[model->layer_count - 1].out : model->input_width;
}

size_t bnmlp_model_param_count(const bnmlp_model *model) { return model ? model->param_count : 0; }

bnmlp_status bnmlp_model_layer_info(const bnmlp_model *model, size_t index, bnmlp_layer_info *info) {
    if (!model || !info) return BNMLP_ERR_NULL_ARGUMENT;
    if (index >= model->layer_count) return BNMLP_ERR_INVALID_ARGUMENT;
    const bnmlp_layer *layer = &model->layers[index];
    const size_t statistics = layer->kind == BNMLP_LAYER_BATCHNORM ? 2 * layer->out : 0;
    *info = (bnmlp_layer_info){
        .kind = layer->kind,
        .input_width = layer->in,
        .output_width = layer->out,
        .trainable_params = layer->trainable ? layer->param_count : 0,
        .non_trainable_params = statistics + (layer->trainable ? 0 : layer->param_count),
        .trainable = layer->trainable,
        .activation = layer->activation,
    };
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_set_trainable(bnmlp_model *model, size_t index, bool trainable) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (index >= model->layer_count) return BNMLP_ERR_INVALID_ARGUMENT;
    model->layers[index].trainable = trainable;
    return BNMLP_OK;
}

/* Where array `which` of layer `index` lives and how long it is; BNMLP_OK or the error. */
static bnmlp_status locate(const bnmlp_model *model, size_t index, bnmlp_weight which, float **where,
                           size_t *length) {
    if (!model->built) return BNMLP_ERR_NOT_BUILT;
    if (index >= model->layer_count) return BNMLP_ERR_INVALID_ARGUMENT;
    const bnmlp_layer *layer = &model->layers[index];
    switch (which) {
    case BNMLP_WEIGHT_KERNEL:
    case BNMLP_WEIGHT_BIAS:
    case BNMLP_WEIGHT_GAMMA:
    case BNMLP_WEIGHT_BETA: {
        const size_t offset = layer->offsets[which];
        if (offset == BNMLP_NO_OFFSET) return BNMLP_ERR_INVALID_ARGUMENT;
        /* Arrays are contiguous in bnmlp_weight order: the length runs to the next one present. */
        size_t end = layer->param_offset + layer->param_count;
        for (int k = (int)which + 1; k < 4; k++)
            if (layer->offsets[k] != BNMLP_NO_OFFSET) {
                end = layer->offsets[k];
                break;
            }
        *where = model->params + offset;
        *length = end - offset;
        return BNMLP_OK;
    }
    case BNMLP_WEIGHT_MOVING_MEAN:
    case BNMLP_WEIGHT_MOVING_VARIANCE:
        if (layer->kind != BNMLP_LAYER_BATCHNORM) return BNMLP_ERR_INVALID_ARGUMENT;
        *where = model->stats + layer->stats_offset + (which == BNMLP_WEIGHT_MOVING_VARIANCE ? layer->out : 0);
        *length = layer->out;
        return BNMLP_OK;
    }
    return BNMLP_ERR_INVALID_ARGUMENT;
}

bnmlp_status bnmlp_model_get_weights(const bnmlp_model *model, size_t index, bnmlp_weight which,
                                     float *dst, size_t count) {
    if (!model || !dst) return BNMLP_ERR_NULL_ARGUMENT;
    float *where;
    size_t length;
    bnmlp_status status = locate(model, index, which, &where, &length);
    if (status != BNMLP_OK) return status;
    if (count != length) return BNMLP_ERR_SHAPE;
    memcpy(dst, where, length * sizeof *dst);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_set_weights(bnmlp_model *model, size_t index, bnmlp_weight which,
                                     const float *src, size_t count) {
    if (!model || !src) return BNMLP_ERR_NULL_ARGUMENT;
    float *where;
    size_t length;
    bnmlp_status status = locate(model, index, which, &where, &length);
    if (status != BNMLP_OK) return status;
    if (count != length) return BNMLP_ERR_SHAPE;
    if (!bnmlp_all_finite(src, count)) return BNMLP_ERR_NOT_FINITE;
    if (which == BNMLP_WEIGHT_MOVING_VARIANCE)
        for (size_t i = 0; i < count; i++)
            if (src[i] < 0.0f) return BNMLP_ERR_INVALID_ARGUMENT;
    memcpy(where, src, count * sizeof *where);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_get_params(const bnmlp_model *model, float *dst, size_t count) {
    if (!model || !dst) return BNMLP_ERR_NULL_ARGUMENT;
    if (!model->built) return BNMLP_ERR_NOT_BUILT;
    if (count != model->param_count) return BNMLP_ERR_SHAPE;
    if (count) memcpy(dst, model->params, count * sizeof *dst);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_set_params(bnmlp_model *model, const float *src, size_t count) {
    if (!model || !src) return BNMLP_ERR_NULL_ARGUMENT;
    if (!model->built) return BNMLP_ERR_NOT_BUILT;
    if (count != model->param_count) return BNMLP_ERR_SHAPE;
    if (!bnmlp_all_finite(src, count)) return BNMLP_ERR_NOT_FINITE;
    if (count) memcpy(model->params, src, count * sizeof *src);
    return BNMLP_OK;
}

/* ---- summary ---------------------------------------------------------------------------------- */

static const char *kind_name(bnmlp_layer_kind kind) {
    switch (kind) {
    case BNMLP_LAYER_DENSE: return "Dense";
    case BNMLP_LAYER_ACTIVATION: return "Activation";
    case BNMLP_LAYER_BATCHNORM: return "BatchNormalization";
    }
    return "?";
}

static const char *kind_prefix(bnmlp_layer_kind kind) {
    switch (kind) {
    case BNMLP_LAYER_DENSE: return "dense";
    case BNMLP_LAYER_ACTIVATION: return "activation";
    case BNMLP_LAYER_BATCHNORM: return "batch_normalization";
    }
    return "?";
}

static const char *activation_name(bnmlp_activation a) {
    switch (a) {
    case BNMLP_ACTIVATION_LINEAR: return "linear";
    case BNMLP_ACTIVATION_RELU: return "relu";
    case BNMLP_ACTIVATION_LEAKY_RELU: return "leaky_relu";
    case BNMLP_ACTIVATION_SIGMOID: return "sigmoid";
    case BNMLP_ACTIVATION_TANH: return "tanh";
    }
    return "?";
}

#define SUMMARY_RULE "_________________________________________________________________________\n"
#define SUMMARY_DOUBLE_RULE "=========================================================================\n"

bnmlp_status bnmlp_model_summary(const bnmlp_model *model, FILE *out) {
    if (!model || !out) return BNMLP_ERR_NULL_ARGUMENT;
    int failed = fprintf(out, "Model: \"sequential\" (input width %zu)\n" SUMMARY_RULE, model->input_width) < 0;
    failed |= fprintf(out, " %-40s %-16s %12s\n" SUMMARY_DOUBLE_RULE, "Layer (type)", "Output Shape",
                      "Param #") < 0;
    size_t seen[3] = {0, 0, 0}, trainable = 0, non_trainable = 0;
    for (size_t i = 0; i < model->layer_count; i++) {
        bnmlp_layer_info info;
        bnmlp_model_layer_info(model, i, &info);
        const bnmlp_layer *layer = &model->layers[i];
        char name[64], shape[32];
        const size_t nth = seen[layer->kind]++;
        if (nth)
            snprintf(name, sizeof name, "%s_%zu (%s)", kind_prefix(layer->kind), nth, kind_name(layer->kind));
        else
            snprintf(name, sizeof name, "%s (%s)", kind_prefix(layer->kind), kind_name(layer->kind));
        snprintf(shape, sizeof shape, "(None, %zu)", layer->out);
        failed |= fprintf(out, " %-40s %-16s %12zu", name, shape,
                          info.trainable_params + info.non_trainable_params) < 0;
        if (layer->kind == BNMLP_LAYER_ACTIVATION)
            failed |= fprintf(out, "  %s", activation_name(layer->activation)) < 0;
        if (!layer->trainable) failed |= fprintf(out, "  (frozen)") < 0;
        failed |= fputc('\n', out) == EOF;
        trainable += info.trainable_params;
        non_trainable += info.non_trainable_params;
    }
    failed |= fprintf(out, SUMMARY_DOUBLE_RULE "Total params: %zu\nTrainable params: %zu\n"
                           "Non-trainable params: %zu\n" SUMMARY_RULE,
                      trainable + non_trainable, trainable, non_trainable) < 0;
    failed |= fflush(out) != 0;
    return failed || ferror(out) ? BNMLP_ERR_IO : BNMLP_OK;
}

/* ---- the public forward ------------------------------------------------------------------------- */

bnmlp_status bnmlp_model_forward(bnmlp_model *model, const bnmlp_tensor *x, bnmlp_mode mode,
                                 bnmlp_tensor *out) {
    if (!model || !x || !out) return BNMLP_ERR_NULL_ARGUMENT;
    if (mode != BNMLP_MODE_INFERENCE && mode != BNMLP_MODE_TRAINING) return BNMLP_ERR_INVALID_ARGUMENT;
    bnmlp_status status = bnmlp_model_check_batch(model, x, NULL, true);
    if (status != BNMLP_OK) return status;
    status = bnmlp_tensor_check_shape(out, x->rows, bnmlp_model_output_width(model));
    if (status != BNMLP_OK) return status;
    if (mode == BNMLP_MODE_TRAINING && x->rows < 2 && bnmlp_model_needs_batch_statistics(model))
        return BNMLP_ERR_BATCH_TOO_SMALL;
    const float *y = bnmlp_model_run_forward(model, x->data, x->rows, mode, model->layer_count);
    memcpy(out->data, y, x->rows * out->cols * sizeof *out->data);
    if (mode == BNMLP_MODE_TRAINING) bnmlp_model_commit_statistics(model, x->rows);
    return BNMLP_OK;
}
