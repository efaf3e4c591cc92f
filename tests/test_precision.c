/* test_precision.c - the model's precision option: bf16 products in the dense layers give the
 * gradients the bf16 reference product computes (bit for bit), set_precision's bad inputs, the
 * names, the model file round trip (bf16 kept; float32 files unchanged and old files float32),
 * a checkpoint resuming bf16 training bit-identically. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/core.h"
#include "kernels/bf16.h"
#include "support.h"

enum { B = 8, IN = 4, HID = 6, OUT = 2 };

/* dense(IN -> HID), dense(HID -> OUT), linear, mean squared error, built for B rows. */
static bnmlp_model *make_model(bnmlp_precision precision, bool before_build) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(IN, &status);
    assert_non_null(model);
    if (before_build) assert_ok(bnmlp_model_set_precision(model, precision));
    assert_ok(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(HID)));
    assert_ok(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(OUT)));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_MEAN_SQUARED_ERROR));
    assert_ok(bnmlp_model_set_threads(model, 1));
    assert_ok(bnmlp_model_build(model, B, 7));
    if (!before_build) assert_ok(bnmlp_model_set_precision(model, precision));
    /* Non-zero biases, so that the order of the bias addition shows. */
    float b1[HID], b2[OUT];
    bnmlp_test_fill(b1, HID, 3), bnmlp_test_fill(b2, OUT, 4);
    assert_ok(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_BIAS, b1, HID));
    assert_ok(bnmlp_model_set_weights(model, 1, BNMLP_WEIGHT_BIAS, b2, OUT));
    return model;
}

static bool same_bits(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof *a) == 0; }

/* Column sums of m (rows, cols) in double, rounded once (the bias gradient). */
static void column_sums(float *out, const float *m, size_t rows, size_t cols) {
    for (size_t j = 0; j < cols; j++) {
        double s = 0.0;
        for (size_t i = 0; i < rows; i++) s += (double)m[i * cols + j];
        out[j] = (float)s;
    }
}

static void test_bf16_gradients_are_the_reference_products(void **state) {
    (void)state;
    for (int when = 0; when < 2; when++) {
        bnmlp_model *model = make_model(BNMLP_PRECISION_BF16, when == 0);
        assert_int_equal(bnmlp_model_precision(model), BNMLP_PRECISION_BF16);
        float x[B * IN], y[B * OUT], w1[IN * HID], b1[HID], w2[HID * OUT], b2[OUT];
        bnmlp_test_fill(x, B * IN, 11), bnmlp_test_fill(y, B * OUT, 12);
        assert_ok(bnmlp_model_get_weights(model, 0, BNMLP_WEIGHT_KERNEL, w1, IN * HID));
        assert_ok(bnmlp_model_get_weights(model, 0, BNMLP_WEIGHT_BIAS, b1, HID));
        assert_ok(bnmlp_model_get_weights(model, 1, BNMLP_WEIGHT_KERNEL, w2, HID * OUT));
        assert_ok(bnmlp_model_get_weights(model, 1, BNMLP_WEIGHT_BIAS, b2, OUT));
        /* The reference: every product through bnmlp_gemm_bf16_reference. */
        float h[B * HID], out[B * OUT], dy[B * OUT], dh[B * HID];
        float want[IN * HID + HID + HID * OUT + OUT] = {0};
        float *dw1 = want, *db1 = dw1 + IN * HID, *dw2 = db1 + HID, *db2 = dw2 + HID * OUT;
        bnmlp_gemm_bf16_reference(false, false, B, HID, IN, x, IN, w1, HID, b1, false, h, HID);
        bnmlp_gemm_bf16_reference(false, false, B, OUT, HID, h, HID, w2, OUT, b2, false, out, OUT);
        for (size_t i = 0; i < B * OUT; i++)
            dy[i] = (float)(2.0 * ((double)out[i] - (double)y[i]) / (B * OUT));
        bnmlp_gemm_bf16_reference(true, false, HID, OUT, B, h, HID, dy, OUT, NULL, true, dw2, OUT);
        column_sums(db2, dy, B, OUT);
        bnmlp_gemm_bf16_reference(false, true, B, HID, OUT, dy, OUT, w2, OUT, NULL, false, dh, HID);
        bnmlp_gemm_bf16_reference(true, false, IN, HID, B, x, IN, dh, HID, NULL, true, dw1, HID);
        column_sums(db1, dh, B, HID);

        const size_t count = bnmlp_model_param_count(model);
        assert_int_equal(count, sizeof want / sizeof want[0]);
        float got[sizeof want / sizeof want[0]], prediction[B * OUT];
        bnmlp_tensor tx = bnmlp_tensor_view(x, B, IN), ty = bnmlp_tensor_view(y, B, OUT);
        bnmlp_tensor tp = bnmlp_tensor_view(prediction, B, OUT);
        float loss;
        assert_ok(bnmlp_model_loss_gradients(model, &tx, &ty, &loss, got, count));
        assert_true(same_bits(got, want, count));
        assert_ok(bnmlp_model_predict(model, &tx, &tp));
        assert_true(same_bits(prediction, out, B * OUT));

        /* The same model in float32 differs (the option is live) and comes back to bf16's bits. */
        assert_ok(bnmlp_model_set_precision(model, BNMLP_PRECISION_FP32));
        assert_ok(bnmlp_model_predict(model, &tx, &tp));
        assert_false(same_bits(prediction, out, B * OUT));
        assert_ok(bnmlp_model_set_precision(model, BNMLP_PRECISION_BF16));
        assert_ok(bnmlp_model_predict(model, &tx, &tp));
        assert_true(same_bits(prediction, out, B * OUT));
        bnmlp_model_free(model);
    }
}

static void test_set_precision_bad_inputs_and_names(void **state) {
    (void)state;
    bnmlp_model *model = make_model(BNMLP_PRECISION_FP32, true);
    assert_int_equal(bnmlp_model_precision(model), BNMLP_PRECISION_FP32);
    assert_int_equal(bnmlp_model_precision(NULL), BNMLP_PRECISION_FP32);
    assert_status(bnmlp_model_set_precision(NULL, BNMLP_PRECISION_BF16), BNMLP_ERR_NULL_ARGUMENT);
    const int bad[] = {-1, 2, 99};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_status(bnmlp_model_set_precision(model, (bnmlp_precision)bad[i]), BNMLP_ERR_INVALID_ARGUMENT);
        assert_int_equal(bnmlp_model_precision(model), BNMLP_PRECISION_FP32);
    }
    assert_string_equal(bnmlp_precision_name(BNMLP_PRECISION_FP32), "fp32");
    assert_string_equal(bnmlp_precision_name(BNMLP_PRECISION_BF16), "bf16");
    assert_string_equal(bnmlp_precision_name((bnmlp_precision)7), "unknown");
    bnmlp_precision p = BNMLP_PRECISION_FP32;
    assert_ok(bnmlp_precision_from_name("bf16", &p));
    assert_int_equal(p, BNMLP_PRECISION_BF16);
    const char *bad_names[] = {"", "BF16", "fp16", "bf16 ", "float32"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        assert_status(bnmlp_precision_from_name(bad_names[i], &p), BNMLP_ERR_INVALID_ARGUMENT);
        assert_int_equal(p, BNMLP_PRECISION_BF16);
    }
    assert_status(bnmlp_precision_from_name(NULL, &p), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_precision_from_name("fp32", NULL), BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_model_free(model);
}

/* Bytes of a model file in memory (malloc'd). */
static unsigned char *saved(const bnmlp_model *model, bool checkpoint, size_t *size) {
    assert_ok(bnmlp_model_save_buffer(model, checkpoint, NULL, 0, size));
    unsigned char *bytes = malloc(*size);
    assert_ok(bnmlp_model_save_buffer(model, checkpoint, bytes, *size, size));
    return bytes;
}

static bool holds(const unsigned char *bytes, size_t size, const char *text) {
    const size_t n = strlen(text);
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(bytes + i, text, n) == 0) return true;
    return false;
}

static void test_file_keeps_precision(void **state) {
    (void)state;
    bnmlp_status status;
    bnmlp_error_detail detail = {0};
    /* float32: no precision field at all (files as before the option); loads as float32. */
    bnmlp_model *fp32 = make_model(BNMLP_PRECISION_FP32, true);
    size_t size;
    unsigned char *bytes = saved(fp32, false, &size);
    assert_false(holds(bytes, size, "precision"));
    bnmlp_model *loaded = bnmlp_model_load_buffer(bytes, size, NULL, &detail, &status);
    assert_non_null(loaded);
    assert_int_equal(bnmlp_model_precision(loaded), BNMLP_PRECISION_FP32);
    bnmlp_model_free(loaded), free(bytes), bnmlp_model_free(fp32);

    /* bf16: kept, and the loaded model predicts the same bits. */
    bnmlp_model *bf16 = make_model(BNMLP_PRECISION_BF16, false);
    bytes = saved(bf16, false, &size);
    assert_true(holds(bytes, size, "precision"));
    loaded = bnmlp_model_load_buffer(bytes, size, NULL, &detail, &status);
    assert_non_null(loaded);
    assert_int_equal(bnmlp_model_precision(loaded), BNMLP_PRECISION_BF16);
    float x[B * IN], p1[B * OUT], p2[B * OUT];
    bnmlp_test_fill(x, B * IN, 21);
    bnmlp_tensor tx = bnmlp_tensor_view(x, B, IN), t1 = bnmlp_tensor_view(p1, B, OUT),
                 t2 = bnmlp_tensor_view(p2, B, OUT);
    assert_ok(bnmlp_model_predict(bf16, &tx, &t1));
    assert_ok(bnmlp_model_predict(loaded, &tx, &t2));
    assert_true(same_bits(p1, p2, B * OUT));
    bnmlp_model_free(loaded), free(bytes), bnmlp_model_free(bf16);

    /* A precision outside bnmlp_precision is refused (BNMLP_ERR_FORMAT), whatever else the file holds. */
    bf16 = make_model(BNMLP_PRECISION_BF16, true);
    bytes = saved(bf16, false, &size);
    size_t at = 0;
    while (at + 9 <= size && memcmp(bytes + at, "precision", 9) != 0) at++;
    assert_true(at + 9 + 8 <= size);
    assert_int_equal(bnmlp_load_le32(bytes + at + 9), 4); /* value length, then the u32 value */
    assert_int_equal(bnmlp_load_le32(bytes + at + 13), 1);
    const uint32_t bad_values[] = {2, 5, 0xffffffffu};
    for (size_t k = 0; k < sizeof bad_values / sizeof bad_values[0]; k++) {
        bnmlp_store_le32(bytes + at + 13, bad_values[k]);
        bnmlp_store_le32(bytes + size - 4, bnmlp_crc32_update(0, bytes, size - 4));
        loaded = bnmlp_model_load_buffer(bytes, size, NULL, &detail, &status);
        assert_null(loaded);
        assert_int_equal(status, BNMLP_ERR_FORMAT);
    }
    free(bytes), bnmlp_model_free(bf16);

#if defined(BNMLP_FIXTURES_DIR)
    /* A version-1 file of before the option: float32. */
    loaded = bnmlp_model_load(BNMLP_FIXTURES_DIR "/model-v1/model.bnmlp", NULL, &detail, &status);
    assert_non_null(loaded);
    assert_int_equal(bnmlp_model_precision(loaded), BNMLP_PRECISION_FP32);
    bnmlp_model_free(loaded);
#endif
}

/* Two bf16 SGD-momentum steps in one go, or one step, a checkpoint, a load and the second step:
 * the same parameters, bit for bit. */
static void test_checkpoint_resumes_bf16_bit_identically(void **state) {
    (void)state;
    const bnmlp_optimizer_config sgd = BNMLP_OPTIMIZER_SGD_DEFAULT;
    float x[B * IN], y[B * OUT];
    bnmlp_test_fill(x, B * IN, 31), bnmlp_test_fill(y, B * OUT, 32);
    bnmlp_tensor tx = bnmlp_tensor_view(x, B, IN), ty = bnmlp_tensor_view(y, B, OUT);
    bnmlp_model *straight = make_model(BNMLP_PRECISION_BF16, true);
    bnmlp_model *resumed_from = make_model(BNMLP_PRECISION_BF16, true);
    assert_ok(bnmlp_model_train_step(straight, &tx, &ty, &sgd, NULL, NULL));
    assert_ok(bnmlp_model_train_step(straight, &tx, &ty, &sgd, NULL, NULL));
    assert_ok(bnmlp_model_train_step(resumed_from, &tx, &ty, &sgd, NULL, NULL));
    size_t size;
    unsigned char *bytes = saved(resumed_from, true, &size);
    bnmlp_status status;
    bnmlp_error_detail detail = {0};
    bnmlp_model *resumed = bnmlp_model_load_buffer(bytes, size, NULL, &detail, &status);
    assert_non_null(resumed);
    assert_int_equal(bnmlp_model_precision(resumed), BNMLP_PRECISION_BF16);
    assert_ok(bnmlp_model_train_step(resumed, &tx, &ty, &sgd, NULL, NULL));
    const size_t count = bnmlp_model_param_count(straight);
    float a[64], b[64];
    assert_true(count <= 64);
    assert_ok(bnmlp_model_get_params(straight, a, count));
    assert_ok(bnmlp_model_get_params(resumed, b, count));
    assert_true(same_bits(a, b, count));
    free(bytes), bnmlp_model_free(straight), bnmlp_model_free(resumed_from), bnmlp_model_free(resumed);
}

/* Folding keeps the precision; the folded bf16 model predicts near the original (bf16 rounds
 * the folded weights, not the same ones). */
static void test_fold_keeps_precision(void **state) {
    (void)state;
    bnmlp_model *model = make_model(BNMLP_PRECISION_BF16, true);
    bnmlp_status status;
    bnmlp_model *folded = bnmlp_model_fold(model, NULL, &status);
    assert_non_null(folded);
    assert_int_equal(bnmlp_model_precision(folded), BNMLP_PRECISION_BF16);
    float x[B * IN], p1[B * OUT], p2[B * OUT];
    bnmlp_test_fill(x, B * IN, 41);
    bnmlp_tensor tx = bnmlp_tensor_view(x, B, IN), t1 = bnmlp_tensor_view(p1, B, OUT),
                 t2 = bnmlp_tensor_view(p2, B, OUT);
    assert_ok(bnmlp_model_predict(model, &tx, &t1));
    assert_ok(bnmlp_model_predict(folded, &tx, &t2));
    assert_floats_close(p2, p1, B * OUT, 1e-6, 1e-5); /* no batch norm: the same layers */
    bnmlp_model_free(folded), bnmlp_model_free(model);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bf16_gradients_are_the_reference_products),
        cmocka_unit_test(test_set_precision_bad_inputs_and_names),
        cmocka_unit_test(test_file_keeps_precision),
        cmocka_unit_test(test_checkpoint_resumes_bf16_bit_identically),
        cmocka_unit_test(test_fold_keeps_precision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
