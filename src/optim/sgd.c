/* sgd.c - stochastic gradient descent with momentum, in Keras's form, over raw buffers. */
#include "optim/optim.h"

#include "core/core.h"

/* The new velocity and weight of one parameter; the single definition of the update, so the
 * finiteness check and the update compute the very same values. */
static inline void sgd_step(float *w, float *v, float g, float learning_rate, float momentum, bool nesterov) {
    const float velocity = momentum * *v - learning_rate * g;
    *w = nesterov ? *w + (momentum * velocity - learning_rate * g) : *w + velocity;
    *v = velocity;
}

/* One pass over a segment: with apply, writes the new w and v; without, only checks that they
 * are finite. The gradient is g + decay * w when decay is not 0; fresh starts from v = 0. */
static inline bool sgd_pass(float *w, float *v, const float *g, size_t n, const bnmlp_sgd_config *sgd,
                            float decay, bool fresh, bool apply) {
    int bad = 0; /* NaN or infinity seen */
    for (size_t i = 0; i < n; i++) {
        float wi = w[i], vi = fresh ? 0.0f : v[i];
        const float gi = decay != 0.0f ? g[i] + decay * wi : g[i];
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

bool bnmlp_sgd_segment(float *w, float *v, const float *g, size_t n, const bnmlp_sgd_config *sgd, float decay,
                       bool fresh, bool apply) {
    /* Two instances of the pass, each with apply fixed, so that neither loop tests it. */
    return apply ? sgd_pass(w, v, g, n, sgd, decay, fresh, true)
                 : sgd_pass(w, v, g, n, sgd, decay, fresh, false);
}

bool bnmlp_sgd_update_is_finite(const float *w, const float *v, const float *g, size_t n, float learning_rate,
                                float momentum, bool nesterov) {
    const bnmlp_sgd_config sgd = {.learning_rate = learning_rate, .momentum = momentum, .nesterov = nesterov};
    /* Without apply nothing is written: the casts only share the pass with the update. */
    return sgd_pass((float *)w, (float *)v, g, n, &sgd, 0.0f, false, false);
}

void bnmlp_sgd_update(float *w, float *v, const float *g, size_t n, float learning_rate, float momentum,
                      bool nesterov) {
    const bnmlp_sgd_config sgd = {.learning_rate = learning_rate, .momentum = momentum, .nesterov = nesterov};
    sgd_pass(w, v, g, n, &sgd, 0.0f, false, true);
}
