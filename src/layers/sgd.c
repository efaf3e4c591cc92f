/* sgd.c - stochastic gradient descent with momentum, in Keras's form. */
#include "layers/layers.h"

void bnmlp_sgd_update(float *w, float *v, const float *g, size_t n, float learning_rate,
                      float momentum, bool nesterov) {
    if (nesterov) {
        for (size_t i = 0; i < n; i++) {
            v[i] = momentum * v[i] - learning_rate * g[i]; /* velocity */
            w[i] += momentum * v[i] - learning_rate * g[i]; /* look-ahead step */
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            v[i] = momentum * v[i] - learning_rate * g[i];
            w[i] += v[i];
        }
    }
}
