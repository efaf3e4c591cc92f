/*
 * test_invariants.c - invariants checked after the arithmetic, not only on the way in.
 *
 * Each case feeds finite, valid input whose arithmetic overflows or degenerates (a batch
 * variance beyond float32, a logit that rounds to infinity, an estimator that would divide by
 * zero, an epoch with no batch to train on) and asserts that the call either returns a clear
 * status with nothing observable changed, or a correct finite result.
 */
#include "support.h"

#include <math.h>
#include <string.h>

#include "layers/layers.h"

#define SENTINEL (-12345.678f)

/* The model's learnable parameters and every batch-norm layer's moving statistics, flat. */
typedef struct state {
    float params[64];
    float moving[64];
    size_t n_params, n_moving;
} state;

static void take_state(const bnmlp_model *model, state *s) {
    s->n_params = bnmlp_model_param_count(model);
    assert_true(s->n_params <= 64);
    assert_ok(bnmlp_model_get_params(model, s->params, s->n_params));
    s->n_moving = 0;
    for (size_t i = 0; i < bnmlp_model_layer_count(model); i++) {
        bnmlp_layer_info info;
        assert_ok(bnmlp_model_layer_info(model, i, &info));
        if (info.kind != BNMLP_LAYER_BATCHNORM) continue;
        const size_t c = info.output_width;
        assert_true(s->n_moving + 2 * c <= 64);
        assert_ok(bnmlp_model_get_weights(model, i, BNMLP_WEIGHT_MOVING_MEAN, s->moving + s->n_moving, c));
        assert_ok(
            bnmlp_model_get_weights(model, i, BNMLP_WEIGHT_MOVING_VARIANCE, s->moving + s->n_moving + c, c));
        s->n_moving += 2 * c;
    }
}

/* Fails unless the model's parameters and moving statistics are bit for bit those of s. */
static void assert_state_is(const bnmlp_model *model, const state *s) {
    state now;
    take_state(model, &now);
    assert_int_equal(now.n_params, s->n_params);
    assert_int_equal(now.n_moving, s->n_moving);
    assert_memory_equal(now.params, s->params, s->n_params * sizeof(float));
    assert_memory_equal(now.moving, s->moving, s->n_moving * sizeof(float));
}

/* in -> BatchNorm(bn) -> Dense(1, sigmoid), built for 8 rows. */
static bnmlp_model *batchnorm_model(size_t in, const bnmlp_batchnorm_config *bn) {
    bnmlp_model *model = bnmlp_model_create(in, NULL);
    assert_non_null(model);
    assert_ok(bnmlp_model_add_batchnorm(model, bn));
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(1);
    head.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(model, &head));
    assert_ok(bnmlp_model_build(model, 8, 7));
    return model;
}

/* ---- a batch variance beyond float32 ------------------------------------------------------- */

/* Rows of +-3e19 have a variance of 9e38: finite in double, infinite in float32. The moving
 * variance would become infinite (NaN with momentum 1): training refuses the step whole, and a
 * training-mode forward refuses too, with the output buffer untouched. */
static void test_variance_overflow_changes_nothing(void **state_) {
    (void)state_;
    const float momenta[] = {0.99f, 1.0f, 0.0f};
    for (size_t k = 0; k < 3; k++) {
        bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
        bn.momentum = momenta[k];
        bnmlp_model *model = batchnorm_model(1, &bn);
        float x[4] = {3e19f, -3e19f, 3e19f, -3e19f}, y[4] = {1, 0, 1, 0}, out[4];
        bnmlp_tensor tx = bnmlp_tensor_view(x, 4, 1), ty = bnmlp_tensor_view(y, 4, 1);
        bnmlp_tensor tout = bnmlp_tensor_view(out, 4, 1);
        state before;
        take_state(model, &before);
        const bnmlp_sgd_config sgd = {.learning_rate = 0.1f, .momentum = 0.9f};
        assert_status(bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&sgd), NULL, NULL),
                      BNMLP_ERR_DIVERGED);
        assert_state_is(model, &before);
        for (size_t i = 0; i < 4; i++) out[i] = SENTINEL;
        assert_status(bnmlp_model_forward(model, &tx, BNMLP_MODE_TRAINING, &tout), BNMLP_ERR_DIVERGED);
        assert_state_is(model, &before);
        for (size_t i = 0; i < 4; i++) assert_true(out[i] == SENTINEL);
        /* fit stops at once and reports no epoch. */
        bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
        fit.batch_size = 4;
        size_t epochs = 99;
        assert_status(bnmlp_model_fit(model, &tx, &ty, &fit, NULL, &epochs), BNMLP_ERR_DIVERGED);
        assert_int_equal(epochs, 0);
        assert_state_is(model, &before);
        /* The same model still trains on ordinary data afterwards. */
        float xs[4] = {1, -1, 2, -2};
        tx = bnmlp_tensor_view(xs, 4, 1);
        assert_ok(bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&sgd), NULL, NULL));
        float moving_variance;
        assert_ok(bnmlp_model_get_weights(model, 0, BNMLP_WEIGHT_MOVING_VARIANCE, &moving_variance, 1));
        assert_true(isfinite(moving_variance));
        bnmlp_model_free(model);
    }
}

/* ---- a loss beyond float32 ------------------------------------------------------------------ */

/* A 1-input Dense(1) MSE model on x = {1, 0}, y = {0, 1e20}: the loss (about 5e39) is finite in
 * double but not as the float train_step and loss_gradients hand back. Both must refuse with
 * BNMLP_ERR_DIVERGED and change nothing (neither the weights nor the optimizer's state), as the
 * header promises; evaluate, whose loss is a double, reports it. */
static void test_loss_beyond_float_is_divergence(void **state_) {
    (void)state_;
    bnmlp_model *model = bnmlp_model_create(1, NULL);
    assert_non_null(model);
    const bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(1);
    assert_ok(bnmlp_model_add_dense(model, &dense));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_MEAN_SQUARED_ERROR));
    assert_ok(bnmlp_model_build(model, 2, 0));
    float x[2] = {1, 0}, y[2] = {0, 1e20f};
    bnmlp_tensor tx = bnmlp_tensor_view(x, 2, 1), ty = bnmlp_tensor_view(y, 2, 1);
    state before;
    take_state(model, &before);
    bnmlp_optimizer_config sgd = BNMLP_OPTIMIZER_SGD_DEFAULT;
    sgd.sgd.learning_rate = 1e-30f;
    float loss = SENTINEL, gradients[2] = {SENTINEL, SENTINEL};
    assert_status(bnmlp_model_train_step(model, &tx, &ty, &sgd, &loss, NULL), BNMLP_ERR_DIVERGED);
    assert_true(loss == SENTINEL);
    assert_state_is(model, &before);
    bnmlp_optimizer_kind kind;
    uint64_t steps = 99;
    assert_ok(bnmlp_model_get_optimizer_state(model, &kind, &steps, NULL, 0));
    assert_int_equal(steps, 0);
    assert_status(bnmlp_model_loss_gradients(model, &tx, &ty, &loss, gradients, 2), BNMLP_ERR_DIVERGED);
    assert_true(loss == SENTINEL && gradients[0] == SENTINEL && gradients[1] == SENTINEL);
    assert_state_is(model, &before);
    double evaluated = 0.0;
    assert_ok(bnmlp_model_evaluate(model, &tx, &ty, &evaluated, NULL));
    assert_true(isfinite(evaluated) && evaluated > 4e39 && evaluated < 6e39);
    /* A loss a float holds still trains. */
    y[1] = 1e18f;
    assert_ok(bnmlp_model_train_step(model, &tx, &ty, &sgd, &loss, NULL));
    assert_true(isfinite(loss) && loss > 4e35f);
    bnmlp_model_free(model);
}

/* ---- the keras2 estimator's N / (N - 1 - epsilon) ------------------------------------------ */

/* With epsilon 1 a batch needs 3 rows (2 / (2 - 2) divides by zero); with epsilon 1.5 it needs 3
 * too (a negative factor below). Smaller batches are BATCH_TOO_SMALL, nothing changed; enough
 * rows give a finite positive moving variance. */
static void test_keras2_estimator_needs_rows(void **state_) {
    (void)state_;
    const float epsilons[] = {1.0f, 1.5f, 2.0f};
    const size_t least[] = {3, 3, 4};
    for (size_t k = 0; k < 3; k++) {
        bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
        bn.epsilon = epsilons[k];
        bn.moving_variance_estimator = BNMLP_VARIANCE_KERAS2;
        assert_int_equal(bnmlp_batchnorm_min_rows(bn.epsilon, bn.moving_variance_estimator), least[k]);
        bnmlp_model *model = batchnorm_model(1, &bn);
        float x[8] = {1, -1, 2, -2, 0.5f, 3, -0.25f, 1.5f}, y[8] = {1, 0, 1, 0, 1, 1, 0, 1}, out[8];
        state before;
        take_state(model, &before);
        const bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
        bnmlp_tensor small_x = bnmlp_tensor_view(x, least[k] - 1, 1),
                     small_y = bnmlp_tensor_view(y, least[k] - 1, 1);
        bnmlp_tensor small_out = bnmlp_tensor_view(out, least[k] - 1, 1);
        assert_status(bnmlp_model_train_step(model, &small_x, &small_y, SGD_CONFIG(&sgd), NULL, NULL),
                      BNMLP_ERR_BATCH_TOO_SMALL);
        assert_status(bnmlp_model_forward(model, &small_x, BNMLP_MODE_TRAINING, &small_out),
                      BNMLP_ERR_BATCH_TOO_SMALL);
        float loss;
        assert_status(bnmlp_model_loss_gradients(model, &small_x, &small_y, &loss, NULL, 0),
                      BNMLP_ERR_BATCH_TOO_SMALL);
        bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
        fit.batch_size = least[k] - 1;
        bnmlp_tensor tx = bnmlp_tensor_view(x, 8, 1), ty = bnmlp_tensor_view(y, 8, 1);
        assert_status(bnmlp_model_fit(model, &tx, &ty, &fit, NULL, NULL), BNMLP_ERR_BATCH_TOO_SMALL);
        assert_state_is(model, &before);
        bnmlp_tensor enough_x = bnmlp_tensor_view(x, least[k], 1),
                     enough_y = bnmlp_tensor_view(y, least[k], 1);
        assert_ok(bnmlp_model_train_step(model, &enough_x, &enough_y, SGD_CONFIG(&sgd), NULL, NULL));
        float moving_variance;
        assert_ok(bnmlp_model_get_weights(model, 0, BNMLP_WEIGHT_MOVING_VARIANCE, &moving_variance, 1));
        assert_true(isfinite(moving_variance) && moving_variance > 0.0f);
        /* fit skips a trailing batch below the minimum: 8 rows in batches of 3 end in 2 rows,
         * trained on only when the minimum is 2 or less. */
        fit.batch_size = 3;
        fit.epochs = 2;
        if (least[k] == 3) {
            bnmlp_epoch_record history[2];
            assert_ok(bnmlp_model_fit(model, &tx, &ty, &fit, history, NULL));
            assert_true(isfinite(history[1].loss));
        } else {
            assert_status(bnmlp_model_fit(model, &tx, &ty, &fit, NULL, NULL), BNMLP_ERR_BATCH_TOO_SMALL);
        }
        bnmlp_model_free(model);
    }
}

/* ---- an epoch with no batch to train on -------------------------------------------------- */

typedef struct unfreeze {
    bnmlp_model *model;
    state after_first; /* the model as the first epoch left it */
} unfreeze;

/* After the first epoch, records the model and unfreezes its batch-norm layer (layer 0). */
static bool unfreeze_after_first(const bnmlp_epoch_record *record, void *context) {
    unfreeze *u = context;
    if (record->epoch == 1) {
        take_state(u->model, &u->after_first);
        assert_ok(bnmlp_model_set_trainable(u->model, 0, true));
    }
    return true;
}

/* A frozen batch-norm layer lets fit use batches of one row; once a callback unfreezes it, no
 * batch of one row can train: fit stops with BATCH_TOO_SMALL before that epoch changes anything
 * (no NaN metrics reported as success). */
static void test_epoch_without_batches_fails(void **state_) {
    (void)state_;
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    bnmlp_model *model = batchnorm_model(1, &bn);
    assert_ok(bnmlp_model_set_trainable(model, 0, false));
    float x[4] = {1, -1, 2, -2}, y[4] = {1, 0, 1, 0};
    bnmlp_tensor tx = bnmlp_tensor_view(x, 4, 1), ty = bnmlp_tensor_view(y, 4, 1);
    unfreeze u = {.model = model};
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.batch_size = 1;
    fit.epochs = 3;
    fit.on_epoch_end = unfreeze_after_first;
    fit.callback_context = &u;
    bnmlp_epoch_record history[3];
    size_t epochs = 99;
    assert_status(bnmlp_model_fit(model, &tx, &ty, &fit, history, &epochs), BNMLP_ERR_BATCH_TOO_SMALL);
    assert_int_equal(epochs, 1);
    assert_true(isfinite(history[0].loss) && isfinite(history[0].accuracy));
    assert_state_is(model, &u.after_first);
    bnmlp_model_free(model);
}

/* ---- logits that round to infinity ------------------------------------------------------------ */

/* The BCE of an infinite logit on the right side is 0 with a zero gradient, not inf - inf;
 * on the wrong side it is infinite. */
static void test_bce_infinite_logits(void **state_) {
    (void)state_;
    const float z[2] = {INFINITY, -INFINITY}, right[2] = {1, 0}, wrong[2] = {0, 1};
    float dz[2] = {SENTINEL, SENTINEL};
    assert_true(bnmlp_bce_logits(dz, z, right, 2, 2) == 0.0);
    assert_true(dz[0] == 0.0f && dz[1] == 0.0f);
    assert_true(isinf(bnmlp_bce_logits(NULL, z, wrong, 2, 2)));
}

/* 2 -> Dense(1, sigmoid) with a kernel of 3e38: inputs of 10 give a logit of +inf. */
static bnmlp_model *overflowing_model(size_t max_batch) {
    bnmlp_model *model = bnmlp_model_create(2, NULL);
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(1);
    head.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(model, &head));
    assert_ok(bnmlp_model_build(model, max_batch, 3));
    const float huge[2] = {3e38f, 3e38f};
    assert_ok(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_KERNEL, huge, 2));
    return model;
}

/* evaluate: label 1 behind a +inf logit is a loss of 0 and a right prediction; label 0 is an
 * infinite loss, so DIVERGED with the outputs untouched. */
static void test_evaluate_infinite_logit(void **state_) {
    (void)state_;
    bnmlp_model *model = overflowing_model(4);
    float x[4] = {10, 10, 10, 10}, ones[2] = {1, 1}, zeros[2] = {0, 0};
    bnmlp_tensor tx = bnmlp_tensor_view(x, 2, 2), y1 = bnmlp_tensor_view(ones, 2, 1);
    bnmlp_tensor y0 = bnmlp_tensor_view(zeros, 2, 1);
    double loss = -1.0, accuracy = -1.0;
    assert_ok(bnmlp_model_evaluate(model, &tx, &y1, &loss, &accuracy));
    assert_true(loss == 0.0);
    assert_true(accuracy == 1.0);
    loss = accuracy = -1.0;
    assert_status(bnmlp_model_evaluate(model, &tx, &y0, &loss, &accuracy), BNMLP_ERR_DIVERGED);
    assert_true(loss == -1.0 && accuracy == -1.0);
    bnmlp_model_free(model);
}

/* ---- outputs that overflow ---------------------------------------------------------------------- */

/* 2 -> Dense(1) (linear) with a kernel of 3e38: the output itself overflows. forward and predict
 * return DIVERGED and leave the output untouched, also when only the last of several chunks
 * overflows (predict checks every chunk before it writes one). */
static void test_overflowing_outputs_write_nothing(void **state_) {
    (void)state_;
    bnmlp_model *model = bnmlp_model_create(2, NULL);
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(1);
    assert_ok(bnmlp_model_add_dense(model, &dense));
    assert_ok(bnmlp_model_build(model, 2, 3));
    const float huge[2] = {3e38f, 3e38f};
    assert_ok(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_KERNEL, huge, 2));
    float x[10] = {0, 0, 0, 0, 1e-38f, 0, 0, 0, 10, 10}, out[5];
    for (size_t i = 0; i < 5; i++) out[i] = SENTINEL;
    bnmlp_tensor all = bnmlp_tensor_view(x, 5, 2), tout = bnmlp_tensor_view(out, 5, 1);
    assert_status(bnmlp_model_predict(model, &all, &tout), BNMLP_ERR_DIVERGED);
    for (size_t i = 0; i < 5; i++) assert_true(out[i] == SENTINEL);
    bnmlp_tensor last = bnmlp_tensor_view(x + 8, 1, 2), one = bnmlp_tensor_view(out, 1, 1);
    assert_status(bnmlp_model_forward(model, &last, BNMLP_MODE_INFERENCE, &one), BNMLP_ERR_DIVERGED);
    assert_true(out[0] == SENTINEL);
    /* The first four rows alone are fine. */
    bnmlp_tensor first = bnmlp_tensor_view(x, 4, 2), four = bnmlp_tensor_view(out, 4, 1);
    assert_ok(bnmlp_model_predict(model, &first, &four));
    assert_true(out[0] == 0.0f && out[2] == 3e38f * 1e-38f);
    bnmlp_model_free(model);
}

/* ---- random draws from no generator ----------------------------------------------------------- */

/* Every draw from a NULL generator is 0, as the header promises: normal too, whatever loc. */
static void test_random_null_generator(void **state_) {
    (void)state_;
    assert_true(bnmlp_random_normal(NULL, 5.0, 2.0) == 0.0);
    assert_true(bnmlp_random_gauss(NULL) == 0.0);
    assert_true(bnmlp_random_double(NULL) == 0.0);
    assert_int_equal(bnmlp_random_uint32(NULL), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variance_overflow_changes_nothing),
        cmocka_unit_test(test_loss_beyond_float_is_divergence),
        cmocka_unit_test(test_keras2_estimator_needs_rows),
        cmocka_unit_test(test_epoch_without_batches_fails),
        cmocka_unit_test(test_bce_infinite_logits),
        cmocka_unit_test(test_evaluate_infinite_logit),
        cmocka_unit_test(test_overflowing_outputs_write_nothing),
        cmocka_unit_test(test_random_null_generator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
