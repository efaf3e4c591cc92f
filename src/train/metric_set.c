/* metric_set.c - the metrics fit records per epoch and bnmlp_model_evaluate_metrics computes:
 * a set of the metric tier's accumulators for the model's task, planned once through the model's
 * allocator, fed the outputs a step or an inference chunk computed, and read (combined over the
 * ranks under a collective) at the end of an epoch or a pass. */
#include "train/train.h"

#include <math.h>
#include <string.h>

#include "core/core.h"
#include "metrics/metrics.h"
#include "model/model.h"

bnmlp_status bnmlp_metric_set_check(const bnmlp_model *model, const bnmlp_metric *kinds, size_t count) {
    if (!kinds && count > 0) return BNMLP_ERR_NULL_ARGUMENT;
    if (count > BNMLP_FIT_MAX_METRICS) return BNMLP_ERR_INVALID_ARGUMENT;
    bnmlp_metric_task task;
    if (count > 0 && bnmlp_loss_metric_task(bnmlp_model_loss(model), &task) != BNMLP_OK)
        return BNMLP_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < count; i++) {
        bnmlp_metric_info info;
        if (bnmlp_metric_describe(kinds[i], &info) != BNMLP_OK || !info.scalar ||
            !(info.tasks & (1u << task)))
            return BNMLP_ERR_INVALID_ARGUMENT;
        if (bnmlp_model_is_distributed(model) && !bnmlp_metric_is_summable(kinds[i]))
            return BNMLP_ERR_INVALID_ARGUMENT;
    }
    return BNMLP_OK;
}

bnmlp_status bnmlp_metric_set_create(bnmlp_metric_set *set, const bnmlp_model *model,
                                     const bnmlp_metric *kinds, size_t count, size_t max_rows) {
    *set = (bnmlp_metric_set){.allocator = bnmlp_model_allocator(model)};
    if (count == 0) return BNMLP_OK;
    bnmlp_metric_task task;
    bnmlp_loss_metric_task(bnmlp_model_loss(model), &task); /* checked */
    for (size_t i = 0; i < count; i++) {
        bnmlp_metric_config config =
            BNMLP_METRIC_CONFIG_DEFAULT(kinds[i], task, bnmlp_model_output_width(model));
        config.max_rows = max_rows > 0 ? max_rows : 1;
        config.allocator = set->allocator;
        bnmlp_status status;
        set->accumulators[i] = bnmlp_metric_create(&config, &status);
        if (!set->accumulators[i]) return status;
        set->count = i + 1;
    }
    if (!bnmlp_model_is_distributed(model)) return BNMLP_OK;
    size_t doubles = 1; /* the failed flag */
    for (size_t i = 0; i < count; i++)
        if (!bnmlp_size_add(doubles, bnmlp_metric_state_size(set->accumulators[i]), &doubles))
            return BNMLP_ERR_OVERFLOW;
    set->state = bnmlp_alloc_zeroed(set->allocator, doubles, sizeof *set->state);
    if (!set->state) return BNMLP_ERR_OUT_OF_MEMORY;
    set->state_count = doubles;
    return BNMLP_OK;
}

void bnmlp_metric_set_free(bnmlp_metric_set *set) {
    for (size_t i = 0; i < set->count; i++) bnmlp_metric_free(set->accumulators[i]);
    bnmlp_release(set->allocator, set->state);
    *set = (bnmlp_metric_set){.allocator = set->allocator};
}

void bnmlp_metric_set_reset(bnmlp_metric_set *set) {
    for (size_t i = 0; i < set->count; i++) bnmlp_metric_reset(set->accumulators[i]);
    set->failed = false;
}

void bnmlp_metric_set_add(bnmlp_metric_set *set, const bnmlp_model *model, const float *outputs,
                          const float *targets, size_t rows, size_t width) {
    if (rows == 0 || set->failed) return;
    /* Views of the model's and fit's buffers: the accumulators only read them. */
    const bnmlp_tensor out = {
        .data = (float *)outputs, .rows = rows, .cols = bnmlp_model_output_width(model)};
    const bnmlp_tensor y = {.data = (float *)targets, .rows = rows, .cols = width};
    for (size_t i = 0; i < set->count && !set->failed; i++)
        /* The targets passed the loss's rules, which are the task's: only outputs that are not
         * finite (a linear output under a clipped cross-entropy can overflow) are refused. */
        set->failed = bnmlp_metric_add(set->accumulators[i], &out, &y, NULL) != BNMLP_OK;
}

/* Sums every accumulator's state and the failed flag over the ranks. */
static bnmlp_status combine(bnmlp_metric_set *set, bnmlp_model *model) {
    double *next = set->state;
    for (size_t i = 0; i < set->count; i++) {
        bnmlp_metric_state_get(set->accumulators[i], next);
        next += bnmlp_metric_state_size(set->accumulators[i]);
    }
    *next = set->failed ? 1.0 : 0.0;
    bnmlp_status status = bnmlp_model_sum_doubles(model, set->state, set->state_count);
    if (status != BNMLP_OK) return status;
    next = set->state;
    for (size_t i = 0; i < set->count; i++) {
        bnmlp_metric_state_set(set->accumulators[i], next);
        next += bnmlp_metric_state_size(set->accumulators[i]);
    }
    set->failed = *next > 0.0;
    return BNMLP_OK;
}

bnmlp_status bnmlp_metric_set_values(bnmlp_metric_set *set, bnmlp_model *model,
                                     double values[BNMLP_FIT_MAX_METRICS]) {
    for (size_t i = 0; i < BNMLP_FIT_MAX_METRICS; i++) values[i] = NAN;
    if (set->count > 0 && set->state) {
        const bnmlp_status status = combine(set, model);
        if (status != BNMLP_OK) return status;
    }
    for (size_t i = 0; i < set->count && !set->failed; i++)
        bnmlp_metric_value(set->accumulators[i], &values[i]); /* scalar kinds: checked */
    return BNMLP_OK;
}
