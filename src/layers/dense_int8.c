/* dense_int8.c - the int8 dense layer (bnmlp_model_quantize): y = dequantize(quantize(x) . W8) + b,
 * inference only.
 *
 * Its saved arrays are the codes (in, out) as floats holding integers in [-127, 127], the
 * per-column weight scales s_w (out), the input scale s_x (1) and the bias (out, a parameter, so
 * bnmlp_model_get_weights reads it). The product runs on their packed form (kernels/int8.h),
 * packed once into the layer's cache array whenever they are written (build, a file load,
 * set_weights / set_params) and never during a pass. */
#include "core/core.h"
#include "kernels/kernels.h"
#include "layers/layer.h"
#include "layers/layers.h"

/* Floats that hold the packed product's bytes. */
static size_t packed_floats(const bnmlp_layer *layer) {
    const size_t bytes = bnmlp_int8_packed_bytes(layer->in, layer->out);
    return bytes ? (bytes + sizeof(float) - 1) / sizeof(float) : 0;
}

static bnmlp_status dense_int8_check(const bnmlp_layer *layer) {
    return layer->out > 0 && layer->in > 0 && layer->in <= BNMLP_INT8_MAX_DEPTH ? BNMLP_OK
                                                                                : BNMLP_ERR_INVALID_ARGUMENT;
}

static bool dense_int8_plan(const bnmlp_layer *layer, size_t *out, size_t lengths[BNMLP_ARRAY_COUNT]) {
    const size_t units = layer->out;
    *out = units;
    lengths[BNMLP_ARRAY_BIAS] = units;
    lengths[BNMLP_ARRAY_WEIGHT_SCALE] = units;
    lengths[BNMLP_ARRAY_INPUT_SCALE] = 1;
    lengths[BNMLP_ARRAY_INT8_PACKED] = packed_floats(layer);
    return lengths[BNMLP_ARRAY_INT8_PACKED] > 0 &&
           bnmlp_size_mul(layer->in, units, &lengths[BNMLP_ARRAY_INT8_KERNEL]);
}

/* The packed product of the saved arrays, into the cache array; *view describes it. */
static void pack(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT], bnmlp_int8_weights *view) {
    bnmlp_int8_pack(arrays[BNMLP_ARRAY_INT8_PACKED], arrays[BNMLP_ARRAY_INT8_KERNEL],
                    arrays[BNMLP_ARRAY_WEIGHT_SCALE], arrays[BNMLP_ARRAY_INPUT_SCALE][0],
                    arrays[BNMLP_ARRAY_BIAS], layer->in, layer->out, view);
}

static void dense_int8_derive(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT]) {
    bnmlp_int8_weights view;
    pack(layer, arrays, &view);
}

static void dense_int8_initialize(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT],
                                  bnmlp_random *rng) {
    (void)rng; /* codes and bias zero, scales 1: y = 0 until the arrays are set */
    for (size_t j = 0; j < layer->out; j++) arrays[BNMLP_ARRAY_WEIGHT_SCALE][j] = 1.0f;
    arrays[BNMLP_ARRAY_INPUT_SCALE][0] = 1.0f;
    dense_int8_derive(layer, arrays);
}

static void dense_int8_array_set(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT],
                                 bnmlp_array array) {
    (void)array;
    dense_int8_derive(layer, arrays);
}

static size_t dense_int8_gemm_scratch(const bnmlp_layer *layer, const bnmlp_gemm_plan *plan, size_t max_batch,
                                      size_t threads) {
    (void)plan, (void)threads; /* the codes of the input rows */
    return bnmlp_int8_scratch_floats(max_batch, layer->in);
}

static void dense_int8_forward(const bnmlp_layer_pass *pass) {
    const bnmlp_layer *layer = pass->layer;
    float *const *a = pass->arrays;
    bnmlp_int8_weights view;
    bnmlp_int8_view(a[BNMLP_ARRAY_INT8_PACKED], layer->in, layer->out, a[BNMLP_ARRAY_INPUT_SCALE][0], &view);
    bnmlp_kernel_int8_dense(pass->kernels, pass->y, pass->x, pass->rows, &view, pass->kernels->scratch);
}

/* Never run (a model with this layer refuses training); gives no gradient if it were. */
static void dense_int8_backward(const bnmlp_layer_pass *pass) {
    if (!pass->dx) return;
    for (size_t i = 0; i < pass->rows * pass->layer->in; i++) pass->dx[i] = 0.0f;
}

static void dense_int8_describe(const bnmlp_layer *layer, char *text, size_t size) {
    (void)layer;
    snprintf(text, size, "int8");
}

const bnmlp_layer_ops bnmlp_dense_int8_ops = {
    .kind = BNMLP_LAYER_DENSE_INT8,
    .class_name = "DenseInt8",
    .prefix = "dense_int8",
    .inference_only = true,
    .check = dense_int8_check,
    .plan = dense_int8_plan,
    .initialize = dense_int8_initialize,
    .gemm_scratch = dense_int8_gemm_scratch,
    .forward = dense_int8_forward,
    .backward = dense_int8_backward,
    .array_set = dense_int8_array_set,
    .derive = dense_int8_derive,
    .describe = dense_int8_describe,
};
