/* controls.c - the decisions of fit's training controls over plain numbers: the monitors (a table:
 * name, where the value lives in an epoch record, which way it improves), Keras 3's EarlyStopping
 * and the ReduceLROnPlateau of Keras and of PyTorch. fit.c calls them once per epoch; tests drive
 * them with scripted sequences. */
#include "train/train.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* One monitor: a row of the table. */
typedef struct monitor_row {
    bnmlp_monitor monitor;
    const char *name;      /* bnmlp_monitor_name's */
    const char *alias;     /* Keras 2's name, or NULL */
    size_t offset;         /* of the double in bnmlp_epoch_record */
    bool higher_is_better; /* the direction of BNMLP_DIRECTION_AUTO */
    bool validation;       /* needs validation data */
    bool accuracy;         /* needs a loss with an accuracy */
    bool metric;           /* reads the control's metric from the array at offset (one of fit's
                              metrics): its direction is the metric's */
} monitor_row;

static const monitor_row monitors[] = {
    {BNMLP_MONITOR_VAL_LOSS, "val_loss", NULL, offsetof(bnmlp_epoch_record, val_loss), false, true, false,
     false},
    {BNMLP_MONITOR_LOSS, "loss", NULL, offsetof(bnmlp_epoch_record, loss), false, false, false, false},
    {BNMLP_MONITOR_VAL_ACCURACY, "val_accuracy", "val_acc", offsetof(bnmlp_epoch_record, val_accuracy), true,
     true, true, false},
    {BNMLP_MONITOR_ACCURACY, "accuracy", "acc", offsetof(bnmlp_epoch_record, accuracy), true, false, true,
     false},
    {BNMLP_MONITOR_VAL_METRIC, "val_metric", NULL, offsetof(bnmlp_epoch_record, val_metrics), false, true,
     false, true},
    {BNMLP_MONITOR_METRIC, "metric", NULL, offsetof(bnmlp_epoch_record, metrics), false, false, false, true},
};

#define MONITOR_COUNT (sizeof monitors / sizeof monitors[0])

static const monitor_row *monitor_row_of(bnmlp_monitor monitor) {
    const size_t index = (size_t)monitor;
    return index < MONITOR_COUNT ? &monitors[index] : NULL;
}

const char *bnmlp_monitor_name(bnmlp_monitor monitor) {
    const monitor_row *row = monitor_row_of(monitor);
    return row ? row->name : "unknown";
}

bnmlp_status bnmlp_monitor_from_name(const char *name, bnmlp_monitor *monitor) {
    if (!name || !monitor) return BNMLP_ERR_NULL_ARGUMENT;
    for (size_t i = 0; i < MONITOR_COUNT; i++)
        if (strcmp(monitors[i].name, name) == 0 ||
            (monitors[i].alias && strcmp(monitors[i].alias, name) == 0)) {
            *monitor = monitors[i].monitor;
            return BNMLP_OK;
        }
    return BNMLP_ERR_INVALID_ARGUMENT;
}

double bnmlp_monitor_value(bnmlp_monitor monitor, size_t metric_index, const bnmlp_epoch_record *record) {
    const monitor_row *row = monitor_row_of(monitor);
    const size_t index = row->metric ? metric_index : 0;
    double value;
    memcpy(&value, (const unsigned char *)record + row->offset + index * sizeof value, sizeof value);
    return value;
}

bnmlp_status bnmlp_monitor_check(bnmlp_monitor monitor, bool has_validation, bool has_accuracy,
                                 bool has_metric) {
    const monitor_row *row = monitor_row_of(monitor);
    if (!row || (row->validation && !has_validation) || (row->accuracy && !has_accuracy) ||
        (row->metric && !has_metric))
        return BNMLP_ERR_INVALID_ARGUMENT;
    return BNMLP_OK;
}

/* True when higher values of monitor (watching metric, for a metric row) are better under mode
 * (a checked triple). */
static bool maximizes(bnmlp_monitor monitor, bnmlp_metric metric, bnmlp_direction mode) {
    if (mode != BNMLP_DIRECTION_AUTO) return mode == BNMLP_DIRECTION_MAX;
    const monitor_row *row = monitor_row_of(monitor);
    if (!row->metric) return row->higher_is_better;
    bnmlp_metric_info info;
    bnmlp_metric_describe(metric, &info); /* checked by known */
    return info.greater_is_better;
}

static bool known(bnmlp_monitor monitor, bnmlp_metric metric, bnmlp_direction mode) {
    const monitor_row *row = monitor_row_of(monitor);
    bnmlp_metric_info info;
    if (row && row->metric && (bnmlp_metric_describe(metric, &info) != BNMLP_OK || !info.scalar))
        return false;
    return row && (size_t)mode <= (size_t)BNMLP_DIRECTION_MAX;
}

/* ---- early stopping (Keras 3) ------------------------------------------------------------------- */

bnmlp_status bnmlp_early_stopping_check(const bnmlp_early_stopping_config *config) {
    if (!config) return BNMLP_ERR_NULL_ARGUMENT;
    if (!known(config->monitor, config->metric, config->mode) || !isfinite(config->min_delta) ||
        (config->has_baseline && !isfinite(config->baseline)))
        return BNMLP_ERR_INVALID_ARGUMENT;
    return BNMLP_OK;
}

bnmlp_status bnmlp_early_stopping_begin(const bnmlp_early_stopping_config *config,
                                        bnmlp_early_stopping_state *state) {
    if (!state) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = bnmlp_early_stopping_check(config);
    if (status != BNMLP_OK) return status;
    *state = (bnmlp_early_stopping_state){
        .best = maximizes(config->monitor, config->metric, config->mode) ? -INFINITY : INFINITY};
    return BNMLP_OK;
}

/* Keras's _is_improvement: value moved by min_delta toward worse still beats reference. */
static bool improves(const bnmlp_early_stopping_config *config, double value, double reference) {
    const double delta = fabs(config->min_delta);
    return maximizes(config->monitor, config->metric, config->mode) ? value - delta > reference
                                                                    : value + delta < reference;
}

bnmlp_status bnmlp_early_stopping_update(const bnmlp_early_stopping_config *config,
                                         bnmlp_early_stopping_state *state, size_t epoch, double value,
                                         bool *keep, bool *stop) {
    if (!state || !stop) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = bnmlp_early_stopping_check(config);
    if (status != BNMLP_OK) return status;
    if (!isfinite(value)) return BNMLP_ERR_INVALID_ARGUMENT;
    bool kept = false;
    *stop = false;
    if (epoch >= config->start_from_epoch) {
        if (!state->has_best) { /* the first monitored epoch's weights are the best until beaten */
            state->has_best = true;
            state->best_epoch = epoch;
            kept = true;
        }
        state->wait++;
        if (improves(config, value, state->best)) {
            state->best = value;
            state->best_epoch = epoch;
            kept = true;
            /* wait restarts only when the baseline is beaten too */
            if (!config->has_baseline || improves(config, value, config->baseline)) state->wait = 0;
        } else if (state->wait >= config->patience && epoch > 0) {
            state->stopped = true;
            *stop = true;
        }
    }
    if (keep) *keep = kept;
    return BNMLP_OK;
}

/* ---- reduce-LR-on-plateau (Keras and PyTorch) ----------------------------------------------------- */

bnmlp_status bnmlp_plateau_check(const bnmlp_plateau_config *config) {
    if (!config) return BNMLP_ERR_NULL_ARGUMENT;
    const bool ranges = config->factor > 0.0 && config->factor < 1.0 && config->threshold >= 0.0 &&
                        isfinite(config->threshold) && config->min_lr >= 0.0 && isfinite(config->min_lr) &&
                        config->eps >= 0.0 && isfinite(config->eps);
    if (!known(config->monitor, config->metric, config->mode) || !ranges ||
        (size_t)config->style > (size_t)BNMLP_PLATEAU_PYTORCH ||
        (size_t)config->threshold_mode > (size_t)BNMLP_THRESHOLD_ABS)
        return BNMLP_ERR_INVALID_ARGUMENT;
    return BNMLP_OK;
}

bnmlp_status bnmlp_plateau_begin(const bnmlp_plateau_config *config, bnmlp_plateau_state *state) {
    if (!state) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = bnmlp_plateau_check(config);
    if (status != BNMLP_OK) return status;
    *state = (bnmlp_plateau_state){
        .best = maximizes(config->monitor, config->metric, config->mode) ? -INFINITY : INFINITY};
    return BNMLP_OK;
}

/* Whether value beats best: Keras's absolute min_delta, or PyTorch's threshold_mode. */
static bool plateau_better(const bnmlp_plateau_config *config, double value, double best) {
    const bool max = maximizes(config->monitor, config->metric, config->mode);
    if (config->style == BNMLP_PLATEAU_PYTORCH && config->threshold_mode == BNMLP_THRESHOLD_REL)
        return max ? value > best * (1.0 + config->threshold) : value < best * (1.0 - config->threshold);
    return max ? value > best + config->threshold : value < best - config->threshold;
}

/* Keras 3 ReduceLROnPlateau.on_epoch_end. */
static bool keras_plateau(const bnmlp_plateau_config *config, bnmlp_plateau_state *state, double value,
                          double *learning_rate) {
    if (state->cooldown_counter > 0) {
        state->cooldown_counter--;
        state->wait = 0;
    }
    if (plateau_better(config, value, state->best)) {
        state->best = value;
        state->wait = 0;
        return false;
    }
    if (state->cooldown_counter > 0) return false;
    state->wait++;
    /* Keras compares the float32 rate with np.float32(min_lr). */
    if (state->wait < config->patience || !(*learning_rate > (double)(float)config->min_lr)) return false;
    *learning_rate = fmax(*learning_rate * config->factor, config->min_lr);
    state->cooldown_counter = config->cooldown;
    state->wait = 0;
    return true;
}

/* PyTorch 1.13 ReduceLROnPlateau.step. */
static bool pytorch_plateau(const bnmlp_plateau_config *config, bnmlp_plateau_state *state, double value,
                            double *learning_rate) {
    if (plateau_better(config, value, state->best)) {
        state->best = value;
        state->wait = 0;
    } else {
        state->wait++;
    }
    if (state->cooldown_counter > 0) {
        state->cooldown_counter--;
        state->wait = 0; /* bad epochs in cooldown are ignored */
    }
    if (state->wait <= config->patience) return false;
    state->cooldown_counter = config->cooldown;
    state->wait = 0;
    const double reduced = fmax(*learning_rate * config->factor, config->min_lr);
    if (!(*learning_rate - reduced > config->eps)) return false;
    *learning_rate = reduced;
    return true;
}

bnmlp_status bnmlp_plateau_update(const bnmlp_plateau_config *config, bnmlp_plateau_state *state,
                                  double value, double *learning_rate, bool *reduced) {
    if (!state || !learning_rate) return BNMLP_ERR_NULL_ARGUMENT;
    bnmlp_status status = bnmlp_plateau_check(config);
    if (status != BNMLP_OK) return status;
    if (!isfinite(value) || !(*learning_rate > 0.0) || !isfinite(*learning_rate))
        return BNMLP_ERR_INVALID_ARGUMENT;
    const bool changed = config->style == BNMLP_PLATEAU_PYTORCH
                             ? pytorch_plateau(config, state, value, learning_rate)
                             : keras_plateau(config, state, value, learning_rate);
    if (reduced) *reduced = changed;
    return BNMLP_OK;
}
