/* test_safetensors.c - safetensors in and out with PyTorch's nn.Sequential names: a PyTorch file
 * (tools/gen_safetensors_fixtures.py) imported predicts as PyTorch did; a committed libbnmlp export
 * that PyTorch loaded with load_state_dict(strict=True) predicts as PyTorch did; export then
 * import is bit-exact; the bytes are deterministic; every kind of malformed file is refused with
 * its own status and a message naming the problem, and changes nothing. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "file_support.h"

#include "fixtures/safetensors/libbnmlp_check.h"
#include "fixtures/safetensors/torch_reference.h"

#ifndef BNMLP_FIXTURES_DIR
#error "BNMLP_FIXTURES_DIR must name tests/fixtures (set by tests/CMakeLists.txt)"
#endif

#define ST_DIR BNMLP_FIXTURES_DIR "/safetensors/"

/* A model with every layer kind and option the format has rules for, built, with weights,
 * moving statistics and step counts that are not their initial values. */
static bnmlp_model *make_model(void) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(3, &status);
    assert_ok(status);
    assert_ok(bnmlp_model_add_normalization(model));
    assert_ok(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(5)));
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    bn.momentum = 0.8f;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_ELU, 1.0f));
    assert_ok(bnmlp_model_add_dropout(model, 0.25f, 9));
    bnmlp_dense_config nobias = BNMLP_DENSE_DEFAULT(4);
    nobias.use_bias = false;
    assert_ok(bnmlp_model_add_dense(model, &nobias));
    bnmlp_batchnorm_config noscale = BNMLP_BATCHNORM_DEFAULT;
    noscale.scale = false;
    assert_ok(bnmlp_model_add_batchnorm(model, &noscale));
    bnmlp_batchnorm_config plain = BNMLP_BATCHNORM_DEFAULT;
    plain.scale = false;
    plain.center = false;
    assert_ok(bnmlp_model_add_batchnorm(model, &plain));
    assert_ok(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(1)));
    assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_SIGMOID, 0.0f));
    assert_ok(bnmlp_model_build(model, 16, 4));
    assert_ok(bnmlp_model_set_threads(model, 1));
    float x[16 * 3], y[16];
    bnmlp_test_fill(x, 48, 3);
    for (size_t i = 0; i < 16; i++) y[i] = x[3 * i] + x[3 * i + 1] > 0.0f;
    bnmlp_tensor tx = bnmlp_tensor_view(x, 16, 3), ty = bnmlp_tensor_view(y, 16, 1);
    assert_ok(bnmlp_model_adapt(model, 0, &tx));
    for (int step = 0; step < 3; step++)
        assert_ok(bnmlp_model_train_step(model, &tx, &ty, &BNMLP_OPTIMIZER_ADAM_DEFAULT, NULL, NULL));
    return model;
}

/* The model's predictions of n rows of x into out. */
static void predict(bnmlp_model *model, const float *x, size_t rows, float *out) {
    bnmlp_tensor tx = bnmlp_tensor_view((float *)x, rows, bnmlp_model_input_width(model));
    bnmlp_tensor to = bnmlp_tensor_view(out, rows, bnmlp_model_output_width(model));
    assert_ok(bnmlp_model_predict(model, &tx, &to));
}

/* Exports model into dir/name and returns the file's bytes (malloc'ed). */
static unsigned char *export_bytes(bnmlp_model *model, const char *dir, const char *name, size_t *size) {
    char path[512];
    test_path(path, sizeof path, dir, name);
    bnmlp_error_detail detail = {0};
    const bnmlp_status status = bnmlp_model_export(model, "safetensors", path, NULL, &detail);
    if (status != BNMLP_OK) print_error("export: %s\n", detail.message);
    assert_ok(status);
    unsigned char *bytes = test_read_file(path, size);
    assert_non_null(bytes);
    return bytes;
}

/* Every array and step count of two models with the same architecture, bit for bit. */
static void assert_same_state(const bnmlp_model *a, const bnmlp_model *b) {
    assert_int_equal(bnmlp_model_layer_count(a), bnmlp_model_layer_count(b));
    for (size_t i = 0; i < bnmlp_model_layer_count(a); i++) {
        for (int w = BNMLP_WEIGHT_KERNEL; w <= BNMLP_WEIGHT_MOVING_VARIANCE; w++) {
            float va[64], vb[64];
            for (size_t n = 1; n <= 64; n++) {
                const bnmlp_status sa = bnmlp_model_get_weights(a, i, (bnmlp_weight)w, va, n);
                if (sa == BNMLP_ERR_SHAPE) continue;
                assert_status(bnmlp_model_get_weights(b, i, (bnmlp_weight)w, vb, n), sa);
                if (sa == BNMLP_OK) assert_memory_equal(va, vb, n * sizeof(float));
                break;
            }
        }
    }
}

static void torch_file_imports_and_predicts_as_pytorch(void **state) {
    (void)state;
    bnmlp_safetensors_config config = BNMLP_SAFETENSORS_DEFAULT;
    config.layers = TORCH_LAYERS;
    config.loss = BNMLP_LOSS_CATEGORICAL_CROSSENTROPY;
    bnmlp_status status;
    bnmlp_error_detail detail = {0};
    bnmlp_model *model =
        bnmlp_model_import_safetensors(ST_DIR "torch_model.safetensors", &config, &status, &detail);
    if (status != BNMLP_OK) print_error("import: %s\n", detail.message);
    assert_ok(status);
    assert_int_equal(bnmlp_model_input_width(model), TORCH_INPUTS);
    assert_int_equal(bnmlp_model_output_width(model), TORCH_OUTPUTS);
    float out[TORCH_ROWS * TORCH_OUTPUTS];
    predict(model, TORCH_X, TORCH_ROWS, out);
    assert_floats_close(out, TORCH_Y, TORCH_ROWS * TORCH_OUTPUTS, 1e-6, 0.0);
    /* num_batches_tracked became the layers' step counts: export writes them back. */
    char dir[64];
    test_make_dir(dir, sizeof dir);
    size_t size;
    unsigned char *bytes = export_bytes(model, dir, "again.safetensors", &size);
    bnmlp_model *again = bnmlp_model_import_safetensors_buffer(bytes, size, NULL, &status, &detail);
    assert_ok(status);
    assert_same_state(model, again);
    bnmlp_model_free(again);
    free(bytes);
    test_remove_dir(dir);
    /* Without the caller's layers the file (no bnmlp metadata) has no architecture. */
    assert_null(bnmlp_model_import_safetensors(ST_DIR "torch_model.safetensors", NULL, &status, &detail));
    assert_status(status, BNMLP_ERR_UNSUPPORTED);
    assert_non_null(strstr(detail.message, "no architecture"));
    size_t width = 0;
    assert_ok(bnmlp_safetensors_input_width(ST_DIR "torch_model.safetensors", &width, NULL));
    assert_int_equal(width, TORCH_INPUTS);
    bnmlp_model_free(model);
}

static void torch_file_loads_into_a_built_model(void **state) {
    (void)state;
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(TORCH_INPUTS, &status);
    assert_ok(status);
    assert_ok(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(8)));
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    bn.epsilon = 1e-3f;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f));
    assert_ok(bnmlp_model_add_dropout(model, 0.2f, 0));
    assert_ok(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(6)));
    assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_TANH, 0.0f));
    bn.epsilon = 1e-5f;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    assert_ok(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(3)));
    assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_SOFTMAX, 0.0f));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY));
    assert_ok(bnmlp_model_build(model, 8, 0));
    bnmlp_error_detail detail = {0};
    assert_ok(bnmlp_model_load_safetensors(model, ST_DIR "torch_model.safetensors", &detail));
    float out[TORCH_ROWS * TORCH_OUTPUTS];
    predict(model, TORCH_X, TORCH_ROWS, out);
    assert_floats_close(out, TORCH_Y, TORCH_ROWS * TORCH_OUTPUTS, 1e-6, 0.0);
    bnmlp_model_free(model);
}

/* The committed export of make_safetensors_fixture, which PyTorch loaded strictly and predicted
 * (tools/gen_safetensors_fixtures.py --check): the library predicts the same from it. */
static void committed_export_predicts_as_pytorch(void **state) {
    (void)state;
    bnmlp_status status;
    bnmlp_error_detail detail = {0};
    bnmlp_model *model =
        bnmlp_model_import_safetensors(ST_DIR "libbnmlp_model.safetensors", NULL, &status, &detail);
    if (status != BNMLP_OK) print_error("import: %s\n", detail.message);
    assert_ok(status);
    assert_int_equal(bnmlp_model_input_width(model), CHECK_INPUTS);
    assert_int_equal(bnmlp_model_loss(model), BNMLP_LOSS_CATEGORICAL_CROSSENTROPY);
    float out[CHECK_ROWS * CHECK_OUTPUTS];
    predict(model, CHECK_X, CHECK_ROWS, out);
    assert_floats_close(out, CHECK_Y, CHECK_ROWS * CHECK_OUTPUTS, 1e-6, 0.0);
    /* Exporting what was imported gives the committed bytes back. */
    char dir[64];
    test_make_dir(dir, sizeof dir);
    size_t size, committed_size;
    unsigned char *bytes = export_bytes(model, dir, "again.safetensors", &size);
    unsigned char *committed = test_read_file(ST_DIR "libbnmlp_model.safetensors", &committed_size);
    assert_int_equal(size, committed_size);
    assert_memory_equal(bytes, committed, size);
    free(bytes);
    free(committed);
    test_remove_dir(dir);
    bnmlp_model_free(model);
}

static void round_trip_is_bit_exact_and_deterministic(void **state) {
    (void)state;
    bnmlp_model *model = make_model();
    char dir[64];
    test_make_dir(dir, sizeof dir);
    size_t size1, size2, size3;
    unsigned char *first = export_bytes(model, dir, "a.safetensors", &size1);
    unsigned char *second = export_bytes(model, dir, "b.safetensors", &size2);
    assert_int_equal(size1, size2);
    assert_memory_equal(first, second, size1);
    /* The header is padded so the data starts at a multiple of 8. */
    uint64_t header = 0;
    for (int b = 7; b >= 0; b--) header = header << 8 | first[b];
    assert_int_equal((8 + header) % 8, 0);
    bnmlp_status status;
    bnmlp_error_detail detail = {0};
    bnmlp_model *back = bnmlp_model_import_safetensors_buffer(first, size1, NULL, &status, &detail);
    if (status != BNMLP_OK) print_error("import: %s\n", detail.message);
    assert_ok(status);
    assert_same_state(model, back);
    float x[10 * 3], a[10], b[10];
    bnmlp_test_fill(x, 30, 8);
    predict(model, x, 10, a);
    predict(back, x, 10, b);
    assert_memory_equal(a, b, sizeof a);
    unsigned char *third = export_bytes(back, dir, "c.safetensors", &size3);
    assert_int_equal(size1, size3);
    assert_memory_equal(first, third, size1);
    /* Loading into a second model of the same architecture: the same state. */
    bnmlp_model *other = make_model();
    float params[256];
    const size_t count = bnmlp_model_param_count(other);
    assert_true(count <= 256);
    bnmlp_test_fill(params, count, 99);
    assert_ok(bnmlp_model_set_params(other, params, count));
    assert_ok(bnmlp_model_load_safetensors_buffer(other, first, size1, &detail));
    assert_same_state(model, other);
    bnmlp_model_free(other);
    bnmlp_model_free(back);
    bnmlp_model_free(model);
    free(first);
    free(second);
    free(third);
    test_remove_dir(dir);
}

/* The names, the transpose and the fill rule, read from the file's header. */
static void header_has_pytorch_names(void **state) {
    (void)state;
    bnmlp_model *model = make_model();
    char dir[64];
    test_make_dir(dir, sizeof dir);
    size_t size;
    unsigned char *bytes = export_bytes(model, dir, "a.safetensors", &size);
    const char *text = (const char *)bytes + 8;
    assert_non_null(strstr(text, "\"1.weight\":{\"dtype\":\"F32\",\"shape\":[5,3]"));
    assert_non_null(strstr(text, "\"1.bias\":{\"dtype\":\"F32\",\"shape\":[5]"));
    assert_non_null(strstr(text, "\"0.mean\":{"));
    assert_non_null(strstr(text, "\"0.variance\":{"));
    assert_non_null(strstr(text, "\"2.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[]"));
    assert_non_null(strstr(text, "\"2.running_var\":{"));
    assert_null(strstr(text, "\"5.bias\""));       /* Linear(bias=False) */
    assert_non_null(strstr(text, "\"6.weight\"")); /* scale off, center on: weight written as 1 */
    assert_null(strstr(text, "\"7.weight\""));     /* affine=False */
    assert_null(strstr(text, "\"7.bias\""));
    assert_null(strstr(text, "\"3.")); /* activations and dropout hold nothing */
    assert_non_null(strstr(text, "nn.BatchNorm1d(5, eps=0.001, momentum=0.2)"));
    assert_non_null(strstr(text, "nn.BatchNorm1d(4, eps=0.001, momentum=0.01, affine=False)"));
    assert_non_null(strstr(text, "nn.Linear(5, 4, bias=False)"));
    assert_non_null(strstr(text, "\"bnmlp.version\":\"0.1.0\""));
    /* 1.weight (5 x 3) is the transpose of the kernel (3 x 5). */
    float kernel[15];
    assert_ok(bnmlp_model_get_weights(model, 1, BNMLP_WEIGHT_KERNEL, kernel, 15));
    const char *entry = strstr(text, "\"1.weight\"");
    const char *offsets = strstr(entry, "data_offsets\":[");
    const unsigned long begin = strtoul(offsets + 15, NULL, 10);
    uint64_t header = 0;
    for (int b = 7; b >= 0; b--) header = header << 8 | bytes[b];
    for (size_t o = 0; o < 5; o++)
        for (size_t i = 0; i < 3; i++) {
            float v;
            memcpy(&v, bytes + 8 + header + begin + 4 * (o * 3 + i), 4);
            assert_memory_equal(&v, &kernel[i * 5 + o], 4);
        }
    free(bytes);
    test_remove_dir(dir);
    bnmlp_model_free(model);
}

/* ---- bad input ---------------------------------------------------------------------------- */

/* A file made of a header text and data bytes (the length prefix computed unless forced). */
typedef struct bad_case {
    const char *what;
    const char *header;     /* the JSON text */
    size_t data_floats;     /* floats of data after the header (value 0.5 each) */
    uint64_t forced_length; /* nonzero: the header length prefix written */
    int nan_at;             /* >= 0: that float of the data is NaN */
    size_t truncate;        /* nonzero: the file is cut to this many bytes */
    bnmlp_status status;    /* expected */
    const char *message;    /* expected in the message */
} bad_case;

/* The architecture the cases are loaded into: Linear(2, 2) then BatchNorm1d(2). */
#define GOOD_TENSORS                                                                                         \
    "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"                              \
    "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},"                                 \
    "\"1.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"                               \
    "\"1.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]},"                                 \
    "\"1.running_mean\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]},"                         \
    "\"1.running_var\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[48,56]},"                          \
    "\"1.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[56,64]}"

static const bad_case BAD[] = {
    {"good", "{" GOOD_TENSORS "}", 16, 0, -1, 0, BNMLP_OK, ""},
    {"good with blanks and metadata",
     "{ \"__metadata__\" : {\"format\" : \"pt\", \"x\\u00e9\\ud83d\\ude00\" : "
     "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"},\n" GOOD_TENSORS "}   ",
     16, 0, -1, 0, BNMLP_OK, ""},
    {"empty file", "", 0, 0, -1, 1, BNMLP_ERR_TRUNCATED, "8-byte"},
    {"truncated header", "{" GOOD_TENSORS "}", 16, 0, -1, 40, BNMLP_ERR_TRUNCATED, "header of"},
    {"truncated data", "{" GOOD_TENSORS "}", 15, 0, -1, 0, BNMLP_ERR_TRUNCATED, "after the data"},
    {"huge header length", "{}", 0, (uint64_t)1 << 40, -1, 0, BNMLP_ERR_FORMAT, "the limit"},
    {"header length past the file", "{}", 0, 1000, -1, 0, BNMLP_ERR_TRUNCATED, "header of"},
    {"blank before the object", " {}", 0, 0, -1, 0, BNMLP_ERR_FORMAT, "not a JSON object"},
    {"not an object", "[]", 0, 0, -1, 0, BNMLP_ERR_FORMAT, "not a JSON object"},
    {"unclosed object", "{\"0.weight\":{}", 0, 0, -1, 0, BNMLP_ERR_FORMAT, "lacks"},
    {"bad JSON", "{" GOOD_TENSORS ",}", 16, 0, -1, 0, BNMLP_ERR_FORMAT, "expected a string"},
    {"trailing bytes", "{" GOOD_TENSORS "}x", 16, 0, -1, 0, BNMLP_ERR_FORMAT, "after the header"},
    {"bad escape", "{\"__metadata__\":{\"a\\q\":\"b\"}," GOOD_TENSORS "}", 16, 0, -1, 0, BNMLP_ERR_FORMAT,
     "unknown escape"},
    {"lone surrogate", "{\"__metadata__\":{\"a\\udc00\":\"b\"}," GOOD_TENSORS "}", 16, 0, -1, 0,
     BNMLP_ERR_FORMAT, "surrogate"},
    {"bad UTF-8", "{\"__metadata__\":{\"a\xc0\xaf\":\"b\"}," GOOD_TENSORS "}", 16, 0, -1, 0, BNMLP_ERR_FORMAT,
     "UTF-8"},
    {"control character", "{\"__metadata__\":{\"a\tb\":\"b\"}," GOOD_TENSORS "}", 16, 0, -1, 0,
     BNMLP_ERR_FORMAT, "control character"},
    {"metadata not strings", "{\"__metadata__\":{\"a\":1}," GOOD_TENSORS "}", 16, 0, -1, 0, BNMLP_ERR_FORMAT,
     "a string"},
    {"duplicate metadata key", "{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}," GOOD_TENSORS "}", 16, 0, -1, 0,
     BNMLP_ERR_FORMAT, "twice"},
    {"duplicate tensor",
     "{" GOOD_TENSORS ",\"0.bias\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[64,64]}}", 16, 0, -1, 0,
     BNMLP_ERR_FORMAT, "'0.bias' appears twice"},
    {"unknown key in a tensor",
     "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16],\"extra\":[]}}", 4, 0, -1, 0,
     BNMLP_ERR_FORMAT, "unknown key"},
    {"bad dtype", "{\"0.weight\":{\"dtype\":\"F33\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 4, 0, -1, 0,
     BNMLP_ERR_FORMAT, "unknown dtype"},
    {"negative shape", "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[-2,2],\"data_offsets\":[0,16]}}", 4, 0,
     -1, 0, BNMLP_ERR_FORMAT, "unsigned integer"},
    {"fraction in offsets", "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16.0]}}", 4,
     0, -1, 0, BNMLP_ERR_FORMAT, "not an integer"},
    {"huge integer",
     "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,99999999999999999999999]}}", 4, 0,
     -1, 0, BNMLP_ERR_FORMAT, "too large"},
    {"offsets do not match the shape",
     "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 3, 0, -1, 0,
     BNMLP_ERR_FORMAT, "span 12 bytes"},
    {"offsets reversed", "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 2, 0, -1,
     0, BNMLP_ERR_FORMAT, "end before"},
    {"offsets out of range", "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[16,32]}}", 4,
     0, -1, 0, BNMLP_ERR_TRUNCATED, "after the data"},
    {"overlapping offsets",
     "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
     "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
     4, 0, -1, 0, BNMLP_ERR_FORMAT, "overlaps"},
    {"gap in the data", "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[8,24]}}", 6, 0,
     -1, 0, BNMLP_ERR_FORMAT, "a gap"},
    {"bytes after the data", "{" GOOD_TENSORS "}", 17, 0, -1, 0, BNMLP_ERR_FORMAT, "after the last"},
    {"missing tensor", "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 4, 0, -1,
     0, BNMLP_ERR_FORMAT, "'0.bias' (layer 0, dense) is missing"},
    {"extra tensor",
     "{" GOOD_TENSORS ",\"2.weight\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[64,64]}}", 16, 0, -1,
     0, BNMLP_ERR_FORMAT, "'2.weight' is not one the model has"},
    {"shape mismatch",
     "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[1,4],\"data_offsets\":[0,16]},"
     "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},"
     "\"1.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"
     "\"1.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]},"
     "\"1.running_mean\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]},"
     "\"1.running_var\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[48,56]},"
     "\"1.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[56,64]}}",
     16, 0, -1, 0, BNMLP_ERR_SHAPE, "'0.weight' has shape (1, 4); layer 0 needs (2, 2)"},
    {"wrong dtype",
     "{\"0.weight\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
     "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},"
     "\"1.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"
     "\"1.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]},"
     "\"1.running_mean\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]},"
     "\"1.running_var\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[48,56]},"
     "\"1.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[56,64]}}",
     16, 0, -1, 0, BNMLP_ERR_UNSUPPORTED, "'0.weight' is I32"},
    {"NaN", "{" GOOD_TENSORS "}", 16, 0, 3, 0, BNMLP_ERR_NOT_FINITE, "'0.weight', element 3, is not finite"},
};

static void bad_files_are_refused(void **state) {
    (void)state;
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(2, &status);
    assert_ok(status);
    assert_ok(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(2)));
    assert_ok(bnmlp_model_add_batchnorm(model, &BNMLP_BATCHNORM_DEFAULT));
    assert_ok(bnmlp_model_build(model, 4, 1));
    const size_t count = bnmlp_model_param_count(model);
    float before[16], after[16];
    assert_ok(bnmlp_model_get_params(model, before, count));
    for (size_t c = 0; c < sizeof BAD / sizeof BAD[0]; c++) {
        const bad_case *b = &BAD[c];
        const size_t header = strlen(b->header);
        size_t size = 8 + header + 4 * b->data_floats;
        unsigned char *bytes = calloc(1, size + 1);
        assert_non_null(bytes);
        const uint64_t length = b->forced_length ? b->forced_length : header;
        for (int k = 0; k < 8; k++) bytes[k] = (unsigned char)(length >> (8 * k));
        memcpy(bytes + 8, b->header, header);
        for (size_t k = 0; k < b->data_floats; k++) {
            float v = b->nan_at == (int)k ? NAN : 0.5f;
            memcpy(bytes + 8 + header + 4 * k, &v, 4);
        }
        if (strstr(b->header, "num_batches_tracked") && b->data_floats == 16) /* the count: 3 */
            memcpy(bytes + 8 + header + 56, &(uint64_t){3}, 8);
        if (b->truncate) size = b->truncate - 1;
        bnmlp_error_detail detail = {0};
        status = bnmlp_model_load_safetensors_buffer(model, bytes, size, &detail);
        if (status != b->status || !strstr(detail.message, b->message))
            print_error("case '%s': %s, '%s'\n", b->what, bnmlp_status_string(status), detail.message);
        assert_status(status, b->status);
        assert_non_null(strstr(detail.message, b->message));
        if (status != BNMLP_OK) {
            assert_ok(bnmlp_model_get_params(model, after, count));
            assert_memory_equal(before, after, count * sizeof(float));
        } else {
            assert_ok(bnmlp_model_set_params(model, before, count));
        }
        /* The import of the same bytes with an architecture fails alike (or succeeds). */
        bnmlp_safetensors_config config = BNMLP_SAFETENSORS_DEFAULT;
        config.layers = "dense width=2;batch_normalization width=2";
        config.input_width = 2;
        bnmlp_model *imported = bnmlp_model_import_safetensors_buffer(bytes, size, &config, &status, &detail);
        assert_status(status, b->status);
        assert_true((imported != NULL) == (status == BNMLP_OK));
        bnmlp_model_free(imported);
        free(bytes);
    }
    bnmlp_model_free(model);
}

/* The architecture text: bad records are refused with the record named. */
static void bad_layer_texts_are_refused(void **state) {
    (void)state;
    static const struct {
        const char *layers;
        bnmlp_status status;
        const char *message;
    } CASES[] = {
        {"", BNMLP_ERR_FORMAT, "empty"},
        {"dense", BNMLP_ERR_FORMAT, "no width"},
        {"conv width=2", BNMLP_ERR_FORMAT, "unknown kind 'conv'"},
        {"dense width=2;batch_normalization width=2 momentum=x", BNMLP_ERR_FORMAT,
         "layer 1 of the description: bad setting 'momentum=x'"},
        {"dense width=2 width=2", BNMLP_ERR_FORMAT, "bad setting"},
        {"dense width=2 use_bias=2", BNMLP_ERR_FORMAT, "bad setting"},
        {"dense width=2 colour=1", BNMLP_ERR_FORMAT, "bad setting"},
        {"dense width=2;batch_normalization width=3", BNMLP_ERR_FORMAT, "width 3, but it gives 2"},
        {"dense width=2;batch_normalization width=2 epsilon=-1", BNMLP_ERR_INVALID_ARGUMENT, "not a valid"},
        {"dense width=2;batch_normalization width=2;", BNMLP_ERR_FORMAT, "unknown kind ''"},
    };
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(2, &status);
    assert_ok(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(2)));
    assert_ok(bnmlp_model_add_batchnorm(model, &BNMLP_BATCHNORM_DEFAULT));
    assert_ok(bnmlp_model_build(model, 4, 1));
    char dir[64];
    test_make_dir(dir, sizeof dir);
    size_t size;
    unsigned char *bytes = export_bytes(model, dir, "m.safetensors", &size);
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        bnmlp_safetensors_config config = BNMLP_SAFETENSORS_DEFAULT;
        config.layers = CASES[c].layers;
        bnmlp_error_detail detail = {0};
        assert_null(bnmlp_model_import_safetensors_buffer(bytes, size, &config, &status, &detail));
        if (status != CASES[c].status || !strstr(detail.message, CASES[c].message))
            print_error("case '%s': %s, '%s'\n", CASES[c].layers, bnmlp_status_string(status),
                        detail.message);
        assert_status(status, CASES[c].status);
        assert_non_null(strstr(detail.message, CASES[c].message));
    }
    /* A layer with center off takes a bias only when it is 0. */
    bnmlp_model *nocenter = bnmlp_model_create(2, &status);
    assert_ok(bnmlp_model_add_dense(nocenter, &BNMLP_DENSE_DEFAULT(2)));
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    bn.center = false;
    assert_ok(bnmlp_model_add_batchnorm(nocenter, &bn));
    assert_ok(bnmlp_model_build(nocenter, 4, 1));
    float beta[2] = {0.25f, 0.0f};
    assert_ok(bnmlp_model_set_weights(model, 1, BNMLP_WEIGHT_BETA, beta, 2));
    free(bytes);
    bytes = export_bytes(model, dir, "m.safetensors", &size);
    bnmlp_error_detail detail = {0};
    assert_status(bnmlp_model_load_safetensors_buffer(nocenter, bytes, size, &detail), BNMLP_ERR_UNSUPPORTED);
    assert_non_null(strstr(detail.message, "'1.bias', element 0, is 0.25; layer 1 has center off"));
    beta[0] = 0.0f;
    assert_ok(bnmlp_model_set_weights(model, 1, BNMLP_WEIGHT_BETA, beta, 2));
    free(bytes);
    bytes = export_bytes(model, dir, "m.safetensors", &size);
    assert_ok(bnmlp_model_load_safetensors_buffer(nocenter, bytes, size, &detail));
    free(bytes);
    test_remove_dir(dir);
    bnmlp_model_free(nocenter);
    bnmlp_model_free(model);
}

static void unbuilt_and_unwritable_are_refused(void **state) {
    (void)state;
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(2, &status);
    assert_ok(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(1)));
    assert_status(bnmlp_model_export(model, "safetensors", "/tmp/never.safetensors", NULL, NULL),
                  BNMLP_ERR_NOT_BUILT);
    assert_status(bnmlp_model_load_safetensors(model, ST_DIR "torch_model.safetensors", NULL),
                  BNMLP_ERR_NOT_BUILT);
    assert_ok(bnmlp_model_build(model, 2, 0));
    bnmlp_error_detail detail = {0};
    assert_status(bnmlp_model_export(model, "safetensors", "/nonexistent-dir/m.safetensors", NULL, &detail),
                  BNMLP_ERR_FILE_OPEN);
    assert_status(bnmlp_model_load_safetensors(model, "/nonexistent-dir/m.safetensors", &detail),
                  BNMLP_ERR_FILE_OPEN);
    bool listed = false;
    for (size_t i = 0; i < bnmlp_export_format_count(); i++)
        listed = listed || strcmp(bnmlp_export_format_name(i), "safetensors") == 0;
    assert_true(listed);
    bnmlp_model_free(model);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(torch_file_imports_and_predicts_as_pytorch),
        cmocka_unit_test(torch_file_loads_into_a_built_model),
        cmocka_unit_test(committed_export_predicts_as_pytorch),
        cmocka_unit_test(round_trip_is_bit_exact_and_deterministic),
        cmocka_unit_test(header_has_pytorch_names),
        cmocka_unit_test(bad_files_are_refused),
        cmocka_unit_test(bad_layer_texts_are_refused),
        cmocka_unit_test(unbuilt_and_unwritable_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
