/* dense.c - the fully connected layer: y = x w + b. */
#include "layers/layers.h"

#include "core/core.h"
#include "kernels/kernels.h"
#include "layers/layer.h"

/* bnmlp_dense_forward, reading w's panels (op(B) = w packed ahead) when w_panels is not NULL. */
static void dense_forward(const bnmlp_kernel_context *kernels, float *y, const float *x, const float *w,
                          const float *w_panels, const float *b, size_t batch, size_t in, size_t out) {
    /* y (B, OUT) = x (B, IN) . w (IN, OUT) + b, the bias added by the GEMM as it stores. */
    bnmlp_kernel_gemm_panels(kernels, false, false, batch, out, in, x, in, w, out, w_panels, b, false, y,
                             out);
}

void bnmlp_dense_forward(const bnmlp_kernel_context *kernels, float *y, const float *x, const float *w,
                         const float *b, size_t batch, size_t in, size_t out) {
    dense_forward(kernels, y, x, w, NULL, b, batch, in, out);
}

/* bnmlp_dense_backward, with dw written (accumulate_dw false) or added to. Written, each
 * element is the GEMM's sum of its products from +0.0 (the micro-kernels and the direct path
 * start every sum there, and a round-to-nearest sum that starts at +0.0 is never -0.0), which is
 * exactly what adding that sum to a zeroed dw gives: x + +0.0 == x bit for bit unless x is -0.0. */
static void dense_backward(const bnmlp_kernel_context *kernels, float *dx, float *dw, float *db,
                           const float *dy, const float *x, const float *w, const float *w_panels,
                           size_t batch, size_t in, size_t out, bool accumulate_dw) {
    /* dL/dw (IN, OUT) (+)= x^T (IN, B) . dy (B, OUT): each weight collects (input) x (upstream
     * gradient) over the batch. */
    bnmlp_kernel_gemm(kernels, true, false, in, out, batch, x, in, dy, out, NULL, accumulate_dw, dw, out);
    /* dL/db = sum over the batch of dy. */
    if (db) bnmlp_kernel_column_sums_accumulate(kernels, db, dy, batch, out);
    /* dL/dx (B, IN) = dy (B, OUT) . w^T (OUT, IN): each input feeds every unit through its row of w. */
    if (dx)
        bnmlp_kernel_gemm_panels(kernels, false, true, batch, in, out, dy, out, w, out, w_panels, NULL, false,
                                 dx, in);
}

void bnmlp_dense_backward(const bnmlp_kernel_context *kernels, float *dx, float *dw, float *db,
                          const float *dy, const float *x, const float *w, size_t batch, size_t in,
                          size_t out) {
    dense_backward(kernels, dx, dw, db, dy, x, w, NULL, batch, in, out, true);
}

/* ---- the dense layer kind ------------------------------------------------------------------ */

static bnmlp_status dense_check(const bnmlp_layer *layer) {
    const bnmlp_initializer init = layer->config.dense.initializer;
    const bool known = init == BNMLP_INIT_GLOROT_UNIFORM || init == BNMLP_INIT_GLOROT_NORMAL ||
                       init == BNMLP_INIT_HE_UNIFORM || init == BNMLP_INIT_HE_NORMAL ||
                       init == BNMLP_INIT_ZEROS;
    const bnmlp_precision precision = layer->config.dense.precision;
    const bool precision_known = precision == BNMLP_PRECISION_FP32 || precision == BNMLP_PRECISION_BF16;
    return layer->out > 0 && known && precision_known ? BNMLP_OK : BNMLP_ERR_INVALID_ARGUMENT;
}

static bool dense_plan(const bnmlp_layer *layer, size_t *out, size_t lengths[BNMLP_ARRAY_COUNT]) {
    const size_t units = layer->out; /* configured: the units */
    *out = units;
    lengths[BNMLP_ARRAY_BIAS] = layer->config.dense.use_bias ? units : 0;
    return bnmlp_size_mul(layer->in, units, &lengths[BNMLP_ARRAY_KERNEL]);
}

static void dense_initialize(const bnmlp_layer *layer, float *const arrays[BNMLP_ARRAY_COUNT],
                             bnmlp_random *rng) {
    /* The kernel from its initializer; the bias stays zero (Keras's "zeros"). */
    bnmlp_initialize_kernel(arrays[BNMLP_ARRAY_KERNEL], layer->in, layer->out,
                            layer->config.dense.initializer, rng);
}

static size_t dense_gemm_scratch(const bnmlp_layer *layer, const bnmlp_gemm_plan *plan, size_t max_batch,
                                 size_t threads) {
    /* y = x w (B, OUT, IN); dw += x^T dy (IN, OUT, B); dx = dy w^T (B, IN, OUT). */
    const size_t shapes[3][3] = {{max_batch, layer->out, layer->in},
                                 {layer->in, layer->out, max_batch},
                                 {max_batch, layer->in, layer->out}};
    size_t most = 0;
    for (size_t k = 0; k < 3; k++) {
        const size_t need =
            bnmlp_gemm_scratch_floats(plan, shapes[k][0], shapes[k][1], shapes[k][2], threads);
        if (need == 0) return 0; /* only on overflow */
        if (need > most) most = need;
    }
    return most;
}

static size_t dense_panel_floats(const bnmlp_layer *layer, const bnmlp_gemm_plan *plan, size_t max_batch,
                                 bnmlp_panel_kind kind, bool input_gradient) {
    /* y = x w (B, OUT, IN) reads op(B) = w (IN, OUT); dx = dy w^T (B, IN, OUT) reads w^T (OUT, IN).
     * Only products that can take the packed path at the planned batch: a tiny model's take the
     * direct one, and get none. */
    const size_t in = layer->in, out = layer->out;
    if (kind == BNMLP_PANEL_FORWARD)
        return bnmlp_gemm_is_direct(max_batch, out, in) ? 0 : bnmlp_gemm_panels_floats(plan, in, out);
    if (!input_gradient || bnmlp_gemm_is_direct(max_batch, in, out)) return 0;
    return bnmlp_gemm_panels_floats(plan, out, in);
}

static void dense_pack_panels(const bnmlp_layer *layer, const bnmlp_gemm_plan *plan, const float *kernel,
                              size_t from, size_t to) {
    const bool bf16 = layer->config.dense.precision == BNMLP_PRECISION_BF16;
    const size_t in = layer->in, out = layer->out;
    if (layer->panels[BNMLP_PANEL_FORWARD])
        bnmlp_gemm_pack_panels(plan, bf16, false, in, out, kernel, from, to,
                               layer->panels[BNMLP_PANEL_FORWARD]);
    if (layer->panels[BNMLP_PANEL_INPUT_GRADIENT])
        bnmlp_gemm_pack_panels(plan, bf16, true, out, in, kernel, from, to,
                               layer->panels[BNMLP_PANEL_INPUT_GRADIENT]);
}

/* The pass's kernels, with bf16 products when the layer's precision asks for them. */
static bnmlp_kernel_context products_of(const bnmlp_layer_pass *pass) {
    bnmlp_kernel_context kernels = *pass->kernels;
    kernels.bf16 = pass->layer->config.dense.precision == BNMLP_PRECISION_BF16;
    return kernels;
}

/* The panels of kind for this pass's products, or NULL (none, or not current). */
static const float *panels_of(const bnmlp_layer_pass *pass, bnmlp_panel_kind kind) {
    return pass->panels ? pass->layer->panels[kind] : NULL;
}

static void dense_forward_pass(const bnmlp_layer_pass *pass) {
    const bnmlp_layer *layer = pass->layer;
    const bnmlp_kernel_context kernels = products_of(pass);
    dense_forward(&kernels, pass->y, pass->x, pass->arrays[BNMLP_ARRAY_KERNEL],
                  panels_of(pass, BNMLP_PANEL_FORWARD), pass->arrays[BNMLP_ARRAY_BIAS], pass->rows, layer->in,
                  layer->out);
}

static void dense_backward_pass(const bnmlp_layer_pass *pass) {
    const bnmlp_layer *layer = pass->layer;
    const bnmlp_kernel_context kernels = products_of(pass);
    /* The kernel's gradient is written (writes_grads): the model skips zeroing it. */
    dense_backward(&kernels, pass->dx, pass->grads[BNMLP_ARRAY_KERNEL], pass->grads[BNMLP_ARRAY_BIAS],
                   pass->dy, pass->x, pass->arrays[BNMLP_ARRAY_KERNEL],
                   panels_of(pass, BNMLP_PANEL_INPUT_GRADIENT), pass->rows, layer->in, layer->out, false);
}

/* The kernel initializer and the bias setting, e.g. "glorot_uniform" or "he_uniform, no bias". */
static void dense_describe(const bnmlp_layer *layer, char *text, size_t size) {
    static const char *const initializers[] = {[BNMLP_INIT_GLOROT_UNIFORM] = "glorot_uniform",
                                               [BNMLP_INIT_GLOROT_NORMAL] = "glorot_normal",
                                               [BNMLP_INIT_HE_UNIFORM] = "he_uniform",
                                               [BNMLP_INIT_HE_NORMAL] = "he_normal",
                                               [BNMLP_INIT_ZEROS] = "zeros"};
    const bnmlp_initializer init = layer->config.dense.initializer;
    const size_t known = sizeof initializers / sizeof initializers[0];
    snprintf(text, size, "%s%s%s", (size_t)init < known ? initializers[init] : "?",
             layer->config.dense.use_bias ? "" : ", no bias",
             layer->config.dense.precision == BNMLP_PRECISION_BF16 ? ", bf16" : "");
}

const bnmlp_layer_ops bnmlp_dense_ops = {
    .kind = BNMLP_LAYER_DENSE,
    .class_name = "Dense",
    .prefix = "dense",
    .check = dense_check,
    .plan = dense_plan,
    .initialize = dense_initialize,
    .gemm_scratch = dense_gemm_scratch,
    .panel_floats = dense_panel_floats,
    .pack_panels = dense_pack_panels,
    .forward = dense_forward_pass,
    .backward = dense_backward_pass,
    .writes_grads = 1u << BNMLP_ARRAY_KERNEL,
    .describe = dense_describe,
};
