/* access.c - what a model says about itself and its layers, and reading and writing its weights. */
#include "model/model.h"

#include <math.h>
#include <string.h>

#include "core/class_names.h"
#include "core/core.h"

bool bnmlp_model_is_built(const bnmlp_model *model) { return model && model->built; }

size_t bnmlp_model_max_batch(const bnmlp_model *model) { return model ? model->max_batch : 0; }

size_t bnmlp_model_layer_count(const bnmlp_model *model) { return model ? model->layer_count : 0; }

size_t bnmlp_model_input_width(const bnmlp_model *model) { return model ? model->input_width : 0; }

size_t bnmlp_model_param_count(const bnmlp_model *model) { return model ? model->param_count : 0; }

bnmlp_status bnmlp_model_layer_info(const bnmlp_model *model, size_t index, bnmlp_layer_info *info) {
    if (!model || !info) return BNMLP_ERR_NULL_ARGUMENT;
    if (index >= model->layer_count) return BNMLP_ERR_INVALID_ARGUMENT;
    const bnmlp_layer *layer = &model->layers[index];
    size_t statistics = 0; /* the public statistics: moving mean and variance */
    for (size_t k = 0; k < BNMLP_ARRAY_COUNT; k++)
        if (bnmlp_arrays[k].block == BNMLP_BLOCK_STATS && bnmlp_arrays[k].weight >= 0)
            statistics += layer->arrays[k].length;
    *info = (bnmlp_layer_info){
        .kind = layer->kind,
        .input_width = layer->in,
        .output_width = layer->out,
        .trainable_params = layer->trainable ? layer->params.length : 0,
        .non_trainable_params = statistics + (layer->trainable ? 0 : layer->params.length),
        .trainable = layer->trainable,
        .activation = layer->kind == BNMLP_LAYER_ACTIVATION ? layer->config.activation.function
                                                            : BNMLP_ACTIVATION_LINEAR,
    };
    return BNMLP_OK;
}

const bnmlp_layer *bnmlp_model_layer_at(const bnmlp_model *model, size_t index) {
    return &model->layers[index];
}

bool bnmlp_model_layer_affine(const bnmlp_model *model, size_t index, double *scale, double *shift) {
    const bnmlp_layer *layer = &model->layers[index];
    return model->built && layer->ops->inference_affine &&
           layer->ops->inference_affine(layer, layer->data, scale, shift);
}

size_t bnmlp_model_threads_setting(const bnmlp_model *model) { return model->threads; }

bnmlp_status bnmlp_model_set_trainable(bnmlp_model *model, size_t index, bool trainable) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (index >= model->layer_count) return BNMLP_ERR_INVALID_ARGUMENT;
    model->layers[index].trainable = trainable;
    bnmlp_model_refresh_segments(model);
    return BNMLP_OK;
}

/* The named array of a public bnmlp_weight, or BNMLP_ARRAY_COUNT for a value that names none. */
static bnmlp_array array_of(bnmlp_weight which) {
    for (size_t k = 0; k < BNMLP_ARRAY_COUNT; k++)
        if (bnmlp_arrays[k].weight >= 0 && bnmlp_arrays[k].weight == (int)which) return (bnmlp_array)k;
    return BNMLP_ARRAY_COUNT;
}

/* Where array `which` of layer `index` lives, if it holds exactly count floats; BNMLP_OK or
 * the error. */
static bnmlp_status locate(const bnmlp_model *model, size_t index, bnmlp_weight which, size_t count,
                           float **where) {
    if (!model->built) return BNMLP_ERR_NOT_BUILT;
    if (index >= model->layer_count) return BNMLP_ERR_INVALID_ARGUMENT;
    const bnmlp_layer *layer = &model->layers[index];
    const bnmlp_array array = array_of(which);
    if (array == BNMLP_ARRAY_COUNT || !layer->arrays[array].length) return BNMLP_ERR_INVALID_ARGUMENT;
    if (count != layer->arrays[array].length) return BNMLP_ERR_SHAPE;
    *where = bnmlp_layer_array(model, layer, array);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_get_weights(const bnmlp_model *model, size_t index, bnmlp_weight which, float *dst,
                                     size_t count) {
    if (!model || !dst) return BNMLP_ERR_NULL_ARGUMENT;
    float *where;
    bnmlp_status status = locate(model, index, which, count, &where);
    if (status != BNMLP_OK) return status;
    memcpy(dst, where, count * sizeof *dst);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_set_weights(bnmlp_model *model, size_t index, bnmlp_weight which, const float *src,
                                     size_t count) {
    if (!model || !src) return BNMLP_ERR_NULL_ARGUMENT;
    float *where;
    bnmlp_status status = locate(model, index, which, count, &where);
    if (status != BNMLP_OK) return status;
    if (!bnmlp_all_finite(src, count)) return BNMLP_ERR_NOT_FINITE;
    const bnmlp_array array = array_of(which);
    if (bnmlp_arrays[array].non_negative)
        for (size_t i = 0; i < count; i++)
            if (src[i] < 0.0f) return BNMLP_ERR_INVALID_ARGUMENT;
    memcpy(where, src, count * sizeof *where);
    bnmlp_model_params_changed(model);
    const bnmlp_layer *layer = &model->layers[index];
    if (layer->ops->array_set) layer->ops->array_set(layer, layer->data, array);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_adapt(bnmlp_model *model, size_t index, const bnmlp_tensor *x) {
    if (!model || !x) return BNMLP_ERR_NULL_ARGUMENT;
    if (!model->built) return BNMLP_ERR_NOT_BUILT;
    if (index >= model->layer_count) return BNMLP_ERR_INVALID_ARGUMENT;
    const bnmlp_layer *layer = &model->layers[index];
    if (!layer->ops->adapt) return BNMLP_ERR_INVALID_ARGUMENT;
    if (!x->data || x->rows == 0 || x->cols != layer->in) return BNMLP_ERR_SHAPE;
    size_t count;
    if (!bnmlp_size_mul(x->rows, x->cols, &count)) return BNMLP_ERR_SHAPE;
    if (!bnmlp_all_finite(x->data, count)) return BNMLP_ERR_NOT_FINITE;
    bnmlp_model_params_changed(model); /* it writes statistics only; cheap to be safe */
    return layer->ops->adapt(layer, layer->data, x->data, x->rows, &model->allocator);
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
    bnmlp_model_derive(model);
    return BNMLP_OK;
}

void bnmlp_model_derive(bnmlp_model *model) {
    bnmlp_model_params_changed(model); /* every caller wrote the saved arrays */
    for (size_t i = 0; model->built && i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        if (layer->ops->derive) layer->ops->derive(layer, layer->data);
    }
}

bool bnmlp_model_is_quantized(const bnmlp_model *model) {
    for (size_t i = 0; model && i < model->layer_count; i++)
        if (model->layers[i].ops->inference_only) return true;
    return false;
}

bnmlp_status bnmlp_model_set_array(bnmlp_model *model, size_t index, bnmlp_array array, const float *src,
                                   size_t count) {
    if (!model->built) return BNMLP_ERR_NOT_BUILT;
    if (index >= model->layer_count) return BNMLP_ERR_INVALID_ARGUMENT;
    const bnmlp_layer *layer = &model->layers[index];
    if (!layer->data[array] || layer->arrays[array].length != count) return BNMLP_ERR_SHAPE;
    if (!bnmlp_all_finite(src, count)) return BNMLP_ERR_NOT_FINITE;
    memcpy(layer->data[array], src, count * sizeof *src);
    bnmlp_model_params_changed(model);
    if (layer->ops->array_set) layer->ops->array_set(layer, layer->data, array);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_reset_optimizer(bnmlp_model *model) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (!model->built) return BNMLP_ERR_NOT_BUILT;
    bnmlp_optimizer_reset(&model->optimizer, model->param_count);
    return BNMLP_OK;
}

bnmlp_loss bnmlp_model_loss(const bnmlp_model *model) {
    return model ? model->loss : BNMLP_LOSS_BINARY_CROSSENTROPY;
}

/* ---- the optimizer's state ---------------------------------------------------------------------- */

size_t bnmlp_model_optimizer_state_count(const bnmlp_model *model, bnmlp_optimizer_kind kind) {
    const bnmlp_optimizer_row *row = bnmlp_optimizer_row_of(kind);
    return model && row ? row->slots * model->param_count : 0;
}

bnmlp_status bnmlp_model_optimizer_config(const bnmlp_model *model, bnmlp_optimizer_config *config) {
    if (!model || !config) return BNMLP_ERR_NULL_ARGUMENT;
    *config = model->optimizer.config;
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_get_optimizer_state(const bnmlp_model *model, bnmlp_optimizer_kind *kind,
                                             uint64_t *steps, float *dst, size_t count) {
    if (!model || !kind || !steps) return BNMLP_ERR_NULL_ARGUMENT;
    if (!model->built) return BNMLP_ERR_NOT_BUILT;
    if (dst && count != bnmlp_model_optimizer_state_count(model, model->optimizer.kind))
        return BNMLP_ERR_SHAPE;
    *kind = model->optimizer.kind;
    *steps = model->optimizer.steps;
    if (dst && count) memcpy(dst, model->optimizer.slots, count * sizeof *dst);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_set_optimizer_state(bnmlp_model *model, bnmlp_optimizer_kind kind, uint64_t steps,
                                             const float *src, size_t count) {
    if (!model || (!src && count)) return BNMLP_ERR_NULL_ARGUMENT;
    if (!model->built) return BNMLP_ERR_NOT_BUILT;
    const bnmlp_optimizer_row *row = bnmlp_optimizer_row_of(kind);
    if (!row) return BNMLP_ERR_INVALID_ARGUMENT;
    if (count != bnmlp_model_optimizer_state_count(model, kind)) return BNMLP_ERR_SHAPE;
    if (count && !bnmlp_all_finite(src, count)) return BNMLP_ERR_NOT_FINITE;
    for (size_t i = 0; i < count; i++) /* e.g. Adam's second moments */
        if ((row->nonnegative_slots >> (i / model->param_count) & 1u) && src[i] < 0.0f)
            return BNMLP_ERR_INVALID_ARGUMENT;
    bnmlp_optimizer_reset(&model->optimizer, model->param_count);
    if (count) memcpy(model->optimizer.slots, src, count * sizeof *src);
    if (kind != model->optimizer.config.kind) model->optimizer.config = row->defaults();
    model->optimizer.kind = kind;
    model->optimizer.steps = steps;
    return BNMLP_OK;
}

size_t bnmlp_model_epochs_done(const bnmlp_model *model) { return model ? (size_t)model->epochs_done : 0; }

bool bnmlp_model_is_checkpoint(const bnmlp_model *model) {
    return model && (model->from_checkpoint || model->optimizer.steps > 0 || model->epochs_done > 0);
}

uint32_t bnmlp_model_file_version(const bnmlp_model *model) { return model ? model->file_version : 0; }

size_t bnmlp_model_order_rows(const bnmlp_model *model) { return model ? model->order_count : 0; }

size_t bnmlp_model_class_count(const bnmlp_model *model) {
    if (!model || model->layer_count == 0) return 0;
    const size_t outputs = bnmlp_model_output_width(model);
    if (model->loss == BNMLP_LOSS_CATEGORICAL_CROSSENTROPY) return outputs;
    if (model->loss == BNMLP_LOSS_BINARY_CROSSENTROPY && outputs == 1) return 2;
    return 0;
}

bnmlp_status bnmlp_model_set_class_names(bnmlp_model *model, const char *const *names, size_t count) {
    if (!model || (!names && count)) return BNMLP_ERR_NULL_ARGUMENT;
    if (!names) {
        bnmlp_class_names_free(model->class_names);
        model->class_names = NULL;
        return BNMLP_OK;
    }
    const size_t classes = bnmlp_model_class_count(model);
    if (classes == 0 || count == 0) return BNMLP_ERR_INVALID_ARGUMENT;
    if (count != classes) return BNMLP_ERR_SHAPE;
    size_t *lengths = bnmlp_alloc_zeroed(&model->allocator, count, sizeof *lengths);
    if (!lengths) return BNMLP_ERR_OUT_OF_MEMORY;
    bnmlp_status status = BNMLP_OK;
    for (size_t i = 0; i < count && status == BNMLP_OK; i++) {
        if (!names[i]) {
            status = BNMLP_ERR_NULL_ARGUMENT;
            break;
        }
        lengths[i] = strlen(names[i]);
        if (lengths[i] > BNMLP_CLASS_NAME_MAX_BYTES) status = BNMLP_ERR_INVALID_ARGUMENT;
    }
    size_t duplicate = 0;
    if (status == BNMLP_OK) status = bnmlp_class_names_distinct(names, count, &model->allocator, &duplicate);
    bnmlp_class_names *copy = NULL;
    if (status == BNMLP_OK)
        status = bnmlp_class_names_create(names, lengths, count, &model->allocator, &copy);
    bnmlp_release(&model->allocator, lengths);
    if (status != BNMLP_OK) return status;
    bnmlp_class_names_free(model->class_names);
    model->class_names = copy;
    return BNMLP_OK;
}

const char *bnmlp_model_class_name(const bnmlp_model *model, size_t index) {
    if (!model || !model->class_names || index >= model->class_names->count) return NULL;
    return model->class_names->names[index];
}
