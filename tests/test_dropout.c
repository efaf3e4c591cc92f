/* test_dropout.c - the dropout layer: its keep rate over 10^6 draws, the identity at inference
 * and at rate 0, masks bit-identical for every thread count and across a checkpoint resume, a
 * gradient check with the mask fixed, the step counter (committed steps only), the file, and
 * every bad rate. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "model/model.h"
#include "support.h"

/* A model of input width `in` holding only a dropout layer, built for max_batch rows. */
static bnmlp_model *dropout_only(size_t in, float rate, uint64_t seed, size_t max_batch) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(in, &status);
    assert_ok(status);
    assert_ok(bnmlp_model_add_dropout(model, rate, seed));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_MEAN_SQUARED_ERROR));
    assert_ok(bnmlp_model_build(model, max_batch, 1));
    return model;
}

/* Kept elements of a training-mode forward of ones (rows, cols): each is 1 / (1 - rate) exactly
 * or 0, and the count of kept ones is returned. */
static size_t kept_of(bnmlp_model *model, size_t rows, size_t cols, float rate) {
    float *ones = malloc(rows * cols * sizeof *ones), *out = malloc(rows * cols * sizeof *out);
    for (size_t i = 0; i < rows * cols; i++) ones[i] = 1.0f;
    bnmlp_tensor x = bnmlp_tensor_view(ones, rows, cols), y = bnmlp_tensor_view(out, rows, cols);
    assert_ok(bnmlp_model_forward(model, &x, BNMLP_MODE_TRAINING, &y));
    size_t kept = 0;
    const float scaled = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < rows * cols; i++) {
        if (out[i] != 0.0f && out[i] != scaled) fail_msg("element %zu is %g", i, (double)out[i]);
        kept += out[i] != 0.0f;
    }
    free(ones);
    free(out);
    return kept;
}

static void test_keep_rate_over_a_million_draws(void **state) {
    (void)state;
    const float rates[] = {0.1f, 0.3f, 0.5f, 0.75f};
    for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
        bnmlp_model *model = dropout_only(1000, rates[k], 42 + k, 1000);
        for (int step = 0; step < 2; step++) { /* two steps: two different masks */
            const double n = 1e6, p = 1.0 - (double)rates[k];
            const double kept = (double)kept_of(model, 1000, 1000, rates[k]);
            const double sd = sqrt(n * p * (1.0 - p));
            if (fabs(kept - n * p) > 3.0 * sd)
                fail_msg("rate %g: %.0f kept of 1e6, expected %.0f +- %.0f", (double)rates[k], kept, n * p,
                         3 * sd);
        }
        assert_int_equal(model->layers[0].steps, 2);
        bnmlp_model_free(model);
    }
}

static void test_masks_differ_by_step_layer_and_seed(void **state) {
    (void)state;
    /* Two dropout layers with one seed: each its own mask (the layer index is in the key). */
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(64, &status);
    assert_ok(bnmlp_model_add_dropout(model, 0.5f, 7));
    assert_ok(bnmlp_model_add_dropout(model, 0.5f, 7));
    assert_ok(bnmlp_model_build(model, 4, 1));
    float ones[4 * 64];
    for (size_t i = 0; i < 4 * 64; i++) ones[i] = 1.0f;
    bnmlp_model_run_forward(model, ones, 4, BNMLP_MODE_TRAINING, 2);
    const float *first = model->layers[0].output, *second = model->layers[1].output;
    size_t same_pattern = 0, rows_alike = 0;
    for (size_t i = 0; i < 4 * 64; i++) same_pattern += (first[i] != 0.0f) == (second[i] != 0.0f);
    assert_true(same_pattern < 4 * 64); /* the second layer's mask is not the first's */
    for (size_t r = 1; r < 4; r++)      /* nor is one row's mask another's */
        rows_alike += memcmp(first, first + r * 64, 64 * sizeof *first) == 0;
    assert_int_equal(rows_alike, 0);
    bnmlp_model_free(model);
    /* Another seed, another mask; the same seed, the same mask. */
    float out[3][256];
    const uint64_t seeds[3] = {1, 2, 1};
    for (int k = 0; k < 3; k++) {
        bnmlp_model *m = dropout_only(64, 0.5f, seeds[k], 4);
        bnmlp_tensor x = bnmlp_tensor_view(ones, 4, 64), y = bnmlp_tensor_view(out[k], 4, 64);
        assert_ok(bnmlp_model_forward(m, &x, BNMLP_MODE_TRAINING, &y));
        bnmlp_model_free(m);
    }
    assert_true(memcmp(out[0], out[1], sizeof out[0]) != 0);
    assert_memory_equal(out[0], out[2], sizeof out[0]);
}

static void test_identity_at_inference_and_rate_zero(void **state) {
    (void)state;
    float x[6 * 5], out[6 * 5];
    bnmlp_test_fill(x, 6 * 5, 3);
    bnmlp_tensor tx = bnmlp_tensor_view(x, 6, 5), ty = bnmlp_tensor_view(out, 6, 5);
    bnmlp_model *model = dropout_only(5, 0.6f, 9, 6);
    assert_ok(bnmlp_model_forward(model, &tx, BNMLP_MODE_INFERENCE, &ty));
    assert_memory_equal(out, x, sizeof x);
    assert_ok(bnmlp_model_predict(model, &tx, &ty));
    assert_memory_equal(out, x, sizeof x);
    assert_int_equal(model->layers[0].steps, 0); /* inference counts no step */
    bnmlp_model_free(model);
    /* Rate 0: every element kept and divided by 1, in training mode too. */
    model = dropout_only(5, 0.0f, 9, 6);
    assert_ok(bnmlp_model_forward(model, &tx, BNMLP_MODE_TRAINING, &ty));
    assert_memory_equal(out, x, sizeof x);
    bnmlp_model_free(model);
}

/* 3 -> Dense(6, tanh) -> Dropout(rate) -> Dense(2) -> Dropout(0.2) -> Dense(1, sigmoid): layers
 * 0 dense, 1 tanh, 2 dropout, 3 dense, 4 dropout, 5 dense, 6 sigmoid. */
static bnmlp_model *small_net(float rate, size_t max_batch, uint32_t seed) {
    bnmlp_status status;
    bnmlp_model *m = bnmlp_model_create(3, &status);
    assert_ok(status);
    bnmlp_dense_config d1 = BNMLP_DENSE_DEFAULT(6);
    d1.activation = BNMLP_ACTIVATION_TANH;
    assert_ok(bnmlp_model_add_dense(m, &d1));
    assert_ok(bnmlp_model_add_dropout(m, rate, 11));
    assert_ok(bnmlp_model_add_dense(m, &BNMLP_DENSE_DEFAULT(2)));
    assert_ok(bnmlp_model_add_dropout(m, 0.2f, 12));
    bnmlp_dense_config d3 = BNMLP_DENSE_DEFAULT(1);
    d3.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(m, &d3));
    assert_ok(bnmlp_model_build(m, max_batch, seed));
    return m;
}

static void test_gradient_check_with_the_mask_fixed(void **state) {
    (void)state;
    enum { MB = 8 };
    bnmlp_model *m = small_net(0.4f, MB, 5);
    static float x[MB * 3], y[MB] = {1, 0, 0, 1, 1, 0, 1, 0};
    bnmlp_test_fill(x, MB * 3, 13);
    const size_t count = bnmlp_model_param_count(m);
    const bnmlp_tensor tx = bnmlp_tensor_view(x, MB, 3), ty = bnmlp_tensor_view(y, MB, 1);
    float *grad = malloc(count * sizeof *grad);
    assert_non_null(grad);
    float loss;
    /* loss_gradients commits no step: every call below draws the same masks. */
    assert_ok(bnmlp_model_loss_gradients(m, &tx, &ty, &loss, grad, count));
    assert_int_equal(m->layers[2].steps, 0);
    size_t dropped = 0;
    for (size_t i = 0; i < MB * 6; i++) dropped += m->layers[2].output[i] == 0.0f; /* the mask bites */
    assert_true(dropped > 0 && dropped < MB * 6);
    double largest = 0;
    for (size_t i = 0; i < count; i++) largest = fmax(largest, fabs(grad[i]));
    assert_true(largest > 1e-3);
    bnmlp_test_check_model_gradients(m, &tx, &ty, grad, count, 1e-2f, 2e-3, 3e-2);
    assert_int_equal(m->layers[2].steps, 0);
    free(grad);
    bnmlp_model_free(m);
}

/* Data for the fit tests: rows x 3 features, a label from their sum. */
enum { ROWS = 100 };
static float data_x[ROWS * 3], data_y[ROWS];

static void make_data(void) {
    bnmlp_test_fill(data_x, ROWS * 3, 77);
    for (size_t r = 0; r < ROWS; r++)
        data_y[r] = data_x[3 * r] + data_x[3 * r + 1] - data_x[3 * r + 2] > 0.0f ? 1.0f : 0.0f;
}

static bnmlp_fit_config fit_config(size_t epochs) {
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.epochs = epochs, config.batch_size = 16;
    config.optimizer = BNMLP_OPTIMIZER_ADAM_DEFAULT;
    return config;
}

static void test_bit_identical_for_1_2_3_threads(void **state) {
    (void)state;
    make_data();
    bnmlp_tensor x = bnmlp_tensor_view(data_x, ROWS, 3), y = bnmlp_tensor_view(data_y, ROWS, 1);
    float *reference = NULL, *wide_reference = NULL;
    enum { WR = 300, WC = 400 }; /* 1.2e5 elements: split over every thread */
    float *wide_x = malloc(WR * WC * sizeof *wide_x), *wide_y = malloc(WR * WC * sizeof *wide_y);
    bnmlp_test_fill(wide_x, WR * WC, 5);
    for (size_t threads = 1; threads <= 3; threads++) {
        bnmlp_model *m = small_net(0.3f, 16, 3);
        assert_ok(bnmlp_model_set_threads(m, threads));
        const bnmlp_fit_config config = fit_config(3);
        assert_ok(bnmlp_model_fit(m, &x, &y, &config, NULL, NULL));
        bnmlp_model *wide = dropout_only(WC, 0.35f, 8, WR);
        assert_ok(bnmlp_model_set_threads(wide, threads));
        bnmlp_tensor tx = bnmlp_tensor_view(wide_x, WR, WC), ty = bnmlp_tensor_view(wide_y, WR, WC);
        assert_ok(bnmlp_model_forward(wide, &tx, BNMLP_MODE_TRAINING, &ty));
        if (!reference) {
            reference = malloc(m->param_count * sizeof *reference);
            memcpy(reference, m->params, m->param_count * sizeof *reference);
            wide_reference = malloc(WR * WC * sizeof *wide_reference);
            memcpy(wide_reference, wide_y, WR * WC * sizeof *wide_y);
        } else {
            assert_memory_equal(m->params, reference, m->param_count * sizeof *reference);
            assert_memory_equal(wide_y, wide_reference, WR * WC * sizeof *wide_y);
        }
        assert_int_equal(m->layers[2].steps, 3 * 7); /* 3 epochs of 7 batches (100 rows / 16) */
        bnmlp_model_free(m);
        bnmlp_model_free(wide);
    }
    free(reference);
    free(wide_reference);
    free(wide_x);
    free(wide_y);
}

static void test_bit_identical_across_a_checkpoint_resume(void **state) {
    (void)state;
    make_data();
    bnmlp_tensor x = bnmlp_tensor_view(data_x, ROWS, 3), y = bnmlp_tensor_view(data_y, ROWS, 1);
    bnmlp_model *whole = small_net(0.3f, 16, 4), *first = small_net(0.3f, 16, 4);
    bnmlp_fit_config config = fit_config(5);
    assert_ok(bnmlp_model_fit(whole, &x, &y, &config, NULL, NULL));
    config.epochs = 2;
    assert_ok(bnmlp_model_fit(first, &x, &y, &config, NULL, NULL));
    size_t size = 0;
    assert_ok(bnmlp_model_save_buffer(first, true, NULL, 0, &size));
    unsigned char *bytes = malloc(size);
    assert_ok(bnmlp_model_save_buffer(first, true, bytes, size, &size));
    bnmlp_status status;
    bnmlp_model *resumed = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
    assert_ok(status);
    assert_int_equal(resumed->layers[2].steps, 2 * 7); /* the file carried the step */
    assert_true(resumed->layers[2].config.dropout.rate == 0.3f);
    assert_int_equal(resumed->layers[2].config.dropout.seed, 11);
    config.epochs = 5, config.initial_epoch = 2;
    assert_ok(bnmlp_model_fit(resumed, &x, &y, &config, NULL, NULL));
    assert_memory_equal(resumed->params, whole->params, whole->param_count * sizeof(float));
    assert_int_equal(resumed->layers[4].steps, whole->layers[4].steps);
    /* Without the saved step the masks would repeat the first epochs': the weights would differ. */
    bnmlp_model *stale = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
    stale->layers[2].steps = stale->layers[4].steps = 0;
    assert_ok(bnmlp_model_fit(stale, &x, &y, &config, NULL, NULL));
    assert_true(memcmp(stale->params, whole->params, whole->param_count * sizeof(float)) != 0);
    bnmlp_model_free(stale);
    bnmlp_model_free(resumed);
    bnmlp_model_free(first);
    bnmlp_model_free(whole);
    free(bytes);
}

static void test_steps_count_committed_steps_only(void **state) {
    (void)state;
    make_data();
    bnmlp_model *m = small_net(0.5f, 16, 6);
    bnmlp_tensor x = bnmlp_tensor_view(data_x, 16, 3), y = bnmlp_tensor_view(data_y, 16, 1);
    bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    assert_ok(bnmlp_model_train_step(m, &x, &y, SGD_CONFIG(&sgd), NULL, NULL));
    assert_int_equal(m->layers[2].steps, 1);
    float loss;
    assert_ok(bnmlp_model_loss_gradients(m, &x, &y, &loss, NULL, 0));
    assert_int_equal(m->layers[2].steps, 1);
    /* A diverged step (its loss beyond float's range) commits nothing and changes nothing. */
    float *params = malloc(m->param_count * sizeof *params);
    memcpy(params, m->params, m->param_count * sizeof *params);
    bnmlp_model *mse = bnmlp_model_create(3, NULL);
    assert_ok(bnmlp_model_add_dense(mse, &BNMLP_DENSE_DEFAULT(4)));
    assert_ok(bnmlp_model_add_dropout(mse, 0.5f, 1));
    assert_ok(bnmlp_model_add_dense(mse, &BNMLP_DENSE_DEFAULT(1)));
    assert_ok(bnmlp_model_set_loss(mse, BNMLP_LOSS_MEAN_SQUARED_ERROR));
    assert_ok(bnmlp_model_build(mse, 16, 1));
    float far[16];
    for (size_t i = 0; i < 16; i++) far[i] = 1e30f;
    bnmlp_tensor yfar = bnmlp_tensor_view(far, 16, 1);
    assert_ok(bnmlp_model_train_step(mse, &x, &y, SGD_CONFIG(&sgd), NULL, NULL));
    assert_status(bnmlp_model_train_step(mse, &x, &yfar, SGD_CONFIG(&sgd), NULL, NULL), BNMLP_ERR_DIVERGED);
    assert_int_equal(mse->layers[1].steps, 1);
    bnmlp_model_free(mse);
    /* A training-mode forward counts one; a frozen dropout layer still drops and counts. */
    float out[16];
    bnmlp_tensor o = bnmlp_tensor_view(out, 16, 1);
    assert_ok(bnmlp_model_set_trainable(m, 2, false));
    assert_ok(bnmlp_model_forward(m, &x, BNMLP_MODE_TRAINING, &o));
    assert_int_equal(m->layers[2].steps, 2);
    size_t dropped = 0;
    for (size_t i = 0; i < 16 * 6; i++) dropped += m->layers[2].output[i] == 0.0f;
    assert_true(dropped > 0);
    assert_memory_equal(m->params, params, m->param_count * sizeof *params); /* forward changes none */
    free(params);
    bnmlp_model_free(m);
}

static void test_file_round_trip_and_summary(void **state) {
    (void)state;
    bnmlp_model *m = small_net(0.25f, 8, 2);
    m->layers[2].steps = 12345678901ULL;
    size_t size = 0;
    assert_ok(bnmlp_model_save_buffer(m, false, NULL, 0, &size));
    unsigned char *bytes = malloc(size);
    assert_ok(bnmlp_model_save_buffer(m, false, bytes, size, &size));
    bnmlp_status status;
    bnmlp_model *loaded = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
    assert_ok(status);
    assert_int_equal(loaded->layers[2].kind, BNMLP_LAYER_DROPOUT);
    assert_true(loaded->layers[2].config.dropout.rate == 0.25f);
    assert_int_equal(loaded->layers[2].config.dropout.seed, 11);
    assert_int_equal(loaded->layers[2].steps, 12345678901ULL);
    bnmlp_layer_info info;
    assert_ok(bnmlp_model_layer_info(loaded, 2, &info));
    assert_int_equal(info.trainable_params + info.non_trainable_params, 0);
    assert_int_equal(info.output_width, 6);
    bnmlp_model_free(loaded);
    /* A rate the file may not hold is refused as a format error. */
    static const float bad_rates[] = {1.0f, -0.5f};
    for (size_t k = 0; k < 2; k++) {
        m->layers[2].config.dropout.rate = bad_rates[k];
        assert_ok(bnmlp_model_save_buffer(m, false, bytes, size, &size));
        assert_null(bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status));
        assert_int_equal(status, BNMLP_ERR_FORMAT);
    }
    m->layers[2].config.dropout.rate = 0.25f;
    FILE *out = tmpfile();
    assert_non_null(out);
    assert_ok(bnmlp_model_summary(m, out));
    rewind(out);
    char text[4096];
    const size_t n = fread(text, 1, sizeof text - 1, out);
    text[n] = '\0';
    fclose(out);
    assert_non_null(strstr(text, "dropout (Dropout)"));
    assert_non_null(strstr(text, "dropout_1 (Dropout)"));
    assert_non_null(strstr(text, "rate 0.25"));
    free(bytes);
    bnmlp_model_free(m);
}

static void test_bad_rates_refused(void **state) {
    (void)state;
    static const float bad[] = {-0.1f, -1e-30f, 1.0f, 1.5f, NAN, INFINITY, -INFINITY};
    bnmlp_status status;
    bnmlp_model *m = bnmlp_model_create(4, &status);
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_status(bnmlp_model_add_dropout(m, bad[k], 0), BNMLP_ERR_INVALID_ARGUMENT);
        assert_int_equal(bnmlp_model_layer_count(m), 0); /* nothing added */
    }
    assert_status(bnmlp_model_add_dropout(NULL, 0.5f, 0), BNMLP_ERR_NULL_ARGUMENT);
    assert_ok(bnmlp_model_add_dropout(m, 0.0f, 0));
    assert_ok(bnmlp_model_add_dropout(m, nextafterf(1.0f, 0.0f), UINT64_MAX));
    assert_ok(bnmlp_model_build(m, 2, 0));
    assert_status(bnmlp_model_add_dropout(m, 0.5f, 0), BNMLP_ERR_ALREADY_BUILT);
    /* Nothing to adapt in a dropout layer. */
    float x[8] = {0};
    bnmlp_tensor t = bnmlp_tensor_view(x, 2, 4);
    assert_status(bnmlp_model_adapt(m, 0, &t), BNMLP_ERR_INVALID_ARGUMENT);
    bnmlp_model_free(m);
}

static void test_counter_generator(void **state) {
    (void)state;
    /* A pure function of its arguments; different keys and counters give different bits. */
    assert_true(bnmlp_counter_bits(1, 2) == bnmlp_counter_bits(1, 2));
    assert_true(bnmlp_counter_bits(1, 2) != bnmlp_counter_bits(1, 3));
    assert_true(bnmlp_counter_bits(1, 2) != bnmlp_counter_bits(2, 2));
    assert_true(bnmlp_counter_key(0, 0) != bnmlp_counter_key(0, 1));
    assert_true(bnmlp_counter_key(0, 1) != bnmlp_counter_key(1, 0));
    /* Uniform in [0, 1): the mean of 10^6 draws within 3 sd of 1/2, each bit set about half the time. */
    double sum = 0;
    size_t bits[64] = {0};
    const uint64_t key = bnmlp_counter_key(bnmlp_counter_key(3, 0), 1);
    for (uint64_t i = 0; i < 1000000; i++) {
        const double u = bnmlp_counter_uniform(key, i);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
        const uint64_t b = bnmlp_counter_bits(key, i);
        for (int k = 0; k < 64; k++) bits[k] += b >> k & 1u;
    }
    assert_true(fabs(sum / 1e6 - 0.5) < 3.0 * sqrt(1.0 / 12.0 / 1e6));
    for (int k = 0; k < 64; k++) assert_true(fabs((double)bits[k] - 5e5) < 5.0 * 500.0);
}

static void test_training_allocates_nothing(void **state) {
    (void)state;
    /* norm -> Dense(8, relu) -> Dropout -> Dense(1, sigmoid) on 3 threads: after build, training
     * steps, training forwards and fit's epochs (its own state aside) allocate nothing more. */
    counting_allocator counts = {0};
    const bnmlp_allocator allocator = counting_allocator_of(&counts);
    bnmlp_model *m = bnmlp_model_create_with_allocator(3, &allocator, NULL);
    assert_ok(bnmlp_model_add_normalization(m));
    bnmlp_dense_config d1 = BNMLP_DENSE_DEFAULT(8);
    d1.activation = BNMLP_ACTIVATION_RELU;
    assert_ok(bnmlp_model_add_dense(m, &d1));
    assert_ok(bnmlp_model_add_dropout(m, 0.4f, 1));
    bnmlp_dense_config d2 = BNMLP_DENSE_DEFAULT(1);
    d2.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(m, &d2));
    assert_ok(bnmlp_model_set_threads(m, 3));
    assert_ok(bnmlp_model_build(m, 16, 1));
    make_data();
    bnmlp_tensor x = bnmlp_tensor_view(data_x, 16, 3), y = bnmlp_tensor_view(data_y, 16, 1);
    assert_ok(bnmlp_model_adapt(m, 0, &x));
    const size_t before = counts.calls;
    bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    float out[16];
    bnmlp_tensor o = bnmlp_tensor_view(out, 16, 1);
    for (int k = 0; k < 3; k++) {
        assert_ok(bnmlp_model_train_step(m, &x, &y, SGD_CONFIG(&sgd), NULL, NULL));
        assert_ok(bnmlp_model_forward(m, &x, BNMLP_MODE_TRAINING, &o));
        assert_ok(bnmlp_model_predict(m, &x, &o));
    }
    assert_int_equal(counts.calls, before);
    bnmlp_model_free(m);
    assert_int_equal(counts.allocations, counts.releases);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_rate_over_a_million_draws),
        cmocka_unit_test(test_masks_differ_by_step_layer_and_seed),
        cmocka_unit_test(test_identity_at_inference_and_rate_zero),
        cmocka_unit_test(test_gradient_check_with_the_mask_fixed),
        cmocka_unit_test(test_bit_identical_for_1_2_3_threads),
        cmocka_unit_test(test_bit_identical_across_a_checkpoint_resume),
        cmocka_unit_test(test_steps_count_committed_steps_only),
        cmocka_unit_test(test_file_round_trip_and_summary),
        cmocka_unit_test(test_bad_rates_refused),
        cmocka_unit_test(test_counter_generator),
        cmocka_unit_test(test_training_allocates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
