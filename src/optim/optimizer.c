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

/* Where a pass writes the new values. */
typedef enum update_mode {
    MODE_SPARE,   /* into the spare copies (next_params, next_slots): the one pass */
    MODE_CHECK,   /* nowhere (a stack buffer, a piece at a time): the check before MODE_IN_PLACE */
    MODE_IN_PLACE /* over the current copies (arenas without spares, after a check) */
} update_mode;

/* Floats a MODE_CHECK piece computes into its stack buffer at a time. */
#define CHECK_PIECE 256u

/* A pass over the arena, split over threads by floats. */
typedef struct pass_job {
    const bnmlp_optimizer_config *config;
    const bnmlp_optimizer_row *row;
    const bnmlp_arenas *arenas;
    const bnmlp_isa *isa; /* the instruction set the rows' loops run */
    uint64_t t;           /* the step the update makes (1-based) */
    float global_scale;   /* global_clipnorm's factor of every gradient (1: none) */
    bool fresh;
    update_mode mode;               /* where the new values go */
    bool finite[BNMLP_MAX_THREADS]; /* per thread: every new value finite */
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

/* Updates floats [offset, offset + length) of a segment into the spare copies; scale is the
 * segment's clipping factor. True when every new value is finite. */
static bool update_span(const pass_job *job, size_t offset, size_t length, bool kernel, float scale) {
    const bnmlp_arenas *arenas = job->arenas;
    const bool spare = job->mode == MODE_SPARE;
    bnmlp_update u = {.w = arenas->params + offset,
                      .w_out = spare ? arenas->next_params + offset : arenas->params + offset,
                      .g = arenas->grads + offset,
                      .n = length,
                      .kernel = kernel,
                      .t = job->t,
                      .fresh = job->fresh,
                      .scale = scale,
                      .clip_value = job->config->clip.clipvalue,
                      .isa = job->isa};
    float *const slots_out = spare ? arenas->next_slots : arenas->state->slots;
    for (size_t k = 0; k < BNMLP_OPTIMIZER_MAX_SLOTS; k++) {
        u.slots[k] = arenas->state->slots + k * arenas->count + offset;
        u.slots_out[k] = slots_out + k * arenas->count + offset;
    }
    if (job->mode != MODE_CHECK) return job->row->update(job->config, &u);
    /* MODE_CHECK: the same update a piece at a time into a buffer that is then dropped. */
    float sink[1 + BNMLP_OPTIMIZER_MAX_SLOTS][CHECK_PIECE];
    bool finite = true;
    u.w_out = sink[0];
    for (size_t k = 0; k < BNMLP_OPTIMIZER_MAX_SLOTS; k++) u.slots_out[k] = sink[1 + k];
    for (size_t at = 0; at < length; at += CHECK_PIECE) {
        u.n = length - at < CHECK_PIECE ? length - at : CHECK_PIECE;
        finite = job->row->update(job->config, &u) && finite;
        u.w += u.n, u.g += u.n;
        for (size_t k = 0; k < BNMLP_OPTIMIZER_MAX_SLOTS; k++) u.slots[k] += u.n;
    }
    return finite;
}

/* update_span, in the sub-chunks the arenas' hook asks for when it has one (with spares), each
 * reported to it as soon as it is written. Element-wise: the cuts change no value. */
static bool update_part(const pass_job *job, size_t offset, size_t length, bool kernel, float scale) {
    const bnmlp_params_hook *hook = &job->arenas->hook;
    if (job->mode != MODE_SPARE || !hook->written) return update_span(job, offset, length, kernel, scale);
    bool finite = true;
    for (size_t at = offset, end = offset + length; at < end;) {
        size_t cut = hook->cut ? hook->cut(hook->context, at, end) : end;
        if (cut <= at || cut > end) cut = end;
        finite = update_span(job, at, cut - at, kernel, scale) && finite;
        hook->written(hook->context, job->arenas->next_params, at, cut);
        at = cut;
    }
    return finite;
}

/* Copies floats [from, to) outside every segment into the spare copies: the parameters, and the
 * slots the row uses (zero when fresh, as a new state). */
static void copy_gap(const pass_job *job, size_t from, size_t to) {
    if (from >= to || job->mode != MODE_SPARE) return;
    const bnmlp_arenas *arenas = job->arenas;
    memcpy(arenas->next_params + from, arenas->params + from, (to - from) * sizeof *arenas->params);
    for (size_t k = 0; k < job->row->slots; k++) {
        float *out = arenas->next_slots + k * arenas->count + from;
        if (job->fresh)
            memset(out, 0, (to - from) * sizeof *out);
        else
            memcpy(out, arenas->state->slots + k * arenas->count + from, (to - from) * sizeof *out);
    }
}

/* Runs the pass over floats [begin, end) of the arena (a bnmlp_range_function): the segments'
 * pieces updated, the gaps between them copied; the thread's flag keeps whether every new value
 * was finite. */
static void pass_range(void *arg, size_t begin, size_t end, size_t thread) {
    pass_job *job = arg;
    const bnmlp_arenas *arenas = job->arenas;
    bool finite = true;
    size_t at = begin; /* floats before it are done */
    /* Without clipnorm a segment's factor is 1 whatever it holds: adjacent segments of the same
     * kind (kernel or not; of either kind when the row's update does not tell them apart, e.g.
     * without weight decay) then take one update call, element-wise the very same values. */
    const bool merge = !(job->config->clip.clipnorm > 0.0f),
               any_kind = !job->row->kernel_matters(job->config);
    for (size_t i = 0; i < arenas->segment_count && at < end; i++) {
        const bnmlp_segment *segment = &arenas->segments[i];
        size_t seg_end = segment->offset + segment->length;
        while (merge && i + 1 < arenas->segment_count && arenas->segments[i + 1].offset == seg_end &&
               (any_kind || arenas->segments[i + 1].kernel == segment->kernel))
            seg_end += arenas->segments[++i].length;
        if (seg_end <= at) continue;
        const size_t from = segment->offset > at ? segment->offset : at, to = seg_end < end ? seg_end : end;
        copy_gap(job, at, from < end ? from : end);
        if (from < to) {
            /* clipnorm needs the whole segment's norm: each thread that holds a piece sums it
             * all, in the same order, so every piece gets the same factor. */
            const float scale =
                job->global_scale *
                segment_scale(&job->config->clip, arenas->grads + segment->offset, seg_end - segment->offset);
            finite = update_part(job, from, to - from, segment->kernel, scale) && finite;
        }
        at = to > at ? to : at;
    }
    copy_gap(job, at, end);
    job->finite[thread] = job->finite[thread] && finite;
}

/* Runs one pass over the arena; true when every new value was finite. */
static bool run_pass(pass_job *job) {
    const bnmlp_kernel_context *kernels = job->arenas->kernels;
    const size_t threads = kernels ? bnmlp_threadpool_threads(kernels->pool) : 1;
    for (size_t k = 0; k < threads; k++) job->finite[k] = true;
    if (kernels)
        bnmlp_parallel_for(kernels, job->arenas->count, MIN_PIECE_FLOATS, pass_range, job);
    else
        pass_range(job, 0, job->arenas->count, 0);
    for (size_t k = 0; k < threads; k++)
        if (!job->finite[k]) return false;
    return true;
}

bnmlp_status bnmlp_optimizer_step(const bnmlp_optimizer_config *config, const bnmlp_arenas *arenas) {
    bnmlp_optimizer_state *state = arenas->state;
    const bool fresh = state->kind != config->kind;
    const bnmlp_kernel_context *kernels = arenas->kernels;
    const bool spare = arenas->next_params && arenas->next_slots;
    /* Element-wise updates: cutting them into pieces for threads changes no result. */
    pass_job job = {.config = config,
                    .row = bnmlp_optimizer_row_of(config->kind),
                    .arenas = arenas,
                    .isa = kernels ? bnmlp_kernel_isa(kernels) : &bnmlp_isa_portable,
                    .t = (fresh ? 0 : state->steps) + 1,
                    .global_scale = global_scale(&config->clip, arenas),
                    .fresh = fresh,
                    .mode = spare ? MODE_SPARE : MODE_CHECK};
    /* With spares: one pass, the current copies untouched. Without (a caller of the optimizer
     * alone): first make sure no new value overflows, then drop another kind's state and apply
     * in place. Either way a refused step changes nothing. */
    if (!run_pass(&job)) return BNMLP_ERR_DIVERGED;
    if (fresh) {
        if (!spare) bnmlp_optimizer_reset(state, arenas->count);
        state->kind = config->kind;
        state->steps = 0;
    }
    if (!spare) {
        job.fresh = false, job.mode = MODE_IN_PLACE;
        run_pass(&job);
    }
    state->steps++;
    state->config = *config;
    return BNMLP_OK;
}

void bnmlp_optimizer_reset(bnmlp_optimizer_state *state, size_t count) {
    if (count) memset(state->slots, 0, BNMLP_OPTIMIZER_MAX_SLOTS * count * sizeof *state->slots);
    state->steps = 0;
}
