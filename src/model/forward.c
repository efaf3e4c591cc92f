/* forward.c - the public forward pass: checks, then the layers in the given mode. */
#include "model/model.h"

#include <string.h>

#include "core/core.h"

/* The training-mode forward under a collective, once every rank's checks agreed (status): every
 * rank runs the pass (synchronized batch norm communicates), then all agree on the outputs' and
 * moving statistics' finiteness before any writes. */
static bnmlp_status forward_training_collective(bnmlp_model *model, const bnmlp_tensor *x, bnmlp_tensor *out,
                                                bnmlp_status status) {
    size_t global_rows;
    status = bnmlp_model_begin_batch(model, status, status == BNMLP_OK ? x->rows : 0, &global_rows);
    if (status == BNMLP_OK && bnmlp_model_batchnorm_is_synchronized(model))
        status = bnmlp_model_check_training_rows(model, global_rows);
    if (status != BNMLP_OK) return status;
    const size_t rows = bnmlp_model_statistics_rows(model, x->rows), n = x->rows * out->cols;
    const float *y =
        bnmlp_model_run_forward(model, x->data, x->rows, BNMLP_MODE_TRAINING, model->layer_count);
    status = bnmlp_model_take_failure(model);
    if (status == BNMLP_OK && !bnmlp_all_finite(y, n)) status = BNMLP_ERR_DIVERGED;
    if (status == BNMLP_OK) status = bnmlp_model_check_statistics(model, rows);
    status = bnmlp_model_agree(model, status);
    if (status != BNMLP_OK) return status;
    memcpy(out->data, y, n * sizeof *out->data);
    bnmlp_model_commit_statistics(model, rows);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_forward(bnmlp_model *model, const bnmlp_tensor *x, bnmlp_mode mode,
                                 bnmlp_tensor *out) {
    if (model && bnmlp_model_is_built(model) && bnmlp_model_is_distributed(model) &&
        mode == BNMLP_MODE_TRAINING) {
        bnmlp_status status =
            x && out ? bnmlp_model_check_batch(model, x, NULL, true) : BNMLP_ERR_NULL_ARGUMENT;
        if (status == BNMLP_OK)
            status = bnmlp_tensor_check_shape(out, x->rows, bnmlp_model_output_width(model));
        if (status == BNMLP_OK && !bnmlp_model_batchnorm_is_synchronized(model))
            status = bnmlp_model_check_training_rows(model, x->rows);
        return forward_training_collective(model, x, out, status);
    }
    if (!model || !x || !out) return BNMLP_ERR_NULL_ARGUMENT;
    if (mode != BNMLP_MODE_INFERENCE && mode != BNMLP_MODE_TRAINING) return BNMLP_ERR_INVALID_ARGUMENT;
    bnmlp_status status = bnmlp_model_check_batch(model, x, NULL, true);
    if (status != BNMLP_OK) return status;
    status = bnmlp_tensor_check_shape(out, x->rows, bnmlp_model_output_width(model));
    if (status != BNMLP_OK) return status;
    if (mode == BNMLP_MODE_TRAINING) status = bnmlp_model_check_training_rows(model, x->rows);
    if (status != BNMLP_OK) return status;
    const float *y = bnmlp_model_run_forward(model, x->data, x->rows, mode, model->layer_count);
    const size_t n = x->rows * out->cols;
    /* Nothing is written or committed unless every output and moving statistic is finite. */
    if (!bnmlp_all_finite(y, n)) return BNMLP_ERR_DIVERGED;
    if (mode == BNMLP_MODE_TRAINING && bnmlp_model_check_statistics(model, x->rows) != BNMLP_OK)
        return BNMLP_ERR_DIVERGED;
    memcpy(out->data, y, n * sizeof *out->data);
    if (mode == BNMLP_MODE_TRAINING) bnmlp_model_commit_statistics(model, x->rows);
    return BNMLP_OK;
}
