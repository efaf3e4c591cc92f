/* train.h - internal: the training tier's shared step, used by train_step and fit. */
#ifndef BNMLP_TRAIN_H
#define BNMLP_TRAIN_H

#include "bnmlp.h"
#include "model/model.h"
#include "optim/optim.h"

/* One training step on an already checked batch (x rows x input width, y rows x width targets;
 * rows at least the model's minimum; weights NULL, or the staged row weights and their divisor
 * from bnmlp_train_head_weights): training-mode forward, loss, backward, the optimizer's
 * update and the moving statistics. With float_loss, a loss whose float would not be finite is
 * BNMLP_ERR_DIVERGED too (the calls that hand back a float loss). Under a collective, x and y are this rank's share of a global
 * batch of global_rows rows (known to every rank, and to the model: bnmlp_model_set_global_rows
 * or begin_batch); every rank then runs it. *loss and *correct get the (global) batch's metrics. On error (a
 * loss, gradient, updated parameter, optimizer state or moving statistic that would not be
 * finite: BNMLP_ERR_DIVERGED) nothing observable changes. */
bnmlp_status bnmlp_train_step_checked(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                      size_t width, size_t global_rows, const bnmlp_head_weights *weights,
                                      const bnmlp_optimizer_config *optimizer, bool float_loss, double *loss,
                                      size_t *correct);

/* The accuracy of correct right predictions in rows rows: a fraction, or NaN when the model's
 * loss has no accuracy. */
double bnmlp_train_accuracy(const bnmlp_model *model, size_t correct, size_t rows);

/* Mean loss and accuracy of checked (x, y) in inference mode, in chunks of the maximum batch;
 * BNMLP_ERR_DIVERGED (and nothing written) when the loss is not finite. Under a collective, (x, y)
 * are this rank's rows (possibly none: x->rows 0) and the metrics are over every rank's rows;
 * every rank runs it. */
bnmlp_status bnmlp_train_evaluate_checked(bnmlp_model *model, const bnmlp_tensor *x, const bnmlp_tensor *y,
                                          const bnmlp_loss_weights *weights, double *loss, double *accuracy);

/* ---- weights.c: class and sample weights ------------------------------------------------------- */

/* BNMLP_OK when weights (NULL: none) suit the model for data of rows rows (bnmlp_loss_weights'
 * rules); else BNMLP_ERR_INVALID_ARGUMENT or BNMLP_ERR_NOT_FINITE. Changes nothing. */
bnmlp_status bnmlp_train_check_weights(const bnmlp_model *model, const bnmlp_loss_weights *weights,
                                       size_t rows);

/* Writes the row weights of a batch of rows rows into the model's buffer: row r's targets are the
 * staged y + r * width, its sample weight sample_weights[order[r]] (order NULL: first + r). */
void bnmlp_train_stage_weights(bnmlp_model *model, const bnmlp_loss_weights *weights, const float *y,
                               size_t width, size_t rows, const size_t *order, size_t first);

/* The sum, in double in row order, of the weights of rows rows of the data: row r is the data's
 * row order[r] (order NULL: first + r), whose targets are y + that row * width (y the whole
 * data's targets). The same products as bnmlp_train_stage_weights. */
double bnmlp_train_weight_sum(const bnmlp_model *model, const bnmlp_loss_weights *weights, const float *y,
                              size_t width, size_t rows, const size_t *order, size_t first);

/* The head weights of the staged rows (rows of them, in a global batch of global_rows rows whose
 * weights sum to weight_sum) under normalization, filled into *out; NULL when every staged
 * weight is exactly 1 and the divisor is the global rows (the unweighted arithmetic, bit for
 * bit). A sum of 0 (every weight 0) divides by 1: loss and gradient 0. */
const bnmlp_head_weights *bnmlp_train_head_weights(bnmlp_model *model,
                                                   bnmlp_weight_normalization normalization, size_t rows,
                                                   size_t global_rows, double weight_sum,
                                                   bnmlp_head_weights *out);

/* ---- metric_set.c: the metrics fit records and evaluate_metrics computes ---------------------- */

/* Accumulators of up to BNMLP_FIT_MAX_METRICS metrics of the model's task, planned once (a
 * step, a chunk or an epoch allocates nothing). */
typedef struct bnmlp_metric_set {
    const bnmlp_allocator *allocator; /* the model's: allocates the accumulators and state */
    size_t count;                     /* metrics */
    bnmlp_metric_accumulator *accumulators[BNMLP_FIT_MAX_METRICS]; /* one per metric, in order */
    double *state;      /* under a collective: room for every accumulator's summable
                                         state and the flag below, summed over the ranks; else NULL */
    size_t state_count; /* doubles of state */
    bool failed;        /* a chunk was refused since the reset (outputs that were not
                                         all finite): the values are NaN */
} bnmlp_metric_set;

/* BNMLP_OK when kinds[0..count) suit fit's or evaluate's metrics on model: count at most
 * BNMLP_FIT_MAX_METRICS, each a scalar metric of the model's task (a kind may repeat), and under
 * a collective each summable; kinds may be NULL only with count 0 (BNMLP_ERR_NULL_ARGUMENT); else
 * BNMLP_ERR_INVALID_ARGUMENT. The model must be built. */
bnmlp_status bnmlp_metric_set_check(const bnmlp_model *model, const bnmlp_metric *kinds, size_t count);

/* Creates a set of checked kinds (count 0: an empty set, nothing allocated) for sets of at most
 * max_rows rows (roc_auc keeps that many). *set is to be freed whatever the outcome. */
bnmlp_status bnmlp_metric_set_create(bnmlp_metric_set *set, const bnmlp_model *model,
                                     const bnmlp_metric *kinds, size_t count, size_t max_rows);

void bnmlp_metric_set_free(bnmlp_metric_set *set);

/* Forgets every row (the start of an epoch or of a pass over a set). */
void bnmlp_metric_set_reset(bnmlp_metric_set *set);

/* Adds rows (>= 0) of outputs (rows, the model's output width) against targets (rows, width)
 * that the model's loss accepts. Outputs that are not all finite mark the set failed. */
void bnmlp_metric_set_add(bnmlp_metric_set *set, const bnmlp_model *model, const float *outputs,
                          const float *targets, size_t rows, size_t width);

/* The value of each metric of the set over every row added since the reset (every rank's under a
 * collective: the states are summed first, which communicates) into values[0..count), and NaN
 * into values[count..BNMLP_FIT_MAX_METRICS). A set that failed gives NaN throughout. */
bnmlp_status bnmlp_metric_set_values(bnmlp_metric_set *set, bnmlp_model *model,
                                     double values[BNMLP_FIT_MAX_METRICS]);

/* As bnmlp_train_evaluate_checked, feeding every chunk's outputs to metrics (or NULL) too: the
 * caller resets the set before, and reads it after (bnmlp_metric_set_values). */
bnmlp_status bnmlp_train_evaluate_with_metrics(bnmlp_model *model, const bnmlp_tensor *x,
                                               const bnmlp_tensor *y, const bnmlp_loss_weights *weights,
                                               bnmlp_metric_set *metrics, double *loss, double *accuracy);

/* The value monitor reads from record (controls.c); a metric monitor reads the metric at
 * metric_index of fit's metrics (ignored by the others). */
double bnmlp_monitor_value(bnmlp_monitor monitor, size_t metric_index, const bnmlp_epoch_record *record);

/* BNMLP_OK when a fit with (or without) validation data, a loss with (or without) an accuracy,
 * and the control's metric among fit's metrics (or not) records monitor; else
 * BNMLP_ERR_INVALID_ARGUMENT (an unknown monitor too). */
bnmlp_status bnmlp_monitor_check(bnmlp_monitor monitor, bool has_validation, bool has_accuracy,
                                 bool has_metric);

/* ---- resume.c: continuing the controls a model keeps (src/model/fit_record.c) ---- */

/* Which parts of the model's stored controls a fit with config continues: a part is continued
 * when config->initial_epoch > 0 equals the epochs done when the record was taken, the part is
 * held and config's settings of it equal the stored ones (bnmlp_schedule_equal, ...); the
 * schedule only when it sets the rates. */
typedef struct bnmlp_resume_parts {
    bool schedule;       /* the stored base rate */
    bool early_stopping; /* the stored state (and best weights) */
    bool plateau;        /* the stored state and current rate */
} bnmlp_resume_parts;

bnmlp_resume_parts bnmlp_fit_resume_parts(const bnmlp_model *model, const bnmlp_fit_config *config);

/* BNMLP_OK when the stored state of the parts is usable (rates > 0 and finite, a best epoch
 * before the record's epoch with its weights when restore_best_weights); else BNMLP_ERR_FORMAT. */
bnmlp_status bnmlp_fit_resume_check(const bnmlp_model *model, bnmlp_resume_parts parts);

#endif /* BNMLP_TRAIN_H */
