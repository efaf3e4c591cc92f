/* precision.c - the dense layers' products: fp32 or bf16 inputs (bnmlp_model_set_precision), and
 * the precisions' names. */
#include "model/model.h"

#include <string.h>

bnmlp_status bnmlp_model_set_precision(bnmlp_model *model, bnmlp_precision precision) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (precision != BNMLP_PRECISION_FP32 && precision != BNMLP_PRECISION_BF16)
        return BNMLP_ERR_INVALID_ARGUMENT;
    /* Every dense layer's products; the scratch planned at build covers both precisions
     * (bnmlp_gemm_bf16 needs no more than bnmlp_gemm). */
    model->precision = precision;
    bnmlp_model_params_changed(model); /* the panels are packed per precision */
    for (size_t i = 0; i < model->layer_count; i++)
        if (model->layers[i].kind == BNMLP_LAYER_DENSE) model->layers[i].config.dense.precision = precision;
    bnmlp_model_replan_panels(model); /* bf16 training reads the input gradient's panels too */
    return BNMLP_OK;
}

bnmlp_precision bnmlp_model_precision(const bnmlp_model *model) {
    if (!model) return BNMLP_PRECISION_FP32;
    /* A loaded or imported model's is its dense layers' (written alike: the first one's). */
    for (size_t i = 0; i < model->layer_count; i++)
        if (model->layers[i].kind == BNMLP_LAYER_DENSE) return model->layers[i].config.dense.precision;
    return model->precision;
}

static const char *const precision_names[] = {
    [BNMLP_PRECISION_FP32] = "fp32", [BNMLP_PRECISION_BF16] = "bf16"};
#define PRECISION_COUNT (sizeof precision_names / sizeof precision_names[0])

const char *bnmlp_precision_name(bnmlp_precision precision) {
    return (size_t)precision < PRECISION_COUNT ? precision_names[precision] : "unknown";
}

bnmlp_status bnmlp_precision_from_name(const char *name, bnmlp_precision *precision) {
    if (!name || !precision) return BNMLP_ERR_NULL_ARGUMENT;
    for (size_t i = 0; i < PRECISION_COUNT; i++)
        if (strcmp(name, precision_names[i]) == 0) {
            *precision = (bnmlp_precision)i;
            return BNMLP_OK;
        }
    return BNMLP_ERR_INVALID_ARGUMENT;
}
