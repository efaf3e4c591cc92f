/* test_metrics.c - the metric table and accumulators: hand-computed cases, scikit-learn and Keras
 * (NumPy reimplementation) references from tools/gen_metrics_fixtures.py, the same rows in one
 * chunk and in many, every bad configuration and bad input, allocation. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "fixtures/metrics_reference.h"
#include "metrics/metrics.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Relative tolerance of every double against its reference (documented in docs/metrics.md);
 * a reference of 0 must be met within 1e-12. */
#define RELATIVE_TOLERANCE 1e-6
#define ZERO_TOLERANCE 1e-12

/* The largest relative error seen per metric kind, reported at the end (docs/metrics.md). */
static double worst_error[16];

/* A view of constant fixture data (the accumulator only reads it). */
static bnmlp_tensor view(const float *data, size_t rows, size_t cols) {
    return bnmlp_tensor_view((float *)(uintptr_t)data, rows, cols);
}

static bnmlp_metric_accumulator *create(bnmlp_metric kind, bnmlp_metric_task task, size_t outputs,
                                        size_t max_rows, size_t top_k) {
    bnmlp_metric_config config = BNMLP_METRIC_CONFIG_DEFAULT(kind, task, outputs);
    config.max_rows = max_rows;
    config.top_k = top_k;
    bnmlp_status status = BNMLP_ERR_IO;
    bnmlp_metric_accumulator *acc = bnmlp_metric_create(&config, &status);
    assert_ok(status);
    assert_non_null(acc);
    return acc;
}

static double value_of(bnmlp_metric_accumulator *acc) {
    double value = -12345.0;
    assert_ok(bnmlp_metric_value(acc, &value));
    return value;
}

/* Fails unless got is within the relative tolerance of expected; records the error. */
static void expect_close(double got, double expected, bnmlp_metric kind, const char *what) {
    const double error = fabs(got - expected);
    const double relative = expected == 0.0 ? error : error / fabs(expected);
    if (relative > worst_error[kind]) worst_error[kind] = relative;
    const bool ok = expected == 0.0 ? error <= ZERO_TOLERANCE : relative <= RELATIVE_TOLERANCE;
    if (!ok) print_error("%s %s: got %.17g, expected %.17g\n", what, bnmlp_metric_name(kind), got, expected);
    assert_true(ok);
}

/* Fails unless a and b are the same double bit for bit (or both NaN). */
static void expect_identical(double a, double b) {
    if (isnan(a) || isnan(b)) {
        assert_true(isnan(a) && isnan(b));
        return;
    }
    assert_memory_equal(&a, &b, sizeof a);
}

/* Feeds rows [0, rows) of (outputs, targets) to acc in chunks of the given sizes, cycling. */
static void feed(bnmlp_metric_accumulator *acc, const float *outputs, size_t out_cols, const float *targets,
                 size_t target_cols, size_t rows, const size_t *chunks, size_t chunk_count) {
    for (size_t start = 0, i = 0; start < rows; i++) {
        size_t n = chunks[i % chunk_count];
        if (n > rows - start) n = rows - start;
        bnmlp_tensor o = view(outputs + start * out_cols, n, out_cols);
        bnmlp_tensor t = view(targets + start * target_cols, n, target_cols);
        assert_ok(bnmlp_metric_add(acc, &o, &t, NULL));
        start += n;
    }
    assert_int_equal(bnmlp_metric_rows(acc), rows);
}

static const size_t one_chunk[] = {SIZE_MAX};
static const size_t many_chunks[] = {1, 7, 2, 13, 5};

/* The value of kind on the data, fed in one chunk; checks that many chunks, and a reset and
 * a second feed, give the same bits. */
static double value_everywhere(bnmlp_metric kind, bnmlp_metric_task task, size_t outputs, size_t top_k,
                               const float *out, const float *targets, size_t target_cols, size_t rows) {
    bnmlp_metric_accumulator *whole = create(kind, task, outputs, rows, top_k);
    bnmlp_metric_accumulator *pieces = create(kind, task, outputs, rows, top_k);
    feed(whole, out, outputs, targets, target_cols, rows, one_chunk, 1);
    feed(pieces, out, outputs, targets, target_cols, rows, many_chunks, COUNT(many_chunks));
    const double value = value_of(whole);
    expect_identical(value_of(pieces), value);
    expect_identical(value_of(whole), value); /* asking twice changes nothing */
    assert_ok(bnmlp_metric_reset(pieces));
    assert_int_equal(bnmlp_metric_rows(pieces), 0);
    assert_true(isnan(value_of(pieces)));
    feed(pieces, out, outputs, targets, target_cols, rows, many_chunks + 1, COUNT(many_chunks) - 1);
    expect_identical(value_of(pieces), value);
    bnmlp_metric_free(whole);
    bnmlp_metric_free(pieces);
    return value;
}

/* The confusion matrix of a classification accumulator fed the data in one chunk and in many. */
static void expect_confusion(bnmlp_metric kind, bnmlp_metric_task task, size_t outputs, const float *out,
                             const float *targets, size_t target_cols, size_t rows, const uint64_t *expected,
                             size_t classes) {
    const size_t *splits[] = {one_chunk, many_chunks};
    const size_t split_counts[] = {1, COUNT(many_chunks)};
    for (size_t s = 0; s < 2; s++) {
        bnmlp_metric_accumulator *acc = create(kind, task, outputs, rows, 5);
        feed(acc, out, outputs, targets, target_cols, rows, splits[s], split_counts[s]);
        size_t got_classes = 0;
        assert_ok(bnmlp_metric_confusion_matrix(acc, NULL, 0, &got_classes));
        assert_int_equal(got_classes, classes);
        uint64_t *counts = calloc(classes * classes, sizeof *counts);
        assert_non_null(counts);
        assert_ok(bnmlp_metric_confusion_matrix(acc, counts, classes * classes, NULL));
        for (size_t i = 0; i < classes * classes; i++) assert_int_equal(counts[i], expected[i]);
        free(counts);
        bnmlp_metric_free(acc);
    }
}

/* ---- the table ---------------------------------------------------------------------------- */

static void test_table(void **state) {
    (void)state;
    assert_int_equal(bnmlp_metric_kind_count(), BNMLP_METRIC_R2 + 1);
    for (size_t k = 0; k < bnmlp_metric_kind_count(); k++) {
        const bnmlp_metric kind = (bnmlp_metric)k;
        const bnmlp_metric_row *row = bnmlp_metric_row_of(kind);
        assert_non_null(row);
        assert_int_equal(row->kind, kind); /* rows in enum order */
        bnmlp_metric_info info;
        assert_ok(bnmlp_metric_describe(kind, &info));
        assert_string_equal(info.name, bnmlp_metric_name(kind));
        assert_true(strlen(info.description) > 10);
        assert_true(info.tasks != 0 && info.tasks < 8);
        assert_int_equal(info.scalar, kind != BNMLP_METRIC_CONFUSION_MATRIX);
        assert_int_equal(info.greater_is_better,
                         kind != BNMLP_METRIC_MEAN_ABSOLUTE_ERROR && kind != BNMLP_METRIC_RMSE);
        bnmlp_metric found = (bnmlp_metric)99;
        assert_ok(bnmlp_metric_from_name(info.name, &found));
        assert_int_equal(found, kind);
        if (info.alias) {
            found = (bnmlp_metric)99;
            assert_ok(bnmlp_metric_from_name(info.alias, &found));
            assert_int_equal(found, kind);
        }
        /* No two kinds share a name or an alias. */
        for (size_t j = 0; j < k; j++) {
            bnmlp_metric_info other;
            assert_ok(bnmlp_metric_describe((bnmlp_metric)j, &other));
            assert_true(strcmp(other.name, info.name) != 0);
            if (info.alias && other.alias) assert_true(strcmp(other.alias, info.alias) != 0);
        }
    }
    /* Keras's names, which users type. */
    const struct {
        const char *name;
        bnmlp_metric kind;
    } names[] = {{"accuracy", BNMLP_METRIC_ACCURACY},
                 {"precision", BNMLP_METRIC_PRECISION},
                 {"recall", BNMLP_METRIC_RECALL},
                 {"f1_score", BNMLP_METRIC_F1},
                 {"auc", BNMLP_METRIC_AUC},
                 {"roc_auc", BNMLP_METRIC_ROC_AUC},
                 {"top_k_categorical_accuracy", BNMLP_METRIC_TOP_K_ACCURACY},
                 {"mae", BNMLP_METRIC_MEAN_ABSOLUTE_ERROR},
                 {"mean_absolute_error", BNMLP_METRIC_MEAN_ABSOLUTE_ERROR},
                 {"root_mean_squared_error", BNMLP_METRIC_RMSE},
                 {"r2_score", BNMLP_METRIC_R2}};
    for (size_t i = 0; i < COUNT(names); i++) {
        bnmlp_metric kind;
        assert_ok(bnmlp_metric_from_name(names[i].name, &kind));
        assert_int_equal(kind, names[i].kind);
    }
    bnmlp_metric kind = BNMLP_METRIC_AUC;
    assert_status(bnmlp_metric_from_name("AUC", &kind), BNMLP_ERR_INVALID_ARGUMENT); /* case-sensitive */
    assert_status(bnmlp_metric_from_name("", &kind), BNMLP_ERR_INVALID_ARGUMENT);
    assert_int_equal(kind, BNMLP_METRIC_AUC); /* untouched */
    assert_status(bnmlp_metric_from_name(NULL, &kind), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_metric_from_name("auc", NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_string_equal(bnmlp_metric_name((bnmlp_metric)99), "unknown");
    assert_string_equal(bnmlp_metric_name((bnmlp_metric)-1), "unknown");
    bnmlp_metric_info info;
    assert_status(bnmlp_metric_describe((bnmlp_metric)99, &info), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_metric_describe(BNMLP_METRIC_AUC, NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_null(bnmlp_metric_row_of((bnmlp_metric)99));
}

/* ---- hand-computed cases ------------------------------------------------------------------ */

static double single_value(bnmlp_metric kind, bnmlp_metric_task task, size_t outputs, const float *out,
                           const float *targets, size_t target_cols, size_t rows, size_t num_thresholds,
                           size_t top_k) {
    bnmlp_metric_config config = BNMLP_METRIC_CONFIG_DEFAULT(kind, task, outputs);
    config.num_thresholds = num_thresholds;
    config.top_k = top_k;
    config.max_rows = rows;
    bnmlp_metric_accumulator *acc = bnmlp_metric_create(&config, NULL);
    assert_non_null(acc);
    bnmlp_tensor o = view(out, rows, outputs), t = view(targets, rows, target_cols);
    assert_ok(bnmlp_metric_add(acc, &o, &t, NULL));
    const double value = value_of(acc);
    bnmlp_metric_free(acc);
    return value;
}

static void test_hand_computed(void **state) {
    (void)state;
    /* Keras's AUC docstring: AUC(num_thresholds=3) on y [0, 0, 1, 1], p [0, 0.5, 0.3, 0.9]:
     * tp [2, 1, 0], fp [2, 0, 0], recall [1, 0.5, 0], fpr [1, 0, 0], area 0.75. */
    const float p[] = {0.0f, 0.5f, 0.3f, 0.9f}, y[] = {0, 0, 1, 1};
    const bnmlp_metric_task binary = BNMLP_METRIC_TASK_BINARY;
    assert_true(single_value(BNMLP_METRIC_AUC, binary, 1, p, y, 1, 4, 3, 5) == 0.75);
    /* Exact: positives 0.3, 0.9 against negatives 0, 0.5: 3 of 4 pairs ordered. */
    assert_true(single_value(BNMLP_METRIC_ROC_AUC, binary, 1, p, y, 1, 4, 200, 5) == 0.75);
    /* p > 0.5 only for 0.9: TP 1, FP 0, FN 1; 0.5 itself is negative. */
    assert_true(single_value(BNMLP_METRIC_PRECISION, binary, 1, p, y, 1, 4, 200, 5) == 1.0);
    assert_true(single_value(BNMLP_METRIC_RECALL, binary, 1, p, y, 1, 4, 200, 5) == 0.5);
    assert_true(fabs(single_value(BNMLP_METRIC_F1, binary, 1, p, y, 1, 4, 200, 5) - 2.0 / 3.0) < 1e-15);
    assert_true(single_value(BNMLP_METRIC_ACCURACY, binary, 1, p, y, 1, 4, 200, 5) == 0.75);
    /* A tie between a positive and a negative counts half: scores {0.4 (+), 0.4 (-)} -> 0.5. */
    const float tie_p[] = {0.4f, 0.4f}, tie_y[] = {1, 0};
    assert_true(single_value(BNMLP_METRIC_ROC_AUC, binary, 1, tie_p, tie_y, 1, 2, 200, 5) == 0.5);
    assert_true(single_value(BNMLP_METRIC_AUC, binary, 1, tie_p, tie_y, 1, 2, 200, 5) == 0.5);
    /* Keras's in_top_k docstring: targets [2, 5, 3], k 3 -> [true, false, true]. */
    const float scores[] = {0.1f, 0.4f, 0.6f, 0.9f, 0.5f, 0.0f, 0.1f, 0.7f, 0.9f,
                            0.8f, 0.3f, 0.0f, 0.1f, 0.6f, 0.9f, 0.9f, 0.5f, 0.0f};
    const float classes[] = {2, 5, 3};
    const double top3 = single_value(BNMLP_METRIC_TOP_K_ACCURACY, BNMLP_METRIC_TASK_MULTICLASS, 6, scores,
                                     classes, 1, 3, 200, 3);
    assert_true(top3 == 2.0 / 3.0);
    /* Ties straddling k: class 3 ties class 2 at 0.9 as the 1st/2nd largest -> in the top 1. */
    const float third[] = {3};
    assert_true(single_value(BNMLP_METRIC_TOP_K_ACCURACY, BNMLP_METRIC_TASK_MULTICLASS, 6, scores + 12, third,
                             1, 1, 200, 1) == 1.0);
    /* argmax takes the first maximum: class 2, not 3, so class 3 is wrong. */
    assert_true(single_value(BNMLP_METRIC_ACCURACY, BNMLP_METRIC_TASK_MULTICLASS, 6, scores + 12, third, 1, 1,
                             200, 5) == 0.0);
    /* Regression: errors 1, -2, 0.5 -> MAE 3.5 / 3, RMSE sqrt(5.25 / 3). */
    const float o[] = {2.0f, 0.0f, 1.5f}, t[] = {1.0f, 2.0f, 1.0f};
    const bnmlp_metric_task regression = BNMLP_METRIC_TASK_REGRESSION;
    assert_true(fabs(single_value(BNMLP_METRIC_MEAN_ABSOLUTE_ERROR, regression, 1, o, t, 1, 3, 200, 5) -
                     3.5 / 3) < 1e-15);
    assert_true(fabs(single_value(BNMLP_METRIC_RMSE, regression, 1, o, t, 1, 3, 200, 5) - sqrt(5.25 / 3)) <
                1e-15);
    /* Keras's docstrings: RootMeanSquaredError on [[0, 1], [0, 0]] vs [[1, 1], [0, 0]] is 0.5 (the
     * mean over all four elements); R2Score on y [1, 4, 3], p [2, 4, 4] is 4/7. */
    const float rmse_y[] = {0, 1, 0, 0}, rmse_p[] = {1, 1, 0, 0};
    assert_true(single_value(BNMLP_METRIC_RMSE, regression, 2, rmse_p, rmse_y, 2, 2, 200, 5) == 0.5);
    const float r2_y[] = {1, 4, 3}, r2_p[] = {2, 4, 4};
    assert_true(fabs(single_value(BNMLP_METRIC_R2, regression, 1, r2_p, r2_y, 1, 3, 200, 5) - 4.0 / 7.0) <
                1e-15);
    /* R^2: targets mean 4/3, SS_tot = 2/3, SS_res 5.25 -> 1 - 5.25 / (2/3). */
    assert_true(fabs(single_value(BNMLP_METRIC_R2, regression, 1, o, t, 1, 3, 200, 5) - (1.0 - 5.25 * 1.5)) <
                1e-12);
}

/* ---- the peers' values ------------------------------------------------------------------- */

static void test_binary_fixtures(void **state) {
    (void)state;
    const bnmlp_metric_task task = BNMLP_METRIC_TASK_BINARY;
    for (size_t i = 0; i < COUNT(metrics_binary_cases); i++) {
        const metrics_binary_case *c = &metrics_binary_cases[i];
        const struct {
            bnmlp_metric kind;
            double expected;
        } checks[] = {{BNMLP_METRIC_ACCURACY, c->accuracy}, {BNMLP_METRIC_PRECISION, c->precision},
                      {BNMLP_METRIC_RECALL, c->recall},     {BNMLP_METRIC_F1, c->f1},
                      {BNMLP_METRIC_AUC, c->auc},           {BNMLP_METRIC_ROC_AUC, c->roc_auc}};
        for (size_t k = 0; k < COUNT(checks); k++) {
            const double got = value_everywhere(checks[k].kind, task, c->width, 5, c->outputs, c->targets,
                                                c->width, c->rows);
            if (checks[k].kind == BNMLP_METRIC_ROC_AUC && !c->roc_auc_defined) {
                assert_true(isnan(got));
                continue;
            }
            expect_close(got, checks[k].expected, checks[k].kind, c->name);
        }
        /* Every classification kind keeps the same confusion matrix. */
        const bnmlp_metric kinds[] = {BNMLP_METRIC_CONFUSION_MATRIX, BNMLP_METRIC_F1, BNMLP_METRIC_AUC};
        for (size_t k = 0; k < COUNT(kinds); k++)
            expect_confusion(kinds[k], task, c->width, c->outputs, c->targets, c->width, c->rows,
                             c->confusion, 2);
    }
}

static void test_multiclass_fixtures(void **state) {
    (void)state;
    const bnmlp_metric_task task = BNMLP_METRIC_TASK_MULTICLASS;
    for (size_t i = 0; i < COUNT(metrics_multiclass_cases); i++) {
        const metrics_multiclass_case *c = &metrics_multiclass_cases[i];
        const struct {
            bnmlp_metric kind;
            double expected;
        } checks[] = {{BNMLP_METRIC_ACCURACY, c->accuracy},
                      {BNMLP_METRIC_TOP_K_ACCURACY, c->top_k_accuracy},
                      {BNMLP_METRIC_F1_MACRO, c->f1_macro},
                      {BNMLP_METRIC_F1_WEIGHTED, c->f1_weighted}};
        for (size_t k = 0; k < COUNT(checks); k++) {
            const double got = value_everywhere(checks[k].kind, task, c->classes, c->top_k, c->outputs,
                                                c->targets, c->target_width, c->rows);
            expect_close(got, checks[k].expected, checks[k].kind, c->name);
        }
        const bnmlp_metric kinds[] = {BNMLP_METRIC_CONFUSION_MATRIX, BNMLP_METRIC_ACCURACY,
                                      BNMLP_METRIC_TOP_K_ACCURACY};
        for (size_t k = 0; k < COUNT(kinds); k++)
            expect_confusion(kinds[k], task, c->classes, c->outputs, c->targets, c->target_width, c->rows,
                             c->confusion, c->classes);
    }
}

static void test_regression_fixtures(void **state) {
    (void)state;
    const bnmlp_metric_task task = BNMLP_METRIC_TASK_REGRESSION;
    for (size_t i = 0; i < COUNT(metrics_regression_cases); i++) {
        const metrics_regression_case *c = &metrics_regression_cases[i];
        const struct {
            bnmlp_metric kind;
            double expected;
        } checks[] = {{BNMLP_METRIC_MEAN_ABSOLUTE_ERROR, c->mae},
                      {BNMLP_METRIC_RMSE, c->rmse},
                      {BNMLP_METRIC_R2, c->r2}};
        for (size_t k = 0; k < COUNT(checks); k++) {
            const double got = value_everywhere(checks[k].kind, task, c->width, 5, c->outputs, c->targets,
                                                c->width, c->rows);
            if (checks[k].kind == BNMLP_METRIC_R2 && !c->r2_defined) {
                assert_true(isnan(got));
                continue;
            }
            expect_close(got, checks[k].expected, checks[k].kind, c->name);
        }
    }
}

/* Prints the largest relative error each metric showed against its fixtures (docs/metrics.md). */
static void test_report_errors(void **state) {
    (void)state;
    for (size_t k = 0; k < bnmlp_metric_kind_count() && k < COUNT(worst_error); k++)
        print_message("largest relative error %-28s %.3g\n", bnmlp_metric_name((bnmlp_metric)k),
                      worst_error[k]);
}

/* ---- agreement with the library's own accuracy ------------------------------------------------- */

/* "accuracy" counts as bnmlp_model_evaluate does (binary p > 0.5 per output, multiclass the
 * first argmax): the same value for a model's predictions, fed here in chunks of 7 rows. */
static void expect_accuracy_matches_evaluate(size_t outputs, bnmlp_loss loss, bnmlp_activation activation,
                                             bnmlp_metric_task task, size_t target_cols) {
    enum { ROWS = 50, INPUTS = 3 };
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(INPUTS, &status);
    assert_ok(status);
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(outputs);
    dense.activation = activation;
    assert_ok(bnmlp_model_add_dense(model, &dense));
    assert_ok(bnmlp_model_set_loss(model, loss));
    assert_ok(bnmlp_model_build(model, 16, 7));
    float x[ROWS * INPUTS], y[ROWS * 3], out[ROWS * 3];
    bnmlp_test_fill(x, ROWS * INPUTS, 11);
    bnmlp_test_fill(y, ROWS * target_cols, 12);
    for (size_t i = 0; i < ROWS * target_cols; i++) /* 0/1 labels, or class indices 0..2 */
        y[i] = task == BNMLP_METRIC_TASK_BINARY ? (float)(y[i] > 0.0f)
                                                : (float)((size_t)((y[i] + 1.0f) * 1.5f) % 3);
    bnmlp_tensor tx = view(x, ROWS, INPUTS), ty = view(y, ROWS, target_cols);
    bnmlp_tensor tout = bnmlp_tensor_view(out, ROWS, outputs);
    double loss_value, accuracy;
    assert_ok(bnmlp_model_evaluate(model, &tx, &ty, &loss_value, &accuracy));
    assert_ok(bnmlp_model_predict(model, &tx, &tout));
    bnmlp_metric_accumulator *acc = create(BNMLP_METRIC_ACCURACY, task, outputs, 0, 5);
    const size_t chunk[] = {7};
    feed(acc, out, outputs, y, target_cols, ROWS, chunk, 1);
    expect_identical(value_of(acc), accuracy);
    bnmlp_metric_free(acc);
    bnmlp_model_free(model);
}

static void test_accuracy_matches_evaluate(void **state) {
    (void)state;
    expect_accuracy_matches_evaluate(1, BNMLP_LOSS_BINARY_CROSSENTROPY, BNMLP_ACTIVATION_SIGMOID,
                                     BNMLP_METRIC_TASK_BINARY, 1);
    expect_accuracy_matches_evaluate(3, BNMLP_LOSS_BINARY_CROSSENTROPY, BNMLP_ACTIVATION_SIGMOID,
                                     BNMLP_METRIC_TASK_BINARY, 3); /* multi-label: every element */
    expect_accuracy_matches_evaluate(3, BNMLP_LOSS_CATEGORICAL_CROSSENTROPY, BNMLP_ACTIVATION_SOFTMAX,
                                     BNMLP_METRIC_TASK_MULTICLASS, 1);
}

/* ---- bad configurations -------------------------------------------------------------------- */

typedef struct bad_config_case {
    const char *what;
    bnmlp_metric kind;
    bnmlp_metric_task task;
    size_t outputs, top_k, num_thresholds, max_rows;
    bnmlp_status status;
} bad_config_case;

static const bad_config_case bad_configs[] = {
    {"unknown kind", (bnmlp_metric)99, BNMLP_METRIC_TASK_BINARY, 1, 5, 200, 0, BNMLP_ERR_INVALID_ARGUMENT},
    {"negative kind", (bnmlp_metric)-1, BNMLP_METRIC_TASK_BINARY, 1, 5, 200, 0, BNMLP_ERR_INVALID_ARGUMENT},
    {"unknown task", BNMLP_METRIC_ACCURACY, (bnmlp_metric_task)3, 1, 5, 200, 0, BNMLP_ERR_INVALID_ARGUMENT},
    {"precision on multiclass", BNMLP_METRIC_PRECISION, BNMLP_METRIC_TASK_MULTICLASS, 3, 5, 200, 0,
     BNMLP_ERR_INVALID_ARGUMENT},
    {"f1_macro on binary", BNMLP_METRIC_F1_MACRO, BNMLP_METRIC_TASK_BINARY, 1, 5, 200, 0,
     BNMLP_ERR_INVALID_ARGUMENT},
    {"mae on binary", BNMLP_METRIC_MEAN_ABSOLUTE_ERROR, BNMLP_METRIC_TASK_BINARY, 1, 5, 200, 0,
     BNMLP_ERR_INVALID_ARGUMENT},
    {"accuracy on regression", BNMLP_METRIC_ACCURACY, BNMLP_METRIC_TASK_REGRESSION, 1, 5, 200, 0,
     BNMLP_ERR_INVALID_ARGUMENT},
    {"no outputs", BNMLP_METRIC_RMSE, BNMLP_METRIC_TASK_REGRESSION, 0, 5, 200, 0, BNMLP_ERR_INVALID_ARGUMENT},
    {"no binary outputs", BNMLP_METRIC_RECALL, BNMLP_METRIC_TASK_BINARY, 0, 5, 200, 0,
     BNMLP_ERR_INVALID_ARGUMENT},
    {"one class", BNMLP_METRIC_ACCURACY, BNMLP_METRIC_TASK_MULTICLASS, 1, 5, 200, 0,
     BNMLP_ERR_INVALID_ARGUMENT},
    {"top_k 0", BNMLP_METRIC_TOP_K_ACCURACY, BNMLP_METRIC_TASK_MULTICLASS, 3, 0, 200, 0,
     BNMLP_ERR_INVALID_ARGUMENT},
    {"1 threshold", BNMLP_METRIC_AUC, BNMLP_METRIC_TASK_BINARY, 1, 5, 1, 0, BNMLP_ERR_INVALID_ARGUMENT},
    {"2^24 + 1 thresholds", BNMLP_METRIC_AUC, BNMLP_METRIC_TASK_BINARY, 1, 5, ((size_t)1 << 24) + 1, 0,
     BNMLP_ERR_INVALID_ARGUMENT},
    {"roc_auc without max_rows", BNMLP_METRIC_ROC_AUC, BNMLP_METRIC_TASK_BINARY, 1, 5, 200, 0,
     BNMLP_ERR_INVALID_ARGUMENT},
    {"roc_auc scores overflow", BNMLP_METRIC_ROC_AUC, BNMLP_METRIC_TASK_BINARY, 2, 5, 200, SIZE_MAX,
     BNMLP_ERR_OVERFLOW},
    {"roc_auc bytes overflow", BNMLP_METRIC_ROC_AUC, BNMLP_METRIC_TASK_BINARY, 1, 5, 200, SIZE_MAX / 4,
     BNMLP_ERR_OVERFLOW},
    {"confusion cells overflow", BNMLP_METRIC_CONFUSION_MATRIX, BNMLP_METRIC_TASK_MULTICLASS, SIZE_MAX / 2, 5,
     200, 0, BNMLP_ERR_OVERFLOW},
    {"regression columns too many", BNMLP_METRIC_R2, BNMLP_METRIC_TASK_REGRESSION, SIZE_MAX / 2, 5, 200, 0,
     BNMLP_ERR_OVERFLOW},
};

static void test_bad_configs(void **state) {
    (void)state;
    counting_allocator counter = {0};
    const bnmlp_allocator allocator = counting_allocator_of(&counter);
    for (size_t i = 0; i < COUNT(bad_configs); i++) {
        const bad_config_case *c = &bad_configs[i];
        bnmlp_metric_config config = BNMLP_METRIC_CONFIG_DEFAULT(c->kind, c->task, c->outputs);
        config.top_k = c->top_k, config.num_thresholds = c->num_thresholds, config.max_rows = c->max_rows;
        config.allocator = &allocator;
        bnmlp_status status = BNMLP_OK;
        bnmlp_metric_accumulator *acc = bnmlp_metric_create(&config, &status);
        if (status != c->status) print_error("case %s: status %d, expected %d\n", c->what, status, c->status);
        assert_null(acc);
        assert_status(status, c->status);
        assert_null(bnmlp_metric_create(&config, NULL)); /* status pointer optional */
    }
    assert_int_equal(counter.calls, 0); /* nothing allocated for a bad configuration */
    bnmlp_status status = BNMLP_OK;
    assert_null(bnmlp_metric_create(NULL, &status));
    assert_status(status, BNMLP_ERR_NULL_ARGUMENT);
    bnmlp_metric_config config = BNMLP_METRIC_CONFIG_DEFAULT(BNMLP_METRIC_AUC, BNMLP_METRIC_TASK_BINARY, 1);
    const bnmlp_allocator half = {.allocate = counting_allocate, .release = NULL, .context = &counter};
    config.allocator = &half;
    assert_null(bnmlp_metric_create(&config, &status));
    assert_status(status, BNMLP_ERR_NULL_ARGUMENT);
    /* The smallest valid settings. */
    config = BNMLP_METRIC_CONFIG_DEFAULT(BNMLP_METRIC_AUC, BNMLP_METRIC_TASK_BINARY, 1);
    config.num_thresholds = 2;
    bnmlp_metric_accumulator *acc = bnmlp_metric_create(&config, &status);
    assert_ok(status);
    const float p[] = {0.2f, 0.9f}, y[] = {0, 1};
    bnmlp_tensor o = view(p, 2, 1), t = view(y, 2, 1);
    assert_ok(bnmlp_metric_add(acc, &o, &t, NULL));
    assert_true(value_of(acc) == 0.5); /* two thresholds: every score above the lower one */
    bnmlp_metric_free(acc);
}

/* ---- bad inputs ------------------------------------------------------------------------------- */

/* One bad chunk: given to an accumulator that already holds a good one. */
typedef struct bad_input_case {
    const char *what;
    bnmlp_metric kind;
    bnmlp_metric_task task;
    size_t outputs;          /* the accumulator's width */
    size_t rows, out_cols;   /* the bad outputs' shape */
    size_t target_cols;      /* the bad targets' width (rows as outputs unless target_rows) */
    size_t target_rows;      /* 0: as rows */
    float out[6], target[6]; /* row-major data */
    bnmlp_status status;
    size_t column; /* the column *detail names (0: none) */
} bad_input_case;

#define B BNMLP_METRIC_TASK_BINARY
#define M BNMLP_METRIC_TASK_MULTICLASS
#define R BNMLP_METRIC_TASK_REGRESSION

static const bad_input_case bad_inputs[] = {
    {"binary target 0.5", BNMLP_METRIC_F1, B, 1, 2, 1, 1, 0, {0.1f, 0.9f}, {0, 0.5f}, BNMLP_ERR_LABEL, 1},
    {"binary target 2", BNMLP_METRIC_PRECISION, B, 2, 1, 2, 2, 0, {0.1f, 0.9f}, {1, 2}, BNMLP_ERR_LABEL, 2},
    {"binary target -1", BNMLP_METRIC_AUC, B, 1, 1, 1, 1, 0, {0.1f}, {-1}, BNMLP_ERR_LABEL, 1},
    {"roc_auc target 0.999", BNMLP_METRIC_ROC_AUC, B, 1, 1, 1, 1, 0, {0.1f}, {0.999f}, BNMLP_ERR_LABEL, 1},
    {"class index K", BNMLP_METRIC_ACCURACY, M, 3, 1, 3, 1, 0, {1, 2, 3}, {3}, BNMLP_ERR_LABEL, 1},
    {"class index 1.5", BNMLP_METRIC_F1_MACRO, M, 3, 1, 3, 1, 0, {1, 2, 3}, {1.5f}, BNMLP_ERR_LABEL, 1},
    {"class index -1", BNMLP_METRIC_TOP_K_ACCURACY, M, 3, 1, 3, 1, 0, {1, 2, 3}, {-1}, BNMLP_ERR_LABEL, 1},
    {"negative probability",
     BNMLP_METRIC_F1_WEIGHTED,
     M,
     3,
     1,
     3,
     3,
     0,
     {1, 2, 3},
     {1.5f, -0.5f, 0},
     BNMLP_ERR_LABEL,
     2},
    {"row sums to 0.9",
     BNMLP_METRIC_CONFUSION_MATRIX,
     M,
     3,
     1,
     3,
     3,
     0,
     {1, 2, 3},
     {0.5f, 0.4f, 0},
     BNMLP_ERR_LABEL,
     0},
    {"output NaN", BNMLP_METRIC_ACCURACY, B, 1, 2, 1, 1, 0, {0.1f, NAN}, {0, 1}, BNMLP_ERR_NOT_FINITE, 1},
    {"output infinity",
     BNMLP_METRIC_ROC_AUC,
     B,
     2,
     1,
     2,
     2,
     0,
     {0.1f, -INFINITY},
     {0, 1},
     BNMLP_ERR_NOT_FINITE,
     2},
    {"target NaN", BNMLP_METRIC_TOP_K_ACCURACY, M, 2, 1, 2, 1, 0, {1, 2}, {NAN}, BNMLP_ERR_NOT_FINITE, 1},
    {"regression target infinity",
     BNMLP_METRIC_R2,
     R,
     2,
     1,
     2,
     2,
     0,
     {1, 2},
     {0, INFINITY},
     BNMLP_ERR_NOT_FINITE,
     2},
    {"regression output NaN", BNMLP_METRIC_RMSE, R, 1, 1, 1, 1, 0, {NAN}, {0}, BNMLP_ERR_NOT_FINITE, 1},
    {"outputs too wide", BNMLP_METRIC_RECALL, B, 1, 1, 2, 2, 0, {0.1f, 0.2f}, {0, 1}, BNMLP_ERR_SHAPE, 0},
    {"outputs too narrow", BNMLP_METRIC_ACCURACY, M, 3, 1, 2, 1, 0, {1, 2}, {0}, BNMLP_ERR_SHAPE, 0},
    {"targets fewer rows",
     BNMLP_METRIC_MEAN_ABSOLUTE_ERROR,
     R,
     1,
     2,
     1,
     1,
     1,
     {1, 2},
     {1},
     BNMLP_ERR_SHAPE,
     0},
    {"targets more rows", BNMLP_METRIC_AUC, B, 1, 1, 1, 1, 2, {0.5f}, {0, 1}, BNMLP_ERR_SHAPE, 0},
    {"binary targets narrower", BNMLP_METRIC_F1, B, 2, 1, 2, 1, 0, {0.1f, 0.9f}, {1}, BNMLP_ERR_SHAPE, 0},
    {"multiclass targets of 2 for K 3",
     BNMLP_METRIC_ACCURACY,
     M,
     3,
     1,
     3,
     2,
     0,
     {1, 2, 3},
     {0, 1},
     BNMLP_ERR_SHAPE,
     0},
    {"regression targets wider", BNMLP_METRIC_R2, R, 1, 1, 1, 2, 0, {1}, {1, 2}, BNMLP_ERR_SHAPE, 0},
    {"roc_auc beyond max_rows",
     BNMLP_METRIC_ROC_AUC,
     B,
     1,
     3,
     1,
     1,
     0,
     {0.1f, 0.2f, 0.3f},
     {0, 1, 0},
     BNMLP_ERR_BATCH_TOO_LARGE,
     0},
};

/* Every scalar value and the confusion matrix (when there is one) of acc, to compare. */
typedef struct snapshot {
    double value;
    size_t rows;
    uint64_t counts[16];
} snapshot;

static snapshot take_snapshot(bnmlp_metric_accumulator *acc, bnmlp_metric kind) {
    snapshot s = {.value = 0.0, .rows = bnmlp_metric_rows(acc)};
    if (kind != BNMLP_METRIC_CONFUSION_MATRIX) assert_ok(bnmlp_metric_value(acc, &s.value));
    size_t classes = 0;
    if (bnmlp_metric_confusion_matrix(acc, NULL, 0, &classes) == BNMLP_OK)
        assert_ok(bnmlp_metric_confusion_matrix(acc, s.counts, classes * classes, NULL));
    return s;
}

static void test_bad_inputs(void **state) {
    (void)state;
    for (size_t i = 0; i < COUNT(bad_inputs); i++) {
        const bad_input_case *c = &bad_inputs[i];
        /* max_rows 4: the good chunk below takes 2 rows of it. */
        bnmlp_metric_accumulator *acc = create(c->kind, c->task, c->outputs, 4, 2);
        /* A good first chunk of two rows, so that the state is not empty. */
        float good_out[6], good_target[6];
        const size_t good_target_cols = c->task == M ? 1 : c->outputs;
        for (size_t j = 0; j < 2 * c->outputs; j++)
            good_out[j] = c->task == M ? (float)(j % 3) : 0.25f * (float)j;
        for (size_t j = 0; j < 2 * good_target_cols; j++) good_target[j] = (float)(j % 2);
        bnmlp_tensor o = view(good_out, 2, c->outputs), t = view(good_target, 2, good_target_cols);
        assert_ok(bnmlp_metric_add(acc, &o, &t, NULL));
        const snapshot before = take_snapshot(acc, c->kind);

        bnmlp_tensor bad_o = view(c->out, c->rows, c->out_cols);
        bnmlp_tensor bad_t = view(c->target, c->target_rows ? c->target_rows : c->rows, c->target_cols);
        bnmlp_error_detail detail = {.line = 77, .column = 77};
        const bnmlp_status status = bnmlp_metric_add(acc, &bad_o, &bad_t, &detail);
        if (status != c->status || detail.column != c->column)
            print_error("case %s: status %d column %zu (%s); expected %d column %zu\n", c->what, status,
                        detail.column, detail.message, c->status, c->column);
        assert_status(status, c->status);
        assert_int_equal(detail.column, c->column);
        assert_true(strlen(detail.message) > 10);
        assert_status(bnmlp_metric_add(acc, &bad_o, &bad_t, NULL), c->status); /* detail optional */
        const snapshot after = take_snapshot(acc, c->kind);
        assert_int_equal(after.rows, before.rows);
        expect_identical(after.value, before.value);
        assert_memory_equal(after.counts, before.counts, sizeof before.counts);
        bnmlp_metric_free(acc);
    }
}

/* The row a bad value's detail names counts every row since the last reset. */
static void test_detail_row_numbers(void **state) {
    (void)state;
    bnmlp_metric_accumulator *acc = create(BNMLP_METRIC_ACCURACY, B, 1, 0, 5);
    const float p[] = {0.1f, 0.7f, 0.2f}, good[] = {0, 1, 1}, bad[] = {0, 1, 7};
    bnmlp_tensor o = view(p, 3, 1), t = view(good, 3, 1), bad_t = view(bad, 3, 1);
    assert_ok(bnmlp_metric_add(acc, &o, &t, NULL));
    bnmlp_error_detail detail;
    assert_status(bnmlp_metric_add(acc, &o, &bad_t, &detail), BNMLP_ERR_LABEL);
    assert_non_null(strstr(detail.message, "row 6"));
    assert_non_null(strstr(detail.message, "7"));
    assert_ok(bnmlp_metric_reset(acc));
    assert_status(bnmlp_metric_add(acc, &o, &bad_t, &detail), BNMLP_ERR_LABEL);
    assert_non_null(strstr(detail.message, "row 3"));
    bnmlp_metric_free(acc);
}

static void test_bad_arguments(void **state) {
    (void)state;
    bnmlp_metric_accumulator *acc = create(BNMLP_METRIC_ACCURACY, B, 1, 0, 5);
    const float p[] = {0.1f}, y[] = {0};
    bnmlp_tensor o = view(p, 1, 1), t = view(y, 1, 1), no_data = view(NULL, 1, 1), empty = view(p, 0, 1);
    bnmlp_error_detail detail;
    assert_status(bnmlp_metric_add(NULL, &o, &t, &detail), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_metric_add(acc, NULL, &t, &detail), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_metric_add(acc, &o, NULL, &detail), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_metric_add(acc, &no_data, &t, &detail), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_metric_add(acc, &o, &no_data, &detail), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_metric_add(acc, &empty, &t, &detail), BNMLP_ERR_SHAPE);
    assert_int_equal(bnmlp_metric_rows(acc), 0);
    double value = 5.0;
    assert_status(bnmlp_metric_value(NULL, &value), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_metric_value(acc, NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_ok(bnmlp_metric_value(acc, &value));
    assert_true(isnan(value)); /* no rows yet */
    assert_status(bnmlp_metric_reset(NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_int_equal(bnmlp_metric_rows(NULL), 0);
    uint64_t counts[4] = {9, 9, 9, 9};
    assert_status(bnmlp_metric_confusion_matrix(NULL, counts, 4, NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_metric_confusion_matrix(acc, NULL, 4, NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_metric_confusion_matrix(acc, counts, 3, NULL), BNMLP_ERR_SHAPE);
    assert_int_equal(counts[0], 9);
    assert_ok(bnmlp_metric_confusion_matrix(acc, counts, 4, NULL));
    assert_int_equal(counts[0] + counts[1] + counts[2] + counts[3], 0);
    bnmlp_metric_free(acc);
    bnmlp_metric_free(NULL);

    /* The confusion matrix has no scalar value; a regression accumulator has no matrix. */
    acc = create(BNMLP_METRIC_CONFUSION_MATRIX, M, 3, 0, 5);
    assert_status(bnmlp_metric_value(acc, &value), BNMLP_ERR_INVALID_ARGUMENT);
    bnmlp_metric_free(acc);
    acc = create(BNMLP_METRIC_R2, R, 1, 0, 5);
    size_t classes = 7;
    assert_status(bnmlp_metric_confusion_matrix(acc, NULL, 0, &classes), BNMLP_ERR_INVALID_ARGUMENT);
    assert_int_equal(classes, 7);
    bnmlp_metric_free(acc);
}

/* roc_auc keeps exactly max_rows rows; a reset frees the room again. */
static void test_capacity(void **state) {
    (void)state;
    bnmlp_metric_accumulator *acc = create(BNMLP_METRIC_ROC_AUC, B, 2, 3, 5);
    const float p[] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, y[] = {0, 1, 0, 1, 0, 1};
    bnmlp_tensor two = view(p, 2, 2), one = view(p + 4, 1, 2), ty2 = view(y, 2, 2), ty1 = view(y + 4, 1, 2);
    assert_ok(bnmlp_metric_add(acc, &two, &ty2, NULL));
    assert_ok(bnmlp_metric_add(acc, &one, &ty1, NULL)); /* 3 rows: full */
    const double full = value_of(acc);
    assert_status(bnmlp_metric_add(acc, &one, &ty1, NULL), BNMLP_ERR_BATCH_TOO_LARGE);
    expect_identical(value_of(acc), full);
    assert_ok(bnmlp_metric_reset(acc));
    assert_ok(bnmlp_metric_add(acc, &two, &ty2, NULL));
    assert_ok(bnmlp_metric_add(acc, &one, &ty1, NULL));
    expect_identical(value_of(acc), full);
    bnmlp_metric_free(acc);
}

/* ---- allocation ------------------------------------------------------------------------------ */

static void test_allocation(void **state) {
    (void)state;
    for (size_t k = 0; k < bnmlp_metric_kind_count(); k++) {
        bnmlp_metric_info info;
        assert_ok(bnmlp_metric_describe((bnmlp_metric)k, &info));
        const bnmlp_metric_task task = (info.tasks & 1u) ? B : (info.tasks & 2u) ? M : R;
        counting_allocator counter = {0};
        const bnmlp_allocator allocator = counting_allocator_of(&counter);
        bnmlp_metric_config config = BNMLP_METRIC_CONFIG_DEFAULT((bnmlp_metric)k, task, 3);
        config.max_rows = 10;
        config.allocator = &allocator;
        /* A failing allocator: NULL, out of memory, nothing left. */
        counter.fail_at = 1;
        bnmlp_status status = BNMLP_OK;
        assert_null(bnmlp_metric_create(&config, &status));
        assert_status(status, BNMLP_ERR_OUT_OF_MEMORY);
        assert_int_equal(counter.allocations, 0);
        /* One allocation at creation; adding, reading and resetting allocate nothing. */
        counter = (counting_allocator){0};
        bnmlp_metric_accumulator *acc = bnmlp_metric_create(&config, &status);
        assert_ok(status);
        assert_int_equal(counter.allocations, 1);
        const float out[] = {0.2f, 0.7f, 0.1f, 0.6f, 0.3f, 0.1f}, targets[] = {1, 0, 1, 0, 1, 0};
        bnmlp_tensor o = view(out, 2, 3), t = view(targets, 2, task == M ? 1 : 3);
        assert_ok(bnmlp_metric_add(acc, &o, &t, NULL));
        double value;
        if (info.scalar) assert_ok(bnmlp_metric_value(acc, &value));
        assert_ok(bnmlp_metric_reset(acc));
        assert_int_equal(counter.calls, 1);
        bnmlp_metric_free(acc);
        assert_int_equal(counter.releases, 1);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_hand_computed),
        cmocka_unit_test(test_binary_fixtures),
        cmocka_unit_test(test_multiclass_fixtures),
        cmocka_unit_test(test_regression_fixtures),
        cmocka_unit_test(test_report_errors),
        cmocka_unit_test(test_accuracy_matches_evaluate),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_detail_row_numbers),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
