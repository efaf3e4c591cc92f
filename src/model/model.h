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
 *                       never touches them; staged_stats, a second copy, stages the next step's;
 *   outputs             every layer's output (max_batch x width), kept for backward;
 *   caches              batch-norm mean, variance, rstd from the last training-mode forward, kept
 *                       for backward and the moving update;
 *   loss_gradient       the loss head's gradient with respect to the loss's input;
 *   row_weights         the current batch's per-row loss weights (class x sample weight), staged
 *                       by the training tier before a weighted pass;
 *   delta[2]            ping-pong gradients with respect to layer outputs;
 *   layer_scratch       the per-pass scratch of the layer that needs most (batch norm's sums);
 *   segments            the trainable runs of the arenas, handed to the optimizer;
 *   zero_runs           the runs of the gradient arena a full backward zeroes before it adds;
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

/* fit's training controls as a checkpoint keeps them (fit_record.c; sections SCHD, ESTP, PLAT,
 * BEST of docs/model-format.md): plain data the training tier fills after every epoch of fit and
 * reads when a fit resumes; the model tier only stores, copies and (de)serializes it. */
typedef struct bnmlp_fit_record {
    uint64_t epoch;                             /* the model's epochs done when it was taken */
    bool has_schedule;                          /* the schedule part holds a schedule (SCHD) */
    double base_rate;                           /* the schedule's base rate */
    bnmlp_schedule_config schedule;             /* the schedule */
    bool has_early_stopping;                    /* the early-stopping part is held (ESTP) */
    bnmlp_early_stopping_config early_stopping; /* its settings (enabled) */
    bnmlp_early_stopping_state early;           /* its running state */
    bool has_plateau;                           /* the reduce-LR-on-plateau part is held (PLAT) */
    bnmlp_plateau_config reduce_lr;             /* its settings (enabled) */
    bnmlp_plateau_state plateau;                /* its running state */
    double rate;                                /* the rate without a schedule (the plateau's) */
    bool has_best_weights;                      /* best_weights holds early stopping's best epoch's
                                                   weights (BEST) */
    float *best_weights; /* (bnmlp_model_snapshot_floats) owned by the model, or NULL */
} bnmlp_fit_record;

/* The class weights and normalization of the model's last fit (fit_weights.c), which a checkpoint
 * stores (section LWGT) so that a resumed fit continues with them. */
typedef struct bnmlp_kept_weights {
    float *class_weights;                     /* (class_count) the model's copy, or NULL */
    size_t class_count;                       /* 0: the last fit had no class weights */
    bnmlp_weight_normalization normalization; /* the last fit's */
} bnmlp_kept_weights;

/* When training passes (a training-mode forward, the backward, the optimizer's step) use the
 * dense kernels' panels too; inference forwards always do. Measured on Zen 5 (bench/panels_ab):
 * packing them in the optimizer's pass saves bf16 training 2-4 % a step and costs fp32 training
 * 0-2 % (its packs are plain copies, cheap where the products do them). */
typedef enum bnmlp_training_panels {
    BNMLP_TRAINING_PANELS_BF16 = 0, /* the default: when the dense layers' products are bf16 */
    BNMLP_TRAINING_PANELS_OFF,      /* never (the input gradient's panels are not even planned) */
    BNMLP_TRAINING_PANELS_ON        /* always */
} bnmlp_training_panels;

/* The sequential model (opaque to users). */
struct bnmlp_model {
    bnmlp_allocator allocator;         /* every allocation goes through it */
    bnmlp_kernel_context kernels;      /* the kernels the layers run with: plan, pool, scratch */
    size_t threads;                    /* threads asked for (bnmlp_model_set_threads; 0: all cores) */
    bnmlp_precision precision;         /* the dense layers' products (bnmlp_model_set_precision) */
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
    float *spare_params;               /* param_count floats: the optimizer writes a step's new
                                          parameters here, then they swap with params */
    float *spare_slots;                /* likewise for optimizer.slots (same size) */
    float *stats;                      /* moving statistics */
    float *staged_stats;               /* stats_count floats: bnmlp_model_check_statistics stages
                                          the step's new statistics here, then
                                          bnmlp_model_commit_statistics copies them to stats */
    float *outputs;                    /* all layer outputs */
    float *caches;                     /* all batch-norm caches */
    float *loss_gradient;              /* (max_batch, output width) */
    float *row_weights;                /* (max_batch) the batch's row weights (bnmlp_model_row_weights) */
    float *delta[2];                   /* (max_batch, max_width) each */
    void *layer_scratch;               /* the largest scratch a layer asks for (ops->scratch_bytes) */
    size_t layer_scratch_bytes;        /* its size */
    bnmlp_segment *segments;           /* trainable runs, up to 4 per layer */
    size_t segment_count;              /* runs in segments */
    bnmlp_slice *zero_runs;            /* (layer_count x BNMLP_ARRAY_COUNT at most) the runs of the
                                          gradient arena a full backward zeroes first, in order,
                                          planned at build (bnmlp_model_plan_zero_runs) */
    size_t zero_run_count;             /* runs in zero_runs */
    size_t zero_runs_top;              /* the backward's top the runs are planned for: the head's
                                          (bnmlp_model_head_top), every training step's */
    bnmlp_random rng;                  /* seeded at build: initialization, then fit's shuffles */
    uint64_t epochs_done;              /* epochs fit has completed over the model's life */
    size_t *order;                     /* the last fit's row order (order_count rows), for checkpoints */
    size_t order_count;                /* rows of order; 0 before the first fit */
    bnmlp_model_collective collective; /* the other ranks, when training on several */
    bnmlp_class_names *class_names;    /* the classes' names (bnmlp_model_set_class_names), or NULL */
    bnmlp_fit_record fit_record;       /* fit's controls after its last epoch, for checkpoints */
    uint32_t file_version;             /* format version of the file it was loaded from; 0: not loaded */
    bool from_checkpoint;              /* loaded from a checkpoint */
    bnmlp_kept_weights fit_weights;    /* the class weights of the last fit, saved in checkpoints */
    float *panel_block;                /* every layer's panels (layer->panels), planned at build
                                          (panels.c); NULL: none */
    bool panels_current;               /* the panels hold the current parameters, each layer's in
                                          its precision: the products may read them */
    bool panels_pending;               /* the optimizer step under way writes the next step's
                                          panels (bnmlp_model_step_arenas): the swap makes them
                                          current */
    bool panels_off;                   /* bnmlp_model_set_weight_panels(false): products pack as
                                          without (and none are planned before build) */
    bnmlp_training_panels panel_use;   /* when training reads them (bnmlp_model_set_training_panels,
                                          before build; default BNMLP_TRAINING_PANELS_BF16) */
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
 * rows; after a forward that stopped at bnmlp_model_head_forward_count, once the head has written
 * them), which backward and the optimizer's update leave as they are (the metrics of a training
 * step read them after it). The model must be built. */
const float *bnmlp_model_output(const bnmlp_model *model);

/* Zeroes the gradient arena (but the arrays that layers below top write whole: a row's
 * writes_grads), then back-propagates delta (rows, width of layer top - 1's output) through
 * layers top - 1 down to 0, accumulating parameter gradients. x is the forward's input.
 * Must follow a training-mode bnmlp_model_run_forward of the same x. */
void bnmlp_model_run_backward(bnmlp_model *model, const float *x, size_t rows, const float *delta,
                              size_t top);

/* Plans model->zero_runs, the runs bnmlp_model_run_backward zeroes for top == zero_runs_top = top
 * (build passes the head's top, bnmlp_model_head_top: every training step's backward), from the
 * layers' gradient arrays (resolved); called once by build. Another top walks the layers. */
void bnmlp_model_plan_zero_runs(bnmlp_model *model, size_t top);

/* BNMLP_OK when the moving-statistics update from the last training-mode forward of rows rows
 * would leave every moving statistic finite, else BNMLP_ERR_DIVERGED; changes nothing observable
 * (it computes the update once, into staged_stats, for the commit). */
bnmlp_status bnmlp_model_check_statistics(const bnmlp_model *model, size_t rows);

/* Applies that update to every training layer (its steps counted): copies in the statistics the
 * last bnmlp_model_check_statistics (BNMLP_OK, same rows, nothing changed since) staged. */
void bnmlp_model_commit_statistics(bnmlp_model *model, size_t rows);

/* ---- head.c: the loss ------------------------------------------------------------------------- */

/* The weights of a weighted loss pass: row weights (rows floats, the staged batch's) and the
 * divisor of the weighted sum (Keras: the global batch's rows; PyTorch: its sum of weights),
 * > 0. A NULL bnmlp_head_weights pointer is the unweighted loss. */
typedef struct bnmlp_head_weights {
    const float *rows; /* (rows) each row's weight */
    double divisor;    /* what sum(w l) is divided by, for the loss and its gradient */
} bnmlp_head_weights;

/* The model's buffer for one batch's row weights (max_batch floats, planned at build). */
float *bnmlp_model_row_weights(bnmlp_model *model);

/* True when the model's loss gives its targets classes (class weights apply). */
bool bnmlp_model_has_target_classes(const bnmlp_model *model);

/* The class of target row y (width values, checked) for class weights; the loss must have
 * classes (bnmlp_model_has_target_classes). */
size_t bnmlp_model_target_class(const bnmlp_model *model, const float *y, size_t width);

/* BNMLP_OK when the targets y suit the model's loss (bnmlp_loss_check_targets). */
bnmlp_status bnmlp_model_check_targets(const bnmlp_model *model, const bnmlp_tensor *y);

/* True when the loss has an accuracy (not for mean squared error). */
bool bnmlp_model_has_accuracy(const bnmlp_model *model);

/* True when the model's last layer is the activation layer of `activation` (not linear): the
 * activation a loss folds in (sigmoid for binary, softmax for categorical cross-entropy). */
bool bnmlp_model_ends_in(const bnmlp_model *model, bnmlp_activation activation);

/* The layers the backward pass from the head runs through: all but a final activation the loss
 * folds in (the loss's gradient is taken with respect to its input), else every layer. */
size_t bnmlp_model_head_top(const bnmlp_model *model);

/* The layers a forward pass must run before the head (the loss): every layer, or all but the
 * last when the loss computes that final activation itself (binary cross-entropy after a final
 * sigmoid: the loss's exp(-|z|) serves the sigmoid too). The head then writes the last layer's
 * output, the values that layer's forward gives, bit for bit. */
size_t bnmlp_model_head_forward_count(const bnmlp_model *model);

/* The mean loss of the last forward of x (rows rows, through bnmlp_model_head_forward_count
 * layers or more) against y (rows x width targets), and how many predictions are right (per
 * output for binary cross-entropy, per row for categorical; 0 for mean squared error). With
 * weights (or NULL), sum(w l) / weights->divisor instead of the mean. No gradient; nothing else
 * changes than the last layer's output, which a head that computes it writes. */
void bnmlp_model_head_loss(const bnmlp_model *model, const float *x, const float *y, size_t rows,
                           size_t width, const bnmlp_head_weights *weights, double *loss, size_t *correct);

/* As bnmlp_model_head_backward for one rank's rows of a global batch of global_rows rows: the
 * loss's gradient is divided by global_rows instead of rows, and the backward pass always runs
 * (it communicates at synchronized batch-norm seams); no finiteness check. */
void bnmlp_model_head_backward_share(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                     size_t width, size_t global_rows, const bnmlp_head_weights *weights,
                                     double *loss, size_t *correct);

/* As bnmlp_model_loss after a training-mode forward, then the loss's gradient and the backward
 * pass through every layer below the loss's input, into the gradient arena. BNMLP_ERR_DIVERGED
 * (and nothing run backward) when the loss is not finite. The gradients themselves are not
 * checked here: the optimizer's check of the update covers every gradient it uses, and
 * bnmlp_model_loss_gradients checks them all before it hands them out. */
bnmlp_status bnmlp_model_head_backward(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                       size_t width, const bnmlp_head_weights *weights, double *loss,
                                       size_t *correct);

/* How many predictions one batch of rows rows has: rows for categorical cross-entropy, rows x
 * outputs otherwise (the denominator of the accuracy). */
size_t bnmlp_model_prediction_count(const bnmlp_model *model, size_t rows);

/* ---- build.c: what the optimizer and fit are handed ------------------------------------------- */

/* Lists the trainable arrays in model->segments again (after build or a change of trainable). */
void bnmlp_model_refresh_segments(bnmlp_model *model);

/* The arenas and trainable segments, for bnmlp_optimizer_step. */
bnmlp_arenas bnmlp_model_arenas(bnmlp_model *model);

/* bnmlp_model_arenas for a training step's bnmlp_optimizer_step: with the panels' hook when they
 * are current (panels.c: bnmlp_model_panels_hook). */
bnmlp_arenas bnmlp_model_step_arenas(bnmlp_model *model);

/* After a successful bnmlp_optimizer_step on bnmlp_model_arenas: the spare copies of the
 * parameters and of the optimizer's slots, which the step wrote, become the current ones (the
 * layers' arrays resolved in them again); the old ones become the spares. */
void bnmlp_model_swap_params(bnmlp_model *model);

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

/* ---- panels.c: the dense kernels packed ahead of their products --------------------------------- */
/* Plans the panels the layers' rows ask for at max_batch rows (ops->panel_floats) in one zeroed
 * block, each 64-byte aligned, and points the layers at them; not current. false (nothing kept)
 * when the memory cannot be had. */
bool bnmlp_model_plan_panels(bnmlp_model *model, size_t max_batch);
/* Releases the panels' block (the layers' pointers NULL). */
void bnmlp_model_release_panels(bnmlp_model *model);
/* After a change of precision of a built model with panels: plans them again when the input
 * gradient's panels the new precision wants (training reads panels: bf16 by default) differ from
 * those it has; when the memory cannot be had, the model keeps none (the products pack their
 * kernels themselves, at the same bits). */
void bnmlp_model_replan_panels(bnmlp_model *model);
/* After any write of the parameters (or of the precision) other than the optimizer's step: the
 * panels no longer hold them (packed again before the next forward that can use them). A flag,
 * inline, so that every writer of the parameters can clear it without depending on panels.c. */
static inline void bnmlp_model_params_changed(bnmlp_model *model) { model->panels_current = false; }
/* True when the layers' products may read their panels now in a pass of mode `training` (a
 * training-mode forward or a backward: only with training panels). */
bool bnmlp_model_panels_usable(const bnmlp_model *model, bool training);
/* Before a forward of mode `training`: packs every panel from the current parameters when that
 * forward can read them (bnmlp_model_panels_usable but for being current) and they are not
 * current, on the model's threads; then current. */
void bnmlp_model_refresh_panels(bnmlp_model *model, bool training);
/* When training passes use panels too (bnmlp_training_panels; internal). Before build only (it
 * decides whether the input gradient's panels are planned): BNMLP_ERR_ALREADY_BUILT after,
 * BNMLP_ERR_INVALID_ARGUMENT for another value. */
bnmlp_status bnmlp_model_set_training_panels(bnmlp_model *model, bnmlp_training_panels when);
/* Switches the panels on (default) or off: off, every product packs its op(B) itself as without
 * panels (the same bits either way; tests compare the two). */
void bnmlp_model_use_panels(bnmlp_model *model, bool use);
/* Installs in *arenas (an optimizer step's, build.c: bnmlp_model_step_arenas), when the panels are
 * current, a hook that packs the next step's panels from the new parameters as the step writes them
 * (bnmlp_model_swap_params makes them current); the panels are not current from here on until that
 * swap. */
void bnmlp_model_panels_hook(bnmlp_model *model, bnmlp_arenas *arenas);

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

/* ---- access.c: what the export tier reads ------------------------------------------------------ */

/* Layer index (< the layer count) of model, read-only: its kind, widths and configuration. */
const bnmlp_layer *bnmlp_model_layer_at(const bnmlp_model *model, size_t index);

/* True when layer index (< the layer count) of the built model is one scale and shift per
 * feature in inference mode (its row's inference_affine); then scale and shift (the layer's
 * output width, doubles each) get them. False, nothing written, for any other layer. */
bool bnmlp_model_layer_affine(const bnmlp_model *model, size_t index, double *scale, double *shift);

/* Sets array `array` (count floats, its length; finite) of layer index of the built model, then
 * lets the layer's row keep its derived state (array_set): what bnmlp_model_set_weights does for
 * arrays that are not public (the int8 layer's). BNMLP_ERR_NOT_BUILT, BNMLP_ERR_INVALID_ARGUMENT
 * (index), BNMLP_ERR_SHAPE (no such array, or another length), BNMLP_ERR_NOT_FINITE. */
bnmlp_status bnmlp_model_set_array(bnmlp_model *model, size_t index, bnmlp_array array, const float *src,
                                   size_t count);

/* After the saved arrays were written at once (a file load, set_params): each layer's derived
 * state (its row's derive). */
void bnmlp_model_derive(bnmlp_model *model);

/* The threads setting as bnmlp_model_set_threads took it (0: all online cores). */
size_t bnmlp_model_threads_setting(const bnmlp_model *model);

/* ---- layer_access.c: a layer's step count, as an import restores it --------------------------- */

/* Sets layer index's count of committed training steps (batch norm's t, dropout's mask step),
 * as a file or an import restores it; BNMLP_ERR_INVALID_ARGUMENT for an index out of range or a
 * kind without steps (neither batch norm nor dropout). */
bnmlp_status bnmlp_model_set_layer_steps(bnmlp_model *model, size_t index, uint64_t steps);

/* ---- snapshot.c: a copy of the weights (parameters and moving statistics) --------------------- */

/* Floats a snapshot of the built model holds: the parameter arena, then the statistics block. */
size_t bnmlp_model_snapshot_floats(const bnmlp_model *model);

/* Copies the parameter arena and the statistics block into dst (bnmlp_model_snapshot_floats). */
void bnmlp_model_snapshot_save(const bnmlp_model *model, float *dst);

/* Puts a snapshot of the same model back: parameters and every statistic as they were (layers'
 * own counters, such as the debiased average's step count, are not part of it). */
void bnmlp_model_snapshot_restore(bnmlp_model *model, const float *src);

/* ---- fit_record.c: fit's controls in the model and in checkpoints ------------------------------ */

/* The record the model holds (all parts unheld before a fit with controls or such a checkpoint). */
const bnmlp_fit_record *bnmlp_model_fit_record(const bnmlp_model *model);

/* Replaces the record's numbers with record's (every field but best_weights, which stays the
 * model's buffer). */
void bnmlp_model_keep_fit_record(bnmlp_model *model, const bnmlp_fit_record *record);

/* The model's buffer for early stopping's best weights (bnmlp_model_snapshot_floats), allocated
 * through the model's allocator on the first call (its content is kept when it exists); NULL when
 * that fails (BNMLP_ERR_OUT_OF_MEMORY for the caller; nothing changed). */
float *bnmlp_model_reserve_best_weights(bnmlp_model *model);

/* How a field of a fit record is stored (and its C type in bnmlp_fit_record). */
typedef enum bnmlp_record_type {
    BNMLP_RECORD_BOOL = 0, /* one byte, 0 or 1 (bool) */
    BNMLP_RECORD_ENUM,     /* u32 (an int-sized enumeration) */
    BNMLP_RECORD_U64,      /* u64 (uint64_t), count of them */
    BNMLP_RECORD_SIZE,     /* u64 (size_t) */
    BNMLP_RECORD_F64       /* f64 (double; not NaN), count of them */
} bnmlp_record_type;

/* One named field of a fit record's section. */
typedef struct bnmlp_record_field {
    const char *name;       /* as stored */
    bnmlp_record_type type; /* how it is stored */
    size_t offset;          /* where it lives in bnmlp_fit_record */
    size_t count;           /* values (arrays: the C array's length; else 1) */
    bool state;             /* running state (not a setting the equality compares) */
    const char *meaning;    /* for the format document */
} bnmlp_record_field;

/* One section of a fit record: its tag, fields and which part of the record it holds. */
typedef struct bnmlp_record_section {
    const char *tag;                  /* "SCHD", "ESTP", "PLAT" */
    const bnmlp_record_field *fields; /* its rows */
    size_t field_count;               /* < 64 */
    size_t held;                      /* offset of the bool in bnmlp_fit_record saying it is held */
    const char *title;                /* for the format document */
} bnmlp_record_section;

extern const bnmlp_record_section bnmlp_record_sections[];
extern const size_t bnmlp_record_section_count;

/* The record of nothing held, with every setting at its public default (BNMLP_SCHEDULE_DEFAULT,
 * BNMLP_EARLY_STOPPING_DEFAULT enabled, BNMLP_PLATEAU_DEFAULT enabled) and state 0: what a
 * field missing from a section keeps. */
bnmlp_fit_record bnmlp_fit_record_defaults(void);

/* Bytes a field's value takes in the file (8 per value, 4 for an enum, 1 for a bool). */
size_t bnmlp_record_field_bytes(const bnmlp_record_field *field);

/* The field's value in record, as the file stores it, into out (bnmlp_record_field_bytes). */
void bnmlp_record_field_encode(const bnmlp_record_field *field, const bnmlp_fit_record *record,
                               unsigned char *out);

/* Sets the field in record from its stored bytes; false (record unchanged) for a value its type
 * cannot hold: a bool byte other than 0 or 1, an enum beyond int, a size beyond size_t, a NaN.
 * Ranges are the training tier's checks (when a fit resumes). */
bool bnmlp_record_field_decode(const bnmlp_record_field *field, bnmlp_fit_record *record,
                               const unsigned char *in);

/* True when every setting field (not state) of section is the same in a and b (doubles bit for
 * bit). */
bool bnmlp_record_settings_equal(const bnmlp_record_section *section, const bnmlp_fit_record *a,
                                 const bnmlp_fit_record *b);

/* The Markdown tables of the sections' fields that docs/model-format.md shows, into text (size
 * bytes, terminated when size > 0); returns its length, as snprintf. */
size_t bnmlp_record_fields_document(char *text, size_t size);

/* ---- fit_weights.c: the last fit's class weights ------------------------------------------------- */

/* Keeps a copy of count class weights (NULL with 0: none) and the normalization as the model's
 * last fit's, through the model's allocator; BNMLP_ERR_OUT_OF_MEMORY with nothing changed. */
bnmlp_status bnmlp_model_keep_fit_weights(bnmlp_model *model, const float *class_weights, size_t count,
                                          bnmlp_weight_normalization normalization);

/* Releases the copy (bnmlp_model_free). */
void bnmlp_model_release_fit_weights(bnmlp_model *model);

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
    bool omit_default;     /* written only when its value is not the default, so that files of
                              layers that keep the default stay byte for byte as before it */
} bnmlp_file_field;

extern const bnmlp_file_field bnmlp_file_fields[];
extern const size_t bnmlp_file_field_count;

/* True when layers of kind have field. */
bool bnmlp_file_field_applies(const bnmlp_file_field *field, bnmlp_layer_kind kind);

/* True when a writer writes field for layer: it applies, and it is not an omit_default field
 * holding its default. */
bool bnmlp_file_field_written(const bnmlp_file_field *field, const bnmlp_layer *layer);

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
