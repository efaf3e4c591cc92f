/* step.c - one training step: forward, BCE, backward, SGD; and the gradient query. */
#include "train/train.h"

#include <math.h>
#include <string.h>

#include "core/core.h"
#include "layers/layers.h"
#include "model/model.h"

double bnmlp_train_loss(const bnmlp_model *model, const float *x, const float *output, const float *y,
                        size_t n, float *delta, size_t *top) {
    const float *logits = bnmlp_model_logits(model, x);
    if (top) *top = logits ? model->layer_count - 1 : model->layer_count;
    return logits ? bnmlp_bce_logits(delta, logits, y, n) : bnmlp_bce_probabilities(delta, output, y, n);
}

bnmlp_status bnmlp_train_compute(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                 double *loss, size_t *correct) {
    const size_t n = rows * bnmlp_model_output_width(model);
    const float *output = bnmlp_model_run_forward(model, x, rows, BNMLP_MODE_TRAINING, model->layer_count);
    *correct = bnmlp_binary_correct(output, y, n);
    size_t top;
    *loss = bnmlp_train_loss(model, x, output, y, n, model->delta[0], &top);
    if (!isfinite(*loss)) return BNMLP_ERR_DIVERGED;
    /* Rotate so the loss gradient is not overwritten by the first layer's input gradient. */
    float *delta = model->delta[0];
    model->delta[0] = model->delta[1];
    model->delta[1] = delta;
    bnmlp_model_run_backward(model, x, rows, delta, top);
    if (!bnmlp_all_finite(model->grads, model->param_count)) return BNMLP_ERR_DIVERGED;
    return BNMLP_OK;
}

bnmlp_status bnmlp_train_step_checked(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                      const bnmlp_sgd_config *optimizer, double *loss, size_t *correct) {
    bnmlp_status status = bnmlp_train_compute(model, x, y, rows, loss, correct);
    if (status == BNMLP_OK) status = bnmlp_model_apply_sgd(model, optimizer);
    if (status != BNMLP_OK) return status;
    bnmlp_model_commit_statistics(model, rows);
    return BNMLP_OK;
}

/* Checks a batch for a training-mode pass: shapes, rows, finiteness, labels, batch-norm size. */
static bnmlp_status check_training_batch(const bnmlp_model *model, const bnmlp_tensor *x,
                                         const bnmlp_tensor *y) {
    if (!x || !y) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = bnmlp_model_check_batch(model, x, y, true);
    if (status != BNMLP_OK) return status;
    if (x->rows < 2 && bnmlp_model_needs_batch_statistics(model)) return BNMLP_ERR_BATCH_TOO_SMALL;
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_train_step(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                    const bnmlp_sgd_config *optimizer, float *loss, float *accuracy) {
    if (!model || !optimizer) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = check_training_batch(model, x, y);
    if (status == BNMLP_OK) status = bnmlp_check_sgd_config(optimizer);
    if (status != BNMLP_OK) return status;
    double batch_loss;
    size_t correct;
    status = bnmlp_train_step_checked(model, x->data, y->data, x->rows, optimizer, &batch_loss, &correct);
    if (status != BNMLP_OK) return status;
    if (loss) *loss = (float)batch_loss;
    if (accuracy) *accuracy = (float)((double)correct / (double)(x->rows * y->cols));
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_loss_gradients(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                        float *loss, float *gradients, size_t count) {
    if (!model || !loss) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = check_training_batch(model, x, y);
    if (status != BNMLP_OK) return status;
    if (gradients && count != model->param_count) return BNMLP_ERR_SHAPE;
    double batch_loss;
    size_t correct;
    status = bnmlp_train_compute(model, x->data, y->data, x->rows, &batch_loss, &correct);
    if (status != BNMLP_OK) return status;
    *loss = (float)batch_loss;
    if (gradients && count) memcpy(gradients, model->grads, count * sizeof *gradients);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_reset_optimizer(bnmlp_model *model) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (!model->built) return BNMLP_ERR_NOT_BUILT;
    if (model->param_count) memset(model->velocity, 0, model->param_count * sizeof *model->velocity);
    return BNMLP_OK;
}
