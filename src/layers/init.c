/* init.c - kernel initializers, Keras's VarianceScaling family. */
#include "layers/layers.h"

#include <math.h>

/* Keras divides the truncated normal's standard deviation by this, the standard deviation of a
 * unit normal truncated to [-2, 2], so that the truncated draws have the intended variance. */
#define TRUNCATED_NORMAL_STD 0.87962566103423978

/* A normal with standard deviation sd, redrawn until within 2 sd (truncated normal). */
static double truncated_normal(bnmlp_random *rng, double sd) {
    double z;
    do {
        z = bnmlp_random_gauss(rng);
    } while (fabs(z) > 2.0);
    return z * sd;
}

void bnmlp_initialize_kernel(float *w, size_t fan_in, size_t fan_out, bnmlp_initializer kind,
                             bnmlp_random *rng) {
    const size_t n = fan_in * fan_out;
    const double fan_avg = ((double)fan_in + (double)fan_out) / 2.0;
    double scale = 0.0; /* target variance of the weights */
    switch (kind) {
    case BNMLP_INIT_GLOROT_UNIFORM:
    case BNMLP_INIT_GLOROT_NORMAL: scale = 1.0 / fan_avg; break;
    case BNMLP_INIT_HE_UNIFORM:
    case BNMLP_INIT_HE_NORMAL: scale = 2.0 / (double)fan_in; break;
    case BNMLP_INIT_ZEROS: break;
    }
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case BNMLP_INIT_GLOROT_UNIFORM:
        case BNMLP_INIT_HE_UNIFORM: {
            const double limit = sqrt(3.0 * scale); /* U(-l, l) has variance l^2 / 3 */
            w[i] = (float)(limit * (2.0 * bnmlp_random_double(rng) - 1.0));
            break;
        }
        case BNMLP_INIT_GLOROT_NORMAL:
        case BNMLP_INIT_HE_NORMAL:
            w[i] = (float)truncated_normal(rng, sqrt(scale) / TRUNCATED_NORMAL_STD);
            break;
        case BNMLP_INIT_ZEROS: w[i] = 0.0f; break;
        }
    }
}
