/*
 * onnx_cases.c - the library's side of the ONNX check (tools/check_onnx.py): builds and briefly
 * trains models of several shapes (every activation, batch norm before and after activations,
 * on the input, at the end, without center or scale, frozen; normalization; dropout; sigmoid,
 * softmax and linear heads; a dense layer without bias; class names), exports each with
 * bnmlp_model_export(..., "onnx", ...) and writes, for each case NAME, into DIR:
 *   NAME.onnx     the export
 *   NAME.x.npy    random inputs (rows, inputs), float32
 *   NAME.y.npy    the library's predictions for them (bnmlp_model_predict), float32
 * Usage: onnx_cases DIR (an existing directory). Exit status 0 when every case was written.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bnmlp.h"

/* Layers a case may have. */
#define MAX_LAYERS 12

/* One layer of a case. */
typedef struct case_layer {
    bnmlp_layer_kind kind;       /* which bnmlp_model_add_* */
    size_t units;                /* dense: width */
    bnmlp_activation activation; /* dense: its activation; activation layers: the function */
    float alpha;                 /* leaky_relu / elu's alpha */
    bool no_bias;                /* dense: use_bias false */
    bool no_center, no_scale;    /* batch norm: beta / gamma off */
    bool frozen;                 /* set not trainable before training */
    float rate;                  /* dropout's rate */
} case_layer;

/* One model to export. */
typedef struct export_case {
    const char *name;              /* file names and the graph's name */
    size_t inputs;                 /* input width */
    bnmlp_loss loss;               /* the loss it trains on */
    case_layer layers[MAX_LAYERS]; /* terminated by a layer of units 0 and kind dense */
    const char *class_names[4];    /* NULL-terminated, or all NULL */
} export_case;

#define DENSE(n, f)                                                                                          \
    { .kind = BNMLP_LAYER_DENSE, .units = (n), .activation = (f) }
#define ACT(f, a)                                                                                            \
    { .kind = BNMLP_LAYER_ACTIVATION, .activation = (f), .alpha = (a) }
#define BN                                                                                                   \
    { .kind = BNMLP_LAYER_BATCHNORM }
#define NORM                                                                                                 \
    { .kind = BNMLP_LAYER_NORMALIZATION }
#define DROP(r)                                                                                              \
    { .kind = BNMLP_LAYER_DROPOUT, .rate = (r) }

static const export_case CASES[] = {
    {"relu_bn_sigmoid",
     4,
     BNMLP_LOSS_BINARY_CROSSENTROPY,
     {NORM, DENSE(16, BNMLP_ACTIVATION_RELU), BN, DROP(0.2f), DENSE(1, BNMLP_ACTIVATION_SIGMOID)},
     {"negative", "positive \"quoted\"", NULL}},
    {"bn_before_activation_softmax",
     5,
     BNMLP_LOSS_CATEGORICAL_CROSSENTROPY,
     {DENSE(8, BNMLP_ACTIVATION_LINEAR),
      BN,
      ACT(BNMLP_ACTIVATION_LEAKY_RELU, 0.2f),
      DENSE(8, BNMLP_ACTIVATION_TANH),
      {.kind = BNMLP_LAYER_BATCHNORM, .no_center = true},
      DENSE(3, BNMLP_ACTIVATION_SOFTMAX)},
     {"a", "b", "c", NULL}},
    {"input_bn_elu_gelu_silu",
     3,
     BNMLP_LOSS_MEAN_SQUARED_ERROR,
     {BN,
      DENSE(12, BNMLP_ACTIVATION_ELU),
      DENSE(12, BNMLP_ACTIVATION_GELU),
      {.kind = BNMLP_LAYER_BATCHNORM, .no_scale = true},
      DENSE(6, BNMLP_ACTIVATION_SILU),
      DENSE(2, BNMLP_ACTIVATION_LINEAR)},
     {NULL}},
    {"bn_last_frozen_no_bias",
     6,
     BNMLP_LOSS_MEAN_SQUARED_ERROR,
     {{.kind = BNMLP_LAYER_DENSE, .units = 5, .activation = BNMLP_ACTIVATION_SIGMOID, .no_bias = true},
      {.kind = BNMLP_LAYER_BATCHNORM, .frozen = true},
      DENSE(4, BNMLP_ACTIVATION_LINEAR),
      {.kind = BNMLP_LAYER_BATCHNORM, .no_center = true, .no_scale = true}},
     {NULL}},
    {"softmax_layer_after_bn",
     4,
     BNMLP_LOSS_CATEGORICAL_CROSSENTROPY,
     {DENSE(10, BNMLP_ACTIVATION_TANH), DROP(0.5f), DENSE(4, BNMLP_ACTIVATION_LINEAR), BN,
      ACT(BNMLP_ACTIVATION_SOFTMAX, 0.0f)},
     {NULL}},
    {"several_sigmoid_outputs",
     3,
     BNMLP_LOSS_BINARY_CROSSENTROPY,
     {DENSE(6, BNMLP_ACTIVATION_ELU), ACT(BNMLP_ACTIVATION_RELU, 0.0f), DENSE(3, BNMLP_ACTIVATION_SIGMOID)},
     {NULL}},
    {"identity_only",
     3,
     BNMLP_LOSS_MEAN_SQUARED_ERROR,
     {DROP(0.1f), ACT(BNMLP_ACTIVATION_LINEAR, 0.0f)},
     {NULL}},
};

#define CASE_COUNT (sizeof CASES / sizeof CASES[0])

/* Rows of training data and of the exported inputs. */
#define TRAIN_ROWS 96
#define TEST_ROWS 37

/* A small deterministic generator (xorshift64*), uniform in [0, 1). */
static double uniform(uint64_t *state) {
    *state ^= *state >> 12, *state ^= *state << 25, *state ^= *state >> 27;
    return (double)((*state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* Prints the failing step and returns true when status is an error. */
static bool failed(bnmlp_status status, const char *name, const char *what) {
    if (status == BNMLP_OK) return false;
    fprintf(stderr, "onnx_cases: %s: %s: %s\n", name, what, bnmlp_status_string(status));
    return true;
}

static bnmlp_status add_layer(bnmlp_model *model, const case_layer *layer) {
    if (layer->kind == BNMLP_LAYER_DENSE) {
        bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(layer->units);
        dense.activation = layer->activation;
        dense.use_bias = !layer->no_bias;
        if (layer->activation == BNMLP_ACTIVATION_ELU) dense.activation_alpha = 1.0f;
        return bnmlp_model_add_dense(model, &dense);
    }
    if (layer->kind == BNMLP_LAYER_ACTIVATION)
        return bnmlp_model_add_activation(model, layer->activation, layer->alpha);
    if (layer->kind == BNMLP_LAYER_BATCHNORM) {
        bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
        bn.momentum = 0.5f; /* moving statistics far from their start after a few steps */
        bn.center = !layer->no_center, bn.scale = !layer->no_scale;
        return bnmlp_model_add_batchnorm(model, &bn);
    }
    if (layer->kind == BNMLP_LAYER_NORMALIZATION) return bnmlp_model_add_normalization(model);
    return bnmlp_model_add_dropout(model, layer->rate, 7);
}

/* Inputs: per feature an offset and a scale, so that normalization and batch norm on the input
 * have something to do. */
static void fill_inputs(bnmlp_tensor *x, uint64_t *state) {
    for (size_t r = 0; r < x->rows; r++)
        for (size_t c = 0; c < x->cols; c++)
            x->data[r * x->cols + c] =
                (float)((double)c - 1.0 + (1.0 + 0.5 * (double)c) * (4.0 * uniform(state) - 2.0));
}

/* Targets of loss for inputs x and a model of `outputs` outputs. */
static void fill_targets(bnmlp_tensor *y, const bnmlp_tensor *x, bnmlp_loss loss, size_t outputs,
                         uint64_t *state) {
    for (size_t r = 0; r < y->rows; r++) {
        const float first = x->data[r * x->cols];
        if (loss == BNMLP_LOSS_CATEGORICAL_CROSSENTROPY) {
            y->data[r] = (float)((size_t)(fabsf(first) * 2.0f) % outputs);
        } else {
            for (size_t k = 0; k < y->cols; k++)
                y->data[r * y->cols + k] = loss == BNMLP_LOSS_BINARY_CROSSENTROPY
                                               ? (first + (float)k > 0.0f ? 1.0f : 0.0f)
                                               : (float)(2.0 * uniform(state) - 1.0);
        }
    }
}

static bool write_npy(const char *dir, const char *name, const char *suffix, const bnmlp_tensor *t) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.%s.npy", dir, name, suffix);
    bnmlp_error_detail detail = {0};
    const bnmlp_status status = bnmlp_npy_write(path, t, NULL, &detail);
    if (status != BNMLP_OK) fprintf(stderr, "onnx_cases: %s: %s\n", path, detail.message);
    return status == BNMLP_OK;
}

/* Builds, trains, exports case c and writes its inputs and predictions. */
static bool run_case(const export_case *c, const char *dir, uint64_t seed) {
    uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(c->inputs, &status);
    if (failed(status, c->name, "create")) return false;
    bool ok = false;
    bnmlp_tensor *x = NULL, *y = NULL, *tx = NULL, *ty = NULL;
    size_t count = 0;
    while (count < MAX_LAYERS && !(c->layers[count].kind == BNMLP_LAYER_DENSE && c->layers[count].units == 0))
        count++;
    for (size_t i = 0; i < count; i++)
        if (failed(add_layer(model, &c->layers[i]), c->name, "add layer")) goto done;
    if (failed(bnmlp_model_set_loss(model, c->loss), c->name, "set_loss") ||
        failed(bnmlp_model_build(model, 32, (uint32_t)seed), c->name, "build"))
        goto done;
    const size_t outputs = bnmlp_model_output_width(model);
    x = bnmlp_tensor_create(TRAIN_ROWS, c->inputs, &status);
    y = bnmlp_tensor_create(TRAIN_ROWS, c->loss == BNMLP_LOSS_CATEGORICAL_CROSSENTROPY ? 1 : outputs,
                            &status);
    tx = bnmlp_tensor_create(TEST_ROWS, c->inputs, &status);
    ty = bnmlp_tensor_create(TEST_ROWS, outputs, &status);
    if (!x || !y || !tx || !ty) goto done;
    fill_inputs(x, &state);
    fill_targets(y, x, c->loss, outputs, &state);
    fill_inputs(tx, &state);

    /* The model's own layer indices: a dense layer with an activation is two. */
    for (size_t i = 0, index = 0; i < count; i++) {
        const case_layer *l = &c->layers[i];
        if (l->kind == BNMLP_LAYER_NORMALIZATION &&
            failed(bnmlp_model_adapt(model, index, x), c->name, "adapt"))
            goto done;
        if (l->frozen) {
            /* Statistics of its own, then frozen: inference uses them as they are. */
            float mean[64], variance[64];
            bnmlp_layer_info info;
            if (failed(bnmlp_model_layer_info(model, index, &info), c->name, "layer_info")) goto done;
            for (size_t k = 0; k < info.output_width; k++) {
                mean[k] = (float)(uniform(&state) - 0.5);
                variance[k] = (float)(0.05 + uniform(&state));
            }
            if (failed(
                    bnmlp_model_set_weights(model, index, BNMLP_WEIGHT_MOVING_MEAN, mean, info.output_width),
                    c->name, "set mean") ||
                failed(bnmlp_model_set_weights(model, index, BNMLP_WEIGHT_MOVING_VARIANCE, variance,
                                               info.output_width),
                       c->name, "set variance") ||
                failed(bnmlp_model_set_trainable(model, index, false), c->name, "freeze"))
                goto done;
        }
        index += l->kind == BNMLP_LAYER_DENSE && l->activation != BNMLP_ACTIVATION_LINEAR ? 2 : 1;
    }
    if (c->class_names[0]) {
        size_t names = 0;
        while (c->class_names[names]) names++;
        if (failed(bnmlp_model_set_class_names(model, c->class_names, names), c->name, "class names"))
            goto done;
    }

    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = 3, fit.batch_size = 16;
    fit.optimizer.sgd.learning_rate = 0.05f;
    if (failed(bnmlp_model_fit(model, x, y, &fit, NULL, NULL), c->name, "fit")) goto done;
    if (failed(bnmlp_model_predict(model, tx, ty), c->name, "predict")) goto done;

    char path[1024];
    snprintf(path, sizeof path, "%s/%s.onnx", dir, c->name);
    bnmlp_export_options options = BNMLP_EXPORT_OPTIONS_DEFAULT;
    options.name = c->name;
    bnmlp_error_detail detail = {0};
    status = bnmlp_model_export(model, "onnx", path, &options, &detail);
    if (status != BNMLP_OK) {
        fprintf(stderr, "onnx_cases: %s: export: %s (%s)\n", c->name, bnmlp_status_string(status),
                detail.message);
        goto done;
    }
    ok = write_npy(dir, c->name, "x", tx) && write_npy(dir, c->name, "y", ty);
done:
    bnmlp_tensor_free(x), bnmlp_tensor_free(y), bnmlp_tensor_free(tx), bnmlp_tensor_free(ty);
    bnmlp_model_free(model);
    return ok;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: onnx_cases DIR\n");
        return 2;
    }
    size_t written = 0;
    for (size_t i = 0; i < CASE_COUNT; i++) {
        if (run_case(&CASES[i], argv[1], i + 1)) written++;
    }
    printf("onnx_cases: %zu of %zu cases written to %s\n", written, CASE_COUNT, argv[1]);
    return written == CASE_COUNT ? 0 : 1;
}
