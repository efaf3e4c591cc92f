/*
 * test_heads.c - the softmax and mean-squared-error heads and Adam end to end, through the
 * public API: a 3-class problem must be learnt, a linear target fitted to its noise, and every
 * target a loss refuses must be refused with its status and nothing changed.
 */
#include "support.h"

#include <math.h>
#include <string.h>

#include "optim/optim.h"

/* 2 -> Dense(16, relu) [-> BatchNorm] -> Dense(3, softmax), categorical cross-entropy. */
static bnmlp_model *three_class_model(bool batchnorm, size_t max_batch) {
    bnmlp_model *model = bnmlp_model_create(2, NULL);
    assert_non_null(model);
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(16);
    hidden.activation = BNMLP_ACTIVATION_RELU;
    hidden.kernel_initializer = BNMLP_INIT_HE_UNIFORM;
    assert_ok(bnmlp_model_add_dense(model, &hidden));
    if (batchnorm) assert_ok(bnmlp_model_add_batchnorm(model, &BNMLP_BATCHNORM_DEFAULT));
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(3);
    head.activation = BNMLP_ACTIVATION_SOFTMAX;
    assert_ok(bnmlp_model_add_dense(model, &head));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY));
    assert_ok(bnmlp_model_build(model, max_batch, 5));
    return model;
}

/* make_blobs(600, 3 centers, std 1) split 400 / 200: with and without batch norm, with SGD and
 * Adam, 30 epochs reach >= 0.95 test accuracy; predictions are probability rows. */
static void test_three_classes_are_learnt(void **state) {
    (void)state;
    bnmlp_blobs_config blobs = BNMLP_BLOBS_DEFAULT;
    blobs.n_samples = 600, blobs.random_state = 3;
    bnmlp_dataset data, train, test;
    assert_ok(bnmlp_make_blobs(&blobs, &data));
    assert_ok(bnmlp_dataset_train_test_split(&data, 200, 0, &train, &test));
    bnmlp_tensor *x, *y, *tx, *ty;
    assert_ok(bnmlp_dataset_to_tensors(&train, &x, &y));
    assert_ok(bnmlp_dataset_to_tensors(&test, &tx, &ty));
    for (int variant = 0; variant < 4; variant++) {
        bnmlp_model *model = three_class_model(variant & 1, 32);
        bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
        fit.epochs = 30;
        if (variant & 2) {
            fit.optimizer.kind = BNMLP_OPTIMIZER_ADAM;
            fit.optimizer.adam.learning_rate = 0.01f;
        } else {
            fit.optimizer.sgd.momentum = 0.9f;
        }
        bnmlp_epoch_record history[30];
        assert_ok(bnmlp_model_fit(model, x, y, &fit, history, NULL));
        assert_true(history[29].loss < history[0].loss);
        double loss, accuracy;
        assert_ok(bnmlp_model_evaluate(model, tx, ty, &loss, &accuracy));
        assert_true(accuracy >= 0.95);
        float probabilities[200 * 3];
        bnmlp_tensor out = bnmlp_tensor_view(probabilities, 200, 3);
        assert_ok(bnmlp_model_predict(model, tx, &out));
        for (size_t r = 0; r < 200; r++) {
            const float *p = probabilities + 3 * r;
            assert_true(p[0] >= 0.0f && p[1] >= 0.0f && p[2] >= 0.0f);
            assert_true(fabs((double)p[0] + p[1] + p[2] - 1.0) < 1e-5);
        }
        bnmlp_model_free(model);
    }
    bnmlp_tensor_free(x), bnmlp_tensor_free(y), bnmlp_tensor_free(tx), bnmlp_tensor_free(ty);
    bnmlp_dataset_free(&data), bnmlp_dataset_free(&train), bnmlp_dataset_free(&test);
}

/* y = x . w + b + noise (sd 0.1) on 512 rows of 4 features: a linear model trained with MSE and
 * Adam reaches an MSE below the noise's own mean square plus 5%; accuracy is NaN. */
static void test_linear_target_is_fitted(void **state) {
    (void)state;
    enum { ROWS = 512, IN = 4 };
    static float x[ROWS * IN], y[ROWS];
    const double w[IN] = {1.5, -2.0, 0.5, 3.0}, b = 0.25;
    bnmlp_random rng;
    bnmlp_random_seed(&rng, 11);
    double noise_power = 0.0;
    for (size_t r = 0; r < ROWS; r++) {
        double target = b;
        for (size_t i = 0; i < IN; i++) {
            x[r * IN + i] = (float)bnmlp_random_gauss(&rng);
            target += w[i] * x[r * IN + i];
        }
        const double noise = bnmlp_random_normal(&rng, 0.0, 0.1);
        y[r] = (float)(target + noise);
        noise_power += noise * noise / ROWS;
    }
    bnmlp_model *model = bnmlp_model_create(IN, NULL);
    bnmlp_dense_config linear = BNMLP_DENSE_DEFAULT(1);
    assert_ok(bnmlp_model_add_dense(model, &linear));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_MEAN_SQUARED_ERROR));
    assert_ok(bnmlp_model_build(model, 64, 2));
    bnmlp_tensor tx = bnmlp_tensor_view(x, ROWS, IN), ty = bnmlp_tensor_view(y, ROWS, 1);
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = 100, fit.batch_size = 64;
    fit.optimizer.kind = BNMLP_OPTIMIZER_ADAM;
    fit.optimizer.adam.learning_rate = 0.05f;
    bnmlp_epoch_record history[100];
    assert_ok(bnmlp_model_fit(model, &tx, &ty, &fit, history, NULL));
    assert_true(isnan(history[99].accuracy));
    double mse, accuracy;
    assert_ok(bnmlp_model_evaluate(model, &tx, &ty, &mse, &accuracy));
    assert_true(isnan(accuracy));
    assert_true(mse <= 1.05 * noise_power);
    float kernel[IN];
    assert_ok(bnmlp_model_get_weights(model, 0, BNMLP_WEIGHT_KERNEL, kernel, IN));
    for (size_t i = 0; i < IN; i++) assert_true(fabs(kernel[i] - w[i]) < 0.05);
    bnmlp_model_free(model);
}

/* Targets each loss refuses: class indices out of range or not whole, probability rows that
 * are negative or do not sum to 1, a target width that is neither 1 nor K, non-finite MSE
 * targets; and categorical cross-entropy on one output is refused at build. */
static void test_bad_targets(void **state) {
    (void)state;
    bnmlp_model *model = three_class_model(true, 4);
    float x[8] = {0.1f, 0.2f, -1.0f, 0.5f, 2.0f, -0.3f, 0.7f, 0.7f};
    bnmlp_tensor tx = bnmlp_tensor_view(x, 4, 2);
    float params[256], after[256];
    const size_t count = bnmlp_model_param_count(model);
    assert_ok(bnmlp_model_get_params(model, params, count));
    const bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    const float bad_indices[][4] = {{0, 1, 3, 2}, {0, 1, -1, 2}, {0, 1.5f, 2, 1}, {0, 1, NAN, 2}};
    const bnmlp_status expected[] = {BNMLP_ERR_LABEL, BNMLP_ERR_LABEL, BNMLP_ERR_LABEL, BNMLP_ERR_NOT_FINITE};
    for (size_t k = 0; k < 4; k++) {
        bnmlp_tensor ty = bnmlp_tensor_view((float *)bad_indices[k], 4, 1);
        assert_status(bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&sgd), NULL, NULL), expected[k]);
        double loss;
        assert_status(bnmlp_model_evaluate(model, &tx, &ty, &loss, NULL), expected[k]);
    }
    float rows[12] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5f, 0.5f, 0.25f};
    bnmlp_tensor probabilities = bnmlp_tensor_view(rows, 4, 3);
    assert_status(bnmlp_model_train_step(model, &tx, &probabilities, SGD_CONFIG(&sgd), NULL, NULL),
                  BNMLP_ERR_LABEL);
    rows[9] = 1.5f, rows[10] = -0.5f, rows[11] = 0.0f;
    assert_status(bnmlp_model_train_step(model, &tx, &probabilities, SGD_CONFIG(&sgd), NULL, NULL),
                  BNMLP_ERR_LABEL);
    rows[9] = 0.25f, rows[10] = 0.5f, rows[11] = 0.25f; /* label smoothing is fine */
    assert_ok(bnmlp_model_loss_gradients(model, &tx, &probabilities, &(float){0}, NULL, 0));
    bnmlp_tensor two_wide = bnmlp_tensor_view(rows, 4, 2);
    assert_status(bnmlp_model_train_step(model, &tx, &two_wide, SGD_CONFIG(&sgd), NULL, NULL),
                  BNMLP_ERR_SHAPE);
    assert_ok(bnmlp_model_get_params(model, after, count));
    assert_memory_equal(params, after, count * sizeof(float));
    bnmlp_model_free(model);

    model = bnmlp_model_create(2, NULL);
    bnmlp_dense_config one = BNMLP_DENSE_DEFAULT(1);
    assert_ok(bnmlp_model_add_dense(model, &one));
    assert_status(bnmlp_model_set_loss(model, (bnmlp_loss)7), BNMLP_ERR_INVALID_ARGUMENT);
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY));
    assert_status(bnmlp_model_build(model, 4, 1), BNMLP_ERR_INVALID_ARGUMENT);
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_MEAN_SQUARED_ERROR));
    assert_ok(bnmlp_model_build(model, 4, 1));
    assert_status(bnmlp_model_set_loss(model, BNMLP_LOSS_BINARY_CROSSENTROPY), BNMLP_ERR_ALREADY_BUILT);
    assert_int_equal(bnmlp_model_loss(model), BNMLP_LOSS_MEAN_SQUARED_ERROR);
    float targets[4] = {1, 2, INFINITY, 4};
    bnmlp_tensor ty = bnmlp_tensor_view(targets, 4, 1);
    assert_status(bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&sgd), NULL, NULL),
                  BNMLP_ERR_NOT_FINITE);
    targets[2] = 3e18f; /* any finite target is fine for MSE (whose loss a float holds: see
                           test_invariants.c for one it does not) */
    assert_ok(bnmlp_model_loss_gradients(model, &tx, &ty, &(float){0}, NULL, 0));
    bnmlp_model_free(model);
}

/* Bad optimizer settings are refused before anything changes; switching optimizer kinds starts
 * the new kind's state afresh; reset_optimizer makes the next steps those of a fresh model. */
static void test_optimizer_settings_and_switching(void **state) {
    (void)state;
    bnmlp_model *model = three_class_model(true, 4), *twin = three_class_model(true, 4);
    float x[8] = {0.1f, 0.2f, -1.0f, 0.5f, 2.0f, -0.3f, 0.7f, 0.7f}, labels[4] = {0, 1, 2, 1};
    bnmlp_tensor tx = bnmlp_tensor_view(x, 4, 2), ty = bnmlp_tensor_view(labels, 4, 1);
    bnmlp_optimizer_config adam = BNMLP_OPTIMIZER_DEFAULT;
    adam.kind = BNMLP_OPTIMIZER_ADAM;
    const float bad[][2] = {{0.0f, 0.9f}, {NAN, 0.9f}, {0.001f, 1.0f}, {0.001f, -0.1f}};
    for (size_t k = 0; k < 4; k++) {
        bnmlp_optimizer_config wrong = adam;
        wrong.adam.learning_rate = bad[k][0], wrong.adam.beta1 = bad[k][1];
        assert_status(bnmlp_model_train_step(model, &tx, &ty, &wrong, NULL, NULL),
                      BNMLP_ERR_INVALID_ARGUMENT);
    }
    bnmlp_optimizer_config wrong = adam;
    wrong.adam.weight_decay = -1.0f;
    assert_status(bnmlp_model_train_step(model, &tx, &ty, &wrong, NULL, NULL), BNMLP_ERR_INVALID_ARGUMENT);
    wrong = adam, wrong.adam.epsilon_placement = (bnmlp_adam_epsilon)5;
    assert_status(bnmlp_model_train_step(model, &tx, &ty, &wrong, NULL, NULL), BNMLP_ERR_INVALID_ARGUMENT);
    wrong = adam, wrong.kind = (bnmlp_optimizer_kind)9;
    assert_status(bnmlp_model_train_step(model, &tx, &ty, &wrong, NULL, NULL), BNMLP_ERR_INVALID_ARGUMENT);
    bnmlp_sgd_config sgd = {.learning_rate = 0.1f, .momentum = 0.9f, .weight_decay = -0.5f};
    assert_status(bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&sgd), NULL, NULL),
                  BNMLP_ERR_INVALID_ARGUMENT);
    sgd.weight_decay = 0.0f;
    /* model: SGD twice, then Adam twice; twin: Adam twice from the same weights. */
    assert_ok(bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&sgd), NULL, NULL));
    assert_ok(bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&sgd), NULL, NULL));
    const size_t count = bnmlp_model_param_count(model);
    float params[256], other[256];
    assert_ok(bnmlp_model_get_params(model, params, count));
    assert_ok(bnmlp_model_set_params(twin, params, count));
    for (size_t c = 0; c < 2; c++) {
        const bnmlp_weight which = c ? BNMLP_WEIGHT_MOVING_VARIANCE : BNMLP_WEIGHT_MOVING_MEAN;
        float moving[16];
        assert_ok(bnmlp_model_get_weights(model, 2, which, moving, 16));
        assert_ok(bnmlp_model_set_weights(twin, 2, which, moving, 16));
    }
    for (int step = 0; step < 2; step++) {
        assert_ok(bnmlp_model_train_step(model, &tx, &ty, &adam, NULL, NULL));
        assert_ok(bnmlp_model_train_step(twin, &tx, &ty, &adam, NULL, NULL));
    }
    assert_ok(bnmlp_model_get_params(model, params, count));
    assert_ok(bnmlp_model_get_params(twin, other, count));
    assert_memory_equal(params, other, count * sizeof(float));
    /* After a reset both continue alike again. */
    assert_ok(bnmlp_model_reset_optimizer(model));
    assert_ok(bnmlp_model_reset_optimizer(twin));
    assert_ok(bnmlp_model_train_step(model, &tx, &ty, &adam, NULL, NULL));
    assert_ok(bnmlp_model_train_step(twin, &tx, &ty, &adam, NULL, NULL));
    assert_ok(bnmlp_model_get_params(model, params, count));
    assert_ok(bnmlp_model_get_params(twin, other, count));
    assert_memory_equal(params, other, count * sizeof(float));
    bnmlp_model_free(model);
    bnmlp_model_free(twin);
}

/* The debiased and cumulative averages through a model: after one training step the moving
 * statistics are exactly the batch's (the initial 0 and 1 never count); a debiased layer
 * refuses momentum 1; setting a debiased moving statistic is what later steps continue from. */
static void test_moving_average_flavours_in_a_model(void **state) {
    (void)state;
    const bnmlp_moving_average flavours[2] = {BNMLP_AVERAGE_DEBIASED, BNMLP_AVERAGE_CUMULATIVE};
    for (size_t f = 0; f < 2; f++) {
        bnmlp_model *model = bnmlp_model_create(1, NULL);
        bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
        bn.moving_average = flavours[f];
        bn.momentum = 1.0f;
        assert_status(bnmlp_model_add_batchnorm(model, &bn), f == 0 ? BNMLP_ERR_INVALID_ARGUMENT : BNMLP_OK);
        if (f == 0) {
            bn.momentum = 0.99f;
            assert_ok(bnmlp_model_add_batchnorm(model, &bn));
        }
        assert_ok(bnmlp_model_build(model, 4, 1));
        float x[4] = {1, 2, 3, 6}, out[4];
        bnmlp_tensor tx = bnmlp_tensor_view(x, 4, 1), tout = bnmlp_tensor_view(out, 4, 1);
        assert_ok(bnmlp_model_forward(model, &tx, BNMLP_MODE_TRAINING, &tout));
        float mean, variance;
        assert_ok(bnmlp_model_get_weights(model, 0, BNMLP_WEIGHT_MOVING_MEAN, &mean, 1));
        assert_ok(bnmlp_model_get_weights(model, 0, BNMLP_WEIGHT_MOVING_VARIANCE, &variance, 1));
        assert_float_equal(mean, 3.0f, 1e-6f);
        assert_float_equal(variance, 3.5f, 1e-6f); /* biased: (4 + 1 + 0 + 9) / 4 */
        /* Set 10 / 20; a second identical batch then gives the average of the two values. */
        const float ten = 10.0f, twenty = 20.0f;
        assert_ok(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_MOVING_MEAN, &ten, 1));
        assert_ok(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_MOVING_VARIANCE, &twenty, 1));
        assert_ok(bnmlp_model_forward(model, &tx, BNMLP_MODE_TRAINING, &tout));
        assert_ok(bnmlp_model_get_weights(model, 0, BNMLP_WEIGHT_MOVING_MEAN, &mean, 1));
        /* cumulative: (10 + 3) / 2; debiased: (0.99 * 0.01 * 10 + 0.01 * 3) / (1 - 0.99^2). */
        const double expected = f == 1 ? 6.5 : (0.99 * 0.01 * 10.0 + 0.01 * 3.0) / (1.0 - 0.99 * 0.99);
        assert_true(fabs(mean - expected) < 1e-4 * expected);
        bnmlp_model_free(model);
    }
}

/* Every activation has its Keras name; other values are "unknown". */
/* The loss table through the public calls: names and aliases both ways, and the target check
 * naming the first bad row (1-based) and value. */
static void test_loss_names_and_target_checks(void **state) {
    (void)state;
    assert_int_equal(bnmlp_loss_count(), 3);
    const char *keras[3] = {"binary_crossentropy", "categorical_crossentropy", "mean_squared_error"};
    const char *aliases[3] = {"bce", "softmax", "mse"};
    for (size_t k = 0; k < bnmlp_loss_count(); k++) {
        bnmlp_loss loss = (bnmlp_loss)99;
        assert_string_equal(bnmlp_loss_name((bnmlp_loss)k), keras[k]);
        assert_string_equal(bnmlp_loss_alias((bnmlp_loss)k, 0), keras[k]);
        assert_string_equal(bnmlp_loss_alias((bnmlp_loss)k, 1), aliases[k]);
        assert_null(bnmlp_loss_alias((bnmlp_loss)k, 2));
        assert_ok(bnmlp_loss_from_name(keras[k], &loss));
        assert_int_equal(loss, k);
        loss = (bnmlp_loss)99;
        assert_ok(bnmlp_loss_from_name(aliases[k], &loss));
        assert_int_equal(loss, k);
    }
    bnmlp_loss loss = BNMLP_LOSS_MEAN_SQUARED_ERROR;
    assert_status(bnmlp_loss_from_name("hinge", &loss), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_loss_from_name("BCE", &loss), BNMLP_ERR_INVALID_ARGUMENT);
    assert_int_equal(loss, BNMLP_LOSS_MEAN_SQUARED_ERROR);
    assert_status(bnmlp_loss_from_name(NULL, &loss), BNMLP_ERR_NULL_ARGUMENT);
    assert_string_equal(bnmlp_loss_name((bnmlp_loss)7), "unknown");
    assert_null(bnmlp_loss_alias((bnmlp_loss)7, 0));
    assert_true(bnmlp_loss_has_accuracy(BNMLP_LOSS_BINARY_CROSSENTROPY));
    assert_true(bnmlp_loss_has_accuracy(BNMLP_LOSS_CATEGORICAL_CROSSENTROPY));
    assert_false(bnmlp_loss_has_accuracy(BNMLP_LOSS_MEAN_SQUARED_ERROR));
    assert_true(strstr(bnmlp_status_string(BNMLP_ERR_LABEL), "class index") != NULL);

    /* One case per rule: the loss, outputs, targets (rows x cols), status, row, message part. */
    static const struct {
        bnmlp_loss loss;
        size_t outputs, rows, cols;
        float y[6];
        bnmlp_status status;
        size_t line;
        const char *message;
    } cases[] = {
        {BNMLP_LOSS_BINARY_CROSSENTROPY,
         1,
         3,
         1,
         {0, 1, 2},
         BNMLP_ERR_LABEL,
         3,
         "row 3: label 2 is not 0 or 1"},
        {BNMLP_LOSS_BINARY_CROSSENTROPY,
         2,
         2,
         2,
         {0, 1, 1, 0.5f},
         BNMLP_ERR_LABEL,
         2,
         "label 0.5 is not 0 or 1"},
        {BNMLP_LOSS_BINARY_CROSSENTROPY, 1, 2, 1, {1, 0}, BNMLP_OK, 0, ""},
        {BNMLP_LOSS_BINARY_CROSSENTROPY, 1, 2, 2, {1, 0, 1, 0}, BNMLP_ERR_SHAPE, 0, "2 target column(s)"},
        {BNMLP_LOSS_BINARY_CROSSENTROPY, 1, 2, 1, {1, NAN}, BNMLP_ERR_NOT_FINITE, 2, "row 2: target nan"},
        {BNMLP_LOSS_CATEGORICAL_CROSSENTROPY,
         3,
         3,
         1,
         {0, 2, 3},
         BNMLP_ERR_LABEL,
         3,
         "row 3: label 3 is not a class index from 0 to 2"},
        {BNMLP_LOSS_CATEGORICAL_CROSSENTROPY,
         3,
         2,
         1,
         {1, 0.5f},
         BNMLP_ERR_LABEL,
         2,
         "label 0.5 is not a class"},
        {BNMLP_LOSS_CATEGORICAL_CROSSENTROPY, 3, 1, 1, {-1}, BNMLP_ERR_LABEL, 1, "label -1 is not a class"},
        {BNMLP_LOSS_CATEGORICAL_CROSSENTROPY,
         3,
         2,
         3,
         {0, 1, 0, 0.5f, 0.6f, -0.1f},
         BNMLP_ERR_LABEL,
         2,
         "row 2: class probability -0.1 is negative"},
        {BNMLP_LOSS_CATEGORICAL_CROSSENTROPY,
         3,
         2,
         3,
         {0, 1, 0, 0.5f, 0.6f, 0},
         BNMLP_ERR_LABEL,
         2,
         "row 2: class probabilities sum to 1.1"},
        {BNMLP_LOSS_CATEGORICAL_CROSSENTROPY, 3, 2, 3, {0, 1, 0, 0.25f, 0.25f, 0.5f}, BNMLP_OK, 0, ""},
        {BNMLP_LOSS_CATEGORICAL_CROSSENTROPY, 3, 1, 2, {0.5f, 0.5f}, BNMLP_ERR_SHAPE, 0, "needs 1 or 3"},
        {BNMLP_LOSS_MEAN_SQUARED_ERROR, 2, 1, 2, {-3e38f, 7}, BNMLP_OK, 0, ""},
        {BNMLP_LOSS_MEAN_SQUARED_ERROR, 2, 1, 2, {INFINITY, 7}, BNMLP_ERR_NOT_FINITE, 1, "is not finite"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float y[6];
        memcpy(y, cases[i].y, sizeof y);
        const bnmlp_tensor ty = bnmlp_tensor_view(y, cases[i].rows, cases[i].cols);
        bnmlp_error_detail detail = {.line = 77, .message = "untouched"};
        const bnmlp_status status = bnmlp_loss_check_targets(cases[i].loss, cases[i].outputs, &ty, &detail);
        if (status != cases[i].status || (status != BNMLP_OK && !strstr(detail.message, cases[i].message)))
            fail_msg("case %zu: status %d, detail '%s'", i, (int)status, detail.message);
        if (status == BNMLP_OK) assert_int_equal(detail.line, 77); /* untouched on success */
        if (cases[i].line) assert_int_equal(detail.line, cases[i].line);
    }
    float y[2] = {0, 1};
    const bnmlp_tensor ty = bnmlp_tensor_view(y, 2, 1);
    assert_ok(bnmlp_loss_check_targets(BNMLP_LOSS_BINARY_CROSSENTROPY, 1, &ty, NULL));
    assert_status(bnmlp_loss_check_targets(BNMLP_LOSS_BINARY_CROSSENTROPY, 1, NULL, NULL),
                  BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_loss_check_targets((bnmlp_loss)9, 1, &ty, NULL), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_loss_check_targets(BNMLP_LOSS_CATEGORICAL_CROSSENTROPY, 1, &ty, NULL),
                  BNMLP_ERR_INVALID_ARGUMENT);
}

/* The optimizer table through the public calls: names both ways, defaults, settings by name. */
static void test_optimizer_names_and_settings(void **state) {
    (void)state;
    const char *names[4] = {"sgd", "adam", "adamw", "rmsprop"};
    assert_int_equal(bnmlp_optimizer_count(), 4);
    for (size_t k = 0; k < 4; k++) {
        bnmlp_optimizer_kind kind = (bnmlp_optimizer_kind)99;
        assert_string_equal(bnmlp_optimizer_name((bnmlp_optimizer_kind)k), names[k]);
        assert_ok(bnmlp_optimizer_from_name(names[k], &kind));
        assert_int_equal(kind, k);
        bnmlp_optimizer_config config;
        assert_ok(bnmlp_optimizer_defaults(kind, &config));
        assert_int_equal(config.kind, kind);
        assert_ok(bnmlp_optimizer_check(&config));
        assert_string_equal(bnmlp_optimizer_setting(kind, 0), "learning_rate");
    }
    bnmlp_optimizer_kind kind = BNMLP_OPTIMIZER_ADAM;
    assert_status(bnmlp_optimizer_from_name("adagrad", &kind), BNMLP_ERR_INVALID_ARGUMENT);
    assert_int_equal(kind, BNMLP_OPTIMIZER_ADAM);
    assert_string_equal(bnmlp_optimizer_name((bnmlp_optimizer_kind)4), "unknown");
    assert_null(bnmlp_optimizer_setting((bnmlp_optimizer_kind)4, 0));
    bnmlp_optimizer_config config;
    assert_status(bnmlp_optimizer_defaults((bnmlp_optimizer_kind)4, &config), BNMLP_ERR_INVALID_ARGUMENT);
    /* The macros are the table's defaults; AdamW's decay is PyTorch's 0.01. */
    const bnmlp_optimizer_config macros[4] = {BNMLP_OPTIMIZER_SGD_DEFAULT, BNMLP_OPTIMIZER_ADAM_DEFAULT,
                                              BNMLP_OPTIMIZER_ADAMW_DEFAULT, BNMLP_OPTIMIZER_RMSPROP_DEFAULT};
    for (size_t k = 0; k < 4; k++) {
        assert_ok(bnmlp_optimizer_defaults((bnmlp_optimizer_kind)k, &config));
        assert_int_equal(config.kind, macros[k].kind);
        for (size_t i = 0; bnmlp_optimizer_setting(config.kind, i); i++) {
            double a, b;
            assert_ok(bnmlp_optimizer_get(&config, bnmlp_optimizer_setting(config.kind, i), &a));
            assert_ok(bnmlp_optimizer_get(&macros[k], bnmlp_optimizer_setting(config.kind, i), &b));
            assert_true(a == b);
        }
    }
    assert_true(macros[2].adam.weight_decay == 0.01f && macros[1].adam.weight_decay == 0.0f);
    /* Settings by name: RMSprop's rho is its alpha; a setting the kind lacks is refused. */
    config = BNMLP_OPTIMIZER_RMSPROP_DEFAULT;
    double value = 0.0;
    assert_ok(bnmlp_optimizer_set(&config, "rho", 0.9));
    assert_ok(bnmlp_optimizer_set(&config, "centered", 1.0));
    assert_ok(bnmlp_optimizer_set(&config, "learning_rate", 0.001));
    assert_true(config.rmsprop.alpha == 0.9f && config.rmsprop.centered &&
                config.rmsprop.learning_rate == 0.001f);
    assert_ok(bnmlp_optimizer_get(&config, "rho", &value));
    assert_true(value == (double)0.9f);
    assert_status(bnmlp_optimizer_set(&config, "nesterov", 1.0), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_optimizer_get(&config, "beta1", &value), BNMLP_ERR_INVALID_ARGUMENT);
    config = BNMLP_OPTIMIZER_SGD_DEFAULT;
    assert_status(bnmlp_optimizer_set(&config, "rho", 0.9), BNMLP_ERR_INVALID_ARGUMENT);
    assert_ok(bnmlp_optimizer_set(&config, "momentum", 1.5));
    assert_status(bnmlp_optimizer_check(&config), BNMLP_ERR_INVALID_ARGUMENT); /* ranges: the check's */
    config = BNMLP_OPTIMIZER_RMSPROP_DEFAULT;
    config.rmsprop.alpha = 1.0f;
    assert_status(bnmlp_optimizer_check(&config), BNMLP_ERR_INVALID_ARGUMENT);
    config.rmsprop.alpha = 0.9f, config.rmsprop.epsilon = 0.0f;
    assert_status(bnmlp_optimizer_check(&config), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_optimizer_check(NULL), BNMLP_ERR_NULL_ARGUMENT);
    /* Every row fits the slots the model plans, and the largest row uses them all. */
    size_t most = 0;
    for (size_t k = 0; k < bnmlp_optimizer_count(); k++) {
        const bnmlp_optimizer_row *row = bnmlp_optimizer_row_of((bnmlp_optimizer_kind)k);
        assert_non_null(row);
        assert_int_equal(row->kind, k);
        assert_true(row->slots >= 1 && row->slots <= BNMLP_OPTIMIZER_MAX_SLOTS);
        most = row->slots > most ? row->slots : most;
    }
    assert_int_equal(most, BNMLP_OPTIMIZER_MAX_SLOTS);
    assert_null(bnmlp_optimizer_row_of((bnmlp_optimizer_kind)bnmlp_optimizer_count()));
}

static void test_activation_names(void **state) {
    (void)state;
    const char *expected[] = {"linear",  "relu", "leaky_relu", "sigmoid", "tanh",
                              "softmax", "elu",  "gelu",       "silu"};
    for (int a = BNMLP_ACTIVATION_LINEAR; a <= BNMLP_ACTIVATION_SILU; a++)
        assert_string_equal(bnmlp_activation_name((bnmlp_activation)a), expected[a]);
    assert_string_equal(bnmlp_activation_name((bnmlp_activation)(BNMLP_ACTIVATION_SILU + 1)), "unknown");
    assert_string_equal(bnmlp_activation_name((bnmlp_activation)-1), "unknown");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_classes_are_learnt),
        cmocka_unit_test(test_linear_target_is_fitted),
        cmocka_unit_test(test_bad_targets),
        cmocka_unit_test(test_optimizer_settings_and_switching),
        cmocka_unit_test(test_moving_average_flavours_in_a_model),
        cmocka_unit_test(test_activation_names),
        cmocka_unit_test(test_loss_names_and_target_checks),
        cmocka_unit_test(test_optimizer_names_and_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
