/*
 * model.h - internal: the sequential model's layout, and what the training tier may call.
 *
 * The model owns every buffer, planned at build time for max_batch rows:
 *   params / grads      flat arenas of param_count floats, layer by layer, each layer's arrays
 *                       in bnmlp_weight order (kernel, bias, gamma, beta);
 *   optimizer           the optimizer's state: BNMLP_OPTIMIZER_MAX_SLOTS slots of param_count
 *                       floats (the most any optimizer row uses), its kind, step count and
 *                       configuration;
 *   stats               moving statistics (mean then variance per batch-norm layer, then the
 *                       debiased average's accumulators), apart from the arenas so the optimizer
 *                       never touches them;
 *   outputs             every layer's output (max_batch x width), kept for backward;
 *   caches              batch-norm mean, variance, rstd from the last training-mode forward, kept
 *                       for backward and the moving update;
 *   loss_gradient       the loss head's gradient with respect to the loss's input;
 *   delta[2]            ping-pong gradients with respect to layer outputs;
 *   layer_scratch       the per-pass scratch of the layer that needs most (batch norm's sums);
 *   segments            the trainable runs of the arenas, handed to the optimizer;
 *   order               the row order of the last fit, as a checkpoint saves it (fit works on
 *                       its own copy and its own staging buffers: src/train/fit.c).
 * Every array of a layer is a named slice of one of these blocks. The model sequences layers;
 * the arithmetic lives in src/layers and src/kernels, the update in src/optim.
 */
#ifndef BNMLP_MODEL_H
#define BNMLP_MODEL_H

#include "bnmlp.h"
#include "kernels/kernels.h"
#include "layers/layer.h"
#include "optim/optim.h"

/* The model's link to the other ranks (collective.c): inactive for one process. */
typedef struct bnmlp_model_collective {
    bnmlp_collective transport; /* the caller's functions and context (copied) */
    bool active;                /* set by bnmlp_model_set_collective: calls are collective */
    bool unsynchronized;        /* batch norm uses each rank's own statistics (default false) */
    size_t global_rows;         /* rows of the current global batch, set before its passes */
    bnmlp_status failure;       /* the first transport error of the current pass (BNMLP_OK: none) */
} bnmlp_model_collective;

/* The sequential model (opaque to users). */
struct bnmlp_model {
    bnmlp_allocator allocator;         /* every allocation goes through it */
    bnmlp_kernel_context kernels;      /* the kernels the layers run with: plan, pool, scratch */
    size_t threads;                    /* threads asked for (bnmlp_model_set_threads; 0: all cores) */
    bnmlp_loss loss;                   /* the head's loss */
    size_t input_width;                /* features in */
    bnmlp_layer *layers;               /* layer_count layers in order */
    size_t layer_count;                /* layers added */
    size_t layer_capacity;             /* room in layers */
    size_t param_count;                /* floats in the parameter and gradient arenas */
    size_t stats_count;                /* floats of moving statistics */
    size_t cache_count;                /* floats of batch-norm caches */
    size_t output_count;               /* floats of all layer outputs for one row */
    size_t max_width;                  /* widest layer input or output */
    bool built;                        /* buffers exist and weights are initialized */
    size_t max_batch;                  /* rows per batch at most, once built */
    float *params;                     /* parameter arena */
    float *grads;                      /* gradient arena, same layout */
    bnmlp_optimizer_state optimizer;   /* slots of param_count floats each, kind, steps, config */
    float *stats;                      /* moving statistics */
    float *outputs;                    /* all layer outputs */
    float *caches;                     /* all batch-norm caches */
    float *loss_gradient;              /* (max_batch, output width) */
    float *delta[2];                   /* (max_batch, max_width) each */
    void *layer_scratch;               /* the largest scratch a layer asks for (ops->scratch_bytes) */
    size_t layer_scratch_bytes;        /* its size */
    bnmlp_segment *segments;           /* trainable runs, up to 4 per layer */
    size_t segment_count;              /* runs in segments */
    bnmlp_random rng;                  /* seeded at build: initialization, then fit's shuffles */
    uint64_t epochs_done;              /* epochs fit has completed over the model's life */
    size_t *order;                     /* the last fit's row order (order_count rows), for checkpoints */
    size_t order_count;                /* rows of order; 0 before the first fit */
    bnmlp_model_collective collective; /* the other ranks, when training on several */
    bnmlp_class_names *class_names;    /* the classes' names (bnmlp_model_set_class_names), or NULL */
};

/* slice's floats in block, or NULL when the layer has no such array. */
static inline float *bnmlp_slice_in(float *block, bnmlp_slice slice) {
    return slice.length ? block + slice.offset : NULL;
}

/* The block of the model that holds arrays of kind block. */
static inline float *bnmlp_model_block(const bnmlp_model *model, bnmlp_block block) {
    return block == BNMLP_BLOCK_PARAMS  ? model->params
           : block == BNMLP_BLOCK_STATS ? model->stats
                                        : model->caches;
}

/* Array `array` of layer in its block, or NULL when absent (or before build). */
static inline float *bnmlp_layer_array(const bnmlp_model *model, const bnmlp_layer *layer,
                                       bnmlp_array array) {
    float *block = bnmlp_model_block(model, bnmlp_arrays[array].block);
    return block ? bnmlp_slice_in(block, layer->arrays[array]) : NULL;
}

/* ---- check.c: validation -------------------------------------------------------------------- */

/* BNMLP_OK when x is (rows <= max_batch if limit_rows, input width) and finite, and y (if not
 * NULL) has x->rows rows of targets the loss accepts (output width, or 1 class index per row for
 * categorical cross-entropy). The model must be built. */
bnmlp_status bnmlp_model_check_batch(const bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                     bool limit_rows);

/* The fewest rows a training-mode batch needs: 1, or what its trainable batch-norm layers need
 * (2, or more for the keras2 estimator with a large epsilon). */
size_t bnmlp_model_min_training_rows(const bnmlp_model *model);

/* BNMLP_ERR_BATCH_TOO_SMALL when a training-mode batch of rows rows cannot be normalized. */
bnmlp_status bnmlp_model_check_training_rows(const bnmlp_model *model, size_t rows);

/* ---- pass.c: forward, backward, moving statistics ---------------------------------------------- */

/* Forward x (rows, input width) through layers [0, count) in the given mode; training mode
 * caches batch statistics but does not update the moving ones (bnmlp_model_commit_statistics
 * does). Returns the output of layer count - 1 (x itself when count is 0). No checks. */
const float *bnmlp_model_run_forward(bnmlp_model *model, const float *x, size_t rows, bnmlp_mode mode,
                                     size_t count);

/* The last layer's output buffer: the outputs of the last forward through every layer (its
 * rows), which backward, the loss and the optimizer's update leave as they are (the metrics of a
 * training step read them after it). The model must be built. */
const float *bnmlp_model_output(const bnmlp_model *model);

/* Zeroes the gradient arena, then back-propagates delta (rows, width of layer top - 1's output)
 * through layers top - 1 down to 0, accumulating parameter gradients. x is the forward's input.
 * Must follow a training-mode bnmlp_model_run_forward of the same x. */
void bnmlp_model_run_backward(bnmlp_model *model, const float *x, size_t rows, const float *delta,
                              size_t top);

/* BNMLP_OK when the moving-statistics update from the last training-mode forward of rows rows
 * would leave every moving statistic finite, else BNMLP_ERR_DIVERGED; changes nothing. */
bnmlp_status bnmlp_model_check_statistics(const bnmlp_model *model, size_t rows);

/* Applies that update to every trainable batch-norm layer. */
void bnmlp_model_commit_statistics(bnmlp_model *model, size_t rows);

/* ---- head.c: the loss ------------------------------------------------------------------------- */

/* BNMLP_OK when the targets y suit the model's loss (bnmlp_loss_check_targets). */
bnmlp_status bnmlp_model_check_targets(const bnmlp_model *model, const bnmlp_tensor *y);

/* True when the loss has an accuracy (not for mean squared error). */
bool bnmlp_model_has_accuracy(const bnmlp_model *model);

/* The mean loss of the last forward of x (rows rows) against y (rows x width targets), and how
 * many predictions are right (per output for binary cross-entropy, per row for categorical; 0
 * for mean squared error). No gradient; nothing changes. */
void bnmlp_model_head_loss(const bnmlp_model *model, const float *x, const float *y, size_t rows,
                           size_t width, double *loss, size_t *correct);

/* As bnmlp_model_head_backward for one rank's rows of a global batch of global_rows rows: the
 * loss's gradient is divided by global_rows instead of rows, and the backward pass always runs
 * (it communicates at synchronized batch-norm seams); no finiteness check. */
void bnmlp_model_head_backward_share(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                     size_t width, size_t global_rows, double *loss, size_t *correct);

/* As bnmlp_model_loss after a training-mode forward, then the loss's gradient and the backward
 * pass through every layer below the loss's input, into the gradient arena. BNMLP_ERR_DIVERGED
 * (and nothing run backward) when the loss is not finite. The gradients themselves are not
 * checked here: the optimizer's check of the update covers every gradient it uses, and
 * bnmlp_model_loss_gradients checks them all before it hands them out. */
bnmlp_status bnmlp_model_head_backward(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                       size_t width, double *loss, size_t *correct);

/* How many predictions one batch of rows rows has: rows for categorical cross-entropy, rows x
 * outputs otherwise (the denominator of the accuracy). */
size_t bnmlp_model_prediction_count(const bnmlp_model *model, size_t rows);

/* ---- build.c: what the optimizer and fit are handed ------------------------------------------- */

/* Lists the trainable arrays in model->segments again (after build or a change of trainable). */
void bnmlp_model_refresh_segments(bnmlp_model *model);

/* The arenas and trainable segments, for bnmlp_optimizer_step. */
bnmlp_arenas bnmlp_model_arenas(bnmlp_model *model);

/* The model's generator (seeded at build), which drives fit's shuffles. */
bnmlp_random *bnmlp_model_random(bnmlp_model *model);

/* The model's allocator (fit allocates its working buffers through it). */
const bnmlp_allocator *bnmlp_model_allocator(const bnmlp_model *model);

/* Makes room for a saved row order of rows rows (fit calls it before its first epoch, so that
 * keeping the order after each epoch allocates nothing); the saved order is then 0..rows-1
 * unless it already had rows rows. BNMLP_ERR_OUT_OF_MEMORY, with nothing changed, on failure. */
bnmlp_status bnmlp_model_reserve_order(bnmlp_model *model, size_t rows);

/* The saved row order (what a checkpoint stored or the last fit left) when it has rows rows,
 * else NULL. */
const size_t *bnmlp_model_saved_order(const bnmlp_model *model, size_t rows);

/* Saves fit's order of rows rows (room reserved by bnmlp_model_reserve_order) for checkpoints. */
void bnmlp_model_keep_order(bnmlp_model *model, const size_t *order, size_t rows);

/* Counts one more epoch completed by fit. */
void bnmlp_model_count_epoch(bnmlp_model *model);

/* ---- collective.c: training on several ranks ---------------------------------------------- */
/* Every function below is a no-op (or the identity) without an active collective. Calls that
 * communicate must be made by every rank in the same order. */

/* True when the model's calls are collective. */
bool bnmlp_model_is_distributed(const bnmlp_model *model);

/* True when batch norm combines its sums over the ranks (distributed and synchronized). */
bool bnmlp_model_batchnorm_is_synchronized(const bnmlp_model *model);

/* The agreed status of a collective call: the maximum of every rank's status (a transport error
 * wins). Communicates. */
bnmlp_status bnmlp_model_agree(bnmlp_model *model, bnmlp_status status);

/* Starts a collective call on rows rows of this rank: agrees on status, then sums the rows into
 * *global_rows (rows without a collective), which the batch-norm seams use. A rank passes its
 * status even when it has no usable batch (rows 0). Communicates. */
bnmlp_status bnmlp_model_begin_batch(bnmlp_model *model, bnmlp_status status, size_t rows,
                                     size_t *global_rows);

/* Sets the global rows of the next passes without communicating (fit knows them). */
void bnmlp_model_set_global_rows(bnmlp_model *model, size_t rows);

/* The rows batch-norm statistics are over: the global rows when synchronized, else rows. */
size_t bnmlp_model_statistics_rows(const bnmlp_model *model, size_t rows);

/* The batch-norm seam: sums count doubles over the ranks in place when synchronized. A transport
 * error is kept for bnmlp_model_take_failure. */
void bnmlp_model_combine_sums(bnmlp_model *model, double *sums, size_t count);

/* Sums count values over the ranks in place (metrics), or returns the transport error. */
bnmlp_status bnmlp_model_sum_doubles(bnmlp_model *model, double *values, size_t count);

/* Sums the gradient arena over the ranks in place. */
bnmlp_status bnmlp_model_sum_gradients(bnmlp_model *model);

/* The first transport error since the last call (BNMLP_OK when none), cleared. */
bnmlp_status bnmlp_model_take_failure(bnmlp_model *model);

/* This rank's contiguous share of a global batch of rows rows: *offset and *count (documented in
 * bnmlp.h: the first rows % size ranks take one row more). */
void bnmlp_model_share(const bnmlp_model *model, size_t rows, size_t *offset, size_t *count);

/* ---- build.c: layers added from elsewhere in the tier ------------------------------------------ */

/* Appends a layer whose kind, input width and configuration are set (the model's current
 * output width as input): its row checks the configuration and plans its arrays. Fails without
 * changing the model (BNMLP_ERR_INVALID_ARGUMENT for a configuration its row refuses,
 * BNMLP_ERR_ALREADY_BUILT, BNMLP_ERR_OVERFLOW, BNMLP_ERR_OUT_OF_MEMORY). */
bnmlp_status bnmlp_model_append_layer(bnmlp_model *model, bnmlp_layer layer);

/* ---- snapshot.c: a copy of the weights (parameters and moving statistics) --------------------- */

/* Floats a snapshot of the built model holds: the parameter arena, then the statistics block. */
size_t bnmlp_model_snapshot_floats(const bnmlp_model *model);

/* Copies the parameter arena and the statistics block into dst (bnmlp_model_snapshot_floats). */
void bnmlp_model_snapshot_save(const bnmlp_model *model, float *dst);

/* Puts a snapshot of the same model back: parameters and every statistic as they were (layers'
 * own counters, such as the debiased average's step count, are not part of it). */
void bnmlp_model_snapshot_restore(bnmlp_model *model, const float *src);

/* ---- file_fields.c: the fields of a layer record ------------------------------------------------ */

/* How a field is stored (and the C type it has in bnmlp_layer). */
typedef enum bnmlp_field_type {
    BNMLP_FIELD_BOOL = 0, /* one byte, 0 or 1 (bool) */
    BNMLP_FIELD_ENUM,     /* u32 (an int-sized enumeration) */
    BNMLP_FIELD_F32,      /* f32 (float) */
    BNMLP_FIELD_U64       /* u64 (uint64_t) */
} bnmlp_field_type;

/* One field of a layer record. */
typedef struct bnmlp_file_field {
    const char *name;      /* as stored in a version-2 record, e.g. "use_bias" */
    int kind;              /* the bnmlp_layer_kind that has it, or -1 for every kind */
    bnmlp_field_type type; /* how it is stored */
    size_t offset, size;   /* where it lives in bnmlp_layer, and its C size */
    double default_value;  /* its value when a record lacks it */
    bool version1;         /* stored (untagged, in table order) by version 1 */
    const char *meaning;   /* for the format document */
} bnmlp_file_field;

extern const bnmlp_file_field bnmlp_file_fields[];
extern const size_t bnmlp_file_field_count;

/* True when layers of kind have field. */
bool bnmlp_file_field_applies(const bnmlp_file_field *field, bnmlp_layer_kind kind);

/* Bytes the field's value takes in the file. */
size_t bnmlp_file_field_bytes(const bnmlp_file_field *field);

/* The field's value in layer as the file stores it (a bool or enum widened, a float's bits). */
uint64_t bnmlp_file_field_get(const bnmlp_file_field *field, const bnmlp_layer *layer);

/* Sets the field in layer from its stored value; false for a value its type cannot hold (a
 * bool byte other than 0 and 1). Ranges are the layer row's check. */
bool bnmlp_file_field_set(const bnmlp_file_field *field, bnmlp_layer *layer, uint64_t stored);

/* Sets the field in layer to its default. */
void bnmlp_file_field_default(const bnmlp_file_field *field, bnmlp_layer *layer);

/* The Markdown table of the fields that docs/model-format.md shows, into text (size bytes,
 * terminated when size > 0); returns its length, as snprintf. */
size_t bnmlp_file_fields_document(char *text, size_t size);

/* ---- file.c: model files ----------------------------------------------------------------------- */

/* Bytes of the model's file (a checkpoint with training state, or not). */
size_t bnmlp_model_file_size(const bnmlp_model *model, bool checkpoint);

/* bnmlp_model_save or bnmlp_model_save_checkpoint, with failures injected by fault (NULL for
 * none), for tests of the atomic write. */
struct bnmlp_file_fault;
bnmlp_status bnmlp_model_save_with_fault(const bnmlp_model *model, const char *path, bool checkpoint,
                                         const struct bnmlp_file_fault *fault);

#endif /* BNMLP_MODEL_H */
