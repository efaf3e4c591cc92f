/* train.h - internal: the training tier's shared step, used by train_step and fit. */
#ifndef BNMLP_TRAIN_H
#define BNMLP_TRAIN_H

#include "bnmlp.h"
#include "optim/optim.h"

/* One training step on an already checked batch (x rows x input width, y rows x width targets;
 * rows at least the model's minimum): training-mode forward, loss, backward, the optimizer's
 * update and the moving statistics. With float_loss, a loss whose float would not be finite is
 * BNMLP_ERR_DIVERGED too (the calls that hand back a float loss). Under a collective, x and y are this rank's share of a global
 * batch of global_rows rows (known to every rank, and to the model: bnmlp_model_set_global_rows
 * or begin_batch); every rank then runs it. *loss and *correct get the (global) batch's metrics. On error (a
 * loss, gradient, updated parameter, optimizer state or moving statistic that would not be
 * finite: BNMLP_ERR_DIVERGED) nothing observable changes. */
bnmlp_status bnmlp_train_step_checked(bnmlp_model *model, const float *x, const float *y, size_t rows,
                                      size_t width, size_t global_rows,
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
                                          double *loss, double *accuracy);

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
                                               const bnmlp_tensor *y, bnmlp_metric_set *metrics, double *loss,
                                               double *accuracy);

/* The value monitor reads from record (controls.c); a metric monitor reads the metric at
 * metric_index of fit's metrics (ignored by the others). */
double bnmlp_monitor_value(bnmlp_monitor monitor, size_t metric_index, const bnmlp_epoch_record *record);

/* BNMLP_OK when a fit with (or without) validation data, a loss with (or without) an accuracy,
 * and the control's metric among fit's metrics (or not) records monitor; else
 * BNMLP_ERR_INVALID_ARGUMENT (an unknown monitor too). */
bnmlp_status bnmlp_monitor_check(bnmlp_monitor monitor, bool has_validation, bool has_accuracy,
                                 bool has_metric);

#endif /* BNMLP_TRAIN_H */
