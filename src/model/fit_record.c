/*
 * fit_record.c - fit's training controls as the model keeps them for checkpoints: the record
 * (plain data the training tier fills and reads), the model's buffer for early stopping's best
 * weights, and the named fields of the checkpoint sections SCHD, ESTP and PLAT, one table row
 * each (name, type, where it lives in bnmlp_fit_record, setting or state, meaning). Writing,
 * reading, defaults for missing fields, the settings' equality and the tables of
 * docs/model-format.md all come from these rows. A new field is a new row: files written before
 * it still load, with the default of bnmlp_fit_record_defaults.
 */
#include "model/model.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/bytes.h"
#include "core/core.h"

/* ---- the record in the model ---------------------------------------------------------------- */

const bnmlp_fit_record *bnmlp_model_fit_record(const bnmlp_model *model) { return &model->fit_record; }

void bnmlp_model_keep_fit_record(bnmlp_model *model, const bnmlp_fit_record *record) {
    float *const weights = model->fit_record.best_weights;
    model->fit_record = *record;
    model->fit_record.best_weights = weights;
}

float *bnmlp_model_reserve_best_weights(bnmlp_model *model) {
    if (!model->fit_record.best_weights)
        model->fit_record.best_weights =
            bnmlp_alloc_zeroed(&model->allocator, bnmlp_model_snapshot_floats(model) + 1, sizeof(float));
    return model->fit_record.best_weights;
}

bnmlp_fit_record bnmlp_fit_record_defaults(void) {
    bnmlp_fit_record record = {.schedule = BNMLP_SCHEDULE_DEFAULT,
                               .early_stopping = BNMLP_EARLY_STOPPING_DEFAULT,
                               .reduce_lr = BNMLP_PLATEAU_DEFAULT};
    record.early_stopping.enabled = true; /* a held part is an enabled control */
    record.reduce_lr.enabled = true;
    return record;
}

/* ---- the fields ------------------------------------------------------------------------------- */

/* offsetof and number of values of a member of bnmlp_fit_record. */
#define ONE(member) offsetof(bnmlp_fit_record, member), 1
#define ARRAY(member, type)                                                                                  \
    offsetof(bnmlp_fit_record, member), sizeof(((bnmlp_fit_record *)0)->member) / sizeof(type)

_Static_assert(sizeof(bnmlp_schedule_kind) == sizeof(int) && sizeof(bnmlp_schedule_unit) == sizeof(int) &&
                   sizeof(bnmlp_monitor) == sizeof(int) && sizeof(bnmlp_direction) == sizeof(int) &&
                   sizeof(bnmlp_plateau_style) == sizeof(int) && sizeof(bnmlp_threshold_mode) == sizeof(int),
               "enumerations are int-sized");

#define EPOCH_ROW                                                                                            \
    { "epoch", BNMLP_RECORD_U64, ONE(epoch), true, "the model's epochs done when the state was taken" }

static const bnmlp_record_field schedule_fields[] = {
    EPOCH_ROW,
    {"base_rate", BNMLP_RECORD_F64, ONE(base_rate), true,
     "the schedule's base rate (`initial_learning_rate`, else the first fit's optimizer rate)"},
    {"kind", BNMLP_RECORD_ENUM, ONE(schedule.kind), false, "`bnmlp_schedule_kind`"},
    {"unit", BNMLP_RECORD_ENUM, ONE(schedule.unit), false, "`bnmlp_schedule_unit`"},
    {"initial_learning_rate", BNMLP_RECORD_F64, ONE(schedule.initial_learning_rate), false,
     "as `bnmlp_schedule_config`; so are the rows below"},
    {"decay_steps", BNMLP_RECORD_U64, ONE(schedule.decay_steps), false, ""},
    {"decay_rate", BNMLP_RECORD_F64, ONE(schedule.decay_rate), false, ""},
    {"staircase", BNMLP_RECORD_BOOL, ONE(schedule.staircase), false, ""},
    {"alpha", BNMLP_RECORD_F64, ONE(schedule.alpha), false, ""},
    {"warmup_steps", BNMLP_RECORD_U64, ONE(schedule.warmup_steps), false, ""},
    {"warmup_target", BNMLP_RECORD_F64, ONE(schedule.warmup_target), false, ""},
    {"step_size", BNMLP_RECORD_U64, ONE(schedule.step_size), false, ""},
    {"gamma", BNMLP_RECORD_F64, ONE(schedule.gamma), false, ""},
    {"milestones", BNMLP_RECORD_U64, ARRAY(schedule.milestones, uint64_t), false,
     "all 16 entries (`BNMLP_SCHEDULE_MAX_MILESTONES`), 8 bytes each"},
    {"milestone_count", BNMLP_RECORD_SIZE, ONE(schedule.milestone_count), false, ""},
    {"values", BNMLP_RECORD_F64, ARRAY(schedule.values, double), false, "all 17 entries, 8 bytes each"},
    {"t_max", BNMLP_RECORD_U64, ONE(schedule.t_max), false, ""},
    {"eta_min", BNMLP_RECORD_F64, ONE(schedule.eta_min), false, ""},
    {"max_lr", BNMLP_RECORD_F64, ONE(schedule.max_lr), false, ""},
    {"total_steps", BNMLP_RECORD_U64, ONE(schedule.total_steps), false, ""},
    {"pct_start", BNMLP_RECORD_F64, ONE(schedule.pct_start), false, ""},
    {"div_factor", BNMLP_RECORD_F64, ONE(schedule.div_factor), false, ""},
    {"final_div_factor", BNMLP_RECORD_F64, ONE(schedule.final_div_factor), false, ""},
};

static const bnmlp_record_field early_stopping_fields[] = {
    EPOCH_ROW,
    {"monitor", BNMLP_RECORD_ENUM, ONE(early_stopping.monitor), false, "`bnmlp_monitor`"},
    {"mode", BNMLP_RECORD_ENUM, ONE(early_stopping.mode), false, "`bnmlp_direction`"},
    {"min_delta", BNMLP_RECORD_F64, ONE(early_stopping.min_delta), false,
     "as `bnmlp_early_stopping_config`; so are the settings below"},
    {"patience", BNMLP_RECORD_SIZE, ONE(early_stopping.patience), false, ""},
    {"has_baseline", BNMLP_RECORD_BOOL, ONE(early_stopping.has_baseline), false, ""},
    {"baseline", BNMLP_RECORD_F64, ONE(early_stopping.baseline), false, ""},
    {"start_from_epoch", BNMLP_RECORD_SIZE, ONE(early_stopping.start_from_epoch), false, ""},
    {"restore_best_weights", BNMLP_RECORD_BOOL, ONE(early_stopping.restore_best_weights), false,
     "with `has_best`: a `BEST` section follows"},
    {"best", BNMLP_RECORD_F64, ONE(early.best), true, "the best value so far (+-infinity before the first)"},
    {"wait", BNMLP_RECORD_SIZE, ONE(early.wait), true, "epochs since the last improvement"},
    {"best_epoch", BNMLP_RECORD_SIZE, ONE(early.best_epoch), true, "0-based epoch of the best value"},
    {"has_best", BNMLP_RECORD_BOOL, ONE(early.has_best), true, "an epoch has been monitored"},
    {"stopped", BNMLP_RECORD_BOOL, ONE(early.stopped), true, "early stopping ended the fit"},
};

static const bnmlp_record_field plateau_fields[] = {
    EPOCH_ROW,
    {"style", BNMLP_RECORD_ENUM, ONE(reduce_lr.style), false, "`bnmlp_plateau_style`"},
    {"monitor", BNMLP_RECORD_ENUM, ONE(reduce_lr.monitor), false, "`bnmlp_monitor`"},
    {"mode", BNMLP_RECORD_ENUM, ONE(reduce_lr.mode), false, "`bnmlp_direction`"},
    {"factor", BNMLP_RECORD_F64, ONE(reduce_lr.factor), false,
     "as `bnmlp_plateau_config`; so are the settings below"},
    {"patience", BNMLP_RECORD_SIZE, ONE(reduce_lr.patience), false, ""},
    {"threshold", BNMLP_RECORD_F64, ONE(reduce_lr.threshold), false, ""},
    {"threshold_mode", BNMLP_RECORD_ENUM, ONE(reduce_lr.threshold_mode), false, "`bnmlp_threshold_mode`"},
    {"cooldown", BNMLP_RECORD_SIZE, ONE(reduce_lr.cooldown), false, ""},
    {"min_lr", BNMLP_RECORD_F64, ONE(reduce_lr.min_lr), false, ""},
    {"eps", BNMLP_RECORD_F64, ONE(reduce_lr.eps), false, ""},
    {"best", BNMLP_RECORD_F64, ONE(plateau.best), true, "the best value so far (+-infinity at the start)"},
    {"wait", BNMLP_RECORD_SIZE, ONE(plateau.wait), true, "Keras's wait / PyTorch's bad epochs"},
    {"cooldown_counter", BNMLP_RECORD_SIZE, ONE(plateau.cooldown_counter), true, "epochs of cooldown left"},
    {"rate", BNMLP_RECORD_F64, ONE(rate), true,
     "the current rate (reductions applied), used from the next epoch"},
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(COUNT_OF(schedule_fields) < 64 && COUNT_OF(early_stopping_fields) < 64 &&
                   COUNT_OF(plateau_fields) < 64,
               "the reader keeps a bit per row");

const bnmlp_record_section bnmlp_record_sections[] = {
    {"SCHD", schedule_fields, COUNT_OF(schedule_fields), offsetof(bnmlp_fit_record, has_schedule),
     "the learning-rate schedule"},
    {"ESTP", early_stopping_fields, COUNT_OF(early_stopping_fields),
     offsetof(bnmlp_fit_record, has_early_stopping), "early stopping"},
    {"PLAT", plateau_fields, COUNT_OF(plateau_fields), offsetof(bnmlp_fit_record, has_plateau),
     "reduce-LR-on-plateau"},
};

const size_t bnmlp_record_section_count = COUNT_OF(bnmlp_record_sections);

size_t bnmlp_record_field_bytes(const bnmlp_record_field *field) {
    switch (field->type) {
    case BNMLP_RECORD_BOOL: return 1;
    case BNMLP_RECORD_ENUM: return 4;
    case BNMLP_RECORD_U64:
    case BNMLP_RECORD_SIZE:
    case BNMLP_RECORD_F64: return 8 * field->count;
    }
    return 0;
}

void bnmlp_record_field_encode(const bnmlp_record_field *field, const bnmlp_fit_record *record,
                               unsigned char *out) {
    const unsigned char *at = (const unsigned char *)record + field->offset;
    for (size_t i = 0; i < field->count; i++) {
        switch (field->type) {
        case BNMLP_RECORD_BOOL: {
            bool value;
            memcpy(&value, at, sizeof value);
            out[0] = value ? 1 : 0;
            break;
        }
        case BNMLP_RECORD_ENUM: {
            int value;
            memcpy(&value, at, sizeof value);
            bnmlp_store_le32(out, (uint32_t)value);
            break;
        }
        case BNMLP_RECORD_U64: {
            uint64_t value;
            memcpy(&value, at + i * sizeof value, sizeof value);
            bnmlp_store_le64(out + 8 * i, value);
            break;
        }
        case BNMLP_RECORD_SIZE: {
            size_t value;
            memcpy(&value, at, sizeof value);
            bnmlp_store_le64(out, (uint64_t)value);
            break;
        }
        case BNMLP_RECORD_F64: {
            double value;
            uint64_t bits;
            memcpy(&value, at + i * sizeof value, sizeof value);
            memcpy(&bits, &value, sizeof bits);
            bnmlp_store_le64(out + 8 * i, bits);
            break;
        }
        }
    }
}

bool bnmlp_record_field_decode(const bnmlp_record_field *field, bnmlp_fit_record *record,
                               const unsigned char *in) {
    bnmlp_fit_record changed = *record;
    unsigned char *at = (unsigned char *)&changed + field->offset;
    for (size_t i = 0; i < field->count; i++) {
        switch (field->type) {
        case BNMLP_RECORD_BOOL: {
            if (in[0] > 1) return false;
            const bool value = in[0] == 1;
            memcpy(at, &value, sizeof value);
            break;
        }
        case BNMLP_RECORD_ENUM: {
            const uint32_t stored = bnmlp_load_le32(in);
            if (stored > INT_MAX) return false;
            const int value = (int)stored;
            memcpy(at, &value, sizeof value);
            break;
        }
        case BNMLP_RECORD_U64: {
            const uint64_t value = bnmlp_load_le64(in + 8 * i);
            memcpy(at + i * sizeof value, &value, sizeof value);
            break;
        }
        case BNMLP_RECORD_SIZE: {
            const uint64_t stored = bnmlp_load_le64(in);
            if (stored > SIZE_MAX) return false;
            const size_t value = (size_t)stored;
            memcpy(at, &value, sizeof value);
            break;
        }
        case BNMLP_RECORD_F64: {
            const uint64_t bits = bnmlp_load_le64(in + 8 * i);
            double value;
            memcpy(&value, &bits, sizeof value);
            if (isnan(value)) return false;
            memcpy(at + i * sizeof value, &value, sizeof value);
            break;
        }
        }
    }
    *record = changed;
    return true;
}

bool bnmlp_record_settings_equal(const bnmlp_record_section *section, const bnmlp_fit_record *a,
                                 const bnmlp_fit_record *b) {
    unsigned char x[8 * (BNMLP_SCHEDULE_MAX_MILESTONES + 1)], y[sizeof x];
    for (size_t i = 0; i < section->field_count; i++) {
        const bnmlp_record_field *field = &section->fields[i];
        if (field->state) continue;
        bnmlp_record_field_encode(field, a, x);
        bnmlp_record_field_encode(field, b, y);
        if (memcmp(x, y, bnmlp_record_field_bytes(field)) != 0) return false;
    }
    return true;
}

/* The type's name in the document. */
static const char *type_name(const bnmlp_record_field *field) {
    switch (field->type) {
    case BNMLP_RECORD_BOOL: return "`bool`";
    case BNMLP_RECORD_ENUM: return "`u32`";
    case BNMLP_RECORD_U64:
    case BNMLP_RECORD_SIZE: return field->count > 1 ? "`u64` array" : "`u64`";
    case BNMLP_RECORD_F64: return field->count > 1 ? "`f64` array" : "`f64`";
    }
    return "?";
}

size_t bnmlp_record_fields_document(char *text, size_t size) {
    size_t used = 0;
#define APPEND(...) bnmlp_text_appendf(text, size, &used, __VA_ARGS__)
    for (size_t s = 0; s < bnmlp_record_section_count; s++) {
        const bnmlp_record_section *section = &bnmlp_record_sections[s];
        APPEND("%s`%s` (%s):\n\n| field | type | part | meaning |\n|---|---|---|---|\n", s ? "\n" : "",
               section->tag, section->title);
        for (size_t i = 0; i < section->field_count; i++) {
            const bnmlp_record_field *f = &section->fields[i];
            APPEND("| `%s` | %s | %s | %s |\n", f->name, type_name(f), f->state ? "state" : "setting",
                   f->meaning);
        }
    }
#undef APPEND
    return used;
}
