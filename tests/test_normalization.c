/* test_normalization.c - the normalization layer against NumPy (tools/gen_normalization_fixtures.py):
 * adapt's mean and population variance, the forward values in both modes (exact), a gradient
 * check, training leaves it alone, save and load, and every bad input of adapt. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "support.h"

#include "fixtures/normalization_reference.h"

/* A model of NORM_COLS inputs: Normalization only. */
static bnmlp_model *normalization_only(size_t max_batch, const bnmlp_allocator *allocator) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create_with_allocator(NORM_COLS, allocator, &status);
    assert_ok(status);
    assert_ok(bnmlp_model_add_normalization(model));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_MEAN_SQUARED_ERROR));
    assert_ok(bnmlp_model_build(model, max_batch, 1));
    return model;
}

static void get_statistics(const bnmlp_model *model, size_t index, float *mean, float *variance, size_t n) {
    assert_ok(bnmlp_model_get_weights(model, index, BNMLP_WEIGHT_MOVING_MEAN, mean, n));
    assert_ok(bnmlp_model_get_weights(model, index, BNMLP_WEIGHT_MOVING_VARIANCE, variance, n));
}

static void test_starts_as_the_identity(void **state) {
    (void)state;
    bnmlp_model *model = normalization_only(NORM_INPUT_ROWS, NULL);
    float out[NORM_INPUT_ROWS * NORM_COLS];
    bnmlp_tensor x = bnmlp_tensor_view((float *)norm_input, NORM_INPUT_ROWS, NORM_COLS);
    bnmlp_tensor y = bnmlp_tensor_view(out, NORM_INPUT_ROWS, NORM_COLS);
    assert_ok(bnmlp_model_predict(model, &x, &y));
    assert_memory_equal(out, norm_input, sizeof out);
    bnmlp_layer_info info;
    assert_ok(bnmlp_model_layer_info(model, 0, &info));
    assert_int_equal(info.kind, BNMLP_LAYER_NORMALIZATION);
    assert_int_equal(info.trainable_params, 0);
    assert_int_equal(info.non_trainable_params, 2 * NORM_COLS); /* mean and variance */
    assert_int_equal(bnmlp_model_param_count(model), 0);
    bnmlp_model_free(model);
}

static void test_adapt_matches_numpy(void **state) {
    (void)state;
    bnmlp_model *model = normalization_only(NORM_INPUT_ROWS, NULL);
    bnmlp_tensor data = bnmlp_tensor_view((float *)norm_adapt_x, NORM_ADAPT_ROWS, NORM_COLS);
    assert_ok(bnmlp_model_adapt(model, 0, &data));
    float mean[NORM_COLS], variance[NORM_COLS];
    get_statistics(model, 0, mean, variance, NORM_COLS);
    /* Both in double, rounded once: the summation orders differ (NumPy sums pairwise). */
    assert_floats_close(mean, norm_mean, NORM_COLS, 0.0, 1e-6);
    assert_floats_close(variance, norm_variance, NORM_COLS, 0.0, 1e-6);
    assert_true(variance[1] == 0.0f); /* the constant column */
    assert_true(mean[1] == 5.25f);
    /* The forward values from adapt's statistics, as NumPy's within float rounding. */
    float out[NORM_INPUT_ROWS * NORM_COLS];
    bnmlp_tensor x = bnmlp_tensor_view((float *)norm_input, NORM_INPUT_ROWS, NORM_COLS);
    bnmlp_tensor y = bnmlp_tensor_view(out, NORM_INPUT_ROWS, NORM_COLS);
    assert_ok(bnmlp_model_predict(model, &x, &y));
    assert_floats_close(out, norm_output, NORM_INPUT_ROWS * NORM_COLS, 1e-4, 1e-5);
    bnmlp_model_free(model);
}

static void test_forward_exact_in_both_modes(void **state) {
    (void)state;
    bnmlp_model *model = normalization_only(NORM_INPUT_ROWS, NULL);
    assert_ok(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_MOVING_MEAN, norm_mean, NORM_COLS));
    assert_ok(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_MOVING_VARIANCE, norm_variance, NORM_COLS));
    const bnmlp_mode modes[2] = {BNMLP_MODE_INFERENCE, BNMLP_MODE_TRAINING};
    for (int k = 0; k < 2; k++) {
        float out[NORM_INPUT_ROWS * NORM_COLS];
        bnmlp_tensor x = bnmlp_tensor_view((float *)norm_input, NORM_INPUT_ROWS, NORM_COLS);
        bnmlp_tensor y = bnmlp_tensor_view(out, NORM_INPUT_ROWS, NORM_COLS);
        assert_ok(bnmlp_model_forward(model, &x, modes[k], &y));
        /* Float32 subtract, sqrt, max and divide, as NumPy's: bit for bit. */
        assert_memory_equal(out, norm_output, sizeof out);
    }
    float mean[NORM_COLS], variance[NORM_COLS]; /* a training-mode forward changes nothing */
    get_statistics(model, 0, mean, variance, NORM_COLS);
    assert_memory_equal(mean, norm_mean, sizeof mean);
    assert_memory_equal(variance, norm_variance, sizeof variance);
    bnmlp_model_free(model);
}

/* 4 -> Dense(5, tanh) -> Normalization -> Dense(1, sigmoid); the normalization set to a mean and
 * variance that matter. */
static bnmlp_model *small_net(size_t max_batch) {
    bnmlp_model *m = bnmlp_model_create(4, NULL);
    bnmlp_dense_config d1 = BNMLP_DENSE_DEFAULT(5);
    d1.activation = BNMLP_ACTIVATION_TANH;
    assert_ok(bnmlp_model_add_dense(m, &d1));
    assert_ok(bnmlp_model_add_normalization(m));
    bnmlp_dense_config d2 = BNMLP_DENSE_DEFAULT(1);
    d2.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(m, &d2));
    assert_ok(bnmlp_model_build(m, max_batch, 3));
    const float mean[5] = {0.1f, -0.2f, 0.3f, 0.05f, 0.0f}, variance[5] = {0.25f, 0.5f, 0.09f, 2.0f, 0.0f};
    assert_ok(bnmlp_model_set_weights(m, 2, BNMLP_WEIGHT_MOVING_MEAN, mean, 5));
    assert_ok(bnmlp_model_set_weights(m, 2, BNMLP_WEIGHT_MOVING_VARIANCE, variance, 5));
    return m;
}

static void test_gradient_check(void **state) {
    (void)state;
    enum { MB = 8 };
    bnmlp_model *m = small_net(MB);
    /* Feature 4 has variance 0 (the 1e-7 floor): its gradients would be 1e7 times larger. Zero
     * its inputs' weights (its input is then tanh(0) = its mean 0, its output 0) so that the
     * check stays in float's range, and check the other features. */
    float kernel[4 * 5];
    assert_ok(bnmlp_model_get_weights(m, 0, BNMLP_WEIGHT_KERNEL, kernel, 20));
    for (size_t i = 0; i < 4; i++) kernel[i * 5 + 4] = 0.0f;
    assert_ok(bnmlp_model_set_weights(m, 0, BNMLP_WEIGHT_KERNEL, kernel, 20));
    float w2[5] = {0.3f, -0.4f, 0.2f, 0.5f, 0.0f};
    assert_ok(bnmlp_model_set_weights(m, 3, BNMLP_WEIGHT_KERNEL, w2, 5));
    static float x[MB * 4], y[MB] = {1, 0, 0, 1, 1, 0, 1, 0};
    bnmlp_test_fill(x, MB * 4, 31);
    const size_t count = bnmlp_model_param_count(m);
    const bnmlp_tensor tx = bnmlp_tensor_view(x, MB, 4), ty = bnmlp_tensor_view(y, MB, 1);
    float *grad = malloc(count * sizeof *grad);
    assert_non_null(grad);
    float loss;
    assert_ok(bnmlp_model_loss_gradients(m, &tx, &ty, &loss, grad, count));
    double largest = 0;
    for (size_t i = 0; i < 25; i++) largest = fmax(largest, fabs(grad[i])); /* the first dense's */
    assert_true(largest > 1e-3); /* reached through the normalization's backward */
    bnmlp_test_check_model_gradients(m, &tx, &ty, grad, count, 1e-3f, 2e-3, 3e-2);
    free(grad);
    bnmlp_model_free(m);
}

static void test_training_leaves_it_alone_and_file_keeps_it(void **state) {
    (void)state;
    enum { ROWS = 40 };
    static float x[ROWS * 4], y[ROWS];
    bnmlp_test_fill(x, ROWS * 4, 8);
    for (size_t r = 0; r < ROWS; r++) y[r] = x[4 * r] > x[4 * r + 1] ? 1.0f : 0.0f;
    bnmlp_model *m = small_net(16);
    float mean[5], variance[5], mean_after[5], variance_after[5];
    get_statistics(m, 2, mean, variance, 5);
    assert_ok(bnmlp_model_set_trainable(m, 2, false)); /* frozen or not: the same */
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.epochs = 2, config.batch_size = 16;
    bnmlp_tensor tx = bnmlp_tensor_view(x, ROWS, 4), ty = bnmlp_tensor_view(y, ROWS, 1);
    assert_ok(bnmlp_model_fit(m, &tx, &ty, &config, NULL, NULL));
    assert_ok(bnmlp_model_set_trainable(m, 2, true));
    assert_ok(bnmlp_model_fit(m, &tx, &ty, &config, NULL, NULL));
    get_statistics(m, 2, mean_after, variance_after, 5);
    assert_memory_equal(mean_after, mean, sizeof mean);
    assert_memory_equal(variance_after, variance, sizeof variance);
    /* Saved and loaded: the same statistics, the same predictions. */
    size_t size = 0;
    assert_ok(bnmlp_model_save_buffer(m, false, NULL, 0, &size));
    unsigned char *bytes = malloc(size);
    assert_ok(bnmlp_model_save_buffer(m, false, bytes, size, &size));
    bnmlp_status status;
    bnmlp_model *loaded = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
    assert_ok(status);
    get_statistics(loaded, 2, mean_after, variance_after, 5);
    assert_memory_equal(mean_after, mean, sizeof mean);
    assert_memory_equal(variance_after, variance, sizeof variance);
    float p1[16], p2[16];
    bnmlp_tensor px = bnmlp_tensor_view(x, 16, 4), o1 = bnmlp_tensor_view(p1, 16, 1),
                 o2 = bnmlp_tensor_view(p2, 16, 1);
    assert_ok(bnmlp_model_predict(m, &px, &o1));
    assert_ok(bnmlp_model_predict(loaded, &px, &o2));
    assert_memory_equal(p1, p2, sizeof p1);
    /* A negative variance in the file is refused. */
    float *stored = loaded->stats + loaded->layers[2].arrays[BNMLP_ARRAY_MOVING_VARIANCE].offset;
    stored[0] = -1.0f;
    assert_ok(bnmlp_model_save_buffer(loaded, false, bytes, size, &size));
    assert_null(bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status));
    assert_int_equal(status, BNMLP_ERR_FORMAT);
    FILE *out = tmpfile();
    assert_ok(bnmlp_model_summary(m, out));
    rewind(out);
    char text[4096];
    const size_t n = fread(text, 1, sizeof text - 1, out);
    text[n] = '\0';
    fclose(out);
    assert_non_null(strstr(text, "normalization (Normalization)"));
    free(bytes);
    bnmlp_model_free(loaded);
    bnmlp_model_free(m);
}

static void test_adapt_bad_inputs(void **state) {
    (void)state;
    counting_allocator counts = {0};
    const bnmlp_allocator allocator = counting_allocator_of(&counts);
    bnmlp_model *model = normalization_only(4, &allocator);
    const float start_mean[NORM_COLS] = {1, 2, 3, 4}, start_variance[NORM_COLS] = {5, 6, 7, 8};
    assert_ok(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_MOVING_MEAN, start_mean, NORM_COLS));
    assert_ok(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_MOVING_VARIANCE, start_variance, NORM_COLS));
    static float nan_x[2 * NORM_COLS] = {1, 2, 3, 4, 5, NAN, 7, 8};
    static float inf_x[2 * NORM_COLS] = {1, 2, 3, 4, 5, 6, -INFINITY, 8};
    static float huge_x[2 * NORM_COLS] = {3e38f, 0, 0, 0, -3e38f, 0, 0, 0}; /* variance beyond float */
    static float ok_x[2 * NORM_COLS] = {1, 2, 3, 4, 5, 6, 7, 8};
    bnmlp_model *unbuilt = bnmlp_model_create(NORM_COLS, NULL);
    assert_ok(bnmlp_model_add_normalization(unbuilt));
    bnmlp_model *dense = bnmlp_model_create(NORM_COLS, NULL);
    assert_ok(bnmlp_model_add_dense(dense, &BNMLP_DENSE_DEFAULT(2)));
    assert_ok(bnmlp_model_build(dense, 2, 0));
    const struct {
        const char *what;
        bnmlp_model *model;
        size_t index;
        bnmlp_tensor x;
        bool null_x;
        bnmlp_status expected;
    } cases[] = {
        {"NULL model", NULL, 0, bnmlp_tensor_view(ok_x, 2, NORM_COLS), false, BNMLP_ERR_NULL_ARGUMENT},
        {"NULL x", model, 0, bnmlp_tensor_view(ok_x, 2, NORM_COLS), true, BNMLP_ERR_NULL_ARGUMENT},
        {"not built", unbuilt, 0, bnmlp_tensor_view(ok_x, 2, NORM_COLS), false, BNMLP_ERR_NOT_BUILT},
        {"index beyond", model, 1, bnmlp_tensor_view(ok_x, 2, NORM_COLS), false, BNMLP_ERR_INVALID_ARGUMENT},
        {"a dense layer", dense, 0, bnmlp_tensor_view(ok_x, 2, NORM_COLS), false, BNMLP_ERR_INVALID_ARGUMENT},
        {"too few columns", model, 0, bnmlp_tensor_view(ok_x, 2, 3), false, BNMLP_ERR_SHAPE},
        {"too many columns", model, 0, bnmlp_tensor_view(ok_x, 1, 8), false, BNMLP_ERR_SHAPE},
        {"no rows", model, 0, bnmlp_tensor_view(ok_x, 0, NORM_COLS), false, BNMLP_ERR_SHAPE},
        {"no data", model, 0, bnmlp_tensor_view(NULL, 2, NORM_COLS), false, BNMLP_ERR_SHAPE},
        {"NaN", model, 0, bnmlp_tensor_view(nan_x, 2, NORM_COLS), false, BNMLP_ERR_NOT_FINITE},
        {"infinity", model, 0, bnmlp_tensor_view(inf_x, 2, NORM_COLS), false, BNMLP_ERR_NOT_FINITE},
        {"variance overflows float", model, 0, bnmlp_tensor_view(huge_x, 2, NORM_COLS), false,
         BNMLP_ERR_NOT_FINITE},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const bnmlp_status got =
            bnmlp_model_adapt(cases[k].model, cases[k].index, cases[k].null_x ? NULL : &cases[k].x);
        if (got != cases[k].expected)
            fail_msg("%s: %s, expected %s", cases[k].what, bnmlp_status_string(got),
                     bnmlp_status_string(cases[k].expected));
        float mean[NORM_COLS], variance[NORM_COLS]; /* nothing changed */
        get_statistics(model, 0, mean, variance, NORM_COLS);
        assert_memory_equal(mean, start_mean, sizeof mean);
        assert_memory_equal(variance, start_variance, sizeof variance);
    }
    /* An allocation that fails: BNMLP_ERR_OUT_OF_MEMORY, nothing changed; the next call works. */
    counts.fail_at = counts.calls + 1;
    bnmlp_tensor ok = bnmlp_tensor_view(ok_x, 2, NORM_COLS);
    assert_status(bnmlp_model_adapt(model, 0, &ok), BNMLP_ERR_OUT_OF_MEMORY);
    float mean[NORM_COLS], variance[NORM_COLS];
    get_statistics(model, 0, mean, variance, NORM_COLS);
    assert_memory_equal(mean, start_mean, sizeof mean);
    counts.fail_at = 0;
    assert_ok(bnmlp_model_adapt(model, 0, &ok));
    get_statistics(model, 0, mean, variance, NORM_COLS);
    const float expected_mean[NORM_COLS] = {3, 4, 5, 6}, expected_variance[NORM_COLS] = {4, 4, 4, 4};
    assert_memory_equal(mean, expected_mean, sizeof mean);
    assert_memory_equal(variance, expected_variance, sizeof variance);
    /* Setting a negative variance directly is refused too. */
    const float negative[NORM_COLS] = {1, -1, 1, 1};
    assert_status(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_MOVING_VARIANCE, negative, NORM_COLS),
                  BNMLP_ERR_INVALID_ARGUMENT);
    /* One row: variance 0, mean the row. */
    bnmlp_tensor one = bnmlp_tensor_view(ok_x, 1, NORM_COLS);
    assert_ok(bnmlp_model_adapt(model, 0, &one));
    get_statistics(model, 0, mean, variance, NORM_COLS);
    assert_memory_equal(mean, ok_x, sizeof mean);
    for (size_t c = 0; c < NORM_COLS; c++) assert_true(variance[c] == 0.0f);
    assert_status(bnmlp_model_add_normalization(NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_model_add_normalization(model), BNMLP_ERR_ALREADY_BUILT);
    bnmlp_model_free(unbuilt);
    bnmlp_model_free(dense);
    bnmlp_model_free(model);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starts_as_the_identity),
        cmocka_unit_test(test_adapt_matches_numpy),
        cmocka_unit_test(test_forward_exact_in_both_modes),
        cmocka_unit_test(test_gradient_check),
        cmocka_unit_test(test_training_leaves_it_alone_and_file_keeps_it),
        cmocka_unit_test(test_adapt_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
