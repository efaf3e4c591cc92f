/* test_quantize.c - bnmlp_model_quantize: on a fixture (a 10-32-BN-ReLU-16-BN-ReLU-1 sigmoid
 * model trained 40 steps on a deterministic two-class set) the int8 model's predictions (logits) are
 * within 2% of the float model's largest |logit| and it classifies at least 97% of the rows as
 * it does; its layers (int8 where dense layers were, batch norm folded); the same bits as an int8
 * layer computed by hand from its saved arrays with the reference; bit-identical on 1 and 3
 * threads and after a save and load; training, fold and export refuse it with nothing changed;
 * every bad input; every allocation failure leaves nothing behind. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/int8.h"
#include "model/model.h"
#include "support.h"

#define INPUTS 10
#define ROWS 200
#define MAX_BATCH 64 /* smaller than ROWS: calibration and predict run in chunks */

/* The fixture's rows: x in [-2, 2), label 1 when a fixed linear-plus-square score is positive. */
static void make_rows(float *x, float *y) {
    bnmlp_test_fill(x, ROWS * INPUTS, 4242);
    for (size_t i = 0; i < ROWS; i++) {
        double score = 0.0;
        for (size_t k = 0; k < INPUTS; k++) {
            x[i * INPUTS + k] *= 2.0f;
            score += (k % 2 ? 1.0 : -0.5) * x[i * INPUTS + k] + 0.1 * x[i * INPUTS + k] * x[i * INPUTS + k];
        }
        y[i] = score > 0.4 ? 1.0f : 0.0f;
    }
}

/* The fixture's model, trained 40 steps of SGD with momentum on its rows. */
static bnmlp_model *make_trained(size_t threads, const float *x, const float *y) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(INPUTS, &status);
    assert_non_null(model);
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(32);
    const bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    assert_ok(bnmlp_model_add_dense(model, &dense));
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f));
    dense.units = 16;
    assert_ok(bnmlp_model_add_dense(model, &dense));
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f));
    dense.units = 1;
    assert_ok(bnmlp_model_add_dense(model, &dense));
    assert_ok(bnmlp_model_set_loss(model, BNMLP_LOSS_BINARY_CROSSENTROPY));
    assert_ok(bnmlp_model_set_threads(model, threads));
    assert_ok(bnmlp_model_build(model, MAX_BATCH, 7));
    bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    sgd.learning_rate = 0.05f, sgd.momentum = 0.9f;
    for (size_t step = 0; step < 40; step++) {
        const size_t first = (step * 32) % (ROWS - 32);
        bnmlp_tensor bx = bnmlp_tensor_view((float *)x + first * INPUTS, 32, INPUTS);
        bnmlp_tensor by = bnmlp_tensor_view((float *)y + first, 32, 1);
        assert_ok(bnmlp_model_train_step(model, &bx, &by, SGD_CONFIG(&sgd), NULL, NULL));
    }
    return model;
}

/* predictions (ROWS) of model on x. */
static void predict(bnmlp_model *model, const float *x, float *out) {
    bnmlp_tensor tx = bnmlp_tensor_view((float *)x, ROWS, INPUTS), ty = bnmlp_tensor_view(out, ROWS, 1);
    assert_ok(bnmlp_model_predict(model, &tx, &ty));
}

typedef struct fixture {
    float x[ROWS * INPUTS], y[ROWS];
    bnmlp_model *model, *quantized;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    make_rows(f->x, f->y);
    f->model = make_trained(1, f->x, f->y);
    bnmlp_tensor calibration = bnmlp_tensor_view(f->x, ROWS, INPUTS);
    bnmlp_status status = BNMLP_ERR_IO;
    f->quantized = bnmlp_model_quantize(f->model, &calibration, NULL, &status);
    if (status != BNMLP_OK || !f->quantized) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    bnmlp_model_free(f->model);
    bnmlp_model_free(f->quantized);
    free(f);
    return 0;
}

static void test_predictions_close_to_float(void **state) {
    fixture *f = *state;
    float reference[ROWS], got[ROWS];
    predict(f->model, f->x, reference);
    predict(f->quantized, f->x, got);
    size_t same = 0;
    double worst = 0.0, range = 0.0;
    for (size_t i = 0; i < ROWS; i++) {
        worst = fmax(worst, fabs((double)got[i] - (double)reference[i]));
        range = fmax(range, fabs((double)reference[i]));
        same += (got[i] > 0.0f) == (reference[i] > 0.0f);
    }
    fprintf(stderr,
            "int8 vs float: largest logit difference %.4f (%.2f%% of the largest |logit| %.2f), same class "
            "%zu / %d\n",
            worst, 100.0 * worst / range, range, same, ROWS);
    assert_true(worst <= 0.02 * range);
    assert_true(same >= ROWS * 97 / 100);
    /* not the float model's bits: quantization happened */
    assert_true(memcmp(got, reference, sizeof got) != 0);
}

static void test_layers_and_flags(void **state) {
    fixture *f = *state;
    assert_true(bnmlp_model_is_quantized(f->quantized));
    assert_false(bnmlp_model_is_quantized(f->model));
    assert_false(bnmlp_model_is_quantized(NULL));
    /* dense+BN folded: int8, relu, int8, relu, int8 */
    static const bnmlp_layer_kind kinds[] = {BNMLP_LAYER_DENSE_INT8, BNMLP_LAYER_ACTIVATION,
                                             BNMLP_LAYER_DENSE_INT8, BNMLP_LAYER_ACTIVATION,
                                             BNMLP_LAYER_DENSE_INT8};
    assert_int_equal(bnmlp_model_layer_count(f->quantized), 5);
    for (size_t i = 0; i < 5; i++) {
        bnmlp_layer_info info;
        assert_ok(bnmlp_model_layer_info(f->quantized, i, &info));
        assert_int_equal(info.kind, kinds[i]);
    }
    assert_int_equal(bnmlp_model_loss(f->quantized), BNMLP_LOSS_BINARY_CROSSENTROPY);
    assert_int_equal(bnmlp_model_max_batch(f->quantized), MAX_BATCH);
    /* the bias is public; the int8 kernel is not a public array */
    float bias[32];
    assert_ok(bnmlp_model_get_weights(f->quantized, 0, BNMLP_WEIGHT_BIAS, bias, 32));
    assert_status(bnmlp_model_get_weights(f->quantized, 0, BNMLP_WEIGHT_KERNEL, bias, 1),
                  BNMLP_ERR_INVALID_ARGUMENT);
}

/* The first layer by hand: its saved codes and scales through the reference give its output. */
static void test_first_layer_is_the_reference(void **state) {
    fixture *f = *state;
    const bnmlp_layer *layer = bnmlp_model_layer_at(f->quantized, 0);
    const size_t out = layer->out;
    int8_t *codes = malloc(INPUTS * out);
    for (size_t i = 0; i < INPUTS * out; i++) {
        const float c = layer->data[BNMLP_ARRAY_INT8_KERNEL][i];
        assert_true(c == floorf(c) && c >= -127.0f && c <= 127.0f);
        codes[i] = (int8_t)c;
    }
    /* per column, some code reaches +-127 (the scale is the column's max / 127) */
    for (size_t j = 0; j < out; j++) {
        float most = 0.0f;
        for (size_t k = 0; k < INPUTS; k++)
            most = fmaxf(most, fabsf(layer->data[BNMLP_ARRAY_INT8_KERNEL][k * out + j]));
        assert_true(most == 127.0f);
    }
    /* the input scale is the calibration's max |x| / 127 */
    float most = 0.0f;
    for (size_t i = 0; i < ROWS * INPUTS; i++) most = fmaxf(most, fabsf(f->x[i]));
    assert_true(layer->data[BNMLP_ARRAY_INPUT_SCALE][0] == (float)((double)most / 127.0));
    float *expected = malloc(MAX_BATCH * out * sizeof *expected);
    bnmlp_int8_dense_reference(expected, f->x, MAX_BATCH, INPUTS, out, codes,
                               layer->data[BNMLP_ARRAY_WEIGHT_SCALE], layer->data[BNMLP_ARRAY_INPUT_SCALE][0],
                               layer->data[BNMLP_ARRAY_BIAS]);
    const float *got = bnmlp_model_run_forward(f->quantized, f->x, MAX_BATCH, BNMLP_MODE_INFERENCE, 1);
    assert_memory_equal(got, expected, MAX_BATCH * out * sizeof *got);
    free(codes), free(expected);
}

static void test_threads_and_file_give_the_same_bits(void **state) {
    fixture *f = *state;
    float one[ROWS], other[ROWS];
    predict(f->quantized, f->x, one);
    /* a model trained and quantized on 3 threads */
    bnmlp_model *model3 = make_trained(3, f->x, f->y);
    bnmlp_tensor calibration = bnmlp_tensor_view(f->x, ROWS, INPUTS);
    bnmlp_status status;
    bnmlp_model *quantized3 = bnmlp_model_quantize(model3, &calibration, NULL, &status);
    assert_ok(status);
    predict(quantized3, f->x, other);
    assert_memory_equal(one, other, sizeof one);
    bnmlp_model_free(model3), bnmlp_model_free(quantized3);
    /* saved and loaded */
    size_t size;
    assert_ok(bnmlp_model_save_buffer(f->quantized, false, NULL, 0, &size));
    void *buffer = malloc(size);
    assert_ok(bnmlp_model_save_buffer(f->quantized, false, buffer, size, &size));
    bnmlp_model *loaded = bnmlp_model_load_buffer(buffer, size, NULL, NULL, &status);
    assert_ok(status);
    assert_true(bnmlp_model_is_quantized(loaded));
    predict(loaded, f->x, other);
    assert_memory_equal(one, other, sizeof one);
    bnmlp_model_free(loaded);
    free(buffer);
}

static void test_training_refused_with_nothing_changed(void **state) {
    fixture *f = *state;
    const size_t count = bnmlp_model_param_count(f->quantized);
    float *before = malloc(count * sizeof *before), *after = malloc(count * sizeof *after);
    assert_ok(bnmlp_model_get_params(f->quantized, before, count));
    bnmlp_tensor x = bnmlp_tensor_view(f->x, 32, INPUTS), y = bnmlp_tensor_view(f->y, 32, 1);
    const bnmlp_sgd_config sgd = BNMLP_SGD_DEFAULT;
    float loss = 0.0f;
    assert_status(bnmlp_model_train_step(f->quantized, &x, &y, SGD_CONFIG(&sgd), &loss, NULL),
                  BNMLP_ERR_UNSUPPORTED);
    assert_status(bnmlp_model_loss_gradients(f->quantized, &x, &y, &loss, NULL, 0), BNMLP_ERR_UNSUPPORTED);
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.epochs = 1, fit.batch_size = 32;
    assert_status(bnmlp_model_fit(f->quantized, &x, &y, &fit, NULL, NULL), BNMLP_ERR_UNSUPPORTED);
    assert_ok(bnmlp_model_get_params(f->quantized, after, count));
    assert_memory_equal(before, after, count * sizeof *before);
    /* evaluation is inference: it runs */
    double eval_loss = 0.0, accuracy = 0.0;
    assert_ok(bnmlp_model_evaluate(f->quantized, &x, &y, &eval_loss, &accuracy));
    bnmlp_status status = BNMLP_OK;
    assert_null(bnmlp_model_fold(f->quantized, NULL, &status));
    assert_int_equal(status, BNMLP_ERR_UNSUPPORTED);
    bnmlp_tensor calibration = bnmlp_tensor_view(f->x, ROWS, INPUTS);
    assert_null(bnmlp_model_quantize(f->quantized, &calibration, NULL, &status));
    assert_int_equal(status, BNMLP_ERR_UNSUPPORTED);
    assert_status(bnmlp_model_export(f->quantized, "onnx", "/nonexistent/q.onnx", NULL, NULL),
                  BNMLP_ERR_UNSUPPORTED);
    free(before), free(after);
}

static void test_bad_inputs(void **state) {
    fixture *f = *state;
    float nan_rows[2 * INPUTS];
    memcpy(nan_rows, f->x, sizeof nan_rows);
    nan_rows[INPUTS + 3] = NAN;
    float huge_rows[INPUTS];
    for (size_t k = 0; k < INPUTS; k++) huge_rows[k] = 3e38f; /* finite, but the model overflows */
    bnmlp_status status;
    bnmlp_model *unbuilt = bnmlp_model_create(INPUTS, &status);
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(2);
    assert_ok(bnmlp_model_add_dense(unbuilt, &dense));
    const bnmlp_allocator half = {.allocate = counting_allocate, .release = NULL, .context = NULL};
    const struct {
        const char *name;
        const bnmlp_model *model;
        bnmlp_tensor calibration;
        bool null_calibration;
        const bnmlp_allocator *allocator;
        bnmlp_status expected;
    } cases[] = {
        {"null model", NULL, bnmlp_tensor_view(f->x, ROWS, INPUTS), false, NULL, BNMLP_ERR_NULL_ARGUMENT},
        {"null calibration", f->model, {0}, true, NULL, BNMLP_ERR_NULL_ARGUMENT},
        {"null data", f->model, bnmlp_tensor_view(NULL, ROWS, INPUTS), false, NULL, BNMLP_ERR_NULL_ARGUMENT},
        {"half an allocator", f->model, bnmlp_tensor_view(f->x, ROWS, INPUTS), false, &half,
         BNMLP_ERR_NULL_ARGUMENT},
        {"not built", unbuilt, bnmlp_tensor_view(f->x, ROWS, INPUTS), false, NULL, BNMLP_ERR_NOT_BUILT},
        {"zero rows", f->model, bnmlp_tensor_view(f->x, 0, INPUTS), false, NULL, BNMLP_ERR_SHAPE},
        {"narrower", f->model, bnmlp_tensor_view(f->x, ROWS, INPUTS - 1), false, NULL, BNMLP_ERR_SHAPE},
        {"wider", f->model, bnmlp_tensor_view(f->x, 10, INPUTS + 1), false, NULL, BNMLP_ERR_SHAPE},
        {"nan", f->model, bnmlp_tensor_view(nan_rows, 2, INPUTS), false, NULL, BNMLP_ERR_NOT_FINITE},
        {"overflowing", f->model, bnmlp_tensor_view(huge_rows, 1, INPUTS), false, NULL, BNMLP_ERR_NOT_FINITE},
        {"quantized", f->quantized, bnmlp_tensor_view(f->x, ROWS, INPUTS), false, NULL,
         BNMLP_ERR_UNSUPPORTED},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        status = BNMLP_OK;
        bnmlp_model *q =
            bnmlp_model_quantize(cases[c].model, cases[c].null_calibration ? NULL : &cases[c].calibration,
                                 cases[c].allocator, &status);
        if (q || status != cases[c].expected)
            fprintf(stderr, "case %s: %s\n", cases[c].name, bnmlp_status_string(status));
        assert_null(q);
        assert_int_equal(status, cases[c].expected);
    }
    bnmlp_model_free(unbuilt);
}

static void test_allocation_failures_leave_nothing(void **state) {
    fixture *f = *state;
    bnmlp_tensor calibration = bnmlp_tensor_view(f->x, ROWS, INPUTS);
    for (size_t fail_at = 1;; fail_at++) {
        counting_allocator c = {.fail_at = fail_at};
        const bnmlp_allocator allocator = counting_allocator_of(&c);
        bnmlp_status status;
        bnmlp_model *q = bnmlp_model_quantize(f->model, &calibration, &allocator, &status);
        if (q) {
            assert_ok(status);
            bnmlp_model_free(q);
            assert_int_equal(c.allocations, c.releases);
            break;
        }
        assert_int_equal(status, BNMLP_ERR_OUT_OF_MEMORY);
        assert_int_equal(c.allocations, c.releases);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_predictions_close_to_float),
        cmocka_unit_test(test_layers_and_flags),
        cmocka_unit_test(test_first_layer_is_the_reference),
        cmocka_unit_test(test_threads_and_file_give_the_same_bits),
        cmocka_unit_test(test_training_refused_with_nothing_changed),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_allocation_failures_leave_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
