/* fit.c - Keras-style fit over epochs of shuffled mini-batches, evaluate and predict. */
#include "train/train.h"

#include <math.h>
#include <string.h>

#include "core/core.h"
#include "layers/layers.h"
#include "model/model.h"

void bnmlp_train_evaluate_checked(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                  double *loss, double *accuracy) {
    const size_t width = y->cols;
    const size_t count = model->layer_count;
    double loss_sum = 0.0;
    size_t correct = 0;
    for (size_t start = 0; start < x->rows; start += model->max_batch) {
        const size_t rows = x->rows - start < model->max_batch ? x->rows - start : model->max_batch;
        const float *xs = x->data + start * x->cols, *ys = y->data + start * width;
        const float *output = bnmlp_model_run_forward(model, xs, rows, BNMLP_MODE_INFERENCE, count);
        const size_t n = rows * width;
        /* Chunk means weighted by their sizes give the mean over all rows. */
        loss_sum += bnmlp_train_loss(model, xs, output, ys, n, NULL, NULL) * (double)n;
        correct += bnmlp_binary_correct(output, ys, n);
    }
    const double total = (double)(x->rows * width);
    *loss = loss_sum / total;
    *accuracy = (double)correct / total;
}

bnmlp_status bnmlp_model_evaluate(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                  double *loss, double *accuracy) {
    if (!model || !x || !y) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = bnmlp_model_check_batch(model, x, y, false);
    if (status != BNMLP_OK) return status;
    double batch_loss, batch_accuracy;
    bnmlp_train_evaluate_checked(model, x, y, &batch_loss, &batch_accuracy);
    if (loss) *loss = batch_loss;
    if (accuracy) *accuracy = batch_accuracy;
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_predict(bnmlp_model *model, const bnmlp_tensor *x, bnmlp_tensor *out) {
    if (!model || !x || !out) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = bnmlp_model_check_batch(model, x, NULL, false);
    if (status != BNMLP_OK) return status;
    const size_t width = bnmlp_model_output_width(model);
    status = bnmlp_tensor_check_shape(out, x->rows, width);
    if (status != BNMLP_OK) return status;
    for (size_t start = 0; start < x->rows; start += model->max_batch) {
        const size_t rows = x->rows - start < model->max_batch ? x->rows - start : model->max_batch;
        const float *output = bnmlp_model_run_forward(model, x->data + start * x->cols, rows,
                                                      BNMLP_MODE_INFERENCE, model->layer_count);
        memcpy(out->data + start * width, output, rows * width * sizeof *output);
    }
    return BNMLP_OK;
}

/* ---- fit ------------------------------------------------------------------------------------------ */

/* Checks every argument of fit before anything changes. */
static bnmlp_status check_fit(const bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                              const bnmlp_fit_config *config) {
    if (!x || !y || !config) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = bnmlp_model_check_batch(model, x, y, false);
    if (status != BNMLP_OK) return status;
    if (config->epochs == 0 || config->batch_size == 0) return BNMLP_ERR_INVALID_ARGUMENT;
    if (config->batch_size > model->max_batch) return BNMLP_ERR_BATCH_TOO_LARGE;
    status = bnmlp_check_sgd_config(&config->optimizer);
    if (status != BNMLP_OK) return status;
    if (!config->validation_x != !config->validation_y) return BNMLP_ERR_NULL_ARGUMENT;
    if (config->validation_x) {
        status = bnmlp_model_check_batch(model, config->validation_x, config->validation_y, false);
        if (status != BNMLP_OK) return status;
    }
    /* With batch norm in training mode every batch needs 2 rows; only a trailing single row is
     * skipped, so the data must hold at least one batch of 2. */
    if (x->rows < 2 && bnmlp_model_needs_batch_statistics(model)) return BNMLP_ERR_BATCH_TOO_SMALL;
    if (config->batch_size == 1 && bnmlp_model_needs_batch_statistics(model))
        return BNMLP_ERR_BATCH_TOO_SMALL;
    return BNMLP_OK;
}

/* Copies the rows order[0..rows) of (x, y) into the model's staging batch. */
static void gather_batch(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                         const size_t *order, size_t rows) {
    for (size_t r = 0; r < rows; r++) {
        memcpy(model->batch_x + r * x->cols, x->data + order[r] * x->cols, x->cols * sizeof(float));
        memcpy(model->batch_y + r * y->cols, y->data + order[r] * y->cols, y->cols * sizeof(float));
    }
}

/* One epoch over the rows in `order`; the record gets the Keras-style training metrics. */
static bnmlp_status run_epoch(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                              const bnmlp_fit_config *config, const size_t *order,
                              bnmlp_epoch_record *record) {
    const bool skip_single = bnmlp_model_needs_batch_statistics(model);
    double loss_sum = 0.0;
    size_t seen = 0, correct_sum = 0;
    for (size_t start = 0; start < x->rows; start += config->batch_size) {
        const size_t rows = x->rows - start < config->batch_size ? x->rows - start : config->batch_size;
        if (rows == 1 && skip_single) continue; /* documented: batch norm cannot use one row */
        gather_batch(model, x, y, order + start, rows);
        double loss;
        size_t correct;
        bnmlp_status status = bnmlp_train_step_checked(model, model->batch_x, model->batch_y, rows,
                                                       &config->optimizer, &loss, &correct);
        if (status != BNMLP_OK) return status;
        /* Keras reports batch-size-weighted means over the epoch (for accuracy: the count of
         * correct predictions over the rows seen, kept exact). */
        loss_sum += loss * (double)rows;
        correct_sum += correct;
        seen += rows;
    }
    record->loss = loss_sum / (double)seen;
    record->accuracy = (double)correct_sum / (double)(seen * y->cols);
    record->val_loss = NAN;
    record->val_accuracy = NAN;
    if (config->validation_x)
        bnmlp_train_evaluate_checked(model, config->validation_x, config->validation_y, &record->val_loss,
                                     &record->val_accuracy);
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_fit(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                             const bnmlp_fit_config *config, bnmlp_epoch_record *history,
                             size_t *epochs_run) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = check_fit(model, x, y, config);
    if (status != BNMLP_OK) return status;
    /* Keras 2 keeps one index array and shuffles it in place every epoch. */
    size_t *order = bnmlp_alloc_zeroed(&model->allocator, x->rows, sizeof *order);
    if (!order) return BNMLP_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < x->rows; i++) order[i] = i;
    size_t done = 0;
    for (size_t epoch = 1; epoch <= config->epochs; epoch++) {
        if (config->shuffle) bnmlp_random_shuffle(&model->rng, order, x->rows);
        bnmlp_epoch_record record = {.epoch = epoch};
        status = run_epoch(model, x, y, config, order, &record);
        if (status != BNMLP_OK) break;
        if (history) history[done] = record;
        done++;
        if (config->on_epoch_end && !config->on_epoch_end(&record, config->callback_context)) break;
    }
    bnmlp_release(&model->allocator, order);
    if (epochs_run) *epochs_run = done;
    return status;
}
