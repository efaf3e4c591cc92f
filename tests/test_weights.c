/*
 * test_weights.c - weighted losses at the loss rows (bnmlp_loss_batch.weights): the PyTorch
 * normalization (sum w l / sum w) against torch's CrossEntropyLoss(weight=...) and weighted
 * BCELoss / BCEWithLogitsLoss, the Keras one (sum w l / N) against its formula in NumPy, for
 * the loss and its gradient (tests/fixtures/weights_reference.h, tools/gen_weight_fixtures.py);
 * unit weights over N equal the unweighted loss; bnmlp_class_weights_balanced against
 * scikit-learn, and its bad inputs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "fixtures/weights_reference.h"
#include "layers/layers.h"

#define LOSS_TOL 1e-5
#define GRAD_ATOL 1e-6
#define GRAD_RTOL 1e-5

/* |a - b| <= atol + rtol |b|. */
static void assert_double_close(double a, double b, double atol, double rtol) {
    if (!(fabs(a - b) <= atol + rtol * fabs(b))) fail_msg("%.12g is not within tolerance of %.12g", a, b);
}

static void to_floats(float *out, const double *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (float)in[i];
}

static double sum_of(const float *w, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)w[i];
    return s;
}

/* Runs loss's row on one batch: output/logits (B, outputs), y (B, width), row weights w, divisor. */
static double run(bnmlp_loss loss, const float *output, const float *logits, const float *y, size_t outputs,
                  size_t width, const float *w, double divisor, float *gradient) {
    const bnmlp_loss_batch batch = {.output = output,
                                    .logits = logits,
                                    .y = y,
                                    .rows = WEIGHTS_B,
                                    .outputs = outputs,
                                    .width = width,
                                    .divisor_rows = WEIGHTS_B,
                                    .gradient = gradient,
                                    .weights = w,
                                    .weight_divisor = divisor};
    return bnmlp_loss_row_of(loss)->loss(&batch);
}

static void assert_grad(const float *got, const double *want, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const double tol = GRAD_ATOL + GRAD_RTOL * fabs(want[i]);
        if (fabs((double)got[i] - want[i]) > tol)
            fail_msg("gradient %zu: %.9g, want %.9g", i, (double)got[i], want[i]);
    }
}

/* Categorical cross-entropy from logits: class weights alone (torch's reduction="mean"), class
 * and sample weights (PyTorch's weighted mean), and the Keras normalization. */
static void test_categorical_weighted(void **unused) {
    (void)unused;
    float z[WEIGHTS_B * WEIGHTS_K], y[WEIGHTS_B], w[WEIGHTS_B], g[WEIGHTS_B * WEIGHTS_K];
    to_floats(z, w_logits, WEIGHTS_B * WEIGHTS_K);
    to_floats(y, w_labels, WEIGHTS_B);
    for (size_t r = 0; r < WEIGHTS_B; r++) w[r] = (float)w_class[(size_t)w_labels[r]];
    double loss = run(BNMLP_LOSS_CATEGORICAL_CROSSENTROPY, z, z, y, WEIGHTS_K, 1, w, sum_of(w, WEIGHTS_B), g);
    assert_double_close(loss, torch_ce_class_loss[0], LOSS_TOL, LOSS_TOL);
    assert_grad(g, torch_ce_class_grad, WEIGHTS_B * WEIGHTS_K);

    to_floats(w, w_row, WEIGHTS_B);
    loss = run(BNMLP_LOSS_CATEGORICAL_CROSSENTROPY, z, z, y, WEIGHTS_K, 1, w, sum_of(w, WEIGHTS_B), g);
    assert_double_close(loss, torch_ce_both_loss[0], LOSS_TOL, LOSS_TOL);
    assert_grad(g, torch_ce_both_grad, WEIGHTS_B * WEIGHTS_K);

    loss = run(BNMLP_LOSS_CATEGORICAL_CROSSENTROPY, z, z, y, WEIGHTS_K, 1, w, WEIGHTS_B, g);
    assert_double_close(loss, keras_ce_loss[0], LOSS_TOL, LOSS_TOL);
    assert_grad(g, keras_ce_grad, WEIGHTS_B * WEIGHTS_K);
}

/* Binary cross-entropy, from probabilities and from logits, two outputs per row (a row's
 * weight covers both), both normalizations. */
static void test_binary_weighted(void **unused) {
    (void)unused;
    enum { N = WEIGHTS_B * WEIGHTS_OUT };
    float p[N], z[N], y[N], w[WEIGHTS_B], g[N];
    to_floats(p, w_bin_p, N);
    to_floats(z, w_bin_z, N);
    to_floats(y, w_bin_y, N);
    to_floats(w, w_row, WEIGHTS_B);
    const double total = sum_of(w, WEIGHTS_B);
    double loss = run(BNMLP_LOSS_BINARY_CROSSENTROPY, p, NULL, y, WEIGHTS_OUT, WEIGHTS_OUT, w, total, g);
    assert_double_close(loss, torch_bce_loss[0], LOSS_TOL, LOSS_TOL);
    assert_grad(g, torch_bce_grad, N);
    loss = run(BNMLP_LOSS_BINARY_CROSSENTROPY, p, z, y, WEIGHTS_OUT, WEIGHTS_OUT, w, total, g);
    assert_double_close(loss, torch_bcez_loss[0], LOSS_TOL, LOSS_TOL);
    assert_grad(g, torch_bcez_grad, N);
    loss = run(BNMLP_LOSS_BINARY_CROSSENTROPY, p, NULL, y, WEIGHTS_OUT, WEIGHTS_OUT, w, WEIGHTS_B, g);
    assert_double_close(loss, keras_bce_loss[0], LOSS_TOL, LOSS_TOL);
    assert_grad(g, keras_bce_grad, N);
    loss = run(BNMLP_LOSS_BINARY_CROSSENTROPY, p, z, y, WEIGHTS_OUT, WEIGHTS_OUT, w, WEIGHTS_B, g);
    assert_double_close(loss, keras_bcez_loss[0], LOSS_TOL, LOSS_TOL);
    assert_grad(g, keras_bcez_grad, N);
}

/* Mean squared error, Keras's normalization. */
static void test_squared_weighted(void **unused) {
    (void)unused;
    enum { N = WEIGHTS_B * WEIGHTS_OUT };
    float o[N], y[N], w[WEIGHTS_B], g[N];
    to_floats(o, w_reg_o, N);
    to_floats(y, w_reg_y, N);
    to_floats(w, w_row, WEIGHTS_B);
    const double loss =
        run(BNMLP_LOSS_MEAN_SQUARED_ERROR, o, NULL, y, WEIGHTS_OUT, WEIGHTS_OUT, w, WEIGHTS_B, g);
    assert_double_close(loss, keras_mse_loss[0], LOSS_TOL, LOSS_TOL);
    assert_grad(g, keras_mse_grad, N);
}

/* Weights of 1 over N rows: the unweighted loss and gradient (to rounding), every loss. */
static void test_unit_weights_are_unweighted(void **unused) {
    (void)unused;
    enum { N = WEIGHTS_B * WEIGHTS_K };
    float z[N], p[N], y[N], ones[WEIGHTS_B], g1[N], g2[N];
    to_floats(z, w_logits, N);
    for (size_t i = 0; i < N; i++) p[i] = 1.0f / (1.0f + expf(-z[i])), y[i] = (float)(i % 2);
    for (size_t r = 0; r < WEIGHTS_B; r++) ones[r] = 1.0f;
    const struct {
        bnmlp_loss loss;
        const float *logits;
    } cases[] = {{BNMLP_LOSS_BINARY_CROSSENTROPY, NULL},
                 {BNMLP_LOSS_BINARY_CROSSENTROPY, z},
                 {BNMLP_LOSS_CATEGORICAL_CROSSENTROPY, NULL},
                 {BNMLP_LOSS_MEAN_SQUARED_ERROR, NULL}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float *yy = y;
        float onehot[N];
        if (cases[c].loss == BNMLP_LOSS_CATEGORICAL_CROSSENTROPY) {
            for (size_t i = 0; i < N; i++) onehot[i] = i % WEIGHTS_K == (i / WEIGHTS_K) % WEIGHTS_K;
            yy = onehot;
        }
        const double a = run(cases[c].loss, p, cases[c].logits, yy, WEIGHTS_K, WEIGHTS_K, NULL, 0.0, g1);
        const double b =
            run(cases[c].loss, p, cases[c].logits, yy, WEIGHTS_K, WEIGHTS_K, ones, WEIGHTS_B, g2);
        assert_double_close(a, b, 1e-12, 1e-12);
        assert_floats_close(g1, g2, N, 1e-7, 1e-6);
    }
}

/* scikit-learn's compute_class_weight("balanced"), from indices and from one-hot rows. */
static void test_balanced(void **unused) {
    (void)unused;
    enum { R = sizeof balanced_y / sizeof balanced_y[0], C = sizeof balanced_w / sizeof balanced_w[0] };
    float idx[R], onehot[R * C] = {0}, out[C];
    for (size_t r = 0; r < R; r++)
        idx[r] = (float)balanced_y[r], onehot[r * C + (size_t)balanced_y[r]] = 1.0f;
    bnmlp_tensor y = {.data = idx, .rows = R, .cols = 1};
    assert_ok(bnmlp_class_weights_balanced(&y, C, out));
    for (size_t c = 0; c < C; c++) assert_double_close((double)out[c], balanced_w[c], 1e-7, 1e-7);
    bnmlp_tensor y2 = {.data = onehot, .rows = R, .cols = C};
    float out2[C];
    assert_ok(bnmlp_class_weights_balanced(&y2, C, out2));
    assert_memory_equal(out, out2, sizeof out);
}

/* Every bad input refused, out untouched. */
static void test_balanced_bad_inputs(void **unused) {
    (void)unused;
    float good[4] = {0, 1, 1, 2}, missing[4] = {0, 0, 1, 1}, range[4] = {0, 1, 3, 2},
          frac[4] = {0, 1, 1.5f, 2}, negative[4] = {0, -1, 1, 2}, nan[4] = {0, NAN, 1, 2};
    const bnmlp_tensor t_good = {.data = good, .rows = 4, .cols = 1};
    const bnmlp_tensor t_wide = {.data = good, .rows = 2, .cols = 2};
    const bnmlp_tensor t_empty = {.data = good, .rows = 0, .cols = 1};
    const bnmlp_tensor t_missing = {.data = missing, .rows = 4, .cols = 1};
    const bnmlp_tensor t_range = {.data = range, .rows = 4, .cols = 1};
    const bnmlp_tensor t_frac = {.data = frac, .rows = 4, .cols = 1};
    const bnmlp_tensor t_negative = {.data = negative, .rows = 4, .cols = 1};
    const bnmlp_tensor t_nan = {.data = nan, .rows = 4, .cols = 1};
    const bnmlp_tensor t_nodata = {.data = NULL, .rows = 4, .cols = 1};
    const struct {
        const bnmlp_tensor *y;
        size_t classes;
        bool out;
        bnmlp_status want;
    } cases[] = {
        {NULL, 3, true, BNMLP_ERR_NULL_ARGUMENT},       {&t_good, 3, false, BNMLP_ERR_NULL_ARGUMENT},
        {&t_nodata, 3, true, BNMLP_ERR_NULL_ARGUMENT},  {&t_good, 1, true, BNMLP_ERR_INVALID_ARGUMENT},
        {&t_good, 0, true, BNMLP_ERR_INVALID_ARGUMENT}, {&t_wide, 3, true, BNMLP_ERR_SHAPE},
        {&t_empty, 3, true, BNMLP_ERR_SHAPE},           {&t_missing, 3, true, BNMLP_ERR_INVALID_ARGUMENT},
        {&t_range, 3, true, BNMLP_ERR_LABEL},           {&t_frac, 3, true, BNMLP_ERR_LABEL},
        {&t_negative, 3, true, BNMLP_ERR_LABEL},        {&t_nan, 3, true, BNMLP_ERR_LABEL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float out[3] = {-7.0f, -7.0f, -7.0f};
        assert_status(bnmlp_class_weights_balanced(cases[c].y, cases[c].classes, cases[c].out ? out : NULL),
                      cases[c].want);
        for (size_t k = 0; k < 3; k++) assert_true(out[k] == -7.0f);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_categorical_weighted),
        cmocka_unit_test(test_binary_weighted),
        cmocka_unit_test(test_squared_weighted),
        cmocka_unit_test(test_unit_weights_are_unweighted),
        cmocka_unit_test(test_balanced),
        cmocka_unit_test(test_balanced_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
