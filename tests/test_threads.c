/*
 * test_threads.c - the model's thread pool: 1, 2, 3 and 4 threads give bit-identical parameters
 * and moving statistics after several training steps, on a model big enough that its products
 * are packed and split over output tiles and its batch-norm passes, activations, gradient
 * zeroing and optimizer update are cut into pieces for the threads; set_threads before and after
 * build; a step allocates nothing whatever the thread count.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

enum { IN = 96, HIDDEN = 520, ROWS = 256, STEPS = 4 }; /* 256 x 520 >= 2^17: activations threaded too */

/* IN -> Dense(HIDDEN) -> BN -> ReLU -> Dense(HIDDEN) -> BN -> ReLU -> Dense(1, sigmoid). */
static bnmlp_model *make_model(size_t threads, bool before_build, const bnmlp_allocator *allocator) {
    bnmlp_model *model = bnmlp_model_create_with_allocator(IN, allocator, NULL);
    assert_non_null(model);
    if (before_build) assert_ok(bnmlp_model_set_threads(model, threads));
    for (int k = 0; k < 2; k++) {
        bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(HIDDEN);
        assert_ok(bnmlp_model_add_dense(model, &hidden));
        assert_ok(bnmlp_model_add_batchnorm(model, &BNMLP_BATCHNORM_DEFAULT));
        assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f));
    }
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(1);
    head.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(model, &head));
    assert_ok(bnmlp_model_build(model, ROWS, 17));
    if (!before_build) assert_ok(bnmlp_model_set_threads(model, threads));
    assert_int_equal(bnmlp_model_threads(model), threads);
    return model;
}

static float x[ROWS * IN], y[ROWS];

static void make_data(void) {
    bnmlp_random rng;
    bnmlp_random_seed(&rng, 5);
    for (size_t i = 0; i < ROWS * IN; i++) x[i] = (float)bnmlp_random_gauss(&rng);
    for (size_t r = 0; r < ROWS; r++) y[r] = x[r * IN] + x[r * IN + 1] > 0.0f ? 1.0f : 0.0f;
}

/* Trains STEPS steps with SGD (momentum) and returns the parameters (malloc'd, count floats). */
static float *train(bnmlp_model *model, size_t *count) {
    bnmlp_tensor tx = bnmlp_tensor_view(x, ROWS, IN), ty = bnmlp_tensor_view(y, ROWS, 1);
    const bnmlp_sgd_config sgd = {.learning_rate = 0.05f, .momentum = 0.9f};
    for (int s = 0; s < STEPS; s++)
        assert_ok(bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&sgd), NULL, NULL));
    *count = bnmlp_model_param_count(model);
    float *params = malloc((*count + 2 * HIDDEN) * sizeof *params);
    assert_ok(bnmlp_model_get_params(model, params, *count));
    assert_ok(bnmlp_model_get_weights(model, 1, BNMLP_WEIGHT_MOVING_VARIANCE, params + *count, HIDDEN));
    assert_ok(
        bnmlp_model_get_weights(model, 4, BNMLP_WEIGHT_MOVING_VARIANCE, params + *count + HIDDEN, HIDDEN));
    *count += 2 * HIDDEN;
    return params;
}

static void test_bit_identical_across_thread_counts(void **state) {
    (void)state;
    make_data();
    size_t count, other_count;
    bnmlp_model *one = make_model(1, true, NULL);
    float *expected = train(one, &count);
    for (size_t threads = 2; threads <= 4; threads++)
        for (int before = 0; before < 2; before++) {
            bnmlp_model *model = make_model(threads, before, NULL);
            float *params = train(model, &other_count);
            assert_int_equal(other_count, count);
            assert_memory_equal(params, expected, count * sizeof(float));
            /* Inference too. */
            float out_one[ROWS], out_many[ROWS];
            bnmlp_tensor tx = bnmlp_tensor_view(x, ROWS, IN);
            bnmlp_tensor a = bnmlp_tensor_view(out_one, ROWS, 1), b = bnmlp_tensor_view(out_many, ROWS, 1);
            assert_ok(bnmlp_model_predict(one, &tx, &a));
            assert_ok(bnmlp_model_predict(model, &tx, &b));
            assert_memory_equal(out_one, out_many, sizeof out_one);
            free(params);
            bnmlp_model_free(model);
        }
    free(expected);
    bnmlp_model_free(one);
}

/* Changing the thread count of a built model keeps it training identically; a step allocates
 * nothing on 1 or 3 threads; bad counts are refused. */
static void test_set_threads(void **state) {
    (void)state;
    make_data();
    counting_allocator counter = {0};
    bnmlp_allocator allocator = counting_allocator_of(&counter);
    bnmlp_model *model = make_model(3, false, &allocator);
    bnmlp_tensor tx = bnmlp_tensor_view(x, ROWS, IN), ty = bnmlp_tensor_view(y, ROWS, 1);
    const bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    assert_ok(bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&sgd), NULL, NULL)); /* wakes the workers */
    size_t calls = counter.calls;
    assert_ok(bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&sgd), NULL, NULL));
    assert_int_equal(counter.calls, calls);
    assert_ok(bnmlp_model_set_threads(model, 1));
    assert_int_equal(bnmlp_model_threads(model), 1);
    calls = counter.calls;
    assert_ok(bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&sgd), NULL, NULL));
    assert_int_equal(counter.calls, calls);
    assert_status(bnmlp_model_set_threads(model, 5000), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_model_set_threads(NULL, 1), BNMLP_ERR_NULL_ARGUMENT);
    assert_ok(bnmlp_model_set_threads(model, 0)); /* all online cores */
    assert_true(bnmlp_model_threads(model) >= 1);
    /* A failed allocation while changing threads changes nothing. */
    counter.fail_at = counter.calls + 1;
    assert_status(bnmlp_model_set_threads(model, 2), BNMLP_ERR_OUT_OF_MEMORY);
    counter.fail_at = 0;
    assert_ok(bnmlp_model_train_step(model, &tx, &ty, SGD_CONFIG(&sgd), NULL, NULL));
    bnmlp_model_free(model);
    assert_int_equal(counter.allocations, counter.releases);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bit_identical_across_thread_counts),
        cmocka_unit_test(test_set_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
