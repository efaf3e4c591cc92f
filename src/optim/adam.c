/* adam.c - the Adam and AdamW rows, PyTorch 1.13's formulas (Keras's epsilon as an option). */
#include "optim/optim.h"

#include <math.h>
#include <stddef.h>

#include "core/core.h"

/* Adam's per-step constants for a segment (bnmlp_adam_step), with the gradient's clipping. */
typedef struct adam_step {
    bnmlp_adam_step base;
    float scale, clip_value; /* the gradient's clipping (bnmlp_update's) */
} adam_step;

/* One clipped pass over a segment (the unclipped one is the descriptor's adam_update): the new w,
 * m and v into u's outputs; true when all are finite. fresh starts from zero moments. The gradient
 * is clipped first, then the operations of bnmlp_adam_update_function's contract, in its order
 * (torch.optim's single-tensor Adam in float32: decay, moments, then the step). */
static bool adam_clipped_pass(const bnmlp_update *u, const adam_step *step) {
    const bnmlp_adam_step *s = &step->base;
    const bool fresh = s->fresh;
    const float *w = u->w, *m = u->slots[0], *v = u->slots[1], *g = u->g;
    float *w_out = u->w_out, *m_out = u->slots_out[0], *v_out = u->slots_out[1];
    int bad = 0; /* NaN or infinity seen */
    for (size_t i = 0; i < u->n; i++) {
        /* AdamW shrinks the weight first; Adam adds the L2 term to the gradient instead. */
        float wi = s->shrink != 1.0f ? w[i] * s->shrink : w[i];
        const float gc = bnmlp_clip_gradient(g[i], step->scale, step->clip_value);
        const float gi = s->l2 != 0.0f ? gc + s->l2 * w[i] : gc;
        const float mi = (fresh ? 0.0f : m[i]) * s->beta1 + (1.0f - s->beta1) * gi;
        const float vi = (fresh ? 0.0f : v[i]) * s->beta2 + (1.0f - s->beta2) * gi * gi;
        if (s->pytorch_epsilon)
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
static bnmlp_adam_step make_step(const bnmlp_adam_config *adam, bool decoupled, uint64_t t, float decay,
                                 bool fresh) {
    const double correction1 = 1.0 - pow((double)adam->beta1, (double)t);
    const double correction2 = 1.0 - pow((double)adam->beta2, (double)t);
    const bool pytorch = adam->epsilon_placement == BNMLP_ADAM_EPSILON_PYTORCH;
    return (bnmlp_adam_step){
        .beta1 = adam->beta1,
        .beta2 = adam->beta2,
        .epsilon = adam->epsilon,
        .step_size = (float)(pytorch ? (double)adam->learning_rate / correction1
                                     : (double)adam->learning_rate * sqrt(correction2) / correction1),
        .correction2_sqrt = (float)sqrt(correction2),
        .l2 = decoupled ? 0.0f : decay,
        .shrink = decoupled ? (float)(1.0 - (double)adam->learning_rate * (double)decay) : 1.0f,
        .pytorch_epsilon = pytorch,
        .fresh = fresh,
    };
}

static bool adam_update(const bnmlp_optimizer_config *config, const bnmlp_update *u) {
    const bnmlp_adam_config *adam = &config->adam;
    const float decay = bnmlp_segment_decay(adam->weight_decay, adam->decay_kernels_only, u->kernel);
    const adam_step step = {.base =
                                make_step(adam, config->kind == BNMLP_OPTIMIZER_ADAMW, u->t, decay, u->fresh),
                            .scale = u->scale,
                            .clip_value = u->clip_value};
    if (bnmlp_update_clips(u->scale, u->clip_value)) return adam_clipped_pass(u, &step);
    /* Unclipped: the instruction set's loop (elementwise_body.h), one pass over w, m, v and g. */
    return BNMLP_ISA_ENTRY(u->isa, adam_update)(u->w_out, u->slots_out[0], u->slots_out[1], u->w, u->slots[0],
                                                u->slots[1], u->g, u->n, &step.base);
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
