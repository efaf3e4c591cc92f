/*
 * onnx.c - the "onnx" export row: the model's inference mode as one ONNX file (IR version 7,
 * the default operator set at version 13), written with our own protobuf writer (protobuf.h).
 *
 * The graph: input "input" float [N, inputs] (N a dynamic batch dimension), output "output"
 * float [N, outputs]; each layer becomes the nodes below, in order, reading the previous
 * layer's tensor:
 *   Dense            Gemm(x, W^T, b) with transB = 1: B is stored out x in (PyTorch's layout,
 *                    the transpose of our in x out kernel); no C without a bias
 *   Activation       its own operator, from a table that expands the library's activation table
 *                    (so a new activation does not compile until it has its ONNX form): Relu,
 *                    LeakyRelu(alpha), Sigmoid, Tanh, Softmax(axis = -1), Elu(alpha); gelu as
 *                    Mul(Mul(x, 0.5), Add(Erf(Mul(x, 1/sqrt 2)), 1)) in the library's order
 *                    (ONNX's Gelu exists only from opset 20); silu as Mul(x, Sigmoid(x)); linear
 *                    writes nothing
 *   BatchNorm        inference form as the library computes it: Sub(moving_mean),
 *                    Mul(rstd) with rstd = 1 / sqrt(moving_variance + epsilon) from
 *                    bnmlp_batchnorm_rstd, Mul(gamma) when scale, Add(beta) when center
 *   Normalization    Sub(mean), Div(std) with std from bnmlp_normalization_std
 *   Dropout          nothing (the identity in inference)
 * A final activation that the loss folds in during training (sigmoid with binary, softmax with
 * categorical cross-entropy) is a layer like any other, so the graph outputs probabilities, as
 * bnmlp_model_predict does. A model whose layers all write nothing gets one Identity node.
 * Tensors are named after the layer: "dense_0" (its output), "dense_0/weight", "dense_0/bias",
 * "batch_normalization_2/centered", ...; the last node writes "output".
 *
 * metadata_props: "loss" (Keras's name), "layers" (each layer's class, widths and settings),
 * "class_names" (a JSON array, when the model has names), "libbnmlp_version".
 *
 * Every message is written with its fields in field-number order, repeated scalars unpacked
 * (onnx.proto is proto2 and packs none of those we use), as protobuf's own serializers write
 * them: the same model always gives the same bytes. The file is written atomically
 * (bnmlp_file_writer): on error no file is left.
 *
 * The contract: the field numbers of onnx.proto (ONNX's IR definition, IR version 7) used here.
 *   ModelProto          ir_version 1 (int64), producer_name 2, producer_version 3 (string),
 *                       graph 7 (GraphProto), opset_import 8 (OperatorSetIdProto, repeated),
 *                       metadata_props 14 (StringStringEntryProto, repeated)
 *   OperatorSetIdProto  domain 1 (string), version 2 (int64)
 *   StringStringEntryProto  key 1, value 2 (string)
 *   GraphProto          node 1 (NodeProto, repeated), name 2 (string), initializer 5
 *                       (TensorProto, repeated), input 11, output 12 (ValueInfoProto, repeated)
 *   NodeProto           input 1, output 2 (string, repeated), name 3, op_type 4 (string),
 *                       attribute 5 (AttributeProto, repeated)
 *   AttributeProto      name 1 (string), f 2 (float), i 3 (int64), type 20 (enum
 *                       AttributeType: FLOAT = 1, INT = 2)
 *   TensorProto         dims 1 (int64, repeated), data_type 2 (int32; DataType FLOAT = 1),
 *                       name 8 (string), raw_data 9 (bytes: fixed-width little-endian IEEE 754)
 *   ValueInfoProto      name 1 (string), type 2 (TypeProto)
 *   TypeProto           tensor_type 1 (TypeProto.Tensor)
 *   TypeProto.Tensor    elem_type 1 (int32, a DataType), shape 2 (TensorShapeProto)
 *   TensorShapeProto    dim 1 (Dimension, repeated)
 *   Dimension           dim_value 1 (int64), dim_param 2 (string)
 */
#include "export/export.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/bytes.h"
#include "core/file.h"
#include "export/protobuf.h"
#include "layers/layers.h"
#include "model/model.h"

/* What the file declares. */
#define ONNX_IR_VERSION 7
#define ONNX_OPSET 13
#define ONNX_FLOAT 1 /* TensorProto.DataType FLOAT */

/* Field numbers (the contract above). */
enum {
    MODEL_IR_VERSION = 1,
    MODEL_PRODUCER_NAME = 2,
    MODEL_PRODUCER_VERSION = 3,
    MODEL_GRAPH = 7,
    MODEL_OPSET_IMPORT = 8,
    MODEL_METADATA_PROPS = 14,
    OPSET_DOMAIN = 1,
    OPSET_VERSION = 2,
    ENTRY_KEY = 1,
    ENTRY_VALUE = 2,
    GRAPH_NODE = 1,
    GRAPH_NAME = 2,
    GRAPH_INITIALIZER = 5,
    GRAPH_INPUT = 11,
    GRAPH_OUTPUT = 12,
    NODE_INPUT = 1,
    NODE_OUTPUT = 2,
    NODE_NAME = 3,
    NODE_OP_TYPE = 4,
    NODE_ATTRIBUTE = 5,
    ATTRIBUTE_NAME = 1,
    ATTRIBUTE_F = 2,
    ATTRIBUTE_I = 3,
    ATTRIBUTE_TYPE = 20,
    TENSOR_DIMS = 1,
    TENSOR_DATA_TYPE = 2,
    TENSOR_NAME = 8,
    TENSOR_RAW_DATA = 9,
    VALUE_INFO_NAME = 1,
    VALUE_INFO_TYPE = 2,
    TYPE_TENSOR_TYPE = 1,
    TENSOR_TYPE_ELEM_TYPE = 1,
    TENSOR_TYPE_SHAPE = 2,
    SHAPE_DIM = 1,
    DIM_VALUE = 1,
    DIM_PARAM = 2
};

/* AttributeProto.AttributeType values. */
enum { ATTRIBUTE_FLOAT = 1, ATTRIBUTE_INT = 2 };

/* Longest layer name (a prefix and an index) and tensor name (a layer name and a step), with
 * the terminating 0. */
#define LAYER_NAME_SIZE 48
#define NAME_SIZE 96

/* One attribute of a node: an int or a float. */
typedef struct onnx_attribute {
    const char *name; /* "transB", "alpha", "axis" */
    bool is_float;    /* f, else i */
    float f;          /* the float value */
    int64_t i;        /* the int value */
} onnx_attribute;

/* The graph under construction. Two passes over the layers: the first only counts the nodes
 * each layer writes (to find the last layer that writes any, whose last node writes "output"),
 * the second writes. */
typedef struct onnx_writer {
    bool counting;                    /* the first pass: count nodes, write nothing */
    size_t nodes;                     /* nodes so far */
    bnmlp_pb_buffer node_bytes;       /* GraphProto.node fields */
    bnmlp_pb_buffer tensor_bytes;     /* GraphProto.initializer fields */
    const bnmlp_model *model;         /* read only */
    bool final_layer;                 /* its last node writes "output" */
    char layer_name[LAYER_NAME_SIZE]; /* "dense_0" */
    char current[NAME_SIZE];          /* the tensor the next node reads */
} onnx_writer;

/* Array `array` of layer (its floats in the model's block), or NULL when absent. */
static const float *array_of(const onnx_writer *w, const bnmlp_layer *layer, bnmlp_array array) {
    return bnmlp_layer_array(w->model, layer, array);
}

/* name = the layer's name "/" step, e.g. "dense_0/weight". */
static void step_name(const onnx_writer *w, const char *step, char name[NAME_SIZE]) {
    /* The layer's name is a prefix and a number, a step a short word: this always fits. */
    const int length = snprintf(name, NAME_SIZE, "%s/%s", w->layer_name, step);
    assert(length > 0 && length < NAME_SIZE);
    (void)length;
}

/* ---- initializers ------------------------------------------------------------------------- */

/* Appends an initializer named name (the layer's name / step) of rank 0 (rows 0, cols 0: a
 * scalar), 1 (rows 0: cols values) or 2 (rows x cols). values holds rows x cols floats
 * (cols for rank 0 or 1); transpose reads values as cols x rows instead (element (r, c) is
 * values[c * rows + r]). Writes its name into name. */
static void initializer(onnx_writer *w, const char *step, size_t rows, size_t cols, const float *values,
                        bool transpose, char name[NAME_SIZE]) {
    step_name(w, step, name);
    if (w->counting) return;
    bnmlp_pb_buffer *b = &w->tensor_bytes;
    const size_t count = (rows ? rows : 1) * (cols ? cols : 1);
    const size_t message = bnmlp_pb_begin(b, GRAPH_INITIALIZER);
    if (rows) bnmlp_pb_int(b, TENSOR_DIMS, (int64_t)rows);
    if (cols) bnmlp_pb_int(b, TENSOR_DIMS, (int64_t)cols);
    bnmlp_pb_int(b, TENSOR_DATA_TYPE, ONNX_FLOAT);
    bnmlp_pb_string(b, TENSOR_NAME, name);
    bnmlp_pb_tag(b, TENSOR_RAW_DATA, BNMLP_PB_LEN);
    bnmlp_pb_varint(b, (uint64_t)count * 4u);
    /* Element i of the tensor, row-major: (r, c) = (i / cols, i % cols); a block of them at a
     * time into the buffer. */
    const size_t width = cols ? cols : 1;
    unsigned char block[4 * 256];
    for (size_t start = 0; start < count; start += 256) {
        const size_t n = count - start < 256 ? count - start : 256;
        for (size_t k = 0; k < n; k++) {
            const size_t i = start + k, r = i / width, c = i % width;
            bnmlp_store_le32(block + 4 * k, bnmlp_float_bits(values[transpose ? c * rows + r : i]));
        }
        bnmlp_pb_raw(b, block, 4 * n);
    }
    bnmlp_pb_end(b, message);
}

/* A scalar initializer holding value. */
static void constant(onnx_writer *w, const char *step, float value, char name[NAME_SIZE]) {
    initializer(w, step, 0, 0, &value, false, name);
}

/* A vector initializer of count values. */
static void vector(onnx_writer *w, const char *step, const float *values, size_t count,
                   char name[NAME_SIZE]) {
    initializer(w, step, 0, count, values, false, name);
}

/* ---- nodes -------------------------------------------------------------------------------- */

/* Appends node op (named the layer's name / step) reading inputs[0 .. input_count) with
 * attributes, and writing a new tensor: "output" for the last node (last) of the final layer,
 * the layer's name for the last node of another layer, else the layer's name / step. Writes that
 * name into output (may be NULL) and makes it the current tensor when last. */
static void node(onnx_writer *w, const char *op, const char *const *inputs, size_t input_count,
                 const char *step, bool last, const onnx_attribute *attributes, size_t attribute_count,
                 char output[NAME_SIZE]) {
    char name[NAME_SIZE];
    if (last) {
        snprintf(name, sizeof name, "%s", w->final_layer ? "output" : w->layer_name);
    } else {
        step_name(w, step, name);
    }
    w->nodes++;
    if (!w->counting) {
        bnmlp_pb_buffer *b = &w->node_bytes;
        const size_t message = bnmlp_pb_begin(b, GRAPH_NODE);
        for (size_t i = 0; i < input_count; i++) bnmlp_pb_string(b, NODE_INPUT, inputs[i]);
        bnmlp_pb_string(b, NODE_OUTPUT, name);
        char node_name[NAME_SIZE];
        step_name(w, step, node_name); /* unique: each step of a layer has its own name */
        bnmlp_pb_string(b, NODE_NAME, node_name);
        bnmlp_pb_string(b, NODE_OP_TYPE, op);
        for (size_t a = 0; a < attribute_count; a++) {
            const size_t attribute = bnmlp_pb_begin(b, NODE_ATTRIBUTE);
            bnmlp_pb_string(b, ATTRIBUTE_NAME, attributes[a].name);
            if (attributes[a].is_float) {
                bnmlp_pb_float(b, ATTRIBUTE_F, attributes[a].f);
            } else {
                bnmlp_pb_int(b, ATTRIBUTE_I, attributes[a].i);
            }
            bnmlp_pb_int(b, ATTRIBUTE_TYPE, attributes[a].is_float ? ATTRIBUTE_FLOAT : ATTRIBUTE_INT);
            bnmlp_pb_end(b, attribute);
        }
        bnmlp_pb_end(b, message);
    }
    if (output) memcpy(output, name, NAME_SIZE);
    if (last) memcpy(w->current, name, NAME_SIZE);
}

/* A node of one input (the current tensor) and no attribute or one. */
static void unary(onnx_writer *w, const char *op, const char *step, bool last,
                  const onnx_attribute *attribute) {
    const char *inputs[] = {w->current};
    node(w, op, inputs, 1, step, last, attribute, attribute ? 1 : 0, NULL);
}

/* A node of two inputs a and b, no attribute. */
static void binary(onnx_writer *w, const char *op, const char *a, const char *b, const char *step, bool last,
                   char output[NAME_SIZE]) {
    const char *inputs[] = {a, b};
    node(w, op, inputs, 2, step, last, NULL, 0, output);
}

/* ---- activations: one writer per row of the library's activation table -------------------- */

typedef void (*activation_writer)(onnx_writer *w, float alpha);

static void write_linear(onnx_writer *w, float alpha) { (void)w, (void)alpha; /* nothing: the identity */ }

static void write_relu(onnx_writer *w, float alpha) {
    (void)alpha;
    unary(w, "Relu", "relu", true, NULL);
}

static void write_leaky_relu(onnx_writer *w, float alpha) {
    const onnx_attribute slope = {.name = "alpha", .is_float = true, .f = alpha};
    unary(w, "LeakyRelu", "leaky_relu", true, &slope);
}

static void write_sigmoid(onnx_writer *w, float alpha) {
    (void)alpha;
    unary(w, "Sigmoid", "sigmoid", true, NULL);
}

static void write_tanh(onnx_writer *w, float alpha) {
    (void)alpha;
    unary(w, "Tanh", "tanh", true, NULL);
}

static void write_softmax(onnx_writer *w, float alpha) {
    (void)alpha;
    const onnx_attribute axis = {.name = "axis", .i = -1}; /* per row: the features */
    unary(w, "Softmax", "softmax", true, &axis);
}

static void write_elu(onnx_writer *w, float alpha) {
    const onnx_attribute scale = {.name = "alpha", .is_float = true, .f = alpha};
    unary(w, "Elu", "elu", true, &scale);
}

/* 0.5f * x * (1.0f + erff(x * BNMLP_SQRT1_2)), evaluated as (0.5 x) (1 + erf(x / sqrt 2)). */
static void write_gelu(onnx_writer *w, float alpha) {
    (void)alpha;
    char x[NAME_SIZE], rsqrt2[NAME_SIZE], one[NAME_SIZE], half[NAME_SIZE];
    char scaled[NAME_SIZE], erf_out[NAME_SIZE], cdf[NAME_SIZE], halved[NAME_SIZE];
    memcpy(x, w->current, NAME_SIZE);
    constant(w, "rsqrt2", BNMLP_SQRT1_2, rsqrt2);
    constant(w, "one", 1.0f, one);
    constant(w, "half", 0.5f, half);
    binary(w, "Mul", x, rsqrt2, "scaled", false, scaled);
    const char *erf_input[] = {scaled};
    node(w, "Erf", erf_input, 1, "erf", false, NULL, 0, erf_out);
    binary(w, "Add", one, erf_out, "cdf2", false, cdf);
    binary(w, "Mul", half, x, "half_x", false, halved);
    binary(w, "Mul", halved, cdf, "gelu", true, NULL);
}

/* x * sigmoid(x). */
static void write_silu(onnx_writer *w, float alpha) {
    (void)alpha;
    char x[NAME_SIZE], sigmoid[NAME_SIZE];
    memcpy(x, w->current, NAME_SIZE);
    const char *inputs[] = {x};
    node(w, "Sigmoid", inputs, 1, "sigmoid", false, NULL, 0, sigmoid);
    binary(w, "Mul", x, sigmoid, "silu", true, NULL);
}

#define ONNX_ACTIVATION_(KIND, id, name, alias, alpha, uses, shape) [KIND] = write_##id,
static const activation_writer ACTIVATIONS[BNMLP_ACTIVATION_KINDS] = {
    BNMLP_ACTIVATION_TABLE(ONNX_ACTIVATION_)};
#undef ONNX_ACTIVATION_

/* ---- layers: one writer per layer kind ------------------------------------------------------ */

typedef bnmlp_status (*layer_writer)(onnx_writer *w, const bnmlp_layer *layer);

static bnmlp_status write_dense(onnx_writer *w, const bnmlp_layer *layer) {
    char weight[NAME_SIZE], bias[NAME_SIZE];
    /* Gemm's B with transB = 1 is (out, in): the transpose of the (in, out) kernel. */
    initializer(w, "weight", layer->out, layer->in, array_of(w, layer, BNMLP_ARRAY_KERNEL), true, weight);
    const float *b = array_of(w, layer, BNMLP_ARRAY_BIAS);
    if (b) vector(w, "bias", b, layer->out, bias);
    const char *inputs[] = {w->current, weight, bias};
    const onnx_attribute trans_b = {.name = "transB", .i = 1};
    node(w, "Gemm", inputs, b ? 3 : 2, "gemm", true, &trans_b, 1, NULL);
    return BNMLP_OK;
}

static bnmlp_status write_activation(onnx_writer *w, const bnmlp_layer *layer) {
    const bnmlp_activation function = layer->config.activation.function;
    if ((size_t)function >= BNMLP_ACTIVATION_KINDS) return BNMLP_ERR_UNSUPPORTED;
    ACTIVATIONS[function](w, layer->config.activation.alpha);
    return BNMLP_OK;
}

/* gamma * ((x - moving_mean) * rstd) + beta, as bnmlp_batchnorm_normalize computes it. */
static bnmlp_status write_batchnorm(onnx_writer *w, const bnmlp_layer *layer) {
    const size_t width = layer->out;
    const float *variance = array_of(w, layer, BNMLP_ARRAY_MOVING_VARIANCE);
    const float *gamma = array_of(w, layer, BNMLP_ARRAY_GAMMA), *beta = array_of(w, layer, BNMLP_ARRAY_BETA);
    float *rstd = bnmlp_alloc(bnmlp_model_allocator(w->model), width * sizeof *rstd);
    if (!rstd) return BNMLP_ERR_OUT_OF_MEMORY;
    for (size_t c = 0; c < width; c++)
        rstd[c] = bnmlp_batchnorm_rstd((double)variance[c], layer->config.batchnorm.epsilon);
    char mean_name[NAME_SIZE], rstd_name[NAME_SIZE], gamma_name[NAME_SIZE], beta_name[NAME_SIZE];
    vector(w, "moving_mean", array_of(w, layer, BNMLP_ARRAY_MOVING_MEAN), width, mean_name);
    vector(w, "rstd", rstd, width, rstd_name);
    bnmlp_release(bnmlp_model_allocator(w->model), rstd);
    if (gamma) vector(w, "gamma", gamma, width, gamma_name);
    if (beta) vector(w, "beta", beta, width, beta_name);
    char centered[NAME_SIZE], normalized[NAME_SIZE], scaled[NAME_SIZE];
    binary(w, "Sub", w->current, mean_name, "centered", false, centered);
    binary(w, "Mul", centered, rstd_name, "normalized", !gamma && !beta, normalized);
    if (gamma) binary(w, "Mul", normalized, gamma_name, "scaled", !beta, scaled);
    if (beta) binary(w, "Add", gamma ? scaled : normalized, beta_name, "shifted", true, NULL);
    return BNMLP_OK;
}

/* (x - mean) / std, as the normalization layer computes it (a division). */
static bnmlp_status write_normalization(onnx_writer *w, const bnmlp_layer *layer) {
    const size_t width = layer->out;
    float *std = bnmlp_alloc(bnmlp_model_allocator(w->model), width * sizeof *std);
    if (!std) return BNMLP_ERR_OUT_OF_MEMORY;
    bnmlp_normalization_std(std, array_of(w, layer, BNMLP_ARRAY_MOVING_VARIANCE), width);
    char mean_name[NAME_SIZE], std_name[NAME_SIZE], centered[NAME_SIZE];
    vector(w, "mean", array_of(w, layer, BNMLP_ARRAY_MOVING_MEAN), width, mean_name);
    vector(w, "std", std, width, std_name);
    bnmlp_release(bnmlp_model_allocator(w->model), std);
    binary(w, "Sub", w->current, mean_name, "centered", false, centered);
    binary(w, "Div", centered, std_name, "standardized", true, NULL);
    return BNMLP_OK;
}

static bnmlp_status write_dropout(onnx_writer *w, const bnmlp_layer *layer) {
    (void)w, (void)layer; /* the identity in inference */
    return BNMLP_OK;
}

/* The writer of each layer kind; a kind without one cannot be exported. */
static const layer_writer LAYERS[] = {
    [BNMLP_LAYER_DENSE] = write_dense,         [BNMLP_LAYER_ACTIVATION] = write_activation,
    [BNMLP_LAYER_BATCHNORM] = write_batchnorm, [BNMLP_LAYER_NORMALIZATION] = write_normalization,
    [BNMLP_LAYER_DROPOUT] = write_dropout,
};

static layer_writer writer_of(const bnmlp_layer *layer) {
    const size_t kind = (size_t)layer->kind;
    return kind < sizeof LAYERS / sizeof LAYERS[0] ? LAYERS[kind] : NULL;
}

/* One pass over the layers (w->counting says which). *last_layer: in the counting pass, gets
 * the index of the last layer that writes a node (SIZE_MAX: none); in the writing pass, says
 * which layer writes "output". */
static bnmlp_status write_layers(onnx_writer *w, size_t *last_layer, bnmlp_error_detail *detail) {
    snprintf(w->current, sizeof w->current, "input");
    w->nodes = 0;
    const size_t count = bnmlp_model_layer_count(w->model);
    for (size_t i = 0; i < count; i++) {
        const bnmlp_layer *layer = bnmlp_model_layer_at(w->model, i);
        const layer_writer write = writer_of(layer);
        if (!write) {
            bnmlp_detail_set(detail, 0, 0, 0, "layer %zu (%s) has no ONNX form", i, layer->ops->class_name);
            return BNMLP_ERR_UNSUPPORTED;
        }
        w->final_layer = !w->counting && i == *last_layer;
        snprintf(w->layer_name, sizeof w->layer_name, "%s_%zu", layer->ops->prefix, i);
        const size_t before = w->nodes;
        const bnmlp_status status = write(w, layer);
        if (status != BNMLP_OK) {
            bnmlp_detail_set(detail, 0, 0, 0, "layer %zu (%s) cannot be written as ONNX: %s", i,
                             layer->ops->class_name, bnmlp_status_string(status));
            return status;
        }
        if (w->counting && w->nodes > before) *last_layer = i;
    }
    if (w->counting ? *last_layer == SIZE_MAX : w->nodes == 0) {
        /* Nothing but identities: output = input. */
        snprintf(w->layer_name, sizeof w->layer_name, "identity");
        w->final_layer = true;
        unary(w, "Identity", "identity", true, NULL);
    }
    return BNMLP_OK;
}

/* ---- the model ---------------------------------------------------------------------------- */

/* A ValueInfoProto of field field: name, float [N, width]. */
static void value_info(bnmlp_pb_buffer *b, uint32_t field, const char *name, size_t width) {
    const size_t info = bnmlp_pb_begin(b, field);
    bnmlp_pb_string(b, VALUE_INFO_NAME, name);
    const size_t type = bnmlp_pb_begin(b, VALUE_INFO_TYPE);
    const size_t tensor = bnmlp_pb_begin(b, TYPE_TENSOR_TYPE);
    bnmlp_pb_int(b, TENSOR_TYPE_ELEM_TYPE, ONNX_FLOAT);
    const size_t shape = bnmlp_pb_begin(b, TENSOR_TYPE_SHAPE);
    const size_t batch = bnmlp_pb_begin(b, SHAPE_DIM);
    bnmlp_pb_string(b, DIM_PARAM, "N");
    bnmlp_pb_end(b, batch);
    const size_t features = bnmlp_pb_begin(b, SHAPE_DIM);
    bnmlp_pb_int(b, DIM_VALUE, (int64_t)width);
    bnmlp_pb_end(b, features);
    bnmlp_pb_end(b, shape);
    bnmlp_pb_end(b, tensor);
    bnmlp_pb_end(b, type);
    bnmlp_pb_end(b, info);
}

/* A StringStringEntryProto of metadata_props; value is size bytes. */
static void metadata(bnmlp_pb_buffer *b, const char *key, const void *value, size_t size) {
    const size_t entry = bnmlp_pb_begin(b, MODEL_METADATA_PROPS);
    bnmlp_pb_string(b, ENTRY_KEY, key);
    bnmlp_pb_bytes(b, ENTRY_VALUE, value, size);
    bnmlp_pb_end(b, entry);
}

/* Appends text to b as the content of a JSON string (quotes not included). */
static void json_escaped(bnmlp_pb_buffer *b, const char *text) {
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        char escape[8];
        if (*p == '"' || *p == '\\') {
            snprintf(escape, sizeof escape, "\\%c", *p);
        } else if (*p < 0x20) {
            snprintf(escape, sizeof escape, "\\u%04x", *p);
        } else {
            bnmlp_pb_raw(b, p, 1);
            continue;
        }
        bnmlp_pb_raw(b, escape, strlen(escape));
    }
}

/* The metadata_props: loss, layers, class names, library version. text is scratch. */
static void write_metadata(bnmlp_pb_buffer *b, const bnmlp_model *model, bnmlp_pb_buffer *text) {
    const char *loss = bnmlp_loss_name(bnmlp_model_loss(model));
    metadata(b, "loss", loss, strlen(loss));

    /* "Dense(2->16, glorot_uniform); Activation(16->16, relu); ..." */
    bnmlp_pb_free(text);
    for (size_t i = 0; i < bnmlp_model_layer_count(model); i++) {
        const bnmlp_layer *layer = bnmlp_model_layer_at(model, i);
        char settings[128] = "", item[256];
        if (layer->ops->describe) layer->ops->describe(layer, settings, sizeof settings);
        snprintf(item, sizeof item, "%s%s(%zu->%zu%s%s)", i ? "; " : "", layer->ops->class_name, layer->in,
                 layer->out, settings[0] ? ", " : "", settings);
        bnmlp_pb_raw(text, item, strlen(item));
    }
    metadata(b, "layers", text->bytes, text->size);

    /* The names, when they name every class (as the model file keeps them). */
    size_t names = 0;
    while (bnmlp_model_class_name(model, names)) names++;
    if (names > 0 && names == bnmlp_model_class_count(model)) {
        bnmlp_pb_free(text);
        bnmlp_pb_raw(text, "[", 1);
        for (size_t k = 0; k < names; k++) {
            bnmlp_pb_raw(text, k ? ", \"" : "\"", k ? 3 : 1);
            json_escaped(text, bnmlp_model_class_name(model, k));
            bnmlp_pb_raw(text, "\"", 1);
        }
        bnmlp_pb_raw(text, "]", 1);
        if (bnmlp_pb_failed(text)) b->failed = true;
        metadata(b, "class_names", text->bytes, text->size);
    }
    if (bnmlp_pb_failed(text)) b->failed = true;

    const char *version = bnmlp_version();
    metadata(b, "libbnmlp_version", version, strlen(version));
}

/* The whole ModelProto into b, from the graph's nodes and initializers in w. */
static void write_model(bnmlp_pb_buffer *b, const onnx_writer *w, const char *name, bnmlp_pb_buffer *text) {
    const bnmlp_model *model = w->model;
    bnmlp_pb_int(b, MODEL_IR_VERSION, ONNX_IR_VERSION);
    bnmlp_pb_string(b, MODEL_PRODUCER_NAME, "libbnmlp");
    bnmlp_pb_string(b, MODEL_PRODUCER_VERSION, bnmlp_version());

    const size_t graph = bnmlp_pb_begin(b, MODEL_GRAPH);
    bnmlp_pb_raw(b, w->node_bytes.bytes, w->node_bytes.size);
    bnmlp_pb_string(b, GRAPH_NAME, name);
    bnmlp_pb_raw(b, w->tensor_bytes.bytes, w->tensor_bytes.size);
    value_info(b, GRAPH_INPUT, "input", bnmlp_model_input_width(model));
    value_info(b, GRAPH_OUTPUT, "output", bnmlp_model_output_width(model));
    bnmlp_pb_end(b, graph);

    const size_t opset = bnmlp_pb_begin(b, MODEL_OPSET_IMPORT);
    bnmlp_pb_string(b, OPSET_DOMAIN, ""); /* the default operator set */
    bnmlp_pb_int(b, OPSET_VERSION, ONNX_OPSET);
    bnmlp_pb_end(b, opset);

    write_metadata(b, model, text);
}

static bnmlp_status onnx_write(bnmlp_model *model, bnmlp_model *original, const char *path,
                               const bnmlp_export_options *options, bnmlp_error_detail *detail) {
    (void)original; /* the graph describes the folded model; ONNX has no self-test */
    if (!bnmlp_model_is_built(model)) {
        bnmlp_detail_set(detail, 0, 0, 0, "the model must be built before it is exported");
        return BNMLP_ERR_NOT_BUILT;
    }
    const bnmlp_allocator *allocator = bnmlp_model_allocator(model);
    onnx_writer w = {.counting = true, .model = model};
    bnmlp_pb_init(&w.node_bytes, allocator);
    bnmlp_pb_init(&w.tensor_bytes, allocator);
    bnmlp_pb_buffer file, text;
    bnmlp_pb_init(&file, allocator);
    bnmlp_pb_init(&text, allocator);

    size_t last_layer = SIZE_MAX;
    bnmlp_status status = write_layers(&w, &last_layer, detail);
    if (status == BNMLP_OK) {
        w.counting = false;
        status = write_layers(&w, &last_layer, detail);
    }
    if (status == BNMLP_OK) {
        write_model(&file, &w, options->name, &text);
        if (bnmlp_pb_failed(&w.node_bytes) || bnmlp_pb_failed(&w.tensor_bytes) || bnmlp_pb_failed(&file)) {
            bnmlp_detail_set(detail, 0, 0, 0, "out of memory while writing the ONNX model");
            status = BNMLP_ERR_OUT_OF_MEMORY;
        }
    }
    bnmlp_pb_free(&w.node_bytes);
    bnmlp_pb_free(&w.tensor_bytes);
    bnmlp_pb_free(&text);
    if (status == BNMLP_OK) {
        bnmlp_file_writer writer;
        status = bnmlp_file_writer_open(&writer, path, allocator, NULL, detail);
        if (status == BNMLP_OK) {
            bnmlp_file_writer_write(&writer, file.bytes, file.size);
            status = bnmlp_file_writer_commit(&writer, detail);
        }
    }
    bnmlp_pb_free(&file);
    return status;
}

const bnmlp_export_format_row bnmlp_export_onnx = {
    .name = "onnx",
    .summary = "one ONNX file (opset 13, dynamic batch) with input \"input\" and output \"output\"",
    .writes_directory = false,
    .takes_int8 = false,
    .takes_test = false,
    .folds = true,
    .write = onnx_write,
};
