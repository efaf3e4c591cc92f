/* check.c - validation of what callers hand the model: batches, labels, row counts. */
#include "model/model.h"

#include "core/core.h"

bnmlp_status bnmlp_model_check_batch(const bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                     bool limit_rows) {
    if (!model->built) return BNMLP_ERR_NOT_BUILT;
    bnmlp_status status = bnmlp_tensor_check_shape(x, 0, model->input_width);
    if (status != BNMLP_OK) return status;
    if (y) {
        /* Class indices come one per row; every other target has the output's width. */
        const bool indices = model->loss == BNMLP_LOSS_CATEGORICAL_CROSSENTROPY && y->cols == 1;
        status = bnmlp_tensor_check_shape(y, x->rows, indices ? 1 : bnmlp_model_output_width(model));
        if (status != BNMLP_OK) return status;
    }
    if (limit_rows && x->rows > model->max_batch) return BNMLP_ERR_BATCH_TOO_LARGE;
    if (!bnmlp_all_finite(x->data, x->rows * x->cols)) return BNMLP_ERR_NOT_FINITE;
    return y ? bnmlp_model_check_targets(model, y->data, y->rows, y->cols) : BNMLP_OK;
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
