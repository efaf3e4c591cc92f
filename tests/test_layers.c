/* test_layers.c - exact hand-computed cases for every layer, the loss, the optimizer and the
 * initializers, and the batch-norm invariants. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layers.h"
#include "optim/optim.h"
#include "support.h"

/* The kernels the dense layer runs with, as a model would pass them (filled in main). */
static bnmlp_kernel_context kernels;

/* ---- dense ---------------------------------------------------------------------------------- */

static void test_dense_forward_exact(void **state) {
    (void)state;
    /* x = [[1, -1]], w = [[2, 3], [4, 5]], b = [0.5, -0.5] -> [1*2 - 4 + 0.5, 3 - 5 - 0.5]. */
    const float x[2] = {1, -1}, w[4] = {2, 3, 4, 5}, b[2] = {0.5f, -0.5f};
    float y[2];
    bnmlp_dense_forward(&kernels, y, x, w, b, 1, 2, 2);
    assert_float_equal(y[0], -1.5f, 0.0f);
    assert_float_equal(y[1], -2.5f, 0.0f);
    bnmlp_dense_forward(&kernels, y, x, w, NULL, 1, 2, 2);
    assert_float_equal(y[0], -2.0f, 0.0f);
    assert_float_equal(y[1], -2.0f, 0.0f);
}

static void test_dense_backward_exact(void **state) {
    (void)state;
    /* x = [[1, 2], [3, 4]], w = [[1, -1], [0, 2]], dy = [[1, 0], [2, 1]]:
     * dw = x^T dy = [[1 + 6, 0 + 3], [2 + 8, 0 + 4]], db = [3, 1], dx = dy w^T = [[1, 0], [1, 2]]. */
    const float x[4] = {1, 2, 3, 4}, w[4] = {1, -1, 0, 2}, dy[4] = {1, 0, 2, 1};
    float dw[4] = {0}, db[2] = {0}, dx[4];
    bnmlp_dense_backward(&kernels, dx, dw, db, dy, x, w, 2, 2, 2);
    const float e_dw[4] = {7, 3, 10, 4}, e_db[2] = {3, 1}, e_dx[4] = {1, 0, 1, 2};
    assert_memory_equal(dw, e_dw, sizeof dw);
    assert_memory_equal(db, e_db, sizeof db);
    assert_memory_equal(dx, e_dx, sizeof dx);
    /* Parameter gradients accumulate: a second call doubles them. */
    bnmlp_dense_backward(&kernels, NULL, dw, NULL, dy, x, w, 2, 2, 2);
    assert_float_equal(dw[0], 14.0f, 0.0f);
    assert_float_equal(db[0], 3.0f, 0.0f);
}

/* ---- activations -------------------------------------------------------------------------------- */

/* The activation table: every kind has a name that maps back to it, aliases map to their kind,
 * anything else is refused; exactly softmax is row-wise. */
static void test_activation_table_names(void **state) {
    (void)state;
    const char *keras[] = {"linear",  "relu", "leaky_relu", "sigmoid", "tanh",
                           "softmax", "elu",  "gelu",       "silu"};
    for (size_t k = 0; k < sizeof keras / sizeof keras[0]; k++)
        assert_string_equal(bnmlp_activation_name((bnmlp_activation)k), keras[k]);
    size_t kinds = 0;
    for (size_t k = 0; strcmp(bnmlp_activation_name((bnmlp_activation)k), "unknown") != 0; k++, kinds++) {
        bnmlp_activation got = (bnmlp_activation)99;
        assert_ok(bnmlp_activation_from_name(bnmlp_activation_name((bnmlp_activation)k), &got));
        assert_int_equal(got, k);
        assert_true(bnmlp_activation_is_valid((bnmlp_activation)k));
        assert_int_equal(bnmlp_activation_is_row_wise((bnmlp_activation)k), k == BNMLP_ACTIVATION_SOFTMAX);
    }
    assert_int_equal(kinds, BNMLP_ACTIVATION_KINDS);
    assert_false(bnmlp_activation_is_valid((bnmlp_activation)kinds));
    assert_false(bnmlp_activation_is_row_wise((bnmlp_activation)kinds));
    bnmlp_activation untouched = BNMLP_ACTIVATION_TANH;
    const char *bad[] = {"", "Relu", "relu ", "unknown", "softmax2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_status(bnmlp_activation_from_name(bad[i], &untouched), BNMLP_ERR_INVALID_ARGUMENT);
        assert_int_equal(untouched, BNMLP_ACTIVATION_TANH);
    }
    bnmlp_activation alias = BNMLP_ACTIVATION_LINEAR;
    assert_ok(bnmlp_activation_from_name("swish", &alias));
    assert_int_equal(alias, BNMLP_ACTIVATION_SILU);
    assert_status(bnmlp_activation_from_name(NULL, &untouched), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_activation_from_name("relu", NULL), BNMLP_ERR_NULL_ARGUMENT);
    /* Keras's default alpha where the kind reads alpha, NAN elsewhere. */
    assert_true(bnmlp_activation_default_alpha(BNMLP_ACTIVATION_LEAKY_RELU) == 0.3f);
    assert_true(bnmlp_activation_default_alpha(BNMLP_ACTIVATION_ELU) == 1.0f);
    assert_true(isnan(bnmlp_activation_default_alpha(BNMLP_ACTIVATION_RELU)));
    assert_true(isnan(bnmlp_activation_default_alpha(BNMLP_ACTIVATION_GELU)));
    assert_true(isnan(bnmlp_activation_default_alpha((bnmlp_activation)kinds)));
    /* What backward reads: relu its input, sigmoid its output, linear nothing. */
    assert_int_equal(bnmlp_activation_backward_uses(BNMLP_ACTIVATION_RELU), BNMLP_ACTIVATION_USES_INPUT);
    assert_int_equal(bnmlp_activation_backward_uses(BNMLP_ACTIVATION_SIGMOID), BNMLP_ACTIVATION_USES_OUTPUT);
    assert_int_equal(bnmlp_activation_backward_uses(BNMLP_ACTIVATION_LINEAR), BNMLP_ACTIVATION_USES_NOTHING);
}

/* Row-wise kinds run through the table's row functions, element-wise kinds through the
 * descriptor; each entry does nothing for the other shape. */
static void test_activation_rows_dispatch(void **state) {
    (void)state;
    const float x[6] = {1, 2, 3, -1, 0, 1};
    float y[6], expected[6], dx[6], expected_dx[6];
    const float dy[6] = {1, 0, 0, 0, 1, 0};
    bnmlp_softmax_forward(expected, x, 2, 3);
    bnmlp_activation_rows_forward(y, x, 2, 3, BNMLP_ACTIVATION_SOFTMAX);
    assert_memory_equal(y, expected, sizeof y);
    bnmlp_softmax_backward(expected_dx, dy, y, 2, 3);
    bnmlp_activation_rows_backward(dx, dy, y, 2, 3, BNMLP_ACTIVATION_SOFTMAX);
    assert_memory_equal(dx, expected_dx, sizeof dx);
    float untouched[6] = {7, 7, 7, 7, 7, 7};
    bnmlp_activation_rows_forward(untouched, x, 2, 3, BNMLP_ACTIVATION_RELU);
    bnmlp_activation_forward(&kernels, untouched, x, 6, BNMLP_ACTIVATION_SOFTMAX, 0.0f);
    bnmlp_activation_forward(&kernels, untouched, x, 6, (bnmlp_activation)99, 0.0f);
    for (size_t i = 0; i < 6; i++) assert_true(untouched[i] == 7.0f);
}

static void test_activations_forward_exact(void **state) {
    (void)state;
    const float x[4] = {-2.0f, -0.0f, 0.0f, 3.0f};
    float y[4];
    bnmlp_activation_forward(&kernels, y, x, 4, BNMLP_ACTIVATION_RELU, 0);
    const float relu[4] = {0, 0, 0, 3};
    assert_floats_close(y, relu, 4, 0, 0);
    bnmlp_activation_forward(&kernels, y, x, 4, BNMLP_ACTIVATION_LEAKY_RELU, 0.3f);
    const float leaky[4] = {-0.6f, 0, 0, 3};
    assert_floats_close(y, leaky, 4, 1e-7, 0);
    bnmlp_activation_forward(&kernels, y, x, 4, BNMLP_ACTIVATION_LINEAR, 0);
    assert_floats_close(y, x, 4, 0, 0);
    bnmlp_activation_forward(&kernels, y, x, 4, BNMLP_ACTIVATION_SIGMOID, 0);
    const float sig[4] = {0.11920292f, 0.5f, 0.5f, 0.95257413f};
    assert_floats_close(y, sig, 4, 1e-7, 1e-6);
    bnmlp_activation_forward(&kernels, y, x, 4, BNMLP_ACTIVATION_TANH, 0);
    const float th[4] = {-0.96402758f, 0, 0, 0.99505475f};
    assert_floats_close(y, th, 4, 1e-7, 1e-6);
}

static void test_sigmoid_saturates_without_overflow(void **state) {
    (void)state;
    const float x[2] = {-200.0f, 200.0f};
    float y[2];
    bnmlp_activation_forward(&kernels, y, x, 2, BNMLP_ACTIVATION_SIGMOID, 0);
    assert_true(y[0] >= 0.0f && y[0] < 1e-30f);
    assert_float_equal(y[1], 1.0f, 0.0f);
}

static void test_activations_backward_exact(void **state) {
    (void)state;
    const float x[3] = {-1.0f, 0.0f, 2.0f}, dy[3] = {10.0f, 10.0f, 10.0f};
    float y[3], dx[3];
    bnmlp_activation_forward(&kernels, y, x, 3, BNMLP_ACTIVATION_RELU, 0);
    bnmlp_activation_backward(&kernels, dx, dy, x, y, 3, BNMLP_ACTIVATION_RELU, 0);
    const float relu[3] = {0, 0, 10}; /* derivative at the kink is the one below it */
    assert_floats_close(dx, relu, 3, 0, 0);
    bnmlp_activation_backward(&kernels, dx, dy, x, y, 3, BNMLP_ACTIVATION_LEAKY_RELU, 0.25f);
    const float leaky[3] = {2.5f, 2.5f, 10};
    assert_floats_close(dx, leaky, 3, 0, 0);
    bnmlp_activation_forward(&kernels, y, x, 3, BNMLP_ACTIVATION_SIGMOID, 0);
    bnmlp_activation_backward(&kernels, dx, dy, x, y, 3, BNMLP_ACTIVATION_SIGMOID, 0);
    for (int i = 0; i < 3; i++) assert_float_equal(dx[i], 10.0f * y[i] * (1.0f - y[i]), 1e-6);
    assert_float_equal(dx[1], 2.5f, 1e-6); /* sigmoid'(0) = 1/4 */
    bnmlp_activation_forward(&kernels, y, x, 3, BNMLP_ACTIVATION_TANH, 0);
    bnmlp_activation_backward(&kernels, dx, dy, x, y, 3, BNMLP_ACTIVATION_TANH, 0);
    assert_float_equal(dx[1], 10.0f, 1e-6); /* tanh'(0) = 1 */
    assert_float_equal(dx[2], 10.0f * (1.0f - tanhf(2.0f) * tanhf(2.0f)), 1e-5);
}

/* ---- batch normalization ------------------------------------------------------------------------ */

static void test_batchnorm_training_exact(void **state) {
    (void)state;
    /* One feature, x = [1, 2, 3, 4]: mean 2.5, biased variance 1.25, eps 1e-3. */
    const float x[4] = {1, 2, 3, 4}, gamma[1] = {2.0f}, beta[1] = {0.5f};
    float y[4], mean[1], var[1], rstd[1];
    bnmlp_batchnorm_forward_training(&kernels, y, mean, var, rstd, x, gamma, beta, 4, 1, 1e-3f);
    assert_float_equal(mean[0], 2.5f, 0);
    assert_float_equal(var[0], 1.25f, 0);
    const double r = 1.0 / sqrt(1.25 + 1e-3);
    assert_float_equal(rstd[0], (float)r, 1e-7);
    for (int i = 0; i < 4; i++) assert_float_equal(y[i], 2.0 * (x[i] - 2.5) * r + 0.5, 1e-6);
}

static void test_batchnorm_rstd_epsilon_inside_sqrt(void **state) {
    (void)state;
    assert_float_equal(bnmlp_batchnorm_rstd(0.0, 0.25f), 2.0f, 0);  /* 1/sqrt(0 + 0.25) */
    assert_float_equal(bnmlp_batchnorm_rstd(3.75, 0.25f), 0.5f, 0); /* 1/sqrt(4) */
}

/* Training mode with center and scale off: every feature comes out with mean 0 and variance
 * var / (var + eps) (just under 1). */
static void test_batchnorm_training_invariants(void **state) {
    (void)state;
    enum { B = 64, C = 5 };
    float x[B * C], y[B * C], mean[C], var[C], rstd[C];
    for (int r = 0; r < B; r++)
        for (int c = 0; c < C; c++) x[r * C + c] = (float)((c + 1) * sin(r * 1.3 + c) * 10.0 + 100.0 * c);
    bnmlp_batchnorm_forward_training(&kernels, y, mean, var, rstd, x, NULL, NULL, B, C, 1e-3f);
    for (int c = 0; c < C; c++) {
        double m = 0, v = 0;
        for (int r = 0; r < B; r++) m += y[r * C + c];
        m /= B;
        for (int r = 0; r < B; r++) v += (y[r * C + c] - m) * (y[r * C + c] - m);
        v /= B;
        assert_true(fabs(m) < 1e-5);
        assert_float_equal(v, var[c] / (var[c] + 1e-3), 1e-5);
        assert_true(v > 0.99);
    }
}

/* Inference output is exactly the affine map gamma * (x - moving_mean) / sqrt(moving_var + eps) + beta. */
static void test_batchnorm_inference_is_affine_map(void **state) {
    (void)state;
    const float x[6] = {1, -2, 0.5f, 4, 3, 0}, mm[2] = {0.5f, 1.0f}, mv[2] = {4.0f, 0.25f};
    const float gamma[2] = {1.5f, -1.0f}, beta[2] = {0.1f, 0.2f};
    float y[6];
    bnmlp_batchnorm_forward_inference(&kernels, y, x, mm, mv, gamma, beta, 3, 2, 1e-3f);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 2; c++) {
            const double e = gamma[c] * (x[r * 2 + c] - mm[c]) / sqrt(mv[c] + 1e-3) + beta[c];
            assert_float_equal(y[r * 2 + c], e, 1e-6);
        }
}

static void test_batchnorm_moving_update_estimators(void **state) {
    (void)state;
    const float mean[1] = {2.0f}, var[1] = {1.25f};
    const double m = 0.9;
    struct {
        bnmlp_variance_estimator estimator;
        double factor;
    } cases[3] = {{BNMLP_VARIANCE_BIASED, 1.0},
                  {BNMLP_VARIANCE_UNBIASED, 4.0 / 3.0},
                  {BNMLP_VARIANCE_KERAS2, 4.0 / (3.0 - 1e-3)}};
    for (int k = 0; k < 3; k++) {
        float mm[1] = {0.0f}, mv[1] = {1.0f};
        bnmlp_batchnorm_update_moving(mm, mv, mean, var, 4, 1, (float)m, 1e-3f, cases[k].estimator);
        assert_float_equal(mm[0], (1 - m) * 2.0, 1e-7);
        assert_float_equal(mv[0], m * 1.0 + (1 - m) * 1.25 * cases[k].factor, 1e-6);
    }
    /* Momentum 0 replaces the moving statistics with the batch's (the tutorial's extension). */
    float mm[1] = {7.0f}, mv[1] = {7.0f};
    bnmlp_batchnorm_update_moving(mm, mv, mean, var, 4, 1, 0.0f, 1e-3f, BNMLP_VARIANCE_BIASED);
    assert_float_equal(mm[0], 2.0f, 0);
    assert_float_equal(mv[0], 1.25f, 0);
}

/* Hand-derived backward: with dy = [1, 0, 0, 0] on x = [1, 2, 3, 4] the three terms of
 * dx = gamma rstd (dy - mean(dy) - xhat mean(dy xhat)) are checked element by element. */
static void test_batchnorm_backward_exact(void **state) {
    (void)state;
    const float x[4] = {1, 2, 3, 4}, dy[4] = {1, 0, 0, 0}, gamma[1] = {3.0f};
    float y[4], mean[1], var[1], rstd[1], dx[4], dgamma[1] = {0}, dbeta[1] = {0};
    bnmlp_batchnorm_forward_training(&kernels, y, mean, var, rstd, x, gamma, NULL, 4, 1, 1e-3f);
    bnmlp_batchnorm_backward_training(&kernels, dx, dgamma, dbeta, dy, x, mean, rstd, gamma, 4, 1);
    const double r = 1.0 / sqrt(1.25 + 1e-3), xhat0 = -1.5 * r;
    assert_float_equal(dbeta[0], 1.0f, 0);
    assert_float_equal(dgamma[0], xhat0, 1e-6);
    for (int i = 0; i < 4; i++) {
        const double xhat = (x[i] - 2.5) * r;
        const double e = 3.0 * r * (dy[i] - 0.25 - xhat * (xhat0 / 4.0));
        assert_float_equal(dx[i], e, 1e-6);
    }
    /* The gradient through batch statistics sums to zero over the batch. */
    assert_float_equal(dx[0] + dx[1] + dx[2] + dx[3], 0.0, 1e-6);
}

static void test_batchnorm_backward_inference_exact(void **state) {
    (void)state;
    const float x[2] = {1.0f, 3.0f}, dy[2] = {2.0f, -1.0f}, mm[1] = {1.0f}, mv[1] = {3.999f};
    const float gamma[1] = {0.5f};
    float dx[2], dgamma[1] = {0}, dbeta[1] = {0};
    bnmlp_batchnorm_backward_inference(&kernels, dx, dgamma, dbeta, dy, x, mm, mv, gamma, 2, 1, 1e-3f);
    /* rstd = 1/sqrt(4) = 0.5: dx = dy * 0.25; xhat = [0, 1]; dgamma = -1; dbeta = 1. */
    assert_float_equal(dx[0], 0.5f, 1e-6);
    assert_float_equal(dx[1], -0.25f, 1e-6);
    assert_float_equal(dgamma[0], -1.0f, 1e-6);
    assert_float_equal(dbeta[0], 1.0f, 1e-6);
}

/* ---- loss ------------------------------------------------------------------------------------- */

static void test_bce_probabilities_exact(void **state) {
    (void)state;
    const float p[2] = {0.8f, 0.25f}, y[2] = {1, 0};
    float dp[2];
    const double loss = bnmlp_bce_probabilities(dp, p, y, 2, 2);
    assert_float_equal(loss, -(log((double)0.8f) + log(1.0 - (double)0.25f)) / 2.0, 1e-12);
    assert_float_equal(dp[0], -1.0 / 0.8 / 2.0, 1e-6);         /* -y/p / N */
    assert_float_equal(dp[1], 1.0 / (1.0 - 0.25) / 2.0, 1e-6); /* (1-y)/(1-p) / N */
}

static void test_bce_probabilities_clip(void **state) {
    (void)state;
    /* p = 0 with y = 1 is clipped to 1e-7 (Keras): loss -log(1e-7), zero gradient. */
    const float p[2] = {0.0f, 1.0f}, y[2] = {1, 0};
    float dp[2];
    const double loss = bnmlp_bce_probabilities(dp, p, y, 2, 2);
    const double lo = (double)1e-7f, hi = (double)(1.0f - 1e-7f);
    assert_float_equal(loss, (-log(lo) - log(1.0 - hi)) / 2.0, 1e-9);
    assert_true(isfinite(loss));
    assert_float_equal(dp[0], 0.0f, 0);
    assert_float_equal(dp[1], 0.0f, 0);
}

static void test_bce_logits_exact_and_stable(void **state) {
    (void)state;
    const float z[4] = {0.0f, 2.0f, -3.0f, 100.0f}, y[4] = {1, 0, 0, 0};
    float dz[4];
    const double loss = bnmlp_bce_logits(dz, z, y, 4, 4);
    const double e =
        (log(2.0) + (2.0 + log1p(exp(-2.0))) + log1p(exp(-3.0)) + (100.0 + log1p(exp(-100.0)))) / 4.0;
    assert_float_equal(loss, e, 1e-12);
    assert_float_equal(dz[0], (0.5 - 1.0) / 4.0, 1e-7); /* (p - y) / N */
    assert_float_equal(dz[1], 1.0 / (1.0 + exp(-2.0)) / 4.0, 1e-7);
    assert_float_equal(dz[3], 0.25f, 1e-7); /* saturated, finite */
}

static void test_binary_accuracy_threshold(void **state) {
    (void)state;
    /* p > 0.5 is class 1; exactly 0.5 is class 0. */
    const float p[4] = {0.5f, 0.51f, 0.49f, 0.9f}, y[4] = {0, 1, 1, 0};
    assert_int_equal(bnmlp_binary_correct(p, y, 4), 2);
}

/* ---- SGD -------------------------------------------------------------------------------------- */

static void test_sgd_exact_steps(void **state) {
    (void)state;
    /* lr 0.1, momentum 0.9, g = 1 twice: v1 = -0.1, w1 = 0.9; v2 = -0.19, w2 = 0.71. */
    float w[1] = {1.0f}, v[1] = {0.0f};
    const float g[1] = {1.0f};
    bnmlp_sgd_update(w, v, g, 1, 0.1f, 0.9f, false);
    assert_float_equal(w[0], 0.9f, 1e-7);
    bnmlp_sgd_update(w, v, g, 1, 0.1f, 0.9f, false);
    assert_float_equal(v[0], -0.19f, 1e-7);
    assert_float_equal(w[0], 0.71f, 1e-7);
    /* Nesterov: v1 = -0.1, w1 = 1 + 0.9 * -0.1 - 0.1 = 0.81. */
    float wn[1] = {1.0f}, vn[1] = {0.0f};
    bnmlp_sgd_update(wn, vn, g, 1, 0.1f, 0.9f, true);
    assert_float_equal(wn[0], 0.81f, 1e-7);
    /* Momentum 0 is plain gradient descent. */
    float w0[1] = {1.0f}, v0[1] = {0.0f};
    bnmlp_sgd_update(w0, v0, g, 1, 0.5f, 0.0f, false);
    assert_float_equal(w0[0], 0.5f, 0);
}

/* ---- initializers --------------------------------------------------------------------------- */

static void check_uniform(bnmlp_initializer kind, size_t in, size_t out, double limit) {
    bnmlp_random rng;
    assert_ok(bnmlp_random_seed(&rng, 3));
    float *w = malloc(in * out * sizeof *w);
    bnmlp_initialize_kernel(w, in, out, kind, &rng);
    double sum = 0, sq = 0, max = 0;
    for (size_t i = 0; i < in * out; i++) {
        sum += w[i];
        sq += (double)w[i] * w[i];
        if (fabs(w[i]) > max) max = fabs(w[i]);
    }
    const double n = (double)(in * out);
    assert_true(max <= limit);
    assert_true(max > 0.95 * limit);                                             /* the range is used */
    assert_true(fabs(sum / n) < 0.05 * limit);                                   /* centered */
    assert_float_equal(sq / n, limit * limit / 3.0, 0.05 * limit * limit / 3.0); /* var l^2/3 */
    free(w);
}

static void test_initializers_uniform(void **state) {
    (void)state;
    check_uniform(BNMLP_INIT_HE_UNIFORM, 2, 2000, sqrt(6.0 / 2.0)); /* tutorial's sqrt(3) */
    check_uniform(BNMLP_INIT_GLOROT_UNIFORM, 50, 80, sqrt(6.0 / (50.0 + 80.0)));
}

static void test_initializers_normal_truncated(void **state) {
    (void)state;
    bnmlp_random rng;
    assert_ok(bnmlp_random_seed(&rng, 5));
    enum { IN = 100, OUT = 100 };
    static float w[IN * OUT];
    bnmlp_initialize_kernel(w, IN, OUT, BNMLP_INIT_HE_NORMAL, &rng);
    const double sd = sqrt(2.0 / IN); /* the target standard deviation after truncation */
    double sq = 0, max = 0;
    for (size_t i = 0; i < IN * OUT; i++) {
        sq += (double)w[i] * w[i];
        if (fabs(w[i]) > max) max = fabs(w[i]);
    }
    assert_true(max <= 2.0 * sd / 0.87962566103423978 + 1e-6); /* truncated at 2 sd of the draw */
    assert_float_equal(sqrt(sq / (IN * OUT)), sd, 0.03 * sd);
    bnmlp_initialize_kernel(w, IN, OUT, BNMLP_INIT_ZEROS, &rng);
    for (size_t i = 0; i < IN * OUT; i++) assert_true(w[i] == 0.0f);
}

int main(void) {
    bnmlp_kernel_context_init(&kernels);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_forward_exact),
        cmocka_unit_test(test_dense_backward_exact),
        cmocka_unit_test(test_activation_table_names),
        cmocka_unit_test(test_activation_rows_dispatch),
        cmocka_unit_test(test_activations_forward_exact),
        cmocka_unit_test(test_sigmoid_saturates_without_overflow),
        cmocka_unit_test(test_activations_backward_exact),
        cmocka_unit_test(test_batchnorm_training_exact),
        cmocka_unit_test(test_batchnorm_rstd_epsilon_inside_sqrt),
        cmocka_unit_test(test_batchnorm_training_invariants),
        cmocka_unit_test(test_batchnorm_inference_is_affine_map),
        cmocka_unit_test(test_batchnorm_moving_update_estimators),
        cmocka_unit_test(test_batchnorm_backward_exact),
        cmocka_unit_test(test_batchnorm_backward_inference_exact),
        cmocka_unit_test(test_bce_probabilities_exact),
        cmocka_unit_test(test_bce_probabilities_clip),
        cmocka_unit_test(test_bce_logits_exact_and_stable),
        cmocka_unit_test(test_binary_accuracy_threshold),
        cmocka_unit_test(test_sgd_exact_steps),
        cmocka_unit_test(test_initializers_uniform),
        cmocka_unit_test(test_initializers_normal_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
