/*
 * quantize.c - the int8 inference form of a model (bnmlp_model_quantize; docs/deploy.md, "int8").
 *
 *   1. fold: bnmlp_model_fold's steps, except that a batch norm or normalization is never folded
 *      into the dense layer after it (W' = diag(s) W would scale W's rows, e.g. by 1 / std of
 *      raw features, and one int8 scale per column could not hold them; the per-tensor input
 *      scale would also be set by the largest raw feature): it stays a float layer;
 *   2. calibrate: run the folded float model in inference mode over the calibration rows (in
 *      batches of its maximum batch) and keep, for every dense layer, the largest |x| of its
 *      input: s_x = max / 127 (1 when 0);
 *   3. quantize: per output column j, s_w[j] = max_k |W[k][j]| / 127 (1 for a zero column) and
 *      codes round(W / s_w) (nearest, ties to even, clamped to [-127, 127]), computed in double
 *      from the folded float weights, s_w and s_x rounded to float;
 *   4. the new model: each dense layer of the folded one becomes an int8 dense layer (bias zeros
 *      when it had none), every other layer is copied; all frozen.
 */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "export/export.h"
#include "model/model.h"

/* What one quantization works on. */
typedef struct quantize_state {
    const bnmlp_allocator *allocator;
    bnmlp_model *folded; /* step 1's model */
    double *input_max;   /* (layers) largest |x| into each dense layer of folded */
    float *floats;       /* room for the largest kernel */
    float *codes;        /* likewise */
} quantize_state;

static void state_release(quantize_state *q) {
    bnmlp_model_free(q->folded);
    bnmlp_release(q->allocator, q->input_max);
    bnmlp_release(q->allocator, q->floats);
    bnmlp_release(q->allocator, q->codes);
}

/* *max = the largest of *max and |v| over n values; false for a value that is not finite. */
static bool track_max(double *max, const float *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (bnmlp_not_finite(v[i])) return false;
        const double a = fabs((double)v[i]);
        if (a > *max) *max = a;
    }
    return true;
}

/* Step 2 over calibration (checked). */
static bnmlp_status calibrate(quantize_state *q, const bnmlp_tensor *calibration) {
    bnmlp_model *folded = q->folded;
    const size_t layers = bnmlp_model_layer_count(folded), batch = bnmlp_model_max_batch(folded);
    const size_t width = calibration->cols;
    for (size_t first = 0; first < calibration->rows; first += batch) {
        const size_t rows = calibration->rows - first < batch ? calibration->rows - first : batch;
        const float *x = calibration->data + first * width;
        bnmlp_model_run_forward(folded, x, rows, BNMLP_MODE_INFERENCE, layers);
        for (size_t i = 0; i < layers; i++) {
            const bnmlp_layer *layer = bnmlp_model_layer_at(folded, i);
            if (layer->kind != BNMLP_LAYER_DENSE) continue;
            const float *input = i == 0 ? x : bnmlp_model_layer_at(folded, i - 1)->output;
            if (!track_max(&q->input_max[i], input, rows * layer->in)) return BNMLP_ERR_NOT_FINITE;
        }
        if (!track_max(&(double){0.0}, bnmlp_model_layer_at(folded, layers - 1)->output,
                       rows * bnmlp_model_output_width(folded)))
            return BNMLP_ERR_NOT_FINITE;
    }
    return BNMLP_OK;
}

/* A scale max / 127 rounded to float; 1 when max is 0. */
static float scale_of(double max) { return max > 0.0 ? (float)(max / 127.0) : 1.0f; }

/* Sets int8 layer index of quantized from dense layer index of the folded model (step 3). */
static bnmlp_status quantize_dense(quantize_state *q, bnmlp_model *quantized, size_t index) {
    const bnmlp_layer *dense = bnmlp_model_layer_at(q->folded, index);
    const size_t in = dense->in, out = dense->out;
    float *w = q->floats, *codes = q->codes;
    bnmlp_status status = bnmlp_model_get_weights(q->folded, index, BNMLP_WEIGHT_KERNEL, w, in * out);
    if (status != BNMLP_OK) return status;
    /* The scales first (out floats at the end of codes' room would overlap: a separate pass). */
    float *scales = bnmlp_alloc_zeroed(q->allocator, out, sizeof *scales);
    float *bias = bnmlp_alloc_zeroed(q->allocator, out, sizeof *bias);
    if (!scales || !bias) status = BNMLP_ERR_OUT_OF_MEMORY;
    for (size_t j = 0; status == BNMLP_OK && j < out; j++) {
        double max = 0.0;
        for (size_t k = 0; k < in; k++) max = fmax(max, fabs((double)w[k * out + j]));
        scales[j] = scale_of(max);
        for (size_t k = 0; k < in; k++) {
            const double c = nearbyint((double)w[k * out + j] / (double)scales[j]);
            codes[k * out + j] = (float)(c > 127.0 ? 127.0 : c < -127.0 ? -127.0 : c);
        }
    }
    if (status == BNMLP_OK && dense->config.dense.use_bias)
        status = bnmlp_model_get_weights(q->folded, index, BNMLP_WEIGHT_BIAS, bias, out);
    const float input_scale = scale_of(q->input_max[index]);
    if (status == BNMLP_OK)
        status = bnmlp_model_set_array(quantized, index, BNMLP_ARRAY_INT8_KERNEL, codes, in * out);
    if (status == BNMLP_OK)
        status = bnmlp_model_set_array(quantized, index, BNMLP_ARRAY_WEIGHT_SCALE, scales, out);
    if (status == BNMLP_OK)
        status = bnmlp_model_set_array(quantized, index, BNMLP_ARRAY_INPUT_SCALE, &input_scale, 1);
    if (status == BNMLP_OK) status = bnmlp_model_set_weights(quantized, index, BNMLP_WEIGHT_BIAS, bias, out);
    bnmlp_release(q->allocator, scales);
    bnmlp_release(q->allocator, bias);
    return status;
}

/* Copies every public array of layer index of the folded model into quantized's. */
static bnmlp_status copy_layer(quantize_state *q, bnmlp_model *quantized, size_t index) {
    const bnmlp_layer *layer = bnmlp_model_layer_at(q->folded, index);
    for (int which = BNMLP_WEIGHT_KERNEL; which <= BNMLP_WEIGHT_MOVING_VARIANCE; which++) {
        const size_t count = which == BNMLP_WEIGHT_KERNEL ? layer->in * layer->out : layer->out;
        bnmlp_status status =
            bnmlp_model_get_weights(q->folded, index, (bnmlp_weight)which, q->floats, count);
        if (status == BNMLP_ERR_INVALID_ARGUMENT) continue; /* the layer has no such array */
        if (status == BNMLP_OK)
            status = bnmlp_model_set_weights(quantized, index, (bnmlp_weight)which, q->floats, count);
        if (status != BNMLP_OK) return status;
    }
    return BNMLP_OK;
}

/* Gives quantized the folded model's class names when they name every class. */
static bnmlp_status copy_class_names(const quantize_state *q, bnmlp_model *quantized) {
    const size_t classes = bnmlp_model_class_count(q->folded);
    size_t named = 0;
    while (bnmlp_model_class_name(q->folded, named)) named++;
    if (classes == 0 || named != classes) return BNMLP_OK;
    const char **names = bnmlp_alloc_zeroed(q->allocator, classes, sizeof *names);
    if (!names) return BNMLP_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < classes; i++) names[i] = bnmlp_model_class_name(q->folded, i);
    const bnmlp_status status = bnmlp_model_set_class_names(quantized, names, classes);
    bnmlp_release(q->allocator, (void *)names);
    return status;
}

/* Step 4 into *out. */
static bnmlp_status make_model(quantize_state *q, bnmlp_model **out) {
    const bnmlp_model *folded = q->folded;
    bnmlp_status status = BNMLP_OK;
    bnmlp_model *quantized =
        bnmlp_model_create_with_allocator(bnmlp_model_input_width(folded), q->allocator, &status);
    if (!quantized) return status;
    status = bnmlp_model_set_loss(quantized, bnmlp_model_loss(folded));
    const size_t layers = bnmlp_model_layer_count(folded);
    for (size_t i = 0; status == BNMLP_OK && i < layers; i++) {
        const bnmlp_layer *source = bnmlp_model_layer_at(folded, i);
        bnmlp_layer layer = {.kind = source->kind, .out = source->out, .config = source->config};
        if (layer.kind == BNMLP_LAYER_DENSE)
            layer.kind = BNMLP_LAYER_DENSE_INT8, layer.config.dense.use_bias = true;
        status = bnmlp_model_append_layer(quantized, layer);
    }
    for (size_t i = 0; status == BNMLP_OK && i < layers; i++)
        status = bnmlp_model_set_trainable(quantized, i, false);
    if (status == BNMLP_OK) status = copy_class_names(q, quantized);
    if (status == BNMLP_OK) status = bnmlp_model_set_threads(quantized, bnmlp_model_threads_setting(folded));
    if (status == BNMLP_OK) status = bnmlp_model_build(quantized, bnmlp_model_max_batch(folded), 0);
    for (size_t i = 0; status == BNMLP_OK && i < layers; i++)
        status = bnmlp_model_layer_at(folded, i)->kind == BNMLP_LAYER_DENSE ? quantize_dense(q, quantized, i)
                                                                            : copy_layer(q, quantized, i);
    if (status != BNMLP_OK) {
        bnmlp_model_free(quantized);
        return status;
    }
    *out = quantized;
    return BNMLP_OK;
}

/* The checks of the arguments (model built and not quantized), before anything is allocated. */
static bnmlp_status check(const bnmlp_model *model, const bnmlp_tensor *calibration) {
    if (!bnmlp_model_is_built(model)) return BNMLP_ERR_NOT_BUILT;
    if (bnmlp_model_is_quantized(model)) return BNMLP_ERR_UNSUPPORTED;
    size_t count;
    if (calibration->rows == 0 || calibration->cols != bnmlp_model_input_width(model) ||
        !bnmlp_size_mul(calibration->rows, calibration->cols, &count))
        return BNMLP_ERR_SHAPE;
    if (!bnmlp_all_finite(calibration->data, count)) return BNMLP_ERR_NOT_FINITE;
    for (size_t i = 0; i < bnmlp_model_layer_count(model); i++) {
        const bnmlp_layer *layer = bnmlp_model_layer_at(model, i);
        if (layer->kind == BNMLP_LAYER_DENSE && layer->in > BNMLP_INT8_MAX_DEPTH)
            return BNMLP_ERR_INVALID_ARGUMENT;
    }
    return BNMLP_OK;
}

bnmlp_model *bnmlp_model_quantize(const bnmlp_model *model, const bnmlp_tensor *calibration,
                                  const bnmlp_allocator *allocator, bnmlp_status *status) {
    if (!model || !calibration || !calibration->data ||
        (allocator && (!allocator->allocate || !allocator->release))) {
        bnmlp_set_status(status, BNMLP_ERR_NULL_ARGUMENT);
        return NULL;
    }
    bnmlp_status result = check(model, calibration);
    if (result != BNMLP_OK) {
        bnmlp_set_status(status, result);
        return NULL;
    }
    quantize_state q = {.allocator = allocator ? allocator : bnmlp_model_allocator(model)};
    q.folded = bnmlp_export_fold(model, allocator, false, &result);
    const size_t layers = q.folded ? bnmlp_model_layer_count(q.folded) : 0;
    size_t largest = 1;
    for (size_t i = 0; i < layers; i++) {
        const bnmlp_layer *layer = bnmlp_model_layer_at(q.folded, i);
        const size_t kernel = layer->in * layer->out; /* the fold has allocated it: no overflow */
        if (kernel > largest) largest = kernel;
    }
    if (q.folded) {
        q.input_max = bnmlp_alloc_zeroed(q.allocator, layers, sizeof *q.input_max);
        q.floats = bnmlp_alloc_zeroed(q.allocator, largest, sizeof *q.floats);
        q.codes = bnmlp_alloc_zeroed(q.allocator, largest, sizeof *q.codes);
        if (!q.input_max || !q.floats || !q.codes) result = BNMLP_ERR_OUT_OF_MEMORY;
    }
    if (result == BNMLP_OK) result = calibrate(&q, calibration);
    bnmlp_model *quantized = NULL;
    if (result == BNMLP_OK) result = make_model(&q, &quantized);
    state_release(&q);
    bnmlp_set_status(status, result);
    return quantized;
}
