/*
 * metrics.h - internal: the metric table. Each metric kind is one row (its names, the tasks it
 * applies to, what it accumulates beyond the task's own counts, how it finishes); each task
 * (binary, multiclass, regression) is one row too (how it checks a chunk and how it adds one).
 * The metrics tier sits beside src/optim, below src/train, and calls only src/core.
 * Not part of the public API.
 */
#ifndef BNMLP_METRICS_H
#define BNMLP_METRICS_H

#include "core/core.h"

/* What an accumulator keeps beyond its task's own counts (bits of bnmlp_metric_row.keeps). */
enum {
    BNMLP_METRIC_KEEPS_THRESHOLDS = 1, /* per-threshold bucket counts of positives and negatives
                                          (Keras's AUC: num_thresholds of each) */
    BNMLP_METRIC_KEEPS_SCORES = 2,     /* a copy of every (score, label) pair (exact ROC AUC:
                                          max_rows * outputs of them) */
    BNMLP_METRIC_KEEPS_TOP_K = 4       /* the number of rows whose target is in the top k */
};

/* One metric kind. */
typedef struct bnmlp_metric_row {
    bnmlp_metric kind;      /* the row's kind: rows are in enum order */
    const char *name;       /* canonical name (Keras's where Keras has the metric) */
    const char *alias;      /* a second accepted name, or NULL */
    unsigned tasks;         /* bit (1u << task) for each task it applies to */
    unsigned keeps;         /* BNMLP_METRIC_KEEPS_* bits */
    bool greater_is_better; /* a score (true) or an error (false) */
    /* The value from the accumulated state (rows > 0); NULL when the metric is not a scalar. */
    double (*finish)(bnmlp_metric_accumulator *accumulator);
    const char *description; /* one English sentence */
} bnmlp_metric_row;

/* The row of kind, or NULL for a value outside the table. */
const bnmlp_metric_row *bnmlp_metric_row_of(bnmlp_metric kind);

#endif /* BNMLP_METRICS_H */
