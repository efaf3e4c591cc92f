/* snapshot.c - a copy of a model's weights, the parameter arena and the statistics block, taken
 * and put back whole: what early stopping's restore_best_weights keeps. No layer knowledge. */
#include "model/model.h"

#include <string.h>

size_t bnmlp_model_snapshot_floats(const bnmlp_model *model) {
    return model->built ? model->param_count + model->stats_count : 0;
}

void bnmlp_model_snapshot_save(const bnmlp_model *model, float *dst) {
    if (model->param_count) memcpy(dst, model->params, model->param_count * sizeof *dst);
    if (model->stats_count) memcpy(dst + model->param_count, model->stats, model->stats_count * sizeof *dst);
}

void bnmlp_model_snapshot_restore(bnmlp_model *model, const float *src) {
    if (model->param_count) memcpy(model->params, src, model->param_count * sizeof *src);
    if (model->stats_count) memcpy(model->stats, src + model->param_count, model->stats_count * sizeof *src);
    bnmlp_model_derive(model);
}
