/* test_fit_metrics.c - the metrics fit records per epoch (bnmlp_fit_config.metrics) and
 * bnmlp_model_evaluate_metrics: each checked bit for bit against accumulators fed by hand with
 * the same outputs (a replay of fit's steps with train_step, and a twin model's training-mode
 * forward for the outputs each step's loss used), for the three tasks; thread counts; every bad
 * input; the bound; a fit without metrics unchanged; allocation failures. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define ROWS 100     /* training rows: 6 batches of 16 and one of 4 */
#define VAL_ROWS 40  /* validation rows */
#define FEATURES 2   /* inputs */
#define BATCH 16     /* fit's batch */
#define EPOCHS 3     /* fit's epochs */
#define MAX_WIDTH 3  /* widest target row */
#define MAX_BATCH 32 /* the models' built maximum (evaluate runs 40 rows in chunks of 32) */

/* One task: the model's head and loss, its targets and the metrics fit records. */
typedef struct task_case {
    const char *name;
    bnmlp_loss loss;
    size_t outputs;         /* the last dense layer's units */
    bnmlp_activation last;  /* its activation */
    size_t target_width;    /* columns of y */
    bnmlp_metric kinds[8];  /* the metrics */
    size_t count;           /* how many */
    bnmlp_metric_task task; /* what bnmlp_loss_metric_task says */
} task_case;

static const task_case cases[] = {
    {"binary",
     BNMLP_LOSS_BINARY_CROSSENTROPY,
     1,
     BNMLP_ACTIVATION_SIGMOID,
     1,
     {BNMLP_METRIC_ACCURACY, BNMLP_METRIC_PRECISION, BNMLP_METRIC_RECALL, BNMLP_METRIC_F1, BNMLP_METRIC_AUC,
      BNMLP_METRIC_ROC_AUC},
     6,
     BNMLP_METRIC_TASK_BINARY},
    {"multiclass",
     BNMLP_LOSS_CATEGORICAL_CROSSENTROPY,
     3,
     BNMLP_ACTIVATION_SOFTMAX,
     1,
     {BNMLP_METRIC_ACCURACY, BNMLP_METRIC_TOP_K_ACCURACY, BNMLP_METRIC_F1_MACRO, BNMLP_METRIC_F1_WEIGHTED},
     4,
     BNMLP_METRIC_TASK_MULTICLASS},
    {"regression",
     BNMLP_LOSS_MEAN_SQUARED_ERROR,
     2,
     BNMLP_ACTIVATION_LINEAR,
     2,
     {BNMLP_METRIC_MEAN_ABSOLUTE_ERROR, BNMLP_METRIC_RMSE, BNMLP_METRIC_R2},
     3,
     BNMLP_METRIC_TASK_REGRESSION},
};

#define CASE_COUNT (sizeof cases / sizeof cases[0])

/* Training and validation rows of a task. */
typedef struct data {
    float x[ROWS * FEATURES], y[ROWS * MAX_WIDTH];
    float vx[VAL_ROWS * FEATURES], vy[VAL_ROWS * MAX_WIDTH];
} data;

/* Targets of row x for the task: binary the XOR of the signs, multiclass a class 0..2 from two
 * thresholds, regression (x0 + x1, x0 * x1). */
static void targets_of(const task_case *t, const float *x, float *y) {
    if (t->task == BNMLP_METRIC_TASK_BINARY) {
        y[0] = x[0] * x[1] > 0.0f ? 1.0f : 0.0f;
    } else if (t->task == BNMLP_METRIC_TASK_MULTICLASS) {
        y[0] = (float)((x[0] > 0.0f) + (x[1] > 0.3f));
    } else {
        y[0] = x[0] + x[1];
        y[1] = x[0] * x[1];
    }
}

static void make_data(const task_case *t, data *d) {
    bnmlp_test_fill(d->x, ROWS * FEATURES, 11);
    bnmlp_test_fill(d->vx, VAL_ROWS * FEATURES, 12);
    for (size_t r = 0; r < ROWS; r++) targets_of(t, d->x + r * FEATURES, d->y + r * t->target_width);
    for (size_t r = 0; r < VAL_ROWS; r++) targets_of(t, d->vx + r * FEATURES, d->vy + r * t->target_width);
}

/* 2 -> Dense(8, relu, he_uniform) -> BatchNorm -> Dense(outputs, last), the task's loss. */
static bnmlp_model *make_model(const task_case *t, const bnmlp_allocator *allocator, bnmlp_status *status) {
    bnmlp_model *m = bnmlp_model_create_with_allocator(FEATURES, allocator, status);
    if (!m) return NULL;
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(8);
    hidden.activation = BNMLP_ACTIVATION_RELU;
    hidden.kernel_initializer = BNMLP_INIT_HE_UNIFORM;
    bnmlp_dense_config output = BNMLP_DENSE_DEFAULT(t->outputs);
    output.activation = t->last;
    *status = bnmlp_model_add_dense(m, &hidden);
    if (*status == BNMLP_OK) *status = bnmlp_model_add_batchnorm(m, &BNMLP_BATCHNORM_DEFAULT);
    if (*status == BNMLP_OK) *status = bnmlp_model_add_dense(m, &output);
    if (*status == BNMLP_OK) *status = bnmlp_model_set_loss(m, t->loss);
    if (*status == BNMLP_OK) *status = bnmlp_model_build(m, MAX_BATCH, 5);
    if (*status != BNMLP_OK) {
        bnmlp_model_free(m);
        return NULL;
    }
    return m;
}

static bnmlp_model *new_model(const task_case *t) {
    bnmlp_status status;
    bnmlp_model *m = make_model(t, NULL, &status);
    assert_ok(status);
    return m;
}

/* fit's settings for the tests: SGD with momentum, no shuffle (the replay knows the batches),
 * the validation set, the task's metrics. */
static bnmlp_fit_config fit_config(const task_case *t, const bnmlp_tensor *vx, const bnmlp_tensor *vy) {
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.epochs = EPOCHS;
    config.batch_size = BATCH;
    config.shuffle = false;
    config.optimizer.sgd = (bnmlp_sgd_config){.learning_rate = 0.05f, .momentum = 0.9f};
    config.validation_x = vx;
    config.validation_y = vy;
    config.metrics = t->kinds;
    config.metric_count = t->count;
    return config;
}

/* Accumulators of the task's metrics, fed by hand. */
typedef struct hand_set {
    bnmlp_metric_accumulator *acc[8];
    size_t count;
} hand_set;

static void hand_create(hand_set *h, const task_case *t, size_t max_rows) {
    h->count = t->count;
    for (size_t i = 0; i < t->count; i++) {
        bnmlp_metric_config config = BNMLP_METRIC_CONFIG_DEFAULT(t->kinds[i], t->task, t->outputs);
        config.max_rows = max_rows;
        bnmlp_status status;
        h->acc[i] = bnmlp_metric_create(&config, &status);
        assert_ok(status);
    }
}

static void hand_free(hand_set *h) {
    for (size_t i = 0; i < h->count; i++) bnmlp_metric_free(h->acc[i]);
}

static void hand_reset(hand_set *h) {
    for (size_t i = 0; i < h->count; i++) assert_ok(bnmlp_metric_reset(h->acc[i]));
}

static void hand_add(hand_set *h, const bnmlp_tensor *outputs, const bnmlp_tensor *targets) {
    for (size_t i = 0; i < h->count; i++) assert_ok(bnmlp_metric_add(h->acc[i], outputs, targets, NULL));
}

static void hand_values(hand_set *h, double *values) {
    for (size_t i = 0; i < h->count; i++) assert_ok(bnmlp_metric_value(h->acc[i], &values[i]));
}

/* True when a and b hold the same bits (NaN equal to NaN). */
static bool same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void assert_same_doubles(const double *a, const double *b, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++) {
        if (!same_double(a[i], b[i])) {
            print_error("%s[%zu]: %.17g != %.17g\n", what, i, a[i], b[i]);
            fail();
        }
    }
}

/* Replays fit's epochs on model (built as fit's) with train_step, taking each step's training
 * outputs from a twin holding the same parameters, and checks every record's metrics and
 * val_metrics against hand-fed accumulators and evaluate_metrics. */
static void replay_and_check(const task_case *t, data *d, const bnmlp_epoch_record *history) {
    bnmlp_model *model = new_model(t), *twin = new_model(t);
    const bnmlp_tensor vx = bnmlp_tensor_view(d->vx, VAL_ROWS, FEATURES);
    const bnmlp_tensor vy = bnmlp_tensor_view(d->vy, VAL_ROWS, t->target_width);
    const bnmlp_fit_config config = fit_config(t, &vx, &vy);
    const size_t params = bnmlp_model_param_count(model);
    float *weights = malloc(params * sizeof *weights);
    float outputs[MAX_BATCH * MAX_WIDTH], val_outputs[VAL_ROWS * MAX_WIDTH];
    hand_set train, val;
    hand_create(&train, t, ROWS);
    hand_create(&val, t, VAL_ROWS);
    for (size_t e = 0; e < EPOCHS; e++) {
        hand_reset(&train);
        for (size_t start = 0; start < ROWS; start += BATCH) {
            const size_t rows = ROWS - start < BATCH ? ROWS - start : BATCH;
            const bnmlp_tensor xb = bnmlp_tensor_view(d->x + start * FEATURES, rows, FEATURES);
            const bnmlp_tensor yb = bnmlp_tensor_view(d->y + start * t->target_width, rows, t->target_width);
            bnmlp_tensor ob = bnmlp_tensor_view(outputs, rows, t->outputs);
            /* The training-mode outputs depend on the parameters only (batch statistics). */
            assert_ok(bnmlp_model_get_params(model, weights, params));
            assert_ok(bnmlp_model_set_params(twin, weights, params));
            assert_ok(bnmlp_model_forward(twin, &xb, BNMLP_MODE_TRAINING, &ob));
            hand_add(&train, &ob, &yb);
            assert_ok(bnmlp_model_train_step(model, &xb, &yb, &config.optimizer, NULL, NULL));
        }
        double expected[BNMLP_FIT_MAX_METRICS], got[BNMLP_FIT_MAX_METRICS];
        hand_values(&train, expected);
        assert_same_doubles(history[e].metrics, expected, t->count, "training metrics");
        /* Validation: predict's outputs, evaluate_metrics, and fit's record agree bit for bit. */
        hand_reset(&val);
        bnmlp_tensor vo = bnmlp_tensor_view(val_outputs, VAL_ROWS, t->outputs);
        assert_ok(bnmlp_model_predict(model, &vx, &vo));
        hand_add(&val, &vo, &vy);
        hand_values(&val, expected);
        assert_ok(bnmlp_model_evaluate_metrics(model, &vx, &vy, t->kinds, t->count, got));
        assert_same_doubles(got, expected, t->count, "evaluate_metrics");
        assert_same_doubles(history[e].val_metrics, expected, t->count, "val_metrics");
        for (size_t i = t->count; i < BNMLP_FIT_MAX_METRICS; i++) {
            assert_true(isnan(history[e].metrics[i]));
            assert_true(isnan(history[e].val_metrics[i]));
        }
        for (size_t i = 0; i < t->count; i++) assert_true(isfinite(history[e].metrics[i]));
    }
    hand_free(&train);
    hand_free(&val);
    free(weights);
    bnmlp_model_free(model);
    bnmlp_model_free(twin);
}

/* Fits a fresh model of the task with threads threads into history (EPOCHS records). */
static void fit_task(const task_case *t, data *d, size_t threads, bool metrics, bnmlp_epoch_record *history,
                     float *params) {
    bnmlp_model *model = new_model(t);
    assert_ok(bnmlp_model_set_threads(model, threads));
    const bnmlp_tensor x = bnmlp_tensor_view(d->x, ROWS, FEATURES);
    const bnmlp_tensor y = bnmlp_tensor_view(d->y, ROWS, t->target_width);
    const bnmlp_tensor vx = bnmlp_tensor_view(d->vx, VAL_ROWS, FEATURES);
    const bnmlp_tensor vy = bnmlp_tensor_view(d->vy, VAL_ROWS, t->target_width);
    bnmlp_fit_config config = fit_config(t, &vx, &vy);
    if (!metrics) config.metric_count = 0, config.metrics = NULL;
    size_t run = 0;
    assert_ok(bnmlp_model_fit(model, &x, &y, &config, history, &run));
    assert_int_equal(run, EPOCHS);
    if (params) assert_ok(bnmlp_model_get_params(model, params, bnmlp_model_param_count(model)));
    bnmlp_model_free(model);
}

/* fit's per-epoch metrics are those of accumulators fed the steps' own outputs, for each task. */
static void test_fit_metrics_match_replay(void **state) {
    (void)state;
    for (size_t c = 0; c < CASE_COUNT; c++) {
        static data d;
        make_data(&cases[c], &d);
        bnmlp_epoch_record history[EPOCHS];
        fit_task(&cases[c], &d, 1, true, history, NULL);
        replay_and_check(&cases[c], &d, history);
    }
}

/* The same history, bit for bit, on 1, 2 and 3 threads. */
static void test_fit_metrics_thread_counts(void **state) {
    (void)state;
    for (size_t c = 0; c < CASE_COUNT; c++) {
        static data d;
        make_data(&cases[c], &d);
        bnmlp_epoch_record first[EPOCHS], other[EPOCHS];
        fit_task(&cases[c], &d, 1, true, first, NULL);
        for (size_t threads = 2; threads <= 3; threads++) {
            fit_task(&cases[c], &d, threads, true, other, NULL);
            for (size_t e = 0; e < EPOCHS; e++) {
                assert_same_doubles(other[e].metrics, first[e].metrics, BNMLP_FIT_MAX_METRICS, "metrics");
                assert_same_doubles(other[e].val_metrics, first[e].val_metrics, BNMLP_FIT_MAX_METRICS,
                                    "val_metrics");
            }
        }
    }
}

/* Asking for metrics changes nothing else: loss, accuracy, validation and weights bit for bit;
 * without metrics every slot is NaN. */
static void test_fit_without_metrics_unchanged(void **state) {
    (void)state;
    for (size_t c = 0; c < CASE_COUNT; c++) {
        static data d;
        make_data(&cases[c], &d);
        bnmlp_epoch_record with[EPOCHS], without[EPOCHS];
        float params_with[256], params_without[256];
        fit_task(&cases[c], &d, 1, true, with, params_with);
        fit_task(&cases[c], &d, 1, false, without, params_without);
        bnmlp_model *probe = new_model(&cases[c]);
        const size_t count = bnmlp_model_param_count(probe);
        bnmlp_model_free(probe);
        assert_true(count <= 256);
        assert_memory_equal(params_with, params_without, count * sizeof(float));
        for (size_t e = 0; e < EPOCHS; e++) {
            const double a[] = {with[e].loss, with[e].accuracy, with[e].val_loss, with[e].val_accuracy,
                                with[e].learning_rate};
            const double b[] = {without[e].loss, without[e].accuracy, without[e].val_loss,
                                without[e].val_accuracy, without[e].learning_rate};
            assert_same_doubles(a, b, 5, "epoch record");
            assert_int_equal(with[e].steps, without[e].steps);
            for (size_t i = 0; i < BNMLP_FIT_MAX_METRICS; i++) {
                assert_true(isnan(without[e].metrics[i]));
                assert_true(isnan(without[e].val_metrics[i]));
            }
        }
    }
}

/* Without validation data the val_metrics are NaN and the training ones are recorded. */
static void test_fit_metrics_without_validation(void **state) {
    (void)state;
    const task_case *t = &cases[0];
    static data d;
    make_data(t, &d);
    bnmlp_model *model = new_model(t);
    const bnmlp_tensor x = bnmlp_tensor_view(d.x, ROWS, FEATURES), y = bnmlp_tensor_view(d.y, ROWS, 1);
    bnmlp_fit_config config = fit_config(t, NULL, NULL);
    bnmlp_epoch_record history[EPOCHS];
    assert_ok(bnmlp_model_fit(model, &x, &y, &config, history, NULL));
    for (size_t e = 0; e < EPOCHS; e++)
        for (size_t i = 0; i < BNMLP_FIT_MAX_METRICS; i++) {
            assert_true(isnan(history[e].val_metrics[i]));
            assert_true(i < t->count ? isfinite(history[e].metrics[i]) : isnan(history[e].metrics[i]));
        }
    bnmlp_model_free(model);
}

/* BNMLP_FIT_MAX_METRICS metrics (a kind may repeat) are recorded; one more is refused. */
static void test_fit_metrics_bound(void **state) {
    (void)state;
    const task_case *t = &cases[0];
    static data d;
    make_data(t, &d);
    bnmlp_metric kinds[BNMLP_FIT_MAX_METRICS + 1];
    for (size_t i = 0; i <= BNMLP_FIT_MAX_METRICS; i++) kinds[i] = t->kinds[i % t->count];
    const bnmlp_tensor x = bnmlp_tensor_view(d.x, ROWS, FEATURES), y = bnmlp_tensor_view(d.y, ROWS, 1);
    const bnmlp_tensor vx = bnmlp_tensor_view(d.vx, VAL_ROWS, FEATURES),
                       vy = bnmlp_tensor_view(d.vy, VAL_ROWS, 1);
    bnmlp_model *model = new_model(t);
    bnmlp_fit_config config = fit_config(t, &vx, &vy);
    config.epochs = 1;
    config.metrics = kinds;
    config.metric_count = BNMLP_FIT_MAX_METRICS + 1;
    assert_status(bnmlp_model_fit(model, &x, &y, &config, NULL, NULL), BNMLP_ERR_INVALID_ARGUMENT);
    double values[BNMLP_FIT_MAX_METRICS + 1];
    assert_status(bnmlp_model_evaluate_metrics(model, &vx, &vy, kinds, BNMLP_FIT_MAX_METRICS + 1, values),
                  BNMLP_ERR_INVALID_ARGUMENT);
    config.metric_count = BNMLP_FIT_MAX_METRICS;
    bnmlp_epoch_record record;
    assert_ok(bnmlp_model_fit(model, &x, &y, &config, &record, NULL));
    assert_ok(bnmlp_model_evaluate_metrics(model, &vx, &vy, kinds, BNMLP_FIT_MAX_METRICS, values));
    /* A repeated kind has the same value as its first occurrence. */
    for (size_t i = t->count; i < BNMLP_FIT_MAX_METRICS; i++) {
        assert_true(same_double(record.metrics[i], record.metrics[i % t->count]));
        assert_true(same_double(record.val_metrics[i], record.val_metrics[i % t->count]));
        assert_true(same_double(values[i], values[i % t->count]));
    }
    bnmlp_model_free(model);
}

/* A bad metrics argument of fit, and of evaluate_metrics. */
typedef struct bad_metrics {
    const char *what;
    const bnmlp_metric *kinds;
    size_t count;
    bnmlp_status expected;
} bad_metrics;

static const bnmlp_metric regression_kind[] = {BNMLP_METRIC_MEAN_ABSOLUTE_ERROR};
static const bnmlp_metric multiclass_kind[] = {BNMLP_METRIC_ACCURACY, BNMLP_METRIC_F1_MACRO};
static const bnmlp_metric confusion_kind[] = {BNMLP_METRIC_CONFUSION_MATRIX};
static const bnmlp_metric unknown_kind[] = {BNMLP_METRIC_AUC, (bnmlp_metric)99};

static const bad_metrics bad_fit_metrics[] = {
    {"NULL kinds", NULL, 2, BNMLP_ERR_NULL_ARGUMENT},
    {"a regression metric on a binary model", regression_kind, 1, BNMLP_ERR_INVALID_ARGUMENT},
    {"a multiclass metric on a binary model", multiclass_kind, 2, BNMLP_ERR_INVALID_ARGUMENT},
    {"the confusion matrix (not a scalar)", confusion_kind, 1, BNMLP_ERR_INVALID_ARGUMENT},
    {"an unknown kind", unknown_kind, 2, BNMLP_ERR_INVALID_ARGUMENT},
};

/* Every bad metrics argument of fit is refused before anything changes. */
static void test_fit_bad_metrics(void **state) {
    (void)state;
    const task_case *t = &cases[0];
    static data d;
    make_data(t, &d);
    const bnmlp_tensor x = bnmlp_tensor_view(d.x, ROWS, FEATURES), y = bnmlp_tensor_view(d.y, ROWS, 1);
    bnmlp_model *model = new_model(t);
    const size_t params = bnmlp_model_param_count(model);
    float before[256], after[256];
    assert_true(params <= 256);
    assert_ok(bnmlp_model_get_params(model, before, params));
    for (size_t k = 0; k < sizeof bad_fit_metrics / sizeof bad_fit_metrics[0]; k++) {
        const bad_metrics *bad = &bad_fit_metrics[k];
        bnmlp_fit_config config = fit_config(t, NULL, NULL);
        config.metrics = bad->kinds;
        config.metric_count = bad->count;
        bnmlp_epoch_record history[EPOCHS];
        size_t run = 99;
        const bnmlp_status got = bnmlp_model_fit(model, &x, &y, &config, history, &run);
        if (got != bad->expected) {
            print_error("fit with %s: %s, expected %s\n", bad->what, bnmlp_status_string(got),
                        bnmlp_status_string(bad->expected));
            fail();
        }
        assert_int_equal(run, 99);
        assert_ok(bnmlp_model_get_params(model, after, params));
        assert_memory_equal(before, after, params * sizeof(float));
        assert_int_equal(bnmlp_model_epochs_done(model), 0);
    }
    bnmlp_model_free(model);
}

/* Every bad argument of evaluate_metrics; values untouched. */
static void test_evaluate_metrics_bad_input(void **state) {
    (void)state;
    const task_case *t = &cases[0];
    static data d;
    make_data(t, &d);
    bnmlp_model *model = new_model(t);
    bnmlp_tensor vx = bnmlp_tensor_view(d.vx, VAL_ROWS, FEATURES), vy = bnmlp_tensor_view(d.vy, VAL_ROWS, 1);
    bnmlp_tensor wide_y = bnmlp_tensor_view(d.vy, VAL_ROWS / 2, 2);
    static float nan_x[VAL_ROWS * FEATURES];
    memcpy(nan_x, d.vx, sizeof nan_x);
    nan_x[7] = NAN;
    bnmlp_tensor bad_x = bnmlp_tensor_view(nan_x, VAL_ROWS, FEATURES);
    static float label_y[VAL_ROWS];
    memcpy(label_y, d.vy, sizeof label_y);
    label_y[3] = 0.5f;
    bnmlp_tensor bad_y = bnmlp_tensor_view(label_y, VAL_ROWS, 1);
    bnmlp_status status;
    bnmlp_model *unbuilt = bnmlp_model_create(FEATURES, &status);
    assert_ok(status);
    double values[2] = {42.0, 42.0};
    const struct {
        const char *what;
        bnmlp_model *model;
        const bnmlp_tensor *x, *y;
        const bnmlp_metric *kinds;
        size_t count;
        double *values;
        bnmlp_status expected;
    } bad[] = {
        {"NULL model", NULL, &vx, &vy, t->kinds, 2, values, BNMLP_ERR_NULL_ARGUMENT},
        {"NULL x", model, NULL, &vy, t->kinds, 2, values, BNMLP_ERR_NULL_ARGUMENT},
        {"NULL y", model, &vx, NULL, t->kinds, 2, values, BNMLP_ERR_NULL_ARGUMENT},
        {"NULL values", model, &vx, &vy, t->kinds, 2, NULL, BNMLP_ERR_NULL_ARGUMENT},
        {"NULL kinds", model, &vx, &vy, NULL, 2, values, BNMLP_ERR_NULL_ARGUMENT},
        {"no metric", model, &vx, &vy, t->kinds, 0, values, BNMLP_ERR_INVALID_ARGUMENT},
        {"another task's metric", model, &vx, &vy, regression_kind, 1, values, BNMLP_ERR_INVALID_ARGUMENT},
        {"the confusion matrix", model, &vx, &vy, confusion_kind, 1, values, BNMLP_ERR_INVALID_ARGUMENT},
        {"an unknown kind", model, &vx, &vy, unknown_kind, 2, values, BNMLP_ERR_INVALID_ARGUMENT},
        {"y of another shape", model, &vx, &wide_y, t->kinds, 2, values, BNMLP_ERR_SHAPE},
        {"a NaN input", model, &bad_x, &vy, t->kinds, 2, values, BNMLP_ERR_NOT_FINITE},
        {"a label not 0 or 1", model, &vx, &bad_y, t->kinds, 2, values, BNMLP_ERR_LABEL},
        {"an unbuilt model", unbuilt, &vx, &vy, t->kinds, 2, values, BNMLP_ERR_NOT_BUILT},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        const bnmlp_status got = bnmlp_model_evaluate_metrics(bad[k].model, bad[k].x, bad[k].y, bad[k].kinds,
                                                              bad[k].count, bad[k].values);
        if (got != bad[k].expected) {
            print_error("evaluate_metrics with %s: %s, expected %s\n", bad[k].what, bnmlp_status_string(got),
                        bnmlp_status_string(bad[k].expected));
            fail();
        }
        assert_true(values[0] == 42.0 && values[1] == 42.0);
    }
    bnmlp_model_free(unbuilt);
    bnmlp_model_free(model);
}

/* Outputs that overflow while the clipped loss stays finite: fit goes on and records NaN for the
 * epoch's metrics; evaluate_metrics refuses with BNMLP_ERR_DIVERGED, values untouched. */
static void test_metrics_of_outputs_not_finite(void **state) {
    (void)state;
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(1, &status);
    assert_ok(status);
    bnmlp_dense_config dense = BNMLP_DENSE_DEFAULT(1); /* linear: binary cross-entropy on clipped p */
    assert_ok(bnmlp_model_add_dense(model, &dense));
    assert_ok(bnmlp_model_build(model, 8, 1));
    const float weights[] = {3e38f, 0.0f}; /* kernel, bias: 3e38 * 2 overflows to infinity */
    assert_ok(bnmlp_model_set_params(model, weights, 2));
    float xs[] = {2.0f, 2.0f, 2.0f, 2.0f}, ys[] = {1.0f, 1.0f, 1.0f, 1.0f};
    const bnmlp_tensor x = bnmlp_tensor_view(xs, 4, 1), y = bnmlp_tensor_view(ys, 4, 1);
    const bnmlp_metric kinds[] = {BNMLP_METRIC_ACCURACY, BNMLP_METRIC_AUC};
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.batch_size = 4;
    config.validation_x = &x;
    config.validation_y = &y;
    config.metrics = kinds;
    config.metric_count = 2;
    bnmlp_epoch_record record;
    assert_ok(bnmlp_model_fit(model, &x, &y, &config, &record, NULL));
    assert_true(isfinite(record.loss));
    assert_true(isnan(record.metrics[0]) && isnan(record.metrics[1]));
    assert_true(isnan(record.val_metrics[0]) && isnan(record.val_metrics[1]));
    double values[2] = {42.0, 42.0};
    assert_status(bnmlp_model_evaluate_metrics(model, &x, &y, kinds, 2, values), BNMLP_ERR_DIVERGED);
    assert_true(values[0] == 42.0 && values[1] == 42.0);
    bnmlp_model_free(model);
}

/* Every allocation of fit with metrics and of evaluate_metrics goes through the model's allocator:
 * a failure at any of them is BNMLP_ERR_OUT_OF_MEMORY with nothing changed and nothing leaked. */
static void test_metrics_allocation_failures(void **state) {
    (void)state;
    const task_case *t = &cases[0];
    static data d;
    make_data(t, &d);
    const bnmlp_tensor x = bnmlp_tensor_view(d.x, ROWS, FEATURES), y = bnmlp_tensor_view(d.y, ROWS, 1);
    const bnmlp_tensor vx = bnmlp_tensor_view(d.vx, VAL_ROWS, FEATURES),
                       vy = bnmlp_tensor_view(d.vy, VAL_ROWS, 1);
    counting_allocator counter = {0};
    const bnmlp_allocator allocator = counting_allocator_of(&counter);
    bnmlp_status status;
    bnmlp_model *model = make_model(t, &allocator, &status);
    assert_ok(status);
    const bnmlp_fit_config config = fit_config(t, &vx, &vy);
    bool fit_done = false, evaluate_done = false;
    for (size_t fail_at = 1; !fit_done || !evaluate_done; fail_at++) {
        assert_true(fail_at < 100);
        counter.calls = 0;
        counter.fail_at = fail_at;
        const size_t live = counter.allocations - counter.releases;
        double values[BNMLP_FIT_MAX_METRICS] = {42.0};
        if (!evaluate_done) {
            status = bnmlp_model_evaluate_metrics(model, &vx, &vy, t->kinds, t->count, values);
            evaluate_done = status == BNMLP_OK;
            if (!evaluate_done) {
                assert_status(status, BNMLP_ERR_OUT_OF_MEMORY);
                assert_true(values[0] == 42.0);
            }
            assert_int_equal(counter.allocations - counter.releases, live);
        }
        counter.calls = 0;
        if (!fit_done) {
            status = bnmlp_model_fit(model, &x, &y, &config, NULL, NULL);
            fit_done = status == BNMLP_OK;
            if (!fit_done) {
                assert_status(status, BNMLP_ERR_OUT_OF_MEMORY);
                assert_int_equal(bnmlp_model_epochs_done(model), 0);
            }
        }
    }
    counter.fail_at = 0;
    bnmlp_model_free(model);
    assert_int_equal(counter.allocations, counter.releases);
}

/* Fits EPOCHS_LONG epochs of task t with config's controls (metrics t->kinds) into history. */
#define EPOCHS_LONG 8
static bnmlp_status fit_controlled(const task_case *t, data *d, const bnmlp_fit_config *controls,
                                   bnmlp_epoch_record *history, size_t *run) {
    bnmlp_model *model = new_model(t);
    const bnmlp_tensor x = bnmlp_tensor_view(d->x, ROWS, FEATURES);
    const bnmlp_tensor y = bnmlp_tensor_view(d->y, ROWS, t->target_width);
    const bnmlp_tensor vx = bnmlp_tensor_view(d->vx, VAL_ROWS, FEATURES);
    const bnmlp_tensor vy = bnmlp_tensor_view(d->vy, VAL_ROWS, t->target_width);
    bnmlp_fit_config config = fit_config(t, &vx, &vy);
    config.epochs = EPOCHS_LONG;
    config.optimizer.sgd.learning_rate = 0.2f; /* enough noise that the metrics go up and down */
    config.early_stopping = controls->early_stopping;
    config.reduce_lr = controls->reduce_lr;
    if (!controls->validation_x) config.validation_x = config.validation_y = NULL;
    if (controls->metrics) config.metrics = controls->metrics, config.metric_count = controls->metric_count;
    const bnmlp_status status = bnmlp_model_fit(model, &x, &y, &config, history, run);
    bnmlp_model_free(model);
    return status;
}

/* Early stopping on a metric: the run stops where Keras's rule over the uncontrolled run's
 * values (in the metric's own direction under mode auto) says, with the same best epoch. */
static void check_metric_monitor(const task_case *t, bnmlp_monitor monitor, size_t index,
                                 bnmlp_direction direction) {
    static data d;
    make_data(t, &d);
    bnmlp_epoch_record free_run[EPOCHS_LONG], stopped[EPOCHS_LONG];
    size_t free_epochs = 0, stopped_epochs = 0;
    bnmlp_fit_config controls = BNMLP_FIT_DEFAULT;
    controls.validation_x = &(bnmlp_tensor){0}; /* keep the validation set */
    assert_ok(fit_controlled(t, &d, &controls, free_run, &free_epochs));
    assert_int_equal(free_epochs, EPOCHS_LONG);
    controls.early_stopping = BNMLP_EARLY_STOPPING_DEFAULT;
    controls.early_stopping.enabled = true;
    controls.early_stopping.monitor = monitor;
    controls.early_stopping.metric = t->kinds[index];
    controls.early_stopping.patience = 1;
    assert_ok(fit_controlled(t, &d, &controls, stopped, &stopped_epochs));
    /* The script: the same rule with an explicit direction over the free run's values. */
    bnmlp_early_stopping_config script = controls.early_stopping;
    script.monitor = BNMLP_MONITOR_LOSS;
    script.mode = direction;
    bnmlp_early_stopping_state state;
    assert_ok(bnmlp_early_stopping_begin(&script, &state));
    size_t expected = EPOCHS_LONG;
    for (size_t e = 0; e < EPOCHS_LONG; e++) {
        const double value =
            monitor == BNMLP_MONITOR_VAL_METRIC ? free_run[e].val_metrics[index] : free_run[e].metrics[index];
        bool stop;
        assert_ok(bnmlp_early_stopping_update(&script, &state, e, value, NULL, &stop));
        if (stop) {
            expected = e + 1;
            break;
        }
    }
    assert_true(expected < EPOCHS_LONG); /* the case does stop early */
    assert_int_equal(stopped_epochs, expected);
    assert_int_equal(stopped[stopped_epochs - 1].best_epoch, state.best_epoch + 1);
    assert_int_equal(stopped[stopped_epochs - 1].stop, BNMLP_STOP_EARLY_STOPPING);
}

static void test_early_stopping_on_a_metric(void **state) {
    (void)state;
    assert_string_equal(bnmlp_monitor_name(BNMLP_MONITOR_VAL_METRIC), "val_metric");
    assert_string_equal(bnmlp_monitor_name(BNMLP_MONITOR_METRIC), "metric");
    /* val_auc (a score: max) and the training mean_absolute_error (an error: min), mode auto. */
    check_metric_monitor(&cases[0], BNMLP_MONITOR_VAL_METRIC, 4, BNMLP_DIRECTION_MAX);
    check_metric_monitor(&cases[2], BNMLP_MONITOR_METRIC, 0, BNMLP_DIRECTION_MIN);
}

/* A metric monitor whose metric fit does not record, without validation, or of no scalar kind. */
static void test_metric_monitor_bad_input(void **state) {
    (void)state;
    static data d;
    make_data(&cases[0], &d);
    const bnmlp_metric only_accuracy[] = {BNMLP_METRIC_ACCURACY};
    const struct {
        const char *what;
        bnmlp_monitor monitor;
        bnmlp_metric metric;
        bool validation, plateau;
        const bnmlp_metric *metrics;
        size_t count;
    } bad[] = {
        {"val_metric auc, not among fit's metrics", BNMLP_MONITOR_VAL_METRIC, BNMLP_METRIC_AUC, true, false,
         only_accuracy, 1},
        {"val_metric without validation", BNMLP_MONITOR_VAL_METRIC, BNMLP_METRIC_AUC, false, false, NULL, 0},
        {"metric without any metrics", BNMLP_MONITOR_METRIC, BNMLP_METRIC_ACCURACY, true, false,
         only_accuracy, 0},
        {"the confusion matrix", BNMLP_MONITOR_METRIC, BNMLP_METRIC_CONFUSION_MATRIX, true, false, NULL, 0},
        {"an unknown kind", BNMLP_MONITOR_METRIC, (bnmlp_metric)99, true, false, NULL, 0},
        {"plateau on a metric fit does not record", BNMLP_MONITOR_METRIC, BNMLP_METRIC_F1, true, true,
         only_accuracy, 1},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        bnmlp_fit_config controls = BNMLP_FIT_DEFAULT;
        controls.validation_x = bad[k].validation ? &(bnmlp_tensor){0} : NULL;
        controls.metrics = bad[k].metrics ? bad[k].metrics : cases[0].kinds;
        controls.metric_count = bad[k].metrics ? bad[k].count : cases[0].count;
        if (bad[k].plateau) {
            controls.reduce_lr.enabled = true;
            controls.reduce_lr.monitor = bad[k].monitor;
            controls.reduce_lr.metric = bad[k].metric;
        } else {
            controls.early_stopping.enabled = true;
            controls.early_stopping.monitor = bad[k].monitor;
            controls.early_stopping.metric = bad[k].metric;
        }
        size_t run = 99;
        const bnmlp_status got = fit_controlled(&cases[0], &d, &controls, NULL, &run);
        if (got != BNMLP_ERR_INVALID_ARGUMENT) {
            print_error("fit with a monitor on %s: %s\n", bad[k].what, bnmlp_status_string(got));
            fail();
        }
        assert_int_equal(run, 99);
    }
}

/* The loss table's metric task. */
static void test_loss_metric_task(void **state) {
    (void)state;
    for (size_t c = 0; c < CASE_COUNT; c++) {
        bnmlp_metric_task task;
        assert_ok(bnmlp_loss_metric_task(cases[c].loss, &task));
        assert_int_equal(task, cases[c].task);
    }
    bnmlp_metric_task task = BNMLP_METRIC_TASK_REGRESSION;
    assert_status(bnmlp_loss_metric_task((bnmlp_loss)bnmlp_loss_count(), &task), BNMLP_ERR_INVALID_ARGUMENT);
    assert_int_equal(task, BNMLP_METRIC_TASK_REGRESSION);
    assert_status(bnmlp_loss_metric_task(BNMLP_LOSS_BINARY_CROSSENTROPY, NULL), BNMLP_ERR_NULL_ARGUMENT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_metrics_match_replay),
        cmocka_unit_test(test_fit_metrics_thread_counts),
        cmocka_unit_test(test_fit_without_metrics_unchanged),
        cmocka_unit_test(test_fit_metrics_without_validation),
        cmocka_unit_test(test_fit_metrics_bound),
        cmocka_unit_test(test_fit_bad_metrics),
        cmocka_unit_test(test_evaluate_metrics_bad_input),
        cmocka_unit_test(test_metrics_of_outputs_not_finite),
        cmocka_unit_test(test_metrics_allocation_failures),
        cmocka_unit_test(test_loss_metric_task),
        cmocka_unit_test(test_early_stopping_on_a_metric),
        cmocka_unit_test(test_metric_monitor_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
