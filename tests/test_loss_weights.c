/*
 * test_loss_weights.c - class and sample weights through the model (bnmlp_loss_weights): the
 * weighted loss and parameter gradients of loss_gradients_weighted, train_step_weighted and fit
 * against torch's CrossEntropyLoss(weight=), weighted BCEWithLogitsLoss and the Keras formula
 * (tests/fixtures/weights_reference.h); a central-difference check of the weighted loss; weights
 * of 1 bit-identical to none; every bad input refused with nothing changed; thread counts
 * bit-identical; a sample weight that follows its row through fit's shuffle; evaluate's
 * weighted loss by Keras's rule.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "fixtures/weights_reference.h"
#include "model/model.h"

#define LOSS_TOL 1e-5
#define GRAD_ATOL 1e-6
#define GRAD_RTOL 1e-4

static void to_floats(float *out, const double *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (float)in[i];
}

/* width -> Dense(width, identity kernel, zero bias, activation) with loss: the loss's input is x. */
static bnmlp_model *identity_model(size_t width, bnmlp_activation activation, bnmlp_loss loss) {
    bnmlp_model *model = bnmlp_model_create(width, NULL);
    assert_non_null(model);
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(width);
    dense.activation = activation;
    assert_ok(bnmlp_model_add_dense(model, &dense));
    assert_ok(bnmlp_model_set_loss(model, loss));
    assert_ok(bnmlp_model_set_threads(model, 1));
    assert_ok(bnmlp_model_build(model, 16, 1));
    float kernel[WEIGHTS_K * WEIGHTS_K] = {0}, bias[WEIGHTS_K] = {0};
    for (size_t i = 0; i < width; i++) kernel[i * width + i] = 1.0f;
    assert_ok(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_KERNEL, kernel, width * width));
    assert_ok(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_BIAS, bias, width));
    return model;
}

/* The parameter gradient of the identity model from the loss's input gradient g (B, width):
 * dW = x^T g, db = column sums of g. */
static void parameter_gradient(double *out, const float *x, const double *g, size_t width) {
    for (size_t i = 0; i < width; i++)
        for (size_t j = 0; j < width; j++) {
            double s = 0.0;
            for (size_t r = 0; r < WEIGHTS_B; r++) s += (double)x[r * width + i] * g[r * width + j];
            out[i * width + j] = s;
        }
    for (size_t j = 0; j < width; j++) {
        double s = 0.0;
        for (size_t r = 0; r < WEIGHTS_B; r++) s += g[r * width + j];
        out[width * width + j] = s;
    }
}

static void assert_grad(const float *got, const double *want, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (fabs((double)got[i] - want[i]) > GRAD_ATOL + GRAD_RTOL * fabs(want[i]))
            fail_msg("gradient %zu: %.9g, want %.9g", i, (double)got[i], want[i]);
}

/* One reference case: the model's weighted loss and parameter gradient by loss_gradients, the
 * update of train_step (SGD, lr 1: params - gradient) and fit (one batch, unshuffled: the same
 * update and the loss in its record, bit for bit as train_step). */
static void check_case(bnmlp_model *(*make)(void), const float *x, const float *y, size_t width,
                       size_t y_cols, const bnmlp_loss_weights *weights, double want_loss,
                       const double *want_input_grad) {
    enum { P = WEIGHTS_K * WEIGHTS_K + WEIGHTS_K };
    const bnmlp_tensor tx = bnmlp_tensor_view((float *)x, WEIGHTS_B, width),
                       ty = bnmlp_tensor_view((float *)y, WEIGHTS_B, y_cols);
    const size_t count = width * width + width;
    double want[P];
    parameter_gradient(want, x, want_input_grad, width);
    bnmlp_model *model = make();
    float loss, grad[P], before[P], after_step[P], after_fit[P];
    assert_ok(bnmlp_model_loss_gradients_weighted(model, &tx, &ty, weights, &loss, grad, count));
    if (fabs((double)loss - want_loss) > LOSS_TOL * (1.0 + fabs(want_loss)))
        fail_msg("loss %.9g, want %.9g", (double)loss, want_loss);
    assert_grad(grad, want, count);
    assert_ok(bnmlp_model_get_params(model, before, count));
    bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    sgd.learning_rate = 1.0f;
    float step_loss;
    assert_ok(bnmlp_model_train_step_weighted(model, &tx, &ty, weights, SGD_CONFIG(&sgd), &step_loss, NULL));
    assert_true(step_loss == loss);
    assert_ok(bnmlp_model_get_params(model, after_step, count));
    for (size_t i = 0; i < count; i++) assert_true(after_step[i] == before[i] - grad[i]);
    bnmlp_model_free(model);

    model = make();
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.batch_size = WEIGHTS_B, fit.shuffle = false;
    fit.optimizer = *SGD_CONFIG(&sgd);
    fit.weights = *weights;
    bnmlp_epoch_record record;
    assert_ok(bnmlp_model_fit(model, &tx, &ty, &fit, &record, NULL));
    assert_true((float)record.loss == loss);
    assert_ok(bnmlp_model_get_params(model, after_fit, count));
    assert_memory_equal(after_fit, after_step, count * sizeof(float));
    bnmlp_model_free(model);
}

static bnmlp_model *categorical_model(void) {
    return identity_model(WEIGHTS_K, BNMLP_ACTIVATION_SOFTMAX, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY);
}
static bnmlp_model *binary_model(void) {
    return identity_model(WEIGHTS_OUT, BNMLP_ACTIVATION_SIGMOID, BNMLP_LOSS_BINARY_CROSSENTROPY);
}
static bnmlp_model *squared_model(void) {
    return identity_model(WEIGHTS_OUT, BNMLP_ACTIVATION_LINEAR, BNMLP_LOSS_MEAN_SQUARED_ERROR);
}

/* Categorical cross-entropy: torch's CrossEntropyLoss(weight=) (class weights; then with sample
 * weights, over sum(w)), and Keras's sum(w l) / N, from class indices and from one-hot rows. */
static void test_categorical_matches_references(void **unused) {
    (void)unused;
    float x[WEIGHTS_B * WEIGHTS_K], labels[WEIGHTS_B],
        onehot[WEIGHTS_B * WEIGHTS_K] = {0}, class_w[WEIGHTS_K], sample_w[WEIGHTS_B];
    to_floats(x, w_logits, WEIGHTS_B * WEIGHTS_K);
    to_floats(labels, w_labels, WEIGHTS_B);
    to_floats(class_w, w_class, WEIGHTS_K);
    to_floats(sample_w, w_sample, WEIGHTS_B);
    for (size_t r = 0; r < WEIGHTS_B; r++) onehot[r * WEIGHTS_K + (size_t)w_labels[r]] = 1.0f;
    bnmlp_loss_weights weights = {
        .class_weights = class_w, .class_count = WEIGHTS_K, .normalization = BNMLP_WEIGHTS_OVER_WEIGHT_SUM};
    for (int one_hot = 0; one_hot < 2; one_hot++) {
        const float *y = one_hot ? onehot : labels;
        const size_t cols = one_hot ? WEIGHTS_K : 1;
        weights.sample_weights = NULL;
        weights.normalization = BNMLP_WEIGHTS_OVER_WEIGHT_SUM;
        check_case(categorical_model, x, y, WEIGHTS_K, cols, &weights, torch_ce_class_loss[0],
                   torch_ce_class_grad);
        weights.sample_weights = sample_w;
        check_case(categorical_model, x, y, WEIGHTS_K, cols, &weights, torch_ce_both_loss[0],
                   torch_ce_both_grad);
        weights.normalization = BNMLP_WEIGHTS_OVER_BATCH_SIZE;
        check_case(categorical_model, x, y, WEIGHTS_K, cols, &weights, keras_ce_loss[0], keras_ce_grad);
    }
}

/* Binary cross-entropy from logits (two outputs: sample weights only), both normalizations. */
static void test_binary_matches_references(void **unused) {
    (void)unused;
    enum { N = WEIGHTS_B * WEIGHTS_OUT };
    float z[N], y[N], w[WEIGHTS_B];
    to_floats(z, w_bin_z, N);
    to_floats(y, w_bin_y, N);
    to_floats(w, w_row, WEIGHTS_B);
    bnmlp_loss_weights weights = {.sample_weights = w, .normalization = BNMLP_WEIGHTS_OVER_WEIGHT_SUM};
    check_case(binary_model, z, y, WEIGHTS_OUT, WEIGHTS_OUT, &weights, torch_bcez_loss[0], torch_bcez_grad);
    weights.normalization = BNMLP_WEIGHTS_OVER_BATCH_SIZE;
    check_case(binary_model, z, y, WEIGHTS_OUT, WEIGHTS_OUT, &weights, keras_bcez_loss[0], keras_bcez_grad);
}

/* Mean squared error with sample weights (Keras). */
static void test_squared_matches_reference(void **unused) {
    (void)unused;
    enum { N = WEIGHTS_B * WEIGHTS_OUT };
    float o[N], y[N], w[WEIGHTS_B];
    to_floats(o, w_reg_o, N);
    to_floats(y, w_reg_y, N);
    to_floats(w, w_row, WEIGHTS_B);
    const bnmlp_loss_weights weights = {.sample_weights = w, .normalization = BNMLP_WEIGHTS_OVER_BATCH_SIZE};
    check_case(squared_model, o, y, WEIGHTS_OUT, WEIGHTS_OUT, &weights, keras_mse_loss[0], keras_mse_grad);
}

/* 3 -> Dense(5, tanh) -> BatchNorm -> Dense(3, softmax): a model with every kind of backward. */
static bnmlp_model *small_model(size_t threads, uint32_t seed) {
    bnmlp_model *model = bnmlp_model_create(3, NULL);
    assert_non_null(model);
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(5);
    hidden.activation = BNMLP_ACTIVATION_TANH;
    assert_ok(bnmlp_model_add_dense(model, &hidden));
    assert_ok(bnmlp_model_add_batchnorm(model, &BNMLP_BATCHNORM_DEFAULT));
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(3);
    head.activation = BNMLP_ACTIVATION_SOFTMAX;
    assert_ok(bnmlp_model_add_dense(model, &head));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY));
    assert_ok(bnmlp_model_set_threads(model, threads));
    assert_ok(bnmlp_model_build(model, 16, seed));
    return model;
}

#define DATA_ROWS 40

/* Deterministic data: x (DATA_ROWS, 3), labels 0..2 (class 2 rarer), sample weights in [0, 2). */
static void small_data(float *x, float *y, float *w) {
    bnmlp_test_fill(x, DATA_ROWS * 3, 11);
    bnmlp_test_fill(w, DATA_ROWS, 12);
    for (size_t r = 0; r < DATA_ROWS; r++) {
        y[r] = (float)(r % 7 == 0 ? 2 : r % 2);
        w[r] += 1.0f;
    }
}

/* Central differences of the weighted loss (both normalizations) against its analytic gradient. */
static void test_weighted_gradient_check(void **unused) {
    (void)unused;
    enum { R = 8 };
    float x[DATA_ROWS * 3], y[DATA_ROWS], w[DATA_ROWS], class_w[3] = {0.5f, 1.0f, 3.0f};
    small_data(x, y, w);
    const bnmlp_tensor tx = bnmlp_tensor_view(x, R, 3), ty = bnmlp_tensor_view(y, R, 1);
    for (int n = 0; n < 2; n++) {
        bnmlp_model *model = small_model(1, 4);
        const size_t count = bnmlp_model_param_count(model);
        const bnmlp_loss_weights weights = {.class_weights = class_w,
                                            .class_count = 3,
                                            .sample_weights = w,
                                            .normalization = (bnmlp_weight_normalization)n};
        float *params = malloc(count * sizeof *params), *grad = malloc(count * sizeof *grad);
        assert_non_null(params), assert_non_null(grad);
        assert_ok(bnmlp_model_get_params(model, params, count));
        float loss;
        assert_ok(bnmlp_model_loss_gradients_weighted(model, &tx, &ty, &weights, &loss, grad, count));
        bool nonzero = false;
        const float h = 1e-2f;
        for (size_t i = 0; i < count; i++) {
            const float saved = params[i];
            float plus, minus;
            params[i] = saved + h;
            assert_ok(bnmlp_model_set_params(model, params, count));
            assert_ok(bnmlp_model_loss_gradients_weighted(model, &tx, &ty, &weights, &plus, NULL, 0));
            params[i] = saved - h;
            assert_ok(bnmlp_model_set_params(model, params, count));
            assert_ok(bnmlp_model_loss_gradients_weighted(model, &tx, &ty, &weights, &minus, NULL, 0));
            params[i] = saved;
            const double numeric = ((double)plus - (double)minus) / (2.0 * (double)h);
            if (!(fabs(numeric - grad[i]) <= 2e-3 + 2e-2 * fabs(numeric)))
                fail_msg("normalization %d, gradient[%zu]: analytic %.6g, numeric %.6g", n, i,
                         (double)grad[i], numeric);
            nonzero |= fabs(grad[i]) > 1e-3;
        }
        assert_true(nonzero);
        free(params), free(grad);
        bnmlp_model_free(model);
    }
}

/* fit of a few epochs with weights; history and parameters into the outputs. */
static void fit_small(size_t threads, const bnmlp_loss_weights *weights, bool shuffle, float *params,
                      bnmlp_epoch_record *history, size_t epochs) {
    float x[DATA_ROWS * 3], y[DATA_ROWS], w[DATA_ROWS];
    small_data(x, y, w);
    const bnmlp_tensor tx = bnmlp_tensor_view(x, DATA_ROWS, 3), ty = bnmlp_tensor_view(y, DATA_ROWS, 1);
    bnmlp_model *model = small_model(threads, 9);
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = epochs, fit.batch_size = 16, fit.shuffle = shuffle, fit.validation_split = 0.25;
    if (weights) fit.weights = *weights;
    assert_ok(bnmlp_model_fit(model, &tx, &ty, &fit, history, NULL));
    assert_ok(bnmlp_model_get_params(model, params, bnmlp_model_param_count(model)));
    bnmlp_model_free(model);
}

/* Class and sample weights of exactly 1 (either normalization) give the unweighted run bit for
 * bit: parameters, training and validation metrics. Evaluate too. */
static void test_unit_weights_are_bit_identical(void **unused) {
    (void)unused;
    enum { E = 3 };
    float ones[DATA_ROWS], class_ones[3] = {1, 1, 1}, plain[64] = {0}, weighted[64] = {0};
    for (size_t r = 0; r < DATA_ROWS; r++) ones[r] = 1.0f;
    bnmlp_epoch_record h1[E], h2[E];
    fit_small(1, NULL, true, plain, h1, E);
    for (int n = 0; n < 2; n++) {
        const bnmlp_loss_weights weights = {.class_weights = class_ones,
                                            .class_count = 3,
                                            .sample_weights = ones,
                                            .normalization = (bnmlp_weight_normalization)n};
        fit_small(1, &weights, true, weighted, h2, E);
        assert_memory_equal(plain, weighted, sizeof plain);
        for (size_t e = 0; e < E; e++) {
            assert_true(h1[e].loss == h2[e].loss && h1[e].val_loss == h2[e].val_loss);
            assert_true(h1[e].accuracy == h2[e].accuracy);
        }
    }
    float x[DATA_ROWS * 3], y[DATA_ROWS], w[DATA_ROWS];
    small_data(x, y, w);
    const bnmlp_tensor tx = bnmlp_tensor_view(x, DATA_ROWS, 3), ty = bnmlp_tensor_view(y, DATA_ROWS, 1);
    bnmlp_model *model = small_model(1, 9);
    double a, b, acc_a, acc_b;
    const bnmlp_loss_weights weights = {
        .class_weights = class_ones, .class_count = 3, .sample_weights = ones};
    assert_ok(bnmlp_model_evaluate(model, &tx, &ty, &a, &acc_a));
    assert_ok(bnmlp_model_evaluate_weighted(model, &tx, &ty, &weights, &b, &acc_b));
    assert_true(a == b && acc_a == acc_b);
    bnmlp_model_free(model);
}

/* 3 -> Dense(128, tanh) -> BatchNorm -> Dense(128, tanh) -> Dense(3, softmax), built for 64 rows:
 * its middle product (64 x 128 x 128 multiply-adds) is large enough to be threaded. */
static bnmlp_model *wide_model(size_t threads) {
    bnmlp_model *model = bnmlp_model_create(3, NULL);
    assert_non_null(model);
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(128), head = BNMLP_DENSE_DEFAULT(3);
    hidden.activation = BNMLP_ACTIVATION_TANH;
    head.activation = BNMLP_ACTIVATION_SOFTMAX;
    assert_ok(bnmlp_model_add_dense(model, &hidden));
    assert_ok(bnmlp_model_add_batchnorm(model, &BNMLP_BATCHNORM_DEFAULT));
    assert_ok(bnmlp_model_add_dense(model, &hidden));
    assert_ok(bnmlp_model_add_dense(model, &head));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY));
    assert_ok(bnmlp_model_set_threads(model, threads));
    assert_ok(bnmlp_model_build(model, 64, 21));
    return model;
}

/* A weighted fit (both weights, weight-sum normalization, weighted validation split) gives the
 * same bits with 1, 2 and 3 threads on a model whose products are threaded. */
static void test_threads_bit_identical(void **unused) {
    (void)unused;
    enum { R = 160 };
    static float x[R * 3], y[R], w[R];
    float class_w[3] = {0.5f, 1.0f, 3.0f};
    bnmlp_test_fill(x, R * 3, 31);
    bnmlp_test_fill(w, R, 32);
    for (size_t r = 0; r < R; r++) y[r] = (float)(r % 5 == 0 ? 2 : r % 2), w[r] += 1.0f;
    const bnmlp_tensor tx = bnmlp_tensor_view(x, R, 3), ty = bnmlp_tensor_view(y, R, 1);
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = 2, fit.batch_size = 64, fit.validation_split = 0.2;
    fit.weights = (bnmlp_loss_weights){.class_weights = class_w,
                                       .class_count = 3,
                                       .sample_weights = w,
                                       .normalization = BNMLP_WEIGHTS_OVER_WEIGHT_SUM};
    static float first[20000], other[20000];
    bnmlp_epoch_record h1[2], h2[2];
    size_t count = 0;
    for (size_t threads = 1; threads <= 3; threads++) {
        bnmlp_model *model = wide_model(threads);
        count = bnmlp_model_param_count(model);
        assert_true(count <= 20000);
        assert_ok(bnmlp_model_fit(model, &tx, &ty, &fit, threads == 1 ? h1 : h2, NULL));
        assert_ok(bnmlp_model_get_params(model, threads == 1 ? first : other, count));
        bnmlp_model_free(model);
        if (threads == 1) continue;
        assert_memory_equal(first, other, count * sizeof(float));
        for (size_t e = 0; e < 2; e++)
            assert_true(h1[e].loss == h2[e].loss && h1[e].val_loss == h2[e].val_loss &&
                        h1[e].accuracy == h2[e].accuracy);
    }
}

/* A sample weight follows its row through fit's shuffle: replaying the epoch's order (the model
 * keeps it) with train_step_weighted on rows gathered by hand, with their weights, gives the
 * same parameters bit for bit; and the weights change the run. */
static void test_sample_weight_follows_its_row(void **unused) {
    (void)unused;
    float x[DATA_ROWS * 3], y[DATA_ROWS], w[DATA_ROWS], class_w[3] = {0.5f, 1.0f, 3.0f};
    small_data(x, y, w);
    const bnmlp_tensor tx = bnmlp_tensor_view(x, DATA_ROWS, 3), ty = bnmlp_tensor_view(y, DATA_ROWS, 1);
    for (int n = 0; n < 2; n++) {
        const bnmlp_loss_weights weights = {.class_weights = class_w,
                                            .class_count = 3,
                                            .sample_weights = w,
                                            .normalization = (bnmlp_weight_normalization)n};
        bnmlp_model *model = small_model(1, 9);
        bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
        fit.batch_size = 16, fit.weights = weights;
        assert_ok(bnmlp_model_fit(model, &tx, &ty, &fit, NULL, NULL));
        const size_t *order = bnmlp_model_saved_order(model, DATA_ROWS);
        assert_non_null(order);
        bool moved = false;
        for (size_t r = 0; r < DATA_ROWS; r++) moved |= order[r] != r;
        assert_true(moved);
        bnmlp_model *replay = small_model(1, 9);
        for (size_t start = 0; start < DATA_ROWS; start += 16) {
            const size_t rows = DATA_ROWS - start < 16 ? DATA_ROWS - start : 16;
            float bx[16 * 3], by[16], bw[16];
            for (size_t r = 0; r < rows; r++) {
                memcpy(bx + r * 3, x + order[start + r] * 3, 3 * sizeof(float));
                by[r] = y[order[start + r]], bw[r] = w[order[start + r]];
            }
            const bnmlp_tensor btx = bnmlp_tensor_view(bx, rows, 3), bty = bnmlp_tensor_view(by, rows, 1);
            bnmlp_loss_weights batch = weights;
            batch.sample_weights = bw;
            assert_ok(
                bnmlp_model_train_step_weighted(replay, &btx, &bty, &batch, &fit.optimizer, NULL, NULL));
        }
        const size_t count = bnmlp_model_param_count(model);
        float a[64], b[64];
        assert_ok(bnmlp_model_get_params(model, a, count));
        assert_ok(bnmlp_model_get_params(replay, b, count));
        assert_memory_equal(a, b, count * sizeof(float));
        bnmlp_model_free(model);
        bnmlp_model_free(replay);
    }
}

/* evaluate_weighted: Keras's evaluate(sample_weight=) is sum(w l) / N over all rows whatever the
 * chunks (max batch 16 < 40 rows); the weight-sum normalization sum(w l) / sum(w); class weights
 * multiply; the accuracy stays unweighted. Checked against per-row losses. */
static void test_evaluate_weighted(void **unused) {
    (void)unused;
    float x[DATA_ROWS * 3], y[DATA_ROWS], w[DATA_ROWS], class_w[3] = {0.5f, 1.0f, 3.0f};
    small_data(x, y, w);
    const bnmlp_tensor tx = bnmlp_tensor_view(x, DATA_ROWS, 3), ty = bnmlp_tensor_view(y, DATA_ROWS, 1);
    bnmlp_model *model = small_model(1, 9);
    double sum_wl = 0.0, sum_w = 0.0;
    for (size_t r = 0; r < DATA_ROWS; r++) {
        double l;
        const bnmlp_tensor rx = bnmlp_tensor_view(x + r * 3, 1, 3), ry = bnmlp_tensor_view(y + r, 1, 1);
        assert_ok(bnmlp_model_evaluate(model, &rx, &ry, &l, NULL));
        const double wr = (double)(class_w[(size_t)y[r]] * w[r]);
        sum_wl += wr * l, sum_w += wr;
    }
    double plain_accuracy, loss, accuracy;
    assert_ok(bnmlp_model_evaluate(model, &tx, &ty, NULL, &plain_accuracy));
    bnmlp_loss_weights weights = {.class_weights = class_w, .class_count = 3, .sample_weights = w};
    assert_ok(bnmlp_model_evaluate_weighted(model, &tx, &ty, &weights, &loss, &accuracy));
    assert_true(fabs(loss - sum_wl / DATA_ROWS) <= 1e-6 * fabs(loss));
    assert_true(accuracy == plain_accuracy);
    weights.normalization = BNMLP_WEIGHTS_OVER_WEIGHT_SUM;
    assert_ok(bnmlp_model_evaluate_weighted(model, &tx, &ty, &weights, &loss, NULL));
    assert_true(fabs(loss - sum_wl / sum_w) <= 1e-6 * fabs(loss));
    /* Every weight 0 under the weight-sum normalization: 0, not 0 / 0. */
    float zeros[DATA_ROWS] = {0};
    weights.sample_weights = zeros;
    assert_ok(bnmlp_model_evaluate_weighted(model, &tx, &ty, &weights, &loss, NULL));
    assert_true(loss == 0.0);
    bnmlp_model_free(model);
}

/* Validation: class weights never weigh it; validation_split keeps the split rows' sample
 * weights; validation_sample_weights weigh validation_x's rows. */
static void test_validation_weights(void **unused) {
    (void)unused;
    float x[DATA_ROWS * 3], y[DATA_ROWS], w[DATA_ROWS], class_w[3] = {0.5f, 1.0f, 3.0f};
    small_data(x, y, w);
    const size_t train = 30;
    const bnmlp_tensor tx = bnmlp_tensor_view(x, DATA_ROWS, 3), ty = bnmlp_tensor_view(y, DATA_ROWS, 1);
    const bnmlp_tensor vx = bnmlp_tensor_view(x + train * 3, DATA_ROWS - train, 3),
                       vy = bnmlp_tensor_view(y + train, DATA_ROWS - train, 1);
    for (int variant = 0; variant < 3; variant++) {
        bnmlp_model *model = small_model(1, 9);
        bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
        fit.batch_size = 16, fit.shuffle = false, fit.validation_split = 0.25;
        fit.weights.class_weights = class_w, fit.weights.class_count = 3;
        if (variant >= 1) fit.weights.sample_weights = w;
        bnmlp_epoch_record record;
        assert_ok(bnmlp_model_fit(model, &tx, &ty, &fit, &record, NULL));
        double want;
        const bnmlp_loss_weights split = {.sample_weights = w + train};
        if (variant == 0)
            assert_ok(bnmlp_model_evaluate(model, &vx, &vy, &want, NULL));
        else
            assert_ok(bnmlp_model_evaluate_weighted(model, &vx, &vy, &split, &want, NULL));
        assert_true(record.val_loss == want);
        bnmlp_model_free(model);
    }
    /* validation_x with its own weights, against evaluate_weighted. */
    bnmlp_model *model = small_model(1, 9);
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    const bnmlp_tensor trx = bnmlp_tensor_view(x, train, 3), try_ = bnmlp_tensor_view(y, train, 1);
    fit.batch_size = 16, fit.validation_x = &vx, fit.validation_y = &vy, fit.validation_sample_weights = w;
    fit.weights.class_weights = class_w, fit.weights.class_count = 3;
    bnmlp_epoch_record record;
    assert_ok(bnmlp_model_fit(model, &trx, &try_, &fit, &record, NULL));
    const bnmlp_loss_weights own = {.sample_weights = w};
    double want;
    assert_ok(bnmlp_model_evaluate_weighted(model, &vx, &vy, &own, &want, NULL));
    assert_true(record.val_loss == want);
    bnmlp_model_free(model);
}

/* Every bad weight refused by train_step_weighted, loss_gradients_weighted, evaluate_weighted and
 * fit, with the parameters unchanged. */
static void test_bad_weights(void **unused) {
    (void)unused;
    float x[DATA_ROWS * 3], y[DATA_ROWS], w[DATA_ROWS], good[3] = {1, 2, 3}, negative[3] = {1, -2, 3},
                                                        nan_class[3] = {1, NAN, 3};
    small_data(x, y, w);
    float bad_sample[DATA_ROWS], inf_sample[DATA_ROWS];
    memcpy(bad_sample, w, sizeof w), memcpy(inf_sample, w, sizeof w);
    bad_sample[5] = -0.5f, inf_sample[DATA_ROWS - 1] = INFINITY;
    const struct {
        const char *what;
        bnmlp_loss_weights weights;
        bnmlp_status want;
    } cases[] = {
        {"class count short", {.class_weights = good, .class_count = 2}, BNMLP_ERR_INVALID_ARGUMENT},
        {"class count long", {.class_weights = good, .class_count = 4}, BNMLP_ERR_INVALID_ARGUMENT},
        {"count without weights",
         {.class_weights = NULL, .class_count = 3, .sample_weights = w},
         BNMLP_ERR_INVALID_ARGUMENT},
        {"negative class weight", {.class_weights = negative, .class_count = 3}, BNMLP_ERR_INVALID_ARGUMENT},
        {"NaN class weight", {.class_weights = nan_class, .class_count = 3}, BNMLP_ERR_NOT_FINITE},
        {"negative sample weight", {.sample_weights = bad_sample}, BNMLP_ERR_INVALID_ARGUMENT},
        {"infinite sample weight (last row)", {.sample_weights = inf_sample}, BNMLP_ERR_NOT_FINITE},
        {"unknown normalization",
         {.sample_weights = w, .normalization = (bnmlp_weight_normalization)7},
         BNMLP_ERR_INVALID_ARGUMENT},
    };
    const bnmlp_tensor tx = bnmlp_tensor_view(x, DATA_ROWS, 3), ty = bnmlp_tensor_view(y, DATA_ROWS, 1);
    const bnmlp_tensor sx = bnmlp_tensor_view(x, 16, 3), sy = bnmlp_tensor_view(y, 16, 1);
    bnmlp_model *model = small_model(1, 9);
    const size_t count = bnmlp_model_param_count(model);
    float before[64], after[64], grad[64], loss = -1.0f;
    assert_ok(bnmlp_model_get_params(model, before, count));
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const bnmlp_loss_weights *weights = &cases[c].weights;
        bnmlp_loss_weights short_rows = *weights;
        if (short_rows.sample_weights)
            short_rows.sample_weights += DATA_ROWS - 16; /* its bad row in the 16 */
        const bnmlp_loss_weights *step_weights =
            weights->sample_weights == inf_sample ? &short_rows : weights;
        print_message("case: %s\n", cases[c].what);
        assert_status(bnmlp_model_train_step_weighted(model, &sx, &sy, step_weights, &BNMLP_OPTIMIZER_DEFAULT,
                                                      &loss, NULL),
                      cases[c].want);
        assert_status(bnmlp_model_loss_gradients_weighted(model, &sx, &sy, step_weights, &loss, grad, count),
                      cases[c].want);
        double eval = -1.0;
        assert_status(bnmlp_model_evaluate_weighted(model, &tx, &ty, weights, &eval, NULL), cases[c].want);
        bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
        fit.batch_size = 16, fit.weights = *weights;
        assert_status(bnmlp_model_fit(model, &tx, &ty, &fit, NULL, NULL), cases[c].want);
        assert_true(loss == -1.0f && eval == -1.0);
        assert_ok(bnmlp_model_get_params(model, after, count));
        assert_memory_equal(before, after, count * sizeof(float));
    }
    /* validation_sample_weights without validation_x (none, or validation_split's), and bad. */
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.batch_size = 16, fit.validation_sample_weights = w;
    assert_status(bnmlp_model_fit(model, &tx, &ty, &fit, NULL, NULL), BNMLP_ERR_INVALID_ARGUMENT);
    fit.validation_split = 0.25;
    assert_status(bnmlp_model_fit(model, &tx, &ty, &fit, NULL, NULL), BNMLP_ERR_INVALID_ARGUMENT);
    fit.validation_split = 0.0, fit.validation_x = &sx, fit.validation_y = &sy,
    fit.validation_sample_weights = bad_sample;
    assert_status(bnmlp_model_fit(model, &tx, &ty, &fit, NULL, NULL), BNMLP_ERR_INVALID_ARGUMENT);
    assert_ok(bnmlp_model_get_params(model, after, count));
    assert_memory_equal(before, after, count * sizeof(float));
    bnmlp_model_free(model);

    /* Class weights on a loss without classes: mean squared error, several binary outputs. */
    float o[WEIGHTS_B * WEIGHTS_OUT] = {0}, t[WEIGHTS_B * WEIGHTS_OUT] = {0}, two[2] = {1, 2};
    const bnmlp_tensor to = bnmlp_tensor_view(o, WEIGHTS_B, WEIGHTS_OUT),
                       tt = bnmlp_tensor_view(t, WEIGHTS_B, WEIGHTS_OUT);
    const bnmlp_loss_weights by_class = {.class_weights = two, .class_count = 2};
    bnmlp_model *(*makers[])(void) = {squared_model, binary_model};
    for (size_t m = 0; m < 2; m++) {
        bnmlp_model *other = makers[m]();
        assert_status(bnmlp_model_loss_gradients_weighted(other, &to, &tt, &by_class, &loss, NULL, 0),
                      BNMLP_ERR_INVALID_ARGUMENT);
        bnmlp_model_free(other);
    }
}

/* A checkpoint stores the last fit's class weights and normalization (section LWGT): a fit resumed
 * from it with bnmlp_model_fit_weights gives the uninterrupted run bit for bit; a model file
 * (no training state) and a fit without class weights store none. */
static void test_checkpoint_keeps_class_weights(void **unused) {
    (void)unused;
    float x[DATA_ROWS * 3], y[DATA_ROWS], w[DATA_ROWS], class_w[3] = {0.5f, 1.0f, 3.0f};
    small_data(x, y, w);
    const bnmlp_tensor tx = bnmlp_tensor_view(x, DATA_ROWS, 3), ty = bnmlp_tensor_view(y, DATA_ROWS, 1);
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = 2, fit.batch_size = 16;
    fit.weights = (bnmlp_loss_weights){
        .class_weights = class_w, .class_count = 3, .normalization = BNMLP_WEIGHTS_OVER_WEIGHT_SUM};
    bnmlp_model *whole = small_model(1, 9), *first = small_model(1, 9);
    bnmlp_loss_weights kept;
    assert_ok(bnmlp_model_fit_weights(first, &kept));
    assert_true(kept.class_count == 0 && kept.class_weights == NULL &&
                kept.normalization == BNMLP_WEIGHTS_OVER_BATCH_SIZE);
    assert_ok(bnmlp_model_fit(whole, &tx, &ty, &fit, NULL, NULL));
    fit.epochs = 1;
    assert_ok(bnmlp_model_fit(first, &tx, &ty, &fit, NULL, NULL));
    size_t size;
    assert_ok(bnmlp_model_save_buffer(first, true, NULL, 0, &size));
    unsigned char *bytes = malloc(size);
    assert_non_null(bytes);
    assert_ok(bnmlp_model_save_buffer(first, true, bytes, size, &size));
    bnmlp_status status;
    bnmlp_error_detail detail = {0};
    bnmlp_model *resumed = bnmlp_model_load_buffer(bytes, size, NULL, &detail, &status);
    if (!resumed) fail_msg("load: %s: %s", bnmlp_status_string(status), detail.message);
    assert_ok(bnmlp_model_fit_weights(resumed, &kept));
    assert_int_equal(kept.class_count, 3);
    assert_memory_equal(kept.class_weights, class_w, sizeof class_w);
    assert_true(kept.normalization == BNMLP_WEIGHTS_OVER_WEIGHT_SUM && kept.sample_weights == NULL);
    bnmlp_fit_config more = BNMLP_FIT_DEFAULT;
    more.epochs = 2, more.batch_size = 16, more.initial_epoch = 1, more.weights = kept;
    assert_ok(bnmlp_model_set_threads(resumed, 1));
    assert_ok(bnmlp_model_fit(resumed, &tx, &ty, &more, NULL, NULL));
    const size_t count = bnmlp_model_param_count(whole);
    float a[64], b[64];
    assert_ok(bnmlp_model_get_params(whole, a, count));
    assert_ok(bnmlp_model_get_params(resumed, b, count));
    assert_memory_equal(a, b, count * sizeof(float));
    bnmlp_model_free(resumed);
    /* A model file keeps no training state, class weights included. */
    assert_ok(bnmlp_model_save_buffer(first, false, bytes, size, &size));
    resumed = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
    assert_non_null(resumed);
    assert_ok(bnmlp_model_fit_weights(resumed, &kept));
    assert_int_equal(kept.class_count, 0);
    bnmlp_model_free(resumed);
    /* A later fit without class weights replaces them. */
    fit.weights = BNMLP_LOSS_WEIGHTS_DEFAULT;
    fit.epochs = 2, fit.initial_epoch = 1;
    assert_ok(bnmlp_model_fit(first, &tx, &ty, &fit, NULL, NULL));
    assert_ok(bnmlp_model_fit_weights(first, &kept));
    assert_int_equal(kept.class_count, 0);
    free(bytes);
    bnmlp_model_free(whole);
    bnmlp_model_free(first);
}

/* A weighted training step, gradient query and evaluation allocate nothing: the row weights live
 * in a buffer the model planned at build. */
static void test_weighted_step_allocates_nothing(void **unused) {
    (void)unused;
    counting_allocator counts = {0};
    const bnmlp_allocator allocator = counting_allocator_of(&counts);
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create_with_allocator(3, &allocator, &status);
    assert_non_null(model);
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(3);
    head.activation = BNMLP_ACTIVATION_SOFTMAX;
    assert_ok(bnmlp_model_add_dense(model, &head));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY));
    assert_ok(bnmlp_model_set_threads(model, 1));
    assert_ok(bnmlp_model_build(model, 16, 3));
    float x[DATA_ROWS * 3], y[DATA_ROWS], w[DATA_ROWS], class_w[3] = {0.5f, 1.0f, 3.0f}, grad[12], loss;
    small_data(x, y, w);
    const bnmlp_tensor tx = bnmlp_tensor_view(x, 16, 3), ty = bnmlp_tensor_view(y, 16, 1);
    const size_t before = counts.calls;
    for (int n = 0; n < 2; n++) {
        const bnmlp_loss_weights weights = {.class_weights = class_w,
                                            .class_count = 3,
                                            .sample_weights = w,
                                            .normalization = (bnmlp_weight_normalization)n};
        assert_ok(bnmlp_model_train_step_weighted(model, &tx, &ty, &weights, &BNMLP_OPTIMIZER_DEFAULT, &loss,
                                                  NULL));
        assert_ok(bnmlp_model_loss_gradients_weighted(model, &tx, &ty, &weights, &loss, grad, 12));
        double eval;
        assert_ok(bnmlp_model_evaluate_weighted(model, &tx, &ty, &weights, &eval, NULL));
    }
    assert_int_equal(counts.calls, before);
    bnmlp_model_free(model);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_categorical_matches_references),
        cmocka_unit_test(test_binary_matches_references),
        cmocka_unit_test(test_squared_matches_reference),
        cmocka_unit_test(test_weighted_gradient_check),
        cmocka_unit_test(test_unit_weights_are_bit_identical),
        cmocka_unit_test(test_threads_bit_identical),
        cmocka_unit_test(test_sample_weight_follows_its_row),
        cmocka_unit_test(test_evaluate_weighted),
        cmocka_unit_test(test_validation_weights),
        cmocka_unit_test(test_bad_weights),
        cmocka_unit_test(test_checkpoint_keeps_class_weights),
        cmocka_unit_test(test_weighted_step_allocates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
