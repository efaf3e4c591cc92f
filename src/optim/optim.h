/*
 * optim.h - internal: the optimizer module. A tagged configuration, the size of each kind's
 * state, and one pure update over the model's flat arenas. It knows nothing of layers: the
 * model hands it the arenas and the segments of trainable parameters.
 */
#ifndef BNMLP_OPTIM_H
#define BNMLP_OPTIM_H

#include "bnmlp.h"

/* Which update rule. */
typedef enum bnmlp_optimizer_kind {
    BNMLP_OPTIMIZER_SGD = 0 /* SGD with momentum (Keras's form); state: one velocity per parameter */
} bnmlp_optimizer_kind;

/* A tagged optimizer configuration: kind says which member of settings is used. */
typedef struct bnmlp_optimizer_config {
    bnmlp_optimizer_kind kind;
    union {
        bnmlp_sgd_config sgd; /* BNMLP_OPTIMIZER_SGD */
    } settings;
} bnmlp_optimizer_config;

/* The tagged form of a public SGD configuration (copied). */
bnmlp_optimizer_config bnmlp_optimizer_from_sgd(const bnmlp_sgd_config *sgd);

/* BNMLP_OK when the configuration's values are in range (SGD: lr > 0 finite, momentum in [0, 1]);
 * BNMLP_ERR_NULL_ARGUMENT for NULL, BNMLP_ERR_INVALID_ARGUMENT otherwise. */
bnmlp_status bnmlp_optimizer_check(const bnmlp_optimizer_config *config);

/* Floats of state per parameter for a kind (SGD: 1, the velocity). The state arena holds that
 * many slots of the parameter arena's length, one after the other. */
size_t bnmlp_optimizer_state_slots(bnmlp_optimizer_kind kind);

/* A run of parameters the optimizer updates: floats [offset, offset + length) of every arena. */
typedef struct bnmlp_segment {
    size_t offset; /* first float */
    size_t length; /* floats, > 0 */
} bnmlp_segment;

/* The flat arenas of a model, as it hands them to the optimizer. */
typedef struct bnmlp_arenas {
    float *params;                 /* count parameters */
    const float *grads;            /* count gradients, same layout */
    float *state;                  /* slots * count floats: slot k of parameter i at state[k * count + i] */
    size_t count;                  /* floats in the parameter arena */
    const bnmlp_segment *segments; /* the trainable runs; parameters outside them never change */
    size_t segment_count;          /* number of segments */
} bnmlp_arenas;

/* One update of every parameter in the segments from its gradient, and of the state. First a
 * pass checks that every new parameter and state value would be finite; if one would not,
 * BNMLP_ERR_DIVERGED and nothing changes. The configuration must be checked. */
bnmlp_status bnmlp_optimizer_step(const bnmlp_optimizer_config *config, const bnmlp_arenas *arenas);

/* ---- SGD over raw buffers ----------------------------------------------------------------------- */

/* w (N), v (N), g (N): v = momentum * v - lr * g; w += v (nesterov: w += momentum * v - lr * g). */
void bnmlp_sgd_update(float *w, float *v, const float *g, size_t n, float learning_rate,
                      float momentum, bool nesterov);

/* True when bnmlp_sgd_update with the same arguments would leave every w and v finite; changes
 * nothing (it evaluates the same expressions, so the answer is exact). */
bool bnmlp_sgd_update_is_finite(const float *w, const float *v, const float *g, size_t n,
                                float learning_rate, float momentum, bool nesterov);

#endif /* BNMLP_OPTIM_H */
