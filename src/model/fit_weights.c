/*
 * fit_weights.c - the class weights and normalization of the model's last fit, kept with the
 * model so that a checkpoint stores them (file.c, section LWGT) and a resumed fit continues with
 * them (bnmlp_model_fit_weights). Sample weights are data: never kept.
 */
#include "model/model.h"

#include <string.h>

#include "core/core.h"

bnmlp_status bnmlp_model_keep_fit_weights(bnmlp_model *model, const float *class_weights, size_t count,
                                          bnmlp_weight_normalization normalization) {
    if (class_weights && class_weights == model->fit_weights.class_weights &&
        count == model->fit_weights.class_count) {
        model->fit_weights.normalization = normalization; /* a fit given the kept ones (a resume) */
        return BNMLP_OK;
    }
    float *copy = NULL;
    if (class_weights && count) {
        copy = bnmlp_alloc_zeroed(&model->allocator, count, sizeof *copy);
        if (!copy) return BNMLP_ERR_OUT_OF_MEMORY;
        memcpy(copy, class_weights, count * sizeof *copy);
    }
    bnmlp_release(&model->allocator, model->fit_weights.class_weights);
    model->fit_weights = (bnmlp_kept_weights){
        .class_weights = copy, .class_count = copy ? count : 0, .normalization = normalization};
    return BNMLP_OK;
}

void bnmlp_model_release_fit_weights(bnmlp_model *model) {
    bnmlp_release(&model->allocator, model->fit_weights.class_weights);
    model->fit_weights = (bnmlp_kept_weights){0};
}

bnmlp_status bnmlp_model_fit_weights(const bnmlp_model *model, bnmlp_loss_weights *weights) {
    if (!model || !weights) return BNMLP_ERR_NULL_ARGUMENT;
    *weights = (bnmlp_loss_weights){.class_weights = model->fit_weights.class_weights,
                                    .class_count = model->fit_weights.class_count,
                                    .sample_weights = NULL,
                                    .normalization = model->fit_weights.normalization};
    return BNMLP_OK;
}
