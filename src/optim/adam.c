/* adam.c - the Adam and AdamW rows, PyTorch 1.13's formulas (Keras's epsilon as an option). */
#include "optim/optim.h"

#include <math.h>
#include <stddef.h>

#include "core/core.h"

/* Adam's per-step constants for step t (1-based), from the configuration. */
typedef struct adam_step {
    float beta1, beta2, epsilon; /* as configured */
    float step_size;        /* PyTorch: lr / (1 - beta1^t); Keras: lr sqrt(1 - beta2^t) / (1 - beta1^t) */
    float correction2_sqrt; /* PyTorch: sqrt(1 - beta2^t); Keras: unused */
    float l2;               /* Adam's L2 coefficient for this segment (0 for AdamW) */
    float shrink;           /* AdamW's 1 - lr * decay for this segment (1 for Adam) */
    bnmlp_adam_epsilon placement; /* where epsilon goes */
    float scale, clip_value;      /* the gradient's clipping (bnmlp_update's) */
} adam_step;

/* One pass over a segment: the new w, m and v into u's outputs; true when all are finite. fresh
 * starts from zero moments. The gradient is clipped first. Operations follow torch.optim's
 * single-tensor Adam in float32: decay, moments, then the step. */
static inline bool adam_pass(const bnmlp_update *u, const adam_step *s, bool fresh, bool clip) {
    const float *w = u->w, *m = u->slots[0], *v = u->slots[1], *g = u->g;
    float *w_out = u->w_out, *m_out = u->slots_out[0], *v_out = u->slots_out[1];
    int bad = 0; /* NaN or infinity seen */
    for (size_t i = 0; i < u->n; i++) {
        /* AdamW shrinks the weight first; Adam adds the L2 term to the gradient instead. */
        float wi = s->shrink != 1.0f ? w[i] * s->shrink : w[i];
        const float gc = clip ? bnmlp_clip_gradient(g[i], s->scale, s->clip_value) : g[i];
        const float gi = s->l2 != 0.0f ? gc + s->l2 * w[i] : gc;
        const float mi = (fresh ? 0.0f : m[i]) * s->beta1 + (1.0f - s->beta1) * gi;
        const float vi = (fresh ? 0.0f : v[i]) * s->beta2 + (1.0f - s->beta2) * gi * gi;
        if (s->placement == BNMLP_ADAM_EPSILON_PYTORCH)
            wi = wi + -s->step_size * (mi / (sqrtf(vi) / s->correction2_sqrt + s->epsilon));
        else
            wi = wi - s->step_size * mi / (sqrtf(vi) + s->epsilon);
        w_out[i] = wi;
        m_out[i] = mi;
        v_out[i] = vi;
        bad |= bnmlp_not_finite(wi) | bnmlp_not_finite(mi) | bnmlp_not_finite(vi);
    }
    return !bad;
}

/* Adam's constants for step t of a segment, whose weight decay is `decay`. */
static adam_step make_step(const bnmlp_adam_config *adam, bool decoupled, uint64_t t, float decay) {
    const double correction1 = 1.0 - pow((double)adam->beta1, (double)t);
    const double correction2 = 1.0 - pow((double)adam->beta2, (double)t);
    const bool pytorch = adam->epsilon_placement == BNMLP_ADAM_EPSILON_PYTORCH;
    return (adam_step){
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

static bool adam_update(const bnmlp_optimizer_config *config, const bnmlp_update *u) {
    const bnmlp_adam_config *adam = &config->adam;
    const float decay = bnmlp_segment_decay(adam->weight_decay, adam->decay_kernels_only, u->kernel);
    adam_step s = make_step(adam, config->kind == BNMLP_OPTIMIZER_ADAMW, u->t, decay);
    s.scale = u->scale, s.clip_value = u->clip_value;
    /* Instances of the pass with fresh and clip fixed, so that no loop tests them. */
    if (bnmlp_update_clips(u->scale, u->clip_value))
        return u->fresh ? adam_pass(u, &s, true, true) : adam_pass(u, &s, false, true);
    return u->fresh ? adam_pass(u, &s, true, false) : adam_pass(u, &s, false, false);
}

static bool adam_kernel_matters(const bnmlp_optimizer_config *config) {
    return bnmlp_decay_splits_kinds(config->adam.weight_decay, config->adam.decay_kernels_only);
}

static bool adam_valid(const bnmlp_optimizer_config *config) {
    const bnmlp_adam_config *adam = &config->adam;
    const bnmlp_adam_epsilon e = adam->epsilon_placement;
    return bnmlp_optimizer_positive(adam->learning_rate) && adam->beta1 >= 0.0f && adam->beta1 < 1.0f &&
           adam->beta2 >= 0.0f && adam->beta2 < 1.0f && bnmlp_optimizer_positive(adam->epsilon) &&
           bnmlp_optimizer_non_negative(adam->weight_decay) &&
           (e == BNMLP_ADAM_EPSILON_PYTORCH || e == BNMLP_ADAM_EPSILON_KERAS);
}

#define FIELD(member, type)                                                                                  \
    { #member, offsetof(bnmlp_optimizer_config, adam.member), BNMLP_SETTING_##type }
static const bnmlp_optimizer_field adam_fields[] = {
    FIELD(learning_rate, FLOAT),
    FIELD(beta1, FLOAT),
    FIELD(beta2, FLOAT),
    FIELD(epsilon, FLOAT),
    FIELD(epsilon_placement, ENUM),
    FIELD(weight_decay, FLOAT),
    FIELD(decay_kernels_only, BOOL),
    BNMLP_CLIP_FIELDS,
};

/* The rows' defaults (functions: compound literals are no constant initializers). */
static bnmlp_optimizer_config adam_defaults(void) { return BNMLP_OPTIMIZER_ADAM_DEFAULT; }
static bnmlp_optimizer_config adamw_defaults(void) { return BNMLP_OPTIMIZER_ADAMW_DEFAULT; }

/* Adam and AdamW share the state (slot 0: the first moments; slot 1: the second moments, never
 * negative), the settings and the update; AdamW's weight decay is decoupled (adam_update asks
 * the kind). */
#define ADAM_ROW(kind_, name_, defaults_)                                                                    \
    {                                                                                                        \
        .kind = (kind_), .name = (name_), .slots = 2, .nonnegative_slots = 1u << 1, .fields = adam_fields,   \
        .field_count = sizeof adam_fields / sizeof adam_fields[0], .defaults = (defaults_),                  \
        .valid = adam_valid, .update = adam_update, .kernel_matters = adam_kernel_matters                    \
    }

const bnmlp_optimizer_row bnmlp_optimizer_adam = ADAM_ROW(BNMLP_OPTIMIZER_ADAM, "adam", adam_defaults);
const bnmlp_optimizer_row bnmlp_optimizer_adamw = ADAM_ROW(BNMLP_OPTIMIZER_ADAMW, "adamw", adamw_defaults);
