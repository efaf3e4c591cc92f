/* evaluate.c - metrics and outputs of a trained model in inference mode, any number of rows. */
#include "train/train.h"

#include <math.h>
#include <string.h>

#include "core/core.h"
#include "model/model.h"

bnmlp_status bnmlp_train_evaluate_checked(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                          double *loss, double *accuracy) {
    return bnmlp_train_evaluate_with_metrics(model, x, y, NULL, loss, accuracy);
}

bnmlp_status bnmlp_train_evaluate_with_metrics(bnmlp_model *model, const bnmlp_tensor *x,
                                               const bnmlp_tensor *y, bnmlp_metric_set *metrics, double *loss,
                                               double *accuracy) {
    const size_t width = y->cols, chunk = bnmlp_model_max_batch(model),
                 count = bnmlp_model_layer_count(model);
    double loss_sum = 0.0;
    size_t correct = 0;
    for (size_t start = 0; start < x->rows; start += chunk) {
        const size_t rows = bnmlp_chunk_rows(x->rows, start, chunk);
        const float *xs = x->data + start * x->cols, *ys = y->data + start * width;
        const float *outputs = bnmlp_model_run_forward(model, xs, rows, BNMLP_MODE_INFERENCE, count);
        if (metrics) bnmlp_metric_set_add(metrics, model, outputs, ys, rows, width);
        double chunk_loss;
        size_t chunk_correct;
        bnmlp_model_head_loss(model, xs, ys, rows, width, &chunk_loss, &chunk_correct);
        /* Chunk means weighted by their sizes give the mean over all rows. */
        loss_sum += chunk_loss * (double)rows;
        correct += chunk_correct;
    }
    /* The sums over every rank's rows (this rank's alone in one process). */
    double totals[3] = {loss_sum, (double)correct, (double)x->rows};
    bnmlp_status status = bnmlp_model_sum_doubles(model, totals, 3);
    if (status != BNMLP_OK) return status;
    if (!isfinite(totals[0] / totals[2])) return BNMLP_ERR_DIVERGED;
    *loss = totals[0] / totals[2];
    *accuracy = bnmlp_train_accuracy(model, (size_t)totals[1], (size_t)totals[2]);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_evaluate(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                  double *loss, double *accuracy) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = x && y ? bnmlp_model_check_batch(model, x, y, false) : BNMLP_ERR_NULL_ARGUMENT;
    if (bnmlp_model_is_built(model)) status = bnmlp_model_agree(model, status); /* every rank's checks */
    if (status != BNMLP_OK) return status;
    double batch_loss, batch_accuracy;
    status = bnmlp_train_evaluate_checked(model, x, y, &batch_loss, &batch_accuracy);
    if (status != BNMLP_OK) return status;
    if (loss) *loss = batch_loss;
    if (accuracy) *accuracy = batch_accuracy;
    return BNMLP_OK;
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
    if (status == BNMLP_OK) status = bnmlp_train_evaluate_with_metrics(model, x, y, &set, &loss, &accuracy);
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
