/*
 * collective_cases.c - the cases of collective_cases.h. Plain C over the public header (no cmocka),
 * so that MPI processes can run them as well as threads.
 *
 * The model: 4 -> Dense(16) -> BatchNorm(momentum 0.9) -> ReLU -> Dense(8) -> BatchNorm(momentum
 * 0.9, unbiased moving variance: its correction uses the global row count) -> ReLU ->
 * Dense(1, sigmoid), binary cross-entropy, SGD(0.05, momentum 0.9). The data: 256 rows of 4
 * normal features from RandomState(7), labelled by x0^2 + x1^2 > 1.4.
 */
#include "collective_cases.h"

/* The optimizer configuration (what bnmlp_model_train_step takes) of the SGD settings *sgd_. */
#define SGD_CONFIG(sgd_)                                                                                     \
    (&(bnmlp_optimizer_config){.kind = BNMLP_OPTIMIZER_SGD,                                                  \
                               .sgd = *(sgd_),                                                               \
                               .adam = BNMLP_ADAM_DEFAULT,                                                   \
                               .rmsprop = BNMLP_RMSPROP_DEFAULT})

#include <math.h>
#include <stdio.h>
#include <string.h>

#define FEATURES 4
#define ROWS 256
#define GLOBAL_BATCH 32
#define STEPS 20
#define SEED 2024u
#define MAX_PARAMS 512
#define MAX_STATS 64

/* The data set every rank holds. */
typedef struct data {
    float x[ROWS * FEATURES];
    float y[ROWS];
} data;

static void make_data(data *d) {
    bnmlp_random rng;
    bnmlp_random_seed(&rng, 7u);
    for (size_t r = 0; r < ROWS; r++) {
        for (size_t c = 0; c < FEATURES; c++) d->x[r * FEATURES + c] = (float)bnmlp_random_gauss(&rng);
        const float a = d->x[r * FEATURES], b = d->x[r * FEATURES + 1];
        d->y[r] = a * a + b * b > 1.4f ? 1.0f : 0.0f;
    }
}

/* The test model, built for the global batch from seed. */
static bnmlp_model *make_model(uint32_t seed) {
    bnmlp_status status;
    bnmlp_model *model = bnmlp_model_create(FEATURES, &status);
    if (!model) return NULL;
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    bn.momentum = 0.9f;
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(1);
    head.activation = BNMLP_ACTIVATION_SIGMOID;
    bnmlp_dense_config d16 = BNMLP_DENSE_DEFAULT(16), d8 = BNMLP_DENSE_DEFAULT(8);
    status = bnmlp_model_add_dense(model, &d16);
    if (status == BNMLP_OK) status = bnmlp_model_add_batchnorm(model, &bn);
    if (status == BNMLP_OK) status = bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f);
    if (status == BNMLP_OK) status = bnmlp_model_add_dense(model, &d8);
    bn.moving_variance_estimator = BNMLP_VARIANCE_UNBIASED;
    if (status == BNMLP_OK) status = bnmlp_model_add_batchnorm(model, &bn);
    if (status == BNMLP_OK) status = bnmlp_model_add_activation(model, BNMLP_ACTIVATION_RELU, 0.0f);
    if (status == BNMLP_OK) status = bnmlp_model_add_dense(model, &head);
    if (status == BNMLP_OK) status = bnmlp_model_build(model, GLOBAL_BATCH, seed);
    if (status != BNMLP_OK) {
        bnmlp_model_free(model);
        return NULL;
    }
    return model;
}

static bnmlp_sgd_config sgd(void) {
    bnmlp_sgd_config config = BNMLP_SGD_DEFAULT;
    config.learning_rate = 0.05f;
    config.momentum = 0.9f;
    return config;
}

/* Every moving statistic of the model (means and variances of each batch-norm layer) into out;
 * their number. */
static size_t moving_statistics(const bnmlp_model *model, float *out) {
    size_t n = 0;
    for (size_t i = 0; i < bnmlp_model_layer_count(model); i++) {
        bnmlp_layer_info info;
        bnmlp_model_layer_info(model, i, &info);
        if (info.kind != BNMLP_LAYER_BATCHNORM) continue;
        bnmlp_model_get_weights(model, i, BNMLP_WEIGHT_MOVING_MEAN, out + n, info.output_width);
        bnmlp_model_get_weights(model, i, BNMLP_WEIGHT_MOVING_VARIANCE, out + n + info.output_width,
                                info.output_width);
        n += 2 * info.output_width;
    }
    return n;
}

static bool close_to(double a, double b) {
    return fabs(a - b) <= COLLECTIVE_ATOL + COLLECTIVE_RTOL * fabs(b);
}

/* 1 (and a message) when a and b (n values) are not close, else 0. */
static int compare(const char *what, const bnmlp_collective *c, int step, const float *a, const float *b,
                   size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (close_to((double)a[i], (double)b[i])) continue;
        fprintf(stderr, "rank %d of %d, step %d: %s[%zu] = %.9g, one process: %.9g\n", c->rank, c->size, step,
                what, i, (double)a[i], (double)b[i]);
        return 1;
    }
    return 0;
}

static int compare_value(const char *what, const bnmlp_collective *c, int step, double a, double b) {
    if (close_to(a, b) || (isnan(a) && isnan(b))) return 0;
    fprintf(stderr, "rank %d of %d, step %d: %s = %.9g, one process: %.9g\n", c->rank, c->size, step, what, a,
            b);
    return 1;
}

/* 1 (and a message) unless got == expected. */
static int expect_status(const char *what, const bnmlp_collective *c, bnmlp_status got,
                         bnmlp_status expected) {
    if (got == expected) return 0;
    fprintf(stderr, "rank %d of %d: %s returned %s, expected %s\n", c->rank, c->size, what,
            bnmlp_status_string(got), bnmlp_status_string(expected));
    return 1;
}

/* Parameters and moving statistics of model against ref. */
static int compare_models(const char *when, const bnmlp_collective *c, int step, const bnmlp_model *model,
                          const bnmlp_model *ref) {
    static _Thread_local float a[MAX_PARAMS], b[MAX_PARAMS];
    const size_t count = bnmlp_model_param_count(ref);
    char what[96];
    bnmlp_model_get_params(model, a, count);
    bnmlp_model_get_params(ref, b, count);
    snprintf(what, sizeof what, "%s parameter", when);
    int failures = compare(what, c, step, a, b, count);
    const size_t stats = moving_statistics(model, a);
    moving_statistics(ref, b);
    snprintf(what, sizeof what, "%s moving statistic", when);
    return failures + compare(what, c, step, a, b, stats);
}

/* This rank's share of a global batch of rows rows, by the rule documented in bnmlp.h. */
static void share(const bnmlp_collective *c, size_t rows, size_t *offset, size_t *count) {
    const size_t size = (size_t)c->size, rank = (size_t)c->rank, base = rows / size, extra = rows % size;
    *count = base + (rank < extra ? 1 : 0);
    *offset = rank * base + (rank < extra ? rank : extra);
}

/* The reference and the distributed model; the distributed one is built from another seed on
 * every rank but 0, so that matching the reference proves the broadcast. */
static int make_pair(const bnmlp_collective *c, bnmlp_model **ref, bnmlp_model **dist) {
    *ref = make_model(SEED);
    *dist = make_model(SEED + 1000u * (uint32_t)c->rank);
    if (!*ref || !*dist) {
        fprintf(stderr, "rank %d: cannot build the models\n", c->rank);
        return 1;
    }
    int failures =
        expect_status("bnmlp_model_set_collective", c, bnmlp_model_set_collective(*dist, c), BNMLP_OK);
    return failures + compare_models("after set_collective", c, -1, *dist, *ref);
}

/* One train_step of the global batch at row start: the reference on all of it, the distributed
 * model on this rank's share; compares the metrics (and the returned status). */
static int step_both(const bnmlp_collective *c, int step, bnmlp_model *ref, bnmlp_model *dist, data *d,
                     size_t start) {
    const bnmlp_sgd_config config = sgd();
    size_t offset, count;
    share(c, GLOBAL_BATCH, &offset, &count);
    bnmlp_tensor rx = bnmlp_tensor_view(d->x + start * FEATURES, GLOBAL_BATCH, FEATURES);
    bnmlp_tensor ry = bnmlp_tensor_view(d->y + start, GLOBAL_BATCH, 1);
    bnmlp_tensor sx = bnmlp_tensor_view(d->x + (start + offset) * FEATURES, count, FEATURES);
    bnmlp_tensor sy = bnmlp_tensor_view(d->y + start + offset, count, 1);
    float ref_loss, ref_accuracy, loss, accuracy;
    int failures = expect_status(
        "reference train_step", c,
        bnmlp_model_train_step(ref, &rx, &ry, SGD_CONFIG(&config), &ref_loss, &ref_accuracy), BNMLP_OK);
    failures += expect_status("train_step", c,
                              bnmlp_model_train_step(dist, &sx, &sy, SGD_CONFIG(&config), &loss, &accuracy),
                              BNMLP_OK);
    failures += compare_value("loss", c, step, loss, ref_loss);
    failures += compare_value("accuracy", c, step, accuracy, ref_accuracy);
    return failures;
}

int collective_case_steps(const bnmlp_collective *c) {
    static _Thread_local data d;
    make_data(&d);
    bnmlp_model *ref, *dist;
    int failures = make_pair(c, &ref, &dist);
    for (int s = 0; s < STEPS && failures == 0; s++) {
        failures += step_both(c, s, ref, dist, &d, (size_t)s * GLOBAL_BATCH % ROWS);
        failures += compare_models("after the step", c, s, dist, ref);
    }
    bnmlp_model_free(ref);
    bnmlp_model_free(dist);
    return failures;
}

/* fit's configuration for the fit case, with validation on rows [200, 256). */
static bnmlp_fit_config fit_config(data *d) {
    static _Thread_local bnmlp_tensor vx, vy;
    vx = bnmlp_tensor_view(d->x + 200 * FEATURES, ROWS - 200, FEATURES);
    vy = bnmlp_tensor_view(d->y + 200, ROWS - 200, 1);
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.epochs = 3;
    config.batch_size = GLOBAL_BATCH;
    config.optimizer.sgd = sgd();
    config.validation_x = &vx;
    config.validation_y = &vy;
    return config;
}

int collective_case_fit(const bnmlp_collective *c) {
    static _Thread_local data d;
    make_data(&d);
    bnmlp_model *ref, *dist;
    int failures = make_pair(c, &ref, &dist);
    bnmlp_tensor x = bnmlp_tensor_view(d.x, 200, FEATURES), y = bnmlp_tensor_view(d.y, 200, 1);
    const bnmlp_fit_config config = fit_config(&d);
    bnmlp_epoch_record ref_history[3], history[3];
    size_t ref_epochs = 0, epochs = 0;
    failures += expect_status("reference fit", c,
                              bnmlp_model_fit(ref, &x, &y, &config, ref_history, &ref_epochs), BNMLP_OK);
    failures += expect_status("fit", c, bnmlp_model_fit(dist, &x, &y, &config, history, &epochs), BNMLP_OK);
    if (epochs != 3 || ref_epochs != 3) {
        fprintf(stderr, "rank %d: fit ran %zu and %zu epochs, expected 3\n", c->rank, epochs, ref_epochs);
        failures++;
    }
    for (size_t e = 0; e < epochs && e < ref_epochs; e++) {
        failures += compare_value("epoch loss", c, (int)e, history[e].loss, ref_history[e].loss);
        failures += compare_value("epoch accuracy", c, (int)e, history[e].accuracy, ref_history[e].accuracy);
        failures += compare_value("val_loss", c, (int)e, history[e].val_loss, ref_history[e].val_loss);
        failures +=
            compare_value("val_accuracy", c, (int)e, history[e].val_accuracy, ref_history[e].val_accuracy);
    }
    failures += compare_models("after fit", c, 3, dist, ref);
    bnmlp_model_free(ref);
    bnmlp_model_free(dist);
    return failures;
}

/* Counts fields of two records that must agree exactly (the controls' decisions). */
static int compare_controls(const bnmlp_collective *c, size_t e, const bnmlp_epoch_record *a,
                            const bnmlp_epoch_record *b) {
    if (a->steps == b->steps && a->best_epoch == b->best_epoch && a->stop == b->stop &&
        a->restored_epoch == b->restored_epoch && a->learning_rate == b->learning_rate)
        return 0;
    fprintf(stderr, "rank %d, epoch %zu: the controls decided otherwise than one process\n", c->rank, e + 1);
    return 1;
}

int collective_case_fit_controls(const bnmlp_collective *c) {
    static _Thread_local data d;
    make_data(&d);
    bnmlp_model *ref, *dist;
    int failures = make_pair(c, &ref, &dist);
    const bnmlp_tensor x = bnmlp_tensor_view(d.x, ROWS, FEATURES), y = bnmlp_tensor_view(d.y, ROWS, 1);
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.epochs = 8, config.batch_size = GLOBAL_BATCH, config.optimizer.sgd = sgd();
    config.validation_split = 0.25; /* the last 64 rows */
    config.schedule.kind = BNMLP_SCHEDULE_COSINE, config.schedule.decay_steps = 30;
    config.early_stopping.enabled = true, config.early_stopping.monitor = BNMLP_MONITOR_VAL_ACCURACY;
    config.early_stopping.patience = 2, config.early_stopping.restore_best_weights = true;
    bnmlp_epoch_record ref_history[8], history[8];
    size_t ref_epochs = 0, epochs = 0;
    failures += expect_status("reference fit with controls", c,
                              bnmlp_model_fit(ref, &x, &y, &config, ref_history, &ref_epochs), BNMLP_OK);
    failures += expect_status("fit with controls", c,
                              bnmlp_model_fit(dist, &x, &y, &config, history, &epochs), BNMLP_OK);
    if (epochs != ref_epochs) {
        fprintf(stderr, "rank %d: fit ran %zu epochs, one process %zu\n", c->rank, epochs, ref_epochs);
        failures++;
    }
    for (size_t e = 0; e < epochs && e < ref_epochs; e++) {
        failures += compare_value("epoch loss", c, (int)e, history[e].loss, ref_history[e].loss);
        failures += compare_value("val_loss", c, (int)e, history[e].val_loss, ref_history[e].val_loss);
        failures += compare_controls(c, e, &history[e], &ref_history[e]);
    }
    if (epochs == 0 || history[epochs - 1].restored_epoch == 0) {
        fprintf(stderr, "rank %d: fit with restore_best_weights restored no epoch\n", c->rank);
        failures++;
    }
    failures += compare_models("after fit with controls", c, (int)epochs, dist, ref);
    bnmlp_model_free(ref);
    bnmlp_model_free(dist);
    return failures;
}

/* Sums one double over the ranks through the transport. */
static double sum_over_ranks(const bnmlp_collective *c, double value) {
    c->allreduce_sum_double(c->context, &value, 1);
    return value;
}

int collective_case_unsynchronized(const bnmlp_collective *c) {
    static _Thread_local data d;
    static _Thread_local float a[MAX_STATS], b[MAX_STATS];
    make_data(&d);
    bnmlp_model *ref, *dist;
    int failures = make_pair(c, &ref, &dist);
    failures += expect_status("set_batchnorm_sync", c, bnmlp_model_set_batchnorm_sync(dist, false), BNMLP_OK);
    const bnmlp_sgd_config config = sgd();
    size_t offset, count;
    share(c, GLOBAL_BATCH, &offset, &count);
    bnmlp_tensor sx = bnmlp_tensor_view(d.x + offset * FEATURES, count, FEATURES);
    bnmlp_tensor sy = bnmlp_tensor_view(d.y + offset, count, 1);
    bnmlp_tensor rx = bnmlp_tensor_view(d.x, GLOBAL_BATCH, FEATURES),
                 ry = bnmlp_tensor_view(d.y, GLOBAL_BATCH, 1);
    float loss, ref_loss;
    failures +=
        expect_status("unsynchronized train_step", c,
                      bnmlp_model_train_step(dist, &sx, &sy, SGD_CONFIG(&config), &loss, NULL), BNMLP_OK);
    failures +=
        expect_status("reference train_step", c,
                      bnmlp_model_train_step(ref, &rx, &ry, SGD_CONFIG(&config), &ref_loss, NULL), BNMLP_OK);
    /* The loss is global: the same on every rank. */
    failures += compare_value("loss times ranks", c, 0, sum_over_ranks(c, loss), (double)c->size * loss);
    const size_t n = moving_statistics(dist, a);
    moving_statistics(ref, b);
    double difference = 0.0, own = 0.0;
    for (size_t i = 0; i < n; i++) {
        difference = fmax(difference, fabs((double)a[i] - (double)b[i]));
        own += (double)a[i];
    }
    /* With one rank the statistics are one process's; with more each rank's share gives its own. */
    const bool differs = difference > 1e-4, alike = fabs(sum_over_ranks(c, own) - c->size * own) < 1e-6;
    if (c->size == 1 ? differs : !differs) {
        fprintf(stderr, "rank %d of %d: unsynchronized moving statistics differ from one process's by %g\n",
                c->rank, c->size, difference);
        failures++;
    }
    if (c->size > 1 && alike) {
        fprintf(stderr, "rank %d of %d: unsynchronized moving statistics are the same on every rank\n",
                c->rank, c->size);
        failures++;
    }
    bnmlp_model_free(ref);
    bnmlp_model_free(dist);
    return failures;
}

/* Fails unless every rank got the same status (the maximum equals the minimum). */
static int same_everywhere(const bnmlp_collective *c, const char *what, bnmlp_status status) {
    int values[2] = {(int)status, -(int)status};
    c->allreduce_max_int(c->context, values, 2);
    if (values[0] == -values[1]) return 0;
    fprintf(stderr, "rank %d of %d: %s: the ranks returned different statuses\n", c->rank, c->size, what);
    return 1;
}

int collective_case_bad_input(const bnmlp_collective *c) {
    static _Thread_local data d;
    make_data(&d);
    bnmlp_model *ref, *dist;
    int failures = make_pair(c, &ref, &dist);
    failures += step_both(c, 0, ref, dist, &d, 0);
    /* The last rank poisons its share of the next batch (and only its copy of the data). */
    const bool poisoned = c->rank == c->size - 1;
    size_t offset, count;
    share(c, GLOBAL_BATCH, &offset, &count);
    const size_t bad = (GLOBAL_BATCH + offset + count - 1) * FEATURES;
    const float saved = d.x[bad];
    if (poisoned) d.x[bad] = NAN;
    const bnmlp_sgd_config config = sgd();
    bnmlp_tensor sx = bnmlp_tensor_view(d.x + (GLOBAL_BATCH + offset) * FEATURES, count, FEATURES);
    bnmlp_tensor sy = bnmlp_tensor_view(d.y + GLOBAL_BATCH + offset, count, 1);
    float loss = -1.0f;
    bnmlp_status status = bnmlp_model_train_step(dist, &sx, &sy, SGD_CONFIG(&config), &loss, NULL);
    failures += expect_status("train_step with a NaN on the last rank", c, status, BNMLP_ERR_NOT_FINITE);
    failures += same_everywhere(c, "train_step", status);
    /* fit over all rows, which hold the NaN on the last rank only. */
    bnmlp_tensor x = bnmlp_tensor_view(d.x, ROWS, FEATURES), y = bnmlp_tensor_view(d.y, ROWS, 1);
    bnmlp_fit_config fit = BNMLP_FIT_DEFAULT;
    fit.optimizer.sgd = config;
    status = bnmlp_model_fit(dist, &x, &y, &fit, NULL, NULL);
    failures += expect_status("fit with a NaN on the last rank", c, status, BNMLP_ERR_NOT_FINITE);
    failures += same_everywhere(c, "fit", status);
    double metric = -1.0;
    status = bnmlp_model_evaluate(dist, &sx, &sy, &metric, NULL);
    failures += expect_status("evaluate with a NaN on the last rank", c, status, BNMLP_ERR_NOT_FINITE);
    failures += same_everywhere(c, "evaluate", status);
    /* A failed call changed nothing: the next good step still matches one process. */
    d.x[bad] = saved;
    failures += compare_models("after the failed calls", c, 1, dist, ref);
    failures += step_both(c, 1, ref, dist, &d, GLOBAL_BATCH);
    failures += compare_models("after the good step", c, 2, dist, ref);
    bnmlp_model_free(ref);
    bnmlp_model_free(dist);
    return failures;
}

int collective_case_evaluate(const bnmlp_collective *c) {
    static _Thread_local data d;
    make_data(&d);
    bnmlp_model *ref, *dist;
    int failures = make_pair(c, &ref, &dist);
    for (int s = 0; s < 3; s++) failures += step_both(c, s, ref, dist, &d, (size_t)s * GLOBAL_BATCH);
    size_t offset, count;
    share(c, ROWS, &offset, &count);
    bnmlp_tensor sx = bnmlp_tensor_view(d.x + offset * FEATURES, count, FEATURES);
    bnmlp_tensor sy = bnmlp_tensor_view(d.y + offset, count, 1);
    bnmlp_tensor x = bnmlp_tensor_view(d.x, ROWS, FEATURES), y = bnmlp_tensor_view(d.y, ROWS, 1);
    double loss, accuracy, ref_loss, ref_accuracy;
    failures +=
        expect_status("evaluate", c, bnmlp_model_evaluate(dist, &sx, &sy, &loss, &accuracy), BNMLP_OK);
    failures += expect_status("reference evaluate", c,
                              bnmlp_model_evaluate(ref, &x, &y, &ref_loss, &ref_accuracy), BNMLP_OK);
    failures += compare_value("evaluate loss", c, 3, loss, ref_loss);
    failures += compare_value("evaluate accuracy", c, 3, accuracy, ref_accuracy);
    bnmlp_model_free(ref);
    bnmlp_model_free(dist);
    return failures;
}

/* 4 -> Dense(16, relu) -> Dropout(0.5) -> Dense(1, sigmoid), built for the global batch. */
static bnmlp_model *make_dropout_model(uint32_t seed) {
    bnmlp_model *model = bnmlp_model_create(FEATURES, NULL);
    if (!model) return NULL;
    bnmlp_dense_config d16 = BNMLP_DENSE_DEFAULT(16), head = BNMLP_DENSE_DEFAULT(1);
    d16.activation = BNMLP_ACTIVATION_RELU;
    head.activation = BNMLP_ACTIVATION_SIGMOID;
    bnmlp_status status = bnmlp_model_add_dense(model, &d16);
    if (status == BNMLP_OK) status = bnmlp_model_add_dropout(model, 0.5f, 99);
    if (status == BNMLP_OK) status = bnmlp_model_add_dense(model, &head);
    if (status == BNMLP_OK) status = bnmlp_model_build(model, GLOBAL_BATCH, seed);
    if (status != BNMLP_OK) {
        bnmlp_model_free(model);
        return NULL;
    }
    return model;
}

int collective_case_dropout(const bnmlp_collective *c) {
    static _Thread_local data d;
    make_data(&d);
    bnmlp_model *ref = make_dropout_model(SEED), *dist = make_dropout_model(SEED + 1000u * (uint32_t)c->rank);
    if (!ref || !dist) {
        fprintf(stderr, "rank %d: cannot build the dropout models\n", c->rank);
        bnmlp_model_free(ref);
        bnmlp_model_free(dist);
        return 1;
    }
    int failures =
        expect_status("bnmlp_model_set_collective", c, bnmlp_model_set_collective(dist, c), BNMLP_OK);
    size_t offset, count;
    share(c, GLOBAL_BATCH, &offset, &count);
    /* A training-mode forward of this rank's share: one process's rows [offset, offset + count),
     * masks and all (a mask keyed by the local row would zero other units). */
    static _Thread_local float ref_out[GLOBAL_BATCH], out[GLOBAL_BATCH];
    bnmlp_tensor rx = bnmlp_tensor_view(d.x, GLOBAL_BATCH, FEATURES),
                 ro = bnmlp_tensor_view(ref_out, GLOBAL_BATCH, 1);
    bnmlp_tensor sx = bnmlp_tensor_view(d.x + offset * FEATURES, count, FEATURES),
                 so = bnmlp_tensor_view(out, count, 1);
    failures += expect_status("reference training forward", c,
                              bnmlp_model_forward(ref, &rx, BNMLP_MODE_TRAINING, &ro), BNMLP_OK);
    failures += expect_status("training forward", c, bnmlp_model_forward(dist, &sx, BNMLP_MODE_TRAINING, &so),
                              BNMLP_OK);
    failures += compare("training-mode output with dropout", c, 0, out, ref_out + offset, count);
    /* Steps of train_step: the same masks on every rank's rows as in one process. */
    const bnmlp_sgd_config config = sgd();
    for (int s = 0; s < 5; s++) { /* every rank runs every step, failed or not */
        const size_t start = (size_t)s * GLOBAL_BATCH;
        rx = bnmlp_tensor_view(d.x + start * FEATURES, GLOBAL_BATCH, FEATURES);
        bnmlp_tensor ry = bnmlp_tensor_view(d.y + start, GLOBAL_BATCH, 1);
        sx = bnmlp_tensor_view(d.x + (start + offset) * FEATURES, count, FEATURES);
        bnmlp_tensor sy = bnmlp_tensor_view(d.y + start + offset, count, 1);
        float ref_loss, loss;
        failures += expect_status("reference train_step", c,
                                  bnmlp_model_train_step(ref, &rx, &ry, SGD_CONFIG(&config), &ref_loss, NULL),
                                  BNMLP_OK);
        failures +=
            expect_status("train_step", c,
                          bnmlp_model_train_step(dist, &sx, &sy, SGD_CONFIG(&config), &loss, NULL), BNMLP_OK);
        failures += compare_value("loss with dropout", c, s, loss, ref_loss);
        failures += compare_models("after a step with dropout", c, s, dist, ref);
    }
    bnmlp_model_free(ref);
    bnmlp_model_free(dist);
    return failures;
}

/* Sample weights of every row (in [0.25, 2.25)) and class weights of the binary labels. */
static void make_weights(float *sample, float *classes) {
    for (size_t r = 0; r < ROWS; r++) sample[r] = 0.25f + (float)((r * 37u) % 64u) / 32.0f;
    classes[0] = 0.75f, classes[1] = 2.5f;
}

/* train_step_weighted, fit with weights (validation with its own sample weights) and
 * evaluate_weighted under both normalizations: the sum of weights of the global batch is summed
 * over the ranks (train_step) or computed from the whole data (fit). */
int collective_case_weights(const bnmlp_collective *c) {
    static _Thread_local data d;
    static _Thread_local float sample[ROWS], classes[2];
    make_data(&d);
    make_weights(sample, classes);
    int failures = 0;
    for (int n = 0; n < 2; n++) {
        bnmlp_loss_weights weights = {.class_weights = classes,
                                      .class_count = 2,
                                      .sample_weights = sample,
                                      .normalization = (bnmlp_weight_normalization)n};
        bnmlp_model *ref, *dist;
        failures += make_pair(c, &ref, &dist);
        const bnmlp_sgd_config config = sgd();
        size_t offset, count;
        share(c, GLOBAL_BATCH, &offset, &count);
        for (int s = 0; s < 4 && failures == 0; s++) {
            const size_t start = (size_t)s * GLOBAL_BATCH;
            const bnmlp_tensor rx = bnmlp_tensor_view(d.x + start * FEATURES, GLOBAL_BATCH, FEATURES),
                               ry = bnmlp_tensor_view(d.y + start, GLOBAL_BATCH, 1),
                               sx = bnmlp_tensor_view(d.x + (start + offset) * FEATURES, count, FEATURES),
                               sy = bnmlp_tensor_view(d.y + start + offset, count, 1);
            bnmlp_loss_weights ref_weights = weights, share_weights = weights;
            ref_weights.sample_weights = sample + start;
            share_weights.sample_weights = sample + start + offset;
            float ref_loss, loss;
            failures += expect_status("reference weighted step", c,
                                      bnmlp_model_train_step_weighted(ref, &rx, &ry, &ref_weights,
                                                                      SGD_CONFIG(&config), &ref_loss, NULL),
                                      BNMLP_OK);
            failures += expect_status("weighted step", c,
                                      bnmlp_model_train_step_weighted(dist, &sx, &sy, &share_weights,
                                                                      SGD_CONFIG(&config), &loss, NULL),
                                      BNMLP_OK);
            failures += compare_value("weighted loss", c, s, loss, ref_loss);
            failures += compare_models("after the weighted step", c, s, dist, ref);
        }
        /* evaluate_weighted on this rank's share of the rows against one process on all. */
        size_t eval_offset, eval_count;
        share(c, ROWS, &eval_offset, &eval_count);
        const bnmlp_tensor ax = bnmlp_tensor_view(d.x, ROWS, FEATURES), ay = bnmlp_tensor_view(d.y, ROWS, 1),
                           ex = bnmlp_tensor_view(d.x + eval_offset * FEATURES, eval_count, FEATURES),
                           ey = bnmlp_tensor_view(d.y + eval_offset, eval_count, 1);
        bnmlp_loss_weights eval_weights = weights;
        eval_weights.sample_weights = sample + eval_offset;
        double ref_eval = 0.0, eval = 0.0;
        failures +=
            expect_status("reference weighted evaluate", c,
                          bnmlp_model_evaluate_weighted(ref, &ax, &ay, &weights, &ref_eval, NULL), BNMLP_OK);
        failures += expect_status("weighted evaluate", c,
                                  bnmlp_model_evaluate_weighted(dist, &ex, &ey, &eval_weights, &eval, NULL),
                                  BNMLP_OK);
        failures += compare_value("weighted evaluate", c, 0, eval, ref_eval);
        /* fit, with validation rows weighted by their own sample weights. */
        const bnmlp_tensor x = bnmlp_tensor_view(d.x, 200, FEATURES), y = bnmlp_tensor_view(d.y, 200, 1);
        bnmlp_fit_config fit = fit_config(&d);
        fit.epochs = 2;
        fit.weights = weights;
        fit.validation_sample_weights = sample + 200;
        bnmlp_epoch_record ref_history[2], history[2];
        failures += expect_status("reference weighted fit", c,
                                  bnmlp_model_fit(ref, &x, &y, &fit, ref_history, NULL), BNMLP_OK);
        failures +=
            expect_status("weighted fit", c, bnmlp_model_fit(dist, &x, &y, &fit, history, NULL), BNMLP_OK);
        for (int e = 0; e < 2 && failures == 0; e++) {
            failures += compare_value("weighted epoch loss", c, e, history[e].loss, ref_history[e].loss);
            failures +=
                compare_value("weighted val_loss", c, e, history[e].val_loss, ref_history[e].val_loss);
        }
        failures += compare_models("after the weighted fit", c, 2, dist, ref);
        bnmlp_model_free(ref);
        bnmlp_model_free(dist);
    }
    return failures;
}

/* fit with summable metrics and evaluate_metrics on each rank's share against one process;
 * the metrics' accuracy equals fit's own accuracy exactly (counts combine exactly); roc_auc is
 * refused on every rank. */
int collective_case_metrics(const bnmlp_collective *c) {
    static _Thread_local data d;
    make_data(&d);
    bnmlp_model *ref, *dist;
    int failures = make_pair(c, &ref, &dist);
    static const bnmlp_metric kinds[] = {BNMLP_METRIC_ACCURACY, BNMLP_METRIC_PRECISION, BNMLP_METRIC_RECALL,
                                         BNMLP_METRIC_F1, BNMLP_METRIC_AUC};
    const size_t count = sizeof kinds / sizeof kinds[0];
    bnmlp_tensor x = bnmlp_tensor_view(d.x, 200, FEATURES), y = bnmlp_tensor_view(d.y, 200, 1);
    bnmlp_fit_config config = fit_config(&d);
    config.metrics = kinds;
    config.metric_count = count;
    bnmlp_epoch_record ref_history[3], history[3];
    size_t ref_epochs = 0, epochs = 0;
    failures += expect_status("reference fit with metrics", c,
                              bnmlp_model_fit(ref, &x, &y, &config, ref_history, &ref_epochs), BNMLP_OK);
    failures += expect_status("fit with metrics", c, bnmlp_model_fit(dist, &x, &y, &config, history, &epochs),
                              BNMLP_OK);
    for (size_t e = 0; e < epochs && e < ref_epochs; e++) {
        for (size_t i = 0; i < count; i++) {
            failures +=
                compare_value("epoch metric", c, (int)e, history[e].metrics[i], ref_history[e].metrics[i]);
            failures += compare_value("epoch val_metric", c, (int)e, history[e].val_metrics[i],
                                      ref_history[e].val_metrics[i]);
        }
        if (history[e].metrics[0] != history[e].accuracy ||
            history[e].val_metrics[0] != history[e].val_accuracy) {
            fprintf(stderr, "rank %d of %d, epoch %zu: the accuracy metric differs from fit's accuracy\n",
                    c->rank, c->size, e);
            failures++;
        }
    }
    size_t offset, rows;
    share(c, ROWS, &offset, &rows);
    bnmlp_tensor sx = bnmlp_tensor_view(d.x + offset * FEATURES, rows, FEATURES);
    bnmlp_tensor sy = bnmlp_tensor_view(d.y + offset, rows, 1);
    bnmlp_tensor all_x = bnmlp_tensor_view(d.x, ROWS, FEATURES), all_y = bnmlp_tensor_view(d.y, ROWS, 1);
    double values[5], ref_values[5];
    failures += expect_status("evaluate_metrics", c,
                              bnmlp_model_evaluate_metrics(dist, &sx, &sy, kinds, count, values), BNMLP_OK);
    failures +=
        expect_status("reference evaluate_metrics", c,
                      bnmlp_model_evaluate_metrics(ref, &all_x, &all_y, kinds, count, ref_values), BNMLP_OK);
    for (size_t i = 0; i < count; i++)
        failures += compare_value("evaluate metric", c, 3, values[i], ref_values[i]);
    const bnmlp_metric exact[] = {BNMLP_METRIC_ROC_AUC};
    failures += expect_status("evaluate_metrics with roc_auc", c,
                              bnmlp_model_evaluate_metrics(dist, &sx, &sy, exact, 1, values),
                              BNMLP_ERR_INVALID_ARGUMENT);
    config.metrics = exact;
    config.metric_count = 1;
    failures += expect_status("fit with roc_auc", c, bnmlp_model_fit(dist, &x, &y, &config, NULL, NULL),
                              BNMLP_ERR_INVALID_ARGUMENT);
    bnmlp_model_free(ref);
    bnmlp_model_free(dist);
    return failures;
}

int collective_case_all(const bnmlp_collective *c) {
    return collective_case_steps(c) + collective_case_fit(c) + collective_case_fit_controls(c) +
           collective_case_unsynchronized(c) + collective_case_bad_input(c) + collective_case_evaluate(c) +
           collective_case_dropout(c) + collective_case_weights(c) + collective_case_metrics(c);
}
