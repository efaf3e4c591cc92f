/* optimizer.c - the tagged configuration, its checks, and the update over the flat arenas. */
#include "optim/optim.h"

#include <math.h>

bnmlp_optimizer_config bnmlp_optimizer_from_sgd(const bnmlp_sgd_config *sgd) {
    return (bnmlp_optimizer_config){.kind = BNMLP_OPTIMIZER_SGD, .settings.sgd = *sgd};
}

bnmlp_status bnmlp_optimizer_check(const bnmlp_optimizer_config *config) {
    if (!config) return BNMLP_ERR_NULL_ARGUMENT;
    switch (config->kind) {
    case BNMLP_OPTIMIZER_SGD: {
        const bnmlp_sgd_config *sgd = &config->settings.sgd;
        if (!(sgd->learning_rate > 0.0f) || !isfinite(sgd->learning_rate) ||
            !(sgd->momentum >= 0.0f && sgd->momentum <= 1.0f))
            return BNMLP_ERR_INVALID_ARGUMENT;
        return BNMLP_OK;
    }
    }
    return BNMLP_ERR_INVALID_ARGUMENT;
}

size_t bnmlp_optimizer_state_slots(bnmlp_optimizer_kind kind) {
    switch (kind) {
    case BNMLP_OPTIMIZER_SGD: return 1;
    }
    return 0;
}

/* Checks (apply false) or applies (apply true) the SGD update of one segment. */
static bool sgd_segment(const bnmlp_sgd_config *sgd, const bnmlp_arenas *arenas, const bnmlp_segment *segment,
                        bool apply) {
    float *w = arenas->params + segment->offset, *v = arenas->state + segment->offset;
    const float *g = arenas->grads + segment->offset;
    if (!apply)
        return bnmlp_sgd_update_is_finite(w, v, g, segment->length, sgd->learning_rate, sgd->momentum,
                                          sgd->nesterov);
    bnmlp_sgd_update(w, v, g, segment->length, sgd->learning_rate, sgd->momentum, sgd->nesterov);
    return true;
}

bnmlp_status bnmlp_optimizer_step(const bnmlp_optimizer_config *config, const bnmlp_arenas *arenas) {
    /* First make sure no parameter or state value would overflow, so a refused step changes
     * nothing; then apply. */
    for (int apply = 0; apply < 2; apply++) {
        for (size_t i = 0; i < arenas->segment_count; i++) {
            bool finite = true;
            switch (config->kind) {
            case BNMLP_OPTIMIZER_SGD:
                finite = sgd_segment(&config->settings.sgd, arenas, &arenas->segments[i], apply);
                break;
            }
            if (!finite) return BNMLP_ERR_DIVERGED;
        }
    }
    return BNMLP_OK;
}
