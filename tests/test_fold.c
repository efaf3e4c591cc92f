/* test_fold.c - bnmlp_model_fold: for every placement of batch norm (and normalization, dropout)
 * and its options, a model trained a few steps, its statistics then set to random non-trivial
 * values, predicts after folding as it did before in inference mode within 1e-5 relative
 * (|folded - original| <= 1e-5 max(|original|, 0.1)); the folded model has the layers expected;
 * it keeps the loss, class names, maximum batch and threads; the original is untouched; every
 * bad input, and every allocation failure, leaves nothing behind. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define ROWS 48      /* rows predicted and compared */
#define MAX_BATCH 16 /* smaller than ROWS: predict runs in chunks */
#define MAX_LAYERS 10

/* The tolerance: |folded - original| <= TOLERANCE * max(|original|, FLOOR). */
#define TOLERANCE 1e-5
#define FLOOR 0.1

typedef enum op { END = 0, DENSE, DENSE_NOBIAS, ACT, BN, NORM, DROP } op;

/* One layer of a case: units for dense layers, the function and alpha for activations. */
typedef struct spec {
    op op;
    size_t units;
    bnmlp_activation activation;
    float alpha;
} spec;

typedef struct fold_case {
    const char *name;
    size_t inputs;
    spec layers[MAX_LAYERS];
    bnmlp_loss loss;
    size_t folded_layers;          /* the folded model's layer count */
    size_t folded_batchnorms;      /* batch-norm layers left in it */
    bool exact;                    /* nothing folds: predictions bit-identical */
    bnmlp_batchnorm_config config; /* every batch norm's */
    bool frozen;                   /* batch norms frozen before training */
    bool constant_column;          /* normalization adapted on data with a constant column 1 */
} fold_case;

#define D(u)                                                                                                 \
    { DENSE, (u), BNMLP_ACTIVATION_LINEAR, 0.0f }
#define DNB(u)                                                                                               \
    { DENSE_NOBIAS, (u), BNMLP_ACTIVATION_LINEAR, 0.0f }
#define A(f)                                                                                                 \
    { ACT, 0, BNMLP_ACTIVATION_##f, 0.0f }
#define AA(f, a)                                                                                             \
    { ACT, 0, BNMLP_ACTIVATION_##f, (a) }
#define L(o)                                                                                                 \
    { o, 0, BNMLP_ACTIVATION_LINEAR, 0.0f }

#define BCE BNMLP_LOSS_BINARY_CROSSENTROPY
#define CCE BNMLP_LOSS_CATEGORICAL_CROSSENTROPY
#define MSE BNMLP_LOSS_MEAN_SQUARED_ERROR

/* A batch-norm configuration, field by field (a static initializer takes no compound literal). */
#define BNC(momentum, epsilon, center, scale, variance, average)                                             \
    { (momentum), (epsilon), (center), (scale), BNMLP_VARIANCE_##variance, BNMLP_AVERAGE_##average }
#define BN_DEFAULT BNC(0.99f, 1e-3f, true, true, BIASED, EXPONENTIAL)

static const fold_case CASES[] = {
    {"dense->bn->relu",
     5,
     {D(8), L(BN), A(RELU), D(3), A(SOFTMAX)},
     CCE,
     4,
     0,
     false,
     BN_DEFAULT,
     false,
     false},
    {"dense(no bias)->bn",
     5,
     {DNB(8), L(BN), A(RELU), D(1), A(SIGMOID)},
     BCE,
     4,
     0,
     false,
     BN_DEFAULT,
     false,
     false},
    {"relu->bn->dense",
     4,
     {D(8), A(RELU), L(BN), D(1), A(SIGMOID)},
     BCE,
     4,
     0,
     false,
     BN_DEFAULT,
     false,
     false},
    {"leaky_relu->bn->dense",
     4,
     {D(8), AA(LEAKY_RELU, 0.2f), L(BN), D(2)},
     MSE,
     3,
     0,
     false,
     BN_DEFAULT,
     false,
     false},
    {"elu->bn->dense", 4, {D(8), AA(ELU, 0.7f), L(BN), D(2)}, MSE, 3, 0, false, BN_DEFAULT, false, false},
    {"input bn", 3, {L(BN), D(6), A(TANH), D(1), A(SIGMOID)}, BCE, 4, 0, false, BN_DEFAULT, false, false},
    {"bn at the end", 4, {D(6), A(RELU), L(BN)}, MSE, 3, 1, true, BN_DEFAULT, false, false},
    {"bn only", 4, {L(BN)}, MSE, 1, 1, true, BN_DEFAULT, false, false},
    {"act->bn->softmax", 4, {D(5), A(RELU), L(BN), A(SOFTMAX)}, CCE, 4, 1, true, BN_DEFAULT, false, false},
    {"dense->bn->softmax", 4, {D(5), L(BN), A(SOFTMAX)}, CCE, 2, 0, false, BN_DEFAULT, false, false},
    {"dense->bn->bn",
     4,
     {D(6), L(BN), L(BN), A(RELU), D(1), A(SIGMOID)},
     BCE,
     4,
     0,
     false,
     BN_DEFAULT,
     false,
     false},
    {"relu->bn->bn->dense",
     4,
     {D(6), A(RELU), L(BN), L(BN), D(1), A(SIGMOID)},
     BCE,
     4,
     0,
     false,
     BN_DEFAULT,
     false,
     false},
    {"silu->bn->bn at the end", 4, {D(6), A(SILU), L(BN), L(BN)}, MSE, 3, 1, false, BN_DEFAULT, false, false},
    {"normalization first",
     4,
     {L(NORM), D(6), A(RELU), D(1), A(SIGMOID)},
     BCE,
     4,
     0,
     false,
     BN_DEFAULT,
     false,
     false},
    {"normalization->bn first",
     4,
     {L(NORM), L(BN), D(6), A(GELU), D(1)},
     MSE,
     3,
     0,
     false,
     BN_DEFAULT,
     false,
     false},
    {"normalization of a constant column",
     4,
     {L(NORM), D(6), A(RELU), D(1)},
     MSE,
     4,
     0,
     true,
     BN_DEFAULT,
     false,
     true},
    {"dropout",
     4,
     {D(8), A(RELU), L(DROP), L(BN), D(1), A(SIGMOID)},
     BCE,
     4,
     0,
     false,
     BN_DEFAULT,
     false,
     false},
    {"dense->dropout->bn",
     4,
     {D(8), L(DROP), L(BN), A(RELU), D(1)},
     MSE,
     3,
     0,
     false,
     BN_DEFAULT,
     false,
     false},
    {"linear activation",
     4,
     {D(8), A(LINEAR), L(BN), A(RELU), D(1)},
     MSE,
     3,
     0,
     false,
     BN_DEFAULT,
     false,
     false},
    {"dropout only", 4, {L(DROP)}, MSE, 1, 0, true, BN_DEFAULT, false, false},
    {"center off",
     4,
     {D(6), L(BN), A(RELU), L(BN), D(1)},
     MSE,
     3,
     0,
     false,
     BNC(0.99f, 1e-3f, false, true, BIASED, EXPONENTIAL),
     false,
     false},
    {"scale off",
     4,
     {D(6), L(BN), A(RELU), L(BN), D(1)},
     MSE,
     3,
     0,
     false,
     BNC(0.99f, 1e-3f, true, false, BIASED, EXPONENTIAL),
     false,
     false},
    {"center and scale off",
     4,
     {D(6), L(BN), A(RELU), L(BN), D(1)},
     MSE,
     3,
     0,
     false,
     BNC(0.99f, 1e-3f, false, false, BIASED, EXPONENTIAL),
     false,
     false},
    {"momentum 0",
     4,
     {D(6), L(BN), A(RELU), L(BN), D(1)},
     MSE,
     3,
     0,
     false,
     BNC(0.0f, 1e-3f, true, true, BIASED, EXPONENTIAL),
     false,
     false},
    {"frozen", 4, {D(6), L(BN), A(RELU), L(BN), D(1)}, MSE, 3, 0, false, BN_DEFAULT, true, false},
    {"epsilon 2",
     4,
     {D(6), L(BN), A(RELU), L(BN), D(1)},
     MSE,
     3,
     0,
     false,
     BNC(0.99f, 2.0f, true, true, BIASED, EXPONENTIAL),
     false,
     false},
    {"unbiased, debiased",
     4,
     {D(6), L(BN), A(RELU), L(BN), D(1)},
     MSE,
     3,
     0,
     false,
     BNC(0.9f, 1e-5f, true, true, UNBIASED, DEBIASED),
     false,
     false},
    {"cumulative",
     4,
     {D(6), L(BN), A(RELU), L(BN), D(1)},
     MSE,
     3,
     0,
     false,
     BNC(0.99f, 1e-3f, true, true, BIASED, CUMULATIVE),
     false,
     false},
};

#define CASE_COUNT (sizeof CASES / sizeof CASES[0])

/* Input value (r, c) of a case's data: in [-2, 2), shifted by 3 for normalization cases (a mean
 * for it to remove); column 1 is constant in the constant-column case. */
static void fill_inputs(const fold_case *fc, float *x, size_t rows, uint32_t seed) {
    bnmlp_test_fill(x, rows * fc->inputs, seed);
    const bool shifted = fc->layers[0].op == NORM;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < fc->inputs; c++) {
            float *v = &x[r * fc->inputs + c];
            *v = 2.0f * *v + (shifted ? 3.0f : 0.0f);
            if (fc->constant_column && c == 1) *v = 5.25f;
        }
}

/* The case's model, built (not trained). */
static bnmlp_model *make_case_model(const fold_case *fc) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(fc->inputs, &status);
    assert_ok(status);
    for (const spec *s = fc->layers; s->op != END; s++) {
        bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(s->units);
        dense.use_bias = s->op == DENSE;
        if (s->op == DENSE || s->op == DENSE_NOBIAS) assert_ok(bnmlp_model_add_dense(model, &dense));
        if (s->op == ACT) assert_ok(bnmlp_model_add_activation(model, s->activation, s->alpha));
        if (s->op == BN) assert_ok(bnmlp_model_add_batchnorm(model, &fc->config));
        if (s->op == NORM) assert_ok(bnmlp_model_add_normalization(model));
        if (s->op == DROP) assert_ok(bnmlp_model_add_dropout(model, 0.25f, 7));
    }
    assert_ok(bnmlp_model_set_loss(model, fc->loss));
    assert_ok(bnmlp_model_build(model, MAX_BATCH, 3));
    return model;
}

/* Targets of rows rows the case's loss takes. */
static void fill_targets(const fold_case *fc, const bnmlp_model *model, float *y, size_t rows,
                         uint32_t seed) {
    const size_t outputs = bnmlp_model_output_width(model);
    bnmlp_test_fill(y, rows * outputs, seed);
    for (size_t i = 0; i < rows * outputs; i++) {
        if (fc->loss == BCE) y[i] = y[i] > 0.0f ? 1.0f : 0.0f;
        if (fc->loss == CCE && i < rows) y[i] = (float)(i % outputs); /* class indices, (rows, 1) */
    }
}

/* Adapts a first normalization layer, trains a few steps (statistics move), then gives every
 * batch norm random non-trivial statistics, gamma and beta. */
static void train_and_perturb(const fold_case *fc, bnmlp_model *model) {
    float x[MAX_BATCH * 8], y[MAX_BATCH * 8];
    if (fc->layers[0].op == NORM) {
        float data[ROWS * 8];
        fill_inputs(fc, data, ROWS, 11);
        bnmlp_tensor t = bnmlp_tensor_view(data, ROWS, fc->inputs);
        assert_ok(bnmlp_model_adapt(model, 0, &t));
    }
    const size_t layers = bnmlp_model_layer_count(model);
    for (size_t i = 0; i < layers && fc->frozen; i++) {
        bnmlp_layer_info info;
        assert_ok(bnmlp_model_layer_info(model, i, &info));
        if (info.kind == BNMLP_LAYER_BATCHNORM) assert_ok(bnmlp_model_set_trainable(model, i, false));
    }
    const bnmlp_optimizer_config sgd = {.kind = BNMLP_OPTIMIZER_SGD,
                                        .sgd = {.learning_rate = 0.05f, .momentum = 0.9f},
                                        .adam = BNMLP_ADAM_DEFAULT,
                                        .rmsprop = BNMLP_RMSPROP_DEFAULT};
    const size_t y_cols = fc->loss == CCE ? 1 : bnmlp_model_output_width(model);
    for (uint32_t step = 0; step < 4; step++) {
        fill_inputs(fc, x, MAX_BATCH, 100 + step);
        fill_targets(fc, model, y, MAX_BATCH, 200 + step);
        bnmlp_tensor tx = bnmlp_tensor_view(x, MAX_BATCH, fc->inputs),
                     ty = bnmlp_tensor_view(y, MAX_BATCH, y_cols);
        assert_ok(bnmlp_model_train_step(model, &tx, &ty, &sgd, NULL, NULL));
    }
    for (size_t i = 0; i < layers; i++) {
        bnmlp_layer_info info;
        assert_ok(bnmlp_model_layer_info(model, i, &info));
        if (info.kind != BNMLP_LAYER_BATCHNORM) continue;
        const size_t c = info.output_width;
        float v[64];
        const bnmlp_weight arrays[] = {BNMLP_WEIGHT_GAMMA, BNMLP_WEIGHT_BETA, BNMLP_WEIGHT_MOVING_MEAN,
                                       BNMLP_WEIGHT_MOVING_VARIANCE};
        const float scale[] = {0.5f, 0.5f, 1.0f, 0.9f}, offset[] = {1.0f, 0.0f, 0.0f, 1.0f};
        for (size_t k = 0; k < 4; k++) {
            bnmlp_test_fill(v, c, (uint32_t)(300 + 10 * i + k));
            for (size_t j = 0; j < c; j++) v[j] = offset[k] + scale[k] * v[j]; /* variance in [0.1, 1.9) */
            const bnmlp_status status = bnmlp_model_set_weights(model, i, arrays[k], v, c);
            assert_true(status == BNMLP_OK || status == BNMLP_ERR_INVALID_ARGUMENT); /* gamma, beta off */
        }
    }
}

/* Inference predictions of ROWS rows of the case's inputs into out. */
static void predict(const fold_case *fc, bnmlp_model *model, float *out) {
    float x[ROWS * 8];
    fill_inputs(fc, x, ROWS, 42);
    bnmlp_tensor tx = bnmlp_tensor_view(x, ROWS, fc->inputs);
    bnmlp_tensor ty = bnmlp_tensor_view(out, ROWS, bnmlp_model_output_width(model));
    assert_ok(bnmlp_model_predict(model, &tx, &ty));
}

/* The layers of kind in model. */
static size_t count_kind(const bnmlp_model *model, bnmlp_layer_kind kind) {
    size_t n = 0;
    for (size_t i = 0; i < bnmlp_model_layer_count(model); i++) {
        bnmlp_layer_info info;
        assert_ok(bnmlp_model_layer_info(model, i, &info));
        n += info.kind == kind;
    }
    return n;
}

static void test_every_placement(void **state) {
    (void)state;
    double worst = 0.0;
    const char *worst_case = "";
    for (size_t k = 0; k < CASE_COUNT; k++) {
        const fold_case *fc = &CASES[k];
        bnmlp_model *model = make_case_model(fc);
        train_and_perturb(fc, model);
        const size_t params = bnmlp_model_param_count(model);
        float *before = malloc(params * sizeof *before), *after = malloc(params * sizeof *after);
        assert_non_null(before), assert_non_null(after);
        assert_ok(bnmlp_model_get_params(model, before, params));
        bnmlp_status status = BNMLP_ERR_IO;
        bnmlp_model *folded = bnmlp_model_fold(model, NULL, &status);
        assert_ok(status);
        assert_non_null(folded);
        assert_ok(bnmlp_model_get_params(model, after, params)); /* the original is untouched */
        assert_memory_equal(before, after, params * sizeof *before);
        free(before), free(after);
        if (bnmlp_model_layer_count(folded) != fc->folded_layers ||
            count_kind(folded, BNMLP_LAYER_BATCHNORM) != fc->folded_batchnorms)
            fail_msg("%s: %zu layers (%zu batch norms), expected %zu (%zu)", fc->name,
                     bnmlp_model_layer_count(folded), count_kind(folded, BNMLP_LAYER_BATCHNORM),
                     fc->folded_layers, fc->folded_batchnorms);
        assert_int_equal(count_kind(folded, BNMLP_LAYER_DROPOUT), 0);
        const size_t outputs = bnmlp_model_output_width(model);
        assert_int_equal(bnmlp_model_output_width(folded), outputs);
        float want[ROWS * 8], got[ROWS * 8];
        predict(fc, model, want);
        predict(fc, folded, got);
        double case_worst = 0.0;
        for (size_t i = 0; i < ROWS * outputs; i++) {
            const double error = fabs((double)got[i] - (double)want[i]) / fmax(fabs((double)want[i]), FLOOR);
            if (error > TOLERANCE)
                fail_msg("%s: output %zu is %.9g, unfolded %.9g", fc->name, i, got[i], want[i]);
            if (error > case_worst) case_worst = error;
        }
        if (fc->exact) assert_memory_equal(got, want, ROWS * outputs * sizeof *got);
        print_message("fold: %-36s %zu -> %zu layers, largest difference %.2g\n", fc->name,
                      bnmlp_model_layer_count(model), bnmlp_model_layer_count(folded), case_worst);
        if (case_worst > worst) worst = case_worst, worst_case = fc->name;
        bnmlp_model_free(folded);
        bnmlp_model_free(model);
    }
    print_message("fold: largest |folded - original| / max(|original|, %g) over %zu cases: %.3g (%s)\n",
                  FLOOR, CASE_COUNT, worst, worst_case);
}

/* Dense(2 -> 2) -> BN -> ReLU -> BN -> Dense(2 -> 1), every value set by hand. */
static bnmlp_model *hand_model(void) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(2, &status);
    assert_ok(status);
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    assert_ok(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(2)));
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f));
    bn.epsilon = 0.25f;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    assert_ok(bnmlp_model_add_dense(model, &BNMLP_DENSE_DEFAULT(1)));
    assert_ok(bnmlp_model_set_loss(model, MSE));
    assert_ok(bnmlp_model_build(model, 4, 1));
    const float w1[] = {1.0f, -2.0f, 0.5f, 3.0f}, b1[] = {0.25f, -1.0f};
    const float gamma1[] = {2.0f, 0.5f}, beta1[] = {1.0f, -0.5f}, mean1[] = {0.5f, -1.5f},
                var1[] = {4.0f, 0.25f};
    const float gamma2[] = {1.5f, -1.0f}, beta2[] = {0.125f, 2.0f}, mean2[] = {1.0f, 0.75f},
                var2[] = {1.0f, 2.0f};
    const float w2[] = {0.5f, -1.25f}, b2[] = {0.375f};
    assert_ok(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_KERNEL, w1, 4));
    assert_ok(bnmlp_model_set_weights(model, 0, BNMLP_WEIGHT_BIAS, b1, 2));
    const float *bn_values[2][4] = {{gamma1, beta1, mean1, var1}, {gamma2, beta2, mean2, var2}};
    const bnmlp_weight bn_arrays[] = {BNMLP_WEIGHT_GAMMA, BNMLP_WEIGHT_BETA, BNMLP_WEIGHT_MOVING_MEAN,
                                      BNMLP_WEIGHT_MOVING_VARIANCE};
    for (size_t k = 0; k < 4; k++) {
        assert_ok(bnmlp_model_set_weights(model, 1, bn_arrays[k], bn_values[0][k], 2));
        assert_ok(bnmlp_model_set_weights(model, 3, bn_arrays[k], bn_values[1][k], 2));
    }
    assert_ok(bnmlp_model_set_weights(model, 4, BNMLP_WEIGHT_KERNEL, w2, 2));
    assert_ok(bnmlp_model_set_weights(model, 4, BNMLP_WEIGHT_BIAS, b2, 1));
    return model;
}

/* The folded weights of hand_model are the formulas of the header, computed here in double. */
static void test_folded_weights_follow_the_formulas(void **state) {
    (void)state;
    bnmlp_model *model = hand_model();
    bnmlp_status status;
    bnmlp_model *folded = bnmlp_model_fold(model, NULL, &status);
    assert_ok(status);
    assert_int_equal(bnmlp_model_layer_count(folded), 3); /* Dense, ReLU, Dense */
    /* Dense -> BN: s = gamma / sqrt(var + eps) (rstd rounded to float as inference rounds it),
     * W' = W s per column, b' = (b - mean) s + beta. */
    const double w1[] = {1.0, -2.0, 0.5, 3.0}, b1[] = {0.25, -1.0};
    const double gamma1[] = {2.0, 0.5}, beta1[] = {1.0, -0.5}, mean1[] = {0.5, -1.5}, var1[] = {4.0, 0.25};
    float want_w1[4], want_b1[2], got_w1[4], got_b1[2];
    for (size_t j = 0; j < 2; j++) {
        const double s = gamma1[j] * (double)(float)(1.0 / sqrt(var1[j] + (double)1e-3f));
        for (size_t i = 0; i < 2; i++) want_w1[i * 2 + j] = (float)(w1[i * 2 + j] * s);
        want_b1[j] = (float)((b1[j] - mean1[j]) * s + beta1[j]);
    }
    assert_ok(bnmlp_model_get_weights(folded, 0, BNMLP_WEIGHT_KERNEL, got_w1, 4));
    assert_ok(bnmlp_model_get_weights(folded, 0, BNMLP_WEIGHT_BIAS, got_b1, 2));
    assert_floats_close(got_w1, want_w1, 4, 0.0, 1e-7);
    assert_floats_close(got_b1, want_b1, 2, 0.0, 1e-7);
    /* ReLU -> BN -> Dense: W2' = diag(s) W2, b2' = b2 + (beta - mean s) W2. */
    const double gamma2[] = {1.5, -1.0}, beta2[] = {0.125, 2.0}, mean2[] = {1.0, 0.75}, var2[] = {1.0, 2.0};
    const double w2[] = {0.5, -1.25};
    double b2 = 0.375;
    float want_w2[2], got_w2[2], got_b2;
    for (size_t i = 0; i < 2; i++) {
        const double s = gamma2[i] * (double)(float)(1.0 / sqrt(var2[i] + 0.25));
        want_w2[i] = (float)(s * w2[i]);
        b2 += (beta2[i] - mean2[i] * s) * w2[i];
    }
    const float want_b2 = (float)b2;
    assert_ok(bnmlp_model_get_weights(folded, 2, BNMLP_WEIGHT_KERNEL, got_w2, 2));
    assert_ok(bnmlp_model_get_weights(folded, 2, BNMLP_WEIGHT_BIAS, &got_b2, 1));
    assert_floats_close(got_w2, want_w2, 2, 0.0, 1e-7);
    assert_floats_close(&got_b2, &want_b2, 1, 0.0, 1e-7);
    bnmlp_model_free(folded);
    bnmlp_model_free(model);
}

/* Two batch norms that fold nowhere become one batch-norm layer computing s x + t exactly. */
static void test_unfoldable_run_is_one_exact_scale_and_shift(void **state) {
    (void)state;
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(2, &status);
    assert_ok(bnmlp_model_add_activation(model, BNMLP_ACTIVATION_TANH, 0.0f));
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    bn.center = false; /* beta 0 */
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    bn.center = true, bn.scale = false; /* gamma 1 */
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    assert_ok(bnmlp_model_set_loss(model, MSE));
    assert_ok(bnmlp_model_build(model, 4, 1));
    const float gamma[] = {2.0f, -0.5f}, var1[] = {3.0f, 0.5f}, beta[] = {0.5f, 1.0f},
                mean2[] = {0.25f, -2.0f};
    assert_ok(bnmlp_model_set_weights(model, 1, BNMLP_WEIGHT_GAMMA, gamma, 2));
    assert_ok(bnmlp_model_set_weights(model, 1, BNMLP_WEIGHT_MOVING_VARIANCE, var1, 2));
    assert_ok(bnmlp_model_set_weights(model, 2, BNMLP_WEIGHT_BETA, beta, 2));
    assert_ok(bnmlp_model_set_weights(model, 2, BNMLP_WEIGHT_MOVING_MEAN, mean2, 2));
    bnmlp_model *folded = bnmlp_model_fold(model, NULL, &status);
    assert_ok(status);
    assert_int_equal(bnmlp_model_layer_count(folded), 2); /* tanh, BN */
    float s[2], t[2], mean[2], variance[2], want_s[2], want_t[2];
    assert_ok(bnmlp_model_get_weights(folded, 1, BNMLP_WEIGHT_GAMMA, s, 2));
    assert_ok(bnmlp_model_get_weights(folded, 1, BNMLP_WEIGHT_BETA, t, 2));
    assert_ok(bnmlp_model_get_weights(folded, 1, BNMLP_WEIGHT_MOVING_MEAN, mean, 2));
    assert_ok(bnmlp_model_get_weights(folded, 1, BNMLP_WEIGHT_MOVING_VARIANCE, variance, 2));
    for (size_t c = 0; c < 2; c++) {
        const double s1 = gamma[c] * (double)(float)(1.0 / sqrt((double)var1[c] + (double)1e-3f));
        const double s2 = (double)(float)(1.0 / sqrt(1.0 + (double)1e-3f)); /* moving variance 1 */
        want_s[c] = (float)(s1 * s2);
        want_t[c] = (float)(beta[c] - mean2[c] * s2); /* t1 = 0 */
        assert_true(mean[c] == 0.0f && variance[c] == 0.5f);
    }
    assert_floats_close(s, want_s, 2, 0.0, 1e-7);
    assert_floats_close(t, want_t, 2, 0.0, 1e-7);
    /* Its inference is fl(fl(s x) + t), bit for bit. */
    float x[] = {0.3f, -1.7f, 2.5f, 0.0f}, y[4];
    bnmlp_tensor tx = bnmlp_tensor_view(x, 2, 2), ty = bnmlp_tensor_view(y, 2, 2);
    assert_ok(bnmlp_model_predict(folded, &tx, &ty));
    for (size_t i = 0; i < 4; i++) {
        volatile float product = s[i % 2] * tanhf(x[i]); /* the library's tanh is tanhf */
        volatile float want = product + t[i % 2];
        assert_true(y[i] == want);
    }
    bnmlp_model_free(folded);
    bnmlp_model_free(model);
}

/* The folded model keeps the loss, class names, maximum batch and threads; every layer is
 * frozen, so a training-mode forward computes inference; it saves and loads. */
static void test_keeps_the_settings(void **state) {
    (void)state;
    const fold_case *fc = &CASES[0]; /* Dense -> BN -> ReLU -> Dense(3) -> softmax */
    bnmlp_model *model = make_case_model(fc);
    train_and_perturb(fc, model);
    const char *names[] = {"setosa", "versicolor", "virginica"};
    assert_ok(bnmlp_model_set_class_names(model, names, 3));
    assert_ok(bnmlp_model_set_threads(model, 2));
    bnmlp_status status;
    bnmlp_model *folded = bnmlp_model_fold(model, NULL, &status);
    assert_ok(status);
    assert_true(bnmlp_model_is_built(folded));
    assert_int_equal(bnmlp_model_loss(folded), CCE);
    assert_int_equal(bnmlp_model_max_batch(folded), MAX_BATCH);
    assert_int_equal(bnmlp_model_threads(folded), 2);
    for (size_t i = 0; i < 3; i++) assert_string_equal(bnmlp_model_class_name(folded, i), names[i]);
    for (size_t i = 0; i < bnmlp_model_layer_count(folded); i++) {
        bnmlp_layer_info info;
        assert_ok(bnmlp_model_layer_info(folded, i, &info));
        assert_false(info.trainable);
    }
    float x[MAX_BATCH * 5], train[MAX_BATCH * 3], infer[MAX_BATCH * 3];
    fill_inputs(fc, x, MAX_BATCH, 9);
    bnmlp_tensor tx = bnmlp_tensor_view(x, MAX_BATCH, 5);
    bnmlp_tensor t_train = bnmlp_tensor_view(train, MAX_BATCH, 3),
                 t_infer = bnmlp_tensor_view(infer, MAX_BATCH, 3);
    assert_ok(bnmlp_model_forward(folded, &tx, BNMLP_MODE_TRAINING, &t_train));
    assert_ok(bnmlp_model_forward(folded, &tx, BNMLP_MODE_INFERENCE, &t_infer));
    assert_memory_equal(train, infer, sizeof train);
    size_t size = 0;
    assert_ok(bnmlp_model_save_buffer(folded, false, NULL, 0, &size));
    void *bytes = malloc(size);
    assert_non_null(bytes);
    assert_ok(bnmlp_model_save_buffer(folded, false, bytes, size, &size));
    bnmlp_model *loaded = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
    assert_ok(status);
    float again[MAX_BATCH * 3];
    bnmlp_tensor t_again = bnmlp_tensor_view(again, MAX_BATCH, 3);
    assert_ok(bnmlp_model_predict(loaded, &tx, &t_again));
    assert_memory_equal(again, infer, sizeof again);
    free(bytes);
    bnmlp_model_free(loaded);
    bnmlp_model_free(folded);
    bnmlp_model_free(model);
}

static void *never_allocate(void *context, size_t size) {
    (void)context, (void)size;
    return NULL;
}

static void test_bad_inputs(void **state) {
    (void)state;
    bnmlp_status status;
    bnmlp_model *unbuilt = bnmlp_model_create(3, &status);
    assert_ok(bnmlp_model_add_batchnorm(unbuilt, &BNMLP_BATCHNORM_DEFAULT));
    bnmlp_model *built = hand_model();
    const bnmlp_allocator half = {.allocate = NULL, .release = counting_release, .context = NULL};
    const bnmlp_allocator failing = {
        .allocate = never_allocate, .release = counting_release, .context = NULL};
    const struct {
        const char *what;
        const bnmlp_model *model;
        const bnmlp_allocator *allocator;
        bnmlp_status expected;
    } cases[] = {
        {"NULL model", NULL, NULL, BNMLP_ERR_NULL_ARGUMENT},
        {"unbuilt model", unbuilt, NULL, BNMLP_ERR_NOT_BUILT},
        {"allocator without allocate", built, &half, BNMLP_ERR_NULL_ARGUMENT},
        {"allocator that fails", built, &failing, BNMLP_ERR_OUT_OF_MEMORY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        status = BNMLP_OK;
        if (bnmlp_model_fold(cases[i].model, cases[i].allocator, &status) != NULL)
            fail_msg("%s: a model came back", cases[i].what);
        if (status != cases[i].expected)
            fail_msg("%s: %s, expected %s", cases[i].what, bnmlp_status_string(status),
                     bnmlp_status_string(cases[i].expected));
        assert_null(bnmlp_model_fold(cases[i].model, cases[i].allocator, NULL)); /* status may be NULL */
    }
    bnmlp_model_free(unbuilt);
    bnmlp_model_free(built);
}

/* Every allocation of a fold failing in turn: OUT_OF_MEMORY, nothing left allocated. */
static void test_allocation_failures(void **state) {
    (void)state;
    const fold_case *fc = &CASES[11]; /* relu -> BN -> BN -> Dense: reads, folds and composes */
    bnmlp_model *model = make_case_model(fc);
    train_and_perturb(fc, model);
    size_t failures = 0;
    for (size_t fail_at = 1;; fail_at++) {
        counting_allocator counter = {.fail_at = fail_at};
        const bnmlp_allocator allocator = counting_allocator_of(&counter);
        bnmlp_status status;
        bnmlp_model *folded = bnmlp_model_fold(model, &allocator, &status);
        if (folded) {
            bnmlp_model_free(folded);
            assert_int_equal(counter.allocations, counter.releases);
            break;
        }
        assert_int_equal(status, BNMLP_ERR_OUT_OF_MEMORY);
        assert_int_equal(counter.allocations, counter.releases);
        failures++;
    }
    assert_true(failures > 5);
    bnmlp_model_free(model);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_placement),
        cmocka_unit_test(test_folded_weights_follow_the_formulas),
        cmocka_unit_test(test_unfoldable_run_is_one_exact_scale_and_shift),
        cmocka_unit_test(test_keeps_the_settings),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
