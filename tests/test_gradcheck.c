/*
 * test_gradcheck.c - central-difference gradient checks for every layer, the loss and a whole
 * model. Each layer is checked through the scalar L = sum(r * y) with fixed random weights r, so
 * every output element matters. Inputs stay away from the ReLU kinks; every check first asserts
 * that the analytic gradient is not all zeros, so a check can never pass vacuously.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layers.h"
#include "support.h"

/* The kernels the dense layer runs with, as a model would pass them (filled in main). */
static bnmlp_kernel_context kernels;

#define H 1e-2f /* finite-difference step, float32 arithmetic */

/* Values in [lo, hi) from a fixed sequence (seeded per call). */
static void fill(float *v, size_t n, uint32_t seed, float lo, float hi) {
    bnmlp_random rng;
    bnmlp_random_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * (float)bnmlp_random_double(&rng);
}

/* Values whose magnitude is at least `gap` (kept off kinks at 0), sign random. */
static void fill_off_kink(float *v, size_t n, uint32_t seed, float gap) {
    fill(v, n, seed, -1.0f, 1.0f);
    for (size_t i = 0; i < n; i++) v[i] = v[i] < 0 ? v[i] - gap : v[i] + gap;
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Compares an analytic gradient with central differences of objective() over the n values of
 * `param`; asserts the analytic gradient is not all zero. */
typedef double (*objective_fn)(void *context);
static void check_gradient(float *param, const float *analytic, size_t n, objective_fn objective,
                           void *context, double atol, double rtol) {
    double largest = 0;
    for (size_t i = 0; i < n; i++) largest = fmax(largest, fabs(analytic[i]));
    assert_true(largest > 1e-3); /* guard against comparing zeros with zeros */
    for (size_t i = 0; i < n; i++) {
        const float saved = param[i];
        param[i] = saved + H;
        const double plus = objective(context);
        param[i] = saved - H;
        const double minus = objective(context);
        param[i] = saved;
        const double numeric = (plus - minus) / (2.0 * (double)H);
        if (!(fabs(numeric - analytic[i]) <= atol + rtol * fabs(numeric))) {
            print_error("gradient[%zu]: analytic %.6g, numeric %.6g\n", i, (double)analytic[i], numeric);
            fail();
        }
    }
}

/* ---- dense --------------------------------------------------------------------------------- */

enum { B = 6, IN = 4, OUT = 3 };

typedef struct dense_case {
    float x[B * IN], w[IN * OUT], b[OUT], r[B * OUT], y[B * OUT];
} dense_case;

static double dense_objective(void *context) {
    dense_case *c = context;
    bnmlp_dense_forward(&kernels, c->y, c->x, c->w, c->b, B, IN, OUT);
    return dot(c->r, c->y, B * OUT);
}

static void test_gradcheck_dense(void **state) {
    (void)state;
    dense_case c;
    fill(c.x, B * IN, 1, -1, 1);
    fill(c.w, IN * OUT, 2, -1, 1);
    fill(c.b, OUT, 3, -1, 1);
    fill(c.r, B * OUT, 4, -1, 1);
    float dx[B * IN], dw[IN * OUT] = {0}, db[OUT] = {0};
    bnmlp_dense_backward(&kernels, dx, dw, db, c.r, c.x, c.w, B, IN, OUT); /* dL/dy = r */
    check_gradient(c.x, dx, B * IN, dense_objective, &c, 1e-3, 1e-2);
    check_gradient(c.w, dw, IN * OUT, dense_objective, &c, 1e-3, 1e-2);
    check_gradient(c.b, db, OUT, dense_objective, &c, 1e-3, 1e-2);
}

/* ---- activations ----------------------------------------------------------------------------- */

typedef struct activation_case {
    bnmlp_activation kind;
    float x[B * OUT], r[B * OUT], y[B * OUT];
} activation_case;

static double activation_objective(void *context) {
    activation_case *c = context;
    bnmlp_activation_forward(bnmlp_test_kernels(), c->y, c->x, B * OUT, c->kind, 0.2f);
    return dot(c->r, c->y, B * OUT);
}

static void check_activation(bnmlp_activation kind) {
    activation_case c = {.kind = kind};
    fill_off_kink(c.x, B * OUT, 5, 0.05f); /* |x| >= 0.05 > H: no kink inside a difference */
    fill(c.r, B * OUT, 6, -1, 1);
    float dx[B * OUT];
    activation_objective(&c);
    bnmlp_activation_backward(bnmlp_test_kernels(), dx, c.r, c.x, c.y, B * OUT, kind, 0.2f);
    check_gradient(c.x, dx, B * OUT, activation_objective, &c, 1e-3, 1e-2);
}

static void test_gradcheck_linear(void **state) {
    (void)state;
    check_activation(BNMLP_ACTIVATION_LINEAR);
}
static void test_gradcheck_relu(void **state) {
    (void)state;
    check_activation(BNMLP_ACTIVATION_RELU);
}
static void test_gradcheck_leaky_relu(void **state) {
    (void)state;
    check_activation(BNMLP_ACTIVATION_LEAKY_RELU);
}
static void test_gradcheck_sigmoid(void **state) {
    (void)state;
    check_activation(BNMLP_ACTIVATION_SIGMOID);
}
static void test_gradcheck_tanh(void **state) {
    (void)state;
    check_activation(BNMLP_ACTIVATION_TANH);
}

/* Every element-wise row of the activation table (elu, gelu, silu, and any row added later). */
static void test_gradcheck_every_table_row(void **state) {
    (void)state;
    size_t checked = 0;
    for (size_t k = 0; k < BNMLP_ACTIVATION_KINDS; k++)
        if (!bnmlp_activation_is_row_wise((bnmlp_activation)k))
            check_activation((bnmlp_activation)k), checked++;
    assert_true(checked >= 8);
}

/* ---- batch normalization, training mode ------------------------------------------------------- */

typedef struct batchnorm_case {
    bool affine;
    float x[B * OUT], gamma[OUT], beta[OUT], r[B * OUT], y[B * OUT];
    float mean[OUT], var[OUT], rstd[OUT];
} batchnorm_case;

static double batchnorm_objective(void *context) {
    batchnorm_case *c = context;
    bnmlp_batchnorm_forward_training(bnmlp_test_kernels(), c->y, c->mean, c->var, c->rstd, c->x,
                                     c->affine ? c->gamma : NULL, c->affine ? c->beta : NULL, B, OUT, 1e-3f);
    return dot(c->r, c->y, B * OUT);
}

static void check_batchnorm(bool affine) {
    batchnorm_case c = {.affine = affine};
    fill(c.x, B * OUT, 7, -2, 2);
    fill(c.gamma, OUT, 8, 0.5f, 2);
    fill(c.beta, OUT, 9, -1, 1);
    fill(c.r, B * OUT, 10, -1, 1);
    float dx[B * OUT], dgamma[OUT] = {0}, dbeta[OUT] = {0};
    batchnorm_objective(&c);
    bnmlp_batchnorm_backward_training(bnmlp_test_kernels(), dx, affine ? dgamma : NULL, affine ? dbeta : NULL,
                                      c.r, c.x, c.mean, c.rstd, affine ? c.gamma : NULL, B, OUT);
    check_gradient(c.x, dx, B * OUT, batchnorm_objective, &c, 2e-3, 2e-2);
    if (affine) {
        check_gradient(c.gamma, dgamma, OUT, batchnorm_objective, &c, 1e-3, 1e-2);
        check_gradient(c.beta, dbeta, OUT, batchnorm_objective, &c, 1e-3, 1e-2);
    }
}

static void test_gradcheck_batchnorm_training(void **state) {
    (void)state;
    check_batchnorm(true);
}
static void test_gradcheck_batchnorm_no_affine(void **state) {
    (void)state;
    check_batchnorm(false);
}

/* ---- loss ---------------------------------------------------------------------------------------- */

typedef struct loss_case {
    bool logits;
    float v[B], y[B];
} loss_case;

static double loss_objective(void *context) {
    loss_case *c = context;
    return c->logits ? bnmlp_bce_logits(NULL, c->v, c->y, B, B)
                     : bnmlp_bce_probabilities(NULL, c->v, c->y, B, B);
}

static void test_gradcheck_bce(void **state) {
    (void)state;
    loss_case c = {.logits = false, .y = {1, 0, 1, 0, 0, 1}};
    fill(c.v, B, 11, 0.1f, 0.9f); /* probabilities away from the clip */
    float grad[B];
    bnmlp_bce_probabilities(grad, c.v, c.y, B, B);
    check_gradient(c.v, grad, B, loss_objective, &c, 1e-3, 1e-2);
    c.logits = true;
    fill(c.v, B, 12, -3, 3);
    bnmlp_bce_logits(grad, c.v, c.y, B, B);
    check_gradient(c.v, grad, B, loss_objective, &c, 1e-3, 1e-2);
}

/* ---- a whole model through the public API ------------------------------------------------------ */

enum { MB = 8 };

typedef struct model_case {
    bnmlp_model *model;
    float *params;
    size_t count;
    bnmlp_tensor x, y;
} model_case;

static double model_objective(void *context) {
    model_case *c = context;
    assert_ok(bnmlp_model_set_params(c->model, c->params, c->count));
    float loss;
    assert_ok(bnmlp_model_loss_gradients(c->model, &c->x, &c->y, &loss, NULL, 0));
    return loss;
}

/* 3 -> Dense(6, tanh) -> BN -> Dense(4) -> leaky_relu -> BN(no center) -> Dense(1, sigmoid). */
static void test_gradcheck_whole_model(void **state) {
    (void)state;
    bnmlp_status status;
    bnmlp_model *m = bnmlp_model_create(3, &status);
    assert_ok(status);
    bnmlp_dense_config d1 = BNMLP_DENSE_DEFAULT(6);
    d1.activation = BNMLP_ACTIVATION_TANH;
    assert_ok(bnmlp_model_add_dense(m, &d1));
    assert_ok(bnmlp_model_add_batchnorm(m, &BNMLP_BATCHNORM_DEFAULT));
    assert_ok(bnmlp_model_add_dense(m, &BNMLP_DENSE_DEFAULT(4)));
    assert_ok(bnmlp_model_add_activation(m, BNMLP_ACTIVATION_LEAKY_RELU, 0.2f));
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    bn.center = false;
    assert_ok(bnmlp_model_add_batchnorm(m, &bn));
    bnmlp_dense_config d3 = BNMLP_DENSE_DEFAULT(1);
    d3.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(m, &d3));
    assert_ok(bnmlp_model_build(m, MB, 21));
    static float x[MB * 3], y[MB] = {1, 0, 0, 1, 1, 0, 1, 0};
    fill(x, MB * 3, 13, -1, 1);
    model_case c = {.model = m, .count = bnmlp_model_param_count(m)};
    c.x = bnmlp_tensor_view(x, MB, 3);
    c.y = bnmlp_tensor_view(y, MB, 1);
    c.params = malloc(c.count * sizeof *c.params);
    float *grad = malloc(c.count * sizeof *grad);
    assert_ok(bnmlp_model_get_params(m, c.params, c.count));
    float loss;
    assert_ok(bnmlp_model_loss_gradients(m, &c.x, &c.y, &loss, grad, c.count));
    check_gradient(c.params, grad, c.count, model_objective, &c, 2e-3, 3e-2);
    free(c.params);
    free(grad);
    bnmlp_model_free(m);
}

int main(void) {
    bnmlp_kernel_context_init(&kernels);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradcheck_dense),
        cmocka_unit_test(test_gradcheck_linear),
        cmocka_unit_test(test_gradcheck_relu),
        cmocka_unit_test(test_gradcheck_leaky_relu),
        cmocka_unit_test(test_gradcheck_sigmoid),
        cmocka_unit_test(test_gradcheck_tanh),
        cmocka_unit_test(test_gradcheck_every_table_row),
        cmocka_unit_test(test_gradcheck_batchnorm_training),
        cmocka_unit_test(test_gradcheck_batchnorm_no_affine),
        cmocka_unit_test(test_gradcheck_bce),
        cmocka_unit_test(test_gradcheck_whole_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
