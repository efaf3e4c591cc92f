/* rmsprop.c - the RMSprop row: PyTorch 1.13's torch.optim.RMSprop (single tensor) in float32. */
#include "optim/optim.h"

#include <math.h>
#include <stddef.h>

#include "core/core.h"

/* One clipped pass over a segment (the unclipped one is the descriptor's rmsprop_update, the same
 * operations on g itself) (w, squared averages s, gradient averages a, momentum buffers b, g):
 * the new values into u's outputs (a and b, when the configuration keeps none, get their old
 * values, or 0 when fresh); true when every new value is finite. fresh starts from zero state.
 * The operations are PyTorch's, in its order, on the clipped g:
 *   g += decay * w;  s = alpha * s + (1 - alpha) * g^2;
 *   centered: a = alpha * a + (1 - alpha) * g, d = sqrt(s - a^2) + eps;  else d = sqrt(s) + eps;
 *   momentum: b = momentum * b + g / d, w -= lr * b;  else w -= lr * g / d. */
static bool rmsprop_clipped_pass(const bnmlp_rmsprop_config *c, float decay, const bnmlp_update *u) {
    const float alpha = c->alpha, rest = 1.0f - c->alpha, lr = c->learning_rate;
    const float *w = u->w, *s = u->slots[0], *a = u->slots[1], *b = u->slots[2];
    float *w_out = u->w_out, *s_out = u->slots_out[0], *a_out = u->slots_out[1], *b_out = u->slots_out[2];
    int bad = 0; /* NaN or infinity seen */
    for (size_t i = 0; i < u->n; i++) {
        const float gc = bnmlp_clip_gradient(u->g[i], u->scale, u->clip_value);
        const float gi = decay != 0.0f ? gc + decay * w[i] : gc;
        const float si = (u->fresh ? 0.0f : s[i]) * alpha + rest * gi * gi;
        float ai = 0.0f, bi = 0.0f, wi;
        float root;
        if (c->centered) {
            ai = (u->fresh ? 0.0f : a[i]) * alpha + rest * gi;
            root = sqrtf(si - ai * ai) + c->epsilon;
        } else {
            root = sqrtf(si) + c->epsilon;
        }
        if (c->momentum > 0.0f) {
            bi = (u->fresh ? 0.0f : b[i]) * c->momentum + gi / root;
            wi = w[i] + -lr * bi;
        } else {
            wi = w[i] + -lr * (gi / root);
        }
        bad |= bnmlp_not_finite(wi) | bnmlp_not_finite(si) | bnmlp_not_finite(ai) | bnmlp_not_finite(bi);
        w_out[i] = wi;
        s_out[i] = si;
        a_out[i] = c->centered ? ai : u->fresh ? 0.0f : a[i];
        b_out[i] = c->momentum > 0.0f ? bi : u->fresh ? 0.0f : b[i];
    }
    return !bad;
}

static bool rmsprop_update(const bnmlp_optimizer_config *config, const bnmlp_update *u) {
    const bnmlp_rmsprop_config *c = &config->rmsprop;
    const float decay = bnmlp_segment_decay(c->weight_decay, c->decay_kernels_only, u->kernel);
    if (bnmlp_update_clips(u->scale, u->clip_value)) return rmsprop_clipped_pass(c, decay, u);
    /* Unclipped: the instruction set's loop (elementwise_body.h), one pass over w, the state and g. */
    const bnmlp_rmsprop_step step = {.learning_rate = c->learning_rate,
                                     .alpha = c->alpha,
                                     .epsilon = c->epsilon,
                                     .momentum = c->momentum,
                                     .decay = decay,
                                     .centered = c->centered,
                                     .fresh = u->fresh};
    return BNMLP_ISA_ENTRY(u->isa, rmsprop_update)(u->w_out, u->slots_out[0], u->slots_out[1],
                                                   u->slots_out[2], u->w, u->slots[0], u->slots[1],
                                                   u->slots[2], u->g, u->n, &step);
}

static bool rmsprop_kernel_matters(const bnmlp_optimizer_config *config) {
    return bnmlp_decay_splits_kinds(config->rmsprop.weight_decay, config->rmsprop.decay_kernels_only);
}

static bool rmsprop_valid(const bnmlp_optimizer_config *config) {
    const bnmlp_rmsprop_config *c = &config->rmsprop;
    return bnmlp_optimizer_positive(c->learning_rate) && c->alpha >= 0.0f && c->alpha < 1.0f &&
           bnmlp_optimizer_positive(c->epsilon) && c->momentum >= 0.0f && c->momentum <= 1.0f &&
           bnmlp_optimizer_non_negative(c->weight_decay);
}

/* "rho" is Keras's name of alpha: the CLI's --rho. */
#define FIELD(name, member, type)                                                                            \
    { name, offsetof(bnmlp_optimizer_config, rmsprop.member), BNMLP_SETTING_##type }
static const bnmlp_optimizer_field rmsprop_fields[] = {
    FIELD("learning_rate", learning_rate, FLOAT),
    FIELD("rho", alpha, FLOAT),
    FIELD("epsilon", epsilon, FLOAT),
    FIELD("momentum", momentum, FLOAT),
    FIELD("centered", centered, BOOL),
    FIELD("weight_decay", weight_decay, FLOAT),
    FIELD("decay_kernels_only", decay_kernels_only, BOOL),
    BNMLP_CLIP_FIELDS,
};

/* The row's defaults (a function: compound literals are no constant initializers). */
static bnmlp_optimizer_config rmsprop_defaults(void) { return BNMLP_OPTIMIZER_RMSPROP_DEFAULT; }

/* Slot 0: the squared-gradient averages (never negative); 1: the gradient averages (centered);
 * 2: the momentum buffers. */
const bnmlp_optimizer_row bnmlp_optimizer_rmsprop = {
    .kind = BNMLP_OPTIMIZER_RMSPROP,
    .name = "rmsprop",
    .slots = 3,
    .nonnegative_slots = 1u << 0,
    .fields = rmsprop_fields,
    .field_count = sizeof rmsprop_fields / sizeof rmsprop_fields[0],
    .defaults = rmsprop_defaults,
    .valid = rmsprop_valid,
    .update = rmsprop_update,
    .kernel_matters = rmsprop_kernel_matters,
};
