/* evaluate.c - metrics and outputs of a trained model in inference mode, any number of rows. */
#include "train/train.h"

#include <math.h>
#include <string.h>

#include "core/core.h"
#include "model/model.h"

/* The loss of the chunk (rows rows from row start) just run forward, as a sum over its rows:
 * sum(w l) with weights (the chunk's row weights staged; *weight_sum gets their sum), else the
 * mean times the rows (rows of weight 1 in a chunk of only such rows: the unweighted arithmetic). */
static double chunk_loss_sum(bnmlp_model *model, const float *xs, const float *ys, size_t rows, size_t width,
                             const bnmlp_loss_weights *weights, size_t start, double *weight_sum,
                             size_t *correct) {
    const bnmlp_head_weights *head = NULL;
    bnmlp_head_weights staged;
    *weight_sum = (double)rows;
    if (bnmlp_loss_weights_given(weights)) {
        bnmlp_train_stage_weights(model, weights, ys, width, rows, NULL, start);
        *weight_sum = bnmlp_train_weight_sum(model, weights, ys - start * width, width, rows, NULL, start);
        head = bnmlp_train_head_weights(model, BNMLP_WEIGHTS_OVER_BATCH_SIZE, rows, rows, 0.0, &staged);
        if (head) staged.divisor = 1.0; /* the row functions then return sum(w l) itself */
    }
    double loss;
    bnmlp_model_head_loss(model, xs, ys, rows, width, head, &loss, correct);
    return head ? loss : loss * (double)rows; /* chunk means weighted by their sizes */
}

bnmlp_status bnmlp_train_evaluate_checked(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                          const bnmlp_loss_weights *weights, double *loss, double *accuracy) {
    return bnmlp_train_evaluate_with_metrics(model, x, y, weights, NULL, loss, accuracy);
}

bnmlp_status bnmlp_train_evaluate_with_metrics(bnmlp_model *model, const bnmlp_tensor *x,
                                               const bnmlp_tensor *y, const bnmlp_loss_weights *weights,
                                               bnmlp_metric_set *metrics, double *loss, double *accuracy) {
    /* The forward stops below a final activation the head computes (and writes) with the loss. */
    const size_t width = y->cols, chunk = bnmlp_model_max_batch(model),
                 count = bnmlp_model_head_forward_count(model);
    double loss_sum = 0.0, weight_sum = 0.0;
    size_t correct = 0;
    for (size_t start = 0; start < x->rows; start += chunk) {
        const size_t rows = bnmlp_chunk_rows(x->rows, start, chunk);
        const float *xs = x->data + start * x->cols, *ys = y->data + start * width;
        bnmlp_model_run_forward(model, xs, rows, BNMLP_MODE_INFERENCE, count);
        double chunk_weights;
        size_t chunk_correct;
        loss_sum +=
            chunk_loss_sum(model, xs, ys, rows, width, weights, start, &chunk_weights, &chunk_correct);
        if (metrics) bnmlp_metric_set_add(metrics, model, bnmlp_model_output(model), ys, rows, width);
        weight_sum += chunk_weights;
        correct += chunk_correct;
    }
    /* The sums over every rank's rows (this rank's alone in one process). */
    double totals[4] = {loss_sum, (double)correct, (double)x->rows, weight_sum};
    bnmlp_status status = bnmlp_model_sum_doubles(model, totals, 4);
    if (status != BNMLP_OK) return status;
    /* Keras: sum(w l) over the rows; PyTorch's weighted mean: over sum(w) (0 / 0 is 0). */
    const bool over_sum =
        bnmlp_loss_weights_given(weights) && weights->normalization == BNMLP_WEIGHTS_OVER_WEIGHT_SUM;
    const double divisor = over_sum ? (totals[3] > 0.0 ? totals[3] : 1.0) : totals[2];
    if (!isfinite(totals[0] / divisor)) return BNMLP_ERR_DIVERGED;
    *loss = totals[0] / divisor;
    *accuracy = bnmlp_train_accuracy(model, (size_t)totals[1], (size_t)totals[2]);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_evaluate_weighted(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                           const bnmlp_loss_weights *weights, double *loss,
                                           double *accuracy) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = x && y ? bnmlp_model_check_batch(model, x, y, false) : BNMLP_ERR_NULL_ARGUMENT;
    if (status == BNMLP_OK) status = bnmlp_train_check_weights(model, weights, x->rows);
    if (bnmlp_model_is_built(model)) status = bnmlp_model_agree(model, status); /* every rank's checks */
    if (status != BNMLP_OK) return status;
    double batch_loss, batch_accuracy;
    status = bnmlp_train_evaluate_checked(model, x, y, weights, &batch_loss, &batch_accuracy);
    if (status != BNMLP_OK) return status;
    if (loss) *loss = batch_loss;
    if (accuracy) *accuracy = batch_accuracy;
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_evaluate(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                  double *loss, double *accuracy) {
    return bnmlp_model_evaluate_weighted(model, x, y, NULL, loss, accuracy);
}

bnmlp_status bnmlp_model_evaluate_metrics(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                          const bnmlp_metric *kinds, size_t count, double *values) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status =
        x && y && values ? bnmlp_model_check_batch(model, x, y, false) : BNMLP_ERR_NULL_ARGUMENT;
    if (status == BNMLP_OK) status = bnmlp_metric_set_check(model, kinds, count);
    if (status == BNMLP_OK && count == 0) status = BNMLP_ERR_INVALID_ARGUMENT;
    bnmlp_metric_set set = {.allocator = NULL};
    if (status == BNMLP_OK) status = bnmlp_metric_set_create(&set, model, kinds, count, x->rows);
    if (bnmlp_model_is_built(model)) status = bnmlp_model_agree(model, status); /* every rank's checks */
    double loss, accuracy, found[BNMLP_FIT_MAX_METRICS];
    if (status == BNMLP_OK)
        status = bnmlp_train_evaluate_with_metrics(model, x, y, NULL, &set, &loss, &accuracy);
    if (status == BNMLP_OK) status = bnmlp_metric_set_values(&set, model, found);
    /* Outputs that were not finite (the loss may still be, clipped): as predict, nothing written. */
    if (status == BNMLP_OK && set.failed) status = BNMLP_ERR_DIVERGED;
    if (set.allocator) bnmlp_metric_set_free(&set);
    if (status != BNMLP_OK) return status;
    memcpy(values, found, count * sizeof *values);
    return BNMLP_OK;
}

/* Runs x through the model chunk by chunk; with out, copies each chunk's outputs into it. False
 * as soon as a chunk's outputs are not all finite. */
static bool predict_chunks(bnmlp_model *model, const bnmlp_tensor *x, bnmlp_tensor *out) {
    const size_t width = bnmlp_model_output_width(model), chunk = bnmlp_model_max_batch(model);
    for (size_t start = 0; start < x->rows; start += chunk) {
        const size_t rows = bnmlp_chunk_rows(x->rows, start, chunk);
        const float *output = bnmlp_model_run_forward(model, x->data + start * x->cols, rows,
                                                      BNMLP_MODE_INFERENCE, bnmlp_model_layer_count(model));
        if (!bnmlp_all_finite(output, rows * width)) return false;
        if (out) memcpy(out->data + start * width, output, rows * width * sizeof *output);
    }
    return true;
}

bnmlp_status bnmlp_model_predict(bnmlp_model *model, const bnmlp_tensor *x, bnmlp_tensor *out) {
    if (!model || !x || !out) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = bnmlp_model_check_batch(model, x, NULL, false);
    if (status != BNMLP_OK) return status;
    status = bnmlp_tensor_check_shape(out, x->rows, bnmlp_model_output_width(model));
    if (status != BNMLP_OK) return status;
    /* out is written only when every output is finite. One chunk is checked before it is copied;
     * with more, a first pass checks them all before the second writes any. */
    if (x->rows > bnmlp_model_max_batch(model) && !predict_chunks(model, x, NULL)) return BNMLP_ERR_DIVERGED;
    return predict_chunks(model, x, out) ? BNMLP_OK : BNMLP_ERR_DIVERGED;
}
