/* sgd.c - the SGD row: stochastic gradient descent with momentum, in Keras's form. */
#include "optim/optim.h"

#include <stddef.h>

#include "core/core.h"

/* The new velocity and weight of one parameter; the single definition of the update, so the
 * finiteness check and the update compute the very same values. */
static inline void sgd_step(float *w, float *v, float g, float learning_rate, float momentum, bool nesterov) {
    const float velocity = momentum * *v - learning_rate * g;
    *w = nesterov ? *w + (momentum * velocity - learning_rate * g) : *w + velocity;
    *v = velocity;
}

/* One pass over a segment: with apply, writes the new w and v; without, only checks that they
 * are finite. The gradient is clipped, then g + decay * w when decay is not 0; fresh starts from v = 0. */
static inline bool sgd_pass(float *w, float *v, const float *g, size_t n, const bnmlp_sgd_config *sgd,
                            float decay, float scale, float clip_value, bool fresh, bool clip, bool apply) {
    int bad = 0; /* NaN or infinity seen */
    for (size_t i = 0; i < n; i++) {
        float wi = w[i], vi = fresh ? 0.0f : v[i];
        const float gc = clip ? bnmlp_clip_gradient(g[i], scale, clip_value) : g[i];
        const float gi = decay != 0.0f ? gc + decay * wi : gc;
        sgd_step(&wi, &vi, gi, sgd->learning_rate, sgd->momentum, sgd->nesterov);
        if (apply) {
            w[i] = wi;
            v[i] = vi;
        } else {
            bad |= bnmlp_not_finite(wi) | bnmlp_not_finite(vi);
        }
    }
    return !bad;
}

static bool sgd_update(const bnmlp_optimizer_config *config, const bnmlp_update *u, bool apply) {
    const bnmlp_sgd_config *sgd = &config->sgd;
    const float decay = bnmlp_segment_decay(sgd->weight_decay, sgd->decay_kernels_only, u->kernel);
    /* Instances of the pass with apply and clip fixed, so that no loop tests them. */
    const bool clip = bnmlp_update_clips(u->scale, u->clip_value);
#define SGD_PASS(clip_, apply_)                                                                              \
    sgd_pass(u->w, u->slots[0], u->g, u->n, sgd, decay, u->scale, u->clip_value, u->fresh, clip_, apply_)
    if (clip) return apply ? SGD_PASS(true, true) : SGD_PASS(true, false);
    return apply ? SGD_PASS(false, true) : SGD_PASS(false, false);
#undef SGD_PASS
}

static bool sgd_valid(const bnmlp_optimizer_config *config) {
    const bnmlp_sgd_config *sgd = &config->sgd;
    return bnmlp_optimizer_positive(sgd->learning_rate) && sgd->momentum >= 0.0f && sgd->momentum <= 1.0f &&
           bnmlp_optimizer_non_negative(sgd->weight_decay);
}

void bnmlp_sgd_update(float *w, float *v, const float *g, size_t n, float learning_rate, float momentum,
                      bool nesterov) {
    const bnmlp_sgd_config sgd = {.learning_rate = learning_rate, .momentum = momentum, .nesterov = nesterov};
    sgd_pass(w, v, g, n, &sgd, 0.0f, 1.0f, 0.0f, false, false, true);
}

#define FIELD(member, type)                                                                                  \
    { #member, offsetof(bnmlp_optimizer_config, sgd.member), BNMLP_SETTING_##type }
static const bnmlp_optimizer_field sgd_fields[] = {
    FIELD(learning_rate, FLOAT), FIELD(momentum, FLOAT),          FIELD(nesterov, BOOL),
    FIELD(weight_decay, FLOAT),  FIELD(decay_kernels_only, BOOL), BNMLP_CLIP_FIELDS,
};

/* The row's defaults (a function: compound literals are no constant initializers). */
static bnmlp_optimizer_config sgd_defaults(void) { return BNMLP_OPTIMIZER_SGD_DEFAULT; }

const bnmlp_optimizer_row bnmlp_optimizer_sgd = {
    .kind = BNMLP_OPTIMIZER_SGD,
    .name = "sgd",
    .slots = 1, /* the velocity */
    .nonnegative_slots = 0,
    .fields = sgd_fields,
    .field_count = sizeof sgd_fields / sizeof sgd_fields[0],
    .defaults = sgd_defaults,
    .valid = sgd_valid,
    .update = sgd_update,
};
