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
 *   sums, rstd          batch-norm scratch: double sums of the phases, inference rstd;
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
#include "optim/optim.h"

/* Where one array of a layer lives in its block: floats [offset, offset + length); length 0
 * means the layer has no such array. */
typedef struct bnmlp_slice {
    size_t offset; /* first float in the block */
    size_t length; /* floats; 0 when absent */
} bnmlp_slice;

/* One layer: its configuration, where its arrays live, and its output once built. */
typedef struct bnmlp_layer {
    bnmlp_layer_kind kind;            /* dense, activation or batch norm */
    size_t in;                        /* input width */
    size_t out;                       /* output width */
    bool trainable;                   /* false: frozen */
    bnmlp_activation activation;      /* activation layers: the function */
    float alpha;                      /* activation layers: leaky_relu slope */
    bnmlp_initializer initializer;    /* dense layers: kernel initializer */
    bnmlp_batchnorm_config batchnorm; /* batch-norm layers: configuration */
    bnmlp_slice params;               /* all of the layer's floats in the parameter arena */
    bnmlp_slice kernel;               /* dense W (in, out), parameter arena */
    bnmlp_slice bias;                 /* dense b (out), parameter arena */
    bnmlp_slice gamma;                /* batch-norm scale (out), parameter arena */
    bnmlp_slice beta;                 /* batch-norm offset (out), parameter arena */
    bnmlp_slice moving_mean;          /* batch norm (out), in stats */
    bnmlp_slice moving_variance;      /* batch norm (out), in stats */
    bnmlp_slice biased_mean;          /* debiased batch norm: the mean's accumulator (out), in stats */
    bnmlp_slice biased_variance;      /* debiased batch norm: the variance's accumulator (out), in stats */
    uint64_t average_steps;           /* batch norm: moving-statistics updates so far (t) */
    bnmlp_slice batch_mean;           /* batch norm (out), in caches */
    bnmlp_slice batch_variance;       /* batch norm (out, biased), in caches */
    bnmlp_slice batch_rstd;           /* batch norm (out), in caches */
    float *output;                    /* (max_batch, out) once built */
} bnmlp_layer;

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
    double *sums;                      /* (4, max_width): batch-norm phase sums */
    float *rstd;                       /* (max_width): inference-mode rstd */
    bnmlp_segment *segments;           /* trainable runs, up to 4 per layer */
    size_t segment_count;              /* runs in segments */
    bnmlp_random rng;                  /* seeded at build: initialization, then fit's shuffles */
    uint64_t epochs_done;              /* epochs fit has completed over the model's life */
    size_t *order;                     /* the last fit's row order (order_count rows), for checkpoints */
    size_t order_count;                /* rows of order; 0 before the first fit */
    bnmlp_model_collective collective; /* the other ranks, when training on several */
};

/* slice's floats in block, or NULL when the layer has no such array. */
static inline float *bnmlp_slice_in(float *block, bnmlp_slice slice) {
    return slice.length ? block + slice.offset : NULL;
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

/* ---- file.c: model files ----------------------------------------------------------------------- */

/* Bytes of the model's file (a checkpoint with training state, or not). */
size_t bnmlp_model_file_size(const bnmlp_model *model, bool checkpoint);

/* bnmlp_model_save or bnmlp_model_save_checkpoint, with failures injected by fault (NULL for
 * none), for tests of the atomic write. */
struct bnmlp_file_fault;
bnmlp_status bnmlp_model_save_with_fault(const bnmlp_model *model, const char *path, bool checkpoint,
                                         const struct bnmlp_file_fault *fault);

#endif /* BNMLP_MODEL_H */
