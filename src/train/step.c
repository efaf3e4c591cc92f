/* step.c - one training step: forward, loss, backward, optimizer; and the gradient query. */
#include "train/train.h"

#include <math.h>
#include <string.h>

#include "core/core.h"
#include "model/model.h"

/* After this rank's share of a step: sums the gradients and the metrics over the ranks, so that
 * every rank holds the global batch's gradient, mean loss and right predictions, and decides on
 * divergence from the same numbers. */
static bnmlp_status combine_share(bnmlp_model *model, size_t rows, size_t global_rows, bool weighted,
                                  double *loss, size_t *correct) {
    /* A rank's mean loss times its rows; a weighted share already holds its part of the global
     * sum(w l) / divisor, which the global rows scale alike. */
    double metrics[2] = {*loss * (double)(weighted ? global_rows : rows), (double)*correct};
    bnmlp_status status = bnmlp_model_sum_doubles(model, metrics, 2);
    if (status == BNMLP_OK) status = bnmlp_model_sum_gradients(model);
    const bnmlp_status failure = bnmlp_model_take_failure(model); /* of the batch-norm seams too */
    if (status == BNMLP_OK) status = failure;
    if (status != BNMLP_OK) return status;
    *loss = metrics[0] / (double)global_rows;
    *correct = (size_t)metrics[1];
    const bnmlp_arenas arenas = bnmlp_model_arenas(model);
    if (!isfinite(*loss) || !bnmlp_all_finite(arenas.grads, arenas.count)) return BNMLP_ERR_DIVERGED;
    return BNMLP_OK;
}

/* BNMLP_ERR_DIVERGED when the loss handed back as a float would not be finite (a double loss
 * beyond float32's range): the calls that return a float loss refuse it before anything changes. */
static bnmlp_status check_float_loss(bnmlp_status status, double loss) {
    return status == BNMLP_OK && bnmlp_not_finite((float)loss) ? BNMLP_ERR_DIVERGED : status;
}

/* Training-mode forward, loss and backward of a checked batch (this rank's rows of global_rows);
 * the gradient arena holds the global batch's gradients after it, *loss and *correct its metrics.
 * The moving statistics are not updated. Under a collective every rank runs every pass. */
static bnmlp_status compute(bnmlp_model *model, const float *x, const float *y, size_t rows, size_t width,
                            size_t global_rows, const bnmlp_head_weights *weights, double *loss,
                            size_t *correct) {
    /* The head writes the final activation the loss computes anyway (bnmlp_model_head_forward_count). */
    bnmlp_model_run_forward(model, x, rows, BNMLP_MODE_TRAINING, bnmlp_model_head_forward_count(model));
    if (!bnmlp_model_is_distributed(model))
        return bnmlp_model_head_backward(model, x, y, rows, width, weights, loss, correct);
    bnmlp_model_head_backward_share(model, x, y, rows, width, global_rows, weights, loss, correct);
    return combine_share(model, rows, global_rows, weights != NULL, loss, correct);
}

double bnmlp_train_accuracy(const bnmlp_model *model, size_t correct, size_t rows) {
    if (!bnmlp_model_has_accuracy(model)) return NAN;
    return (double)correct / (double)bnmlp_model_prediction_count(model, rows);
}

bnmlp_status bnmlp_train_step_checked(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                      size_t width, size_t global_rows, const bnmlp_head_weights *weights,
                                      const bnmlp_optimizer_config *optimizer, bool float_loss, double *loss,
                                      size_t *correct) {
    const size_t statistics_rows = bnmlp_model_statistics_rows(model, rows);
    bnmlp_status status = compute(model, x, y, rows, width, global_rows, weights, loss, correct);
    if (float_loss) status = check_float_loss(status, *loss);
    /* Every check comes before the first change: statistics, then the optimizer's own check. */
    if (status == BNMLP_OK) status = bnmlp_model_check_statistics(model, statistics_rows);
    /* Unsynchronized moving statistics differ between ranks: agree before anything changes. The
     * optimizer then decides alike on every rank (same parameters, state and summed gradients). */
    if (bnmlp_model_is_distributed(model)) status = bnmlp_model_agree(model, status);
    if (status == BNMLP_OK) {
        /* The step also packs the next step's panels from the new parameters (the model's hook). */
        const bnmlp_arenas arenas = bnmlp_model_step_arenas(model);
        status = bnmlp_optimizer_step(optimizer, &arenas);
        /* The step wrote the spare copies of the parameters and state: make them current. */
        if (status == BNMLP_OK) bnmlp_model_swap_params(model);
    }
    if (status != BNMLP_OK) return status;
    bnmlp_model_commit_statistics(model, statistics_rows);
    return BNMLP_OK;
}

/* Checks a batch for a training-mode pass (unless status already failed): shapes, rows,
 * finiteness, labels, batch-norm size. */
static bnmlp_status check_training_batch(const bnmlp_model *model, const bnmlp_tensor *x,
                                         const bnmlp_tensor *y, bnmlp_status status) {
    if (status != BNMLP_OK) return status;
    if (!x || !y) return BNMLP_ERR_NULL_ARGUMENT;
    if (bnmlp_model_is_quantized(model)) return BNMLP_ERR_UNSUPPORTED; /* inference only */
    status = bnmlp_model_check_batch(model, x, y, true);
    /* A synchronized batch norm needs its minimum rows over all ranks (begin_step), not on each. */
    if (status != BNMLP_OK || bnmlp_model_batchnorm_is_synchronized(model)) return status;
    return bnmlp_model_check_training_rows(model, x->rows);
}

/* Under a collective, every rank agrees on the status of its checks and learns the global rows
 * of the step into *global_rows (x->rows in one process). */
static bnmlp_status begin_step(bnmlp_model *model, const bnmlp_tensor *x, bnmlp_status status,
                               size_t *global_rows) {
    *global_rows = status == BNMLP_OK ? x->rows : 0;
    if (!bnmlp_model_is_built(model) || !bnmlp_model_is_distributed(model)) return status;
    status = bnmlp_model_begin_batch(model, status, *global_rows, global_rows);
    if (status == BNMLP_OK && bnmlp_model_batchnorm_is_synchronized(model))
        status = bnmlp_model_check_training_rows(model, *global_rows);
    return status;
}

/* Stages the row weights of a checked batch (x->rows rows of y, this rank's) and resolves the head
 * weights into *out: NULL for the unweighted arithmetic. Under a collective with the weight-sum
 * normalization the batch's sum(w) is summed over the ranks (one double). */
static bnmlp_status stage_step_weights(bnmlp_model *model, const bnmlp_tensor *y,
                                       const bnmlp_loss_weights *weights, size_t global_rows,
                                       const bnmlp_head_weights **head, bnmlp_head_weights *out) {
    *head = NULL;
    if (!bnmlp_loss_weights_given(weights)) return BNMLP_OK;
    bnmlp_train_stage_weights(model, weights, y->data, y->cols, y->rows, NULL, 0);
    double sum = 0.0;
    if (weights->normalization == BNMLP_WEIGHTS_OVER_WEIGHT_SUM) {
        sum = bnmlp_train_weight_sum(model, weights, y->data, y->cols, y->rows, NULL, 0);
        const bnmlp_status status = bnmlp_model_sum_doubles(model, &sum, 1);
        if (status != BNMLP_OK) return status;
    }
    *head = bnmlp_train_head_weights(model, weights->normalization, y->rows, global_rows, sum, out);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_train_step_weighted(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                             const bnmlp_loss_weights *weights,
                                             const bnmlp_optimizer_config *optimizer, float *loss,
                                             float *accuracy) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = check_training_batch(model, x, y, optimizer ? BNMLP_OK : BNMLP_ERR_NULL_ARGUMENT);
    if (status == BNMLP_OK) status = bnmlp_optimizer_check(optimizer);
    if (status == BNMLP_OK) status = bnmlp_train_check_weights(model, weights, x->rows);
    size_t global_rows;
    status = begin_step(model, x, status, &global_rows);
    if (status != BNMLP_OK) return status;
    bnmlp_head_weights staged;
    const bnmlp_head_weights *head;
    status = stage_step_weights(model, y, weights, global_rows, &head, &staged);
    if (status != BNMLP_OK) return status;
    double batch_loss;
    size_t correct;
    status = bnmlp_train_step_checked(model, x->data, y->data, x->rows, y->cols, global_rows, head, optimizer,
                                      true, &batch_loss, &correct);
    if (status != BNMLP_OK) return status;
    if (loss) *loss = (float)batch_loss;
    if (accuracy) *accuracy = (float)bnmlp_train_accuracy(model, correct, global_rows);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_train_step(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                    const bnmlp_optimizer_config *optimizer, float *loss, float *accuracy) {
    return bnmlp_model_train_step_weighted(model, x, y, NULL, optimizer, loss, accuracy);
}

bnmlp_status bnmlp_model_loss_gradients_weighted(bnmlp_model *model, const bnmlp_tensor *x,
                                                 const bnmlp_tensor *y, const bnmlp_loss_weights *weights,
                                                 float *loss, float *gradients, size_t count) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = check_training_batch(model, x, y, loss ? BNMLP_OK : BNMLP_ERR_NULL_ARGUMENT);
    if (status == BNMLP_OK && gradients && count != bnmlp_model_param_count(model)) status = BNMLP_ERR_SHAPE;
    if (status == BNMLP_OK) status = bnmlp_train_check_weights(model, weights, x->rows);
    size_t global_rows;
    status = begin_step(model, x, status, &global_rows);
    if (status != BNMLP_OK) return status;
    bnmlp_head_weights staged;
    const bnmlp_head_weights *head;
    status = stage_step_weights(model, y, weights, global_rows, &head, &staged);
    if (status != BNMLP_OK) return status;
    double batch_loss;
    size_t correct;
    status = compute(model, x->data, y->data, x->rows, y->cols, global_rows, head, &batch_loss, &correct);
    status = check_float_loss(status, batch_loss);
    const bnmlp_arenas arenas = bnmlp_model_arenas(model);
    if (status == BNMLP_OK && !bnmlp_all_finite(arenas.grads, arenas.count)) status = BNMLP_ERR_DIVERGED;
    if (bnmlp_model_is_distributed(model)) status = bnmlp_model_agree(model, status);
    if (status != BNMLP_OK) return status;
    *loss = (float)batch_loss;
    if (gradients && count) memcpy(gradients, arenas.grads, count * sizeof *gradients);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_loss_gradients(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                        float *loss, float *gradients, size_t count) {
    return bnmlp_model_loss_gradients_weighted(model, x, y, NULL, loss, gradients, count);
}
