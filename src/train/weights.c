/*
 * weights.c - class and sample weights of the loss (bnmlp_loss_weights): their checks, each
 * batch's row weights staged into the model's buffer (class weight of the row's target times its
 * sample weight), and the divisor the weighted sum takes (Keras: the batch's rows; PyTorch: the
 * sum of its weights). The loss rows (src/layers/loss.c) do the weighted arithmetic.
 */
#include "train/train.h"

#include <math.h>
#include <string.h>

#include "core/core.h"
#include "model/model.h"

/* The normalizations' names, in the order of bnmlp_weight_normalization. */
static const char *const normalization_names[] = {"batch", "sum"};

#define NORMALIZATION_COUNT (sizeof normalization_names / sizeof normalization_names[0])

size_t bnmlp_weight_normalization_count(void) { return NORMALIZATION_COUNT; }

const char *bnmlp_weight_normalization_name(bnmlp_weight_normalization normalization) {
    const size_t index = (size_t)normalization;
    return index < NORMALIZATION_COUNT ? normalization_names[index] : "unknown";
}

bnmlp_status bnmlp_weight_normalization_from_name(const char *name,
                                                  bnmlp_weight_normalization *normalization) {
    if (!name || !normalization) return BNMLP_ERR_NULL_ARGUMENT;
    for (size_t i = 0; i < NORMALIZATION_COUNT; i++)
        if (strcmp(name, normalization_names[i]) == 0) {
            *normalization = (bnmlp_weight_normalization)i;
            return BNMLP_OK;
        }
    return BNMLP_ERR_INVALID_ARGUMENT;
}

bool bnmlp_loss_weights_given(const bnmlp_loss_weights *weights) {
    return weights && (weights->class_weights || weights->sample_weights);
}

/* BNMLP_OK when count weights are finite (else BNMLP_ERR_NOT_FINITE) and >= 0 (else
 * BNMLP_ERR_INVALID_ARGUMENT). */
static bnmlp_status check_values(const float *w, size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (bnmlp_not_finite(w[i])) return BNMLP_ERR_NOT_FINITE;
        if (w[i] < 0.0f) return BNMLP_ERR_INVALID_ARGUMENT;
    }
    return BNMLP_OK;
}

bnmlp_status bnmlp_train_check_weights(const bnmlp_model *model, const bnmlp_loss_weights *weights,
                                       size_t rows) {
    if (!weights) return BNMLP_OK;
    if ((size_t)weights->normalization >= NORMALIZATION_COUNT) return BNMLP_ERR_INVALID_ARGUMENT;
    if (!weights->class_weights) {
        if (weights->class_count != 0) return BNMLP_ERR_INVALID_ARGUMENT;
    } else {
        const size_t classes = bnmlp_model_class_count(model);
        if (!bnmlp_model_has_target_classes(model) || classes == 0 || weights->class_count != classes)
            return BNMLP_ERR_INVALID_ARGUMENT;
        const bnmlp_status status = check_values(weights->class_weights, classes);
        if (status != BNMLP_OK) return status;
    }
    return weights->sample_weights ? check_values(weights->sample_weights, rows) : BNMLP_OK;
}

/* The weight of a row whose targets are y and whose index in the caller's data is index. */
static float row_weight(const bnmlp_model *model, const bnmlp_loss_weights *weights, const float *y,
                        size_t width, size_t index) {
    const float by_class =
        weights->class_weights ? weights->class_weights[bnmlp_model_target_class(model, y, width)] : 1.0f;
    const float by_sample = weights->sample_weights ? weights->sample_weights[index] : 1.0f;
    return by_class * by_sample; /* float32, as Keras multiplies the two tensors */
}

void bnmlp_train_stage_weights(bnmlp_model *model, const bnmlp_loss_weights *weights, const float *y,
                               size_t width, size_t rows, const size_t *order, size_t first) {
    float *w = bnmlp_model_row_weights(model);
    for (size_t r = 0; r < rows; r++)
        w[r] = row_weight(model, weights, y + r * width, width, order ? order[r] : first + r);
}

double bnmlp_train_weight_sum(const bnmlp_model *model, const bnmlp_loss_weights *weights, const float *y,
                              size_t width, size_t rows, const size_t *order, size_t first) {
    double sum = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const size_t index = order ? order[r] : first + r;
        sum += (double)row_weight(model, weights, y + index * width, width, index);
    }
    return sum;
}

const bnmlp_head_weights *bnmlp_train_head_weights(bnmlp_model *model,
                                                   bnmlp_weight_normalization normalization, size_t rows,
                                                   size_t global_rows, double weight_sum,
                                                   bnmlp_head_weights *out) {
    const float *w = bnmlp_model_row_weights(model);
    double divisor = normalization == BNMLP_WEIGHTS_OVER_WEIGHT_SUM ? weight_sum : (double)global_rows;
    bool ones = true;
    for (size_t r = 0; r < rows && ones; r++) ones = w[r] == 1.0f;
    /* Weights of exactly 1 over the rows: the unweighted arithmetic, bit for bit. */
    if (ones && divisor == (double)global_rows) return NULL;
    /* Every weight 0 (sum(w) = 0): loss 0 and gradient 0, as Keras's divide_no_nan. */
    if (divisor == 0.0) divisor = 1.0;
    *out = (bnmlp_head_weights){.rows = w, .divisor = divisor};
    return out;
}
