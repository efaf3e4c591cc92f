/* optimizer.c - the configurations' checks, and one update over the flat arenas. */
#include "optim/optim.h"

#include <math.h>
#include <string.h>

bnmlp_optimizer_config bnmlp_optimizer_from_sgd(const bnmlp_sgd_config *sgd) {
    bnmlp_optimizer_config config = BNMLP_OPTIMIZER_DEFAULT;
    config.sgd = *sgd;
    return config;
}

/* True for a finite value >= 0. */
static bool non_negative(float value) { return value >= 0.0f && isfinite(value); }

/* True for a finite value > 0. */
static bool positive(float value) { return value > 0.0f && isfinite(value); }

bnmlp_status bnmlp_optimizer_check(const bnmlp_optimizer_config *config) {
    if (!config) return BNMLP_ERR_NULL_ARGUMENT;
    switch (config->kind) {
    case BNMLP_OPTIMIZER_SGD: {
        const bnmlp_sgd_config *sgd = &config->sgd;
        const bool ok = positive(sgd->learning_rate) && sgd->momentum >= 0.0f && sgd->momentum <= 1.0f &&
                        non_negative(sgd->weight_decay);
        return ok ? BNMLP_OK : BNMLP_ERR_INVALID_ARGUMENT;
    }
    case BNMLP_OPTIMIZER_ADAM:
    case BNMLP_OPTIMIZER_ADAMW: {
        const bnmlp_adam_config *adam = &config->adam;
        const bnmlp_adam_epsilon e = adam->epsilon_placement;
        const bool ok = positive(adam->learning_rate) && adam->beta1 >= 0.0f && adam->beta1 < 1.0f &&
                        adam->beta2 >= 0.0f && adam->beta2 < 1.0f && positive(adam->epsilon) &&
                        non_negative(adam->weight_decay) &&
                        (e == BNMLP_ADAM_EPSILON_PYTORCH || e == BNMLP_ADAM_EPSILON_KERAS);
        return ok ? BNMLP_OK : BNMLP_ERR_INVALID_ARGUMENT;
    }
    }
    return BNMLP_ERR_INVALID_ARGUMENT;
}

/* Adam's constants for step t of a segment, whose weight decay is `decay`. */
static bnmlp_adam_step adam_step(const bnmlp_optimizer_config *config, uint64_t t, float decay) {
    const bnmlp_adam_config *adam = &config->adam;
    const double correction1 = 1.0 - pow((double)adam->beta1, (double)t);
    const double correction2 = 1.0 - pow((double)adam->beta2, (double)t);
    const bool pytorch = adam->epsilon_placement == BNMLP_ADAM_EPSILON_PYTORCH;
    const bool decoupled = config->kind == BNMLP_OPTIMIZER_ADAMW;
    return (bnmlp_adam_step){
        .beta1 = adam->beta1,
        .beta2 = adam->beta2,
        .epsilon = adam->epsilon,
        .step_size = (float)(pytorch ? (double)adam->learning_rate / correction1
                                     : (double)adam->learning_rate * sqrt(correction2) / correction1),
        .correction2_sqrt = (float)sqrt(correction2),
        .l2 = decoupled ? 0.0f : decay,
        .shrink = decoupled ? (float)(1.0 - (double)adam->learning_rate * (double)decay) : 1.0f,
        .placement = adam->epsilon_placement,
    };
}

/* Checks (apply false) or applies one segment's update; fresh starts from zero state. */
static bool update_segment(const bnmlp_optimizer_config *config, const bnmlp_arenas *arenas,
                           const bnmlp_segment *segment, bool fresh, bool apply) {
    float *w = arenas->params + segment->offset;
    const float *g = arenas->grads + segment->offset;
    float *slot0 = arenas->state->slots + segment->offset, *slot1 = slot0 + arenas->count;
    const bool sgd = config->kind == BNMLP_OPTIMIZER_SGD;
    const float decay = sgd ? config->sgd.weight_decay : config->adam.weight_decay;
    const bool kernels_only = sgd ? config->sgd.decay_kernels_only : config->adam.decay_kernels_only;
    const float segment_decay = kernels_only && !segment->kernel ? 0.0f : decay;
    if (sgd)
        return bnmlp_sgd_segment(w, slot0, g, segment->length, &config->sgd, segment_decay, fresh, apply);
    const uint64_t t = (fresh ? 0 : arenas->state->steps) + 1;
    const bnmlp_adam_step step = adam_step(config, t, segment_decay);
    return bnmlp_adam_segment(w, slot0, slot1, g, segment->length, &step, fresh, apply);
}

/* Most pieces a pass is cut into, and the fewest floats a piece holds: pieces go to the pool's
 * threads, and below this size a pass is not worth waking them. */
#define MAX_PIECES 64
#define MIN_PIECE_FLOATS ((size_t)1 << 16)

/* One pass (check or apply) over the segments, cut into pieces of the concatenated segments. */
typedef struct pass_job {
    const bnmlp_optimizer_config *config;
    const bnmlp_arenas *arenas;
    bool fresh, apply;
    size_t piece;            /* floats per piece */
    bool finite[MAX_PIECES]; /* per piece: every new value finite (check passes) */
} pass_job;

/* Runs the pass over floats [piece * job->piece, ...) of the concatenated segments. */
static void pass_piece(void *context, size_t piece, size_t thread) {
    (void)thread;
    pass_job *job = context;
    const size_t begin = piece * job->piece, end = begin + job->piece;
    bool finite = true;
    size_t at = 0; /* where the current segment starts in the concatenation */
    for (size_t i = 0; i < job->arenas->segment_count && at < end; i++) {
        const bnmlp_segment *segment = &job->arenas->segments[i];
        const size_t from = begin > at ? begin - at : 0,
                     to = end - at < segment->length ? end - at : segment->length;
        if (from < to) {
            const bnmlp_segment part = {
                .offset = segment->offset + from, .length = to - from, .kernel = segment->kernel};
            finite = update_segment(job->config, job->arenas, &part, job->fresh, job->apply) && finite;
        }
        at += segment->length;
    }
    job->finite[piece] = finite;
}

bnmlp_status bnmlp_optimizer_step(const bnmlp_optimizer_config *config, const bnmlp_arenas *arenas) {
    bnmlp_optimizer_state *state = arenas->state;
    const bool fresh = state->kind != config->kind;
    size_t total = 0;
    for (size_t i = 0; i < arenas->segment_count; i++) total += arenas->segments[i].length;
    /* Element-wise updates: cutting them into pieces for threads changes no result. */
    size_t piece = (total + MAX_PIECES - 1) / MAX_PIECES;
    if (piece < MIN_PIECE_FLOATS) piece = MIN_PIECE_FLOATS;
    const size_t pieces = total ? (total + piece - 1) / piece : 0;
    pass_job job = {.config = config, .arenas = arenas, .fresh = fresh, .apply = false, .piece = piece};
    /* First make sure no parameter or state value would overflow, so a refused step changes
     * nothing; then drop another kind's state, and apply. */
    bnmlp_threadpool_run(pieces > 1 ? arenas->pool : NULL, pass_piece, &job, pieces);
    for (size_t k = 0; k < pieces; k++)
        if (!job.finite[k]) return BNMLP_ERR_DIVERGED;
    if (fresh) {
        bnmlp_optimizer_reset(state, arenas->count);
        state->kind = config->kind;
    }
    job.fresh = false, job.apply = true;
    bnmlp_threadpool_run(pieces > 1 ? arenas->pool : NULL, pass_piece, &job, pieces);
    state->steps++;
    return BNMLP_OK;
}

void bnmlp_optimizer_reset(bnmlp_optimizer_state *state, size_t count) {
    if (count) memset(state->slots, 0, BNMLP_OPTIMIZER_SLOTS * count * sizeof *state->slots);
    state->steps = 0;
}
