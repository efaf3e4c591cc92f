/*
 * head.c - the model's loss head: sequences the loss row of the model's loss (src/layers/loss.c)
 * over the last forward's output, and starts the backward pass from its gradient. No arithmetic
 * here: the row computes the loss, its gradient (over the divisor it is given) and the count of
 * right predictions.
 */
#include "model/model.h"

#include <math.h>

#include "core/core.h"
#include "layers/layers.h"

/* True when the model's loss computes its final activation itself (the row's computes_fused): the
 * forward pass stops below that layer and the head writes its output. */
static bool head_computes_output(const bnmlp_model *model, const bnmlp_loss_row *row) {
    return row->computes_fused && bnmlp_model_ends_in(model, row->fused);
}

size_t bnmlp_model_head_forward_count(const bnmlp_model *model) {
    return model->layer_count - (head_computes_output(model, bnmlp_loss_row_of(model->loss)) ? 1 : 0);
}

/* The loss of the last forward of x against y (rows rows of width targets) and its right
 * predictions; gradient (or NULL) receives the loss's gradient with respect to the loss's input
 * over divisor_rows rows, and *top (or NULL) the number of layers the backward pass runs through
 * below it. A final activation the loss folds in is skipped: the loss takes its input (and when
 * the row computes that activation, it writes the last layer's output from it, so the forward may
 * have stopped below it: bnmlp_model_head_forward_count). */
static double head_loss(const bnmlp_model *model, const float *x, const float *y, size_t rows, size_t width,
                        size_t divisor_rows, const bnmlp_head_weights *weights, float *gradient,
                        size_t *correct, size_t *top) {
    const bnmlp_loss_row *row = bnmlp_loss_row_of(model->loss);
    const size_t count = model->layer_count;
    const bool fused = bnmlp_model_ends_in(model, row->fused);
    const bnmlp_loss_batch batch = {
        .output = model->layers[count - 1].output,
        .logits = fused ? (count > 1 ? model->layers[count - 2].output : x) : NULL,
        .fused_output = fused && row->computes_fused ? model->layers[count - 1].output : NULL,
        .y = y,
        .rows = rows,
        .outputs = bnmlp_model_output_width(model),
        .width = width,
        .divisor_rows = divisor_rows,
        .gradient = gradient,
        .weights = weights ? weights->rows : NULL,
        .weight_divisor = weights ? weights->divisor : 0.0,
    };
    if (top) *top = fused ? count - 1 : count; /* bnmlp_model_head_top */
    const double loss = row->loss(&batch);     /* first: it may write the output that correct reads */
    *correct = row->correct(&batch);
    return loss;
}

void bnmlp_model_head_loss(const bnmlp_model *model, const float *x, const float *y, size_t rows,
                           size_t width, const bnmlp_head_weights *weights, double *loss, size_t *correct) {
    *loss = head_loss(model, x, y, rows, width, rows, weights, NULL, correct, NULL);
}

bnmlp_status bnmlp_model_head_backward(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                       size_t width, const bnmlp_head_weights *weights, double *loss,
                                       size_t *correct) {
    size_t top;
    *loss = head_loss(model, x, y, rows, width, rows, weights, model->loss_gradient, correct, &top);
    if (!isfinite(*loss)) return BNMLP_ERR_DIVERGED;
    bnmlp_model_run_backward(model, x, rows, model->loss_gradient, top);
    return BNMLP_OK;
}

void bnmlp_model_head_backward_share(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                     size_t width, size_t global_rows, const bnmlp_head_weights *weights,
                                     double *loss, size_t *correct) {
    size_t top;
    /* The gradient over the global rows (or the global divisor of the weights): the ranks'
     * gradients add up to one process's. */
    *loss = head_loss(model, x, y, rows, width, global_rows, weights, model->loss_gradient, correct, &top);
    bnmlp_model_run_backward(model, x, rows, model->loss_gradient, top);
}

size_t bnmlp_model_prediction_count(const bnmlp_model *model, size_t rows) {
    return bnmlp_loss_row_of(model->loss)->per_row ? rows : rows * bnmlp_model_output_width(model);
}

bool bnmlp_model_has_accuracy(const bnmlp_model *model) { return bnmlp_loss_has_accuracy(model->loss); }

bnmlp_status bnmlp_model_check_targets(const bnmlp_model *model, const bnmlp_tensor *y) {
    return bnmlp_loss_check_targets(model->loss, bnmlp_model_output_width(model), y, NULL);
}

float *bnmlp_model_row_weights(bnmlp_model *model) { return model->row_weights; }

bool bnmlp_model_has_target_classes(const bnmlp_model *model) {
    return bnmlp_loss_row_of(model->loss)->target_class != NULL;
}

size_t bnmlp_model_target_class(const bnmlp_model *model, const float *y, size_t width) {
    return bnmlp_loss_row_of(model->loss)->target_class(y, width, bnmlp_model_output_width(model));
}
