/* check.c - validation of what callers hand the model: batches, labels, row counts. */
#include "model/model.h"

#include "core/core.h"
#include "layers/layers.h"

bnmlp_status bnmlp_model_check_batch(const bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                     bool limit_rows) {
    if (!model->built) return BNMLP_ERR_NOT_BUILT;
    bnmlp_status status = bnmlp_tensor_check_shape(x, 0, model->input_width);
    if (status != BNMLP_OK) return status;
    if (y) {
        /* The target columns the loss accepts (e.g. class indices: one per row). */
        status = bnmlp_tensor_check_shape(y, x->rows, 0);
        if (status == BNMLP_OK &&
            !bnmlp_loss_row_of(model->loss)->width_ok(y->cols, bnmlp_model_output_width(model)))
            status = BNMLP_ERR_SHAPE;
        if (status != BNMLP_OK) return status;
    }
    if (limit_rows && x->rows > model->max_batch) return BNMLP_ERR_BATCH_TOO_LARGE;
    if (!bnmlp_all_finite(x->data, x->rows * x->cols)) return BNMLP_ERR_NOT_FINITE;
    return y ? bnmlp_model_check_targets(model, y) : BNMLP_OK;
}

size_t bnmlp_model_min_training_rows(const bnmlp_model *model) {
    size_t least = 1;
    for (size_t i = 0; i < model->layer_count; i++) {
        const bnmlp_layer *layer = &model->layers[i];
        if (!layer->ops->min_training_rows) continue;
        const size_t rows = layer->ops->min_training_rows(layer);
        if (rows > least) least = rows;
    }
    return least;
}

bnmlp_status bnmlp_model_check_training_rows(const bnmlp_model *model, size_t rows) {
    return rows < bnmlp_model_min_training_rows(model) ? BNMLP_ERR_BATCH_TOO_SMALL : BNMLP_OK;
}
