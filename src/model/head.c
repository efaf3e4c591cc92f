/*
 * head.c - the model's loss head: the loss of the last forward's output, the count of right
 * predictions, and the loss's gradient that starts the backward pass.
 */
#include "model/model.h"

#include <math.h>

#include "core/core.h"
#include "layers/layers.h"

/* The activation the model ends in that its loss is taken through (sigmoid for binary, softmax
 * for categorical cross-entropy). */
static bool ends_in(const bnmlp_model *model, bnmlp_activation activation) {
    const bnmlp_layer *last = &model->layers[model->layer_count - 1];
    return last->kind == BNMLP_LAYER_ACTIVATION && last->config.activation.function == activation;
}

/* The input of the final activation (its logits) from the last forward of x. */
static const float *final_logits(const bnmlp_model *model, const float *x) {
    const size_t count = model->layer_count;
    return count > 1 ? model->layers[count - 2].output : x;
}

/* The loss of the last forward of x against y (rows rows of width targets) and its right
 * predictions; gradient (or NULL) receives the loss's gradient with respect to the loss's input,
 * and *top (or NULL) the number of layers the backward pass runs through below it. A final
 * sigmoid or softmax is folded into the loss, which is then taken from its logits. */
static double head_loss(const bnmlp_model *model, const float *x, const float *y, size_t rows, size_t width,
                        float *gradient, size_t *correct, size_t *top) {
    const float *output = model->layers[model->layer_count - 1].output;
    const size_t outputs = bnmlp_model_output_width(model), n = rows * outputs;
    bool fused = false;
    double loss = 0.0;
    switch (model->loss) {
    case BNMLP_LOSS_BINARY_CROSSENTROPY:
        *correct = bnmlp_binary_correct(output, y, n);
        fused = ends_in(model, BNMLP_ACTIVATION_SIGMOID);
        loss = fused ? bnmlp_bce_logits(gradient, final_logits(model, x), y, n)
                     : bnmlp_bce_probabilities(gradient, output, y, n);
        break;
    case BNMLP_LOSS_CATEGORICAL_CROSSENTROPY:
        *correct = bnmlp_categorical_correct(output, y, rows, outputs, width);
        fused = ends_in(model, BNMLP_ACTIVATION_SOFTMAX);
        loss = fused ? bnmlp_categorical_logits(gradient, final_logits(model, x), y, rows, outputs, width)
                     : bnmlp_categorical_probabilities(gradient, output, y, rows, outputs, width);
        break;
    case BNMLP_LOSS_MEAN_SQUARED_ERROR:
        *correct = 0;
        loss = bnmlp_mse(gradient, output, y, n);
        break;
    }
    if (top) *top = fused ? model->layer_count - 1 : model->layer_count;
    return loss;
}

void bnmlp_model_head_loss(const bnmlp_model *model, const float *x, const float *y, size_t rows,
                           size_t width, double *loss, size_t *correct) {
    *loss = head_loss(model, x, y, rows, width, NULL, correct, NULL);
}

bnmlp_status bnmlp_model_head_backward(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                       size_t width, double *loss, size_t *correct) {
    size_t top;
    *loss = head_loss(model, x, y, rows, width, model->loss_gradient, correct, &top);
    if (!isfinite(*loss)) return BNMLP_ERR_DIVERGED;
    bnmlp_model_run_backward(model, x, rows, model->loss_gradient, top);
    return BNMLP_OK;
}

void bnmlp_model_head_backward_share(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                     size_t width, size_t global_rows, double *loss, size_t *correct) {
    size_t top;
    *loss = head_loss(model, x, y, rows, width, model->loss_gradient, correct, &top);
    /* Every loss divides its gradient by this rank's rows (times the outputs for BCE and MSE);
     * rows / global_rows turns that into the global batch's mean, so the ranks' gradients add up
     * to one process's. */
    if (rows != global_rows) {
        const float scale = (float)((double)rows / (double)global_rows);
        const size_t n = rows * bnmlp_model_output_width(model);
        for (size_t i = 0; i < n; i++) model->loss_gradient[i] *= scale;
    }
    bnmlp_model_run_backward(model, x, rows, model->loss_gradient, top);
}

size_t bnmlp_model_prediction_count(const bnmlp_model *model, size_t rows) {
    return model->loss == BNMLP_LOSS_CATEGORICAL_CROSSENTROPY ? rows : rows * bnmlp_model_output_width(model);
}

bool bnmlp_model_has_accuracy(const bnmlp_model *model) {
    return model->loss != BNMLP_LOSS_MEAN_SQUARED_ERROR;
}

/* BNMLP_OK when each row of n of probabilities (width floats) is >= 0 and sums to 1 within 1e-5. */
static bnmlp_status check_probabilities(const float *y, size_t n, size_t width) {
    for (size_t r = 0; r < n; r++) {
        double sum = 0.0;
        for (size_t k = 0; k < width; k++) {
            if (y[r * width + k] < 0.0f) return BNMLP_ERR_LABEL;
            sum += (double)y[r * width + k];
        }
        if (fabs(sum - 1.0) > 1e-5) return BNMLP_ERR_LABEL;
    }
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_check_targets(const bnmlp_model *model, const float *y, size_t n, size_t width) {
    if (!bnmlp_all_finite(y, n * width)) return BNMLP_ERR_NOT_FINITE;
    const size_t classes = bnmlp_model_output_width(model);
    switch (model->loss) {
    case BNMLP_LOSS_BINARY_CROSSENTROPY:
        for (size_t i = 0; i < n * width; i++)
            if (y[i] != 0.0f && y[i] != 1.0f) return BNMLP_ERR_LABEL;
        break;
    case BNMLP_LOSS_CATEGORICAL_CROSSENTROPY:
        if (width != 1) return check_probabilities(y, n, width);
        for (size_t i = 0; i < n; i++)
            if (!(y[i] >= 0.0f && y[i] < (float)classes && y[i] == floorf(y[i]))) return BNMLP_ERR_LABEL;
        break;
    case BNMLP_LOSS_MEAN_SQUARED_ERROR: break;
    }
    return BNMLP_OK;
}
