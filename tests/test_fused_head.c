/* test_fused_head.c - binary cross-entropy computes the final sigmoid with its loss: the forward
 * stops below that layer (bnmlp_model_head_forward_count) and the head writes the output, bit
 * for bit what the sigmoid layer's forward writes (the same exp(-|z|), the same formula), with the
 * same loss, gradient and right predictions as after a forward through every layer; other heads
 * still run every layer. */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "layers/layers.h"
#include "model/model.h"
#include "support.h"

#define ROWS 8

/* 3 -> dense 5 (relu) -> batch norm -> dense `outputs` (final), built for ROWS rows. */
static bnmlp_model *head_model(bnmlp_activation final, size_t outputs, bnmlp_loss loss) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(3, &status);
    assert_ok(status);
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(5);
    dense.activation = BNMLP_ACTIVATION_RELU;
    assert_ok(bnmlp_model_add_dense(model, &dense));
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    dense.units = outputs;
    dense.activation = final;
    assert_ok(bnmlp_model_add_dense(model, &dense));
    assert_ok(bnmlp_model_set_loss(model, loss));
    assert_ok(bnmlp_model_build(model, ROWS, 7));
    return model;
}

static void test_forward_count(void **state) {
    (void)state;
    const struct {
        bnmlp_activation final;
        size_t outputs;
        bnmlp_loss loss;
        size_t skipped; /* layers the forward leaves to the head */
    } cases[] = {
        {BNMLP_ACTIVATION_SIGMOID, 1, BNMLP_LOSS_BINARY_CROSSENTROPY, 1},
        {BNMLP_ACTIVATION_SIGMOID, 3, BNMLP_LOSS_BINARY_CROSSENTROPY, 1},
        {BNMLP_ACTIVATION_LINEAR, 1, BNMLP_LOSS_BINARY_CROSSENTROPY, 0},       /* no final activation */
        {BNMLP_ACTIVATION_RELU, 1, BNMLP_LOSS_BINARY_CROSSENTROPY, 0},         /* not the loss's */
        {BNMLP_ACTIVATION_SIGMOID, 1, BNMLP_LOSS_MEAN_SQUARED_ERROR, 0},       /* not folded */
        {BNMLP_ACTIVATION_SOFTMAX, 3, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY, 0}, /* folded, not computed */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bnmlp_model *model = head_model(cases[i].final, cases[i].outputs, cases[i].loss);
        assert_int_equal(bnmlp_model_head_forward_count(model), model->layer_count - cases[i].skipped);
        bnmlp_model_free(model);
    }
}

/* Logits over the range that matters: both signs, 0, |z| past the log1p series' threshold and
 * past exp's underflow. */
static void fill_logits(float *z, size_t n) {
    const float special[] = {0.0f,  -0.0f,  1e-6f, -1e-6f, 9.5f,   -9.5f,
                             20.0f, -20.0f, 90.0f, -90.0f, 110.0f, -110.0f};
    bnmlp_test_fill(z, n, 3);
    for (size_t i = 0; i < n; i++) z[i] *= 12.0f;
    for (size_t i = 0; i < n && i < sizeof special / sizeof special[0]; i++) z[i] = special[i];
}

/* The head after a forward that stops short writes the output the sigmoid layer writes, for every
 * mode, and the loss, gradient and right predictions are those after a full forward; weighted
 * and unweighted. */
static void test_head_writes_the_sigmoid(void **state) {
    (void)state;
    const size_t outputs_of[] = {1, 3};
    for (size_t o = 0; o < 2; o++) {
        const size_t outputs = outputs_of[o];
        bnmlp_model *model = head_model(BNMLP_ACTIVATION_SIGMOID, outputs, BNMLP_LOSS_BINARY_CROSSENTROPY);
        const size_t count = model->layer_count, n = ROWS * outputs;
        float x[ROWS * 3], y[ROWS * 3], w[ROWS];
        bnmlp_test_fill(x, ROWS * 3, 1);
        for (size_t i = 0; i < n; i++) y[i] = (float)(i % 3 == 0);
        for (size_t r = 0; r < ROWS; r++) w[r] = 0.25f + 0.5f * (float)r;
        const bnmlp_head_weights weights = {.rows = w, .divisor = 5.5};
        float *output = model->layers[count - 1].output, *logits = model->layers[count - 2].output;
        for (int mode = 0; mode < 2; mode++)
            for (int weighted = 0; weighted < 2; weighted++) {
                const bnmlp_mode m = mode ? BNMLP_MODE_TRAINING : BNMLP_MODE_INFERENCE;
                const bnmlp_head_weights *head = weighted ? &weights : NULL;
                /* The former path: every layer, then the loss. */
                bnmlp_model_run_forward(model, x, ROWS, m, count);
                fill_logits(logits, n); /* the sigmoid's input over the range that matters */
                bnmlp_activation_forward(&model->kernels, output, logits, n, BNMLP_ACTIVATION_SIGMOID, 0.0f);
                float expected[ROWS * 3], got_logits[ROWS * 3];
                memcpy(expected, output, n * sizeof *output);
                memcpy(got_logits, logits, n * sizeof *logits);
                double loss_full, loss_short;
                size_t correct_full, correct_short;
                bnmlp_model_head_loss(model, x, y, ROWS, outputs, head, &loss_full, &correct_full);
                /* The head alone over the same logits, the output overwritten first. */
                for (size_t i = 0; i < n; i++) output[i] = NAN;
                bnmlp_model_head_loss(model, x, y, ROWS, outputs, head, &loss_short, &correct_short);
                assert_memory_equal(output, expected, n * sizeof *output);
                assert_memory_equal(logits, got_logits, n * sizeof *logits);
                assert_memory_equal(&loss_short, &loss_full, sizeof loss_full);
                assert_int_equal(correct_short, correct_full);
                for (size_t i = 0; i < n; i++) {
                    const float v = logits[i];
                    const float one = bnmlp_sigmoid_of(v, expf(-fabsf(v)));
                    assert_memory_equal(&output[i], &one, sizeof one);
                }
            }
        bnmlp_model_free(model);
    }
}

/* A training step's results through the short forward equal the full forward's: the gradients
 * (bnmlp_model_loss_gradients runs the step's compute) and the output, bit for bit. */
static void test_step_matches_full_forward(void **state) {
    (void)state;
    bnmlp_model *model = head_model(BNMLP_ACTIVATION_SIGMOID, 1, BNMLP_LOSS_BINARY_CROSSENTROPY);
    const size_t count = model->layer_count, params = bnmlp_model_param_count(model);
    bnmlp_status status;
    bnmlp_tensor *x = bnmlp_tensor_create(ROWS, 3, &status);
    bnmlp_tensor *y = bnmlp_tensor_create(ROWS, 1, &status);
    assert_ok(status);
    bnmlp_test_fill(x->data, ROWS * 3, 5);
    for (size_t r = 0; r < ROWS; r++) y->data[r] = (float)(r % 2);
    float grads[64], output[ROWS], loss;
    assert_true(params <= 64);
    assert_ok(bnmlp_model_loss_gradients(model, x, y, &loss, grads, params));
    memcpy(output, bnmlp_model_output(model), sizeof output);
    /* The former path by hand: every layer forward, the head, the backward below the sigmoid. */
    bnmlp_model_run_forward(model, x->data, ROWS, BNMLP_MODE_TRAINING, count);
    assert_memory_equal(bnmlp_model_output(model), output, sizeof output);
    double full_loss;
    size_t correct;
    assert_ok(bnmlp_model_head_backward(model, x->data, y->data, ROWS, 1, NULL, &full_loss, &correct));
    assert_memory_equal(model->grads, grads, params * sizeof *grads);
    const float full = (float)full_loss;
    assert_memory_equal(&loss, &full, sizeof loss);
    bnmlp_tensor_free(x);
    bnmlp_tensor_free(y);
    bnmlp_model_free(model);
}

/* The former loss loop, one element at a time with branches: the reference the blocked,
 * branch-free bce_logits must equal bit for bit (loss and gradient). */
static double reference_bce_logits(float *dz, const float *z, const float *y, size_t n, size_t divisor) {
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float v = z[i], t = y[i];
        const float margin = t == 1.0f ? -v : v, e = expf(-fabsf(v));
        const float log1p_e = e < 1e-4f ? e - 0.5f * e * e : logf(1.0f + e);
        total += (double)(margin > 0.0f ? margin : 0.0f) + (double)log1p_e;
        dz[i] = (bnmlp_sigmoid_of(v, e) - t) / (float)divisor;
    }
    return total / (double)n;
}

static void test_bce_logits_matches_reference(void **state) {
    (void)state;
    enum { MOST = 200 };
    float z[MOST], y[MOST], got[MOST], expected[MOST];
    const size_t sizes[] = {1, 7, 32, 63, 64, 65, 128, 200};
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        const size_t n = sizes[c];
        fill_logits(z, n);
        if (n > 20) z[13] = INFINITY, z[14] = -INFINITY, z[15] = 1e-30f, z[16] = -1e-38f;
        for (size_t i = 0; i < n; i++) y[i] = (float)((i * 5 + c) % 3 == 0);
        const double loss = bnmlp_bce_logits(got, z, y, n, n + 3);
        const double want = reference_bce_logits(expected, z, y, n, n + 3);
        assert_memory_equal(&loss, &want, sizeof loss);
        assert_memory_equal(got, expected, n * sizeof *got);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_count),
        cmocka_unit_test(test_head_writes_the_sigmoid),
        cmocka_unit_test(test_step_matches_full_forward),
        cmocka_unit_test(test_bce_logits_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
