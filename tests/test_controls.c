/*
 * test_controls.c - fit's training controls: the learning-rate schedules against
 * torch.optim.lr_scheduler and Keras's formulas, early stopping and reduce-LR-on-plateau against
 * scripted histories with known answers (fixtures from tools/gen_controls_fixtures.py), then fit
 * itself: restore_best_weights, validation_split, the per-batch callback, schedules in fit and a
 * resumed fit that continues its schedule bit for bit, and every bad input.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#include "fixtures/controls_reference.h"
#include "model/model.h"
#include "optim/optim.h"

/* Rates are compared in double, relative to the reference: the library's closed forms against
 * PyTorch's recursive products and NumPy's formulas. fit rounds the rate to float32 (a relative
 * 6e-8), which these comparisons do not include. */
#define RATE_RTOL 1e-7

static double max_relative_error(double got, double want, double worst) {
    const double error = fabs(got - want) / fmax(fabs(want), 1e-300);
    return error > worst ? error : worst;
}

static void test_schedule_fixtures(void **state) {
    (void)state;
    double worst = 0.0;
    for (size_t i = 0; i < sizeof schedule_fixtures / sizeof schedule_fixtures[0]; i++) {
        const schedule_fixture *f = &schedule_fixtures[i];
        assert_ok(bnmlp_schedule_check(&f->config));
        for (size_t t = 0; t < f->count; t++) {
            double rate;
            assert_ok(bnmlp_schedule_value(&f->config, f->base, t, &rate));
            if (fabs(rate - f->rates[t]) > RATE_RTOL * fabs(f->rates[t]) + 1e-15)
                fail_msg("%s: t %zu gives %.17g, the reference %.17g", f->source, t, rate, f->rates[t]);
            worst = max_relative_error(rate, f->rates[t], worst);
        }
    }
    printf("schedules: largest relative error against the references %.3g\n", worst);
}

static void test_schedule_table(void **state) {
    (void)state;
    assert_true(bnmlp_schedule_count() >= 9);
    for (size_t k = 0; k < bnmlp_schedule_count(); k++) {
        const bnmlp_schedule_row *row = bnmlp_schedule_row_of((bnmlp_schedule_kind)k);
        assert_non_null(row);
        assert_int_equal(row->kind, k);
        bnmlp_schedule_kind kind;
        assert_ok(bnmlp_schedule_from_name(bnmlp_schedule_name((bnmlp_schedule_kind)k), &kind));
        assert_int_equal(kind, k);
    }
    assert_null(bnmlp_schedule_row_of((bnmlp_schedule_kind)bnmlp_schedule_count()));
    assert_string_equal(bnmlp_schedule_name((bnmlp_schedule_kind)99), "unknown");
    bnmlp_schedule_kind kind = BNMLP_SCHEDULE_STEP;
    assert_status(bnmlp_schedule_from_name("cosine_decay", &kind), BNMLP_ERR_INVALID_ARGUMENT);
    assert_int_equal(kind, BNMLP_SCHEDULE_STEP);
    assert_true(bnmlp_schedule_counts_steps(BNMLP_SCHEDULE_COSINE));
    assert_false(bnmlp_schedule_counts_steps(BNMLP_SCHEDULE_ONE_CYCLE));
    /* Every kind's defaults are valid, and the constant schedule is the base. */
    for (size_t k = 0; k < bnmlp_schedule_count(); k++) {
        bnmlp_schedule_config config = BNMLP_SCHEDULE_DEFAULT;
        config.kind = (bnmlp_schedule_kind)k;
        if (config.kind == BNMLP_SCHEDULE_PIECEWISE)
            config.milestone_count = 1, config.values[0] = 0.1, config.values[1] = 0.01;
        assert_ok(bnmlp_schedule_check(&config));
    }
    bnmlp_schedule_config constant = BNMLP_SCHEDULE_DEFAULT;
    double rate;
    assert_ok(bnmlp_schedule_value(&constant, 0.25, 1234, &rate));
    assert_true(rate == 0.25);
    constant.initial_learning_rate = 0.5;
    assert_ok(bnmlp_schedule_value(&constant, 0.25, 1, &rate));
    assert_true(rate == 0.5);
}

/* A schedule config made bad by one change. */
typedef struct bad_schedule {
    const char *what;
    bnmlp_schedule_kind kind;
    void (*spoil)(bnmlp_schedule_config *c);
} bad_schedule;

static void unit_bad(bnmlp_schedule_config *c) { c->unit = (bnmlp_schedule_unit)7; }
static void initial_negative(bnmlp_schedule_config *c) { c->initial_learning_rate = -0.1; }
static void initial_nan(bnmlp_schedule_config *c) { c->initial_learning_rate = NAN; }
static void decay_steps_zero(bnmlp_schedule_config *c) { c->decay_steps = 0; }
static void decay_rate_zero(bnmlp_schedule_config *c) { c->decay_rate = 0.0; }
static void no_milestones(bnmlp_schedule_config *c) { c->milestone_count = 0; }
static void milestones_unordered(bnmlp_schedule_config *c) {
    c->milestone_count = 2, c->milestones[0] = 5, c->milestones[1] = 5,
    c->values[0] = c->values[1] = c->values[2] = 1;
}
static void too_many_milestones(bnmlp_schedule_config *c) {
    c->milestone_count = BNMLP_SCHEDULE_MAX_MILESTONES + 1;
}
static void value_zero(bnmlp_schedule_config *c) {
    c->milestone_count = 1, c->milestones[0] = 3, c->values[0] = 0.1, c->values[1] = 0.0;
}
static void alpha_above_one(bnmlp_schedule_config *c) { c->alpha = 1.5; }
static void warmup_target_zero(bnmlp_schedule_config *c) { c->warmup_steps = 3, c->warmup_target = 0.0; }
static void step_size_zero(bnmlp_schedule_config *c) { c->step_size = 0; }
static void gamma_negative(bnmlp_schedule_config *c) { c->gamma = -0.5; }
static void gamma_infinite(bnmlp_schedule_config *c) { c->gamma = INFINITY; }
static void t_max_zero(bnmlp_schedule_config *c) { c->t_max = 0; }
static void eta_min_negative(bnmlp_schedule_config *c) { c->eta_min = -1e-3; }
static void pct_start_one(bnmlp_schedule_config *c) { c->pct_start = 1.0; }
static void one_cycle_too_short(bnmlp_schedule_config *c) { c->total_steps = 3; }
static void div_factor_zero(bnmlp_schedule_config *c) { c->div_factor = 0.0; }
static void max_lr_nan(bnmlp_schedule_config *c) { c->max_lr = NAN; }

static const bad_schedule bad_schedules[] = {
    {"unknown unit", BNMLP_SCHEDULE_CONSTANT, unit_bad},
    {"negative initial rate", BNMLP_SCHEDULE_EXPONENTIAL, initial_negative},
    {"NaN initial rate", BNMLP_SCHEDULE_STEP, initial_nan},
    {"decay_steps 0", BNMLP_SCHEDULE_EXPONENTIAL, decay_steps_zero},
    {"decay_rate 0", BNMLP_SCHEDULE_EXPONENTIAL, decay_rate_zero},
    {"piecewise without milestones", BNMLP_SCHEDULE_PIECEWISE, no_milestones},
    {"milestones not increasing", BNMLP_SCHEDULE_MULTISTEP, milestones_unordered},
    {"too many milestones", BNMLP_SCHEDULE_MULTISTEP, too_many_milestones},
    {"piecewise value 0", BNMLP_SCHEDULE_PIECEWISE, value_zero},
    {"cosine decay_steps 0", BNMLP_SCHEDULE_COSINE, decay_steps_zero},
    {"alpha above 1", BNMLP_SCHEDULE_COSINE, alpha_above_one},
    {"warmup target 0", BNMLP_SCHEDULE_COSINE, warmup_target_zero},
    {"step_size 0", BNMLP_SCHEDULE_STEP, step_size_zero},
    {"gamma negative", BNMLP_SCHEDULE_MULTISTEP, gamma_negative},
    {"gamma infinite", BNMLP_SCHEDULE_EXPONENTIAL_LR, gamma_infinite},
    {"t_max 0", BNMLP_SCHEDULE_COSINE_ANNEALING, t_max_zero},
    {"eta_min negative", BNMLP_SCHEDULE_COSINE_ANNEALING, eta_min_negative},
    {"pct_start 1", BNMLP_SCHEDULE_ONE_CYCLE, pct_start_one},
    {"one cycle of 3 steps at pct_start 0.3", BNMLP_SCHEDULE_ONE_CYCLE, one_cycle_too_short},
    {"div_factor 0", BNMLP_SCHEDULE_ONE_CYCLE, div_factor_zero},
    {"max_lr NaN", BNMLP_SCHEDULE_ONE_CYCLE, max_lr_nan},
};

static void test_bad_schedules(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_schedules / sizeof bad_schedules[0]; i++) {
        bnmlp_schedule_config config = BNMLP_SCHEDULE_DEFAULT;
        config.kind = bad_schedules[i].kind;
        bad_schedules[i].spoil(&config);
        double rate = 7.0;
        if (bnmlp_schedule_check(&config) != BNMLP_ERR_INVALID_ARGUMENT ||
            bnmlp_schedule_value(&config, 0.1, 3, &rate) != BNMLP_ERR_INVALID_ARGUMENT || rate != 7.0)
            fail_msg("a bad schedule was accepted: %s", bad_schedules[i].what);
    }
    bnmlp_schedule_config config = BNMLP_SCHEDULE_DEFAULT;
    config.kind = (bnmlp_schedule_kind)bnmlp_schedule_count();
    assert_status(bnmlp_schedule_check(&config), BNMLP_ERR_INVALID_ARGUMENT);
    config = BNMLP_SCHEDULE_DEFAULT;
    double rate;
    assert_status(bnmlp_schedule_value(&config, 0.0, 1, &rate), BNMLP_ERR_INVALID_ARGUMENT); /* no base */
    assert_status(bnmlp_schedule_value(&config, NAN, 1, &rate), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_schedule_value(NULL, 0.1, 1, &rate), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_schedule_value(&config, 0.1, 1, NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_schedule_check(NULL), BNMLP_ERR_NULL_ARGUMENT);
}

static void test_stopping_fixtures(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof stopping_fixtures / sizeof stopping_fixtures[0]; i++) {
        const stopping_fixture *f = &stopping_fixtures[i];
        bnmlp_early_stopping_state s;
        assert_ok(bnmlp_early_stopping_begin(&f->config, &s));
        for (size_t e = 0; e < f->count; e++) {
            bool keep, stop;
            assert_ok(bnmlp_early_stopping_update(&f->config, &s, e, f->values[e], &keep, &stop));
            const int best = s.has_best ? (int)s.best_epoch : -1;
            if ((int)stop != f->stop[e] || best != f->best[e])
                fail_msg("%s, epoch %zu: stop %d best %d, the reference stop %d best %d", f->source, e,
                         (int)stop, best, f->stop[e], f->best[e]);
            /* The weights are kept exactly when the best epoch moves to this one. */
            assert_int_equal(keep, s.has_best && s.best_epoch == e);
        }
        assert_int_equal(s.stopped, f->stop[f->count - 1]);
    }
}

static void test_plateau_fixtures(void **state) {
    (void)state;
    double worst = 0.0;
    for (size_t i = 0; i < sizeof plateau_fixtures / sizeof plateau_fixtures[0]; i++) {
        const plateau_fixture *f = &plateau_fixtures[i];
        bnmlp_plateau_state s;
        assert_ok(bnmlp_plateau_begin(&f->config, &s));
        double rate = f->start;
        for (size_t e = 0; e < f->count; e++) {
            const double before = rate;
            bool reduced;
            assert_ok(bnmlp_plateau_update(&f->config, &s, f->values[e], &rate, &reduced));
            if (fabs(rate - f->rates[e]) > RATE_RTOL * f->rates[e])
                fail_msg("%s, epoch %zu: rate %.17g, the reference %.17g", f->source, e, rate, f->rates[e]);
            assert_int_equal(reduced, rate != before);
            worst = max_relative_error(rate, f->rates[e], worst);
        }
    }
    printf("plateaus: largest relative error against the references %.3g\n", worst);
}

/* A config of early stopping or plateau made bad by one change. */
typedef struct bad_control {
    const char *what;
    void (*spoil_stopping)(bnmlp_early_stopping_config *c);
    void (*spoil_plateau)(bnmlp_plateau_config *c);
} bad_control;

static void es_monitor(bnmlp_early_stopping_config *c) { c->monitor = (bnmlp_monitor)9; }
static void es_mode(bnmlp_early_stopping_config *c) { c->mode = (bnmlp_direction)9; }
static void es_delta(bnmlp_early_stopping_config *c) { c->min_delta = NAN; }
static void es_baseline(bnmlp_early_stopping_config *c) { c->has_baseline = true, c->baseline = INFINITY; }
static void pl_monitor(bnmlp_plateau_config *c) { c->monitor = (bnmlp_monitor)9; }
static void pl_mode(bnmlp_plateau_config *c) { c->mode = (bnmlp_direction)9; }
static void pl_style(bnmlp_plateau_config *c) { c->style = (bnmlp_plateau_style)9; }
static void pl_threshold_mode(bnmlp_plateau_config *c) { c->threshold_mode = (bnmlp_threshold_mode)9; }
static void pl_factor_one(bnmlp_plateau_config *c) { c->factor = 1.0; }
static void pl_factor_zero(bnmlp_plateau_config *c) { c->factor = 0.0; }
static void pl_threshold(bnmlp_plateau_config *c) { c->threshold = -1e-4; }
static void pl_min_lr(bnmlp_plateau_config *c) { c->min_lr = -1.0; }
static void pl_eps(bnmlp_plateau_config *c) { c->eps = NAN; }

static const bad_control bad_controls[] = {
    {"early stopping: unknown monitor", es_monitor, NULL},
    {"early stopping: unknown mode", es_mode, NULL},
    {"early stopping: NaN min_delta", es_delta, NULL},
    {"early stopping: infinite baseline", es_baseline, NULL},
    {"plateau: unknown monitor", NULL, pl_monitor},
    {"plateau: unknown mode", NULL, pl_mode},
    {"plateau: unknown style", NULL, pl_style},
    {"plateau: unknown threshold mode", NULL, pl_threshold_mode},
    {"plateau: factor 1", NULL, pl_factor_one},
    {"plateau: factor 0", NULL, pl_factor_zero},
    {"plateau: negative threshold", NULL, pl_threshold},
    {"plateau: negative min_lr", NULL, pl_min_lr},
    {"plateau: NaN eps", NULL, pl_eps},
};

static void test_bad_controls(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_controls / sizeof bad_controls[0]; i++) {
        const bad_control *b = &bad_controls[i];
        bnmlp_status status;
        if (b->spoil_stopping) {
            bnmlp_early_stopping_config c = BNMLP_EARLY_STOPPING_DEFAULT;
            b->spoil_stopping(&c);
            bnmlp_early_stopping_state s;
            status = bnmlp_early_stopping_check(&c);
            if (status == BNMLP_ERR_INVALID_ARGUMENT) status = bnmlp_early_stopping_begin(&c, &s);
        } else {
            bnmlp_plateau_config c = BNMLP_PLATEAU_DEFAULT;
            b->spoil_plateau(&c);
            bnmlp_plateau_state s;
            status = bnmlp_plateau_check(&c);
            if (status == BNMLP_ERR_INVALID_ARGUMENT) status = bnmlp_plateau_begin(&c, &s);
        }
        if (status != BNMLP_ERR_INVALID_ARGUMENT) fail_msg("a bad control was accepted: %s", b->what);
    }
    /* Values that are not finite, and missing pointers. */
    const bnmlp_early_stopping_config es = BNMLP_EARLY_STOPPING_DEFAULT;
    bnmlp_early_stopping_state es_state;
    assert_ok(bnmlp_early_stopping_begin(&es, &es_state));
    bool stop;
    assert_status(bnmlp_early_stopping_update(&es, &es_state, 0, NAN, NULL, &stop),
                  BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_early_stopping_update(&es, &es_state, 0, 1.0, NULL, NULL), BNMLP_ERR_NULL_ARGUMENT);
    assert_status(bnmlp_early_stopping_begin(NULL, &es_state), BNMLP_ERR_NULL_ARGUMENT);
    const bnmlp_plateau_config pl = BNMLP_PLATEAU_PYTORCH_DEFAULT;
    bnmlp_plateau_state pl_state;
    assert_ok(bnmlp_plateau_begin(&pl, &pl_state));
    double rate = 0.1;
    assert_status(bnmlp_plateau_update(&pl, &pl_state, INFINITY, &rate, NULL), BNMLP_ERR_INVALID_ARGUMENT);
    rate = 0.0;
    assert_status(bnmlp_plateau_update(&pl, &pl_state, 1.0, &rate, NULL), BNMLP_ERR_INVALID_ARGUMENT);
    assert_status(bnmlp_plateau_update(&pl, &pl_state, 1.0, NULL, NULL), BNMLP_ERR_NULL_ARGUMENT);
    /* Monitor names. */
    bnmlp_monitor monitor;
    assert_ok(bnmlp_monitor_from_name("val_acc", &monitor));
    assert_int_equal(monitor, BNMLP_MONITOR_VAL_ACCURACY);
    assert_ok(bnmlp_monitor_from_name("loss", &monitor));
    assert_int_equal(monitor, BNMLP_MONITOR_LOSS);
    assert_status(bnmlp_monitor_from_name("val_auc", &monitor), BNMLP_ERR_INVALID_ARGUMENT);
    assert_string_equal(bnmlp_monitor_name(BNMLP_MONITOR_VAL_ACCURACY), "val_accuracy");
    assert_string_equal(bnmlp_monitor_name((bnmlp_monitor)9), "unknown");
}

/* ---- fit with the controls ------------------------------------------------------------------------ */

#define IN 3
#define ROWS 60
#define MAXB 16

typedef struct data {
    float x[ROWS * IN], y[ROWS];
    bnmlp_tensor tx, ty;
} data;

static void make_data(data *d) {
    for (size_t r = 0; r < ROWS; r++) {
        for (size_t i = 0; i < IN; i++) d->x[r * IN + i] = sinf((float)(r * IN + i) * 0.7f) * 2.0f;
        /* a noisy rule, so that the validation loss turns up after a while */
        d->y[r] = (float)((d->x[r * IN] + 0.3f * d->x[r * IN + 2] > 0.0f) != (r % 7 == 3));
    }
    d->tx = bnmlp_tensor_view(d->x, ROWS, IN);
    d->ty = bnmlp_tensor_view(d->y, ROWS, 1);
}

static bnmlp_model *make_model(uint32_t seed) {
    bnmlp_model *model = bnmlp_model_create(IN, NULL);
    assert_non_null(model);
    bnmlp_dense_config hidden = BNMLP_DENSE_DEFAULT(16);
    hidden.activation = BNMLP_ACTIVATION_RELU;
    assert_ok(bnmlp_model_add_dense(model, &hidden));
    bnmlp_batchnorm_config bn = BNMLP_BATCHNORM_DEFAULT;
    assert_ok(bnmlp_model_add_batchnorm(model, &bn));
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(1);
    head.activation = BNMLP_ACTIVATION_SIGMOID;
    assert_ok(bnmlp_model_add_dense(model, &head));
    assert_ok(bnmlp_model_build(model, MAXB, seed));
    return model;
}

/* Every epoch's weights (parameters, then statistics), kept by the epoch callback. */
#define MAX_EPOCHS 40
typedef struct snapshots {
    bnmlp_model *model;
    size_t floats, count;
    float *weights; /* MAX_EPOCHS * floats */
} snapshots;

static bool keep_snapshot(const bnmlp_epoch_record *record, void *context) {
    snapshots *s = context;
    assert_int_equal(record->epoch, s->count + 1);
    bnmlp_model_snapshot_save(s->model, s->weights + s->count * s->floats);
    s->count++;
    return true;
}

static void test_restore_best_weights(void **state) {
    (void)state;
    data d;
    make_data(&d);
    bnmlp_model *model = make_model(3);
    snapshots s = {.model = model, .floats = bnmlp_model_snapshot_floats(model)};
    s.weights = calloc(MAX_EPOCHS * s.floats, sizeof(float));
    assert_non_null(s.weights);
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.epochs = MAX_EPOCHS, config.batch_size = 8, config.validation_split = 0.25;
    config.optimizer.sgd.learning_rate = 0.3f, config.optimizer.sgd.momentum = 0.9f;
    config.early_stopping.enabled = true, config.early_stopping.patience = 3;
    config.early_stopping.restore_best_weights = true;
    config.on_epoch_end = keep_snapshot, config.callback_context = &s;
    bnmlp_epoch_record history[MAX_EPOCHS];
    size_t run;
    assert_ok(bnmlp_model_fit(model, &d.tx, &d.ty, &config, history, &run));
    assert_true(run < MAX_EPOCHS); /* it stopped early */
    assert_int_equal(history[run - 1].stop, BNMLP_STOP_EARLY_STOPPING);
    /* The best epoch is the one with the lowest val_loss, and its weights are back, exactly. */
    size_t best = 0;
    for (size_t e = 1; e < run; e++)
        if (history[e].val_loss < history[best].val_loss) best = e;
    assert_int_equal(history[run - 1].restored_epoch, best + 1);
    assert_int_equal(history[run - 1].best_epoch, best + 1);
    assert_int_equal(run, best + 1 + 3 + 0); /* patience 3 epochs after the best, Keras's wait >= patience */
    float *now = calloc(s.floats, sizeof(float));
    assert_non_null(now);
    bnmlp_model_snapshot_save(model, now);
    assert_memory_equal(now, s.weights + best * s.floats, s.floats * sizeof(float));
    assert_true(best + 1 < run); /* so the restore did change something */
    assert_memory_not_equal(now, s.weights + (run - 1) * s.floats, s.floats * sizeof(float));
    /* Keras 3: without stopping early the best weights come back too. */
    bnmlp_model *other = make_model(3);
    s.model = other, s.count = 0;
    config.epochs = best + 2; /* ends one epoch after the best, before patience runs out */
    assert_ok(bnmlp_model_fit(other, &d.tx, &d.ty, &config, history, &run));
    assert_int_equal(run, best + 2);
    assert_int_equal(history[run - 1].stop, BNMLP_STOP_NONE);
    assert_int_equal(history[run - 1].restored_epoch, best + 1);
    bnmlp_model_snapshot_save(other, now);
    assert_memory_equal(now, s.weights + best * s.floats, s.floats * sizeof(float));
    free(now);
    free(s.weights);
    bnmlp_model_free(other);
    bnmlp_model_free(model);
}

static void test_validation_split_is_the_last_rows(void **state) {
    (void)state;
    data d;
    make_data(&d);
    bnmlp_model *split = make_model(5), *explicit = make_model(5);
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.epochs = 4, config.batch_size = 8, config.validation_split = 0.3; /* 60 rows: 42 + 18 */
    bnmlp_epoch_record a[4], b[4];
    assert_ok(bnmlp_model_fit(split, &d.tx, &d.ty, &config, a, NULL));
    const bnmlp_tensor tx = bnmlp_tensor_view(d.x, 42, IN), ty = bnmlp_tensor_view(d.y, 42, 1);
    const bnmlp_tensor vx = bnmlp_tensor_view(d.x + 42 * IN, 18, IN), vy = bnmlp_tensor_view(d.y + 42, 18, 1);
    config.validation_split = 0.0, config.validation_x = &vx, config.validation_y = &vy;
    assert_ok(bnmlp_model_fit(explicit, &tx, &ty, &config, b, NULL));
    assert_memory_equal(a, b, sizeof a);
    assert_memory_equal(split->params, explicit->params, split->param_count * sizeof(float));
    bnmlp_model_free(split);
    bnmlp_model_free(explicit);
}

/* The per-batch callback: every step's rate, and a stop after a given step. */
typedef struct batches {
    size_t count, stop_after;
    double rates[256];
    size_t epochs[256];
} batches;

static bool on_batch(const bnmlp_batch_record *record, void *context) {
    batches *b = context;
    assert_true(b->count < 256);
    assert_true(record->batch < record->batches);
    assert_true(isfinite(record->loss));
    b->epochs[b->count] = record->epoch;
    b->rates[b->count++] = record->learning_rate;
    return b->count != b->stop_after;
}

static void test_batch_callback_and_step_schedule(void **state) {
    (void)state;
    data d;
    make_data(&d);
    bnmlp_model *model = make_model(7);
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.epochs = 3, config.batch_size = 16; /* 60 rows: 4 steps per epoch */
    config.schedule.kind = BNMLP_SCHEDULE_COSINE, config.schedule.decay_steps = 10,
    config.schedule.alpha = 0.1;
    config.on_batch_end = on_batch;
    batches b = {0};
    config.callback_context = &b;
    bnmlp_epoch_record history[3];
    size_t run;
    assert_ok(bnmlp_model_fit(model, &d.tx, &d.ty, &config, history, &run));
    assert_int_equal(run, 3);
    assert_int_equal(b.count, 12);
    for (size_t t = 0; t < 12; t++) {
        double want;
        assert_ok(bnmlp_schedule_value(&config.schedule, (double)0.01f, t, &want));
        assert_true(b.rates[t] == (double)(float)want); /* the step's rate, as the optimizer's float */
    }
    assert_true(history[2].learning_rate == b.rates[11]);
    assert_int_equal(history[1].steps, 4);
    /* The optimizer configuration of the last step is what the model keeps (and a checkpoint stores). */
    bnmlp_optimizer_config kept;
    assert_ok(bnmlp_model_optimizer_config(model, &kept));
    assert_true((double)kept.sgd.learning_rate == b.rates[11]);
    /* A stop from the batch callback ends that epoch (validation and record still made). */
    bnmlp_model *stopped = make_model(7);
    b = (batches){.stop_after = 5}; /* 48 training rows: 3 steps per epoch */
    config.validation_split = 0.2;
    assert_ok(bnmlp_model_fit(stopped, &d.tx, &d.ty, &config, history, &run));
    assert_int_equal(run, 2);
    assert_int_equal(b.count, 5);
    assert_int_equal(history[1].steps, 2);
    assert_int_equal(history[1].stop, BNMLP_STOP_BATCH_CALLBACK);
    assert_true(isfinite(history[1].val_loss));
    assert_int_equal(bnmlp_model_epochs_done(stopped), 2);
    bnmlp_model_free(stopped);
    bnmlp_model_free(model);
}

static void test_epoch_schedule_and_resume(void **state) {
    (void)state;
    data d;
    make_data(&d);
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.epochs = 6, config.batch_size = 16;
    config.optimizer.kind = BNMLP_OPTIMIZER_ADAM;
    config.schedule.kind = BNMLP_SCHEDULE_ONE_CYCLE, config.schedule.total_steps = 20;
    config.schedule.unit = BNMLP_SCHEDULE_UNIT_STEP; /* per batch, as PyTorch's examples step it */
    bnmlp_model *whole = make_model(11), *first = make_model(11);
    bnmlp_epoch_record full[6], head[2], tail[4];
    assert_ok(bnmlp_model_fit(whole, &d.tx, &d.ty, &config, full, NULL));
    config.epochs = 2;
    assert_ok(bnmlp_model_fit(first, &d.tx, &d.ty, &config, head, NULL));
    size_t size;
    assert_ok(bnmlp_model_save_buffer(first, true, NULL, 0, &size));
    void *bytes = malloc(size);
    assert_non_null(bytes);
    assert_ok(bnmlp_model_save_buffer(first, true, bytes, size, &size));
    bnmlp_status status;
    bnmlp_model *resumed = bnmlp_model_load_buffer(bytes, size, NULL, NULL, &status);
    assert_ok(status);
    free(bytes);
    /* The checkpoint's optimizer holds the last scheduled rate; the schedule needs no base
     * (one_cycle's comes from max_lr) and restarts from the epochs done. */
    assert_ok(bnmlp_model_optimizer_config(resumed, &config.optimizer));
    config.epochs = 6, config.initial_epoch = bnmlp_model_epochs_done(resumed);
    assert_ok(bnmlp_model_fit(resumed, &d.tx, &d.ty, &config, tail, NULL));
    assert_memory_equal(head, full, sizeof head);
    assert_memory_equal(tail, full + 2, sizeof tail);
    assert_memory_equal(resumed->params, whole->params, whole->param_count * sizeof(float));
    /* Per-epoch rates (PyTorch's unit): epoch e's steps all use lr(e - 1). */
    bnmlp_model *stepped = make_model(11);
    config = BNMLP_FIT_DEFAULT;
    config.epochs = 5, config.batch_size = 16;
    config.schedule.kind = BNMLP_SCHEDULE_STEP, config.schedule.step_size = 2, config.schedule.gamma = 0.5;
    assert_ok(bnmlp_model_fit(stepped, &d.tx, &d.ty, &config, full, NULL));
    const double base = (double)0.01f, want[5] = {base, base, base * 0.5, base * 0.5, base * 0.25};
    for (size_t e = 0; e < 5; e++) assert_true(full[e].learning_rate == (double)(float)want[e]);
    bnmlp_model_free(stepped);
    bnmlp_model_free(resumed);
    bnmlp_model_free(first);
    bnmlp_model_free(whole);
}

static void test_reduce_lr_in_fit(void **state) {
    (void)state;
    data d;
    make_data(&d);
    bnmlp_model *model = make_model(13);
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.epochs = 25, config.batch_size = 8, config.validation_split = 0.25;
    config.optimizer.sgd.learning_rate = 0.3f, config.optimizer.sgd.momentum = 0.9f;
    config.reduce_lr.enabled = true, config.reduce_lr.patience = 1, config.reduce_lr.factor = 0.5;
    bnmlp_epoch_record history[25];
    assert_ok(bnmlp_model_fit(model, &d.tx, &d.ty, &config, history, NULL));
    /* Replaying the decisions on the recorded val_loss gives the rates fit used. */
    bnmlp_plateau_state s;
    assert_ok(bnmlp_plateau_begin(&config.reduce_lr, &s));
    double rate = (double)0.3f;
    size_t reductions = 0;
    for (size_t e = 0; e < 25; e++) {
        assert_true(history[e].learning_rate == (double)(float)rate);
        bool reduced;
        assert_ok(bnmlp_plateau_update(&config.reduce_lr, &s, history[e].val_loss, &rate, &reduced));
        reductions += reduced;
    }
    assert_true(reductions > 0);
    bnmlp_model_free(model);
}

/* A fit config made bad by one change. */
typedef struct bad_fit {
    const char *what;
    void (*spoil)(bnmlp_fit_config *c, data *d);
    bnmlp_status expected;
} bad_fit;

static void split_negative(bnmlp_fit_config *c, data *d) { (void)d, c->validation_split = -0.1; }
static void split_one(bnmlp_fit_config *c, data *d) { (void)d, c->validation_split = 1.0; }
static void split_nan(bnmlp_fit_config *c, data *d) { (void)d, c->validation_split = NAN; }
static void split_empty(bnmlp_fit_config *c, data *d) {
    (void)d, c->validation_split = 1e-17;
} /* 1 - it is 1 */
static void split_and_data(bnmlp_fit_config *c, data *d) {
    c->validation_split = 0.2, c->validation_x = &d->tx, c->validation_y = &d->ty;
}
static void val_monitor_without_validation(bnmlp_fit_config *c, data *d) {
    (void)d, c->early_stopping.enabled = true;
}
static void plateau_without_validation(bnmlp_fit_config *c, data *d) { (void)d, c->reduce_lr.enabled = true; }
static void plateau_with_schedule(bnmlp_fit_config *c, data *d) {
    (void)d, c->validation_split = 0.2, c->reduce_lr.enabled = true, c->schedule.kind = BNMLP_SCHEDULE_STEP;
}
static void bad_schedule_in_fit(bnmlp_fit_config *c, data *d) {
    (void)d, c->schedule.kind = BNMLP_SCHEDULE_STEP, c->schedule.step_size = 0;
}
static void bad_early_stopping(bnmlp_fit_config *c, data *d) {
    (void)d, c->validation_split = 0.2, c->early_stopping.enabled = true, c->early_stopping.min_delta = NAN;
}
static void bad_plateau(bnmlp_fit_config *c, data *d) {
    (void)d, c->validation_split = 0.2, c->reduce_lr.enabled = true, c->reduce_lr.factor = 2.0;
}
static void bad_monitor(bnmlp_fit_config *c, data *d) {
    (void)d, c->early_stopping.enabled = true, c->early_stopping.monitor = (bnmlp_monitor)17;
}

static const bad_fit bad_fits[] = {
    {"validation_split negative", split_negative, BNMLP_ERR_INVALID_ARGUMENT},
    {"validation_split 1", split_one, BNMLP_ERR_INVALID_ARGUMENT},
    {"validation_split NaN", split_nan, BNMLP_ERR_INVALID_ARGUMENT},
    {"validation_split leaving no validation row", split_empty, BNMLP_ERR_INVALID_ARGUMENT},
    {"validation_split with validation data", split_and_data, BNMLP_ERR_INVALID_ARGUMENT},
    {"early stopping on val_loss without validation", val_monitor_without_validation,
     BNMLP_ERR_INVALID_ARGUMENT},
    {"plateau on val_loss without validation", plateau_without_validation, BNMLP_ERR_INVALID_ARGUMENT},
    {"plateau with a schedule", plateau_with_schedule, BNMLP_ERR_INVALID_ARGUMENT},
    {"a bad schedule", bad_schedule_in_fit, BNMLP_ERR_INVALID_ARGUMENT},
    {"a bad early stopping", bad_early_stopping, BNMLP_ERR_INVALID_ARGUMENT},
    {"a bad plateau", bad_plateau, BNMLP_ERR_INVALID_ARGUMENT},
    {"an unknown monitor", bad_monitor, BNMLP_ERR_INVALID_ARGUMENT},
};

static void test_bad_fit_controls(void **state) {
    (void)state;
    data d;
    make_data(&d);
    bnmlp_model *model = make_model(17);
    float before[256];
    assert_true(model->param_count <= 256);
    memcpy(before, model->params, model->param_count * sizeof(float));
    for (size_t i = 0; i < sizeof bad_fits / sizeof bad_fits[0]; i++) {
        bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
        config.epochs = 2, config.batch_size = 8;
        bad_fits[i].spoil(&config, &d);
        bnmlp_epoch_record history[2] = {{.epoch = 99}, {.epoch = 99}};
        size_t run = 99;
        const bnmlp_status status = bnmlp_model_fit(model, &d.tx, &d.ty, &config, history, &run);
        if (status != bad_fits[i].expected)
            fail_msg("%s: %s, expected %s", bad_fits[i].what, bnmlp_status_string(status),
                     bnmlp_status_string(bad_fits[i].expected));
        assert_int_equal(run, 99);
        assert_int_equal(history[0].epoch, 99);
        assert_memory_equal(model->params, before, model->param_count * sizeof(float));
        assert_int_equal(bnmlp_model_epochs_done(model), 0);
    }
    /* An accuracy monitor on a loss without accuracy (mean squared error). */
    bnmlp_model *regression = bnmlp_model_create(IN, NULL);
    bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(1);
    assert_ok(bnmlp_model_add_dense(regression, &head));
    assert_ok(bnmlp_model_set_loss(regression, BNMLP_LOSS_MEAN_SQUARED_ERROR));
    assert_ok(bnmlp_model_build(regression, MAXB, 1));
    bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
    config.batch_size = 8;
    config.early_stopping.enabled = true, config.early_stopping.monitor = BNMLP_MONITOR_ACCURACY;
    assert_status(bnmlp_model_fit(regression, &d.tx, &d.ty, &config, NULL, NULL), BNMLP_ERR_INVALID_ARGUMENT);
    config.early_stopping.monitor = BNMLP_MONITOR_LOSS; /* the training loss needs no validation */
    assert_ok(bnmlp_model_fit(regression, &d.tx, &d.ty, &config, NULL, NULL));
    bnmlp_model_free(regression);
    bnmlp_model_free(model);
}

/* The best weights' copy is allocated before the first epoch through the model's allocator: a
 * failure there changes nothing. */
static void test_restore_allocation_failure(void **state) {
    (void)state;
    data d;
    make_data(&d);
    for (size_t fail_at = 1;; fail_at++) {
        counting_allocator counter = {0};
        const bnmlp_allocator allocator = counting_allocator_of(&counter);
        bnmlp_model *model = bnmlp_model_create_with_allocator(IN, &allocator, NULL);
        assert_non_null(model);
        bnmlp_dense_config head = BNMLP_DENSE_DEFAULT(1);
        head.activation = BNMLP_ACTIVATION_SIGMOID;
        assert_ok(bnmlp_model_add_dense(model, &head));
        assert_ok(bnmlp_model_build(model, MAXB, 1));
        float before[8];
        memcpy(before, model->params, model->param_count * sizeof(float));
        counter.fail_at = counter.calls + fail_at;
        bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
        config.epochs = 3, config.batch_size = 8, config.validation_split = 0.2;
        config.early_stopping.enabled = true;
        config.early_stopping.restore_best_weights = true;
        const bnmlp_status status = bnmlp_model_fit(model, &d.tx, &d.ty, &config, NULL, NULL);
        const bool failed = counter.calls >= counter.fail_at;
        if (failed) {
            assert_status(status, BNMLP_ERR_OUT_OF_MEMORY);
            assert_memory_equal(model->params, before, model->param_count * sizeof(float));
        } else {
            assert_ok(status);
        }
        bnmlp_model_free(model);
        assert_int_equal(counter.allocations, counter.releases);
        if (!failed) break;
    }
}

/* The controls change nothing about thread invariance: the same run on 1 and 3 threads. */
static void test_controls_same_for_every_thread_count(void **state) {
    (void)state;
    data d;
    make_data(&d);
    bnmlp_epoch_record histories[2][12];
    float params[2][256];
    memset(histories, 0, sizeof histories);
    memset(params, 0, sizeof params);
    for (size_t k = 0; k < 2; k++) {
        bnmlp_model *model = make_model(19);
        assert_ok(bnmlp_model_set_threads(model, k == 0 ? 1 : 3));
        bnmlp_fit_config config = BNMLP_FIT_DEFAULT;
        config.epochs = 12, config.batch_size = 8, config.validation_split = 0.25;
        config.optimizer.sgd.learning_rate = 0.3f, config.optimizer.sgd.momentum = 0.9f;
        config.schedule.kind = BNMLP_SCHEDULE_EXPONENTIAL, config.schedule.decay_steps = 6;
        config.early_stopping.enabled = true, config.early_stopping.patience = 2;
        config.early_stopping.restore_best_weights = true;
        assert_ok(bnmlp_model_fit(model, &d.tx, &d.ty, &config, histories[k], NULL));
        assert_true(model->param_count <= 256);
        memcpy(params[k], model->params, model->param_count * sizeof(float));
        bnmlp_model_free(model);
    }
    assert_memory_equal(histories[0], histories[1], sizeof histories[0]);
    assert_memory_equal(params[0], params[1], sizeof params[0]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_fixtures),
        cmocka_unit_test(test_schedule_table),
        cmocka_unit_test(test_bad_schedules),
        cmocka_unit_test(test_stopping_fixtures),
        cmocka_unit_test(test_plateau_fixtures),
        cmocka_unit_test(test_bad_controls),
        cmocka_unit_test(test_restore_best_weights),
        cmocka_unit_test(test_validation_split_is_the_last_rows),
        cmocka_unit_test(test_batch_callback_and_step_schedule),
        cmocka_unit_test(test_epoch_schedule_and_resume),
        cmocka_unit_test(test_reduce_lr_in_fit),
        cmocka_unit_test(test_bad_fit_controls),
        cmocka_unit_test(test_restore_allocation_failure),
        cmocka_unit_test(test_controls_same_for_every_thread_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
