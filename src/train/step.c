/* step.c - one training step: forward, loss, backward, optimizer; and the gradient query. */
#include "train/train.h"

#include <math.h>
#include <string.h>

#include "model/model.h"

/* Training-mode forward, loss and backward of a checked batch; the gradient arena holds the
 * batch's gradients after it. The moving statistics are not updated. */
static bnmlp_status compute(bnmlp_model *model, const float *x, const float *y, size_t rows, size_t width,
                            double *loss, size_t *correct) {
    bnmlp_model_run_forward(model, x, rows, BNMLP_MODE_TRAINING, bnmlp_model_layer_count(model));
    return bnmlp_model_head_backward(model, x, y, rows, width, loss, correct);
}

double bnmlp_train_accuracy(const bnmlp_model *model, size_t correct, size_t rows) {
    if (!bnmlp_model_has_accuracy(model)) return NAN;
    return (double)correct / (double)bnmlp_model_prediction_count(model, rows);
}

bnmlp_status bnmlp_train_step_checked(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                      size_t width, const bnmlp_optimizer_config *optimizer, double *loss,
                                      size_t *correct) {
    bnmlp_status status = compute(model, x, y, rows, width, loss, correct);
    /* Every check comes before the first change: statistics, then the optimizer's own check. */
    if (status == BNMLP_OK) status = bnmlp_model_check_statistics(model, rows);
    if (status == BNMLP_OK) {
        const bnmlp_arenas arenas = bnmlp_model_arenas(model);
        status = bnmlp_optimizer_step(optimizer, &arenas);
    }
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
    return bnmlp_model_check_training_rows(model, x->rows);
}

bnmlp_status bnmlp_model_train_step_with(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                         const bnmlp_optimizer_config *optimizer, float *loss,
                                         float *accuracy) {
    if (!model || !optimizer) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = check_training_batch(model, x, y);
    if (status == BNMLP_OK) status = bnmlp_optimizer_check(optimizer);
    if (status != BNMLP_OK) return status;
    double batch_loss;
    size_t correct;
    status = bnmlp_train_step_checked(model, x->data, y->data, x->rows, y->cols, optimizer, &batch_loss, &correct);
    if (status != BNMLP_OK) return status;
    if (loss) *loss = (float)batch_loss;
    if (accuracy) *accuracy = (float)bnmlp_train_accuracy(model, correct, x->rows);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_train_step(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                    const bnmlp_sgd_config *optimizer, float *loss, float *accuracy) {
    if (!model || !optimizer) return BNMLP_ERR_NULL_ARGUMENT;
    const bnmlp_optimizer_config config = bnmlp_optimizer_from_sgd(optimizer);
    return bnmlp_model_train_step_with(model, x, y, &config, loss, accuracy);
}

bnmlp_status bnmlp_model_loss_gradients(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                        float *loss, float *gradients, size_t count) {
    if (!model || !loss) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = check_training_batch(model, x, y);
    if (status != BNMLP_OK) return status;
    if (gradients && count != bnmlp_model_param_count(model)) return BNMLP_ERR_SHAPE;
    double batch_loss;
    size_t correct;
    status = compute(model, x->data, y->data, x->rows, y->cols, &batch_loss, &correct);
    if (status != BNMLP_OK) return status;
    *loss = (float)batch_loss;
    if (gradients && count) memcpy(gradients, bnmlp_model_arenas(model).grads, count * sizeof *gradients);
    return BNMLP_OK;
}
