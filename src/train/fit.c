/* fit.c - Keras-style fit over epochs of shuffled mini-batches, and fit's own state: the working
 * row order it shuffles, the staging rows it gathers each batch into and early stopping's copy of
 * the best weights, allocated before the first epoch (a step allocates nothing) and freed when fit
 * returns; and the training controls' sequencing (the decisions are in controls.c, the schedules
 * in src/optim/schedule.c). */
#include "train/train.h"

#include <math.h>
#include <string.h>

#include "core/core.h"
#include "model/model.h"

/* What fit works with: the row order and the staged batch. */
typedef struct fit_state {
    const bnmlp_allocator *allocator; /* the model's */
    size_t *order;                    /* (rows) the row order, shuffled in place every epoch */
    float *batch_x;                   /* (batch_size, x cols) the staged rows of x */
    float *batch_y;                   /* (batch_size, y cols) and of y */
    float *best_weights;              /* (bnmlp_model_snapshot_floats) early stopping's best epoch's
                                         weights, with restore_best_weights; else NULL. The model's
                                         buffer: a checkpoint stores it */
    bnmlp_metric_set train_metrics;   /* config->metrics over each epoch's trained rows */
    bnmlp_metric_set val_metrics;     /* and over the validation rows (empty without them) */
} fit_state;

/* The data fit trains and validates on: views of the caller's tensors (validation_split cuts the
 * last rows of x and y off as the validation set). */
typedef struct fit_data {
    bnmlp_tensor x, y;                /* the training rows */
    bnmlp_tensor split_x, split_y;    /* the validation rows cut off by validation_split */
    const bnmlp_tensor *validation_x; /* the validation set, or NULL */
    const bnmlp_tensor *validation_y;
    const float *validation_weights; /* its rows' sample weights, or NULL: unweighted */
} fit_data;

/* The controls' running state. */
typedef struct fit_controls {
    bnmlp_optimizer_config optimizer; /* the caller's, with each step's learning rate set in it */
    double base_rate;                 /* the schedule's base (or the optimizer's rate) */
    double rate;                      /* the current rate without a schedule (plateau changes it) */
    double rate_set;                  /* the rate last set into optimizer, when rate_is_set */
    bool rate_is_set;                 /* optimizer holds rate_set (false: the caller's rate) */
    bool per_step;                    /* the schedule's t counts steps */
    size_t steps_per_epoch;           /* batches that train in an epoch */
    bnmlp_early_stopping_state early; /* with config->early_stopping.enabled */
    bnmlp_plateau_state plateau;      /* with config->reduce_lr.enabled */
} fit_controls;

static void fit_state_free(fit_state *f) {
    bnmlp_release(f->allocator, f->order);
    bnmlp_release(f->allocator, f->batch_x);
    bnmlp_release(f->allocator, f->batch_y);
    bnmlp_metric_set_free(&f->train_metrics);
    bnmlp_metric_set_free(&f->val_metrics);
}

/* Allocates fit's state (f is then to be freed, whatever the outcome) for rows rows of (x cols, y cols) in batches of batch_size, and room in
 * the model for the order a checkpoint saves. The order starts as the one the model saved (a
 * checkpoint or the last fit) when resuming on as many rows, else as 0, 1, ..., rows - 1 (Keras 2
 * keeps one index array and shuffles it in place every epoch). */
static bnmlp_status fit_state_init(fit_state *f, bnmlp_model *model, const bnmlp_tensor *x,
                                   const bnmlp_tensor *y, const bnmlp_tensor *validation_x,
                                   const bnmlp_fit_config *config) {
    const size_t batch_size = config->batch_size;
    const bool resume = config->initial_epoch > 0;
    *f = (fit_state){.allocator = bnmlp_model_allocator(model)};
    const size_t rows = x->rows;
    const size_t *saved = resume ? bnmlp_model_saved_order(model, rows) : NULL;
    f->order = bnmlp_alloc_zeroed(f->allocator, rows, sizeof *f->order);
    f->batch_x = bnmlp_alloc_zeroed(f->allocator, batch_size, x->cols * sizeof(float));
    f->batch_y = bnmlp_alloc_zeroed(f->allocator, batch_size, y->cols * sizeof(float));
    if (config->early_stopping.enabled && config->early_stopping.restore_best_weights) {
        f->best_weights = bnmlp_model_reserve_best_weights(model);
        if (!f->best_weights) return BNMLP_ERR_OUT_OF_MEMORY;
    }
    if (!f->order || !f->batch_x || !f->batch_y || bnmlp_model_reserve_order(model, rows) != BNMLP_OK)
        return BNMLP_ERR_OUT_OF_MEMORY; /* the caller frees what was allocated */
    for (size_t i = 0; i < rows; i++) f->order[i] = saved ? saved[i] : i;
    /* The metrics' accumulators (roc_auc keeps at most every row of its set). */
    bnmlp_status status =
        bnmlp_metric_set_create(&f->train_metrics, model, config->metrics, config->metric_count, rows);
    if (status == BNMLP_OK && validation_x)
        status = bnmlp_metric_set_create(&f->val_metrics, model, config->metrics, config->metric_count,
                                         validation_x->rows);
    return status;
}

/* Copies rows order[0..rows) of src (cols floats each) to dst, one after the other: four floats
 * at a time, then the rest one by one (a library call per row would cost more than a narrow
 * row's copy). */
static void gather_rows(float *dst, const float *src, size_t cols, const size_t *order, size_t rows) {
    /* The narrow data of tiny models (2 features, 1 label): a row is one move of a fixed size. */
    if (cols == 1) {
        for (size_t r = 0; r < rows; r++) dst[r] = src[order[r]];
        return;
    }
    if (cols == 2) {
        for (size_t r = 0; r < rows; r++) memcpy(dst + 2 * r, src + 2 * order[r], 2 * sizeof *dst);
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        const float *from = src + order[r] * cols;
        float *to = dst + r * cols;
        size_t c = 0;
        for (; c + 4 <= cols; c += 4) memcpy(to + c, from + c, 4 * sizeof *to);
        for (; c < cols; c++) to[c] = from[c];
    }
}

/* Copies rows order[0..rows) of (x, y) into the staging rows. */
static void stage_batch(const fit_state *f, const bnmlp_tensor *x, const bnmlp_tensor *y, const size_t *order,
                        size_t rows) {
    gather_rows(f->batch_x, x->data, x->cols, order, rows);
    gather_rows(f->batch_y, y->data, y->cols, order, rows);
}

/* BNMLP_OK when an epoch of fit can train: batch-norm layers that use batch statistics need
 * their minimum rows in a batch of batch_size and in the data (only a smaller trailing batch is
 * skipped). Checked before every epoch, since a callback may unfreeze a layer. */
static bnmlp_status check_epoch_rows(const bnmlp_model *model, size_t rows, size_t batch_size) {
    bnmlp_status status = bnmlp_model_check_training_rows(model, rows);
    if (status == BNMLP_OK) status = bnmlp_model_check_training_rows(model, batch_size);
    /* Under a collective every rank needs a row of each full batch; unsynchronized batch norm
     * needs its minimum in the smallest share. */
    int size;
    bnmlp_model_rank(model, NULL, &size);
    if (status == BNMLP_OK && batch_size < (size_t)size) status = BNMLP_ERR_BATCH_TOO_SMALL;
    if (status == BNMLP_OK && size > 1 && !bnmlp_model_batchnorm_is_synchronized(model))
        status = bnmlp_model_check_training_rows(model, batch_size / (size_t)size);
    return status;
}

/* True when a batch of rows global rows trains: one process needs the minimum rows of batch norm;
 * under a collective every rank needs a row, and unsynchronized batch norm its minimum per share. */
static bool batch_trains(const bnmlp_model *model, size_t rows) {
    int size;
    bnmlp_model_rank(model, NULL, &size);
    const size_t ranks = (size_t)size, least = bnmlp_model_min_training_rows(model);
    if (rows < ranks) return false;
    return bnmlp_model_batchnorm_is_synchronized(model) || ranks == 1 ? rows >= least : rows / ranks >= least;
}

/* A view of this rank's contiguous share of the rows of t (no rows when it has none). */
static bnmlp_tensor share_of(const bnmlp_model *model, const bnmlp_tensor *t) {
    size_t offset, count;
    bnmlp_model_share(model, t->rows, &offset, &count);
    return bnmlp_tensor_view(t->data + offset * t->cols, count, t->cols);
}

/* Under a collective: whether any rank's callback asked to stop (every rank then stops). */
static bool agree_stop(bnmlp_model *model, bool stop, bnmlp_status *status) {
    if (!bnmlp_model_is_distributed(model)) return stop;
    double votes = stop ? 1.0 : 0.0;
    *status = bnmlp_model_sum_doubles(model, &votes, 1);
    return votes > 0.0 || *status != BNMLP_OK;
}

/* The rows validation_split leaves for training: floor(rows * (1 - split)), as Keras. */
static size_t split_rows(size_t rows, double split) { return (size_t)floor((double)rows * (1.0 - split)); }

/* The training and validation sets of a checked config into *d (which the views point into). */
static void fit_data_init(fit_data *d, const bnmlp_tensor *x, const bnmlp_tensor *y,
                          const bnmlp_fit_config *config) {
    *d = (fit_data){.x = *x,
                    .y = *y,
                    .validation_x = config->validation_x,
                    .validation_y = config->validation_y,
                    .validation_weights = config->validation_sample_weights};
    if (config->validation_split > 0.0) {
        const size_t train = split_rows(x->rows, config->validation_split);
        d->x = bnmlp_tensor_view(x->data, train, x->cols);
        d->y = bnmlp_tensor_view(y->data, train, y->cols);
        d->split_x = bnmlp_tensor_view(x->data + train * x->cols, x->rows - train, x->cols);
        d->split_y = bnmlp_tensor_view(y->data + train * y->cols, y->rows - train, y->cols);
        d->validation_x = &d->split_x;
        d->validation_y = &d->split_y;
        /* Keras splits sample_weight with x and y: the split rows keep their weights. */
        if (config->weights.sample_weights) d->validation_weights = config->weights.sample_weights + train;
    }
}

/* The index of metric's first occurrence in config->metrics, or config->metric_count. */
static size_t metric_index(const bnmlp_fit_config *config, bnmlp_metric metric) {
    size_t i = 0;
    while (i < config->metric_count && config->metrics && config->metrics[i] != metric) i++;
    return i;
}

/* Checks validation_split and the controls of config (the optimizer is checked). */
static bnmlp_status check_controls(const bnmlp_model *model, const bnmlp_tensor *x,
                                   const bnmlp_fit_config *config) {
    const double split = config->validation_split;
    if (!(split >= 0.0 && split < 1.0)) return BNMLP_ERR_INVALID_ARGUMENT;
    if (split > 0.0) {
        const size_t train = split_rows(x->rows, split);
        if (config->validation_x || train == 0 || train == x->rows) return BNMLP_ERR_INVALID_ARGUMENT;
    }
    const bool validation = config->validation_x || split > 0.0, accuracy = bnmlp_model_has_accuracy(model);
    bnmlp_status status = bnmlp_schedule_check(&config->schedule);
    if (status == BNMLP_OK && config->early_stopping.enabled) {
        status = bnmlp_early_stopping_check(&config->early_stopping);
        if (status == BNMLP_OK)
            status = bnmlp_monitor_check(config->early_stopping.monitor, validation, accuracy,
                                         metric_index(config, config->early_stopping.metric) <
                                             config->metric_count);
    }
    if (status == BNMLP_OK && config->reduce_lr.enabled) {
        status = bnmlp_plateau_check(&config->reduce_lr);
        if (status == BNMLP_OK)
            status =
                bnmlp_monitor_check(config->reduce_lr.monitor, validation, accuracy,
                                    metric_index(config, config->reduce_lr.metric) < config->metric_count);
        if (status == BNMLP_OK && config->schedule.kind != BNMLP_SCHEDULE_CONSTANT)
            status = BNMLP_ERR_INVALID_ARGUMENT;
    }
    return status;
}

/* Checks the class and sample weights of the training rows and the validation rows' weights. */
static bnmlp_status check_fit_weights(const bnmlp_model *model, const bnmlp_tensor *x,
                                      const bnmlp_fit_config *config) {
    bnmlp_status status = bnmlp_train_check_weights(model, &config->weights, x->rows);
    const float *validation = config->validation_sample_weights;
    if (status != BNMLP_OK || !validation) return status;
    if (!config->validation_x) return BNMLP_ERR_INVALID_ARGUMENT; /* none, or validation_split's */
    const bnmlp_loss_weights sample = {.sample_weights = validation,
                                       .normalization = config->weights.normalization};
    return bnmlp_train_check_weights(model, &sample, config->validation_x->rows);
}

/* Checks every argument of fit before anything changes. */
static bnmlp_status check_fit(const bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                              const bnmlp_fit_config *config) {
    if (!x || !y) return BNMLP_ERR_NULL_ARGUMENT;
    if (bnmlp_model_is_quantized(model)) return BNMLP_ERR_UNSUPPORTED; /* inference only */
    bnmlp_status status = bnmlp_model_check_batch(model, x, y, false);
    if (status != BNMLP_OK) return status;
    if (config->epochs == 0 || config->batch_size == 0 || config->initial_epoch >= config->epochs)
        return BNMLP_ERR_INVALID_ARGUMENT;
    if (config->batch_size > bnmlp_model_max_batch(model)) return BNMLP_ERR_BATCH_TOO_LARGE;
    status = bnmlp_optimizer_check(&config->optimizer);
    if (status != BNMLP_OK) return status;
    if (!config->validation_x != !config->validation_y) return BNMLP_ERR_NULL_ARGUMENT;
    if (config->validation_x) {
        status = bnmlp_model_check_batch(model, config->validation_x, config->validation_y, false);
        if (status != BNMLP_OK) return status;
    }
    status = check_controls(model, x, config);
    if (status == BNMLP_OK) status = bnmlp_fit_resume_check(model, bnmlp_fit_resume_parts(model, config));
    if (status == BNMLP_OK) status = check_fit_weights(model, x, config);
    if (status == BNMLP_OK) status = bnmlp_metric_set_check(model, config->metrics, config->metric_count);
    if (status != BNMLP_OK) return status;
    fit_data d;
    fit_data_init(&d, x, y, config);
    return check_epoch_rows(model, d.x.rows, config->batch_size);
}

/* Starts the controls of a checked config on rows training rows, continuing the parts of the
 * model's stored controls that config resumes (resume.c). */
static void controls_begin(fit_controls *c, const bnmlp_model *model, const bnmlp_fit_config *config,
                           size_t rows) {
    *c = (fit_controls){.optimizer = config->optimizer,
                        .per_step = bnmlp_schedule_per_step(&config->schedule)};
    double rate;
    bnmlp_optimizer_get(&config->optimizer, "learning_rate", &rate); /* every kind has one */
    c->rate = rate;
    c->base_rate =
        config->schedule.initial_learning_rate > 0.0 ? config->schedule.initial_learning_rate : rate;
    for (size_t start = 0; start < rows; start += config->batch_size)
        if (batch_trains(model, bnmlp_chunk_rows(rows, start, config->batch_size))) c->steps_per_epoch++;
    if (config->early_stopping.enabled) bnmlp_early_stopping_begin(&config->early_stopping, &c->early);
    if (config->reduce_lr.enabled) bnmlp_plateau_begin(&config->reduce_lr, &c->plateau);
    const bnmlp_resume_parts parts = bnmlp_fit_resume_parts(model, config);
    const bnmlp_fit_record *stored = bnmlp_model_fit_record(model);
    if (parts.schedule) c->base_rate = stored->base_rate;
    if (parts.early_stopping) c->early = stored->early; /* its best weights are in the model's buffer */
    if (parts.plateau) c->plateau = stored->plateau, c->rate = stored->rate;
}

/* The controls' state after an epoch into the model, for a checkpoint the callback may save. */
static void keep_controls(bnmlp_model *model, const bnmlp_fit_config *config, const fit_state *f,
                          const fit_controls *c) {
    bnmlp_fit_record record = bnmlp_fit_record_defaults();
    record.epoch = bnmlp_model_epochs_done(model);
    record.has_schedule =
        config->schedule.kind != BNMLP_SCHEDULE_CONSTANT || config->schedule.initial_learning_rate > 0.0;
    record.base_rate = c->base_rate;
    record.schedule = config->schedule;
    record.has_early_stopping = config->early_stopping.enabled;
    record.early_stopping = config->early_stopping;
    record.early = c->early;
    record.has_plateau = config->reduce_lr.enabled;
    record.reduce_lr = config->reduce_lr;
    record.plateau = c->plateau;
    record.rate = c->rate;
    record.has_best_weights = f->best_weights && c->early.has_best;
    bnmlp_model_keep_fit_record(model, &record);
}

/* Sets the learning rate of step `step` of epoch `epoch` (1-based) into the working optimizer
 * configuration, and returns it as the optimizer holds it (float32). */
static double set_rate(fit_controls *c, const bnmlp_fit_config *config, size_t epoch, size_t step) {
    double rate = c->rate;
    if (config->schedule.kind != BNMLP_SCHEDULE_CONSTANT || config->schedule.initial_learning_rate > 0.0) {
        const uint64_t t =
            c->per_step ? (uint64_t)(epoch - 1) * c->steps_per_epoch + step : (uint64_t)(epoch - 1);
        bnmlp_schedule_value(&config->schedule, c->base_rate, t, &rate); /* checked */
    }
    /* The setting is found by name: only a rate that changed is set again (the same double
     * stores the same float), so a constant rate costs no lookup per step. */
    if (!c->rate_is_set || rate != c->rate_set) {
        bnmlp_optimizer_set(&c->optimizer, "learning_rate", rate);
        c->rate_set = rate, c->rate_is_set = true;
    }
    return (double)(float)rate;
}

/* Stages the row weights of this rank's share (share rows from offset) of the global batch of
 * rows rows at order, and returns the head weights (NULL: unweighted). sum(w) is the global
 * batch's, computed by every rank from the whole data in the batch's order: the same divisor on
 * every rank and in one process, without communicating. */
static const bnmlp_head_weights *stage_weights(bnmlp_model *model, const bnmlp_fit_config *config,
                                               const fit_data *d, const fit_state *f, const size_t *order,
                                               size_t rows, size_t offset, size_t share,
                                               bnmlp_head_weights *staged) {
    const bnmlp_loss_weights *weights = &config->weights;
    if (!bnmlp_loss_weights_given(weights)) return NULL;
    bnmlp_train_stage_weights(model, weights, f->batch_y, d->y.cols, share, order + offset, 0);
    const double sum = weights->normalization == BNMLP_WEIGHTS_OVER_WEIGHT_SUM
                           ? bnmlp_train_weight_sum(model, weights, d->y.data, d->y.cols, rows, order, 0)
                           : 0.0;
    return bnmlp_train_head_weights(model, weights->normalization, share, rows, sum, staged);
}

/* One epoch over the rows in `order`; the record gets the Keras-style training metrics and the
 * validation metrics. *batch_stop: the batch callback asked to stop. */
static bnmlp_status run_epoch(bnmlp_model *model, const fit_data *d, const bnmlp_fit_config *config,
                              fit_state *f, fit_controls *c, bnmlp_epoch_record *record, bool *batch_stop) {
    double loss_sum = 0.0;
    size_t seen = 0, correct_sum = 0;
    *batch_stop = false;
    bnmlp_metric_set *train_metrics = &f->train_metrics;
    bnmlp_metric_set_reset(train_metrics); /* Keras resets its metrics as every epoch begins */
    for (size_t start = 0; start < d->x.rows && !*batch_stop; start += config->batch_size) {
        const size_t rows = bnmlp_chunk_rows(d->x.rows, start, config->batch_size);
        if (!batch_trains(model, rows)) continue; /* documented: a trailing batch too small */
        /* This rank's share of the global batch (all of it in one process). */
        size_t offset, share;
        bnmlp_model_share(model, rows, &offset, &share);
        bnmlp_model_set_global_rows(model, rows);
        stage_batch(f, &d->x, &d->y, f->order + start + offset, share);
        bnmlp_head_weights staged;
        const bnmlp_head_weights *weights =
            stage_weights(model, config, d, f, f->order + start, rows, offset, share, &staged);
        const double rate = set_rate(c, config, record->epoch, record->steps);
        double loss;
        size_t correct;
        bnmlp_status status = bnmlp_train_step_checked(model, f->batch_x, f->batch_y, share, d->y.cols, rows,
                                                       weights, &c->optimizer, false, &loss, &correct);
        if (status != BNMLP_OK) return status;
        /* Keras updates its compiled metrics with the outputs the step's loss used. */
        bnmlp_metric_set_add(train_metrics, model, bnmlp_model_output(model), f->batch_y, share, d->y.cols);
        /* Keras reports batch-size-weighted means over the epoch (for accuracy: the count of
         * correct predictions over the rows seen, kept exact). */
        loss_sum += loss * (double)rows;
        correct_sum += correct;
        seen += rows;
        record->learning_rate = rate;
        if (config->on_batch_end) {
            const bnmlp_batch_record batch = {.epoch = record->epoch,
                                              .batch = record->steps,
                                              .batches = c->steps_per_epoch,
                                              .rows = rows,
                                              .loss = loss,
                                              .accuracy = bnmlp_train_accuracy(model, correct, rows),
                                              .learning_rate = rate};
            *batch_stop = agree_stop(model, !config->on_batch_end(&batch, config->callback_context), &status);
            if (status != BNMLP_OK) return status;
        }
        record->steps++;
    }
    record->loss = loss_sum / (double)seen;
    record->accuracy = bnmlp_train_accuracy(model, correct_sum, seen);
    record->val_loss = NAN;
    record->val_accuracy = NAN;
    for (size_t i = 0; i < BNMLP_FIT_MAX_METRICS; i++) record->val_metrics[i] = NAN;
    bnmlp_status status = bnmlp_metric_set_values(train_metrics, model, record->metrics);
    if (status != BNMLP_OK || !d->validation_x) return status;
    /* Each rank evaluates its share of the validation rows; the metrics are summed over ranks. */
    const bnmlp_tensor vx = share_of(model, d->validation_x), vy = share_of(model, d->validation_y);
    size_t offset, count;
    bnmlp_model_share(model, d->validation_x->rows, &offset, &count);
    /* Class weights never weigh validation (Keras); its sample weights do when there are any. */
    const bnmlp_loss_weights validation = {.sample_weights =
                                               d->validation_weights ? d->validation_weights + offset : NULL,
                                           .normalization = config->weights.normalization};
    bnmlp_metric_set *val_metrics = &f->val_metrics;
    bnmlp_metric_set_reset(val_metrics);
    status = bnmlp_train_evaluate_with_metrics(model, &vx, &vy, d->validation_weights ? &validation : NULL,
                                               val_metrics, &record->val_loss, &record->val_accuracy);
    if (status == BNMLP_OK) status = bnmlp_metric_set_values(val_metrics, model, record->val_metrics);
    return status;
}

/* Early stopping and reduce-LR-on-plateau at the end of an epoch (0-based index epoch - 1): keeps
 * the best weights, sets record->best_epoch and, when early stopping ends fit, record->stop. */
static bnmlp_status run_controls(bnmlp_model *model, const bnmlp_fit_config *config, fit_state *f,
                                 fit_controls *c, bnmlp_epoch_record *record) {
    bnmlp_status status = BNMLP_OK;
    if (config->early_stopping.enabled) {
        bool keep, stop;
        const double value = bnmlp_monitor_value(config->early_stopping.monitor,
                                                 metric_index(config, config->early_stopping.metric), record);
        status = bnmlp_early_stopping_update(&config->early_stopping, &c->early, record->epoch - 1, value,
                                             &keep, &stop);
        if (status != BNMLP_OK) return status;
        if (keep && f->best_weights) bnmlp_model_snapshot_save(model, f->best_weights);
        record->best_epoch = c->early.has_best ? c->early.best_epoch + 1 : 0;
        if (stop) record->stop = BNMLP_STOP_EARLY_STOPPING;
    }
    if (config->reduce_lr.enabled) {
        const double value = bnmlp_monitor_value(config->reduce_lr.monitor,
                                                 metric_index(config, config->reduce_lr.metric), record);
        status = bnmlp_plateau_update(&config->reduce_lr, &c->plateau, value, &c->rate, NULL);
    }
    return status;
}

bnmlp_status bnmlp_model_fit(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                             const bnmlp_fit_config *config, bnmlp_epoch_record *history,
                             size_t *epochs_run) {
    if (!model) return BNMLP_ERR_NULL_ARGUMENT;
    if (!config) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = check_fit(model, x, y, config);
    if (bnmlp_model_is_built(model)) status = bnmlp_model_agree(model, status); /* every rank's checks */
    if (status != BNMLP_OK) return status;
    fit_data d;
    fit_data_init(&d, x, y, config);
    fit_state f;
    status = bnmlp_model_agree(model, fit_state_init(&f, model, &d.x, &d.y, d.validation_x, config));
    if (status != BNMLP_OK) {
        fit_state_free(&f);
        return status;
    }
    /* The model keeps the class weights for checkpoints (a resumed fit continues with them). */
    status = bnmlp_model_agree(model, bnmlp_model_keep_fit_weights(model, config->weights.class_weights,
                                                                   config->weights.class_count,
                                                                   config->weights.normalization));
    if (status != BNMLP_OK) {
        fit_state_free(&f);
        return status;
    }
    fit_controls c;
    controls_begin(&c, model, config, d.x.rows);
    size_t done = 0;
    for (size_t epoch = config->initial_epoch + 1; epoch <= config->epochs; epoch++) {
        status = bnmlp_model_agree(model, check_epoch_rows(model, d.x.rows, config->batch_size));
        if (status != BNMLP_OK) break;
        if (config->shuffle) bnmlp_random_shuffle(bnmlp_model_random(model), f.order, d.x.rows);
        /* The model keeps the order for checkpoints (the callback may save one). */
        bnmlp_model_keep_order(model, f.order, d.x.rows);
        bnmlp_epoch_record record = {.epoch = epoch};
        bool batch_stop;
        status = run_epoch(model, &d, config, &f, &c, &record, &batch_stop);
        if (status == BNMLP_OK) status = run_controls(model, config, &f, &c, &record);
        if (status != BNMLP_OK) break;
        if (record.stop == BNMLP_STOP_NONE && batch_stop) record.stop = BNMLP_STOP_BATCH_CALLBACK;
        done++;
        bnmlp_model_count_epoch(model);
        keep_controls(model, config, &f, &c);
        const bool stop = config->on_epoch_end && !config->on_epoch_end(&record, config->callback_context);
        if (stop && record.stop == BNMLP_STOP_NONE) record.stop = BNMLP_STOP_EPOCH_CALLBACK;
        if (history) history[done - 1] = record;
        if (agree_stop(model, stop || record.stop != BNMLP_STOP_NONE, &status)) break;
    }
    /* Keras 3 puts the best weights back at the end of training, whether or not it stopped early. */
    if (status == BNMLP_OK && f.best_weights && c.early.has_best) {
        bnmlp_model_snapshot_restore(model, f.best_weights);
        if (history && done) history[done - 1].restored_epoch = c.early.best_epoch + 1;
    }
    fit_state_free(&f);
    if (epochs_run) *epochs_run = done;
    return status;
}
