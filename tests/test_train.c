/* test_train.c - end to end: fit converges, seeds fix everything, fit's documented edge cases. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define GRID 16 /* points per axis of the XOR data set */
#define ROWS (GRID * GRID)

/* A fixed non-linear 2-D set: a 16 x 16 grid on [-1, 1]^2 (the axes themselves left out),
 * label 1 where x0 * x1 > 0 (XOR of the signs): no line separates it. */
static void make_xor(float *x, float *y) {
    for (int i = 0; i < GRID; i++) {
        for (int j = 0; j < GRID; j++) {
            const int r = i * GRID + j;
            x[2 * r] = -1.0f + (2.0f * (float)i + 1.0f) / GRID;
            x[2 * r + 1] = -1.0f + (2.0f * (float)j + 1.0f) / GRID;
            y[r] = x[2 * r] * x[2 * r + 1] > 0.0f ? 1.0f : 0.0f;
        }
    }
}

/* 2 -> Dense(16, relu, he_uniform) -> [BatchNorm] -> Dense(1, sigmoid), built for 32 rows. */
static bnmlp_model *small_model(bool batchnorm, uint32_t seed) {
    bnmlp_status status;
    bnmlp_model *m = bnmlp_model_create(2, &status);
    assert_ok(status);
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(16);
    hidden.activation = BNMLP_ACTIVATION_RELU;
    hidden.kernel_initializer = BNMLP_INIT_HE_UNIFORM;
    assert_ok(bnmlp_model_add_dense(m, &hidden));
    if (batchnorm) assert_ok(bnmlp_model_add_batchnorm(m, &BNMLP_BATCHNORM_DEFAULT));
    bnmlp_dense_config output = BNMLP_DENSE_DEFAULT(1);
    output.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(m, &output));
    assert_ok(bnmlp_model_build(m, 32, seed));
    return m;
}

/* Fits the XOR set and returns the inference-mode training accuracy. */
static double fit_xor(bool batchnorm, bnmlp_epoch_record *history, size_t epochs) {
    static float x[ROWS * 2], y[ROWS];
    make_xor(x, y);
    bnmlp_tensor tx = bnmlp_tensor_view(x, ROWS, 2), ty = bnmlp_tensor_view(y, ROWS, 1);
    bnmlp_model *m = small_model(batchnorm, 7);
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.epochs = epochs;
    config.optimizer.sgd = (bnmlp_sgd_config){.learning_rate = 0.05f, .momentum = 0.9f};
    size_t run = 0;
    assert_ok(bnmlp_model_fit(m, &tx, &ty, &config, history, &run));
    assert_int_equal(run, epochs);
    double loss, accuracy;
    assert_ok(bnmlp_model_evaluate(m, &tx, &ty, &loss, &accuracy));
    bnmlp_model_free(m);
    return accuracy;
}

static void test_fit_converges_without_batchnorm(void **state) {
    (void)state;
    bnmlp_epoch_record history[200];
    const double accuracy = fit_xor(false, history, 200);
    assert_true(accuracy >= 0.9);
    assert_true(history[199].loss < history[0].loss); /* the loss went down */
    assert_true(history[199].accuracy >= 0.9);        /* Keras-style training accuracy too */
}

static void test_fit_converges_with_batchnorm(void **state) {
    (void)state;
    bnmlp_epoch_record history[200];
    const double accuracy = fit_xor(true, history, 200);
    assert_true(accuracy >= 0.9);
    assert_true(history[199].loss < history[0].loss);
}

/* Two fits from the same seed give the same weights and history bit for bit; another seed not. */
static void test_seed_fixes_everything(void **state) {
    (void)state;
    static float x[ROWS * 2], y[ROWS];
    make_xor(x, y);
    bnmlp_tensor tx = bnmlp_tensor_view(x, ROWS, 2), ty = bnmlp_tensor_view(y, ROWS, 1);
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.epochs = 5;
    config.validation_x = &tx;
    config.validation_y = &ty;
    bnmlp_epoch_record h[3][5];
    float params[3][128];
    const uint32_t seeds[3] = {11, 11, 12};
    for (int k = 0; k < 3; k++) {
        bnmlp_model *m = small_model(true, seeds[k]);
        assert_int_equal(bnmlp_model_param_count(m), 16 * 2 + 16 + 16 * 2 + 16 + 1);
        assert_ok(bnmlp_model_fit(m, &tx, &ty, &config, h[k], NULL));
        assert_ok(bnmlp_model_get_params(m, params[k], bnmlp_model_param_count(m)));
        bnmlp_model_free(m);
    }
    const size_t n = 16 * 2 + 16 + 16 * 2 + 16 + 1;
    assert_memory_equal(params[0], params[1], n * sizeof(float));
    assert_memory_equal(h[0], h[1], sizeof h[0]);
    assert_memory_not_equal(params[0], params[2], n * sizeof(float));
}

/* Training metrics are the batch-size-weighted means of the per-step metrics (Keras's
 * BaseLogger): replaying the same steps by hand with train_step gives the same epoch loss. */
static void test_fit_reports_weighted_means(void **state) {
    (void)state;
    static float x[ROWS * 2], y[ROWS];
    make_xor(x, y);
    const size_t rows = 70; /* batches of 32, 32 and 6 */
    bnmlp_tensor tx = bnmlp_tensor_view(x, rows, 2), ty = bnmlp_tensor_view(y, rows, 1);
    bnmlp_model *a = small_model(false, 3), *b = small_model(false, 3);
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.shuffle = false;
    bnmlp_epoch_record record;
    assert_ok(bnmlp_model_fit(a, &tx, &ty, &config, &record, NULL));
    double loss_sum = 0.0, accuracy_sum = 0.0;
    for (size_t start = 0; start < rows; start += 32) {
        const size_t n = rows - start < 32 ? rows - start : 32;
        bnmlp_tensor bx = bnmlp_tensor_view(x + 2 * start, n, 2), by = bnmlp_tensor_view(y + start, n, 1);
        float loss, accuracy;
        assert_ok(bnmlp_model_train_step(b, &bx, &by, &config.optimizer, &loss, &accuracy));
        loss_sum += loss * (double)n;
        accuracy_sum += accuracy * (double)n;
    }
    assert_float_equal(record.loss, loss_sum / rows, 1e-6);
    assert_float_equal(record.accuracy, accuracy_sum / rows, 1e-9);
    assert_true(isnan(record.val_loss) && isnan(record.val_accuracy));
    bnmlp_model_free(a);
    bnmlp_model_free(b);
}

/* A trailing one-row batch is skipped with batch norm (it has no batch statistics) and used
 * without: 33 rows in batches of 32 leave one row at the end. */
static void test_fit_trailing_single_row(void **state) {
    (void)state;
    static float x[ROWS * 2], y[ROWS];
    make_xor(x, y);
    bnmlp_tensor tx = bnmlp_tensor_view(x, 33, 2), ty = bnmlp_tensor_view(y, 33, 1);
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.shuffle = false;
    for (int with_bn = 0; with_bn < 2; with_bn++) {
        bnmlp_model *fitted = small_model(with_bn, 5), *stepped = small_model(with_bn, 5);
        assert_ok(bnmlp_model_fit(fitted, &tx, &ty, &config, NULL, NULL));
        /* Replay: one step on the first 32 rows, then (without batch norm) one on row 32. */
        bnmlp_tensor first_x = bnmlp_tensor_view(x, 32, 2), first_y = bnmlp_tensor_view(y, 32, 1);
        assert_ok(bnmlp_model_train_step(stepped, &first_x, &first_y, &config.optimizer, NULL, NULL));
        bnmlp_tensor last_x = bnmlp_tensor_view(x + 64, 1, 2), last_y = bnmlp_tensor_view(y + 32, 1, 1);
        if (with_bn)
            assert_status(bnmlp_model_train_step(stepped, &last_x, &last_y, &config.optimizer, NULL, NULL),
                          BNMLP_ERR_BATCH_TOO_SMALL);
        else
            assert_ok(bnmlp_model_train_step(stepped, &last_x, &last_y, &config.optimizer, NULL, NULL));
        const size_t n = bnmlp_model_param_count(fitted);
        float pa[128], pb[128];
        assert_ok(bnmlp_model_get_params(fitted, pa, n));
        assert_ok(bnmlp_model_get_params(stepped, pb, n));
        assert_memory_equal(pa, pb, n * sizeof(float));
        bnmlp_model_free(fitted);
        bnmlp_model_free(stepped);
    }
}

/* Predict equals an inference forward, for more rows than the maximum batch. */
static void test_predict_matches_forward(void **state) {
    (void)state;
    static float x[ROWS * 2], y[ROWS], predicted[ROWS], chunk[32];
    make_xor(x, y);
    bnmlp_model *m = small_model(true, 9);
    bnmlp_tensor tx = bnmlp_tensor_view(x, ROWS, 2), out = bnmlp_tensor_view(predicted, ROWS, 1);
    assert_ok(bnmlp_model_predict(m, &tx, &out));
    for (size_t start = 0; start < ROWS; start += 32) {
        bnmlp_tensor bx = bnmlp_tensor_view(x + 2 * start, 32, 2), bo = bnmlp_tensor_view(chunk, 32, 1);
        assert_ok(bnmlp_model_forward(m, &bx, BNMLP_MODE_INFERENCE, &bo));
        assert_memory_equal(chunk, predicted + start, sizeof chunk);
    }
    bnmlp_model_free(m);
}

/* An update that would overflow a weight is refused whole: the loss and gradients are finite,
 * but lr 3e38 sends weights to infinity. Nothing may change, velocities included. */
static void test_overflowing_update_is_refused(void **state) {
    (void)state;
    static float x[ROWS * 2], y[ROWS];
    make_xor(x, y);
    for (size_t i = 0; i < 2 * 32; i++) x[i] *= 100.0f;
    bnmlp_tensor bx = bnmlp_tensor_view(x, 32, 2), by = bnmlp_tensor_view(y, 32, 1);
    bnmlp_model *m = small_model(false, 4), *twin = small_model(false, 4);
    const size_t n = bnmlp_model_param_count(m);
    float before[128], after[128], twin_params[128];
    assert_ok(bnmlp_model_get_params(m, before, n));
    const bnmlp_sgd_config huge = {.learning_rate = 3e38f, .momentum = 0.9f};
    assert_status(bnmlp_model_train_step(m, &bx, &by, SGD_CONFIG(&huge), NULL, NULL), BNMLP_ERR_DIVERGED);
    assert_ok(bnmlp_model_get_params(m, after, n));
    assert_memory_equal(before, after, n * sizeof(float));
    /* Velocities untouched: a normal step now matches the same step on an untouched twin. */
    const bnmlp_sgd_config normal = {.learning_rate = 0.01f, .momentum = 0.9f};
    assert_ok(bnmlp_model_train_step(m, &bx, &by, SGD_CONFIG(&normal), NULL, NULL));
    assert_ok(bnmlp_model_train_step(twin, &bx, &by, SGD_CONFIG(&normal), NULL, NULL));
    assert_ok(bnmlp_model_get_params(m, after, n));
    assert_ok(bnmlp_model_get_params(twin, twin_params, n));
    assert_memory_equal(after, twin_params, n * sizeof(float));
    bnmlp_model_free(m);
    bnmlp_model_free(twin);
}

/* A frozen batch-norm layer behaves as in inference mode even in a training-mode forward: the
 * outputs of both modes are identical, and differ once the layer is unfrozen. */
static void test_frozen_batchnorm_forward_is_inference(void **state) {
    (void)state;
    static float x[ROWS * 2], y[ROWS], train_out[32], infer_out[32];
    make_xor(x, y);
    bnmlp_model *m = small_model(true, 6);
    const float mean[16] = {0.3f, 0.1f, 0.2f},
                variance[16] = {2.0f, 0.5f, 1.5f, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    assert_ok(bnmlp_model_set_weights(m, 2, BNMLP_WEIGHT_MOVING_MEAN, mean, 16));
    assert_ok(bnmlp_model_set_weights(m, 2, BNMLP_WEIGHT_MOVING_VARIANCE, variance, 16));
    bnmlp_tensor bx = bnmlp_tensor_view(x, 32, 2);
    bnmlp_tensor to = bnmlp_tensor_view(train_out, 32, 1), io = bnmlp_tensor_view(infer_out, 32, 1);
    assert_ok(bnmlp_model_set_trainable(m, 2, false));
    assert_ok(bnmlp_model_forward(m, &bx, BNMLP_MODE_TRAINING, &to));
    assert_ok(bnmlp_model_forward(m, &bx, BNMLP_MODE_INFERENCE, &io));
    assert_memory_equal(train_out, infer_out, sizeof train_out);
    assert_ok(bnmlp_model_set_trainable(m, 2, true));
    assert_ok(bnmlp_model_forward(m, &bx, BNMLP_MODE_TRAINING, &to));
    assert_memory_not_equal(train_out, infer_out, sizeof train_out);
    bnmlp_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_converges_without_batchnorm),
        cmocka_unit_test(test_fit_converges_with_batchnorm),
        cmocka_unit_test(test_seed_fixes_everything),
        cmocka_unit_test(test_fit_reports_weighted_means),
        cmocka_unit_test(test_fit_trailing_single_row),
        cmocka_unit_test(test_predict_matches_forward),
        cmocka_unit_test(test_overflowing_update_is_refused),
        cmocka_unit_test(test_frozen_batchnorm_forward_is_inference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
