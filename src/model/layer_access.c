/* layer_access.c - a layer's step count, for the tiers above that restore it (safetensors import);
 * bnmlp_model_layer_at (access.c) reads the rest of a layer. */
#include "model/model.h"

bnmlp_status bnmlp_model_set_layer_steps(bnmlp_model *model, size_t index, uint64_t steps) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (index >= model->layer_count) return BNMLP_ERR_INVALID_ARGUMENT;
    bnmlp_layer *layer = &model->layers[index];
    /* The kinds whose records have a "steps" field keep a step count. */
    for (size_t i = 0; i < bnmlp_file_field_count; i++) {
        const bnmlp_file_field *field = &bnmlp_file_fields[i];
        if (bnmlp_file_field_applies(field, layer->kind) && field->offset == offsetof(bnmlp_layer, steps)) {
            layer->steps = steps;
            return BNMLP_OK;
        }
    }
    return BNMLP_ERR_INVALID_ARGUMENT;
}
