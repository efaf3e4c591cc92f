/* resume.c - continuing a fit's controls from what the model keeps (src/model/fit_record.c): which
 * stored parts a fit continues, the check of a stored state before it is used, the settings'
 * equality (the record's field tables) and bnmlp_model_fit_resume_config. */
#include "train/train.h"

#include <math.h>
#include <string.h>

#include "model/model.h"

/* The section of the record's tables with this tag (one of SCHD, ESTP, PLAT). */
static const bnmlp_record_section *section_of(const char *tag) {
    for (size_t s = 0; s < bnmlp_record_section_count; s++)
        if (strcmp(bnmlp_record_sections[s].tag, tag) == 0) return &bnmlp_record_sections[s];
    return NULL; /* not reached: the tags are the table's */
}

bool bnmlp_schedule_equal(const bnmlp_schedule_config *a, const bnmlp_schedule_config *b) {
    if (!a || !b) return a == b;
    bnmlp_fit_record x = bnmlp_fit_record_defaults(), y = x;
    x.schedule = *a, y.schedule = *b;
    return bnmlp_record_settings_equal(section_of("SCHD"), &x, &y);
}

bool bnmlp_early_stopping_equal(const bnmlp_early_stopping_config *a, const bnmlp_early_stopping_config *b) {
    if (!a || !b) return a == b;
    if (a->enabled != b->enabled) return false;
    bnmlp_fit_record x = bnmlp_fit_record_defaults(), y = x;
    x.early_stopping = *a, y.early_stopping = *b;
    return !a->enabled || bnmlp_record_settings_equal(section_of("ESTP"), &x, &y);
}

bool bnmlp_plateau_equal(const bnmlp_plateau_config *a, const bnmlp_plateau_config *b) {
    if (!a || !b) return a == b;
    if (a->enabled != b->enabled) return false;
    bnmlp_fit_record x = bnmlp_fit_record_defaults(), y = x;
    x.reduce_lr = *a, y.reduce_lr = *b;
    return !a->enabled || bnmlp_record_settings_equal(section_of("PLAT"), &x, &y);
}

/* True when the schedule sets the rates (not the constant one without a base of its own). */
static bool schedule_active(const bnmlp_schedule_config *schedule) {
    return schedule->kind != BNMLP_SCHEDULE_CONSTANT || schedule->initial_learning_rate > 0.0;
}

bnmlp_resume_parts bnmlp_fit_resume_parts(const bnmlp_model *model, const bnmlp_fit_config *config) {
    const bnmlp_fit_record *stored = bnmlp_model_fit_record(model);
    bnmlp_resume_parts parts = {false, false, false};
    if (config->initial_epoch == 0 || stored->epoch != (uint64_t)config->initial_epoch) return parts;
    parts.schedule = stored->has_schedule && schedule_active(&config->schedule) &&
                     bnmlp_schedule_equal(&stored->schedule, &config->schedule);
    parts.early_stopping = stored->has_early_stopping && config->early_stopping.enabled &&
                           bnmlp_early_stopping_equal(&stored->early_stopping, &config->early_stopping);
    parts.plateau = stored->has_plateau && config->reduce_lr.enabled &&
                    bnmlp_plateau_equal(&stored->reduce_lr, &config->reduce_lr);
    return parts;
}

/* A rate fit can use: > 0 and finite. */
static bool usable_rate(double rate) { return rate > 0.0 && isfinite(rate); }

bnmlp_status bnmlp_fit_resume_check(const bnmlp_model *model, bnmlp_resume_parts parts) {
    const bnmlp_fit_record *stored = bnmlp_model_fit_record(model);
    if (parts.schedule && !usable_rate(stored->base_rate)) return BNMLP_ERR_FORMAT;
    if (parts.early_stopping && stored->early.has_best &&
        ((uint64_t)stored->early.best_epoch >= stored->epoch ||
         (stored->early_stopping.restore_best_weights && !stored->has_best_weights)))
        return BNMLP_ERR_FORMAT;
    if (parts.plateau && !usable_rate(stored->rate)) return BNMLP_ERR_FORMAT;
    return BNMLP_OK;
}

bnmlp_status bnmlp_model_fit_resume_config(const bnmlp_model *model, bnmlp_fit_config *config) {
    if (!model || !config) return BNMLP_ERR_NULL_ARGUMENT;
    const bnmlp_fit_record *stored = bnmlp_model_fit_record(model);
    bnmlp_fit_config out = *config;
    bnmlp_status status = bnmlp_model_optimizer_config(model, &out.optimizer);
    if (status != BNMLP_OK) return status;
    out.initial_epoch = bnmlp_model_epochs_done(model);
    /* A record of another epoch (a fit that failed before its first epoch ended) holds nothing. */
    const bool current = stored->epoch == (uint64_t)out.initial_epoch && out.initial_epoch > 0;
    out.schedule = current && stored->has_schedule ? stored->schedule : BNMLP_SCHEDULE_DEFAULT;
    out.early_stopping =
        current && stored->has_early_stopping ? stored->early_stopping : BNMLP_EARLY_STOPPING_DEFAULT;
    out.reduce_lr = current && stored->has_plateau ? stored->reduce_lr : BNMLP_PLATEAU_DEFAULT;
    /* What the file stored is checked here, as fit would check it. */
    if (bnmlp_schedule_check(&out.schedule) != BNMLP_OK ||
        bnmlp_early_stopping_check(&out.early_stopping) != BNMLP_OK ||
        bnmlp_plateau_check(&out.reduce_lr) != BNMLP_OK ||
        (out.reduce_lr.enabled && schedule_active(&out.schedule)) ||
        bnmlp_fit_resume_check(model, bnmlp_fit_resume_parts(model, &out)) != BNMLP_OK)
        return BNMLP_ERR_FORMAT;
    *config = out;
    return BNMLP_OK;
}
