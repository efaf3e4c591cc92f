/*
 * scores.h - the library's metrics (bnmlp_metric_*) as the tool uses them: a set of accumulators
 * for one task, fed with a model's outputs over a whole set of rows, for --metrics (per epoch)
 * and for evaluate (the task's metrics and its confusion matrix).
 */
#ifndef BNMLP_CLI_SCORES_H
#define BNMLP_CLI_SCORES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bnmlp.h"

/* Most metrics one set holds. */
#define SCORES_MAX 16

/* Accumulators of one task over the same rows. */
typedef struct score_set {
    bnmlp_metric_task task;                             /* what the outputs and targets are */
    size_t count;                                       /* scalar metrics used */
    bnmlp_metric kinds[SCORES_MAX];                     /* their kinds, in order */
    bnmlp_metric_accumulator *accumulators[SCORES_MAX]; /* one per kind */
    bnmlp_metric_accumulator *confusion;                /* the confusion matrix, or NULL */
} score_set;

/* The metric task of a model's loss: categorical cross-entropy is multiclass, another loss with
 * an accuracy binary, the others regression. */
bnmlp_metric_task scores_task(bnmlp_loss loss);

/* Reads --metrics's comma-separated names (bnmlp_metric_from_name) into kinds (*count of them,
 * at most SCORES_MAX); false with a one-line message for an unknown name, a metric that does not
 * apply to the task or is not a number (the confusion matrix), or a name given twice. */
bool scores_parse(const char *list, bnmlp_metric_task task, bnmlp_metric *kinds, size_t *count, char *problem,
                  size_t size);

/* Every scalar metric of the library's table that applies to task, in the table's order. */
size_t scores_of_task(bnmlp_metric_task task, bnmlp_metric *kinds, size_t size);

/* Creates the accumulators of kinds for outputs columns, and with confusion the confusion
 * matrix (classification only); max_rows bounds the rows of one pass (roc_auc keeps them all).
 * False (set empty) with *status on failure. */
bool scores_create(score_set *set, bnmlp_metric_task task, size_t outputs, const bnmlp_metric *kinds,
                   size_t count, bool confusion, size_t max_rows, bnmlp_status *status);

/* Frees the accumulators; the set is empty after. */
void scores_free(score_set *set);

/* Adds outputs and targets of the same rows to every accumulator. */
bnmlp_status scores_add(score_set *set, const bnmlp_tensor *outputs, const bnmlp_tensor *targets,
                        bnmlp_error_detail *detail);

/* Prints the confusion matrix (rows: the true class, columns: the predicted one), if the set
 * has one. */
void scores_print_confusion(const score_set *set, FILE *out);

#endif /* BNMLP_CLI_SCORES_H */
