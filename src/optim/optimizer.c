/* optimizer.c - the table of optimizers, the public calls that read it, and one update over
 * the flat arenas. The only file that walks the list: every other asks it for a row. */
#include "optim/optim.h"

#include <math.h>
#include <string.h>

/* The rows, each defined beside its update (sgd.c, adam.c, rmsprop.c). */
extern const bnmlp_optimizer_row bnmlp_optimizer_sgd, bnmlp_optimizer_adam, bnmlp_optimizer_adamw,
    bnmlp_optimizer_rmsprop;

/* Every optimizer, in the order of bnmlp_optimizer_kind. */
static const bnmlp_optimizer_row *const optimizers[] = {
    &bnmlp_optimizer_sgd,
    &bnmlp_optimizer_adam,
    &bnmlp_optimizer_adamw,
    &bnmlp_optimizer_rmsprop,
};

#define OPTIMIZER_COUNT (sizeof optimizers / sizeof optimizers[0])

/* Enumeration settings are stored as an int (bnmlp_optimizer_set, the model file). */
_Static_assert(sizeof(bnmlp_adam_epsilon) == sizeof(int), "an enumeration setting is an int");

const bnmlp_optimizer_row *bnmlp_optimizer_row_of(bnmlp_optimizer_kind kind) {
    const size_t index = (size_t)kind;
    return index < OPTIMIZER_COUNT ? optimizers[index] : NULL;
}

bool bnmlp_optimizer_non_negative(float value) { return value >= 0.0f && isfinite(value); }

bool bnmlp_optimizer_positive(float value) { return value > 0.0f && isfinite(value); }

/* ---- names and settings ------------------------------------------------------------------------ */

size_t bnmlp_optimizer_count(void) { return OPTIMIZER_COUNT; }

const char *bnmlp_optimizer_name(bnmlp_optimizer_kind kind) {
    const bnmlp_optimizer_row *row = bnmlp_optimizer_row_of(kind);
    return row ? row->name : "unknown";
}

bnmlp_status bnmlp_optimizer_from_name(const char *name, bnmlp_optimizer_kind *kind) {
    if (!name || !kind) return BNMLP_ERR_NULL_ARGUMENT;
    for (size_t i = 0; i < OPTIMIZER_COUNT; i++)
        if (strcmp(optimizers[i]->name, name) == 0) {
            *kind = optimizers[i]->kind;
            return BNMLP_OK;
        }
    return BNMLP_ERR_INVALID_ARGUMENT;
}

bnmlp_status bnmlp_optimizer_defaults(bnmlp_optimizer_kind kind, bnmlp_optimizer_config *config) {
    if (!config) return BNMLP_ERR_NULL_ARGUMENT;
    const bnmlp_optimizer_row *row = bnmlp_optimizer_row_of(kind);
    if (!row) return BNMLP_ERR_INVALID_ARGUMENT;
    *config = row->defaults();
    return BNMLP_OK;
}

/* The clipping settings in range: each >= 0 and finite, at most one set (as Keras). */
static bool clip_valid(const bnmlp_clip_config *clip) {
    return bnmlp_optimizer_non_negative(clip->clipnorm) && bnmlp_optimizer_non_negative(clip->clipvalue) &&
           bnmlp_optimizer_non_negative(clip->global_clipnorm) &&
           (clip->clipnorm > 0.0f) + (clip->clipvalue > 0.0f) + (clip->global_clipnorm > 0.0f) <= 1;
}

bnmlp_status bnmlp_optimizer_check(const bnmlp_optimizer_config *config) {
    if (!config) return BNMLP_ERR_NULL_ARGUMENT;
    const bnmlp_optimizer_row *row = bnmlp_optimizer_row_of(config->kind);
    return row && row->valid(config) && clip_valid(&config->clip) ? BNMLP_OK : BNMLP_ERR_INVALID_ARGUMENT;
}

const char *bnmlp_optimizer_setting(bnmlp_optimizer_kind kind, size_t index) {
    const bnmlp_optimizer_row *row = bnmlp_optimizer_row_of(kind);
    return row && index < row->field_count ? row->fields[index].name : NULL;
}

bool bnmlp_optimizer_setting_is_switch(bnmlp_optimizer_kind kind, size_t index) {
    const bnmlp_optimizer_row *row = bnmlp_optimizer_row_of(kind);
    return row && index < row->field_count && row->fields[index].type == BNMLP_SETTING_BOOL;
}

/* The field called name of config's kind, or NULL. */
static const bnmlp_optimizer_field *find_field(const bnmlp_optimizer_config *config, const char *name) {
    const bnmlp_optimizer_row *row = bnmlp_optimizer_row_of(config->kind);
    for (size_t i = 0; row && i < row->field_count; i++)
        if (strcmp(row->fields[i].name, name) == 0) return &row->fields[i];
    return NULL;
}

bnmlp_status bnmlp_optimizer_set(bnmlp_optimizer_config *config, const char *name, double value) {
    if (!config || !name) return BNMLP_ERR_NULL_ARGUMENT;
    const bnmlp_optimizer_field *field = find_field(config, name);
    if (!field) return BNMLP_ERR_INVALID_ARGUMENT;
    unsigned char *at = (unsigned char *)config + field->offset;
    if (field->type == BNMLP_SETTING_FLOAT) {
        const float f = (float)value;
        memcpy(at, &f, sizeof f);
    } else if (field->type == BNMLP_SETTING_BOOL) {
        const bool b = value != 0.0;
        memcpy(at, &b, sizeof b);
    } else {
        if (!(value >= 0.0 && value <= 1e6) || value != floor(value)) return BNMLP_ERR_INVALID_ARGUMENT;
        const int e = (int)value; /* an enum's storage */
        memcpy(at, &e, sizeof e);
    }
    return BNMLP_OK;
}

bnmlp_status bnmlp_optimizer_get(const bnmlp_optimizer_config *config, const char *name, double *value) {
    if (!config || !name || !value) return BNMLP_ERR_NULL_ARGUMENT;
    const bnmlp_optimizer_field *field = find_field(config, name);
    if (!field) return BNMLP_ERR_INVALID_ARGUMENT;
    const unsigned char *at = (const unsigned char *)config + field->offset;
    if (field->type == BNMLP_SETTING_FLOAT) {
        float f;
        memcpy(&f, at, sizeof f);
        *value = (double)f;
    } else if (field->type == BNMLP_SETTING_BOOL) {
        bool b;
        memcpy(&b, at, sizeof b);
        *value = b ? 1.0 : 0.0;
    } else {
        int e;
        memcpy(&e, at, sizeof e);
        *value = (double)e;
    }
    return BNMLP_OK;
}

/* ---- the update ---------------------------------------------------------------------------------- */

/* The fewest floats a piece holds: below twice this a pass is not worth waking threads. */
#define MIN_PIECE_FLOATS ((size_t)1 << 16)

/* One pass (check or apply) over the segments, split over threads by the concatenated floats. */
typedef struct pass_job {
    const bnmlp_optimizer_config *config;
    const bnmlp_optimizer_row *row;
    const bnmlp_arenas *arenas;
    uint64_t t;         /* the step the update makes (1-based) */
    float global_scale; /* global_clipnorm's factor of every gradient (1: none) */
    bool fresh, apply;
    bool finite[BNMLP_MAX_THREADS]; /* per thread: every new value finite (check passes) */
} pass_job;

/* The sum of squares of n gradients, in double, in index order (the same for every thread). */
static double sum_of_squares(const float *g, size_t n) {
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += (double)g[i] * (double)g[i];
    return sum;
}

/* clipnorm's factor of a segment's gradient (Keras clip_by_norm: clipnorm / max(norm, clipnorm));
 * 1 when clipnorm is off or the norm is within it. */
static float segment_scale(const bnmlp_clip_config *clip, const float *g, size_t n) {
    if (!(clip->clipnorm > 0.0f)) return 1.0f;
    const double norm = sqrt(sum_of_squares(g, n));
    return norm > (double)clip->clipnorm ? (float)((double)clip->clipnorm / norm) : 1.0f;
}

/* global_clipnorm's factor (PyTorch clip_grad_norm_: min(max_norm / (total + 1e-6), 1)), total
 * summed segment by segment in their order; 1 when off or within the norm. */
static float global_scale(const bnmlp_clip_config *clip, const bnmlp_arenas *arenas) {
    if (!(clip->global_clipnorm > 0.0f)) return 1.0f;
    double sum = 0.0;
    for (size_t i = 0; i < arenas->segment_count; i++)
        sum += sum_of_squares(arenas->grads + arenas->segments[i].offset, arenas->segments[i].length);
    const double coef = (double)clip->global_clipnorm / (sqrt(sum) + 1e-6);
    return coef < 1.0 ? (float)coef : 1.0f;
}

/* Checks (apply false) or applies the update of floats [offset, offset + length) of a segment;
 * scale is the segment's clipping factor. */
static bool update_part(const pass_job *job, size_t offset, size_t length, bool kernel, float scale) {
    const bnmlp_arenas *arenas = job->arenas;
    bnmlp_update u = {.w = arenas->params + offset,
                      .g = arenas->grads + offset,
                      .n = length,
                      .kernel = kernel,
                      .t = job->t,
                      .fresh = job->fresh,
                      .scale = scale,
                      .clip_value = job->config->clip.clipvalue};
    for (size_t k = 0; k < BNMLP_OPTIMIZER_MAX_SLOTS; k++)
        u.slots[k] = arenas->state->slots + k * arenas->count + offset;
    return job->row->update(job->config, &u, job->apply);
}

/* Runs the pass over floats [begin, end) of the concatenated segments (a bnmlp_range_function);
 * the thread's flag keeps whether every value was finite. */
static void pass_range(void *arg, size_t begin, size_t end, size_t thread) {
    pass_job *job = arg;
    bool finite = true;
    size_t at = 0; /* where the current segment starts in the concatenation */
    for (size_t i = 0; i < job->arenas->segment_count && at < end; i++) {
        const bnmlp_segment *segment = &job->arenas->segments[i];
        const size_t from = begin > at ? begin - at : 0,
                     to = end - at < segment->length ? end - at : segment->length;
        if (from < to) {
            /* clipnorm needs the whole segment's norm: each thread that holds a piece sums it
             * all, in the same order, so every piece gets the same factor. */
            const float scale =
                job->global_scale *
                segment_scale(&job->config->clip, job->arenas->grads + segment->offset, segment->length);
            finite = update_part(job, segment->offset + from, to - from, segment->kernel, scale) && finite;
        }
        at += segment->length;
    }
    job->finite[thread] = job->finite[thread] && finite;
}

/* Runs one pass over every trainable float; true when every new value was finite. */
static bool run_pass(pass_job *job, size_t total) {
    const bnmlp_kernel_context *kernels = job->arenas->kernels;
    const size_t threads = kernels ? bnmlp_threadpool_threads(kernels->pool) : 1;
    for (size_t k = 0; k < threads; k++) job->finite[k] = true;
    if (kernels)
        bnmlp_parallel_for(kernels, total, MIN_PIECE_FLOATS, pass_range, job);
    else
        pass_range(job, 0, total, 0);
    for (size_t k = 0; k < threads; k++)
        if (!job->finite[k]) return false;
    return true;
}

bnmlp_status bnmlp_optimizer_step(const bnmlp_optimizer_config *config, const bnmlp_arenas *arenas) {
    bnmlp_optimizer_state *state = arenas->state;
    const bool fresh = state->kind != config->kind;
    size_t total = 0;
    for (size_t i = 0; i < arenas->segment_count; i++) total += arenas->segments[i].length;
    /* Element-wise updates: cutting them into pieces for threads changes no result. */
    pass_job job = {.config = config,
                    .row = bnmlp_optimizer_row_of(config->kind),
                    .arenas = arenas,
                    .t = (fresh ? 0 : state->steps) + 1,
                    .global_scale = global_scale(&config->clip, arenas),
                    .fresh = fresh,
                    .apply = false};
    /* First make sure no parameter or state value would overflow, so a refused step changes
     * nothing; then drop another kind's state, and apply. */
    if (!run_pass(&job, total)) return BNMLP_ERR_DIVERGED;
    if (fresh) {
        bnmlp_optimizer_reset(state, arenas->count);
        state->kind = config->kind;
    }
    job.fresh = false, job.apply = true;
    run_pass(&job, total);
    state->steps++;
    state->config = *config;
    return BNMLP_OK;
}

void bnmlp_optimizer_reset(bnmlp_optimizer_state *state, size_t count) {
    if (count) memset(state->slots, 0, BNMLP_OPTIMIZER_MAX_SLOTS * count * sizeof *state->slots);
    state->steps = 0;
}
