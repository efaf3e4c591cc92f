/*
 * optim.h - internal: the optimizers as table rows, their state, and one pure update over the
 * model's flat arenas. It knows nothing of layers: the model hands it the arenas and the segments
 * of trainable parameters. Every kind is one bnmlp_optimizer_row (its own file: sgd.c, adam.c,
 * rmsprop.c); optimizer.c holds the list and is the only place that walks it.
 */
#ifndef BNMLP_OPTIM_H
#define BNMLP_OPTIM_H

#include "bnmlp.h"
#include "kernels/kernels.h"

/* The most state slots a row uses (RMSprop: squared average, gradient average, momentum buffer):
 * the model plans this many slots of its parameter count, enough for every kind. */
#define BNMLP_OPTIMIZER_MAX_SLOTS 3

/* A run of parameters the optimizer updates: floats [offset, offset + length) of every arena. */
typedef struct bnmlp_segment {
    size_t offset; /* first float */
    size_t length; /* floats, > 0 */
    bool kernel;   /* a dense kernel: decayed even when decay_kernels_only is set */
} bnmlp_segment;

/* The optimizer's state, owned by the model. */
typedef struct bnmlp_optimizer_state {
    float *slots;                  /* BNMLP_OPTIMIZER_MAX_SLOTS * count floats: slot k of parameter
                                      i at slots[k * count + i] */
    bnmlp_optimizer_kind kind;     /* the kind whose state the slots hold */
    uint64_t steps;                /* updates made with that kind so far (Adam's t of the last step) */
    bnmlp_optimizer_config config; /* the configuration of the last successful step (or loaded, or
                                      the defaults of kind): what a checkpoint stores */
} bnmlp_optimizer_state;

/* What a pass that writes spare copies tells its caller as it goes (the model packs its layers'
 * panels from the new parameters while they are hot). Both functions NULL: nothing. */
typedef struct bnmlp_params_hook {
    /* Where the update of floats [from, to) of a trainable segment (to > from) cuts its next
     * sub-chunk: a value in (from, to]. The pass updates [from, cut), calls written, and goes on
     * from cut. */
    size_t (*cut)(void *context, size_t from, size_t to);
    /* Called on the thread that did it, right after the pass wrote next_params[from, to) (a
     * sub-chunk of a trainable segment, of the calling piece); pieces of several threads run
     * concurrently. Floats outside the segments are copied unchanged and not reported. */
    void (*written)(void *context, const float *next_params, size_t from, size_t to);
    void *context; /* passed to both */
} bnmlp_params_hook;

/* The flat arenas of a model, as it hands them to the optimizer. The parameters and the state
 * are double-buffered: a step reads the current copies and writes the spare ones, checking every
 * new value as it goes, so a refused step has changed nothing the model uses; the model swaps
 * the copies when the step succeeds. */
typedef struct bnmlp_arenas {
    float *params;                       /* count parameters: the current copy (updated in place
                                            when there are no spares) */
    float *next_params;                  /* count floats: the spare copy, the step's output; NULL
                                            (with next_slots): none, update in place */
    const float *grads;                  /* count gradients, same layout */
    size_t count;                        /* floats in the parameter arena */
    const bnmlp_segment *segments;       /* the trainable runs, in ascending order without overlap;
                                            parameters outside them are copied unchanged */
    size_t segment_count;                /* number of segments */
    bnmlp_optimizer_state *state;        /* the optimizer's state (its slots: the current copy) */
    float *next_slots;                   /* BNMLP_OPTIMIZER_MAX_SLOTS * count floats: the spare
                                            copy of the slots, the step's output (or NULL) */
    const bnmlp_kernel_context *kernels; /* the threads that share the update (bnmlp_parallel_for)
                                            and the instruction set; NULL: the calling thread, the
                                            portable row */
    bnmlp_params_hook hook;              /* called as next_params is written (with spares only);
                                            zeroed: none */
} bnmlp_arenas;

/* The type of a named setting of a configuration, as files and bnmlp_optimizer_set see it. */
typedef enum bnmlp_setting_type {
    BNMLP_SETTING_FLOAT = 0, /* a float field (f32 in files) */
    BNMLP_SETTING_BOOL,      /* a bool field (u8 0 or 1) */
    BNMLP_SETTING_ENUM       /* an enum field (u32) */
} bnmlp_setting_type;

/* One setting of a kind's configuration: its name and where it lives in bnmlp_optimizer_config. */
typedef struct bnmlp_optimizer_field {
    const char *name;        /* e.g. "learning_rate" */
    size_t offset;           /* offsetof(bnmlp_optimizer_config, ...) */
    bnmlp_setting_type type; /* float, bool or enum */
} bnmlp_optimizer_field;

/* What one update pass over one segment gets: the current values in, the new ones out (the
 * out arrays never overlap the in arrays, but a caller of a row's loop may pass the same array
 * as both: each element is read before it is written). */
typedef struct bnmlp_update {
    const float *w;                                /* (n) the parameters */
    float *w_out;                                  /* (n) the new parameters */
    const float *slots[BNMLP_OPTIMIZER_MAX_SLOTS]; /* (n) each: the segment's state slots */
    float *slots_out[BNMLP_OPTIMIZER_MAX_SLOTS];   /* (n) each: the new state; every slot the row
                                                      uses is written (an unused one gets its old
                                                      value, or 0 when fresh) */
    const float *g;                                /* (n) the gradients */
    size_t n;                                      /* floats */
    bool kernel;                                   /* a dense kernel (for decay_kernels_only) */
    uint64_t t;                                    /* the 1-based step this update makes */
    bool fresh;                                    /* start from zero state (the slots are not read) */
    float scale;          /* the clipping factor of the segment's gradient (clipnorm, global_clipnorm);
                         1: none */
    float clip_value;     /* clipvalue: each gradient clamped to [-clip_value, clip_value]; 0: none */
    const bnmlp_isa *isa; /* the instruction set whose loops run the update */
} bnmlp_update;

/* A gradient after clipping (scale: bnmlp_update's, clip_value: its clamp, 0 none): g itself,
 * bit for bit, when clipping is off. */
static inline float bnmlp_clip_gradient(float g, float scale, float clip_value) {
    if (scale != 1.0f) g *= scale;
    if (clip_value > 0.0f) g = g > clip_value ? clip_value : g < -clip_value ? -clip_value : g;
    return g;
}

/* True when the update clips (a row's passes are instantiated with and without clipping, so
 * that the loop without it keeps no test in its body and vectorizes). */
static inline bool bnmlp_update_clips(float scale, float clip_value) {
    return scale != 1.0f || clip_value > 0.0f;
}

/* The clipping settings every row lists after its own (bnmlp_clip_config), in file order. */
#define BNMLP_CLIP_FIELDS                                                                                    \
    {"clipnorm", offsetof(bnmlp_optimizer_config, clip.clipnorm), BNMLP_SETTING_FLOAT},                      \
        {"clipvalue", offsetof(bnmlp_optimizer_config, clip.clipvalue), BNMLP_SETTING_FLOAT}, {              \
        "global_clipnorm", offsetof(bnmlp_optimizer_config, clip.global_clipnorm), BNMLP_SETTING_FLOAT       \
    }

/* One optimizer: a row of the table. */
typedef struct bnmlp_optimizer_row {
    bnmlp_optimizer_kind kind;                /* its value */
    const char *name;                         /* bnmlp_optimizer_name's */
    size_t slots;                             /* state floats per parameter it uses */
    unsigned nonnegative_slots;               /* bit k set: slot k is never negative (checked on load
                                             and set_optimizer_state) */
    const bnmlp_optimizer_field *fields;      /* its settings, in file order */
    size_t field_count;                       /* entries of fields */
    bnmlp_optimizer_config (*defaults)(void); /* bnmlp_optimizer_defaults' answer */
    bool (*valid)(const bnmlp_optimizer_config *config); /* every setting in range */
    /* One pass over a segment: writes the new w and every slot the row uses (u->w_out,
     * u->slots_out) and returns whether every new value is finite. */
    bool (*update)(const bnmlp_optimizer_config *config, const bnmlp_update *u);
    /* True when a kernel segment's update may differ from another segment's under config (weight
     * decay of kernels only); else adjacent segments of both kinds take one update call. */
    bool (*kernel_matters)(const bnmlp_optimizer_config *config);
} bnmlp_optimizer_row;

/* The row of kind, or NULL for a value that is no optimizer. */
const bnmlp_optimizer_row *bnmlp_optimizer_row_of(bnmlp_optimizer_kind kind);

/* True for a finite value >= 0, and for a finite value > 0: the rows' range checks. */
bool bnmlp_optimizer_non_negative(float value);
bool bnmlp_optimizer_positive(float value);

/* The weight decay a segment gets: decay, or 0 for a non-kernel with kernels_only. */
static inline float bnmlp_segment_decay(float decay, bool kernels_only, bool kernel) {
    return kernels_only && !kernel ? 0.0f : decay;
}

/* True when bnmlp_segment_decay gives kernels and other segments different decays. */
static inline bool bnmlp_decay_splits_kinds(float decay, bool kernels_only) {
    return kernels_only && decay != 0.0f;
}

/* One update of every parameter in the segments from its gradient, and of the state. With
 * spares (next_params and next_slots), in one pass from the current copies (arenas->params, the state's slots) into the spare ones
 * (next_params, next_slots: every float of the arena, and every slot the row uses, is written;
 * floats outside the segments copied, their slots copied or zero when fresh). A step with
 * another kind than the state's starts from zero state. If a new parameter or state value is not
 * finite, BNMLP_ERR_DIVERGED: only the spare copies were written, and the state's kind, steps and
 * configuration are unchanged. On success the state counts the step and keeps a copy of config,
 * and the caller must make the spare copies the current ones (the model swaps them). Without
 * spares, a check pass (nothing written) and then the update in place: nothing changes either
 * when it fails. The configuration must be checked. */
bnmlp_status bnmlp_optimizer_step(const bnmlp_optimizer_config *config, const bnmlp_arenas *arenas);

/* Sets the state to zero, as a fresh optimizer of the same kind (the configuration stays). */
void bnmlp_optimizer_reset(bnmlp_optimizer_state *state, size_t count);

/* ---- the kinds' update loops over raw buffers ---------------------------------------------------- */

/* w (N), v (N), g (N): v = momentum * v - lr * g; w += v (nesterov: w += momentum * v - lr * g).
 * The naive reference of SGD's row, kept for the tests. */
void bnmlp_sgd_update(float *w, float *v, const float *g, size_t n, float learning_rate, float momentum,
                      bool nesterov);

/* ---- schedules (schedule.c): a table of rows, one per bnmlp_schedule_kind ----------------------- */

/* One learning-rate schedule: a row of the table in schedule.c. */
typedef struct bnmlp_schedule_row {
    bnmlp_schedule_kind kind;                           /* its value */
    const char *name;                                   /* bnmlp_schedule_name's */
    bool per_step;                                      /* t counts steps by default (else epochs) */
    bool (*valid)(const bnmlp_schedule_config *config); /* its fields in range */
    double (*rate)(const bnmlp_schedule_config *config, double base, uint64_t t); /* lr(t) */
} bnmlp_schedule_row;

/* The row of kind, or NULL for a value that is no schedule. */
const bnmlp_schedule_row *bnmlp_schedule_row_of(bnmlp_schedule_kind kind);

/* True when a checked schedule's t counts optimizer steps (its unit, or its row's default). */
bool bnmlp_schedule_per_step(const bnmlp_schedule_config *config);

#endif /* BNMLP_OPTIM_H */
