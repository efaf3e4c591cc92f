/*
 * optim.h - internal: the optimizer module. A tagged configuration, the size of each kind's
 * state, and one pure update over the model's flat arenas. It knows nothing of layers: the
 * model hands it the arenas and the segments of trainable parameters.
 */
#ifndef BNMLP_OPTIM_H
#define BNMLP_OPTIM_H

#include "bnmlp.h"
#include "core/threadpool.h"

/* The tagged form of a public SGD configuration (copied). */
bnmlp_optimizer_config bnmlp_optimizer_from_sgd(const bnmlp_sgd_config *sgd);

/* BNMLP_OK when the configuration's values are in range (see bnmlp_sgd_config and
 * bnmlp_adam_config); BNMLP_ERR_NULL_ARGUMENT for NULL, BNMLP_ERR_INVALID_ARGUMENT otherwise. */
bnmlp_status bnmlp_optimizer_check(const bnmlp_optimizer_config *config);

/* Slots of state per parameter the model plans at build: enough for every kind (SGD uses 1,
 * the velocity; Adam and AdamW 2, the first and second moments). */
#define BNMLP_OPTIMIZER_SLOTS 2

/* A run of parameters the optimizer updates: floats [offset, offset + length) of every arena. */
typedef struct bnmlp_segment {
    size_t offset; /* first float */
    size_t length; /* floats, > 0 */
    bool kernel;   /* a dense kernel: decayed even when decay_kernels_only is set */
} bnmlp_segment;

/* The optimizer's state, owned by the model. */
typedef struct bnmlp_optimizer_state {
    float *slots;              /* BNMLP_OPTIMIZER_SLOTS * count floats: slot k of parameter i at
                                  slots[k * count + i] */
    bnmlp_optimizer_kind kind; /* the kind whose state the slots hold */
    uint64_t steps;            /* updates made with that kind so far (Adam's t of the last step) */
} bnmlp_optimizer_state;

/* The flat arenas of a model, as it hands them to the optimizer. */
typedef struct bnmlp_arenas {
    float *params;                 /* count parameters */
    const float *grads;            /* count gradients, same layout */
    size_t count;                  /* floats in the parameter arena */
    const bnmlp_segment *segments; /* the trainable runs; parameters outside them never change */
    size_t segment_count;          /* number of segments */
    bnmlp_optimizer_state *state;  /* the optimizer's state */
    bnmlp_threadpool *pool;        /* threads to share the update (NULL: the calling thread) */
} bnmlp_arenas;

/* One update of every parameter in the segments from its gradient, and of the state. A step
 * with another kind than the state's starts from zero state (the old one is dropped only when
 * the step succeeds). First a pass checks that every new parameter and state value would be
 * finite; if one would not, BNMLP_ERR_DIVERGED and nothing changes. The configuration must be
 * checked. */
bnmlp_status bnmlp_optimizer_step(const bnmlp_optimizer_config *config, const bnmlp_arenas *arenas);

/* Sets the state to zero, as a fresh optimizer of the same kind. */
void bnmlp_optimizer_reset(bnmlp_optimizer_state *state, size_t count);

/* ---- SGD and Adam over raw buffers --------------------------------------------------------------- */

/* w (N), v (N), g (N): v = momentum * v - lr * g; w += v (nesterov: w += momentum * v - lr * g). */
void bnmlp_sgd_update(float *w, float *v, const float *g, size_t n, float learning_rate, float momentum,
                      bool nesterov);

/* True when bnmlp_sgd_update with the same arguments would leave every w and v finite; changes
 * nothing (it evaluates the same expressions, so the answer is exact). */
bool bnmlp_sgd_update_is_finite(const float *w, const float *v, const float *g, size_t n, float learning_rate,
                                float momentum, bool nesterov);

/* One SGD update of a segment with L2 weight decay: g + decay * w in place of g. state NULL
 * starts from zero velocity. apply false only checks: true when every new w and v is finite. */
bool bnmlp_sgd_segment(float *w, float *v, const float *g, size_t n, const bnmlp_sgd_config *sgd, float decay,
                       bool fresh, bool apply);

/* Adam's per-step constants for step t (1-based), from the configuration. */
typedef struct bnmlp_adam_step {
    float beta1, beta2, epsilon; /* as configured */
    float step_size;        /* PyTorch: lr / (1 - beta1^t); Keras: lr sqrt(1 - beta2^t) / (1 - beta1^t) */
    float correction2_sqrt; /* PyTorch: sqrt(1 - beta2^t); Keras: unused */
    float l2;               /* Adam's L2 coefficient for this segment (0 for AdamW) */
    float shrink;           /* AdamW's 1 - lr * decay for this segment (1 for Adam) */
    bnmlp_adam_epsilon placement; /* where epsilon goes */
} bnmlp_adam_step;

/* One Adam / AdamW update of a segment: w (N), first moments m (N), second moments v (N) from
 * g (N); fresh starts from zero moments. apply false only checks: true when every new w, m and
 * v is finite. */
bool bnmlp_adam_segment(float *w, float *m, float *v, const float *g, size_t n, const bnmlp_adam_step *step,
                        bool fresh, bool apply);

#endif /* BNMLP_OPTIM_H */
