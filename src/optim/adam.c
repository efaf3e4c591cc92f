/* adam.c - Adam and AdamW over raw buffers, PyTorch 1.13's formulas (Keras's epsilon as an option). */
#include "optim/optim.h"

#include <math.h>

#include "core/core.h"

/* One pass over a segment: with apply, writes the new w, m and v; without, only checks that they
 * would be finite. fresh starts from zero moments. Operations follow torch.optim's single-tensor
 * Adam in float32: decay, moments, then the step. */
static inline bool adam_pass(float *w, float *m, float *v, const float *g, size_t n, const bnmlp_adam_step *s,
                             bool fresh, bool apply) {
    int bad = 0; /* NaN or infinity seen */
    for (size_t i = 0; i < n; i++) {
        /* AdamW shrinks the weight first; Adam adds the L2 term to the gradient instead. */
        float wi = s->shrink != 1.0f ? w[i] * s->shrink : w[i];
        const float gi = s->l2 != 0.0f ? g[i] + s->l2 * w[i] : g[i];
        const float mi = (fresh ? 0.0f : m[i]) * s->beta1 + (1.0f - s->beta1) * gi;
        const float vi = (fresh ? 0.0f : v[i]) * s->beta2 + (1.0f - s->beta2) * gi * gi;
        if (s->placement == BNMLP_ADAM_EPSILON_PYTORCH)
            wi = wi + -s->step_size * (mi / (sqrtf(vi) / s->correction2_sqrt + s->epsilon));
        else
            wi = wi - s->step_size * mi / (sqrtf(vi) + s->epsilon);
        if (apply) {
            w[i] = wi;
            m[i] = mi;
            v[i] = vi;
        } else {
            bad |= bnmlp_not_finite(wi) | bnmlp_not_finite(mi) | bnmlp_not_finite(vi);
        }
    }
    return !bad;
}

bool bnmlp_adam_segment(float *w, float *m, float *v, const float *g, size_t n, const bnmlp_adam_step *step,
                        bool fresh, bool apply) {
    /* Two instances of the pass, each with apply fixed, so that neither loop tests it. */
    return apply ? adam_pass(w, m, v, g, n, step, fresh, true) : adam_pass(w, m, v, g, n, step, fresh, false);
}
