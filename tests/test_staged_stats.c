/* test_staged_stats.c - the moving statistics' update computed once per step: the check stages
 * it (the model's statistics untouched, bit for bit), the commit copies it in, and the committed
 * values are those of bnmlp_batchnorm_average applied in place (the former path), for every
 * moving average; a check without a commit changes nothing. */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "layers/layers.h"
#include "model/model.h"
#include "support.h"

#define ROWS 4

/* 2 -> dense 3 (linear) -> batch norm (average) -> dense 1, built for ROWS rows. */
static bnmlp_model *bn_model(bnmlp_moving_average average) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(2, &status);
    assert_ok(status);
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(3);
    assert_ok(bnmlp_model_add_dense(model, &dense));
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    bn.momentum = 0.75f;
    bn.moving_average = average;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    dense.units = 1;
    assert_ok(bnmlp_model_add_dense(model, &dense));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_MEAN_SQUARED_ERROR));
    assert_ok(bnmlp_model_build(model, ROWS, 3));
    return model;
}

/* Array k of layer in the copy `stats` of the statistics block, or NULL when absent. */
static float *in_copy(float *stats, const bnmlp_layer *layer, bnmlp_array k) {
    return bnmlp_slice_in(stats, layer->arrays[k]);
}

static void test_check_stages_commit_copies(void **state) {
    (void)state;
    const bnmlp_moving_average averages[] = {BNMLP_AVERAGE_EXPONENTIAL, BNMLP_AVERAGE_DEBIASED,
                                             BNMLP_AVERAGE_CUMULATIVE};
    const float x[ROWS * 2] = {1.0f, -2.0f, 0.5f, 3.0f, -1.5f, 0.25f, 2.0f, 1.0f};
    for (size_t a = 0; a < sizeof averages / sizeof averages[0]; a++) {
        bnmlp_model *model = bn_model(averages[a]);
        const bnmlp_layer *bn = &model->layers[1];
        const size_t count = model->stats_count;
        assert_true(count > 0 && count <= 12);
        for (uint64_t step = 0; step < 3; step++) {
            bnmlp_model_run_forward(model, x, ROWS, BNMLP_MODE_TRAINING, model->layer_count);
            float before[12] = {0}, expected[12] = {0};
            memcpy(before, model->stats, count * sizeof *before);
            /* The former path: the update applied in place, here on a copy. */
            memcpy(expected, before, sizeof expected);
            assert_true(bnmlp_batchnorm_average(in_copy(expected, bn, BNMLP_ARRAY_MOVING_MEAN),
                                                in_copy(expected, bn, BNMLP_ARRAY_MOVING_VARIANCE),
                                                in_copy(expected, bn, BNMLP_ARRAY_BIASED_MEAN),
                                                in_copy(expected, bn, BNMLP_ARRAY_BIASED_VARIANCE),
                                                bn->data[BNMLP_ARRAY_BATCH_MEAN],
                                                bn->data[BNMLP_ARRAY_BATCH_VARIANCE], ROWS, bn->out,
                                                &bn->config.batchnorm, bn->steps + 1, true));
            /* The check (twice: a check without a commit changes nothing) leaves the statistics. */
            const float *current = model->stats;
            assert_ok(bnmlp_model_check_statistics(model, ROWS));
            assert_ok(bnmlp_model_check_statistics(model, ROWS));
            assert_ptr_equal(model->stats, current);
            assert_memory_equal(model->stats, before, count * sizeof *before);
            assert_int_equal(bn->steps, step);
            /* The commit copies the staged update in: the former path's bits, in place. */
            bnmlp_model_commit_statistics(model, ROWS);
            assert_ptr_equal(model->stats, current);
            assert_memory_equal(model->stats, expected, count * sizeof *expected);
            assert_int_equal(bn->steps, step + 1);
            for (size_t k = 0; k < BNMLP_ARRAY_COUNT; k++)
                if (bnmlp_arrays[k].block == BNMLP_BLOCK_STATS)
                    assert_ptr_equal(bn->data[k], bnmlp_layer_array(model, bn, (bnmlp_array)k));
        }
        bnmlp_model_free(model);
    }
}

/* A check that fails (a non-finite batch statistic) stages nothing visible. */
static void test_failed_check_changes_nothing(void **state) {
    (void)state;
    bnmlp_model *model = bn_model(BNMLP_AVERAGE_EXPONENTIAL);
    const float x[ROWS * 2] = {1.0f, -2.0f, 0.5f, 3.0f, -1.5f, 0.25f, 2.0f, 1.0f};
    bnmlp_model_run_forward(model, x, ROWS, BNMLP_MODE_TRAINING, model->layer_count);
    bnmlp_layer *bn = &model->layers[1];
    bn->data[BNMLP_ARRAY_BATCH_VARIANCE][1] = INFINITY;
    float before[12] = {0};
    memcpy(before, model->stats, model->stats_count * sizeof *before);
    const float *current = model->stats;
    assert_int_equal(bnmlp_model_check_statistics(model, ROWS), BNMLP_ERR_DIVERGED);
    assert_ptr_equal(model->stats, current);
    assert_memory_equal(model->stats, before, model->stats_count * sizeof *before);
    assert_int_equal(bn->steps, 0);
    bnmlp_model_free(model);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_stages_commit_copies),
        cmocka_unit_test(test_failed_check_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
