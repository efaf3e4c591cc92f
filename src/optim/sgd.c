/* sgd.c - stochastic gradient descent with momentum, in Keras's form, over raw buffers. */
#include "optim/optim.h"

/* The new velocity and weight of one parameter; the single definition of the update, so the
 * finiteness check and the update compute the very same values. */
static inline void sgd_step(float *w, float *v, float g, float learning_rate, float momentum,
                            bool nesterov) {
    const float velocity = momentum * *v - learning_rate * g;
    *w = nesterov ? *w + (momentum * velocity - learning_rate * g) : *w + velocity;
    *v = velocity;
}

bool bnmlp_sgd_update_is_finite(const float *w, const float *v, const float *g, size_t n,
                                float learning_rate, float momentum, bool nesterov) {
    float acc = 0.0f; /* x - x is NaN exactly when x is not finite */
    for (size_t i = 0; i < n; i++) {
        float wi = w[i], vi = v[i];
        sgd_step(&wi, &vi, g[i], learning_rate, momentum, nesterov);
        acc += (wi - wi) + (vi - vi);
    }
    return acc == 0.0f;
}

void bnmlp_sgd_update(float *w, float *v, const float *g, size_t n, float learning_rate,
                      float momentum, bool nesterov) {
    for (size_t i = 0; i < n; i++) sgd_step(&w[i], &v[i], g[i], learning_rate, momentum, nesterov);
}
