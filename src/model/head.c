/*
 * head.c - the model's loss head: the loss of the last forward's output, the count of right
 * predictions, and the loss's gradient that starts the backward pass.
 */
#include "model/model.h"

#include <math.h>

#include "core/core.h"
#include "layers/layers.h"

/* The input of a final sigmoid (its logit) from the last forward of x, or NULL when the last
 * layer is not a sigmoid; the BCE is then taken from the logit, stable for any value. */
static const float *final_logits(const bnmlp_model *model, const float *x) {
    const size_t count = model->layer_count;
    const bnmlp_layer *last = &model->layers[count - 1];
    if (last->kind != BNMLP_LAYER_ACTIVATION || last->activation != BNMLP_ACTIVATION_SIGMOID) return NULL;
    return count > 1 ? model->layers[count - 2].output : x;
}

/* The loss of the last forward of x against y (rows rows) and its right predictions; gradient
 * (n floats or NULL) receives the loss's gradient with respect to the loss's input, and *top
 * (or NULL) the number of layers the backward pass runs through below it. */
static double head_loss(const bnmlp_model *model, const float *x, const float *y, size_t rows,
                        float *gradient, size_t *correct, size_t *top) {
    const float *output = model->layers[model->layer_count - 1].output;
    const size_t n = rows * bnmlp_model_output_width(model);
    *correct = bnmlp_binary_correct(output, y, n);
    const float *logits = final_logits(model, x);
    if (top) *top = logits ? model->layer_count - 1 : model->layer_count;
    return logits ? bnmlp_bce_logits(gradient, logits, y, n) : bnmlp_bce_probabilities(gradient, output, y, n);
}

void bnmlp_model_loss(const bnmlp_model *model, const float *x, const float *y, size_t rows, double *loss,
                      size_t *correct) {
    *loss = head_loss(model, x, y, rows, NULL, correct, NULL);
}

bnmlp_status bnmlp_model_loss_backward(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                       double *loss, size_t *correct) {
    size_t top;
    *loss = head_loss(model, x, y, rows, model->loss_gradient, correct, &top);
    if (!isfinite(*loss)) return BNMLP_ERR_DIVERGED;
    bnmlp_model_run_backward(model, x, rows, model->loss_gradient, top);
    if (!bnmlp_all_finite(model->grads, model->param_count)) return BNMLP_ERR_DIVERGED;
    return BNMLP_OK;
}
