/* test_zero_runs.c - the gradient runs a full backward zeroes, planned once at build: their exact
 * list for a small model, and a full backward over a poisoned gradient arena giving the gradients
 * of one over a zeroed arena, bit for bit (and the walk for a partial backward likewise). */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "model/model.h"
#include "support.h"

/* 2 -> dense 3 (bias, linear) -> batch norm -> dense 1 (bias, linear), built for 4 rows. */
static bnmlp_model *small_model(void) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(2, &status);
    assert_ok(status);
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(3);
    dense.activation = BNMLP_ACTIVATION_LINEAR;
    assert_ok(bnmlp_model_add_dense(model, &dense));
    const bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    dense.units = 1;
    assert_ok(bnmlp_model_add_dense(model, &dense));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_MEAN_SQUARED_ERROR));
    assert_ok(bnmlp_model_build(model, 4, 7));
    return model;
}

/* The arena: kernel 6, bias 3, gamma 3, beta 3, kernel 3, bias 1. The dense kernels' gradients
 * are written whole, so the runs are the bias-gamma-beta run and the last bias. */
static void test_planned_runs_exact(void **state) {
    (void)state;
    bnmlp_model *model = small_model();
    assert_int_equal(model->param_count, 19);
    assert_int_equal(model->zero_run_count, 2);
    assert_int_equal(model->zero_runs[0].offset, 6);
    assert_int_equal(model->zero_runs[0].length, 9);
    assert_int_equal(model->zero_runs[1].offset, 18);
    assert_int_equal(model->zero_runs[1].length, 1);
    bnmlp_model_free(model);
}

/* The gradients of a backward through layers [0, top) of x, its arena first filled with fill. */
static void gradients_of(bnmlp_model *model, const float *x, size_t top, float fill, float *out) {
    for (size_t i = 0; i < model->param_count; i++) model->grads[i] = fill;
    bnmlp_model_run_forward(model, x, 4, BNMLP_MODE_TRAINING, model->layer_count);
    const float delta[4 * 3] = {0.5f, -1.0f, 0.25f,  2.0f, 0.75f,  -0.5f,
                                1.5f, -2.0f, 0.125f, 1.0f, -0.25f, 0.5f};
    bnmlp_model_run_backward(model, x, 4, delta, top);
    memcpy(out, model->grads, model->param_count * sizeof *out);
}

static void test_poisoned_arena_gives_the_same_gradients(void **state) {
    (void)state;
    bnmlp_model *model = small_model();
    const float x[4 * 2] = {1.0f, -2.0f, 0.5f, 3.0f, -1.5f, 0.25f, 2.0f, 1.0f};
    float clean[19], poisoned[19];
    /* Full backward (the planned runs): delta is the last layer's (4 x 1) gradient. */
    gradients_of(model, x, model->layer_count, 0.0f, clean);
    gradients_of(model, x, model->layer_count, NAN, poisoned);
    assert_memory_equal(clean, poisoned, sizeof clean);
    for (size_t i = 0; i < 19; i++) assert_true(isfinite(clean[i]));
    /* Partial backward through the dense and batch norm (the walk): delta is (4 x 3); the last
     * layer's gradients are zeroed too. */
    gradients_of(model, x, 2, 0.0f, clean);
    gradients_of(model, x, 2, NAN, poisoned);
    assert_memory_equal(clean, poisoned, sizeof clean);
    bnmlp_model_free(model);
}

/* A model whose loss folds its final sigmoid in (binary cross-entropy): every step's backward
 * stops below the sigmoid, and the runs are planned for that top (no walk per step); a poisoned
 * arena gives the gradients of a zeroed one through it, and through a full backward (the walk). */
static void test_runs_planned_for_the_head_top(void **state) {
    (void)state;
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(2, &status);
    assert_ok(status);
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(3);
    dense.activation = BNMLP_ACTIVATION_RELU;
    assert_ok(bnmlp_model_add_dense(model, &dense));
    const bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    dense.units = 1;
    dense.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(model, &dense));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_BINARY_CROSSENTROPY));
    assert_ok(bnmlp_model_build(model, 4, 7));
    const size_t count = model->layer_count; /* dense, relu, batch norm, dense, sigmoid */
    assert_int_equal(count, 5);
    assert_int_equal(bnmlp_model_head_top(model), count - 1);
    assert_int_equal(model->zero_runs_top, count - 1);
    /* The same runs as the small model's: bias-gamma-beta, then the last bias. */
    assert_int_equal(model->zero_run_count, 2);
    assert_int_equal(model->zero_runs[0].offset, 6);
    assert_int_equal(model->zero_runs[0].length, 9);
    assert_int_equal(model->zero_runs[1].offset, 18);
    assert_int_equal(model->zero_runs[1].length, 1);
    const float x[4 * 2] = {1.0f, -2.0f, 0.5f, 3.0f, -1.5f, 0.25f, 2.0f, 1.0f};
    float clean[19], poisoned[19];
    for (size_t top = count - 1; top <= count; top++) {
        gradients_of(model, x, top, 0.0f, clean);
        gradients_of(model, x, top, NAN, poisoned);
        assert_memory_equal(clean, poisoned, sizeof clean);
    }
    bnmlp_model_free(model);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planned_runs_exact),
        cmocka_unit_test(test_poisoned_arena_gives_the_same_gradients),
        cmocka_unit_test(test_runs_planned_for_the_head_top),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
