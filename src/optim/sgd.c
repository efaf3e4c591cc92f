/* sgd.c - the SGD row: stochastic gradient descent with momentum, in Keras's form. */
#include "optim/optim.h"

#include <stddef.h>

#include "core/core.h"

/* One clipped pass over a segment (the unclipped one is the descriptor's sgd_update): the new w
 * and v into w_out and v_out, the gradient clipped, then g + decay * w when decay is not 0; fresh
 * starts from v = 0. The operations of bnmlp_sgd_update_function's contract, in its order. */
static bool sgd_clipped_pass(const bnmlp_update *u, const bnmlp_sgd_step *step) {
    int bad = 0; /* NaN or infinity seen */
    for (size_t i = 0; i < u->n; i++) {
        const float wi = u->w[i], vi = step->fresh ? 0.0f : u->slots[0][i];
        const float gc = bnmlp_clip_gradient(u->g[i], u->scale, u->clip_value);
        const float gi = step->decay != 0.0f ? gc + step->decay * wi : gc;
        const float velocity = step->momentum * vi - step->learning_rate * gi;
        const float wn =
            step->nesterov ? wi + (step->momentum * velocity - step->learning_rate * gi) : wi + velocity;
        u->w_out[i] = wn;
        u->slots_out[0][i] = velocity;
        bad |= bnmlp_not_finite(wn) | bnmlp_not_finite(velocity);
    }
    return !bad;
}

static bool sgd_update(const bnmlp_optimizer_config *config, const bnmlp_update *u) {
    const bnmlp_sgd_config *sgd = &config->sgd;
    const bnmlp_sgd_step step = {
        .learning_rate = sgd->learning_rate,
        .momentum = sgd->momentum,
        .decay = bnmlp_segment_decay(sgd->weight_decay, sgd->decay_kernels_only, u->kernel),
        .nesterov = sgd->nesterov,
        .fresh = u->fresh,
    };
    if (bnmlp_update_clips(u->scale, u->clip_value)) return sgd_clipped_pass(u, &step);
    /* Unclipped: the instruction set's loop (elementwise_body.h), one pass over w, v and g. */
    return BNMLP_ISA_ENTRY(u->isa, sgd_update)(u->w_out, u->slots_out[0], u->w, u->slots[0], u->g, u->n,
                                               &step);
}

static bool sgd_kernel_matters(const bnmlp_optimizer_config *config) {
    return bnmlp_decay_splits_kinds(config->sgd.weight_decay, config->sgd.decay_kernels_only);
}

static bool sgd_valid(const bnmlp_optimizer_config *config) {
    const bnmlp_sgd_config *sgd = &config->sgd;
    return bnmlp_optimizer_positive(sgd->learning_rate) && sgd->momentum >= 0.0f && sgd->momentum <= 1.0f &&
           bnmlp_optimizer_non_negative(sgd->weight_decay);
}

void bnmlp_sgd_update(float *w, float *v, const float *g, size_t n, float learning_rate, float momentum,
                      bool nesterov) {
    const bnmlp_sgd_step step = {.learning_rate = learning_rate, .momentum = momentum, .nesterov = nesterov};
    bnmlp_sgd_update_reference(w, v, w, v, g, n, &step);
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
    .kernel_matters = sgd_kernel_matters,
};
